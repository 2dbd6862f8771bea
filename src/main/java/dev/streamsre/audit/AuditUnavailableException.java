package dev.streamsre.audit;

/** Kafka could not be asked for the offsets an audit needs: nothing was audited. */
public class AuditUnavailableException extends Exception {
    AuditUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
