package dev.streamsre.event;

/**
 * Why a record's bytes are not a valid event. The codes are stable: they appear in DLQ headers,
 * in {@code dlq_events.reason} and as a metric label, so dashboards and replay filters can rely on them.
 */
public enum RejectReason {
    /** The record has no value (a tombstone) or a zero-length one. */
    EMPTY_VALUE("empty_value"),
    /** The value is larger than the configured maximum event size. */
    OVERSIZE("oversize"),
    /** The value is not valid UTF-8. */
    INVALID_UTF8("invalid_utf8"),
    /** The value is not one well-formed JSON object. */
    INVALID_JSON("invalid_json"),
    /** A required field is absent or null. */
    MISSING_FIELD("missing_field"),
    /** A field has the wrong JSON type (e.g. rating as a string). */
    WRONG_TYPE("wrong_type"),
    /** A field has the right type but an unusable value (e.g. ts not an instant, blank review_id). */
    INVALID_FIELD("invalid_field"),
    /**
     * {@code event_id} is not a UUID in its one canonical spelling (lowercase 8-4-4-4-12 hex): other
     * spellings would let two distinct strings name one ledger entry.
     */
    INVALID_EVENT_ID("invalid_event_id"),
    /** {@code payload.rating} is outside 1..5. */
    RATING_OUT_OF_RANGE("rating_out_of_range"),
    /** {@code schema_version} is not one this build understands. */
    UNKNOWN_SCHEMA_VERSION("unknown_schema_version"),
    /** {@code event_type} is not one this build understands. */
    UNKNOWN_EVENT_TYPE("unknown_event_type"),
    /**
     * {@code key}, {@code payload.review_id} or {@code payload.text} is longer than its limit: the
     * limits keep every stored value inside what PostgreSQL's indexes accept (a B-tree row holds at
     * most 2,704 bytes), so the database never refuses a valid event for its size.
     */
    FIELD_TOO_LONG("field_too_long"),
    /**
     * A stored text field holds a character PostgreSQL cannot store faithfully: NUL (text columns
     * refuse it) or half of a surrogate pair (which would be written as '?').
     */
    INVALID_CHARACTER("invalid_character"),
    /** {@code ts} is a valid instant outside years 1..9999, which PostgreSQL and ISO-8601 text round-trip. */
    TIMESTAMP_OUT_OF_RANGE("timestamp_out_of_range");

    private final String code;

    RejectReason(String code) {
        this.code = code;
    }

    /** The stable snake_case code used in headers, SQL and metrics. */
    public String code() {
        return code;
    }
}
