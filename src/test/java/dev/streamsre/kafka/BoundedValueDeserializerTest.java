package dev.streamsre.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class BoundedValueDeserializerTest {

    private final BoundedValueDeserializer deserializer = new BoundedValueDeserializer().limits(100, 250);

    @AfterEach
    void endPoll() {
        BoundedValueDeserializer.pollReturned();
    }

    private byte[] read(Headers headers, int size) {
        return deserializer.deserialize("t", headers, ByteBuffer.wrap(new byte[size]));
    }

    @Test
    void aValueWithinTheLimitsIsItsBytes() {
        Headers headers = new RecordHeaders();
        byte[] value = deserializer.deserialize("t", headers, ByteBuffer.wrap("hello".getBytes(StandardCharsets.UTF_8)));

        assertThat(new String(value, StandardCharsets.UTF_8)).isEqualTo("hello");
        assertThat(headers.lastHeader(BoundedValueDeserializer.DROPPED_VALUE_BYTES)).isNull();
        assertThat(deserializer.deserialize("t", new RecordHeaders(), (ByteBuffer) null)).isNull();
    }

    @Test
    void aValueLargerThanTheConsumerHoldsIsNotCopiedAndSaysItsSize() {
        Headers headers = new RecordHeaders();

        assertThat(read(headers, 101)).isEmpty();
        assertThat(new String(headers.lastHeader(BoundedValueDeserializer.DROPPED_VALUE_BYTES).value(),
                StandardCharsets.US_ASCII)).isEqualTo("101");
    }

    @Test
    void aProducerCannotForgeTheDroppedHeader() {
        Headers forged = new RecordHeaders();
        forged.add(BoundedValueDeserializer.DROPPED_VALUE_BYTES, "999".getBytes(StandardCharsets.US_ASCII));
        assertThat(read(forged, 10)).hasSize(10);
        assertThat(forged.lastHeader(BoundedValueDeserializer.DROPPED_VALUE_BYTES)).as("removed").isNull();

        Headers forgedOnALargeOne = new RecordHeaders();
        forgedOnALargeOne.add(BoundedValueDeserializer.DROPPED_VALUE_BYTES, "1".getBytes(StandardCharsets.US_ASCII));
        read(forgedOnALargeOne, 150);
        assertThat(forgedOnALargeOne.headers(BoundedValueDeserializer.DROPPED_VALUE_BYTES)).hasSize(1);
        assertThat(forgedOnALargeOne.lastHeader(BoundedValueDeserializer.DROPPED_VALUE_BYTES).value())
                .isEqualTo("150".getBytes(StandardCharsets.US_ASCII));
    }

    @Test
    void aPollEndsOnceItsValuesReachTheBudgetAndTheRefusedRecordIsTakenFirstNextTime() {
        read(new RecordHeaders(), 100);
        read(new RecordHeaders(), 100);
        assertThatThrownBy(() -> read(new RecordHeaders(), 100)).hasMessageContaining("waits for the next poll");
        assertThatThrownBy(() -> read(new RecordHeaders(), 100)).as("still this poll").isNotNull();

        BoundedValueDeserializer.pollReturned();
        assertThat(read(new RecordHeaders(), 100)).hasSize(100);
    }

    @Test
    void theFirstRecordOfAPollIsAlwaysTakenSoTheStreamMoves() {
        BoundedValueDeserializer small = new BoundedValueDeserializer().limits(100, 10);

        assertThat(small.deserialize("t", new RecordHeaders(), ByteBuffer.wrap(new byte[90]))).hasSize(90);
        assertThatThrownBy(() -> small.deserialize("t", new RecordHeaders(), ByteBuffer.wrap(new byte[1])));
    }

    @Test
    void withoutThePollResetInterceptorTheConsumerDoesNotStart() {
        assertThatThrownBy(() -> new BoundedValueDeserializer().configure(Map.of(), false))
                .isInstanceOf(ConfigException.class).hasMessageContaining(PollBudgetReset.class.getName());
    }
}
