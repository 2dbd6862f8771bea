package dev.streamsre.health;

import dev.streamsre.Mode;
import io.smallrye.faulttolerance.api.CircuitBreakerState;
import io.smallrye.health.api.AsyncHealthCheck;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * What {@code /q/health/ready} checks in consumer mode: Kafka, PostgreSQL and the circuit breaker,
 * each bounded by 2 s. Not ready means "do not count on me to make progress": during an outage the
 * consumer stays alive (liveness checks no dependency, so Kubernetes does not restart a healthy
 * process for someone else's outage) and resumes by itself.
 */
@ApplicationScoped
public class ReadinessChecks {

    private final Mode mode;
    private final DependencyMonitor monitor;

    ReadinessChecks(@ConfigProperty(name = "streamsre.mode") Mode mode, DependencyMonitor monitor) {
        this.mode = mode;
        this.monitor = monitor;
    }

    @Produces
    @Readiness
    @ApplicationScoped
    AsyncHealthCheck kafka() {
        return () -> monitor.kafka().map(up -> HealthCheckResponse.named("kafka").status(up).build());
    }

    @Produces
    @Readiness
    @ApplicationScoped
    AsyncHealthCheck postgresql() {
        return () -> mode != Mode.CONSUMER ? notUsed("postgresql")
                : monitor.postgres().map(up -> HealthCheckResponse.named("postgresql").status(up).build());
    }

    @Produces
    @Readiness
    @ApplicationScoped
    AsyncHealthCheck circuitBreaker() {
        return () -> {
            if (mode != Mode.CONSUMER) {
                return notUsed("postgresql-circuit-breaker");
            }
            CircuitBreakerState state = monitor.circuit();
            return Uni.createFrom().item(HealthCheckResponse.named("postgresql-circuit-breaker")
                    .status(state != CircuitBreakerState.OPEN).withData("state", state.name()).build());
        };
    }

    private Uni<HealthCheckResponse> notUsed(String name) {
        return Uni.createFrom().item(HealthCheckResponse.named(name).up().withData("used", "not in " + mode + " mode")
                .build());
    }
}
