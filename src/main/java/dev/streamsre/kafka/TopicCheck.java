package dev.streamsre.kafka;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * Checks, before a job starts sending, that the broker answers and the topic exists, so that the
 * producer and replay modes fail at once with a message naming the setting instead of blocking in
 * their first send.
 */
public final class TopicCheck {

    private TopicCheck() {
    }

    /** Null when the topic is reachable, else a message for the operator (naming no credential). */
    public static String problem(KafkaClients clients, String topic, Duration timeout) {
        String bootstrapServers = clients.bootstrapServers();
        Map<String, Object> adminProperties = clients.config(Map.of(
                AdminClientConfig.CLIENT_ID_CONFIG, "streamsre-topic-check",
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) timeout.toMillis(),
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) timeout.toMillis()));
        try (Admin admin = Admin.create(adminProperties)) {
            admin.describeTopics(List.of(topic)).allTopicNames().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return null;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                return "topic '" + topic + "' does not exist on " + bootstrapServers
                        + " (KAFKA_TOPIC); create it, e.g. with `bin/infra up`";
            }
            if (e.getCause() instanceof AuthenticationException) {
                return "Kafka at " + bootstrapServers + " refused our credentials: authentication failed ("
                        + e.getCause().getClass().getSimpleName() + "; check KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM,"
                        + " KAFKA_SASL_JAAS_CONFIG and the SSL settings)";
            }
            return "cannot reach Kafka at " + bootstrapServers + " (KAFKA_BROKERS): " + e.getCause();
        } catch (TimeoutException e) {
            return "cannot reach Kafka at " + bootstrapServers + " (KAFKA_BROKERS) within " + timeout.toSeconds() + " s";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted while checking Kafka at " + bootstrapServers;
        }
    }
}
