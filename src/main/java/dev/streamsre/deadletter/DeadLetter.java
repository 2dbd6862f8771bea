package dev.streamsre.deadletter;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * One record read back from the DLQ topic, with what its headers say about why it is there.
 *
 * @param sourceTopic     where the failed record was read (its identity in {@code dlq_events}, with
 *                        partition, offset and the source record's timestamp)
 * @param dlqPartition    where the DLQ copy sits, or null when there is none (a dead letter too
 *                        large for the DLQ topic is stored straight into {@code dlq_events})
 * @param eventId         the event id, when the record decoded far enough to have one
 * @param originalHeaders the record's own headers, without the pipeline's diagnostic ones
 * @param replayOf        the {@code dlq_events.id} this record was replayed from, or null
 * @param replayCount     how many times it had been replayed when it failed (0: never)
 */
public record DeadLetter(String sourceTopic, int sourcePartition, long sourceOffset, Instant sourceTimestamp,
        Integer dlqPartition, Long dlqOffset,
        UUID eventId, byte[] key, byte[] payload, List<StoredHeader> originalHeaders, String reason,
        String errorMessage, String exceptionClass, int attempts, Instant failedAt, Long replayOf, int replayCount) {

    /** The same letter without its original headers, saying why in its error message. */
    public DeadLetter withoutHeaders(String why) {
        return new DeadLetter(sourceTopic, sourcePartition, sourceOffset, sourceTimestamp, dlqPartition, dlqOffset, eventId,
                key, payload, List.of(), reason, (errorMessage == null ? "" : errorMessage + " ") + "(" + why + ")",
                exceptionClass, attempts, failedAt, replayOf, replayCount);
    }

    /** The same letter with another error message. */
    public DeadLetter withErrorMessage(String message) {
        return new DeadLetter(sourceTopic, sourcePartition, sourceOffset, sourceTimestamp, dlqPartition, dlqOffset, eventId,
                key, payload, originalHeaders, reason, message, exceptionClass, attempts, failedAt, replayOf, replayCount);
    }

    /** A Kafka header as stored: Kafka allows repeated keys and binary (or null) values. */
    public record StoredHeader(String key, byte[] value) {
    }
}
