package dev.streamsre.consumer;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class ConsumerRateLimiterTest {

    @Test
    void offByDefaultNeverWaits() {
        ConsumerRateLimiter off = new ConsumerRateLimiter(0);

        assertThat(off.enabled()).isFalse();
        assertThat(completesAtOnce(off, 1_000_000)).isTrue();
    }

    @Test
    void aBatchWaitsForTheTimeTheBatchesBeforeItReserved() {
        ConsumerRateLimiter limiter = new ConsumerRateLimiter(1_000);

        // The first batch starts at once and reserves 0.5 s; the second starts when that has passed.
        assertThat(completesAtOnce(limiter, 500)).isTrue();
        assertThat(secondsToAcquire(limiter, 500)).isBetween(0.4, 1.5);
    }

    @Test
    void anIdleLimiterBanksNoCredit() throws InterruptedException {
        ConsumerRateLimiter limiter = new ConsumerRateLimiter(1_000);
        Thread.sleep(600);

        assertThat(completesAtOnce(limiter, 500)).isTrue();
        assertThat(secondsToAcquire(limiter, 100)).as("the idle 0.6 s were not saved up").isGreaterThan(0.3);
    }

    @Test
    void aWaitShorterThanAMillisecondIsOneMillisecondNotARefusedTimer() {
        // Vert.x timers (behind Mutiny's delay in Quarkus) refuse delays under 1 ms.
        assertThat(ConsumerRateLimiter.delay(1)).isEqualTo(Duration.ofMillis(1));
        assertThat(ConsumerRateLimiter.delay(999_999)).isEqualTo(Duration.ofMillis(1));
        assertThat(ConsumerRateLimiter.delay(1_000_000)).isEqualTo(Duration.ofMillis(1));
        assertThat(ConsumerRateLimiter.delay(1_000_001)).isEqualTo(Duration.ofMillis(2));
        assertThat(ConsumerRateLimiter.delay(2_500_000_000L)).isEqualTo(Duration.ofMillis(2_500));
    }

    /**
     * Whether the permit is there without any timer: done as soon as it is subscribed to. (Not a
     * stopwatch: the first call in a cold JVM spends a quarter of a second loading Mutiny's classes
     * on a busy machine, which a "faster than 0.1 s" check took for waiting.)
     */
    private static boolean completesAtOnce(ConsumerRateLimiter limiter, int events) {
        return limiter.acquire(events).subscribeAsCompletionStage().isDone();
    }

    private static double secondsToAcquire(ConsumerRateLimiter limiter, int events) {
        long start = System.nanoTime();
        limiter.acquire(events).await().atMost(Duration.ofSeconds(5));
        return (System.nanoTime() - start) / 1e9;
    }
}
