package dev.streamsre.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every mode against a secured broker, configured only the Quarkus way (KAFKA_SECURITY_PROTOCOL,
 * KAFKA_SASL_*, KAFKA_SSL_*): the same broker that bin/infra starts for the build, on its
 * SASL_PLAINTEXT (SCRAM-SHA-512, user made with kafka-configs) and SSL (keytool CA) listeners.
 */
class SecuredKafkaIT {

    private static final int PARTITIONS = 3;
    private Pipeline pipeline;

    @BeforeEach
    void freshPipeline() {
        pipeline = Pipeline.fresh("it-secured", PARTITIONS);
    }

    @AfterEach
    void stopProcesses() {
        pipeline.close();
    }

    @Test
    void producerConsumerAndReplayWorkOverSaslScram() {
        everyModeWorks(sasl(saslPassword()), "SASL_PLAINTEXT");
    }

    @Test
    void producerConsumerAndReplayWorkOverTls() {
        everyModeWorks(tls(), "SSL");
    }

    @Test
    void wrongCredentialsFailTheJobsAndKeepTheConsumerNotReadySayingAuthenticationFailedNamingNoSecret() {
        String wrong = "not-the-password-7f3a";
        Map<String, String> env = sasl(wrong);

        AppProcess producer = pipeline.start("producer", with(env, Map.of("KAFKA_TOPIC", pipeline.topic(),
                "DURATION", "5s")));
        assertThat(producer.awaitExit(Duration.ofSeconds(60))).as(producer.output()).isEqualTo(2);
        assertThat(producer.output()).contains("authentication failed");

        AppProcess replay = pipeline.start("replay", with(env, Map.of("KAFKA_TOPIC", pipeline.topic())));
        assertThat(replay.awaitExit(Duration.ofSeconds(60))).as(replay.output()).isEqualTo(2);
        assertThat(replay.output()).contains("authentication failed");

        AppProcess consumer = pipeline.startConsumer(env);
        int port = consumer.httpPort();
        PipelineState.await("the consumer says why it is not ready", Duration.ofSeconds(60),
                () -> ready(port).contains("authentication failed"));
        assertThat(readyStatus(port)).isEqualTo(503);
        System.out.println("secured: wrong SASL password -> readiness: " + ready(port));
        for (AppProcess process : new AppProcess[] {producer, replay, consumer}) {
            assertThat(process.output()).as("no secret in any output").doesNotContain(wrong);
        }
    }

    @Test
    void noSecretReachesALogAHealthResponseOrAMetricWhenEverythingFails() throws Exception {
        String kafkaSecret = "kafka-secret-4q7";
        String databaseSecret = "db-secret-8w2";
        String querySecret = "db-query-secret-3k9";
        String truststoreSecret = "truststore-secret-6z1";
        int closedPort;
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        Map<String, String> env = with(sasl(kafkaSecret), Map.of(
                "KAFKA_SSL_TRUSTSTORE_PASSWORD", truststoreSecret,
                "DATABASE_URL", "postgres://streamsre:" + databaseSecret + "@127.0.0.1:" + closedPort
                        + "/streamsre_it?sslmode=disable&password=" + querySecret));
        List<String> outputs = new java.util.ArrayList<>();

        AppProcess consumer = pipeline.startConsumer(env);
        assertThat(consumer.awaitExit(Duration.ofSeconds(60))).as("no database: the start fails").isEqualTo(1);
        outputs.add(consumer.output());

        // With the database reachable, the consumer stays up, not ready: its probes and metrics too.
        AppProcess ready = pipeline.startConsumer(with(sasl(kafkaSecret), Map.of("KAFKA_SSL_TRUSTSTORE_PASSWORD",
                truststoreSecret)));
        int port = ready.httpPort();
        PipelineState.await("not ready, saying why", Duration.ofSeconds(60), () -> ready(port).contains("authentication failed"));
        outputs.add(ready(port));
        outputs.add(metrics(port));
        outputs.add(get(port, "/q/health/live"));
        for (String mode : List.of("producer", "replay")) {
            AppProcess job = pipeline.start(mode, with(env, Map.of("KAFKA_TOPIC", pipeline.topic(), "DURATION", "5s")));
            assertThat(job.awaitExit(Duration.ofSeconds(60))).as(mode + ": " + job.output()).isNotZero();
            outputs.add(job.output());
        }
        outputs.add(ready.output());
        int hits = 0;
        for (String output : outputs) {
            for (String secret : List.of(kafkaSecret, databaseSecret, querySecret, truststoreSecret)) {
                if (output.contains(secret)) {
                    hits++;
                }
            }
        }
        System.out.printf("secrets: %d outputs (logs of a consumer, two jobs, a not-ready consumer; its health and"
                + " metrics) grepped for 4 secrets: %d hits%n", outputs.size(), hits);
        assertThat(hits).as("secrets in any output").isZero();
    }

    private void everyModeWorks(Map<String, String> security, String protocol) {
        AppProcess producer = pipeline.start("producer", with(security, Map.of("KAFKA_TOPIC", pipeline.topic(),
                "RATE_PER_SEC", "0", "DURATION", "0", "STREAMSRE_PRODUCER_MAX_EVENTS", "3000", "POISON_PCT", "2",
                "DUPLICATE_PCT", "2")));
        assertThat(producer.awaitExit(Duration.ofSeconds(120))).as(producer.output()).isZero();
        Pipeline.Expected expected = pipeline.expected();
        assertThat(expected.poison()).isPositive();

        AppProcess consumer = pipeline.startConsumer(with(security, Map.of(
                "STREAMSRE_CONSUMER_LAG_SAMPLE_INTERVAL", "1s", "STREAMSRE_CONSUMER_LEDGER_PRUNE_INTERVAL", "1s")));
        int port = consumer.httpPort();
        pipeline.awaitDrained(expected);
        pipeline.assertExactly(expected);
        PipelineState.await("ready over " + protocol, Duration.ofSeconds(30), () -> readyStatus(port) == 200);
        PipelineState.await("lag gauges for every partition", Duration.ofSeconds(30),
                () -> metrics(port).lines().filter(line -> line.startsWith("consumer_lag{")
                        && line.contains("topic=\"" + pipeline.topic() + "\"")).count() == PARTITIONS);
        // The ledger pruner reads the topic's retention through the admin client before it prunes.
        AppProcess.sleep(3_000);
        assertThat(consumer.output()).doesNotContain("cannot read the retention").doesNotContain(" ERROR ");

        AppProcess replay = pipeline.start("replay", with(security, Map.of("KAFKA_TOPIC", pipeline.topic(),
                "STREAMSRE_REPLAY_LIMIT", "3")));
        assertThat(replay.awaitExit(Duration.ofSeconds(60))).as(replay.output()).isZero();
        assertThat(replay.output()).contains("replayed=3");
        PipelineState.await("the replayed dead letters came back to their rows", Duration.ofSeconds(60),
                () -> PipelineState.count("SELECT count(*) FROM dlq_events WHERE failure_count = 2") == 3);
        System.out.printf("secured (%s): produced %,d records, %,d events landed, %,d dead letters, lag gauges on %d"
                + " partitions, 3 replayed%n", protocol, expected.records(), expected.events().size(), expected.poison(),
                PARTITIONS);
    }

    private static Map<String, String> sasl(String password) {
        return Map.of("KAFKA_BROKERS", "127.0.0.1:" + System.getProperty("it.kafka.sasl.port"),
                "KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT",
                "KAFKA_SASL_MECHANISM", "SCRAM-SHA-512",
                "KAFKA_SASL_JAAS_CONFIG", "org.apache.kafka.common.security.scram.ScramLoginModule required"
                        + " username=\"streamsre\" password=\"" + password + "\";");
    }

    private static Map<String, String> tls() {
        String infra = System.getProperty("it.infra.home");
        return Map.of("KAFKA_BROKERS", "127.0.0.1:" + System.getProperty("it.kafka.ssl.port"),
                "KAFKA_SECURITY_PROTOCOL", "SSL",
                "KAFKA_SSL_TRUSTSTORE_LOCATION", infra + "/tls/truststore.p12",
                "KAFKA_SSL_TRUSTSTORE_TYPE", "PKCS12",
                "KAFKA_SSL_TRUSTSTORE_PASSWORD", clientProperty("client-ssl.properties", "ssl.truststore.password"));
    }

    /** The SCRAM password bin/infra gave user streamsre, read back from the client settings it wrote. */
    private static String saslPassword() {
        String jaas = clientProperty("client-sasl.properties", "sasl.jaas.config");
        return jaas.substring(jaas.indexOf("password=\"") + 10, jaas.lastIndexOf('"'));
    }

    private static String clientProperty(String file, String key) {
        try {
            java.util.Properties properties = new java.util.Properties();
            properties.load(Files.newBufferedReader(Path.of(System.getProperty("it.infra.home"), file)));
            return properties.getProperty(key);
        } catch (IOException e) {
            throw new IllegalStateException("bin/infra wrote no " + file + ": was the build's broker started with"
                    + " KAFKA_SASL_PORT and KAFKA_SSL_PORT?", e);
        }
    }

    private static Map<String, String> with(Map<String, String> base, Map<String, String> more) {
        Map<String, String> all = new HashMap<>(base);
        all.putAll(more);
        return all;
    }

    private static String ready(int port) {
        return get(port, "/q/health/ready");
    }

    private static int readyStatus(int port) {
        try {
            return ((HttpURLConnection) new URL("http://127.0.0.1:" + port + "/q/health/ready").openConnection())
                    .getResponseCode();
        } catch (IOException e) {
            return -1;
        }
    }

    private static String metrics(int port) {
        return get(port, "/q/metrics");
    }

    private static String get(int port, String path) {
        try {
            HttpURLConnection connection = (HttpURLConnection) new URL("http://127.0.0.1:" + port + path).openConnection();
            var body = connection.getResponseCode() < 400 ? connection.getInputStream() : connection.getErrorStream();
            return new String(body.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }
}
