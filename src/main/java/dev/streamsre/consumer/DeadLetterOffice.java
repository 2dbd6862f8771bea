package dev.streamsre.consumer;

import dev.streamsre.config.StreamSreConfig;
import dev.streamsre.deadletter.DeadLetter;
import dev.streamsre.deadletter.DeadLetterHeaders;
import dev.streamsre.deadletter.DeadLetterRecorder;
import dev.streamsre.deadletter.DeadLetterStore;
import dev.streamsre.observability.PipelineMetrics;
import dev.streamsre.observability.PipelineMetrics.Result;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.kafka.IncomingKafkaRecord;
import io.smallrye.reactive.messaging.kafka.KafkaRecord;
import io.smallrye.reactive.messaging.kafka.KafkaRecordBatch;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
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

    @Inject
    DeadLetterOffice(DeadLetterSender sender, DeadLetterStore store, PipelineMetrics metrics, StreamSreConfig settings) {
        this(sender, store, metrics, settings.consumer().deadLetterLogInterval(), settings.dlqTopic());
    }

    DeadLetterOffice(DeadLetterSender sender, DeadLetterStore store, PipelineMetrics metrics,
            Duration deadLetterLogInterval, String dlqTopic) {
        this.sender = sender;
        this.store = store;
        this.metrics = metrics;
        this.log = new DeadLetterLog(deadLetterLogInterval);
        this.dlqTopic = dlqTopic;
    }

    /** Batches whose dead letters are not all safe yet. */
    public int unsettledBatches() {
        return unsettledBatches.get();
    }

    /**
     * The last stage of a batch: marks the DLQ entries whose replayed records landed (or were
     * already there) as resolved, dead-letters the batch's poison, then acknowledges the batch. The
     * Uni completes at once, or, while the DLQ is backed up, when this batch is settled.
     */
    public Uni<Void> settle(KafkaRecordBatch<byte[], byte[]> batch, List<BatchRecord> records) {
        List<DeadLetterStore.Landed> replaysLanded = new ArrayList<>();
        List<BatchRecord> poison = new ArrayList<>();
        for (BatchRecord record : records) {
            if (record.fate() == BatchRecord.Fate.DEAD_LETTER) {
                poison.add(record);
            } else {
                DeadLetterStore.Landed replay = replayOf(record.kafkaRecord());
                if (replay != null) {
                    replaysLanded.add(replay);
                }
            }
        }
        if (replaysLanded.isEmpty()) {
            return deadLetterThenAcknowledge(batch, poison);
        }
        // Bookkeeping, not a guarantee: a failure here must not hold the batch (a redelivered copy
        // is a duplicate, and resolves the entry then).
        return store.resolve(replaysLanded)
                .onFailure().recoverWithItem(failure -> {
                    LOG.warnf("cannot mark %d replayed DLQ entries resolved: %s", replaysLanded.size(),
                            failure.toString());
                    return null;
                })
                .chain(() -> deadLetterThenAcknowledge(batch, poison));
    }

    private Uni<Void> deadLetterThenAcknowledge(KafkaRecordBatch<byte[], byte[]> batch, List<BatchRecord> poison) {
        Collection<KafkaRecord<byte[], byte[]>> lastOfEachPartition = batch.getLatestOffsetRecords().values();
        if (poison.isEmpty()) {
            return acknowledge(lastOfEachPartition);
        }
        // One failure time for the batch's dead letters: they were judged together.
        byte[] failedAtHeader = DeadLetterHeaders.bytes(Instant.now());
        List<DeadLetterSender.Letter> letters = new ArrayList<>(poison.size());
        for (BatchRecord record : poison) {
            IncomingKafkaRecord<byte[], byte[]> kafkaRecord = record.kafkaRecord();
            log.deadLettered(kafkaRecord, record.offset(), record.poison(), eventIdOf(record));
            metrics.processed(Result.DLQ, 1);
            metrics.deadLettered(record.poison().reasonCode());
            ProducerRecord<byte[], byte[]> copy = copy(record, failedAtHeader);
            letters.add(new DeadLetterSender.Letter(
                    new DeadLetterSender.Source(kafkaRecord.getTopic(), kafkaRecord.getPartition(), kafkaRecord.getOffset()),
                    copy, () -> entry(copy)));
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

    /** The event id of a dead letter that decoded far enough to have one (a database refusal), else null. */
    private static java.util.UUID eventIdOf(BatchRecord record) {
        return record.event() == null ? null : record.event().eventId();
    }

    private static Uni<Void> acknowledge(Collection<KafkaRecord<byte[], byte[]>> records) {
        List<Uni<Void>> acks = new ArrayList<>(records.size());
        for (KafkaRecord<byte[], byte[]> record : records) {
            acks.add(Uni.createFrom().completionStage(record::ack));
        }
        return acks.isEmpty() ? Uni.createFrom().voidItem() : Uni.join().all(acks).andCollectFailures().replaceWithVoid();
    }

    /** The DLQ copy: the record's key, bytes and headers, then ours (last, so they win over forged ones). */
    private ProducerRecord<byte[], byte[]> copy(BatchRecord letter, byte[] failedAt) {
        IncomingKafkaRecord<byte[], byte[]> record = letter.kafkaRecord();
        Poison poison = letter.poison();
        RecordHeaders headers = new RecordHeaders();
        for (Header header : record.getHeaders()) {
            headers.add(header);
        }
        headers.add(DeadLetterHeaders.REASON, DeadLetterHeaders.bytes(poison.reasonCode()));
        headers.add(DeadLetterHeaders.ERROR_MESSAGE, DeadLetterHeaders.bytes(poison.message()));
        headers.add(DeadLetterHeaders.EXCEPTION_CLASS, DeadLetterHeaders.bytes(poison.failureClass()));
        headers.add(DeadLetterHeaders.ATTEMPTS, DeadLetterHeaders.bytes(poison.attempts()));
        headers.add(DeadLetterHeaders.FAILED_AT, failedAt);
        headers.add(DeadLetterHeaders.SOURCE_TOPIC, DeadLetterHeaders.bytes(record.getTopic()));
        headers.add(DeadLetterHeaders.SOURCE_PARTITION, DeadLetterHeaders.bytes(record.getPartition()));
        headers.add(DeadLetterHeaders.SOURCE_OFFSET, DeadLetterHeaders.bytes(record.getOffset()));
        headers.add(DeadLetterHeaders.SOURCE_TIMESTAMP, DeadLetterHeaders.bytes(record.getTimestamp().toEpochMilli()));
        return new ProducerRecord<>(dlqTopic, null, record.getKey(), record.getPayload(), headers);
    }

    /** Whether a record was replayed from a DLQ entry (its replay header names one). */
    static boolean isReplay(BatchRecord record) {
        return replayedEntry(record) != null;
    }

    /** The DLQ entry a record's replay header names (a claim, checked where it matters), else null. */
    static Long replayedEntry(BatchRecord record) {
        return record.kafkaRecord() == null ? null : DeadLetterHeaders.replayedEntry(record.kafkaRecord().getHeaders());
    }

    /** The DLQ entry a record was replayed from, if its replay headers say so, else null. */
    private static DeadLetterStore.Landed replayOf(KafkaRecord<byte[], byte[]> record) {
        if (record == null) {
            return null;
        }
        Long entryId = DeadLetterHeaders.replayedEntry(record.getHeaders());
        return entryId == null ? null : new DeadLetterStore.Landed(entryId, record.getKey(), record.getPayload());
    }

    /**
     * The dlq_events row for a dead letter the DLQ topic can never take: its DLQ copy read as the
     * recorder reads every other one, with no DLQ position.
     */
    private static DeadLetter entry(ProducerRecord<byte[], byte[]> copy) {
        DeadLetter letter = DeadLetterRecorder.read(copy.headers(), copy.key(), copy.value(), copy.topic(), null, null,
                null);
        return letter.withErrorMessage(letter.errorMessage() + " (not in the DLQ topic, which cannot take it)");
    }
}
