package dev.streamsre.failure;

import dev.streamsre.observability.PipelineMetrics;
import io.smallrye.faulttolerance.api.BeforeRetryHandler;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.faulttolerance.ExecutionContext;
import org.jboss.logging.Logger;

/**
 * Runs before every retry of a guarded database call: counts it ({@code retries_total}) and logs
 * why, so an outage or a slow database is visible while it lasts, not only once it is over.
 */
@ApplicationScoped
public class CountRetries implements BeforeRetryHandler {

    private static final Logger LOG = Logger.getLogger(CountRetries.class);

    private final PipelineMetrics metrics;

    CountRetries(PipelineMetrics metrics) {
        this.metrics = metrics;
    }

    @Override
    public void handle(ExecutionContext context) {
        metrics.retried();
        Throwable failure = context.getFailure();
        FailureClassifier.Classification verdict = FailureClassifier.classify(failure);
        // Circuit-open rejections are cheap and frequent during an outage: keep them at debug.
        if (FailureClassifier.CIRCUIT_OPEN.equals(verdict.reasonCode())) {
            LOG.debugf("retrying %s: circuit open", context.getMethod().getName());
        } else {
            LOG.warnf("retrying %s after transient failure: reason=%s sqlstate=%s error=%s",
                    context.getMethod().getName(), verdict.reasonCode(), FailureClassifier.sqlState(failure),
                    failure == null ? null : RedactedDatabaseException.of(failure).toString());
        }
    }
}
