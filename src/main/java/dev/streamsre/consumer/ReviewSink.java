package dev.streamsre.consumer;

import static dev.streamsre.observability.PipelineMetrics.timed;

import dev.streamsre.event.Event;
import dev.streamsre.event.ReviewData;
import dev.streamsre.failure.CountRetries;
import dev.streamsre.failure.FailureClassifier;
import dev.streamsre.failure.RefusedByDatabaseException;
import dev.streamsre.failure.RetryTransientFailures;
import dev.streamsre.observability.PipelineMetrics;
import io.micrometer.core.instrument.Timer;
import io.smallrye.faulttolerance.api.AsynchronousNonBlocking;
import io.smallrye.faulttolerance.api.BeforeRetry;
import io.smallrye.faulttolerance.api.CircuitBreakerName;
import io.smallrye.faulttolerance.api.ExponentialBackoff;
import io.smallrye.faulttolerance.api.RetryWhen;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.SqlConnection;
import io.vertx.mutiny.sqlclient.Transaction;
import io.vertx.mutiny.sqlclient.Tuple;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import java.util.function.Supplier;
import org.eclipse.microprofile.faulttolerance.CircuitBreaker;
import org.eclipse.microprofile.faulttolerance.Retry;

/**
 * Writes batches of events into {@code reviews} with an exactly-once effect: one transaction per
 * batch, ledger and reviews written by one multi-row statement, so that a batch of 1,000 events
 * costs one round trip and one fsync instead of a thousand.
 *
 * <p>Race-free by construction: the ledger insert uses {@code ON CONFLICT DO NOTHING} and the review
 * insert only takes the events the ledger actually accepted ({@code RETURNING}), never a
 * SELECT-then-INSERT check that two consumers could both pass.
 */
@ApplicationScoped
public class ReviewSink {

    /** Name of the circuit breaker in front of PostgreSQL, for readiness and metrics. */
    public static final String CIRCUIT = "postgresql";

    /**
     * Ledger first, then reviews for exactly the events the ledger accepted, in offset order.
     * Answers only for the events that did not land, usually none: a row per event, with whether
     * the ledger accepted it (false: a duplicate, the ledger had it; true: its review_id is already
     * taken, by this same event before the ledger forgot it, or by another). Every other event of
     * the batch landed. Answering for every event cost PostgreSQL a row and the consumer a decoded
     * UUID per landed event, for nothing.
     */
    public static final String INSERT_BATCH = """
            WITH batch AS (
                SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::text[],
                                     $6::timestamptz[], $7::int[], $8::bigint[])
                    WITH ORDINALITY AS b(event_id, review_id, user_key, rating, text, created_at,
                                         source_partition, source_offset, ord)
            ), ledger AS (
                INSERT INTO processed_events (event_id, source_partition, source_offset)
                SELECT event_id, source_partition, source_offset FROM batch ORDER BY ord
                ON CONFLICT (event_id) DO NOTHING
                RETURNING event_id
            ), landed AS (
                INSERT INTO reviews (review_id, event_id, user_key, rating, text, created_at)
                SELECT b.review_id, b.event_id, b.user_key, b.rating, b.text, b.created_at
                FROM batch b JOIN ledger l USING (event_id) ORDER BY b.ord
                ON CONFLICT (review_id) DO NOTHING
                RETURNING event_id
            )
            SELECT b.event_id, l.event_id IS NOT NULL AS accepted
            FROM batch b LEFT JOIN ledger l USING (event_id)
            WHERE NOT EXISTS (SELECT 1 FROM landed r WHERE r.event_id = b.event_id)""";

    /**
     * Of the accepted events whose review did not land, those that had created that very review
     * (a redelivery the pruned ledger forgot), found through the review's primary key: the row
     * with the event's review_id holds the event_id that created it. The others are conflicts.
     */
    static final String ALREADY_APPLIED = """
            SELECT r.event_id FROM unnest($1::text[], $2::uuid[]) AS c(review_id, event_id)
            JOIN reviews r ON r.review_id = c.review_id AND r.event_id = c.event_id""";

    /**
     * Conflicting events leave the ledger again: their end is the DLQ, not "processed". (A
     * redelivery the pruned ledger forgot keeps the row it just wrote back: its review is there.)
     * So a ledger row always means "this event's review is in reviews", which the receipts and the
     * reconciler count on.
     */
    static final String FORGET_CONFLICTS = "DELETE FROM processed_events WHERE event_id = ANY($1::uuid[])";

    /** Key and review_id prefix of the probe write; it is rolled back, so no reader ever sees it. */
    static final String PROBE_KEY = "streamsre-probe";
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(5);

    /**
     * Looked up on first use, not injected: producer mode deactivates the datasource, and Quarkus
     * fails the start of any mode whose beans inject an inactive datasource directly, even a bean
     * that mode never creates.
     */
    private final Supplier<Pool> pools;
    private volatile Pool pool;
    private final Timer insertBatchTimer;
    private final Timer resolveConflictsTimer;
    private final Timer receiptsTimer;

    @Inject
    ReviewSink(Instance<Pool> pools, PipelineMetrics metrics) {
        this(pools::get, metrics);
    }

    /** With a pool of its own: a component test's, without CDI (and so without retries or breaker). */
    ReviewSink(Pool pool, PipelineMetrics metrics) {
        this(() -> pool, metrics);
    }

    private ReviewSink(Supplier<Pool> pools, PipelineMetrics metrics) {
        this.pools = pools;
        this.insertBatchTimer = metrics.query("insert_batch");
        this.resolveConflictsTimer = metrics.query("resolve_conflicts");
        this.receiptsTimer = metrics.query("insert_receipts");
    }

    private Pool pool() {
        Pool current = pool;
        if (current == null) {
            current = pools.get();
            pool = current;
        }
        return current;
    }

    /**
     * Runs the statements of one transaction and leaves it open, with what committing it would
     * settle: the caller commits it in its turn ({@link OpenWrite#commitInTurn}). Events must have
     * distinct event ids; the caller removes in-batch repeats first. Fails as a whole (nothing
     * written, the transaction rolled back) when the database fails.
     *
     * <p>With {@code receiptOf} (the whole batch these events came from, every record settled but
     * these), the same transaction records the batch's {@link PartitionReceipt}s, built with the
     * fates it is committing; empty: no receipt (an isolation round's partial write).
     *
     * <p>This is the call the retry and the circuit breaker guard, and it ends as soon as PostgreSQL
     * has answered the statements: it never waits for another write. The wait for the turn to commit
     * stays outside on purpose. Half-open, the breaker admits one trial call; a trial that waited
     * for an earlier write, whose own calls the breaker rejects until the trial ends, would never end
     * (docs/benchmarks.md, "One key's writes side by side").
     *
     * <p>Transient failures (connection lost, statement timeout, serialization failure, too many
     * connections...) are retried without limit, with exponential backoff and jitter (100 ms doubling
     * to 5 s by default; see application.properties for the settings): an outage is not poison, and
     * the records stay uncommitted meanwhile. Retries stop when shutdown begins.
     *
     * <p>Any other failure (the record's data, or an error nobody classified) is not retried here:
     * it fails the call as a {@link RefusedByDatabaseException}, which the circuit breaker ignores,
     * and {@link IsolatingWriter} finds the records at fault.
     *
     * <p>The circuit breaker (inside the retry) opens after 3 of 4 consecutive calls failed, so that
     * during an outage each retry is a cheap local rejection rather than a connection attempt, and
     * readiness can report the open circuit. After its delay one trial call probes the database.
     */
    @Retry(maxRetries = -1, delay = 100, maxDuration = 0, jitter = 50)
    @ExponentialBackoff(factor = 2, maxDelay = 5_000)
    @RetryWhen(exception = RetryTransientFailures.class)
    @BeforeRetry(CountRetries.class)
    @CircuitBreaker(requestVolumeThreshold = 4, failureRatio = 0.75, delay = 2_000, successThreshold = 1,
            skipOn = RefusedByDatabaseException.class)
    @CircuitBreakerName(CIRCUIT)
    @AsynchronousNonBlocking
    public Uni<OpenWrite> write(List<BatchRecord> records, List<BatchRecord> receiptOf) {
        if (records.isEmpty() && receiptOf.isEmpty()) {
            return Uni.createFrom().item(OpenWrite.NOTHING);
        }
        Function<SqlConnection, Uni<Settled>> work = records.isEmpty()
                ? connection -> insertReceipts(connection, receiptOf, BatchRecord::fate).replaceWith(Settled.NONE)
                : connection -> insertBatch(connection, records)
                        .chain(batch -> resolveNotLanded(connection, records, batch))
                        .call(settled -> insertReceipts(connection, receiptOf, record -> settled.fateOf(record)));
        return open(records, work)
                .onFailure(failure -> !FailureClassifier.isTransient(failure)).transform(RefusedByDatabaseException::new);
    }

    /**
     * Like {@code Pool.withTransaction} up to COMMIT, less one round trip: BEGIN is not awaited, so
     * the first statement follows it on the wire and PostgreSQL runs the two back to back (the Vert.x
     * client pipelines a connection's commands, and a transaction's statements pass its BEGIN in
     * order). Under a backlog, BEGIN's own round trip was 2-3 ms of each 25-27 ms write, time the
     * connection's backend sat idle (docs/benchmarks.md). Rolls back and gives the connection back
     * when the work or BEGIN fails; otherwise the connection stays with the open write until it ends.
     */
    private Uni<OpenWrite> open(List<BatchRecord> records, Function<SqlConnection, Uni<Settled>> work) {
        return pool().getConnection().chain(connection -> Uni.combine().all()
                .unis(connection.begin(), Uni.createFrom().deferred(() -> work.apply(connection))).asTuple()
                .onFailure().call(() -> rollback(connection).eventually(connection::close))
                .map(begun -> new OpenWrite(connection, begun.getItem1(), records, begun.getItem2())));
    }

    /**
     * A transaction whose statements PostgreSQL has answered, still open on its connection: it
     * commits in its turn, after every earlier write of its keys, and only then settles its records
     * (a rolled-back or failed write settles nothing).
     */
    public static final class OpenWrite {

        /** Nothing to write and no receipt: no transaction. */
        static final OpenWrite NOTHING = new OpenWrite(null, null, List.of(), Settled.NONE);

        private final SqlConnection connection;
        private final Transaction transaction;
        private final List<BatchRecord> records;
        private final Settled settled;

        private OpenWrite(SqlConnection connection, Transaction transaction, List<BatchRecord> records, Settled settled) {
            this.connection = connection;
            this.transaction = transaction;
            this.records = records;
            this.settled = settled;
        }

        /**
         * Waits for {@code turn}, then commits and settles the records; gives the connection back
         * whatever happens. A turn that never comes (an earlier write was left for redelivery) rolls
         * the transaction back and fails with that. A COMMIT that fails transiently (its connection
         * lost) fails as such, to be written again; any other failure of COMMIT is the database's
         * refusal ({@link RefusedByDatabaseException}).
         *
         * <p>The wait holds the transaction's locks for {@link #HOLD_LOCKS_FOR_TURN} at most; then the
         * write rolls back and fails with {@link TurnNotComeException}, to be written again once its
         * turn has come. Without that bound a lock queue closes a cycle PostgreSQL cannot see: DDL on
         * {@code reviews} (a migration, an index, a trigger) waits for this transaction's lock, the
         * earlier write's insert queues behind the DDL, and this write waits in our code for the
         * earlier one. A test's CREATE TRIGGER hung so for minutes, the consumer with it.
         */
        public Uni<Void> commitInTurn(WriteTurn turn) {
            if (connection == null) {
                return Uni.createFrom().voidItem();
            }
            return turn.mayCommit()
                    .ifNoItem().after(HOLD_LOCKS_FOR_TURN).failWith(TurnNotComeException::new)
                    .onFailure().call(() -> rollback(connection))
                    .chain(() -> transaction.commit()
                            .onFailure(failure -> !FailureClassifier.isTransient(failure))
                            .transform(RefusedByDatabaseException::new))
                    .invoke(() -> settle(records, settled))
                    .onTermination().call(() -> connection.close().onFailure().recoverWithNull());
        }
    }

    /**
     * How long a write waiting for its turn to commit keeps its transaction, and so its locks, open:
     * PostgreSQL's own {@code deadlock_timeout} default, the time it lets a lock wait last before it
     * looks for a cycle. A drain's writes wait for their predecessor's COMMIT a few milliseconds.
     */
    static final Duration HOLD_LOCKS_FOR_TURN = Duration.ofSeconds(1);

    /** A write's turn did not come while it held its locks: it rolled back, and is written again once it has come. */
    static final class TurnNotComeException extends RuntimeException {
        TurnNotComeException() {
            super("the write's turn to commit did not come within " + HOLD_LOCKS_FOR_TURN + ": rolled back to free its locks",
                    null, false, false);
        }
    }

    /** Rolls back the connection's open transaction, if any; a failed rollback leaves it to the pool's close. */
    private static Uni<Void> rollback(SqlConnection connection) {
        Transaction transaction = connection.transaction();
        return transaction == null ? Uni.createFrom().voidItem() : transaction.rollback().onFailure().recoverWithNull();
    }

    /**
     * Writes a known-good event through the very statement the consumer uses, in a transaction that
     * is rolled back (nothing is left behind), and says why PostgreSQL refused it (empty: accepted).
     * This is the evidence that tells "this record is refused" from "the database refuses every
     * write": a record is dead-lettered for a database reason only if this is accepted in the same
     * moment. Not guarded by the circuit breaker on purpose.
     */
    public Uni<Optional<Throwable>> probe() {
        BatchRecord probe = BatchRecord.synthetic(Event.reviewCreated(UUID.randomUUID(), PROBE_KEY, Instant.now(),
                new ReviewData(PROBE_KEY + ":" + UUID.randomUUID(), ReviewData.MIN_RATING, "")), 0, -1);
        return rehearse(List.of(probe))
                .map(done -> Optional.<Throwable>empty())
                .ifNoItem().after(PROBE_TIMEOUT).recoverWithItem(() -> Optional.of(
                        new java.util.concurrent.TimeoutException("probe write not answered within " + PROBE_TIMEOUT)))
                .onFailure().recoverWithItem(Optional::of);
    }

    /**
     * Runs the consumer's batch statement for these events on one pooled connection, in a
     * transaction that is rolled back: nothing is left behind. The probe write above and the
     * start-up warm-up use it; it fails when the database does.
     */
    Uni<Void> rehearse(List<BatchRecord> events) {
        return pool().withConnection(connection -> connection.begin()
                        .chain(transaction -> insertBatch(connection, events)
                                .onTermination().call(transaction::rollback)))
                .replaceWithVoid();
    }

    /**
     * The instant in UTC, as the client binds a timestamptz. Not {@code Instant.atOffset}: on Java 17
     * it asks the offset for its ZoneRules, which builds new ones on every call (a map and two arrays
     * per event, 3 % of what a drain allocated).
     */
    static OffsetDateTime utc(Instant instant) {
        return OffsetDateTime.of(LocalDateTime.ofEpochSecond(instant.getEpochSecond(), instant.getNano(), ZoneOffset.UTC),
                ZoneOffset.UTC);
    }

    private Uni<Batch> insertBatch(SqlConnection connection, List<BatchRecord> events) {
        int n = events.size();
        UUID[] eventIds = new UUID[n];
        String[] reviewIds = new String[n];
        String[] userKeys = new String[n];
        Integer[] ratings = new Integer[n];
        String[] texts = new String[n];
        OffsetDateTime[] createdAt = new OffsetDateTime[n];
        Integer[] partitions = new Integer[n];
        Long[] offsets = new Long[n];
        for (int i = 0; i < n; i++) {
            BatchRecord pending = events.get(i);
            eventIds[i] = pending.event().eventId();
            reviewIds[i] = pending.event().payload().reviewId();
            userKeys[i] = pending.event().key();
            ratings[i] = pending.event().payload().rating();
            texts[i] = pending.event().payload().text();
            createdAt[i] = utc(pending.event().ts());
            partitions[i] = pending.partition();
            offsets[i] = pending.offset();
        }
        Tuple arguments = Tuple.tuple(List.of(eventIds, reviewIds, userKeys, ratings, texts, createdAt, partitions, offsets));
        return timed(insertBatchTimer, () -> connection.preparedQuery(INSERT_BATCH).execute(arguments)).map(rows -> {
            Set<UUID> inLedgerBefore = new HashSet<>();
            Set<UUID> notLanded = new HashSet<>();
            for (Row row : rows) {
                (row.getBoolean(1) ? notLanded : inLedgerBefore).add(row.getUUID(0));
            }
            return new Batch(inLedgerBefore, notLanded);
        });
    }

    /**
     * Sorts the events whose review did not land into redeliveries the ledger had forgotten
     * (duplicates) and true review_id conflicts, removes the conflicts from the ledger, and answers
     * the conflicts by event id. Runs only when needed.
     */
    private Uni<Settled> resolveNotLanded(SqlConnection connection, List<BatchRecord> records, Batch batch) {
        if (batch.notLanded.isEmpty()) {
            return Uni.createFrom().item(new Settled(batch.inLedgerBefore(), Set.of()));
        }
        List<String> reviewIds = new ArrayList<>(batch.notLanded.size());
        List<UUID> eventIds = new ArrayList<>(batch.notLanded.size());
        for (BatchRecord record : records) {
            if (batch.notLanded.contains(record.event().eventId())) {
                reviewIds.add(record.event().payload().reviewId());
                eventIds.add(record.event().eventId());
            }
        }
        Tuple candidates = Tuple.of(reviewIds.toArray(String[]::new), eventIds.toArray(UUID[]::new));
        return timed(resolveConflictsTimer, () -> connection.preparedQuery(ALREADY_APPLIED).execute(candidates))
                .chain(applied -> {
            Set<UUID> conflicts = new HashSet<>(batch.notLanded);
            Set<UUID> duplicates = new HashSet<>(batch.inLedgerBefore());
            for (Row row : applied) {
                UUID alreadyApplied = row.getUUID(0);
                conflicts.remove(alreadyApplied);
                duplicates.add(alreadyApplied);
            }
            if (conflicts.isEmpty()) {
                return Uni.createFrom().item(new Settled(duplicates, Set.of()));
            }
            return timed(resolveConflictsTimer, () -> connection.preparedQuery(FORGET_CONFLICTS)
                    .execute(Tuple.of(conflicts.toArray(UUID[]::new)))).replaceWith(new Settled(duplicates, conflicts));
        });
    }

    /** The batch's receipts, one row per partition, in the caller's transaction (nothing for an empty list). */
    private Uni<Void> insertReceipts(SqlConnection connection, List<BatchRecord> batch,
            Function<BatchRecord, BatchRecord.Fate> fate) {
        if (batch.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        List<Tuple> rows = PartitionReceipt.of(batch, fate).stream().map(PartitionReceipt::arguments).toList();
        if (rows.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        return timed(receiptsTimer, () -> connection.preparedQuery(PartitionReceipt.INSERT).executeBatch(rows)).replaceWithVoid();
    }

    /** Landed, duplicate or review_id conflict, for each record of a committed write. */
    private static void settle(List<BatchRecord> records, Settled settled) {
        for (BatchRecord record : records) {
            switch (settled.fateOf(record)) {
                case DEAD_LETTER -> record.deadLetter(Poison.reviewIdConflict(record.event().payload().reviewId()));
                case LANDED -> record.landed();
                default -> record.duplicate();
            }
        }
    }

    /**
     * The statement's answer, about the events that did not land: those the ledger already had, and
     * those it accepted whose review did not land. Every other event written landed.
     */
    private record Batch(Set<UUID> inLedgerBefore, Set<UUID> notLanded) {
    }

    /**
     * A committed write's answer: the events that are duplicates (in the ledger before, or their
     * review already applied by themselves), and those whose review_id belongs to another event.
     * Every other event written landed.
     */
    private record Settled(Set<UUID> duplicates, Set<UUID> conflicts) {

        /** Nothing written: a receipts-only transaction. */
        static final Settled NONE = new Settled(Set.of(), Set.of());

        /** What this write makes of a record, once committed; a record it does not write keeps its fate. */
        BatchRecord.Fate fateOf(BatchRecord record) {
            if (!record.toWrite()) {
                return record.fate();
            }
            if (duplicates.isEmpty() && conflicts.isEmpty()) {
                // The usual write: every event landed.
                return BatchRecord.Fate.LANDED;
            }
            UUID id = record.event().eventId();
            if (conflicts.contains(id)) {
                return BatchRecord.Fate.DEAD_LETTER;
            }
            return duplicates.contains(id) ? BatchRecord.Fate.DUPLICATE : BatchRecord.Fate.LANDED;
        }
    }
}
