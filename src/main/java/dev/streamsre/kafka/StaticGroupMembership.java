package dev.streamsre.kafka;

import dev.streamsre.config.StreamSreConfig;
import io.smallrye.reactive.messaging.ClientCustomizer;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.eclipse.microprofile.config.Config;

/**
 * Gives each of the connector's Kafka consumers its own {@code group.instance.id} when static
 * membership is configured ({@code streamsre.consumer.group-instance-id}).
 *
 * <p>Written by hand because the connector suffixes {@code client.id} for each of a channel's
 * {@code concurrency} consumers but not {@code group.instance.id}: two consumers of one process
 * would share one static identity, and the broker fences the first when the second joins. The id
 * here is the process's identity plus the connector's name for the consumer ({@code events-in$1}
 * becomes {@code streamsre-consumer-0-events-in-1}), stable across restarts of the same pod.
 */
@ApplicationScoped
public class StaticGroupMembership implements ClientCustomizer<Map<String, Object>> {

    static final String GROUP_INSTANCE_ID = ConsumerConfig.GROUP_INSTANCE_ID_CONFIG;

    private final Optional<String> processIdentity;

    @Inject
    StaticGroupMembership(StreamSreConfig settings) {
        this(settings.consumer().groupInstanceId());
    }

    StaticGroupMembership(Optional<String> processIdentity) {
        this.processIdentity = processIdentity;
    }

    @Override
    public Map<String, Object> customize(String channel, Config channelConfig, Map<String, Object> config) {
        if (!config.containsKey(ConsumerConfig.GROUP_ID_CONFIG)) {
            return config; // a producer: membership is a consumer's business
        }
        // A group.instance.id given the Kafka way (KAFKA_GROUP_INSTANCE_ID) is one value for every
        // consumer; it becomes the process identity rather than a shared id that fences itself.
        Optional<String> identity = processIdentity.or(
                () -> Optional.ofNullable(config.get(GROUP_INSTANCE_ID)).map(String::valueOf).filter(id -> !id.isBlank()));
        identity.ifPresent(id -> config.put(GROUP_INSTANCE_ID, instanceId(id, channel)));
        return config;
    }

    /** Kafka accepts only these characters in a group instance id; channel names may hold '$'. */
    static String instanceId(String processIdentity, String channel) {
        return processIdentity + "-" + channel.replaceAll("[^a-zA-Z0-9._-]", "-");
    }
}
