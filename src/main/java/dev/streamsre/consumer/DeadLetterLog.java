package dev.streamsre.consumer;

import io.smallrye.reactive.messaging.kafka.KafkaRecord;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;
import org.jboss.logging.MDC;

/**
 * Tells the log that records were dead-lettered without flooding it. The first dead letter of each
 * reason is logged at once at WARN with its position and error; after that, at most one line per
 * reason per interval, saying how many more there were since the previous line. Every dead letter
 * is logged in full at DEBUG.
 *
 * <p>Why: at 1 % poison and 20,000 events/s, a line per dead letter is 200 lines a second. The log
 * then drowns everything else, and formatting and writing it (with the connector's own line, now
 * DEBUG) took about half of the extra CPU that poison cost the consumer (one A/B: 42-44 s, not 37 s, for
 * 1,000,000 events with 9,880 dead letters; 30-32 s for the clean twin). Nothing is
 * lost by throttling: the DLQ topic and {@code dlq_events} hold every dead letter with its reason,
 * bytes and position, and {@code dlq_events_total} counts them exactly. Written by hand because
 * neither JBoss Log Manager nor Quarkus has a rate-limiting log filter.
 */
final class DeadLetterLog {

    private static final Logger LOG = Logger.getLogger(DeadLetterLog.class);

    private final long intervalNanos;
    private final Map<String, Window> windows = new ConcurrentHashMap<>();

    /** @param interval at most one WARN line per reason this often; zero logs every dead letter at WARN */
    DeadLetterLog(Duration interval) {
        this.intervalNanos = interval.toNanos();
    }

    /** Logs one dead letter, with its fields also in the MDC so that JSON logs carry them as fields. */
    void deadLettered(KafkaRecord<?, ?> record, long offset, Poison reason, UUID eventId) {
        long suppressed = admit(reason.reasonCode(), System.nanoTime());
        if (suppressed < 0 && !LOG.isDebugEnabled()) {
            return;
        }
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("reason", reason.reasonCode());
        fields.put("topic", record.getTopic());
        fields.put("partition", record.getPartition());
        fields.put("offset", offset);
        fields.put("event_id", eventId);
        fields.put("attempts", reason.attempts());
        fields.forEach((name, value) -> MDC.put(name, String.valueOf(value)));
        try {
            String line = String.format("dead-lettering record: reason=%s topic=%s partition=%d offset=%d event_id=%s"
                    + " attempts=%d error=%s", reason.reasonCode(), record.getTopic(), record.getPartition(), offset,
                    eventId, reason.attempts(), reason.message());
            if (suppressed < 0) {
                LOG.debug(line, reason.evidence());
            } else if (suppressed == 0) {
                LOG.warn(line, reason.evidence());
            } else {
                LOG.warnf(reason.evidence(), "%s (and %d more with reason %s since the previous line; every one is in"
                        + " the DLQ topic and dlq_events)", line, suppressed, reason.reasonCode());
            }
        } finally {
            fields.keySet().forEach(MDC::remove);
        }
    }

    /**
     * Whether a dead letter with {@code reasonCode} seen at {@code nowNanos} gets a WARN line: -1 if
     * not, otherwise how many of that reason were held back since the previous line.
     */
    long admit(String reasonCode, long nowNanos) {
        if (intervalNanos <= 0) {
            return 0;
        }
        return windows.computeIfAbsent(reasonCode, code -> new Window()).admit(nowNanos, intervalNanos);
    }

    /** One reason's log window: when it last got a line, and how many were held back since. */
    private static final class Window {
        private boolean logged;
        private long lastLine;
        private long heldBack;

        synchronized long admit(long now, long interval) {
            if (logged && now - lastLine < interval) {
                heldBack++;
                return -1;
            }
            long count = heldBack;
            logged = true;
            lastLine = now;
            heldBack = 0;
            return count;
        }
    }
}
