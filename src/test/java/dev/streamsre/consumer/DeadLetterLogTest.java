package dev.streamsre.consumer;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DeadLetterLogTest {

    private static final long SECOND = 1_000_000_000L;

    @Test
    void theFirstDeadLetterOfAReasonIsLoggedAtOnce() {
        DeadLetterLog log = new DeadLetterLog(Duration.ofSeconds(10));

        assertThat(log.admit("invalid_json", 0)).isZero();
        assertThat(log.admit("missing_field", SECOND)).as("another reason has its own window").isZero();
    }

    @Test
    void withinTheIntervalDeadLettersAreHeldBackAndCountedInTheNextLine() {
        DeadLetterLog log = new DeadLetterLog(Duration.ofSeconds(10));
        log.admit("invalid_json", 0);

        assertThat(log.admit("invalid_json", SECOND)).isEqualTo(-1);
        assertThat(log.admit("invalid_json", 9 * SECOND)).isEqualTo(-1);
        assertThat(log.admit("invalid_json", 10 * SECOND)).as("two held back since the previous line").isEqualTo(2);
        assertThat(log.admit("invalid_json", 11 * SECOND)).isEqualTo(-1);
        assertThat(log.admit("invalid_json", 25 * SECOND)).isEqualTo(1);
    }

    @Test
    void aZeroIntervalLogsEveryDeadLetter() {
        DeadLetterLog log = new DeadLetterLog(Duration.ZERO);

        for (int i = 0; i < 5; i++) {
            assertThat(log.admit("invalid_json", i)).isZero();
        }
    }
}
