package dev.streamsre.bench;

import dev.streamsre.event.DecodeResult;
import dev.streamsre.event.Event;
import dev.streamsre.event.EventCodec;
import dev.streamsre.event.ReviewData;
import dev.streamsre.it.AppProcess;
import dev.streamsre.it.ImageSettings;
import dev.streamsre.it.Pipeline;
import dev.streamsre.it.PipelineState;
import dev.streamsre.it.TestInfrastructure;
import dev.streamsre.consumer.ReviewSink;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BiConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

/**
 * The benchmark harness ({@code bin/benchmark}): measures the producer against Kafka's own
 * ProducerPerformance, and the consumer's drain rate against the PostgreSQL ceiling for the same
 * rows, all in one run on one machine, and prints them side by side. Not a test: figures depend on
 * the machine, so they are printed next to the ceiling measured in the same run, never asserted.
 */
public final class PipelineBenchmark {

    private static final int PARTITIONS = 6;
    private static final int CEILING_BATCH = 1_000;
    private static final int CEILING_CONNECTIONS = 2;
    /**
     * Long enough that the last 30 s are past both JVMs' warm-up (JIT compilation and
     * deoptimisation), which lasts over 60 s on a slow 2-core machine.
     */
    private static final int LATENCY_RUN_SECONDS = 120;
    /** The short mode's latency run: long enough for a p99 over 150,000 events, not for warm-up to fade. */
    private static final int SHORT_LATENCY_RUN_SECONDS = 30;
    /**
     * p99 at 5,000 events/s into a consumer that has just drained (warm): 20 ms, the figure the
     * hot-keys work must not regress.
     */
    private static final int CAUGHT_UP_P99_TARGET_MS = 20;
    /** p99 at 5,000 events/s over a run that starts with a fresh consumer (--latency, --native). */
    private static final int COLD_START_P99_TARGET_MS = 50;
    private final Map<String, String> results = new LinkedHashMap<>();
    /** Each target next to its figure, for the closing table. */
    private final List<String[]> targets = new ArrayList<>();
    private int latencyRunSeconds = LATENCY_RUN_SECONDS;
    private final long started = System.nanoTime();
    /** What this run is (for the run-time target) and its limit: the full run 15 min, --short 4 min, others none. */
    private String mode = "full run";
    private Duration runTimeLimit = Duration.ofMinutes(15);
    /** The consumer's JVM settings ({@link #consumerJvm}): environment and command-line options. */
    private final Map<String, String> consumerEnvironment = new java.util.TreeMap<>();
    private List<String> consumerOptions = List.of();

    /** Records a target's figure and whether it is met. */
    private void target(String what, String figure, boolean met) {
        targets.add(new String[] {what, figure, met ? "met" : "NOT met"});
    }

    public static void main(String[] args) throws Exception {
        String only = System.getProperty("bench.only", "all");
        if (!only.equals("all") && !only.equals("poison")) {
            throw new IllegalArgumentException("ONLY (bench.only) must be 'all' or 'poison', got '" + only + "'");
        }
        boolean shortMode = Boolean.getBoolean("bench.short");
        PipelineBenchmark benchmark = new PipelineBenchmark();
        if (Integer.getInteger("bench.latency-runs", 0) > 0) {
            benchmark.runTimeLimit = null;
            benchmark.consumerJvm(System.getProperty("bench.consumer-jvm-options", ""));
            benchmark.coldLatency(Integer.getInteger("bench.latency-runs"));
            benchmark.print();
            System.exit(0);
        }
        if (Boolean.getBoolean("bench.native")) {
            benchmark.runTimeLimit = null;
            benchmark.nativeNextToJvm(Integer.getInteger("bench.events", 1_000_000));
            benchmark.print();
            System.exit(0);
        }
        if (Boolean.getBoolean("bench.scale-out")) {
            benchmark.runTimeLimit = null;
            benchmark.consumerJvm(System.getProperty("bench.consumer-jvm-options", ""));
            benchmark.scaleOut(Integer.getInteger("bench.events", 1_000_000));
            benchmark.print();
            System.exit(0);
        }
        if (shortMode) {
            // The consumer's figures on a fifth of the events, with a 30 s latency run: a check
            // after a change, in under 4 minutes (two streams). The producer and poison parts are the full run's.
            benchmark.latencyRunSeconds = SHORT_LATENCY_RUN_SECONDS;
            benchmark.mode = "--short";
            benchmark.runTimeLimit = Duration.ofMinutes(4);
        }
        if (!only.equals("all") || Boolean.getBoolean("bench.skip-producer") || System.getProperty("bench.events") != null) {
            // A partial or resized run: its time says nothing about the full run's.
            benchmark.runTimeLimit = null;
        }
        benchmark.run(Integer.getInteger("bench.events", shortMode ? 200_000 : 1_000_000),
                Integer.getInteger("bench.producer-events", 1_000_000),
                shortMode || Boolean.getBoolean("bench.skip-producer"), only.equals("poison"), shortMode,
                System.getProperty("bench.consumer-jvm-options", ""),
                Double.parseDouble(System.getProperty("bench.poison-pct", "1")));
        System.exit(0);
    }

    private void run(int events, int producerEvents, boolean skipProducer, boolean poisonOnly, boolean skipPoison,
            String jvmOptionsOverride, double poisonPct) throws Exception {
        String jvmOptions = consumerJvm(jvmOptionsOverride);
        if (!poisonOnly) {
            if (!skipProducer) {
                producerVersusProducerPerformance(producerEvents);
                producerRateError(1_000);
                producerRateError(50_000);
            }
            // The seed's own load first (80 % of the events on 3 hot keys): the headline figure. Then
            // the same size with keys spread evenly. Each drain is next to its own stream's ceiling.
            List<Event> decoded = new ArrayList<>(events);
            List<int[]> positions = new ArrayList<>(events);
            Stream skewed = fill("bench-main", events, 0, 42, (record, event) -> {
                decoded.add(event);
                positions.add(new int[] {record.partition(), (int) record.offset()});
            });
            double[] ceilings = postgresCeilings(decoded, positions, skewed.valid().size());
            decoded.clear();
            positions.clear();
            Stream uniform = fill("bench-uniform", events, 0, 42, Map.of("STREAMSRE_PRODUCER_HOT_KEY_PCT", "0"), (record, event) -> {
                decoded.add(event);
                positions.add(new int[] {record.partition(), (int) record.offset()});
            });
            double uniformCeiling = postgresCeiling("minimal, uniform keys", MINIMAL_SCHEMA, MINIMAL_INSERT, false, decoded,
                    positions, uniform.valid().size());
            decoded.clear();
            positions.clear();
            consumerDrain(skewed, ceilings, jvmOptions);
            uniformDrain(uniform, uniformCeiling, jvmOptions);
        }
        if (!skipPoison) {
            poisonComparison(events, poisonPct, jvmOptions);
        }
        print();
    }

    // ---- producer ----

    private void producerVersusProducerPerformance(int n) throws Exception {
        String ours = TestInfrastructure.createTopic("bench-producer", PARTITIONS);
        progress("producer mode: " + n + " records at RATE_PER_SEC=0");
        String summary = runProducer(ours, Map.of("RATE_PER_SEC", "0", "DURATION", "0",
                "STREAMSRE_PRODUCER_MAX_EVENTS", String.valueOf(n)));
        double ourRate = Double.parseDouble(find(summary, "rate=(\\d+)/s"));
        List<ConsumerRecord<String, byte[]>> sample = TestInfrastructure.readAll(ours);
        long bytes = sample.stream().mapToLong(r -> r.value().length).sum();
        int recordSize = (int) (bytes / sample.size());
        sample.clear();

        String theirs = TestInfrastructure.createTopic("bench-perf", PARTITIONS);
        progress("Kafka ProducerPerformance: " + n + " records of " + recordSize + " bytes, same producer settings");
        Process perf = new ProcessBuilder("bash", "bin/infra", "kafka", "producer-perf", "--topic", theirs,
                "--num-records", String.valueOf(n), "--record-size", String.valueOf(recordSize), "--throughput", "-1",
                "--producer-props", "bootstrap.servers=" + TestInfrastructure.bootstrapServers(), "acks=all",
                "enable.idempotence=true", "linger.ms=5", "batch.size=131072", "compression.type=none")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String output = new String(perf.getInputStream().readAllBytes());
        perf.waitFor();
        String last = output.strip().lines().reduce((a, b) -> b).orElse("");
        double theirRate = Double.parseDouble(find(last, "records sent, ([\\d.]+) records/sec"));
        results.put("producer, RATE_PER_SEC=0", String.format("%,.0f events/s (%d-byte records)", ourRate, recordSize));
        results.put("Kafka ProducerPerformance", String.format("%,.0f records/s (same size, same producer settings)", theirRate));
        results.put("producer / ProducerPerformance", String.format("%.0f %% (target >= 50 %%)", 100 * ourRate / theirRate));
        target("producer >= 0.5x Kafka's ProducerPerformance", String.format("%.2fx", ourRate / theirRate), ourRate / theirRate >= 0.5);
    }

    private void producerRateError(int rate) throws Exception {
        String topic = TestInfrastructure.createTopic("bench-rate", PARTITIONS);
        progress("producer at " + rate + "/s for 10 s");
        runProducer(topic, Map.of("RATE_PER_SEC", String.valueOf(rate), "DURATION", "10s"));
        List<ConsumerRecord<String, byte[]>> records = TestInfrastructure.readAll(topic);
        long first = records.stream().mapToLong(ConsumerRecord::timestamp).min().orElseThrow();
        long last = records.stream().mapToLong(ConsumerRecord::timestamp).max().orElseThrow();
        double measured = (records.size() - 1) * 1000.0 / (last - first);
        results.put("rate error at " + rate + "/s", String.format("%+.2f %% (%,.0f/s measured from broker timestamps, %d records)",
                100 * (measured - rate) / rate, measured, records.size()));
    }

    private String runProducer(String topic, Map<String, String> environment) {
        return runProducer(topic, environment, AppProcess.DEFAULT_JVM_OPTIONS);
    }

    /**
     * A latency run's load: 5,000 events/s from a fresh producer with the image's JVM settings, as
     * a producer pod runs. (A default JVM, compiling with C2 in its first seconds, took CPU from the
     * consumer just when the consumer was coldest.)
     */
    private void runLatencyProducer(String topic, int seconds) throws java.io.IOException {
        Map<String, String> env = new java.util.HashMap<>(Map.of("RATE_PER_SEC", "5000", "DURATION", seconds + "s"));
        env.put("JAVA_TOOL_OPTIONS", imageJavaToolOptions());
        runProducer(topic, env, List.of());
    }

    private String runProducer(String topic, Map<String, String> environment, List<String> jvmOptions) {
        Map<String, String> env = new java.util.HashMap<>(environment);
        env.put("KAFKA_TOPIC", topic);
        AppProcess producer = AppProcess.start("producer", env, jvmOptions);
        int exit = producer.awaitExit(Duration.ofMinutes(10));
        if (exit != 0) {
            throw new IllegalStateException("producer failed:\n" + producer.output());
        }
        String output = producer.output();
        return output.substring(output.indexOf("producer summary"));
    }

    // ---- PostgreSQL ceilings ----

    /**
     * The spec's two tables and nothing else (milestone 3): the least any idempotent sink must
     * write per event. The bar our drain is held to, so that a heavier schema of ours cannot lower it.
     */
    private static final String MINIMAL_SCHEMA = """
            CREATE TABLE processed_events (event_id uuid PRIMARY KEY, processed_at timestamptz NOT NULL DEFAULT now());
            CREATE TABLE reviews (review_id text PRIMARY KEY, user_key text, rating int, text text, created_at timestamptz);
            """;

    /**
     * The consumer's two inserts cut down to the minimal schema's columns, reading the batch from
     * {@code source} (a table or CTE with the batch's columns and {@code ord}): ledger first, then
     * the reviews it accepted.
     */
    private static String minimalInsertsFrom(String source) {
        return """
                ledger AS (
                    INSERT INTO processed_events (event_id) SELECT event_id FROM %1$s ORDER BY ord
                    ON CONFLICT (event_id) DO NOTHING RETURNING event_id
                ), landed AS (
                    INSERT INTO reviews (review_id, user_key, rating, text, created_at)
                    SELECT b.review_id, b.user_key, b.rating, b.text, b.created_at
                    FROM %1$s b JOIN ledger l USING (event_id) ORDER BY b.ord
                    ON CONFLICT DO NOTHING RETURNING review_id
                )
                SELECT (SELECT count(*) FROM ledger), (SELECT count(*) FROM landed)""".formatted(source);
    }

    /** The consumer's statement on the minimal schema: the batch bound as arrays and read with {@code unnest}. */
    private static final String MINIMAL_INSERT = """
            WITH batch AS (
                SELECT * FROM unnest(?::uuid[], ?::text[], ?::text[], ?::int[], ?::text[], ?::timestamptz[])
                    WITH ORDINALITY AS b(event_id, review_id, user_key, rating, text, created_at, ord)
            ), """ + minimalInsertsFrom("batch");

    /**
     * The other write the issue asked to weigh: each transaction's rows COPYed (text format) into a
     * temporary staging table, then the same two inserts reading it instead of {@code unnest}. The
     * consumer cannot write this way (the reactive PostgreSQL client has no COPY); measured beside the
     * minimal ceiling in the same run, it says whether a COPY path would be worth a JDBC pool.
     */
    private static final String STAGING_TABLE = """
            CREATE TEMPORARY TABLE staging (event_id uuid, review_id text, user_key text, rating int, text text,
                created_at timestamptz, ord int) ON COMMIT DELETE ROWS""";
    private static final String MINIMAL_INSERT_FROM_STAGING = "WITH " + minimalInsertsFrom("staging");

    /**
     * Both ceilings for the same rows, written by a plain JDBC loop in transactions of 1,000 over 2
     * connections: the minimal one (the spec's two tables) and ours (every migration in
     * src/main/resources/db/migration, the consumer's own statement). Returns {minimal, ours}.
     */
    private double[] postgresCeilings(List<Event> events, List<int[]> positions, int distinct) throws Exception {
        double minimal = postgresCeiling("minimal, seed's skew", MINIMAL_SCHEMA, MINIMAL_INSERT, false, events, positions, distinct);
        StringBuilder ours = new StringBuilder();
        try (var migrations = Files.list(Path.of("src/main/resources/db/migration"))) {
            for (Path migration : migrations.sorted(java.util.Comparator.comparing(PipelineBenchmark::migrationVersion)).toList()) {
                ours.append(Files.readString(migration)).append('\n');
            }
        }
        double real = postgresCeiling("our schema, seed's skew", ours.toString(), ReviewSink.INSERT_BATCH.replaceAll("\\$\\d+", "?"), true,
                events, positions, distinct);
        results.put("our schema / minimal ceiling", String.format("%.0f %% (what our indexes and columns cost PostgreSQL)",
                100 * real / minimal));
        double viaCopy = postgresCeiling("minimal, COPY to a staging table, seed's skew", MINIMAL_SCHEMA, events, distinct,
                connection -> copyWriter(connection, events));
        results.put("COPY / unnest, minimal ceiling", String.format("%.2fx (the same rows COPYed into a temporary table, then"
                + " INSERT ... SELECT ... ON CONFLICT; not a path the consumer has)", viaCopy / minimal));
        return new double[] {minimal, real};
    }

    private static int migrationVersion(Path migration) {
        return Integer.parseInt(migration.getFileName().toString().replaceAll("^V(\\d+)__.*", "$1"));
    }

    /** One ceiling: {@code ddl} in a schema of its own, {@code sql} bound with the batch's arrays. */
    private double postgresCeiling(String name, String ddl, String sql, boolean withPositions, List<Event> events,
            List<int[]> positions, int distinct) throws Exception {
        return postgresCeiling(name, ddl, events, distinct, connection -> {
            PreparedStatement insert = connection.prepareStatement(sql);
            return chunk -> {
                bind(connection, insert, events, positions, chunk, withPositions);
                try (ResultSet ignored = insert.executeQuery()) {
                    connection.commit();
                }
            };
        });
    }

    /** Writes one transaction's chunk of the stream (indices into it) on the connection it was made for. */
    private interface ChunkWriter {
        void write(List<Integer> chunk) throws SQLException;
    }

    /** Prepares a connection (statements, temporary tables) and returns its writer. */
    private interface ChunkWriterFactory {
        ChunkWriter open(Connection connection) throws SQLException;
    }

    private double postgresCeiling(String name, String ddl, List<Event> events, int distinct, ChunkWriterFactory writers)
            throws Exception {
        createScratchSchema("ceiling", ddl);
        checkpoint();
        progress("PostgreSQL ceiling, " + name + ": " + events.size() + " rows, JDBC, transactions of " + CEILING_BATCH
                + " over " + CEILING_CONNECTIONS + " connections");
        ExecutorService pool = Executors.newFixedThreadPool(CEILING_CONNECTIONS);
        CpuShares cpu = CpuShares.start();
        long started = System.nanoTime();
        List<Future<?>> done = new ArrayList<>();
        for (int worker = 0; worker < CEILING_CONNECTIONS; worker++) {
            int me = worker;
            done.add(pool.submit(() -> {
                // Chunks of the stream dealt out in turn: each connection always has a full
                // transaction to write, whatever the keys or partitions (the best N connections can do).
                List<Integer> mine = new ArrayList<>();
                for (int i = 0; i < events.size(); i++) {
                    if ((i / CEILING_BATCH) % CEILING_CONNECTIONS == me) {
                        mine.add(i);
                    }
                }
                try (Connection connection = PipelineState.database()) {
                    connection.createStatement().execute("SET search_path TO ceiling");
                    connection.setAutoCommit(false);
                    ChunkWriter writer = writers.open(connection);
                    for (int from = 0; from < mine.size(); from += CEILING_BATCH) {
                        writer.write(dedupe(events, mine.subList(from, Math.min(mine.size(), from + CEILING_BATCH))));
                    }
                }
                return null;
            }));
        }
        for (Future<?> future : done) {
            future.get();
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        CpuShares spent = cpu.stop(seconds);
        pool.shutdown();
        long rows = PipelineState.count("SELECT count(*) FROM ceiling.reviews");
        long ledger = PipelineState.count("SELECT count(*) FROM ceiling.processed_events");
        if (rows != distinct || ledger != distinct) {
            throw new IllegalStateException("ceiling (" + name + ") wrote " + rows + " reviews and " + ledger
                    + " ledger rows, expected " + distinct);
        }
        double rate = events.size() / seconds;
        results.put("PostgreSQL ceiling, " + name, String.format("%,.0f events/s (%,d events in %.1f s; %,d rows verified)",
                rate, events.size(), seconds, rows));
        progress(String.format("  %,.0f events/s", rate));
        results.put("  CPU, ceiling " + name, spent.describe(events.size(), "the JDBC writer (this JVM)"));
        dropScratchSchema("ceiling");
        return rate;
    }

    /** A ceiling's writer that COPYs each chunk into the connection's staging table, then inserts from it. */
    private static ChunkWriter copyWriter(Connection connection, List<Event> events) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            statement.execute(STAGING_TABLE);
        }
        connection.commit();
        CopyManager copy = connection.unwrap(PGConnection.class).getCopyAPI();
        PreparedStatement insert = connection.prepareStatement(MINIMAL_INSERT_FROM_STAGING);
        StringBuilder rows = new StringBuilder(256 * CEILING_BATCH);
        return chunk -> {
            rows.setLength(0);
            for (int j = 0; j < chunk.size(); j++) {
                Event event = events.get(chunk.get(j));
                rows.append(event.eventId()).append('\t');
                copyText(rows, event.payload().reviewId()).append('\t');
                copyText(rows, event.key()).append('\t');
                rows.append(event.payload().rating()).append('\t');
                copyText(rows, event.payload().text()).append('\t');
                rows.append(event.ts()).append('\t').append(j).append('\n');
            }
            try {
                copy.copyIn("COPY staging FROM STDIN", new java.io.StringReader(rows.toString()));
            } catch (java.io.IOException e) {
                throw new SQLException(e);
            }
            try (ResultSet ignored = insert.executeQuery()) {
                connection.commit();
            }
        };
    }

    /**
     * A value in COPY's text format: its backslash, tab, newline and carriage return escaped; null as
     * \\N. By hand because pgjdbc's CopyManager takes rows already encoded and has no encoder of its own.
     */
    private static StringBuilder copyText(StringBuilder out, String value) {
        if (value == null) {
            return out.append("\\N");
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '\\' -> out.append("\\\\");
                case '\t' -> out.append("\\t");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                default -> out.append(c);
            }
        }
        return out;
    }

    private static List<Integer> dedupe(List<Event> events, List<Integer> chunk) {
        Set<UUID> seen = new HashSet<>();
        List<Integer> unique = new ArrayList<>(chunk.size());
        for (int i : chunk) {
            if (seen.add(events.get(i).eventId())) {
                unique.add(i);
            }
        }
        return unique;
    }

    private static void bind(Connection connection, PreparedStatement insert, List<Event> events, List<int[]> positions,
            List<Integer> chunk, boolean withPositions) throws SQLException {
        int n = chunk.size();
        Object[] ids = new Object[n], reviewIds = new Object[n], keys = new Object[n], ratings = new Object[n],
                texts = new Object[n], ts = new Object[n], partitions = new Object[n], offsets = new Object[n];
        for (int j = 0; j < n; j++) {
            Event event = events.get(chunk.get(j));
            ids[j] = event.eventId();
            reviewIds[j] = event.payload().reviewId();
            keys[j] = event.key();
            ratings[j] = event.payload().rating();
            texts[j] = event.payload().text();
            ts[j] = Timestamp.from(event.ts());
            if (withPositions) {
                partitions[j] = positions.get(chunk.get(j))[0];
                offsets[j] = (long) positions.get(chunk.get(j))[1];
            }
        }
        insert.setArray(1, connection.createArrayOf("uuid", ids));
        insert.setArray(2, connection.createArrayOf("text", reviewIds));
        insert.setArray(3, connection.createArrayOf("text", keys));
        insert.setArray(4, connection.createArrayOf("int4", ratings));
        insert.setArray(5, connection.createArrayOf("text", texts));
        insert.setArray(6, connection.createArrayOf("timestamptz", ts));
        if (withPositions) {
            insert.setArray(7, connection.createArrayOf("int4", partitions));
            insert.setArray(8, connection.createArrayOf("int8", offsets));
        }
    }

    /** A schema of its own for a ceiling or the floor, made afresh, so that nothing of ours is in its way. */
    private static void createScratchSchema(String name, String ddl) throws SQLException {
        try (Connection connection = PipelineState.database(); Statement statement = connection.createStatement()) {
            statement.execute("DROP SCHEMA IF EXISTS " + name + " CASCADE");
            statement.execute("CREATE SCHEMA " + name);
            statement.execute("SET search_path TO " + name);
            statement.execute(ddl);
        }
    }

    private static void dropScratchSchema(String name) throws SQLException {
        try (Connection connection = PipelineState.database(); Statement statement = connection.createStatement()) {
            statement.execute("DROP SCHEMA " + name + " CASCADE");
        }
    }

    // ---- PostgreSQL's own commit latency (the latency floor) ----

    /** Events per transaction of the floor: the consumer's mean batch at 5,000 events/s over 2 consumers (~16). */
    private static final int FLOOR_BATCH = 16;
    private static final int FLOOR_EVENTS_PER_SECOND = 5_000;
    /** Longest floor measurement: a p99 over 18,000 transactions is stable enough, and the run stays short. */
    private static final int FLOOR_MAX_SECONDS = 60;
    /** The floor before each cold-start run: shorter, as it is taken five times. */
    private static final int COLD_FLOOR_SECONDS = 30;

    /**
     * The latency floor: what PostgreSQL alone takes to make 5,000 events/s durable, measured right
     * before the consumer's latency run, as the ceilings are measured before its drain. Plain JDBC
     * over 2 connections (as the consumer's two Kafka consumers), each writing its half of the
     * events as they fall due in transactions of {@value #FLOOR_BATCH}, with the minimal schema's
     * statement. An event's latency is from its due time to its commit, so a stalled commit delays
     * the transactions queued behind it, as it delays the consumer's next batch. No consumer can be
     * faster than this on the same machine in the same hour: a p99 above 50 ms here is the machine's
     * (its disk's fsync under load), not the consumer's.
     */
    private Latency latencyFloor(int seconds) throws Exception {
        createScratchSchema("latency_floor", MINIMAL_SCHEMA);
        progress(String.format("latency floor: PostgreSQL alone, %,d events/s for %d s in transactions of %d over %d connections",
                FLOOR_EVENTS_PER_SECOND, seconds, FLOOR_BATCH, CEILING_CONNECTIONS));
        long intervalNanos = 1_000_000_000L * FLOOR_BATCH * CEILING_CONNECTIONS / FLOOR_EVENTS_PER_SECOND;
        long start = System.nanoTime() + 100_000_000L;
        long end = start + seconds * 1_000_000_000L;
        ExecutorService pool = Executors.newFixedThreadPool(CEILING_CONNECTIONS);
        List<Future<List<Long>>> done = new ArrayList<>();
        for (int worker = 0; worker < CEILING_CONNECTIONS; worker++) {
            long offset = worker * intervalNanos / CEILING_CONNECTIONS;
            done.add(pool.submit(() -> {
                List<Long> latencies = new ArrayList<>();
                try (Connection connection = PipelineState.database()) {
                    connection.createStatement().execute("SET search_path TO latency_floor");
                    connection.setAutoCommit(false);
                    try (PreparedStatement insert = connection.prepareStatement(MINIMAL_INSERT)) {
                        for (long due = start + offset; due < end; due += intervalNanos) {
                            long wait = due - System.nanoTime();
                            if (wait > 0) {
                                LockSupport.parkNanos(wait);
                            }
                            bindFloorBatch(connection, insert);
                            try (ResultSet ignored = insert.executeQuery()) {
                                connection.commit();
                            }
                            latencies.add(System.nanoTime() - due);
                        }
                    }
                }
                return latencies;
            }));
        }
        List<Long> all = new ArrayList<>();
        for (Future<List<Long>> future : done) {
            all.addAll(future.get());
        }
        pool.shutdown();
        dropScratchSchema("latency_floor");
        Collections.sort(all);
        Latency floor = new Latency((long) all.size() * FLOOR_BATCH, all.get(all.size() / 2) / 1e9,
                all.get(Math.min(all.size() - 1, (int) (all.size() * 0.99))) / 1e9);
        progress(String.format("  p50 %.1f ms, p99 %.1f ms, max %.0f ms per transaction", floor.p50() * 1000, floor.p99() * 1000,
                all.get(all.size() - 1) / 1e6));
        return floor;
    }

    private static String floorFigure(Latency floor) {
        return String.format("p50 %.1f ms, p99 %.1f ms (PostgreSQL alone: due time -> commit, %,d events)",
                floor.p50() * 1000, floor.p99() * 1000, floor.events());
    }

    /** Binds {@value #FLOOR_BATCH} new events (new ids, so every one is written) to the minimal statement. */
    private static void bindFloorBatch(Connection connection, PreparedStatement insert) throws SQLException {
        List<Event> events = new ArrayList<>(FLOOR_BATCH);
        Instant now = Instant.now();
        for (int j = 0; j < FLOOR_BATCH; j++) {
            UUID id = UUID.randomUUID();
            events.add(Event.reviewCreated(id, "user:" + (j % 3 + 1), now, new ReviewData("rev-" + id, j % 5 + 1, "x".repeat(100))));
        }
        bind(connection, insert, events, null, IntStream.range(0, FLOOR_BATCH).boxed().toList(), false);
    }

    // ---- latency from a cold start ----

    /**
     * "Warm from the first second": {@code runs} times, a consumer started fresh (the image's JVM
     * settings) on an empty topic, and as soon as it is ready a producer, fresh too, at 5,000
     * events/s for 120 s; the p99 of event ts -> row insert over the whole run, warm-up included.
     */
    private void coldLatency(int runs) throws Exception {
        List<String> p99s = new ArrayList<>();
        List<String> floors = new ArrayList<>();
        int met = 0;
        for (int run = 1; run <= runs; run++) {
            String topic = TestInfrastructure.createTopic("bench-cold", PARTITIONS);
            try (Pipeline pipeline = Pipeline.over(topic, PARTITIONS, "bench-cold")) {
                checkpoint();
                Latency floor = latencyFloor(COLD_FLOOR_SECONDS);
                checkpoint();
                progress("cold-start latency run " + run + " of " + runs + ": fresh consumer, then a fresh producer at 5,000 events/s for "
                        + LATENCY_RUN_SECONDS + " s");
                AppProcess consumer = pipeline.startConsumer(consumerEnvironment, consumerOptions);
                consumer.awaitReady(Duration.ofSeconds(60));
                Timestamp since = new Timestamp(System.currentTimeMillis());
                runLatencyProducer(topic, LATENCY_RUN_SECONDS);
                PipelineState.await("latency run drained", Duration.ofMinutes(2),
                        () -> PipelineState.lag(pipeline.group(), topic, PARTITIONS) == 0);
                Latency whole = latency(since, 0, LATENCY_RUN_SECONDS);
                double p99 = whole.p99() * 1000;
                String windows = latencyWindows(since, 15, LATENCY_RUN_SECONDS);
                progress(String.format("  p99 %.1f ms over the whole run; per 15 s window %s", p99, windows));
                p99s.add(String.format("%.1f", p99));
                floors.add(String.format("%.1f", floor.p99() * 1000));
                met += p99 <= COLD_START_P99_TARGET_MS ? 1 : 0;
                results.put("cold-start run " + run, String.format("p99 %.1f ms whole %d s; per 15 s window %s; %s",
                        p99, LATENCY_RUN_SECONDS, windows, whole));
                results.put("cold-start run " + run + ", latency floor", floorFigure(floor));
                consumer.terminate();
                consumer.awaitExit(Duration.ofSeconds(30));
            }
        }
        target("p99 <= " + COLD_START_P99_TARGET_MS + " ms at 5,000/s over the whole 120 s from a cold start, in >= 4 of 5 runs",
                met + " of " + runs + " runs (" + String.join(" / ", p99s) + " ms; PostgreSQL alone before each: "
                        + String.join(" / ", floors) + " ms)", met >= Math.min(4, runs) && runs >= 5);
    }

    // ---- scale-out ----

    /**
     * The drain with 1, 2 and 3 consumer processes in one group (each with its 2 Kafka consumers,
     * 6 partitions), over two streams of the same size: the producer's default skew (80 % of the
     * events on 3 hot keys, so on at most 3 partitions) and a uniform key spread. Each drain starts
     * from empty tables with a new group and is verified row by row.
     */
    private void scaleOut(int events) throws Exception {
        Stream skewed = fill("bench-skewed", events, 0, 44, (record, event) -> { });
        Stream uniform = fill("bench-uniform", events, 0, 44, Map.of("STREAMSRE_PRODUCER_HOT_KEY_PCT", "0"), (record, event) -> { });
        for (Stream stream : List.of(skewed, uniform)) {
            String spread = stream == skewed ? "default skew (80 % on 3 hot keys)" : "uniform keys";
            List<String> rates = new ArrayList<>();
            for (int processes = 1; processes <= 3; processes++) {
                rates.add(String.format("%d: %,.0f", processes, drainWith(stream, processes)));
            }
            results.put("scale-out, " + spread, String.join(" / ", rates) + " events/s (consumer processes: drain rate)");
        }
        results.put("partitions per process", PARTITIONS + " partitions, 2 Kafka consumers per process: "
                + "3 processes give each consumer one partition");
    }

    /** Drains {@code stream} with {@code processes} consumer processes in one new group; returns events/s. */
    private double drainWith(Stream stream, int processes) throws Exception {
        try (Pipeline pipeline = Pipeline.over(stream.topic(), PARTITIONS, "bench-scale")) {
            checkpoint();
            progress(String.format("%d consumer process(es) draining %s (%,d events)", processes, stream.topic(),
                    stream.events()));
            List<AppProcess> consumers = new ArrayList<>();
            for (int i = 0; i < processes; i++) {
                consumers.add(pipeline.startConsumer(consumerEnvironment, consumerOptions));
            }
            awaitDrained(consumers.get(0), pipeline.group(), stream.topic());
            Pipeline.Expected expected = new Pipeline.Expected(stream.valid(), stream.poison(), stream.events());
            pipeline.awaitDrained(expected, Duration.ofMinutes(2));
            pipeline.assertExactly(expected);
            double span = PipelineState.count(
                    "SELECT (extract(epoch FROM max(ingested_at) - min(ingested_at)) * 1000)::bigint FROM reviews") / 1000.0;
            double rate = stream.events() / span;
            progress(String.format("  %,.0f events/s", rate));
            for (AppProcess consumer : consumers) {
                consumer.terminate();
                consumer.awaitExit(Duration.ofSeconds(30));
            }
            return rate;
        }
    }

    // ---- the native executable next to the JVM ----

    /**
     * How a consumer is started: the packaged jar on a JVM with the JVM image's settings, or the
     * native executable with the native image's ({@code binary} set).
     */
    private record ConsumerRuntime(String name, String binary, Map<String, String> environment, List<String> options) {
    }

    /** The cold starts per runtime for the time to ready (the median is the figure). */
    private static final int READY_RUNS = 3;
    /** The latency run per runtime: long enough for a p99 of 300,000 events, short enough for two. */
    private static final int RUNTIME_LATENCY_SECONDS = 60;

    /**
     * bin/benchmark --native: the same stream drained by both runtimes in one run, in the order JVM,
     * native, native, JVM (drift over the run weighs on both alike); each one's time to ready (median
     * of {@value #READY_RUNS} cold starts on an empty topic), drain rate, peak RSS and CPU seconds of
     * the drain (from process start), and p99 at 5,000 events/s for {@value #RUNTIME_LATENCY_SECONDS} s
     * into the consumer that has just drained.
     */
    private void nativeNextToJvm(int events) throws Exception {
        String binary = TestInfrastructure.appBinary().orElseThrow(
                () -> new IllegalStateException("no native executable: bin/benchmark --native passes target/*-runner as it.app.binary"));
        ConsumerRuntime jvm = new ConsumerRuntime("JVM", null, Map.of("JAVA_TOOL_OPTIONS", imageJavaToolOptions()), List.of());
        ConsumerRuntime executable = new ConsumerRuntime("native", binary, Map.of(), nativeImageOptions());
        results.put("JVM settings", jvm.environment().get("JAVA_TOOL_OPTIONS") + " (Dockerfile.jvm)");
        results.put("native settings", String.join(" ", executable.options()) + " (Dockerfile.native)");
        Map<ConsumerRuntime, List<Double>> ready = new LinkedHashMap<>(Map.of(jvm, new ArrayList<>(), executable, new ArrayList<>()));
        for (int run = 1; run <= READY_RUNS; run++) {
            for (ConsumerRuntime runtime : List.of(jvm, executable)) {
                ready.get(runtime).add(timeToReady(runtime));
            }
        }
        // The same stream (seed 45) three times: a latency run adds to its topic, so each runtime's
        // second drain, which a latency run follows, has a copy of its own.
        Stream shared = fill("bench-runtimes", events, 0, 45, (record, event) -> { });
        Map<ConsumerRuntime, Stream> ownCopy = Map.of(executable, fill("bench-runtimes-native", events, 0, 45, (record, event) -> { }),
                jvm, fill("bench-runtimes-jvm", events, 0, 45, (record, event) -> { }));
        Map<ConsumerRuntime, List<Drain>> drains = new LinkedHashMap<>(Map.of(jvm, new ArrayList<>(), executable, new ArrayList<>()));
        Map<ConsumerRuntime, Long> peakRss = new java.util.HashMap<>();
        Map<ConsumerRuntime, Latency> latency = new java.util.HashMap<>();
        List<ConsumerRuntime> order = List.of(jvm, executable, executable, jvm);
        for (int i = 0; i < order.size(); i++) {
            ConsumerRuntime runtime = order.get(i);
            Stream stream = i < 2 ? shared : ownCopy.get(runtime);
            use(runtime);
            try (Drained drained = drain(stream, runtime.name())) {
                drains.get(runtime).add(drained.figures());
                peakRss.merge(runtime, peakRssMb(drained.consumer().pid()), Math::max);
                if (i >= 2) {
                    // Each runtime's second drain: a latency run into the consumer that is now caught up.
                    checkpoint();
                    progress(runtime.name() + ": producer at 5,000 events/s for " + RUNTIME_LATENCY_SECONDS + " s");
                    Timestamp since = new Timestamp(System.currentTimeMillis());
                    runLatencyProducer(stream.topic(), RUNTIME_LATENCY_SECONDS);
                    PipelineState.await("latency run drained", Duration.ofMinutes(2),
                            () -> PipelineState.lag(drained.group(), stream.topic(), PARTITIONS) == 0);
                    latency.put(runtime, latency(since, 0, RUNTIME_LATENCY_SECONDS));
                    progress("  " + latency.get(runtime));
                }
            }
        }
        use(jvm);
        double jvmRate = mean(drains.get(jvm), Drain::rate);
        double nativeRate = mean(drains.get(executable), Drain::rate);
        double nativeReady = median(ready.get(executable));
        long nativeRss = peakRss.get(executable);
        System.out.println();
        System.out.printf("| %,d events, 6 partitions, same run | JVM | native |%n", events);
        System.out.println("|---|---|---|");
        System.out.printf("| drain rate (events/s, two drains each) | %s | %s |%n", join(drains.get(jvm), "%,.0f", Drain::rate),
                join(drains.get(executable), "%,.0f", Drain::rate));
        System.out.printf("| peak RSS draining (MB) | %d | %d |%n", peakRss.get(jvm), nativeRss);
        System.out.printf("| CPU seconds per drain, start included | %s | %s |%n", join(drains.get(jvm), "%.1f", Drain::cpuSeconds),
                join(drains.get(executable), "%.1f", Drain::cpuSeconds));
        System.out.printf("| time to ready (s, %d cold starts) | %s | %s |%n", READY_RUNS, seconds(ready.get(jvm)), seconds(ready.get(executable)));
        System.out.printf("| p99 at 5,000/s for %d s (ms) | %.1f | %.1f |%n", RUNTIME_LATENCY_SECONDS, latency.get(jvm).p99() * 1000,
                latency.get(executable).p99() * 1000);
        results.put("native / JVM drain", String.format("%.2fx (%,.0f against %,.0f events/s, means)", nativeRate / jvmRate, nativeRate, jvmRate));
        target("native drain >= 0.9x the JVM's", String.format("%.2fx", nativeRate / jvmRate), nativeRate / jvmRate >= 0.9);
        target("native ready <= 0.5 s (median)", String.format("%.2f s (JVM %.2f s)", nativeReady, median(ready.get(jvm))), nativeReady <= 0.5);
        target("native peak RSS draining <= 150 MB", nativeRss + " MB (JVM " + peakRss.get(jvm) + " MB)", nativeRss > 0 && nativeRss <= 150);
        target("native p99 <= " + COLD_START_P99_TARGET_MS + " ms at 5,000/s", String.format("%.1f ms", latency.get(executable).p99() * 1000),
                latency.get(executable).p99() * 1000 <= COLD_START_P99_TARGET_MS);
    }

    /**
     * Makes {@link #drain} and {@link Pipeline#startConsumer} start this runtime: AppProcess starts the
     * executable named by {@code it.app.binary} (as the ITs do under {@code -Dnative}), else the jar.
     */
    private void use(ConsumerRuntime runtime) {
        if (runtime.binary() == null) {
            System.clearProperty("it.app.binary");
        } else {
            System.setProperty("it.app.binary", runtime.binary());
        }
        consumerEnvironment.clear();
        consumerEnvironment.putAll(runtime.environment());
        consumerOptions = runtime.options();
    }

    /** Seconds from process start to /q/health/ready 200, on a new empty topic with a new group. */
    private double timeToReady(ConsumerRuntime runtime) throws Exception {
        String topic = TestInfrastructure.createTopic("bench-ready", PARTITIONS);
        try (Pipeline pipeline = Pipeline.over(topic, PARTITIONS, "bench-ready")) {
            use(runtime);
            AppProcess consumer = pipeline.startConsumer(consumerEnvironment, consumerOptions);
            double seconds = consumer.secondsUntilReady(Duration.ofSeconds(60));
            progress(String.format("%s: ready after %.2f s", runtime.name(), seconds));
            consumer.terminate();
            consumer.awaitExit(Duration.ofSeconds(30));
            return seconds;
        }
    }

    /** The native image's default arguments: Dockerfile.native's CMD (its heap settings). */
    private static List<String> nativeImageOptions() {
        return ImageSettings.nativeArguments();
    }

    private static double mean(List<Drain> drains, java.util.function.ToDoubleFunction<Drain> field) {
        return drains.stream().mapToDouble(field).average().orElseThrow();
    }

    private static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        return sorted.get(sorted.size() / 2);
    }

    private static String seconds(List<Double> values) {
        return String.join(" / ", values.stream().map(v -> String.format("%.2f", v)).toList());
    }

    // ---- consumer ----

    /** The main drain, its figures next to the ceiling, then the latency run into the caught-up consumer. */
    private void consumerDrain(Stream main, double[] ceilings, String jvmOptions) throws Exception {
        try (Drained drained = drain(main, jvmOptions)) {
            Drain drain = drained.figures();
            results.put("drain, seed's skew", String.format("%,.0f events/s (%,d events, 80 %% on 3 hot keys, first to last"
                    + " commit %.1f s; %.1f s from process start incl. JVM boot; %,d rows verified, lag 0)", drain.rate(),
                    main.events(), drain.span(), drain.wall(), main.valid().size()));
            results.put("drain / minimal ceiling, skew", String.format("%.2fx (target >= 0.8x)", drain.rate() / ceilings[0]));
            target("drain >= 0.8x the minimal ceiling, seed's skew", String.format("%.2fx (%,.0f against %,.0f events/s)",
                    drain.rate() / ceilings[0], drain.rate(), ceilings[0]), drain.rate() / ceilings[0] >= 0.8);
            results.put("drain / our schema's ceiling", String.format("%.2fx", drain.rate() / ceilings[1]));
            results.put("consumer CPU per 100,000 events", cpuPer100k(drain, main.events()));
            results.put("  CPU, drain, seed's skew", drain.shares().describe(main.events(), "the consumer, JVM boot included"));
            long peakRss = peakRssMb(drained.consumer().pid());
            results.put("consumer peak RSS (drain)", peakRss + " MB (target <= 300 MB; JVM options: " + jvmOptions + ")");
            target("peak RSS <= 300 MB draining (" + jvmOptions + ")", peakRss + " MB", peakRss > 0 && peakRss <= 300);
            results.put("consumer CPU (drain)", String.format("%.1f s, of which JIT compilers %.1f s (incl. JVM boot)",
                    drain.cpuSeconds(), drain.jitSeconds()));

            checkpoint();
            Latency floor = latencyFloor(Math.min(latencyRunSeconds, FLOOR_MAX_SECONDS));
            results.put("latency floor at 5,000/s", floorFigure(floor));
            checkpoint();
            progress("latency: producer at 5,000 events/s for " + latencyRunSeconds + " s into the caught-up consumer");
            Timestamp since = new Timestamp(System.currentTimeMillis());
            runLatencyProducer(main.topic(), latencyRunSeconds);
            PipelineState.await("latency run drained", Duration.ofMinutes(2),
                    () -> PipelineState.lag(drained.group(), main.topic(), PARTITIONS) == 0);
            // The whole run, its steady state, and p99 per 15 s window: the first part of the run is
            // JIT warm-up of the fresh producer JVM and of the consumer's small-batch path, which
            // keep compiling (and deoptimising) for 15 s on a fast 2-core machine and over 60 s on a slow one.
            Latency whole = latency(since, 0, latencyRunSeconds);
            results.put("latency at 5,000/s, whole " + latencyRunSeconds + " s", whole.toString());
            target("p99 <= " + CAUGHT_UP_P99_TARGET_MS + " ms at 5,000/s, whole " + latencyRunSeconds + " s run", String.format(
                    "%.1f ms (PostgreSQL alone, just before: %.1f ms)", whole.p99() * 1000, floor.p99() * 1000),
                    whole.p99() * 1000 <= CAUGHT_UP_P99_TARGET_MS);
            results.put("latency at 5,000/s, steady (last 30 s)",
                    latency(since, Math.max(0, latencyRunSeconds - 30), latencyRunSeconds).toString());
            results.put("latency p99 per 15 s window", latencyWindows(since, 15, latencyRunSeconds));
            results.put("consumer peak RSS (whole run)", peakRssMb(drained.consumer().pid()) + " MB");
        }
    }

    /** The uniform stream's drain, next to its own ceiling; the consumer stops once it is verified. */
    private void uniformDrain(Stream uniform, double ceiling, String jvmOptions) throws Exception {
        try (Drained drained = drain(uniform, jvmOptions)) {
            Drain drain = drained.figures();
            results.put("drain, uniform keys", String.format("%,.0f events/s (%,d events, first to last commit %.1f s;"
                    + " %,d rows verified, lag 0)", drain.rate(), uniform.events(), drain.span(), uniform.valid().size()));
            results.put("drain / minimal ceiling, uniform", String.format("%.2fx (target >= 0.9x)", drain.rate() / ceiling));
            target("drain >= 0.9x the minimal ceiling, uniform keys", String.format("%.2fx (%,.0f against %,.0f events/s)",
                    drain.rate() / ceiling, drain.rate(), ceiling), drain.rate() / ceiling >= 0.9);
            results.put("consumer CPU per 100,000 events, uniform", cpuPer100k(drain, uniform.events()));
            results.put("  CPU, drain, uniform", drain.shares().describe(uniform.events(), "the consumer, JVM boot included"));
        }
    }

    /**
     * The consumer's CPU seconds per 100,000 events of a drain, start included and without it (the
     * JVM's boot and the JIT are a fixed cost a long drain spreads thin). On 2 cores every CPU second
     * the consumer saves is one PostgreSQL can use.
     */
    private static String cpuPer100k(Drain drain, int events) {
        return String.format("%.2f s (%.1f s for %,d events, start and JIT compilers (%.1f s) included)",
                drain.cpuSeconds() * 100_000 / events, drain.cpuSeconds(), events, drain.jitSeconds());
    }

    /** A filled topic: how many records it holds, the distinct valid events and the poison among them. */
    private record Stream(String topic, int events, Set<UUID> valid, long poison) {
    }

    /**
     * One drain's figures: its rate and span (first to last commit), the rate over the second half
     * of that span (the JVM warmer), the time from the consumer's start, and the consumer process's
     * CPU, whole and its JIT compilers'.
     */
    private record Drain(double rate, double span, double secondHalfRate, double wall, double cpuSeconds,
            double jitSeconds, CpuShares shares) {
    }

    /**
     * Where a phase's CPU went: PostgreSQL, the broker and the machine as a whole, from /proc. On 2
     * cores the writer (the consumer, or the ceiling's JDBC loop) takes its CPU from PostgreSQL, so
     * the drain's distance from the ceiling is read here: PostgreSQL's seconds per 100,000 events
     * are about the same in both; what differs is the writer's share.
     */
    private record CpuShares(double postgres, double broker, double machine, double wall) {

        static CpuShares start() throws InterruptedException {
            return new CpuShares(ProcessCpu.settledPostgresSeconds(), ProcessCpu.brokerSeconds(), ProcessCpu.machineBusySeconds(), 0);
        }

        CpuShares stop(double wallSeconds) throws InterruptedException {
            return new CpuShares(ProcessCpu.settledPostgresSeconds() - postgres, ProcessCpu.brokerSeconds() - broker,
                    ProcessCpu.machineBusySeconds() - machine, wallSeconds);
        }

        String describe(long events, String writer) {
            double per100k = 100_000.0 / events;
            return String.format("PostgreSQL %.2f s, broker %.2f s, all processes %.2f s per 100,000 events (the rest is"
                    + " %s and the machine's other processes); machine busy %.0f %% of %d cores over %.1f s",
                    postgres * per100k, broker * per100k, machine * per100k, writer,
                    100 * machine / (wall * Runtime.getRuntime().availableProcessors()),
                    Runtime.getRuntime().availableProcessors(), wall);
        }
    }

    /** A consumer that has drained a stream, still running (for a latency run); closing stops it. */
    private record Drained(AppProcess consumer, String group, Drain figures) implements AutoCloseable {
        @Override
        public void close() {
            consumer.terminate();
            consumer.awaitExit(Duration.ofSeconds(30));
        }
    }

    /**
     * The drain with poison mixed in, against a clean twin: two topics from the same seed and size,
     * one with {@code poisonPct} poison records. Poison takes the dead-letter path (a nack, a DLQ
     * send, a dlq_events row) while its neighbours land. The two are drained in the order clean,
     * poisoned, poisoned, clean, so that drift over the run (page cache, autovacuum, a noisy
     * neighbour) weighs on both alike; the ratio is that of the mean rates. The consumer's CPU is
     * printed with the share of the JIT compiler threads: on a drain of a few tens of seconds the
     * dead-letter path's code still has to be compiled, which a long-running consumer pays once.
     */
    private void poisonComparison(int events, double poisonPct, String jvmOptions) throws Exception {
        Stream clean = fill("bench-twin", events, 0, 43, (record, event) -> { });
        Stream poisoned = fill("bench-poison", events, poisonPct, 43, (record, event) -> { });
        List<Drain> cleanDrains = new ArrayList<>();
        List<Drain> poisonedDrains = new ArrayList<>();
        for (List<Drain> drains : List.of(cleanDrains, poisonedDrains, poisonedDrains, cleanDrains)) {
            try (Drained drained = drain(drains == cleanDrains ? clean : poisoned, jvmOptions)) {
                drains.add(drained.figures());
            }
        }
        double cleanRate = cleanDrains.stream().mapToDouble(Drain::rate).average().orElseThrow();
        double poisonedRate = poisonedDrains.stream().mapToDouble(Drain::rate).average().orElseThrow();
        results.put("clean twin drain (x2)", describe(cleanDrains)
                + String.format(" (%,d events, no poison, seed 43)", events));
        results.put("drain with " + poisonPct + " % poison (x2)", describe(poisonedDrains) + String.format(
                " (%,d reviews and %,d dead letters verified each time)", poisoned.valid().size(), poisoned.poison()));
        results.put("poisoned / clean drain", String.format("%.0f %% (mean rates, order clean-poisoned-poisoned-clean;"
                + " target >= 90 %%)", 100 * poisonedRate / cleanRate));
        target("drain with " + poisonPct + " % poison >= 0.9x clean", String.format("%.2fx", poisonedRate / cleanRate),
                poisonedRate / cleanRate >= 0.9);
        results.put("same, second halves", String.format("%.0f %% (%s against %s events/s: warmer JVMs, the"
                + " dead-letter path's compiling mostly done)",
                100 * poisonedDrains.stream().mapToDouble(Drain::secondHalfRate).average().orElseThrow()
                        / cleanDrains.stream().mapToDouble(Drain::secondHalfRate).average().orElseThrow(),
                join(poisonedDrains, "%,.0f", Drain::secondHalfRate), join(cleanDrains, "%,.0f", Drain::secondHalfRate)));
    }

    /**
     * Fills a new topic with {@code events} records from the producer (unpaced, {@code seed}) and
     * reads it back to know what a drain must write; {@code eachValid} sees every valid record.
     */
    private Stream fill(String prefix, int events, double poisonPct, int seed,
            BiConsumer<ConsumerRecord<String, byte[]>, Event> eachValid) {
        return fill(prefix, events, poisonPct, seed, Map.of(), eachValid);
    }

    /** As above, with more producer settings (e.g. the key spread). */
    private Stream fill(String prefix, int events, double poisonPct, int seed, Map<String, String> producerSettings,
            BiConsumer<ConsumerRecord<String, byte[]>, Event> eachValid) {
        String topic = TestInfrastructure.createTopic(prefix, PARTITIONS);
        progress("filling " + topic + " with " + events + " events, " + poisonPct + " % poison, seed " + seed + " "
                + producerSettings);
        Map<String, String> env = new java.util.HashMap<>(Map.of("RATE_PER_SEC", "0", "DURATION", "0",
                "STREAMSRE_PRODUCER_MAX_EVENTS", String.valueOf(events), "STREAMSRE_PRODUCER_SEED", String.valueOf(seed),
                "POISON_PCT", String.valueOf(poisonPct)));
        env.putAll(producerSettings);
        runProducer(topic, env);
        Set<UUID> valid = new HashSet<>();
        long poison = 0;
        EventCodec codec = new EventCodec();
        List<ConsumerRecord<String, byte[]>> records = TestInfrastructure.readAll(topic);
        for (ConsumerRecord<String, byte[]> record : records) {
            if (codec.decode(record.value()) instanceof DecodeResult.Valid ok) {
                valid.add(ok.event().eventId());
                eachValid.accept(record, ok.event());
            } else {
                poison++;
            }
        }
        return new Stream(topic, records.size(), valid, poison);
    }

    /**
     * The consumer's JVM settings: by default the image's own (Dockerfile.jvm's JAVA_TOOL_OPTIONS,
     * which docker-compose and the README's run commands use too), so that
     * the memory figure is the one users get; {@code CONSUMER_JVM_OPTIONS} replaces them for an
     * experiment. Returns the description printed with the figures.
     */
    private String consumerJvm(String override) throws java.io.IOException {
        if (!override.isBlank()) {
            consumerOptions = List.of(override.trim().split("\\s+"));
            return override.trim() + " (CONSUMER_JVM_OPTIONS)";
        }
        consumerEnvironment.put("JAVA_TOOL_OPTIONS", imageJavaToolOptions());
        consumerOptions = List.of();
        return "the image's JAVA_TOOL_OPTIONS: " + consumerEnvironment.get("JAVA_TOOL_OPTIONS");
    }

    /** The image's JVM settings: Dockerfile.jvm's JAVA_TOOL_OPTIONS. */
    private static String imageJavaToolOptions() {
        return String.join(" ", ImageSettings.jvmToolOptions());
    }

    /**
     * Drains {@code stream} with a fresh consumer group and DLQ topic into empty tables and verifies
     * every row (reviews, ledger, dlq_events) before returning the figures and the running consumer.
     */
    private Drained drain(Stream stream, String jvmOptions) throws Exception {
        Pipeline pipeline = Pipeline.over(stream.topic(), PARTITIONS, "bench");
        checkpoint();
        progress(String.format("consumer draining %s (%,d events, %,d poison; JVM options: %s)", stream.topic(),
                stream.events(), stream.poison(), jvmOptions));
        long started = System.nanoTime();
        CpuShares cpu = CpuShares.start();
        AppProcess consumer = pipeline.startConsumer(consumerEnvironment, consumerOptions);
        Drained drained = null;
        try {
            awaitDrained(consumer, pipeline.group(), stream.topic());
            double wall = (System.nanoTime() - started) / 1e9;
            CpuShares spent = cpu.stop(wall);
            // The ITs' own check: every distinct event once, every dead letter once, nothing else.
            Pipeline.Expected expected = new Pipeline.Expected(stream.valid(), stream.poison(), stream.events());
            pipeline.awaitDrained(expected, Duration.ofMinutes(2));
            pipeline.assertExactly(expected);
            double span = PipelineState.count(
                    "SELECT (extract(epoch FROM max(ingested_at) - min(ingested_at)) * 1000)::bigint FROM reviews") / 1000.0;
            // Dead letters have no reviews row: the second half's review count is scaled up by the
            // stream's share of valid events, which holds when poison is spread evenly (the producer's is).
            double secondHalfRate = secondHalfReviews(span) / (span / 2) * stream.events() / stream.valid().size();
            Drain drain = new Drain(stream.events() / span, span, secondHalfRate, wall, ProcessCpu.seconds(consumer.pid()),
                    ProcessCpu.jitSeconds(consumer.pid()), spent);
            progress(String.format("  %,.0f events/s (second half %,.0f events/s), consumer CPU %.1f s (JIT compilers"
                    + " %.1f s)", drain.rate(), drain.secondHalfRate(), drain.cpuSeconds(), drain.jitSeconds()));
            drained = new Drained(consumer, pipeline.group(), drain);
            return drained;
        } finally {
            if (drained == null) {
                consumer.terminate();
                consumer.awaitExit(Duration.ofSeconds(30));
            }
        }
    }

    /** Reviews written in the second half of the drain's {@code span} seconds. */
    private static long secondHalfReviews(double span) {
        return PipelineState.count(String.format(java.util.Locale.ROOT, "SELECT count(*) FROM reviews WHERE ingested_at"
                + " >= (SELECT min(ingested_at) FROM reviews) + interval '%.3f seconds'", span / 2));
    }

    private static String describe(List<Drain> drains) {
        return String.format("%s events/s; consumer CPU %s s, of which JIT compilers %s s",
                join(drains, "%,.0f", Drain::rate), join(drains, "%.1f", Drain::cpuSeconds),
                join(drains, "%.1f", Drain::jitSeconds));
    }

    private static String join(List<Drain> drains, String format, java.util.function.ToDoubleFunction<Drain> field) {
        return String.join(" / ", drains.stream().map(d -> String.format(format, field.applyAsDouble(d))).toList());
    }

    /**
     * Waits until the group has committed every offset, printing progress every 5 s. It watches the
     * committed offsets once a second rather than counting rows: a count(*) over a growing
     * million-row table several times a second would take CPU from the consumer it measures.
     */
    private static void awaitDrained(AppProcess consumer, String group, String topic) throws InterruptedException {
        long lastReport = 0;
        while (true) {
            long lag = PipelineState.lag(group, topic, PARTITIONS);
            if (lag == 0) {
                return;
            }
            if (!consumer.isAlive()) {
                throw new IllegalStateException("consumer died:\n" + consumer.output());
            }
            if (System.nanoTime() - lastReport > 5e9) {
                progress(String.format("  %,d records to go, RSS %d MB", lag, rssMb(consumer.pid())));
                lastReport = System.nanoTime();
            }
            Thread.sleep(1_000);
        }
    }

    /**
     * Flushes the previous phase's dirty pages before the next one starts. Without it, PostgreSQL's
     * checkpoint of a million-row load (half a GB of WAL, up to 50 s of writes on this machine) runs
     * during the next phase and every commit pays for its I/O: the ceiling, each drain and the
     * latency run would each measure a different share of the previous phase's aftermath.
     * CHECKPOINT needs a superuser (or pg_checkpoint): with local trust authentication, postgres.
     */
    private static void checkpoint() {
        String url = TestInfrastructure.databaseUrl();
        String jdbc = "jdbc:postgresql://" + url.substring(url.indexOf('@') + 1);
        progress("CHECKPOINT, so the next phase starts from a quiet database");
        try (Connection connection = java.sql.DriverManager.getConnection(jdbc, "postgres", "");
                Statement statement = connection.createStatement()) {
            statement.execute("CHECKPOINT");
        } catch (SQLException e) {
            progress("cannot CHECKPOINT as postgres (" + e.getMessage() + "); figures include earlier phases' checkpoints");
        }
    }

    /** Event ts -> row insert over one slice of a run: how many events, and p50 and p99 in seconds. */
    private record Latency(long events, double p50, double p99) {

        @Override
        public String toString() {
            return String.format("p50 %.1f ms, p99 %.1f ms over %,d events (event ts -> row insert)",
                    p50 * 1000, p99 * 1000, events);
        }
    }

    /** Latency of the events created between {@code since + from} and {@code since + to} seconds. */
    private static Latency latency(Timestamp since, int fromSecond, int toSecond) throws SQLException {
        try (Connection connection = PipelineState.database();
                PreparedStatement query = connection.prepareStatement("""
                        SELECT count(*),
                               percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM ingested_at - created_at)),
                               percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM ingested_at - created_at))
                        FROM reviews WHERE created_at >= ? AND created_at < ?""")) {
            query.setTimestamp(1, new Timestamp(since.getTime() + fromSecond * 1000L));
            query.setTimestamp(2, new Timestamp(since.getTime() + toSecond * 1000L));
            ResultSet result = query.executeQuery();
            result.next();
            return new Latency(result.getLong(1), result.getDouble(2), result.getDouble(3));
        }
    }

    /** p99 latency of each {@code window}-second slice of the run, in order, e.g. "2534 / 308 / 29 ms". */
    private static String latencyWindows(Timestamp since, int window, int runSeconds) throws SQLException {
        List<String> p99s = new ArrayList<>();
        try (Connection connection = PipelineState.database();
                PreparedStatement query = connection.prepareStatement("""
                        SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM ingested_at - created_at))
                        FROM reviews WHERE created_at >= ? AND created_at < ?""")) {
            for (int from = 0; from < runSeconds; from += window) {
                query.setTimestamp(1, new Timestamp(since.getTime() + from * 1000L));
                query.setTimestamp(2, new Timestamp(since.getTime() + (from + window) * 1000L));
                ResultSet result = query.executeQuery();
                result.next();
                p99s.add(String.format("%.0f", result.getDouble(1) * 1000));
            }
        }
        return String.join(" / ", p99s) + " ms";
    }

    private static long rssMb(long pid) {
        return procStatus(pid, "VmRSS");
    }

    private static long peakRssMb(long pid) {
        return procStatus(pid, "VmHWM");
    }

    private static long procStatus(long pid, String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith(field + ":")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) / 1024;
                }
            }
        } catch (Exception e) {
            return -1;
        }
        return -1;
    }

    private static String find(String text, String regex) {
        Matcher matcher = Pattern.compile(regex).matcher(text);
        if (!matcher.find()) {
            throw new IllegalStateException("no '" + regex + "' in: " + text);
        }
        return matcher.group(1);
    }

    private static void progress(String message) {
        System.out.printf("[benchmark] %tT %s%n", System.currentTimeMillis(), message);
    }

    private void print() {
        Duration took = Duration.ofNanos(System.nanoTime() - started);
        String figure = String.format("%d min %02d s", took.toMinutes(), took.toSecondsPart());
        results.put("benchmark run time", figure + " (the harness, after the build and bin/infra)");
        if (runTimeLimit != null) {
            target("run time <= " + runTimeLimit.toMinutes() + " min (" + mode + ")", figure, took.compareTo(runTimeLimit) <= 0);
        }
        System.out.println();
        System.out.println("StreamSRE benchmark (" + Runtime.getRuntime().availableProcessors() + " cores)");
        results.forEach((name, value) -> System.out.printf("  %-32s %s%n", name, value));
        System.out.println();
        System.out.println("| target | figure | |");
        System.out.println("|---|---|---|");
        targets.forEach(row -> System.out.printf("| %s | %s | %s |%n", row[0], row[1], row[2]));
    }
}
