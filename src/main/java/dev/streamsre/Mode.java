package dev.streamsre;

/**
 * The ways the one application runs. Chosen by Quarkus profile ({@code QUARKUS_PROFILE=producer}),
 * each profile setting {@code streamsre.mode} and switching off the other modes' channels.
 */
public enum Mode {
    /** Synthetic load into the main topic, then exit. */
    PRODUCER,
    /** Main topic into PostgreSQL, until stopped. The default. */
    CONSUMER,
    /** Chosen DLQ entries back onto the main topic, then exit. */
    REPLAY,
    /** Prove every offset the consumer group committed accounted for in PostgreSQL, print the report, then exit 0 or 1. */
    AUDIT,
    /**
     * Brings the schema to this build's migrations, with the migration role, then exit: the only
     * mode that runs DDL, so the consumer and replay need no more than DML on their tables.
     */
    MIGRATE
}
