-- StreamSRE schema, version 8: receipts, so that every offset read can be proved accounted for.
--
-- Each write of a batch also records, in the same transaction, one receipt per partition of the
-- batch: the offsets it covered and what became of each record. Landed records are the ledger rows
-- at those offsets; duplicates, dead letters and the offsets Kafka did not deliver inside the range
-- are listed (they are few). The reconciler (dev.streamsre.audit) then checks, per partition, that
-- the receipts cover the topic up to the group's committed offset and that each claim has its row.
CREATE TABLE partition_receipts (
    id                        bigserial   PRIMARY KEY,
    topic                     text        NOT NULL,
    partition                 integer     NOT NULL,
    first_offset              bigint      NOT NULL,
    last_offset               bigint      NOT NULL,
    -- Counts, for people reading the table; the lists below are what the reconciler checks.
    landed                    integer     NOT NULL,
    duplicates                integer     NOT NULL,
    dead_lettered             integer     NOT NULL,
    duplicate_offsets         bigint[]    NOT NULL DEFAULT '{}',
    -- Dead letters of records read from the topic: each has a dlq_events row at its source offset.
    dead_letter_offsets       bigint[]    NOT NULL DEFAULT '{}',
    -- Replayed records that failed again update the entry they were replayed from (same index).
    replay_dead_letter_offsets bigint[]   NOT NULL DEFAULT '{}',
    replay_dead_letter_entries bigint[]   NOT NULL DEFAULT '{}',
    -- Offsets inside the range that Kafka did not deliver: transaction markers, aborted records,
    -- compacted ones. A range, not a list: an aborted transaction can span millions of offsets.
    skipped_offsets           int8multirange NOT NULL DEFAULT '{}',
    written_at                timestamptz NOT NULL DEFAULT now(),
    CHECK (first_offset <= last_offset)
);
CREATE INDEX partition_receipts_range_idx ON partition_receipts (topic, partition, last_offset);

-- What the reconciler found, per partition: every consumer replica exports it, and the pruners keep
-- what it has not yet proved.
CREATE TABLE audit_progress (
    topic             text        NOT NULL,
    partition         integer     NOT NULL,
    -- Receipts and ledger rows below this offset may have been pruned: audits start here.
    pruned_to         bigint      NOT NULL DEFAULT 0,
    -- Every offset below this was proved accounted for by the latest audit.
    verified_to       bigint      NOT NULL DEFAULT 0,
    -- Where the next scheduled audit's tail begins (what was read since), and its slice of the
    -- offsets proved before (the slices take turns through the window).
    tail_from         bigint      NOT NULL DEFAULT 0,
    scrub_from        bigint      NOT NULL DEFAULT 0,
    audited_from      bigint,
    committed_offset  bigint,
    unaccounted       bigint      NOT NULL DEFAULT 0,
    pending           bigint      NOT NULL DEFAULT 0,
    findings          text,
    audited_at        timestamptz,
    PRIMARY KEY (topic, partition)
);

-- The reconciler looks up ledger rows by where they were read. Paid on every write: measured in
-- docs/benchmarks.md ("Receipts").
CREATE INDEX processed_events_source_idx ON processed_events (source_partition, source_offset);

DO $$
DECLARE
    app_role text := '${app_role}';
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = app_role) THEN
        RAISE NOTICE 'role % does not exist: no table privileges granted', app_role;
        RETURN;
    END IF;
    EXECUTE format('GRANT SELECT, INSERT, DELETE ON partition_receipts TO %I', app_role);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON audit_progress TO %I', app_role);
    EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE partition_receipts_id_seq TO %I', app_role);
END $$;
