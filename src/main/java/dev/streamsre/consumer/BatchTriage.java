package dev.streamsre.consumer;

import dev.streamsre.event.DecodeResult;
import dev.streamsre.event.EventCodec;
import dev.streamsre.event.EventLimits;
import dev.streamsre.event.RejectReason;
import dev.streamsre.sink.PendingEvent;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * The first step of a batch, and a pure one: decides from the bytes alone what each record is
 * before anything touches the database. A record is an event to write, a repeat of an event
 * earlier in the same batch (a duplicate: writing it twice in one statement would be ambiguous),
 * or poison with a typed reason.
 */
final class BatchTriage {

    /**
     * A record as the triage sees it: where it came from and its value.
     *
     * @param droppedValueBytes the size of a value too large to hold (then {@code value} is empty), else -1
     */
    record RawRecord(int partition, long offset, byte[] value, long droppedValueBytes) {

        RawRecord(int partition, long offset, byte[] value) {
            this(partition, offset, value, -1);
        }
    }

    /** What one record of the batch is. */
    sealed interface Verdict {
    }

    /** A valid event, new to this batch: to be written. */
    record Write(PendingEvent event) implements Verdict {
    }

    /** The same event id as an earlier record of this batch: a duplicate, nothing to write. */
    record Repeat(UUID eventId) implements Verdict {
    }

    /** Not a valid event: dead-letter it with this reason. */
    record Reject(DecodeResult.Rejected rejection) implements Verdict {
    }

    private final EventCodec codec;

    BatchTriage(EventCodec codec) {
        this.codec = codec;
    }

    /** The triage with the record limits the consumer is configured with. */
    static BatchTriage of(ConsumerConfig config) {
        return new BatchTriage(new EventCodec(new EventLimits(config.maxEventBytes(), config.maxKeyLength(),
                config.maxReviewIdLength(), config.maxTextLength())));
    }

    /** One verdict per record, in the records' order. */
    List<Verdict> triage(List<RawRecord> records) {
        List<Verdict> verdicts = new ArrayList<>(records.size());
        // Sized for the batch up front: growing it record by record was most of the triage's allocation.
        Set<UUID> seen = new HashSet<>(records.size() * 2);
        for (RawRecord record : records) {
            if (record.droppedValueBytes() >= 0) {
                verdicts.add(new Reject(new DecodeResult.Rejected(RejectReason.OVERSIZE, "record value is "
                        + record.droppedValueBytes() + " bytes once decompressed, more than the consumer holds"
                        + " (streamsre.consumer.max-held-value-bytes): dead-lettered without its bytes, which stay"
                        + " at its partition and offset until the topic's retention")));
                continue;
            }
            DecodeResult result = codec.decode(record.value());
            if (result instanceof DecodeResult.Valid valid) {
                UUID eventId = valid.event().eventId();
                verdicts.add(seen.add(eventId)
                        ? new Write(new PendingEvent(valid.event(), record.partition(), record.offset()))
                        : new Repeat(eventId));
            } else {
                verdicts.add(new Reject((DecodeResult.Rejected) result));
            }
        }
        return verdicts;
    }

    /** The events to write, in offset order. */
    static List<PendingEvent> toWrite(List<Verdict> verdicts) {
        List<PendingEvent> events = new ArrayList<>(verdicts.size());
        for (Verdict verdict : verdicts) {
            if (verdict instanceof Write write) {
                events.add(write.event());
            }
        }
        return events;
    }
}
