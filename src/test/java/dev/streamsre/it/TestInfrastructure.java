package dev.streamsre.it;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Where the integration tests find the real broker and database that the build started with
 * {@code bin/infra up} (see pom.xml), plus small helpers to create topics and read them back.
 */
public final class TestInfrastructure {

    /**
     * JUnit tag of the tests that stop and start the local PostgreSQL with pg_ctlcluster (root or
     * the postgres user): {@code -DexcludedGroups=needs-root-postgres} leaves them out.
     */
    public static final String NEEDS_ROOT_POSTGRES = "needs-root-postgres";

    private TestInfrastructure() {
    }

    public static String bootstrapServers() {
        return required("it.kafka.bootstrap");
    }

    /** {@code postgres://user:pass@host:port/db} of the test database, as the app's DML-only role. */
    public static String databaseUrl() {
        return required("it.database.url");
    }

    /** The same database as the role that owns the schema (migrations, resets, test triggers). */
    public static String ownerDatabaseUrl() {
        return required("it.database.owner.url");
    }

    /** The database the app's DATABASE_URL names. */
    public static String databaseName() {
        String url = databaseUrl();
        return url.substring(url.lastIndexOf('/') + 1).replaceAll("\\?.*", "");
    }

    public static String appJar() {
        return required("it.app.jar");
    }

    /** The native binary to run in place of the jar ({@code -Dnative}), if any. */
    public static java.util.Optional<String> appBinary() {
        return java.util.Optional.ofNullable(System.getProperty("it.app.binary")).filter(path -> !path.isBlank());
    }

    private static String required(String property) {
        String value = System.getProperty(property);
        if (value == null || value.isBlank()) {
            throw new IllegalStateException("system property " + property
                    + " is not set: run integration tests through `./mvnw verify`, which starts the broker");
        }
        return value;
    }

    public static Admin admin() {
        return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers()));
    }

    private static Admin sharedAdmin;

    /**
     * One admin client for the waits that poll the broker every 250 ms (lag, end offsets): a new
     * client per poll costs more CPU than the poll itself. It reconnects by itself after a broker
     * restart; never close it.
     */
    public static synchronized Admin sharedAdmin() {
        if (sharedAdmin == null) {
            sharedAdmin = admin();
        }
        return sharedAdmin;
    }

    /** Creates a topic with a unique name, so tests never see each other's records. */
    public static String createTopic(String prefix, int partitions) {
        String name = prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1))).all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("cannot create topic " + name, e);
        }
        return name;
    }

    /** Creates a topic with exactly this name (a drill recreating a topic it deleted). */
    public static void recreateTopic(String name, int partitions) {
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1))).all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("cannot create topic " + name, e);
        }
    }

    /** Deletes a topic and waits until the broker no longer lists it. */
    public static void deleteTopic(String name) {
        try (Admin admin = admin()) {
            admin.deleteTopics(List.of(name)).all().get(30, TimeUnit.SECONDS);
            PipelineState.await("topic " + name + " deleted", Duration.ofSeconds(30), () -> {
                try {
                    return !admin.listTopics().names().get(10, TimeUnit.SECONDS).contains(name);
                } catch (Exception e) {
                    return false;
                }
            });
        } catch (Exception e) {
            throw new IllegalStateException("cannot delete topic " + name, e);
        }
    }

    /** Reads every record currently in the topic, from the beginning to the end offsets. */
    public static List<ConsumerRecord<String, byte[]>> readAll(String topic) {
        return readAll(topic, StringDeserializer.class);
    }

    /** As {@link #readAll(String)}, with keys as the exact bytes written. */
    public static List<ConsumerRecord<byte[], byte[]>> readAllRaw(String topic) {
        return readAll(topic, ByteArrayDeserializer.class);
    }

    private static <K> List<ConsumerRecord<K, byte[]>> readAll(String topic, Class<?> keyDeserializer) {
        List<ConsumerRecord<K, byte[]>> records = new ArrayList<>();
        TestInfrastructure.<K>forEachRecord(topic, keyDeserializer, records::add);
        return records;
    }

    /**
     * Hands every record currently in the topic, from the beginning to the end offsets, to
     * {@code action} without keeping them: for topics of millions of records (the soak's).
     */
    public static void forEachRecord(String topic, java.util.function.Consumer<ConsumerRecord<String, byte[]>> action) {
        forEachRecord(topic, StringDeserializer.class, action);
    }

    private static <K> void forEachRecord(String topic, Class<?> keyDeserializer,
            java.util.function.Consumer<ConsumerRecord<K, byte[]>> action) {
        Properties properties = new Properties();
        properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        properties.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, keyDeserializer.getName());
        properties.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        properties.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000");
        try (KafkaConsumer<K, byte[]> consumer = new KafkaConsumer<>(properties)) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (PartitionInfo info : consumer.partitionsFor(topic)) {
                partitions.add(new TopicPartition(topic, info.partition()));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = new HashMap<>(consumer.endOffsets(partitions));
            // A minute per million records, at least one.
            long records = end.values().stream().mapToLong(Long::longValue).sum();
            Duration timeout = Duration.ofSeconds(60 * Math.max(1, records / 1_000_000 + 1));
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!caughtUp(consumer, end.keySet(), end) && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(action);
            }
            if (!caughtUp(consumer, end.keySet(), end)) {
                throw new IllegalStateException("could not read " + topic + " to its end within " + timeout);
            }
        }
    }

    /**
     * Sends the records without waiting for each (the idempotent producer keeps each partition's
     * order, retries included), then waits until the broker has acknowledged every one; the first
     * failure fails the call.
     */
    public static void send(List<ProducerRecord<byte[], byte[]>> records) {
        AtomicReference<Exception> failure = new AtomicReference<>();
        Properties properties = producerProperties();
        properties.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        properties.put(ProducerConfig.BATCH_SIZE_CONFIG, "131072");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(properties)) {
            for (ProducerRecord<byte[], byte[]> record : records) {
                producer.send(record, (metadata, error) -> {
                    if (error != null) {
                        failure.compareAndSet(null, error);
                    }
                });
            }
            producer.flush();
        }
        if (failure.get() != null) {
            throw new IllegalStateException("cannot send test records", failure.get());
        }
    }

    private static Properties producerProperties() {
        Properties properties = new Properties();
        properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        properties.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        properties.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        properties.put(ProducerConfig.ACKS_CONFIG, "all");
        properties.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        return properties;
    }

    /**
     * Runs {@code bin/infra} against the test broker and database (e.g. {@code down} and {@code up}
     * to restart the broker mid-stream), and returns its output.
     */
    public static String infra(String... arguments) {
        List<String> command = new ArrayList<>(List.of("bash", System.getProperty("it.infra.script")));
        command.addAll(List.of(arguments));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("INFRA_HOME", System.getProperty("it.infra.home"));
        builder.environment().put("KAFKA_PORT", System.getProperty("it.kafka.port"));
        builder.environment().put("KAFKA_CONTROLLER_PORT", System.getProperty("it.kafka.controller.port"));
        // The secured listeners are optional (a drill's broker has none).
        builder.environment().put("KAFKA_SASL_PORT", System.getProperty("it.kafka.sasl.port", ""));
        builder.environment().put("KAFKA_SSL_PORT", System.getProperty("it.kafka.ssl.port", ""));
        // The broker's JMX exporter agent (0: none), on the port the build reserved for it.
        builder.environment().put("KAFKA_METRICS_PORT", System.getProperty("it.kafka.metrics.port", "0"));
        builder.environment().put("STREAMSRE_DB", System.getProperty("it.database.name", "streamsre_it"));
        // The build's broker dies with the build (a watchdog); a drill's broker outlives the drill.
        String owner = System.getProperty("it.infra.owner", "parent");
        if (!owner.isEmpty()) {
            builder.environment().put("INFRA_OWNER_PID", owner);
        }
        try {
            Process process = builder.start();
            String output = new String(process.getInputStream().readAllBytes());
            if (process.waitFor() != 0) {
                throw new IllegalStateException("bin/infra " + String.join(" ", arguments) + " failed:\n" + output);
            }
            return output;
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot run bin/infra", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * Stops or starts the local PostgreSQL cluster, really breaking every connection (the outage
     * drill). Needs the Debian cluster tools and the rights to use them, as CI has.
     */
    public static void postgres(String action) {
        try {
            String version;
            try (var versions = java.nio.file.Files.list(java.nio.file.Path.of("/etc/postgresql"))) {
                version = versions.map(path -> path.getFileName().toString())
                        .max(java.util.Comparator.comparingInt(Integer::parseInt)).orElseThrow();
            }
            List<String> command = new ArrayList<>(List.of("pg_ctlcluster", "--skip-systemctl-redirect", version, "main",
                    action));
            if (action.equals("stop")) {
                command.addAll(List.of("-m", "fast"));
            }
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes());
            if (process.waitFor() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed: " + output);
            }
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot " + action + " PostgreSQL with pg_ctlcluster", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static boolean caughtUp(KafkaConsumer<?, ?> consumer, Collection<TopicPartition> partitions,
            Map<TopicPartition, Long> end) {
        for (TopicPartition partition : partitions) {
            if (consumer.position(partition) < end.get(partition)) {
                return false;
            }
        }
        return true;
    }
}
