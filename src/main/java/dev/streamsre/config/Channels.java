package dev.streamsre.config;

/** Channel names, shared by code, configuration translation and tests so they never drift. */
public final class Channels {

    /** Records of the main topic, delivered in batches to dev.streamsre.consumer.EventConsumer. */
    public static final String EVENTS_IN = "events-in";

    private Channels() {
    }
}
