package dev.streamsre.failure;

/**
 * Why a record can never succeed (a permanent failure, or one that kept failing while the
 * database accepted other writes): what its DLQ entry says, as headers and in {@code dlq_events}.
 */
public class PoisonRecordException extends RuntimeException {

    private final String reasonCode;
    private final int attempts;

    public PoisonRecordException(String reasonCode, String detail) {
        this(reasonCode, detail, null, 1);
    }

    /**
     * @param attempts how many times the record was tried before it was judged poison (1 for
     *                 records that do not decode; 2 for a record isolated after its batch failed)
     */
    public PoisonRecordException(String reasonCode, String detail, Throwable cause, int attempts) {
        super(reasonCode + ": " + detail, cause, false, false);
        this.reasonCode = reasonCode;
        this.attempts = attempts;
    }

    /** Stable reason code, e.g. {@code invalid_json} or {@code review_id_conflict}. */
    public String reasonCode() {
        return reasonCode;
    }

    /** Processing attempts this record had before it was dead-lettered. */
    public int attempts() {
        return attempts;
    }

    /** The class of the failure that condemned the record: the database's exception, if any. */
    public String failureClassName() {
        if (getCause() instanceof RedactedDatabaseException redacted) {
            return redacted.originalClassName();
        }
        return getCause() != null ? getCause().getClass().getName() : getClass().getName();
    }
}
