package dev.streamsre.deadletter;

import dev.streamsre.consumer.ConsumerConfig;
import dev.streamsre.observability.PipelineMetrics;
import dev.streamsre.observability.PipelineMetrics.Result;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.kafka.IncomingKafkaRecord;
import io.smallrye.reactive.messaging.kafka.KafkaRecord;
import io.smallrye.reactive.messaging.kafka.KafkaRecordBatch;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Ends a batch: sends its dead letters, and only once every one of them is safe acknowledges the
 * batch's last record of each partition, so that the throttled commit strategy can never commit
 * past a dead letter that is not yet in the DLQ topic (or, if it can never be, in {@code dlq_events}).
 *
 * <p>Records are acknowledged, never nacked: in batch mode the connector tracks only each
 * partition's last record of a batch, and acknowledging every record one by one would leave the
 * other offsets in the strategy's processed set forever (a Long per record).
 *
 * <p>A batch with dead letters completes at once while its sends run: waiting for them would add a
 * broker round trip to every batch that holds poison, and the commit waits for them anyway. While
 * too many dead letters are unsafe (the DLQ topic is failing), batches wait for theirs instead, so
 * memory stays bounded and the connector pauses its partitions.
 */
@ApplicationScoped
public class DeadLetterOffice {

    private static final Logger LOG = Logger.getLogger(DeadLetterOffice.class);

    /** Past this many unsafe dead letters a batch waits for its own before the next one comes. */
    static final int MAX_PENDING = 1_000;

    private final DeadLetterSender sender;
    private final DeadLetterStore store;
    private final PipelineMetrics metrics;
    private final DeadLetterLog log;
    private final String dlqTopic;
    /** Batches whose dead letters are still being sent: a graceful stop waits for them. */
    private final AtomicInteger unsettledBatches = new AtomicInteger();

    DeadLetterOffice(DeadLetterSender sender, DeadLetterStore store, PipelineMetrics metrics, ConsumerConfig config,
            @ConfigProperty(name = "streamsre.dlq-topic") String dlqTopic) {
        this.sender = sender;
        this.store = store;
        this.metrics = metrics;
        this.log = new DeadLetterLog(config.deadLetterLogInterval());
        this.dlqTopic = dlqTopic;
    }

    /** Batches whose dead letters are not all safe yet. */
    public int unsettledBatches() {
        return unsettledBatches.get();
    }

    /**
     * Marks the entries whose replayed records landed as resolved, dead-letters the condemned
     * records of the batch, then acknowledges the batch. The Uni completes at once, or, while the
     * DLQ is backed up, when this batch is settled.
     *
     * @param replaysLanded records of the batch that carry a replay header and landed (or were
     *                      already there): their DLQ entries are done
     */
    public Uni<Void> settle(KafkaRecordBatch<byte[], byte[]> batch, List<Condemned> condemned,
            List<DeadLetterStore.Landed> replaysLanded) {
        if (!replaysLanded.isEmpty()) {
            // Bookkeeping, not a guarantee: a failure here must not hold the batch (a redelivered
            // copy is a duplicate, and resolves the entry then).
            return store.resolve(replaysLanded)
                    .onFailure().recoverWithItem(failure -> {
                        LOG.warnf("cannot mark %d replayed DLQ entries resolved: %s", replaysLanded.size(),
                                failure.toString());
                        return null;
                    })
                    .chain(() -> settle(batch, condemned, List.of()));
        }
        Collection<KafkaRecord<byte[], byte[]>> lastOfEachPartition = batch.getLatestOffsetRecords().values();
        if (condemned.isEmpty()) {
            return acknowledge(lastOfEachPartition);
        }
        // One failure time for the batch's dead letters: they were judged together.
        Instant failedAt = Instant.now();
        byte[] failedAtHeader = DeadLetterHeaders.bytes(failedAt);
        List<DeadLetterSender.Letter> letters = new ArrayList<>(condemned.size());
        for (Condemned letter : condemned) {
            log.deadLettered(letter.record(), letter.record().getOffset(), letter.reason(), letter.eventId());
            metrics.processed(Result.DLQ, 1);
            metrics.deadLettered(letter.reason().reasonCode());
            IncomingKafkaRecord<byte[], byte[]> record = letter.record();
            letters.add(new DeadLetterSender.Letter(
                    new DeadLetterSender.Source(record.getTopic(), record.getPartition(), record.getOffset()),
                    copy(letter, failedAtHeader), () -> entry(letter, failedAt)));
        }
        unsettledBatches.incrementAndGet();
        Uni<Void> settled = sender.sendAll(letters)
                .chain(() -> acknowledge(lastOfEachPartition))
                .onFailure().invoke(failure -> LOG.infof("batch of %d records left unacknowledged for redelivery"
                        + " (shutdown stopped its dead-letter sends: %s)", batch.getRecords().size(), failure.toString()))
                .onFailure().recoverWithNull()
                .eventually(unsettledBatches::decrementAndGet)
                .memoize().indefinitely();
        settled.subscribe().with(done -> { });
        return sender.pending() > MAX_PENDING ? settled : Uni.createFrom().voidItem();
    }

    private static Uni<Void> acknowledge(Collection<KafkaRecord<byte[], byte[]>> records) {
        List<Uni<Void>> acks = new ArrayList<>(records.size());
        for (KafkaRecord<byte[], byte[]> record : records) {
            acks.add(Uni.createFrom().completionStage(record::ack));
        }
        return acks.isEmpty() ? Uni.createFrom().voidItem() : Uni.join().all(acks).andCollectFailures().replaceWithVoid();
    }

    /** The DLQ copy: the record's key, bytes and headers, then ours (last, so they win over forged ones). */
    private ProducerRecord<byte[], byte[]> copy(Condemned letter, byte[] failedAt) {
        IncomingKafkaRecord<byte[], byte[]> record = letter.record();
        RecordHeaders headers = new RecordHeaders();
        for (Header header : record.getHeaders()) {
            headers.add(header);
        }
        headers.add(DeadLetterHeaders.REASON, DeadLetterHeaders.bytes(letter.reason().reasonCode()));
        headers.add(DeadLetterHeaders.ERROR_MESSAGE, DeadLetterHeaders.bytes(letter.reason().getMessage()));
        headers.add(DeadLetterHeaders.EXCEPTION_CLASS, DeadLetterHeaders.bytes(letter.reason().failureClassName()));
        headers.add(DeadLetterHeaders.ATTEMPTS, DeadLetterHeaders.bytes(letter.reason().attempts()));
        headers.add(DeadLetterHeaders.FAILED_AT, failedAt);
        headers.add(DeadLetterHeaders.SOURCE_TOPIC, DeadLetterHeaders.bytes(record.getTopic()));
        headers.add(DeadLetterHeaders.SOURCE_PARTITION, DeadLetterHeaders.bytes(record.getPartition()));
        headers.add(DeadLetterHeaders.SOURCE_OFFSET, DeadLetterHeaders.bytes(record.getOffset()));
        headers.add(DeadLetterHeaders.SOURCE_TIMESTAMP, DeadLetterHeaders.bytes(record.getTimestamp().toEpochMilli()));
        return new ProducerRecord<>(dlqTopic, null, record.getKey(), record.getPayload(), headers);
    }

    /** The DLQ entry a record was replayed from, if its replay headers say so, else null. */
    public static DeadLetterStore.Landed replayOf(KafkaRecord<byte[], byte[]> record) {
        Long entryId = DeadLetterHeaders.number(DeadLetterHeaders.text(record.getHeaders(), DeadLetterHeaders.REPLAY_OF));
        return entryId == null || entryId <= 0 ? null : new DeadLetterStore.Landed(entryId, record.getKey(), record.getPayload());
    }

    /** The dlq_events row for a dead letter the DLQ topic can never take (it has no DLQ position). */
    private static DeadLetter entry(Condemned letter, Instant failedAt) {
        IncomingKafkaRecord<byte[], byte[]> record = letter.record();
        List<DeadLetter.StoredHeader> headers = new ArrayList<>();
        for (Header header : record.getHeaders()) {
            if (!DeadLetterHeaders.isPipelineHeader(header.key())) {
                headers.add(new DeadLetter.StoredHeader(header.key(), header.value()));
            }
        }
        String replayOf = DeadLetterHeaders.text(record.getHeaders(), DeadLetterHeaders.REPLAY_OF);
        String replayCount = DeadLetterHeaders.text(record.getHeaders(), DeadLetterHeaders.REPLAY_COUNT);
        Long replayOfId = DeadLetterHeaders.number(replayOf);
        Integer replays = DeadLetterHeaders.intNumber(replayCount);
        boolean replayed = replayOfId != null && replayOfId > 0 && replays != null && replays > 0;
        return new DeadLetter(record.getTopic(), record.getPartition(), record.getOffset(),
                DeadLetterRecorder.storable(record.getTimestamp()), null, null, letter.eventId(),
                record.getKey(), record.getPayload(), headers, letter.reason().reasonCode(),
                letter.reason().getMessage() + " (not in the DLQ topic, which cannot take it)",
                letter.reason().failureClassName(), letter.reason().attempts(), failedAt,
                replayed ? replayOfId : null, replayed ? replays : 0);
    }
}
