package dev.streamsre.consumer;

/**
 * Nack cause for a record that can never succeed (permanent failure). The connector's
 * dead-letter-queue strategy turns it into a DLQ entry; the reason code travels with it.
 */
public class PoisonRecordException extends RuntimeException {

    private final String reasonCode;

    public PoisonRecordException(String reasonCode, String detail) {
        super(reasonCode + ": " + detail, null, false, false);
        this.reasonCode = reasonCode;
    }

    public PoisonRecordException(String reasonCode, String detail, Throwable cause) {
        super(reasonCode + ": " + detail, cause, false, false);
        this.reasonCode = reasonCode;
    }

    /** Stable reason code, e.g. {@code invalid_json} or {@code review_id_conflict}. */
    public String reasonCode() {
        return reasonCode;
    }
}
