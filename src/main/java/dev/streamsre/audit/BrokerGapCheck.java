package dev.streamsre.audit;

import dev.streamsre.kafka.KafkaClients;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Asks the broker what lies in offsets no receipt covers. Kafka itself leaves offsets out of what a
 * consumer reads (transaction markers, aborted records under read_committed, records compacted
 * away), so a hole between receipts is not a loss by itself: only a record the broker still hands
 * out there is. This reads the hole the way the consumer reads the topic (read_committed, no group,
 * nothing committed) and counts what comes back.
 */
final class BrokerGapCheck implements AutoCloseable {

    /** The longest one hole is read for; a larger hole is reported with what was counted by then. */
    private static final Duration PER_GAP = Duration.ofSeconds(30);

    private final KafkaConsumer<byte[], byte[]> consumer;
    private final int listed;

    BrokerGapCheck(KafkaClients clients, int listed) {
        this.consumer = new KafkaConsumer<>(clients.config(Map.of(
                ConsumerConfig.CLIENT_ID_CONFIG, "streamsre-audit",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none")), new ByteArrayDeserializer(), new ByteArrayDeserializer());
        this.listed = listed;
    }

    /** Records the broker delivers in {@code [from, to)} of the partition: how many, and the first few offsets. */
    Hole read(TopicPartition partition, long from, long to) {
        consumer.assign(List.of(partition));
        consumer.seek(partition, from);
        long count = 0;
        List<Long> offsets = new ArrayList<>();
        long deadline = System.nanoTime() + PER_GAP.toNanos();
        while (consumer.position(partition) < to && System.nanoTime() < deadline) {
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                if (record.offset() >= to) {
                    break;
                }
                count++;
                if (offsets.size() < listed) {
                    offsets.add(record.offset());
                }
            }
        }
        boolean complete = consumer.position(partition) >= to;
        return new Hole(count, offsets, complete);
    }

    /** What the broker holds in a hole; {@code complete} false when reading it ran out of time. */
    record Hole(long records, List<Long> offsets, boolean complete) {
    }

    @Override
    public void close() {
        consumer.close(Duration.ofSeconds(2));
    }
}
