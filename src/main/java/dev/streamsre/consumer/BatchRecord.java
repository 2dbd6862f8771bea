package dev.streamsre.consumer;

import dev.streamsre.event.Event;
import dev.streamsre.kafka.BoundedValueDeserializer;
import io.smallrye.reactive.messaging.kafka.IncomingKafkaRecord;
import io.smallrye.reactive.messaging.kafka.KafkaRecord;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import org.apache.kafka.common.header.Header;

/**
 * One record of a batch on its way through the consumer, and what became of it. Every stage reads
 * and settles the same objects, in offset order: {@link BatchTriage} decodes it, {@link IsolatingWriter}
 * writes it, {@link DeadLetterOffice} dead-letters it and acknowledges the batch. So a record's
 * fate is never lined up by index across parallel lists.
 *
 * <p>Mutable on purpose, and safe: a batch passes through its stages one after the other (each
 * stage's Uni completes before the next begins), never two at once.
 */
public final class BatchRecord {

    /** Where a record stands. */
    public enum Fate {
        /** A valid event not yet written. */
        TO_WRITE,
        /** Its review and ledger row were committed. */
        LANDED,
        /** Seen before (earlier in the batch, or in the ledger or reviews): nothing written. */
        DUPLICATE,
        /** Poison: it goes to the DLQ with {@link #poison()}. */
        DEAD_LETTER
    }

    private final IncomingKafkaRecord<byte[], byte[]> kafkaRecord;
    private final int partition;
    private final long offset;
    private final byte[] value;
    private final long droppedValueBytes;
    private Event event;
    private Fate fate = Fate.TO_WRITE;
    private Poison poison;

    /**
     * @param kafkaRecord       the record as read; null for a synthetic one (warm-up, probe, tests)
     * @param droppedValueBytes the size of a value too large to hold ({@link BoundedValueDeserializer}
     *                          did not copy it, and {@code value} is empty), else -1
     */
    BatchRecord(IncomingKafkaRecord<byte[], byte[]> kafkaRecord, int partition, long offset, byte[] value,
            long droppedValueBytes) {
        this.kafkaRecord = kafkaRecord;
        this.partition = partition;
        this.offset = offset;
        this.value = value;
        this.droppedValueBytes = droppedValueBytes;
    }

    /** A record of an incoming batch (always an {@link IncomingKafkaRecord}: only it knows its offset). */
    static BatchRecord of(KafkaRecord<byte[], byte[]> delivered) {
        IncomingKafkaRecord<byte[], byte[]> record = (IncomingKafkaRecord<byte[], byte[]>) delivered;
        return new BatchRecord(record, record.getPartition(), record.getOffset(), record.getPayload(),
                droppedValueBytes(record));
    }

    /** A decoded event with no Kafka record behind it: the warm-up's and the probe's writes. */
    static BatchRecord synthetic(Event event, int partition, long offset) {
        BatchRecord record = new BatchRecord(null, partition, offset, null, -1);
        record.event = event;
        return record;
    }

    private static long droppedValueBytes(IncomingKafkaRecord<byte[], byte[]> record) {
        Header dropped = record.getHeaders().lastHeader(BoundedValueDeserializer.DROPPED_VALUE_BYTES);
        if (dropped == null) {
            return -1;
        }
        try {
            return Long.parseLong(new String(dropped.value(), StandardCharsets.US_ASCII));
        } catch (NumberFormatException e) {
            return Long.MAX_VALUE;
        }
    }

    /** The record as the connector delivered it (null for a synthetic one). */
    IncomingKafkaRecord<byte[], byte[]> kafkaRecord() {
        return kafkaRecord;
    }

    int partition() {
        return partition;
    }

    long offset() {
        return offset;
    }

    /** The record's value as delivered (empty when it was too large to hold; may be null). */
    byte[] value() {
        return value;
    }

    long droppedValueBytes() {
        return droppedValueBytes;
    }

    /** The decoded event; null for a record that did not decode. */
    Event event() {
        return event;
    }

    Fate fate() {
        return fate;
    }

    /** Why the record is dead-lettered; null unless {@link #fate()} is {@link Fate#DEAD_LETTER}. */
    Poison poison() {
        return poison;
    }

    boolean toWrite() {
        return fate == Fate.TO_WRITE;
    }

    void decoded(Event decoded) {
        this.event = Objects.requireNonNull(decoded);
    }

    void landed() {
        fate = Fate.LANDED;
    }

    void duplicate() {
        fate = Fate.DUPLICATE;
    }

    void deadLetter(Poison why) {
        fate = Fate.DEAD_LETTER;
        poison = Objects.requireNonNull(why);
    }
}
