package dev.streamsre.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The repository's own {@code alertmanager/alertmanager.yml} in a real Alertmanager (Debian's
 * package), its receivers delivering to a webhook in the test JVM: which alert reaches which
 * receiver, and which are inhibited by their cause. amtool (in .ci/check-prometheus) checks the
 * routing tree alone; inhibitions need a running Alertmanager. Each case lives in a namespace of
 * its own, which is also the point: namespaces never inhibit each other.
 */
class AlertRoutingIT {

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @Test
    void eachAlertReachesItsSeverityReceiverAndCausesSilenceOnlyTheirOwnSymptoms() throws Exception {
        Path home = Files.createTempDirectory("streamsre-alertmanager");
        try (WebhookReceiver webhook = new WebhookReceiver();
             MonitoringStack.Alertmanager alertmanager = MonitoringStack.startAlertmanager(home, webhook, false)) {
            JsonArray alerts = new JsonArray()
                    .add(alert("StreamSREWatchdog", "none", null, null))
                    // No consumer up in "down": its not-ready and lag pages are symptoms. The same page in
                    // "other" is not: namespaces never silence each other.
                    .add(alert("StreamSREConsumerDown", "critical", "down", null))
                    .add(alert("StreamSREConsumerNotReady", "critical", "down", null).put("instance", "c1:8080"))
                    .add(alert("StreamSREConsumerLagSecondsHigh", "critical", "down", "events.main"))
                    .add(alert("StreamSREConsumerNotReady", "critical", "other", null).put("instance", "c1:8080"))
                    // A page without a topic and a ticket without a topic: unrelated, both delivered
                    // (with equal: [topic] alone, a missing label on both sides matched).
                    .add(alert("StreamSRECircuitBreakerOpen", "critical", "notopic", null))
                    .add(alert("StreamSREDeadLetterSpike", "warning", "notopic", null))
                    // The breaker is also why the pool's connections are held: silenced. The exporter's
                    // view of PostgreSQL is another job's and stays delivered.
                    .add(alert("StreamSREDatabasePoolSaturated", "warning", "notopic", null).put("instance", "c1:8080"))
                    .add(alert("StreamSREDependencyUnobserved", "warning", "notopic", null).put("job", "postgres-exporter"))
                    // A page about a topic silences the warning about the same topic, not another topic's.
                    .add(alert("StreamSREConsumerLagSecondsHigh", "critical", "topics", "events.main"))
                    .add(alert("StreamSREConsumerLagHigh", "warning", "topics", "events.main"))
                    .add(alert("StreamSREConsumerLagHigh", "warning", "topics", "events.other"))
                    // An open transaction holding a partition is why its topic's records wait.
                    .add(alert("StreamSREKafkaTransactionHoldsPartition", "critical", "txn", "events.main").put("partition", "3"))
                    .add(alert("StreamSREConsumerLagSecondsHigh", "critical", "txn", "events.main"));
            post(alertmanager.port(), alerts);

            // Everything that is delivered arrives after the route's group_wait (10 s); what is
            // inhibited never does. Alertmanager's own view confirms which are inhibited, and by what.
            Map<String, String> expected = new LinkedHashMap<>();
            expected.put("StreamSREWatchdog/-/-", "watchdog");
            expected.put("StreamSREConsumerDown/down/-", "critical");
            expected.put("StreamSREConsumerNotReady/other/-", "critical");
            expected.put("StreamSRECircuitBreakerOpen/notopic/-", "critical");
            expected.put("StreamSREDeadLetterSpike/notopic/-", "warning");
            expected.put("StreamSREDependencyUnobserved/notopic/-", "warning");
            expected.put("StreamSREConsumerLagSecondsHigh/topics/events.main", "critical");
            expected.put("StreamSREConsumerLagHigh/topics/events.other", "warning");
            expected.put("StreamSREKafkaTransactionHoldsPartition/txn/events.main", "critical");
            PipelineState.await("every expected alert delivered", Duration.ofSeconds(60),
                    () -> delivered(webhook).keySet().containsAll(expected.keySet()));
            AppProcess.sleep(3_000); // a late, wrong delivery would come with the same group_wait

            assertThat(delivered(webhook)).as("alert/namespace/topic -> receiver").isEqualTo(expected);
            assertThat(inhibited(alertmanager.port())).containsExactlyInAnyOrder(
                    "StreamSREConsumerNotReady/down/-",
                    "StreamSREConsumerLagSecondsHigh/down/events.main",
                    "StreamSREDatabasePoolSaturated/notopic/-",
                    "StreamSREConsumerLagHigh/topics/events.main",
                    "StreamSREConsumerLagSecondsHigh/txn/events.main");
        }
    }

    private static JsonObject alert(String name, String severity, String namespace, String topic) {
        JsonObject labels = new JsonObject().put("alertname", name).put("severity", severity);
        if (namespace != null) {
            labels.put("namespace", namespace).put("job", "streamsre-consumer");
        }
        if (topic != null) {
            labels.put("topic", topic);
        }
        return labels;
    }

    private static void post(int port, JsonArray labelSets) throws Exception {
        JsonArray body = new JsonArray();
        labelSets.forEach(labels -> body.add(new JsonObject().put("labels", labels)
                .put("annotations", new JsonObject().put("summary", "AlertRoutingIT"))));
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + port + "/api/v2/alerts"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.encode()))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    }

    /** Firing deliveries as alert/namespace/topic -> receiver. */
    private static Map<String, String> delivered(WebhookReceiver webhook) {
        return webhook.deliveries().stream().filter(d -> d.status().equals("firing"))
                .collect(Collectors.toMap(d -> key(d.labels()), WebhookReceiver.Delivery::receiver, (a, b) -> a,
                        LinkedHashMap::new));
    }

    private static List<String> inhibited(int port) {
        JsonArray alerts = new JsonArray(MonitoringStack.get(port, "/api/v2/alerts?inhibited=true").body());
        return alerts.stream().map(JsonObject.class::cast)
                .filter(alert -> !alert.getJsonObject("status").getJsonArray("inhibitedBy").isEmpty())
                .map(alert -> key(alert.getJsonObject("labels"))).toList();
    }

    private static String key(JsonObject labels) {
        return labels.getString("alertname") + "/" + labels.getString("namespace", "-") + "/"
                + labels.getString("topic", "-");
    }
}
