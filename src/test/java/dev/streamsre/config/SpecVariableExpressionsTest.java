package dev.streamsre.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.smallrye.config.EnvConfigSource;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.io.IOException;
import java.net.URL;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The spec's variables that application.properties reads by property expression: each reaches its
 * setting, the setting keeps its default without it, and the Quarkus-named variable still wins, as
 * it does for the variables SpecEnvironmentConfigSource translates.
 */
class SpecVariableExpressionsTest {

    private static SmallRyeConfig config(Map<String, String> environment) throws IOException {
        URL properties = SpecVariableExpressionsTest.class.getResource("/application.properties");
        return new SmallRyeConfigBuilder().addDefaultInterceptors()
                .withSources(new PropertiesConfigSource(properties, 250))
                .withSources(new EnvConfigSource(environment, 300))
                .build();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "KAFKA_TOPIC,         streamsre.topic,                  orders,   events.main",
        "KAFKA_DLQ_TOPIC,     streamsre.dlq-topic,              orders.x, events.dlq",
        "KAFKA_GROUP_ID,      streamsre.consumer.group-id,      g1,       streamsre-consumer",
        "CONSUMER_RATE_LIMIT, streamsre.consumer.rate-limit,    500,      0",
        "RATE_PER_SEC,        streamsre.producer.rate-per-sec,  250,      1000",
        "POISON_PCT,          streamsre.producer.poison-pct,    1.5,      0",
        "DUPLICATE_PCT,       streamsre.producer.duplicate-pct, 2,        0",
    })
    void eachVariableSetsItsSettingWhichKeepsItsDefaultWithoutIt(String variable, String property, String value,
            String byDefault) throws IOException {
        assertThat(config(Map.of(variable, value)).getRawValue(property)).isEqualTo(value);
        assertThat(config(Map.of()).getRawValue(property)).isEqualTo(byDefault);
    }

    @Test
    void theQuarkusNamedVariableWinsOverTheSpecs() throws IOException {
        SmallRyeConfig config = config(Map.of("RATE_PER_SEC", "250", "STREAMSRE_PRODUCER_RATE_PER_SEC", "7"));

        assertThat(config.getRawValue("streamsre.producer.rate-per-sec")).isEqualTo("7");
    }

    @Test
    void theConnectorReadsTheTopicAndGroupTheVariablesSet() throws IOException {
        SmallRyeConfig config = config(Map.of("KAFKA_TOPIC", "orders", "KAFKA_GROUP_ID", "g1"));

        assertThat(config.getRawValue("mp.messaging.incoming.events-in.topic")).isEqualTo("orders");
        assertThat(config.getRawValue("mp.messaging.incoming.events-in.group.id")).isEqualTo("g1");
    }
}
