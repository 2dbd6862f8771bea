package dev.streamsre.consumer;

import dev.streamsre.config.StreamSreConfig;
import dev.streamsre.deadletter.DeadLetter;
import dev.streamsre.deadletter.DeadLetterStore;
import dev.streamsre.failure.ShutdownSignal;
import dev.streamsre.observability.PipelineMetrics;
import dev.streamsre.kafka.KafkaClients;
import io.smallrye.mutiny.Uni;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.jboss.logging.Logger;

/**
 * Sends dead letters to the DLQ topic and tells when each is safe: acknowledged by the broker, or,
 * for one the topic can never take (too large), stored straight into {@code dlq_events}.
 *
 * <p>Why not the connector's dead-letter-queue failure strategy: when its send fails it reports
 * the failure as fatal, which closes the channel's Kafka consumer, and in batch mode it acknowledges
 * a nacked record on its own, which lets the throttled strategy commit past an earlier dead letter
 * whose send failed. Here a failed send is retried with backoff until it succeeds (or shutdown
 * begins), while readiness and {@code dlq_send_failures_total} say so, and the caller acknowledges
 * nothing until every dead letter of a batch is safe.
 *
 * <p>The producer is built from the same {@code kafka.*} settings as the connector's channels
 * ({@link KafkaClients}), so a secured broker needs no second list.
 */
@ApplicationScoped
public class DeadLetterSender {

    private static final Logger LOG = Logger.getLogger(DeadLetterSender.class);
    private static final Duration FIRST_BACKOFF = Duration.ofMillis(500);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(15);

    private final KafkaClients clients;
    private final String dlqTopic;
    private final DeadLetterStore store;
    private final PipelineMetrics metrics;
    private final AtomicInteger pending = new AtomicInteger();
    private volatile Producer<byte[], byte[]> producer;
    /** When the oldest still-failing send first failed, or null while sends succeed. */
    private volatile Instant failingSince;
    private volatile String lastFailure;

    /**
     * The one thread that calls {@code send()}, which blocks while the producer waits for the DLQ
     * topic's metadata (up to max.block.ms when the topic is missing). Never Quarkus' shared worker
     * pool: with the topic deleted, every retried dead letter held a worker thread for 5 s, the 200
     * threads ran out, and /q/metrics (served from that pool) stopped answering, so the consumer
     * looked dead to Prometheus (bin/drill dlq-down, postmortems/2026-12-02-dlq-outage-hid-the-consumer.md).
     */
    private final ExecutorService sendThread = Executors.newSingleThreadExecutor(task -> {
        Thread thread = new Thread(task, "streamsre-dead-letter-sends");
        thread.setDaemon(true);
        return thread;
    });

    @Inject
    DeadLetterSender(KafkaClients clients, StreamSreConfig settings, DeadLetterStore store, PipelineMetrics metrics) {
        this(clients, settings.dlqTopic(), store, metrics);
    }

    DeadLetterSender(KafkaClients clients, String dlqTopic, DeadLetterStore store, PipelineMetrics metrics) {
        this.clients = clients;
        this.dlqTopic = dlqTopic;
        this.store = store;
        this.metrics = metrics;
        metrics.gauge("dlq_sends_pending", "Dead letters handed over and not yet safe (in the DLQ topic or dlq_events)",
                pending::get);
        metrics.gauge("dlq_send_failing", "1 while sends to the DLQ topic fail (they are retried), else 0",
                () -> failingSince == null ? 0 : 1);
    }

    /** Dead letters handed over and not yet safe. */
    public int pending() {
        return pending.get();
    }

    /** When sends to the DLQ topic started failing, or null when they succeed. */
    public Instant failingSince() {
        return failingSince;
    }

    /** The last send failure, for readiness (an exception class and message; no record data). */
    public String lastFailure() {
        return lastFailure;
    }

    /**
     * A dead letter to send, and what to store in {@code dlq_events} if the DLQ topic can never take it.
     *
     * @param source where the dead record was read: one in-flight letter per source (see {@link #sendAll})
     */
    public record Letter(Source source, ProducerRecord<byte[], byte[]> copy, Supplier<DeadLetter> entry) {
    }

    /** A record's place in its topic. */
    public record Source(String topic, int partition, long offset) {
    }

    /**
     * Letters handed over and not yet safe, by the record they come from. A partition that moves to
     * another of this process' Kafka consumers while its dead letter is being retried (a rebalance
     * during a DLQ outage) is read again from its committed offset, so the same record is
     * dead-lettered a second time: that letter waits for the first one instead of sending a second
     * copy to the DLQ topic.
     */
    private final Map<Source, CompletableFuture<Void>> inFlight = new ConcurrentHashMap<>();

    /**
     * Completes once every letter is safe. Fails only when shutdown stops the retries; the batch is
     * then left unacknowledged and redelivered to the next owner.
     *
     * <p>All letters are handed to the producer at once, on {@link #sendThread}: {@code send()} blocks
     * while it waits for the topic's metadata (up to max.block.ms when the topic is missing), which
     * must never happen on the event loop the database client shares. Only letters whose send
     * failed take the slower path, one by one with retries. A letter whose record already has one
     * in flight joins that one ({@link #inFlight}).
     */
    public Uni<Void> sendAll(List<Letter> letters) {
        pending.addAndGet(letters.size());
        List<Uni<Void>> outcomes = new ArrayList<>();
        List<Letter> fresh = new ArrayList<>(letters.size());
        List<CompletableFuture<Void>> settled = new ArrayList<>(letters.size());
        for (Letter letter : letters) {
            CompletableFuture<Void> mine = new CompletableFuture<>();
            CompletableFuture<Void> earlier = inFlight.putIfAbsent(letter.source(), mine);
            if (earlier == null) {
                fresh.add(letter);
                settled.add(mine);
            } else {
                // A copy: a joiner's cancellation must not cancel the first letter's future.
                outcomes.add(Uni.createFrom().completionStage(earlier.copy()).eventually(pending::decrementAndGet));
            }
        }
        if (!fresh.isEmpty()) {
            outcomes.add(sendFresh(fresh, settled));
        }
        if (outcomes.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        return outcomes.size() == 1 ? outcomes.get(0) : Uni.join().all(outcomes).andFailFast().replaceWithVoid();
    }

    private Uni<Void> sendFresh(List<Letter> letters, List<CompletableFuture<Void>> settled) {
        return Uni.createFrom().<Throwable[]>emitter(emitter -> {
            Throwable[] failures = new Throwable[letters.size()];
            AtomicInteger unanswered = new AtomicInteger(letters.size());
            // Set when a send waited max.block.ms for the topic's metadata in vain: the letters
            // after it fail at once (and are retried) instead of waiting that long each.
            TimeoutException noMetadata = null;
            for (int i = 0; i < letters.size(); i++) {
                int index = i;
                Callback answered = (metadata, failure) -> {
                    failures[index] = failure;
                    if (unanswered.decrementAndGet() == 0) {
                        emitter.complete(failures);
                    }
                };
                if (noMetadata != null) {
                    answered.onCompletion(null, noMetadata);
                    continue;
                }
                try {
                    // A failure before the record is queued (no metadata) is answered inside send().
                    producer().send(letters.get(i).copy(), answered);
                } catch (RuntimeException e) {
                    answered.onCompletion(null, e);
                }
                if (failures[index] instanceof TimeoutException timeout) {
                    noMetadata = timeout;
                    failed(timeout);
                }
            }
        })
                .runSubscriptionOn(sendThread)
                .onTermination().invoke((failures, failure, cancelled) -> {
                    if (failures == null) {
                        // Never handed over (cancelled, or the send thread refused at shutdown).
                        pending.addAndGet(-letters.size());
                        for (int i = 0; i < letters.size(); i++) {
                            unsafe(letters.get(i), settled.get(i), failure != null ? failure
                                    : new CancellationException("dead-letter send cancelled"));
                        }
                    }
                })
                .chain(failures -> {
                    List<Uni<Void>> retried = new ArrayList<>();
                    for (int i = 0; i < failures.length; i++) {
                        Letter letter = letters.get(i);
                        CompletableFuture<Void> safe = settled.get(i);
                        if (failures[i] == null) {
                            pending.decrementAndGet();
                            safe(letter, safe);
                        } else {
                            retried.add(afterFailure(letter, failures[i])
                                    .onTermination().invoke((ok, failure, cancelled) -> {
                                        if (failure == null && !cancelled) {
                                            safe(letter, safe);
                                        } else {
                                            unsafe(letter, safe, failure != null ? failure
                                                    : new CancellationException("dead-letter send cancelled"));
                                        }
                                    }));
                        }
                    }
                    if (retried.isEmpty()) {
                        sent();
                        return Uni.createFrom().voidItem();
                    }
                    return Uni.join().all(retried).andFailFast().replaceWithVoid();
                });
    }

    private void safe(Letter letter, CompletableFuture<Void> settled) {
        inFlight.remove(letter.source(), settled);
        settled.complete(null);
    }

    private void unsafe(Letter letter, CompletableFuture<Void> settled, Throwable failure) {
        inFlight.remove(letter.source(), settled);
        settled.completeExceptionally(failure);
    }

    /** A letter whose first send failed: stored instead if it can never be sent, else sent again with backoff. */
    private Uni<Void> afterFailure(Letter letter, Throwable firstFailure) {
        Uni<Void> outcome;
        if (canNeverBeSent(firstFailure)) {
            outcome = storeInstead(letter.entry().get(), firstFailure);
        } else {
            failed(firstFailure);
            outcome = ShutdownSignal.isStopping() ? Uni.createFrom().failure(firstFailure) : resent(letter);
        }
        return outcome.eventually(pending::decrementAndGet);
    }

    private Uni<Void> resent(Letter letter) {
        return Uni.createFrom().voidItem().onItem().delayIt().by(FIRST_BACKOFF)
                .chain(() -> Uni.createFrom().<Void>emitter(emitter -> producer().send(letter.copy(), (metadata, error) -> {
                    if (error == null) {
                        emitter.complete(null);
                    } else {
                        emitter.fail(error);
                    }
                })).runSubscriptionOn(sendThread))
                .onItem().invoke(this::sent)
                .onFailure(DeadLetterSender::canNeverBeSent).recoverWithUni(error -> storeInstead(letter.entry().get(), error))
                .onFailure().invoke(this::failed)
                .onFailure(error -> !ShutdownSignal.isStopping()).retry()
                .withBackOff(FIRST_BACKOFF, MAX_BACKOFF).withJitter(0.5).indefinitely();
    }

    private Uni<Void> storeInstead(DeadLetter letter, Throwable failure) {
        metrics.deadLetterUnsendable();
        LOG.warnf("the DLQ topic %s cannot take the dead letter from %s/%d offset %d (%s); storing it in"
                + " dlq_events only", dlqTopic, letter.sourceTopic(), letter.sourcePartition(), letter.sourceOffset(),
                failure.toString());
        return store.record(java.util.List.of(letter));
    }

    private void sent() {
        if (failingSince != null) {
            LOG.infof("sends to the DLQ topic %s succeed again (failing since %s)", dlqTopic, failingSince);
            failingSince = null;
        }
    }

    private void failed(Throwable failure) {
        if (ShutdownSignal.isStopping()) {
            // Not a DLQ outage: the stop closed the producer under a send. The batch stays
            // unacknowledged and its next owner dead-letters the record again.
            LOG.infof("dead-letter send stopped by shutdown: %s", failure.toString());
            return;
        }
        metrics.deadLetterSendFailed();
        lastFailure = failure.getClass().getName() + ": " + failure.getMessage();
        if (failingSince == null) {
            failingSince = Instant.now();
            LOG.errorf("cannot send dead letters to the DLQ topic %s: %s; retrying with backoff, and the affected"
                    + " partitions do not commit past them meanwhile", dlqTopic, lastFailure);
        } else {
            LOG.debugf(failure, "DLQ send failed again");
        }
    }

    /** Failures that no retry can fix: the record itself does not fit the DLQ topic. */
    private static boolean canNeverBeSent(Throwable failure) {
        return failure instanceof RecordTooLargeException || failure instanceof InvalidRecordException;
    }

    private Producer<byte[], byte[]> producer() {
        Producer<byte[], byte[]> current = producer;
        if (current == null) {
            synchronized (this) {
                current = producer;
                if (current == null) {
                    current = new KafkaProducer<>(producerConfig());
                    producer = current;
                }
            }
        }
        return current;
    }

    private Map<String, Object> producerConfig() {
        Map<String, Object> config = clients.config(Map.of());
        config.put(ProducerConfig.CLIENT_ID_CONFIG, "streamsre-dead-letters");
        config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        // Dead letters come a few per batch: with linger.ms=5 they left in many small produce requests,
        // and a poisoned drain (1 % poison, a million events) cost this producer's thread and the
        // broker 1.7 s more CPU than with 50 ms, and poisoned / clean fell to 0.84-0.87x (0.93-0.96x with
        // 50 ms; docs/benchmarks.md, "Dead letters and the poisoned drain"). Only the batch's commit waits
        // for a send, and it can wait 50 ms.
        config.put(ProducerConfig.LINGER_MS_CONFIG, 50);
        // Fail an attempt within seconds (missing topic, broker away), and retry it here with backoff.
        config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 5_000);
        config.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 20_000);
        return config;
    }

    @PreDestroy
    void close() {
        sendThread.shutdownNow();
        Producer<byte[], byte[]> current = producer;
        if (current != null) {
            current.close(Duration.ofSeconds(2));
        }
    }
}
