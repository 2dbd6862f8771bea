package dev.streamsre.consumer;

import io.quarkus.runtime.ShutdownEvent;
import io.smallrye.reactive.messaging.ChannelRegistry;
import io.smallrye.reactive.messaging.PausableChannel;
import io.smallrye.reactive.messaging.kafka.KafkaClientService;
import io.smallrye.reactive.messaging.kafka.KafkaConsumer;
import jakarta.annotation.Priority;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.time.Duration;
import org.jboss.logging.Logger;

/**
 * Graceful stop, step 1: stops every Kafka channel's intake before the connector closes its
 * consumers, so that nothing the connector does on its own still touches a consumer it has closed.
 *
 * <p>Why: the connector closes its consumers one after another, after every ShutdownEvent observer,
 * while each channel's polling loop keeps running. When the records left in a channel's queue
 * were taken (our consumer hands batches back at once once stopping), the loop switched the Kafka
 * consumer from paused to resumed, and that call ran on the polling thread after the close:
 * {@code IllegalStateException: This consumer has already been closed}, reported as the channel's
 * failure (SRMSG18217, then SRMSG00201) after shutdown. A partition handed to a closing consumer by
 * a rebalance also started a committed-offset lookup on it. Both need records moving, so intake is
 * stopped at the cause, with the connector's own APIs:
 * <ul>
 * <li>the channel's demand is paused (a {@code pausable} channel): the queue neither drains nor
 * fills, so the polling loop has no reason to pause or resume the consumer again;</li>
 * <li>each Kafka consumer pauses its partitions through the connector, which remembers it: a
 * rebalance during the stop hands partitions over paused, so no record arrives and no offset is
 * looked up on them.</li>
 * </ul>
 * Records already delivered are still written and acknowledged by the drain (step 2), and the
 * connector commits their offsets as it closes; records not yet delivered stay uncommitted for the
 * next owner. Runs again after the drain, should anything have resumed a consumer meanwhile.
 */
@Singleton
class IntakeStop {

    private static final Logger LOG = Logger.getLogger(IntakeStop.class);
    private static final Duration PAUSE_TIMEOUT = Duration.ofSeconds(1);

    private final KafkaClientService kafka;
    private final ChannelRegistry channels;

    IntakeStop(KafkaClientService kafka, ChannelRegistry channels) {
        this.kafka = kafka;
        this.channels = channels;
    }

    /** Before the drain ({@link ConsumerLifecycle#stop}, priority 2). */
    void beforeDrain(@Observes @Priority(1) ShutdownEvent event) {
        pauseAll();
    }

    /** After the drain, before the connector closes the consumers. */
    void afterDrain(@Observes @Priority(3) ShutdownEvent event) {
        pauseAll();
    }

    private void pauseAll() {
        // One name per Kafka consumer: events-in$1, events-in$2 (the channel's concurrency), dlq-in.
        for (String channel : kafka.getConsumerChannels()) {
            PausableChannel demand = channels.getPausable(channel);
            if (demand != null) {
                demand.pause();
            }
            for (KafkaConsumer<Object, Object> consumer : kafka.<Object, Object>getConsumers(channel)) {
                try {
                    consumer.pause().await().atMost(PAUSE_TIMEOUT);
                } catch (RuntimeException e) {
                    // Already closed, or its polling thread busy past the timeout: the connector's own
                    // pause at close still follows. Nothing is lost either way (uncommitted records).
                    LOG.debugf("cannot pause the Kafka consumer of %s at shutdown: %s", channel, e.toString());
                }
            }
        }
    }
}
