package dev.streamsre.config;

import dev.streamsre.consumer.Channels;
import io.smallrye.config.ConfigSourceInterceptor;
import io.smallrye.config.ConfigSourceInterceptorContext;
import io.smallrye.config.ConfigValue;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Derives the connector's batch size from our own setting, at the moment the configuration is
 * read: each of the channel's {@code concurrency} consumers polls at most
 * {@code streamsre.consumer.max-inflight / concurrency} records ({@code max.poll.records}), however
 * max-inflight was set (the spec's {@code MAX_INFLIGHT}, {@code STREAMSRE_CONSUMER_MAX_INFLIGHT},
 * a -D property) and whatever the concurrency. Written as a config interceptor because a property
 * expression cannot divide, and a value computed from one source alone (the environment) missed
 * the others. An explicitly configured {@code max.poll.records} still wins.
 */
public final class DerivedConsumerSettings implements ConfigSourceInterceptor {

    static final String CHANNEL = "mp.messaging.incoming." + Channels.EVENTS_IN + ".";
    static final String MAX_POLL_RECORDS = CHANNEL + "max.poll.records";
    static final String MAX_INFLIGHT = "streamsre.consumer.max-inflight";

    @Override
    public ConfigValue getValue(ConfigSourceInterceptorContext context, String name) {
        ConfigValue value = context.proceed(name);
        if (value != null || !MAX_POLL_RECORDS.equals(name)) {
            return value;
        }
        ConfigValue inflight = context.proceed(MAX_INFLIGHT);
        if (inflight == null || inflight.getValue() == null) {
            return null;
        }
        ConfigValue concurrency = context.proceed(CHANNEL + "concurrency");
        int consumers = concurrency == null || concurrency.getValue() == null ? 1 : parse(concurrency.getValue(), 1);
        int batch = Math.max(1, parse(inflight.getValue(), 1) / Math.max(1, consumers));
        return ConfigValue.builder().withName(name).withValue(Integer.toString(batch))
                .withConfigSourceName("derived: " + MAX_INFLIGHT + " / concurrency").build();
    }

    @Override
    public Iterator<String> iterateNames(ConfigSourceInterceptorContext context) {
        // The connector collects a channel's Kafka settings by name: the derived one must be listed.
        List<String> names = new ArrayList<>();
        context.iterateNames().forEachRemaining(names::add);
        if (!names.contains(MAX_POLL_RECORDS)) {
            names.add(MAX_POLL_RECORDS);
        }
        return names.iterator();
    }

    private static int parse(String value, int fallback) {
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            // The setting's own check (its @ConfigMapping type) reports the bad value, naming it.
            return fallback;
        }
    }
}
