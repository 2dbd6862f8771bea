package dev.streamsre.drill;

import dev.streamsre.it.AppProcess;
import dev.streamsre.it.Pipeline;
import dev.streamsre.it.PipelineState;
import dev.streamsre.it.TestInfrastructure;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.common.TopicPartition;

/**
 * A Kubernetes-style rolling restart simulated with local processes: three consumers in one group
 * (two Kafka consumers each, six partitions) under steady load, restarted one after the other
 * (SIGTERM, wait for exit, start again, wait for readiness), once with dynamic group membership
 * (the settings before static membership) and once with static membership (each process keeps
 * its identity across its restart, as a StatefulSet pod keeps its name).
 *
 * <p>What it measures comes from the ledger, not from the consumers' own account: every event's
 * {@code processed_at} (its transaction's start) and partition. For each restart it reports the
 * longest time in which no partition at all progressed (the whole group stopped) and the longest
 * time a single partition waited. It ends with the exact-drain check (nothing lost, nothing
 * doubled), and exits 1 when that fails.
 *
 * <p>Run by {@code bin/rolling-restart}, which starts the local stack and passes the same system
 * properties as the drills.
 */
public final class RollingRestart {

    private static final int PARTITIONS = 6;
    private static final int CONSUMERS = 3;
    /** The connector's concurrency (application.properties): Kafka consumers per process. */
    private static final int CONSUMERS_PER_PROCESS = 2;
    private static final int RATE_PER_SEC = 1000;
    private static final Duration WARM_UP = Duration.ofSeconds(15);
    /** Longer than session.timeout.ms (10 s), so a rebalance the restart causes later is inside the window. */
    private static final Duration SETTLE = Duration.ofSeconds(20);
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss.SSS").withZone(ZoneOffset.UTC);

    /** One restart of one consumer: when it was asked to stop, when it had exited, when it was ready again. */
    record Restart(int consumer, Instant stopAsked, Instant exited, Instant ready, Instant windowEnd) {
    }

    /**
     * What one restart cost, from the ledger: the longest time no partition progressed, and each
     * partition's longest wait, longest first. With six partitions and six Kafka consumers each
     * consumer owns one partition, so the first two are the restarting process's partitions and
     * the other four its peers' (which, with static membership, should not notice the restart).
     */
    record Cost(Restart restart, Duration groupStopped, List<Duration> partitionWaits) {

        Duration restartingProcess() {
            return partitionWaits.get(CONSUMERS_PER_PROCESS - 1);
        }

        Duration peers() {
            return partitionWaits.get(CONSUMERS_PER_PROCESS);
        }
    }

    private RollingRestart() {
    }

    public static void main(String[] args) throws Exception {
        String which = args.length > 0 ? args[0] : "both";
        List<String> modes = switch (which) {
            case "dynamic", "static" -> List.of(which);
            case "both" -> List.of("dynamic", "static");
            default -> {
                System.err.println("usage: bin/rolling-restart [dynamic|static|both]");
                System.exit(2);
                yield List.of();
            }
        };
        StringBuilder report = new StringBuilder("# Rolling restart: " + CONSUMERS + " consumers, " + PARTITIONS
                + " partitions, " + RATE_PER_SEC + " events/s\n\n");
        boolean exact = true;
        for (String mode : modes) {
            try {
                report.append(run(mode));
            } catch (AssertionError failure) {
                exact = false;
                report.append("## ").append(mode).append(": FAILED\n\n").append(failure.getMessage()).append("\n\n");
            }
        }
        Path reports = Path.of(System.getProperty("drill.reports", "drill-reports"));
        Files.createDirectories(reports);
        Path file = reports.resolve("rolling-restart-" + Instant.now().toString().replace(':', '-') + ".md");
        Files.writeString(file, report);
        System.out.println();
        System.out.println(report);
        System.out.println("report: " + file);
        System.exit(exact ? 0 : 1);
    }

    private static String run(String mode) throws Exception {
        progress(mode + ": starting " + CONSUMERS + " consumers and a producer at " + RATE_PER_SEC + "/s");
        try (Pipeline pipeline = Pipeline.fresh("rolling-" + mode, PARTITIONS)) {
            List<AppProcess> consumers = new ArrayList<>();
            for (int i = 0; i < CONSUMERS; i++) {
                consumers.add(pipeline.startConsumer(environment(mode, i)));
            }
            for (AppProcess consumer : consumers) {
                consumer.awaitReady(Duration.ofSeconds(60));
            }
            AppProcess producer = pipeline.start("producer", Map.of("KAFKA_TOPIC", pipeline.topic(),
                    "RATE_PER_SEC", String.valueOf(RATE_PER_SEC), "DURATION", "0"));
            sleep(WARM_UP);
            String members = members(pipeline.group());
            progress(mode + ": members " + members);

            List<Restart> restarts = new ArrayList<>();
            for (int i = 0; i < CONSUMERS; i++) {
                Instant stopAsked = Instant.now();
                consumers.get(i).terminate();
                int exit = consumers.get(i).awaitExit(Duration.ofSeconds(30));
                Instant exited = Instant.now();
                if (exit != 0) {
                    throw new AssertionError("consumer " + i + " exited " + exit + " on SIGTERM");
                }
                AppProcess restarted = pipeline.startConsumer(environment(mode, i));
                consumers.set(i, restarted);
                restarted.awaitReady(Duration.ofSeconds(60));
                Instant ready = Instant.now();
                progress(String.format(Locale.ROOT, "%s: consumer %d restarted: exit after %.1f s, ready %.1f s later",
                        mode, i, seconds(Duration.between(stopAsked, exited)), seconds(Duration.between(exited, ready))));
                sleep(SETTLE);
                restarts.add(new Restart(i, stopAsked, exited, ready, Instant.now()));
            }

            producer.terminate();
            producer.awaitExit(Duration.ofSeconds(30));
            Pipeline.Expected expected = pipeline.expected();
            progress(mode + ": producer stopped after " + expected.records() + " records; waiting for the drain");
            pipeline.awaitDrained(expected, Duration.ofMinutes(3));
            pipeline.assertExactly(expected);
            progress(mode + ": drained exactly: " + expected.events().size() + " events, lost 0, doubled 0");
            List<Cost> costs = new ArrayList<>();
            for (Restart restart : restarts) {
                costs.add(cost(restart));
            }
            return table(mode, costs) + "Members before the restarts: " + members + ". Drained exactly: "
                    + expected.events().size() + " events, lost 0, doubled 0.\n\n";
        }
    }

    /**
     * Dynamic: the settings as shipped without an identity (session timeout 10 s). Static: what
     * k8s/ deploys, an identity per process and a 30 s session timeout, longer than a restart
     * (a JVM start on a busy 2-core machine takes 10 to 25 s; past the timeout the broker drops
     * the member and rebalances after all).
     */
    private static Map<String, String> environment(String mode, int consumer) {
        Map<String, String> env = new HashMap<>();
        if (mode.equals("static")) {
            env.put("STREAMSRE_CONSUMER_GROUP_INSTANCE_ID", "consumer-" + consumer);
            env.put("MP_MESSAGING_INCOMING_EVENTS_IN_SESSION_TIMEOUT_MS", "30000");
            env.put("MP_MESSAGING_INCOMING_DLQ_IN_SESSION_TIMEOUT_MS", "30000");
        }
        return env;
    }

    /** The group's members as the broker sees them: static ids (or none) and their partitions. */
    private static String members(String group) throws Exception {
        try (Admin admin = TestInfrastructure.admin()) {
            ConsumerGroupDescription description = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
            List<String> members = new ArrayList<>();
            for (MemberDescription member : description.members()) {
                members.add(member.groupInstanceId().orElse("(dynamic " + member.clientId() + ")") + " "
                        + member.assignment().topicPartitions().stream().map(TopicPartition::partition).sorted().toList());
            }
            members.sort(null);
            return String.join(", ", members);
        }
    }

    /**
     * The ledger rows landed between the stop request and the end of the settle period, in time
     * order: the longest gap between two consecutive rows is how long the whole group stood still,
     * and the longest gap per partition (window edges included) how long a partition waited.
     */
    private static Cost cost(Restart restart) throws SQLException {
        Instant from = restart.stopAsked().minusSeconds(1);
        Instant to = restart.windowEnd();
        Instant previous = from;
        Duration groupStopped = Duration.ZERO;
        Map<Integer, Instant> lastByPartition = new TreeMap<>();
        Map<Integer, Duration> waitByPartition = new TreeMap<>();
        try (Connection db = PipelineState.database(); PreparedStatement query = db.prepareStatement(
                "SELECT source_partition, processed_at FROM processed_events WHERE processed_at BETWEEN ? AND ?"
                        + " ORDER BY processed_at")) {
            query.setObject(1, OffsetDateTime.ofInstant(from, ZoneOffset.UTC));
            query.setObject(2, OffsetDateTime.ofInstant(to, ZoneOffset.UTC));
            ResultSet rows = query.executeQuery();
            while (rows.next()) {
                int partition = rows.getInt(1);
                Instant at = rows.getObject(2, OffsetDateTime.class).toInstant();
                groupStopped = max(groupStopped, Duration.between(previous, at));
                previous = at;
                Duration gap = Duration.between(lastByPartition.getOrDefault(partition, from), at);
                waitByPartition.merge(partition, gap, RollingRestart::max);
                lastByPartition.put(partition, at);
            }
        }
        groupStopped = max(groupStopped, Duration.between(previous, to));
        List<Duration> waits = new ArrayList<>();
        for (int partition = 0; partition < PARTITIONS; partition++) {
            Duration untilEnd = Duration.between(lastByPartition.getOrDefault(partition, from), to);
            waits.add(max(waitByPartition.getOrDefault(partition, Duration.ZERO), untilEnd));
        }
        waits.sort(java.util.Comparator.reverseOrder());
        return new Cost(restart, groupStopped, waits);
    }

    private static String table(String mode, List<Cost> costs) {
        StringBuilder table = new StringBuilder("## " + mode + " membership\n\n"
                + "| restart | SIGTERM at (UTC) | exit after | ready after exit | whole group stopped"
                + " | its partitions waited | peers' partitions waited |\n"
                + "|---|---|---|---|---|---|---|\n");
        for (Cost cost : costs) {
            Restart restart = cost.restart();
            table.append(String.format(Locale.ROOT, "| consumer %d | %s | %.1f s | %.1f s | %.1f s | %.1f s | %.1f s |%n",
                    restart.consumer(), CLOCK.format(restart.stopAsked()),
                    seconds(Duration.between(restart.stopAsked(), restart.exited())),
                    seconds(Duration.between(restart.exited(), restart.ready())),
                    seconds(cost.groupStopped()), seconds(cost.restartingProcess()), seconds(cost.peers())));
        }
        return table.append('\n').toString();
    }

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    private static double seconds(Duration duration) {
        return duration.toMillis() / 1000.0;
    }

    private static void sleep(Duration duration) throws InterruptedException {
        Thread.sleep(duration.toMillis());
    }

    private static void progress(String line) {
        System.out.println("[" + CLOCK.format(Instant.now()) + "] " + line);
    }
}
