package dev.streamsre.retention;

import dev.streamsre.config.OutsideConsumerMode;
import dev.streamsre.config.StreamSreConfig;
import dev.streamsre.failure.ShutdownSignal;
import dev.streamsre.observability.PipelineMetrics;
import io.micrometer.core.instrument.Timer;
import io.quarkus.scheduler.Scheduled;
import io.vertx.mutiny.sqlclient.Pool;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.jboss.logging.Logger;

/**
 * Keeps the idempotency ledger ({@code processed_events}) from growing forever: deletes the rows
 * older than the dedupe horizon ({@code streamsre.consumer.dedupe-horizon}), a chunk at a time,
 * while the consumer keeps writing.
 *
 * <p>Safe while consuming: deletes and the consumer's inserts touch different rows (old ones and
 * new ones), each chunk is its own short transaction found through the BRIN index on
 * {@code processed_at} (rows arrive in time order), and a redelivered event the ledger no longer
 * remembers still meets its own review (same review_id, same event_id) and is counted a duplicate
 * ({@link ReviewSink#ALREADY_APPLIED}). The horizon must still
 * be longer than the topic's retention, so that the ledger answers for every record the broker
 * can deliver again: this reads the topic's {@code retention.ms} before each run and refuses to
 * prune, with an error naming the setting, when the horizon is not longer.
 */
@ApplicationScoped
public class LedgerPruner {

    private static final Logger LOG = Logger.getLogger(LedgerPruner.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final String DELETE_CHUNK = """
            DELETE FROM processed_events WHERE event_id IN (
                SELECT event_id FROM processed_events
                WHERE processed_at < now() - make_interval(secs => $1) LIMIT $2)""";

    private final Duration horizon;
    private final String topic;
    private final Admin admin;
    /** Looked up on first use: in producer mode the datasource is deactivated (see ReviewSink). */
    private final Instance<Pool> pools;
    private final Timer deleteTimer;
    private final PipelineMetrics metrics;

    LedgerPruner(StreamSreConfig settings, Admin admin, Instance<Pool> pools,
            PipelineMetrics metrics) {
        this.horizon = settings.consumer().dedupeHorizon();
        this.topic = settings.topic();
        this.admin = admin;
        this.pools = pools;
        this.deleteTimer = metrics.query("prune_ledger");
        this.metrics = metrics;
    }

    @Scheduled(every = "${streamsre.consumer.ledger-prune-interval}", delayed = "5s",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP, skipExecutionIf = OutsideConsumerMode.class)
    void prune() {
        if (horizon.isZero() || ShutdownSignal.isStopping()) {
            return;
        }
        String refusal = retentionProblem();
        if (refusal != null) {
            LOG.error(refusal);
            return;
        }
        long total;
        try {
            total = ChunkedDelete.olderThan(pools.get(), DELETE_CHUNK, horizon, deleteTimer,
                    metrics::ledgerPruned);
        } catch (RuntimeException e) {
            // Nothing to undo (each chunk is its own transaction) and nothing urgent: the next run
            // picks up where this one stopped. A database outage is reported by readiness.
            LOG.warnf("pruning processed_events stopped, next try in one interval: %s", e.toString());
            return;
        }
        if (total > 0) {
            LOG.infof("pruned %d processed_events rows older than the dedupe horizon (%s)", total, horizon);
        }
    }

    /** Null when the horizon is longer than the topic's retention, else why pruning must not run. */
    private String retentionProblem() {
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        long retentionMs;
        try {
            Config config = admin.describeConfigs(List.of(resource)).all()
                    .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).get(resource);
            ConfigEntry entry = config.get(TopicConfig.RETENTION_MS_CONFIG);
            retentionMs = Long.parseLong(entry.value());
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            return "not pruning processed_events this time: cannot read the retention of topic '" + topic + "': " + e;
        }
        if (retentionMs < 0 || horizon.toMillis() <= retentionMs) {
            return "not pruning processed_events: streamsre.consumer.dedupe-horizon (" + horizon + ") must be longer"
                    + " than the retention of topic '" + topic + "' (retention.ms=" + retentionMs
                    + (retentionMs < 0 ? ", unlimited" : "") + "), or 0 to keep the ledger forever";
        }
        return null;
    }
}
