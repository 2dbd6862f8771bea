package dev.streamsre.observability;

import dev.streamsre.config.OutsideConsumerMode;
import dev.streamsre.config.StreamSreConfig;
import dev.streamsre.kafka.KafkaClients;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Deserializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Samples the consumer group's lag per partition, the way Kafka's own
 * {@code kafka-consumer-groups --describe} computes it: end offset minus the group's committed
 * offset, through the admin client. Because it reads the group's committed offsets rather than this
 * process's positions, every replica reports the same, correct figure after restarts and rebalances
 * and whichever member owns a partition.
 *
 * <p>It also reports how old the oldest unprocessed record is ({@code consumer_lag_seconds}): the
 * timestamp of the record at the committed offset, read with an unsubscribed consumer that commits
 * nothing. Lag in records says how much; lag in seconds says how late, which is what users feel.
 *
 * <p>The same way it samples the DLQ recorder's group on the DLQ topic ({@code dlq_recorder_lag}):
 * dead letters in the topic that {@code dlq_events}, where operators query and replay them, lacks.
 *
 * <p>The consumers read committed records only ({@code isolation.level=read_committed}), so a
 * producer transaction left open stops a partition at its last stable offset until the transaction
 * ends. The sampler compares the last stable offset with the end of the log and reports how long
 * each partition has been held that way ({@code partition_open_transaction_seconds}): a hung
 * producer transaction is visible as such, not only as lag.
 */
@ApplicationScoped
public class LagSampler {

    private static final Logger LOG = Logger.getLogger(LagSampler.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(5);
    private static final Duration PEEK_TIMEOUT = Duration.ofSeconds(2);

    private final Admin admin;
    private final MeterRegistry registry;
    private final KafkaClients clients;
    private final String topic;
    private final String group;
    private final String dlqTopic;
    private final String recorderGroup;
    private final Map<TopicPartition, Long> lags = new ConcurrentHashMap<>();
    private final Map<TopicPartition, Long> recorderLags = new ConcurrentHashMap<>();
    private final Map<TopicPartition, Double> ageSeconds = new ConcurrentHashMap<>();
    private final Map<TopicPartition, Double> openTransactionSeconds = new ConcurrentHashMap<>();
    /** Per partition held below its end: the last stable offset seen, and since when it has not moved. */
    private final Map<TopicPartition, long[]> heldSince = new HashMap<>();
    private final Set<TopicPartition> registered = new HashSet<>();
    private KafkaConsumer<Void, Void> peeker;
    private boolean failing;
    private boolean closed;

    LagSampler(StreamSreConfig settings, Admin admin, MeterRegistry registry, KafkaClients clients,
            @ConfigProperty(name = "mp.messaging.incoming.dlq-in.group.id") String recorderGroup) {
        this.admin = admin;
        this.registry = registry;
        this.clients = clients;
        this.topic = settings.topic();
        this.group = settings.consumer().groupId();
        this.dlqTopic = settings.dlqTopic();
        this.recorderGroup = recorderGroup;
    }

    @Scheduled(every = "${streamsre.consumer.lag-sample-interval}", delayed = "2s",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP, skipExecutionIf = OutsideConsumerMode.class)
    synchronized void sample() {
        if (closed) {
            return;
        }
        try {
            Map<TopicPartition, Long> positions = committedOrEarliest(topic, group);
            Map<TopicPartition, ListOffsetsResultInfo> ends = offsets(positions.keySet(), OffsetSpec.latest());
            Map<TopicPartition, ListOffsetsResultInfo> stable = offsets(positions.keySet(), OffsetSpec.latest(),
                    IsolationLevel.READ_COMMITTED);
            sampleOpenTransactions(ends, stable);
            Map<TopicPartition, Long> behind = new HashMap<>();
            for (Map.Entry<TopicPartition, Long> position : positions.entrySet()) {
                long lag = Math.max(0, ends.get(position.getKey()).offset() - position.getValue());
                lags.put(position.getKey(), lag);
                register(position.getKey());
                if (lag == 0) {
                    ageSeconds.put(position.getKey(), 0.0);
                } else {
                    behind.put(position.getKey(), position.getValue());
                }
            }
            Map<TopicPartition, Double> ages = ageOfRecordsAt(behind);
            // A partition held by an open transaction has no committed record to read past the
            // committed offset: its records have waited at least as long as the transaction is open.
            behind.keySet().forEach(partition -> ages.merge(partition,
                    openTransactionSeconds.getOrDefault(partition, 0.0), Math::max));
            ageSeconds.putAll(ages);
            if (failing) {
                LOG.infof("lag sampling works again: lag=%d", lags.values().stream().mapToLong(Long::longValue).sum());
                failing = false;
            }
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            if (!failing) {
                LOG.warnf("cannot sample consumer lag (keeping the last values): %s", e.toString());
                failing = true;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        sampleRecorder();
    }

    /**
     * For each partition whose last stable offset is below its end (records of a producer
     * transaction not yet committed or aborted), how long that stable offset has not moved. A
     * transaction that ends normally clears within its own timeout; one that hangs keeps growing.
     */
    private void sampleOpenTransactions(Map<TopicPartition, ListOffsetsResultInfo> ends,
            Map<TopicPartition, ListOffsetsResultInfo> stable) {
        long now = System.nanoTime();
        ends.forEach((partition, end) -> {
            ListOffsetsResultInfo lastStable = stable.get(partition);
            if (lastStable == null || lastStable.offset() >= end.offset()) {
                heldSince.remove(partition);
                openTransactionSeconds.put(partition, 0.0);
                return;
            }
            long[] held = heldSince.get(partition);
            if (held == null || held[0] != lastStable.offset()) {
                held = new long[] { lastStable.offset(), now };
                heldSince.put(partition, held);
            }
            openTransactionSeconds.put(partition, (now - held[1]) / 1e9);
        });
    }

    /** Apart from the main lag: a missing or unreadable DLQ topic must not stop the main gauges. */
    private void sampleRecorder() {
        try {
            Map<TopicPartition, Long> recorded = committedOrEarliest(dlqTopic, recorderGroup);
            Map<TopicPartition, ListOffsetsResultInfo> ends = offsets(recorded.keySet(), OffsetSpec.latest());
            recorded.forEach((partition, offset) -> {
                recorderLags.put(partition, Math.max(0, ends.get(partition).offset() - offset));
                registerRecorder(partition);
            });
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            LOG.debugf("cannot sample the DLQ recorder's lag (keeping the last values): %s", e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The group's committed offset per partition; the earliest offset where it has committed none. */
    private Map<TopicPartition, Long> committedOrEarliest(String topic, String group) throws ExecutionException,
            TimeoutException, InterruptedException {
        TopicDescription description = admin.describeTopics(List.of(topic)).allTopicNames()
                .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).get(topic);
        Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group)
                .partitionsToOffsetAndMetadata().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        Map<TopicPartition, Long> positions = new HashMap<>();
        Set<TopicPartition> uncommitted = new HashSet<>();
        description.partitions().forEach(info -> {
            TopicPartition partition = new TopicPartition(topic, info.partition());
            OffsetAndMetadata offset = committed.get(partition);
            if (offset != null) {
                positions.put(partition, offset.offset());
            } else {
                uncommitted.add(partition);
            }
        });
        offsets(uncommitted, OffsetSpec.earliest()).forEach((partition, info) -> positions.put(partition, info.offset()));
        return positions;
    }

    private Map<TopicPartition, ListOffsetsResultInfo> offsets(Set<TopicPartition> partitions, OffsetSpec spec)
            throws ExecutionException, TimeoutException, InterruptedException {
        return offsets(partitions, spec, IsolationLevel.READ_UNCOMMITTED);
    }

    /** READ_UNCOMMITTED's latest is the end of the log (high watermark); READ_COMMITTED's, the last stable offset. */
    private Map<TopicPartition, ListOffsetsResultInfo> offsets(Set<TopicPartition> partitions, OffsetSpec spec,
            IsolationLevel isolation) throws ExecutionException, TimeoutException, InterruptedException {
        if (partitions.isEmpty()) {
            return Map.of();
        }
        Map<TopicPartition, OffsetSpec> request = new HashMap<>();
        partitions.forEach(partition -> request.put(partition, spec));
        return admin.listOffsets(request, new ListOffsetsOptions(isolation)).all()
                .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Seconds since the records at the given offsets were created; partitions not read in time are left out. */
    private Map<TopicPartition, Double> ageOfRecordsAt(Map<TopicPartition, Long> offsets) {
        Map<TopicPartition, Double> ages = new HashMap<>();
        if (offsets.isEmpty()) {
            return ages;
        }
        KafkaConsumer<Void, Void> consumer = peeker();
        consumer.assign(offsets.keySet());
        offsets.forEach(consumer::seek);
        long deadline = System.nanoTime() + PEEK_TIMEOUT.toNanos();
        while (ages.size() < offsets.size() && System.nanoTime() < deadline) {
            for (ConsumerRecord<Void, Void> record : consumer.poll(Duration.ofMillis(200))) {
                TopicPartition partition = new TopicPartition(record.topic(), record.partition());
                if (!ages.containsKey(partition)) {
                    ages.put(partition, Math.max(0, System.currentTimeMillis() - record.timestamp()) / 1000.0);
                    consumer.pause(List.of(partition));
                }
            }
        }
        consumer.resume(consumer.paused());
        return ages;
    }

    /**
     * A consumer that reads only timestamps: committed records (as the pipeline does), one record
     * per poll, and values thrown away as they are read. The Kafka client still decompresses a
     * record to find the next one, but nothing of a value outlives the read, so a record that
     * decompresses to many megabytes costs the sampler no memory it keeps.
     */
    private KafkaConsumer<Void, Void> peeker() {
        if (peeker == null) {
            peeker = new KafkaConsumer<>(clients.config(Map.of(
                    ConsumerConfig.CLIENT_ID_CONFIG, "streamsre-lag-sampler",
                    ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                    ConsumerConfig.ISOLATION_LEVEL_CONFIG, IsolationLevel.READ_COMMITTED.toString(),
                    ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1,
                    // One record per partition is all it needs.
                    ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 64 * 1024)),
                    new DiscardingDeserializer<>(), new DiscardingDeserializer<>());
        }
        return peeker;
    }

    /** Reads nothing: neither copies nor keeps the bytes it is handed. */
    private static final class DiscardingDeserializer<T> implements Deserializer<T> {
        @Override
        public T deserialize(String topic, byte[] data) {
            return null;
        }

        @Override
        public T deserialize(String topic, Headers headers, java.nio.ByteBuffer data) {
            return null;
        }
    }

    private void register(TopicPartition partition) {
        if (registered.add(partition)) {
            String[] tags = { "topic", partition.topic(), "partition", String.valueOf(partition.partition()) };
            Gauge.builder("consumer_lag", lags, m -> m.getOrDefault(partition, 0L)).tags(tags)
                    .description("Records not yet committed by the group (end offset - committed offset)")
                    .register(registry);
            Gauge.builder("consumer_lag_seconds", ageSeconds, m -> m.getOrDefault(partition, 0.0)).tags(tags)
                    .description("Age of the oldest record the group has not committed; 0 when caught up")
                    .register(registry);
            Gauge.builder("partition_open_transaction_seconds", openTransactionSeconds,
                    m -> m.getOrDefault(partition, 0.0)).tags(tags)
                    .description("How long the partition's last stable offset has stood still below the end of the log"
                            + " (an open producer transaction read_committed consumers wait for); 0 when none")
                    .register(registry);
        }
    }

    private void registerRecorder(TopicPartition partition) {
        if (registered.add(partition)) {
            Gauge.builder("dlq_recorder_lag", recorderLags, m -> m.getOrDefault(partition, 0L))
                    .tags("topic", partition.topic(), "partition", String.valueOf(partition.partition()))
                    .description("Dead letters in the DLQ topic not yet recorded in dlq_events by the recorder's group")
                    .register(registry);
        }
    }

    synchronized void close(@Observes ShutdownEvent event) {
        closed = true;
        if (peeker != null) {
            peeker.close(Duration.ofSeconds(1));
        }
    }
}
