package dev.streamsre.sink;

import dev.streamsre.failure.PoisonRecordException;

/** How the database ended one event of a batch: landed, recognised as a duplicate, or refused (to the DLQ). */
public sealed interface WriteResult {

    /** New event: its review and ledger row were committed. */
    WriteResult LANDED = new Landed();
    /** Seen before (ledger or reviews already hold its event_id): nothing written. */
    WriteResult DUPLICATE = new Duplicate();

    record Landed() implements WriteResult {
    }

    record Duplicate() implements WriteResult {
    }

    /** The database refused this event for a reason of its own (or kept failing on it alone): it belongs in the DLQ. */
    record Refused(PoisonRecordException reason) implements WriteResult {
    }
}
