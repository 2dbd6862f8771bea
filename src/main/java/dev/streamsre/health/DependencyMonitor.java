package dev.streamsre.health;

import dev.streamsre.Mode;
import dev.streamsre.config.OutsideConsumerMode;
import dev.streamsre.config.StreamSreConfig;
import dev.streamsre.observability.PipelineMetrics;
import dev.streamsre.consumer.ReviewSink;
import io.quarkus.scheduler.Scheduled;
import io.smallrye.faulttolerance.api.CircuitBreakerMaintenance;
import io.smallrye.faulttolerance.api.CircuitBreakerState;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.errors.AuthenticationException;

/**
 * Checks the consumer's dependencies, each within {@link #CHECK_TIMEOUT}: for the readiness probe
 * when it asks, and every 5 s for the {@code dependency_up} gauges, so Prometheus sees a dependency
 * go away even when no probe is polling. The circuit breaker's state is SmallRye Fault Tolerance's
 * own metric ({@code ft_circuitbreaker_state_current}); readiness reads it here.
 */
@ApplicationScoped
public class DependencyMonitor {

    /** A probe must answer well within Kubernetes' default 1 s..10 s probe timeouts. */
    static final Duration CHECK_TIMEOUT = Duration.ofSeconds(2);

    private final Admin admin;
    /** Looked up on first use: in producer mode the datasource is deactivated (see ReviewSink). */
    private final Instance<Pool> pools;
    private final CircuitBreakerMaintenance circuits;
    private final AtomicInteger kafkaUp = new AtomicInteger(1);
    private final AtomicInteger postgresUp = new AtomicInteger(1);
    /** Why the last Kafka check failed (exception class and Kafka's message, which names no credential), or null. */
    private volatile String kafkaProblem;

    DependencyMonitor(StreamSreConfig settings, Admin admin, Instance<Pool> pools,
            CircuitBreakerMaintenance circuits, PipelineMetrics metrics) {
        this.admin = admin;
        this.pools = pools;
        this.circuits = circuits;
        if (settings.mode() == Mode.CONSUMER) {
            metrics.gauge("dependency_up", "1 when the dependency answered its last check within 2 s, else 0",
                    kafkaUp::get, "dependency", "kafka");
            metrics.gauge("dependency_up", "1 when the dependency answered its last check within 2 s, else 0",
                    postgresUp::get, "dependency", "postgresql");
        }
    }

    /** True when a broker of the cluster answered within the timeout. */
    public Uni<Boolean> kafka() {
        return Uni.createFrom()
                .completionStage(() -> admin.describeCluster(new DescribeClusterOptions()
                        .timeoutMs((int) CHECK_TIMEOUT.toMillis())).nodes().toCompletionStage())
                .map(nodes -> !nodes.isEmpty())
                .invoke(up -> kafkaProblem = up ? null : "no broker in the cluster")
                .ifNoItem().after(CHECK_TIMEOUT).recoverWithItem(() -> {
                    kafkaProblem = "no answer within " + CHECK_TIMEOUT.toSeconds() + " s";
                    return false;
                })
                .onFailure().recoverWithItem(failure -> {
                    Throwable cause = failure.getCause() != null ? failure.getCause() : failure;
                    kafkaProblem = (cause instanceof AuthenticationException ? "authentication failed: " : "")
                            + cause.getClass().getSimpleName() + ": " + cause.getMessage();
                    return false;
                })
                .invoke(up -> kafkaUp.set(up ? 1 : 0));
    }

    /** Why Kafka's last check failed, or null when it answered. */
    public String kafkaProblem() {
        return kafkaProblem;
    }

    /** True when PostgreSQL answered {@code SELECT 1} within the timeout (bypassing the circuit breaker). */
    public Uni<Boolean> postgres() {
        return Uni.createFrom().deferred(() -> pools.get().query("SELECT 1").execute())
                .map(rows -> true)
                .ifNoItem().after(CHECK_TIMEOUT).recoverWithItem(false)
                .onFailure().recoverWithItem(false)
                .invoke(up -> postgresUp.set(up ? 1 : 0));
    }

    /** The state of the circuit breaker in front of PostgreSQL. */
    public CircuitBreakerState circuit() {
        try {
            return circuits.currentState(ReviewSink.CIRCUIT);
        } catch (IllegalArgumentException e) {
            // Not created yet: no write has been guarded so far.
            return CircuitBreakerState.CLOSED;
        }
    }

    @Scheduled(every = "5s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP,
            skipExecutionIf = OutsideConsumerMode.class)
    Uni<Void> refreshGauges() {
        return Uni.combine().all().unis(kafka(), postgres()).discardItems();
    }
}
