package dev.streamsre.observability;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The consumer's metrics, under the names the spec's PromQL uses ({@code events_processed_total},
 * {@code processing_duration_seconds}, ...), registered in one place so names, labels and buckets
 * stay consistent and label values stay bounded (results, query names and reason codes only; never
 * a key, an id or a message).
 */
@ApplicationScoped
public class PipelineMetrics {

    /** Latency buckets from 1 ms to 10 s, so p50..p99 resolve at every scale from a fast batch to a stall. */
    private static final Duration[] LATENCY_BUCKETS = {
            Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10),
            Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250),
            Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5),
            Duration.ofSeconds(10) };
    private static final double[] BATCH_SIZE_BUCKETS = { 1, 10, 50, 100, 250, 500, 1000, 2000, 5000 };

    /** How a record ended (the {@code result} label of {@code events_processed_total}). */
    public enum Result {
        /** Written to {@code reviews}. */
        SUCCESS("success"),
        /** Recognised as already applied; skipped. */
        DUPLICATE("duplicate"),
        /** Dead-lettered. */
        DLQ("dlq"),
        /** Its write failed for a transient reason; it is retried and counted again when it ends. */
        FAIL("fail");

        private final String label;

        Result(String label) {
            this.label = label;
        }
    }

    private final MeterRegistry registry;
    private final Counter consumed;
    private final Map<Result, Counter> processed = new ConcurrentHashMap<>();
    private final Timer processingDuration;
    private final Map<String, Timer> queryDurations = new ConcurrentHashMap<>();
    private final Map<String, Counter> deadLettered = new ConcurrentHashMap<>();
    private final Counter retries;
    private final Counter ledgerPruned;
    private final Counter isolationWrites;
    private final Counter writesThatYieldedLocks;
    private final Counter deadLetterSendFailures;
    private final Counter deadLettersUnsendable;
    private final Counter deadLettersUnrecordable;
    private final Counter late;
    private final DistributionSummary batchSize;

    /** @param registry Quarkus' Prometheus registry; a component test passes a simple one */
    public PipelineMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.consumed = Counter.builder("events_consumed")
                .description("Records received from the main topic").register(registry);
        for (Result result : Result.values()) {
            processed.put(result, Counter.builder("events_processed").tag("result", result.label)
                    .description("Records by how their processing ended").register(registry));
        }
        this.processingDuration = Timer.builder("processing_duration")
                .description("Time from receiving a record's batch to settling the record")
                .serviceLevelObjectives(LATENCY_BUCKETS).register(registry);
        this.ledgerPruned = Counter.builder("ledger_pruned")
                .description("processed_events rows deleted past the dedupe horizon").register(registry);
        this.retries = Counter.builder("retries")
                .description("Retries of database writes after transient failures").register(registry);
        this.isolationWrites = Counter.builder("isolation_writes")
                .description("Extra transactions spent splitting refused batches to find the records at fault")
                .register(registry);
        this.writesThatYieldedLocks = Counter.builder("writes_yielded_locks")
                .description("Writes that rolled back after holding their locks for 1 s waiting for their turn to commit"
                        + " (an earlier write of their keys was slow, or DDL queued behind them), to run again once it came")
                .register(registry);
        this.deadLetterSendFailures = Counter.builder("dlq_send_failures")
                .description("Failed attempts to send a dead letter to the DLQ topic (each is retried)").register(registry);
        this.deadLettersUnsendable = Counter.builder("dlq_unsendable")
                .description("Dead letters the DLQ topic can never take (e.g. too large), stored in dlq_events only")
                .register(registry);
        this.late = Counter.builder("events_late")
                .description("Events that landed in PostgreSQL later than streamsre.consumer.freshness-threshold"
                        + " after their ts (the freshness SLO's bad events; the good ones are events_processed_total"
                        + "{result=\"success\"} minus these)")
                .register(registry);
        this.deadLettersUnrecordable = Counter.builder("dlq_unrecordable")
                .description("DLQ entries dlq_events refused even without their headers (left unacknowledged)")
                .register(registry);
        this.batchSize = DistributionSummary.builder("consumer_batch_size")
                .description("Records per batch handed over by the Kafka connector")
                .serviceLevelObjectives(BATCH_SIZE_BUCKETS).register(registry);
    }

    public void consumed(int records) {
        consumed.increment(records);
        batchSize.record(records);
    }

    public void processed(Result result, int records) {
        if (records > 0) {
            processed.get(result).increment(records);
        }
    }

    /** Events that landed later than the freshness threshold ({@code events_late_total}). */
    public void late(int events) {
        if (events > 0) {
            late.increment(events);
        }
    }

    /** Records the processing time of {@code records} records that took {@code nanos} each. */
    public void processingTime(long nanos, int records) {
        for (int i = 0; i < records; i++) {
            processingDuration.record(nanos, TimeUnit.NANOSECONDS);
        }
    }

    /** A timer for one named database statement ({@code db_query_duration_seconds{query}}). */
    public Timer query(String name) {
        return queryDurations.computeIfAbsent(name, n -> Timer.builder("db_query_duration")
                .tag("query", n).description("Database statement latency")
                .serviceLevelObjectives(LATENCY_BUCKETS).register(registry));
    }

    public void deadLettered(String reasonCode) {
        deadLettered.computeIfAbsent(reasonCode, r -> Counter.builder("dlq_events").tag("reason", r)
                .description("Records dead-lettered, by reason code").register(registry)).increment();
    }

    /** Rows of the idempotency ledger deleted past the dedupe horizon ({@code ledger_pruned_total}). */
    public void ledgerPruned(long rows) {
        ledgerPruned.increment(rows);
    }

    public void retried() {
        retries.increment();
    }

    /** One more transaction spent isolating the guilty records of a refused batch. */
    public void isolationWrite() {
        isolationWrites.increment();
    }

    /** A write gave its locks up waiting for its turn to commit, and runs again once the turn has come. */
    public void writeYieldedLocks() {
        writesThatYieldedLocks.increment();
    }

    public void deadLetterSendFailed() {
        deadLetterSendFailures.increment();
    }

    public void deadLetterUnsendable() {
        deadLettersUnsendable.increment();
    }

    public void deadLetterUnrecordable() {
        deadLettersUnrecordable.increment();
    }

    /** Runs {@code statement} when subscribed and records its duration, success or failure, in {@code timer}. */
    public static <T> Uni<T> timed(Timer timer, Supplier<Uni<T>> statement) {
        return Uni.createFrom().deferred(() -> {
            long start = System.nanoTime();
            return statement.get().onTermination().invoke(() -> timer.record(System.nanoTime() - start, TimeUnit.NANOSECONDS));
        });
    }

    /** Registers a gauge read on every scrape. */
    public void gauge(String name, String description, Supplier<Number> value, String... tags) {
        Gauge.builder(name, value).description(description).tags(tags).register(registry);
    }
}
