package dev.streamsre.consumer;

import io.smallrye.mutiny.Uni;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * Runs the writes of many batches on several database connections at once while each key's events
 * are still applied in offset order: write parallelism follows keys, not partitions. Kafka orders
 * events per partition, and the seed's load puts 80 % of them on 3 keys; with one serial writer per
 * Kafka consumer, the consumer that owned two hot partitions bounded the drain while the other sat
 * idle.
 *
 * <p>The rule is Confluent parallel-consumer's key ordering: a key's next write waits for its
 * previous one. Each batch is one write (one transaction, as large as the batch) that starts once
 * every unfinished write holding one of its keys has committed. Batches that share no key with
 * the writes in flight, from another partition or another Kafka consumer, start at once; at most
 * {@code concurrency} writes run, and ready writes start in the order they became ready. (Splitting
 * a batch by key to start part of it earlier was tried: it multiplied small transactions, and the
 * drain of evenly spread keys slowed by a fifth, see docs/benchmarks.md.)
 *
 * <p>A failed write (only once shutdown stopped the retries: {@link IsolatingWriter} settles every
 * other outcome) fails every later write of its keys without running it, and stays their
 * predecessor: a key's later event never lands before an earlier one that was left for redelivery.
 * A batch's returned {@code Uni} completes once its write has ended, and fails if it failed, so the
 * caller acknowledges (and the throttled commit strategy commits) only what is safe.
 *
 * <p>Written by hand because no library we use schedules by key: SmallRye Reactive Messaging's
 * concurrency is per partition, and Confluent's parallel-consumer replaces the connector's Kafka
 * client, its commits and rebalancing.
 */
final class KeyOrderedWriteScheduler {

    private final int concurrency;
    private final Function<List<BatchRecord>, Uni<Void>> writer;
    /** The unfinished or failed write each key last went to: that key's next write waits for it. */
    private final Map<String, Write> lastWriteOfKey = new HashMap<>();
    private final ArrayDeque<Write> ready = new ArrayDeque<>();
    private int running;

    /**
     * @param concurrency writes (transactions) run at once, at most
     * @param writer writes a batch's records still to write, settles each and records the batch's
     *               receipts; fails only when the records are to be
     *               left for redelivery
     */
    KeyOrderedWriteScheduler(int concurrency, Function<List<BatchRecord>, Uni<Void>> writer) {
        if (concurrency < 1) {
            throw new IllegalArgumentException("concurrency must be at least 1, got " + concurrency);
        }
        this.concurrency = concurrency;
        this.writer = writer;
    }

    /**
     * Schedules the write of one batch. Its records still to write ({@link BatchRecord#toWrite()})
     * decide whom it waits for; the writer gets the whole batch, whose receipts it records (a batch
     * with nothing to write has no key, and waits for no one). Batches must be scheduled in the
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
        List<Write> ended = new ArrayList<>(1);
        synchronized (this) {
            Set<Write> predecessors = Collections.newSetFromMap(new IdentityHashMap<>());
            for (BatchRecord record : toWrite) {
                Write predecessor = lastWriteOfKey.put(key(record), write);
                if (predecessor != null && predecessor != write) {
                    predecessors.add(predecessor);
                }
            }
            for (Write predecessor : predecessors) {
                if (predecessor.failure != null) {
                    fail(write, predecessor.failure, ended);
                    break;
                }
                predecessor.successors.add(write);
                write.unfinishedPredecessors++;
            }
            if (write.failure == null && write.unfinishedPredecessors == 0) {
                ready.add(write);
            }
            toStart = startable();
        }
        start(toStart);
        ended.forEach(Write::complete);
        return Uni.createFrom().completionStage(write.completion);
    }

    /** Writes running now, for tests. */
    synchronized int running() {
        return running;
    }

    /** Takes the ready writes that may start now (caller holds the lock). */
    private List<Write> startable() {
        List<Write> toStart = new ArrayList<>();
        while (running < concurrency && !ready.isEmpty()) {
            running++;
            toStart.add(ready.poll());
        }
        return toStart;
    }

    private void start(List<Write> writes) {
        for (Write write : writes) {
            Uni.createFrom().deferred(() -> writer.apply(write.batch))
                    .subscribe().with(done -> ended(write, null), failure -> ended(write, failure));
        }
    }

    private void ended(Write write, Throwable failure) {
        List<Write> toStart;
        List<Write> ended = new ArrayList<>(1);
        synchronized (this) {
            running--;
            if (failure == null) {
                for (BatchRecord record : write.keyed) {
                    lastWriteOfKey.remove(key(record), write);
                }
                for (Write successor : write.successors) {
                    if (successor.failure == null && --successor.unfinishedPredecessors == 0) {
                        ready.add(successor);
                    }
                }
                // Nothing may keep a finished write alive: its successors hold no reference to it.
                write.successors.clear();
                ended.add(write);
            } else {
                fail(write, failure, ended);
            }
            toStart = startable();
        }
        start(toStart);
        ended.forEach(Write::complete);
    }

    /**
     * Fails a write that ran and failed, or one that waited for a failed write, and with it every
     * write waiting for it. It stays in {@link #lastWriteOfKey}, so later writes of its keys fail too.
     */
    private void fail(Write write, Throwable failure, List<Write> ended) {
        if (write.failure != null) {
            return;
        }
        write.failure = failure;
        ended.add(write);
        for (Write successor : write.successors) {
            fail(successor, failure, ended);
        }
        write.successors.clear();
    }

    private static String key(BatchRecord record) {
        return record.event().key();
    }

    /** One batch's transaction, the writes waiting for it, and how many it still waits for. */
    private static final class Write {
        /** Every record of the batch, for the writer. */
        final List<BatchRecord> batch;
        /** Those still to write: their keys order this write. */
        final List<BatchRecord> keyed;
        final List<Write> successors = new ArrayList<>(1);
        final CompletableFuture<Void> completion = new CompletableFuture<>();
        int unfinishedPredecessors;
        Throwable failure;

        Write(List<BatchRecord> batch, List<BatchRecord> keyed) {
            this.batch = batch;
            this.keyed = keyed;
        }

        /** Completes the batch's result, outside the lock: what follows runs in the caller's thread. */
        void complete() {
            if (failure == null) {
                completion.complete(null);
            } else {
                completion.completeExceptionally(failure);
            }
        }
    }
}
