package dev.streamsre.consumer;

import dev.streamsre.failure.RedactedDatabaseException;
import dev.streamsre.observability.PipelineMetrics;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.time.Instant;
import org.jboss.logging.Logger;

/**
 * Whether PostgreSQL is refusing every write right now: set when a known-good probe write is
 * refused as well as a record, cleared by the next write that lands. While set, it is an outage,
 * not poison: nothing is dead-lettered, the partition waits, readiness is down with the refusal's
 * SQLSTATE and redacted message, and {@code postgresql_refusing_writes} is 1 for the alert.
 *
 * <p>This is the state of a refusal that every write meets whatever its data: a setting PostgreSQL
 * cannot parse, a NOT NULL column added under a running consumer, a revoked privilege, a read-only
 * replica, a full disk. Connection-level outages show in the circuit breaker and {@code dependency_up}.
 */
@ApplicationScoped
public class WriteRefusal {

    private static final Logger LOG = Logger.getLogger(WriteRefusal.class);

    /** Why the last probe write was refused, and since when writes have been refused; null while writes land. */
    public record Refusal(String sqlState, String message, Instant since) {
    }

    private volatile Refusal current;

    WriteRefusal(PipelineMetrics metrics) {
        metrics.gauge("postgresql_refusing_writes", "1 while PostgreSQL refuses a known-good probe write as well as"
                + " the records (an outage: nothing is dead-lettered), else 0", () -> current == null ? 0 : 1);
    }

    /** The probe write was refused too: from now on (or still) an outage. */
    void refused(Throwable probeFailure) {
        RedactedDatabaseException redacted = RedactedDatabaseException.of(probeFailure);
        Refusal previous = current;
        current = new Refusal(redacted.sqlState(), redacted.getMessage(), previous == null ? Instant.now() : previous.since());
        if (previous == null) {
            LOG.errorf("PostgreSQL refuses every write, a known-good probe included (%s): an outage, not poison;"
                    + " nothing is dead-lettered, the partition waits and retries with backoff", redacted);
        }
    }

    /** A write landed (or a probe was accepted): writes are accepted again. */
    void accepted() {
        Refusal previous = current;
        if (previous != null) {
            current = null;
            LOG.infof("PostgreSQL accepts writes again after %d s of refusals", Duration.between(previous.since(),
                    Instant.now()).toSeconds());
        }
    }

    /** The refusal in progress, or null while writes are accepted. */
    public Refusal current() {
        return current;
    }
}
