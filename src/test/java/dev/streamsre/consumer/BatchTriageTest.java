package dev.streamsre.consumer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamsre.consumer.BatchRecord.Fate;
import dev.streamsre.event.Event;
import dev.streamsre.event.EventCodec;
import dev.streamsre.event.RejectReason;
import dev.streamsre.event.ReviewData;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class BatchTriageTest {

    private final EventCodec codec = new EventCodec();
    private final BatchTriage triage = new BatchTriage(codec);

    @Test
    void eachRecordIsSettledInOffsetOrder() {
        UUID first = UUID.randomUUID();
        UUID second = UUID.randomUUID();
        List<BatchRecord> records = List.of(
                record(0, 10, event(first)),
                record(0, 11, "{not json".getBytes(StandardCharsets.UTF_8)),
                record(1, 5, event(second)),
                record(0, 12, event(first)),
                record(1, 6, null));

        triage.triage(records);

        assertThat(records).extracting(BatchRecord::fate).containsExactly(Fate.TO_WRITE, Fate.DEAD_LETTER,
                Fate.TO_WRITE, Fate.DUPLICATE, Fate.DEAD_LETTER);
        assertThat(records.get(0).event().eventId()).isEqualTo(first);
        assertThat(records.get(1).poison().reasonCode()).isEqualTo(RejectReason.INVALID_JSON.code());
        assertThat(records.get(1).poison().attempts()).isEqualTo(1);
        assertThat(records.get(1).poison().message()).startsWith("invalid_json: ");
        assertThat(records.get(3).event().eventId()).as("the same event again in one batch").isEqualTo(first);
        assertThat(records.get(4).poison().reasonCode()).isEqualTo(RejectReason.EMPTY_VALUE.code());
    }

    @Test
    void aValueTooLargeToHoldIsDeadLetteredWithoutDecoding() {
        BatchRecord dropped = new BatchRecord(null, 3, 7, new byte[0], 20_000_000);

        triage.triage(List.of(dropped));

        assertThat(dropped.fate()).isEqualTo(Fate.DEAD_LETTER);
        assertThat(dropped.poison().reasonCode()).isEqualTo(RejectReason.OVERSIZE.code());
        assertThat(dropped.poison().detail()).contains("20000000 bytes").contains("max-held-value-bytes");
    }

    private static BatchRecord record(int partition, long offset, byte[] value) {
        return new BatchRecord(null, partition, offset, value, -1);
    }

    private byte[] event(UUID id) {
        return codec.encode(Event.reviewCreated(id, "user:1", Instant.parse("2026-11-24T10:15:30Z"),
                new ReviewData("review-" + id, 3, "fine")));
    }
}
