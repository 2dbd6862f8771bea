-- The write path carries only the indexes a reader needs (benchmark: our schema's own cost had
-- taken a third of the drain). Each index below was paid on every event; its reader and what serves
-- that reader now:
--
-- reviews.event_id UNIQUE: read only when a review did not land, to tell a redelivery of an event
-- the pruned ledger forgot from a review_id conflict. The review's primary key answers that: the
-- row with the event's review_id holds the event_id that created it (ReviewSink.ALREADY_APPLIED).
-- The column stays: which event created the review.
--
-- reviews_user_key_idx: no reader in StreamSRE (no query, runbook or dashboard filters reviews by
-- user). A deployment whose readers query reviews by user adds it back, on its own replica or with
-- CREATE INDEX CONCURRENTLY.
--
-- processed_events_processed_at_idx (B-tree): read only by the ledger pruner, by age. Rows arrive in
-- processed_at order, so a BRIN index (one summary per block range, kilobytes in size, almost free
-- to maintain) finds the old rows as well.
--
-- Runs in one transaction (Flyway). The BRIN build reads the ledger once; dropping the two indexes
-- and the constraint is instant, but needs a brief exclusive lock: a consumer of the previous
-- version may keep running, and if its transactions hold the tables longer than the lock timeout
-- the migration fails cleanly and can be run again.
SET LOCAL lock_timeout = '10s';

CREATE INDEX processed_events_processed_at_brin ON processed_events USING brin (processed_at);
DROP INDEX processed_events_processed_at_idx;
DROP INDEX reviews_user_key_idx;
ALTER TABLE reviews DROP CONSTRAINT reviews_event_id_key;
