package dev.streamsre.sink;

import dev.streamsre.failure.DatabaseRefusingWritesException;
import dev.streamsre.failure.FailureClassifier;
import dev.streamsre.failure.PoisonRecordException;
import dev.streamsre.failure.RedactedDatabaseException;
import dev.streamsre.failure.RefusedByDatabaseException;
import dev.streamsre.failure.ShutdownSignal;
import dev.streamsre.observability.PipelineMetrics;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Writes a batch and, when the database refuses it for a reason some record caused, finds the
 * records at fault by splitting the batch in halves, so that a batch of 1,000 with one bad record
 * costs about 2 x log2(1000) = 20 extra transactions, not 1,000; every other record lands.
 *
 * <p>The halves are written one after the other, in offset order, so events of one key are still
 * applied in order. A lone record refused with a permanent error (data exception, constraint,
 * program limit) is refused at once. A lone record failing with an error nobody classified is
 * tried again, alone, up to {@code streamsre.consumer.max-attempts} times; then, if PostgreSQL
 * accepts a probe write, it is refused as {@code max_retries_exceeded}; if it does not, the database
 * is what fails, and the record is retried like an outage, never dead-lettered.
 *
 * <p>The retries here are Mutiny's ({@code retry().withBackOff}): they wrap a recursive step whose
 * limits depend on the record, which SmallRye Fault Tolerance's fixed annotations cannot express.
 */
@ApplicationScoped
public class IsolatingWriter {

    private static final Logger LOG = Logger.getLogger(IsolatingWriter.class);
    private static final Duration ALONE_BACKOFF = Duration.ofMillis(200);
    private static final Duration ALONE_MAX_BACKOFF = Duration.ofSeconds(2);
    private static final Duration OUTAGE_BACKOFF = Duration.ofSeconds(1);
    private static final Duration OUTAGE_MAX_BACKOFF = Duration.ofSeconds(30);

    private final ReviewSink sink;
    private final PipelineMetrics metrics;
    private final int maxAttempts;

    /** @param maxAttempts {@code streamsre.consumer.max-attempts}, defined (default, range) in ConsumerConfig */
    IsolatingWriter(ReviewSink sink, PipelineMetrics metrics,
            @ConfigProperty(name = "streamsre.consumer.max-attempts") int maxAttempts) {
        this.sink = sink;
        this.metrics = metrics;
        this.maxAttempts = maxAttempts;
    }

    /**
     * One result per event, in order. Fails only with a transient failure once shutdown stopped
     * the retries; the caller then leaves the batch uncommitted.
     */
    public Uni<List<WriteResult>> write(List<PendingEvent> events) {
        if (events.isEmpty()) {
            return Uni.createFrom().item(List.of());
        }
        AtomicInteger transactions = new AtomicInteger();
        return write(events, 1, transactions).invoke(results -> {
            if (transactions.get() > 1) {
                long refused = results.stream().filter(WriteResult.Refused.class::isInstance).count();
                LOG.infof("isolated %d refused record(s) of a batch of %d in %d transactions", refused, events.size(),
                        transactions.get());
            }
        });
    }

    /** @param attempts how many writes, this one included, each of these events has been part of */
    private Uni<List<WriteResult>> write(List<PendingEvent> events, int attempts, AtomicInteger transactions) {
        return Uni.createFrom().deferred(() -> {
            if (transactions.getAndIncrement() > 0) {
                metrics.isolationWrite();
            }
            return sink.write(events);
        })
                .map(outcomes -> results(events, outcomes))
                .onFailure(RefusedByDatabaseException.class).recoverWithUni(refused -> events.size() == 1
                        ? alone(events.get(0), refused, attempts, transactions)
                        : split(events, attempts, transactions));
    }

    private Uni<List<WriteResult>> split(List<PendingEvent> events, int attempts, AtomicInteger transactions) {
        int half = events.size() / 2;
        List<PendingEvent> first = events.subList(0, half);
        List<PendingEvent> second = events.subList(half, events.size());
        return write(first, attempts + 1, transactions).chain(firstResults -> write(second, attempts + 1, transactions)
                .map(secondResults -> {
                    List<WriteResult> all = new ArrayList<>(events.size());
                    all.addAll(firstResults);
                    all.addAll(secondResults);
                    return all;
                }));
    }

    /** A record refused on its own: permanent at once; unknown after its attempts, if the database takes other writes. */
    private Uni<List<WriteResult>> alone(PendingEvent event, Throwable refused, int attemptsSoFar,
            AtomicInteger transactions) {
        if (FailureClassifier.isPermanent(refused)) {
            return Uni.createFrom().item(List.of(refusedResult(refused, attemptsSoFar)));
        }
        AtomicInteger attempts = new AtomicInteger(attemptsSoFar);
        Uni<List<WriteResult>> retriedAlone = Uni.createFrom().deferred(() -> {
            attempts.incrementAndGet();
            transactions.incrementAndGet();
            metrics.isolationWrite();
            return sink.write(List.of(event));
        }).map(outcomes -> results(List.of(event), outcomes));
        // At least one try alone; more until the record has been part of max-attempts writes in all.
        int retries = maxAttempts - attemptsSoFar - 1;
        if (retries > 0) {
            retriedAlone = retriedAlone
                    .onFailure(failure -> FailureClassifier.isUnknown(failure) && !ShutdownSignal.isStopping())
                    .retry().withBackOff(ALONE_BACKOFF, ALONE_MAX_BACKOFF).atMost(retries);
        }
        return retriedAlone
                .onFailure(FailureClassifier::isPermanent).recoverWithItem(failure ->
                        List.of(refusedResult(failure, attempts.get())))
                .onFailure(FailureClassifier::isUnknown).recoverWithUni(failure -> sink.acceptsWrites()
                        .map(accepted -> {
                            if (!accepted) {
                                throw new DatabaseRefusingWritesException(failure);
                            }
                            RedactedDatabaseException redacted = RedactedDatabaseException.of(failure);
                            LOG.warnf(redacted, "record at partition=%d offset=%d keeps failing (%d attempts) while"
                                    + " PostgreSQL accepts other writes: dead-lettering it", event.partition(),
                                    event.offset(), attempts.get());
                            return List.<WriteResult>of(new WriteResult.Refused(new PoisonRecordException(
                                    FailureClassifier.MAX_RETRIES_EXCEEDED, "tried " + attempts.get()
                                            + " times, still failing: " + redacted.getMessage(), redacted, attempts.get())));
                        }))
                // The database fails the probe too: an outage, not poison. Retry the record until it
                // lands or is refused for a reason of its own; stop when shutdown begins.
                .onFailure(failure -> failure instanceof DatabaseRefusingWritesException && !ShutdownSignal.isStopping())
                .invoke(failure -> LOG.warnf("PostgreSQL refuses a probe write as well as the record at"
                        + " partition=%d offset=%d: retrying it as an outage (%s)", event.partition(), event.offset(),
                        RedactedDatabaseException.of(failure.getCause()).getMessage()))
                .onFailure(failure -> failure instanceof DatabaseRefusingWritesException && !ShutdownSignal.isStopping())
                .retry().withBackOff(OUTAGE_BACKOFF, OUTAGE_MAX_BACKOFF).indefinitely();
    }

    private static WriteResult refusedResult(Throwable failure, int attempts) {
        RedactedDatabaseException redacted = RedactedDatabaseException.of(failure);
        return new WriteResult.Refused(new PoisonRecordException(FailureClassifier.classify(failure).reasonCode(),
                redacted.getMessage(), redacted, attempts));
    }

    private static List<WriteResult> results(List<PendingEvent> events, List<WriteOutcome> outcomes) {
        List<WriteResult> results = new ArrayList<>(outcomes.size());
        for (int i = 0; i < outcomes.size(); i++) {
            results.add(switch (outcomes.get(i)) {
                case LANDED -> WriteResult.LANDED;
                case DUPLICATE -> WriteResult.DUPLICATE;
                case REVIEW_ID_CONFLICT -> new WriteResult.Refused(new PoisonRecordException(
                        FailureClassifier.REVIEW_ID_CONFLICT, "review_id '" + events.get(i).event().payload().reviewId()
                                + "' already belongs to another event"));
            });
        }
        return results;
    }
}
