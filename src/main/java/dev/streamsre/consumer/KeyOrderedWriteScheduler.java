package dev.streamsre.consumer;

import dev.streamsre.failure.EarlierWriteFailedException;
import io.netty.util.collection.LongObjectHashMap;
import io.smallrye.mutiny.Uni;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiFunction;

/**
 * Runs the writes of many batches on several database connections at once while each key's events
 * are still applied in offset order: write parallelism follows keys, not partitions. Kafka orders
 * events per partition, and the seed's load puts 80 % of them on 3 keys; with one serial writer per
 * Kafka consumer, the consumer that owned two hot partitions bounded the drain while the other sat
 * idle.
 *
 * <p>The rule is Confluent parallel-consumer's key ordering, kept where readers see it: a key's next
 * write commits only after its previous one committed ({@link WriteTurn}). Each batch is one write
 * (one transaction, as large as the batch), and it may run while the earlier writes of its keys
 * still run: it starts once each of them has started, and its COMMIT waits for theirs. So the
 * writes of one hot key keep every connection busy, where a write that waited for its predecessor's
 * end left its connection's backend idle for that write's receipts, COMMIT and answer and the next
 * batch's encoding, and the tail of a skewed drain, where one Kafka consumer's hot partitions
 * remain, ran one transaction at a time. At most {@code concurrency} writes run (a write waiting
 * for its turn to commit counts), and ready writes start in the order they became ready. (Splitting a batch by key to start part of it
 * earlier was tried: it multiplied small transactions, and the drain of evenly spread keys slowed by
 * a fifth, see docs/benchmarks.md.)
 *
 * <p>Writes running at once never touch the same row: a batch holding an event id or a review id
 * that an unfinished write holds (a redelivered or repeated event in another batch) starts only once
 * that write has ended. Otherwise its insert would wait in PostgreSQL for the earlier write's row
 * while that write, retried after a lost connection, waited for this one's; and this one waits for
 * its turn in our code, where PostgreSQL's deadlock detection cannot see it.
 *
 * <p>A write starts only once every earlier write it follows has started, so the earliest running
 * write never waits for anything: the writes always progress. Rows of one key are inserted in any
 * order; they commit, and so become visible, in offset order.
 *
 * <p>A failed write (only once shutdown stopped the retries: {@link IsolatingWriter} settles every
 * other outcome) fails every later write of its keys, and stays their predecessor: one not yet
 * started fails without running, one already running rolls back when its turn to commit fails
 * ({@link EarlierWriteFailedException}). A key's later event never lands before an earlier one that
 * was left for redelivery. A batch's returned {@code Uni} completes once its write has ended, and
 * fails if it failed, so the caller acknowledges (and the throttled commit strategy commits) only
 * what is safe.
 *
 * <p>Written by hand because no library we use schedules by key: SmallRye Reactive Messaging's
 * concurrency is per partition, and Confluent's parallel-consumer replaces the connector's Kafka
 * client, its commits and rebalancing.
 */
final class KeyOrderedWriteScheduler {

    private final int concurrency;
    private final BiFunction<List<BatchRecord>, WriteTurn, Uni<Void>> writer;
    /** The unfinished or failed write each key last went to: that key's next write follows it. */
    private final Map<String, Write> lastWriteOfKey = new HashMap<>();
    /**
     * The unfinished write holding each row, by a fingerprint of its event id or review id: a write
     * sharing one waits for that write's end. Two rows with one fingerprint only make a write wait
     * longer than it had to. A primitive map (Netty's), which allocates nothing per record: with
     * HashMaps of event and review ids, an entry object per row, the scheduler took 13 % of the
     * consumer's samples in a drain's profile (HashMap.put alone 8 %), 11 % with this one.
     */
    private final LongObjectHashMap<Write> writeOfRow = new LongObjectHashMap<>();
    private final ArrayDeque<Write> ready = new ArrayDeque<>();
    private int running;

    /**
     * @param concurrency writes (transactions) run at once, at most
     * @param writer writes a batch's records still to write, settles each and records the batch's
     *               receipts, in the turn it is given; fails only when the records are to be left
     *               for redelivery
     */
    KeyOrderedWriteScheduler(int concurrency, BiFunction<List<BatchRecord>, WriteTurn, Uni<Void>> writer) {
        if (concurrency < 1) {
            throw new IllegalArgumentException("concurrency must be at least 1, got " + concurrency);
        }
        this.concurrency = concurrency;
        this.writer = writer;
    }

    /**
     * Schedules the write of one batch. Its records still to write ({@link BatchRecord#toWrite()})
     * decide whom it follows; the writer gets the whole batch, whose receipts it records (a batch
     * with nothing to write has no key, and follows no one). Batches must be scheduled in the
     * order their records were read; the scheduling itself is immediate. The result completes when
     * the write has ended.
     */
    Uni<Void> schedule(List<BatchRecord> records) {
        List<BatchRecord> toWrite = new ArrayList<>(records.size());
        for (BatchRecord record : records) {
            if (record.toWrite()) {
                toWrite.add(record);
            }
        }
        Write write = new Write(records, toWrite);
        List<Write> toStart;
        List<Runnable> outsideLock = new ArrayList<>(1);
        synchronized (this) {
            Set<Write> keyPredecessors = Collections.newSetFromMap(new IdentityHashMap<>());
            Set<Write> rowPredecessors = Collections.newSetFromMap(new IdentityHashMap<>());
            String previousKey = null;
            for (BatchRecord record : toWrite) {
                String key = key(record);
                // A hot key's records mostly follow one another: one lookup per run of them.
                if (!key.equals(previousKey)) {
                    addPredecessor(keyPredecessors, lastWriteOfKey.put(key, write), write);
                    previousKey = key;
                }
                addPredecessor(rowPredecessors, writeOfRow.put(eventRow(record), write), write);
                addPredecessor(rowPredecessors, writeOfRow.put(reviewRow(record), write), write);
            }
            keyPredecessors.addAll(rowPredecessors);
            for (Write predecessor : keyPredecessors) {
                if (predecessor.failure != null) {
                    fail(write, predecessor.failure, outsideLock);
                    break;
                }
                predecessor.commitAfterEnd.add(write);
                write.uncommittedPredecessors++;
                if (rowPredecessors.contains(predecessor)) {
                    predecessor.startAfterEnd.add(write);
                    write.unmetStartConditions++;
                } else if (!predecessor.started) {
                    predecessor.startAfterStart.add(write);
                    write.unmetStartConditions++;
                }
            }
            if (write.failure == null) {
                if (write.uncommittedPredecessors == 0) {
                    write.turn.complete(null);
                }
                if (write.unmetStartConditions == 0) {
                    ready.add(write);
                }
            }
            toStart = startable();
        }
        start(toStart);
        outsideLock.forEach(Runnable::run);
        return Uni.createFrom().completionStage(write.completion);
    }

    private static void addPredecessor(Set<Write> predecessors, Write predecessor, Write write) {
        if (predecessor != null && predecessor != write) {
            predecessors.add(predecessor);
        }
    }

    /** Writes running now, for tests. */
    synchronized int running() {
        return running;
    }

    /** Takes the ready writes that may start now (caller holds the lock). */
    private List<Write> startable() {
        List<Write> toStart = new ArrayList<>();
        while (running < concurrency && !ready.isEmpty()) {
            Write write = ready.poll();
            if (write.failure != null) {
                continue;
            }
            running++;
            write.running = true;
            write.started = true;
            toStart.add(write);
            // Whoever follows this write by key only may start now, behind it in the queue.
            release(write.startAfterStart);
        }
        return toStart;
    }

    private void start(List<Write> writes) {
        for (Write write : writes) {
            Uni.createFrom().deferred(() -> writer.apply(write.batch, write))
                    // A write that committed nothing (every record dead-lettered) still ends in its turn:
                    // the writes following it must not commit before the ones it follows.
                    .call(write::mayCommit)
                    .subscribe().with(done -> ended(write, null), failure -> ended(write, failure));
        }
    }

    private void ended(Write write, Throwable failure) {
        List<Write> toStart;
        List<Runnable> outsideLock = new ArrayList<>(2);
        synchronized (this) {
            running--;
            write.running = false;
            for (BatchRecord record : write.keyed) {
                forgetRow(eventRow(record), write);
                forgetRow(reviewRow(record), write);
            }
            if (failure == null && write.failure == null) {
                String previousKey = null;
                for (BatchRecord record : write.keyed) {
                    String key = key(record);
                    if (!key.equals(previousKey)) {
                        lastWriteOfKey.remove(key, write);
                        previousKey = key;
                    }
                }
                release(write.startAfterEnd);
                for (Write successor : write.commitAfterEnd) {
                    if (successor.failure == null && --successor.uncommittedPredecessors == 0) {
                        outsideLock.add(() -> successor.turn.complete(null));
                    }
                }
                // Nothing may keep a finished write alive: its successors hold no reference to it.
                write.commitAfterEnd.clear();
                outsideLock.add(() -> write.completion.complete(null));
            } else if (write.failure == null) {
                fail(write, failure, outsideLock);
            } else {
                // Failed while it ran (an earlier write of its keys did): it rolled back, or committed
                // nothing. Whoever follows it failed with it.
                Throwable failed = write.failure;
                outsideLock.add(() -> write.completion.completeExceptionally(failed));
            }
            toStart = startable();
        }
        start(toStart);
        outsideLock.forEach(Runnable::run);
    }

    /** Counts a start condition met for each write in the list, and empties it (caller holds the lock). */
    private void release(List<Write> successors) {
        for (Write successor : successors) {
            if (successor.failure == null && --successor.unmetStartConditions == 0) {
                ready.add(successor);
            }
        }
        successors.clear();
    }

    /**
     * Fails a write that ran and failed, or one that follows a failed write, and with it every write
     * following it: none of them may commit. It stays in {@link #lastWriteOfKey}, so later writes of
     * its keys fail too. A write still running is told through its turn, and ends (rolled back) when
     * its writer returns; one that never started ends now. The futures are completed outside the
     * lock (caller holds it): what follows them runs in that thread.
     */
    private void fail(Write write, Throwable failure, List<Runnable> outsideLock) {
        if (write.failure != null) {
            return;
        }
        write.failure = failure;
        if (write.running) {
            outsideLock.add(() -> write.turn.completeExceptionally(new EarlierWriteFailedException(failure)));
        } else {
            outsideLock.add(() -> write.completion.completeExceptionally(failure));
        }
        for (List<Write> successors : List.of(write.startAfterStart, write.startAfterEnd, write.commitAfterEnd)) {
            for (Write successor : successors) {
                fail(successor, failure, outsideLock);
            }
            successors.clear();
        }
    }

    private static String key(BatchRecord record) {
        return record.event().key();
    }

    /** Removes a finished write's row, unless a later write holds that fingerprint now (caller holds the lock). */
    private void forgetRow(long row, Write write) {
        Write holder = writeOfRow.remove(row);
        if (holder != null && holder != write) {
            writeOfRow.put(row, holder);
        }
    }

    private static long eventRow(BatchRecord record) {
        UUID id = record.event().eventId();
        return id.getMostSignificantBits() ^ id.getLeastSignificantBits();
    }

    /** A review id's fingerprint, its hash spread over 64 bits (Fibonacci hashing). */
    private static long reviewRow(BatchRecord record) {
        return record.event().payload().reviewId().hashCode() * 0x9E3779B97F4A7C15L;
    }

    /** One batch's transaction, the writes following it, and what it still waits for. */
    private static final class Write implements WriteTurn {
        /** Every record of the batch, for the writer. */
        final List<BatchRecord> batch;
        /** Those still to write: their keys and rows order this write. */
        final List<BatchRecord> keyed;
        /** Writes that may start once this one has started (they share a key with it). */
        final List<Write> startAfterStart = new ArrayList<>(1);
        /** Writes that may start once this one has ended (they share a row with it). */
        final List<Write> startAfterEnd = new ArrayList<>(0);
        /** Every write following this one: each commits only after it. */
        final List<Write> commitAfterEnd = new ArrayList<>(1);
        /** Completes when every write this one follows has committed; fails when one failed. */
        final CompletableFuture<Void> turn = new CompletableFuture<>();
        final CompletableFuture<Void> completion = new CompletableFuture<>();
        int unmetStartConditions;
        int uncommittedPredecessors;
        boolean started;
        boolean running;
        Throwable failure;

        Write(List<BatchRecord> batch, List<BatchRecord> keyed) {
            this.batch = batch;
            this.keyed = keyed;
        }

        @Override
        public Uni<Void> mayCommit() {
            return WriteTurn.after(turn).mayCommit();
        }
    }
}
