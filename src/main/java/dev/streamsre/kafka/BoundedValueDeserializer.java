package dev.streamsre.kafka;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Deserializer;
import org.eclipse.microprofile.config.ConfigProvider;

/**
 * The consumers' value deserializer: raw bytes, as {@code ByteArrayDeserializer} gives them, with
 * two bounds on what a poll can make the consumer hold, whatever a producer sends.
 *
 * <p>Why: the Kafka client decompresses what one poll returns, so a poll holds
 * {@code max.poll.records} times the largest record. A producer with write rights can send records
 * of many megabytes that zstd compresses to a few hundred bytes, under every broker size limit
 * (40 of 16 MB each killed a consumer with a 144 MB heap, and it would restart into the same
 * records forever). No Kafka client setting bounds decompressed bytes, so this one does:
 * <ul>
 * <li><b>per record</b>: a value larger than {@code streamsre.consumer.max-held-value-bytes} is not
 * copied; the record arrives with an empty value and the header {@value #DROPPED_VALUE_BYTES}
 * (its size), and is dead-lettered once as {@code oversize} without its bytes (they stay in the
 * topic until its retention). A producer cannot forge the header: any it sent is removed first.</li>
 * <li><b>per poll</b>: once the values held in the current poll exceed
 * {@code streamsre.consumer.max-poll-bytes}, the next value ends the poll early: the deserializer
 * refuses it, the client returns the records read so far and reads the refused one again, first,
 * at the next poll ({@link PollBudgetReset} starts each poll's count). The first record of a poll
 * is always taken, so the stream always moves.</li>
 * </ul>
 * Kafka's client still allocates a record's decompressed body once, briefly, to hand it over; only
 * the broker can refuse records too large for that ({@code max.decompressed.message.bytes},
 * Apache Kafka 4.2.2, 4.3.2 and 4.4.0 on; README "How the consumer keeps its promises", k8s/README.md).
 */
public final class BoundedValueDeserializer implements Deserializer<byte[]> {

    /** Header set on a record whose value was too large to hold: the value's size in bytes. */
    public static final String DROPPED_VALUE_BYTES = "streamsre-dropped-value-bytes";

    /** Bytes of values held since the current poll began, and how many records; on the polling thread. */
    private static final ThreadLocal<long[]> POLL = ThreadLocal.withInitial(() -> new long[2]);

    private int maxHeldValueBytes;
    private long maxPollBytes;

    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {
        Object interceptors = configs.get(ConsumerConfig.INTERCEPTOR_CLASSES_CONFIG);
        if (interceptors == null || !String.valueOf(interceptors instanceof List<?> list ? String.join(",",
                list.stream().map(o -> o instanceof Class<?> c ? c.getName() : String.valueOf(o)).toList()) : interceptors)
                .contains(PollBudgetReset.class.getName())) {
            throw new ConfigException(ConsumerConfig.INTERCEPTOR_CLASSES_CONFIG, interceptors,
                    BoundedValueDeserializer.class.getName() + " needs " + PollBudgetReset.class.getName()
                            + " among the channel's interceptor.classes (it starts each poll's byte count)");
        }
        org.eclipse.microprofile.config.Config config = ConfigProvider.getConfig();
        maxHeldValueBytes = config.getValue("streamsre.consumer.max-held-value-bytes", Integer.class);
        maxPollBytes = config.getValue("streamsre.consumer.max-poll-bytes", Long.class);
    }

    /** For tests: the limits without MicroProfile Config. */
    BoundedValueDeserializer limits(int maxHeldValueBytes, long maxPollBytes) {
        this.maxHeldValueBytes = maxHeldValueBytes;
        this.maxPollBytes = maxPollBytes;
        return this;
    }

    @Override
    public byte[] deserialize(String topic, byte[] data) {
        return data;
    }

    @Override
    public byte[] deserialize(String topic, Headers headers, byte[] data) {
        return deserialize(topic, headers, data == null ? null : ByteBuffer.wrap(data));
    }

    @Override
    public byte[] deserialize(String topic, Headers headers, ByteBuffer data) {
        headers.remove(DROPPED_VALUE_BYTES);
        if (data == null) {
            return null;
        }
        int size = data.remaining();
        if (size > maxHeldValueBytes) {
            headers.add(DROPPED_VALUE_BYTES, Integer.toString(size).getBytes(StandardCharsets.US_ASCII));
            return new byte[0];
        }
        long[] poll = POLL.get();
        if (poll[1] > 0 && poll[0] + size > maxPollBytes) {
            throw new PollBudgetSpent(poll[0], size, maxPollBytes);
        }
        poll[0] += size;
        poll[1]++;
        byte[] value = new byte[size];
        data.get(value);
        return value;
    }

    /** Called by {@link PollBudgetReset} when a poll returns: the next poll starts with nothing held. */
    static void pollReturned() {
        long[] poll = POLL.get();
        poll[0] = 0;
        poll[1] = 0;
    }

    /**
     * Ends a poll early: the Kafka client keeps the records read so far for this poll and reads the
     * refused record again, first, at the next one. Without stack trace: it is a signal, not a fault.
     */
    static final class PollBudgetSpent extends RuntimeException {
        PollBudgetSpent(long held, int next, long budget) {
            super("this poll holds " + held + " bytes of values; the next, " + next + " bytes, waits for the next poll"
                    + " (streamsre.consumer.max-poll-bytes=" + budget + ")", null, false, false);
        }
    }
}
