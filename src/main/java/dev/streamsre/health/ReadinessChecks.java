package dev.streamsre.health;

import dev.streamsre.Mode;
import dev.streamsre.config.StreamSreConfig;
import dev.streamsre.consumer.DeadLetterSender;
import dev.streamsre.consumer.WriteRefusal;
import io.smallrye.faulttolerance.api.CircuitBreakerState;
import io.smallrye.health.api.AsyncHealthCheck;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import java.time.Instant;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

/**
 * What {@code /q/health/ready} checks in consumer mode: Kafka, PostgreSQL, the circuit breaker
 * (each bounded by 2 s) and whether dead letters reach the DLQ topic. Not ready means "do not count on me to make progress": during an outage the
 * consumer stays alive (liveness checks no dependency, so Kubernetes does not restart a healthy
 * process for someone else's outage) and resumes by itself.
 */
@ApplicationScoped
public class ReadinessChecks {

    private final Mode mode;
    private final DependencyMonitor monitor;
    private final DeadLetterSender deadLetters;
    private final WriteRefusal writeRefusal;

    ReadinessChecks(StreamSreConfig settings, DependencyMonitor monitor,
            DeadLetterSender deadLetters, WriteRefusal writeRefusal) {
        this.mode = settings.mode();
        this.monitor = monitor;
        this.deadLetters = deadLetters;
        this.writeRefusal = writeRefusal;
    }

    @Produces
    @Readiness
    @ApplicationScoped
    AsyncHealthCheck kafka() {
        return () -> monitor.kafka().map(up -> {
            HealthCheckResponseBuilder response = HealthCheckResponse.named("kafka").status(up);
            String problem = monitor.kafkaProblem();
            return (up || problem == null ? response : response.withData("error", problem)).build();
        });
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

    /**
     * Down while PostgreSQL answers but refuses every write, a known-good probe included (a setting
     * it cannot parse, a NOT NULL column added under the consumer, a revoked privilege, a read-only
     * replica): says why with the SQLSTATE and the redacted message, never a value.
     */
    @Produces
    @Readiness
    @ApplicationScoped
    AsyncHealthCheck postgresqlWrites() {
        return () -> {
            if (mode != Mode.CONSUMER) {
                return notUsed("postgresql-writes");
            }
            WriteRefusal.Refusal refusal = writeRefusal.current();
            HealthCheckResponseBuilder response = HealthCheckResponse.named("postgresql-writes").status(refusal == null);
            if (refusal != null) {
                response.withData("sqlstate", String.valueOf(refusal.sqlState()))
                        .withData("error", refusal.message())
                        .withData("refusing_since", refusal.since().toString());
            }
            return Uni.createFrom().item(response.build());
        };
    }

    /**
     * Down while sends to the DLQ topic fail: the partitions holding those dead letters do not
     * commit past them, so the consumer cannot be counted on to make progress there.
     */
    @Produces
    @Readiness
    @ApplicationScoped
    AsyncHealthCheck deadLetterQueue() {
        return () -> {
            if (mode != Mode.CONSUMER) {
                return notUsed("dead-letter-queue");
            }
            Instant failingSince = deadLetters.failingSince();
            HealthCheckResponseBuilder response = HealthCheckResponse.named("dead-letter-queue")
                    .status(failingSince == null).withData("pending", deadLetters.pending());
            if (failingSince != null) {
                response.withData("failing_since", failingSince.toString())
                        .withData("error", String.valueOf(deadLetters.lastFailure()));
            }
            return Uni.createFrom().item(response.build());
        };
    }

    private Uni<HealthCheckResponse> notUsed(String name) {
        return Uni.createFrom().item(HealthCheckResponse.named(name).up().withData("used", "not in " + mode + " mode")
                .build());
    }
}
