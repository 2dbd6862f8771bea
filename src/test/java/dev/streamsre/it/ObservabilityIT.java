package dev.streamsre.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.IntPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What an SRE sees, against real processes: probes that follow the dependencies, a lag gauge that
 * agrees with Kafka's own tool, and every dashboard panel and alert expression answered by a real
 * Prometheus scraping a consumer under real traffic.
 */
class ObservabilityIT {

    private static final int PARTITIONS = 6;
    private static final Duration PROBE_DEADLINE = Duration.ofSeconds(15);
    private Pipeline pipeline;
    private MonitoringStack monitoring;
    private String topic;
    private String dlqTopic;
    private String group;

    @BeforeEach
    void freshTopicsGroupAndTables() {
        pipeline = Pipeline.fresh("it-obs", PARTITIONS);
        topic = pipeline.topic();
        dlqTopic = pipeline.dlqTopic();
        group = pipeline.group();
    }

    @AfterEach
    void stopProcesses() {
        pipeline.close();
        if (monitoring != null) {
            monitoring.close();
        }
    }

    @Test
    @org.junit.jupiter.api.Tag(TestInfrastructure.NEEDS_ROOT_POSTGRES)
    void readinessFollowsPostgresAndKafkaWhileLivenessStaysUp() {
        int port = startConsumer(Map.of()).httpPort();
        awaitStatus(port, "/q/health/ready", code -> code == 200, Duration.ofSeconds(30));
        assertThat(status(port, "/q/health/started")).isEqualTo(200);

        TestInfrastructure.postgres("stop");
        double postgresDown;
        try {
            postgresDown = awaitStatus(port, "/q/health/ready", code -> code == 503, PROBE_DEADLINE);
            assertThat(status(port, "/q/health/live")).as("liveness checks no dependency").isEqualTo(200);
        } finally {
            TestInfrastructure.postgres("start");
        }
        double postgresBack = awaitStatus(port, "/q/health/ready", code -> code == 200, PROBE_DEADLINE);

        TestInfrastructure.infra("down");
        double kafkaDown;
        try {
            kafkaDown = awaitStatus(port, "/q/health/ready", code -> code == 503, PROBE_DEADLINE);
            assertThat(status(port, "/q/health/live")).as("liveness checks no dependency").isEqualTo(200);
        } finally {
            TestInfrastructure.infra("up");
        }
        double kafkaBack = awaitStatus(port, "/q/health/ready", code -> code == 200, PROBE_DEADLINE);
        System.out.printf("probe transitions: PostgreSQL stopped -> ready 503 after %.1f s; started -> 200 after"
                + " %.1f s; broker stopped -> 503 after %.1f s; started -> 200 after %.1f s%n",
                postgresDown, postgresBack, kafkaDown, kafkaBack);
    }

    @Test
    void lagGaugeAgreesWithKafkasConsumerGroupCommand() {
        produce(30_000, 0);
        // A rate limit of 1 event/s lets each consumer take one batch and then wait: the committed
        // offsets, and so the lag, stand still. Two members: each must report the whole group.
        Map<String, String> slow = Map.of("CONSUMER_RATE_LIMIT", "1", "STREAMSRE_CONSUMER_LAG_SAMPLE_INTERVAL", "1s");
        int first = startConsumer(slow).httpPort();
        int second = startConsumer(slow).httpPort();
        PipelineState.await("some events landed", Duration.ofSeconds(60),
                () -> PipelineState.count("SELECT count(*) FROM reviews") > 0);

        Map<Integer, Long> kafkaSays = Map.of();
        Map<Integer, Long> previous = null;
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (System.nanoTime() < deadline) {
            kafkaSays = describeGroupLag();
            if (kafkaSays.equals(previous) && kafkaSays.size() == PARTITIONS) {
                break;
            }
            previous = kafkaSays;
            AppProcess.sleep(3_000);
        }
        AppProcess.sleep(3_000); // a sample after the offsets settled
        long total = kafkaSays.values().stream().mapToLong(Long::longValue).sum();
        assertThat(total).as("a real backlog").isGreaterThan(10_000);
        assertThat(committedPartitions).as("partitions with a committed offset to compare").isPositive();
        for (int port : List.of(first, second)) {
            String metrics = get(port, "/q/metrics").body();
            assertThat(gaugeByPartition(metrics, "consumer_lag")).as("consumer_lag on port " + port)
                    .isEqualTo(kafkaSays);
            Map<Integer, Double> ages = gaugeByPartitionRaw(metrics, "consumer_lag_seconds");
            kafkaSays.forEach((partition, lag) -> assertThat(ages.get(partition))
                    .as("age of the oldest unprocessed record, partition " + partition + " (lag " + lag + ")")
                    .matches(age -> lag > 0 ? age > 0 : age == 0));
        }
        System.out.printf("lag check: consumer_lag on both members = kafka-consumer-groups --describe = %s (total %d)%n",
                kafkaSays, total);
    }

    @Test
    void prometheusAnswersEveryDashboardPanelAndAlertExpression() throws Exception {
        AppProcess producer = pipeline.start("producer", Map.of("KAFKA_TOPIC", topic, "RATE_PER_SEC", "500",
                "DURATION", "3m", "POISON_PCT", "2", "DUPLICATE_PCT", "2"));
        int producerPort = producer.httpPort();
        // Audits every 5 s: the reconcile_* gauges exist once an audit found committed offsets.
        int consumerPort = startConsumer(Map.of("STREAMSRE_CONSUMER_LAG_SAMPLE_INTERVAL", "1s",
                "STREAMSRE_AUDIT_INTERVAL", "5s")).httpPort();
        // With the dependencies' exporters: the PostgreSQL exporter and the broker's JMX agent answer
        // the dependency alerts and panels, as the app answers its own.
        monitoring = MonitoringStack.start(Map.of("streamsre-consumer", "127.0.0.1:" + consumerPort,
                "streamsre-producer", "127.0.0.1:" + producerPort), null, false,
                new MonitoringStack.Dependencies(System.getProperty("it.database.name", "streamsre_it"),
                        Integer.parseInt(System.getProperty("it.kafka.metrics.port"))));

        List<String> expressions = new ArrayList<>();
        JsonObject dashboard = new JsonObject(Files.readString(Path.of("grafana/dashboards/streamsre.json")));
        for (Object panel : dashboard.getJsonArray("panels")) {
            JsonArray targets = ((JsonObject) panel).getJsonArray("targets", new JsonArray());
            for (Object target : targets) {
                expressions.add(((JsonObject) target).getString("expr").replace("$__rate_interval", "30s")
                        .replace("$instance", ".*").replace("$topic", ".*").replace("$namespace", ".*"));
            }
        }
        assertThat(expressions).as("dashboard expressions").hasSizeGreaterThan(10);
        PipelineState.await("Prometheus loaded the alert rules", Duration.ofSeconds(30),
                () -> !alertExpressions(monitoring).isEmpty());
        List<String> alerts = alertExpressions(monitoring);
        assertThat(alerts).as("alert rules").hasSizeGreaterThanOrEqualTo(6);
        // An alert expression returns nothing while it does not fire; with its thresholds neutralised
        // it must still return series, proving that every metric it reads exists.
        for (String alert : alerts) {
            expressions.add(neutraliseThresholds(alert));
        }

        Map<String, String> empty = new LinkedHashMap<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        List<String> pending = new ArrayList<>(expressions);
        while (!pending.isEmpty() && System.nanoTime() < deadline) {
            // An expression that answers only when something is missing (absent(), "unless" a
            // healthy target) returns nothing on a healthy pipeline whatever its thresholds: for
            // those, every metric it reads must exist.
            pending.removeIf(expression -> !monitoring.query(expression).isEmpty()
                    || (expression.matches("(?s).*\\b(absent|unless)\\b.*") && metricNames(expression).stream()
                            .allMatch(name -> !monitoring.query("count(" + name + ")").isEmpty())));
            if (!pending.isEmpty()) {
                AppProcess.sleep(2_000);
            }
        }
        pending.forEach(expression -> empty.put(expression, monitoring.query(expression).encode()));
        assertThat(empty).as("expressions that returned no series").isEmpty();

        String excerpt = get(consumerPort, "/q/metrics").body().lines()
                .filter(line -> line.matches("^(events_|processing_duration_seconds_count|db_query_duration_seconds_count"
                        + "|retries_total|inflight_workers|consumer_lag|dlq_events_total|ft_circuitbreaker_state_current"
                        + "|dependency_up|consumer_batch_size_count).*"))
                .reduce("", (a, b) -> a + b + "\n");
        System.out.println("metrics excerpt of a consumer under load:\n" + excerpt);
        System.out.printf("real-Prometheus check: %d expressions (%d dashboard, %d alerts) all returned series%n",
                expressions.size(), expressions.size() - alerts.size(), alerts.size());
    }

    // --- helpers

    /** The metric and recording-rule names an expression reads (not its functions, keywords or labels). */
    static List<String> metricNames(String expression) {
        String withoutLabels = expression.replaceAll("\\{[^}]*}", " ")
                .replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ")
                .replaceAll("\\[[^\\]]*]", " ").replaceAll("\"[^\"]*\"", " ");
        List<String> names = new ArrayList<>();
        Matcher matcher = Pattern.compile("\\b([a-zA-Z_:][a-zA-Z0-9_:]*)\\b(?!\\s*\\()").matcher(withoutLabels);
        while (matcher.find()) {
            String name = matcher.group(1);
            if (!Set.of("and", "or", "unless", "bool", "offset", "Inf", "NaN").contains(name) && !names.contains(name)) {
                names.add(name);
            }
        }
        return names;
    }

    /** Replaces each comparison with a constant by one every sample passes: {@code > 10000} becomes {@code >= -Inf}. */
    static String neutraliseThresholds(String expression) {
        return expression.replaceAll("(?<!bool )(==|!=|>=|<=|>|<)\\s*-?[0-9][0-9.e]*(?![0-9a-z\\[])", ">= -Inf");
    }

    private static List<String> alertExpressions(MonitoringStack monitoring) {
        List<String> expressions = new ArrayList<>();
        for (JsonObject alert : monitoring.alertRules()) {
            assertThat(alert.getJsonObject("annotations").getString("runbook_url")).as(alert.getString("name"))
                    .endsWith("runbooks/" + alert.getString("name") + ".md");
            assertThat(Path.of("runbooks", alert.getString("name") + ".md")).exists();
            expressions.add(alert.getString("query"));
        }
        return expressions;
    }

    /**
     * kafka-consumer-groups --describe, lag per partition of our topic. Where the group has committed
     * nothing yet the tool prints "-"; the consumer starts such a partition from the earliest offset
     * (0 on a fresh topic), so its lag is the whole partition: LOG-END-OFFSET.
     */
    private Map<Integer, Long> describeGroupLag() {
        String output = TestInfrastructure.infra("kafka", "consumer-groups", "--bootstrap-server",
                TestInfrastructure.bootstrapServers(), "--describe", "--group", group);
        Map<Integer, Long> lag = new HashMap<>();
        committedPartitions = 0;
        for (String line : output.lines().toList()) {
            String[] columns = line.trim().split("\\s+");
            if (columns.length >= 6 && columns[1].equals(topic) && columns[4].matches("\\d+")) {
                boolean committed = columns[5].matches("\\d+");
                lag.put(Integer.parseInt(columns[2]), Long.parseLong(committed ? columns[5] : columns[4]));
                committedPartitions += committed ? 1 : 0;
            }
        }
        return lag;
    }

    private int committedPartitions;

    /** A gauge's values per partition of our topic, from Prometheus' text format. */
    private Map<Integer, Double> gaugeByPartitionRaw(String metrics, String name) {
        Map<Integer, Double> values = new HashMap<>();
        Pattern line = Pattern.compile("^" + name + "\\{([^}]*)\\} (\\S+)$", Pattern.MULTILINE);
        Matcher matcher = line.matcher(metrics);
        while (matcher.find()) {
            Map<String, String> labels = new HashMap<>();
            for (String label : matcher.group(1).split(",")) {
                String[] parts = label.split("=", 2);
                labels.put(parts[0].trim(), parts[1].replace("\"", ""));
            }
            if (topic.equals(labels.get("topic"))) {
                values.put(Integer.parseInt(labels.get("partition")), Double.parseDouble(matcher.group(2)));
            }
        }
        return values;
    }

    private Map<Integer, Long> gaugeByPartition(String metrics, String name) {
        Map<Integer, Long> values = new HashMap<>();
        gaugeByPartitionRaw(metrics, name).forEach((partition, value) -> values.put(partition, Math.round(value)));
        return values;
    }

    private static HttpResponse<String> get(int port, String path) {
        return MonitoringStack.get(port, path);
    }

    private static int status(int port, String path) {
        return MonitoringStack.status(port, path);
    }

    /** Polls the endpoint until its status passes; returns the seconds it took. */
    private static double awaitStatus(int port, String path, IntPredicate expected, Duration timeout) {
        long start = System.nanoTime();
        int last = -1;
        while (System.nanoTime() - start < timeout.toNanos()) {
            last = status(port, path);
            if (expected.test(last)) {
                return (System.nanoTime() - start) / 1e9;
            }
            AppProcess.sleep(250);
        }
        throw new AssertionError(path + " still answered " + last + " after " + timeout);
    }

    private AppProcess startConsumer(Map<String, String> extra) {
        return pipeline.startConsumer(extra);
    }

    private void produce(int events, int poisonPct) {
        pipeline.produce(events, 0, poisonPct);
    }
}
