package dev.streamsre.consumer;

import dev.streamsre.config.ConsumerSettings;
import dev.streamsre.event.DecodeResult;
import dev.streamsre.event.EventCodec;
import dev.streamsre.event.EventLimits;
import dev.streamsre.event.RejectReason;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * The first stage of a batch, and a pure one: decides from the bytes alone what each record is
 * before anything touches the database. A record is an event to write, a repeat of an event
 * earlier in the same batch (a duplicate: writing it twice in one statement would be ambiguous),
 * or poison with a typed reason.
 */
final class BatchTriage {

    private final EventCodec codec;

    BatchTriage(EventCodec codec) {
        this.codec = codec;
    }

    /** The triage with the record limits the consumer is configured with. */
    static BatchTriage of(ConsumerSettings config) {
        return new BatchTriage(new EventCodec(new EventLimits(config.maxEventBytes(), config.maxKeyLength(),
                config.maxReviewIdLength(), config.maxTextLength())));
    }

    /** Decodes every record of the batch, in offset order: each is then to write, a duplicate, or dead-lettered. */
    void triage(List<BatchRecord> records) {
        // Sized for the batch up front: growing it record by record was most of the triage's allocation.
        Set<UUID> seen = new HashSet<>(records.size() * 2);
        for (BatchRecord record : records) {
            if (record.droppedValueBytes() >= 0) {
                record.deadLetter(Poison.rejected(RejectReason.OVERSIZE, "record value is "
                        + record.droppedValueBytes() + " bytes once decompressed, more than the consumer holds"
                        + " (streamsre.consumer.max-held-value-bytes): dead-lettered without its bytes, which stay"
                        + " at its partition and offset until the topic's retention"));
                continue;
            }
            DecodeResult result = codec.decode(record.value());
            if (result instanceof DecodeResult.Valid valid) {
                record.decoded(valid.event());
                if (!seen.add(valid.event().eventId())) {
                    record.duplicate();
                }
            } else {
                DecodeResult.Rejected rejected = (DecodeResult.Rejected) result;
                record.deadLetter(Poison.rejected(rejected.reason(), rejected.detail()));
            }
        }
    }
}
