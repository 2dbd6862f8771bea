package dev.streamsre.consumer;

import dev.streamsre.config.Channels;
import dev.streamsre.config.ConsumerSettings;
import dev.streamsre.config.DerivedConsumerSettings;
import dev.streamsre.config.StreamSreConfig;
import dev.streamsre.failure.ShutdownSignal;
import dev.streamsre.observability.PipelineMetrics;
import dev.streamsre.observability.PipelineMetrics.Result;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.kafka.KafkaRecord;
import io.smallrye.reactive.messaging.kafka.KafkaRecordBatch;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.LockSupport;
import org.eclipse.microprofile.config.ConfigProvider;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;

/**
 * Consumer mode's heart, and only a composer: for each batch of the main topic it waits for the
 * rate limit and for room under {@code max-inflight} ({@link InflightRecords}), triages the records
 * ({@link BatchTriage}), and hands the valid events to the {@link KeyOrderedWriteScheduler}, which
 * writes them in as few transactions as the data allows ({@link IsolatingWriter}) on up to
 * {@code write-concurrency} connections, each key's events in offset order. Once a batch's writes
 * have ended, the {@link DeadLetterOffice} sends its poison and acknowledges it when every dead
 * letter is safe. The throttled commit strategy then commits an offset once every record before it
 * was acknowledged, so a committed offset is never ahead of the database or the DLQ.
 *
 * <p>Under a backlog (a full poll), the connector hands a Kafka consumer its next batch as soon as
 * this one is scheduled, not written: batches of one partition are scheduled in offset order, and
 * the scheduler commits each key's next write only after its previous one, so one hot partition no
 * longer holds back the others, and PostgreSQL never waits for the consumer to read and decode.
 * A smaller batch is waited for, as the records arriving meanwhile then make the next batch.
 */
// Created by ConsumerLifecycle as consumer mode starts, before the connector's channels connect, so its
// inflight_workers gauge is exported from the first scrape; CDI would otherwise create it at the first batch.
@ApplicationScoped
public class EventConsumer {

    private static final Logger LOG = Logger.getLogger(EventConsumer.class);

    /** Part of the shutdown grace period spent waiting for in-flight batches; the rest is for commits. */
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(6);
    /** Kafka's own default for max.poll.records. */
    private static final int KAFKA_MAX_POLL_RECORDS = 500;

    /** Records handed to us whose batch is not yet settled (acknowledged or left for redelivery). */
    private final InflightRecords inflightRecords;
    private final BatchTriage triage;
    private final KeyOrderedWriteScheduler writes;
    private final DeadLetterOffice deadLetters;
    private final PipelineMetrics metrics;
    private final ConsumerRateLimiter rateLimiter;
    private final long freshnessThresholdMillis;
    /** Batches at least this large are a backlog: the next one is read while they are written. */
    private final int readAheadFrom;

    EventConsumer(IsolatingWriter writer, DeadLetterOffice deadLetters, StreamSreConfig settings, PipelineMetrics metrics) {
        ConsumerSettings config = settings.consumer();
        this.triage = BatchTriage.of(config);
        this.writes = new KeyOrderedWriteScheduler(config.writeConcurrency(), writer::write);
        this.inflightRecords = new InflightRecords(config.maxInflight());
        // The batch size the connector polls (derived from max-inflight unless set); read ahead from half of it.
        int maxPollRecords = ConfigProvider.getConfig()
                .getOptionalValue(DerivedConsumerSettings.MAX_POLL_RECORDS, Integer.class).orElse(KAFKA_MAX_POLL_RECORDS);
        this.readAheadFrom = Math.max(1, maxPollRecords / 2);
        this.deadLetters = deadLetters;
        this.metrics = metrics;
        this.rateLimiter = new ConsumerRateLimiter(config.rateLimit());
        this.freshnessThresholdMillis = config.freshnessThreshold().toMillis();
        metrics.gauge("inflight_workers", "Records handed to the consumer and not yet settled", inflightRecords::held);
        // The settings the connector and the database pool read through property expressions, as
        // resolved: one line an operator can compare with what they meant to deploy (no secret in it).
        LOG.infof("consumer settings: group.id=%s max-inflight=%d max.poll.records=%d write-concurrency=%d statement-timeout=%s"
                + " rate-limit=%d max-attempts=%d dedupe-horizon=%s ledger-prune-interval=%s lag-sample-interval=%s"
                + " freshness-threshold=%s",
                config.groupId(), config.maxInflight(), maxPollRecords, config.writeConcurrency(), config.statementTimeout(),
                config.rateLimit(), config.maxAttempts(), config.dedupeHorizon(), config.ledgerPruneInterval(),
                config.lagSampleInterval(), config.freshnessThreshold());
    }

    /** Records handed to the consumer and not yet settled (calling it creates the bean). */
    int inflightRecords() {
        return inflightRecords.held();
    }

    @Incoming(Channels.EVENTS_IN)
    public Uni<Void> consume(KafkaRecordBatch<byte[], byte[]> batch) {
        if (ShutdownSignal.isStopping()) {
            // Neither ack nor nack: the records stay uncommitted and the next owner reads them again.
            return Uni.createFrom().voidItem();
        }
        List<KafkaRecord<byte[], byte[]>> records = batch.getRecords();
        long received = System.nanoTime();
        metrics.consumed(records.size());
        return rateLimiter.acquire(records.size())
                .chain(() -> inflightRecords.admit(records.size()))
                .chain(() -> {
                    CompletableFuture<Void> settled = start(batch, records, received);
                    // A full poll means a backlog: read the next batch while this one is written. A
                    // smaller one means the consumer is caught up: wait, so that the records arriving
                    // meanwhile make one batch, not a chain of tiny transactions each paying a commit.
                    return records.size() >= readAheadFrom ? Uni.createFrom().voidItem()
                            : Uni.createFrom().completionStage(settled);
                });
    }

    /**
     * Triages the batch and schedules its writes, then returns: the rest happens as the writes end.
     * Batches of one partition reach here one after the other, in offset order. The result
     * completes once the batch is settled (it never fails).
     */
    private CompletableFuture<Void> start(KafkaRecordBatch<byte[], byte[]> batch, List<KafkaRecord<byte[], byte[]>> delivered,
            long received) {
        CompletableFuture<Void> settled = new CompletableFuture<>();
        Uni.createFrom().deferred(() -> {
            if (ShutdownSignal.isStopping()) {
                // Admitted after the stop began: left uncommitted for the next owner, as above.
                return Uni.createFrom().voidItem();
            }
            return process(batch, delivered)
                    .invoke(() -> metrics.processingTime(System.nanoTime() - received, delivered.size()));
        })
                .onFailure().recoverWithItem(failure -> {
                    // Only reachable once retries stopped (shutdown). Leaving the batch unacknowledged
                    // keeps it for redelivery to the next owner.
                    metrics.processed(Result.FAIL, delivered.size());
                    LOG.infof("batch of %d records left uncommitted for redelivery: %s", delivered.size(), failure.toString());
                    return null;
                })
                .eventually(() -> inflightRecords.release(delivered.size()))
                .subscribe().with(done -> settled.complete(null), settled::completeExceptionally);
        return settled;
    }

    /** The stages, in the order a record meets them: decode, write, dead-letter and acknowledge. */
    private Uni<Void> process(KafkaRecordBatch<byte[], byte[]> batch, List<KafkaRecord<byte[], byte[]>> delivered) {
        List<BatchRecord> records = new ArrayList<>(delivered.size());
        for (KafkaRecord<byte[], byte[]> record : delivered) {
            records.add(BatchRecord.of(record));
        }
        triage.triage(records);
        return writes.schedule(records)
                .invoke(() -> count(records))
                .chain(() -> deadLetters.settle(batch, records));
    }

    /** Counts how the batch's records ended, once per batch: a counter increment per event was 2 % of the consumer's allocation. */
    private void count(List<BatchRecord> records) {
        int landed = 0;
        int duplicates = 0;
        int late = 0;
        // The batch's rows are committed by now: one clock reading for all of them.
        long lateBefore = System.currentTimeMillis() - freshnessThresholdMillis;
        for (BatchRecord record : records) {
            switch (record.fate()) {
                case LANDED -> {
                    landed++;
                    // A replayed dead letter is old by design: the freshness SLI is about the stream.
                    if (record.event().ts().toEpochMilli() < lateBefore && !DeadLetterOffice.isReplay(record)) {
                        late++;
                    }
                }
                case DUPLICATE -> duplicates++;
                default -> {
                    // Dead letters are counted by the DeadLetterOffice as it sends them.
                }
            }
        }
        metrics.processed(Result.SUCCESS, landed);
        metrics.processed(Result.DUPLICATE, duplicates);
        metrics.late(late);
    }

    /**
     * Graceful stop, step 2 (after {@link ShutdownSignal} stopped intake and retries, called by
     * {@link ConsumerLifecycle}): waits for the batches already in flight to reach the database and
     * for their dead letters to be safe, so that the connector commits their offsets as it closes
     * and the database pool is not closed under them.
     */
    void drain() {
        long deadline = System.nanoTime() + DRAIN_TIMEOUT.toNanos();
        while ((inflightRecords.held() > 0 || deadLetters.unsettledBatches() > 0) && System.nanoTime() < deadline) {
            LockSupport.parkNanos(10_000_000L);
        }
        LOG.infof("consumer drained for shutdown: records_still_in_flight=%d batches_with_unsafe_dead_letters=%d",
                inflightRecords.held(), deadLetters.unsettledBatches());
    }
}
