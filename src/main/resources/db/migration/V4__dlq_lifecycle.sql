-- StreamSRE schema, version 4: dead letters that are resolved, and pruned by age.

-- Set when a replayed copy of the entry landed in reviews (or was recognised as already there): the
-- entry is done, and replay does not select it again unless forced.
ALTER TABLE dlq_events ADD COLUMN resolved_at timestamptz;

-- Pruning deletes entries whose latest failure is older than streamsre.consumer.dlq-retention.
CREATE INDEX dlq_events_last_failure_idx ON dlq_events ((coalesce(last_failed_at, first_failed_at)));
