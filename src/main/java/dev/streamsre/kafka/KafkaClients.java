package dev.streamsre.kafka;

import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.CommonClientConfigs;

/**
 * The one source of settings for every Kafka client the application builds itself (the admin
 * client, the lag sampler's consumer, the load and replay producers, the dead-letter producer):
 * the same {@code kafka.*} configuration the connector's channels get ({@code default-kafka-broker},
 * so {@code KAFKA_SECURITY_PROTOCOL}, {@code KAFKA_SASL_JAAS_CONFIG}, {@code KAFKA_SSL_TRUSTSTORE_LOCATION}
 * and the rest apply everywhere), with each client's own settings on top.
 */
@ApplicationScoped
public class KafkaClients {

    /**
     * Names that the spec's environment variables leave in the {@code kafka.*} namespace
     * ({@code KAFKA_TOPIC} reads as {@code kafka.topic}, ...) but that are ours, not Kafka's: they
     * are translated to our own properties and must not reach a client (a stray {@code group.id}
     * would turn the lag sampler's unsubscribed consumer into a group member).
     */
    private static final Set<String> NOT_CLIENT_SETTINGS = Set.of("brokers", "topic", "group.id", "group.instance.id", "dlq.topic");

    private final Map<String, Object> shared;

    /** @param kafkaConfig the connector's {@code kafka.*} settings (a test or tool passes its own) */
    public KafkaClients(@Identifier("default-kafka-broker") Map<String, Object> kafkaConfig) {
        Map<String, Object> settings = new HashMap<>(kafkaConfig);
        settings.keySet().removeAll(NOT_CLIENT_SETTINGS);
        this.shared = Map.copyOf(settings);
    }

    /** The shared settings with this client's own on top (the client's win). */
    public Map<String, Object> config(Map<String, Object> own) {
        Map<String, Object> config = new HashMap<>(shared);
        config.putAll(own);
        return config;
    }

    /** Where the clients connect, for messages ({@code KAFKA_BROKERS}); never a credential. */
    public String bootstrapServers() {
        return String.valueOf(shared.get(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG));
    }
}
