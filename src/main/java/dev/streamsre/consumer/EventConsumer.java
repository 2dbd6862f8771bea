package dev.streamsre.consumer;

import dev.streamsre.config.Channels;
import dev.streamsre.config.ConsumerSettings;
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
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;

/**
 * Consumer mode's heart, and only a composer: for each batch of the main topic it waits for the
 * rate limit, triages the records ({@link BatchTriage}), writes the valid events in as few
 * transactions as the data allows ({@link IsolatingWriter}), and hands the poison to the
 * {@link DeadLetterOffice}, which acknowledges the batch once every dead letter is safe. The
 * throttled commit strategy then commits an offset once every batch before it was acknowledged,
 * so a committed offset is never ahead of the database or the DLQ.
 *
 * <p>Each of the connector's consumers delivers its batches one at a time (the returned Uni
 * completes before the next batch arrives), and a partition belongs to one consumer, so events of
 * one key are applied in offset order.
 */
// Created by ConsumerLifecycle as consumer mode starts, before the connector's channels connect, so its
// inflight_workers gauge is exported from the first scrape; CDI would otherwise create it at the first batch.
@ApplicationScoped
public class EventConsumer {

    private static final Logger LOG = Logger.getLogger(EventConsumer.class);

    /** Part of the shutdown grace period spent waiting for in-flight batches; the rest is for commits. */
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(6);

    /** Records handed to us whose batch is not yet written (acknowledged or left for redelivery). */
    private final AtomicInteger inflightRecords = new AtomicInteger();
    private final BatchTriage triage;
    private final IsolatingWriter writer;
    private final DeadLetterOffice deadLetters;
    private final PipelineMetrics metrics;
    private final ConsumerRateLimiter rateLimiter;
    private final long freshnessThresholdMillis;

    EventConsumer(IsolatingWriter writer, DeadLetterOffice deadLetters, StreamSreConfig settings, PipelineMetrics metrics) {
        ConsumerSettings config = settings.consumer();
        this.triage = BatchTriage.of(config);
        this.writer = writer;
        this.deadLetters = deadLetters;
        this.metrics = metrics;
        this.rateLimiter = new ConsumerRateLimiter(config.rateLimit());
        this.freshnessThresholdMillis = config.freshnessThreshold().toMillis();
        metrics.gauge("inflight_workers", "Records handed to the consumer and not yet settled", inflightRecords::get);
        // The settings the connector and the database pool read through property expressions, as
        // resolved: one line an operator can compare with what they meant to deploy (no secret in it).
        LOG.infof("consumer settings: group.id=%s max-inflight=%d statement-timeout=%s rate-limit=%d max-attempts=%d"
                + " dedupe-horizon=%s ledger-prune-interval=%s lag-sample-interval=%s freshness-threshold=%s",
                config.groupId(), config.maxInflight(), config.statementTimeout(), config.rateLimit(),
                config.maxAttempts(), config.dedupeHorizon(), config.ledgerPruneInterval(), config.lagSampleInterval(),
                config.freshnessThreshold());
    }

    /** Records handed to the consumer and not yet settled (calling it creates the bean). */
    int inflightRecords() {
        return inflightRecords.get();
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
        inflightRecords.addAndGet(records.size());
        return rateLimiter.acquire(records.size())
                .chain(() -> process(batch, records))
                .invoke(() -> metrics.processingTime(System.nanoTime() - received, records.size()))
                .onFailure().recoverWithItem(failure -> {
                    // Only reachable once retries stopped (shutdown). Leaving the batch unacknowledged
                    // keeps it for redelivery to the next owner.
                    metrics.processed(Result.FAIL, records.size());
                    LOG.infof("batch of %d records left uncommitted for redelivery: %s", records.size(), failure.toString());
                    return null;
                })
                .eventually(() -> inflightRecords.addAndGet(-records.size()));
    }

    /** The stages, in the order a record meets them: decode, write, dead-letter and acknowledge. */
    private Uni<Void> process(KafkaRecordBatch<byte[], byte[]> batch, List<KafkaRecord<byte[], byte[]>> delivered) {
        List<BatchRecord> records = new ArrayList<>(delivered.size());
        for (KafkaRecord<byte[], byte[]> record : delivered) {
            records.add(BatchRecord.of(record));
        }
        triage.triage(records);
        return writer.write(records)
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
        while ((inflightRecords.get() > 0 || deadLetters.unsettledBatches() > 0) && System.nanoTime() < deadline) {
            LockSupport.parkNanos(10_000_000L);
        }
        LOG.infof("consumer drained for shutdown: records_still_in_flight=%d batches_with_unsafe_dead_letters=%d",
                inflightRecords.get(), deadLetters.unsettledBatches());
    }
}
