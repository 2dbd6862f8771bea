package dev.streamsre.consumer;

import dev.streamsre.config.StreamSreConfig;
import dev.streamsre.event.Event;
import dev.streamsre.event.EventCodec;
import dev.streamsre.event.ReviewData;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Runs the consumer's own processing path on synthetic events before the Kafka connector starts
 * polling: the events are encoded, decoded and triaged as records are, then written by the
 * consumer's batch statement on every pooled connection, in transactions that are rolled back.
 *
 * <p>Why: on a fresh JVM the first second of real records paid for loading, linking and compiling
 * that path and for opening and preparing the database connections. Measured on a cold start at
 * 5,000 events/s, broker append to row insert took 353 ms at the median over the first second and
 * 99 ms over the next, while the producer's side stayed under 10 ms; that start decided the p99 of
 * a whole two-minute run. The warm-up pays this before the consumer takes records, about a second
 * of start-up time, and leaves nothing behind: no row and no offset; the metrics count its
 * statements' timings and one call through the fault-tolerance chain.
 *
 * <p>A failing or slow database does not hold the start: the warm-up gives up after
 * {@link #TIMEOUT} and the consumer starts as it would have without it (readiness reports the
 * database). Written by hand because neither Quarkus nor the connector warms an application's
 * own path; the JVM's ahead-of-time caches load classes sooner but do not open connections.
 */
@ApplicationScoped
public class ConsumerWarmUp {

    private static final Logger LOG = Logger.getLogger(ConsumerWarmUp.class);

    /** Key and review_id prefix of the synthetic events; rolled back, so no reader ever sees them. */
    static final String WARM_UP_KEY = "streamsre-warm-up";

    /**
     * Events per rehearsed statement. Small on purpose: what stays slow longest on a cold JVM is the
     * code that runs once per batch (the statement's encoding, the transaction, the reactive
     * chains), which the JIT compiles after a few hundred calls; 4,000 events in batches of 10 call
     * it 400 times, where batches of 250 left the first real second only half as slow.
     */
    static final int BATCH = 10;

    /** The longest the warm-up may delay the start. */
    static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final ReviewSink sink;
    private final BatchTriage triage;
    private final EventCodec codec = new EventCodec();
    private final int events;
    private final int connections;

    ConsumerWarmUp(ReviewSink sink, StreamSreConfig settings,
            @ConfigProperty(name = "quarkus.datasource.reactive.max-size", defaultValue = "20") int poolSize) {
        this.sink = sink;
        this.triage = BatchTriage.of(settings.consumer());
        this.events = settings.consumer().warmUpEvents();
        // Every connection the consumer's batches and the dead-letter store may take, so that none
        // is opened, authenticated and asked to prepare the statement under load.
        this.connections = Math.max(1, Math.min(poolSize, 8));
    }

    /** Called by {@link ConsumerLifecycle} before the messaging extension connects the channels. */
    void warmUp() {
        if (events == 0) {
            return;
        }
        long start = System.nanoTime();
        try {
            int rehearsed = run().await().atMost(TIMEOUT);
            LOG.infof("warm-up: %d synthetic events decoded and written in rolled-back transactions on %d connections"
                    + " in %d ms", rehearsed, connections, (System.nanoTime() - start) / 1_000_000);
        } catch (RuntimeException e) {
            LOG.infof("warm-up stopped after %d ms, starting without it: %s", (System.nanoTime() - start) / 1_000_000,
                    e.toString());
        }
    }

    /**
     * The fault-tolerance chain in front of the real write first (an empty batch passes through
     * retry, circuit breaker and their metrics without a statement; building that chain was most of
     * the classes the first real batch loaded), then the synthetic records: triaged and rehearsed in
     * small batches, one chain of them per connection at once.
     */
    private Uni<Integer> run() {
        List<BatchRecord> records = new ArrayList<>(events);
        Instant now = Instant.now();
        for (int i = 0; i < events; i++) {
            records.add(new BatchRecord(null, 0, i, codec.encode(syntheticEvent(now, i)), -1));
        }
        for (int from = 0; from < events; from += BATCH) {
            triage.triage(records.subList(from, Math.min(events, from + BATCH)));
        }
        List<BatchRecord> decoded = records.stream().filter(BatchRecord::toWrite).toList();
        if (decoded.size() != events) {
            // Only limits configured below an ordinary event's size refuse these; real records would fare the same.
            return Uni.createFrom().failure(new IllegalStateException("the consumer's own limits refuse "
                    + (events - decoded.size()) + " of " + events + " ordinary events"));
        }
        List<Uni<Void>> chains = new ArrayList<>();
        for (int chain = 0; chain < connections; chain++) {
            chains.add(rehearseFrom(decoded, chain * BATCH));
        }
        return sink.write(List.of(), List.of())
                .chain(() -> Uni.join().all(chains).andFailFast())
                .replaceWith(events);
    }

    /** Rehearses the batch starting at {@code from}, then every {@code connections}-th batch after it, one at a time. */
    private Uni<Void> rehearseFrom(List<BatchRecord> decoded, int from) {
        if (from >= decoded.size()) {
            return Uni.createFrom().voidItem();
        }
        return sink.rehearse(decoded.subList(from, Math.min(decoded.size(), from + BATCH)))
                .chain(() -> rehearseFrom(decoded, from + BATCH * connections));
    }

    /** An ordinary event; every other one has non-ASCII text, which takes the strict UTF-8 check. */
    private static Event syntheticEvent(Instant ts, int i) {
        String text = (i % 2 == 0 ? "warm-up review " : "warm-up review, naïve café ") + "x".repeat(i % 40);
        return Event.reviewCreated(UUID.randomUUID(), WARM_UP_KEY, ts,
                new ReviewData(WARM_UP_KEY + ":" + UUID.randomUUID(), 1 + i % ReviewData.MAX_RATING, text));
    }
}
