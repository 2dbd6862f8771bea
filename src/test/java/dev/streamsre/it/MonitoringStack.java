package dev.streamsre.it;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real Prometheus (Debian's package) scraping the app's processes and evaluating the
 * repository's own alert rules, optionally with a real Alertmanager on the repository's own
 * {@code alertmanager.yml}, its receivers delivering to a webhook in this JVM. The
 * integration tests and the drills share it, so that what a test proves about an expression is
 * what a drill's alert does. Rule files can be loaded with their {@code for:} and
 * {@code keep_firing_for:} windows shortened (the drills' profile): the expressions stay exactly as
 * committed.
 */
public final class MonitoringStack implements AutoCloseable {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private static final Pattern FOR = Pattern.compile("(?m)^(\\s+)(for|keep_firing_for): (\\d+)([smh])\\s*$");

    private final Path home;
    private final Process prometheus;
    private final int prometheusPort;
    private final Alertmanager alertmanager;
    private final WebhookReceiver webhook;
    private final Process postgresExporter;

    private MonitoringStack(Path home, Process prometheus, int prometheusPort, Alertmanager alertmanager,
            WebhookReceiver webhook, Process postgresExporter) {
        this.home = home;
        this.prometheus = prometheus;
        this.prometheusPort = prometheusPort;
        this.alertmanager = alertmanager;
        this.webhook = webhook;
        this.postgresExporter = postgresExporter;
    }

    /** What the dependency alerts read: PostgreSQL's exporter on a database, the broker's JMX agent. */
    public record Dependencies(String database, int brokerMetricsPort) {
    }

    /**
     * As {@link #start(Map, Duration, boolean)}, and also the dependencies' own exporters, scraped
     * under the job names {@code prometheus/rules/streamsre-dependencies.yml} reads: Debian's
     * prometheus-postgres-exporter, started here as role streamsre_monitor (bin/infra creates it)
     * with {@code infra/postgres/exporter-queries.yaml}, as job postgres-exporter; and the JMX
     * exporter agent bin/infra starts the broker with, as job kafka-broker (when its port is not 0).
     */
    public static MonitoringStack start(Map<String, String> targets, Duration maxFor, boolean withAlertmanager,
            Dependencies dependencies) {
        Map<String, String> all = new LinkedHashMap<>(targets);
        int exporterPort = freePort();
        Process exporter = startPostgresExporter(dependencies.database(), exporterPort);
        try {
            all.put("postgres-exporter", "127.0.0.1:" + exporterPort + "/metrics");
            if (dependencies.brokerMetricsPort() > 0) {
                all.put("kafka-broker", "127.0.0.1:" + dependencies.brokerMetricsPort() + "/metrics");
            }
            return startWith(all, maxFor, withAlertmanager, exporter);
        } catch (RuntimeException e) {
            exporter.destroy();
            throw e;
        }
    }

    private static Process startPostgresExporter(String database, int port) {
        try {
            ProcessBuilder builder = new ProcessBuilder("prometheus-postgres-exporter",
                    "--web.listen-address=127.0.0.1:" + port,
                    "--extend.query-path=" + Path.of("infra/postgres/exporter-queries.yaml").toAbsolutePath())
                    .redirectErrorStream(true)
                    .redirectOutput(Files.createTempFile("postgres-exporter", ".log").toFile());
            builder.environment().put("DATA_SOURCE_NAME",
                    "postgresql://streamsre_monitor:streamsre_monitor@127.0.0.1:5432/" + database + "?sslmode=disable");
            Process process = builder.start();
            try {
                PipelineState.await("PostgreSQL exporter ready", Duration.ofSeconds(30),
                        () -> status(port, "/metrics") == 200);
            } catch (RuntimeException | AssertionError e) {
                process.destroy(); // an exporter that never answered must not outlive the test
                throw e;
            }
            return process;
        } catch (IOException e) {
            throw new IllegalStateException("cannot start prometheus-postgres-exporter (Debian's package of that"
                    + " name; .ci/check-prometheus installs it)", e);
        }
    }

    /**
     * Starts Prometheus scraping {@code targets} (job name to {@code host:port}) every second and
     * evaluating {@code prometheus/rules/*.yml} every second, with every {@code for:} capped at
     * {@code maxFor} (null: as committed); with {@code withAlertmanager}, also an Alertmanager on
     * the repository's {@code alertmanager.yml} that Prometheus sends its alerts to, delivering to
     * {@link #webhook()}.
     */
    public static MonitoringStack start(Map<String, String> targets, Duration maxFor, boolean withAlertmanager) {
        return startWith(targets, maxFor, withAlertmanager, null);
    }

    private static MonitoringStack startWith(Map<String, String> targets, Duration maxFor, boolean withAlertmanager,
            Process postgresExporter) {
        try {
            Path home = Files.createTempDirectory("streamsre-monitoring");
            Path rules = Files.createDirectories(home.resolve("rules"));
            try (var files = Files.list(Path.of("prometheus/rules"))) {
                for (Path file : files.filter(path -> path.toString().endsWith(".yml")).toList()) {
                    String text = Files.readString(file);
                    // Groups with an interval of their own (the SLO's long windows, every minute) are
                    // evaluated with the rest, every second, so that a test sees them at once.
                    text = text.replaceAll("(?m)^(\\s+)interval: \\d+[smh]\\s*$", "$1interval: 1s");
                    Files.writeString(rules.resolve(file.getFileName()), maxFor == null ? text : capFor(text, maxFor));
                }
            }
            if (maxFor != null) {
                backfillHealthySloHistory(home.resolve("data"));
            }
            Alertmanager alertmanager = null;
            WebhookReceiver webhook = null;
            if (withAlertmanager) {
                webhook = new WebhookReceiver();
                alertmanager = startAlertmanager(home, webhook, maxFor != null);
            }
            StringBuilder config = new StringBuilder("""
                    global:
                      scrape_interval: 1s
                      evaluation_interval: 1s
                    rule_files:
                      - %s/*.yml
                    """.formatted(rules));
            if (withAlertmanager) {
                config.append("""
                        alerting:
                          alertmanagers:
                            - static_configs:
                                - targets: ["127.0.0.1:%d"]
                        """.formatted(alertmanager.port()));
            }
            config.append("scrape_configs:\n");
            // A target is host:port (the app's /q/metrics) or host:port/path (an exporter's).
            targets.forEach((job, target) -> {
                int slash = target.indexOf('/');
                config.append("""
                          - job_name: %s
                            metrics_path: %s
                            static_configs:
                              - targets: ["%s"]
                        """.formatted(job, slash < 0 ? "/q/metrics" : target.substring(slash),
                        slash < 0 ? target : target.substring(0, slash)));
            });
            Files.writeString(home.resolve("prometheus.yml"), config.toString());
            int prometheusPort = freePort();
            // Alerts are resent every 5 s instead of every minute: an alert firing at the first
            // evaluation (the Watchdog) is sent before the notifier has found Alertmanager, and
            // dropped; a drill of a minute would otherwise never see it delivered.
            Process prometheus = new ProcessBuilder("prometheus", "--config.file=" + home.resolve("prometheus.yml"),
                    "--storage.tsdb.path=" + home.resolve("data"), "--web.listen-address=127.0.0.1:" + prometheusPort,
                    "--rules.alert.resend-delay=5s")
                    .redirectErrorStream(true).redirectOutput(home.resolve("prometheus.log").toFile()).start();
            MonitoringStack stack = new MonitoringStack(home, prometheus, prometheusPort, alertmanager, webhook,
                    postgresExporter);
            PipelineState.await("Prometheus ready", Duration.ofSeconds(30), () -> status(prometheusPort, "/-/ready") == 200);
            return stack;
        } catch (IOException e) {
            throw new IllegalStateException("cannot start Prometheus/Alertmanager (Debian packages prometheus and"
                    + " prometheus-alertmanager)", e);
        }
    }

    /**
     * Starts an Alertmanager on the repository's own {@code alertmanager/alertmanager.yml}, routes and
     * inhibitions as committed, with each receiver delivering to {@code webhook} (the committed
     * receivers deliver nowhere until an operator adds an integration). Returns the process and
     * its port; Alertmanager's API is at {@code http://127.0.0.1:port/api/v2}. With {@code shortWaits}
     * (the drills' profile, like their capped {@code for:}), a group's first notification waits 1 s
     * instead of the configured group_wait, and later ones 5 s instead of group_interval; the
     * routes, receivers and inhibitions stay as committed.
     */
    public static Alertmanager startAlertmanager(Path home, WebhookReceiver webhook, boolean shortWaits) throws IOException {
        int port = freePort();
        String config = withWebhooks(Files.readString(Path.of("alertmanager/alertmanager.yml")), webhook.url());
        if (shortWaits) {
            config = config.replaceAll("(?m)^(\\s+)group_wait: \\S+$", "$1group_wait: 1s")
                    .replaceAll("(?m)^(\\s+)group_interval: \\S+$", "$1group_interval: 5s");
        }
        Files.writeString(home.resolve("alertmanager.yml"), config);
        Process process = new ProcessBuilder("prometheus-alertmanager",
                "--config.file=" + home.resolve("alertmanager.yml"),
                "--storage.path=" + home.resolve("alertmanager-data"),
                "--web.listen-address=127.0.0.1:" + port, "--cluster.listen-address=")
                .redirectErrorStream(true).redirectOutput(home.resolve("alertmanager.log").toFile()).start();
        PipelineState.await("Alertmanager ready", Duration.ofSeconds(30), () -> status(port, "/-/ready") == 200);
        return new Alertmanager(process, port);
    }

    /** A running Alertmanager. */
    public record Alertmanager(Process process, int port) implements AutoCloseable {
        @Override
        public void close() {
            process.destroy();
        }
    }

    /** The configuration with a webhook_configs block under each receiver of its {@code receivers:} list. */
    static String withWebhooks(String config, String url) {
        Matcher receivers = Pattern.compile("(?m)^receivers:\\n((?:  - name: [\\w-]+\\n)+)").matcher(config);
        if (!receivers.find()) {
            throw new IllegalStateException("alertmanager.yml: expected a receivers: list of '  - name: X' lines");
        }
        String withHooks = receivers.group(1).replaceAll("(?m)^(  - name: ([\\w-]+))$",
                "$1\n    webhook_configs:\n      - url: " + url + "$2\n        send_resolved: true");
        return config.substring(0, receivers.start(1)) + withHooks + config.substring(receivers.end(1));
    }

    /**
     * Three days of a healthy pipeline's SLI samples (no stale moment, no dead letter of ours, 500
     * records/s), written into Prometheus' storage before it starts ({@code promtool tsdb
     * create-blocks-from openmetrics}): the longest burn-rate window (3 d, the steady-burn tier)
     * then holds what it holds in production. On an empty TSDB the windows hold only the drill's
     * own minutes, so a few seconds of staleness read as the whole window burning, and the SLO
     * alerts fired as artifacts of the fresh Prometheus. The last six hours have a sample a second,
     * like the drills' evaluations; older ones a sample every 10 s carrying 10 seconds' worth
     * (the windows sum samples, so the sums are those of a sample a second, in a tenth of the
     * file).
     */
    static void backfillHealthySloHistory(Path data) throws IOException {
        long now = System.currentTimeMillis() / 1000 - 5;
        long dense = now - Duration.ofHours(6).toSeconds();
        long from = now - Duration.ofDays(3).toSeconds();
        Path file = Files.createTempFile("slo-history", ".om");
        try (var out = Files.newBufferedWriter(file)) {
            for (String metric : List.of("slo:sli_bad:sample", "slo:sli_valid:sample")) {
                out.write("# TYPE " + metric + " gauge\n");
                for (String slo : List.of("freshness", "correctness")) {
                    long perSecond = metric.endsWith("valid:sample") ? (slo.equals("freshness") ? 1 : 500) : 0;
                    for (long at = from; at < now; at += at < dense ? 10 : 1) {
                        long value = at < dense ? perSecond * 10 : perSecond;
                        out.write(metric + "{job=\"streamsre-consumer\",slo=\"" + slo + "\"} " + value + " " + at + "\n");
                    }
                }
            }
            out.write("# EOF\n");
        }
        try {
            Process promtool = new ProcessBuilder("promtool", "tsdb", "create-blocks-from", "openmetrics", file.toString(),
                    data.toString()).redirectErrorStream(true).start();
            String output = new String(promtool.getInputStream().readAllBytes());
            if (promtool.waitFor() != 0) {
                throw new IOException("promtool tsdb create-blocks-from openmetrics failed: " + output);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** Caps every {@code for:} and {@code keep_firing_for:} at {@code max}; expressions and everything else unchanged. */
    static String capFor(String rules, Duration max) {
        Matcher matcher = FOR.matcher(rules);
        StringBuilder out = new StringBuilder();
        while (matcher.find()) {
            long value = Long.parseLong(matcher.group(3));
            Duration declared = switch (matcher.group(4)) {
                case "s" -> Duration.ofSeconds(value);
                case "m" -> Duration.ofMinutes(value);
                default -> Duration.ofHours(value);
            };
            Duration used = declared.compareTo(max) > 0 ? max : declared;
            matcher.appendReplacement(out, matcher.group(1) + matcher.group(2) + ": " + used.toSeconds() + "s");
        }
        matcher.appendTail(out);
        return out.toString();
    }

    public int prometheusPort() {
        return prometheusPort;
    }

    /** Where Prometheus' config and logs are. */
    public Path home() {
        return home;
    }

    /** An instant query's result vector. */
    public JsonArray query(String expression) {
        JsonObject answer = new JsonObject(get(prometheusPort, "/api/v1/query?query="
                + URLEncoder.encode(expression, StandardCharsets.UTF_8)).body());
        if (!"success".equals(answer.getString("status"))) {
            throw new IllegalStateException(expression + ": " + answer.encode());
        }
        return answer.getJsonObject("data").getJsonArray("result");
    }

    /** The first series' value, or empty when the expression returns nothing. */
    public OptionalDouble value(String expression) {
        JsonArray result = query(expression);
        if (result.isEmpty()) {
            return OptionalDouble.empty();
        }
        return OptionalDouble.of(Double.parseDouble(result.getJsonObject(0).getJsonArray("value").getString(1)));
    }

    /** Each series' value keyed by one of its labels. */
    public Map<String, Double> valuesBy(String expression, String label) {
        Map<String, Double> values = new LinkedHashMap<>();
        for (Object series : query(expression)) {
            JsonObject item = (JsonObject) series;
            values.put(item.getJsonObject("metric").getString(label, ""),
                    Double.parseDouble(item.getJsonArray("value").getString(1)));
        }
        return values;
    }

    /** The loaded alerting rules: name, query, annotations. */
    public List<JsonObject> alertRules() {
        List<JsonObject> rules = new ArrayList<>();
        JsonObject answer = new JsonObject(get(prometheusPort, "/api/v1/rules?type=alert").body());
        for (Object group : answer.getJsonObject("data").getJsonArray("groups")) {
            for (Object rule : ((JsonObject) group).getJsonArray("rules")) {
                rules.add((JsonObject) rule);
            }
        }
        return rules;
    }

    /** Prometheus' active alerts (state pending or firing), each with its labels. */
    public List<JsonObject> activeAlerts() {
        JsonArray alerts = new JsonObject(get(prometheusPort, "/api/v1/alerts").body()).getJsonObject("data")
                .getJsonArray("alerts");
        List<JsonObject> list = new ArrayList<>();
        alerts.forEach(alert -> list.add((JsonObject) alert));
        return list;
    }

    /**
     * The alert names Alertmanager holds as active (received and not resolved), each with whether
     * every one of its series is inhibited by a cause that fires.
     */
    public Map<String, Boolean> alertmanagerAlerts() {
        Map<String, Boolean> inhibited = new LinkedHashMap<>();
        if (alertmanager == null) {
            return inhibited;
        }
        for (Object item : new JsonArray(get(alertmanager.port(), "/api/v2/alerts?active=true&inhibited=true").body())) {
            JsonObject alert = (JsonObject) item;
            boolean silenced = !alert.getJsonObject("status").getJsonArray("inhibitedBy").isEmpty();
            inhibited.merge(alert.getJsonObject("labels").getString("alertname"), silenced, Boolean::logicalAnd);
        }
        return inhibited;
    }

    /** What Alertmanager's receivers delivered (null without an Alertmanager). */
    public WebhookReceiver webhook() {
        return webhook;
    }

    public static HttpResponse<String> get(int port, String path) {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IllegalStateException("GET " + path + " on " + port + " failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The HTTP status, or -1 when nothing answers. */
    public static int status(int port, String path) {
        try {
            return get(port, path).statusCode();
        } catch (IllegalStateException e) {
            return -1;
        }
    }

    public static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        prometheus.destroy();
        if (postgresExporter != null) {
            postgresExporter.destroy();
        }
        if (alertmanager != null) {
            alertmanager.close();
            webhook.close();
        }
    }
}
