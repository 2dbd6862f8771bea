package dev.streamsre.it;

import dev.streamsre.event.DecodeResult;
import dev.streamsre.event.EventCodec;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import javax.sql.DataSource;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Reads the pipeline's real state for assertions: rows in PostgreSQL, committed offsets and end
 * offsets in Kafka, and what the topic says the database should hold.
 */
public final class PipelineState {

    private PipelineState() {
    }

    /** A connection as the schema's owner: tests create triggers and reset tables. */
    public static Connection database() throws SQLException {
        return connect(TestInfrastructure.ownerDatabaseUrl());
    }

    /** A connection as the app's DML-only role. */
    public static Connection databaseAsApp() throws SQLException {
        return connect(TestInfrastructure.databaseUrl());
    }

    /** The app's DML-only role as a DataSource, for a component the test builds without CDI. */
    public static DataSource appDataSource() {
        return dataSource(TestInfrastructure.databaseUrl());
    }

    /** The schema owner as a DataSource, for Flyway. */
    public static DataSource ownerDataSource() {
        return dataSource(TestInfrastructure.ownerDatabaseUrl());
    }

    /** The one reading of the infrastructure's {@code postgres://user:pass@host:port/db} URLs. */
    private static DataSource dataSource(String url) {
        String rest = url.substring("postgres://".length());
        String[] credentials = rest.substring(0, rest.indexOf('@')).split(":");
        PGSimpleDataSource dataSource = new PGSimpleDataSource();
        dataSource.setUrl("jdbc:postgresql://" + rest.substring(rest.indexOf('@') + 1));
        dataSource.setUser(credentials[0]);
        dataSource.setPassword(credentials[1]);
        return dataSource;
    }

    private static Connection connect(String url) throws SQLException {
        return dataSource(url).getConnection();
    }

    /** Whether this JVM has brought the schema to the migrations yet: once is enough, no test changes them. */
    private static boolean migrated;

    /**
     * Brings the schema to the application's migrations (Flyway, the same scripts the app runs),
     * then empties the pipeline's tables, so each test starts from nothing and every query a test
     * makes has its tables.
     */
    public static synchronized void resetDatabase() {
        if (!migrated) {
            org.flywaydb.core.Flyway.configure()
                    .dataSource(ownerDataSource())
                    .locations("classpath:db/migration").placeholders(Map.of("app_role", "streamsre")).load().migrate();
            migrated = true;
        }
        try (Connection connection = database(); Statement statement = connection.createStatement()) {
            statement.execute("TRUNCATE reviews, processed_events, dlq_events, partition_receipts, audit_progress");
        } catch (SQLException e) {
            throw new IllegalStateException("cannot reset the test database", e);
        }
    }

    public static void execute(String sql) {
        try (Connection connection = database(); Statement statement = connection.createStatement()) {
            statement.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot run: " + sql, e);
        }
    }

    /** The first column of the first row, as a number; a broken query fails the test, it never reads as 0 or -1. */
    public static long count(String sql) {
        try (Connection connection = database(); Statement statement = connection.createStatement();
                ResultSet result = statement.executeQuery(sql)) {
            if (!result.next()) {
                throw new IllegalStateException("no row from: " + sql);
            }
            return result.getLong(1);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot run: " + sql, e);
        }
    }

    public static Set<UUID> uuids(String sql) {
        try (Connection connection = database(); Statement statement = connection.createStatement();
                ResultSet result = statement.executeQuery(sql)) {
            Set<UUID> ids = new HashSet<>();
            while (result.next()) {
                ids.add((UUID) result.getObject(1));
            }
            return ids;
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The distinct event ids of the valid events in the topic: what `reviews` must hold in the end. */
    public static Set<UUID> distinctEventIds(List<ConsumerRecord<String, byte[]>> records) {
        EventCodec codec = new EventCodec();
        Set<UUID> ids = new HashSet<>();
        for (ConsumerRecord<String, byte[]> record : records) {
            if (codec.decode(record.value()) instanceof DecodeResult.Valid valid) {
                ids.add(valid.event().eventId());
            }
        }
        return ids;
    }

    public static Map<TopicPartition, Long> committedOffsets(String groupId) {
        try {
            Map<TopicPartition, OffsetAndMetadata> committed = TestInfrastructure.sharedAdmin().listConsumerGroupOffsets(groupId)
                    .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
            Map<TopicPartition, Long> offsets = new HashMap<>();
            committed.forEach((partition, offset) -> {
                if (offset != null) {
                    offsets.put(partition, offset.offset());
                }
            });
            return offsets;
        } catch (Exception e) {
            throw new IllegalStateException("cannot read committed offsets of " + groupId, e);
        }
    }

    public static Map<TopicPartition, Long> endOffsets(String topic, int partitions) {
        try {
            Map<TopicPartition, OffsetSpec> request = new HashMap<>();
            for (int p = 0; p < partitions; p++) {
                request.put(new TopicPartition(topic, p), OffsetSpec.latest());
            }
            Map<TopicPartition, Long> offsets = new HashMap<>();
            TestInfrastructure.sharedAdmin().listOffsets(request).all().get(30, TimeUnit.SECONDS)
                    .forEach((partition, info) -> offsets.put(partition, info.offset()));
            return offsets;
        } catch (Exception e) {
            throw new IllegalStateException("cannot read end offsets of " + topic, e);
        }
    }

    /** Total records not yet committed by the group. */
    public static long lag(String groupId, String topic, int partitions) {
        Map<TopicPartition, Long> committed = committedOffsets(groupId);
        long lag = 0;
        for (Map.Entry<TopicPartition, Long> end : endOffsets(topic, partitions).entrySet()) {
            lag += end.getValue() - committed.getOrDefault(end.getKey(), 0L);
        }
        return lag;
    }

    public static void await(String what, Duration timeout, BooleanSupplier condition) {
        await(what, timeout, condition, () -> "");
    }

    /**
     * Waits for the condition (Awaitility, polled every 250 ms); on timeout fails with what it
     * waited for and {@code state} as it is then, which says more than the condition alone.
     */
    public static void await(String what, Duration timeout, BooleanSupplier condition,
            java.util.function.Supplier<String> state) {
        try {
            Awaitility.await(what).atMost(timeout).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(250))
                    .until(condition::getAsBoolean);
        } catch (ConditionTimeoutException timedOut) {
            throw new AssertionError("timed out after " + timeout + " waiting for: " + what + " " + state.get());
        }
    }
}
