package dev.streamsre.consumer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamsre.consumer.BatchTriage.RawRecord;
import dev.streamsre.consumer.BatchTriage.Verdict;
import dev.streamsre.event.Event;
import dev.streamsre.event.EventCodec;
import dev.streamsre.event.RejectReason;
import dev.streamsre.event.ReviewData;
import dev.streamsre.sink.PendingEvent;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class BatchTriageTest {

    private final EventCodec codec = new EventCodec();
    private final BatchTriage triage = new BatchTriage(codec);

    @Test
    void eachRecordGetsOneVerdictInOffsetOrder() {
        UUID first = UUID.randomUUID();
        UUID second = UUID.randomUUID();
        List<Verdict> verdicts = triage.triage(List.of(
                new RawRecord(0, 10, event(first)),
                new RawRecord(0, 11, "{not json".getBytes(StandardCharsets.UTF_8)),
                new RawRecord(1, 5, event(second)),
                new RawRecord(0, 12, event(first)),
                new RawRecord(1, 6, null)));

        assertThat(verdicts).hasSize(5);
        assertThat(verdicts.get(0)).isInstanceOfSatisfying(BatchTriage.Write.class, write -> {
            assertThat(write.event().event().eventId()).isEqualTo(first);
            assertThat(write.event().partition()).isZero();
            assertThat(write.event().offset()).isEqualTo(10);
        });
        assertThat(verdicts.get(1)).isInstanceOfSatisfying(BatchTriage.Reject.class,
                reject -> assertThat(reject.rejection().reason()).isEqualTo(RejectReason.INVALID_JSON));
        assertThat(verdicts.get(2)).isInstanceOf(BatchTriage.Write.class);
        assertThat(verdicts.get(3)).as("the same event again in one batch").isEqualTo(new BatchTriage.Repeat(first));
        assertThat(verdicts.get(4)).isInstanceOfSatisfying(BatchTriage.Reject.class,
                reject -> assertThat(reject.rejection().reason()).isEqualTo(RejectReason.EMPTY_VALUE));
    }

    @Test
    void onlyWritesAreWrittenAndInTheirOrder() {
        UUID a = UUID.randomUUID();
        UUID b = UUID.randomUUID();
        List<Verdict> verdicts = triage.triage(List.of(new RawRecord(2, 1, event(a)), new RawRecord(2, 2, new byte[0]),
                new RawRecord(2, 3, event(b)), new RawRecord(2, 4, event(a))));

        assertThat(BatchTriage.toWrite(verdicts)).extracting(PendingEvent::offset).containsExactly(1L, 3L);
    }

    private byte[] event(UUID id) {
        return codec.encode(Event.reviewCreated(id, "user:1", Instant.parse("2026-11-24T10:15:30Z"),
                new ReviewData("review-" + id, 3, "fine")));
    }
}
