package dev.streamsre.config;

import dev.streamsre.Mode;
import io.smallrye.config.ConfigMapping;
import jakarta.validation.constraints.Pattern;

/**
 * Every setting of StreamSRE, one tree under {@code streamsre}: what all modes share (the mode and
 * the two topics), then one group per mode ({@code streamsre.consumer}, {@code streamsre.producer},
 * {@code streamsre.replay}). Each setting is defined once in this tree (this file and its three
 * groups), with its default, its range and why it exists; Quarkus checks every range at start, whatever the mode, so a bad value fails the
 * start naming the property. The spec's environment variables that only rename a setting
 * ({@code KAFKA_TOPIC}, {@code MAX_INFLIGHT}, ...) are property expressions in application.properties,
 * which therefore hold those seven settings' defaults ({@code ${RATE_PER_SEC:1000}}); the six that
 * need more than a rename go through SpecEnvironmentConfigSource.
 */
@ConfigMapping(prefix = "streamsre")
public interface StreamSreConfig {

    /** Kafka's own rule for a topic name. */
    String TOPIC_NAME = "[A-Za-z0-9._-]{1,249}";
    String TOPIC_MESSAGE = "must be a Kafka topic name: 1 to 249 characters of A-Z, a-z, 0-9, '.', '_' and '-', got ${validatedValue}";

    /** The job this process runs; each Quarkus profile sets it ({@code QUARKUS_PROFILE=producer}). */
    Mode mode();

    /** The main topic: the producer writes it, the consumer reads it, replay writes to it. Env: {@code KAFKA_TOPIC}; default in application.properties. */
    @Pattern(regexp = TOPIC_NAME, message = TOPIC_MESSAGE)
    String topic();

    /** The dead-letter topic: the consumer writes and records it, replay reads its entries. Env: {@code KAFKA_DLQ_TOPIC}; default in application.properties. */
    @Pattern(regexp = TOPIC_NAME, message = TOPIC_MESSAGE)
    String dlqTopic();

    /** Consumer mode: the pipeline's limits, timeouts, retention and warm-up. */
    ConsumerSettings consumer();

    /** Producer mode: the synthetic load's rate, duration, keys and mix. */
    ProducerSettings producer();

    /** Replay mode: which dead letters a run republishes, and how. */
    ReplaySettings replay();

    /** The reconciler, in consumer mode (on a schedule) and audit mode (once). */
    AuditSettings audit();
}
