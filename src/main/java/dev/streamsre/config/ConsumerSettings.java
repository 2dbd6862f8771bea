package dev.streamsre.config;

import dev.streamsre.event.EventLimits;
import io.smallrye.config.WithDefault;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.Pattern;
import java.time.Duration;
import java.util.Optional;
import org.hibernate.validator.constraints.time.DurationMin;

/**
 * {@code streamsre.consumer}, the group of {@link StreamSreConfig} for consumer mode: the settings
 * that are ours rather than the Kafka connector's. Each range is a
 * Bean Validation constraint, checked by Quarkus at start: a bad value fails the start with
 * the property's name and the constraint's message, before any Kafka consumer connects.
 */
public interface ConsumerSettings {

    /** Why an indexed length is capped: a PostgreSQL B-tree index row holds at most 2,704 bytes. */
    String INDEXED_RANGE = "must be between 1 and " + EventLimits.MAX_INDEXED_LENGTH
            + " (the column is indexed, and a PostgreSQL B-tree index row holds at most 2,704 bytes), got ${validatedValue}";

    /** Consumer group id. Env: {@code KAFKA_GROUP_ID}; default in application.properties. */
    String groupId();

    /**
     * Static group membership: this process's stable identity in the group (in Kubernetes, the
     * StatefulSet pod's name). Each of its Kafka consumers joins with this id and its channel as
     * {@code group.instance.id}, so a restart within {@code session.timeout.ms} hands the same
     * partitions back without a rebalance, and the rest of the group never stops. Unset (the
     * default): dynamic membership. Env: {@code STREAMSRE_CONSUMER_GROUP_INSTANCE_ID}.
     */
    Optional<@Pattern(regexp = "[a-zA-Z0-9._-]{1,200}",
            message = "must be 1 to 200 characters of a-z, A-Z, 0-9, '.', '_' and '-' (a pod name is), got ${validatedValue}")
            String> groupInstanceId();

    /**
     * Records the consumer holds and has not settled (being written, or read ahead and waiting for
     * their turn), across all its Kafka consumers. Each of the connector's {@code concurrency}
     * consumers takes batches of {@code max-inflight / (2 x concurrency)} records
     * ({@code max.poll.records}): one batch being written and the next one ready. Env: {@code MAX_INFLIGHT}.
     * 3,000 (batches of 750) drained 4-17 % faster than 2,000 and cost PostgreSQL less per event (fewer
     * transactions); 4,000 overflowed the survivor spaces at {@code -Xmx144m} (docs/benchmarks.md).
     */
    @Min(value = 1, message = "must be at least 1, got ${validatedValue}")
    @WithDefault("3000")
    int maxInflight();

    /**
     * Transactions the consumer runs at once, whatever the partitions its Kafka consumers hold: a
     * batch's records are written on up to this many connections, each key's events in offset order
     * (dev.streamsre.consumer.KeyOrderedWriteScheduler). The database pool has two connections more,
     * for the dead-letter recorder and the probes. Env: {@code STREAMSRE_CONSUMER_WRITE_CONCURRENCY}.
     */
    @Min(value = 1, message = "must be at least 1, got ${validatedValue}")
    @Max(value = 64, message = "must be at most 64 (each is a database connection), got ${validatedValue}")
    @WithDefault("2")
    int writeConcurrency();

    /**
     * Whether each write records its batch's receipts (dev.streamsre.consumer.PartitionReceipt),
     * which the reconciler needs to prove every offset accounted for. Off only to measure what
     * they cost (bin/benchmark): the audit then reports every offset read as unaccounted.
     */
    @WithDefault("true")
    boolean receipts();

    /** Record values larger than this go to the DLQ as {@code oversize}. */
    @Min(value = 1, message = "must be positive, got ${validatedValue}")
    @WithDefault("262144")
    int maxEventBytes();

    /**
     * Largest record value, in bytes once decompressed, the consumer holds in memory. A larger one
     * is not copied (dev.streamsre.kafka.BoundedValueDeserializer): it is dead-lettered once as
     * {@code oversize}, without its bytes. Values between max-event-bytes and this are dead-lettered
     * with their bytes (the DLQ topic's default max.message.bytes is 1 MiB).
     */
    @Min(value = 1, message = "must be positive, got ${validatedValue}")
    @WithDefault("1048576")
    int maxHeldValueBytes();

    /**
     * Bytes of record values one poll may hold: a poll that reaches it ends early, and the rest
     * comes with the next poll (the first record of a poll is always taken). Each Kafka consumer
     * holds at most about three polls (the batch being written and the connector's queue of two),
     * so with two consumers and the DLQ recorder the values held stay under about
     * 9 x (max-poll-bytes + max-held-value-bytes), 45 MiB by default, whatever producers send.
     */
    @Min(value = 1, message = "must be positive, got ${validatedValue}")
    @WithDefault("4194304")
    long maxPollBytes();

    /**
     * Longest {@code key}, in characters, that is accepted ({@code field_too_long} above it). At most
     * 880, so that reviews.user_key stays indexable: our schema has no index on it since V5, but a
     * deployment whose readers query by user adds one, and a longer value may not fit a B-tree row.
     */
    @Min(value = 1, message = INDEXED_RANGE) @Max(value = EventLimits.MAX_INDEXED_LENGTH, message = INDEXED_RANGE)
    @WithDefault("512")
    int maxKeyLength();

    /** Longest {@code payload.review_id}, in characters (the primary key of reviews; at most 880). */
    @Min(value = 1, message = INDEXED_RANGE) @Max(value = EventLimits.MAX_INDEXED_LENGTH, message = INDEXED_RANGE)
    @WithDefault("512")
    int maxReviewIdLength();

    /** Longest {@code payload.text}, in characters. */
    @Min(value = 1, message = "must be positive, got ${validatedValue}")
    @WithDefault("65536")
    int maxTextLength();

    /**
     * How many writes a record failing with an unclassified database error takes part in before
     * it is dead-lettered as {@code max_retries_exceeded}; it is dead-lettered only if PostgreSQL
     * meanwhile accepts a probe write (else the database is failing, and it is retried like an outage).
     */
    @Min(value = 1, message = "must be at least 1, got ${validatedValue}")
    @WithDefault("5")
    int maxAttempts();

    /**
     * Caps throughput at this many events per second, e.g. to spare a shared database while
     * draining a backlog. 0 (the default) means no cap. Env: {@code CONSUMER_RATE_LIMIT}; default in
     * application.properties.
     */
    @Min(value = 0, message = "must be 0 (no limit) or a positive number of events per second, got ${validatedValue}")
    int rateLimit();

    /**
     * PostgreSQL's {@code statement_timeout} for the consumer's connections, a duration like every
     * other ({@code 30s}, {@code 500ms}, {@code 2m}); 0 disables it. It reaches PostgreSQL as
     * milliseconds (dev.streamsre.config.DerivedConsumerSettings), a form the server always parses:
     * PostgreSQL has no unit {@code m}, and a value it cannot parse fails every connection. A
     * statement that runs longer is cancelled by the server and retried as a transient failure.
     */
    @DurationMin(millis = 0, message = "must be 0 (no timeout) or a positive duration such as 30s or 2m, got ${validatedValue}")
    @WithDefault("30s")
    Duration statementTimeout();

    /**
     * At most one WARN line per dead-letter reason this often (every dead letter is at DEBUG, and
     * all are in the DLQ topic and {@code dlq_events}). 0 logs every dead letter at WARN.
     */
    @DurationMin(millis = 0, message = "must be 0 (log every dead letter) or a positive duration, got ${validatedValue}")
    @WithDefault("10s")
    Duration deadLetterLogInterval();

    /**
     * How long the idempotency ledger remembers an event: {@code processed_events} rows older than
     * this are pruned. Must be longer than the main topic's retention (checked before each pruning
     * run); 0 keeps the ledger forever.
     */
    @DurationMin(millis = 0, message = "must be 0 (keep the ledger forever) or a positive duration longer than the topic's retention, got ${validatedValue}")
    @WithDefault("14d")
    Duration dedupeHorizon();

    /**
     * dlq_events entries whose latest failure is older than this are deleted (on the ledger's
     * pruning schedule). 0, the default, keeps them forever.
     */
    @DurationMin(millis = 0, message = "must be 0 (keep dead letters forever) or a positive duration, got ${validatedValue}")
    @WithDefault("0s")
    Duration dlqRetention();

    /** How often the ledger is pruned (Quarkus scheduler syntax: 10m, 1h). */
    @WithDefault("10m")
    String ledgerPruneInterval();

    /**
     * The freshness SLO's threshold: an event that lands in PostgreSQL later than this after its
     * {@code ts} counts in {@code events_late_total}. The objective (the share that must be fresh)
     * is Prometheus' {@code slo:objective:ratio{slo="freshness"}} (prometheus/rules/streamsre-slo.yml).
     */
    @DurationMin(millis = 1, message = "must be a positive duration, got ${validatedValue}")
    @WithDefault("5s")
    Duration freshnessThreshold();

    /**
     * Synthetic events the consumer decodes and writes, in transactions it rolls back, before it
     * starts polling Kafka, so that the first real records meet a loaded, compiled processing path
     * and open, prepared database connections. 0 turns the warm-up off.
     */
    @Min(value = 0, message = "must be 0 (no warm-up) or a positive number of events, got ${validatedValue}")
    @Max(value = 100_000, message = "must be at most 100000 (a warm-up delays the start), got ${validatedValue}")
    @WithDefault("4000")
    int warmUpEvents();

    /** How often consumer_lag and consumer_lag_seconds are sampled (Quarkus scheduler syntax: 10s, 1m). */
    @WithDefault("10s")
    String lagSampleInterval();
}
