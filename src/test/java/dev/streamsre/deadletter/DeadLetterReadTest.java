package dev.streamsre.deadletter;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

/**
 * The one parser from a DLQ copy's headers to a {@code dlq_events} row, for both its callers: the
 * recorder (a copy read from the DLQ topic) and the consumer (a copy the topic could never take).
 */
class DeadLetterReadTest {

    private static final byte[] PAYLOAD = "{\"event_id\":\"0b7a4c39-7f35-4c61-9d43-5e1f6b2a9c10\",\"rating\":9}"
            .getBytes(StandardCharsets.UTF_8);

    @Test
    void aCopyTheDlqTopicNeverTookIsKnownByItsSourceAndHasNoDlqPosition() {
        RecordHeaders headers = ours("events.main", "3", "41");
        headers.add("trace-id", bytes("abc"));

        DeadLetter letter = DeadLetterRecorder.read(headers, bytes("user:1"), PAYLOAD, "events.dlq", null, null, null);

        assertThat(letter.sourceTopic()).isEqualTo("events.main");
        assertThat(letter.sourcePartition()).isEqualTo(3);
        assertThat(letter.sourceOffset()).isEqualTo(41);
        assertThat(letter.sourceTimestamp()).isEqualTo(Instant.ofEpochMilli(1_764_000_000_000L));
        assertThat(letter.dlqPartition()).isNull();
        assertThat(letter.dlqOffset()).isNull();
        assertThat(letter.reason()).isEqualTo("invalid_rating");
        assertThat(letter.errorMessage()).isEqualTo("invalid_rating: rating 9 is outside 1..5");
        assertThat(letter.exceptionClass()).isEqualTo("dev.streamsre.event.EventCodec");
        assertThat(letter.attempts()).isEqualTo(1);
        assertThat(letter.failedAt()).isEqualTo(Instant.parse("2026-12-04T10:00:00Z"));
        assertThat(letter.eventId()).hasToString("0b7a4c39-7f35-4c61-9d43-5e1f6b2a9c10");
        assertThat(letter.originalHeaders()).extracting(DeadLetter.StoredHeader::key).containsExactly("trace-id");
        assertThat(letter.replayOf()).isNull();
    }

    @Test
    void aForgedSourceOnACopyReadFromTheTopicIsNotBelievedAndItsDlqPositionIdentifiesIt() {
        RecordHeaders headers = ours("events\0main", "3", "41");

        DeadLetter letter = DeadLetterRecorder.read(headers, null, PAYLOAD, "events.dlq", 0, 977L,
                Instant.ofEpochMilli(1_764_000_500_000L));

        assertThat(letter.sourceTopic()).isEqualTo("events.dlq");
        assertThat(letter.sourcePartition()).isZero();
        assertThat(letter.sourceOffset()).isEqualTo(977);
        assertThat(letter.sourceTimestamp()).isEqualTo(Instant.ofEpochMilli(1_764_000_500_000L));
        assertThat(letter.dlqOffset()).isEqualTo(977);
    }

    @Test
    void aReplayedCopyNamesTheEntryItCameFrom() {
        RecordHeaders headers = ours("events.main", "0", "5");
        headers.add(DeadLetterHeaders.REPLAY_OF, bytes("12"));
        headers.add(DeadLetterHeaders.REPLAY_COUNT, bytes("2"));

        DeadLetter letter = DeadLetterRecorder.read(headers, null, PAYLOAD, "events.dlq", null, null, null);

        assertThat(letter.replayOf()).isEqualTo(12L);
        assertThat(letter.replayCount()).isEqualTo(2);
        assertThat(DeadLetterHeaders.replayedEntry(headers)).isEqualTo(12L);
    }

    private static RecordHeaders ours(String sourceTopic, String partition, String offset) {
        RecordHeaders headers = new RecordHeaders();
        headers.add(DeadLetterHeaders.REASON, bytes("invalid_rating"));
        headers.add(DeadLetterHeaders.ERROR_MESSAGE, bytes("invalid_rating: rating 9 is outside 1..5"));
        headers.add(DeadLetterHeaders.EXCEPTION_CLASS, bytes("dev.streamsre.event.EventCodec"));
        headers.add(DeadLetterHeaders.ATTEMPTS, bytes("1"));
        headers.add(DeadLetterHeaders.FAILED_AT, bytes("2026-12-04T10:00:00Z"));
        headers.add(DeadLetterHeaders.SOURCE_TOPIC, bytes(sourceTopic));
        headers.add(DeadLetterHeaders.SOURCE_PARTITION, bytes(partition));
        headers.add(DeadLetterHeaders.SOURCE_OFFSET, bytes(offset));
        headers.add(DeadLetterHeaders.SOURCE_TIMESTAMP, bytes("1764000000000"));
        return headers;
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
