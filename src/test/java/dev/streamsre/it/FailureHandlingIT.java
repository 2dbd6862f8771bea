package dev.streamsre.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Failure handling end to end, through the real broker, the real connector and the real
 * PostgreSQL: poison goes to the DLQ alone and exactly, outages and a slow database lose nothing
 * and dead-letter nothing, and replay brings dead letters back without doubling anything.
 */
class FailureHandlingIT {

    private static final int PARTITIONS = 3;
    private final List<AppProcess> processes = new ArrayList<>();
    private String topic;
    private String dlqTopic;
    private String group;

    @BeforeEach
    void freshTopicsGroupAndTables() {
        topic = TestInfrastructure.createTopic("it-failure", PARTITIONS);
        dlqTopic = TestInfrastructure.createTopic("it-failure-dlq", 1);
        group = "it-failure-" + UUID.randomUUID().toString().substring(0, 8);
        PipelineState.resetDatabase();
    }

    @AfterEach
    void stopProcesses() {
        processes.forEach(AppProcess::close);
    }

    /** One poison record of the corpus and the reason it must be dead-lettered with. */
    private record Poison(String name, byte[] key, byte[] value, String reason) {
    }

    @Test
    void everyPoisonRecordLandsInTheDlqAloneWithItsReasonAndItsExactBytes() throws Exception {
        List<Poison> corpus = poisonCorpus();
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        List<String> validIds = new ArrayList<>();
        // The conflict needs its rightful owner to land first: same key, so same partition, earlier offset.
        String owner = UUID.randomUUID().toString();
        records.add(record("user:conflict", event(owner, "user:conflict", "review-taken", 4)));
        validIds.add(owner);
        int n = 0;
        for (Poison poison : corpus) {
            // Neighbours on both sides in the same partition and the same poll.
            for (int i = 0; i < 2; i++) {
                String id = UUID.randomUUID().toString();
                String key = "user:" + (n++ % 7);
                records.add(record(key, event(id, key, "review-" + id, 3)));
                validIds.add(id);
            }
            records.add(new ProducerRecord<>(topic, poison.key(), poison.value()));
        }
        TestInfrastructure.send(records);

        // A long log window: within it, each reason gets one WARN line however many records it condemns.
        AppProcess consumer = startConsumer(Map.of("STREAMSRE_CONSUMER_DEAD_LETTER_LOG_INTERVAL", "10m"));
        PipelineState.await("valid events landed and every poison record recorded", Duration.ofSeconds(90),
                () -> PipelineState.count("SELECT count(*) FROM reviews") == validIds.size()
                        && PipelineState.count("SELECT count(*) FROM dlq_events") == corpus.size()
                        && PipelineState.lag(group, topic, PARTITIONS) == 0);

        assertThat(PipelineState.uuids("SELECT event_id FROM reviews"))
                .containsExactlyInAnyOrderElementsOf(validIds.stream().map(UUID::fromString).toList());
        List<ConsumerRecord<byte[], byte[]>> dead = TestInfrastructure.readAllRaw(dlqTopic);
        assertThat(dead).hasSize(corpus.size());
        Map<String, Map<String, Object>> rows = dlqRowsBySource();
        for (ConsumerRecord<byte[], byte[]> letter : dead) {
            String source = header(letter, "streamsre-dlq-source-topic") + "/"
                    + header(letter, "streamsre-dlq-source-partition") + "/" + header(letter, "streamsre-dlq-source-offset");
            Poison poison = corpus.stream().filter(p -> Arrays.equals(p.key(), letter.key())).findFirst().orElseThrow();
            assertThat(header(letter, "streamsre-dlq-reason")).as(poison.name()).isEqualTo(poison.reason());
            assertThat(letter.value()).as(poison.name() + ": bytes preserved").isEqualTo(poison.value());
            assertThat(header(letter, "streamsre-dlq-source-topic")).isEqualTo(topic);
            assertThat(header(letter, "streamsre-dlq-error-message")).as(poison.name()).startsWith(poison.reason());
            assertThat(header(letter, "streamsre-dlq-exception-class")).as(poison.name()).isNotBlank();
            assertThat(Integer.parseInt(header(letter, "streamsre-dlq-attempts"))).isPositive();
            assertThat(Instant.parse(header(letter, "streamsre-dlq-failed-at"))).isBefore(Instant.now());
            Map<String, Object> row = rows.get(source);
            assertThat(row).as(poison.name() + " recorded in dlq_events").isNotNull();
            assertThat(row.get("reason")).as(poison.name()).isEqualTo(poison.reason());
            assertThat((byte[]) row.get("payload")).as(poison.name() + ": bytes in SQL").isEqualTo(poison.value());
            assertThat((byte[]) row.get("record_key")).isEqualTo(poison.key());
        }
        assertThat(PipelineState.count("SELECT count(*) FROM dlq_events WHERE reason = 'review_id_conflict'"
                + " AND event_id IS NOT NULL AND exception_class IS NOT NULL")).isEqualTo(1);

        String log = consumer.output();
        for (String reason : corpus.stream().map(Poison::reason).distinct().toList()) {
            assertThat(log.split("dead-lettering record: reason=" + reason + " ", -1)).as("WARN lines for " + reason)
                    .hasSize(2);
        }
        assertThat(log).as("the connector's own line per dead letter is DEBUG").doesNotContain("SRMSG18202");

        // Redelivery: a new group reads the main topic and the DLQ topic again from the start.
        processes.forEach(AppProcess::terminate);
        String firstGroup = group;
        group = firstGroup + "-again";
        startConsumer(Map.of());
        PipelineState.await("second pass dead-lettered the corpus again", Duration.ofSeconds(90),
                () -> PipelineState.lag(group, topic, PARTITIONS) == 0
                        && PipelineState.lag(group + "-dlq-recorder", dlqTopic, 1) == 0
                        && TestInfrastructure.readAllRaw(dlqTopic).size() == 2 * corpus.size());
        assertThat(PipelineState.count("SELECT count(*) FROM dlq_events")).as("a redelivered DLQ record is one row")
                .isEqualTo(corpus.size());
        assertThat(PipelineState.count("SELECT count(*) FROM reviews")).isEqualTo(validIds.size());
    }

    @Test
    void aSixtySecondDatabaseOutageLosesNothingAndDeadLettersNothing() {
        AppProcess producer = AppProcess.start("producer", Map.of("KAFKA_TOPIC", topic, "RATE_PER_SEC", "1000",
                "DURATION", "80s", "DUPLICATE_PCT", "2", "POISON_PCT", "0"));
        processes.add(producer);
        AppProcess consumer = startConsumer(Map.of());
        PipelineState.await("consumer is writing", Duration.ofSeconds(60),
                () -> PipelineState.count("SELECT count(*) FROM reviews") > 5_000);

        TestInfrastructure.postgres("stop");
        try {
            AppProcess.sleep(60_000);
            assertThat(consumer.isAlive()).as("consumer survives the outage").isTrue();
        } finally {
            TestInfrastructure.postgres("start");
        }
        long back = System.nanoTime();
        Instant backAt = Instant.now();
        PipelineState.await("writes resumed", Duration.ofSeconds(30),
                () -> PipelineState.count("SELECT count(*) FROM reviews WHERE ingested_at > '" + backAt + "'") > 0);
        double resumedAfter = (System.nanoTime() - back) / 1e9;
        System.out.printf("outage drill: writes resumed %.1f s after PostgreSQL came back%n", resumedAfter);
        assertThat(resumedAfter).as("seconds until processing resumed").isLessThanOrEqualTo(10.0);

        assertThat(producer.awaitExit(Duration.ofSeconds(90))).as(producer.output()).isZero();
        Set<UUID> expected = PipelineState.distinctEventIds(TestInfrastructure.readAll(topic));
        awaitDrained(expected.size());
        assertExactly(expected);
        assertThat(consumer.output()).doesNotContain("TooManyMessagesWithoutAckException")
                .contains("reason=db_unavailable");
    }

    @Test
    void aSlowDatabaseSlowsTheConsumerWithoutLossAndRecoversWhenItIsFast() throws Exception {
        produce(30_000);
        Set<UUID> expected = PipelineState.distinctEventIds(TestInfrastructure.readAll(topic));
        // Small batches, so a per-statement delay bounds the rate well below the backlog size.
        startConsumer(Map.of("MAX_INFLIGHT", "100", "STREAMSRE_CONSUMER_STATEMENT_TIMEOUT", "1s"));
        PipelineState.await("consumer is writing", Duration.ofSeconds(60),
                () -> PipelineState.count("SELECT count(*) FROM reviews") > 0);

        slowDownReviews("0.25");
        long slowStart = PipelineState.count("SELECT count(*) FROM reviews");
        AppProcess.sleep(10_000);
        double slowRate = (PipelineState.count("SELECT count(*) FROM reviews") - slowStart) / 10.0;

        // Slower than the statement timeout: every write is cancelled and retried, none lands.
        slowDownReviews("2");
        AppProcess.sleep(3_000);
        long stuckStart = PipelineState.count("SELECT count(*) FROM reviews");
        AppProcess.sleep(8_000);
        long stuckProgress = PipelineState.count("SELECT count(*) FROM reviews") - stuckStart;

        long fastStart = PipelineState.count("SELECT count(*) FROM reviews");
        long fastStartNanos = System.nanoTime();
        PipelineState.execute("DROP TRIGGER slow_reviews ON reviews");
        awaitDrained(expected.size());
        double fastRate = (expected.size() - fastStart) / ((System.nanoTime() - fastStartNanos) / 1e9);
        System.out.printf("slow-database drill: %.0f events/s with a 250 ms trigger, %d events in 8 s with a 2 s"
                + " trigger (timeout 1 s), %.0f events/s after removing it%n", slowRate, stuckProgress, fastRate);

        assertThat(slowRate).as("the slow database bounds the rate").isPositive().isLessThan(1_000);
        assertThat(stuckProgress).as("statements cancelled by the timeout land nothing").isZero();
        assertThat(fastRate).as("throughput restored").isGreaterThan(3 * slowRate);
        assertExactly(expected);
        assertThat(processes.get(0).output()).contains("reason=db_timeout sqlstate=57014");
    }

    @Test
    void replayRepublishesChosenDeadLettersAndNeverDoublesAReview() throws Exception {
        String owner = UUID.randomUUID().toString();
        String usurper = UUID.randomUUID().toString();
        TestInfrastructure.send(List.of(
                record("user:9", event(owner, "user:9", "review-9", 5)),
                record("user:9", event(usurper, "user:9", "review-9", 1)),
                new ProducerRecord<>(topic, bytes("user:bad"), bytes("{not json"))));
        startConsumer(Map.of());
        PipelineState.await("one review and two dead letters", Duration.ofSeconds(60),
                () -> PipelineState.count("SELECT count(*) FROM reviews") == 1
                        && PipelineState.count("SELECT count(*) FROM dlq_events") == 2);
        long mainEnd = mainTopicEnd();

        AppProcess dryRun = replay(Map.of("STREAMSRE_REPLAY_DRY_RUN", "true"));
        assertThat(dryRun.awaitExit(Duration.ofSeconds(60))).as(dryRun.output()).isZero();
        assertThat(dryRun.output()).contains("2 dead letter(s) selected").contains("would replay")
                .contains("reason=review_id_conflict").contains("reason=invalid_json");
        assertThat(mainTopicEnd()).as("a dry run publishes nothing").isEqualTo(mainEnd);
        assertThat(PipelineState.count("SELECT sum(replay_count) FROM dlq_events")).isZero();

        // The operator fixes the data, then replays the conflict: it lands now.
        PipelineState.execute("UPDATE reviews SET review_id = 'review-9-renamed' WHERE review_id = 'review-9'");
        AppProcess replayConflict = replay(Map.of("STREAMSRE_REPLAY_REASONS", "review_id_conflict"));
        assertThat(replayConflict.awaitExit(Duration.ofSeconds(60))).as(replayConflict.output()).isZero();
        assertThat(replayConflict.output()).contains("replay summary: dry_run=false selected=1 replayed=1");
        PipelineState.await("the replayed event landed", Duration.ofSeconds(60),
                () -> PipelineState.count("SELECT count(*) FROM reviews WHERE event_id = '" + usurper + "'") == 1);

        // Replaying it again is harmless: the ledger recognises the event.
        AppProcess again = replay(Map.of("STREAMSRE_REPLAY_REASONS", "review_id_conflict"));
        assertThat(again.awaitExit(Duration.ofSeconds(60))).as(again.output()).isZero();
        PipelineState.await("second replay consumed", Duration.ofSeconds(60),
                () -> PipelineState.lag(group, topic, PARTITIONS) == 0);
        assertThat(PipelineState.count("SELECT count(*) FROM reviews")).isEqualTo(2);
        assertThat(PipelineState.count("SELECT replay_count FROM dlq_events WHERE reason = 'review_id_conflict'"))
                .isEqualTo(2);

        // A record that fails again comes back to its own row; past max-replays it is parked.
        Map<String, String> once = Map.of("STREAMSRE_REPLAY_REASONS", "invalid_json", "STREAMSRE_REPLAY_MAX_REPLAYS", "1");
        AppProcess first = replay(once);
        assertThat(first.awaitExit(Duration.ofSeconds(60))).as(first.output()).isZero();
        PipelineState.await("the replayed poison failed again", Duration.ofSeconds(60),
                () -> PipelineState.count("SELECT failure_count FROM dlq_events WHERE reason = 'invalid_json'") == 2);
        assertThat(PipelineState.count("SELECT count(*) FROM dlq_events")).as("no new row").isEqualTo(2);
        assertThat(PipelineState.count("SELECT last_failure_replay_count FROM dlq_events WHERE reason = 'invalid_json'"))
                .isEqualTo(1);
        long endBeforePark = mainTopicEnd();
        AppProcess park = replay(once);
        assertThat(park.awaitExit(Duration.ofSeconds(60))).as(park.output()).isZero();
        assertThat(park.output()).contains("parked (replayed 1 times").contains("parked=1");
        assertThat(PipelineState.count("SELECT count(*) FROM dlq_events WHERE parked")).isEqualTo(1);
        assertThat(mainTopicEnd()).as("a parked entry is not replayed").isEqualTo(endBeforePark);
        AppProcess forced = replay(Map.of("STREAMSRE_REPLAY_REASONS", "invalid_json", "STREAMSRE_REPLAY_MAX_REPLAYS", "1",
                "STREAMSRE_REPLAY_FORCE", "true"));
        assertThat(forced.awaitExit(Duration.ofSeconds(60))).as(forced.output()).isZero();
        assertThat(forced.output()).contains("replayed=1");
        PipelineState.await("the forced replay failed again too", Duration.ofSeconds(60),
                () -> PipelineState.count("SELECT failure_count FROM dlq_events WHERE reason = 'invalid_json'") == 3);

        AppProcess invalid = replay(Map.of("STREAMSRE_REPLAY_LIMIT", "0"));
        assertThat(invalid.awaitExit(Duration.ofSeconds(60))).isNotZero();
        assertThat(invalid.output()).contains("streamsre.replay.limit");
    }

    // --- helpers

    private List<Poison> poisonCorpus() {
        List<Poison> corpus = new ArrayList<>();
        String id = UUID.randomUUID().toString();
        corpus.add(poison("not JSON", bytes("this is not json"), "invalid_json"));
        byte[] invalidUtf8 = bytes("{\"event_id\":\"" + id + "\",\"text\":\"caf#\"}");
        invalidUtf8[invalidUtf8.length - 3] = (byte) 0xC3; // a lead byte followed by '"': not UTF-8
        corpus.add(poison("invalid UTF-8", invalidUtf8, "invalid_utf8"));
        corpus.add(poison("empty value", new byte[0], "empty_value"));
        corpus.add(poison("null value", null, "empty_value"));
        byte[] huge = new byte[1_000_000];
        Arrays.fill(huge, (byte) 'a');
        corpus.add(poison("1 MB value", huge, "oversize"));
        for (String field : List.of("event_id", "event_type", "schema_version", "ts", "key", "payload")) {
            corpus.add(poison("missing " + field, bytes(eventWithout(field, null)), "missing_field"));
        }
        for (String field : List.of("review_id", "rating", "text")) {
            corpus.add(poison("missing payload." + field, bytes(eventWithout(null, field)), "missing_field"));
        }
        for (int rating : new int[] { 0, 6, -5 }) {
            String eventId = UUID.randomUUID().toString();
            corpus.add(poison("rating " + rating, bytes(event(eventId, "user:r", "review-" + eventId, rating)),
                    "rating_out_of_range"));
        }
        corpus.add(poison("unknown schema_version",
                bytes(event(UUID.randomUUID().toString(), "user:v", "r-v", 3).replace("\"schema_version\":1",
                        "\"schema_version\":99")), "unknown_schema_version"));
        corpus.add(poison("unknown event_type",
                bytes(event(UUID.randomUUID().toString(), "user:t", "r-t", 3).replace("review_created",
                        "review_deleted")), "unknown_event_type"));
        String thief = UUID.randomUUID().toString();
        corpus.add(new Poison("review_id reused", bytes("user:conflict"),
                bytes(event(thief, "user:conflict", "review-taken", 2)), "review_id_conflict"));
        corpus.add(poison("garbage bytes", new byte[] { 0x00, (byte) 0xFF, (byte) 0xFE, 0x13, 0x37, (byte) 0x80 },
                "invalid_utf8"));
        return corpus;
    }

    /** Each poison record gets a unique key, so the DLQ copy can be matched to its original. */
    private static Poison poison(String name, byte[] value, String reason) {
        return new Poison(name, bytes("poison:" + name), value, reason);
    }

    private static String event(String eventId, String key, String reviewId, int rating) {
        return "{\"event_id\":\"" + eventId + "\",\"event_type\":\"review_created\",\"schema_version\":1,"
                + "\"ts\":\"" + Instant.now() + "\",\"key\":\"" + key + "\",\"payload\":{\"review_id\":\"" + reviewId
                + "\",\"rating\":" + rating + ",\"text\":\"fine\"}}";
    }

    /** A valid event without one top-level field (or one payload field). */
    private static String eventWithout(String field, String payloadField) {
        Map<String, String> top = new HashMap<>();
        top.put("event_id", "\"" + UUID.randomUUID() + "\"");
        top.put("event_type", "\"review_created\"");
        top.put("schema_version", "1");
        top.put("ts", "\"" + Instant.now() + "\"");
        top.put("key", "\"user:m\"");
        Map<String, String> payload = new HashMap<>(Map.of("review_id", "\"r-" + UUID.randomUUID() + "\"",
                "rating", "4", "text", "\"ok\""));
        payload.remove(payloadField);
        top.put("payload", json(payload));
        top.remove(field);
        return json(top);
    }

    private static String json(Map<String, String> fields) {
        List<String> parts = new ArrayList<>();
        fields.forEach((name, value) -> parts.add("\"" + name + "\":" + value));
        return "{" + String.join(",", parts) + "}";
    }

    private ProducerRecord<byte[], byte[]> record(String key, String value) {
        return new ProducerRecord<>(topic, bytes(key), bytes(value));
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static String header(ConsumerRecord<?, ?> record, String key) {
        Header header = record.headers().lastHeader(key);
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }

    private static Map<String, Map<String, Object>> dlqRowsBySource() throws SQLException {
        Map<String, Map<String, Object>> rows = new HashMap<>();
        try (Connection connection = PipelineState.database(); Statement statement = connection.createStatement();
                ResultSet result = statement.executeQuery("SELECT source_topic || '/' || source_partition || '/' ||"
                        + " source_offset, reason, payload, record_key FROM dlq_events")) {
            while (result.next()) {
                Map<String, Object> row = new HashMap<>();
                row.put("reason", result.getString(2));
                row.put("payload", result.getBytes(3));
                row.put("record_key", result.getBytes(4));
                rows.put(result.getString(1), row);
            }
        }
        return rows;
    }

    private AppProcess startConsumer(Map<String, String> extra) {
        Map<String, String> env = new HashMap<>(Map.of("KAFKA_TOPIC", topic, "KAFKA_DLQ_TOPIC", dlqTopic,
                "KAFKA_GROUP_ID", group));
        env.putAll(extra);
        AppProcess consumer = AppProcess.start("consumer", env);
        processes.add(consumer);
        return consumer;
    }

    private AppProcess replay(Map<String, String> selection) {
        Map<String, String> env = new HashMap<>(Map.of("KAFKA_TOPIC", topic));
        env.putAll(selection);
        AppProcess replay = AppProcess.start("replay", env);
        processes.add(replay);
        return replay;
    }

    private void produce(int events) {
        AppProcess producer = AppProcess.start("producer", Map.of("KAFKA_TOPIC", topic, "RATE_PER_SEC", "0",
                "DURATION", "0", "DUPLICATE_PCT", "2", "POISON_PCT", "0",
                "STREAMSRE_PRODUCER_MAX_EVENTS", String.valueOf(events)));
        assertThat(producer.awaitExit(Duration.ofSeconds(120))).as(producer.output()).isZero();
    }

    private long mainTopicEnd() {
        return PipelineState.endOffsets(topic, PARTITIONS).values().stream().mapToLong(Long::longValue).sum();
    }

    private void awaitDrained(int distinctEvents) {
        PipelineState.await(distinctEvents + " reviews and zero lag", Duration.ofMinutes(3),
                () -> PipelineState.count("SELECT count(*) FROM reviews") >= distinctEvents
                        && PipelineState.lag(group, topic, PARTITIONS) == 0);
    }

    private void assertExactly(Set<UUID> expected) {
        assertThat(PipelineState.count("SELECT count(*) FROM reviews")).isEqualTo(expected.size());
        assertThat(PipelineState.count("SELECT count(*) FROM processed_events")).isEqualTo(expected.size());
        assertThat(PipelineState.uuids("SELECT event_id FROM reviews")).containsExactlyInAnyOrderElementsOf(expected);
        assertThat(PipelineState.count("SELECT count(*) FROM dlq_events")).as("dead letters").isZero();
        assertThat(TestInfrastructure.readAllRaw(dlqTopic)).as("DLQ topic").isEmpty();
    }

    private static void slowDownReviews(String seconds) {
        PipelineState.execute("CREATE OR REPLACE FUNCTION slow_reviews() RETURNS trigger LANGUAGE plpgsql AS $$"
                + " BEGIN PERFORM pg_sleep(" + seconds + "); RETURN NULL; END $$");
        PipelineState.execute("CREATE OR REPLACE TRIGGER slow_reviews BEFORE INSERT ON reviews FOR EACH STATEMENT"
                + " EXECUTE FUNCTION slow_reviews()");
    }
}
