package dev.streamsre.consumer;

import dev.streamsre.config.StreamSreConfig;
import dev.streamsre.failure.DatabaseRefusingWritesException;
import dev.streamsre.failure.FailureClassifier;
import dev.streamsre.failure.RedactedDatabaseException;
import dev.streamsre.failure.RefusedByDatabaseException;
import dev.streamsre.failure.RetryTransientFailures;
import dev.streamsre.failure.ShutdownSignal;
import dev.streamsre.observability.PipelineMetrics;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.jboss.logging.Logger;

/**
 * Writes a batch and, when the database refuses it for a reason some record caused, finds the
 * records at fault by splitting the batch in halves, so that a batch of 1,000 with one bad record
 * costs about 2 x log2(1000) = 20 extra transactions, not 1,000; every other record lands.
 *
 * <p>The halves are written one after the other, in offset order, so events of one key are still
 * applied in order. A lone refused record is dead-lettered for a database reason only if a
 * known-good probe event, written through the same statement (and rolled back), is accepted on
 * both sides of one more refusal of the record: a refusal every write meets (a bad setting, a column added under the running
 * consumer, a revoked privilege, a read-only replica) is an outage, never poison. Then nothing is
 * dead-lettered, the record is retried with backoff until it lands or is refused alone, and
 * {@link WriteRefusal} reports the outage to readiness and metrics.
 *
 * <p>A lone record refused with a permanent error (data exception, constraint, program limit) is
 * probed at once. One failing with an error nobody classified is first tried again, alone, until it
 * has been part of {@code streamsre.consumer.max-attempts} writes ({@code max_retries_exceeded}).
 *
 * <p>The retries here are Mutiny's ({@code retry().withBackOff}): they wrap a recursive step whose
 * limits depend on the record, which SmallRye Fault Tolerance's fixed annotations cannot express.
 */
@ApplicationScoped
public class IsolatingWriter {

    private static final Logger LOG = Logger.getLogger(IsolatingWriter.class);
    private static final Duration ALONE_BACKOFF = Duration.ofMillis(200);
    private static final Duration ALONE_MAX_BACKOFF = Duration.ofSeconds(2);
    /** Once the cause of a refusal is gone, the waiting record is tried again within this long. */
    private static final Duration OUTAGE_BACKOFF = Duration.ofMillis(500);
    private static final Duration OUTAGE_MAX_BACKOFF = Duration.ofSeconds(5);
    /** A COMMIT lost with its connection: written again after this long, doubling, as the guarded call's retries. */
    private static final Duration COMMIT_BACKOFF = Duration.ofMillis(100);
    private static final Duration COMMIT_MAX_BACKOFF = Duration.ofSeconds(5);
    private static final RetryTransientFailures RETRY_TRANSIENT = new RetryTransientFailures();

    private final ReviewSink sink;
    private final WriteRefusal refusal;
    private final PipelineMetrics metrics;
    private final int maxAttempts;
    /** Whether writes record receipts ({@code streamsre.consumer.receipts}). */
    private final boolean receipts;

    @Inject
    IsolatingWriter(ReviewSink sink, WriteRefusal refusal, PipelineMetrics metrics, StreamSreConfig settings) {
        this(sink, refusal, metrics, settings.consumer().maxAttempts(), settings.consumer().receipts());
    }

    IsolatingWriter(ReviewSink sink, WriteRefusal refusal, PipelineMetrics metrics, int maxAttempts, boolean receipts) {
        this.sink = sink;
        this.refusal = refusal;
        this.metrics = metrics;
        this.maxAttempts = maxAttempts;
        this.receipts = receipts;
    }

    /**
     * Writes the batch's records that are still to write, settles each (landed, duplicate, or
     * dead-lettered), and records the batch's receipts. Fails only once shutdown stopped the retries
     * (a transient failure, an outage, or a record whose retries were cut short); the caller then
     * leaves the batch uncommitted for the next owner.
     *
     * <p>The receipts ride in the batch's own transaction. When a record has to be isolated, the
     * halves are written without them and the receipts follow in a transaction of their own once
     * every record is settled: a crash in between leaves landed rows that the redelivered range's
     * receipt counts as duplicates, still accounted for by their ledger rows.
     *
     * <p>Every transaction that writes records commits in its {@code turn}: after every earlier write
     * of the same keys.
     *
     * @param batch every record of the batch, whatever its fate so far
     * @param turn the batch's place in the order of its keys ({@link KeyOrderedWriteScheduler})
     */
    public Uni<Void> write(List<BatchRecord> batch, WriteTurn turn) {
        List<BatchRecord> receiptOf = receipts ? batch : List.of();
        List<BatchRecord> records = new ArrayList<>(batch.size());
        for (BatchRecord record : batch) {
            if (record.toWrite()) {
                records.add(record);
            }
        }
        if (records.isEmpty()) {
            return recordReceipts(receiptOf);
        }
        AtomicInteger transactions = new AtomicInteger();
        return write(records, 1, transactions, receiptOf, turn).call(() -> {
            refusal.accepted();
            if (transactions.get() == 1) {
                return Uni.createFrom().voidItem();
            }
            long refused = records.stream().filter(record -> record.fate() == BatchRecord.Fate.DEAD_LETTER).count();
            LOG.infof("isolated %d refused record(s) of a batch of %d in %d transactions", refused, records.size(),
                    transactions.get());
            return recordReceipts(receiptOf);
        });
    }

    /**
     * The receipts of a batch whose records are all settled, in a transaction of their own. Nothing
     * in a receipt comes from a record's bytes, so a refusal is the database's (a privilege revoked,
     * a read-only replica): an outage, retried with backoff until it lands or shutdown begins.
     */
    private Uni<Void> recordReceipts(List<BatchRecord> receiptOf) {
        if (receiptOf.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        // Receipts order nothing: their records are settled, and no later write waits for them.
        return inTurn(List.of(), receiptOf, WriteTurn.ANY_TIME)
                .onFailure(RefusedByDatabaseException.class).invoke(refusal::refused)
                .onFailure(failure -> !ShutdownSignal.isStopping())
                .retry().withBackOff(OUTAGE_BACKOFF, OUTAGE_MAX_BACKOFF).indefinitely()
                .invoke(refusal::accepted);
    }

    /**
     * One transaction of these records, committed in its turn: the statements in {@link
     * ReviewSink#write}, the call the retry and the circuit breaker guard, then the wait for the turn
     * and COMMIT outside it (why, on {@code ReviewSink.write}).
     *
     * <p>A write whose turn did not come while it held its locks rolled back (why, on {@link
     * ReviewSink.OpenWrite#commitInTurn}): it waits for its turn without a transaction, then runs
     * again. A COMMIT that failed transiently (its connection lost; it may even have committed) runs
     * the whole write again, which the ledger makes safe: what committed comes back as duplicates.
     * Like the guarded call's retries, these stop at shutdown.
     */
    private Uni<Void> inTurn(List<BatchRecord> records, List<BatchRecord> receiptOf, WriteTurn turn) {
        return Uni.createFrom().deferred(() -> sink.write(records, receiptOf))
                .chain(open -> open.commitInTurn(turn))
                .onFailure(ReviewSink.TurnNotComeException.class).recoverWithUni(late -> {
                    metrics.writeYieldedLocks();
                    LOG.debugf("rolled back a write of %d record(s) waiting for its turn; writing it again once it has come",
                            records.size());
                    return turn.mayCommit().chain(() -> inTurn(records, receiptOf, turn));
                })
                .onFailure(RETRY_TRANSIENT).invoke(failure -> {
                    metrics.retried();
                    LOG.warnf("COMMIT failed transiently, writing the %d record(s) again: reason=%s error=%s",
                            records.size(), FailureClassifier.classify(failure).reasonCode(),
                            RedactedDatabaseException.of(failure).toString());
                })
                .onFailure(RETRY_TRANSIENT).retry().withBackOff(COMMIT_BACKOFF, COMMIT_MAX_BACKOFF).indefinitely();
    }

    /**
     * @param attempts how many writes, this one included, each of these records has been part of
     * @param receiptOf the batch whose receipts the first transaction records, if it commits
     */
    private Uni<Void> write(List<BatchRecord> records, int attempts, AtomicInteger transactions, List<BatchRecord> receiptOf,
            WriteTurn turn) {
        return Uni.createFrom().deferred(() -> {
            if (transactions.getAndIncrement() > 0) {
                metrics.isolationWrite();
                return inTurn(records, List.of(), turn);
            }
            return inTurn(records, receiptOf, turn);
        })
                .onFailure(RefusedByDatabaseException.class).recoverWithUni(refused -> records.size() == 1
                        ? alone(records.get(0), refused, attempts, transactions, turn)
                        : split(records, attempts, transactions, turn));
    }

    private Uni<Void> split(List<BatchRecord> records, int attempts, AtomicInteger transactions, WriteTurn turn) {
        int half = records.size() / 2;
        return write(records.subList(0, half), attempts + 1, transactions, List.of(), turn)
                .chain(() -> write(records.subList(half, records.size()), attempts + 1, transactions, List.of(), turn));
    }

    /**
     * A record refused on its own. Its first failure is the one the batch write just met; every
     * later round writes it alone again. Unknown failures are retried alone up to the record's
     * attempts; then, permanent or unknown, the probe decides: accepted, the record is refused
     * (DLQ); refused too, it is an outage, and the record waits with backoff and is written again.
     */
    private Uni<Void> alone(BatchRecord record, Throwable refused, int attemptsSoFar, AtomicInteger transactions,
            WriteTurn turn) {
        AtomicReference<Throwable> batchFailure = new AtomicReference<>(refused);
        AtomicInteger attempts = new AtomicInteger(attemptsSoFar);
        AtomicInteger writtenAlone = new AtomicInteger();
        Uni<Void> writeAlone = Uni.createFrom().deferred(() -> {
            Throwable known = batchFailure.getAndSet(null);
            if (known != null) {
                return Uni.createFrom().failure(known);
            }
            attempts.incrementAndGet();
            writtenAlone.incrementAndGet();
            transactions.incrementAndGet();
            metrics.isolationWrite();
            return inTurn(List.of(record), List.of(), turn);
        });
        return writeAlone
                // Unknown: at least one try alone, more until the record has been part of max-attempts writes.
                .onFailure(failure -> FailureClassifier.isUnknown(failure) && !ShutdownSignal.isStopping()
                        && (writtenAlone.get() == 0 || attempts.get() < maxAttempts))
                .retry().withBackOff(ALONE_BACKOFF, ALONE_MAX_BACKOFF).atMost(Math.max(1, maxAttempts))
                .onFailure(failure -> !FailureClassifier.isTransient(failure))
                .recoverWithUni(failure -> judge(record, failure, attempts.get(), writtenAlone.get(), transactions, turn))
                // The database refuses the probe too: an outage, not poison. Write the record again
                // until it lands or is refused for a reason of its own; stop when shutdown begins.
                .onFailure(failure -> failure instanceof DatabaseRefusingWritesException && !ShutdownSignal.isStopping())
                .retry().withBackOff(OUTAGE_BACKOFF, OUTAGE_MAX_BACKOFF).indefinitely();
    }

    /**
     * The verdict on a record PostgreSQL refused alone: dead-lettered only if a known-good probe
     * is accepted, the record is refused once more right after it, and a second probe is accepted
     * again; a probe refused at either end means an outage ({@link DatabaseRefusingWritesException}).
     * Probing on both sides of a confirming write is what keeps a cause that goes (a column
     * dropped, a privilege granted back) or comes between the record's refusal and the probe from
     * condemning a good record: the record then lands, or the outage is seen.
     */
    private Uni<Void> judge(BatchRecord record, Throwable failure, int attempts, int writtenAlone,
            AtomicInteger transactions, WriteTurn turn) {
        if (ShutdownSignal.isStopping() && FailureClassifier.isUnknown(failure)
                && (attempts < maxAttempts || writtenAlone == 0)) {
            // Shutdown cut its retries short: not enough evidence against the record. Its batch stays
            // uncommitted and the next owner tries it again.
            return Uni.createFrom().failure(new RetriesCutShortException(failure));
        }
        return probe(failure).chain(() -> {
            transactions.incrementAndGet();
            metrics.isolationWrite();
            return inTurn(List.of(record), List.of(), turn);
        }).onFailure(RefusedByDatabaseException.class).recoverWithUni(again -> probe(again).invoke(() -> {
            refusal.accepted();
            record.deadLetter(poison(record, again, attempts + 1));
        }));
    }

    /** Completes if PostgreSQL accepts a known-good write now; fails as an outage if it refuses it too. */
    private Uni<Void> probe(Throwable recordFailure) {
        return sink.probe().map(probeRefused -> {
            if (probeRefused.isPresent()) {
                refusal.refused(probeRefused.get());
                throw new DatabaseRefusingWritesException(recordFailure, probeRefused.get());
            }
            return null;
        });
    }

    private static Poison poison(BatchRecord record, Throwable failure, int attempts) {
        RedactedDatabaseException redacted = RedactedDatabaseException.of(failure);
        if (FailureClassifier.isPermanent(failure)) {
            return Poison.refusedByDatabase(FailureClassifier.classify(failure).reasonCode(), redacted.getMessage(),
                    redacted, attempts);
        }
        LOG.warnf(redacted, "record at partition=%d offset=%d keeps failing (%d attempts) while PostgreSQL accepts"
                + " a probe write: dead-lettering it", record.partition(), record.offset(), attempts);
        return Poison.refusedByDatabase(FailureClassifier.MAX_RETRIES_EXCEEDED,
                "tried " + attempts + " times, still failing: " + redacted.getMessage(), redacted, attempts);
    }

    /** A lone record's retries were stopped by shutdown before it could be judged. */
    static final class RetriesCutShortException extends RuntimeException {
        RetriesCutShortException(Throwable lastFailure) {
            super("shutdown stopped the record's retries before its attempts were spent: left for redelivery",
                    RedactedDatabaseException.of(lastFailure));
        }
    }
}
