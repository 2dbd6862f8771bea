package dev.streamsre.failure;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.pgclient.PgException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RedactedDatabaseExceptionTest {

    /** PostgreSQL's real message shapes; the row's value is always {@code s3cr3t}. */
    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', value = {
            "22P02 | invalid input syntax for type uuid: \"s3cr3t\" | SQLSTATE 22P02: invalid input syntax for type uuid: (value withheld)",
            "22003 | value \"s3cr3t\" is out of range for type integer | SQLSTATE 22003: value \"…\" is out of range for type integer",
            "22021 | invalid byte sequence for encoding \"UTF8\": 0x00 s3cr3t | SQLSTATE 22021: invalid byte sequence for encoding \"…\": (value withheld)",
            "22001 | value too long for type character varying(512) | SQLSTATE 22001: value too long for type character varying(512)",
            "P0001 | marked odd: s3cr3t | SQLSTATE P0001: marked odd: (value withheld)",
            "23505 | duplicate key value violates unique constraint \"reviews_pkey\" | SQLSTATE 23505: duplicate key value violates unique constraint \"reviews_pkey\"",
            "42501 | permission denied for table reviews | SQLSTATE 42501: permission denied for table reviews"})
    void keepsTheErrorAndWithholdsTheRowsValues(String sqlState, String serverMessage, String reported) {
        PgException failure = new PgException(serverMessage, "ERROR", sqlState, "Key (review_id)=(s3cr3t) already exists.");

        RedactedDatabaseException redacted = RedactedDatabaseException.of(new RefusedByDatabaseException(failure));

        assertThat(redacted.getMessage()).isEqualTo(reported).doesNotContain("s3cr3t");
        assertThat(redacted.toString()).startsWith(PgException.class.getName() + ": ").doesNotContain("s3cr3t");
        assertThat(redacted.originalClassName()).isEqualTo(PgException.class.getName());
        assertThat(redacted.getCause()).as("the original, with its detail, is not carried along").isNull();
        assertThat(redacted.getStackTrace()).isEqualTo(failure.getStackTrace());
    }

    @Test
    void classifiesLikeTheOriginal() {
        PgException failure = new PgException("invalid input syntax for type uuid: \"x\"", "ERROR", "22P02", null);

        RedactedDatabaseException redacted = RedactedDatabaseException.of(failure);

        assertThat(FailureClassifier.classify(redacted)).isEqualTo(FailureClassifier.classify(failure));
        assertThat(redacted.originalClassName()).as("what a dead letter names as its exception class")
                .isEqualTo(PgException.class.getName());
    }

    @Test
    void keepsAClientFailureWholeButCutsItToOneBoundedLine() {
        RuntimeException refused = new RuntimeException("Connection refused: localhost/127.0.0.1:5432\nat somewhere");

        assertThat(RedactedDatabaseException.of(refused).getMessage()).isEqualTo("Connection refused: localhost/127.0.0.1:5432");
        assertThat(RedactedDatabaseException.of(new RuntimeException("x".repeat(500))).getMessage())
                .hasSize(RedactedDatabaseException.MAX_LENGTH + 1);
    }
}
