package dev.streamsre.config;

import dev.streamsre.Mode;
import io.quarkus.scheduler.Scheduled;
import io.quarkus.scheduler.ScheduledExecution;
import jakarta.inject.Singleton;

/**
 * The one mode check of the consumer's scheduled jobs (lag sampling, the pruners, the dependency
 * gauges): Quarkus skips a job whose {@code skipExecutionIf} names this predicate in every mode but
 * consumer. The jobs exist in every mode because the application is one build whose mode is a
 * run-time profile; this keeps them from checking the mode themselves.
 */
@Singleton
public class OutsideConsumerMode implements Scheduled.SkipPredicate {

    private final boolean consumer;

    OutsideConsumerMode(StreamSreConfig settings) {
        this.consumer = settings.mode() == Mode.CONSUMER;
    }

    @Override
    public boolean test(ScheduledExecution execution) {
        return !consumer;
    }
}
