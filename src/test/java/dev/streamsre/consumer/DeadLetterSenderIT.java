package dev.streamsre.consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.streamsre.it.TestInfrastructure;
import dev.streamsre.kafka.KafkaClients;
import dev.streamsre.observability.PipelineMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.smallrye.mutiny.Uni;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The dead-letter sender against the real broker, inside the test JVM (no application process):
 * what it promises while the DLQ topic cannot take writes, which only a broker can show.
 */
class DeadLetterSenderIT {

    private final String dlqTopic = "it-sender-dlq-" + UUID.randomUUID().toString().substring(0, 8);
    private final DeadLetterSender sender = new DeadLetterSender(
            new KafkaClients(Map.of(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, TestInfrastructure.bootstrapServers())),
            dlqTopic, null, new PipelineMetrics(new SimpleMeterRegistry()));

    @AfterEach
    void close() {
        sender.close();
    }

    @Test
    void aRecordDeadLetteredAgainWhileItsFirstLetterIsRetriedIsSentOnceAndBothBatchesWaitForIt() throws Exception {
        // The DLQ topic does not exist yet: every send fails and is retried with backoff.
        CompletableFuture<Void> first = settled(sender.sendAll(List.of(letter("source", 1, 42, "first owner"))));
        await("the first letter failing").atMost(Duration.ofSeconds(30)).until(() -> sender.failingSince() != null);
        // The partition moved to another Kafka consumer of the process, which read the record again.
        CompletableFuture<Void> again = settled(sender.sendAll(List.of(letter("source", 1, 42, "new owner"),
                letter("source", 1, 43, "its neighbour"))));
        Thread.sleep(1_000);
        assertThat(first).as("nothing is safe while the topic is missing").isNotDone();
        assertThat(again).isNotDone();
        assertThat(sender.pending()).isEqualTo(3);

        try (var admin = TestInfrastructure.admin()) {
            admin.createTopics(List.of(new NewTopic(dlqTopic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
        first.get(60, TimeUnit.SECONDS);
        again.get(60, TimeUnit.SECONDS);

        List<ConsumerRecord<byte[], byte[]>> letters = TestInfrastructure.readAllRaw(dlqTopic);
        assertThat(letters).extracting(letter -> new String(letter.value(), StandardCharsets.UTF_8))
                .as("one letter per source record: the second owner's copy waited for the first")
                .containsExactlyInAnyOrder("first owner", "its neighbour");
        assertThat(sender.pending()).isZero();
        assertThat(sender.failingSince()).as("sends succeed again").isNull();
    }

    @Test
    void aLetterSentAfterTheFirstOneIsSafeIsSentAgain() throws Exception {
        try (var admin = TestInfrastructure.admin()) {
            admin.createTopics(List.of(new NewTopic(dlqTopic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
        settled(sender.sendAll(List.of(letter("source", 0, 7, "once")))).get(60, TimeUnit.SECONDS);
        // Redelivered after a crash, say: the recorder keeps one row per source record, the topic holds both.
        settled(sender.sendAll(List.of(letter("source", 0, 7, "twice")))).get(60, TimeUnit.SECONDS);

        assertThat(TestInfrastructure.readAllRaw(dlqTopic)).hasSize(2);
    }

    private DeadLetterSender.Letter letter(String topic, int partition, long offset, String value) {
        return new DeadLetterSender.Letter(new DeadLetterSender.Source(topic, partition, offset),
                new ProducerRecord<>(dlqTopic, null, value.getBytes(StandardCharsets.UTF_8)), () -> {
                    throw new AssertionError("no letter here is too large for the DLQ topic");
                });
    }

    private static CompletableFuture<Void> settled(Uni<Void> sending) {
        return sending.subscribeAsCompletionStage();
    }
}
