package dev.streamsre.failure;

import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.ClosedConnectionException;
import java.io.IOException;
import java.sql.SQLException;
import java.util.Locale;
import java.util.concurrent.TimeoutException;
import org.eclipse.microprofile.faulttolerance.exceptions.CircuitBreakerOpenException;

/**
 * The one place that decides, for every failure, whether it is the record's fault (permanent: DLQ
 * at once, no retry), the dependency's (transient: retry with backoff, never DLQ), or not known
 * (unknown), and gives it a stable reason code for DLQ headers, logs and metric labels.
 *
 * <p>Only failures positively known to be a dependency's are transient, and only those are retried
 * without limit. An unknown failure is retried too, but the writer isolates the record that keeps
 * causing it and checks that PostgreSQL accepts other writes before it gives up on that record
 * ({@code max_retries_exceeded}): one record must not stop a partition forever, and an outage
 * must never turn into a DLQ flood.
 */
public final class FailureClassifier {

    /** Whether retrying can help. */
    public enum Kind {
        /** Caused by the record itself: retrying cannot help; the record goes to the DLQ. */
        PERMANENT,
        /** Caused by a dependency: retry with backoff until it heals; never DLQ. */
        TRANSIENT,
        /**
         * Neither positively the record's nor the dependency's: retried a bounded number of times
         * on the record alone, then dead-lettered only if the database accepts other writes.
         */
        UNKNOWN
    }

    /** The verdict on one failure. */
    public record Classification(Kind kind, String reasonCode) {

        public boolean isPermanent() {
            return kind == Kind.PERMANENT;
        }

        public boolean isTransient() {
            return kind == Kind.TRANSIENT;
        }
    }

    /** Permanent: the record's values break a data rule of the database (SQLSTATE class 22). */
    public static final String DB_DATA_EXCEPTION = "db_data_exception";
    /** Permanent: the record breaks a constraint other than the idempotency key (class 23). */
    public static final String DB_CONSTRAINT_VIOLATION = "db_constraint_violation";
    /** Permanent: the record exceeds a limit of the database, e.g. an index row too large (class 54). */
    public static final String DB_PROGRAM_LIMIT = "db_program_limit_exceeded";
    /** Permanent: the record kept failing with an unknown error while the database accepted other writes. */
    public static final String MAX_RETRIES_EXCEEDED = "max_retries_exceeded";
    /** Permanent: the review_id is already taken by a different event. */
    public static final String REVIEW_ID_CONFLICT = "review_id_conflict";
    /** Transient: connection refused, reset or closed; SQLSTATE class 08. */
    public static final String DB_UNAVAILABLE = "db_unavailable";
    /** Transient: the server is shutting down or restarting (57P01..57P03). */
    public static final String DB_SHUTDOWN = "db_shutdown";
    /** Transient: statement_timeout cancelled the statement (57014), or a client-side timeout. */
    public static final String DB_TIMEOUT = "db_timeout";
    /** Transient: serialization failure (40001) or deadlock (40P01); the transaction can be rerun. */
    public static final String DB_TRANSACTION_CONFLICT = "db_transaction_conflict";
    /** Transient: too many connections, out of memory or disk (class 53). */
    public static final String DB_INSUFFICIENT_RESOURCES = "db_insufficient_resources";
    /** Unknown: any other error the server reported; not positively the record's fault nor the server's. */
    public static final String DB_ERROR = "db_error";
    /** Transient: the database refused a known-good probe write too; it, not the record, is failing. */
    public static final String DB_REFUSING_WRITES = "db_refusing_writes";
    /**
     * Transient: an earlier write of the same keys was left for redelivery (at shutdown), so this one
     * is left too; not retried ({@link RetryTransientFailures}), never the record's fault.
     */
    public static final String EARLIER_WRITE_FAILED = "earlier_write_failed";
    /** Transient: the circuit breaker in front of PostgreSQL is open. */
    public static final String CIRCUIT_OPEN = "circuit_open";
    /** Unknown: a failure of unknown origin. */
    public static final String UNEXPECTED = "unexpected_error";

    private FailureClassifier() {
    }

    /** Classifies a failure (looking through its causes). */
    public static Classification classify(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String sqlState = sqlStateOf(t);
            if (sqlState != null) {
                return classifySqlState(sqlState);
            }
            if (t instanceof DatabaseRefusingWritesException) {
                return new Classification(Kind.TRANSIENT, DB_REFUSING_WRITES);
            }
            if (t instanceof EarlierWriteFailedException) {
                return new Classification(Kind.TRANSIENT, EARLIER_WRITE_FAILED);
            }
            if (t instanceof CircuitBreakerOpenException) {
                return new Classification(Kind.TRANSIENT, CIRCUIT_OPEN);
            }
            if (t instanceof TimeoutException || t instanceof java.net.SocketTimeoutException) {
                return new Classification(Kind.TRANSIENT, DB_TIMEOUT);
            }
            if (t instanceof IOException || isClosedConnection(t)) {
                return new Classification(Kind.TRANSIENT, DB_UNAVAILABLE);
            }
        }
        return new Classification(Kind.UNKNOWN, UNEXPECTED);
    }

    /** Classifies a PostgreSQL SQLSTATE (five characters, e.g. {@code 23505}). */
    public static Classification classifySqlState(String sqlState) {
        if (sqlState.startsWith("22")) {
            return new Classification(Kind.PERMANENT, DB_DATA_EXCEPTION);
        }
        if (sqlState.startsWith("23")) {
            // The idempotency key never raises one (ON CONFLICT DO NOTHING), so this is the record's.
            return new Classification(Kind.PERMANENT, DB_CONSTRAINT_VIOLATION);
        }
        if (sqlState.startsWith("54")) {
            // 54000 index row too large, 54001 statement too complex...: the record's size or shape.
            return new Classification(Kind.PERMANENT, DB_PROGRAM_LIMIT);
        }
        if (sqlState.startsWith("08")) {
            return new Classification(Kind.TRANSIENT, DB_UNAVAILABLE);
        }
        if (sqlState.equals("57014")) {
            return new Classification(Kind.TRANSIENT, DB_TIMEOUT);
        }
        if (sqlState.startsWith("57P")) {
            return new Classification(Kind.TRANSIENT, DB_SHUTDOWN);
        }
        if (sqlState.equals("40001") || sqlState.equals("40P01")) {
            return new Classification(Kind.TRANSIENT, DB_TRANSACTION_CONFLICT);
        }
        if (sqlState.startsWith("53")) {
            return new Classification(Kind.TRANSIENT, DB_INSUFFICIENT_RESOURCES);
        }
        return new Classification(Kind.UNKNOWN, DB_ERROR);
    }

    /** True when retrying cannot help because this record's own data caused the failure. */
    public static boolean isPermanent(Throwable failure) {
        return classify(failure).isPermanent();
    }

    /** True when the failure is positively a dependency's: retry with backoff, without limit. */
    public static boolean isTransient(Throwable failure) {
        return classify(failure).isTransient();
    }

    /** True when the failure is neither positively the record's nor the dependency's. */
    public static boolean isUnknown(Throwable failure) {
        return classify(failure).kind() == Kind.UNKNOWN;
    }

    /** The PostgreSQL SQLSTATE of the failure or of one of its causes, or null. */
    public static String sqlState(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String sqlState = sqlStateOf(t);
            if (sqlState != null) {
                return sqlState;
            }
        }
        return null;
    }

    private static String sqlStateOf(Throwable t) {
        if (t instanceof RedactedDatabaseException redacted) {
            return redacted.sqlState();
        }
        if (t instanceof PgException pg) {
            return pg.getSqlState();
        }
        if (t instanceof SQLException sql) {
            return sql.getSQLState();
        }
        return null;
    }

    /**
     * The Vert.x client reports a connection that went away under a query with its own exception
     * type, and a connection it could not open or a closed pool with plain VertxExceptions whose
     * message is all there is to go by.
     */
    private static boolean isClosedConnection(Throwable t) {
        if (t instanceof ClosedConnectionException) {
            return true;
        }
        String message = String.valueOf(t.getMessage()).toLowerCase(Locale.ROOT);
        return message.contains("connection is closed")
                || message.contains("connection refused") || message.contains("connection reset")
                || message.contains("pool closed") || message.contains("fail to read any response from the server");
    }
}
