package dev.streamsre.consumer;

/** Channel names, shared by code, configuration translation and tests so they never drift. */
public final class Channels {

    /** Records of the main topic, delivered in batches to {@link EventConsumer}. */
    public static final String EVENTS_IN = "events-in";

    private Channels() {
    }
}
