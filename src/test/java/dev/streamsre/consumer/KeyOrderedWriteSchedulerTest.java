package dev.streamsre.consumer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamsre.event.Event;
import dev.streamsre.event.RejectReason;
import dev.streamsre.event.ReviewData;
import io.smallrye.mutiny.Uni;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * The scheduler's two promises, checked over random runs: no key's writes are reordered (a key's
 * record is written only once every earlier record of that key has been, and never alongside
 * another write of the same key), and no offset is committed past a record that is not safe. Each
 * run models the connector: Kafka consumers that own partitions and hand over batches in offset
 * order while earlier ones are still being written, a hot key, poison found by triage and by the
 * writer, writes that end in any order, and (in some runs) writes that fail as they do at shutdown.
 * Commits follow the throttled strategy: per partition, up to the first record not acknowledged.
 */
class KeyOrderedWriteSchedulerTest {

    @Property(tries = 400)
    void noKeyIsReorderedAndNoOffsetIsCommittedPastAnUnsafeRecord(@ForAll long seed,
            @ForAll @IntRange(min = 1, max = 4) int concurrency, @ForAll boolean failures) {
        new Run(new Random(seed), concurrency, failures).play();
    }

    @Example
    void hotPartitionsAreWrittenAtOnceWhileEachKeyWaitsForItsPreviousWrite() {
        List<PendingWrite> started = new ArrayList<>();
        KeyOrderedWriteScheduler scheduler = recording(started);
        // Two hot keys on two partitions that one Kafka consumer owns: batches one after the other.
        scheduler.schedule(batch(0, 0, "user:1", "user:1", "cold:7"));
        scheduler.schedule(batch(1, 0, "user:3", "user:3"));
        scheduler.schedule(batch(0, 3, "user:1", "cold:8"));
        assertThat(started).hasSize(2);
        assertThat(keys(started.get(0))).containsExactly("user:1", "user:1", "cold:7");
        assertThat(keys(started.get(1))).containsExactly("user:3", "user:3");
        // The third batch waits for the first write (user:1), and cold:8 rides with it.
        started.get(1).succeed();
        assertThat(started).hasSize(2);
        started.get(0).succeed();
        assertThat(started).hasSize(3);
        assertThat(keys(started.get(2))).containsExactly("user:1", "cold:8");
    }

    @Example
    void aFailedWriteFailsTheLaterWritesOfItsKeysWithoutRunningThem() {
        List<PendingWrite> started = new ArrayList<>();
        KeyOrderedWriteScheduler scheduler = recording(started);
        CompletableFuture<Void> first = scheduler.schedule(batch(0, 0, "user:1")).subscribeAsCompletionStage();
        CompletableFuture<Void> second = scheduler.schedule(batch(0, 1, "user:1")).subscribeAsCompletionStage();
        started.get(0).done.completeExceptionally(new IllegalStateException("retries stopped by shutdown"));
        CompletableFuture<Void> third = scheduler.schedule(batch(0, 2, "user:1", "user:2")).subscribeAsCompletionStage();
        assertThat(first).isCompletedExceptionally();
        assertThat(second).isCompletedExceptionally();
        assertThat(third).isCompletedExceptionally();
        assertThat(started).hasSize(1);
    }

    /** A scheduler of two connections whose writes are added to {@code started} and end when the test says. */
    private static KeyOrderedWriteScheduler recording(List<PendingWrite> started) {
        return new KeyOrderedWriteScheduler(2, records -> {
            PendingWrite write = new PendingWrite(records);
            started.add(write);
            return Uni.createFrom().completionStage(write.done);
        });
    }

    private static List<BatchRecord> batch(int partition, long firstOffset, String... keys) {
        List<BatchRecord> records = new ArrayList<>();
        for (int i = 0; i < keys.length; i++) {
            records.add(record(keys[i], partition, firstOffset + i));
        }
        return records;
    }

    private static BatchRecord record(String key, int partition, long offset) {
        UUID id = UUID.randomUUID();
        return BatchRecord.synthetic(Event.reviewCreated(id, key, Instant.EPOCH, new ReviewData("rev-" + id, 3, "")),
                partition, offset);
    }

    private static List<String> keys(PendingWrite write) {
        return write.records.stream().map(record -> record.event().key()).toList();
    }

    /** A write the test ends when it chooses. */
    private static final class PendingWrite {
        final List<BatchRecord> records;
        final CompletableFuture<Void> done = new CompletableFuture<>();

        PendingWrite(List<BatchRecord> records) {
            this.records = List.copyOf(records);
        }

        void succeed() {
            records.forEach(BatchRecord::landed);
            done.complete(null);
        }
    }

    /** One random run: the stream, the Kafka consumers, the writes and the commits. */
    private static final class Run {
        private static final int PARTITIONS = 4;
        private final Random random;
        private final boolean failures;
        private final int concurrency;
        private final KeyOrderedWriteScheduler scheduler;
        private final List<PendingWrite> running = new ArrayList<>();
        /** Per partition, its records in offset order. */
        private final List<List<BatchRecord>> partitions = new ArrayList<>();
        /** Per partition, the next offset a Kafka consumer hands over. */
        private final int[] read = new int[PARTITIONS];
        private final Set<BatchRecord> acknowledged = new HashSet<>();
        private final Set<BatchRecord> written = new HashSet<>();
        /** Keys with a record left unwritten by a failed write: none of their later records may land. */
        private final Map<String, Long> failedFrom = new HashMap<>();
        private final List<CompletableFuture<Void>> batches = new ArrayList<>();
        private final List<AssertionError> violations = new ArrayList<>();
        private int writes;

        Run(Random random, int concurrency, boolean failures) {
            this.random = random;
            this.concurrency = concurrency;
            this.failures = failures;
            this.scheduler = new KeyOrderedWriteScheduler(concurrency, this::write);
            String[] hot = {"user:1", "user:2", "user:3"};
            for (int p = 0; p < PARTITIONS; p++) {
                partitions.add(new ArrayList<>());
            }
            int events = 50 + random.nextInt(400);
            for (int i = 0; i < events; i++) {
                // 80 % on three hot keys, as the seed's load; a key always lives on one partition.
                String key = random.nextInt(10) < 8 ? hot[random.nextInt(hot.length)] : "cold:" + random.nextInt(40);
                int p = Math.floorMod(key.hashCode(), PARTITIONS);
                List<BatchRecord> partition = partitions.get(p);
                BatchRecord record = record(key, p, partition.size());
                if (random.nextInt(50) == 0) {
                    record.deadLetter(Poison.rejected(RejectReason.INVALID_JSON, "poison found by triage"));
                }
                partition.add(record);
            }
        }

        void play() {
            // Two Kafka consumers, each owning half the partitions, each handing over its batches in order.
            List<List<Integer>> owned = List.of(List.of(0, 2), List.of(1, 3));
            boolean anyFailed = false;
            while (true) {
                boolean canRead = owned.stream().anyMatch(this::hasUnread);
                if (!canRead && running.isEmpty()) {
                    break;
                }
                if (canRead && (running.isEmpty() || random.nextInt(3) == 0)) {
                    List<Integer> consumer = owned.get(random.nextInt(owned.size()));
                    if (hasUnread(consumer)) {
                        handOver(consumer);
                    }
                } else if (!running.isEmpty()) {
                    PendingWrite write = running.remove(random.nextInt(running.size()));
                    if (failures && random.nextInt(15) == 0) {
                        anyFailed = true;
                        for (BatchRecord record : write.records) {
                            failedFrom.merge(record.event().key(), record.offset(), Math::min);
                        }
                        write.done.completeExceptionally(new IllegalStateException("retries stopped by shutdown"));
                    } else {
                        for (BatchRecord record : write.records) {
                            // The writer's own isolation dead-letters a refused record; the rest land.
                            if (random.nextInt(40) == 0) {
                                record.deadLetter(Poison.reviewIdConflict(record.event().payload().reviewId()));
                            } else {
                                record.landed();
                            }
                            written.add(record);
                        }
                        write.done.complete(null);
                    }
                }
                if (!violations.isEmpty()) {
                    throw violations.get(0);
                }
                assertCommitsAreSafe();
            }
            assertThat(batches).allMatch(CompletableFuture::isDone);
            if (!anyFailed) {
                for (List<BatchRecord> partition : partitions) {
                    assertThat(partition).allMatch(record -> record.fate() != BatchRecord.Fate.TO_WRITE);
                    assertThat(acknowledged).containsAll(partition);
                }
            }
            assertThat(writes).isGreaterThan(0);
        }

        private boolean hasUnread(List<Integer> consumer) {
            return consumer.stream().anyMatch(p -> read[p] < partitions.get(p).size());
        }

        /** A poll: up to a few dozen records from one or both of the consumer's partitions, each in offset order. */
        private void handOver(List<Integer> consumer) {
            List<BatchRecord> batch = new ArrayList<>();
            for (int p : consumer) {
                int take = random.nextInt(30);
                while (take-- > 0 && read[p] < partitions.get(p).size()) {
                    batch.add(partitions.get(p).get(read[p]++));
                }
            }
            if (batch.isEmpty()) {
                return;
            }
            CompletableFuture<Void> done = scheduler.schedule(batch).subscribeAsCompletionStage();
            batches.add(done);
            // The DeadLetterOffice acknowledges a batch once its writes ended well; a failed one stays.
            done.thenRun(() -> acknowledged.addAll(batch));
        }

        /** The writer the scheduler calls: checks the order, then leaves the write running. */
        private Uni<Void> write(List<BatchRecord> batch) {
            // The whole batch comes, for its receipts; the writer writes the records still to write.
            List<BatchRecord> records = batch.stream().filter(BatchRecord::toWrite).toList();
            try {
                checkOrder(records);
            } catch (AssertionError violation) {
                // Thrown inside the scheduler, it would only fail the write: kept for the run to report.
                violations.add(violation);
            }
            PendingWrite write = new PendingWrite(records);
            running.add(write);
            return Uni.createFrom().completionStage(write.done);
        }

        private void checkOrder(List<BatchRecord> records) {
            writes++;
            assertThat(scheduler.running()).isLessThanOrEqualTo(concurrency);
            Set<String> keysHere = new HashSet<>();
            for (BatchRecord record : records) {
                String key = record.event().key();
                keysHere.add(key);
                assertThat(record.toWrite()).as("written once").isTrue();
                assertThat(failedFrom.getOrDefault(key, Long.MAX_VALUE))
                        .as("%s at offset %d written after an earlier record of its key was left unwritten", key, record.offset())
                        .isGreaterThan(record.offset());
                // Every earlier record of the key is written already (or was poison from the start).
                for (BatchRecord earlier : partitions.get(record.partition())) {
                    if (earlier.offset() >= record.offset()) {
                        break;
                    }
                    if (earlier.event().key().equals(key) && !records.contains(earlier)) {
                        assertThat(earlier.fate()).as("%s at offset %d written before offset %d", key, record.offset(),
                                earlier.offset()).isNotEqualTo(BatchRecord.Fate.TO_WRITE);
                    }
                }
            }
            for (PendingWrite other : running) {
                for (BatchRecord record : other.records) {
                    assertThat(keysHere).as("two writes of one key at once").doesNotContain(record.event().key());
                }
            }
            assertThat(records).isSortedAccordingTo((a, b) -> a.partition() == b.partition()
                    ? Long.compare(a.offset(), b.offset()) : 0);
        }

        /** The throttled strategy's commit per partition: every record below it acknowledged, so settled. */
        private void assertCommitsAreSafe() {
            assertThat(acknowledged).as("acknowledged before settled").allMatch(record -> !record.toWrite());
            for (List<BatchRecord> partition : partitions) {
                for (BatchRecord record : partition) {
                    if (!acknowledged.contains(record)) {
                        break;
                    }
                    assertThat(record.fate()).as("committed past an unsafe record").isNotEqualTo(BatchRecord.Fate.TO_WRITE);
                    if (record.fate() == BatchRecord.Fate.LANDED) {
                        assertThat(written).contains(record);
                    }
                }
            }
        }
    }
}
