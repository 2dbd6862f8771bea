package dev.streamsre.replay;

import dev.streamsre.config.InvalidConfigurationException;
import dev.streamsre.config.ReplaySettings;
import dev.streamsre.config.StreamSreConfig;
import dev.streamsre.deadletter.DeadLetterHeaders;
import dev.streamsre.kafka.KafkaClients;
import dev.streamsre.kafka.TopicCheck;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import javax.sql.DataSource;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.jboss.logging.Logger;

/**
 * Replay mode: republishes chosen dead letters to the main topic with their original key, bytes and
 * headers, and records each replay on its {@code dlq_events} row.
 *
 * <p>Replaying is always safe to repeat: the consumer's ledger recognises an event that already
 * landed as a duplicate. A replayed record that fails again comes back to the DLQ carrying
 * {@code streamsre-replay-of}, and the DLQ recorder updates this same row. After
 * {@code max-replays} unsuccessful replays an entry is parked, and only {@code force} takes it. A
 * replayed record that lands marks its entry resolved (the consumer does), and a resolved entry is
 * not selected again unless forced.
 *
 * <p>Claim, send, record: the run claims its entries in one short transaction
 * ({@code replay_claimed_until}, {@link #CLAIM_LEASE}), sends them with no database lock held, and
 * records each outcome in a statement of its own. So a replay never stalls the stream (the
 * consumer's resolve of a landed replay once waited on the locks of a run sending one record at a
 * time, hit the statement timeout and retried until the run committed), two runs at once never
 * send the same entry, and a run that dies leaves only claims that expire. A send that times out
 * is unknown, not failed (the idempotent producer may still deliver it as it closes): its claim
 * stays until the lease ends, so an immediate rerun does not send it twice. An entry Kafka refuses
 * for good (too large, invalid) and a row that cannot be read as a record are parked with their
 * reason, so they never block the entries behind them.
 */
@ApplicationScoped
public class DlqReplayer {

    private static final Logger LOG = Logger.getLogger(DlqReplayer.class);
    private static final Duration KAFKA_TIMEOUT = Duration.ofSeconds(10);

    /** Exit codes of replay mode. */
    static final int EXIT_OK = 0;
    static final int EXIT_UNREACHABLE = 2;
    static final int EXIT_PUBLISH_FAILED = 3;
    /** Some sends were not confirmed in time: they may or may not have been delivered. */
    static final int EXIT_DELIVERY_UNKNOWN = 4;

    /** How long a run's claim keeps other runs off an entry it has not recorded (a run that died). */
    static final Duration CLAIM_LEASE = Duration.ofMinutes(10);
    /** The longest the claim's transaction may sit idle, holding its row locks. */
    static final Duration CLAIM_TRANSACTION_TIMEOUT = Duration.ofSeconds(5);

    static final String MARK_REPLAYED = """
            UPDATE dlq_events SET replay_count = replay_count + 1, last_replayed_at = now(), parked = false,
                   replay_claimed_until = NULL
             WHERE id = ?""";
    static final String MARK_PARKED = "UPDATE dlq_events SET parked = true, replay_claimed_until = NULL WHERE id = ?";
    static final String RELEASE_CLAIM = "UPDATE dlq_events SET replay_claimed_until = NULL WHERE id = ?";

    private final ReplaySettings config;
    private final Supplier<DataSource> dataSource;
    private final KafkaClients clients;
    private final String topic;

    /**
     * The datasource is looked up when the run starts: producer mode deactivates it, and Quarkus
     * fails the start of any mode whose beans inject an inactive datasource directly, even a bean
     * that mode never creates.
     */
    @Inject
    DlqReplayer(StreamSreConfig settings, Instance<DataSource> dataSource, KafkaClients clients) {
        this(settings.replay(), dataSource::get, clients, settings.topic());
    }

    /** A replayer of the given selection onto {@code topic}, outside CDI (DlqReplayerIT). */
    DlqReplayer(ReplaySettings config, Supplier<DataSource> dataSource, KafkaClients clients, String topic) {
        this.config = config;
        this.dataSource = dataSource;
        this.clients = clients;
        this.topic = topic;
    }

    /** One selected dead letter. */
    record Entry(long id, String reason, String source, int replayCount, boolean parked, byte[] key, byte[] payload,
            String headersJson) {
    }

    /** Runs the replay and returns the process exit code. */
    public int run() {
        validate();
        if (config.dryRun()) {
            List<Entry> entries;
            try (Connection connection = dataSource.get().getConnection()) {
                entries = select(connection, false);
            } catch (SQLException e) {
                LOG.errorf("cannot read dlq_events (DATABASE_URL): %s", e.getMessage());
                return EXIT_UNREACHABLE;
            }
            System.out.printf("replay: %d dead letter(s) selected (%s)%n", entries.size(), describeSelection());
            for (Entry entry : entries) {
                print(entry, parkNow(entry) ? "would park (replayed " + entry.replayCount() + " times)" : "would replay");
            }
            System.out.printf("replay summary: dry_run=true selected=%d%n", entries.size());
            return EXIT_OK;
        }
        String unreachable = TopicCheck.problem(clients, topic, KAFKA_TIMEOUT);
        if (unreachable != null) {
            LOG.error(unreachable);
            return EXIT_UNREACHABLE;
        }
        Outcomes outcomes = new Outcomes();
        try (Connection connection = dataSource.get().getConnection()) {
            List<Entry> entries = claim(connection);
            System.out.printf("replay: %d dead letter(s) selected and claimed (%s)%n", entries.size(), describeSelection());
            List<Pending> unconfirmed = new ArrayList<>();
            try (Producer<byte[], byte[]> producer = new KafkaProducer<>(producerProperties())) {
                for (Entry entry : entries) {
                    send(connection, producer, entry, outcomes, unconfirmed);
                }
                // Sends that timed out may still complete while the producer flushes its buffer.
                producer.flush();
            }
            for (Pending pending : unconfirmed) {
                settleLate(connection, pending, outcomes);
            }
            System.out.printf("replay summary: dry_run=false selected=%d replayed=%d parked=%d failed=%d unknown=%d"
                    + " skipped=%d%n", entries.size(), outcomes.replayed, outcomes.parked, outcomes.failed,
                    outcomes.unknown, outcomes.skipped);
        } catch (SQLException e) {
            LOG.errorf("cannot update dlq_events (DATABASE_URL): %s", e.getMessage());
            return EXIT_UNREACHABLE;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return EXIT_PUBLISH_FAILED;
        }
        return outcomes.failed > 0 ? EXIT_PUBLISH_FAILED : outcomes.unknown > 0 ? EXIT_DELIVERY_UNKNOWN : EXIT_OK;
    }

    /** How the run's entries ended. */
    private static final class Outcomes {
        int replayed;
        int parked;
        int failed;
        int unknown;
        int skipped;
    }

    /** A send not confirmed within the timeout. */
    private record Pending(Entry entry, Future<RecordMetadata> send) {
    }

    /** Sends one claimed entry and records what happened to it, each record its own statement. */
    private void send(Connection connection, Producer<byte[], byte[]> producer, Entry entry, Outcomes outcomes,
            List<Pending> unconfirmed) throws SQLException, InterruptedException {
        if (parkNow(entry)) {
            update(connection, MARK_PARKED, entry.id());
            print(entry, "parked (replayed " + entry.replayCount() + " times; force to replay it)");
            outcomes.parked++;
            return;
        }
        ProducerRecord<byte[], byte[]> record;
        try {
            record = replayRecord(entry);
        } catch (RuntimeException e) {
            update(connection, MARK_PARKED, entry.id());
            print(entry, "skipped and parked: its stored headers cannot be read back (" + e.getClass().getSimpleName() + ")");
            outcomes.skipped++;
            return;
        }
        Future<RecordMetadata> sent = producer.send(record);
        try {
            sent.get(KAFKA_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            unconfirmed.add(new Pending(entry, sent));
            return;
        } catch (ExecutionException e) {
            failed(connection, entry, e.getCause(), outcomes);
            return;
        }
        update(connection, MARK_REPLAYED, entry.id());
        print(entry, "replayed to " + topic + " (replay " + (entry.replayCount() + 1) + ")");
        outcomes.replayed++;
    }

    /** A send that timed out, once the producer flushed: confirmed, failed, or still unknown. */
    private void settleLate(Connection connection, Pending pending, Outcomes outcomes) throws SQLException {
        if (!pending.send().isDone()) {
            print(pending.entry(), "UNKNOWN: not confirmed in time; claimed until the lease ends, then replayable");
            outcomes.unknown++;
            return;
        }
        try {
            pending.send().get();
            update(connection, MARK_REPLAYED, pending.entry().id());
            print(pending.entry(), "replayed to " + topic + " (confirmed late)");
            outcomes.replayed++;
        } catch (ExecutionException e) {
            failed(connection, pending.entry(), e.getCause(), outcomes);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            outcomes.unknown++;
        }
    }

    /** Kafka refused the send: for good (parked, so it blocks nothing behind it), or for now (released). */
    private void failed(Connection connection, Entry entry, Throwable cause, Outcomes outcomes) throws SQLException {
        if (cause instanceof RetriableException) {
            update(connection, RELEASE_CLAIM, entry.id());
            print(entry, "FAILED to publish, retriable: " + cause);
            outcomes.failed++;
        } else {
            update(connection, MARK_PARKED, entry.id());
            print(entry, "parked: Kafka refuses it for good (" + cause + ")");
            outcomes.parked++;
        }
    }

    /**
     * Claims the selected entries for this run in one short transaction and returns them oldest
     * first. Rows another run holds in that same moment are skipped, and so are entries another
     * run has claimed and not recorded yet.
     */
    private List<Entry> claim(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            // Should this process freeze inside the claim (SIGSTOP, a lost node), PostgreSQL ends the
            // session and its row locks after this long, instead of the consumer waiting on them.
            statement.execute("SET idle_in_transaction_session_timeout = " + CLAIM_TRANSACTION_TIMEOUT.toMillis());
        }
        connection.setAutoCommit(false);
        try {
            List<Entry> entries = select(connection, true);
            try (PreparedStatement statement = connection.prepareStatement(
                    "UPDATE dlq_events SET replay_claimed_until = now() + make_interval(secs => ?) WHERE id = ANY(?)")) {
                statement.setLong(1, CLAIM_LEASE.toSeconds());
                statement.setArray(2, connection.createArrayOf("bigint",
                        entries.stream().map(Entry::id).toArray(Long[]::new)));
                statement.executeUpdate();
            }
            connection.commit();
            return entries;
        } catch (SQLException e) {
            connection.rollback();
            throw e;
        } finally {
            connection.setAutoCommit(true);
        }
    }

    private void validate() {
        // Single-setting ranges are ReplaySettings' constraints; only this check spans two settings.
        if (config.since().isPresent() && config.until().isPresent()
                && !config.since().get().isBefore(config.until().get())) {
            throw new InvalidConfigurationException("streamsre.replay.since must be before streamsre.replay.until");
        }
    }

    private boolean parkNow(Entry entry) {
        return !config.force() && entry.replayCount() >= config.maxReplays();
    }

    /**
     * Oldest first; parked and resolved entries only when forced. Filters are bound parameters,
     * never spliced text. With {@code lock}, the rows are locked for the caller's transaction and
     * rows another replay holds are skipped.
     */
    private List<Entry> select(Connection connection, boolean lock) throws SQLException {
        StringBuilder sql = new StringBuilder("""
                SELECT id, reason, source_topic || '/' || source_partition || '/' || source_offset, replay_count,
                       parked, record_key, payload, headers::text
                  FROM dlq_events WHERE true""");
        List<Object> parameters = new ArrayList<>();
        config.reasons().ifPresent(reasons -> {
            sql.append(" AND reason = ANY(?)");
            parameters.add(reasons.toArray(String[]::new));
        });
        config.since().ifPresent(since -> {
            sql.append(" AND first_failed_at >= ?");
            parameters.add(Timestamp.from(since));
        });
        config.until().ifPresent(until -> {
            sql.append(" AND first_failed_at < ?");
            parameters.add(Timestamp.from(until));
        });
        config.ids().ifPresent(ids -> {
            sql.append(" AND id = ANY(?)");
            parameters.add(ids.toArray(Long[]::new));
        });
        if (!config.force()) {
            sql.append(" AND NOT parked AND resolved_at IS NULL");
        }
        sql.append(" AND (replay_claimed_until IS NULL OR replay_claimed_until < now())");
        sql.append(" ORDER BY id LIMIT ?");
        parameters.add(config.limit());
        if (lock) {
            sql.append(" FOR UPDATE SKIP LOCKED");
        }
        List<Entry> entries = new ArrayList<>();
        try (PreparedStatement statement = connection.prepareStatement(sql.toString())) {
            for (int i = 0; i < parameters.size(); i++) {
                Object value = parameters.get(i);
                if (value instanceof String[] texts) {
                    Array array = connection.createArrayOf("text", texts);
                    statement.setArray(i + 1, array);
                } else if (value instanceof Long[] longs) {
                    statement.setArray(i + 1, connection.createArrayOf("bigint", longs));
                } else {
                    statement.setObject(i + 1, value);
                }
            }
            try (ResultSet rows = statement.executeQuery()) {
                while (rows.next()) {
                    entries.add(new Entry(rows.getLong(1), rows.getString(2), rows.getString(3), rows.getInt(4),
                            rows.getBoolean(5), rows.getBytes(6), rows.getBytes(7), rows.getString(8)));
                }
            }
        }
        return entries;
    }

    /** The original record again, plus where it comes from so a second failure finds its row. */
    private ProducerRecord<byte[], byte[]> replayRecord(Entry entry) {
        RecordHeaders headers = new RecordHeaders();
        for (Object item : new JsonArray(entry.headersJson())) {
            JsonObject header = (JsonObject) item;
            String value = header.getString("value");
            // key_base64 holds a key jsonb could not (one with a NUL); "key" is then a stand-in.
            String exactKey = header.getString("key_base64");
            String key = exactKey != null
                    ? new String(Base64.getDecoder().decode(exactKey), java.nio.charset.StandardCharsets.UTF_8)
                    : header.getString("key");
            headers.add(key, value == null ? null : Base64.getDecoder().decode(value));
        }
        headers.add(DeadLetterHeaders.REPLAY_OF, DeadLetterHeaders.bytes(entry.id()));
        headers.add(DeadLetterHeaders.REPLAY_COUNT, DeadLetterHeaders.bytes(entry.replayCount() + 1));
        return new ProducerRecord<>(topic, null, entry.key(), entry.payload(), headers);
    }

    private static void update(Connection connection, String sql, long id) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(sql)) {
            statement.setLong(1, id);
            statement.executeUpdate();
        }
    }

    private static void print(Entry entry, String action) {
        System.out.printf("  id=%d reason=%s source=%s replays=%d: %s%n", entry.id(), entry.reason(), entry.source(),
                entry.replayCount(), action);
    }

    private String describeSelection() {
        List<String> parts = new ArrayList<>();
        config.reasons().ifPresent(r -> parts.add("reasons=" + String.join(",", r)));
        config.since().ifPresent(s -> parts.add("since=" + s));
        config.until().ifPresent(u -> parts.add("until=" + u));
        config.ids().ifPresent(i -> parts.add("ids=" + i));
        parts.add("limit=" + config.limit());
        parts.add("max_replays=" + config.maxReplays());
        if (config.force()) {
            parts.add("force");
        }
        return String.join(" ", parts);
    }

    private Map<String, Object> producerProperties() {
        return clients.config(Map.of(
                ProducerConfig.CLIENT_ID_CONFIG, "streamsre-replay",
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 2 * 1024 * 1024,
                ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) KAFKA_TIMEOUT.toMillis(),
                // A send is confirmed, refused or expired within this: the final flush is bounded.
                ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) KAFKA_TIMEOUT.toMillis(),
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) (2 * KAFKA_TIMEOUT.toMillis()),
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName(),
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName()));
    }
}
