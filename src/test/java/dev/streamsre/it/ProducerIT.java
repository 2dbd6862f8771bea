package dev.streamsre.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.streamsre.event.DecodeResult;
import dev.streamsre.event.EventCodec;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/** Producer mode as a real process against the real broker. */
class ProducerIT {

    private static final Set<String> HOT_KEYS = Set.of("user:1", "user:2", "user:3");
    private final EventCodec codec = new EventCodec();

    @Test
    void producesDecodableEventsWithTheHotKeyShareAndOnePartitionPerKey() {
        String topic = TestInfrastructure.createTopic("it-producer", 6);
        int events = 20_000;

        try (AppProcess producer = AppProcess.start("producer", Map.of("KAFKA_TOPIC", topic, "RATE_PER_SEC", "0",
                "HOT_KEY_PCT", "0.7", "DURATION", "0", "STREAMSRE_PRODUCER_MAX_EVENTS", String.valueOf(events)))) {
            assertThat(producer.awaitExit(Duration.ofSeconds(60))).as(producer.output()).isZero();
            assertThat(producer.output()).as("a producer job creates none of the consumer's beans")
                    .doesNotContain("consumer settings").doesNotContain("consumer drained");
        }

        List<ConsumerRecord<String, byte[]>> records = TestInfrastructure.readAll(topic);
        assertThat(records).hasSize(events);
        Map<String, Integer> partitionOfKey = new HashMap<>();
        int hot = 0;
        for (ConsumerRecord<String, byte[]> record : records) {
            DecodeResult result = codec.decode(record.value());
            assertThat(result).as("record at %s-%d", record.partition(), record.offset()).isInstanceOf(DecodeResult.Valid.class);
            assertThat(((DecodeResult.Valid) result).event().key()).isEqualTo(record.key());
            Integer previous = partitionOfKey.putIfAbsent(record.key(), record.partition());
            assertThat(previous == null || previous == record.partition())
                    .as("key %s seen in partitions %s and %d", record.key(), previous, record.partition()).isTrue();
            if (HOT_KEYS.contains(record.key())) {
                hot++;
            }
        }
        // n=20,000 at p=0.7: one standard deviation is 0.32 points, so +-2 points is over 6 sigma.
        assertThat(hot * 100.0 / events).as("hot-key share in percent").isCloseTo(70.0, within(2.0));
    }

    @Test
    void holdsTheConfiguredRateWithinFivePercentOverTenSeconds() {
        String topic = TestInfrastructure.createTopic("it-producer-rate", 6);
        int rate = 2_000;

        AppProcess producer = AppProcess.start("producer",
                Map.of("KAFKA_TOPIC", topic, "RATE_PER_SEC", String.valueOf(rate), "DURATION", "10s"));
        assertThat(producer.awaitExit(Duration.ofSeconds(60))).as(producer.output()).isZero();

        List<ConsumerRecord<String, byte[]>> records = TestInfrastructure.readAll(topic);
        long first = records.stream().mapToLong(ConsumerRecord::timestamp).min().orElseThrow();
        long last = records.stream().mapToLong(ConsumerRecord::timestamp).max().orElseThrow();
        double measuredRate = (records.size() - 1) * 1000.0 / (last - first);
        assertThat(records.size()).as("records in 10 s").isCloseTo(10 * rate, within(10 * rate / 20));
        assertThat(measuredRate).as("rate from broker timestamps").isCloseTo(rate, within(rate * 0.05));
        // The rate it reports must be the rate it achieved.
        Matcher summary = Pattern.compile("producer summary: sent=(\\d+) acked=(\\d+) errors=0").matcher(producer.output());
        assertThat(summary.find()).as(producer.output()).isTrue();
        assertThat(Long.parseLong(summary.group(2))).isEqualTo(records.size());
    }

    @Test
    void sigtermFlushesAndReportsEverythingItSent() {
        String topic = TestInfrastructure.createTopic("it-producer-term", 6);

        AppProcess producer = AppProcess.start("producer",
                Map.of("KAFKA_TOPIC", topic, "RATE_PER_SEC", "5000", "DURATION", "0"));
        producer.awaitOutput("producer starting", Duration.ofSeconds(30));
        AppProcess.sleep(3_000);
        producer.terminate();
        producer.awaitExit(Duration.ofSeconds(20));

        Matcher summary = Pattern.compile("producer summary: sent=(\\d+) acked=(\\d+) errors=0 .*stopped by signal")
                .matcher(producer.output());
        assertThat(summary.find()).as(producer.output()).isTrue();
        long acked = Long.parseLong(summary.group(2));
        assertThat(acked).isEqualTo(Long.parseLong(summary.group(1))).isGreaterThan(5_000);
        assertThat(TestInfrastructure.readAll(topic)).hasSize((int) acked);
    }

    @Test
    void unreachableBrokerExitsNonZeroNamingKafkaBrokers() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }

        AppProcess producer = AppProcess.start("producer",
                Map.of("KAFKA_BROKERS", "127.0.0.1:" + closedPort, "DURATION", "5s"));

        assertThat(producer.awaitExit(Duration.ofSeconds(60))).as(producer.output()).isEqualTo(2);
        assertThat(producer.output()).contains("cannot reach Kafka at 127.0.0.1:" + closedPort + " (KAFKA_BROKERS)");
    }

    @Test
    void missingTopicExitsNonZeroNamingKafkaTopic() {
        AppProcess producer = AppProcess.start("producer", Map.of("KAFKA_TOPIC", "no-such-topic", "DURATION", "5s"));

        assertThat(producer.awaitExit(Duration.ofSeconds(60))).as(producer.output()).isEqualTo(2);
        assertThat(producer.output()).contains("topic 'no-such-topic' does not exist").contains("KAFKA_TOPIC");
    }

    @Test
    void badConfigurationFailsAtStartNamingTheVariable() {
        // The variables that are more than a rename are checked as they are translated, all at once.
        AppProcess producer = AppProcess.start("producer", Map.of("DURATION", "soon", "HOT_KEY_PCT", "150"));

        assertThat(producer.awaitExit(Duration.ofSeconds(60))).as(producer.output()).isEqualTo(1);
        assertThat(producer.output()).contains("DURATION='soon'").contains("HOT_KEY_PCT='150'")
                .doesNotContain("producer starting");

        // A renaming variable and the property form meet the same check: the mapping's type and range.
        AppProcess notANumber = AppProcess.start("producer", Map.of("RATE_PER_SEC", "fast"));
        assertThat(notANumber.awaitExit(Duration.ofSeconds(60))).as(notANumber.output()).isEqualTo(1);
        assertThat(notANumber.output()).contains("streamsre.producer.rate-per-sec").contains("fast")
                .doesNotContain("producer starting");

        AppProcess outOfRange = AppProcess.start("producer", Map.of("POISON_PCT", "120",
                "STREAMSRE_PRODUCER_COLD_KEY_COUNT", "0"));
        assertThat(outOfRange.awaitExit(Duration.ofSeconds(60))).as(outOfRange.output()).isEqualTo(1);
        assertThat(outOfRange.output())
                .contains("streamsre.producer.poison-pct must be a percentage between 0 and 100, got 120")
                .contains("streamsre.producer.cold-key-count must be at least 1, got 0")
                .doesNotContain("producer starting");
    }

}
