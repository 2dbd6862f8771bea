package dev.streamsre.config;

import dev.streamsre.config.Channels;
import io.smallrye.config.ConfigSourceInterceptor;
import io.smallrye.config.ConfigSourceInterceptorContext;
import io.quarkus.runtime.configuration.DurationConverter;
import io.smallrye.config.ConfigValue;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Derives settings of other components from our own, at the moment the configuration is read,
 * however ours were set (the spec's {@code MAX_INFLIGHT}, {@code STREAMSRE_CONSUMER_*}, a -D
 * property):
 * <ul>
 * <li>the connector's batch size: each of the channel's {@code concurrency} consumers polls at most
 * {@code streamsre.consumer.max-inflight / (2 x concurrency)} records ({@code max.poll.records}), so
 * that each can hold a batch being written and the next one, read ahead, within max-inflight;</li>
 * <li>the database connections' {@code statement_timeout}: {@code streamsre.consumer.statement-timeout},
 * a duration like every other setting ({@code 2m}), passed as milliseconds, the one form
 * PostgreSQL always parses (it has no unit {@code m}; a value it cannot parse fails every
 * connection, which once dead-lettered the whole stream).</li>
 * </ul>
 * Written as a config interceptor because a property expression can neither divide nor convert
 * units, and a value computed from one source alone (the environment) missed the others. An
 * explicitly configured target property still wins. A value that does not parse derives nothing:
 * our setting's own check ({@code @ConfigMapping} type and range) then stops the start, naming it.
 *
 * <p>The build runs this interceptor too, and Quarkus keeps what it derived then as the jar's runtime
 * defaults (a source of ordinal {@value #RECORDED_AT_BUILD_ORDINAL}). Such a value is the build's
 * derivation, not a setting, so it never shadows the one derived from run-time settings. A derived
 * value carries its raw value: without one, the build failed on a max-inflight set in
 * application.properties (Quarkus cannot record a property with no raw value).
 */
public final class DerivedConsumerSettings implements ConfigSourceInterceptor {

    static final String CHANNEL = "mp.messaging.incoming." + Channels.EVENTS_IN + ".";
    public static final String MAX_POLL_RECORDS = CHANNEL + "max.poll.records";
    static final String MAX_INFLIGHT = "streamsre.consumer.max-inflight";
    /** A batch being written and the next one waiting for its turn: PostgreSQL never waits for a poll. */
    static final int BATCHES_HELD_PER_CONSUMER = 2;
    static final String STATEMENT_TIMEOUT_PROPERTY = "quarkus.datasource.reactive.additional-properties.statement_timeout";
    static final String STATEMENT_TIMEOUT = "streamsre.consumer.statement-timeout";
    /** ConsumerSettings' default, for when nothing sets the setting (an interceptor sees no mapping defaults). */
    static final String STATEMENT_TIMEOUT_DEFAULT = "30s";

    /** Quarkus' "Runtime Values": what the build read, below every source a user configures. */
    static final int RECORDED_AT_BUILD_ORDINAL = 0;

    @Override
    public ConfigValue getValue(ConfigSourceInterceptorContext context, String name) {
        ConfigValue value = context.proceed(name);
        boolean isDerivedProperty = STATEMENT_TIMEOUT_PROPERTY.equals(name) || MAX_POLL_RECORDS.equals(name);
        if (!isDerivedProperty || (value != null && value.getConfigSourceOrdinal() > RECORDED_AT_BUILD_ORDINAL)) {
            return value;
        }
        ConfigValue derivedValue = STATEMENT_TIMEOUT_PROPERTY.equals(name) ? statementTimeout(context, name)
                : maxPollRecords(context, name);
        return derivedValue != null ? derivedValue : value;
    }

    /** Each consumer's share of max-inflight, or nothing when max-inflight is not set. */
    private static ConfigValue maxPollRecords(ConfigSourceInterceptorContext context, String name) {
        ConfigValue inflight = context.proceed(MAX_INFLIGHT);
        if (inflight == null || inflight.getValue() == null) {
            return null;
        }
        ConfigValue concurrency = context.proceed(CHANNEL + "concurrency");
        int consumers = concurrency == null || concurrency.getValue() == null ? 1 : parse(concurrency.getValue(), 1);
        int batch = Math.max(1, parse(inflight.getValue(), 1) / (BATCHES_HELD_PER_CONSUMER * Math.max(1, consumers)));
        return derived(name, Integer.toString(batch))
                .withConfigSourceName("derived: " + MAX_INFLIGHT + " / (2 x concurrency)").build();
    }

    /** The statement timeout in milliseconds, or nothing when our setting does not parse as a duration. */
    private static ConfigValue statementTimeout(ConfigSourceInterceptorContext context, String name) {
        ConfigValue setting = context.proceed(STATEMENT_TIMEOUT);
        String text = setting == null || setting.getValue() == null ? STATEMENT_TIMEOUT_DEFAULT : setting.getValue();
        Duration timeout;
        try {
            timeout = DurationConverter.parseDuration(text.trim());
        } catch (RuntimeException e) {
            return null;
        }
        if (timeout == null || timeout.isNegative()) {
            return null;
        }
        return derived(name, Long.toString(timeout.toMillis()))
                .withConfigSourceName("derived: " + STATEMENT_TIMEOUT + " in milliseconds").build();
    }

    private static ConfigValue.ConfigValueBuilder derived(String name, String value) {
        return ConfigValue.builder().withName(name).withValue(value).withRawValue(value);
    }

    @Override
    public Iterator<String> iterateNames(ConfigSourceInterceptorContext context) {
        // The connector collects a channel's Kafka settings by name, and the datasource its additional
        // properties: the derived ones must be listed.
        List<String> names = new ArrayList<>();
        context.iterateNames().forEachRemaining(names::add);
        for (String derived : List.of(MAX_POLL_RECORDS, STATEMENT_TIMEOUT_PROPERTY)) {
            if (!names.contains(derived)) {
                names.add(derived);
            }
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
