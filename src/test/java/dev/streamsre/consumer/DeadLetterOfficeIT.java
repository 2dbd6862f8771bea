package dev.streamsre.consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.streamsre.deadletter.DeadLetterHeaders;
import dev.streamsre.event.RejectReason;
import dev.streamsre.it.TestInfrastructure;
import dev.streamsre.kafka.KafkaClients;
import dev.streamsre.observability.PipelineMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.kafka.IncomingKafkaRecord;
import io.smallrye.reactive.messaging.kafka.IncomingKafkaRecordBatch;
import io.smallrye.reactive.messaging.kafka.KafkaRecord;
import io.smallrye.reactive.messaging.kafka.commit.KafkaCommitHandler;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The last stage against the real broker, inside the test JVM: a batch is acknowledged only once
 * every one of its dead letters is safe in the DLQ topic. The batch is the connector's own
 * {@link IncomingKafkaRecordBatch}; its commit handler (the throttled strategy's place) records
 * which offsets were acknowledged.
 */
class DeadLetterOfficeIT {

    private static final String SOURCE = "it-office-source";

    private final String dlqTopic = "it-office-dlq-" + UUID.randomUUID().toString().substring(0, 8);
    private final PipelineMetrics metrics = new PipelineMetrics(new SimpleMeterRegistry());
    private final DeadLetterSender sender = new DeadLetterSender(
            new KafkaClients(Map.of(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, TestInfrastructure.bootstrapServers())),
            dlqTopic, null, metrics);
    private final DeadLetterOffice office = new DeadLetterOffice(sender, null, metrics, Duration.ZERO, dlqTopic);
    /** Offsets the batch acknowledged, as "partition/offset". */
    private final Set<String> acknowledged = ConcurrentHashMap.newKeySet();

    @AfterEach
    void close() {
        sender.close();
    }

    @Test
    void aBatchWithADeadLetterIsAcknowledgedOnlyOnceTheLetterIsInTheDlqTopic() throws Exception {
        IncomingKafkaRecordBatch<byte[], byte[]> batch = batch(Map.of(
                0, List.of(record(0, 10, "good"), record(0, 11, "{not json")),
                1, List.of(record(1, 5, "good"))));
        List<BatchRecord> records = settledAsTriageAndWriteWould(batch);

        // The DLQ topic does not exist yet: the letter cannot be sent, so nothing may be acknowledged.
        office.settle(batch, records).await().atMost(Duration.ofSeconds(10));
        await("the send failing").atMost(Duration.ofSeconds(30)).until(() -> sender.failingSince() != null);
        Thread.sleep(1_000);
        assertThat(acknowledged).as("acknowledged while the dead letter is unsafe").isEmpty();
        assertThat(office.unsettledBatches()).isEqualTo(1);

        try (var admin = TestInfrastructure.admin()) {
            admin.createTopics(List.of(new NewTopic(dlqTopic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
        await("the batch acknowledged").atMost(Duration.ofSeconds(60)).until(() -> acknowledged.size() == 2);
        assertThat(acknowledged).as("the last record of each partition").containsExactlyInAnyOrder("0/11", "1/5");
        assertThat(office.unsettledBatches()).isZero();
        List<org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]>> letters = TestInfrastructure.readAllRaw(dlqTopic);
        assertThat(letters).hasSize(1);
        assertThat(DeadLetterHeaders.text(letters.get(0).headers(), DeadLetterHeaders.REASON)).isEqualTo("invalid_json");
        assertThat(DeadLetterHeaders.text(letters.get(0).headers(), DeadLetterHeaders.SOURCE_OFFSET)).isEqualTo("11");
        assertThat(letters.get(0).value()).isEqualTo("{not json".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aBatchWithoutPoisonIsAcknowledgedAtOnce() {
        IncomingKafkaRecordBatch<byte[], byte[]> batch = batch(Map.of(2, List.of(record(2, 7, "good"), record(2, 8, "good"))));

        office.settle(batch, settledAsTriageAndWriteWould(batch)).await().atMost(Duration.ofSeconds(10));

        assertThat(acknowledged).containsExactly("2/8");
    }

    /** Landed, except a value that is not JSON: dead-lettered, as the stages before would settle them. */
    private static List<BatchRecord> settledAsTriageAndWriteWould(IncomingKafkaRecordBatch<byte[], byte[]> batch) {
        List<BatchRecord> records = new ArrayList<>();
        for (KafkaRecord<byte[], byte[]> delivered : batch.getRecords()) {
            BatchRecord record = BatchRecord.of(delivered);
            if (new String(record.value(), StandardCharsets.UTF_8).startsWith("{not")) {
                record.deadLetter(Poison.rejected(RejectReason.INVALID_JSON, "not JSON"));
            } else {
                record.landed();
            }
            records.add(record);
        }
        return records;
    }

    private IncomingKafkaRecordBatch<byte[], byte[]> batch(Map<Integer, List<ConsumerRecord<byte[], byte[]>>> byPartition) {
        Map<TopicPartition, List<ConsumerRecord<byte[], byte[]>>> records = new java.util.HashMap<>();
        byPartition.forEach((partition, list) -> records.put(new TopicPartition(SOURCE, partition), list));
        KafkaCommitHandler commits = new KafkaCommitHandler() {
            @Override
            public <K, V> Uni<Void> handle(IncomingKafkaRecord<K, V> record) {
                acknowledged.add(record.getPartition() + "/" + record.getOffset());
                return Uni.createFrom().voidItem();
            }
        };
        return new IncomingKafkaRecordBatch<>(new ConsumerRecords<>(records, Map.of()), "events-in", 0, commits, null,
                false, false);
    }

    private static ConsumerRecord<byte[], byte[]> record(int partition, long offset, String value) {
        return new ConsumerRecord<>(SOURCE, partition, offset, ("key-" + offset).getBytes(StandardCharsets.UTF_8),
                value.getBytes(StandardCharsets.UTF_8));
    }
}
