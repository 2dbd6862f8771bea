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
 * Keeps the idempotency ledger ({@code processed_events}) and the receipts from growing forever:
 * deletes the rows older than the dedupe horizon ({@code streamsre.consumer.dedupe-horizon}), a
 * chunk at a time, while the consumer keeps writing. Rows the reconciler has not yet proved stay
 * (dev.streamsre.audit): pruning never takes the evidence of an offset it has not audited.
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
    /**
     * Rows past the horizon, but never at or above the offset the latest audit proved its partition
     * up to ({@code audit_progress.verified_to}): the proof needs them. A partition never audited is
     * pruned by age alone. How far a partition was pruned is recorded in the same transaction
     * ({@code pruned_to}), where the next audit starts.
     */
    private static final String DELETE_CHUNK = """
            WITH doomed AS (
                SELECT l.event_id FROM processed_events l
                  LEFT JOIN audit_progress a ON a.topic = $3 AND a.partition = l.source_partition
                 WHERE l.processed_at < now() - make_interval(secs => $1)
                   AND (a.partition IS NULL OR l.source_offset < a.verified_to)
                 LIMIT $2
            ), deleted AS (
                DELETE FROM processed_events l USING doomed d WHERE l.event_id = d.event_id
                RETURNING l.source_partition, l.source_offset
            ), recorded AS (
                UPDATE audit_progress a SET pruned_to = greatest(a.pruned_to, d.last + 1)
                  FROM (SELECT source_partition, max(source_offset) AS last FROM deleted GROUP BY 1) d
                 WHERE a.topic = $3 AND a.partition = d.source_partition
            )
            SELECT count(*) FROM deleted""";

    /** Receipts past the horizon and below what the latest audit proved; recorded like the ledger's. */
    private static final String DELETE_RECEIPTS_CHUNK = """
            WITH deleted AS (
                DELETE FROM partition_receipts WHERE id IN (
                    SELECT r.id FROM partition_receipts r
                      JOIN audit_progress a ON a.topic = r.topic AND a.partition = r.partition
                     WHERE r.topic = $3 AND r.written_at < now() - make_interval(secs => $1)
                       AND r.last_offset < a.verified_to
                     LIMIT $2)
                RETURNING partition, last_offset
            ), recorded AS (
                UPDATE audit_progress a SET pruned_to = greatest(a.pruned_to, d.last + 1)
                  FROM (SELECT partition, max(last_offset) AS last FROM deleted GROUP BY 1) d
                 WHERE a.topic = $3 AND a.partition = d.partition
            )
            SELECT count(*) FROM deleted""";

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
            total = ChunkedDelete.counted(pools.get(), DELETE_CHUNK, horizon, topic, deleteTimer, metrics::ledgerPruned);
            long receipts = ChunkedDelete.counted(pools.get(), DELETE_RECEIPTS_CHUNK, horizon, topic, deleteTimer, rows -> { });
            if (receipts > 0) {
                LOG.infof("pruned %d partition_receipts rows older than the dedupe horizon (%s), all audited", receipts, horizon);
            }
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
