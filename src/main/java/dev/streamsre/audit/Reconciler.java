package dev.streamsre.audit;

import dev.streamsre.audit.AuditReport.Finding;
import dev.streamsre.audit.AuditReport.Kind;
import dev.streamsre.audit.AuditReport.PartitionAudit;
import dev.streamsre.config.AuditSettings;
import dev.streamsre.config.StreamSreConfig;
import dev.streamsre.kafka.KafkaClients;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.sql.DataSource;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetOutOfRangeException;
import org.apache.kafka.common.TopicPartition;

/**
 * Proves, per partition of the main topic, that every offset the consumer group committed is
 * accounted for in PostgreSQL: each landed record has its ledger row, each dead letter its
 * dlq_events row, each duplicate is on a receipt, and every record the broker still holds below the
 * committed offset lies inside a receipt. It checks the window from the oldest offset still in the
 * log (or, if later, where the partition's first audit found its first receipt, or where the
 * receipts were last pruned) to the committed offset.
 *
 * <p>Order matters: the committed offsets are read from Kafka first, then the database in one
 * snapshot (REPEATABLE READ). Everything below a committed offset was in PostgreSQL before that
 * offset was committed, so the snapshot holds it; a pruner running meanwhile changes nothing the
 * snapshot sees. One audit at a time, across replicas: a transaction-level advisory lock.
 *
 * <p>Written by hand because no tool we know of proves a sink's delivery record by record; Kafka's
 * own tools give the offsets, PostgreSQL the rows, and this is the join.
 */
@ApplicationScoped
public class Reconciler {

    /** The advisory lock's key: one audit at a time in the database, whichever replica runs it. */
    static final long LOCK = 0x5354524541_4D5352L;
    private static final Duration KAFKA_TIMEOUT = Duration.ofSeconds(10);

    /**
     * Per run of overlapping receipts in the window (a range read again after a crash overlaps the
     * first reading), its offsets, the records its receipts say landed, and the ledger rows at those
     * offsets: the two agree when every landed record has its row.
     */
    static final String LANDED_RUNS = """
            WITH args (topic, part, lo, hi) AS (VALUES (?::text, ?::int, ?::bigint, ?::bigint)),
            receipts AS (
                SELECT r.first_offset, r.last_offset, r.landed,
                       -- a receipt starts a new run unless an earlier one reaches into it
                       CASE WHEN r.first_offset <= max(r.last_offset) OVER (ORDER BY r.first_offset, r.last_offset
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) THEN 0 ELSE 1 END AS starts_run
                  FROM args, partition_receipts r
                 WHERE r.topic = args.topic AND r.partition = args.part AND r.last_offset >= args.lo
                   AND r.first_offset < args.hi
            ), runs AS (
                SELECT min(first_offset) AS first_offset, max(last_offset) AS last_offset, sum(landed) AS landed
                  FROM (SELECT *, sum(starts_run) OVER (ORDER BY first_offset, last_offset) AS run FROM receipts) numbered
                 GROUP BY run
            )
            SELECT runs.first_offset, runs.last_offset, runs.landed,
                   (SELECT count(*) FROM processed_events l WHERE l.source_partition = args.part
                       AND l.source_offset BETWEEN runs.first_offset AND runs.last_offset)
              FROM args, runs""";

    /**
     * Of the offsets the receipts claim landed in a range, how many have no ledger row, and the first
     * few of them. JDBC binds by position only, so the arguments
     * come in once, as the one-row {@code args}.
     */
    static final String LANDED = """
            WITH args (topic, part, lo, hi, listed) AS (VALUES (?::text, ?::int, ?::bigint, ?::bigint, ?::int)),
            claimed AS (
                SELECT DISTINCT o
                  FROM args, partition_receipts r
                 CROSS JOIN LATERAL generate_series(greatest(r.first_offset, args.lo), least(r.last_offset, args.hi - 1)) AS o
                 WHERE r.topic = args.topic AND r.partition = args.part AND r.last_offset >= args.lo
                   AND r.first_offset < args.hi AND r.landed > 0
                   AND o <> ALL (r.duplicate_offsets) AND o <> ALL (r.dead_letter_offsets)
                   AND o <> ALL (r.replay_dead_letter_offsets) AND NOT r.skipped_offsets @> o
            ), missing AS (
                SELECT o FROM args, claimed c
                 WHERE NOT EXISTS (SELECT 1 FROM processed_events l
                                    WHERE l.source_partition = args.part AND l.source_offset = c.o)
            )
            SELECT (SELECT count(*) FROM missing),
                   (SELECT array_agg(o ORDER BY o) FROM (SELECT o FROM missing ORDER BY o LIMIT (SELECT listed FROM args)) m)""";

    /**
     * Dead letters the receipts claim in the window, and those with no dlq_events row: at their
     * source offset, or (a replayed record that failed again) the entry it was replayed from, and no
     * ledger row either.
     * Split by the age of their oldest receipt against the grace ({@code grace}, in seconds).
     */
    static final String DEAD_LETTERS = """
            WITH args (topic, part, lo, hi, listed, grace) AS
                (VALUES (?::text, ?::int, ?::bigint, ?::bigint, ?::int, ?::float8)),
            claimed AS (
                SELECT d.o, min(r.written_at) AS since, min(d.entry) AS entry
                  FROM args, partition_receipts r
                 CROSS JOIN LATERAL (
                       SELECT o, NULL::bigint AS entry FROM unnest(r.dead_letter_offsets) AS o
                       UNION ALL
                       SELECT o, entry FROM unnest(r.replay_dead_letter_offsets, r.replay_dead_letter_entries) AS x(o, entry)
                 ) d
                 WHERE r.topic = args.topic AND r.partition = args.part AND r.last_offset >= args.lo
                   AND r.first_offset < args.hi AND d.o >= args.lo AND d.o < args.hi
                 GROUP BY d.o
            ), missing AS (
                SELECT o, since < now() - make_interval(secs => args.grace) AS overdue FROM args, claimed c
                 WHERE NOT EXISTS (SELECT 1 FROM dlq_events e WHERE e.source_topic = args.topic
                                      AND e.source_partition = args.part AND e.source_offset = c.o)
                   AND NOT EXISTS (SELECT 1 FROM dlq_events e WHERE e.id = c.entry)
                   -- Read again later and landed (a refusal whose cause went): in PostgreSQL all the same.
                   AND NOT EXISTS (SELECT 1 FROM processed_events l WHERE l.source_partition = args.part
                                      AND l.source_offset = c.o)
            )
            SELECT (SELECT count(*) FROM claimed),
                   (SELECT count(*) FROM missing WHERE overdue),
                   (SELECT array_agg(o ORDER BY o) FROM (SELECT o FROM missing WHERE overdue ORDER BY o
                                                         LIMIT (SELECT listed FROM args)) m),
                   (SELECT count(*) FROM missing WHERE NOT overdue),
                   (SELECT array_agg(o ORDER BY o) FROM (SELECT o FROM missing WHERE NOT overdue ORDER BY o
                                                         LIMIT (SELECT listed FROM args)) m),
                   (SELECT count(*) FROM args, dlq_events e WHERE e.source_topic = args.topic
                       AND e.source_partition = args.part AND e.source_offset >= args.lo AND e.source_offset < args.hi)""";

    /** The receipts' ranges in the window, in offset order, with their counts: coverage and totals. */
    static final String RANGES = """
            SELECT first_offset, last_offset, cardinality(duplicate_offsets),
                   (SELECT coalesce(sum(upper(s) - lower(s)), 0) FROM unnest(skipped_offsets) AS s)
              FROM partition_receipts
             WHERE topic = ? AND partition = ? AND last_offset >= ? AND first_offset < ?
             ORDER BY first_offset""";

    static final String PROGRESS = """
            SELECT partition, pruned_to, verified_to, tail_from, scrub_from FROM audit_progress WHERE topic = ?""";

    static final String FIRST_RECEIPT = "SELECT min(first_offset) FROM partition_receipts WHERE topic = ? AND partition = ?";

    static final String SAVE = """
            INSERT INTO audit_progress (topic, partition, pruned_to, verified_to, tail_from, scrub_from, audited_from,
                                        committed_offset, unaccounted, pending, findings, audited_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, clock_timestamp())
            ON CONFLICT (topic, partition) DO UPDATE
               SET verified_to = excluded.verified_to, tail_from = excluded.tail_from,
                   scrub_from = excluded.scrub_from, audited_from = excluded.audited_from,
                   committed_offset = excluded.committed_offset, unaccounted = excluded.unaccounted,
                   pending = excluded.pending, findings = excluded.findings, audited_at = excluded.audited_at""";

    private final String topic;
    private final String groupId;
    private final AuditSettings settings;
    private final Admin admin;
    private final KafkaClients clients;
    /** Looked up on first use: producer mode deactivates the datasource (see ReviewSink). */
    private final Instance<DataSource> dataSource;

    Reconciler(StreamSreConfig config, Admin admin, KafkaClients clients, Instance<DataSource> dataSource) {
        this.topic = config.topic();
        this.groupId = config.consumer().groupId();
        this.settings = config.audit();
        this.admin = admin;
        this.clients = clients;
        this.dataSource = dataSource;
    }

    /**
     * Audits every partition and records the findings in {@code audit_progress}. Empty when another
     * audit holds the lock. Throws when Kafka or PostgreSQL cannot be asked.
     *
     * @param whole the whole window (audit mode); else what changed since the last audit plus a
     *              slice of what was proved before ({@link #audit(boolean)} explains)
     */
    public Optional<AuditReport> audit(boolean whole) throws SQLException, AuditUnavailableException {
        long started = System.nanoTime();
        Map<Integer, long[]> kafka = kafkaOffsets();
        try (Connection db = dataSource.get().getConnection()) {
            db.setAutoCommit(false);
            db.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try {
                if (!tryLock(db)) {
                    db.rollback();
                    return Optional.empty();
                }
                Map<Integer, Progress> progress = progress(db);
                List<PartitionAudit> partitions = new ArrayList<>();
                List<Progress> next = new ArrayList<>();
                try (BrokerGapCheck broker = new BrokerGapCheck(clients, settings.listedOffsets())) {
                    for (Map.Entry<Integer, long[]> entry : kafka.entrySet()) {
                        int partition = entry.getKey();
                        long logStart = entry.getValue()[0];
                        long committed = entry.getValue()[1];
                        Progress last = progress.get(partition);
                        Long firstOffset = last != null ? Long.valueOf(last.start) : firstReceipt(db, partition);
                        if (committed < 0 || firstOffset == null) {
                            // Nothing committed, or no receipt yet (nothing read since receipts began): nothing to prove.
                            continue;
                        }
                        long start = Math.max(logStart, firstOffset);
                        if (whole || last == null) {
                            PartitionAudit audit = auditPartition(db, broker, partition, start, committed);
                            partitions.add(audit);
                            next.add(new Progress(partition, start, audit.verifiedTo(), audit.verifiedTo(),
                                    last == null ? start : last.scrubFrom));
                        } else {
                            partitions.add(auditIncrementally(db, broker, partition, start, committed, last, next));
                        }
                    }
                }
                save(db, partitions, next);
                db.commit();
                return Optional.of(new AuditReport(topic, groupId, partitions, Duration.ofNanos(System.nanoTime() - started)));
            } catch (SQLException | RuntimeException e) {
                db.rollback();
                throw e;
            }
        }
    }

    /**
     * The scheduled audit's share of a partition: the tail, from where the last audit's proof
     * stopped to the committed offset (what was read since, and any finding not yet resolved), and
     * a slice of {@code streamsre.audit.scrub-offsets} of what was proved before, the slices taking
     * turns from the start of the window. So each audit costs about what the consumer wrote since
     * the last one plus the slice, whatever the topic's retention, and a row deleted behind the tail
     * is found within (window / slice) audits. A slice with a finding is audited again until it is
     * clean, so the finding stays reported.
     */
    private PartitionAudit auditIncrementally(Connection db, BrokerGapCheck broker, int partition, long start,
            long committed, Progress last, List<Progress> next) throws SQLException {
        long tailFrom = Math.min(Math.max(start, last.tailFrom), committed);
        PartitionAudit tail = auditPartition(db, broker, partition, tailFrom, committed);
        long scrubFrom = last.scrubFrom < start || last.scrubFrom >= tailFrom ? start : last.scrubFrom;
        long scrubTo = Math.min(scrubFrom + settings.scrubOffsets(), tailFrom);
        PartitionAudit audit = tail;
        long nextScrub = scrubFrom;
        if (scrubTo > scrubFrom) {
            PartitionAudit scrub = auditPartition(db, broker, partition, scrubFrom, scrubTo);
            audit = scrub.and(tail);
            nextScrub = scrub.findings().isEmpty() ? scrubTo : scrubFrom;
        }
        next.add(new Progress(partition, start, audit.verifiedTo(), tail.verifiedTo(), nextScrub));
        return audit;
    }

    private PartitionAudit auditPartition(Connection db, BrokerGapCheck broker, int partition, long from, long committed)
            throws SQLException {
        List<Finding> findings = new ArrayList<>();
        if (committed < from) {
            // The group's position is below the oldest offset still in the log: those records were
            // deleted unread (the consumer was down longer than the retention, or an offset reset).
            findings.add(new Finding(Kind.LOST_TO_RETENTION, from - committed, committed, List.of(),
                    "committed offset " + committed + " is below the log's start " + from));
            return new PartitionAudit(partition, from, committed, 0, 0, 0, 0, 0, 0, from - committed, 0, findings);
        }
        Coverage coverage = coverage(db, partition, from, committed);
        long skipped = coverage.skippedInside;
        long unaccounted = 0;
        for (long[] gap : coverage.gaps) {
            BrokerGapCheck.Hole hole;
            try {
                hole = broker.read(new TopicPartition(topic, partition), gap[0], gap[1]);
            } catch (OffsetOutOfRangeException e) {
                findings.add(new Finding(Kind.LOST_TO_RETENTION, gap[1] - gap[0], gap[0], List.of(),
                        "offsets " + gap[0] + ".." + (gap[1] - 1) + " have no receipt and are no longer in the log"));
                unaccounted += gap[1] - gap[0];
                continue;
            }
            skipped += gap[1] - gap[0] - hole.records();
            if (hole.records() > 0) {
                unaccounted += hole.records();
                findings.add(new Finding(Kind.NO_RECEIPT, hole.records(), hole.offsets().get(0), hole.offsets(),
                        "no receipt covers offsets " + gap[0] + ".." + (gap[1] - 1)
                                + (hole.complete() ? "" : "; read in part, at least this many")));
            }
        }
        Landed landed = landed(db, partition, from, committed);
        if (landed.missing > 0) {
            unaccounted += landed.missing;
            findings.add(new Finding(Kind.LANDED_WITHOUT_LEDGER_ROW, landed.missing, landed.offsets.get(0), landed.offsets, ""));
        }
        long deadLetterClaims;
        long dlqRows;
        long pending;
        try (PreparedStatement deadLetters = db.prepareStatement(DEAD_LETTERS)) {
            bind(deadLetters, partition, from, committed);
            deadLetters.setDouble(6, settings.deadLetterGrace().toMillis() / 1000.0);
            try (ResultSet row = single(deadLetters)) {
                deadLetterClaims = row.getLong(1);
                long overdue = row.getLong(2);
                pending = row.getLong(4);
                dlqRows = row.getLong(6);
                if (overdue > 0) {
                    unaccounted += overdue;
                    List<Long> offsets = offsets(row.getArray(3));
                    findings.add(new Finding(Kind.DEAD_LETTER_WITHOUT_ROW, overdue, offsets.get(0), offsets, ""));
                }
                if (pending > 0) {
                    List<Long> offsets = offsets(row.getArray(5));
                    findings.add(new Finding(Kind.DEAD_LETTER_PENDING, pending, offsets.get(0), offsets,
                            "the DLQ recorder has not stored them yet"));
                }
            }
        }
        return new PartitionAudit(partition, from, committed, landed.claims, landed.ledgerRows, coverage.duplicates,
                deadLetterClaims, dlqRows, skipped, unaccounted, pending, findings);
    }

    /**
     * Landed claims against ledger rows. Counting first: per run of overlapping receipts, the landed
     * they claim against the ledger rows in their offsets ({@link #LANDED_RUNS}, one index range
     * count each); only the runs that disagree are checked offset by offset ({@link #LANDED}) to
     * name the missing rows. Checking every offset costs ten times as much, and the audit shares two
     * cores with the consumer and PostgreSQL. (A run that both lost a ledger row and gained one
     * that no receipt claims, a crash during a batch's isolation, would add up and pass.)
     */
    private Landed landed(Connection db, int partition, long from, long to) throws SQLException {
        Landed landed = new Landed();
        List<long[]> disagreeing = new ArrayList<>();
        try (PreparedStatement runs = db.prepareStatement(LANDED_RUNS)) {
            window(runs, partition, from, to);
            try (ResultSet rows = runs.executeQuery()) {
                while (rows.next()) {
                    long first = rows.getLong(1);
                    long last = rows.getLong(2);
                    long claims = rows.getLong(3);
                    long ledger = rows.getLong(4);
                    landed.claims += claims;
                    landed.ledgerRows += ledger;
                    if (claims != ledger) {
                        disagreeing.add(new long[] {Math.max(first, from), Math.min(last + 1, to)});
                    }
                }
            }
        }
        for (long[] run : disagreeing) {
            try (PreparedStatement offsets = db.prepareStatement(LANDED)) {
                bind(offsets, partition, run[0], run[1]);
                try (ResultSet row = single(offsets)) {
                    long missing = row.getLong(1);
                    if (missing > 0) {
                        landed.missing += missing;
                        for (Long offset : offsets(row.getArray(2))) {
                            if (landed.offsets.size() < settings.listedOffsets()) {
                                landed.offsets.add(offset);
                            }
                        }
                    }
                }
            }
        }
        return landed;
    }

    private static final class Landed {
        long claims;
        long ledgerRows;
        long missing;
        final List<Long> offsets = new ArrayList<>();
    }

    /** The holes between the receipts in {@code [from, to)}, the duplicates they list, and the offsets they say Kafka skipped. */
    private Coverage coverage(Connection db, int partition, long from, long to) throws SQLException {
        Coverage coverage = new Coverage();
        long next = from;
        try (PreparedStatement ranges = db.prepareStatement(RANGES)) {
            window(ranges, partition, from, to);
            try (ResultSet rows = ranges.executeQuery()) {
                while (rows.next()) {
                    long first = rows.getLong(1);
                    long last = rows.getLong(2);
                    if (first > next) {
                        coverage.gaps.add(new long[] {next, Math.min(first, to)});
                    }
                    // Overlapping receipts (a range read again after a crash) count once where they overlap.
                    if (last + 1 > next) {
                        coverage.duplicates += rows.getLong(3);
                        coverage.skippedInside += rows.getLong(4);
                    }
                    next = Math.max(next, last + 1);
                }
            }
        }
        if (next < to) {
            // The committed offset is ahead of the receipts.
            coverage.gaps.add(new long[] {next, to});
        }
        return coverage;
    }

    private static final class Coverage {
        final List<long[]> gaps = new ArrayList<>();
        long duplicates;
        long skippedInside;
    }

    /** Per partition of the topic: {log start, committed offset or -1}. */
    private Map<Integer, long[]> kafkaOffsets() throws AuditUnavailableException {
        try {
            var description = admin.describeTopics(List.of(topic)).allTopicNames()
                    .get(KAFKA_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).get(topic);
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(groupId)
                    .partitionsToOffsetAndMetadata().get(KAFKA_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            Map<TopicPartition, OffsetSpec> earliest = new HashMap<>();
            description.partitions().forEach(info -> earliest.put(new TopicPartition(topic, info.partition()), OffsetSpec.earliest()));
            Map<TopicPartition, ListOffsetsResultInfo> starts = admin.listOffsets(earliest).all()
                    .get(KAFKA_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            Map<Integer, long[]> offsets = new java.util.TreeMap<>();
            starts.forEach((partition, start) -> {
                OffsetAndMetadata position = committed.get(partition);
                offsets.put(partition.partition(), new long[] {start.offset(), position == null ? -1 : position.offset()});
            });
            return offsets;
        } catch (ExecutionException | TimeoutException e) {
            throw new AuditUnavailableException("cannot read topic " + topic + " or group " + groupId + " from Kafka ("
                    + clients.bootstrapServers() + "): " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AuditUnavailableException("interrupted while asking Kafka", e);
        }
    }

    private boolean tryLock(Connection db) throws SQLException {
        try (PreparedStatement lock = db.prepareStatement("SELECT pg_try_advisory_xact_lock(?)")) {
            lock.setLong(1, LOCK);
            try (ResultSet row = single(lock)) {
                return row.getBoolean(1);
            }
        }
    }

    /**
     * Where a partition's proof starts at its first audit: its oldest receipt (the log start when
     * the group began with receipts; the first batch after the upgrade otherwise, whose earlier
     * records no receipt can cover). Null when it has none yet.
     */
    private Long firstReceipt(Connection db, int partition) throws SQLException {
        try (PreparedStatement query = db.prepareStatement(FIRST_RECEIPT)) {
            query.setString(1, topic);
            query.setInt(2, partition);
            try (ResultSet row = single(query)) {
                long first = row.getLong(1);
                return row.wasNull() ? null : first;
            }
        }
    }

    /**
     * Where a partition's audits stand: where its proof starts ({@code pruned_to}: fixed by its first
     * audit, moved on by the pruner), where the last audit's proof stopped ({@code verified_to}),
     * where the next tail and the next scrub slice begin.
     */
    private record Progress(int partition, long start, long verifiedTo, long tailFrom, long scrubFrom) {
    }

    private Map<Integer, Progress> progress(Connection db) throws SQLException {
        Map<Integer, Progress> progress = new HashMap<>();
        try (PreparedStatement query = db.prepareStatement(PROGRESS)) {
            query.setString(1, topic);
            try (ResultSet rows = query.executeQuery()) {
                while (rows.next()) {
                    progress.put(rows.getInt(1), new Progress(rows.getInt(1), rows.getLong(2), rows.getLong(3),
                            rows.getLong(4), rows.getLong(5)));
                }
            }
        }
        return progress;
    }

    private void save(Connection db, List<PartitionAudit> partitions, List<Progress> next) throws SQLException {
        try (PreparedStatement save = db.prepareStatement(SAVE)) {
            for (int i = 0; i < partitions.size(); i++) {
                PartitionAudit p = partitions.get(i);
                Progress progress = next.get(i);
                save.setString(1, topic);
                save.setInt(2, p.partition());
                // A partition's first audit fixes where its proof starts (the update keeps pruned_to).
                save.setLong(3, progress.start());
                save.setLong(4, progress.verifiedTo());
                save.setLong(5, progress.tailFrom());
                save.setLong(6, progress.scrubFrom());
                save.setLong(7, p.from());
                save.setLong(8, p.committed());
                save.setLong(9, p.unaccounted());
                save.setLong(10, p.pending());
                save.setString(11, p.summary());
                save.addBatch();
            }
            save.executeBatch();
        }
    }

    /** The first four arguments of every statement here: the topic, the partition, and the window {@code [from, to)}. */
    private void window(PreparedStatement statement, int partition, long from, long to) throws SQLException {
        statement.setFetchSize(10_000);
        statement.setString(1, topic);
        statement.setInt(2, partition);
        statement.setLong(3, from);
        statement.setLong(4, to);
    }

    /** The window, and how many offsets a finding lists. */
    private void bind(PreparedStatement statement, int partition, long from, long to) throws SQLException {
        window(statement, partition, from, to);
        statement.setInt(5, settings.listedOffsets());
    }

    private static ResultSet single(PreparedStatement statement) throws SQLException {
        ResultSet row = statement.executeQuery();
        row.next();
        return row;
    }

    private static List<Long> offsets(Array array) throws SQLException {
        List<Long> offsets = new ArrayList<>();
        if (array != null) {
            for (Object offset : (Object[]) array.getArray()) {
                offsets.add(((Number) offset).longValue());
            }
        }
        return offsets;
    }
}
