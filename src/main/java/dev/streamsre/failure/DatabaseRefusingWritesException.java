package dev.streamsre.failure;

/**
 * Raised when PostgreSQL refuses a record alone and a known-good probe write as well: the database,
 * not the record, is failing, so the record is retried like an outage instead of being dead-lettered.
 * Its cause is the record's failure; the probe's is attached as suppressed, both redacted.
 */
public class DatabaseRefusingWritesException extends RuntimeException {

    public DatabaseRefusingWritesException(Throwable recordFailure, Throwable probeFailure) {
        super("PostgreSQL refuses a probe write as well as the record (" + RedactedDatabaseException.of(probeFailure)
                .getMessage() + "): treating it as an outage", RedactedDatabaseException.of(recordFailure));
        addSuppressed(RedactedDatabaseException.of(probeFailure));
    }
}
