package dev.streamsre.consumer;

import dev.streamsre.event.EventCodec;
import dev.streamsre.event.RejectReason;
import dev.streamsre.failure.FailureClassifier;
import dev.streamsre.failure.RedactedDatabaseException;

/**
 * Why a record can never succeed: what its dead letter says, as DLQ headers and in
 * {@code dlq_events}. A value, not an exception: nothing throws it, stages hand it on.
 *
 * @param reasonCode     stable reason code, e.g. {@code invalid_json} or {@code review_id_conflict}
 * @param detail         a human-readable explanation naming the field or error (never record data
 *                       beyond what the reason needs, never a secret)
 * @param failureClass   the class that judged the record: the database's exception for a refusal,
 *                       else the component that rejected it
 * @param attempts       how many times the record was tried before it was judged (1 for records
 *                       that do not decode; 2 or more for a record isolated after its batch failed)
 * @param evidence       the redacted database failure behind a refusal, for the log's stack trace; else null
 */
public record Poison(String reasonCode, String detail, String failureClass, int attempts,
        RedactedDatabaseException evidence) {

    /** Bytes the codec rejected (or a value too large to hold). */
    static Poison rejected(RejectReason reason, String detail) {
        return new Poison(reason.code(), detail, EventCodec.class.getName(), 1, null);
    }

    /** A valid event whose review_id already belongs to another event. */
    static Poison reviewIdConflict(String reviewId) {
        return new Poison(FailureClassifier.REVIEW_ID_CONFLICT,
                "review_id '" + reviewId + "' already belongs to another event", ReviewSink.class.getName(), 1, null);
    }

    /** A record PostgreSQL refused alone while it accepted a probe write: {@code reasonCode} from the failure's class. */
    static Poison refusedByDatabase(String reasonCode, String detail, RedactedDatabaseException failure, int attempts) {
        return new Poison(reasonCode, detail, failure.originalClassName(), attempts, failure);
    }

    /** The message a dead letter carries: the reason code, then the detail. */
    public String message() {
        return reasonCode + ": " + detail;
    }
}
