package dev.streamsre.config;

import io.smallrye.config.WithDefault;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import java.time.Duration;
import org.hibernate.validator.constraints.time.DurationMin;

/**
 * {@code streamsre.audit}, the group of {@link StreamSreConfig} for the reconciler
 * (dev.streamsre.audit), which proves every offset the consumer group committed accounted for in
 * PostgreSQL: on a schedule in consumer mode, and once in audit mode.
 */
public interface AuditSettings {

    /**
     * How often a consumer audits (Quarkus scheduler syntax: 30s, 5m); {@code off} never. One
     * replica audits at a time; every replica exports the latest findings.
     * Env: {@code STREAMSRE_AUDIT_INTERVAL}.
     */
    @WithDefault("1m")
    String interval();

    /**
     * A dead letter is in the DLQ topic before its offset is committed, and in {@code dlq_events}
     * once the recorder has read it back. Until a receipt is this old, a dead letter missing from
     * dlq_events is pending, not unaccounted: a recorder that lags (its own warning,
     * StreamSREDeadLetterRecorderLagging) must not page as a loss.
     */
    @DurationMin(millis = 0, message = "must be 0 or a positive duration, got ${validatedValue}")
    @WithDefault("10m")
    Duration deadLetterGrace();

    /**
     * Offsets per partition each scheduled audit checks again among those proved before, besides
     * what was read since the last audit: the slices take turns from the start of the window, so a
     * row deleted behind the tail is found within (window / this) audits. Audit mode checks the
     * whole window. 0: only what was read since.
     */
    @Min(value = 0, message = "must be 0 (no re-check) or a positive number of offsets, got ${validatedValue}")
    @WithDefault("100000")
    int scrubOffsets();

    /** Offsets a report lists per partition and kind of finding (all are counted). */
    @Min(value = 1, message = "must be at least 1, got ${validatedValue}")
    @Max(value = 10_000, message = "must be at most 10000, got ${validatedValue}")
    @WithDefault("20")
    int listedOffsets();
}
