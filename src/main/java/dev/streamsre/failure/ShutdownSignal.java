package dev.streamsre.failure;

import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.scheduler.Scheduler;
import jakarta.annotation.Priority;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

/**
 * Tells long-running work that shutdown has begun, so that retries stop instead of holding the
 * process past its grace period, and pauses the scheduled jobs (lag sampling, pruning, dependency
 * checks). Static because the retry predicate is instantiated by SmallRye Fault Tolerance, not by CDI.
 */
@Singleton
public class ShutdownSignal {

    private static volatile boolean stopping;

    /** Observed before the connectors and the database pool close (lower priority runs first). */
    void onShutdown(@Observes @Priority(1) ShutdownEvent event, Scheduler scheduler) {
        stopping = true;
        // Quarkus' scheduler keeps firing until the container is destroyed, after the drain: a job
        // handed to a worker in that last moment finds no container and is logged as an ERROR
        // "[Error Occurred After Shutdown]". Pausing here, before the drain, leaves the jobs
        // already running seconds to finish and starts no new one.
        scheduler.pause();
    }

    public static boolean isStopping() {
        return stopping;
    }
}
