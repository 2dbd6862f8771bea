package dev.streamsre.replay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamsre.config.InvalidConfigurationException;
import dev.streamsre.config.ReplaySettings;
import dev.streamsre.deadletter.DeadLetterHeaders;
import dev.streamsre.it.PipelineState;
import dev.streamsre.it.TestInfrastructure;
import dev.streamsre.kafka.KafkaClients;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Replay's selection and bookkeeping, inside the test JVM against the real PostgreSQL and broker
 * (no process start per case): which {@code dlq_events} rows a run takes, in which order, what it
 * publishes, and what it writes back. That a replayed record lands, fails again onto its own row,
 * or is recognised as a duplicate takes the consumer too: FailureHandlingIT.
 */
class DlqReplayerIT {

    private static final Instant NINE = Instant.parse("2026-11-25T09:00:00Z");
    private static final String TRACE = Base64.getEncoder().encodeToString("trace-7".getBytes(StandardCharsets.UTF_8));

    private final String topic = TestInfrastructure.createTopic("it-replay", 1);
    private long nextOffset;

    /** The selection a run takes, as replay mode's settings would give it. */
    record Selection(Optional<List<String>> reasons, Optional<Instant> since, Optional<Instant> until,
            Optional<List<Long>> ids, int limit, boolean dryRun, int maxReplays, boolean force) implements ReplaySettings {

        /** The defaults of ReplaySettings: no filter, 100 entries, 3 replays, not forced. */
        static Selection all() {
            return new Selection(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), 100, false, 3, false);
        }

        Selection reasons(String... reasons) {
            return new Selection(Optional.of(List.of(reasons)), since, until, ids, limit, dryRun, maxReplays, force);
        }

        Selection between(Instant since, Instant until) {
            return new Selection(reasons, Optional.of(since), Optional.of(until), ids, limit, dryRun, maxReplays, force);
        }

        Selection limit(int limit) {
            return new Selection(reasons, since, until, ids, limit, dryRun, maxReplays, force);
        }

        Selection asDryRun() {
            return new Selection(reasons, since, until, ids, limit, true, maxReplays, force);
        }

        Selection forced() {
            return new Selection(reasons, since, until, ids, limit, dryRun, maxReplays, true);
        }
    }

    @BeforeEach
    void emptyTables() {
        PipelineState.resetDatabase();
    }

    @Test
    void aRunReplaysTheOldestSelectedEntriesWithTheirOwnBytesAndHeadersAndNamesTheirRow() {
        long oldest = deadLetter("invalid_json", NINE.plusSeconds(60), "");
        long second = deadLetter("invalid_json", NINE.plusSeconds(120), "");
        deadLetter("review_id_conflict", NINE.plusSeconds(90), "");
        deadLetter("invalid_json", NINE.plusSeconds(600), "");

        int exit = replayer(Selection.all().reasons("invalid_json").between(NINE, NINE.plusSeconds(600)).limit(1)).run();

        assertThat(exit).isZero();
        List<ConsumerRecord<byte[], byte[]>> published = TestInfrastructure.readAllRaw(topic);
        assertThat(published).as("one entry: the oldest of the reason, inside the window").hasSize(1);
        ConsumerRecord<byte[], byte[]> replayed = published.get(0);
        assertThat(new String(replayed.key(), StandardCharsets.UTF_8)).isEqualTo("key-" + offsetOf(oldest));
        assertThat(new String(replayed.value(), StandardCharsets.UTF_8)).isEqualTo("value-" + offsetOf(oldest));
        assertThat(DeadLetterHeaders.text(replayed.headers(), "trace")).isEqualTo("trace-7");
        assertThat(DeadLetterHeaders.text(replayed.headers(), DeadLetterHeaders.REPLAY_OF)).isEqualTo(String.valueOf(oldest));
        assertThat(DeadLetterHeaders.text(replayed.headers(), DeadLetterHeaders.REPLAY_COUNT)).isEqualTo("1");
        assertThat(PipelineState.count("SELECT count(*) FROM dlq_events WHERE replay_count = 1 AND last_replayed_at IS NOT NULL"
                + " AND replay_claimed_until IS NULL AND id = " + oldest)).as("the replay recorded, its claim released").isEqualTo(1);
        assertThat(PipelineState.count("SELECT sum(replay_count) FROM dlq_events")).as("nothing else replayed").isEqualTo(1);

        replayer(Selection.all().reasons("invalid_json").between(NINE, NINE.plusSeconds(600)).limit(1)).run();
        assertThat(PipelineState.count("SELECT replay_count FROM dlq_events WHERE id = " + oldest))
                .as("an entry replayed without success is selected again, oldest first").isEqualTo(2);
        assertThat(PipelineState.count("SELECT replay_count FROM dlq_events WHERE id = " + second)).isZero();
    }

    @Test
    void parkedAndResolvedEntriesAndThosePastMaxReplaysAreLeftAloneUnlessForced() {
        long parked = deadLetter("invalid_json", NINE, ", parked = true");
        long resolved = deadLetter("invalid_json", NINE.plusSeconds(1), ", resolved_at = now()");
        long exhausted = deadLetter("invalid_json", NINE.plusSeconds(2), ", replay_count = 3");
        long fresh = deadLetter("invalid_json", NINE.plusSeconds(3), "");

        assertThat(replayer(Selection.all()).run()).isZero();

        assertThat(replayOfs()).as("published").containsExactly(fresh);
        assertThat(PipelineState.count("SELECT count(*) FROM dlq_events WHERE parked AND id = " + exhausted))
                .as("past max-replays: parked now, not sent").isEqualTo(1);
        assertThat(PipelineState.count("SELECT replay_count FROM dlq_events WHERE id = " + parked)).isZero();
        assertThat(PipelineState.count("SELECT replay_count FROM dlq_events WHERE id = " + resolved)).isZero();

        assertThat(replayer(Selection.all().forced()).run()).isZero();

        assertThat(replayOfs()).as("published, forced").containsExactly(fresh, parked, resolved, exhausted, fresh);
        assertThat(PipelineState.count("SELECT count(*) FROM dlq_events WHERE parked")).as("a replay unparks").isZero();
    }

    @Test
    void entriesAnotherRunHoldsOrHasClaimedAreSkipped() throws Exception {
        long held = deadLetter("invalid_json", NINE, "");
        deadLetter("invalid_json", NINE.plusSeconds(1), ", replay_claimed_until = now() + interval '5 minutes'");
        long free = deadLetter("invalid_json", NINE.plusSeconds(2), "");
        long expired = deadLetter("invalid_json", NINE.plusSeconds(3), ", replay_claimed_until = now() - interval '1 second'");

        try (Connection other = PipelineState.database(); Statement lock = other.createStatement()) {
            other.setAutoCommit(false);
            lock.executeQuery("SELECT id FROM dlq_events WHERE id = " + held + " FOR UPDATE").close();
            assertThat(replayer(Selection.all()).run()).isZero();
            other.rollback();
        }

        assertThat(replayOfs()).as("published: neither the row another run holds nor the one it claimed")
                .containsExactly(free, expired);
    }

    @Test
    void aDryRunChangesNothingAndPublishesNothing() {
        deadLetter("invalid_json", NINE, "");
        deadLetter("invalid_json", NINE.plusSeconds(1), ", replay_count = 3");

        assertThat(replayer(Selection.all().asDryRun()).run()).isZero();

        assertThat(TestInfrastructure.readAllRaw(topic)).isEmpty();
        assertThat(PipelineState.count("SELECT count(*) FROM dlq_events WHERE replay_count = 0 AND NOT parked"
                + " AND replay_claimed_until IS NULL")).isEqualTo(1);
        assertThat(PipelineState.count("SELECT count(*) FROM dlq_events WHERE parked")).as("not even parked").isZero();
    }

    @Test
    void anEntryWhoseHeadersCannotBeReadBackIsParkedAndTheEntriesBehindItAreReplayed() {
        long unreadable = deadLetter("invalid_json", NINE, "");
        PipelineState.execute("UPDATE dlq_events SET headers = '[{\"key\":\"trace\",\"value\":\"not base64!\"}]' WHERE id = " + unreadable);
        long behind = deadLetter("invalid_json", NINE.plusSeconds(1), "");

        assertThat(replayer(Selection.all()).run()).isZero();

        assertThat(replayOfs()).containsExactly(behind);
        assertThat(PipelineState.count("SELECT count(*) FROM dlq_events WHERE parked AND replay_count = 0 AND id = " + unreadable))
                .isEqualTo(1);
    }

    @Test
    void aWindowThatEndsBeforeItStartsIsRefusedNamingBothSettings() {
        deadLetter("invalid_json", NINE, "");

        assertThatThrownBy(() -> replayer(Selection.all().between(NINE, NINE)).run())
                .isInstanceOf(InvalidConfigurationException.class)
                .hasMessageContaining("streamsre.replay.since must be before streamsre.replay.until");
        assertThat(TestInfrastructure.readAllRaw(topic)).isEmpty();
    }

    private DlqReplayer replayer(Selection selection) {
        DataSource dataSource = PipelineState.appDataSource();
        KafkaClients clients = new KafkaClients(
                Map.of(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, TestInfrastructure.bootstrapServers()));
        return new DlqReplayer(selection, () -> dataSource, clients, topic);
    }

    /**
     * A dead letter as the recorder stores one (key "key-N", value "value-N", a "trace" header),
     * first failed at {@code firstFailed}, with {@code set} applied on top; returns its id.
     */
    private long deadLetter(String reason, Instant firstFailed, String set) {
        long offset = nextOffset++;
        long id = PipelineState.count("INSERT INTO dlq_events (source_topic, source_partition, source_offset, record_key,"
                + " payload, headers, reason, first_failed_at) VALUES ('it-replay-source', 0, " + offset
                + ", convert_to('key-" + offset + "', 'UTF8'), convert_to('value-" + offset + "', 'UTF8'),"
                + " '[{\"key\":\"trace\",\"value\":\"" + TRACE + "\"}]', '" + reason + "', '" + firstFailed + "') RETURNING id");
        if (!set.isEmpty()) {
            PipelineState.execute("UPDATE dlq_events SET " + set.substring(2) + " WHERE id = " + id);
        }
        return id;
    }

    private static long offsetOf(long id) {
        return PipelineState.count("SELECT source_offset FROM dlq_events WHERE id = " + id);
    }

    /** The dlq_events ids the published records name, in the order they were published. */
    private List<Long> replayOfs() {
        return TestInfrastructure.readAllRaw(topic).stream()
                .map(record -> Long.parseLong(DeadLetterHeaders.text(record.headers(), DeadLetterHeaders.REPLAY_OF)))
                .toList();
    }
}
