package dev.streamsre.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.MigrationVersion;
import org.junit.jupiter.api.Test;

/**
 * The latest migrations applied to a populated database, as an upgrade meets them: a schema at the
 * previous version with a ledger, reviews and dead letters in it, then migrated to this build's
 * version by Flyway with the application's own scripts. Nothing may be lost or changed, and the
 * indexes must be the ones the application expects.
 */
class SchemaUpgradeIT {

    private static final String SCHEMA = "upgrade_check";
    private static final int ROWS = 200_000;

    @Test
    void aPopulatedV4DatabaseUpgradesKeepingEveryRow() throws Exception {
        try (Connection db = PipelineState.database(); Statement statement = db.createStatement()) {
            statement.execute("DROP SCHEMA IF EXISTS " + SCHEMA + " CASCADE");
        }
        flyway(MigrationVersion.fromVersion("4")).migrate();
        try (Connection db = PipelineState.database(); Statement statement = db.createStatement()) {
            statement.execute("SET search_path TO " + SCHEMA);
            // Time-ordered ledger rows, as the consumer writes them, each with its review.
            statement.execute("INSERT INTO processed_events (event_id, processed_at, source_partition, source_offset)"
                    + " SELECT md5(g::text)::uuid, now() - interval '20 days' + g * interval '5 seconds', g % 6, g"
                    + " FROM generate_series(1, " + ROWS + ") g");
            statement.execute("INSERT INTO reviews (review_id, event_id, user_key, rating, text, created_at)"
                    + " SELECT 'review-' || g, md5(g::text)::uuid, 'user:' || (g % 1000), g % 5 + 1, 'text ' || g,"
                    + " now() - interval '20 days' FROM generate_series(1, " + ROWS + ") g");
            statement.execute("INSERT INTO dlq_events (source_topic, source_partition, source_offset, reason,"
                    + " first_failed_at) VALUES ('events.main', 0, 7, 'invalid_json', now())");
        }
        String before = fingerprint();

        long started = System.nanoTime();
        flyway(MigrationVersion.LATEST).migrate();
        double seconds = (System.nanoTime() - started) / 1e9;

        assertThat(flyway(MigrationVersion.LATEST).info().current().getVersion().getVersion()).isEqualTo("8");
        assertThat(fingerprint()).as("every row as it was").isEqualTo(before);
        assertThat(indexes("processed_events")).containsExactlyInAnyOrder(
                "processed_events_pkey btree", "processed_events_processed_at_brin brin",
                "processed_events_source_idx btree");
        assertThat(indexes("reviews")).containsExactly("reviews_pkey btree");
        System.out.printf("schema upgrade: V4 -> V8 over %,d ledger rows and %,d reviews in %.2f s, every row kept%n",
                ROWS, ROWS, seconds);

        try (Connection db = PipelineState.database(); Statement statement = db.createStatement()) {
            statement.execute("DROP SCHEMA " + SCHEMA + " CASCADE");
        }
    }

    /**
     * The consumer's and replay's role holds exactly what their code runs: it writes the ledger,
     * reviews and dead letters, and is refused everything else a DML role used to be able to do.
     */
    @Test
    void theApplicationsRoleHoldsOnlyWhatItsCodeRuns() throws Exception {
        PipelineState.resetDatabase();
        try (Connection app = PipelineState.databaseAsApp(); Statement statement = app.createStatement()) {
            statement.execute("INSERT INTO processed_events (event_id, source_partition, source_offset)"
                    + " VALUES ('00000000-0000-0000-0000-000000000001', 0, 1) RETURNING event_id");
            statement.execute("INSERT INTO reviews (review_id, event_id, user_key, rating, text, created_at)"
                    + " VALUES ('r-privileges', '00000000-0000-0000-0000-000000000001', 'u', 3, 't', now())");
            statement.execute("DELETE FROM processed_events WHERE processed_at < now() - interval '1 day'");
            statement.execute("SELECT count(*) FROM flyway_schema_history");
            // The receipts and the audit's findings (V8).
            statement.execute("INSERT INTO partition_receipts (topic, partition, first_offset, last_offset, landed,"
                    + " duplicates, dead_lettered) VALUES ('t', 0, 1, 1, 1, 0, 0)");
            statement.execute("DELETE FROM partition_receipts WHERE topic = 't'");
            statement.execute("INSERT INTO audit_progress (topic, partition) VALUES ('t', 0)");
            statement.execute("UPDATE audit_progress SET verified_to = 1 WHERE topic = 't'");
            for (String refused : List.of("UPDATE reviews SET rating = 1", "DELETE FROM reviews",
                    "UPDATE partition_receipts SET landed = 0", "DELETE FROM audit_progress",
                    "INSERT INTO flyway_schema_history (installed_rank, description, type, script, installed_by,"
                            + " execution_time, success) VALUES (999, 'x', 'SQL', 'x', 'x', 0, true)",
                    "UPDATE flyway_schema_history SET checksum = 0", "CREATE TEMP TABLE scratch (i int)",
                    "CREATE TABLE scratch (i int)")) {
                assertThatThrownBy(() -> statement.execute(refused)).as(refused).isInstanceOf(SQLException.class)
                        .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("42501");
            }
        } finally {
            PipelineState.execute("TRUNCATE reviews, processed_events, partition_receipts, audit_progress");
        }
    }

    private static Flyway flyway(MigrationVersion target) {
        return Flyway.configure()
                .dataSource(PipelineState.ownerDataSource())
                .schemas(SCHEMA).defaultSchema(SCHEMA).target(target)
                .locations("classpath:db/migration").placeholders(Map.of("app_role", "streamsre")).load();
    }

    /** Counts and content hashes of the three tables: any lost or altered row changes it. */
    private static String fingerprint() throws SQLException {
        try (Connection db = PipelineState.database(); Statement statement = db.createStatement();
                ResultSet result = statement.executeQuery("SELECT"
                        + " (SELECT count(*) || ':' || md5(string_agg(event_id::text || processed_at || source_offset, ','"
                        + "   ORDER BY event_id)) FROM " + SCHEMA + ".processed_events),"
                        + " (SELECT count(*) || ':' || md5(string_agg(review_id || event_id || user_key || rating || text, ','"
                        + "   ORDER BY review_id)) FROM " + SCHEMA + ".reviews),"
                        + " (SELECT count(*) FROM " + SCHEMA + ".dlq_events)")) {
            result.next();
            return result.getString(1) + " / " + result.getString(2) + " / " + result.getLong(3);
        }
    }

    private static List<String> indexes(String table) throws SQLException {
        List<String> indexes = new ArrayList<>();
        try (Connection db = PipelineState.database(); Statement statement = db.createStatement();
                ResultSet result = statement.executeQuery("SELECT i.relname, am.amname FROM pg_index x"
                        + " JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid"
                        + " JOIN pg_namespace n ON n.oid = t.relnamespace JOIN pg_am am ON am.oid = i.relam"
                        + " WHERE n.nspname = '" + SCHEMA + "' AND t.relname = '" + table + "'")) {
            while (result.next()) {
                indexes.add(result.getString(1) + " " + result.getString(2));
            }
        }
        return indexes;
    }
}
