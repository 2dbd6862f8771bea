package dev.streamsre.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SpecEnvironmentConfigSourceTest {

    @Test
    void databaseUrlFeedsJdbcReactiveAndCredentials() {
        var source = new SpecEnvironmentConfigSource(
                Map.of("DATABASE_URL", "postgres://app:s%40cret@db.internal:6543/pipeline?sslmode=require"));

        assertThat(source.getProperties()).containsAllEntriesOf(Map.of(
                "quarkus.datasource.jdbc.url", "jdbc:postgresql://db.internal:6543/pipeline?sslmode=require",
                "quarkus.datasource.reactive.url", "postgresql://db.internal:6543/pipeline?sslmode=require",
                "quarkus.datasource.username", "app",
                "quarkus.datasource.password", "s@cret"));
    }

    @Test
    void databaseUrlWithoutPortUsesPostgresDefault() {
        var source = new SpecEnvironmentConfigSource(Map.of("DATABASE_URL", "postgresql://u:p@localhost/db"));

        assertThat(source.getValue("quarkus.datasource.jdbc.url")).isEqualTo("jdbc:postgresql://localhost:5432/db");
    }

    @Test
    void specVariablesMapToProperties() {
        var source = new SpecEnvironmentConfigSource(Map.of(
                "KAFKA_BROKERS", "k1:9092, k2:9092",
                "CONSUMER_CONCURRENCY", "3",
                "MAX_INFLIGHT", "64",
                "HOT_KEY_PCT", "0.8",
                "DURATION", "1h30m"));

        assertThat(source.getProperties()).containsAllEntriesOf(Map.of(
                "kafka.bootstrap.servers", "k1:9092,k2:9092",
                "mp.messaging.incoming.events-in.concurrency", "3",
                "streamsre.consumer.max-inflight", "64",
                "streamsre.producer.hot-key-pct", "80.0"));
        assertThat(Duration.parse(source.getValue("streamsre.producer.duration"))).isEqualTo(Duration.ofMinutes(90));
    }

    @ParameterizedTest(name = "HOT_KEY_PCT={0}")
    @CsvSource({"0.8, 80.0", "80%, 80.0", "0, 0.0", "1, 100.0", "0.05, 5.0", "100%, 100.0"})
    void hotKeyPctIsTheSpecsFractionOrAPercentageWithItsSign(String raw, String percent) {
        assertThat(new SpecEnvironmentConfigSource(Map.of("HOT_KEY_PCT", raw)).getValue("streamsre.producer.hot-key-pct"))
                .isEqualTo(percent);
    }

    @Test
    void aBareHotKeyPctAboveOneIsRefusedShowingBothForms() {
        assertThatThrownBy(() -> new SpecEnvironmentConfigSource(Map.of("HOT_KEY_PCT", "80")))
                .isInstanceOf(InvalidConfigurationException.class)
                .hasMessageContaining("HOT_KEY_PCT").hasMessageContaining("0.8").hasMessageContaining("80%");
    }

    @ParameterizedTest
    @CsvSource({"30s, PT30S", "5m, PT5M", "250ms, PT0.25S", "1.5s, PT1.5S", "0, PT0S", "2h, PT2H"})
    void goDurationsBecomeJavaDurations(String go, String iso) {
        assertThat(Duration.parse(SpecEnvironmentConfigSource.goDuration(go))).isEqualTo(Duration.parse(iso));
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', value = {
        "CONSUMER_CONCURRENCY | 0",
        "CONSUMER_CONCURRENCY | two",
        "HOT_KEY_PCT   | 120",
        "MAX_INFLIGHT  | 0",
        "DURATION      | 30",
        "DURATION      | 5 minutes",
        "KAFKA_BROKERS | localhost",
        "DATABASE_URL  | mysql://u:p@h/db",
        "DATABASE_URL  | postgres://u:p@h:5432",
    })
    void badValueFailsNamingTheVariable(String variable, String value) {
        assertThatThrownBy(() -> new SpecEnvironmentConfigSource(Map.of(variable, value)))
                .isInstanceOf(InvalidConfigurationException.class)
                .hasMessageContaining(variable);
    }

    @Test
    void everyBadVariableIsReportedAtOnce() {
        assertThatThrownBy(() -> new SpecEnvironmentConfigSource(Map.of("DURATION", "x", "HOT_KEY_PCT", "y")))
                .hasMessageContaining("DURATION")
                .hasMessageContaining("HOT_KEY_PCT");
    }

    /** libpq's rules: only %XX is decoded; '+' is a plus (URLDecoder made it a space), UTF-8 escapes are characters. */
    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
        "a+b          | a+b",
        "a%2Bb        | a+b",
        "p%20w        | p w",
        "%C3%A9t%C3%A9 | \u00e9t\u00e9",
        "100%25       | 100%",
        "s%40cret     | s@cret",
    })
    void passwordsArePercentDecodedAsLibpqDoes(String raw, String password) {
        var source = new SpecEnvironmentConfigSource(Map.of("DATABASE_URL", "postgres://app:" + raw + "@h:5432/db"));

        assertThat(source.getProperties()).containsEntry("quarkus.datasource.password", password);
    }

    @Test
    void aMalformedPercentEscapeIsRefusedWithoutEchoingThePassword() {
        assertThatThrownBy(() -> new SpecEnvironmentConfigSource(Map.of("DATABASE_URL", "postgres://u:hunter2%zz@h/db")))
                .isInstanceOf(InvalidConfigurationException.class)
                .hasMessageContaining("DATABASE_URL")
                .message().doesNotContain("hunter2");
    }

    @Test
    void databasePasswordIsNeverEchoed() {
        assertThatThrownBy(() -> new SpecEnvironmentConfigSource(Map.of("DATABASE_URL", "mysql://u:hunter2@h/db")))
                .message().doesNotContain("hunter2");
    }

    @Test
    void aPasswordInTheQueryStringIsLiftedOutOfEveryUrl() {
        var source = new SpecEnvironmentConfigSource(Map.of("DATABASE_URL",
                "postgres://app@db:5432/events?sslmode=require&password=s3cr%3Dt&application_name=streamsre"));

        assertThat(source.getValue("quarkus.datasource.password")).isEqualTo("s3cr=t");
        assertThat(source.getValue("quarkus.datasource.username")).isEqualTo("app");
        assertThat(source.getValue("quarkus.datasource.jdbc.url"))
                .isEqualTo("jdbc:postgresql://db:5432/events?sslmode=require&application_name=streamsre");
        assertThat(source.getValue("quarkus.datasource.reactive.url"))
                .isEqualTo("postgresql://db:5432/events?sslmode=require&application_name=streamsre");
        assertThat(source.getProperties().values()).filteredOn(value -> value.contains("s3cr")).hasSize(1);
    }

    @Test
    void absentVariablesContributeNothing() {
        assertThat(new SpecEnvironmentConfigSource(Map.of()).getProperties()).isEmpty();
    }

    @Test
    void itIsAnEnvironmentSourceSoTheBuildRecordsNoneOfItsValuesIntoTheJar() {
        // Quarkus records every source's values at build time as the jar's runtime defaults, except
        // the environment's: a plain source put a DATABASE_URL's password into the generated bytecode.
        var source = new SpecEnvironmentConfigSource(Map.of("DATABASE_URL", "postgres://u:p@h/db", "MAX_INFLIGHT", "64"));

        assertThat(source).isInstanceOf(io.smallrye.config.EnvConfigSource.class);
        assertThat(source.getOrdinal()).isEqualTo(SpecEnvironmentConfigSource.ORDINAL);
        assertThat(source.getName()).startsWith("spec environment variables");
    }

    @Test
    void inAConfigItsPropertiesAreFoundAndListedByTheirOwnNames() {
        var config = new io.smallrye.config.SmallRyeConfigBuilder()
                .withSources(new SpecEnvironmentConfigSource(Map.of("CONSUMER_CONCURRENCY", "3", "MAX_INFLIGHT", "64",
                        "DATABASE_URL", "postgres://u:p@h/db")))
                .build();

        assertThat(config.getValue("mp.messaging.incoming.events-in.concurrency", Integer.class)).isEqualTo(3);
        assertThat(config.getValue("streamsre.consumer.max-inflight", Integer.class)).isEqualTo(64);
        assertThat(config.getValue("quarkus.datasource.password", String.class)).isEqualTo("p");
        // Exactly these: an environment source may also list a dotted alias of a name, and an alias such as
        // mp.messaging.incoming.events.in.concurrency would read as a channel named "events".
        assertThat(config.getPropertyNames()).containsExactlyInAnyOrder("mp.messaging.incoming.events-in.concurrency",
                "streamsre.consumer.max-inflight", "quarkus.datasource.jdbc.url", "quarkus.datasource.reactive.url",
                "quarkus.datasource.username", "quarkus.datasource.password");
    }
}
