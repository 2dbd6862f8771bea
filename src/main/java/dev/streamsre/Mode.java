package dev.streamsre;

/**
 * The three ways the one application runs. Chosen by Quarkus profile ({@code QUARKUS_PROFILE=producer}),
 * each profile setting {@code streamsre.mode} and switching off the other modes' channels.
 */
public enum Mode {
    /** Synthetic load into the main topic, then exit. */
    PRODUCER,
    /** Main topic into PostgreSQL, until stopped. The default. */
    CONSUMER,
    /** Chosen DLQ entries back onto the main topic, then exit. */
    REPLAY
}
