package dev.streamsre.failure;

import io.vertx.pgclient.PgException;
import java.util.regex.Pattern;

/**
 * A database failure as we report it in logs and DLQ headers: its SQLSTATE and the server's
 * message cut to the error itself. PostgreSQL's messages can quote the values of the row being
 * written ({@code invalid input syntax for type uuid: "..."}, {@code value "..." is out of range},
 * and every DETAIL line), and a row may hold personal data or a secret a producer put there; none
 * of that may reach a log line, a header or {@code dlq_events}. The original exception's class and
 * stack trace are kept (so a log line still shows where it failed); its message and causes are not.
 *
 * <p>Written by hand because neither the Vert.x client nor the JDBC driver offers a message
 * without data: PostgreSQL's {@code log_error_verbosity=terse} is a server-side log setting, not
 * what a client receives.
 */
public final class RedactedDatabaseException extends RuntimeException {

    /** Longest message we pass on; a server message is one sentence, anything longer is data. */
    static final int MAX_LENGTH = 200;
    private static final Pattern QUOTED = Pattern.compile("\"[^\"]*\"|'[^']*'");
    private static final Pattern VERTX_SUFFIX = Pattern.compile("^(ERROR|FATAL|PANIC): |\\s*\\([0-9A-Z]{5}\\)$");

    private final String originalClassName;
    private final String sqlState;

    private RedactedDatabaseException(String message, Throwable original, String sqlState) {
        super(message, null, false, true);
        this.originalClassName = original.getClass().getName();
        this.sqlState = sqlState;
        setStackTrace(original.getStackTrace());
    }

    /** The failure with its text redacted; the database's exception inside a wrapper is the one reported. */
    public static RedactedDatabaseException of(Throwable failure) {
        if (failure instanceof RedactedDatabaseException redacted) {
            return redacted;
        }
        Throwable reported = failure instanceof RefusedByDatabaseException && failure.getCause() != null
                ? failure.getCause() : failure;
        String sqlState = FailureClassifier.sqlState(reported);
        return new RedactedDatabaseException(describe(sqlState, serverMessage(reported)), reported, sqlState);
    }

    /** {@code SQLSTATE xxxxx: } and the redacted message, as it goes into a DLQ header. */
    static String describe(String sqlState, String serverMessage) {
        String message = redact(sqlState, serverMessage);
        return sqlState != null ? "SQLSTATE " + sqlState + ": " + message : message;
    }

    /**
     * Integrity (23) and syntax/access (42) errors name constraints, columns and relations only;
     * their values are in DETAIL, which is never read. Every other server message is cut at its
     * first {@code ": "} (after which PostgreSQL puts the offending input) and loses its quoted
     * parts. A failure without SQLSTATE is the client's own (a refused connection, a timeout) and
     * names hosts, not rows: its first line stays whole.
     */
    static String redact(String sqlState, String serverMessage) {
        String message = serverMessage == null ? "" : serverMessage.strip();
        boolean namesOnly = sqlState == null || sqlState.startsWith("23") || sqlState.startsWith("42");
        if (!namesOnly) {
            int colon = message.indexOf(": ");
            if (colon >= 0) {
                message = message.substring(0, colon) + ": (value withheld)";
            }
            message = QUOTED.matcher(message).replaceAll("\"…\"");
        }
        return message.length() > MAX_LENGTH ? message.substring(0, MAX_LENGTH) + "…" : message;
    }

    private static String serverMessage(Throwable failure) {
        if (failure instanceof PgException pg && pg.getErrorMessage() != null) {
            return pg.getErrorMessage();
        }
        String message = String.valueOf(failure.getMessage());
        int newline = message.indexOf('\n');
        String firstLine = newline < 0 ? message : message.substring(0, newline);
        return VERTX_SUFFIX.matcher(firstLine).replaceAll("");
    }

    /** The class of the database's exception (what the DLQ's exception-class header names). */
    public String originalClassName() {
        return originalClassName;
    }

    /** The SQLSTATE, or null when the failure was not the server's. */
    public String sqlState() {
        return sqlState;
    }

    @Override
    public String toString() {
        // Reads like the original in a log line: its class, then the redacted text.
        return originalClassName + ": " + getMessage();
    }
}
