package dev.streamsre.consumer;

import dev.streamsre.Mode;
import dev.streamsre.config.StreamSreConfig;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Singleton;
import jakarta.interceptor.Interceptor;

/**
 * Consumer mode's start and stop, and the one place the consumer checks the mode: the other modes
 * (producer, replay, migrate) are jobs that must create none of the consumer's beans. The observers
 * are static so that CDI creates nothing to call them, and the consumer's beans are looked up only
 * once the mode is known to be consumer.
 */
@Singleton
class ConsumerLifecycle {

    /**
     * Before the messaging extension connects the channels (it observes at LIBRARY_BEFORE): the
     * warm-up rehearses the write path, then the consumer is created, so that its gauges are
     * exported from the first scrape.
     */
    static void start(@Observes @Priority(Interceptor.Priority.LIBRARY_BEFORE - 1) StartupEvent event,
            StreamSreConfig settings, Instance<ConsumerWarmUp> warmUp, Instance<EventConsumer> consumer) {
        if (settings.mode() != Mode.CONSUMER) {
            return;
        }
        warmUp.get().warmUp();
        consumer.get().inflightRecords();
    }

    /** Graceful stop, step 2, between the two intake stops ({@link IntakeStop}, priorities 1 and 3). */
    static void stop(@Observes @Priority(2) ShutdownEvent event, StreamSreConfig settings,
            Instance<EventConsumer> consumer) {
        if (settings.mode() == Mode.CONSUMER) {
            consumer.get().drain();
        }
    }
}
