package dev.streamsre.config;

import io.smallrye.config.WithDefault;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Min;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.hibernate.validator.constraints.time.DurationMin;

/**
 * {@code streamsre.producer}, the group of {@link StreamSreConfig} for producer mode, the synthetic
 * load generator. The spec's variables
 * ({@code RATE_PER_SEC}, {@code HOT_KEY_PCT}, {@code DURATION}) map onto these properties; the ranges
 * are Bean Validation constraints that Quarkus checks at start.
 */
public interface ProducerSettings {

    /** The message of every percentage's range check. */
    String PERCENTAGE = "must be a percentage between 0 and 100, got ${validatedValue}";

    /** Events per second; 0 sends as fast as the broker takes them. Env: {@code RATE_PER_SEC}; default in application.properties. */
    @Min(value = 0, message = "must be 0 (as fast as the broker takes them) or a positive rate, got ${validatedValue}")
    int ratePerSec();

    /** How long to produce; 0 means until stopped (or until {@link #maxEvents()}). Env: {@code DURATION}. */
    @DurationMin(millis = 0, message = "must be 0 (until stopped) or a positive duration, got ${validatedValue}")
    @WithDefault("30s")
    Duration duration();

    /** Stop after this many records; 0 means no limit. */
    @Min(value = 0, message = "must be 0 (no limit) or positive, got ${validatedValue}")
    @WithDefault("0")
    long maxEvents();

    /** Percentage (0-100) of events keyed on one of {@link #hotKeys()}. Env: {@code HOT_KEY_PCT}. */
    @DecimalMin(value = "0", message = PERCENTAGE) @DecimalMax(value = "100", message = PERCENTAGE)
    @WithDefault("80")
    double hotKeyPct();

    /** The few keys that take {@link #hotKeyPct()} of the traffic. */
    @WithDefault("user:1,user:2,user:3")
    List<String> hotKeys();

    /** Size of the cold key space, {@code user:1000} upwards; the rest of the traffic spreads over it. */
    @Min(value = 1, message = "must be at least 1, got ${validatedValue}")
    @WithDefault("10000")
    int coldKeyCount();

    /** Percentage (0-100) of records that are poison (not JSON, rating out of range, missing field). Env: {@code POISON_PCT}; default in application.properties. */
    @DecimalMin(value = "0", message = PERCENTAGE) @DecimalMax(value = "100", message = PERCENTAGE)
    double poisonPct();

    /** Percentage (0-100) of records that re-send a recent event with the same event_id. Env: {@code DUPLICATE_PCT}; default in application.properties. */
    @DecimalMin(value = "0", message = PERCENTAGE) @DecimalMax(value = "100", message = PERCENTAGE)
    double duplicatePct();

    /** Length of the review text, which sets the record size (about 230 bytes at 100). */
    @Min(value = 0, message = "must be 0 or positive, got ${validatedValue}")
    @WithDefault("100")
    int textLength();

    /** How often a progress line is printed. */
    @WithDefault("5s")
    Duration progressInterval();

    /** Seed of the generator, for a repeatable stream; random when absent. */
    Optional<Long> seed();

    /**
     * Kafka producer properties on top of {@code kafka.bootstrap.servers}; the defaults in
     * application.properties make an idempotent producer ({@code acks=all}, idempotence on).
     */
    Map<String, String> kafka();
}
