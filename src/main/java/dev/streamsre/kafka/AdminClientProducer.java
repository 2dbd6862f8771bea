package dev.streamsre.kafka;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

/**
 * One Kafka admin client for the process, shared by the readiness check, the lag sampler and the
 * ledger pruner, with the shared {@code kafka.*} settings ({@link KafkaClients}).
 * Creating it opens no connection; the first request does.
 */
@ApplicationScoped
public class AdminClientProducer {

    @Produces
    @ApplicationScoped
    Admin admin(KafkaClients clients) {
        return Admin.create(clients.config(Map.of(
                AdminClientConfig.CLIENT_ID_CONFIG, "streamsre-admin",
                // Fail requests fast: callers have their own short deadlines and retry on the next tick.
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5_000,
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2_000,
                AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 2_000)));
    }

    void close(@Disposes Admin admin) {
        admin.close(java.time.Duration.ofSeconds(2));
    }
}
