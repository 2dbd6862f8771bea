package dev.streamsre.sink;

import dev.streamsre.event.Event;

/**
 * A decoded event waiting to be written, with the Kafka position it came from (kept in the ledger
 * for incident forensics).
 */
public record PendingEvent(Event event, int partition, long offset) {
}
