package dev.streamsre.failure;

/**
 * A write the database refused for a reason that is not positively its own fault (a permanent or
 * an unknown failure, see {@link FailureClassifier}). It wraps the database's exception so that
 * the circuit breaker can skip it: a record's data alone must never open the circuit and make the
 * consumer not-ready. The classifier sees through it to the SQLSTATE of its cause.
 */
public class RefusedByDatabaseException extends RuntimeException {

    public RefusedByDatabaseException(Throwable cause) {
        // Its message is the redacted one: this exception travels through the fault-tolerance layer and may be logged.
        super(RedactedDatabaseException.of(cause).getMessage(), cause, false, false);
    }
}
