/**
 * What keeps the consumer's tables bounded, on a schedule: the ledger forgets events past the
 * dedupe horizon, {@code dlq_events} forgets dead letters past their retention, both in small
 * chunks so that a prune never holds locks the write path waits for.
 */
package dev.streamsre.retention;
