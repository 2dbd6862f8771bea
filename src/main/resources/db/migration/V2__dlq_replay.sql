-- StreamSRE schema, version 2: dead letters that can be replayed and come back.

-- Where the latest DLQ copy of the record sits in the DLQ topic (for kcat), and what happened to it
-- after replays: a replayed record that fails again updates its row instead of adding one.
ALTER TABLE dlq_events
    ADD COLUMN dlq_partition             integer,
    ADD COLUMN dlq_offset                bigint,
    ADD COLUMN failure_count             integer     NOT NULL DEFAULT 1,
    ADD COLUMN last_failed_at            timestamptz,
    -- replay_count at the latest failure: makes a redelivered DLQ copy of a replay failure a no-op.
    ADD COLUMN last_failure_replay_count integer     NOT NULL DEFAULT 0;

-- Headers are stored as an array of {"key": text, "value": base64 or null}: Kafka allows repeated
-- keys and binary values, which a JSON object of strings cannot hold.
ALTER TABLE dlq_events ALTER COLUMN headers SET DEFAULT '[]'::jsonb;

-- Replay selects by time window without a reason too.
CREATE INDEX dlq_events_first_failed_at_idx ON dlq_events (first_failed_at);
