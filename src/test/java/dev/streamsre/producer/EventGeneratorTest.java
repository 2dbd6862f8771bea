package dev.streamsre.producer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.streamsre.event.DecodeResult;
import dev.streamsre.event.EventCodec;
import dev.streamsre.producer.EventGenerator.GeneratedRecord;
import dev.streamsre.producer.EventGenerator.Kind;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class EventGeneratorTest {

    private static final List<String> HOT_KEYS = List.of("user:1", "user:2", "user:3");
    private final EventCodec codec = new EventCodec();
    private final Clock clock = Clock.fixed(Instant.parse("2026-11-24T12:00:00Z"), ZoneOffset.UTC);

    private EventGenerator generator(double hotPct, double poisonPct, double duplicatePct) {
        return new EventGenerator(codec, 42L, clock, HOT_KEYS, 10_000, hotPct, poisonPct, duplicatePct, 100);
    }

    @Test
    void everyEventIsValidAndKeyedByItsOwnKey() {
        EventGenerator generator = generator(80, 0, 0);
        for (int i = 0; i < 5_000; i++) {
            GeneratedRecord record = generator.next();
            DecodeResult result = codec.decode(record.value());
            assertThat(result).isInstanceOf(DecodeResult.Valid.class);
            assertThat(((DecodeResult.Valid) result).event().key()).isEqualTo(record.key());
        }
    }

    @Test
    void hotKeyShareFollowsTheSetting() {
        EventGenerator generator = generator(80, 0, 0);
        int hot = 0;
        int n = 100_000;
        for (int i = 0; i < n; i++) {
            if (HOT_KEYS.contains(generator.next().key())) {
                hot++;
            }
        }
        // Binomial standard deviation at n=100k is 0.13 points; 1 point is a wide, still meaningful band.
        assertThat(hot * 100.0 / n).isCloseTo(80.0, within(1.0));
    }

    @Test
    void poisonAndDuplicateSharesFollowTheSettings() {
        EventGenerator generator = generator(50, 2, 5);
        int n = 100_000;
        int[] kinds = new int[Kind.values().length];
        int undecodable = 0;
        for (int i = 0; i < n; i++) {
            GeneratedRecord record = generator.next();
            kinds[record.kind().ordinal()]++;
            if (codec.decode(record.value()) instanceof DecodeResult.Rejected) {
                undecodable++;
            }
        }
        assertThat(kinds[Kind.POISON.ordinal()] * 100.0 / n).isCloseTo(2.0, within(0.3));
        assertThat(kinds[Kind.DUPLICATE.ordinal()] * 100.0 / n).isCloseTo(5.0, within(0.5));
        assertThat(undecodable).as("every poison record, and only those, is undecodable").isEqualTo(kinds[Kind.POISON.ordinal()]);
    }

    @Test
    void duplicatesRepeatAnEarlierEventByteForByte() {
        EventGenerator generator = generator(80, 0, 20);
        Set<String> seen = new HashSet<>();
        Set<UUID> eventIds = new HashSet<>();
        for (int i = 0; i < 10_000; i++) {
            GeneratedRecord record = generator.next();
            String bytes = Arrays.toString(record.value());
            UUID id = ((DecodeResult.Valid) codec.decode(record.value())).event().eventId();
            if (record.kind() == Kind.DUPLICATE) {
                assertThat(seen).contains(bytes);
                assertThat(eventIds).contains(id);
            } else {
                assertThat(eventIds.add(id)).as("fresh events have fresh ids").isTrue();
            }
            seen.add(bytes);
        }
    }

    @Test
    void sameSeedGivesSameStream() {
        EventGenerator a = generator(80, 1, 1);
        EventGenerator b = generator(80, 1, 1);
        for (int i = 0; i < 1_000; i++) {
            assertThat(a.next().value()).isEqualTo(b.next().value());
        }
    }
}
