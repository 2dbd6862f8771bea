package dev.streamsre.drill;

import dev.streamsre.it.PipelineState;
import dev.streamsre.it.TestInfrastructure;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The chaos drills, one per failure mode the runbooks cover: what each breaks, which alert must
 * fire, and the mitigation its runbook prescribes. Each scenario runs through {@link DrillRun},
 * which keeps the timeline, the series and the ledger; a scenario reads as the drill's script.
 */
public final class Drills {

    /**
     * A drill: its name, what it breaks, the runbook's mitigation, the alerts it must see fire and
     * resolve, and the symptoms of the same fault that may also reach a receiver (a warning sent
     * before the page that inhibits it, a dependency's exporter that goes dark with it). Any other
     * alert delivered fails the drill: it would page someone for nothing.
     */
    public record Scenario(String name, String fault, String mitigation, List<String> alerts, List<String> symptoms,
            boolean stopsPostgres, Consumer<DrillRun> script) {
    }

    /** The lag alerts, which any stall produces. */
    private static final List<String> LAG = List.of("StreamSREConsumerLagHigh", "StreamSREConsumerLagSecondsHigh");

    private Drills() {
    }

    static final List<Scenario> ALL = List.of(
            new Scenario("lag-climbing",
                    "load raised from 150 to 2,000 events/s against a consumer whose capacity is capped at 400 events/s"
                            + " (CONSUMER_RATE_LIMIT)",
                    "raise capacity: restart the consumer without the cap (runbooks/StreamSREConsumerLagSecondsHigh.md,"
                            + " runbooks/StreamSREConsumerLagHigh.md); the warning StreamSREConsumerLagHigh is inhibited"
                            + " by the page about the same topic",
                    List.of("StreamSREConsumerLagSecondsHigh"),
                    List.of("StreamSREConsumerLagHigh"), false, Drills::lagClimbing),
            new Scenario("slow-db",
                    "a pg_sleep(2) trigger on every INSERT statement into reviews",
                    "find the slow statement in pg_stat_activity and remove its cause: DROP TRIGGER"
                            + " (runbooks/StreamSREConsumerLagSecondsHigh.md, runbooks/StreamSREConsumerLagHigh.md)",
                    List.of("StreamSREConsumerLagSecondsHigh"),
                    List.of("StreamSREConsumerLagHigh", "StreamSREDatabasePoolSaturated", "StreamSRERetryStorm"), false,
                    Drills::slowDatabase),
            new Scenario("db-lock",
                    "an operator's LOCK TABLE reviews held open in a transaction under 200 events/s: every write waits,"
                            + " while PostgreSQL answers and the consumer stays ready",
                    "find the session that blocks the consumer's writes (pg_blocking_pids) and end it:"
                            + " pg_terminate_backend (runbooks/StreamSREConsumerLagSecondsHigh.md,"
                            + " runbooks/StreamSRECircuitBreakerOpen.md); the writes time out after 30 s, so the"
                            + " breaker opens too and its page inhibits the lag page",
                    List.of("StreamSREConsumerLagSecondsHigh", "StreamSRECircuitBreakerOpen"),
                    List.of("StreamSREConsumerLagHigh", "StreamSREDatabasePoolSaturated", "StreamSRERetryStorm",
                            "StreamSREPostgreSQLLockWaits", "StreamSREConsumerNoProgress"), false, Drills::databaseLock),
            new Scenario("poison",
                    "a producer sending 20 % poison records (not JSON, rating out of range, missing fields)",
                    "stop the bad producer; clean traffic dilutes the share (runbooks/StreamSREDeadLetterSpike.md)",
                    List.of("StreamSREDeadLetterSpike"),
                    List.of(), false, Drills::poison),
            new Scenario("consumer-crash",
                    "kill -9 of the only consumer under 1,000 events/s with 1 % poison and 2 % duplicates",
                    "restart it, as the restart policy does (runbooks/StreamSREConsumerDown.md)",
                    List.of("StreamSREConsumerDown"),
                    LAG, false, Drills::consumerCrash),
            new Scenario("pg-outage",
                    "PostgreSQL stopped (pg_ctlcluster stop -m fast) under 500 events/s",
                    "start PostgreSQL (runbooks/StreamSREConsumerNotReady.md, runbooks/StreamSRECircuitBreakerOpen.md)",
                    List.of("StreamSREConsumerNotReady", "StreamSRECircuitBreakerOpen"),
                    List.of("StreamSREConsumerLagHigh", "StreamSREConsumerLagSecondsHigh", "StreamSREDependencyUnobserved",
                            "StreamSREConsumerNoProgress", "StreamSRERetryStorm"), true, Drills::postgresOutage),
            new Scenario("broker-restart",
                    "the Kafka broker stopped with a backlog of 20,000 records",
                    "start the broker (runbooks/StreamSREConsumerNotReady.md)",
                    List.of("StreamSREConsumerNotReady"),
                    List.of("StreamSREConsumerLagHigh", "StreamSREConsumerLagSecondsHigh", "StreamSREDependencyUnobserved",
                            "StreamSREConsumerNoProgress", "StreamSREProducerSendErrors"), false, Drills::brokerRestart),
            new Scenario("dlq-down",
                    "the DLQ topic deleted, then 5 % poison at 500 events/s",
                    "recreate the DLQ topic (runbooks/StreamSREDeadLetterQueueUnavailable.md)",
                    List.of("StreamSREDeadLetterQueueUnavailable"),
                    List.of("StreamSREConsumerLagHigh", "StreamSREConsumerLagSecondsHigh", "StreamSREDeadLettersPendingHigh"), false, Drills::dlqDown));

    public static Scenario named(String name) {
        return ALL.stream().filter(scenario -> scenario.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no drill '" + name + "'; drills: "
                        + ALL.stream().map(Scenario::name).toList()));
    }

    static final Duration FIRE = Duration.ofSeconds(120);
    static final Duration RESOLVE = Duration.ofSeconds(150);

    static void lagClimbing(DrillRun run) {
        run.startConsumer(Map.of("CONSUMER_RATE_LIMIT", "400"));
        run.startProducer(150, 0, 0);
        run.pause(10);
        run.snapshot("before");
        run.stopProducer();
        run.startProducer(2_000, 0, 0);
        run.mark("fault injected: load raised from 150 to 2,000 events/s; the consumer's capacity is 400 events/s");
        if (run.awaitFiring("StreamSREConsumerLagSecondsHigh", FIRE)) {
            run.snapshot("during");
            run.consumer().terminate();
            run.consumer().awaitExit(Duration.ofSeconds(30));
            run.startConsumer(Map.of());
            run.mark("mitigation applied: consumer restarted without the cap (capacity raised)");
            run.await("recovered: lag under 2,000 records", Duration.ofSeconds(120), () -> run.lag() < 2_000);
            run.awaitResolved("StreamSREConsumerLagSecondsHigh", RESOLVE);
            run.snapshot("after");
        }
        run.drainAndCheckLedger();
    }

    /** The runbook's query for statements running longer than a second. */
    static final String SLOW_STATEMENTS = "SELECT pid, usename, now() - query_start AS running, wait_event,"
            + " left(query, 60) AS query FROM pg_stat_activity WHERE state = 'active'"
            + " AND now() - query_start > interval '1 second' ORDER BY running DESC LIMIT 5";

    static void slowDatabase(DrillRun run) {
        run.startConsumer(Map.of());
        run.startProducer(2_000, 0, 0);
        run.pause(8);
        run.snapshot("before");
        PipelineState.execute("CREATE OR REPLACE FUNCTION drill_slow() RETURNS trigger LANGUAGE plpgsql AS"
                + " $$ BEGIN PERFORM pg_sleep(2); RETURN NULL; END $$");
        PipelineState.execute("CREATE OR REPLACE TRIGGER drill_slow BEFORE INSERT ON reviews FOR EACH STATEMENT"
                + " EXECUTE FUNCTION drill_slow()");
        run.mark("fault injected: pg_sleep(2) per INSERT statement into reviews");
        try {
            if (run.awaitFiring("StreamSREConsumerLagSecondsHigh", FIRE)) {
                // The freshness SLO burns too, but a few minutes against three days of healthy
                // history stay under its fast-burn threshold (about 9 minutes stale in an hour).
                run.snapshot("during");
                run.note("the runbook's diagnosis during the fault, as the postgres superuser (only it sees every"
                        + " role's statements):\n\n" + psqlTranscript(SLOW_STATEMENTS));
            }
        } finally {
            PipelineState.execute("DROP TRIGGER IF EXISTS drill_slow ON reviews");
            run.mark("mitigation applied: trigger dropped");
        }
        run.await("recovered: lag under 2,000 records", Duration.ofSeconds(120), () -> run.lag() < 2_000);
        run.awaitResolved("StreamSREConsumerLagSecondsHigh", RESOLVE);
        run.snapshot("after");
        run.drainAndCheckLedger();
    }

    /** The StreamSREConsumerLagSecondsHigh runbook's query for sessions that block others. */
    static final String BLOCKING_SESSIONS = "SELECT pid, usename, state, now() - xact_start AS open_for, left(query, 60) AS query"
            + " FROM pg_stat_activity WHERE pid IN (SELECT unnest(pg_blocking_pids(pid)) FROM pg_stat_activity)";

    /**
     * A stall with readiness up: PostgreSQL answers (SELECT 1, readiness, the breaker's trial
     * calls never fail fast), but every write into reviews waits for a lock an operator took and
     * forgot. Only the age of the waiting records shows it; it must page.
     */
    static void databaseLock(DrillRun run) {
        run.startConsumer(Map.of());
        run.startProducer(200, 0, 0);
        run.pause(8);
        run.snapshot("before");
        try (java.sql.Connection operator = PipelineState.database()) {
            operator.setAutoCommit(false);
            try (java.sql.Statement statement = operator.createStatement()) {
                statement.execute("LOCK TABLE reviews IN ACCESS EXCLUSIVE MODE");
            }
            run.mark("fault injected: LOCK TABLE reviews IN ACCESS EXCLUSIVE MODE, in a transaction left open");
            try {
                if (run.awaitFiring("StreamSREConsumerLagSecondsHigh", FIRE)
                        && run.awaitFiring("StreamSRECircuitBreakerOpen", FIRE)) {
                    run.snapshot("during");
                    String ready = run.value("min(dependency_up{job=\"streamsre-consumer\"})");
                    run.note("readiness during the lock: min(dependency_up) = " + ready);
                    if (!"1".equals(ready)) {
                        run.fail("the consumer reported a dependency down during a lock: this drill is about a stall with readiness up");
                    }
                    run.note("the runbook's diagnosis during the fault, as the postgres superuser:\n\n"
                            + psqlTranscript(BLOCKING_SESSIONS));
                    psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid IN"
                            + " (SELECT unnest(pg_blocking_pids(pid)) FROM pg_stat_activity)");
                    run.mark("mitigation applied: the blocking session terminated (pg_terminate_backend)");
                }
            } finally {
                try {
                    operator.rollback();
                } catch (java.sql.SQLException terminated) {
                    // The mitigation ended this session: the lock is gone with it.
                }
            }
        } catch (java.sql.SQLException e) {
            run.fail("could not take the lock: " + e.getMessage());
        }
        run.await("recovered: lag under 2,000 records", Duration.ofSeconds(120), () -> run.lag() < 2_000);
        run.awaitResolved("StreamSREConsumerLagSecondsHigh", RESOLVE);
        run.awaitResolved("StreamSRECircuitBreakerOpen", RESOLVE);
        run.snapshot("after");
        run.drainAndCheckLedger();
    }

    /** The StreamSREDeadLetterSpike runbook's first query. */
    static final String DEAD_LETTERS_BY_REASON = "SELECT reason, count(*), min(first_failed_at), max(first_failed_at)"
            + " FROM dlq_events GROUP BY 1 ORDER BY 2 DESC";

    static void poison(DrillRun run) {
        run.startConsumer(Map.of());
        run.startProducer(1_000, 0, 0);
        run.pause(8);
        run.snapshot("before");
        run.stopProducer();
        run.startProducer(1_000, 20, 0);
        run.mark("fault injected: producer switched to 20 % poison at 1,000 events/s");
        if (run.awaitFiring("StreamSREDeadLetterSpike", FIRE)) {
            run.snapshot("during");
            run.stopProducer();
            run.startProducer(5_000, 0, 0);
            run.mark("mitigation applied: poisoned producer stopped; clean traffic at 5,000 events/s");
            run.awaitResolved("StreamSREDeadLetterSpike", RESOLVE);
            run.snapshot("after");
        }
        run.drainAndCheckLedger();
        run.note("the runbook's first query, after the drill:\n\n" + psqlTranscript(DEAD_LETTERS_BY_REASON));
    }

    static void consumerCrash(DrillRun run) {
        run.startConsumer(Map.of());
        run.startProducer(1_000, 1, 2);
        run.pause(run.scaled(15, 10));
        run.snapshot("before");
        run.consumer().kill();
        run.mark("fault injected: kill -9 of the consumer (pid " + run.consumer().pid() + ")");
        if (run.awaitFiring("StreamSREConsumerDown", FIRE)) {
            run.snapshot("during");
            run.startConsumer(Map.of());
            run.mark("mitigation applied: consumer restarted");
            run.await("recovered: consumer up and lag under 2,000 records", Duration.ofSeconds(120),
                    () -> run.value("min(up{job=\"streamsre-consumer\"})").equals("1") && run.lag() < 2_000);
            run.awaitResolved("StreamSREConsumerDown", RESOLVE);
            run.snapshot("after");
        }
        run.drainAndCheckLedger();
    }

    static void postgresOutage(DrillRun run) {
        run.startConsumer(Map.of());
        run.startProducer(500, 0, 0);
        run.pause(8);
        run.snapshot("before");
        run.outage(() -> TestInfrastructure.postgres("stop"), "PostgreSQL stopped",
                () -> TestInfrastructure.postgres("start"), "PostgreSQL started", "StreamSREConsumerNotReady", "StreamSRECircuitBreakerOpen");
        run.drainAndCheckLedger();
        if (PipelineState.count("SELECT count(*) FROM dlq_events") != 0) {
            run.fail("an outage put records in the DLQ");
        }
    }

    static void brokerRestart(DrillRun run) {
        run.startProducer(5_000, 0, 0);
        run.pause(4);
        run.stopProducer();
        run.startConsumer(Map.of("CONSUMER_RATE_LIMIT", "1000"));
        run.pause(6);
        run.snapshot("before");
        run.outage(() -> TestInfrastructure.infra("down"), "Kafka broker stopped",
                () -> TestInfrastructure.infra("up"), "broker started", "StreamSREConsumerNotReady");
        run.drainAndCheckLedger();
    }

    static void dlqDown(DrillRun run) {
        run.startConsumer(Map.of());
        run.startProducer(500, 0, 0);
        run.pause(8);
        run.snapshot("before");
        // Deleted before any dead letter was written to it, so that the ledger can still demand
        // a copy of each dead letter in the topic once it is back.
        TestInfrastructure.deleteTopic(run.pipeline().dlqTopic());
        run.stopProducer();
        run.startProducer(500, 5, 0);
        run.mark("fault injected: DLQ topic " + run.pipeline().dlqTopic() + " deleted; 5 % poison at 500 events/s");
        long faultAt = System.nanoTime();
        try {
            run.awaitFiring("StreamSREDeadLetterQueueUnavailable", FIRE);
            run.snapshot("during");
        } finally {
            TestInfrastructure.recreateTopic(run.pipeline().dlqTopic(), 1);
            run.mark("mitigation applied: DLQ topic recreated");
        }
        run.await("recovered: lag under 2,000 records", Duration.ofSeconds(120), () -> run.lag() < 2_000);
        run.awaitResolved("StreamSREDeadLetterQueueUnavailable", RESOLVE);
        run.snapshot("after");
        // The DLQ's outage must not hide the consumer: every scrape since the fault answered.
        long since = (System.nanoTime() - faultAt) / 1_000_000_000L + 1;
        String minUp = run.value("min_over_time(up{job=\"streamsre-consumer\"}[" + since + "s])");
        run.note("min(up) of the consumer since the fault: " + minUp);
        if (!"1".equals(minUp)) {
            run.fail("Prometheus could not scrape the consumer during the DLQ outage (min up " + minUp + ")");
        }
        run.drainAndCheckLedger();
    }

    /** Runs a statement with psql as the postgres superuser, as a runbook does; returns what psql printed. */
    static String psql(String sql) {
        return Shell.run("psql", "-h", "127.0.0.1", "-U", "postgres", "-d", TestInfrastructure.databaseName(), "-c", sql);
    }

    /** A runbook's psql command and its output, as a Markdown block for a drill report's notes. */
    static String psqlTranscript(String sql) {
        return "```\n$ psql -h 127.0.0.1 -U postgres -d " + TestInfrastructure.databaseName() + " -c \"" + sql + "\"\n"
                + psql(sql) + "```";
    }

    /** Runs a command and returns what it printed (the drills quote their diagnosis commands' output). */
    static final class Shell {
        static String run(String... command) {
            try {
                Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
                String output = new String(process.getInputStream().readAllBytes());
                process.waitFor();
                return output;
            } catch (java.io.IOException e) {
                return "(cannot run " + command[0] + ": " + e.getMessage() + ")\n";
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "(interrupted)\n";
            }
        }
    }
}
