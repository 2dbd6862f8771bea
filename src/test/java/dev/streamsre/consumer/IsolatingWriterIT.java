package dev.streamsre.consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.streamsre.consumer.BatchRecord.Fate;
import dev.streamsre.event.Event;
import dev.streamsre.event.EventCodec;
import dev.streamsre.event.ReviewData;
import dev.streamsre.failure.EarlierWriteFailedException;
import dev.streamsre.failure.FailureClassifier;
import dev.streamsre.failure.RefusedByDatabaseException;
import dev.streamsre.it.PipelineState;
import dev.streamsre.it.TestInfrastructure;
import dev.streamsre.observability.PipelineMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.kafka.IncomingKafkaRecord;
import io.smallrye.reactive.messaging.kafka.IncomingKafkaRecordBatch;
import io.smallrye.reactive.messaging.kafka.commit.KafkaCommitHandler;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.pgclient.PgBuilder;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.PoolOptions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The write stage against the real PostgreSQL, inside the test JVM (no application process, no
 * broker): how a batch PostgreSQL refuses is settled record by record, and how a write commits in
 * its turn. The retries and the circuit breaker around {@link ReviewSink#write} are CDI interceptors
 * and not part of this test; the process tests (FailureHandlingIT) cover them.
 */
class IsolatingWriterIT {

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final PipelineMetrics metrics = new PipelineMetrics(registry);
    private Vertx vertx;
    private Pool pool;
    private WriteRefusal refusal;
    private IsolatingWriter writer;

    @BeforeEach
    void emptyTables() {
        PipelineState.resetDatabase();
        vertx = Vertx.vertx();
        pool = PgBuilder.pool().connectingTo(PgConnectOptions.fromUri(TestInfrastructure.databaseUrl())).using(vertx)
                .build();
        refusal = new WriteRefusal(metrics);
        writer = new IsolatingWriter(new ReviewSink(pool, metrics), refusal, metrics, 3, true);
    }

    @AfterEach
    void close() {
        PipelineState.execute("DROP TRIGGER IF EXISTS refuse_marked ON reviews");
        PipelineState.execute("DROP TRIGGER IF EXISTS refuse_marked ON partition_receipts");
        PipelineState.execute("DROP FUNCTION IF EXISTS refuse_marked()");
        PipelineState.execute("DROP SEQUENCE IF EXISTS refusals");
        pool.closeAndAwait();
        vertx.closeAndAwait();
    }

    @Test
    void aRecordPostgresqlRefusesIsFoundByHalvingAndEveryOtherRecordLands() {
        refuse("IF NEW.text = 'refuse-data' THEN PERFORM NEW.text::int; END IF;");
        List<BatchRecord> batch = new ArrayList<>();
        for (int i = 0; i < 1_000; i++) {
            batch.add(record(i, "user:" + i, "review-" + UUID.randomUUID(), i == 499 ? "refuse-data" : "fine"));
        }

        writer.write(batch, WriteTurn.ANY_TIME).await().atMost(Duration.ofSeconds(60));

        BatchRecord refused = batch.get(499);
        assertThat(refused.fate()).isEqualTo(Fate.DEAD_LETTER);
        assertThat(refused.poison().reasonCode()).isEqualTo(FailureClassifier.DB_DATA_EXCEPTION);
        assertThat(refused.poison().detail()).as("the value PostgreSQL quoted is withheld").doesNotContain("refuse-data");
        assertThat(refused.poison().failureClass()).isEqualTo("io.vertx.pgclient.PgException");
        assertThat(batch).filteredOn(record -> record != refused).extracting(BatchRecord::fate).containsOnly(Fate.LANDED);
        assertThat(PipelineState.count("SELECT count(*) FROM reviews")).isEqualTo(999);
        double extraTransactions = registry.get("isolation_writes").counter().count();
        assertThat(extraTransactions).as("about 2 x log2(1000) and one confirming write, not 1,000")
                .isBetween(10.0, 24.0);
        assertThat(refusal.current()).as("one record's refusal is no outage").isNull();
    }

    @Test
    void aRepeatIsADuplicateAndAReviewIdOfAnotherEventIsPoison() {
        BatchRecord first = record(0, "user:1", "review-shared", "first");
        writer.write(List.of(first), WriteTurn.ANY_TIME).await().atMost(Duration.ofSeconds(30));

        BatchRecord redelivered = BatchRecord.synthetic(first.event(), 0, 0);
        BatchRecord conflicting = record(1, "user:2", "review-shared", "another event, the same review_id");
        BatchRecord fresh = record(2, "user:3", "review-" + UUID.randomUUID(), "new");
        writer.write(List.of(redelivered, conflicting, fresh), WriteTurn.ANY_TIME).await().atMost(Duration.ofSeconds(30));

        assertThat(first.fate()).isEqualTo(Fate.LANDED);
        assertThat(redelivered.fate()).isEqualTo(Fate.DUPLICATE);
        assertThat(conflicting.fate()).isEqualTo(Fate.DEAD_LETTER);
        assertThat(conflicting.poison().reasonCode()).isEqualTo(FailureClassifier.REVIEW_ID_CONFLICT);
        assertThat(fresh.fate()).isEqualTo(Fate.LANDED);
        assertThat(PipelineState.count("SELECT count(*) FROM processed_events")).as("the conflict left no ledger row")
                .isEqualTo(2);

        // The ledger forgot the first event (pruned past the horizon) and it is read again, beside
        // a new event: its review is there, written by itself, so it is a duplicate, and it gets
        // its ledger row back; the new event lands.
        PipelineState.execute("DELETE FROM processed_events WHERE event_id = '" + first.event().eventId() + "'");
        BatchRecord forgotten = BatchRecord.synthetic(first.event(), 0, 0);
        BatchRecord another = record(3, "user:4", "review-" + UUID.randomUUID(), "new too");
        writer.write(List.of(forgotten, another), WriteTurn.ANY_TIME).await().atMost(Duration.ofSeconds(30));
        assertThat(forgotten.fate()).isEqualTo(Fate.DUPLICATE);
        assertThat(another.fate()).isEqualTo(Fate.LANDED);
        assertThat(PipelineState.count("SELECT count(*) FROM processed_events WHERE event_id = '"
                + first.event().eventId() + "'")).as("the forgotten event's ledger row, written back").isEqualTo(1);
        assertThat(PipelineState.count("SELECT count(*) FROM reviews")).as("first, fresh and another").isEqualTo(3);
    }

    @Test
    void aCauseThatGoesBetweenTheRecordsRefusalAndTheProbeCondemnsNothing() {
        // The first insert of this record is refused; by the time the probe runs, the cause is gone
        // (an operator dropped the NOT NULL column): the record must land, not be dead-lettered.
        PipelineState.execute("CREATE SEQUENCE IF NOT EXISTS refusals");
        PipelineState.execute("SELECT setval('refusals', 1, false)");
        refuse("IF NEW.text = 'refused once' AND nextval('refusals') = 1 THEN"
                + " RAISE EXCEPTION USING ERRCODE = '23502', MESSAGE = 'null value in column \"region\"'; END IF;");
        BatchRecord record = record(0, "user:1", "review-" + UUID.randomUUID(), "refused once");

        writer.write(List.of(record), WriteTurn.ANY_TIME).await().atMost(Duration.ofSeconds(30));

        assertThat(record.fate()).isEqualTo(Fate.LANDED);
        assertThat(PipelineState.count("SELECT count(*) FROM reviews")).isEqualTo(1);
    }

    @Test
    void aRefusalEveryWriteMeetsIsAnOutageNotPoisonAndTheBatchLandsOnceItsCauseIsGone() throws Exception {
        refuse("RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'permission denied (test)';");
        List<BatchRecord> batch = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            batch.add(record(i, "user:" + i, "review-" + UUID.randomUUID(), "fine"));
        }

        CompletableFuture<Void> written = writer.write(batch, WriteTurn.ANY_TIME).subscribeAsCompletionStage();
        await("the outage reported").atMost(Duration.ofSeconds(30)).until(() -> refusal.current() != null);
        assertThat(refusal.current().sqlState()).isEqualTo("42501");
        Thread.sleep(1_000);
        assertThat(written).as("the records wait; none is judged poison").isNotDone();
        assertThat(batch).extracting(BatchRecord::fate).containsOnly(Fate.TO_WRITE);

        PipelineState.execute("DROP TRIGGER refuse_marked ON reviews");
        written.get(30, TimeUnit.SECONDS);
        assertThat(batch).extracting(BatchRecord::fate).containsOnly(Fate.LANDED);
        assertThat(refusal.current()).as("accepting writes again").isNull();
    }

    @Test
    void aWriteIsOneTransactionFromItsFirstStatementAndGivesItsConnectionBackClean() {
        // ReviewSink sends BEGIN with the batch statement instead of waiting for its answer. The
        // statement must still be inside the transaction: when the receipts after it are refused,
        // the reviews and ledger rows it wrote go too. And the pool's only connection must come
        // back with no transaction open, or the next write on it would fail.
        Pool single = singleConnectionPool();
        try {
            ReviewSink sink = new ReviewSink(single, metrics);
            refuse("partition_receipts", "RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'permission denied (test)';");
            List<BatchRecord> batch = readFromKafka(record(0, "user:1", "review-" + UUID.randomUUID(), "fine"),
                    record(1, "user:2", "review-" + UUID.randomUUID(), "fine"));

            assertThatThrownBy(() -> sink.write(batch, batch).chain(open -> open.commitInTurn(WriteTurn.ANY_TIME)).await().atMost(Duration.ofSeconds(30)))
                    .isInstanceOf(RefusedByDatabaseException.class);
            assertThat(PipelineState.count("SELECT count(*) FROM reviews")).as("rolled back with the receipts").isZero();
            assertThat(PipelineState.count("SELECT count(*) FROM processed_events")).isZero();
            assertThat(batch).extracting(BatchRecord::fate).containsOnly(Fate.TO_WRITE);

            PipelineState.execute("DROP TRIGGER refuse_marked ON partition_receipts");
            sink.write(batch, batch).chain(open -> open.commitInTurn(WriteTurn.ANY_TIME)).await().atMost(Duration.ofSeconds(30));
            assertThat(batch).extracting(BatchRecord::fate).containsOnly(Fate.LANDED);
            assertThat(PipelineState.count("SELECT count(*) FROM reviews")).isEqualTo(2);
            assertThat(PipelineState.count("SELECT count(*) FROM partition_receipts")).isEqualTo(1);
        } finally {
            single.closeAndAwait();
        }
    }

    @Test
    void theGuardedCallEndsOnceItsStatementsAreAnsweredAndTheWriteCommitsOnlyInItsTurn() throws Exception {
        // ReviewSink.write is the call the retry and the circuit breaker guard. Half-open, the breaker
        // admits one trial call; a trial that waited there for an earlier write's commit, while the
        // breaker rejected that write's retries, would never end (a CI run hung so). So the guarded
        // call must end with the statements answered, whether or not the write's turn has come.
        ReviewSink sink = new ReviewSink(pool, metrics);
        List<BatchRecord> batch = readFromKafka(record(0, "user:1", "review-" + UUID.randomUUID(), "first"),
                record(1, "user:1", "review-" + UUID.randomUUID(), "second"));
        CompletableFuture<Void> turn = new CompletableFuture<>();

        ReviewSink.OpenWrite open = sink.write(batch, batch).await().atMost(Duration.ofSeconds(30));
        CompletableFuture<Void> committed = open.commitInTurn(WriteTurn.after(turn))
                .subscribeAsCompletionStage();

        Thread.sleep(500);
        assertThat(committed).as("waits for its turn").isNotDone();
        assertThat(PipelineState.count("SELECT count(*) FROM reviews")).as("nothing visible before the turn").isZero();
        assertThat(batch).extracting(BatchRecord::fate).containsOnly(Fate.TO_WRITE);

        turn.complete(null);
        committed.get(30, TimeUnit.SECONDS);
        assertThat(batch).extracting(BatchRecord::fate).containsOnly(Fate.LANDED);
        assertThat(PipelineState.count("SELECT count(*) FROM reviews")).isEqualTo(2);
        assertThat(PipelineState.count("SELECT count(*) FROM partition_receipts")).isEqualTo(1);
    }

    @Test
    void aWriteWaitingForItsTurnGivesItsLocksUpSoThatDdlQueuedBehindItCannotStallTheEarlierWrite() throws Exception {
        // The later write of a key has run its statements and waits for the earlier one's commit,
        // holding its lock on reviews. DDL on reviews (here a trigger; a migration, an index) queues
        // behind that lock, and the earlier write's insert queues behind the DDL. PostgreSQL sees no
        // cycle, as the later write waits in our code: unless it gives its locks up, nothing moves.
        PipelineState.execute("CREATE OR REPLACE FUNCTION refuse_marked() RETURNS trigger LANGUAGE plpgsql"
                + " AS $$ BEGIN RETURN NEW; END $$");
        List<BatchRecord> earlier = readFromKafka(record(0, "user:1", "review-" + UUID.randomUUID(), "earlier"));
        List<BatchRecord> later = readFromKafka(record(1, "user:1", "review-" + UUID.randomUUID(), "later"));
        CompletableFuture<Void> earlierCommitted = new CompletableFuture<>();

        CompletableFuture<Void> laterWritten = writer.write(later, WriteTurn.after(earlierCommitted))
                .subscribeAsCompletionStage();
        PipelineState.await("the later write holds its lock on reviews", Duration.ofSeconds(30),
                () -> PipelineState.count("SELECT count(*) FROM pg_locks WHERE relation = 'reviews'::regclass"
                        + " AND mode = 'RowExclusiveLock' AND granted") > 0);
        CompletableFuture<Void> ddl = CompletableFuture.runAsync(() -> PipelineState.execute(
                "CREATE OR REPLACE TRIGGER refuse_marked BEFORE INSERT ON reviews FOR EACH ROW EXECUTE FUNCTION refuse_marked()"));
        PipelineState.await("the DDL queued behind it", Duration.ofSeconds(30),
                () -> PipelineState.count("SELECT count(*) FROM pg_locks WHERE relation = 'reviews'::regclass"
                        + " AND NOT granted") > 0);
        CompletableFuture<Void> earlierWritten = writer.write(earlier, WriteTurn.ANY_TIME)
                .invoke(() -> earlierCommitted.complete(null)).subscribeAsCompletionStage();

        earlierWritten.get(30, TimeUnit.SECONDS);
        laterWritten.get(30, TimeUnit.SECONDS);
        ddl.get(30, TimeUnit.SECONDS);
        assertThat(earlier).extracting(BatchRecord::fate).containsOnly(Fate.LANDED);
        assertThat(later).extracting(BatchRecord::fate).containsOnly(Fate.LANDED);
        assertThat(PipelineState.count("SELECT count(*) FROM reviews")).isEqualTo(2);
        assertThat(PipelineState.count("SELECT count(*) FROM partition_receipts")).isEqualTo(2);
        assertThat(registry.get("writes_yielded_locks").counter().count()).as("the later write yielded its locks")
                .isGreaterThanOrEqualTo(1);
    }

    @Test
    void aTurnThatNeverComesRollsTheWriteBackAndGivesItsConnectionBackClean() {
        Pool single = singleConnectionPool();
        try {
            ReviewSink sink = new ReviewSink(single, metrics);
            List<BatchRecord> batch = readFromKafka(record(0, "user:1", "review-" + UUID.randomUUID(), "left"));
            ReviewSink.OpenWrite open = sink.write(batch, batch).await().atMost(Duration.ofSeconds(30));

            EarlierWriteFailedException earlierFailed = new EarlierWriteFailedException(new IllegalStateException("test"));
            assertThatThrownBy(() -> open.commitInTurn(() -> Uni.createFrom().failure(earlierFailed))
                    .await().atMost(Duration.ofSeconds(30))).isSameAs(earlierFailed);
            assertThat(batch).extracting(BatchRecord::fate).containsOnly(Fate.TO_WRITE);

            // The pool's only connection is back, with no transaction open: the next write commits on it.
            List<BatchRecord> next = readFromKafka(record(1, "user:1", "review-" + UUID.randomUUID(), "next"));
            sink.write(next, next).chain(again -> again.commitInTurn(WriteTurn.ANY_TIME)).await()
                    .atMost(Duration.ofSeconds(30));
            assertThat(next).extracting(BatchRecord::fate).containsOnly(Fate.LANDED);
            assertThat(PipelineState.count("SELECT count(*) FROM reviews")).as("the left write rolled back").isEqualTo(1);
            assertThat(PipelineState.count("SELECT count(*) FROM processed_events")).isEqualTo(1);
        } finally {
            single.closeAndAwait();
        }
    }

    /** A pool of one connection: whatever a write leaves open on it, the next write meets. */
    private Pool singleConnectionPool() {
        return PgBuilder.pool().with(new PoolOptions().setMaxSize(1))
                .connectingTo(PgConnectOptions.fromUri(TestInfrastructure.databaseUrl())).using(vertx).build();
    }

    private static void refuse(String body) {
        refuse("reviews", body);
    }

    private static void refuse(String table, String body) {
        // SECURITY DEFINER: the test's sequence belongs to the schema's owner, not to the app's role.
        PipelineState.execute("CREATE OR REPLACE FUNCTION refuse_marked() RETURNS trigger LANGUAGE plpgsql"
                + " SECURITY DEFINER AS $$ BEGIN " + body + " RETURN NEW; END $$");
        PipelineState.execute("CREATE OR REPLACE TRIGGER refuse_marked BEFORE INSERT ON " + table + " FOR EACH ROW"
                + " EXECUTE FUNCTION refuse_marked()");
    }

    /**
     * The records as the connector would deliver them (synthetic records have no receipts): each
     * one's event, at its offset of partition 0 of a topic no test reads.
     */
    private static List<BatchRecord> readFromKafka(BatchRecord... decoded) {
        List<ConsumerRecord<byte[], byte[]>> read = new ArrayList<>();
        for (BatchRecord record : decoded) {
            read.add(new ConsumerRecord<>("it-isolating-writer", 0, record.offset(),
                    record.event().key().getBytes(StandardCharsets.UTF_8), new EventCodec().encode(record.event())));
        }
        KafkaCommitHandler noCommits = new KafkaCommitHandler() {
            @Override
            public <K, V> Uni<Void> handle(IncomingKafkaRecord<K, V> record) {
                return Uni.createFrom().voidItem();
            }
        };
        IncomingKafkaRecordBatch<byte[], byte[]> batch = new IncomingKafkaRecordBatch<>(new ConsumerRecords<>(
                Map.of(new TopicPartition("it-isolating-writer", 0), read), Map.of()), "events-in", 0, noCommits, null, false, false);
        List<BatchRecord> records = new ArrayList<>();
        for (int i = 0; i < decoded.length; i++) {
            BatchRecord record = BatchRecord.of(batch.getRecords().get(i));
            record.decoded(decoded[i].event());
            records.add(record);
        }
        return records;
    }

    private static BatchRecord record(long offset, String key, String reviewId, String text) {
        return BatchRecord.synthetic(Event.reviewCreated(UUID.randomUUID(), key, Instant.now(),
                new ReviewData(reviewId, 3, text)), 0, offset);
    }
}
