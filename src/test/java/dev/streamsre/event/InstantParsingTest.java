package dev.streamsre.event;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The codec's direct timestamp path must agree with {@link Instant#parse} on every input. */
class InstantParsingTest {

    @Property(tries = 3_000)
    void agreesWithInstantParseOnWellFormedTimestamps(
            @ForAll @LongRange(min = -62_135_596_800L, max = 253_402_300_799L) long epochSecond,
            @ForAll @IntRange(min = 0, max = 999_999_999) int nanos, @ForAll @IntRange(min = 0, max = 9) int precision) {
        Instant instant = Instant.ofEpochSecond(epochSecond, nanos - nanos % (int) Math.pow(10, 9 - precision));
        String text = instant.toString();

        assertThat(EventCodec.parseInstant(text)).isEqualTo(Instant.parse(text));
    }

    @Property(tries = 3_000)
    void agreesWithInstantParseOnMutatedTimestamps(@ForAll("mutatedTimestamps") String text) {
        Instant expected;
        try {
            expected = Instant.parse(text);
        } catch (DateTimeParseException e) {
            assertThatThrownBy(() -> EventCodec.parseInstant(text)).isInstanceOf(DateTimeParseException.class);
            return;
        }
        assertThat(EventCodec.parseInstant(text)).isEqualTo(expected);
    }

    @ParameterizedTest
    @ValueSource(strings = { "2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
            "2026-11-25T10:00:00.1234567890Z", "2026-11-25 10:00:00Z", "2026-11-25T10:00:00",
            "+2026-11-25T10:00:00Z", "2026-11-25T10:0a:00Z" })
    void rejectsWhatInstantParseRejects(String text) {
        assertThatThrownBy(() -> EventCodec.parseInstant(text)).isInstanceOf(DateTimeParseException.class);
    }

    @Provide
    Arbitrary<String> mutatedTimestamps() {
        Arbitrary<String> valid = Arbitraries.longs().between(-62_135_596_800L, 253_402_300_799L)
                .map(second -> Instant.ofEpochSecond(second, second % 1_000_000_000L & 0x3FFFFFFF % 1_000_000_000).toString());
        Arbitrary<Character> replacement = Arbitraries.of('0', '9', '1', '2', '3', '6', '-', ':', 'T', 'Z', '.', 'x', ' ', '+');
        return net.jqwik.api.Combinators.combine(valid, Arbitraries.integers().between(0, 40), replacement)
                .as((text, position, c) -> position < text.length()
                        ? text.substring(0, position) + c + text.substring(position + 1)
                        : text + c);
    }
}
