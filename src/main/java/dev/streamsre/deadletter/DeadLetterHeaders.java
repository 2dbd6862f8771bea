package dev.streamsre.deadletter;

import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * Names of the Kafka headers that say why a record is in the DLQ and where it came from, shared by
 * the consumer (which writes them), the DLQ recorder (which reads them into {@code dlq_events}) and
 * replay mode (which strips them and adds its own). Values are UTF-8 text.
 *
 * <p>The connector's dead-letter strategy adds its own {@code dead-letter-*} headers too; ours do not
 * depend on that naming and carry what it does not (reason code, attempts, first failure time).
 */
public final class DeadLetterHeaders {

    /** Common prefix; replay removes every header carrying it (or the connector's) before republishing. */
    public static final String PREFIX = "streamsre-";
    /** The connector's own prefix ({@code dead-letter-reason}, {@code dead-letter-offset}, ...). */
    public static final String CONNECTOR_PREFIX = "dead-letter-";

    /** Stable reason code, e.g. {@code invalid_json}. */
    public static final String REASON = "streamsre-dlq-reason";
    /** Human-readable error message. */
    public static final String ERROR_MESSAGE = "streamsre-dlq-error-message";
    /** Class of the exception that condemned the record. */
    public static final String EXCEPTION_CLASS = "streamsre-dlq-exception-class";
    /** Processing attempts before the record was dead-lettered. */
    public static final String ATTEMPTS = "streamsre-dlq-attempts";
    /** When the record failed (ISO-8601 instant). */
    public static final String FAILED_AT = "streamsre-dlq-failed-at";
    /** Where the failed record was read: topic, partition, offset. */
    public static final String SOURCE_TOPIC = "streamsre-dlq-source-topic";
    public static final String SOURCE_PARTITION = "streamsre-dlq-source-partition";
    public static final String SOURCE_OFFSET = "streamsre-dlq-source-offset";
    /** The source record's timestamp (epoch milliseconds): tells a recreated topic's offsets apart. */
    public static final String SOURCE_TIMESTAMP = "streamsre-dlq-source-timestamp";

    /** Set by replay: how many times this dead letter has been replayed, including this time. */
    public static final String REPLAY_COUNT = "streamsre-replay-count";
    /** Set by replay: the {@code dlq_events.id} the record was replayed from. */
    public static final String REPLAY_OF = "streamsre-replay-of";

    private DeadLetterHeaders() {
    }

    /** True for headers this pipeline or the connector added when dead-lettering or replaying. */
    public static boolean isPipelineHeader(String key) {
        return key != null && (key.startsWith(PREFIX) || key.startsWith(CONNECTOR_PREFIX));
    }

    /** The last value of a header as text, or null. */
    public static String text(Headers headers, String key) {
        Header header = headers.lastHeader(key);
        return header == null || header.value() == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }

    /** The {@code dlq_events.id} a record was replayed from, if its replay header names one, else null. */
    public static Long replayedEntry(Headers headers) {
        Long entryId = number(text(headers, REPLAY_OF));
        return entryId == null || entryId <= 0 ? null : entryId;
    }

    /**
     * A header's text as a number, or null when absent or not a decimal number: headers are whatever
     * a producer wrote, so they are parsed, never trusted.
     */
    static Long number(String text) {
        if (text == null || text.isEmpty() || text.length() > 19) {
            return null;
        }
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** As {@link #number(String)}, within int range. */
    static Integer intNumber(String text) {
        Long value = number(text);
        return value != null && value >= Integer.MIN_VALUE && value <= Integer.MAX_VALUE ? value.intValue() : null;
    }

    public static byte[] bytes(Object value) {
        return String.valueOf(value).getBytes(StandardCharsets.UTF_8);
    }
}
