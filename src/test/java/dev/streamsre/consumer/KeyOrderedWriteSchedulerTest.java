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
 * The scheduler's promises, checked over random runs: no key's writes are reordered where readers
 * see them (a write commits only once every earlier record of its keys has been written, though it
 * may start before), two writes running at once never hold the same event or review id, the writes
 * always progress (some running write may always commit), and no offset is committed past a record
 * that is not safe. Each run models the connector: Kafka consumers that own partitions and hand
 * over batches in offset order while earlier ones are still being written, a hot key, redelivered
 * events and review ids claimed twice, poison found by triage and by the writer, writes that end in
 * any order their turns allow, and (in some runs) writes that fail as they do at shutdown. Commits
 * follow the throttled strategy: per partition, up to the first record not acknowledged.
 */
class KeyOrderedWriteSchedulerTest {

    @Property(tries = 400)
    void noKeyIsReorderedAndNoOffsetIsCommittedPastAnUnsafeRecord(@ForAll long seed,
            @ForAll @IntRange(min = 1, max = 4) int concurrency, @ForAll boolean failures) {
        new Run(new Random(seed), concurrency, failures).play();
    }

    @Example
    void aKeysNextWriteRunsAtOnceButCommitsOnlyAfterThePreviousOne() {
        List<PendingWrite> started = new ArrayList<>();
        KeyOrderedWriteScheduler scheduler = recording(started);
        // Two batches of one hot key, one after the other: both run, on two connections.
        CompletableFuture<Void> first = scheduler.schedule(batch(0, 0, "user:1", "user:1", "cold:7")).subscribeAsCompletionStage();
        CompletableFuture<Void> second = scheduler.schedule(batch(0, 3, "user:1", "cold:8")).subscribeAsCompletionStage();
        assertThat(started).hasSize(2);
        assertThat(started.get(0).turnCame()).isTrue();
        // The second may not commit before the first: its turn comes when the first has ended.
        assertThat(started.get(1).turnCame()).isFalse();
        scheduler.schedule(batch(1, 0, "user:3"));
        assertThat(started).as("no third connection").hasSize(2);
        started.get(0).succeed();
        assertThat(first).isCompleted();
        assertThat(started.get(1).turnCame()).isTrue();
        assertThat(started).hasSize(3);
        started.get(1).succeed();
        assertThat(second).isCompleted();
    }

    @Example
    void aBatchHoldingAnEventOfAWriteInFlightStartsOnlyOnceThatWriteHasEnded() {
        List<PendingWrite> started = new ArrayList<>();
        KeyOrderedWriteScheduler scheduler = recording(started);
        List<BatchRecord> first = batch(0, 0, "user:1", "cold:7");
        scheduler.schedule(first);
        // The same event again (a producer's retry), under its own key, in a batch of another partition.
        BatchRecord again = BatchRecord.synthetic(first.get(1).event(), 1, 0);
        scheduler.schedule(List.of(again));
        assertThat(started).as("its insert would wait for the first write's row").hasSize(1);
        started.get(0).succeed();
        assertThat(started).hasSize(2);
    }

    @Example
    void aFailedWriteFailsTheLaterWritesOfItsKeysWhetherRunningOrNot() {
        List<PendingWrite> started = new ArrayList<>();
        KeyOrderedWriteScheduler scheduler = recording(started);
        CompletableFuture<Void> first = scheduler.schedule(batch(0, 0, "user:1")).subscribeAsCompletionStage();
        CompletableFuture<Void> second = scheduler.schedule(batch(0, 1, "user:1")).subscribeAsCompletionStage();
        assertThat(started).hasSize(2);
        started.get(0).done.completeExceptionally(new IllegalStateException("retries stopped by shutdown"));
        // The second, running, is told through its turn; it rolls back and ends.
        assertThat(started.get(1).turnFailed()).isTrue();
        assertThat(second).isNotDone();
        started.get(1).done.completeExceptionally(new IllegalStateException("rolled back"));
        CompletableFuture<Void> third = scheduler.schedule(batch(0, 2, "user:1", "user:2")).subscribeAsCompletionStage();
        assertThat(first).isCompletedExceptionally();
        assertThat(second).isCompletedExceptionally();
        assertThat(third).isCompletedExceptionally();
        assertThat(started).hasSize(2);
    }

    /** A scheduler of two connections whose writes are added to {@code started} and end when the test says. */
    private static KeyOrderedWriteScheduler recording(List<PendingWrite> started) {
        return new KeyOrderedWriteScheduler(2, (records, turn) -> {
            PendingWrite write = new PendingWrite(records, turn);
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

    /** A write the test ends when it chooses, and its turn to commit. */
    private static final class PendingWrite {
        final List<BatchRecord> records;
        final CompletableFuture<Void> done = new CompletableFuture<>();
        final CompletableFuture<Void> turn;

        PendingWrite(List<BatchRecord> records, WriteTurn turn) {
            this.records = List.copyOf(records);
            this.turn = turn.mayCommit().subscribeAsCompletionStage();
        }

        boolean turnCame() {
            return turn.isDone() && !turn.isCompletedExceptionally();
        }

        boolean turnFailed() {
            return turn.isCompletedExceptionally();
        }

        /** Commits: only in its turn, as ReviewSink does. */
        void succeed() {
            assertThat(turnCame()).as("committed before its turn").isTrue();
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
        /** Records in a write that started and has not ended. */
        private final Set<BatchRecord> inRunningWrite = new HashSet<>();
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
            List<BatchRecord> all = new ArrayList<>();
            int events = 50 + random.nextInt(400);
            for (int i = 0; i < events; i++) {
                BatchRecord record;
                if (!all.isEmpty() && random.nextInt(20) == 0) {
                    // A redelivered event (a producer's retry): same event, same key, a later offset.
                    Event earlier = all.get(random.nextInt(all.size())).event();
                    int p = Math.floorMod(earlier.key().hashCode(), PARTITIONS);
                    record = BatchRecord.synthetic(earlier, p, partitions.get(p).size());
                } else {
                    // 80 % on three hot keys, as the seed's load; a key always lives on one partition.
                    String key = random.nextInt(10) < 8 ? hot[random.nextInt(hot.length)] : "cold:" + random.nextInt(40);
                    int p = Math.floorMod(key.hashCode(), PARTITIONS);
                    record = record(key, p, partitions.get(p).size());
                    if (!all.isEmpty() && random.nextInt(25) == 0) {
                        // A hostile producer: another event's review id, or another event's id with a
                        // review of its own, under this key.
                        Event other = all.get(random.nextInt(all.size())).event();
                        boolean sameId = random.nextBoolean();
                        record = BatchRecord.synthetic(Event.reviewCreated(sameId ? other.eventId() : UUID.randomUUID(), key,
                                Instant.EPOCH, new ReviewData(sameId ? "rev-" + UUID.randomUUID() : other.payload().reviewId(), 3,
                                        "")), p, record.offset());
                    }
                }
                if (random.nextInt(50) == 0) {
                    record.deadLetter(Poison.rejected(RejectReason.INVALID_JSON, "poison found by triage"));
                }
                partitions.get(record.partition()).add(record);
                all.add(record);
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
                // Progress: whatever else runs, some running write may end (commit, or roll back).
                List<PendingWrite> mayEnd = running.stream().filter(write -> write.turn.isDone()).toList();
                assertThat(running.isEmpty() || !mayEnd.isEmpty()).as("every running write waits for its turn").isTrue();
                if (canRead && (running.isEmpty() || random.nextInt(3) == 0)) {
                    List<Integer> consumer = owned.get(random.nextInt(owned.size()));
                    if (hasUnread(consumer)) {
                        handOver(consumer);
                    }
                } else if (failures && random.nextInt(15) == 0) {
                    // Shutdown stops a write's retries, whatever it was doing.
                    anyFailed = true;
                    end(running.get(random.nextInt(running.size())), new IllegalStateException("retries stopped by shutdown"));
                } else if (random.nextInt(25) == 0) {
                    // Every record of a write refused and dead-lettered by its isolation: the writer
                    // returns without having committed, whatever its turn.
                    refuseAll(running.get(random.nextInt(running.size())));
                } else {
                    PendingWrite write = mayEnd.get(random.nextInt(mayEnd.size()));
                    if (write.turnFailed()) {
                        // An earlier write of its keys was left for redelivery: it rolls back.
                        anyFailed = true;
                        end(write, new IllegalStateException("rolled back: an earlier write failed"));
                    } else {
                        commit(write);
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

        private void end(PendingWrite write, Throwable failure) {
            running.remove(write);
            inRunningWrite.removeAll(write.records);
            for (BatchRecord record : write.records) {
                failedFrom.merge(record.event().key(), record.offset(), Math::min);
            }
            write.done.completeExceptionally(failure);
        }

        private void refuseAll(PendingWrite write) {
            running.remove(write);
            inRunningWrite.removeAll(write.records);
            for (BatchRecord record : write.records) {
                record.deadLetter(Poison.reviewIdConflict(record.event().payload().reviewId()));
            }
            write.done.complete(null);
        }

        /** The write commits in its turn: by then every earlier record of its keys must be written. */
        private void commit(PendingWrite write) {
            running.remove(write);
            inRunningWrite.removeAll(write.records);
            for (BatchRecord record : write.records) {
                String key = record.event().key();
                assertThat(failedFrom.getOrDefault(key, Long.MAX_VALUE))
                        .as("%s at offset %d committed after an earlier record of its key was left unwritten", key,
                                record.offset())
                        .isGreaterThan(record.offset());
                for (BatchRecord earlier : partitions.get(record.partition())) {
                    if (earlier.offset() >= record.offset()) {
                        break;
                    }
                    if (earlier.event().key().equals(key) && !write.records.contains(earlier)) {
                        assertThat(earlier.fate()).as("%s at offset %d committed before offset %d", key, record.offset(),
                                earlier.offset()).isNotEqualTo(BatchRecord.Fate.TO_WRITE);
                    }
                }
            }
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

        private boolean hasUnread(List<Integer> consumer) {
            return consumer.stream().anyMatch(p -> read[p] < partitions.get(p).size());
        }

        /** A poll: up to a few dozen records from one or both of the consumer's partitions, each in offset order. */
        private void handOver(List<Integer> consumer) {
            List<BatchRecord> batch = new ArrayList<>();
            Set<UUID> inBatch = new HashSet<>();
            for (int p : consumer) {
                int take = random.nextInt(30);
                while (take-- > 0 && read[p] < partitions.get(p).size()) {
                    BatchRecord record = partitions.get(p).get(read[p]++);
                    if (record.toWrite() && !inBatch.add(record.event().eventId())) {
                        // Triage removes a batch's repeats before the scheduler sees it.
                        record.duplicate();
                    }
                    batch.add(record);
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

        /** The writer the scheduler calls: checks what a start may assume, then leaves the write running. */
        private Uni<Void> write(List<BatchRecord> batch, WriteTurn turn) {
            // The whole batch comes, for its receipts; the writer writes the records still to write.
            List<BatchRecord> records = batch.stream().filter(BatchRecord::toWrite).toList();
            try {
                checkStart(records);
            } catch (AssertionError violation) {
                // Thrown inside the scheduler, it would only fail the write: kept for the run to report.
                violations.add(violation);
            }
            PendingWrite write = new PendingWrite(records, turn);
            running.add(write);
            inRunningWrite.addAll(records);
            return Uni.createFrom().completionStage(write.done);
        }

        private void checkStart(List<BatchRecord> records) {
            writes++;
            assertThat(scheduler.running()).isLessThanOrEqualTo(concurrency);
            Set<UUID> events = new HashSet<>();
            Set<String> reviews = new HashSet<>();
            for (BatchRecord record : records) {
                String key = record.event().key();
                assertThat(record.toWrite()).as("written once").isTrue();
                events.add(record.event().eventId());
                reviews.add(record.event().payload().reviewId());
                // Every earlier record of the key is written already, or in a write that started.
                for (BatchRecord earlier : partitions.get(record.partition())) {
                    if (earlier.offset() >= record.offset()) {
                        break;
                    }
                    if (earlier.event().key().equals(key) && !records.contains(earlier)) {
                        assertThat(earlier.fate() != BatchRecord.Fate.TO_WRITE || inRunningWrite.contains(earlier))
                                .as("%s at offset %d started before the write of offset %d", key, record.offset(),
                                        earlier.offset()).isTrue();
                    }
                }
            }
            for (PendingWrite other : running) {
                for (BatchRecord record : other.records) {
                    assertThat(events).as("two writes of one event at once").doesNotContain(record.event().eventId());
                    assertThat(reviews).as("two writes of one review id at once").doesNotContain(record.event().payload().reviewId());
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
