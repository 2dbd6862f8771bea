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
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.UUID;

/**
 * Turns events into JSON bytes and any byte array back into either a valid {@link Event} or a
 * precise {@link RejectReason}. Validation is written out field by field, rather than left to data
 * binding, because the consumer must tell a poison record's exact fault (missing field, wrong type,
 * rating out of range...) to the DLQ, and data binding only reports "could not map".
 *
 * <p>Thread-safe; one instance serves the whole application.
 */
public final class EventCodec {

    /** Default ceiling on a record value; larger values are rejected as {@code oversize}. */
    public static final int DEFAULT_MAX_EVENT_BYTES = 256 * 1024;

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .addModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            // A record with two "rating" fields or trailing garbage is ambiguous: reject, do not guess.
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private final int maxEventBytes;

    public EventCodec() {
        this(DEFAULT_MAX_EVENT_BYTES);
    }

    public EventCodec(int maxEventBytes) {
        if (maxEventBytes <= 0) {
            throw new IllegalArgumentException("maxEventBytes must be positive, was " + maxEventBytes);
        }
        this.maxEventBytes = maxEventBytes;
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
        if (value == null || value.length == 0) {
            return rejected(RejectReason.EMPTY_VALUE, value == null ? "record value is null" : "record value is empty");
        }
        if (value.length > maxEventBytes) {
            return rejected(RejectReason.OVERSIZE, "record value is " + value.length + " bytes, limit is " + maxEventBytes);
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(value))
                    .toString();
        } catch (CharacterCodingException e) {
            return rejected(RejectReason.INVALID_UTF8, "record value is not valid UTF-8: " + e.getMessage());
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(text);
        } catch (IOException e) {
            return rejected(RejectReason.INVALID_JSON, "record value is not valid JSON: " + firstLine(e.getMessage()));
        }
        if (root == null || !root.isObject()) {
            return rejected(RejectReason.INVALID_JSON, "record value is JSON but not an object");
        }
        return validate(root);
    }

    private static DecodeResult validate(JsonNode root) {
        // Version and type first: a newer producer's event must read as "unknown version", not as
        // whichever field that version happened to rename.
        Field<Integer> version = intField(root, "schema_version");
        if (version.rejection != null) {
            return version.rejection;
        }
        if (version.value != Event.SCHEMA_VERSION) {
            return rejected(RejectReason.UNKNOWN_SCHEMA_VERSION,
                    "schema_version " + version.value + " is not supported (expected " + Event.SCHEMA_VERSION + ")");
        }
        Field<String> eventType = textField(root, "event_type");
        if (eventType.rejection != null) {
            return eventType.rejection;
        }
        if (!Event.REVIEW_CREATED.equals(eventType.value)) {
            return rejected(RejectReason.UNKNOWN_EVENT_TYPE, "event_type '" + abbreviate(eventType.value) + "' is not supported");
        }
        Field<String> eventIdText = textField(root, "event_id");
        if (eventIdText.rejection != null) {
            return eventIdText.rejection;
        }
        UUID eventId;
        try {
            eventId = UUID.fromString(eventIdText.value);
        } catch (IllegalArgumentException e) {
            return rejected(RejectReason.INVALID_FIELD, "event_id '" + abbreviate(eventIdText.value) + "' is not a UUID");
        }
        Field<String> key = nonBlankTextField(root, "key");
        if (key.rejection != null) {
            return key.rejection;
        }
        Field<String> tsText = textField(root, "ts");
        if (tsText.rejection != null) {
            return tsText.rejection;
        }
        Instant ts;
        try {
            ts = Instant.parse(tsText.value);
        } catch (DateTimeParseException e) {
            return rejected(RejectReason.INVALID_FIELD, "ts '" + abbreviate(tsText.value) + "' is not an ISO-8601 instant");
        }
        JsonNode payload = root.get("payload");
        if (payload == null || payload.isNull()) {
            return rejected(RejectReason.MISSING_FIELD, "payload is missing");
        }
        if (!payload.isObject()) {
            return rejected(RejectReason.WRONG_TYPE, "payload must be an object, was " + payload.getNodeType());
        }
        Field<String> reviewId = nonBlankTextField(payload, "payload.review_id");
        if (reviewId.rejection != null) {
            return reviewId.rejection;
        }
        Field<Integer> rating = intField(payload, "payload.rating");
        if (rating.rejection != null) {
            return rating.rejection;
        }
        if (rating.value < ReviewData.MIN_RATING || rating.value > ReviewData.MAX_RATING) {
            return rejected(RejectReason.RATING_OUT_OF_RANGE, "payload.rating " + rating.value + " is outside "
                    + ReviewData.MIN_RATING + ".." + ReviewData.MAX_RATING);
        }
        Field<String> reviewText = textField(payload, "payload.text");
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

    private static Field<String> nonBlankTextField(JsonNode parent, String path) {
        Field<String> field = textField(parent, path);
        if (field.rejection == null && field.value.isBlank()) {
            return Field.reject(RejectReason.INVALID_FIELD, path + " must not be blank");
        }
        return field;
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
