package dev.streamsre.event;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.quarkus.runtime.annotations.RegisterForReflection;
import java.time.Instant;
import java.util.Objects;
import java.util.UUID;

/**
 * One event on {@code events.main}, with the spec's JSON field names. It is the unit of idempotency:
 * {@code eventId} identifies a fact, so the same event delivered twice has one effect.
 *
 * @param eventId unique id of the event; the consumer's dedupe key
 * @param eventType what happened; only {@value #REVIEW_CREATED} is known today
 * @param key partition key, e.g. {@code user:42}; events of one key keep their order
 * @param ts when the event was created by its producer
 * @param schemaVersion version of the payload shape; only {@value #SCHEMA_VERSION} is known today
 * @param payload the review itself
 */
// Written by Jackson through its accessors: a native image keeps them only when registered.
@RegisterForReflection
@JsonPropertyOrder({"event_id", "event_type", "key", "ts", "schema_version", "payload"})
public record Event(
        @JsonProperty("event_id") UUID eventId,
        @JsonProperty("event_type") String eventType,
        @JsonProperty("key") String key,
        @JsonProperty("ts") Instant ts,
        @JsonProperty("schema_version") int schemaVersion,
        @JsonProperty("payload") ReviewData payload) {

    public static final String REVIEW_CREATED = "review_created";
    public static final int SCHEMA_VERSION = 1;

    public Event {
        Objects.requireNonNull(eventId, "eventId");
        Objects.requireNonNull(eventType, "eventType");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(ts, "ts");
        Objects.requireNonNull(payload, "payload");
    }

    /** A {@code review_created} event of the current schema version. */
    public static Event reviewCreated(UUID eventId, String key, Instant ts, ReviewData payload) {
        return new Event(eventId, REVIEW_CREATED, key, ts, SCHEMA_VERSION, payload);
    }
}
