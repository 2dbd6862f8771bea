package dev.streamsre.deadletter;

import dev.streamsre.failure.PoisonRecordException;
import io.smallrye.reactive.messaging.kafka.IncomingKafkaRecord;
import java.util.UUID;

/**
 * A record of the main topic judged poison, and why: what {@link DeadLetterOffice} turns into a
 * DLQ entry.
 *
 * @param eventId the record's event id when it decoded far enough to have one, else null
 */
public record Condemned(IncomingKafkaRecord<byte[], byte[]> record, PoisonRecordException reason, UUID eventId) {
}
