-- StreamSRE schema, version 3: a dead letter's identity survives a recreated source topic.

-- A recreated topic starts again at offset 0, so topic/partition/offset alone would make a new dead
-- letter collide with an old row and never appear in SQL. The source record's timestamp tells them
-- apart. Rows recorded before this version have none (NULL); NULLS NOT DISTINCT keeps them unique.
ALTER TABLE dlq_events ADD COLUMN source_timestamp timestamptz;
ALTER TABLE dlq_events DROP CONSTRAINT dlq_events_source_uq;
CREATE UNIQUE INDEX dlq_events_source_uq
    ON dlq_events (source_topic, source_partition, source_offset, source_timestamp) NULLS NOT DISTINCT;
