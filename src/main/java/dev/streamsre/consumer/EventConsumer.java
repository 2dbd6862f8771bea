package dev.streamsre.consumer;

import dev.streamsre.Mode;
import dev.streamsre.deadletter.Condemned;
import dev.streamsre.deadletter.DeadLetterOffice;
import dev.streamsre.deadletter.DeadLetterStore;
import dev.streamsre.failure.PoisonRecordException;
import dev.streamsre.failure.ShutdownSignal;
import dev.streamsre.kafka.BoundedValueDeserializer;
import dev.streamsre.observability.PipelineMetrics;
import dev.streamsre.observability.PipelineMetrics.Result;
import dev.streamsre.sink.IsolatingWriter;
import dev.streamsre.sink.WriteResult;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.Startup;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.kafka.IncomingKafkaRecord;
import io.smallrye.reactive.messaging.kafka.KafkaRecord;
import io.smallrye.reactive.messaging.kafka.KafkaRecordBatch;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.common.header.Header;
import org.eclipse.microprofile.config.inject.ConfigProperty;
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
// Created as the application starts (priority 1: before the connector's channels connect), so its
// inflight_workers gauge is exported from the first scrape; CDI would otherwise create it at the first batch.
@Startup(1)
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

    EventConsumer(IsolatingWriter writer, DeadLetterOffice deadLetters, ConsumerConfig config, PipelineMetrics metrics) {
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

    private Uni<Void> process(KafkaRecordBatch<byte[], byte[]> batch, List<KafkaRecord<byte[], byte[]>> records) {
        List<BatchTriage.RawRecord> raw = new ArrayList<>(records.size());
        for (KafkaRecord<byte[], byte[]> record : records) {
            raw.add(new BatchTriage.RawRecord(record.getPartition(), offsetOf(record), record.getPayload(),
                    droppedValueBytes(record)));
        }
        List<BatchTriage.Verdict> verdicts = triage.triage(raw);
        return writer.write(BatchTriage.toWrite(verdicts)).chain(results -> {
            List<DeadLetterStore.Landed> replaysLanded = new ArrayList<>();
            List<Condemned> condemned = outcomes(records, verdicts, results, replaysLanded);
            return deadLetters.settle(batch, condemned, replaysLanded);
        });
    }

    /**
     * Counts how each record ended and gathers, in offset order, the ones to dead-letter and the
     * replayed ones that landed (their DLQ entries are resolved).
     */
    private List<Condemned> outcomes(List<KafkaRecord<byte[], byte[]>> records, List<BatchTriage.Verdict> verdicts,
            List<WriteResult> results, List<DeadLetterStore.Landed> replaysLanded) {
        List<Condemned> condemned = new ArrayList<>();
        int written = 0;
        int landed = 0;
        int duplicates = 0;
        int late = 0;
        // The batch's rows are committed by now: one clock reading for all of them.
        long lateBefore = System.currentTimeMillis() - freshnessThresholdMillis;
        for (int i = 0; i < verdicts.size(); i++) {
            IncomingKafkaRecord<byte[], byte[]> record = (IncomingKafkaRecord<byte[], byte[]>) records.get(i);
            BatchTriage.Verdict verdict = verdicts.get(i);
            if (verdict instanceof BatchTriage.Write write) {
                WriteResult result = results.get(written++);
                if (result instanceof WriteResult.Refused refused) {
                    condemned.add(new Condemned(record, refused.reason(), write.event().event().eventId()));
                } else {
                    DeadLetterStore.Landed replay = DeadLetterOffice.replayOf(record);
                    if (result instanceof WriteResult.Landed) {
                        landed++;
                        // A replayed dead letter is old by design: the freshness SLI is about the stream.
                        if (replay == null && write.event().event().ts().toEpochMilli() < lateBefore) {
                            late++;
                        }
                    } else {
                        duplicates++;
                    }
                    if (replay != null) {
                        replaysLanded.add(replay);
                    }
                }
            } else if (verdict instanceof BatchTriage.Reject reject) {
                condemned.add(new Condemned(record, new PoisonRecordException(reject.rejection().reason().code(),
                        reject.rejection().detail()), null));
            } else {
                duplicates++;
            }
        }
        // Counted per batch: a counter increment per event was 2 % of the consumer's allocation.
        metrics.processed(Result.SUCCESS, landed);
        metrics.processed(Result.DUPLICATE, duplicates);
        metrics.late(late);
        return condemned;
    }

    /**
     * Graceful stop, step 2 (after {@link ShutdownSignal} stopped intake and retries): waits for
     * the batches already in flight to reach the database and for their dead letters to be safe,
     * so that the connector commits their offsets as it closes and the database pool is not closed
     * under them. Producer and replay jobs consume nothing, so they neither wait nor say so.
     */
    void drainOnShutdown(@Observes @Priority(2) ShutdownEvent event,
            @ConfigProperty(name = "streamsre.mode") Mode mode) {
        if (mode != Mode.CONSUMER) {
            return;
        }
        long deadline = System.nanoTime() + DRAIN_TIMEOUT.toNanos();
        while ((inflightRecords.get() > 0 || deadLetters.unsettledBatches() > 0) && System.nanoTime() < deadline) {
            LockSupport.parkNanos(10_000_000L);
        }
        LOG.infof("consumer drained for shutdown: records_still_in_flight=%d batches_with_unsafe_dead_letters=%d",
                inflightRecords.get(), deadLetters.unsettledBatches());
    }

    /**
     * The size of a value too large to hold ({@link BoundedValueDeserializer} did not copy it), or
     * -1 when the record's value is all there.
     */
    private static long droppedValueBytes(KafkaRecord<?, ?> record) {
        Header dropped = ((IncomingKafkaRecord<?, ?>) record).getHeaders().lastHeader(BoundedValueDeserializer.DROPPED_VALUE_BYTES);
        if (dropped == null) {
            return -1;
        }
        try {
            return Long.parseLong(new String(dropped.value(), StandardCharsets.US_ASCII));
        } catch (NumberFormatException e) {
            return Long.MAX_VALUE;
        }
    }

    /** Records of an incoming batch are always {@link IncomingKafkaRecord}s; only they know their offset. */
    static long offsetOf(KafkaRecord<?, ?> record) {
        return ((IncomingKafkaRecord<?, ?>) record).getOffset();
    }
}
