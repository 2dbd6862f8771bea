package dev.streamsre.failure;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamsre.failure.FailureClassifier.Classification;
import dev.streamsre.failure.FailureClassifier.Kind;
import io.vertx.core.VertxException;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.ClosedConnectionException;
import java.io.IOException;
import java.net.ConnectException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import org.eclipse.microprofile.faulttolerance.exceptions.CircuitBreakerOpenException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.postgresql.util.PSQLException;
import org.postgresql.util.PSQLState;

class FailureClassifierTest {

    /** PostgreSQL's own SQLSTATEs (Appendix A of its manual), as the reactive client reports them. */
    @ParameterizedTest(name = "{0} {1} -> {2} {3}")
    @CsvSource({
            "22P02, invalid_text_representation,     PERMANENT, db_data_exception",
            "22003, numeric_value_out_of_range,      PERMANENT, db_data_exception",
            "22021, character_not_in_repertoire,     PERMANENT, db_data_exception",
            "23505, unique_violation,                PERMANENT, db_constraint_violation",
            "23514, check_violation,                 PERMANENT, db_constraint_violation",
            "23502, not_null_violation,              PERMANENT, db_constraint_violation",
            "08006, connection_failure,              TRANSIENT, db_unavailable",
            "08001, sqlclient_unable_to_establish,   TRANSIENT, db_unavailable",
            "57P01, admin_shutdown,                  TRANSIENT, db_shutdown",
            "57P03, cannot_connect_now,              TRANSIENT, db_shutdown",
            "57014, query_canceled,                  TRANSIENT, db_timeout",
            "40001, serialization_failure,           TRANSIENT, db_transaction_conflict",
            "40P01, deadlock_detected,               TRANSIENT, db_transaction_conflict",
            "53300, too_many_connections,            TRANSIENT, db_insufficient_resources",
            "53100, disk_full,                       TRANSIENT, db_insufficient_resources",
            "54000, program_limit_exceeded,          PERMANENT, db_program_limit_exceeded",
            "54001, statement_too_complex,           PERMANENT, db_program_limit_exceeded",
            "42P01, undefined_table,                 UNKNOWN,   db_error",
            "P0001, raise_exception,                 UNKNOWN,   db_error",
            "XX000, internal_error,                  UNKNOWN,   db_error"})
    void classifiesReactiveClientErrorsBySqlState(String sqlState, String name, Kind kind, String reason) {
        PgException failure = new PgException(name, "ERROR", sqlState, null);

        assertThat(FailureClassifier.classify(failure)).isEqualTo(new Classification(kind, reason));
        assertThat(FailureClassifier.isPermanent(failure)).isEqualTo(kind == Kind.PERMANENT);
        assertThat(FailureClassifier.sqlState(failure)).isEqualTo(sqlState);
    }

    @Test
    void readsSqlStatesOfJdbcExceptionsToo() {
        PSQLException failure = new PSQLException("check", PSQLState.CHECK_VIOLATION);

        assertThat(FailureClassifier.classify(failure).reasonCode()).isEqualTo("db_constraint_violation");
        assertThat(FailureClassifier.classify(new PSQLException("down", PSQLState.CONNECTION_FAILURE)).kind())
                .isEqualTo(Kind.TRANSIENT);
    }

    @Test
    void looksThroughWrappingExceptions() {
        Throwable wrapped = new CompletionException(new IllegalStateException("tx failed",
                new PgException("bad", "ERROR", "22P02", null)));

        assertThat(FailureClassifier.classify(wrapped).reasonCode()).isEqualTo("db_data_exception");
    }

    @Test
    void networkFailuresAreTransient() {
        assertThat(FailureClassifier.classify(new ConnectException("Connection refused")))
                .isEqualTo(new Classification(Kind.TRANSIENT, "db_unavailable"));
        assertThat(FailureClassifier.classify(new IOException("Connection reset by peer")).reasonCode())
                .isEqualTo("db_unavailable");
        assertThat(FailureClassifier.classify(ClosedConnectionException.INSTANCE).reasonCode())
                .isEqualTo("db_unavailable");
        assertThat(FailureClassifier.classify(new VertxException("Connection refused: /127.0.0.1:5432", true))
                .reasonCode()).isEqualTo("db_unavailable");
        assertThat(FailureClassifier.classify(new TimeoutException("no answer")).reasonCode()).isEqualTo("db_timeout");
    }

    @Test
    void anOpenCircuitIsTransient() {
        Classification verdict = FailureClassifier.classify(new CircuitBreakerOpenException("open"));

        assertThat(verdict).isEqualTo(new Classification(Kind.TRANSIENT, "circuit_open"));
    }

    @Test
    void failuresOfUnknownOriginAreUnknownNeitherPoisonNorOutage() {
        assertThat(FailureClassifier.classify(new IllegalStateException("surprise")))
                .isEqualTo(new Classification(Kind.UNKNOWN, "unexpected_error"));
        assertThat(FailureClassifier.classify(null).kind()).isEqualTo(Kind.UNKNOWN);
        assertThat(FailureClassifier.isTransient(new IllegalStateException("surprise"))).isFalse();
    }

    @Test
    void aRefusedWriteIsClassifiedByTheDatabaseErrorInsideIt() {
        RefusedByDatabaseException refused = new RefusedByDatabaseException(
                new PgException("index row size 3024 exceeds btree version 4 maximum 2704", "ERROR", "54000", null));
        assertThat(FailureClassifier.classify(refused))
                .isEqualTo(new Classification(Kind.PERMANENT, "db_program_limit_exceeded"));
    }

    @Test
    void aDatabaseThatRefusesTheProbeWriteTooIsAnOutage() {
        DatabaseRefusingWritesException outage = new DatabaseRefusingWritesException(
                new PgException("null value in column \"region\" violates not-null constraint", "ERROR", "23502", null),
                new PgException("null value in column \"region\" violates not-null constraint", "ERROR", "23502", null));
        assertThat(FailureClassifier.classify(outage)).isEqualTo(new Classification(Kind.TRANSIENT, "db_refusing_writes"));
    }
}
