package dev.streamsre.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Consumer mode end to end: real producer process, real broker, consumer as a real process that
 * the tests SIGTERM and kill -9, real PostgreSQL. The final state must be exact every time.
 */
class ConsumerIT {

    private static final int PARTITIONS = 6;
    private static final Duration DRAIN_TIMEOUT = Duration.ofMinutes(3);
    private final List<AppProcess> processes = new ArrayList<>();
    private String topic;
    private String group;

    @BeforeEach
    void freshTopicGroupAndTables() {
        topic = TestInfrastructure.createTopic("it-consumer", PARTITIONS);
        group = "it-group-" + UUID.randomUUID().toString().substring(0, 8);
        PipelineState.resetDatabase();
    }

    @org.junit.jupiter.api.AfterEach
    void stopProcesses() {
        processes.forEach(AppProcess::close);
    }

    @Test
    void duplicatesAreRecognisedAndEveryDistinctEventLandsOnce() {
        produce(100_000, 5);
        Set<UUID> expected = PipelineState.distinctEventIds(TestInfrastructure.readAll(topic));
        assertThat(expected.size()).as("the producer really re-sent ~5%").isBetween(93_000, 97_000);

        startConsumer();
        awaitDrained(expected.size());

        assertExactly(expected);
        assertAppliedInOffsetOrderPerKey();
    }

    @Test
    void killMinusNineThreeTimesWhileDrainingLosesAndDoublesNothing() {
        produce(200_000, 2);
        Set<UUID> expected = PipelineState.distinctEventIds(TestInfrastructure.readAll(topic));
        Random random = new Random();

        for (int kill = 0; kill < 3; kill++) {
            // A random moment inside the kill-th quarter of the stream, so every kill is mid-stream.
            long threshold = (long) (expected.size() * (kill + random.nextDouble()) / 4);
            AppProcess consumer = startConsumer();
            PipelineState.await("consumer past " + threshold + " reviews", DRAIN_TIMEOUT,
                    () -> PipelineState.count("SELECT count(*) FROM reviews") > threshold);
            consumer.kill();
            assertThat(PipelineState.count("SELECT count(*) FROM reviews")).as("killed mid-stream")
                    .isLessThan(expected.size());
        }
        startConsumer();
        awaitDrained(expected.size());

        assertExactly(expected);
    }

    @Test
    void survivorTakesOverThePartitionsOfAKilledGroupMember() {
        produce(150_000, 2);
        Set<UUID> expected = PipelineState.distinctEventIds(TestInfrastructure.readAll(topic));

        AppProcess first = startConsumer();
        AppProcess second = startConsumer();
        first.awaitOutput("Profile consumer activated", Duration.ofSeconds(60));
        second.awaitOutput("Profile consumer activated", Duration.ofSeconds(60));
        PipelineState.await("both consumers writing", Duration.ofSeconds(60),
                () -> PipelineState.count("SELECT count(DISTINCT source_partition) FROM processed_events") == PARTITIONS);
        first.kill();
        awaitDrained(expected.size());

        assertThat(second.isAlive()).isTrue();
        assertExactly(expected);
    }

    @Test
    void sigtermExitsCleanlyWithinTheGracePeriodAndNeverCommitsAheadOfTheDatabase() {
        produce(200_000, 0);
        List<ConsumerRecord<String, byte[]>> records = TestInfrastructure.readAll(topic);

        AppProcess consumer = startConsumer();
        consumer.awaitOutput("Profile consumer activated", Duration.ofSeconds(60));
        PipelineState.await("consumer writing", Duration.ofSeconds(60),
                () -> PipelineState.count("SELECT count(*) FROM reviews") > 20_000);
        long signalled = System.nanoTime();
        consumer.terminate();
        int exitCode = consumer.awaitExit(Duration.ofSeconds(30));
        Duration stopTook = Duration.ofNanos(System.nanoTime() - signalled);

        assertThat(exitCode).as(consumer.output()).isZero();
        assertThat(stopTook).as("stop within the 10 s grace period").isLessThan(Duration.ofSeconds(12));
        assertThat(consumer.output()).doesNotContainIgnoringCase("client is closed")
                .doesNotContain("ERROR");
        Map<TopicPartition, Long> committed = PipelineState.committedOffsets(group);
        assertThat(committed).as("something was committed").isNotEmpty();
        Set<UUID> inDatabase = PipelineState.uuids("SELECT event_id FROM processed_events");
        Set<UUID> committedButMissing = new java.util.HashSet<>();
        for (ConsumerRecord<String, byte[]> record : records) {
            Long offset = committed.get(new TopicPartition(record.topic(), record.partition()));
            if (offset != null && record.offset() < offset) {
                UUID id = PipelineState.distinctEventIds(List.of(record)).iterator().next();
                if (!inDatabase.contains(id)) {
                    committedButMissing.add(id);
                }
            }
        }
        assertThat(committedButMissing).as("events below a committed offset but not in the database").isEmpty();
    }

    @Test
    void brokerRestartMidStreamIsSurvivedWithoutLossOrDuplicates() throws Exception {
        produce(150_000, 2);

        AppProcess consumer = startConsumer();
        PipelineState.await("consumer writing", Duration.ofSeconds(60),
                () -> PipelineState.count("SELECT count(*) FROM reviews") > 10_000);
        TestInfrastructure.infra("down");
        AppProcess.sleep(5_000);
        TestInfrastructure.infra("up");
        // The stream goes on after the broker is back, as a real one does: the consumer must pick
        // up new records too, and commit them, with nobody restarting it.
        produce(6_000, 2);
        Set<UUID> expected = PipelineState.distinctEventIds(TestInfrastructure.readAll(topic));
        awaitDrained(expected.size());

        assertThat(consumer.isAlive()).isTrue();
        assertExactly(expected);
    }

    private void produce(int events, int duplicatePct) {
        AppProcess producer = AppProcess.start("producer", Map.of("KAFKA_TOPIC", topic, "RATE_PER_SEC", "0",
                "DURATION", "0", "DUPLICATE_PCT", String.valueOf(duplicatePct),
                "STREAMSRE_PRODUCER_MAX_EVENTS", String.valueOf(events)));
        assertThat(producer.awaitExit(Duration.ofSeconds(120))).as(producer.output()).isZero();
    }

    @Test
    void badConsumerSettingsFailTheStartNamingTheSetting() {
        // Nothing to consume: the settings must be checked at start, not when the first batch arrives.
        AppProcess consumer = startConsumer(Map.of("STREAMSRE_CONSUMER_DEAD_LETTER_LOG_INTERVAL", "-1s"));

        assertThat(consumer.awaitExit(Duration.ofSeconds(60))).isNotZero();
        assertThat(consumer.output()).contains("streamsre.consumer.dead-letter-log-interval must be 0");
    }

    @Test
    void theLedgerForgetsEventsPastTheDedupeHorizonAndStillRecognisesTheirRedelivery() {
        produce(4_000, 0);
        Set<UUID> expected = PipelineState.distinctEventIds(TestInfrastructure.readAll(topic));
        // The broker's default retention is 7 days: a 1-day horizon must be refused, an 8-day one honoured.
        AppProcess refusing = startConsumer(Map.of("STREAMSRE_CONSUMER_DEDUPE_HORIZON", "1d",
                "STREAMSRE_CONSUMER_LEDGER_PRUNE_INTERVAL", "1s"));
        awaitDrained(expected.size());
        PipelineState.execute("UPDATE processed_events SET processed_at = now() - interval '9 days'"
                + " WHERE source_offset % 2 = 0");
        long aged = PipelineState.count("SELECT count(*) FROM processed_events WHERE processed_at < now() - interval '8 days'");
        assertThat(aged).isBetween(1_000L, 3_000L);
        PipelineState.await("the pruner refused the short horizon", Duration.ofSeconds(30),
                () -> refusing.output().contains("not pruning processed_events: streamsre.consumer.dedupe-horizon (PT24H)"
                        + " must be longer than the retention of topic '" + topic + "' (retention.ms=604800000)"));
        assertThat(PipelineState.count("SELECT count(*) FROM processed_events")).isEqualTo(expected.size());
        refusing.terminate();

        AppProcess pruning = startConsumer(Map.of("STREAMSRE_CONSUMER_DEDUPE_HORIZON", "8d",
                "STREAMSRE_CONSUMER_LEDGER_PRUNE_INTERVAL", "1s"));
        PipelineState.await("rows past the horizon pruned", Duration.ofSeconds(30),
                () -> PipelineState.count("SELECT count(*) FROM processed_events") == expected.size() - aged);
        PipelineState.await("the pruning logged", Duration.ofSeconds(10),
                () -> pruning.output().contains("pruned " + aged + " processed_events rows"));
        assertThat(PipelineState.count("SELECT count(*) FROM reviews")).isEqualTo(expected.size());
        pruning.terminate();

        // A new group reads the whole topic again: events the ledger forgot are still duplicates.
        group = group + "-again";
        startConsumer(Map.of());
        awaitDrained(expected.size());
        assertExactly(expected);
    }

    private AppProcess startConsumer() {
        return startConsumer(Map.of());
    }

    private AppProcess startConsumer(Map<String, String> extra) {
        Map<String, String> env = new java.util.HashMap<>(Map.of("KAFKA_TOPIC", topic, "KAFKA_GROUP_ID", group));
        env.putAll(extra);
        AppProcess consumer = AppProcess.start("consumer", env);
        processes.add(consumer);
        return consumer;
    }

    /** Waits until every distinct event is in the database and every offset is committed. */
    private void awaitDrained(int distinctEvents) {
        PipelineState.await(distinctEvents + " reviews and zero lag", DRAIN_TIMEOUT,
                () -> PipelineState.count("SELECT count(*) FROM reviews") >= distinctEvents
                        && PipelineState.lag(group, topic, PARTITIONS) == 0);
    }

    private static void assertExactly(Set<UUID> expected) {
        assertThat(PipelineState.count("SELECT count(*) FROM reviews")).isEqualTo(expected.size());
        assertThat(PipelineState.count("SELECT count(*) FROM processed_events")).isEqualTo(expected.size());
        assertThat(PipelineState.count("SELECT count(*) FROM dlq_events")).isZero();
        Set<UUID> landed = PipelineState.uuids("SELECT event_id FROM reviews");
        Set<UUID> missing = expected.stream().filter(id -> !landed.contains(id)).collect(Collectors.toSet());
        assertThat(missing).as("events lost").isEmpty();
    }

    /**
     * Rows get their {@code ingested_at} from clock_timestamp() as they are inserted, so for each
     * key the insertion order must follow the offset order (a key lives in one partition).
     */
    private static void assertAppliedInOffsetOrderPerKey() {
        long keys = PipelineState.count("SELECT count(DISTINCT user_key) FROM reviews");
        long outOfOrder = PipelineState.count("""
                SELECT count(*) FROM (
                    SELECT p.source_offset, r.ingested_at,
                           lag(p.source_offset) OVER w AS previous_offset,
                           lag(r.ingested_at) OVER w AS previous_ingested_at
                    FROM reviews r JOIN processed_events p USING (event_id)
                    WINDOW w AS (PARTITION BY r.user_key ORDER BY r.ingested_at, p.source_offset)
                ) applied
                WHERE previous_offset > source_offset AND previous_ingested_at < ingested_at""");
        assertThat(keys).as("keys exercised").isGreaterThan(1_000);
        assertThat(outOfOrder).as("events applied before an earlier event of the same key").isZero();
    }
}
