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
        EventCodec small = new EventCodec(new EventLimits(64, 512, 512, 65_536));

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
        "ts not an instant       | \"ts\":\"2026-11-24T10:15:30.123Z\"  | \"ts\":\"yesterday\"",
        "blank key               | \"key\":\"user:1\"       | \"key\":\"  \"",
        "blank review_id         | \"review_id\":\"rev-1\"  | \"review_id\":\"\"",
    })
    void unusableValueIsInvalidField(String description, String original, String replacement) {
        assertReason(decode(VALID.replace(original, replacement)), RejectReason.INVALID_FIELD);
    }

    /**
     * Spellings {@link java.util.UUID#fromString} accepts or that name the same UUID as another
     * string: each would let two distinct event ids share one ledger row.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "not a uuid at all           | nope",
        "short groups                | 1-1-1-1-1",
        "short groups, long last     | 1-1-1-1-1000000000001",
        "uppercase                   | 7B7F6A52-8A55-4E0E-9D6B-1D2E3F4A5B6C",
        "leading zero, one too long  | 07b7f6a52-8a55-4e0e-9d6b-1d2e3f4a5b6",
        "braces                      | {7b7f6a52-8a55-4e0e-9d6b-1d2e3f4a5b6c}",
        "no hyphens                  | 7b7f6a528a554e0e9d6b1d2e3f4a5b6c",
        "urn form                    | urn:uuid:7b7f6a52-8a55-4e0e-9d6b-1d2e3f4a5b6c",
        "hyphen moved                | 7b7f6a5-28a55-4e0e-9d6b-1d2e3f4a5b6c",
        "plus sign in a group        | 7b7f6a52-+a55-4e0e-9d6b-1d2e3f4a5b6c",
        "fullwidth digit             | 7b7f6a52-8a55-4e0e-9d6b-1d2e3f4a5b6１",
    })
    void eventIdNotInCanonicalFormIsInvalidEventId(String description, String eventId) {
        assertReason(decode(VALID.replace("7b7f6a52-8a55-4e0e-9d6b-1d2e3f4a5b6c", eventId)), RejectReason.INVALID_EVENT_ID);
    }

    @Test
    void canonicalEventIdIsReadAsThatUuid() {
        assertThat(EventCodec.parseCanonicalUuid("00000000-0000-0000-0000-000000000000")).isEqualTo(new java.util.UUID(0, 0));
        assertThat(EventCodec.parseCanonicalUuid("ffffffff-ffff-ffff-ffff-ffffffffffff")).isEqualTo(new java.util.UUID(-1, -1));
        assertThat(EventCodec.parseCanonicalUuid("7b7f6a52-8a55-4e0e-9d6b-1d2e3f4a5b6c"))
                .isEqualTo(java.util.UUID.fromString("7b7f6a52-8a55-4e0e-9d6b-1d2e3f4a5b6c"));
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

    @Test
    void fieldsLongerThanTheirLimitAreTooLongSoPostgresqlNeverRefusesThemForSize() {
        String key3000 = "k".repeat(3_000);
        assertReason(decode(VALID.replace("\"key\":\"user:1\"", "\"key\":\"" + key3000 + "\"")), RejectReason.FIELD_TOO_LONG);
        assertReason(decode(VALID.replace("\"rev-1\"", "\"" + "r".repeat(513) + "\"")), RejectReason.FIELD_TOO_LONG);
        assertReason(decode(VALID.replace("\"good\"", "\"" + "t".repeat(65_537) + "\"")), RejectReason.FIELD_TOO_LONG);
        assertThat(decode(VALID.replace("\"rev-1\"", "\"" + "r".repeat(512) + "\""))).isInstanceOf(DecodeResult.Valid.class);
        assertThat(((DecodeResult.Rejected) decode(VALID.replace("\"user:1\"", "\"" + key3000 + "\""))).detail())
                .isEqualTo("key is 3000 characters, limit is 512");
    }

    @Test
    void theLimitsOfIndexedFieldsFitAnIndexRowWhateverTheCharacters() {
        // 880 characters of the widest UTF-8 (3 bytes each) stay under the 2,704-byte B-tree row limit.
        assertThat("\uFFFF".repeat(EventLimits.MAX_INDEXED_LENGTH).getBytes(StandardCharsets.UTF_8).length).isLessThan(2_704 - 24);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new EventLimits(1024, 881, 512, 10))
                .hasMessageContaining("at most 880");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "NUL in the key          | \"user:1\"  | \"user:\\u0000\"",
            "NUL in the review id    | \"rev-1\"   | \"rev\\u0000\"",
            "NUL in the text         | \"good\"    | \"go\\u0000od\"",
            "lone high surrogate     | \"good\"    | \"go\\ud800od\"",
            "lone low surrogate      | \"user:1\"  | \"\\udc00\"",
            "surrogates reversed     | \"rev-1\"   | \"\\udc00\\ud800\""})
    void charactersPostgresqlCannotStoreAreInvalidCharacter(String description, String original, String replacement) {
        assertReason(decode(VALID.replace(original, replacement)), RejectReason.INVALID_CHARACTER);
    }

    /**
     * The codec scans stored fields for NUL and lone surrogates only when the raw value holds a
     * backslash. These are the other ways in, each of which must be refused before that scan.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "raw NUL byte in the text            | 00",
            "raw control character in the text   | 01",
            "UTF-8-encoded high surrogate        | EDA080",
            "UTF-8-encoded low surrogate         | EDB080",
            "CESU-8 surrogate pair               | EDA0BDEDB880"})
    void unstorableCharactersWithoutAnEscapeAreRefusedToo(String description, String hex) {
        byte[] inserted = java.util.HexFormat.of().parseHex(hex);
        byte[] valid = VALID.getBytes(StandardCharsets.UTF_8);
        int at = VALID.indexOf("good") + 2;
        byte[] value = new byte[valid.length + inserted.length];
        System.arraycopy(valid, 0, value, 0, at);
        System.arraycopy(inserted, 0, value, at, inserted.length);
        System.arraycopy(valid, at, value, at + inserted.length, valid.length - at);
        DecodeResult result = codec.decode(value);
        assertThat(result).as(description).isInstanceOf(DecodeResult.Rejected.class);
        assertThat(((DecodeResult.Rejected) result).reason()).isIn(RejectReason.INVALID_JSON, RejectReason.INVALID_UTF8);
    }

    @Test
    void aSurrogatePairIsOneValidCharacter() {
        assertThat(decode(VALID.replace("\"good\"", "\"\\ud83d\\ude00 emoji\""))).isInstanceOf(DecodeResult.Valid.class);
    }

    @ParameterizedTest
    @CsvSource({"+10000-01-01T00:00:00Z", "-0001-12-31T00:00:00Z", "+1000000000-12-31T23:59:59Z"})
    void timestampsOutsideYearsOneToNineThousandNineHundredNinetyNineAreOutOfRange(String ts) {
        assertReason(decode(VALID.replace("2026-11-24T10:15:30.123Z", ts)), RejectReason.TIMESTAMP_OUT_OF_RANGE);
    }

    @ParameterizedTest
    @CsvSource({"0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z"})
    void timestampsAtTheEdgesOfTheRangeAreValid(String ts) {
        assertThat(decode(VALID.replace("2026-11-24T10:15:30.123Z", ts))).isInstanceOf(DecodeResult.Valid.class);
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
