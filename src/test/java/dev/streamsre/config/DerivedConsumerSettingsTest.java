package dev.streamsre.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.util.Map;
import java.util.Optional;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DerivedConsumerSettingsTest {

    private static SmallRyeConfig config(Map<String, String> properties) {
        return new SmallRyeConfigBuilder().withSources(new PropertiesConfigSource(properties, "test", 100))
                .withInterceptors(new DerivedConsumerSettings()).build();
    }

    @Test
    void eachConsumerPollsItsShareOfMaxInflight() {
        SmallRyeConfig config = config(Map.of(DerivedConsumerSettings.MAX_INFLIGHT, "4000",
                DerivedConsumerSettings.CHANNEL + "concurrency", "2"));

        assertThat(config.getValue(DerivedConsumerSettings.MAX_POLL_RECORDS, Integer.class)).isEqualTo(1000);
        assertThat(StreamSupport.stream(config.getPropertyNames().spliterator(), false))
                .as("listed, so the connector passes it to Kafka").contains(DerivedConsumerSettings.MAX_POLL_RECORDS);
    }

    @Test
    void theShareFollowsBothSettingsWhereverTheyCameFrom() {
        assertThat(config(Map.of(DerivedConsumerSettings.MAX_INFLIGHT, "64", DerivedConsumerSettings.CHANNEL + "concurrency", "3"))
                .getValue(DerivedConsumerSettings.MAX_POLL_RECORDS, Integer.class)).isEqualTo(10);
        assertThat(config(Map.of(DerivedConsumerSettings.MAX_INFLIGHT, "1", DerivedConsumerSettings.CHANNEL + "concurrency", "4"))
                .getValue(DerivedConsumerSettings.MAX_POLL_RECORDS, Integer.class)).as("never 0").isEqualTo(1);
        assertThat(config(Map.of(DerivedConsumerSettings.MAX_INFLIGHT, "100"))
                .getValue(DerivedConsumerSettings.MAX_POLL_RECORDS, Integer.class)).as("one consumer").isEqualTo(50);
    }

    @Test
    void anExplicitMaxPollRecordsWins() {
        assertThat(config(Map.of(DerivedConsumerSettings.MAX_INFLIGHT, "2000", DerivedConsumerSettings.MAX_POLL_RECORDS, "7"))
                .getValue(DerivedConsumerSettings.MAX_POLL_RECORDS, Integer.class)).isEqualTo(7);
    }

    @Test
    void withoutMaxInflightNothingIsDerived() {
        Optional<Integer> value = config(Map.of()).getOptionalValue(DerivedConsumerSettings.MAX_POLL_RECORDS, Integer.class);
        assertThat(value).isEmpty();
    }

    @ParameterizedTest(name = "{0} -> {1} ms")
    @CsvSource({"1m, 60000", "30s, 30000", "500ms, 500", "2h, 7200000", "0s, 0", "PT1M30S, 90000"})
    void theStatementTimeoutReachesPostgresqlInMilliseconds(String setting, String milliseconds) {
        SmallRyeConfig config = config(Map.of(DerivedConsumerSettings.STATEMENT_TIMEOUT, setting));

        assertThat(config.getValue(DerivedConsumerSettings.STATEMENT_TIMEOUT_PROPERTY, String.class)).isEqualTo(milliseconds);
        assertThat(StreamSupport.stream(config.getPropertyNames().spliterator(), false))
                .as("listed, so the datasource passes it on").contains(DerivedConsumerSettings.STATEMENT_TIMEOUT_PROPERTY);
    }

    @Test
    void theStatementTimeoutDefaultsToThirtySeconds() {
        assertThat(config(Map.of()).getValue(DerivedConsumerSettings.STATEMENT_TIMEOUT_PROPERTY, String.class)).isEqualTo("30000");
    }

    @Test
    void aStatementTimeoutThatIsNoDurationDerivesNothingSoItsOwnCheckNamesIt() {
        assertThat(config(Map.of(DerivedConsumerSettings.STATEMENT_TIMEOUT, "soon"))
                .getOptionalValue(DerivedConsumerSettings.STATEMENT_TIMEOUT_PROPERTY, String.class)).isEmpty();
    }

    @Test
    void anExplicitStatementTimeoutPropertyWins() {
        assertThat(config(Map.of(DerivedConsumerSettings.STATEMENT_TIMEOUT, "1m",
                DerivedConsumerSettings.STATEMENT_TIMEOUT_PROPERTY, "15000"))
                .getValue(DerivedConsumerSettings.STATEMENT_TIMEOUT_PROPERTY, String.class)).isEqualTo("15000");
    }

    /** Our settings at run time, beside what the build recorded (Quarkus' "Runtime Values", ordinal 0). */
    private static SmallRyeConfig configOverBuildRecord(Map<String, String> runtime, Map<String, String> recordedAtBuild) {
        return new SmallRyeConfigBuilder().withSources(new PropertiesConfigSource(runtime, "test", 250),
                new PropertiesConfigSource(recordedAtBuild, "Runtime Values", DerivedConsumerSettings.RECORDED_AT_BUILD_ORDINAL))
                .withInterceptors(new DerivedConsumerSettings()).build();
    }

    @Test
    void whatTheBuildDerivedNeverShadowsWhatTheRunTimeSettingsDerive() {
        SmallRyeConfig config = configOverBuildRecord(
                Map.of(DerivedConsumerSettings.MAX_INFLIGHT, "1000", DerivedConsumerSettings.STATEMENT_TIMEOUT, "5s"),
                Map.of(DerivedConsumerSettings.MAX_POLL_RECORDS, "1500", DerivedConsumerSettings.STATEMENT_TIMEOUT_PROPERTY, "30000"));

        assertThat(config.getValue(DerivedConsumerSettings.MAX_POLL_RECORDS, Integer.class)).isEqualTo(500);
        assertThat(config.getValue(DerivedConsumerSettings.STATEMENT_TIMEOUT_PROPERTY, String.class)).isEqualTo("5000");
    }

    @Test
    void aDerivedValueCarriesItsRawValueSoTheBuildCanRecordIt() {
        SmallRyeConfig config = config(Map.of(DerivedConsumerSettings.MAX_INFLIGHT, "2000"));

        assertThat(config.getConfigValue(DerivedConsumerSettings.MAX_POLL_RECORDS).getRawValue()).isEqualTo("1000");
        assertThat(config.getConfigValue(DerivedConsumerSettings.STATEMENT_TIMEOUT_PROPERTY).getRawValue()).isEqualTo("30000");
    }
}
