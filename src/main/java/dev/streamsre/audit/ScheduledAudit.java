package dev.streamsre.audit;

import dev.streamsre.config.OutsideConsumerMode;
import dev.streamsre.config.StreamSreConfig;
import dev.streamsre.failure.ShutdownSignal;
import dev.streamsre.observability.PipelineMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;
import org.jboss.logging.Logger;

/**
 * Consumer mode's reconciler: audits on a schedule ({@code streamsre.audit.interval}) and exports
 * what the latest audit found. One replica audits at a time (the others find the lock taken), and
 * every replica reads the findings back from {@code audit_progress}, so each exports the same
 * figures whichever of them ran the audit.
 */
@ApplicationScoped
public class ScheduledAudit {

    private static final Logger LOG = Logger.getLogger(ScheduledAudit.class);
    private static final String FINDINGS = """
            SELECT partition, unaccounted, pending, verified_to, extract(epoch FROM audited_at)
              FROM audit_progress WHERE topic = ? AND audited_at IS NOT NULL""";

    private final Reconciler reconciler;
    private final String topic;
    private final PipelineMetrics metrics;
    private final Instance<DataSource> dataSource;
    private final Counter failures;
    /** Per partition: {unaccounted, pending dead letters, verified-to offset}, as the latest audit left them. */
    private final Map<Integer, long[]> findings = new ConcurrentHashMap<>();
    private final AtomicLong lastAuditSeconds = new AtomicLong();

    ScheduledAudit(Reconciler reconciler, StreamSreConfig config, PipelineMetrics metrics, MeterRegistry registry,
            Instance<DataSource> dataSource) {
        this.reconciler = reconciler;
        this.topic = config.topic();
        this.metrics = metrics;
        this.dataSource = dataSource;
        this.failures = Counter.builder("reconcile_audit_failures")
                .description("Audits that could not run to the end (Kafka or PostgreSQL unreachable)").register(registry);
        metrics.gauge("reconcile_last_audit_timestamp_seconds", "When the latest audit of the topic ended (any replica)",
                lastAuditSeconds::get, "topic", topic);
    }

    @Scheduled(every = "${streamsre.audit.interval}", delayed = "10s",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP, skipExecutionIf = OutsideConsumerMode.class)
    void audit() {
        if (ShutdownSignal.isStopping()) {
            return;
        }
        try {
            reconciler.audit(false).ifPresent(report -> {
                if (report.unaccounted() > 0) {
                    LOG.errorf("audit: %,d records unaccounted for%n%s", report.unaccounted(), report.render());
                } else {
                    LOG.debugf("audit: every one of the %,d offsets read is accounted for (%d ms)",
                            report.offsetsAudited(), report.took().toMillis());
                }
            });
        } catch (Exception e) {
            failures.increment();
            LOG.warnf("audit could not run, next try in one interval: %s", e.toString());
        }
        refresh();
    }

    /** Reads the latest findings back, whoever wrote them, into the gauges. */
    private void refresh() {
        try (Connection db = dataSource.get().getConnection();
                PreparedStatement query = db.prepareStatement(FINDINGS)) {
            query.setString(1, topic);
            try (ResultSet rows = query.executeQuery()) {
                while (rows.next()) {
                    int partition = rows.getInt(1);
                    long[] values = {rows.getLong(2), rows.getLong(3), rows.getLong(4)};
                    if (findings.put(partition, values) == null) {
                        register(partition);
                    }
                    lastAuditSeconds.accumulateAndGet((long) rows.getDouble(5), Math::max);
                }
            }
        } catch (Exception e) {
            LOG.debugf("cannot read the audit's findings (keeping the last values): %s", e.toString());
        }
    }

    private void register(int partition) {
        String p = Integer.toString(partition);
        metrics.gauge("reconcile_unaccounted_records", "Records below the committed offset that no row in PostgreSQL"
                + " accounts for, per the latest audit", () -> findings.get(partition)[0], "topic", topic, "partition", p);
        metrics.gauge("reconcile_pending_dead_letters", "Dead letters not yet in dlq_events, within"
                + " streamsre.audit.dead-letter-grace", () -> findings.get(partition)[1], "topic", topic, "partition", p);
        metrics.gauge("reconcile_audited_offset", "Every offset below this was proved accounted for by the latest audit",
                () -> findings.get(partition)[2], "topic", topic, "partition", p);
    }
}
