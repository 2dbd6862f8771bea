-- StreamSRE schema, version 6: replay claims a dead letter briefly instead of locking it while it sends.

-- Until when a replay run has claimed the entry (NULL: not claimed). A run claims its entries in one
-- short transaction, then sends them with no lock held, then records each outcome in a statement of
-- its own: the consumer's resolve of a landed replay never waits on a replay's lock, and a run on a
-- lost node holds nothing but claims that expire. Another run skips claimed entries until then.
ALTER TABLE dlq_events ADD COLUMN replay_claimed_until timestamptz;
