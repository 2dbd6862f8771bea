package dev.streamsre.event;

import static dev.streamsre.event.DecodeResult.rejected;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.YearMonth;
import java.time.format.DateTimeParseException;
import java.util.UUID;

/**
 * Turns events into JSON bytes and any byte array back into either a valid {@link Event} or a
 * precise {@link RejectReason}. Validation is written out field by field, rather than left to data
 * binding, because the consumer must tell a poison record's exact fault (missing field, wrong type,
 * rating out of range...) to the DLQ, and data binding only reports "could not map".
 *
 * <p>A value is read one of two ways, with the same answer: values shaped as producers write them
 * are read straight from their bytes ({@link CommonShapeReader}); anything else is parsed into a Jackson
 * tree, strict about duplicate fields and trailing tokens, which names the exact fault.
 *
 * <p>Thread-safe; one instance serves the whole application.
 */
public final class EventCodec {

    /** Earliest and latest {@code ts} accepted: years 1..9999, which PostgreSQL stores and ISO-8601 writes plainly. */
    static final Instant MIN_TS = Instant.parse("0001-01-01T00:00:00Z");
    static final Instant MAX_TS = Instant.parse("9999-12-31T23:59:59.999999999Z");

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .addModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            // A record with two "rating" fields or trailing garbage is ambiguous: reject, do not guess.
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private final EventLimits limits;

    public EventCodec() {
        this(EventLimits.DEFAULT);
    }

    public EventCodec(EventLimits limits) {
        this.limits = limits;
    }

    /** The JSON bytes of an event, field names as in the spec. */
    public byte[] encode(Event event) {
        try {
            return MAPPER.writeValueAsBytes(event);
        } catch (JsonProcessingException e) {
            // Only reachable through a bug in the records' annotations, never through data.
            throw new UncheckedIOException("cannot encode event " + event.eventId(), e);
        }
    }

    /** Decodes and validates a record value; never throws for any input, including null. */
    public DecodeResult decode(byte[] value) {
        return decode(value, true);
    }

    /**
     * {@link #decode(byte[])}, with or without the reader of the common shape: the
     * tests hold the two ways to the very same answers.
     */
    DecodeResult decode(byte[] value, boolean readCommonShape) {
        if (value == null || value.length == 0) {
            return rejected(RejectReason.EMPTY_VALUE, value == null ? "record value is null" : "record value is empty");
        }
        if (value.length > limits.maxEventBytes()) {
            return rejected(RejectReason.OVERSIZE, "record value is " + value.length + " bytes, limit is "
                    + limits.maxEventBytes());
        }
        if (readCommonShape && value[0] == '{') {
            CommonShapeReader.Fields fields = CommonShapeReader.read(value);
            // Invalid UTF-8 is the general path's to report, as for any value.
            if (fields != null && (!fields.nonAscii() || utf8Error(value) == null)) {
                return validate(RawFields.of(fields), fields.escaped());
            }
        }
        RawShape shape = RawShape.of(value);
        String invalidUtf8 = shape.nonAscii() ? utf8Error(value) : null;
        if (invalidUtf8 != null) {
            return rejected(RejectReason.INVALID_UTF8, "record value is not valid UTF-8: " + invalidUtf8);
        }
        JsonNode root;
        try {
            root = shape.parsesAsUtf8() ? MAPPER.readTree(value)
                    : MAPPER.readTree(new String(value, StandardCharsets.UTF_8));
        } catch (IOException e) {
            return rejected(RejectReason.INVALID_JSON, "record value is not valid JSON: " + firstLine(e.getMessage()));
        }
        if (root == null || !root.isObject()) {
            return rejected(RejectReason.INVALID_JSON, "record value is JSON but not an object");
        }
        return validate(RawFields.of(root), shape.hasEscapes());
    }

    /** Whether the common shape's reader takes a value (the tests check that every encoded event does). */
    static boolean isCommonShape(byte[] value) {
        return value.length > 0 && value[0] == '{' && CommonShapeReader.read(value) != null;
    }

    /**
     * The event's fields as a JSON value held them, before their values are checked: each a value
     * of the right JSON type or the rejection saying why not. {@code payloadRejection} is non-null
     * when the payload is missing or not an object (its three fields are then null).
     */
    private record RawFields(Field<Integer> version, Field<String> eventType, Field<String> eventId,
            UUID canonicalEventId, Field<String> key, Field<String> ts, DecodeResult payloadRejection,
            Field<String> reviewId, Field<Integer> rating, Field<String> text) {

        static RawFields of(CommonShapeReader.Fields fields) {
            return new RawFields(Field.of(fields.schemaVersion()), Field.of(fields.eventType()), Field.of(fields.eventId()),
                    fields.canonicalEventId(), Field.of(fields.key()), Field.of(fields.ts()), null,
                    Field.of(fields.reviewId()), Field.of(fields.rating()), Field.of(fields.text()));
        }

        static RawFields of(JsonNode root) {
            JsonNode payload = root.get("payload");
            DecodeResult payloadRejection = null;
            if (payload == null || payload.isNull()) {
                payloadRejection = rejected(RejectReason.MISSING_FIELD, "payload is missing");
            } else if (!payload.isObject()) {
                payloadRejection = rejected(RejectReason.WRONG_TYPE, "payload must be an object, was " + payload.getNodeType());
            }
            boolean hasPayload = payloadRejection == null;
            return new RawFields(intField(root, "schema_version"), textField(root, "event_type"),
                    textField(root, "event_id"), null, textField(root, "key"), textField(root, "ts"), payloadRejection,
                    hasPayload ? textField(payload, "payload.review_id") : null,
                    hasPayload ? intField(payload, "payload.rating") : null,
                    hasPayload ? textField(payload, "payload.text") : null);
        }
    }

    /**
     * Checks the fields in a fixed order and reports the first fault, so that a record's reason does
     * not depend on the order its fields were written in.
     *
     * @param hasEscapes whether the raw value holds a backslash: without one, no decoded string can
     *                   hold a NUL or an unpaired surrogate, and the per-character scan is skipped
     */
    private DecodeResult validate(RawFields fields, boolean hasEscapes) {
        // Version and type first: a newer producer's event must read as "unknown version", not as
        // whichever field that version happened to rename.
        Field<Integer> version = fields.version();
        if (version.rejection != null) {
            return version.rejection;
        }
        if (version.value != Event.SCHEMA_VERSION) {
            return rejected(RejectReason.UNKNOWN_SCHEMA_VERSION,
                    "schema_version " + version.value + " is not supported (expected " + Event.SCHEMA_VERSION + ")");
        }
        Field<String> eventType = fields.eventType();
        if (eventType.rejection != null) {
            return eventType.rejection;
        }
        if (!Event.REVIEW_CREATED.equals(eventType.value)) {
            return rejected(RejectReason.UNKNOWN_EVENT_TYPE, "event_type '" + abbreviate(eventType.value) + "' is not supported");
        }
        Field<String> eventIdText = fields.eventId();
        if (eventIdText.rejection != null) {
            return eventIdText.rejection;
        }
        UUID eventId = fields.canonicalEventId() != null ? fields.canonicalEventId() : parseCanonicalUuid(eventIdText.value);
        if (eventId == null) {
            return rejected(RejectReason.INVALID_EVENT_ID, "event_id '" + abbreviate(eventIdText.value)
                    + "' is not a UUID in canonical form (36 characters, lowercase hex, 8-4-4-4-12)");
        }
        Field<String> key = storedText(fields.key(), "key", limits.maxKeyLength(), true, hasEscapes);
        if (key.rejection != null) {
            return key.rejection;
        }
        Field<String> tsText = fields.ts();
        if (tsText.rejection != null) {
            return tsText.rejection;
        }
        Instant ts;
        try {
            ts = parseInstant(tsText.value);
        } catch (DateTimeParseException e) {
            return rejected(RejectReason.INVALID_FIELD, "ts '" + abbreviate(tsText.value) + "' is not an ISO-8601 instant");
        }
        if (!isStorable(ts)) {
            return rejected(RejectReason.TIMESTAMP_OUT_OF_RANGE, "ts '" + abbreviate(tsText.value)
                    + "' is outside years 1..9999");
        }
        if (fields.payloadRejection() != null) {
            return fields.payloadRejection();
        }
        Field<String> reviewId = storedText(fields.reviewId(), "payload.review_id", limits.maxReviewIdLength(), true,
                hasEscapes);
        if (reviewId.rejection != null) {
            return reviewId.rejection;
        }
        Field<Integer> rating = fields.rating();
        if (rating.rejection != null) {
            return rating.rejection;
        }
        if (rating.value < ReviewData.MIN_RATING || rating.value > ReviewData.MAX_RATING) {
            return rejected(RejectReason.RATING_OUT_OF_RANGE, "payload.rating " + rating.value + " is outside "
                    + ReviewData.MIN_RATING + ".." + ReviewData.MAX_RATING);
        }
        Field<String> reviewText = storedText(fields.text(), "payload.text", limits.maxTextLength(), false, hasEscapes);
        if (reviewText.rejection != null) {
            return reviewText.rejection;
        }
        return new DecodeResult.Valid(Event.reviewCreated(eventId, key.value, ts,
                new ReviewData(reviewId.value, rating.value, reviewText.value)));
    }

    /** A field's value, or the rejection explaining why it has none. */
    private record Field<T>(T value, DecodeResult rejection) {
        static <T> Field<T> of(T value) {
            return new Field<>(value, null);
        }

        static <T> Field<T> reject(RejectReason reason, String detail) {
            return new Field<>(null, rejected(reason, detail));
        }
    }

    /** Null when the bytes are strict UTF-8 (no overlongs, surrogates or truncated sequences), else the decoder's complaint. */
    private static String utf8Error(byte[] value) {
        try {
            StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(value));
            return null;
        } catch (CharacterCodingException e) {
            return e.getMessage();
        }
    }

    /**
     * What one pass over a value's raw bytes tells the checks and the parse after it.
     *
     * @param nonAscii     whether a byte above 0x7F occurs: only then can the value be invalid UTF-8,
     *                     so pure ASCII, the common case, skips the strict decoder.
     * @param parsesAsUtf8 whether Jackson may parse the bytes directly, which is about twice as cheap
     *                     as parsing a decoded String. Jackson guesses a byte source's encoding (a BOM,
     *                     or zero bytes read as UTF-16 or UTF-32), which could accept what is not UTF-8
     *                     JSON; a value that starts with '{' and holds no zero byte leaves it nothing
     *                     to guess. Everything else takes the String path.
     * @param hasEscapes   whether a backslash occurs. A NUL or an unpaired surrogate can reach a
     *                     decoded string only through a backslash-u escape: strict UTF-8 cannot encode a
     *                     surrogate, and Jackson refuses unescaped control characters inside strings.
     *                     Without one, the per-character scan of the stored fields (4 % of the
     *                     consumer's CPU in a profile of a million-event drain) has nothing to find.
     */
    record RawShape(boolean nonAscii, boolean parsesAsUtf8, boolean hasEscapes) {

        /** A value's bytes read eight at a time, in the order of a long's bits. */
        static final VarHandle WORDS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
        static final long ONES = 0x0101010101010101L;
        static final long HIGH_BITS = 0x8080808080808080L;
        private static final long BACKSLASHES = 0x5C5C5C5C5C5C5C5CL;

        /**
         * Eight bytes per step, as a long (the bit tricks below): a byte-by-byte loop was 10 % of the
         * consumer's CPU under the image's C1-only JIT, which does not vectorise it.
         */
        static RawShape of(byte[] value) {
            long highBits = 0;
            long zeroBytes = 0;
            long backslashes = 0;
            int i = 0;
            for (; i + Long.BYTES <= value.length; i += Long.BYTES) {
                long word = (long) WORDS.get(value, i);
                highBits |= word;
                zeroBytes |= zeroByteIn(word);
                backslashes |= zeroByteIn(word ^ BACKSLASHES);
            }
            boolean nonAscii = (highBits & HIGH_BITS) != 0;
            boolean zeroByte = zeroBytes != 0;
            boolean backslash = backslashes != 0;
            for (; i < value.length; i++) {
                byte b = value[i];
                nonAscii |= b < 0;
                zeroByte |= b == 0;
                backslash |= b == '\\';
            }
            return new RawShape(nonAscii, value[0] == '{' && !zeroByte, backslash);
        }

        /** Non-zero exactly when one of the word's eight bytes is zero (the usual SWAR test). */
        static long zeroByteIn(long word) {
            return (word - ONES) & ~word & HIGH_BITS;
        }
    }

    /**
     * {@link Instant#parse}, with a direct path for the form producers write
     * ({@code 2026-11-25T10:00:00.123456Z}): Instant.parse builds a field map per call and was 7 % of
     * the consumer's CPU. Anything the direct path does not fully understand (other forms, invalid
     * dates, leap seconds) goes to Instant.parse, so results and errors are Instant.parse's own.
     * The DLQ recorder reads the {@code streamsre-dlq-failed-at} header with it too.
     */
    public static Instant parseInstant(String text) {
        int length = text.length();
        if (length < 20 || length > 30 || text.charAt(4) != '-' || text.charAt(7) != '-' || text.charAt(10) != 'T'
                || text.charAt(13) != ':' || text.charAt(16) != ':' || text.charAt(length - 1) != 'Z') {
            return Instant.parse(text);
        }
        int year = digits(text, 0, 4);
        int month = digits(text, 5, 7);
        int day = digits(text, 8, 10);
        int hour = digits(text, 11, 13);
        int minute = digits(text, 14, 16);
        int second = digits(text, 17, 19);
        int nanos = 0;
        if (length > 20) {
            int fractionDigits = length - 21;
            int fraction = text.charAt(19) == '.' && fractionDigits >= 1 && fractionDigits <= 9
                    ? digits(text, 20, length - 1) : -1;
            if (fraction < 0) {
                return Instant.parse(text);
            }
            nanos = fraction * (int) Math.pow(10, 9 - fractionDigits);
        }
        if (year < 0 || month < 1 || month > 12 || day < 1 || day > YearMonth.of(year, month).lengthOfMonth()
                || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) {
            return Instant.parse(text);
        }
        long epochDay = LocalDate.of(year, month, day).toEpochDay();
        return Instant.ofEpochSecond(epochDay * 86_400 + hour * 3_600L + minute * 60L + second, nanos);
    }

    /**
     * The UUID written as {@code text}, or null unless {@code text} is its canonical form: exactly
     * 36 characters, lowercase hex digits in groups of 8-4-4-4-12. {@link UUID#fromString} is not a
     * validator: it accepts groups of any length up to 36 characters in all, so {@code 1-1-1-1-1}
     * and {@code 1-1-1-1-1000000000001} are the same UUID to it, and two distinct event ids would
     * share one ledger row (the second silently counted as a duplicate). Uppercase is refused for
     * the same reason: {@code A} and {@code a} would name one id. With one spelling per UUID,
     * distinct accepted strings are distinct ids.
     */
    public static UUID parseCanonicalUuid(String text) {
        // A character beyond Latin-1 becomes '?', and neither it nor a Latin-1 letter is a hex digit.
        return text.length() == 36 ? parseCanonicalUuid(text.getBytes(StandardCharsets.ISO_8859_1), 0, 36) : null;
    }

    /** {@link #parseCanonicalUuid(String)} of the ISO-8859-1 characters in {@code bytes[from, to)}. */
    static UUID parseCanonicalUuid(byte[] bytes, int from, int to) {
        if (to - from != 36) {
            return null;
        }
        if (bytes[from + 8] != '-' || bytes[from + 13] != '-' || bytes[from + 18] != '-' || bytes[from + 23] != '-') {
            return null;
        }
        long group1 = hexDigits(bytes, from, 8);
        long group2 = hexDigits(bytes, from + 9, 4);
        long group3 = hexDigits(bytes, from + 14, 4);
        long group4 = hexDigits(bytes, from + 19, 4);
        long group5 = hexDigits(bytes, from + 24, 12);
        if ((group1 | group2 | group3 | group4 | group5) < 0) {
            return null;
        }
        return new UUID(group1 << 32 | group2 << 16 | group3, group4 << 48 | group5);
    }

    /** The value of {@code count} lowercase hex digits at {@code from}, or a negative number if one is not. */
    private static long hexDigits(byte[] bytes, int from, int count) {
        long value = 0;
        for (int i = from; i < from + count; i++) {
            int digit = HEX_DIGIT[bytes[i] & 0xFF];
            if (digit < 0) {
                return -1;
            }
            value = value << 4 | digit;
        }
        return value;
    }

    /** Each byte's value as a lowercase hex digit, or -1: one load instead of a chain of comparisons. */
    private static final byte[] HEX_DIGIT = new byte[256];

    static {
        java.util.Arrays.fill(HEX_DIGIT, (byte) -1);
        for (int i = 0; i < 16; i++) {
            HEX_DIGIT["0123456789abcdef".charAt(i)] = (byte) i;
        }
    }

    /** Whether PostgreSQL stores the instant as it is and ISO-8601 writes it plainly (years 1..9999). */
    public static boolean isStorable(Instant instant) {
        return !instant.isBefore(MIN_TS) && !instant.isAfter(MAX_TS);
    }

    /** The decimal value of text[from, to), or -1 if any character is not an ASCII digit. */
    private static int digits(String text, int from, int to) {
        int value = 0;
        for (int i = from; i < to; i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            value = value * 10 + (c - '0');
        }
        return value;
    }

    private static JsonNode child(JsonNode parent, String path) {
        return parent.get(path.substring(path.lastIndexOf('.') + 1));
    }

    private static Field<String> textField(JsonNode parent, String path) {
        JsonNode node = child(parent, path);
        if (node == null || node.isNull()) {
            return Field.reject(RejectReason.MISSING_FIELD, path + " is missing");
        }
        if (!node.isTextual()) {
            return Field.reject(RejectReason.WRONG_TYPE, path + " must be a string, was " + node.getNodeType());
        }
        return Field.of(node.textValue());
    }

    /**
     * A text field that is written to PostgreSQL: within its length limit, and made only of
     * characters a text column stores as they are (no NUL, no half of a surrogate pair).
     */
    private static Field<String> storedText(Field<String> field, String path, int maxLength, boolean nonBlank,
            boolean hasEscapes) {
        if (field.rejection != null) {
            return field;
        }
        String value = field.value;
        if (value.length() > maxLength) {
            return Field.reject(RejectReason.FIELD_TOO_LONG, path + " is " + value.length()
                    + " characters, limit is " + maxLength);
        }
        if (nonBlank && value.isBlank()) {
            return Field.reject(RejectReason.INVALID_FIELD, path + " must not be blank");
        }
        int bad = hasEscapes ? unstorableCharacterAt(value) : -1;
        if (bad >= 0) {
            return Field.reject(RejectReason.INVALID_CHARACTER, path + " has " + (value.charAt(bad) == 0
                    ? "a NUL character" : "an unpaired surrogate U+" + Integer.toHexString(value.charAt(bad)).toUpperCase())
                    + " at index " + bad);
        }
        return field;
    }

    /** Index of the first NUL or unpaired surrogate, or -1. */
    static int unstorableCharacterAt(String value) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == 0) {
                return i;
            }
            if (Character.isHighSurrogate(c)) {
                if (i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1))) {
                    i++;
                    continue;
                }
                return i;
            }
            if (Character.isLowSurrogate(c)) {
                return i;
            }
        }
        return -1;
    }

    private static Field<Integer> intField(JsonNode parent, String path) {
        JsonNode node = child(parent, path);
        if (node == null || node.isNull()) {
            return Field.reject(RejectReason.MISSING_FIELD, path + " is missing");
        }
        if (!node.isIntegralNumber()) {
            return Field.reject(RejectReason.WRONG_TYPE, path + " must be an integer, was " + node.getNodeType()
                    + (node.isNumber() ? " " + node.asText() : ""));
        }
        if (!node.canConvertToInt()) {
            // Far outside any valid range; report it as the range error it is for ratings.
            return path.endsWith("rating")
                    ? Field.reject(RejectReason.RATING_OUT_OF_RANGE, path + " " + abbreviate(node.asText()) + " is outside 1..5")
                    : Field.reject(RejectReason.INVALID_FIELD, path + " " + abbreviate(node.asText()) + " does not fit an int");
        }
        return Field.of(node.intValue());
    }

    private static String abbreviate(String value) {
        return value.length() <= 64 ? value : value.substring(0, 61) + "...";
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "(no detail)";
        }
        int newline = message.indexOf('\n');
        return abbreviate(newline < 0 ? message : message.substring(0, newline));
    }
}
