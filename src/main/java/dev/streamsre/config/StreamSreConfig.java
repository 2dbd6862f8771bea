package dev.streamsre.config;

import dev.streamsre.Mode;
import io.smallrye.config.ConfigMapping;
import jakarta.validation.constraints.Pattern;

/**
 * The settings every mode shares: which job this process runs and the two topics. Checked by
 * Quarkus at start like the modes' own groups ({@code streamsre.consumer}, {@code streamsre.producer},
 * {@code streamsre.replay}): a bad value fails the start naming the property. Their defaults are
 * in application.properties, because the connector's channel settings refer to them by property
 * expression ({@code ${streamsre.topic}}).
 */
@ConfigMapping(prefix = "streamsre")
public interface StreamSreConfig {

    /** Kafka's own rule for a topic name. */
    String TOPIC_NAME = "[A-Za-z0-9._-]{1,249}";
    String TOPIC_MESSAGE = "must be a Kafka topic name: 1 to 249 characters of A-Z, a-z, 0-9, '.', '_' and '-', got ${validatedValue}";

    /** The job this process runs; each Quarkus profile sets it ({@code QUARKUS_PROFILE=producer}). */
    Mode mode();

    /** The main topic: the producer writes it, the consumer reads it, replay writes to it. Env: {@code KAFKA_TOPIC}. */
    @Pattern(regexp = TOPIC_NAME, message = TOPIC_MESSAGE)
    String topic();

    /** The dead-letter topic: the consumer writes and records it, replay reads its entries. Env: {@code KAFKA_DLQ_TOPIC}. */
    @Pattern(regexp = TOPIC_NAME, message = TOPIC_MESSAGE)
    String dlqTopic();
}
