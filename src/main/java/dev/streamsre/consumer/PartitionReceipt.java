package dev.streamsre.consumer;

import io.vertx.mutiny.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * What one write settled for one partition of a batch: the offsets it covered and what became of
 * each record. It is written in the transaction that lands the batch's events
 * ({@link ReviewSink}), so "the receipt says landed" and "the ledger row is there" commit together,
 * and the reconciler (dev.streamsre.audit) can prove every offset read accounted for.
 *
 * <p>Landed records are not listed: they are every offset of the range that is not a duplicate, a
 * dead letter or skipped by Kafka, and each has its ledger row at that offset. Only the exceptions
 * are listed, so a receipt stays one small row whatever the batch size.
 */
record PartitionReceipt(String topic, int partition, long firstOffset, long lastOffset, int landed,
        List<Long> duplicateOffsets, List<Long> deadLetterOffsets, List<Long> replayDeadLetterOffsets,
        List<Long> replayDeadLetterEntries, String skippedOffsets) {

    static final String INSERT = """
            INSERT INTO partition_receipts (topic, partition, first_offset, last_offset, landed, duplicates,
                                            dead_lettered, duplicate_offsets, dead_letter_offsets,
                                            replay_dead_letter_offsets, replay_dead_letter_entries, skipped_offsets)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::text::int8multirange)""";

    /**
     * One receipt per partition of the batch, with each record's fate as {@code fate} says (the
     * fates this write is about to commit). Records with no Kafka record behind them (warm-up,
     * probes, component tests) have no receipt.
     *
     * @param batch every record of the batch, in the order read (per partition, offset order)
     */
    static List<PartitionReceipt> of(List<BatchRecord> batch, Function<BatchRecord, BatchRecord.Fate> fate) {
        Map<Integer, Builder> byPartition = new LinkedHashMap<>();
        for (BatchRecord record : batch) {
            if (record.kafkaRecord() == null) {
                continue;
            }
            byPartition.computeIfAbsent(record.partition(), partition -> new Builder(record.kafkaRecord().getTopic(), partition))
                    .add(record, fate.apply(record));
        }
        List<PartitionReceipt> receipts = new ArrayList<>(byPartition.size());
        for (Builder builder : byPartition.values()) {
            receipts.add(builder.build());
        }
        return receipts;
    }

    Tuple arguments() {
        return Tuple.tuple(List.of(topic, partition, firstOffset, lastOffset, landed, duplicateOffsets.size(),
                deadLetterOffsets.size() + replayDeadLetterOffsets.size(), duplicateOffsets.toArray(Long[]::new),
                deadLetterOffsets.toArray(Long[]::new), replayDeadLetterOffsets.toArray(Long[]::new),
                replayDeadLetterEntries.toArray(Long[]::new), skippedOffsets));
    }

    private static final class Builder {
        private final String topic;
        private final int partition;
        private long first = -1;
        private long last = -1;
        private int landed;
        private final List<Long> duplicates = new ArrayList<>();
        private final List<Long> deadLetters = new ArrayList<>();
        private final List<Long> replayDeadLetters = new ArrayList<>();
        private final List<Long> replayEntries = new ArrayList<>();
        private final StringBuilder skipped = new StringBuilder();

        Builder(String topic, int partition) {
            this.topic = topic;
            this.partition = partition;
        }

        void add(BatchRecord record, BatchRecord.Fate fate) {
            long offset = record.offset();
            if (first < 0) {
                first = offset;
            } else if (offset > last + 1) {
                // The fetch skipped these: Kafka's word that no record is to be read there.
                skipped.append(skipped.isEmpty() ? "" : ",").append('[').append(last + 1).append(',').append(offset).append(')');
            }
            last = offset;
            switch (fate) {
                case LANDED -> landed++;
                case DUPLICATE -> duplicates.add(offset);
                case DEAD_LETTER -> {
                    Long entry = DeadLetterOffice.replayedEntry(record);
                    if (entry == null) {
                        deadLetters.add(offset);
                    } else {
                        replayDeadLetters.add(offset);
                        replayEntries.add(entry);
                    }
                }
                case TO_WRITE -> throw new IllegalStateException("a receipt for an unsettled record at offset " + offset);
            }
        }

        PartitionReceipt build() {
            return new PartitionReceipt(topic, partition, first, last, landed, duplicates, deadLetters, replayDeadLetters,
                    replayEntries, "{" + skipped + "}");
        }
    }
}
