package dev.streamsre.consumer;

import dev.streamsre.Mode;
import dev.streamsre.config.InvalidConfigurationException;
import dev.streamsre.config.StreamSreConfig;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Singleton;
import jakarta.interceptor.Interceptor;
import org.eclipse.microprofile.config.ConfigProvider;

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
        checkPoolSize(settings.consumer().writeConcurrency(),
                ConfigProvider.getConfig().getOptionalValue(POOL_SIZE, Integer.class).orElse(DEFAULT_POOL_SIZE));
        warmUp.get().warmUp();
        consumer.get().inflightRecords();
    }

    static final String POOL_SIZE = "quarkus.datasource.reactive.max-size";
    /** Quarkus's own default for the reactive pool. */
    private static final int DEFAULT_POOL_SIZE = 20;

    /**
     * The writes take write-concurrency connections; the dead-letter recorder and the probe write
     * need theirs beside them, or they would queue behind a stream of batches.
     */
    static void checkPoolSize(int writeConcurrency, int poolSize) {
        if (poolSize < writeConcurrency + 2) {
            throw new InvalidConfigurationException("streamsre.consumer.write-concurrency=" + writeConcurrency
                    + " needs " + POOL_SIZE + " of at least " + (writeConcurrency + 2)
                    + " (the writes, the dead-letter recorder and the probe write), got " + poolSize);
        }
    }

    /** Graceful stop, step 2, between the two intake stops ({@link IntakeStop}, priorities 1 and 3). */
    static void stop(@Observes @Priority(2) ShutdownEvent event, StreamSreConfig settings,
            Instance<EventConsumer> consumer) {
        if (settings.mode() == Mode.CONSUMER) {
            consumer.get().drain();
        }
    }
}
