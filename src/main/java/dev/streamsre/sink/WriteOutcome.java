package dev.streamsre.sink;

/** What the database made of one event of a batch. */
public enum WriteOutcome {
    /** New event: its review and ledger row were committed. */
    LANDED,
    /** Seen before (ledger or review already holds its event_id): nothing written. */
    DUPLICATE,
    /** A different event already owns this review_id: nothing written; it belongs in the DLQ. */
    REVIEW_ID_CONFLICT
}
