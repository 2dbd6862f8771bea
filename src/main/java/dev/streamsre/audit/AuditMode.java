package dev.streamsre.audit;

import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.locks.LockSupport;
import org.jboss.logging.Logger;

/**
 * Audit mode: one audit, its report on standard output, and an exit status a script or a drill can
 * test: 0 when every offset the group committed is accounted for, 1 when some are not, 2 when Kafka
 * or PostgreSQL could not be asked.
 */
@ApplicationScoped
public class AuditMode {

    static final int EXIT_ACCOUNTED = 0;
    static final int EXIT_UNACCOUNTED = 1;
    static final int EXIT_UNREACHABLE = 2;
    /** A consumer's scheduled audit may hold the lock: wait for it this long. */
    private static final Duration LOCK_WAIT = Duration.ofSeconds(120);
    private static final Logger LOG = Logger.getLogger(AuditMode.class);

    private final Reconciler reconciler;

    AuditMode(Reconciler reconciler) {
        this.reconciler = reconciler;
    }

    public int run() {
        long deadline = System.nanoTime() + LOCK_WAIT.toNanos();
        try {
            Optional<AuditReport> report = reconciler.audit(true);
            while (report.isEmpty() && System.nanoTime() < deadline) {
                LockSupport.parkNanos(Duration.ofSeconds(1).toNanos());
                report = reconciler.audit(true);
            }
            if (report.isEmpty()) {
                LOG.errorf("another audit held the lock for %s", LOCK_WAIT);
                return EXIT_UNREACHABLE;
            }
            System.out.print(report.get().render());
            System.out.flush();
            return report.get().unaccounted() == 0 ? EXIT_ACCOUNTED : EXIT_UNACCOUNTED;
        } catch (Exception e) {
            LOG.errorf("audit could not run: %s", e.toString());
            return EXIT_UNREACHABLE;
        }
    }
}
