package dev.streamsre.sink;

import io.vertx.pgclient.PgException;

/**
 * The one place that decides whether a database failure is the record's fault (permanent: DLQ at
 * once) or the dependency's (transient: retry, never DLQ). Anything not positively known to be
 * caused by the record is treated as transient: a stalled partition shows on the lag and readiness
 * alerts and heals itself, while a record wrongly dead-lettered during an outage is silent loss.
 */
public final class FailureClassifier {

    private FailureClassifier() {
    }

    /** True when retrying cannot help because this record's own data caused the failure. */
    public static boolean isPermanent(Throwable failure) {
        String sqlState = sqlState(failure);
        // Class 22: data exception (value out of range, bad encoding...). Class 23: integrity
        // constraint violation; the idempotency key never raises one (ON CONFLICT DO NOTHING).
        return sqlState != null && (sqlState.startsWith("22") || sqlState.startsWith("23"));
    }

    /** True when the failure may go away by itself: retry with backoff. */
    public static boolean isTransient(Throwable failure) {
        return !isPermanent(failure);
    }

    /** The PostgreSQL SQLSTATE of the failure or of one of its causes, or null. */
    public static String sqlState(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof PgException pg) {
                return pg.getSqlState();
            }
            if (t instanceof java.sql.SQLException sql && sql.getSQLState() != null) {
                return sql.getSQLState();
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return null;
    }
}
