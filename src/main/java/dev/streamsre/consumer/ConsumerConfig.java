package dev.streamsre.consumer;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;

/** Settings of consumer mode that are ours rather than the Kafka connector's. */
@ConfigMapping(prefix = "streamsre.consumer")
public interface ConsumerConfig {

    /** Consumer group id. Env: {@code KAFKA_GROUP_ID}. */
    @WithDefault("streamsre-consumer")
    String groupId();

    /**
     * Records written at once across all consumer threads: each of the connector's
     * {@code concurrency} consumers takes batches of {@code max-inflight / concurrency} records
     * ({@code max.poll.records}). Env: {@code MAX_INFLIGHT}.
     */
    @WithDefault("2000")
    int maxInflight();

    /** Record values larger than this go to the DLQ as {@code oversize}. */
    @WithDefault("262144")
    int maxEventBytes();

    /**
     * Longest {@code key}, in characters, that is accepted ({@code field_too_long} above it). At most
     * 880: the key is indexed, and a longer value may not fit a PostgreSQL B-tree index row.
     */
    @WithDefault("512")
    int maxKeyLength();

    /** Longest {@code payload.review_id}, in characters (the primary key of reviews; at most 880). */
    @WithDefault("512")
    int maxReviewIdLength();

    /** Longest {@code payload.text}, in characters. */
    @WithDefault("65536")
    int maxTextLength();

    /**
     * How many writes a record failing with an unclassified database error takes part in before
     * it is dead-lettered as {@code max_retries_exceeded}; it is dead-lettered only if PostgreSQL
     * meanwhile accepts a probe write (else the database is failing, and it is retried like an outage).
     */
    @WithDefault("5")
    int maxAttempts();

    /**
     * Caps throughput at this many events per second, e.g. to spare a shared database while
     * draining a backlog. 0 (the default) means no cap. Env: {@code CONSUMER_RATE_LIMIT}.
     */
    @WithDefault("0")
    int rateLimit();

    /**
     * PostgreSQL's {@code statement_timeout} for the consumer's connections, in PostgreSQL's syntax
     * ({@code 30s}, {@code 500ms}). A statement that runs longer is cancelled by the server and
     * retried as a transient failure.
     */
    @WithDefault("30s")
    String statementTimeout();

    /**
     * At most one WARN line per dead-letter reason this often (every dead letter is at DEBUG, and
     * all are in the DLQ topic and {@code dlq_events}). 0 logs every dead letter at WARN.
     */
    @WithDefault("10s")
    Duration deadLetterLogInterval();

    /**
     * How long the idempotency ledger remembers an event: {@code processed_events} rows older than
     * this are pruned. Must be longer than the main topic's retention (checked before each pruning
     * run); 0 keeps the ledger forever.
     */
    @WithDefault("14d")
    Duration dedupeHorizon();

    /**
     * dlq_events entries whose latest failure is older than this are deleted (on the ledger's
     * pruning schedule). 0, the default, keeps them forever.
     */
    @WithDefault("0s")
    Duration dlqRetention();

    /** How often the ledger is pruned (Quarkus scheduler syntax: 10m, 1h). */
    @WithDefault("10m")
    String ledgerPruneInterval();

    /** How often consumer_lag and consumer_lag_seconds are sampled (Quarkus scheduler syntax: 10s, 1m). */
    @WithDefault("10s")
    String lagSampleInterval();
}
