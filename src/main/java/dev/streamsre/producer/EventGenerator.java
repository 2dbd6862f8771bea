package dev.streamsre.producer;

import dev.streamsre.config.ProducerSettings;
import dev.streamsre.event.Event;
import dev.streamsre.event.EventCodec;
import dev.streamsre.event.ReviewData;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;

/**
 * Generates the producer's stream: {@code review_created} events with hot-key skew, plus an
 * optional share of poison records and of re-sent duplicates for drills. Pure and single-threaded,
 * so that a seed gives the same stream and tests can check the distribution without a broker.
 */
public final class EventGenerator {

    /** What a generated record is, so the producer can report the mix it sent. */
    public enum Kind { EVENT, DUPLICATE, POISON }

    /** One record to send: Kafka key, value bytes, and what it is. */
    public record GeneratedRecord(String key, byte[] value, Kind kind) {
    }

    static final int COLD_KEY_BASE = 1000;
    private static final int RECENT_EVENTS = 1024;
    private static final char[] TEXT_ALPHABET = "abcdefghijklmnopqrstuvwxyz     ".toCharArray();

    private final EventCodec codec;
    private final SplittableRandom random;
    private final Clock clock;
    private final List<String> hotKeys;
    private final int coldKeyCount;
    private final double hotKeyShare;
    private final double poisonShare;
    private final double duplicateShare;
    private final int textLength;
    private final GeneratedRecord[] recent = new GeneratedRecord[RECENT_EVENTS];
    private long eventsGenerated;
    private long poisonGenerated;

    public EventGenerator(ProducerSettings config, EventCodec codec, long seed, Clock clock) {
        this(codec, seed, clock, config.hotKeys(), config.coldKeyCount(), config.hotKeyPct(),
                config.poisonPct(), config.duplicatePct(), config.textLength());
    }

    /** The same stream from explicit settings: for tests that generate it inside their own JVM. */
    public EventGenerator(EventCodec codec, long seed, Clock clock, List<String> hotKeys, int coldKeyCount,
            double hotKeyPct, double poisonPct, double duplicatePct, int textLength) {
        if (hotKeys.isEmpty() && hotKeyPct > 0) {
            throw new IllegalArgumentException("streamsre.producer.hot-keys is empty but hot-key-pct is " + hotKeyPct);
        }
        if (coldKeyCount < 1) {
            throw new IllegalArgumentException("streamsre.producer.cold-key-count must be >= 1, was " + coldKeyCount);
        }
        if (poisonPct + duplicatePct > 100) {
            throw new IllegalArgumentException("POISON_PCT + DUPLICATE_PCT must not exceed 100");
        }
        this.codec = codec;
        this.random = new SplittableRandom(seed);
        this.clock = clock;
        this.hotKeys = List.copyOf(hotKeys);
        this.coldKeyCount = coldKeyCount;
        this.hotKeyShare = hotKeyPct / 100.0;
        this.poisonShare = poisonPct / 100.0;
        this.duplicateShare = duplicatePct / 100.0;
        this.textLength = textLength;
    }

    /** The next record of the stream. */
    public GeneratedRecord next() {
        double roll = random.nextDouble();
        if (roll < poisonShare) {
            return poison();
        }
        if (roll < poisonShare + duplicateShare && eventsGenerated > 0) {
            GeneratedRecord original = recent[random.nextInt((int) Math.min(eventsGenerated, RECENT_EVENTS))];
            return new GeneratedRecord(original.key(), original.value(), Kind.DUPLICATE);
        }
        GeneratedRecord record = new GeneratedRecord(nextKey(), null, Kind.EVENT);
        Event event = Event.reviewCreated(randomUuid(), record.key(), clock.instant(),
                new ReviewData("rev-" + randomUuid(), 1 + random.nextInt(5), randomText()));
        record = new GeneratedRecord(record.key(), codec.encode(event), Kind.EVENT);
        recent[(int) (eventsGenerated++ % RECENT_EVENTS)] = record;
        return record;
    }

    String nextKey() {
        if (random.nextDouble() < hotKeyShare) {
            return hotKeys.get(random.nextInt(hotKeys.size()));
        }
        return "user:" + (COLD_KEY_BASE + random.nextInt(coldKeyCount));
    }

    private GeneratedRecord poison() {
        String key = nextKey();
        String value = switch ((int) (poisonGenerated++ % 3)) {
            case 0 -> "this is not json {" + random.nextInt() + "}";
            case 1 -> "{\"event_id\":\"" + randomUuid() + "\",\"event_type\":\"review_created\",\"key\":\"" + key
                    + "\",\"ts\":\"" + clock.instant() + "\",\"schema_version\":1,\"payload\":{\"review_id\":\"rev-"
                    + randomUuid() + "\",\"rating\":" + (random.nextBoolean() ? 0 : 9) + ",\"text\":\"poison\"}}";
            default -> "{\"event_id\":\"" + randomUuid() + "\",\"event_type\":\"review_created\",\"key\":\"" + key
                    + "\",\"schema_version\":1,\"payload\":{\"rating\":3,\"text\":\"no review_id, no ts\"}}";
        };
        return new GeneratedRecord(key, value.getBytes(StandardCharsets.UTF_8), Kind.POISON);
    }

    /** A version-4 UUID from the seeded generator: repeatable, and faster than SecureRandom. */
    private UUID randomUuid() {
        long most = (random.nextLong() & ~0xF000L) | 0x4000L;
        long least = (random.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
        return new UUID(most, least);
    }

    private String randomText() {
        char[] text = new char[textLength];
        for (int i = 0; i < textLength; i++) {
            text[i] = TEXT_ALPHABET[random.nextInt(TEXT_ALPHABET.length)];
        }
        return new String(text);
    }
}
