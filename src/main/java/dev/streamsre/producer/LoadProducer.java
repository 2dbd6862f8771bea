package dev.streamsre.producer;

import dev.streamsre.config.ProducerSettings;
import dev.streamsre.config.StreamSreConfig;
import dev.streamsre.event.EventCodec;
import dev.streamsre.kafka.KafkaClients;
import dev.streamsre.kafka.TopicCheck;
import dev.streamsre.producer.EventGenerator.GeneratedRecord;
import dev.streamsre.producer.EventGenerator.Kind;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.event.Reception;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.jboss.logging.Logger;

/**
 * Producer mode: sends the {@link EventGenerator}'s stream to the main topic at a paced rate, prints
 * progress, and exits with a summary.
 *
 * <p>It drives Kafka's own {@link KafkaProducer} directly rather than a SmallRye outgoing channel: a
 * load generator has to pace and count every single send, and the channel's reactive buffering
 * between the caller and the client would hide the real send rate and cost throughput.
 */
@ApplicationScoped
public class LoadProducer {

    private static final Logger LOG = Logger.getLogger(LoadProducer.class);
    private static final Duration BROKER_CHECK_TIMEOUT = Duration.ofSeconds(10);

    /** Exit codes of producer mode. */
    static final int EXIT_OK = 0;
    static final int EXIT_BROKER_UNREACHABLE = 2;
    static final int EXIT_SEND_ERRORS = 3;

    private final ProducerSettings config;
    private final KafkaClients clients;
    private final String topic;
    private final EventCodec codec = new EventCodec();

    private final MeterRegistry registry;
    private volatile boolean stopRequested;
    /** Counted down once {@link #run} has flushed, printed its summary and is about to return. */
    private final CountDownLatch finished = new CountDownLatch(1);

    LoadProducer(StreamSreConfig settings, KafkaClients clients, MeterRegistry registry) {
        this.registry = registry;
        this.config = settings.producer();
        this.clients = clients;
        this.topic = settings.topic();
    }

    /** Runs the load to its end (duration, event limit or SIGTERM) and returns the process exit code. */
    public int run() {
        try {
            return sendAndReport();
        } finally {
            finished.countDown();
        }
    }

    private int sendAndReport() {
        String unreachable = checkBroker();
        if (unreachable != null) {
            LOG.error(unreachable);
            return EXIT_BROKER_UNREACHABLE;
        }
        long seed = config.seed().orElseGet(() -> ThreadLocalRandom.current().nextLong());
        EventGenerator generator = new EventGenerator(config, codec, seed, Clock.systemUTC());
        Counters counters = new Counters();
        registerMetrics(counters);
        LOG.infof("producer starting: topic=%s brokers=%s rate=%s duration=%s max_events=%d hot_key_pct=%.1f "
                + "poison_pct=%.2f duplicate_pct=%.2f seed=%d", topic, clients.bootstrapServers(),
                config.ratePerSec() == 0 ? "unlimited" : config.ratePerSec() + "/s", config.duration(),
                config.maxEvents(), config.hotKeyPct(), config.poisonPct(), config.duplicatePct(), seed);
        long started = System.nanoTime();
        try (Producer<String, byte[]> producer = new KafkaProducer<>(producerProperties())) {
            // Fetch the topic's metadata before the clock starts: otherwise the first send blocks on
            // it and the paced rate starts with a catch-up burst.
            producer.partitionsFor(topic);
            started = System.nanoTime();
            sendLoop(producer, generator, counters, started);
            producer.flush();
        } finally {
            double seconds = (System.nanoTime() - started) / 1e9;
            LOG.infof("producer summary: sent=%d acked=%d errors=%d events=%d duplicates=%d poison=%d elapsed=%.1fs "
                    + "rate=%.0f/s%s", counters.sent.sum(), counters.acked.sum(), counters.errors.sum(),
                    counters.byKind(Kind.EVENT), counters.byKind(Kind.DUPLICATE), counters.byKind(Kind.POISON), seconds,
                    counters.acked.sum() / Math.max(seconds, 1e-9), stopRequested ? " (stopped by signal)" : "");
        }
        if (counters.errors.sum() > 0) {
            LOG.errorf(counters.firstError.get(), "producer finished with %d failed sends; first failure:",
                    counters.errors.sum());
            return EXIT_SEND_ERRORS;
        }
        return EXIT_OK;
    }

    private void sendLoop(Producer<String, byte[]> producer, EventGenerator generator, Counters counters, long started) {
        long rate = config.ratePerSec();
        long durationNanos = config.duration().toNanos();
        long maxEvents = config.maxEvents() > 0 ? config.maxEvents() : Long.MAX_VALUE;
        long progressNanos = config.progressInterval().toNanos();
        long nextProgress = started + progressNanos;
        long lastProgressSent = 0;
        long lastProgressAt = started;
        long sent = 0;
        while (!stopRequested && sent < maxEvents) {
            long now = System.nanoTime();
            long elapsed = now - started;
            if (durationNanos > 0 && elapsed >= durationNanos) {
                break;
            }
            if (now >= nextProgress) {
                double windowRate = (sent - lastProgressSent) / ((now - lastProgressAt) / 1e9);
                LOG.infof("producer progress: t=%.0fs sent=%d acked=%d errors=%d rate=%.0f/s", elapsed / 1e9, sent,
                        counters.acked.sum(), counters.errors.sum(), windowRate);
                lastProgressSent = sent;
                lastProgressAt = now;
                nextProgress += progressNanos;
            }
            // Pacing by a due count rather than a sleep per event: the OS cannot sleep 20 us
            // accurately, but it can keep the average exact by sending whatever is due.
            long due = rate == 0 ? sent + 1 : Math.min(maxEvents, (long) (elapsed / 1e9 * rate) + 1);
            if (due <= sent) {
                long nextDueAt = started + (long) ((sent) * 1e9 / rate);
                LockSupport.parkNanos(Math.max(10_000L, Math.min(nextDueAt - now, 1_000_000L)));
                continue;
            }
            while (sent < due && !stopRequested) {
                GeneratedRecord record = generator.next();
                counters.count(record.kind());
                producer.send(new ProducerRecord<>(topic, record.key(), record.value()), (metadata, error) -> {
                    if (error == null) {
                        counters.acked.increment();
                    } else {
                        counters.errors.increment();
                        counters.firstError.compareAndSet(null, error);
                    }
                });
                sent++;
                counters.sent.increment();
            }
        }
    }

    /** Fails fast, with a message naming KAFKA_BROKERS, when the broker or the topic is not there. */
    private String checkBroker() {
        return TopicCheck.problem(clients, topic, BROKER_CHECK_TIMEOUT);
    }

    private Map<String, Object> producerProperties() {
        // The shared kafka.* settings (security included), then the producer's own (streamsre.producer.kafka.*).
        Map<String, Object> properties = clients.config(new HashMap<>(config.kafka()));
        properties.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        properties.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        properties.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "streamsre-producer");
        return properties;
    }

    /**
     * SIGTERM: the application stops (Quarkus' shutdown hook on the JVM, the native executable's exit
     * handler) and fires ShutdownEvent first. Stopping the send loop here and waiting for its summary
     * keeps the flush and the summary ahead of the rest of the shutdown, logging included. A JVM
     * shutdown hook of our own raced it instead, and the native executable's quicker stop closed the
     * log before the summary was written. Only a producer that exists is told (IF_EXISTS): the other
     * modes never create it.
     */
    void stopSending(@Observes(notifyObserver = Reception.IF_EXISTS) ShutdownEvent event) {
        stopRequested = true;
        awaitQuietly(finished);
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Send outcomes, updated from the Kafka I/O thread's callbacks. */
    /** What the producer sent, had acknowledged and failed, and the rate it aims at, on /q/metrics. */
    private void registerMetrics(Counters counters) {
        FunctionCounter.builder("producer_events_sent", counters.sent, LongAdder::sum)
                .description("Records handed to the Kafka client").register(registry);
        FunctionCounter.builder("producer_events_acked", counters.acked, LongAdder::sum)
                .description("Records acknowledged by the broker").register(registry);
        FunctionCounter.builder("producer_send_errors", counters.errors, LongAdder::sum)
                .description("Records whose send failed").register(registry);
        Gauge.builder("producer_target_rate_per_second", config, c -> c.ratePerSec())
                .description("Configured rate in records/s (0: as fast as possible)").register(registry);
    }

    private static final class Counters {
        final LongAdder sent = new LongAdder();
        final LongAdder acked = new LongAdder();
        final LongAdder errors = new LongAdder();
        final AtomicReference<Exception> firstError = new AtomicReference<>();
        private final LongAdder[] kinds = {new LongAdder(), new LongAdder(), new LongAdder()};

        void count(Kind kind) {
            kinds[kind.ordinal()].increment();
        }

        long byKind(Kind kind) {
            return kinds[kind.ordinal()].sum();
        }
    }
}
