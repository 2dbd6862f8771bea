package dev.streamsre.event;

import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * Reads the fields of a value shaped the way producers write events straight from its bytes, in
 * one pass: one JSON object holding exactly the event's fields, each once, each of its JSON type
 * (the payload an object of exactly its three fields), and nothing after it. Any field order and
 * any JSON whitespace are accepted, and strings may hold escapes. Anything else, and anything it is
 * not sure of (a negative or 10-digit number, an escape in a field name), gives null: the caller's
 * Jackson tree then judges the value and names its exact fault. For a value this reader accepts,
 * the tree finds the very same fields (property-tested in {@code EventCodecFuzzTest}).
 *
 * <p>Written by hand because it is the consumer's hottest code. Jackson's streaming parser, which
 * read these values before, copied every string into a char buffer and then into a {@code String},
 * compressing it back to one byte per character a character at a time under the image's C1-only
 * JIT: parsing was a third of the consumer's CPU samples in a profile of a million-event drain, the
 * copies and compression a third of that. Here an unescaped string is one array copy.
 *
 * <p>It does not check UTF-8: a string holding a byte above 0x7F is decoded leniently, and the
 * caller checks the whole value strictly when {@link Fields#nonAscii} says one occurred. It guesses
 * no encoding either (Jackson's byte parser guesses UTF-16 or UTF-32 from zero bytes): a zero byte
 * is never part of the shape. Not thread-safe; one instance reads one value.
 */
final class CommonShapeReader {

    /**
     * The event's fields as read, before their values are checked.
     *
     * @param canonicalEventId the event id read from its bytes if they are a UUID's canonical form
     *                         ({@link EventCodec#parseCanonicalUuid}), else null
     * @param nonAscii         whether a string held a byte above 0x7F (the value must then be checked as UTF-8)
     * @param escaped          whether a string held an escape
     */
    record Fields(int schemaVersion, String eventType, String eventId, UUID canonicalEventId, String key, String ts,
            String reviewId, int rating, String text, boolean nonAscii, boolean escaped) {
    }

    // Each field's bit in the set of fields read; the value is the field's slot below.
    private static final int SCHEMA_VERSION = 0;
    private static final int EVENT_TYPE = 1;
    private static final int EVENT_ID = 2;
    private static final int KEY = 3;
    private static final int TS = 4;
    private static final int PAYLOAD = 5;
    private static final int REVIEW_ID = 6;
    private static final int RATING = 7;
    private static final int TEXT = 8;
    private static final int EVENT_MEMBERS = (1 << 6) - 1;
    private static final int PAYLOAD_MEMBERS = (1 << 9) - (1 << 6);
    private static final byte[][] NAMES = {
            ascii("schema_version"), ascii("event_type"), ascii("event_id"), ascii("key"), ascii("ts"), ascii("payload"),
            ascii("review_id"), ascii("rating"), ascii("text") };
    private static final long QUOTES = 0x2222222222222222L;
    private static final long BACKSLASHES = 0x5C5C5C5C5C5C5C5CL;
    private static final long CONTROL_LIMIT = 0x2020202020202020L;
    /** Jackson's default limit on a number's digits is far above this; 9 digits always fit an int. */
    private static final int MAX_INT_DIGITS = 9;

    private final byte[] in;
    private int at;
    private boolean nonAscii;
    private boolean escaped;
    private UUID canonicalEventId;
    private final String[] strings = new String[NAMES.length];
    private final int[] ints = new int[NAMES.length];

    private CommonShapeReader(byte[] in) {
        this.in = in;
    }

    /** The event's fields, or null unless the value has exactly the common shape. */
    static Fields read(byte[] value) {
        CommonShapeReader reader = new CommonShapeReader(value);
        if (!reader.object(EVENT_MEMBERS) || reader.skipWhitespace() != value.length) {
            return null;
        }
        String[] s = reader.strings;
        return new Fields(reader.ints[SCHEMA_VERSION], s[EVENT_TYPE], s[EVENT_ID], reader.canonicalEventId, s[KEY], s[TS],
                s[REVIEW_ID], reader.ints[RATING], s[TEXT], reader.nonAscii, reader.escaped);
    }

    /** Reads an object holding exactly the {@code members} (a set of field bits), each once. */
    private boolean object(int members) {
        if (skipWhitespace() >= in.length || in[at++] != '{') {
            return false;
        }
        int found = 0;
        while (true) {
            int field = fieldName(members);
            if (field < 0 || (found & 1 << field) != 0 || !expect(':') || !value(field)) {
                return false;
            }
            found |= 1 << field;
            if (skipWhitespace() >= in.length) {
                return false;
            }
            byte next = in[at++];
            if (next == '}') {
                return found == members;
            }
            if (next != ',') {
                return false;
            }
        }
    }

    /** The slot of the member name at this point, if it is one of {@code members} and holds no escape; else -1. */
    private int fieldName(int members) {
        if (skipWhitespace() >= in.length || in[at] != '"') {
            return -1;
        }
        int start = at + 1;
        int end = start;
        while (end < in.length && in[end] != '"') {
            if (in[end] == '\\') {
                return -1;
            }
            end++;
        }
        if (end >= in.length) {
            return -1;
        }
        at = end + 1;
        for (int field = 0; field < NAMES.length; field++) {
            if ((members & 1 << field) != 0 && equals(NAMES[field], start, end)) {
                return field;
            }
        }
        return -1;
    }

    private boolean equals(byte[] name, int start, int end) {
        if (name.length != end - start) {
            return false;
        }
        for (int i = 0; i < name.length; i++) {
            if (in[start + i] != name[i]) {
                return false;
            }
        }
        return true;
    }

    private boolean value(int field) {
        skipWhitespace();
        return switch (field) {
            case SCHEMA_VERSION, RATING -> integer(field);
            case PAYLOAD -> object(PAYLOAD_MEMBERS);
            default -> string(field);
        };
    }

    /** A non-negative int of at most {@value #MAX_INT_DIGITS} digits, without leading zeros, fraction or exponent. */
    private boolean integer(int field) {
        int start = at;
        int value = 0;
        while (at < in.length && in[at] >= '0' && in[at] <= '9') {
            value = value * 10 + (in[at++] - '0');
        }
        int digits = at - start;
        if (digits == 0 || digits > MAX_INT_DIGITS || (in[start] == '0' && digits > 1)) {
            return false;
        }
        if (at < in.length && (in[at] == '.' || in[at] == 'e' || in[at] == 'E')) {
            return false;
        }
        ints[field] = value;
        return true;
    }

    /**
     * A string value. JSON refuses control characters inside a string; bytes above 0x7F are part of
     * UTF-8 sequences the caller checked.
     */
    private boolean string(int field) {
        if (at >= in.length || in[at] != '"') {
            return false;
        }
        int start = at + 1;
        int end = start;
        boolean escapes = false;
        boolean utf8 = false;
        while (true) {
            end = nextSpecialByte(end);
            if (end >= in.length) {
                return false;
            }
            int b = in[end] & 0xFF;
            if (b == '"') {
                break;
            }
            if (b < 0x20) {
                return false;
            }
            if (b > 0x7F) {
                utf8 = true;
            } else {
                // A backslash: the byte after it is escaped, whatever it is.
                escapes = true;
                end++;
            }
            end++;
        }
        at = end + 1;
        nonAscii |= utf8;
        escaped |= escapes;
        if (field == EVENT_ID && !escapes) {
            canonicalEventId = EventCodec.parseCanonicalUuid(in, start, end);
        }
        String value = escapes ? unescape(start, end, utf8) : text(start, end, utf8);
        strings[field] = value;
        return value != null;
    }

    /**
     * The first position from {@code from} holding a quote, a backslash, a control character or a
     * byte above 0x7F (the length if none does). Eight bytes per step, as a long: inside a string,
     * a byte-by-byte loop was the consumer's hottest frame under the C1-only JIT.
     */
    private int nextSpecialByte(int from) {
        int i = from;
        for (; i + Long.BYTES <= in.length; i += Long.BYTES) {
            long word = (long) EventCodec.RawShape.WORDS.get(in, i);
            long special = EventCodec.RawShape.zeroByteIn(word ^ QUOTES) | EventCodec.RawShape.zeroByteIn(word ^ BACKSLASHES)
                    // A byte below 0x20 borrows its high bit; a byte above 0x7F has it already.
                    | (word - CONTROL_LIMIT) | word;
            if ((special & EventCodec.RawShape.HIGH_BITS) != 0) {
                break;
            }
        }
        for (; i < in.length; i++) {
            int b = in[i] & 0xFF;
            if (b == '"' || b == '\\' || b < 0x20 || b > 0x7F) {
                return i;
            }
        }
        return i;
    }

    /** Pure ASCII, the usual case, is one array copy. */
    private String text(int start, int end, boolean utf8) {
        return new String(in, start, end - start, utf8 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
    }

    /** The string between {@code start} and {@code end} with its escapes decoded; null for an escape JSON does not have. */
    private String unescape(int start, int end, boolean utf8) {
        StringBuilder out = new StringBuilder(end - start);
        int plain = start;
        int i = start;
        while (i < end) {
            if (in[i] != '\\') {
                i++;
                continue;
            }
            out.append(text(plain, i, utf8));
            byte kind = in[i + 1];
            switch (kind) {
                case '"', '\\', '/' -> out.append((char) kind);
                case 'b' -> out.append('\b');
                case 'f' -> out.append('\f');
                case 'n' -> out.append('\n');
                case 'r' -> out.append('\r');
                case 't' -> out.append('\t');
                case 'u' -> {
                    int code = i + 6 <= end ? hex(i + 2) : -1;
                    if (code < 0) {
                        return null;
                    }
                    out.append((char) code);
                    i += 4;
                }
                default -> {
                    return null;
                }
            }
            i += 2;
            plain = i;
        }
        return out.append(text(plain, end, utf8)).toString();
    }

    /** The four hex digits at {@code from} as a char code, or -1. */
    private int hex(int from) {
        int code = 0;
        for (int i = from; i < from + 4; i++) {
            int b = in[i];
            int digit = b >= '0' && b <= '9' ? b - '0' : b >= 'a' && b <= 'f' ? b - 'a' + 10
                    : b >= 'A' && b <= 'F' ? b - 'A' + 10 : -1;
            if (digit < 0) {
                return -1;
            }
            code = code << 4 | digit;
        }
        return code;
    }

    private boolean expect(char expected) {
        return skipWhitespace() < in.length && in[at++] == expected;
    }

    /** Moves past JSON whitespace; returns the position reached. */
    private int skipWhitespace() {
        while (at < in.length && (in[at] == ' ' || in[at] == '\n' || in[at] == '\r' || in[at] == '\t')) {
            at++;
        }
        return at;
    }

    private static byte[] ascii(String name) {
        return name.getBytes(StandardCharsets.US_ASCII);
    }
}
