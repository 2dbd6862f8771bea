package dev.streamsre.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamsre.deadletter.DeadLetterHeaders;
import dev.streamsre.event.Event;
import dev.streamsre.event.EventCodec;
import dev.streamsre.event.ReviewData;
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
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Failure handling end to end, through the real broker, the real connector and the real
 * PostgreSQL: poison goes to the DLQ alone and exactly, outages and a slow database lose nothing
 * and dead-letter nothing, and replay brings dead letters back without doubling anything.
 */
class FailureHandlingIT {

    private static final int PARTITIONS = 3;
    private Pipeline pipeline;
    private String topic;
    private String dlqTopic;

    @BeforeEach
    void freshPipeline() {
        pipeline = Pipeline.fresh("it-failure", PARTITIONS);
        topic = pipeline.topic();
        dlqTopic = pipeline.dlqTopic();
    }

    @AfterEach
    void stopProcesses() {
        pipeline.close();
        // A test that failed half-way must not leave its slow trigger to every test after it.
        PipelineState.execute("DROP TRIGGER IF EXISTS slow_reviews ON reviews");
    }

    /** One poison record of the corpus, its headers, and the reason it must be dead-lettered with. */
    private record Poison(String name, byte[] key, byte[] value, String reason, List<Header> headers) {
        Poison(String name, byte[] key, byte[] value, String reason) {
            this(name, key, value, reason, List.of());
        }
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
            records.add(new ProducerRecord<>(topic, null, poison.key(), poison.value(), poison.headers()));
        }
        // A valid event dressed as a CloudEvent by its headers, which any producer can set, lands as the
        // event it is (a CloudEvents reader in the connector stopped its partition for good).
        String dressed = UUID.randomUUID().toString();
        records.add(new ProducerRecord<>(topic, null, bytes("user:dressed"),
                bytes(event(dressed, "user:dressed", "review-" + dressed, 5)),
                List.of(new RecordHeader("content-type", bytes("application/cloudevents+json")))));
        validIds.add(dressed);
        // Text beyond ASCII (two, three and four bytes in UTF-8) and escapes land exactly as sent.
        Event wide = Event.reviewCreated(UUID.randomUUID(), "user:zo\u00eb-\u2603", Instant.parse("2026-12-02T10:00:00.123456Z"),
                new ReviewData("r\u00e9v-" + UUID.randomUUID(), 2, "caf\u00e9 \"quoted\" \\ \ud83d\ude00 \u65e5\u672c\ttab"));
        records.add(new ProducerRecord<>(topic, bytes(wide.key()), new EventCodec().encode(wide)));
        validIds.add(wide.eventId().toString());
        TestInfrastructure.send(records);

        // A long log window: within it, each reason gets one WARN line however many records it condemns.
        long started = System.nanoTime();
        AppProcess consumer = startConsumer(Map.of("STREAMSRE_CONSUMER_DEAD_LETTER_LOG_INTERVAL", "10m"));
        PipelineState.await("valid events landed and every poison record recorded", Duration.ofSeconds(90),
                () -> PipelineState.count("SELECT count(*) FROM reviews") == validIds.size()
                        && PipelineState.count("SELECT count(*) FROM dlq_events") == corpus.size()
                        && pipeline.lag() == 0);
        System.out.printf("hostile corpus: %d kinds, %d neighbours landed, every record in events.dlq and dlq_events,"
                + " lag 0, %.1f s from consumer start%n", corpus.size(), validIds.size(), (System.nanoTime() - started) / 1e9);

        assertThat(PipelineState.uuids("SELECT event_id FROM reviews"))
                .containsExactlyInAnyOrderElementsOf(validIds.stream().map(UUID::fromString).toList());
        try (Connection database = PipelineState.database(); var query = database.prepareStatement(
                "SELECT user_key, review_id, rating, text, created_at FROM reviews WHERE event_id = ?")) {
            query.setObject(1, wide.eventId());
            ResultSet row = query.executeQuery();
            assertThat(row.next()).isTrue();
            assertThat(row.getString("user_key")).isEqualTo(wide.key());
            assertThat(row.getString("review_id")).isEqualTo(wide.payload().reviewId());
            assertThat(row.getInt("rating")).isEqualTo(wide.payload().rating());
            assertThat(row.getString("text")).isEqualTo(wide.payload().text());
            assertThat(row.getObject("created_at", java.time.OffsetDateTime.class).toInstant()).isEqualTo(wide.ts());
        }
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

        int port = consumer.httpPort();
        assertThat(readinessStatus(port)).as("ready after the whole corpus: " + readiness(port)).isEqualTo(200);
        assertThat(consumer.isAlive()).isTrue();
        String log = consumer.output();
        for (String reason : corpus.stream().map(Poison::reason).distinct().toList()) {
            assertThat(log.split("dead-lettering record: reason=" + reason + " ", -1)).as("WARN lines for " + reason)
                    .hasSize(2);
        }
        assertThat(log).as("no ERROR while dead-lettering the corpus").doesNotContain(" ERROR ");

        // Redelivery: a new group reads the main topic and the DLQ topic again from the start.
        consumer.terminate();
        assertThat(consumer.awaitExit(Duration.ofSeconds(30))).as(consumer.output()).isZero();
        pipeline.newGroup("again");
        startConsumer(Map.of());
        PipelineState.await("second pass dead-lettered the corpus again", Duration.ofSeconds(90),
                () -> pipeline.lag() == 0
                        && PipelineState.lag(pipeline.group() + "-dlq-recorder", dlqTopic, 1) == 0
                        && TestInfrastructure.readAllRaw(dlqTopic).size() == 2 * corpus.size());
        assertThat(PipelineState.count("SELECT count(*) FROM dlq_events")).as("a redelivered DLQ record is one row")
                .isEqualTo(corpus.size());
        assertThat(PipelineState.count("SELECT count(*) FROM reviews")).isEqualTo(validIds.size());
    }

    /** A value only the refused rows carry, quoted by PostgreSQL's error messages about them. */
    private static final String ROW_SECRET = "row-secret-7f3a";

    @Test
    void recordsTheDatabaseRefusesAreFoundBySplittingTheBatchAndTheirNeighboursLand() {
        // A trigger makes PostgreSQL refuse two marked reviews: one with a data exception (permanent;
        // a cast of the row's own text, whose message quotes it), one with an error no classifier knows
        // (P0001, its message quoting the row too), retried alone and then dead-lettered. Neither quote
        // may reach dlq_events, a DLQ header or the log.
        PipelineState.execute("CREATE OR REPLACE FUNCTION refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                + " IF NEW.text = 'refuse-data' THEN PERFORM (NEW.text || '-" + ROW_SECRET + "')::int; END IF;"
                + " IF NEW.text = 'refuse-unknown' THEN RAISE EXCEPTION 'marked odd: %', NEW.text || '-" + ROW_SECRET
                + "' USING ERRCODE = 'P0001'; END IF;"
                + " RETURN NEW; END $$");
        PipelineState.execute("CREATE OR REPLACE TRIGGER refuse_marked BEFORE INSERT ON reviews FOR EACH ROW"
                + " EXECUTE FUNCTION refuse_marked()");
        try {
            List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
            Set<UUID> good = new java.util.HashSet<>();
            for (int i = 0; i < 2_000; i++) {
                String id = UUID.randomUUID().toString();
                String text = i == 499 ? "refuse-data" : i == 1_501 ? "refuse-unknown" : "fine";
                records.add(new ProducerRecord<>(topic, 0, bytes("user:" + (i % 50)),
                        bytes(event(id, "user:" + (i % 50), "review-" + id, 3).replace("\"text\":\"fine\"",
                                "\"text\":\"" + text + "\""))));
                if (text.equals("fine")) {
                    good.add(UUID.fromString(id));
                }
            }
            TestInfrastructure.send(records);
            long start = System.nanoTime();
            AppProcess consumer = startConsumer(Map.of());
            PipelineState.await("the good events landed and both refused ones are in dlq_events", Duration.ofSeconds(90),
                    () -> PipelineState.count("SELECT count(*) FROM reviews") == good.size()
                            && PipelineState.count("SELECT count(*) FROM dlq_events") == 2
                            && pipeline.lag() == 0);
            System.out.printf("isolation: %d good events landed and 2 refused records dead-lettered in %.1f s"
                    + " (consumer start included)%n", good.size(), (System.nanoTime() - start) / 1e9);

            assertThat(PipelineState.uuids("SELECT event_id FROM reviews")).containsExactlyInAnyOrderElementsOf(good);
            assertThat(PipelineState.count("SELECT count(*) FROM dlq_events WHERE reason = 'db_data_exception'"
                    + " AND error_message LIKE '%SQLSTATE 22P02: invalid input syntax for type integer%'")).isEqualTo(1);
            assertThat(PipelineState.count("SELECT count(*) FROM dlq_events WHERE error_message LIKE '%" + ROW_SECRET
                    + "%' OR headers::text LIKE '%" + ROW_SECRET + "%'")).as("row data in dlq_events").isZero();
            assertThat(consumer.output()).as("row data in the consumer's log").doesNotContain(ROW_SECRET);
            assertThat(PipelineState.count("SELECT attempts FROM dlq_events WHERE reason = 'max_retries_exceeded'"
                    + " AND error_message LIKE '%SQLSTATE P0001%'")).as("attempts of the unknown failure").isGreaterThanOrEqualTo(5);
            java.util.regex.Matcher isolated = java.util.regex.Pattern
                    .compile("isolated 1 refused record\\(s\\) of a batch of (\\d+) in (\\d+) transactions")
                    .matcher(consumer.output());
            int batches = 0;
            while (isolated.find()) {
                batches++;
                int size = Integer.parseInt(isolated.group(1));
                int transactions = Integer.parseInt(isolated.group(2));
                System.out.printf("isolation: one refused record in a batch of %d cost %d transactions%n", size, transactions);
                int depth = 32 - Integer.numberOfLeadingZeros(size - 1);
                // Bisection: the whole batch, then two halves per level (2 x depth + 1). Then the record
                // alone: once, or for an unknown failure until it has been part of max-attempts writes
                // (5, the default the attempts assertion above relies on), which in a small batch is
                // more than the bisection gave it (a batch of 2: 3 more). Then the probe.
                int maxAttempts = 5;
                int alone = Math.max(1, maxAttempts - (depth + 1));
                assertThat(transactions).as("transactions to isolate one record of " + size)
                        .isLessThanOrEqualTo(2 * depth + 1 + alone + 1);
            }
            assertThat(batches).as("batches that needed isolating").isEqualTo(2);
            assertThat(consumer.output()).as("data alone never opens the circuit").doesNotContain("circuit open")
                    .doesNotContain("CircuitBreakerOpenException");
        } finally {
            PipelineState.execute("DROP TRIGGER IF EXISTS refuse_marked ON reviews");
        }
    }

    @Test
    void aDeadLetterTooLargeForTheDlqTopicIsStoredBeforeItsOffsetIsCommitted() {
        // One partition: 2,000 good events, a record the broker takes but whose DLQ copy (with our
        // headers) is over the DLQ producer's max.request.size, then a small poison record.
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (int i = 0; i < 2_000; i++) {
            String id = UUID.randomUUID().toString();
            records.add(new ProducerRecord<>(topic, 0, bytes("user:" + i), bytes(event(id, "user:" + i, "review-" + id, 4))));
        }
        byte[] big = new byte[1_048_300];
        Arrays.fill(big, (byte) 'x');
        records.add(new ProducerRecord<>(topic, 0, bytes("poison:big"), big));
        records.add(new ProducerRecord<>(topic, 0, bytes("poison:small"), bytes("not json")));
        TestInfrastructure.send(records);

        AppProcess consumer = startConsumer(Map.of());
        PipelineState.await("drained: 2,000 reviews and both dead letters recorded", Duration.ofSeconds(90),
                () -> PipelineState.count("SELECT count(*) FROM reviews") == 2_000
                        && PipelineState.count("SELECT count(*) FROM dlq_events") == 2
                        && pipeline.lag() == 0);

        assertThat(PipelineState.count("SELECT count(*) FROM dlq_events WHERE reason = 'oversize' AND source_offset = 2000"
                + " AND dlq_offset IS NULL AND length(payload) = 1048300")).as("the big one, stored in dlq_events only")
                .isEqualTo(1);
        assertThat(TestInfrastructure.readAllRaw(dlqTopic)).as("only the small one fits the DLQ topic").hasSize(1)
                .allSatisfy(letter -> assertThat(letter.value()).isEqualTo(bytes("not json")));
        assertThat(consumer.output()).contains("cannot take the dead letter").doesNotContain("left uncommitted");
        assertThat(metric(consumer, "dlq_unsendable_total")).isEqualTo(1.0);
    }

    @Test
    void whileTheDlqTopicCannotTakeWritesThePartitionsWithPoisonWaitAndCatchUpWhenItIsBack() throws Exception {
        String missingDlq = "it-missing-dlq-" + UUID.randomUUID().toString().substring(0, 8);
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            String id = UUID.randomUUID().toString();
            records.add(new ProducerRecord<>(topic, i % PARTITIONS, bytes("user:" + i), bytes(event(id, "user:" + i,
                    "review-" + id, 2))));
        }
        records.add(new ProducerRecord<>(topic, 1, bytes("poison:waits"), bytes("{nope")));
        for (int i = 0; i < 30; i++) {
            String id = UUID.randomUUID().toString();
            records.add(new ProducerRecord<>(topic, 1, bytes("user:after" + i), bytes(event(id, "user:after" + i,
                    "review-" + id, 2))));
        }
        TestInfrastructure.send(records);
        AppProcess consumer = startConsumer(Map.of("KAFKA_DLQ_TOPIC", missingDlq));
        int port = consumer.httpPort();
        PipelineState.await("good events landed, the poisoned partition waits, readiness says why", Duration.ofSeconds(60),
                () -> PipelineState.count("SELECT count(*) FROM reviews") == 330
                        && readiness(port).contains("\"dead-letter-queue\"") && readiness(port).contains("failing_since"));
        Map<org.apache.kafka.common.TopicPartition, Long> committed = PipelineState.committedOffsets(pipeline.group());
        assertThat(committed.getOrDefault(new org.apache.kafka.common.TopicPartition(topic, 1), 0L))
                .as("partition 1 does not commit past its unsent dead letter").isLessThanOrEqualTo(100L);
        assertThat(readinessStatus(port)).isEqualTo(503);
        assertThat(metric(consumer, "dlq_send_failing")).isEqualTo(1.0);
        assertThat(metric(consumer, "dlq_send_failures_total")).isPositive();

        long back = System.nanoTime();
        try (var admin = TestInfrastructure.admin()) {
            admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(missingDlq, 1, (short) 1))).all()
                    .get(30, java.util.concurrent.TimeUnit.SECONDS);
        }
        PipelineState.await("caught up by itself", Duration.ofSeconds(60),
                () -> pipeline.lag() == 0
                        && PipelineState.count("SELECT count(*) FROM dlq_events") == 1 && readinessStatus(port) == 200);
        System.out.printf("DLQ down: caught up %.1f s after the DLQ topic was created%n", (System.nanoTime() - back) / 1e9);
        assertThat(TestInfrastructure.readAllRaw(missingDlq)).hasSize(1);
        assertThat(PipelineState.count("SELECT count(*) FROM reviews")).isEqualTo(330);
        assertThat(consumer.output()).contains("succeed again");
    }

    @Test
    void aDeadLetterOfARecreatedTopicIsANewEntryNotADuplicateOfAnOldOne() throws Exception {
        String name = "it-recreated-" + UUID.randomUUID().toString().substring(0, 8);
        try (var admin = TestInfrastructure.admin()) {
            admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(name, 1, (short) 1))).all()
                    .get(30, java.util.concurrent.TimeUnit.SECONDS);
            TestInfrastructure.send(List.of(new ProducerRecord<>(name, 0, bytes("poison:before"), bytes("{before"))));
            AppProcess first = startConsumer(Map.of("KAFKA_TOPIC", name));
            PipelineState.await("the first dead letter recorded", Duration.ofSeconds(60),
                    () -> PipelineState.count("SELECT count(*) FROM dlq_events") == 1);
            first.terminate();
            assertThat(first.awaitExit(Duration.ofSeconds(30))).as(first.output()).isZero();

            // The same name again: offsets start at 0 once more.
            admin.deleteTopics(List.of(name)).all().get(30, java.util.concurrent.TimeUnit.SECONDS);
            PipelineState.await("the topic recreated", Duration.ofSeconds(60), () -> {
                try {
                    admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(name, 1, (short) 1))).all()
                            .get(10, java.util.concurrent.TimeUnit.SECONDS);
                    return true;
                } catch (Exception stillBeingDeleted) {
                    return false;
                }
            });
        }
        TestInfrastructure.send(List.of(new ProducerRecord<>(name, 0, bytes("poison:after"), bytes("{after"))));
        pipeline.newGroup("after-recreate");
        startConsumer(Map.of("KAFKA_TOPIC", name));
        PipelineState.await("the second dead letter recorded beside the first", Duration.ofSeconds(60),
                () -> PipelineState.count("SELECT count(*) FROM dlq_events") == 2);
        assertThat(PipelineState.count("SELECT count(*) FROM dlq_events WHERE source_topic = '" + name
                + "' AND source_offset = 0 AND source_timestamp IS NOT NULL")).isEqualTo(2);
    }

    @Test
    void deadLettersWhoseLatestFailureIsOlderThanTheRetentionArePruned() {
        TestInfrastructure.send(List.of(new ProducerRecord<>(topic, 0, bytes("poison:1"), bytes("{one")),
                new ProducerRecord<>(topic, 0, bytes("poison:2"), bytes("{two")),
                new ProducerRecord<>(topic, 0, bytes("poison:3"), bytes("{three"))));
        AppProcess consumer = startConsumer(Map.of("STREAMSRE_CONSUMER_DLQ_RETENTION", "30d",
                "STREAMSRE_CONSUMER_LEDGER_PRUNE_INTERVAL", "1s"));
        PipelineState.await("three dead letters recorded", Duration.ofSeconds(60),
                () -> PipelineState.count("SELECT count(*) FROM dlq_events") == 3);
        PipelineState.execute("UPDATE dlq_events SET last_failed_at = now() - interval '31 days'"
                + " WHERE record_key <> convert_to('poison:3', 'UTF8')");
        PipelineState.await("the two aged ones pruned", Duration.ofSeconds(30),
                () -> PipelineState.count("SELECT count(*) FROM dlq_events") == 1);
        PipelineState.await("the pruning logged", Duration.ofSeconds(10),
                () -> consumer.output().contains("pruned 2 dlq_events rows"));
        assertThat(PipelineState.count("SELECT count(*) FROM dlq_events WHERE record_key = convert_to('poison:3', 'UTF8')"))
                .isEqualTo(1);
    }

    @Test
    @Tag(TestInfrastructure.NEEDS_ROOT_POSTGRES)
    void aSixtySecondDatabaseOutageLosesNothingAndDeadLettersNothing() {
        AppProcess producer = pipeline.start("producer", Map.of("KAFKA_TOPIC", topic, "RATE_PER_SEC", "1000",
                "DURATION", "72s", "DUPLICATE_PCT", "2", "POISON_PCT", "0"));
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
        Pipeline.Expected expected = pipeline.expected();
        pipeline.awaitDrained(expected);
        pipeline.assertExactly(expected);
        assertThat(consumer.output()).doesNotContain("TooManyMessagesWithoutAckException")
                .contains("reason=db_unavailable");
    }

    /**
     * Invariant 7: a refusal every write meets is an outage, never poison. Each cause makes
     * PostgreSQL refuse every row for a reason that looks like the record's (23502, 42501); the
     * known-good probe is refused too, so nothing is dead-lettered, readiness says why, and
     * everything lands once the cause is gone.
     */
    @Test
    void aRefusalEveryWriteMeetsIsAnOutageNotPoisonAndEverythingLandsOnceItsCauseIsGone() {
        AppProcess consumer = startConsumer(Map.of());
        pipeline.produce(1_000, 0, 0);
        PipelineState.await("first events landed", Duration.ofSeconds(60),
                () -> PipelineState.count("SELECT count(*) FROM reviews") == 1_000);
        List<String[]> causes = List.of(
                new String[] { "23502", "ALTER TABLE reviews ADD COLUMN region text NOT NULL DEFAULT 'eu';"
                        + " ALTER TABLE reviews ALTER COLUMN region DROP DEFAULT", "ALTER TABLE reviews DROP COLUMN region" },
                new String[] { "42501", "REVOKE INSERT ON reviews FROM streamsre", "GRANT INSERT ON reviews TO streamsre" },
                new String[] { "42501", "REVOKE INSERT ON partition_receipts FROM streamsre",
                        "GRANT INSERT ON partition_receipts TO streamsre" });
        for (String[] cause : causes) {
            PipelineState.execute(cause[1]);
            try {
                pipeline.produce(1_000, 0, 0);
                PipelineState.await("readiness names SQLSTATE " + cause[0], Duration.ofSeconds(30),
                        () -> consumer.readiness().contains("\"sqlstate\": \"" + cause[0] + "\""), consumer::output);
                AppProcess.sleep(2_000);
                assertThat(PipelineState.count("SELECT count(*) FROM dlq_events")).as("dead letters during " + cause[0])
                        .isZero();
                assertThat(TestInfrastructure.readAllRaw(dlqTopic)).as("DLQ topic during " + cause[0]).isEmpty();
            } finally {
                PipelineState.execute(cause[2]);
            }
            pipeline.awaitDrained(pipeline.expected(), Duration.ofSeconds(60));
            PipelineState.await("ready again", Duration.ofSeconds(15),
                    () -> consumer.readiness().contains("\"status\": \"UP\""), consumer::output);
        }
        pipeline.assertExactly(pipeline.expected());
        assertThat(consumer.output()).contains("PostgreSQL refuses every write").contains("accepts writes again");
    }

    /**
     * Invariant 9: only what producers committed lands. A transactional producer commits one event,
     * aborts another, and leaves a third's transaction open: the first lands, the aborted one never
     * does, and the open one waits (its partition held at the last stable offset, reported by
     * partition_open_transaction_seconds) until its transaction commits.
     */
    @Test
    void recordsOfAnAbortedProducerTransactionNeverLandAndAnOpenOneIsReportedUntilItEnds() {
        AppProcess consumer = startConsumer(Map.of("STREAMSRE_CONSUMER_LAG_SAMPLE_INTERVAL", "1s"));
        consumer.awaitReady(Duration.ofSeconds(60));
        String committed = UUID.randomUUID().toString();
        String aborted = UUID.randomUUID().toString();
        String open = UUID.randomUUID().toString();
        String after = UUID.randomUUID().toString();
        Map<String, Object> settings = Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, TestInfrastructure.bootstrapServers(),
                ProducerConfig.TRANSACTIONAL_ID_CONFIG, "it-transactions-" + UUID.randomUUID(),
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName(),
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(settings)) {
            producer.initTransactions();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(topic, 0, bytes("user:t"), bytes(event(committed, "user:t", "r-committed", 4))));
            producer.commitTransaction();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(topic, 0, bytes("user:t"), bytes(event(aborted, "user:t", "r-aborted", 4))));
            producer.flush();
            producer.abortTransaction();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(topic, 1, bytes("user:o"), bytes(event(open, "user:o", "r-open", 4))));
            producer.flush();

            PipelineState.await("the committed event landed", Duration.ofSeconds(60),
                    () -> PipelineState.count("SELECT count(*) FROM reviews WHERE event_id = '" + committed + "'") == 1);
            PipelineState.await("the open transaction reported", Duration.ofSeconds(30), () -> consumer.get("/q/metrics")
                    .lines().anyMatch(line -> line.startsWith("partition_open_transaction_seconds{") && line.contains(
                            "partition=\"1\"") && line.contains(topic) && Double.parseDouble(line.substring(
                                    line.lastIndexOf(' ') + 1)) >= 2), consumer::output);
            assertThat(PipelineState.count("SELECT count(*) FROM reviews WHERE event_id IN ('" + aborted + "', '" + open
                    + "')")).as("aborted and still open").isZero();
            producer.commitTransaction();
            // One more after the aborted one in partition 0: between the two committed records lie
            // a commit marker, the aborted record and its abort marker, offsets Kafka never delivers.
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(topic, 0, bytes("user:t"), bytes(event(after, "user:t", "r-after", 4))));
            producer.commitTransaction();
        }
        PipelineState.await("the open event landed once committed", Duration.ofSeconds(60),
                () -> PipelineState.count("SELECT count(*) FROM reviews WHERE event_id IN ('" + open + "', '" + after + "')") == 2);
        PipelineState.await("no open transaction reported", Duration.ofSeconds(30), () -> consumer.get("/q/metrics")
                .lines().filter(line -> line.startsWith("partition_open_transaction_seconds{") && line.contains(topic))
                .allMatch(line -> line.endsWith(" 0.0")), consumer::output);
        assertThat(PipelineState.count("SELECT count(*) FROM reviews")).isEqualTo(3);
        assertThat(PipelineState.count("SELECT count(*) FROM reviews WHERE event_id = '" + aborted + "'")).isZero();
        assertThat(PipelineState.count("SELECT count(*) FROM dlq_events")).isZero();

        // The audit tells Kafka's own holes from losses by asking the broker: offsets 1 to 3 of
        // partition 0 are skipped, nothing is unaccounted.
        PipelineState.await("partition 0 committed past the last record", Duration.ofSeconds(30),
                () -> PipelineState.committedOffsets(pipeline.group()).entrySet().stream()
                        .anyMatch(entry -> entry.getKey().partition() == 0 && entry.getValue() == 5));
        Pipeline.Audit audit = pipeline.audit(Map.of());
        assertThat(audit.exitCode()).as("audit mode's verdict:%n%s", audit.report()).isZero();
        String partition0 = audit.report().lines().filter(line -> line.startsWith("0 ")).findFirst().orElseThrow();
        assertThat(partition0.trim().split("\\s+")).as("partition 0: from, committed, landed, ..., skipped, unaccounted")
                .containsExactly("0", "0", "5", "2", "2", "0", "0", "0", "3", "0", "0");
        System.out.printf("audit over an aborted transaction:%n%s", audit.report());
    }

    /**
     * Invariant 8: a few tiny records must not kill the consumer. 40 records of 16 MiB each that
     * zstd compresses to a few hundred bytes, between 12,000 ordinary events, against a consumer
     * with the images' 144 MB heap: it stays alive, every ordinary event lands, each bomb is
     * dead-lettered once as oversize (without its bytes), and nothing crash-loops.
     */
    @Test
    void compressionBombsAreDeadLetteredOnceEachAndTheConsumerLivesOnTheImagesHeap() {
        Set<UUID> events = new java.util.HashSet<>();
        byte[] bomb = new byte[16 * 1024 * 1024];
        Map<String, Object> settings = Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, TestInfrastructure.bootstrapServers(),
                ProducerConfig.COMPRESSION_TYPE_CONFIG, "zstd", ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 64 * 1024 * 1024,
                ProducerConfig.BUFFER_MEMORY_CONFIG, 128L * 1024 * 1024,
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName(),
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(settings)) {
            for (int round = 0; round < 3; round++) {
                for (int i = 0; i < 4_000; i++) {
                    UUID id = UUID.randomUUID();
                    events.add(id);
                    producer.send(new ProducerRecord<>(topic, bytes("user:" + i % 50),
                            bytes(event(id.toString(), "user:" + i % 50, "r-" + id, 1 + i % 5))));
                }
                for (int i = 0; round < 2 && i < 20; i++) {
                    producer.send(new ProducerRecord<>(topic, bytes("bomb:" + round + ":" + i), bomb));
                }
                producer.flush();
            }
        }
        AppProcess consumer = pipeline.startConsumer(Map.of(), AppProcess.IMAGE_JVM_OPTIONS);
        Pipeline.Expected expected = new Pipeline.Expected(events, 40, events.size() + 40);
        pipeline.awaitDrained(expected, Duration.ofMinutes(3));
        long peakRss = consumer.peakRssMiB();
        System.out.printf("compression bombs: 40 x 16 MiB (zstd) among %,d events, consumer alive, peak RSS %d MiB%n",
                events.size(), peakRss);

        assertThat(consumer.isAlive()).as(consumer.output()).isTrue();
        pipeline.assertExactly(expected);
        assertThat(PipelineState.count("SELECT count(*) FROM dlq_events WHERE reason = 'oversize'"
                + " AND convert_from(record_key, 'UTF8') LIKE 'bomb:%'")).isEqualTo(40);
        assertThat(consumer.output()).doesNotContain("OutOfMemoryError").doesNotContain(" ERROR ");
    }

    /**
     * A producer chooses its compression, and a batch the consumer cannot decompress is fetched
     * again forever, stopping its partition. Events in each of Kafka's codecs all land; on the native
     * executable snappy and zstd are JNI libraries that must have been built in (application.properties).
     */
    @Test
    void eventsInEveryCompressionCodecLand() {
        Set<UUID> events = new java.util.HashSet<>();
        for (String codec : List.of("none", "gzip", "snappy", "lz4", "zstd")) {
            Map<String, Object> settings = Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, TestInfrastructure.bootstrapServers(),
                    ProducerConfig.COMPRESSION_TYPE_CONFIG, codec,
                    ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName(),
                    ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(settings)) {
                for (int i = 0; i < 200; i++) {
                    UUID id = UUID.randomUUID();
                    events.add(id);
                    producer.send(new ProducerRecord<>(topic, bytes(codec + ":" + i % 6), bytes(event(id.toString(),
                            codec + ":" + i % 6, "r-" + id, 1 + i % 5))));
                }
            }
        }
        pipeline.startConsumer();
        Pipeline.Expected expected = new Pipeline.Expected(events, 0, events.size());
        pipeline.awaitDrained(expected, Duration.ofMinutes(1));
        pipeline.assertExactly(expected);
    }

    /**
     * Whoever can write to the DLQ topic can write any header: a NUL in the claimed source topic
     * or in a message, or a source timestamp PostgreSQL cannot store, once made every insert of the
     * entry fail and stopped the recorder's commits there. Each entry is recorded, the one behind
     * them too, and nothing is logged at ERROR.
     */
    @Test
    void dlqEntriesWithHeadersPostgresqlCannotStoreAreRecordedAndDoNotStopTheRecorder() {
        AppProcess consumer = startConsumer(Map.of());
        consumer.awaitReady(Duration.ofSeconds(60));
        TestInfrastructure.send(List.of(
                new ProducerRecord<>(dlqTopic, 0, null, bytes("forged:nul"), bytes("{nul"), List.of(
                        new RecordHeader(DeadLetterHeaders.SOURCE_TOPIC, bytes("events\0main")),
                        new RecordHeader(DeadLetterHeaders.SOURCE_PARTITION, bytes("0")),
                        new RecordHeader(DeadLetterHeaders.SOURCE_OFFSET, bytes("7")),
                        new RecordHeader(DeadLetterHeaders.REASON, bytes("invalid\0json")),
                        new RecordHeader(DeadLetterHeaders.ERROR_MESSAGE, bytes("a\0b")),
                        new RecordHeader(DeadLetterHeaders.EXCEPTION_CLASS, bytes("x\0y")))),
                new ProducerRecord<>(dlqTopic, 0, null, bytes("forged:time"), bytes("{time"), List.of(
                        new RecordHeader(DeadLetterHeaders.SOURCE_TOPIC, bytes(topic)),
                        new RecordHeader(DeadLetterHeaders.SOURCE_PARTITION, bytes("1")),
                        new RecordHeader(DeadLetterHeaders.SOURCE_OFFSET, bytes("8")),
                        new RecordHeader(DeadLetterHeaders.SOURCE_TIMESTAMP, bytes(Long.toString(Long.MAX_VALUE / 2))))),
                new ProducerRecord<>(dlqTopic, 0, null, bytes("plain"), bytes("{plain"), List.of())));
        PipelineState.await("all three DLQ entries recorded", Duration.ofSeconds(60),
                () -> PipelineState.count("SELECT count(*) FROM dlq_events") == 3, consumer::output);
        assertThat(PipelineState.count("SELECT count(*) FROM dlq_events WHERE source_topic = '" + dlqTopic + "'"))
                .as("a forged source topic is not believed: the entry is known by its DLQ position").isEqualTo(2);
        assertThat(consumer.output()).doesNotContain(" ERROR ");
    }

    /**
     * A statement timeout PostgreSQL cannot parse once failed every connection (22023) and sent the
     * whole stream to the DLQ. Now the setting is a duration like every other ({@code 2m} works), a
     * value that is none stops the start naming the setting, and a raw value PostgreSQL refuses is
     * an outage, not poison.
     */
    @Test
    void theStatementTimeoutIsADurationAndAValuePostgresqlRefusesIsAnOutageNotPoison() {
        AppProcess invalid = startConsumer(Map.of("STREAMSRE_CONSUMER_STATEMENT_TIMEOUT", "1x"));
        assertThat(invalid.awaitExit(Duration.ofSeconds(60))).isNotZero();
        assertThat(invalid.output()).contains("streamsre.consumer.statement-timeout");

        pipeline.produce(500, 0, 0);
        AppProcess refused = startConsumer(Map.of("QUARKUS_DATASOURCE_REACTIVE_ADDITIONAL_PROPERTIES_STATEMENT_TIMEOUT", "1m"));
        PipelineState.await("readiness names SQLSTATE 22023", Duration.ofSeconds(60),
                () -> refused.readiness().contains("\"sqlstate\": \"22023\""), refused::output);
        assertThat(PipelineState.count("SELECT count(*) FROM reviews")).isZero();
        assertThat(TestInfrastructure.readAllRaw(dlqTopic)).as("DLQ topic").isEmpty();
        refused.terminate();
        assertThat(refused.awaitExit(Duration.ofSeconds(20))).isZero();

        startConsumer(Map.of("STREAMSRE_CONSUMER_STATEMENT_TIMEOUT", "2m"));
        Pipeline.Expected expected = pipeline.expected();
        pipeline.awaitDrained(expected, Duration.ofSeconds(60));
        pipeline.assertExactly(expected);
    }

    @Test
    void aSlowDatabaseSlowsTheConsumerWithoutLossAndRecoversWhenItIsFast() throws Exception {
        pipeline.produce(30_000, 2, 0);
        Pipeline.Expected expected = pipeline.expected();
        // Small batches, so a per-statement delay bounds the rate well below the backlog size.
        AppProcess consumer = startConsumer(Map.of("MAX_INFLIGHT", "100", "STREAMSRE_CONSUMER_STATEMENT_TIMEOUT", "1s"));
        PipelineState.await("consumer is writing", Duration.ofSeconds(60),
                () -> PipelineState.count("SELECT count(*) FROM reviews") > 0);

        slowDownReviews("0.25");
        long slowStart = PipelineState.count("SELECT count(*) FROM reviews");
        AppProcess.sleep(5_000);
        double slowRate = (PipelineState.count("SELECT count(*) FROM reviews") - slowStart) / 5.0;

        // Slower than the statement timeout: every write is cancelled and retried, none lands.
        slowDownReviews("2");
        AppProcess.sleep(3_000);
        long stuckStart = PipelineState.count("SELECT count(*) FROM reviews");
        AppProcess.sleep(5_000);
        long stuckProgress = PipelineState.count("SELECT count(*) FROM reviews") - stuckStart;

        long fastStart = PipelineState.count("SELECT count(*) FROM reviews");
        long fastStartNanos = System.nanoTime();
        PipelineState.execute("DROP TRIGGER slow_reviews ON reviews");
        pipeline.awaitDrained(expected);
        double fastRate = (expected.events().size() - fastStart) / ((System.nanoTime() - fastStartNanos) / 1e9);
        System.out.printf("slow-database drill: %.0f events/s with a 250 ms trigger, %d events in 5 s with a 2 s"
                + " trigger (timeout 1 s), %.0f events/s after removing it%n", slowRate, stuckProgress, fastRate);

        assertThat(slowRate).as("the slow database bounds the rate").isPositive().isLessThan(1_000);
        assertThat(stuckProgress).as("statements cancelled by the timeout land nothing").isZero();
        assertThat(fastRate).as("throughput restored").isGreaterThan(3 * slowRate);
        pipeline.assertExactly(expected);
        assertThat(consumer.output()).contains("reason=db_timeout sqlstate=57014");
    }

    @Test
    void outagesThatOpenTheCircuitBreakerAgainAndAgainNeverStallAKeysWritesInTheirChain() throws Exception {
        // Every event on one key, so one Kafka consumer owns them all and the two writes running at
        // once are of that key: the later one commits only after the earlier one. After each outage
        // the open breaker admits one trial call, as often the later write's as the earlier one's;
        // that trial must end without waiting for the earlier write, whose calls the breaker rejects
        // until the trial ends.
        pipeline.produce(20_000, 0, 0, List.of("user:hot"), 100);
        Pipeline.Expected expected = pipeline.expected();
        AppProcess consumer = startConsumer(Map.of("MAX_INFLIGHT", "100", "STREAMSRE_CONSUMER_STATEMENT_TIMEOUT", "1s"));
        PipelineState.await("consumer is writing", Duration.ofSeconds(60),
                () -> PipelineState.count("SELECT count(*) FROM reviews") > 0);

        for (int outage = 1; outage <= 4; outage++) {
            double openedBefore = metric(consumer, "ft_circuitbreaker_opened_total");
            slowDownReviews("2");
            PipelineState.await("outage " + outage + " opened the circuit breaker", Duration.ofSeconds(30),
                    () -> metric(consumer, "ft_circuitbreaker_opened_total") > openedBefore);
            PipelineState.execute("DROP TRIGGER slow_reviews ON reviews");
            long landedBefore = PipelineState.count("SELECT count(*) FROM reviews");
            PipelineState.await("writes go on after outage " + outage, Duration.ofSeconds(30),
                    () -> PipelineState.count("SELECT count(*) FROM reviews") > landedBefore);
        }

        pipeline.awaitDrained(expected);
        pipeline.assertExactly(expected);
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

        // The operator fixes the data, then replays the conflict: it lands now.
        PipelineState.execute("UPDATE reviews SET review_id = 'review-9-renamed' WHERE review_id = 'review-9'");
        AppProcess replayConflict = replay(Map.of("STREAMSRE_REPLAY_REASONS", "review_id_conflict"));
        assertThat(replayConflict.awaitExit(Duration.ofSeconds(60))).as(replayConflict.output()).isZero();
        assertThat(replayConflict.output()).contains("replay summary: dry_run=false selected=1 replayed=1");
        PipelineState.await("the replayed event landed", Duration.ofSeconds(60),
                () -> PipelineState.count("SELECT count(*) FROM reviews WHERE event_id = '" + usurper + "'") == 1);

        // The consumer resolves the entry once its replayed record landed (which entries a run selects,
        // resolved, parked, claimed or forced, and what it writes back: replay/DlqReplayerIT).
        PipelineState.await("the landed replay resolved its entry", Duration.ofSeconds(30),
                () -> PipelineState.count("SELECT count(*) FROM dlq_events WHERE reason = 'review_id_conflict'"
                        + " AND resolved_at IS NOT NULL") == 1);
        // Replaying it again by force is harmless: the ledger recognises the event.
        AppProcess again = replay(Map.of("STREAMSRE_REPLAY_REASONS", "review_id_conflict", "STREAMSRE_REPLAY_FORCE", "true"));
        assertThat(again.awaitExit(Duration.ofSeconds(60))).as(again.output()).isZero();
        PipelineState.await("second replay consumed", Duration.ofSeconds(60),
                () -> pipeline.lag() == 0);
        assertThat(PipelineState.count("SELECT count(*) FROM reviews")).isEqualTo(2);
        assertThat(PipelineState.count("SELECT replay_count FROM dlq_events WHERE reason = 'review_id_conflict'"))
                .isEqualTo(2);

        // A record that fails again comes back to its own row, not a new one.
        Map<String, String> once = Map.of("STREAMSRE_REPLAY_REASONS", "invalid_json", "STREAMSRE_REPLAY_MAX_REPLAYS", "1");
        AppProcess first = replay(once);
        assertThat(first.awaitExit(Duration.ofSeconds(60))).as(first.output()).isZero();
        PipelineState.await("the replayed poison failed again", Duration.ofSeconds(60),
                () -> PipelineState.count("SELECT failure_count FROM dlq_events WHERE reason = 'invalid_json'") == 2);
        assertThat(PipelineState.count("SELECT count(*) FROM dlq_events")).as("no new row").isEqualTo(2);
        assertThat(PipelineState.count("SELECT last_failure_replay_count FROM dlq_events WHERE reason = 'invalid_json'"))
                .isEqualTo(1);

        // A record that claims to be a replay of an entry, with other bytes, is a dead letter of its
        // own: the entry it names does not change.
        long entry = PipelineState.count("SELECT id FROM dlq_events WHERE reason = 'invalid_json'");
        long failuresBefore = PipelineState.count("SELECT failure_count FROM dlq_events WHERE id = " + entry);
        TestInfrastructure.send(List.of(new ProducerRecord<>(topic, null, bytes("user:forger"), bytes("{forged replay"),
                List.of(new RecordHeader("streamsre-replay-of", bytes(String.valueOf(entry))),
                        new RecordHeader("streamsre-replay-count", bytes("9"))))));
        PipelineState.await("the forged record recorded as its own entry", Duration.ofSeconds(60),
                () -> PipelineState.count("SELECT count(*) FROM dlq_events WHERE record_key = convert_to('user:forger', 'UTF8')") == 1);
        assertThat(PipelineState.count("SELECT failure_count FROM dlq_events WHERE id = " + entry))
                .as("the named entry is untouched").isEqualTo(failuresBefore);
        assertThat(PipelineState.count("SELECT replay_count FROM dlq_events WHERE record_key = convert_to('user:forger', 'UTF8')"))
                .isZero();

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
        // Valid-looking events PostgreSQL would refuse or mangle: the codec refuses them first.
        corpus.add(poison("3,000-character key", bytes(event(UUID.randomUUID().toString(), randomText(3_000), "r-long-key", 3)),
                "field_too_long"));
        corpus.add(poison("3,000-character review_id",
                bytes(event(UUID.randomUUID().toString(), "user:l", randomText(3_000), 3)), "field_too_long"));
        corpus.add(poison("70,000-character text", bytes(event(UUID.randomUUID().toString(), "user:l", "r-long-text", 3)
                .replace("\"text\":\"fine\"", "\"text\":\"" + randomText(70_000) + "\"")), "field_too_long"));
        corpus.add(poison("NUL in the key", bytes(event(UUID.randomUUID().toString(), "user:\\u0000", "r-nul", 3)),
                "invalid_character"));
        corpus.add(poison("lone surrogate in the text", bytes(event(UUID.randomUUID().toString(), "user:s", "r-sur", 3)
                .replace("\"text\":\"fine\"", "\"text\":\"a\\ud800b\"")), "invalid_character"));
        corpus.add(poison("year 10000", bytes(event(UUID.randomUUID().toString(), "user:y", "r-year", 3)
                .replaceFirst("\"ts\":\"[^\"]+\"", "\"ts\":\"+10000-01-01T00:00:00Z\"")), "timestamp_out_of_range"));
        // Malformed in ways JSON parsers disagree on.
        byte[] event = bytes(event(UUID.randomUUID().toString(), "user:b", "r-bom", 3));
        byte[] withBom = new byte[event.length + 3];
        withBom[0] = (byte) 0xEF;
        withBom[1] = (byte) 0xBB;
        withBom[2] = (byte) 0xBF;
        System.arraycopy(event, 0, withBom, 3, event.length);
        corpus.add(poison("UTF-8 BOM before the JSON", withBom, "invalid_json"));
        corpus.add(poison("JSON nested 5,000 deep", bytes("{\"a\":" + "[".repeat(5_000) + "]".repeat(5_000) + "}"),
                "invalid_json"));
        corpus.add(poison("duplicate JSON key", bytes(event(UUID.randomUUID().toString(), "user:d", "r-dup", 3)
                .replace("\"rating\":3", "\"rating\":3,\"rating\":5")), "invalid_json"));
        corpus.add(poison("rating as a string", bytes(event(UUID.randomUUID().toString(), "user:n", "r-str", 3)
                .replace("\"rating\":3", "\"rating\":\"3\"")), "wrong_type"));
        corpus.add(poison("event_id not a UUID", bytes(event("not-a-uuid", "user:u", "r-uuid", 3)), "invalid_event_id"));
        // UUID.fromString reads both as one id: before the canonical-form check, the second vanished as a "duplicate".
        corpus.add(poison("event_id with short groups", bytes(event("1-1-1-1-1", "user:u", "r-uuid-short", 3)),
                "invalid_event_id"));
        corpus.add(poison("event_id with short groups, long last", bytes(event("1-1-1-1-1000000000001", "user:u",
                "r-uuid-long", 3)), "invalid_event_id"));
        corpus.add(poison("JSON array", bytes("[1,2,3]"), "invalid_json"));
        // Hostile headers: forged pipeline headers must not break the DLQ recorder or touch another row.
        corpus.add(new Poison("forged pipeline headers", bytes("poison:forged"), bytes("{forged"), "invalid_json",
                List.of(new RecordHeader("streamsre-replay-count", bytes("x")), new RecordHeader("streamsre-replay-of", bytes("1")),
                        new RecordHeader("streamsre-dlq-source-offset", bytes("banana")),
                        new RecordHeader("streamsre-dlq-failed-at", bytes("yesterday")),
                        new RecordHeader("streamsre-dlq-attempts", bytes("99999999999999999999")))));
        corpus.add(new Poison("forged replay of another entry", bytes("poison:replay-of"), bytes("{replayed?"), "invalid_json",
                List.of(new RecordHeader("streamsre-replay-count", bytes("1")), new RecordHeader("streamsre-replay-of", bytes("1")))));
        corpus.add(new Poison("binary header value and NUL in a header key", bytes("poison:binary-headers"), bytes("{bin"),
                "invalid_json", List.of(new RecordHeader("bin", new byte[] { 0, (byte) 0xFF, 0x10 }),
                        new RecordHeader("nul\u0000key", bytes("v")), new RecordHeader("null-value", null))));
        List<Header> many = new ArrayList<>();
        for (int i = 0; i < 3_000; i++) {
            many.add(new RecordHeader("h" + i, bytes("v" + i)));
        }
        corpus.add(new Poison("3,000 headers", bytes("poison:many-headers"), bytes("{many"), "invalid_json", many));
        corpus.add(new Poison("a 200 KB header", bytes("poison:huge-header"), bytes("{huge"), "invalid_json",
                List.of(new RecordHeader("huge", new byte[200_000]))));
        // Headers that make a CloudEvents reader take over: the record is still read as what it is.
        corpus.add(new Poison("CloudEvents structured-mode content type", bytes("poison:ce-structured"), bytes("{ce"),
                "invalid_json", List.of(new RecordHeader("content-type", bytes("application/cloudevents+json")))));
        corpus.add(new Poison("CloudEvents binary-mode headers, a time that is none", bytes("poison:ce-binary"),
                bytes("{ce-binary"), "invalid_json", List.of(new RecordHeader("ce_specversion", bytes("1.0")),
                        new RecordHeader("ce_id", bytes("1")), new RecordHeader("ce_source", bytes("::not a uri")),
                        new RecordHeader("ce_type", bytes("t")), new RecordHeader("ce_time", bytes("yesterday")))));
        return corpus;
    }

    private static String readiness(int port) {
        try {
            java.net.HttpURLConnection connection = (java.net.HttpURLConnection) new java.net.URL(
                    "http://127.0.0.1:" + port + "/q/health/ready").openConnection();
            java.io.InputStream body = connection.getResponseCode() < 400 ? connection.getInputStream() : connection.getErrorStream();
            return new String(body.readAllBytes(), StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            return "";
        }
    }

    private static int readinessStatus(int port) {
        try {
            java.net.HttpURLConnection connection = (java.net.HttpURLConnection) new java.net.URL(
                    "http://127.0.0.1:" + port + "/q/health/ready").openConnection();
            return connection.getResponseCode();
        } catch (java.io.IOException e) {
            return -1;
        }
    }

    /** A metric's value from /q/metrics (summed over its series). */
    private static double metric(AppProcess app, String name) {
        try {
            java.net.HttpURLConnection connection = (java.net.HttpURLConnection) new java.net.URL(
                    "http://127.0.0.1:" + app.httpPort() + "/q/metrics").openConnection();
            String body = new String(connection.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            double sum = 0;
            boolean found = false;
            for (String line : body.split("\n")) {
                if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
                    sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                    found = true;
                }
            }
            if (!found) {
                throw new AssertionError("no metric " + name + " in /q/metrics");
            }
            return sum;
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot read /q/metrics", e);
        }
    }

    private static String randomText(int length) {
        StringBuilder text = new StringBuilder(length);
        java.util.Random random = new java.util.Random(length);
        while (text.length() < length) {
            text.append((char) ('a' + random.nextInt(26)));
        }
        return text.toString();
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
        return pipeline.startConsumer(extra);
    }

    private AppProcess replay(Map<String, String> selection) {
        Map<String, String> env = new HashMap<>(Map.of("KAFKA_TOPIC", topic));
        env.putAll(selection);
        return pipeline.start("replay", env);
    }


    private static void slowDownReviews(String seconds) {
        PipelineState.execute("CREATE OR REPLACE FUNCTION slow_reviews() RETURNS trigger LANGUAGE plpgsql AS $$"
                + " BEGIN PERFORM pg_sleep(" + seconds + "); RETURN NULL; END $$");
        PipelineState.execute("CREATE OR REPLACE TRIGGER slow_reviews BEFORE INSERT ON reviews FOR EACH STATEMENT"
                + " EXECUTE FUNCTION slow_reviews()");
    }
}
