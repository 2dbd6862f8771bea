package dev.streamsre.failure;

import io.quarkus.runtime.ShutdownEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

/**
 * Tells long-running work that shutdown has begun, so that retries stop instead of holding the
 * process past its grace period. Static because the retry predicate is instantiated by SmallRye
 * Fault Tolerance, not by CDI.
 */
@Singleton
public class ShutdownSignal {

    private static volatile boolean stopping;

    /** Observed before the connectors and the database pool close (lower priority runs first). */
    void onShutdown(@Observes @Priority(1) ShutdownEvent event) {
        stopping = true;
    }

    public static boolean isStopping() {
        return stopping;
    }
}
