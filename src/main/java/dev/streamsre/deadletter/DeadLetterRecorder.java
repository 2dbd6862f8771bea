package dev.streamsre.deadletter;

import dev.streamsre.event.EventCodec;
import dev.streamsre.failure.FailureClassifier;
import dev.streamsre.failure.RedactedDatabaseException;
import dev.streamsre.failure.ShutdownSignal;
import dev.streamsre.observability.PipelineMetrics;
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
 *
 * <p>It takes any record: a DLQ copy carries the source record's headers, and whoever can produce
 * to the main topic can write those, so nothing here may trust a header to parse.
 */
@ApplicationScoped
public class DeadLetterRecorder {

    public static final String CHANNEL = "dlq-in";

    private static final Logger LOG = Logger.getLogger(DeadLetterRecorder.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Kafka's legal topic names. */
    private static final java.util.regex.Pattern TOPIC_NAME = java.util.regex.Pattern.compile("[a-zA-Z0-9._-]{1,249}");

    private final DeadLetterStore store;
    private final PipelineMetrics metrics;

    DeadLetterRecorder(DeadLetterStore store, PipelineMetrics metrics) {
        this.store = store;
        this.metrics = metrics;
    }

    @Incoming(CHANNEL)
    public Uni<Void> record(KafkaRecordBatch<byte[], byte[]> batch) {
        if (ShutdownSignal.isStopping()) {
            return Uni.createFrom().voidItem();
        }
        List<DeadLetter> letters = batch.getRecords().stream().map(DeadLetterRecorder::parse).toList();
        return store.record(letters).replaceWith(true)
                .onFailure(failure -> !FailureClassifier.isTransient(failure)).recoverWithUni(failure -> {
                    LOG.warnf("dlq_events refused a poll of %d DLQ entries (%s); recording them one by one",
                            letters.size(), FailureClassifier.sqlState(failure));
                    return oneByOne(letters);
                })
                .chain(allRecorded -> {
                    if (!allRecorded) {
                        // Not acknowledged: the entries stay in the DLQ topic and its commits stop
                        // here; the stream goes on, and a restart retries them.
                        return Uni.createFrom().voidItem();
                    }
                    return Uni.createFrom().completionStage(batch.ack());
                })
                .onFailure().recoverWithItem(failure -> {
                    // Transient failures are retried until shutdown; then the poll is redelivered.
                    LOG.infof("%d DLQ entries left unacknowledged for redelivery: %s", letters.size(), failure.toString());
                    return null;
                });
    }

    /**
     * Records each letter alone, so one that the database refuses cannot keep the others out. A
     * letter refused with its headers (jsonb has rules headers can break) is recorded without them;
     * one refused even so is logged at ERROR and counted, and the poll is not acknowledged.
     */
    private Uni<Boolean> oneByOne(List<DeadLetter> letters) {
        Uni<Boolean> chain = Uni.createFrom().item(true);
        for (DeadLetter letter : letters) {
            chain = chain.chain(allSoFar -> store.record(List.of(letter)).replaceWith(true)
                    .onFailure(failure -> !FailureClassifier.isTransient(failure)).recoverWithUni(failure -> store
                            .record(List.of(letter.withoutHeaders("headers not recordable: SQLSTATE "
                                    + FailureClassifier.sqlState(failure)))).replaceWith(true))
                    .onFailure(failure -> !FailureClassifier.isTransient(failure)).recoverWithItem(failure -> {
                        metrics.deadLetterUnrecordable();
                        LOG.errorf(RedactedDatabaseException.of(failure), "cannot record DLQ entry dlq_partition=%d"
                                + " dlq_offset=%d in dlq_events; it stays in the DLQ topic, unacknowledged",
                                letter.dlqPartition(), letter.dlqOffset());
                        return false;
                    })
                    .map(recorded -> allSoFar && recorded));
        }
        return chain;
    }

    /** Reads a record of the DLQ topic into its {@code dlq_events} row ({@link #read}). */
    static DeadLetter parse(KafkaRecord<byte[], byte[]> record) {
        return read(record.getHeaders(), record.getKey(), record.getPayload(), record.getTopic(), record.getPartition(),
                ((IncomingKafkaRecord<?, ?>) record).getOffset(), record.getTimestamp());
    }

    /**
     * The one place that turns a DLQ copy's headers into a dead letter: a record read from the DLQ
     * topic, or a copy the topic could never take (then {@code dlqPartition} and {@code dlqOffset}
     * are null, and the consumer stores it straight into {@code dlq_events}). Our headers first, the
     * connector's as a fallback, the record itself last. Never throws: headers are whatever a
     * producer wrote (the source record's own headers travel into its DLQ copy), so a header that
     * does not parse is treated as absent, and the record is identified by its own DLQ position
     * instead of a claimed source.
     */
    public static DeadLetter read(Headers headers, byte[] key, byte[] payload, String dlqTopic, Integer dlqPartition,
            Long dlqOffset, Instant timestamp) {
        String sourceTopic = first(headers, DeadLetterHeaders.SOURCE_TOPIC, "dead-letter-topic");
        Integer sourcePartition = DeadLetterHeaders.intNumber(first(headers, DeadLetterHeaders.SOURCE_PARTITION, "dead-letter-partition"));
        Long sourceOffset = DeadLetterHeaders.number(first(headers, DeadLetterHeaders.SOURCE_OFFSET, "dead-letter-offset"));
        // A claimed source counts only if it names a topic Kafka could have (a NUL or any other
        // character outside Kafka's topic alphabet is a forgery PostgreSQL would refuse to store).
        // A copy with no DLQ position is always the consumer's own, whose source headers are real.
        boolean knownSource = sourceTopic != null && TOPIC_NAME.matcher(sourceTopic).matches() && sourcePartition != null
                && sourcePartition >= 0 && sourceOffset != null && sourceOffset >= 0 || dlqOffset == null;
        Long sourceMillis = knownSource ? DeadLetterHeaders.number(first(headers, DeadLetterHeaders.SOURCE_TIMESTAMP, null)) : null;
        String reason = first(headers, DeadLetterHeaders.REASON, null);
        String message = first(headers, DeadLetterHeaders.ERROR_MESSAGE, "dead-letter-reason");
        String exceptionClass = first(headers, DeadLetterHeaders.EXCEPTION_CLASS, "dead-letter-exception-class-name");
        Integer attempts = DeadLetterHeaders.intNumber(first(headers, DeadLetterHeaders.ATTEMPTS, null));
        Instant failedAt = instant(first(headers, DeadLetterHeaders.FAILED_AT, null));
        Long replayOf = DeadLetterHeaders.number(first(headers, DeadLetterHeaders.REPLAY_OF, null));
        Integer replayCount = DeadLetterHeaders.intNumber(first(headers, DeadLetterHeaders.REPLAY_COUNT, null));
        List<DeadLetter.StoredHeader> original = new ArrayList<>();
        for (Header header : headers) {
            if (!DeadLetterHeaders.isPipelineHeader(header.key())) {
                original.add(new DeadLetter.StoredHeader(header.key(), header.value()));
            }
        }
        boolean replayed = replayOf != null && replayOf > 0 && replayCount != null && replayCount > 0;
        return new DeadLetter(
                knownSource ? sourceTopic : dlqTopic,
                knownSource ? sourcePartition : dlqPartition,
                knownSource ? sourceOffset : dlqOffset,
                storable(knownSource ? (sourceMillis != null ? Instant.ofEpochMilli(sourceMillis) : null) : timestamp),
                dlqPartition, dlqOffset,
                eventIdOf(payload), key, payload, original,
                reason != null && !reason.isBlank() ? reason : "unknown", message, exceptionClass,
                attempts != null && attempts > 0 ? attempts : 1,
                failedAt != null ? failedAt : storableOrNow(timestamp),
                replayed ? replayOf : null,
                replayed ? replayCount : 0);
    }

    /** An instant PostgreSQL can store (years 1..9999), or null. */
    private static Instant instant(String text) {
        if (text == null || text.length() > 40) {
            return null;
        }
        try {
            Instant value = EventCodec.parseInstant(text);
            return EventCodec.isStorable(value) ? value : null;
        } catch (java.time.format.DateTimeParseException e) {
            return null;
        }
    }

    /**
     * A record's CreateTime is whatever its producer said (any long): PostgreSQL stores years up to
     * 294276 only, and a refused row would stop the recorder. Null when it cannot be stored faithfully.
     */
    static Instant storable(Instant instant) {
        return instant != null && EventCodec.isStorable(instant) ? instant : null;
    }

    private static Instant storableOrNow(Instant instant) {
        Instant value = storable(instant);
        return value != null ? value : Instant.now();
    }

    /**
     * A header's text, ours or else the connector's, with every NUL replaced: PostgreSQL's text
     * refuses NUL, and a header is whatever a producer wrote.
     */
    private static String first(Headers headers, String ours, String connectors) {
        String value = DeadLetterHeaders.text(headers, ours);
        if (value == null && connectors != null) {
            value = DeadLetterHeaders.text(headers, connectors);
        }
        return value == null || value.indexOf('\0') < 0 ? value : value.replace('\0', '\uFFFD');
    }

    /** The event id, if the payload is JSON with a valid one: makes "which event?" answerable in SQL. */
    private static UUID eventIdOf(byte[] payload) {
        if (payload == null || payload.length == 0 || payload.length > 1_048_576) {
            return null;
        }
        try {
            JsonNode id = JSON.readTree(payload).get("event_id");
            return id != null && id.isTextual() ? EventCodec.parseCanonicalUuid(id.asText()) : null;
        } catch (IOException | IllegalArgumentException e) {
            return null;
        }
    }
}
