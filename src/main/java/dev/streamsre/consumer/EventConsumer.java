package dev.streamsre.consumer;

import dev.streamsre.Mode;
import dev.streamsre.config.InvalidConfigurationException;
import dev.streamsre.deadletter.DeadLetterHeaders;
import dev.streamsre.event.DecodeResult;
import dev.streamsre.event.EventCodec;
import dev.streamsre.failure.FailureClassifier;
import dev.streamsre.failure.PoisonRecordException;
import dev.streamsre.failure.ShutdownSignal;
import dev.streamsre.observability.PipelineMetrics;
import dev.streamsre.observability.PipelineMetrics.Result;
import dev.streamsre.sink.PendingEvent;
import dev.streamsre.sink.ReviewSink;
import dev.streamsre.sink.WriteOutcome;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.Startup;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.kafka.IncomingKafkaRecord;
import io.smallrye.reactive.messaging.kafka.KafkaRecord;
import io.smallrye.reactive.messaging.kafka.KafkaRecordBatch;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.annotation.Priority;
import jakarta.enterprise.event.Observes;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.Metadata;
import org.jboss.logging.Logger;

/**
 * Consumer mode's heart: takes a batch of records from the main topic, writes the valid events in
 * one transaction, dead-letters the poison ones, and acknowledges the batch only after the end of
 * each of its records is durable. The throttled commit strategy then commits an offset once every
 * batch before it has been acknowledged, so a committed offset is never ahead of the database.
 *
 * <p>Each of the connector's consumers delivers its batches one at a time (the returned Uni
 * completes before the next batch arrives), and a partition belongs to one consumer, so events of
 * one key are applied in offset order.
 */
// Created as the application starts (priority 1: before the connector's channels connect), so the
// constructor's checks fail the start; CDI would otherwise create it at the first batch.
@Startup(1)
@ApplicationScoped
public class EventConsumer {

    private static final Logger LOG = Logger.getLogger(EventConsumer.class);

    /** Part of the shutdown grace period spent waiting for in-flight batches; the rest is for commits. */
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(6);

    /** Records handed to us and not yet settled (acked, dead-lettered or left for redelivery). */
    private final AtomicInteger inflightRecords = new AtomicInteger();
    private final ReviewSink sink;
    private final EventCodec codec;
    private final PipelineMetrics metrics;
    private final ConsumerRateLimiter rateLimiter;
    private final DeadLetterLog deadLetterLog;

    EventConsumer(ReviewSink sink, ConsumerConfig config, PipelineMetrics metrics) {
        if (config.rateLimit() < 0) {
            throw new InvalidConfigurationException("streamsre.consumer.rate-limit (CONSUMER_RATE_LIMIT) must be"
                    + " 0 (no limit) or a positive number of events per second, got " + config.rateLimit());
        }
        if (config.deadLetterLogInterval().isNegative()) {
            throw new InvalidConfigurationException("streamsre.consumer.dead-letter-log-interval must be 0 (log every"
                    + " dead letter) or a positive duration, got " + config.deadLetterLogInterval());
        }
        if (config.dedupeHorizon().isNegative()) {
            throw new InvalidConfigurationException("streamsre.consumer.dedupe-horizon must be 0 (keep the ledger"
                    + " forever) or a positive duration longer than the topic's retention, got " + config.dedupeHorizon());
        }
        this.sink = sink;
        this.codec = new EventCodec(config.maxEventBytes());
        this.metrics = metrics;
        this.rateLimiter = new ConsumerRateLimiter(config.rateLimit());
        this.deadLetterLog = new DeadLetterLog(config.deadLetterLogInterval());
        metrics.gauge("inflight_workers", "Records handed to the consumer and not yet settled", inflightRecords::get);
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
                .chain(() -> {
                    Sorted sorted = sort(records);
                    return writeIsolatingPoison(sorted.pending).chain(outcomes -> settle(batch, sorted, outcomes));
                })
                .invoke(() -> metrics.processingTime(System.nanoTime() - received, records.size()))
                .onFailure().recoverWithItem(failure -> {
                    // Only reachable once retries stopped (shutdown). Failing the Uni would nack the
                    // batch into the DLQ; leaving it unacknowledged keeps it for redelivery instead.
                    metrics.processed(Result.FAIL, records.size());
                    LOG.warnf(failure, "batch of %d records left uncommitted for redelivery", records.size());
                    return null;
                })
                .eventually(() -> inflightRecords.addAndGet(-records.size()));
    }

    /**
     * Graceful stop, step 2 (after {@link ShutdownSignal} stopped intake and retries): waits for
     * the batches already in flight to reach the database and be acknowledged, so that the
     * connector commits their offsets as it closes and the database pool is not closed under them.
     * Producer and replay jobs consume nothing, so they neither wait nor say so.
     */
    void drainOnShutdown(@Observes @Priority(2) ShutdownEvent event,
            @ConfigProperty(name = "streamsre.mode") Mode mode) {
        if (mode != Mode.CONSUMER) {
            return;
        }
        long deadline = System.nanoTime() + DRAIN_TIMEOUT.toNanos();
        while (inflightRecords.get() > 0 && System.nanoTime() < deadline) {
            LockSupport.parkNanos(10_000_000L);
        }
        LOG.infof("consumer drained for shutdown: records_still_in_flight=%d", inflightRecords.get());
    }

    /** Decoded events in offset order, poison records, and in-batch repeats of an event id. */
    private record Sorted(List<PendingEvent> pending, List<KafkaRecord<byte[], byte[]>> pendingRecords,
            List<KafkaRecord<byte[], byte[]>> repeats, List<KafkaRecord<byte[], byte[]>> poison,
            List<PoisonRecordException> poisonReasons) {
    }

    private Sorted sort(List<KafkaRecord<byte[], byte[]>> records) {
        Sorted sorted = new Sorted(new ArrayList<>(records.size()), new ArrayList<>(records.size()), new ArrayList<>(),
                new ArrayList<>(), new ArrayList<>());
        Set<UUID> seen = new HashSet<>();
        for (KafkaRecord<byte[], byte[]> record : records) {
            DecodeResult result = codec.decode(record.getPayload());
            if (result instanceof DecodeResult.Valid valid) {
                if (seen.add(valid.event().eventId())) {
                    sorted.pending.add(new PendingEvent(valid.event(), record.getPartition(), offsetOf(record)));
                    sorted.pendingRecords.add(record);
                } else {
                    sorted.repeats.add(record);
                }
            } else {
                DecodeResult.Rejected rejected = (DecodeResult.Rejected) result;
                sorted.poison.add(record);
                sorted.poisonReasons.add(new PoisonRecordException(rejected.reason().code(), rejected.detail()));
            }
        }
        return sorted;
    }

    /**
     * Writes the batch; if the batch as a whole is refused for a reason some record caused (a data
     * exception), writes its records one by one so only the guilty ones are dead-lettered.
     */
    private Uni<List<Object>> writeIsolatingPoison(List<PendingEvent> pending) {
        return sink.write(pending).<List<Object>>map(List::copyOf)
                .onFailure(FailureClassifier::isTransient).invoke(() -> metrics.processed(Result.FAIL, pending.size()))
                .onFailure(FailureClassifier::isPermanent).recoverWithUni(failure -> {
                    LOG.warnf("batch of %d refused by the database (%s); writing its records one by one",
                            pending.size(), FailureClassifier.sqlState(failure));
                    return writeOneByOne(pending);
                });
    }

    private Uni<List<Object>> writeOneByOne(List<PendingEvent> pending) {
        List<Object> outcomes = new ArrayList<>(pending.size());
        Uni<Void> chain = Uni.createFrom().voidItem();
        for (PendingEvent event : pending) {
            chain = chain.chain(() -> sink.write(List.of(event))
                    .map(single -> (Object) single.get(0))
                    .onFailure(FailureClassifier::isPermanent).recoverWithItem(failure -> new PoisonRecordException(
                            FailureClassifier.classify(failure).reasonCode(), "SQLSTATE "
                                    + FailureClassifier.sqlState(failure) + ": " + failure.getMessage(), failure, 2))
                    .invoke(outcomes::add)
                    .replaceWithVoid());
        }
        return chain.replaceWith(outcomes);
    }

    /**
     * Nacks poison into the DLQ, then acknowledges the batch, so that the throttled strategy
     * commits past a poison record only once its DLQ copy is acknowledged by the broker.
     *
     * <p>In batch mode the connector tracks, per partition, only the batch's last record ("received"
     * offsets); acknowledging every record of a batch one by one would leave the other offsets in
     * the strategy's processed set forever (a Long per record: a memory leak that ended in back-to-back
     * full GCs). So valid records are not acked one by one: the batch's last record of each partition
     * is, once every dead letter of the batch is sent. A nacked record is acked by the connector's DLQ
     * strategy after its send; one that is not its partition's last stays in that set until the
     * partition is revoked (a few dozen bytes per dead letter; the connector offers no way around it).
     *
     * <p>Completes at once: waiting for the DLQ sends would add a broker round trip to every batch
     * holding poison, and commits wait for them anyway. That pending work counts as in flight, so a
     * graceful stop waits for it.
     */
    private Uni<Void> settle(KafkaRecordBatch<byte[], byte[]> batch, Sorted sorted, List<Object> outcomes) {
        List<Condemned> condemned = new ArrayList<>();
        for (int i = 0; i < sorted.pendingRecords.size(); i++) {
            PendingEvent event = sorted.pending.get(i);
            Object outcome = outcomes.get(i);
            PoisonRecordException poison = outcome == WriteOutcome.REVIEW_ID_CONFLICT
                    ? new PoisonRecordException(FailureClassifier.REVIEW_ID_CONFLICT, "review_id '"
                            + event.event().payload().reviewId() + "' already belongs to another event")
                    : outcome instanceof PoisonRecordException isPoison ? isPoison : null;
            if (poison != null) {
                condemned.add(new Condemned(sorted.pendingRecords.get(i), poison, event.event().eventId()));
            } else {
                metrics.processed(outcome == WriteOutcome.LANDED ? Result.SUCCESS : Result.DUPLICATE, 1);
            }
        }
        metrics.processed(Result.DUPLICATE, sorted.repeats.size());
        for (int i = 0; i < sorted.poison.size(); i++) {
            condemned.add(new Condemned(sorted.poison.get(i), sorted.poisonReasons.get(i), null));
        }
        if (condemned.isEmpty()) {
            return Uni.createFrom().completionStage(ackAll(batch.getLatestOffsetRecords().values()));
        }
        // One failure time for the batch's dead letters: they were judged together, and formatting
        // an Instant per dead letter was a measurable share of what poison costs.
        byte[] failedAt = DeadLetterHeaders.bytes(Instant.now());
        Set<String> nacked = new HashSet<>();
        List<CompletableFuture<Void>> deadLettered = new ArrayList<>(condemned.size());
        for (Condemned letter : condemned) {
            deadLettered.add(deadLetter(letter.record(), letter.reason(), letter.eventId(), failedAt)
                    .toCompletableFuture());
            nacked.add(position(letter.record()));
        }
        List<KafkaRecord<byte[], byte[]>> lastOfEachPartition = batch.getLatestOffsetRecords().values().stream()
                .filter(record -> !nacked.contains(position(record))).toList();
        inBackground(CompletableFuture.allOf(deadLettered.toArray(CompletableFuture[]::new))
                .thenCompose(sent -> ackAll(lastOfEachPartition))
                .whenComplete((done, failure) -> {
                    if (failure != null) {
                        // Not acknowledged: the batch stays uncommitted and is redelivered after a
                        // restart or rebalance, where the ledger makes its landed events duplicates.
                        LOG.errorf(failure, "dead-lettering failed; batch of %d records left uncommitted",
                                sorted.pendingRecords.size() + sorted.repeats.size() + sorted.poison.size());
                    }
                }));
        return Uni.createFrom().voidItem();
    }

    /** A record to dead-letter, why, and its event id when it decoded. */
    private record Condemned(KafkaRecord<byte[], byte[]> record, PoisonRecordException reason, UUID eventId) {
    }

    private static String position(KafkaRecord<?, ?> record) {
        return record.getTopic() + "-" + record.getPartition() + ":" + offsetOf(record);
    }

    private static CompletableFuture<Void> ackAll(Collection<KafkaRecord<byte[], byte[]>> records) {
        return CompletableFuture.allOf(records.stream().map(record -> record.ack().toCompletableFuture())
                .toArray(CompletableFuture[]::new));
    }

    private void inBackground(CompletionStage<Void> deadLettering) {
        inflightRecords.incrementAndGet();
        deadLettering.whenComplete((done, failure) -> inflightRecords.decrementAndGet());
    }

    /** Records of an incoming batch are always {@link IncomingKafkaRecord}s; only they know their offset. */
    static long offsetOf(KafkaRecord<?, ?> record) {
        return ((IncomingKafkaRecord<?, ?>) record).getOffset();
    }

    /**
     * Nacks a poison record into the DLQ (the connector's dead-letter-queue strategy sends it with
     * its original key, bytes and headers) with headers saying why, and tells the (throttled) log.
     */
    private CompletionStage<Void> deadLetter(KafkaRecord<byte[], byte[]> record, PoisonRecordException reason,
            UUID eventId, byte[] failedAt) {
        long offset = offsetOf(record);
        deadLetterLog.deadLettered(record, offset, reason, eventId);
        metrics.processed(Result.DLQ, 1);
        metrics.deadLettered(reason.reasonCode());
        RecordHeaders why = new RecordHeaders();
        why.add(DeadLetterHeaders.REASON, DeadLetterHeaders.bytes(reason.reasonCode()));
        why.add(DeadLetterHeaders.ERROR_MESSAGE, DeadLetterHeaders.bytes(reason.getMessage()));
        why.add(DeadLetterHeaders.EXCEPTION_CLASS, DeadLetterHeaders.bytes(reason.failureClassName()));
        why.add(DeadLetterHeaders.ATTEMPTS, DeadLetterHeaders.bytes(reason.attempts()));
        why.add(DeadLetterHeaders.FAILED_AT, failedAt);
        why.add(DeadLetterHeaders.SOURCE_TOPIC, DeadLetterHeaders.bytes(record.getTopic()));
        why.add(DeadLetterHeaders.SOURCE_PARTITION, DeadLetterHeaders.bytes(record.getPartition()));
        why.add(DeadLetterHeaders.SOURCE_OFFSET, DeadLetterHeaders.bytes(offset));
        Metadata metadata = Metadata.of(OutgoingKafkaRecordMetadata.builder().withHeaders(why).build());
        return record.nack(reason, metadata);
    }
}
