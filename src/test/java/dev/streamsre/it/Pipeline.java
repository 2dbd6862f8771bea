package dev.streamsre.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamsre.event.DecodeResult;
import dev.streamsre.event.EventCodec;
import dev.streamsre.producer.EventGenerator;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The one fixture the integration tests share: a fresh main topic, DLQ topic, consumer group and
 * empty tables per test, the app processes it started (stopped at the end), and the waits and
 * checks every end-to-end test makes. Waits fail loudly with the pipeline's state when they time
 * out; exit codes are asserted exactly.
 */
public final class Pipeline implements AutoCloseable {

    /** What a drain of the main topic must end with: every distinct valid event once, every poison record once. */
    public record Expected(Set<UUID> events, long poison, long records) {
    }

    private final int partitions;
    private final String topic;
    private final String dlqTopic;
    private final List<AppProcess> processes = new ArrayList<>();
    private String group;

    private Pipeline(String prefix, String topic, int partitions) {
        this.partitions = partitions;
        this.topic = topic;
        this.dlqTopic = TestInfrastructure.createTopic(prefix + "-dlq", 1);
        this.group = prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
        PipelineState.resetDatabase();
    }

    /** New topics ({@code prefix-<id>} with {@code partitions}, and a DLQ topic), a new group, empty tables. */
    public static Pipeline fresh(String prefix, int partitions) {
        return new Pipeline(prefix, TestInfrastructure.createTopic(prefix, partitions), partitions);
    }

    /** Over a main topic filled beforehand (the benchmark's): a new DLQ topic, a new group, empty tables. */
    public static Pipeline over(String topic, int partitions, String prefix) {
        return new Pipeline(prefix, topic, partitions);
    }

    public String topic() {
        return topic;
    }

    public String dlqTopic() {
        return dlqTopic;
    }

    public String group() {
        return group;
    }

    public int partitions() {
        return partitions;
    }

    /** Later consumers join a new group, which reads both topics from the start again. */
    public void newGroup(String suffix) {
        group = group + "-" + suffix;
    }

    /** Starts a consumer on this pipeline's topics and group, with extra environment on top. */
    public AppProcess startConsumer(Map<String, String> extra) {
        return startConsumer(extra, AppProcess.DEFAULT_JVM_OPTIONS);
    }

    /** As {@link #startConsumer(Map)}, with these JVM options. */
    public AppProcess startConsumer(Map<String, String> extra, List<String> jvmOptions) {
        Map<String, String> env = new HashMap<>(Map.of("KAFKA_TOPIC", topic, "KAFKA_DLQ_TOPIC", dlqTopic,
                "KAFKA_GROUP_ID", group));
        env.putAll(extra);
        AppProcess process = AppProcess.start("consumer", env, jvmOptions);
        processes.add(process);
        return process;
    }

    public AppProcess startConsumer() {
        return startConsumer(Map.of());
    }

    /** How one graceful stop went: exit code, seconds from SIGTERM to exit, the ERROR lines logged, the output. */
    public record Stop(int exitCode, double seconds, List<String> errors, String output) {
    }

    /**
     * Starts a consumer, lets it run a random 0.2..4 s (from partitions still being assigned to
     * well into the stream) and stops it with SIGTERM, as Kubernetes does.
     */
    public Stop startAndStopAtRandomMoment(java.util.Random random, List<String> jvmOptions) {
        AppProcess consumer = startConsumer(Map.of(), jvmOptions);
        awaitRandomMoment(consumer, random);
        return stop(consumer);
    }

    /** Waits until the consumer has started, then a random 0.2..4 s more. */
    public void awaitRandomMoment(AppProcess consumer, java.util.Random random) {
        consumer.awaitOutput("Profile consumer activated", Duration.ofSeconds(60));
        AppProcess.sleep(200 + random.nextInt(3_800));
    }

    /** Sends SIGTERM and reports how the stop went. */
    public Stop stop(AppProcess consumer) {
        long signalled = System.nanoTime();
        consumer.terminate();
        int exitCode = consumer.awaitExit(Duration.ofSeconds(30));
        double seconds = (System.nanoTime() - signalled) / 1e9;
        String output = consumer.output();
        return new Stop(exitCode, seconds, output.lines().filter(line -> line.contains(" ERROR ")).toList(), output);
    }

    /** Starts the app in any mode; the process is stopped when the test ends. */
    public AppProcess start(String profile, Map<String, String> environment) {
        AppProcess process = AppProcess.start(profile, environment);
        processes.add(process);
        return process;
    }

    /**
     * Sends {@code events} records of the producer's own stream (its {@link EventGenerator} with the
     * shipped defaults: 80 % on three hot keys) unpaced, from this JVM, and waits until the broker
     * acknowledged every one. The producer process itself is ProducerIT's subject; here it would
     * only add a JVM start to every test.
     */
    public void produce(int events, int duplicatePct, double poisonPct) {
        produce(events, duplicatePct, poisonPct, List.of("user:1", "user:2", "user:3"), 80);
    }

    /** The same, with other hot keys and share of events on them (100: every event on a hot key). */
    public void produce(int events, int duplicatePct, double poisonPct, List<String> hotKeys, double hotKeyPct) {
        EventGenerator generator = new EventGenerator(new EventCodec(), new java.util.Random().nextLong(),
                java.time.Clock.systemUTC(), hotKeys, 10_000, hotKeyPct, poisonPct, duplicatePct, 100);
        // In chunks: a million records at once would not fit the test JVM's heap.
        for (int sent = 0; sent < events; sent += 100_000) {
            int chunk = Math.min(100_000, events - sent);
            List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>(chunk);
            for (int i = 0; i < chunk; i++) {
                EventGenerator.GeneratedRecord record = generator.next();
                records.add(new ProducerRecord<>(topic, record.key().getBytes(StandardCharsets.UTF_8), record.value()));
            }
            TestInfrastructure.send(records);
        }
    }

    /** One run of audit mode: its exit code, its report (standard output), and how long it took. */
    public record Audit(int exitCode, String output, double seconds) {

        /** The report audit mode printed, without the log lines around it. */
        public String report() {
            String report = output.substring(Math.max(0, output.indexOf("audit of topic")));
            return String.join("\n", report.lines().filter(line -> !line.matches("^\\d{4}-\\d\\d-\\d\\d .*")).toList()) + "\n";
        }
    }

    /** Runs audit mode on this pipeline's topic and group (extra environment on top) and waits for its verdict. */
    public Audit audit(Map<String, String> extra) {
        Map<String, String> env = new HashMap<>(Map.of("KAFKA_TOPIC", topic, "KAFKA_DLQ_TOPIC", dlqTopic,
                "KAFKA_GROUP_ID", group));
        env.putAll(extra);
        long started = System.nanoTime();
        AppProcess audit = start("audit", env);
        int exitCode = audit.awaitExit(Duration.ofMinutes(5));
        return new Audit(exitCode, audit.output(), (System.nanoTime() - started) / 1e9);
    }

    /** Reads the main topic to its end, keeping only event ids and counts: what a drain must write. */
    public Expected expected() {
        EventCodec codec = new EventCodec();
        Set<UUID> events = new HashSet<>();
        long[] counts = new long[2];
        TestInfrastructure.forEachRecord(topic, record -> {
            counts[0]++;
            if (codec.decode(record.value()) instanceof DecodeResult.Valid valid) {
                events.add(valid.event().eventId());
            } else {
                counts[1]++;
            }
        });
        return new Expected(events, counts[1], counts[0]);
    }

    /** Waits until every distinct event landed, every poison record is in dlq_events, and the lag is 0. */
    public void awaitDrained(Expected expected, Duration timeout) {
        PipelineState.await(expected.events().size() + " reviews, " + expected.poison() + " dead letters and zero lag",
                timeout, () -> PipelineState.count("SELECT count(*) FROM reviews") >= expected.events().size()
                        && PipelineState.count("SELECT count(*) FROM dlq_events") >= expected.poison()
                        && lag() == 0,
                this::describeState);
    }

    public void awaitDrained(Expected expected) {
        awaitDrained(expected, Duration.ofMinutes(3));
    }

    /** Records of the main topic not yet committed by the group. */
    public long lag() {
        return PipelineState.lag(group, topic, partitions);
    }

    /**
     * produced = landed + duplicates + dead letters, exactly: every distinct event has one review and
     * one ledger row, nothing else is in reviews, each poison record is one dlq_events row, and the
     * DLQ topic holds at least one copy of each (more after a crash: the copy and the commit are
     * not one transaction). Returns how many DLQ copies there are.
     */
    public long assertExactly(Expected expected) {
        assertThat(PipelineState.count("SELECT count(*) FROM reviews")).as("reviews").isEqualTo(expected.events().size());
        assertThat(PipelineState.count("SELECT count(*) FROM processed_events")).as("ledger rows")
                .isEqualTo(expected.events().size());
        Set<UUID> landed = PipelineState.uuids("SELECT event_id FROM reviews");
        Set<UUID> missing = expected.events().stream().filter(id -> !landed.contains(id)).collect(Collectors.toSet());
        assertThat(missing).as("events lost").isEmpty();
        assertThat(PipelineState.count("SELECT count(*) FROM dlq_events")).as("dead letters in dlq_events")
                .isEqualTo(expected.poison());
        assertThat(PipelineState.count("SELECT count(*) FROM (SELECT DISTINCT source_partition, source_offset"
                + " FROM dlq_events) d")).as("each dead letter once").isEqualTo(expected.poison());
        long copies = TestInfrastructure.readAllRaw(dlqTopic).size();
        if (expected.poison() == 0) {
            assertThat(copies).as("DLQ topic").isZero();
        } else {
            assertThat(copies).as("DLQ topic copies").isGreaterThanOrEqualTo(expected.poison());
        }
        return copies;
    }

    private String describeState() {
        return "reviews=" + PipelineState.count("SELECT count(*) FROM reviews") + " dlq_events="
                + PipelineState.count("SELECT count(*) FROM dlq_events") + " lag=" + lag();
    }

    @Override
    public void close() {
        processes.forEach(AppProcess::close);
    }
}
