package dev.streamsre.failure;

/**
 * Raised when a record fails with an unknown error and a known-good probe write fails as well:
 * the database, not the record, is failing, so the record is retried like an outage instead of
 * being dead-lettered.
 */
public class DatabaseRefusingWritesException extends RuntimeException {

    public DatabaseRefusingWritesException(Throwable recordFailure) {
        super("PostgreSQL refuses a probe write as well as the record: treating it as an outage", recordFailure);
    }
}
