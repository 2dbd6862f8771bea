package dev.streamsre.config;

import io.smallrye.config.WithDefault;
import jakarta.validation.constraints.Min;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * {@code streamsre.replay}, the group of {@link StreamSreConfig} for replay mode: what a run takes
 * from {@code dlq_events} and how. Every filter is optional; the filters
 * combine with AND. Environment form: {@code STREAMSRE_REPLAY_REASONS=invalid_json,review_id_conflict},
 * {@code STREAMSRE_REPLAY_SINCE=2026-11-25T10:00:00Z}, {@code STREAMSRE_REPLAY_DRY_RUN=true}, ...
 */
public interface ReplaySettings {

    /** Only entries with one of these reason codes. */
    Optional<List<String>> reasons();

    /** Only entries that first failed at or after this instant (ISO-8601, e.g. 2026-11-25T10:00:00Z). */
    Optional<Instant> since();

    /** Only entries that first failed before this instant. */
    Optional<Instant> until();

    /** Only these {@code dlq_events.id}s. */
    Optional<List<Long>> ids();

    /** At most this many entries per run, oldest first. */
    @Min(value = 1, message = "must be at least 1, got ${validatedValue}")
    @WithDefault("100")
    int limit();

    /** List what would be replayed and change nothing. */
    @WithDefault("false")
    boolean dryRun();

    /**
     * An entry replayed this many times without success is parked: later runs skip it (and say so)
     * unless {@link #force()} is set.
     */
    @Min(value = 1, message = "must be at least 1, got ${validatedValue}")
    @WithDefault("3")
    int maxReplays();

    /** Replay parked entries too, and entries past {@link #maxReplays()}. */
    @WithDefault("false")
    boolean force();
}
