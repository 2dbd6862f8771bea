-- StreamSRE schema, version 1.
-- Starts from the spec's three tables and fixes what does not survive real input (see DESIGN.md).

-- The idempotency ledger: one row per event whose effect is in the database. Written in the same
-- transaction as the review, so "in the ledger" and "applied" can never disagree.
CREATE TABLE processed_events (
    event_id         uuid        PRIMARY KEY,
    processed_at     timestamptz NOT NULL DEFAULT now(),
    -- Where the event was read from: answers "which record produced this?" during an incident.
    source_partition integer     NOT NULL,
    source_offset    bigint      NOT NULL
);
-- Pruning deletes by age (the dedupe horizon, which must exceed the topic's retention).
CREATE INDEX processed_events_processed_at_idx ON processed_events (processed_at);

-- The sink: one row per review.
CREATE TABLE reviews (
    review_id   text        PRIMARY KEY,
    -- The event that created the review. Unique, so a redelivery the ledger no longer remembers
    -- (pruned past the horizon) is still recognised as the same event rather than a conflict.
    event_id    uuid        NOT NULL UNIQUE,
    user_key    text        NOT NULL,
    rating      smallint    NOT NULL CHECK (rating BETWEEN 1 AND 5),
    text        text        NOT NULL,
    -- The event's own timestamp (ts), when the review was written by the user.
    created_at  timestamptz NOT NULL,
    -- When the row was committed here; created_at -> ingested_at is the end-to-end latency.
    ingested_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX reviews_user_key_idx ON reviews (user_key);

-- Dead letters, queryable in SQL. A poison record may have no event id and no valid JSON (or no
-- value at all), so a row is identified by where the record came from, and keeps the raw bytes.
CREATE TABLE dlq_events (
    id               bigserial   PRIMARY KEY,
    source_topic     text        NOT NULL,
    source_partition integer     NOT NULL,
    source_offset    bigint      NOT NULL,
    event_id         uuid,
    record_key       bytea,
    payload          bytea,
    headers          jsonb       NOT NULL DEFAULT '{}'::jsonb,
    reason           text        NOT NULL,
    error_message    text,
    exception_class  text,
    attempts         integer     NOT NULL DEFAULT 1,
    first_failed_at  timestamptz NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    replay_count     integer     NOT NULL DEFAULT 0,
    last_replayed_at timestamptz,
    parked           boolean     NOT NULL DEFAULT false,
    -- A redelivered DLQ record is the same dead letter, not a second one.
    CONSTRAINT dlq_events_source_uq UNIQUE (source_topic, source_partition, source_offset)
);
CREATE INDEX dlq_events_reason_idx ON dlq_events (reason, first_failed_at);
CREATE INDEX dlq_events_event_id_idx ON dlq_events (event_id) WHERE event_id IS NOT NULL;
