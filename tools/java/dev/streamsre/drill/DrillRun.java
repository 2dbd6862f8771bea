package dev.streamsre.drill;

import dev.streamsre.it.AppProcess;
import dev.streamsre.it.MonitoringStack;
import dev.streamsre.it.Pipeline;
import dev.streamsre.it.PipelineState;
import dev.streamsre.it.WebhookReceiver;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;

/**
 * One drill as it runs: the pipeline (fresh topics, group and tables), a consumer and a producer on
 * fixed ports that Prometheus scrapes across restarts, a real Prometheus evaluating the
 * repository's rules (the drill profile: {@code for:} windows capped) and a real Alertmanager on
 * the repository's {@code alertmanager.yml} delivering to a webhook, a watcher that stamps every
 * alert's pending, firing, delivered and resolved moments, the key series at each
 * phase, the ledger check, and the Markdown report. A scenario ({@link Drills}) only says what to
 * break, which alert must fire and what the runbook's mitigation is.
 */
final class DrillRun implements AutoCloseable {

    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneOffset.UTC);

    /** The series every report shows before, during and after the fault; {@code window} is the rate window. */
    static Map<String, String> keySeries(String window) {
        Map<String, String> series = new LinkedHashMap<>();
        series.put("lag (records)", "sum(max by (topic, partition) (consumer_lag))");
        series.put("lag (seconds, worst partition)", "max(consumer_lag_seconds)");
        series.put("events/s success", "sum(rate(events_processed_total{result=\"success\"}[" + window + "]))");
        series.put("events/s duplicate", "sum(rate(events_processed_total{result=\"duplicate\"}[" + window + "]))");
        series.put("events/s dlq", "sum(rate(events_processed_total{result=\"dlq\"}[" + window + "]))");
        series.put("retries/s", "sum(rate(retries_total[" + window + "]))");
        series.put("p99 processing (ms)", "1000 * histogram_quantile(0.99, sum by (le) (rate(processing_duration_seconds_bucket["
                + window + "])))");
        series.put("consumer up", "min(up{job=\"streamsre-consumer\"})");
        series.put("dependencies up (min)", "min(dependency_up)");
        return series;
    }

    private final String name;
    private final boolean shortForm;
    private final Pipeline pipeline;
    private final int consumerPort = MonitoringStack.freePort();
    private final int producerPort = MonitoringStack.freePort();
    private final MonitoringStack monitoring;
    private final Instant started = Instant.now();
    private final List<String[]> timeline = new CopyOnWriteArrayList<>();
    private final Map<String, Map<String, String>> snapshots = new LinkedHashMap<>();
    private final Map<String, AlertTimes> alerts = new ConcurrentHashMap<>();
    /** When the pipeline was first seen recovered after the mitigation (null: not yet). */
    private volatile Instant recovered;
    private final List<String> failures = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();
    private final Thread watcher;
    private volatile boolean watching = true;
    /** Alerts are stamped from the "before" snapshot on: what fires while the drill sets up is not its story. */
    private volatile boolean armed;
    /** When the drill was armed: deliveries before it are the setup's, not the drill's. */
    private volatile Instant armedAt = Instant.MAX;
    private Ledger ledger;
    private Pipeline.Audit audit;
    private AppProcess consumer;
    private AppProcess producer;
    private final List<AppProcess> producers = new ArrayList<>();

    /**
     * When each alert was first seen pending, firing and received by Alertmanager, and when it was
     * last resolved in each; an alert can resolve and come back (a lag gauge that vanishes while
     * the consumer restarts), so its state now is kept too.
     */
    static final class AlertTimes {
        Instant pending;
        Instant firing;
        Instant received;
        Instant delivered;
        String receiver;
        boolean inhibited;
        Instant resolved;
        Instant alertmanagerResolved;
        String state = "inactive";
        boolean inAlertmanager;
    }

    /** What the ledger check found: produced = landed + duplicates + dead letters, lost 0, doubled 0. */
    record Ledger(long produced, long distinctEvents, long duplicates, long poison, long landed, long ledgerRows,
            long deadLetters, long lost, long doubled, long dlqCopies, String exactCheck) {

        boolean ok() {
            return lost == 0 && doubled == 0 && exactCheck == null;
        }
    }

    DrillRun(String name, boolean shortForm) {
        this.name = name;
        this.shortForm = shortForm;
        this.pipeline = Pipeline.fresh("drill-" + name, 6);
        progress("topics %s and %s, group %s, empty tables", pipeline.topic(), pipeline.dlqTopic(), pipeline.group());
        this.monitoring = MonitoringStack.start(Map.of("streamsre-consumer", "127.0.0.1:" + consumerPort,
                "streamsre-producer", "127.0.0.1:" + producerPort), Duration.ofSeconds(shortForm ? 10 : 20), true,
                new MonitoringStack.Dependencies(System.getProperty("it.database.name", "streamsre_it"),
                        Integer.parseInt(System.getProperty("it.kafka.metrics.port", "0"))));
        progress("Prometheus on 127.0.0.1:%d (rules from prometheus/rules, for: capped at %ds), Alertmanager"
                + " receiving its alerts", monitoring.prometheusPort(), shortForm ? 10 : 20);
        this.watcher = new Thread(this::watchAlerts, "drill-alert-watcher");
        watcher.setDaemon(true);
        watcher.start();
    }

    String name() {
        return name;
    }

    boolean shortForm() {
        return shortForm;
    }

    Pipeline pipeline() {
        return pipeline;
    }

    /** Scales a duration or count down for the short form that CI runs. */
    int scaled(int full, int shortened) {
        return shortForm ? shortened : full;
    }

    // --- processes

    /** Starts (or restarts) the consumer on the port Prometheus scrapes; waits until it is ready. */
    AppProcess startConsumer(Map<String, String> extra) {
        Map<String, String> env = new HashMap<>(extra);
        env.put("QUARKUS_HTTP_PORT", String.valueOf(consumerPort));
        env.putIfAbsent("STREAMSRE_CONSUMER_LAG_SAMPLE_INTERVAL", "1s");
        consumer = pipeline.startConsumer(env);
        consumer.awaitOutput("Listening on: http://", Duration.ofSeconds(60));
        return consumer;
    }

    AppProcess consumer() {
        return consumer;
    }

    /** Starts a paced producer (until stopped) on the port Prometheus scrapes. */
    AppProcess startProducer(int ratePerSec, double poisonPct, int duplicatePct) {
        producer = pipeline.start("producer", Map.of("KAFKA_TOPIC", pipeline.topic(), "RATE_PER_SEC",
                String.valueOf(ratePerSec), "DURATION", "0", "POISON_PCT", String.valueOf(poisonPct), "DUPLICATE_PCT",
                String.valueOf(duplicatePct), "QUARKUS_HTTP_PORT", String.valueOf(producerPort)));
        producer.awaitOutput("Listening on: http://", Duration.ofSeconds(60));
        producers.add(producer);
        return producer;
    }

    /** Stops the producer with SIGTERM (it flushes) and checks it exited cleanly. */
    void stopProducer() {
        if (producer != null && producer.isAlive()) {
            producer.terminate();
            int code = producer.awaitExit(Duration.ofSeconds(30));
            if (code != 0 && code != 143) {
                fail("producer exited " + code);
            }
        }
    }

    // --- timeline and progress

    void progress(String format, Object... args) {
        System.out.printf("[drill %s %s] %s%n", name, CLOCK.format(Instant.now()), String.format(format, args));
    }

    /** A moment of the timeline (fault injected, mitigation applied, recovered, ...), printed as it happens. */
    void mark(String what) {
        Instant now = Instant.now();
        timeline.add(new String[] { now.toString(), what });
        if (what.startsWith("recovered") && recovered == null) {
            recovered = now;
        }
        progress("%s", what);
    }

    void note(String text) {
        notes.add(text);
    }

    void fail(String why) {
        failures.add(why);
        progress("FAILED: %s", why);
    }

    /** Waits for a condition, marking the timeline with {@code what} when it holds; false (and a failure) on timeout. */
    boolean await(String what, Duration timeout, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        long lastPrint = System.nanoTime();
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                mark(what);
                return true;
            }
            if (System.nanoTime() - lastPrint > 10_000_000_000L) {
                progress("waiting for: %s (lag %s, firing %s)", what, value("sum(max by (topic, partition) (consumer_lag))"),
                        firing());
                lastPrint = System.nanoTime();
            }
            pause(0.5);
        }
        fail("not within " + timeout.toSeconds() + " s: " + what);
        return false;
    }

    /** A pause of the script, in seconds. */
    void pause(double seconds) {
        try {
            Thread.sleep((long) (seconds * 1000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    // --- alerts

    private void watchAlerts() {
        while (watching) {
            try {
                if (!armed) {
                    pause(0.5);
                    continue;
                }
                Map<String, String> states = new HashMap<>();
                for (JsonObject alert : monitoring.activeAlerts()) {
                    String alertName = alert.getJsonObject("labels").getString("alertname");
                    states.merge(alertName, alert.getString("state"), (a, b) -> "firing".equals(a) ? a : b);
                }
                Map<String, Boolean> inAlertmanager = monitoring.alertmanagerAlerts();
                Set<String> names = new LinkedHashSet<>(alerts.keySet());
                names.addAll(states.keySet());
                names.addAll(inAlertmanager.keySet());
                for (WebhookReceiver.Delivery delivery : monitoring.webhook().deliveries()) {
                    // The Watchdog fires from the first evaluation on: its deliveries count whenever they came.
                    if (delivery.status().equals("firing")
                            && (!delivery.at().isBefore(armedAt) || delivery.alertname().equals("StreamSREWatchdog"))) {
                        names.add(delivery.alertname());
                        AlertTimes times = alerts.computeIfAbsent(delivery.alertname(), key -> new AlertTimes());
                        if (times.delivered == null) {
                            times.delivered = delivery.at();
                            times.receiver = delivery.receiver();
                            mark("alert " + delivery.alertname() + " delivered to receiver " + delivery.receiver());
                        }
                    }
                }
                Instant now = Instant.now();
                for (String alertName : names) {
                    AlertTimes times = alerts.computeIfAbsent(alertName, key -> new AlertTimes());
                    String state = states.getOrDefault(alertName, "inactive");
                    if (!state.equals(times.state)) {
                        boolean wasFiring = "firing".equals(times.state);
                        times.state = state;
                        if (state.equals("pending") && times.pending == null) {
                            times.pending = now;
                        } else if (state.equals("firing") && times.firing == null) {
                            times.firing = now;
                        } else if (state.equals("inactive") && wasFiring) {
                            times.resolved = now;
                        }
                        mark("alert " + alertName + " " + (state.equals("inactive") ? wasFiring ? "resolved" : "no longer pending"
                                : state));
                    }
                    boolean received = inAlertmanager.containsKey(alertName);
                    if (received && inAlertmanager.get(alertName) && !times.inhibited) {
                        times.inhibited = true;
                        mark("alert " + alertName + " inhibited by Alertmanager (its cause fires)");
                    }
                    if (received != times.inAlertmanager) {
                        times.inAlertmanager = received;
                        if (received && times.received == null) {
                            times.received = now;
                        } else if (!received) {
                            times.alertmanagerResolved = now;
                        }
                        mark("alert " + alertName + (received ? " received by Alertmanager" : " resolved in Alertmanager"));
                    }
                }
            } catch (RuntimeException e) {
                // Prometheus restarting or slow: the next poll tries again.
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private List<String> firing() {
        List<String> names = new ArrayList<>();
        alerts.forEach((alertName, times) -> {
            if (times.state.equals("firing")) {
                names.add(alertName);
            }
        });
        return names;
    }

    /**
     * Waits until the alert fires and then until Alertmanager has delivered it to a receiver, or
     * holds it inhibited by its cause (fails the drill if either does not happen): the mitigation
     * starts once the page is in, as it would on call.
     */
    boolean awaitFiring(String alert, Duration timeout) {
        return await("(checked) " + alert + " is firing", timeout, () -> {
            AlertTimes times = alerts.get(alert);
            return times != null && times.firing != null;
        }) && await("(checked) " + alert + " delivered or inhibited", Duration.ofSeconds(45), () -> {
            AlertTimes times = alerts.get(alert);
            return times.delivered != null || times.inhibited;
        });
    }

    /**
     * The alerting chain end to end, after the drill: the Watchdog reached its receiver, at least
     * one alert the drill expects reached a person (the others may be inhibited by it), and nothing
     * else was delivered but the fault's known symptoms (listed in the report's notes). An alert
     * outside both lists fails the drill: on call, it would have paged someone for nothing; so does
     * one first delivered after the recovery.
     */
    void checkAlertChain(List<String> expected, List<String> symptoms) {
        List<WebhookReceiver.Delivery> deliveries = monitoring.webhook().deliveries();
        if (deliveries.stream().noneMatch(d -> d.alertname().equals("StreamSREWatchdog") && d.receiver().equals("watchdog"))) {
            fail("StreamSREWatchdog never reached the watchdog receiver: the alerting chain is broken");
        }
        if (expected.stream().map(alerts::get).noneMatch(times -> times != null && times.delivered != null)) {
            fail("none of " + expected + " reached a receiver");
        }
        alerts.forEach((alertName, times) -> {
            if (times.delivered == null || alertName.equals("StreamSREWatchdog")) {
                return;
            }
            // A page first sent after the recovery is a page about a fault already fixed: its cause
            // stopped inhibiting it too early, or it reads a symptom that outlives the fault.
            if (recovered != null && times.delivered.isAfter(recovered)) {
                fail(alertName + " was first delivered at " + clock(times.delivered) + ", after the recovery at "
                        + clock(recovered));
            }
            if (expected.contains(alertName)) {
                return;
            }
            String delivery = alertName + " to receiver " + times.receiver + " at " + clock(times.delivered);
            if (symptoms.contains(alertName)) {
                notes.add("also delivered, a known symptom of this fault: " + delivery);
            } else {
                fail("unexpected alert delivered: " + delivery);
            }
        });
    }

    /**
     * Waits until the alert, having fired, is inactive in Prometheus and gone from Alertmanager and
     * stays so for 5 s while the consumer is up: a resolution seen while the consumer was down (its
     * own gauges gone with it) does not count.
     */
    boolean awaitResolved(String alert, Duration timeout) {
        long[] quietSince = { 0 };
        return await("(checked) " + alert + " resolved", timeout, () -> {
            AlertTimes times = alerts.get(alert);
            boolean quiet = times != null && times.firing != null && times.state.equals("inactive") && !times.inAlertmanager
                    && "1".equals(value("min(up{job=\"streamsre-consumer\"})"));
            if (!quiet) {
                quietSince[0] = 0;
                return false;
            }
            if (quietSince[0] == 0) {
                quietSince[0] = System.nanoTime();
            }
            return System.nanoTime() - quietSince[0] >= 5_000_000_000L;
        });
    }

    /**
     * A dependency outage, as the pg-outage and broker-restart drills run it: break it, wait for
     * every alert to fire, mend it (whatever happened meanwhile), wait for the lag to recover and
     * each alert to resolve.
     */
    void outage(Runnable breakIt, String broken, Runnable mendIt, String mended, String... alertsToFire) {
        breakIt.run();
        mark("fault injected: " + broken);
        try {
            for (String alert : alertsToFire) {
                awaitFiring(alert, Drills.FIRE);
            }
            snapshot("during");
        } finally {
            mendIt.run();
            mark("mitigation applied: " + mended);
        }
        await("recovered: lag under 2,000 records", Duration.ofSeconds(120), () -> lag() < 2_000);
        for (String alert : alertsToFire) {
            awaitResolved(alert, Drills.RESOLVE);
        }
        snapshot("after");
    }

    // --- series

    String value(String expression) {
        try {
            OptionalDouble value = monitoring.value(expression);
            if (value.isEmpty()) {
                return "-";
            }
            double v = value.getAsDouble();
            return Double.isNaN(v) ? "-" : v == Math.rint(v) && Math.abs(v) < 1e15 ? String.format("%,d", (long) v)
                    : String.format("%,.1f", v);
        } catch (RuntimeException e) {
            return "?";
        }
    }

    /** Records the key series now, under {@code phase} (before, during, after). */
    void snapshot(String phase) {
        Map<String, String> values = new LinkedHashMap<>();
        keySeries("15s").forEach((label, expression) -> values.put(label, value(expression)));
        snapshots.put(phase + " (" + CLOCK.format(Instant.now()) + ")", values);
        if (!armed) {
            armedAt = Instant.now();
        }
        armed = true;
        progress("%s: %s", phase, values);
    }

    long lag() {
        return pipeline.lag();
    }

    // --- the ledger

    /** Stops the producer, waits for the consumer to drain everything, and checks the ledger exactly. */
    void drainAndCheckLedger() {
        stopProducer();
        Pipeline.Expected expected = pipeline.expected();
        try {
            pipeline.awaitDrained(expected, Duration.ofMinutes(3));
        } catch (AssertionError e) {
            fail("not drained: " + e.getMessage());
        }
        long landed = PipelineState.count("SELECT count(*) FROM reviews");
        Set<UUID> landedIds = PipelineState.uuids("SELECT event_id FROM reviews");
        long lostEvents = expected.events().stream().filter(id -> !landedIds.contains(id)).count();
        long deadLetters = PipelineState.count("SELECT count(*) FROM dlq_events");
        long distinctDeadLetters = PipelineState.count(
                "SELECT count(*) FROM (SELECT DISTINCT source_partition, source_offset FROM dlq_events) d");
        long doubled = (landed - landedIds.size()) + (deadLetters - distinctDeadLetters)
                + Math.max(0, PipelineState.count("SELECT count(*) FROM processed_events") - expected.events().size());
        String exact = null;
        long copies = -1;
        try {
            copies = pipeline.assertExactly(expected);
        } catch (AssertionError e) {
            exact = e.getMessage().lines().findFirst().orElse("mismatch");
        }
        ledger = new Ledger(expected.records(), expected.events().size(),
                expected.records() - expected.poison() - expected.events().size(), expected.poison(), landed,
                PipelineState.count("SELECT count(*) FROM processed_events"), deadLetters,
                lostEvents + Math.max(0, expected.poison() - distinctDeadLetters), doubled, copies, exact);
        mark(String.format("ledger: produced %,d = landed %,d + duplicates %,d + dead letters %,d; lost %d, doubled %d",
                ledger.produced(), ledger.landed(), ledger.duplicates(), ledger.deadLetters(), ledger.lost(), ledger.doubled()));
        if (!ledger.ok()) {
            fail("ledger check: lost " + ledger.lost() + ", doubled " + ledger.doubled()
                    + (exact == null ? "" : ", " + exact));
        }
        // The same proof from the application's own receipts, offset by offset (audit mode).
        audit = pipeline.audit(Map.of());
        mark(String.format("audit: exit %d in %.1f s, %s", audit.exitCode(), audit.seconds(),
                audit.report().lines().reduce((first, second) -> second).orElse("no report")));
        if (audit.exitCode() != 0) {
            fail("audit: exit " + audit.exitCode() + ", records unaccounted for (see the report)");
        }
    }

    boolean passed() {
        return failures.isEmpty() && ledger != null;
    }

    // --- the report

    /** Writes the Markdown report under {@code directory} and returns its path. */
    Path writeReport(Path directory, String fault, String mitigation, List<String> expectedAlerts, List<String> symptoms)
            throws IOException {
        Files.createDirectories(directory);
        Path report = directory.resolve(name + "-" + DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")
                .withZone(ZoneOffset.UTC).format(started) + ".md");
        StringBuilder md = new StringBuilder();
        md.append("# Drill report: ").append(name).append(shortForm ? " (short form)" : "").append("\n\n");
        md.append("- Started: ").append(started).append(", finished: ").append(Instant.now()).append('\n');
        md.append("- Result: **").append(passed() ? "PASSED" : "FAILED").append("**\n");
        md.append("- Fault: ").append(fault).append('\n');
        md.append("- Mitigation (from the runbook): ").append(mitigation).append('\n');
        md.append("- Alerts that must fire and resolve: ").append(String.join(", ", expectedAlerts)).append('\n');
        md.append("- Symptoms that may also be delivered (any other alert delivered fails the drill): ")
                .append(symptoms.isEmpty() ? "none" : String.join(", ", symptoms)).append('\n');
        md.append("- Rules: the repository's `prometheus/rules/*.yml`, `for:` capped at ").append(shortForm ? 10 : 20)
                .append(" s; Prometheus evaluates every second; Alertmanager routes with the repository's"
                        + " alertmanager/alertmanager.yml, group waits shortened to 1 s and 5 s\n");
        md.append("- Topic `").append(pipeline.topic()).append("`, group `").append(pipeline.group()).append("`\n\n");
        md.append("## Timeline (UTC)\n\n| time | +s | what |\n|---|---|---|\n");
        for (String[] step : timeline) {
            Instant at = Instant.parse(step[0]);
            md.append("| ").append(CLOCK.format(at)).append(" | ")
                    .append(String.format("%.1f", Duration.between(started, at).toMillis() / 1000.0)).append(" | ")
                    .append(step[1]).append(" |\n");
        }
        md.append("\n## Alerts\n\nDelivered: what alertmanager/alertmanager.yml sent to a receiver (a webhook standing"
                + " in for the pager); inhibited: held back while its cause fires.\n\n"
                + "| alert | pending | firing | received by Alertmanager | delivered (receiver) | resolved | resolved in Alertmanager |\n"
                + "|---|---|---|---|---|---|---|\n");
        alerts.forEach((alertName, t) -> md.append("| ").append(alertName).append(" | ").append(clock(t.pending))
                .append(" | ").append(clock(t.firing)).append(" | ").append(clock(t.received)).append(" | ")
                .append(t.delivered != null ? clock(t.delivered) + " (" + t.receiver + ")" : t.inhibited ? "inhibited" : "-")
                .append(" | ").append(clock(t.resolved)).append(" | ").append(clock(t.alertmanagerResolved)).append(" |\n"));
        md.append("\n## Key series (Prometheus instant queries, rates over 15 s)\n\n| series |");
        snapshots.keySet().forEach(phase -> md.append(' ').append(phase).append(" |"));
        md.append("\n|---|");
        snapshots.keySet().forEach(phase -> md.append("---|"));
        md.append('\n');
        for (String series : keySeries("15s").keySet()) {
            md.append("| ").append(series).append(" |");
            snapshots.values().forEach(values -> md.append(' ').append(values.get(series)).append(" |"));
            md.append('\n');
        }
        md.append("\n## Ledger\n\n");
        if (ledger == null) {
            md.append("Not checked (the drill stopped before).\n");
        } else {
            md.append(String.format("""
                    | produced records | distinct events | duplicates | poison | landed (reviews) | ledger rows | dead letters (dlq_events) | DLQ topic copies | lost | doubled |
                    |---|---|---|---|---|---|---|---|---|---|
                    | %,d | %,d | %,d | %,d | %,d | %,d | %,d | %,d | %d | %d |

                    produced %,d = landed %,d + duplicates %,d + dead letters %,d: %s. Exact check (every event one
                    review and one ledger row, each dead letter once): %s.
                    """, ledger.produced(), ledger.distinctEvents(), ledger.duplicates(), ledger.poison(), ledger.landed(),
                    ledger.ledgerRows(), ledger.deadLetters(), ledger.dlqCopies(), ledger.lost(), ledger.doubled(),
                    ledger.produced(), ledger.landed(), ledger.duplicates(), ledger.deadLetters(),
                    ledger.produced() == ledger.landed() + ledger.duplicates() + ledger.deadLetters() ? "holds" : "DOES NOT HOLD",
                    ledger.exactCheck() == null ? "passed" : "FAILED: " + ledger.exactCheck()));
        }
        md.append("\n## Audit\n\n");
        if (audit == null) {
            md.append("Not run (the drill stopped before).\n");
        } else {
            md.append(String.format("`QUARKUS_PROFILE=audit`, exit %d, %.1f s:%n%n```%n%s```%n", audit.exitCode(),
                    audit.seconds(), audit.report()));
        }
        if (!notes.isEmpty()) {
            md.append("\n## Notes\n\n");
            notes.forEach(note -> md.append("- ").append(note).append('\n'));
        }
        if (!failures.isEmpty()) {
            md.append("\n## Failures\n\n");
            failures.forEach(failure -> md.append("- ").append(failure).append('\n'));
        }
        Files.writeString(report, md.toString());
        return report;
    }

    private static String clock(Instant instant) {
        return instant == null ? "-" : CLOCK.format(instant);
    }

    @Override
    public void close() {
        watching = false;
        watcher.interrupt();
        pipeline.close();
        monitoring.close();
    }
}
