package dev.streamsre.kafka;

import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerInterceptor;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Starts the next poll's byte count of {@link BoundedValueDeserializer}: the Kafka client calls an
 * interceptor's {@code onConsume} on the polling thread as each poll returns its records, after
 * they were deserialized. Kafka's own hook for "a poll ended"; nothing else is intercepted.
 */
public final class PollBudgetReset implements ConsumerInterceptor<Object, Object> {

    @Override
    public ConsumerRecords<Object, Object> onConsume(ConsumerRecords<Object, Object> records) {
        BoundedValueDeserializer.pollReturned();
        return records;
    }

    @Override
    public void onCommit(Map<TopicPartition, OffsetAndMetadata> offsets) {
    }

    @Override
    public void close() {
    }

    @Override
    public void configure(Map<String, ?> configs) {
    }
}
