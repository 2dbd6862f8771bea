package dev.streamsre.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class StaticGroupMembershipTest {

    private static Map<String, Object> consumerConfig() {
        return new HashMap<>(Map.of("group.id", "streamsre-consumer", "client.id", "kafka-consumer-events-in$1"));
    }

    @Test
    void eachConcurrentConsumerOfAProcessGetsItsOwnStableId() {
        StaticGroupMembership membership = new StaticGroupMembership(Optional.of("streamsre-consumer-2"));

        Map<String, Object> first = membership.customize("events-in$1", null, consumerConfig());
        Map<String, Object> second = membership.customize("events-in$2", null, consumerConfig());
        Map<String, Object> recorder = membership.customize("dlq-in", null, consumerConfig());

        assertThat(first).containsEntry("group.instance.id", "streamsre-consumer-2-events-in-1");
        assertThat(second).containsEntry("group.instance.id", "streamsre-consumer-2-events-in-2");
        assertThat(recorder).containsEntry("group.instance.id", "streamsre-consumer-2-dlq-in");
    }

    @Test
    void withoutAnIdentityMembershipStaysDynamic() {
        Map<String, Object> config = new StaticGroupMembership(Optional.empty()).customize("events-in$1", null, consumerConfig());

        assertThat(config).doesNotContainKey("group.instance.id");
    }

    @Test
    void anIdGivenTheKafkaWayIsTheProcessIdentityNotOneIdSharedByItsConsumers() {
        Map<String, Object> config = consumerConfig();
        config.put("group.instance.id", "pod-a");

        Map<String, Object> customized = new StaticGroupMembership(Optional.empty()).customize("events-in$2", null, config);

        assertThat(customized).containsEntry("group.instance.id", "pod-a-events-in-2");
    }

    @Test
    void producersAreLeftAlone() {
        Map<String, Object> producer = new HashMap<>(Map.of("client.id", "kafka-producer-x"));

        assertThat(new StaticGroupMembership(Optional.of("p")).customize("x", null, producer)).doesNotContainKey("group.instance.id");
    }
}
