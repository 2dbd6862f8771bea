package dev.streamsre.replay;

import dev.streamsre.config.InvalidConfigurationException;
import dev.streamsre.deadletter.DeadLetterHeaders;
import dev.streamsre.kafka.KafkaClients;
import dev.streamsre.kafka.TopicCheck;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.sql.DataSource;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
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
 * not selected again unless forced. Two replays running at once never send the same entry twice.
 */
@ApplicationScoped
public class DlqReplayer {

    private static final Logger LOG = Logger.getLogger(DlqReplayer.class);
    private static final Duration KAFKA_TIMEOUT = Duration.ofSeconds(10);

    /** Exit codes of replay mode. */
    static final int EXIT_OK = 0;
    static final int EXIT_UNREACHABLE = 2;
    static final int EXIT_PUBLISH_FAILED = 3;

    static final String MARK_REPLAYED = """
            UPDATE dlq_events SET replay_count = replay_count + 1, last_replayed_at = now(), parked = false
             WHERE id = ?""";
    static final String MARK_PARKED = "UPDATE dlq_events SET parked = true WHERE id = ?";

    private final ReplayConfig config;
    private final Instance<DataSource> dataSource;
    private final KafkaClients clients;
    private final String topic;

    DlqReplayer(ReplayConfig config, Instance<DataSource> dataSource,
            KafkaClients clients,
            @ConfigProperty(name = "streamsre.topic") String topic) {
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
        int replayed = 0;
        int parked = 0;
        int failed = 0;
        int selected;
        // One transaction for the whole run: the selected rows stay locked (FOR UPDATE SKIP LOCKED)
        // until it commits, so a second replay running at the same time skips them instead of
        // sending them again.
        try (Producer<byte[], byte[]> producer = new KafkaProducer<>(producerProperties());
                Connection connection = dataSource.get().getConnection()) {
            connection.setAutoCommit(false);
            List<Entry> entries = select(connection, true);
            selected = entries.size();
            System.out.printf("replay: %d dead letter(s) selected (%s)%n", entries.size(), describeSelection());
            for (Entry entry : entries) {
                if (parkNow(entry)) {
                    update(connection, MARK_PARKED, entry.id());
                    print(entry, "parked (replayed " + entry.replayCount() + " times; force to replay it)");
                    parked++;
                    continue;
                }
                try {
                    producer.send(replayRecord(entry)).get(KAFKA_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                } catch (ExecutionException | TimeoutException e) {
                    print(entry, "FAILED to publish: " + (e.getCause() != null ? e.getCause() : e));
                    failed++;
                    continue;
                }
                update(connection, MARK_REPLAYED, entry.id());
                print(entry, "replayed to " + topic + " (replay " + (entry.replayCount() + 1) + ")");
                replayed++;
            }
            connection.commit();
        } catch (SQLException e) {
            LOG.errorf("cannot update dlq_events (DATABASE_URL): %s", e.getMessage());
            return EXIT_UNREACHABLE;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return EXIT_PUBLISH_FAILED;
        }
        System.out.printf("replay summary: dry_run=false selected=%d replayed=%d parked=%d failed=%d%n",
                selected, replayed, parked, failed);
        return failed > 0 ? EXIT_PUBLISH_FAILED : EXIT_OK;
    }

    private void validate() {
        // Single-setting ranges are ReplayConfig's constraints; only this check spans two settings.
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
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName(),
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName()));
    }
}
