package dev.streamsre.deadletter;

import dev.streamsre.event.EventCodec;
import dev.streamsre.failure.ShutdownSignal;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.kafka.IncomingKafkaRecord;
import io.smallrye.reactive.messaging.kafka.KafkaRecord;
import io.smallrye.reactive.messaging.kafka.KafkaRecordBatch;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;

/**
 * Consumer mode's second channel: reads the DLQ topic back and records every entry in
 * {@code dlq_events}, so dead letters can be counted, filtered and replayed with SQL.
 *
 * <p>It reads the topic rather than writing the row next to the nack because the topic is the
 * source of truth: what lands in {@code dlq_events} is exactly what the DLQ holds (including
 * records dead-lettered by other tools), and a DLQ write and a database write can never disagree.
 * Offsets are committed after the row is written; a redelivered DLQ record is one row.
 */
@ApplicationScoped
public class DeadLetterRecorder {

    public static final String CHANNEL = "dlq-in";

    private static final Logger LOG = Logger.getLogger(DeadLetterRecorder.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final DeadLetterStore store;

    DeadLetterRecorder(DeadLetterStore store) {
        this.store = store;
    }

    @Incoming(CHANNEL)
    public Uni<Void> record(KafkaRecordBatch<byte[], byte[]> batch) {
        if (ShutdownSignal.isStopping()) {
            return Uni.createFrom().voidItem();
        }
        List<KafkaRecord<byte[], byte[]>> records = batch.getRecords();
        List<DeadLetter> letters = records.stream().map(DeadLetterRecorder::parse).toList();
        return store.record(letters)
                .chain(() -> Uni.createFrom().completionStage(batch.ack()))
                .onFailure().recoverWithItem(failure -> {
                    // Transient failures are retried until shutdown; a permanent one would repeat
                    // forever, so it is logged loudly and the entries stay only in the DLQ topic.
                    DeadLetter first = letters.get(0);
                    LOG.errorf(failure, "cannot record %d DLQ entries in dlq_events: dlq_partition=%d first_dlq_offset=%d",
                            letters.size(), first.dlqPartition(), first.dlqOffset());
                    if (!ShutdownSignal.isStopping()) {
                        batch.ack();
                    }
                    return null;
                });
    }

    /** Reads a DLQ record: our headers first, the connector's as a fallback, the record itself last. */
    static DeadLetter parse(KafkaRecord<byte[], byte[]> record) {
        Headers headers = record.getHeaders();
        long dlqOffset = ((IncomingKafkaRecord<?, ?>) record).getOffset();
        String sourceTopic = first(headers, DeadLetterHeaders.SOURCE_TOPIC, "dead-letter-topic");
        String sourcePartition = first(headers, DeadLetterHeaders.SOURCE_PARTITION, "dead-letter-partition");
        String sourceOffset = first(headers, DeadLetterHeaders.SOURCE_OFFSET, "dead-letter-offset");
        boolean knownSource = sourceTopic != null && sourcePartition != null && sourceOffset != null;
        String reason = first(headers, DeadLetterHeaders.REASON, null);
        String message = first(headers, DeadLetterHeaders.ERROR_MESSAGE, "dead-letter-reason");
        String exceptionClass = first(headers, DeadLetterHeaders.EXCEPTION_CLASS, "dead-letter-exception-class-name");
        String attempts = first(headers, DeadLetterHeaders.ATTEMPTS, null);
        String failedAt = first(headers, DeadLetterHeaders.FAILED_AT, null);
        String replayOf = first(headers, DeadLetterHeaders.REPLAY_OF, null);
        String replayCount = first(headers, DeadLetterHeaders.REPLAY_COUNT, null);
        List<DeadLetter.StoredHeader> original = new ArrayList<>();
        for (Header header : headers) {
            if (!DeadLetterHeaders.isPipelineHeader(header.key())) {
                original.add(new DeadLetter.StoredHeader(header.key(), header.value()));
            }
        }
        return new DeadLetter(
                knownSource ? sourceTopic : record.getTopic(),
                knownSource ? Integer.parseInt(sourcePartition) : record.getPartition(),
                knownSource ? Long.parseLong(sourceOffset) : dlqOffset,
                record.getPartition(), dlqOffset,
                eventIdOf(record.getPayload()), record.getKey(), record.getPayload(), original,
                reason != null ? reason : "unknown", message, exceptionClass,
                attempts != null ? Integer.parseInt(attempts) : 1,
                failedAt != null ? EventCodec.parseInstant(failedAt) : record.getTimestamp(),
                replayOf != null ? Long.valueOf(replayOf) : null,
                replayCount != null ? Integer.parseInt(replayCount) : 0);
    }

    private static String first(Headers headers, String ours, String connectors) {
        String value = DeadLetterHeaders.text(headers, ours);
        if (value == null && connectors != null) {
            value = DeadLetterHeaders.text(headers, connectors);
        }
        return value;
    }

    /** The event id, if the payload is JSON with a valid one: makes "which event?" answerable in SQL. */
    private static UUID eventIdOf(byte[] payload) {
        if (payload == null || payload.length == 0 || payload.length > 1_048_576) {
            return null;
        }
        try {
            JsonNode id = JSON.readTree(payload).get("event_id");
            return id != null && id.isTextual() ? UUID.fromString(id.asText()) : null;
        } catch (IOException | IllegalArgumentException e) {
            return null;
        }
    }
}
