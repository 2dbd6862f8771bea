/**
 * What keeps the consumer's tables bounded, on a schedule: the ledger and the receipts forget
 * events past the dedupe horizon (never what the audit has not proved yet, dev.streamsre.audit),
 * {@code dlq_events} forgets dead letters past their retention, all in small
 * chunks so that a prune never holds locks the write path waits for.
 */
package dev.streamsre.retention;
