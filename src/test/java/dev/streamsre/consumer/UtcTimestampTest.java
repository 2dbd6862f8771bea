package dev.streamsre.consumer;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The batch statement's timestamps: the same instant as {@code Instant.atOffset(UTC)}, without its ZoneRules. */
class UtcTimestampTest {

    @ParameterizedTest
    @ValueSource(strings = {"2026-12-06T13:24:05.123456789Z", "1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999999999Z",
            "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z", "2024-02-29T12:00:00.5Z"})
    void isTheInstantAtOffsetUtc(String text) {
        Instant instant = Instant.parse(text);

        assertThat(ReviewSink.utc(instant)).isEqualTo(instant.atOffset(ZoneOffset.UTC));
        assertThat(ReviewSink.utc(instant).toInstant()).isEqualTo(instant);
    }
}
