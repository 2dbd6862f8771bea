package dev.streamsre.event;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class EventCodecTest {

    private final EventCodec codec = new EventCodec();

    static final String VALID = """
            {"event_id":"7b7f6a52-8a55-4e0e-9d6b-1d2e3f4a5b6c","event_type":"review_created","key":"user:1",\
            "ts":"2026-11-24T10:15:30.123Z","schema_version":1,\
            "payload":{"review_id":"rev-1","rating":4,"text":"good"}}""";

    @Test
    void roundTripKeepsEveryField() {
        Event event = Event.reviewCreated(UUID.randomUUID(), "user:42", Instant.parse("2026-11-24T10:15:30.123456Z"),
                new ReviewData("rev-42", 5, "caf\u00e9 \"quoted\" \u2603"));

        DecodeResult result = codec.decode(codec.encode(event));

        assertThat(result).isEqualTo(new DecodeResult.Valid(event));
    }

    @Test
    void encodesTheSpecFieldNames() {
        Event event = Event.reviewCreated(UUID.fromString("7b7f6a52-8a55-4e0e-9d6b-1d2e3f4a5b6c"), "user:1",
                Instant.parse("2026-11-24T10:15:30.123Z"), new ReviewData("rev-1", 4, "good"));

        assertThat(new String(codec.encode(event), StandardCharsets.UTF_8)).isEqualTo(VALID);
    }

    @Test
    void decodesTheSpecExample() {
        DecodeResult result = codec.decode(VALID.getBytes(StandardCharsets.UTF_8));

        assertThat(result).isInstanceOf(DecodeResult.Valid.class);
        Event event = ((DecodeResult.Valid) result).event();
        assertThat(event.key()).isEqualTo("user:1");
        assertThat(event.payload().rating()).isEqualTo(4);
        assertThat(event.ts()).isEqualTo(Instant.parse("2026-11-24T10:15:30.123Z"));
    }

    @Test
    void nullAndEmptyValuesAreEmptyValue() {
        assertReason(codec.decode(null), RejectReason.EMPTY_VALUE);
        assertReason(codec.decode(new byte[0]), RejectReason.EMPTY_VALUE);
    }

    @Test
    void valueOverTheLimitIsOversizeEvenWhenValid() {
        EventCodec small = new EventCodec(64);

        assertReason(small.decode(VALID.getBytes(StandardCharsets.UTF_8)), RejectReason.OVERSIZE);
    }

    @Test
    void invalidUtf8IsRejectedBeforeJsonParsing() {
        byte[] bytes = VALID.getBytes(StandardCharsets.UTF_8);
        bytes[bytes.length - 10] = (byte) 0xC3; // a lead byte followed by ASCII: malformed
        bytes[bytes.length - 9] = (byte) 0x28;

        assertReason(codec.decode(bytes), RejectReason.INVALID_UTF8);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "not json at all                     | hello",
        "truncated object                    | {\"event_id\":",
        "trailing garbage                    | {\"a\":1} x",
        "duplicate field                     | {\"a\":1,\"a\":2}",
        "array, not object                   | [1,2,3]",
        "bare string                         | \"event\"",
    })
    void malformedOrNonObjectJsonIsInvalidJson(String description, String value) {
        assertReason(decode(value), RejectReason.INVALID_JSON);
    }

    @ParameterizedTest(name = "missing {0}")
    @CsvSource({"event_id", "event_type", "key", "ts", "schema_version", "payload"})
    void eachMissingTopLevelFieldIsNamed(String field) {
        String value = VALID.replaceFirst("\"" + field + "\":(\\{[^}]*\\}|\"[^\"]*\"|[0-9]+),?", "")
                .replace(",}", "}");

        DecodeResult result = decode(value);

        assertReason(result, RejectReason.MISSING_FIELD);
        assertThat(((DecodeResult.Rejected) result).detail()).startsWith(field + " ");
    }

    @ParameterizedTest(name = "missing payload.{0}")
    @CsvSource({"review_id", "rating", "text"})
    void eachMissingPayloadFieldIsNamed(String field) {
        String value = VALID.replaceFirst("\"" + field + "\":(\"[^\"]*\"|[0-9]+),?", "").replace(",}", "}");

        DecodeResult result = decode(value);

        assertReason(result, RejectReason.MISSING_FIELD);
        assertThat(((DecodeResult.Rejected) result).detail()).startsWith("payload." + field + " ");
    }

    @Test
    void explicitNullIsMissing() {
        assertReason(decode(VALID.replace("\"key\":\"user:1\"", "\"key\":null")), RejectReason.MISSING_FIELD);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "rating as string        | \"rating\":4             | \"rating\":\"4\"",
        "rating as fraction      | \"rating\":4             | \"rating\":4.5",
        "schema_version as text  | \"schema_version\":1     | \"schema_version\":\"1\"",
        "event_id as number      | \"event_id\":\"7b7f6a52-8a55-4e0e-9d6b-1d2e3f4a5b6c\" | \"event_id\":7",
        "payload as array        | \"payload\":{\"review_id\":\"rev-1\",\"rating\":4,\"text\":\"good\"} | \"payload\":[]",
        "text as object          | \"text\":\"good\"        | \"text\":{}",
    })
    void wrongJsonTypeIsWrongType(String description, String original, String replacement) {
        assertReason(decode(VALID.replace(original, replacement)), RejectReason.WRONG_TYPE);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "event_id not a uuid     | \"event_id\":\"7b7f6a52-8a55-4e0e-9d6b-1d2e3f4a5b6c\" | \"event_id\":\"nope\"",
        "ts not an instant       | \"ts\":\"2026-11-24T10:15:30.123Z\"  | \"ts\":\"yesterday\"",
        "blank key               | \"key\":\"user:1\"       | \"key\":\"  \"",
        "blank review_id         | \"review_id\":\"rev-1\"  | \"review_id\":\"\"",
    })
    void unusableValueIsInvalidField(String description, String original, String replacement) {
        assertReason(decode(VALID.replace(original, replacement)), RejectReason.INVALID_FIELD);
    }

    @ParameterizedTest(name = "rating {0}")
    @CsvSource({"0", "6", "-5", "99999999999999999999"})
    void ratingOutsideOneToFiveIsOutOfRange(String rating) {
        assertReason(decode(VALID.replace("\"rating\":4", "\"rating\":" + rating)), RejectReason.RATING_OUT_OF_RANGE);
    }

    @ParameterizedTest(name = "rating {0}")
    @CsvSource({"1", "5"})
    void ratingBoundsAreValid(String rating) {
        assertThat(decode(VALID.replace("\"rating\":4", "\"rating\":" + rating))).isInstanceOf(DecodeResult.Valid.class);
    }

    @Test
    void unknownSchemaVersionWinsOverOtherFaults() {
        // A v2 event may have renamed fields; it must read as "unknown version", not "missing field".
        String v2 = "{\"schema_version\":2,\"eventId\":\"x\"}";

        assertReason(decode(v2), RejectReason.UNKNOWN_SCHEMA_VERSION);
    }

    @Test
    void unknownEventTypeIsRejected() {
        assertReason(decode(VALID.replace("review_created", "review_deleted")), RejectReason.UNKNOWN_EVENT_TYPE);
    }

    @Test
    void unknownExtraFieldsAreTolerated() {
        // Producers may add fields within a schema version; consumers must not break on them.
        assertThat(decode(VALID.replace("\"key\":", "\"trace_id\":\"abc\",\"key\":")))
                .isInstanceOf(DecodeResult.Valid.class);
    }

    private DecodeResult decode(String value) {
        return codec.decode(value.getBytes(StandardCharsets.UTF_8));
    }

    private static void assertReason(DecodeResult result, RejectReason reason) {
        assertThat(result).isInstanceOf(DecodeResult.Rejected.class);
        assertThat(((DecodeResult.Rejected) result).reason()).as(((DecodeResult.Rejected) result).detail())
                .isEqualTo(reason);
    }
}
