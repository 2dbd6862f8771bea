package dev.streamsre.deadletter;

import dev.streamsre.failure.CountRetries;
import dev.streamsre.failure.RetryTransientFailures;
import dev.streamsre.observability.PipelineMetrics;
import io.micrometer.core.instrument.Timer;
import io.smallrye.faulttolerance.api.AsynchronousNonBlocking;
import io.smallrye.faulttolerance.api.BeforeRetry;
import io.smallrye.faulttolerance.api.ExponentialBackoff;
import io.smallrye.faulttolerance.api.RetryWhen;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonArray;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Tuple;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.List;
import org.eclipse.microprofile.faulttolerance.Retry;

/**
 * Writes dead letters into {@code dlq_events}, idempotently: a DLQ record delivered twice is one
 * row, and a replayed record that fails again updates the row it was replayed from (its failure
 * count, latest reason) instead of adding a second one.
 */
@ApplicationScoped
public class DeadLetterStore {

    /**
     * Either updates the row the record was replayed from (once per replay round: a redelivered
     * copy of the same failure matches no row), or inserts a new row keyed by the failed record's
     * source coordinates and timestamp ({@code ON CONFLICT DO NOTHING}).
     *
     * <p>A replay header is only a claim: anyone who can produce can write one. The row it names is
     * touched only if it holds the very same key and bytes (a replay republishes them unchanged);
     * otherwise the record is recorded as a dead letter of its own (never replayed), and no other
     * entry changes.
     */
    static final String RECORD = """
            WITH replayed AS (
                UPDATE dlq_events
                   SET reason = $10, error_message = $11, exception_class = $12, attempts = attempts + $13,
                       failure_count = failure_count + 1, last_failed_at = $14,
                       last_failure_replay_count = $16, dlq_partition = $4, dlq_offset = $5
                 WHERE id = $15::bigint AND last_failure_replay_count < $16::int
                   AND record_key IS NOT DISTINCT FROM $7::bytea AND payload IS NOT DISTINCT FROM $8::bytea
                RETURNING id
            )
            INSERT INTO dlq_events (source_topic, source_partition, source_offset, source_timestamp, dlq_partition,
                                    dlq_offset, event_id, record_key, payload, headers, reason, error_message,
                                    exception_class, attempts, first_failed_at, last_failed_at, replay_count,
                                    last_failure_replay_count)
            SELECT $1::text, $2::int, $3::bigint, $17::timestamptz, $4::int, $5::bigint, $6::uuid, $7::bytea, $8::bytea,
                   $9::jsonb, $10::text, $11::text, $12::text, $13::int, $14::timestamptz, $14::timestamptz,
                   -- a new entry: a replay claim that matched no entry does not make it a replay
                   0, 0
             WHERE $15::bigint IS NULL OR NOT EXISTS (
                       SELECT 1 FROM dlq_events WHERE id = $15::bigint
                          AND record_key IS NOT DISTINCT FROM $7::bytea AND payload IS NOT DISTINCT FROM $8::bytea)
            ON CONFLICT (source_topic, source_partition, source_offset, source_timestamp) DO NOTHING""";

    /**
     * Marks an entry resolved once its replayed copy landed. Like the recorder's update, it trusts
     * the replay header only if the entry holds the same key and bytes.
     */
    static final String RESOLVE = """
            UPDATE dlq_events SET resolved_at = coalesce(resolved_at, now()), parked = false
             WHERE id = $1 AND record_key IS NOT DISTINCT FROM $2::bytea AND payload IS NOT DISTINCT FROM $3::bytea""";

    /** Looked up on first use: in producer mode the datasource is deactivated (see ReviewSink). */
    private final Instance<Pool> pools;
    private final Timer recordTimer;
    private final Timer resolveTimer;

    DeadLetterStore(Instance<Pool> pools, PipelineMetrics metrics) {
        this.pools = pools;
        this.recordTimer = metrics.query("record_dlq");
        this.resolveTimer = metrics.query("resolve_dlq");
    }

    /** A replayed record that landed: the entry it was replayed from, and the record's key and bytes. */
    public record Landed(long entryId, byte[] key, byte[] payload) {
    }

    /** Marks the entries whose replayed records landed as resolved; transient failures are retried. */
    @Retry(maxRetries = -1, delay = 100, maxDuration = 0, jitter = 50)
    @ExponentialBackoff(factor = 2, maxDelay = 5_000)
    @RetryWhen(exception = RetryTransientFailures.class)
    @BeforeRetry(CountRetries.class)
    @AsynchronousNonBlocking
    public Uni<Void> resolve(List<Landed> landed) {
        if (landed.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        List<Tuple> rows = landed.stream().map(entry -> {
            Tuple row = Tuple.tuple().addLong(entry.entryId());
            addBytes(row, entry.key());
            addBytes(row, entry.payload());
            return row;
        }).toList();
        return PipelineMetrics.timed(resolveTimer, () -> pools.get().preparedQuery(RESOLVE).executeBatch(rows))
                .replaceWithVoid();
    }

    /**
     * Stores the dead letters in one transaction (one commit, one fsync, however many letters a DLQ
     * poll brought); transient database failures are retried like the review writes.
     */
    @Retry(maxRetries = -1, delay = 100, maxDuration = 0, jitter = 50)
    @ExponentialBackoff(factor = 2, maxDelay = 5_000)
    @RetryWhen(exception = RetryTransientFailures.class)
    @BeforeRetry(CountRetries.class)
    @AsynchronousNonBlocking
    public Uni<Void> record(List<DeadLetter> letters) {
        if (letters.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        List<Tuple> rows = letters.stream().map(DeadLetterStore::arguments).toList();
        return pools.get().withTransaction(connection -> PipelineMetrics.timed(recordTimer,
                () -> connection.preparedQuery(RECORD).executeBatch(rows))).replaceWithVoid();
    }

    private static Tuple arguments(DeadLetter letter) {
        Tuple arguments = Tuple.tuple();
        arguments.addString(letter.sourceTopic());
        arguments.addInteger(letter.sourcePartition());
        arguments.addLong(letter.sourceOffset());
        arguments.addInteger(letter.dlqPartition());
        arguments.addLong(letter.dlqOffset());
        arguments.addUUID(letter.eventId());
        addBytes(arguments, letter.key());
        addBytes(arguments, letter.payload());
        arguments.addJsonArray(headersJson(letter.originalHeaders()));
        arguments.addString(text(letter.reason()));
        arguments.addString(text(letter.errorMessage()));
        arguments.addString(text(letter.exceptionClass()));
        arguments.addInteger(letter.attempts());
        arguments.addOffsetDateTime(letter.failedAt().atOffset(ZoneOffset.UTC));
        arguments.addLong(letter.replayOf());
        arguments.addInteger(letter.replayCount());
        arguments.addOffsetDateTime(letter.sourceTimestamp() == null ? null : letter.sourceTimestamp().atOffset(ZoneOffset.UTC));
        return arguments;
    }

    /** bytea: null stays null (a tombstone is not an empty value), bytes are kept exactly. */
    private static void addBytes(Tuple arguments, byte[] bytes) {
        if (bytes == null) {
            arguments.addValue(null);
        } else {
            arguments.addBuffer(Buffer.buffer(bytes));
        }
    }

    /**
     * Headers as a JSON array of {"key", "value" (base64, or null)}, in their original order.
     * jsonb cannot hold a NUL character, which a header key may: such a key is stored with NUL as
     * U+FFFD, and exactly as {@code key_base64} beside it.
     */
    static JsonArray headersJson(List<DeadLetter.StoredHeader> headers) {
        JsonArray array = new JsonArray();
        for (DeadLetter.StoredHeader header : headers) {
            String key = header.key() == null ? "" : header.key();
            JsonObject stored = new JsonObject().put("key", text(key))
                    .put("value", header.value() == null ? null : Base64.getEncoder().encodeToString(header.value()));
            if (key.indexOf('\u0000') >= 0) {
                stored.put("key_base64", Base64.getEncoder().encodeToString(key.getBytes(StandardCharsets.UTF_8)));
            }
            array.add(stored);
        }
        return array;
    }

    /** PostgreSQL text cannot hold NUL characters, which a garbage payload's error detail may quote. */
    private static String text(String value) {
        return value == null ? null : value.replace('\u0000', '\uFFFD');
    }
}
