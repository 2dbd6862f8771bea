package dev.streamsre.event;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.UUID;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;

/**
 * Property-based checks that decoding is total: random bytes and mutated valid events always give
 * a {@link DecodeResult}, never an exception, and valid events always survive a round trip.
 */
class EventCodecFuzzTest {

    private final EventCodec codec = new EventCodec();

    @Property(tries = 3000)
    void randomBytesNeverThrow(@ForAll @Size(max = 600) byte[] value) {
        assertThat(codec.decode(value)).isNotNull();
    }

    @Property(tries = 3000)
    void mutatedValidEventsNeverThrow(@ForAll("mutatedEvents") byte[] value) {
        DecodeResult result = codec.decode(value);

        assertThat(result).isNotNull();
        if (result instanceof DecodeResult.Rejected rejected) {
            assertThat(rejected.detail()).isNotBlank();
        }
    }

    @Property(tries = 500)
    void anyWellFormedEventRoundTrips(@ForAll("events") Event event) {
        assertThat(codec.decode(codec.encode(event))).isEqualTo(new DecodeResult.Valid(event));
    }

    @Property(tries = 500)
    void anyTextWithACharacterPostgresqlCannotStoreIsRejectedNeverWritten(@ForAll @Size(max = 60) String text) {
        Event event = Event.reviewCreated(new UUID(1, 2), "user:1", Instant.EPOCH, new ReviewData("r", 3, text));
        DecodeResult result = codec.decode(codec.encode(event));
        if (EventCodec.unstorableCharacterAt(text) >= 0) {
            // Jackson writes a lone surrogate as is: the bytes are then not valid UTF-8 at all.
            assertThat(result).isInstanceOf(DecodeResult.Rejected.class);
            assertThat(((DecodeResult.Rejected) result).reason()).isIn(RejectReason.INVALID_CHARACTER,
                    RejectReason.INVALID_UTF8, RejectReason.INVALID_JSON);
        } else {
            assertThat(result).isEqualTo(new DecodeResult.Valid(event));
        }
    }

    @Provide
    Arbitrary<Event> events() {
        // Well-formed: text PostgreSQL stores as it is (no NUL, no unpaired surrogate).
        Arbitrary<String> keys = Arbitraries.strings().ofMinLength(1).ofMaxLength(40)
                .filter(s -> !s.isBlank() && EventCodec.unstorableCharacterAt(s) < 0);
        Arbitrary<Instant> instants = Arbitraries.longs().between(0, 4_102_444_800_000L).map(Instant::ofEpochMilli);
        Arbitrary<ReviewData> payloads = Combinators.combine(keys, Arbitraries.integers().between(1, 5),
                Arbitraries.strings().ofMaxLength(200).filter(s -> EventCodec.unstorableCharacterAt(s) < 0))
                .as(ReviewData::new);
        return Combinators.combine(Arbitraries.randomValue(r -> new UUID(r.nextLong(), r.nextLong())), keys, instants,
                payloads).as(Event::reviewCreated);
    }

    /** Valid events with one byte flipped, a span cut out, or a span duplicated. */
    @Provide
    Arbitrary<byte[]> mutatedEvents() {
        return Combinators.combine(events(), Arbitraries.integers().between(0, 2), Arbitraries.integers().between(0, 10_000),
                Arbitraries.integers().between(1, 30), Arbitraries.bytes()).as((event, kind, position, length, newByte) -> {
                    byte[] original = codec.encode(event);
                    int at = position % original.length;
                    int end = Math.min(original.length, at + length);
                    return switch (kind) {
                        case 0 -> {
                            byte[] copy = original.clone();
                            copy[at] = newByte;
                            yield copy;
                        }
                        case 1 -> concat(slice(original, 0, at), slice(original, end, original.length));
                        default -> concat(slice(original, 0, end), slice(original, at, original.length));
                    };
                });
    }

    @Property(tries = 200)
    void deepNestingIsRejectedNotACrash(@ForAll("depths") int depth) {
        String nested = "[".repeat(depth) + "]".repeat(depth);

        assertThat(codec.decode(nested.getBytes(StandardCharsets.UTF_8))).isInstanceOf(DecodeResult.Rejected.class);
    }

    @Provide
    Arbitrary<Integer> depths() {
        return Arbitraries.integers().between(1, 5000);
    }

    private static byte[] slice(byte[] bytes, int from, int to) {
        return java.util.Arrays.copyOfRange(bytes, from, Math.max(from, to));
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] result = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, result, a.length, b.length);
        return result;
    }
}
