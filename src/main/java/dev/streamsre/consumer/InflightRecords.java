package dev.streamsre.consumer;

import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.UniEmitter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Bounds the records the consumer holds and has not settled ({@code streamsre.consumer.max-inflight},
 * the spec's {@code MAX_INFLIGHT}). The consumer hands a batch to its writes and asks for the next one
 * before the first is written, so that PostgreSQL always has the next transaction ready; this is
 * what keeps that read-ahead, and so the consumer's memory, bounded. Batches are admitted in the
 * order they asked, and one batch is always admitted when nothing is held, whatever its size.
 */
final class InflightRecords {

    private final int limit;
    private final ArrayDeque<Waiting> waiting = new ArrayDeque<>();
    private int held;

    InflightRecords(int limit) {
        this.limit = limit;
    }

    /** Completes once {@code records} more may be held, and counts them as held from then on. */
    Uni<Void> admit(int records) {
        return Uni.createFrom().emitter(emitter -> {
            boolean now;
            synchronized (this) {
                now = waiting.isEmpty() && fits(records);
                if (now) {
                    held += records;
                } else {
                    waiting.add(new Waiting(records, emitter));
                }
            }
            if (now) {
                emitter.complete(null);
            }
        });
    }

    /** These records are settled (written, dead-lettered, or left for redelivery): room for waiting batches. */
    void release(int records) {
        List<Waiting> admitted = new ArrayList<>(1);
        synchronized (this) {
            held -= records;
            while (!waiting.isEmpty() && fits(waiting.peek().records)) {
                Waiting next = waiting.poll();
                held += next.records;
                admitted.add(next);
            }
        }
        admitted.forEach(next -> next.emitter.complete(null));
    }

    synchronized int held() {
        return held;
    }

    private boolean fits(int records) {
        return held == 0 || held + records <= limit;
    }

    private record Waiting(int records, UniEmitter<? super Void> emitter) {
    }
}
