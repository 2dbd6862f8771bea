package dev.streamsre.event;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
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
        byte[] encoded = codec.encode(event);

        assertThat(codec.decode(encoded)).isEqualTo(new DecodeResult.Valid(event));
        assertThat(EventCodec.isCommonShape(encoded)).as("read by the common shape's reader").isTrue();
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

    /**
     * One identity per accepted spelling: whatever string is accepted as an event_id is exactly the
     * canonical text of the UUID it decodes to, so two different accepted strings can never decode
     * to the same ledger key. Likewise key and review_id are stored exactly as the JSON string said.
     */
    @Property(tries = 5000)
    void twoDifferentAcceptedIdentitiesNeverDecodeToOneStoredValue(@ForAll("uuidLikeStrings") String eventId,
            @ForAll("uuidLikeStrings") String otherId) {
        UUID first = EventCodec.parseCanonicalUuid(eventId);
        UUID second = EventCodec.parseCanonicalUuid(otherId);
        if (first != null) {
            assertThat(first.toString()).isEqualTo(eventId);
        }
        if (first != null && second != null && !eventId.equals(otherId)) {
            assertThat(first).isNotEqualTo(second);
        }
        String json = "{\"event_id\":\"" + eventId + "\",\"event_type\":\"review_created\",\"key\":\"" + otherId
                + "\",\"ts\":\"2026-11-24T10:15:30.123Z\",\"schema_version\":1,\"payload\":{\"review_id\":\""
                + otherId + "\",\"rating\":4,\"text\":\"t\"}}";
        if (codec.decode(json.getBytes(StandardCharsets.UTF_8)) instanceof DecodeResult.Valid valid) {
            assertThat(valid.event().eventId().toString()).isEqualTo(eventId);
            assertThat(valid.event().key()).isEqualTo(otherId);
            assertThat(valid.event().payload().reviewId()).isEqualTo(otherId);
        }
    }

    /** Canonical UUIDs, and the same with a group shortened or lengthened, a case or a separator changed. */
    @Provide
    Arbitrary<String> uuidLikeStrings() {
        Arbitrary<String> canonical = Arbitraries.randomValue(r -> new UUID(r.nextLong(), r.nextLong()).toString());
        return Combinators.combine(canonical, Arbitraries.integers().between(0, 5), Arbitraries.integers().between(0, 35),
                Arbitraries.chars().with('0', '1', 'a', 'F', '-', '+', ' ', '{')).as((uuid, kind, at, c) -> switch (kind) {
                    case 0 -> uuid;
                    case 1 -> uuid.substring(0, at) + uuid.substring(at + 1);
                    case 2 -> uuid.substring(0, at) + c + uuid.substring(at);
                    case 3 -> uuid.substring(0, at) + c + uuid.substring(at + 1);
                    case 4 -> uuid.toUpperCase(java.util.Locale.ROOT);
                    default -> uuid.replaceFirst("^0*", "").replace("-0", "-");
                });
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

    @Property(tries = 3000)
    void theCommonShapeReaderAndTheTreeGiveTheSameAnswerForMutatedEvents(@ForAll("mutatedEvents") byte[] value) {
        assertThat(codec.decode(value, true)).isEqualTo(codec.decode(value, false));
    }

    @Property(tries = 3000)
    void theCommonShapeReaderAndTheTreeGiveTheSameAnswerForReshapedEvents(@ForAll("reshapedEvents") String value) {
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);

        assertThat(codec.decode(bytes, true)).as(value).isEqualTo(codec.decode(bytes, false));
    }

    @Property(tries = 1000)
    void theCommonShapeReaderAndTheTreeGiveTheSameAnswerForRandomBytes(@ForAll @Size(max = 300) byte[] value) {
        assertThat(codec.decode(value, true)).isEqualTo(codec.decode(value, false));
    }

    @Property(tries = 500)
    void theCommonShapeReaderTakesTheEventsFieldsInAnyOrderAndSpacing(@ForAll("events") Event event,
            @ForAll("spaces") String space, @ForAll java.util.Random random) throws Exception {
        com.fasterxml.jackson.databind.node.ObjectNode tree = (com.fasterxml.jackson.databind.node.ObjectNode)
                new com.fasterxml.jackson.databind.ObjectMapper().readTree(codec.encode(event));
        List<String> names = new java.util.ArrayList<>();
        tree.fieldNames().forEachRemaining(names::add);
        java.util.Collections.shuffle(names, random);
        StringBuilder json = new StringBuilder("{").append(space);
        for (String name : names) {
            json.append(json.length() > 1 + space.length() ? "," + space : "").append('"').append(name).append('"')
                    .append(space).append(':').append(space).append(tree.get(name).toString());
        }
        byte[] value = json.append(space).append('}').append(space).toString().getBytes(StandardCharsets.UTF_8);

        assertThat(EventCodec.isCommonShape(value)).as(new String(value, StandardCharsets.UTF_8)).isTrue();
        assertThat(codec.decode(value)).isEqualTo(new DecodeResult.Valid(event));
    }

    @Provide
    Arbitrary<String> spaces() {
        return Arbitraries.of("", " ", "\n\t", "\r\n  ");
    }

    /**
     * Events as a producer with other ideas might write them: each field of the event (or a new
     * one) repeated, dropped, given another JSON value, or the value followed by something.
     */
    @Provide
    Arbitrary<String> reshapedEvents() {
        List<String> fields = List.of("\"schema_version\":1", "\"event_type\":\"review_created\"",
                "\"event_id\":\"7b7f6a52-8a55-4e0e-9d6b-1d2e3f4a5b6c\"", "\"key\":\"user:1\"",
                "\"ts\":\"2026-11-24T10:15:30.123Z\"", "\"payload\":{PAYLOAD}", "\"extra\":0");
        List<String> payload = List.of("\"review_id\":\"rev-1\"", "\"rating\":4", "\"text\":\"good\"", "\"note\":\"x\"");
        List<String> values = List.of("null", "true", "0", "1", "5", "-1", "1.0", "1e0", "4.5", "2147483648",
                "99999999999999999999", "\"\"", "\" \"", "\"1\"", "\"user:2\"", "\"review_created\"", "[]", "[1]", "{}",
                "{\"rating\":4}", "\"a\\u0000b\"", "\"\\ud800\"", "\"2026-11-24T10:15:30Z\"", "\"x\\\"y\"",
                // Escapes JSON has, and some it has not; raw control and non-ASCII characters.
                "\"a\\nb\\t\\/\\\\\"", "\"\\u00e9t\\u00C9\"", "\"\\uD83D\\uDE00\"", "\"\\x\"", "\"\\u12\"",
                "\"\\u12g4\"", "\"a\tb\"", "\"caf\u00e9 \u2603\"", "\"\\\"",
                // Numbers at the edges of what the common shape's reader takes.
                "01", "-0", "00", "123456789", "1234567890", "4 ", "4e", "3.", "1E2");
        Arbitrary<String> member = Arbitraries.oneOf(Arbitraries.of(fields),
                Combinators.combine(Arbitraries.of(fields), Arbitraries.of(values))
                        .as((field, value) -> field.substring(0, field.indexOf(':') + 1) + value));
        Arbitrary<String> payloadMember = Arbitraries.oneOf(Arbitraries.of(payload),
                Combinators.combine(Arbitraries.of(payload), Arbitraries.of(values))
                        .as((field, value) -> field.substring(0, field.indexOf(':') + 1) + value));
        // Either any members, or the event's own in any order (valid, unless another part changes it).
        Arbitrary<String> payloads = Arbitraries.oneOf(payloadMember.list().ofMinSize(0).ofMaxSize(5),
                Arbitraries.shuffle(payload.subList(0, 3))).map(list -> String.join(",", list));
        Arbitrary<String> trailers = Arbitraries.of("", "", "", " ", "\n", "{}", "x", "]", "}", ",", "1", "/* c */");
        Arbitrary<List<String>> memberLists = Arbitraries.oneOf(member.list().ofMinSize(0).ofMaxSize(8),
                Arbitraries.shuffle(fields.subList(0, 6)));
        // JSON whitespace around the separators, the same everywhere in one value.
        return Combinators.combine(memberLists, payloads, trailers, spaces())
                .as((members, payloadText, trailer, space) -> ("{" + String.join(",", members).replace("PAYLOAD", payloadText)
                        + "}").replace(",", space + "," + space).replace("\":", "\"" + space + ":" + space)
                        .replace("}", space + "}") + trailer);
    }

    @Property(tries = 3000)
    void theEightBytesAtATimeScanSeesWhatAByteByByteScanSees(@ForAll("scannedBytes") byte[] value) {
        boolean nonAscii = false;
        boolean zeroByte = false;
        boolean backslash = false;
        for (byte b : value) {
            nonAscii |= b < 0;
            zeroByte |= b == 0;
            backslash |= b == '\\';
        }

        assertThat(EventCodec.RawShape.of(value))
                .isEqualTo(new EventCodec.RawShape(nonAscii, value[0] == '{' && !zeroByte, backslash));
    }

    /** Mostly plain bytes, with the few the scan looks for (and their neighbours in value) at any place. */
    @Provide
    Arbitrary<byte[]> scannedBytes() {
        Arbitrary<Byte> special = Arbitraries.of((byte) 0, (byte) 1, (byte) '\\', (byte) ('\\' + 1), (byte) ('\\' - 1),
                (byte) 0x7F, (byte) 0x80, (byte) 0xFF, (byte) '{');
        Arbitrary<Byte> plain = Arbitraries.bytes().between((byte) 0x20, (byte) 0x7E).filter(b -> b != '\\');
        return Arbitraries.frequencyOf(Tuple.of(1, special), Tuple.of(12, plain)).array(byte[].class).ofMinSize(1)
                .ofMaxSize(40);
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
