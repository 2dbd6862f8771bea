package dev.streamsre.consumer;

import io.smallrye.mutiny.Uni;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Caps consumer mode's throughput at {@code streamsre.consumer.rate-limit} events/s (off when 0),
 * shared by all of the connector's consumer threads.
 *
 * <p>Written by hand because SmallRye Fault Tolerance's {@code @RateLimit} does not fit: it counts
 * invocations (we need records: batches vary in size) and rejects the excess with an exception
 * instead of delaying it. This is the smallest pacing that does: every batch reserves its share of
 * the time line and waits until its slot begins. Waiting never blocks a thread (a Mutiny delay),
 * and the connector keeps polling meanwhile, so a slow pace cannot cause a rebalance.
 */
final class ConsumerRateLimiter {

    private final double nanosPerEvent;
    /** When the next reservation may start (System.nanoTime clock). */
    private final AtomicLong nextFree = new AtomicLong(System.nanoTime());

    ConsumerRateLimiter(int eventsPerSecond) {
        this.nanosPerEvent = eventsPerSecond > 0 ? 1e9 / eventsPerSecond : 0;
    }

    boolean enabled() {
        return nanosPerEvent > 0;
    }

    /** Completes when {@code events} more events may be processed. */
    Uni<Void> acquire(int events) {
        if (!enabled() || events == 0) {
            return Uni.createFrom().voidItem();
        }
        long cost = (long) (events * nanosPerEvent);
        long now = System.nanoTime();
        // An idle limiter does not bank credit: a reservation starts no earlier than now.
        long start = nextFree.getAndAccumulate(cost, (free, c) -> Math.max(free, now) + c);
        long wait = Math.max(start, now) - now;
        if (wait <= 0) {
            return Uni.createFrom().voidItem();
        }
        return Uni.createFrom().voidItem().onItem().delayIt().by(delay(wait));
    }

    /**
     * The wait in whole milliseconds, rounded up: Mutiny's delay runs on a Vert.x timer in
     * Quarkus, which refuses a delay under 1 ms ("Cannot schedule a timer with delay < 1 ms"); a
     * batch whose slot began a fraction of a millisecond later failed, and was left unacknowledged.
     */
    static Duration delay(long waitNanos) {
        return Duration.ofMillis(Math.max(1, (waitNanos + 999_999) / 1_000_000));
    }
}
