package dev.streamsre.retention;

import dev.streamsre.config.OutsideConsumerMode;
import dev.streamsre.config.StreamSreConfig;
import dev.streamsre.failure.ShutdownSignal;
import dev.streamsre.observability.PipelineMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.quarkus.scheduler.Scheduled;
import io.vertx.mutiny.sqlclient.Pool;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;
import java.time.Duration;
import org.jboss.logging.Logger;

/**
 * Keeps {@code dlq_events} bounded when an operator asks for it: deletes entries whose latest
 * failure is older than {@code streamsre.consumer.dlq-retention} (off by default: a dead letter
 * is evidence until someone decides it is not), a chunk at a time, while the consumer runs.
 */
@ApplicationScoped
public class DeadLetterPruner {

    private static final Logger LOG = Logger.getLogger(DeadLetterPruner.class);
    private static final String DELETE_CHUNK = """
            DELETE FROM dlq_events WHERE id IN (
                SELECT id FROM dlq_events
                WHERE coalesce(last_failed_at, first_failed_at) < now() - make_interval(secs => $1) LIMIT $2)""";

    private final Duration retention;
    /** Looked up on first use: in producer mode the datasource is deactivated (see ReviewSink). */
    private final Instance<Pool> pools;
    private final Timer deleteTimer;
    private final Counter pruned;

    DeadLetterPruner(StreamSreConfig settings, Instance<Pool> pools,
            PipelineMetrics metrics, io.micrometer.core.instrument.MeterRegistry registry) {
        this.retention = settings.consumer().dlqRetention();
        this.pools = pools;
        this.deleteTimer = metrics.query("prune_dlq");
        this.pruned = Counter.builder("dlq_pruned").description("dlq_events rows deleted past streamsre.consumer.dlq-retention")
                .register(registry);
    }

    @Scheduled(every = "${streamsre.consumer.ledger-prune-interval}", delayed = "5s",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP, skipExecutionIf = OutsideConsumerMode.class)
    void prune() {
        if (retention.isZero() || ShutdownSignal.isStopping()) {
            return;
        }
        try {
            long total = ChunkedDelete.olderThan(pools.get(), DELETE_CHUNK, retention, deleteTimer, pruned::increment);
            if (total > 0) {
                LOG.infof("pruned %d dlq_events rows whose latest failure is older than %s", total, retention);
            }
        } catch (RuntimeException e) {
            LOG.warnf("pruning dlq_events stopped, next try in one interval: %s", e.toString());
        }
    }
}
