package dev.streamsre.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
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
    private Pipeline pipeline;
    private String topic;

    @BeforeEach
    void freshPipeline() {
        pipeline = Pipeline.fresh("it-consumer", PARTITIONS);
        topic = pipeline.topic();
    }

    @org.junit.jupiter.api.AfterEach
    void stopProcesses() {
        pipeline.close();
        PipelineState.execute("DROP TRIGGER IF EXISTS it_commit_order ON reviews; DROP FUNCTION IF EXISTS it_note_commit();"
                + " DROP TABLE IF EXISTS it_commit_order");
    }

    @Test
    void duplicatesAreRecognisedAndEveryDistinctEventLandsOnceByAStaticGroupMember() throws Exception {
        pipeline.produce(100_000, 5, 0);
        Pipeline.Expected expected = pipeline.expected();
        assertThat(expected.events().size()).as("the producer really re-sent ~5%").isBetween(93_000, 97_000);

        recordCommitOrder();
        pipeline.startConsumer(Map.of("STREAMSRE_CONSUMER_GROUP_INSTANCE_ID", "it-pod-0"));
        pipeline.awaitDrained(expected);

        pipeline.assertExactly(expected);
        assertCommittedInOffsetOrderPerKey();
        // Static membership as k8s/ deploys it: each of the process's Kafka consumers has its own id.
        try (var admin = TestInfrastructure.admin()) {
            var members = admin.describeConsumerGroups(List.of(pipeline.group())).all().get().get(pipeline.group()).members();
            assertThat(members.stream().map(member -> member.groupInstanceId().orElse("(dynamic)")).toList())
                    .as("group.instance.id of the group's members").containsExactlyInAnyOrder("it-pod-0-events-in-1", "it-pod-0-events-in-2");
        }
    }

    @Test
    void killMinusNineThreeTimesWhileDrainingWithPoisonAndDuplicatesLosesAndDoublesNothing() {
        // -Dit.kill-events=1000000 makes it the audit's headline run (docs/benchmarks.md).
        pipeline.produce(Integer.getInteger("it.kill-events", 200_000), 2, 1);
        Pipeline.Expected expected = pipeline.expected();
        recordCommitOrder();
        Random random = new Random();

        for (int kill = 0; kill < 3; kill++) {
            // A random moment inside the kill-th quarter of the stream, so every kill is mid-stream.
            long threshold = (long) (expected.events().size() * (kill + random.nextDouble()) / 4);
            AppProcess consumer = pipeline.startConsumer();
            PipelineState.await("consumer past " + threshold + " reviews", DRAIN_TIMEOUT,
                    () -> PipelineState.count("SELECT count(*) FROM reviews") > threshold);
            consumer.kill();
            assertThat(PipelineState.count("SELECT count(*) FROM reviews")).as("killed mid-stream")
                    .isLessThan(expected.events().size());
        }
        pipeline.startConsumer();
        pipeline.awaitDrained(expected);

        long copies = pipeline.assertExactly(expected);
        // Under load, the writes of the seed's hot keys run on several connections at once: each
        // key's events must still commit in offset order, across the three crashes and the redeliveries.
        assertCommittedInOffsetOrderPerKey();
        // The receipts prove it too, offset by offset: the three redelivered ranges reconcile.
        Pipeline.Audit audit = pipeline.audit(Map.of());
        assertThat(audit.exitCode()).as("audit mode's verdict:%n%s", audit.report()).isZero();
        assertThat(audit.report()).contains("every one of the " + String.format("%,d", expected.records())
                + " offsets read is accounted for");
        System.out.printf("kill -9 x3: %,d records, %,d distinct events landed once, %,d dead letters once in"
                + " dlq_events, %,d copies in the DLQ topic; audit in %.1f s:%n%s", expected.records(),
                expected.events().size(), expected.poison(), copies, audit.seconds(), audit.report());
    }

    @Test
    void killMinusNineOfBothMembersOfTheGroupLosesAndDoublesNothing() {
        pipeline.produce(150_000, 2, 1);
        Pipeline.Expected expected = pipeline.expected();

        AppProcess first = pipeline.startConsumer();
        AppProcess second = pipeline.startConsumer();
        PipelineState.await("both consumers writing", Duration.ofSeconds(60),
                () -> PipelineState.count("SELECT count(DISTINCT source_partition) FROM processed_events") == PARTITIONS);
        first.kill();
        second.kill();
        assertThat(PipelineState.count("SELECT count(*) FROM reviews")).as("both killed mid-stream")
                .isLessThan(expected.events().size());
        pipeline.startConsumer();
        pipeline.startConsumer();
        pipeline.awaitDrained(expected);

        long copies = pipeline.assertExactly(expected);
        System.out.printf("kill -9 of both members: %,d distinct events landed once, %,d dead letters once in"
                + " dlq_events, %,d copies in the DLQ topic%n", expected.events().size(), expected.poison(), copies);
    }

    @Test
    void survivorTakesOverThePartitionsOfAKilledGroupMemberWithPoisonInTheStream() {
        pipeline.produce(150_000, 2, 1);
        Pipeline.Expected expected = pipeline.expected();

        AppProcess first = pipeline.startConsumer();
        AppProcess second = pipeline.startConsumer();
        first.awaitOutput("Profile consumer activated", Duration.ofSeconds(60));
        second.awaitOutput("Profile consumer activated", Duration.ofSeconds(60));
        PipelineState.await("both consumers writing", Duration.ofSeconds(60),
                () -> PipelineState.count("SELECT count(DISTINCT source_partition) FROM processed_events") == PARTITIONS);
        first.kill();
        pipeline.awaitDrained(expected);

        assertThat(second.isAlive()).isTrue();
        long copies = pipeline.assertExactly(expected);
        System.out.printf("kill -9 of one member: %,d dead letters once in dlq_events, %,d copies in the DLQ topic%n",
                expected.poison(), copies);
    }

    @Test
    void sigtermExitsCleanlyWithinTheGracePeriodAndNeverCommitsAheadOfTheDatabase() {
        pipeline.produce(200_000, 0, 0);
        List<ConsumerRecord<String, byte[]>> records = TestInfrastructure.readAll(topic);

        AppProcess consumer = pipeline.startConsumer();
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
        Map<TopicPartition, Long> committed = PipelineState.committedOffsets(pipeline.group());
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
    void twentySigtermStopsAtRandomMomentsUnderLoadWithPoisonAreAllClean() throws Exception {
        AppProcess producer = pipeline.start("producer", Map.of("KAFKA_TOPIC", topic, "RATE_PER_SEC", "4000",
                "DURATION", "10m", "DUPLICATE_PCT", "2", "POISON_PCT", "1"));
        Random random = new Random();
        List<Double> stopSeconds = new ArrayList<>();
        // A two-replica Deployment in a rolling update with surge: the oldest consumer is told to
        // stop as its successor starts, so every stop meets a member that stays and one that joins.
        // The stops run on threads of their own, so the suite waits for the random moments, not
        // for the stops and starts in turn.
        Deque<AppProcess> running = new ArrayDeque<>(List.of(pipeline.startConsumer(), pipeline.startConsumer()));
        ExecutorService stopping = Executors.newCachedThreadPool();
        List<Future<Pipeline.Stop>> stops = new ArrayList<>();
        try {
            for (int stop = 0; stop < 20; stop++) {
                AppProcess oldest = running.poll();
                pipeline.awaitRandomMoment(oldest, random);
                if (stop < 18) {
                    running.add(pipeline.startConsumer());
                }
                stops.add(stopping.submit(() -> pipeline.stop(oldest)));
            }
            for (int stop = 0; stop < 20; stop++) {
                Pipeline.Stop result = stops.get(stop).get(60, TimeUnit.SECONDS);
                stopSeconds.add(result.seconds());
                String output = result.output();
                assertThat(result.exitCode()).as("stop " + stop + " exit code; output:\n" + output).isZero();
                assertThat(result.seconds()).as("stop " + stop + " within the 10 s grace period").isLessThan(10.0);
                // A stop while the group is still forming may leave the connector's poll loop a WARN
                // ("consumer has already been closed ... will be re-attempted"); an ERROR is a bug.
                assertThat(output.lines().filter(line -> line.contains(" ERROR ")).toList())
                        .as("stop " + stop + ": ERROR lines").isEmpty();
            }
        } finally {
            stopping.shutdownNow();
        }
        producer.terminate();
        // A producer stopped by a signal flushes, reports, and exits as the JVM does on SIGTERM.
        assertThat(producer.awaitExit(Duration.ofSeconds(30))).as(producer.output()).isEqualTo(143);
        assertThat(producer.output()).contains("(stopped by signal)").contains("errors=0");
        System.out.printf("sigterm under load: 20 stops, max %.1f s, mean %.1f s%n",
                stopSeconds.stream().mapToDouble(Double::doubleValue).max().orElseThrow(),
                stopSeconds.stream().mapToDouble(Double::doubleValue).average().orElseThrow());

        // Whatever any stop committed, the last consumer must find every record settled or settle it:
        // a commit ahead of the database or the DLQ would leave a record nowhere.
        Pipeline.Expected expected = pipeline.expected();
        pipeline.startConsumer();
        pipeline.awaitDrained(expected);
        long copies = pipeline.assertExactly(expected);
        System.out.printf("sigterm under load: %,d records, %,d distinct events landed once, %,d dead letters once in"
                + " dlq_events, %,d copies in the DLQ topic%n", expected.records(), expected.events().size(),
                expected.poison(), copies);
    }

    @Test
    void brokerRestartMidStreamIsSurvivedWithoutLossOrDuplicates() throws Exception {
        pipeline.produce(150_000, 2, 0);

        AppProcess consumer = pipeline.startConsumer();
        PipelineState.await("consumer writing", Duration.ofSeconds(60),
                () -> PipelineState.count("SELECT count(*) FROM reviews") > 10_000);
        TestInfrastructure.infra("down");
        AppProcess.sleep(5_000);
        TestInfrastructure.infra("up");
        // The stream goes on after the broker is back, as a real one does: the consumer must pick
        // up new records too, and commit them, with nobody restarting it.
        pipeline.produce(6_000, 2, 0);
        Pipeline.Expected expected = pipeline.expected();
        pipeline.awaitDrained(expected);

        assertThat(consumer.isAlive()).isTrue();
        pipeline.assertExactly(expected);
    }

    @Test
    void theBatchSizeFollowsMaxInflightHoweverItIsSet() throws Exception {
        pipeline.produce(2_000, 0, 0);
        Pipeline.Expected expected = pipeline.expected();
        // The spec's variable: 20 held across 2 consumers, each holding a batch being written and the
        // next one, is batches of 5. The backlog fills every poll, so the largest batch is exactly 5
        // (a derivation that could not read the setting gives 1).
        AppProcess consumer = pipeline.startConsumer(Map.of("MAX_INFLIGHT", "20"));
        int port = consumer.httpPort();
        pipeline.awaitDrained(expected);
        String metrics = new String(new java.net.URL("http://127.0.0.1:" + port + "/q/metrics").openStream().readAllBytes(),
                java.nio.charset.StandardCharsets.UTF_8);
        double largest = metrics.lines().filter(line -> line.startsWith("consumer_batch_size_max"))
                .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1))).max().orElseThrow();
        assertThat(largest).as("largest batch").isEqualTo(5);
        pipeline.assertExactly(expected);
    }

    @Test
    void theWarmUpRunsBeforeTheFirstRecordAndLeavesNothingBehind() {
        pipeline.produce(500, 0, 0);
        Pipeline.Expected expected = pipeline.expected();
        AppProcess consumer = pipeline.startConsumer(Map.of());
        pipeline.awaitDrained(expected);
        pipeline.assertExactly(expected);
        String output = consumer.output();
        int warmUp = output.indexOf("warm-up: 4000 synthetic events decoded and written in rolled-back transactions");
        assertThat(warmUp).as(output).isNotNegative();
        assertThat(warmUp).as("the warm-up ends before the connector's first record").isLessThan(output.indexOf("SRMSG18256"));
        // Rolled back: the synthetic events are in neither table, and the ledger holds exactly the real ones.
        assertThat(PipelineState.count("SELECT count(*) FROM reviews WHERE user_key = 'streamsre-warm-up'")).isZero();
        assertThat(PipelineState.count("SELECT count(*) FROM processed_events")).isEqualTo(expected.events().size());
    }

    @Test
    void aWarmUpThatCannotRunStepsAsideAndTheConsumerStartsWithoutIt() {
        pipeline.produce(200, 0, 0);
        // Keys of at most 5 characters: the consumer's own limits refuse every ordinary event, the
        // warm-up's synthetic ones included, and every real one is a dead letter.
        AppProcess consumer = pipeline.startConsumer(Map.of("STREAMSRE_CONSUMER_MAX_KEY_LENGTH", "5"));
        consumer.awaitReady(Duration.ofSeconds(60));
        pipeline.awaitDrained(new Pipeline.Expected(Set.of(), 200, 200));

        assertThat(consumer.output()).as(consumer.output()).contains("warm-up stopped after")
                .contains("the consumer's own limits refuse 4000 of 4000 ordinary events")
                .doesNotContain("warm-up: 4000 synthetic events decoded");
        assertThat(PipelineState.count("SELECT count(*) FROM dlq_events WHERE reason = 'field_too_long'")).isEqualTo(200);
    }

    @Test
    void theAppsRoleWritesItsTablesButCannotChangeTheSchemaAndMigrateModeMigratesAsTheOwner() throws Exception {
        // Every consumer of these tests drains as this DML-only role; here is what it may not do.
        try (java.sql.Connection app = PipelineState.databaseAsApp(); java.sql.Statement statement = app.createStatement()) {
            for (String ddl : List.of("ALTER TABLE reviews ADD COLUMN sneaky int", "CREATE TABLE sneaky (x int)",
                    "DROP TABLE dlq_events", "TRUNCATE reviews", "CREATE INDEX sneaky ON reviews (text)")) {
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> statement.execute(ddl)).as(ddl)
                        .isInstanceOfSatisfying(java.sql.SQLException.class, e -> {
                            assertThat(e.getSQLState()).as(ddl + ": " + e.getMessage()).isEqualTo("42501");
                            System.out.printf("DML-only role: %s -> SQLSTATE %s, %s%n", ddl, e.getSQLState(), e.getMessage());
                        });
            }
        }
        AppProcess migrate = pipeline.start("migrate", Map.of("DATABASE_URL", TestInfrastructure.ownerDatabaseUrl()));
        assertThat(migrate.awaitExit(Duration.ofSeconds(60))).as(migrate.output()).isZero();
        assertThat(migrate.output()).containsPattern("migrate: schema public at version \\d+ \\(0 migration\\(s\\) applied now\\)");
    }

    @Test
    void badConsumerSettingsFailTheStartNamingTheSetting() {
        // Nothing to consume: the settings must be checked at start, not when the first batch arrives.
        AppProcess consumer = pipeline.startConsumer(Map.of("STREAMSRE_CONSUMER_DEAD_LETTER_LOG_INTERVAL", "-1s"));
        assertThat(consumer.awaitExit(Duration.ofSeconds(60))).isEqualTo(1);
        assertThat(consumer.output()).contains("streamsre.consumer.dead-letter-log-interval must be 0");

        AppProcess tooLong = pipeline.startConsumer(Map.of("STREAMSRE_CONSUMER_MAX_KEY_LENGTH", "3000"));
        assertThat(tooLong.awaitExit(Duration.ofSeconds(60))).isEqualTo(1);
        assertThat(tooLong.output()).contains("streamsre.consumer.max-key-length must be between 1 and 880");

        AppProcess negative = pipeline.startConsumer(Map.of("STREAMSRE_CONSUMER_WARM_UP_EVENTS", "-1"));
        assertThat(negative.awaitExit(Duration.ofSeconds(60))).isEqualTo(1);
        assertThat(negative.output()).contains("streamsre.consumer.warm-up-events must be 0 (no warm-up)");

        AppProcess badTopic = pipeline.startConsumer(Map.of("STREAMSRE_DLQ_TOPIC", "dead letters"));
        assertThat(badTopic.awaitExit(Duration.ofSeconds(60))).isEqualTo(1);
        assertThat(badTopic.output()).contains("streamsre.dlq-topic must be a Kafka topic name");

        AppProcess poolTooSmall = pipeline.startConsumer(Map.of("STREAMSRE_CONSUMER_WRITE_CONCURRENCY", "3"));
        assertThat(poolTooSmall.awaitExit(Duration.ofSeconds(60))).isEqualTo(1);
        assertThat(poolTooSmall.output()).contains("streamsre.consumer.write-concurrency=3 needs"
                + " quarkus.datasource.reactive.max-size of at least 5");
    }

    @Test
    void theLedgerForgetsEventsPastTheDedupeHorizonAndStillRecognisesTheirRedelivery() {
        pipeline.produce(4_000, 0, 0);
        Pipeline.Expected expected = pipeline.expected();
        // The broker's default retention is 7 days: a 1-day horizon must be refused, an 8-day one honoured.
        AppProcess refusing = pipeline.startConsumer(Map.of("STREAMSRE_CONSUMER_DEDUPE_HORIZON", "1d",
                "STREAMSRE_CONSUMER_LEDGER_PRUNE_INTERVAL", "1s"));
        pipeline.awaitDrained(expected);
        PipelineState.execute("UPDATE processed_events SET processed_at = now() - interval '9 days'"
                + " WHERE source_offset % 2 = 0");
        long aged = PipelineState.count("SELECT count(*) FROM processed_events WHERE processed_at < now() - interval '8 days'");
        assertThat(aged).isBetween(1_000L, 3_000L);
        PipelineState.await("the pruner refused the short horizon", Duration.ofSeconds(30),
                () -> refusing.output().contains("not pruning processed_events: streamsre.consumer.dedupe-horizon (PT24H)"
                        + " must be longer than the retention of topic '" + topic + "' (retention.ms=604800000)"));
        assertThat(PipelineState.count("SELECT count(*) FROM processed_events")).isEqualTo(expected.events().size());
        refusing.terminate();

        // The pruner keeps what the audit has not proved yet: as if partition 0 had been proved up to
        // offset 50 only, the others to the end. (Audits off here: one would prove them all again.)
        PipelineState.execute("INSERT INTO audit_progress (topic, partition, verified_to) SELECT '" + topic
                + "', p, CASE WHEN p = 0 THEN 50 ELSE 1000000 END FROM generate_series(0, " + (PARTITIONS - 1) + ") p");
        long unproved = PipelineState.count("SELECT count(*) FROM processed_events WHERE processed_at < now() - interval"
                + " '8 days' AND source_partition = 0 AND source_offset >= 50");
        long lastPrunable = PipelineState.count("SELECT max(source_offset) FROM processed_events WHERE processed_at < now()"
                + " - interval '8 days' AND source_partition = 0 AND source_offset < 50");
        assertThat(unproved).as("aged rows in partition 0 the audit has not proved").isPositive();
        AppProcess pruning = pipeline.startConsumer(Map.of("STREAMSRE_CONSUMER_DEDUPE_HORIZON", "8d",
                "STREAMSRE_CONSUMER_LEDGER_PRUNE_INTERVAL", "1s", "STREAMSRE_AUDIT_INTERVAL", "off"));
        PipelineState.await("rows past the horizon pruned, up to what the audit proved", Duration.ofSeconds(30),
                () -> PipelineState.count("SELECT count(*) FROM processed_events") == expected.events().size() - aged + unproved);
        PipelineState.await("the pruning logged", Duration.ofSeconds(10),
                () -> pruning.output().contains("pruned " + (aged - unproved) + " processed_events rows"));
        assertThat(PipelineState.count("SELECT pruned_to FROM audit_progress WHERE partition = 0"))
                .as("where partition 0's next audit starts").isEqualTo(lastPrunable + 1);
        assertThat(PipelineState.count("SELECT count(*) FROM reviews")).isEqualTo(expected.events().size());
        pruning.terminate();

        // A new group reads the whole topic again: events the ledger forgot are still duplicates.
        pipeline.newGroup("again");
        pipeline.startConsumer();
        pipeline.awaitDrained(expected);
        pipeline.assertExactly(expected);
    }

    /**
     * Notes, for every transaction that inserts reviews, when it commits: a deferred trigger runs as
     * the transaction commits, and the first of its rows takes the next number of a sequence for the
     * transaction's id. Commit order is what readers see; the consumer's writes of one key may insert
     * their rows in any order, on several connections, but must commit in offset order.
     */
    private static void recordCommitOrder() {
        PipelineState.execute("""
                CREATE TABLE it_commit_order (seq bigserial PRIMARY KEY, xid bigint NOT NULL);
                CREATE FUNCTION it_note_commit() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
                BEGIN
                    IF current_setting('it.commit_noted', true) IS DISTINCT FROM 'yes' THEN
                        PERFORM set_config('it.commit_noted', 'yes', true);
                        INSERT INTO it_commit_order (xid) VALUES (txid_current());
                    END IF;
                    RETURN NULL;
                END $$;
                CREATE CONSTRAINT TRIGGER it_commit_order AFTER INSERT ON reviews DEFERRABLE INITIALLY DEFERRED
                    FOR EACH ROW EXECUTE FUNCTION it_note_commit();""");
    }

    /**
     * For each key, its rows ordered by the commit of their transaction (then by insertion inside
     * one) must follow the offset order (a key lives in one partition).
     */
    private static void assertCommittedInOffsetOrderPerKey() {
        long keys = PipelineState.count("SELECT count(DISTINCT user_key) FROM reviews");
        String committed = """
                reviews r JOIN processed_events p USING (event_id)
                JOIN it_commit_order c ON c.xid % 4294967296 = r.xmin::text::bigint""";
        assertThat(PipelineState.count("SELECT count(*) FROM " + committed)).as("rows whose commit was noted")
                .isEqualTo(PipelineState.count("SELECT count(*) FROM reviews"));
        assertThat(PipelineState.count("SELECT count(*) FROM it_commit_order")).as("transactions that wrote reviews")
                .isGreaterThan(10);
        long outOfOrder = PipelineState.count("""
                SELECT count(*) FROM (
                    SELECT p.source_offset, lag(p.source_offset) OVER w AS previous_offset
                    FROM %s
                    WINDOW w AS (PARTITION BY r.user_key ORDER BY c.seq, r.ingested_at, p.source_offset)
                ) applied
                WHERE previous_offset > source_offset""".formatted(committed));
        assertThat(keys).as("keys exercised").isGreaterThan(1_000);
        assertThat(outOfOrder).as("events committed before an earlier event of the same key").isZero();
    }
}
