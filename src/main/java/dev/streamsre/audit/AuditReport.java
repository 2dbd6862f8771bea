package dev.streamsre.audit;

import java.time.Duration;
import java.util.List;

/**
 * What one audit found, partition by partition: the window it checked, what the receipts claim,
 * what PostgreSQL and the broker hold, and every offset that is not accounted for. Rendered as the
 * report audit mode prints and the drills attach.
 */
public record AuditReport(String topic, String groupId, List<PartitionAudit> partitions, Duration took) {

    /** Records read and committed that no row proves: the figure that pages. */
    public long unaccounted() {
        return partitions.stream().mapToLong(PartitionAudit::unaccounted).sum();
    }

    /** Offsets checked (from the start of each window to the committed offset). */
    public long offsetsAudited() {
        return partitions.stream().mapToLong(PartitionAudit::offsets).sum();
    }

    public String render() {
        StringBuilder out = new StringBuilder();
        out.append(String.format("audit of topic %s, group %s: %,d offsets in %d partitions, %,d unaccounted (%.1f s)%n",
                topic, groupId, offsetsAudited(), partitions.size(), unaccounted(), took.toMillis() / 1000.0));
        out.append(String.format("%-9s %12s %12s %10s %10s %9s %9s %9s %8s %11s %8s%n", "partition", "from", "committed",
                "landed", "ledger", "dupes", "dead", "dlq_rows", "skipped", "unaccounted", "pending"));
        for (PartitionAudit p : partitions) {
            out.append(String.format("%-9d %12d %12d %10d %10d %9d %9d %9d %8d %11d %8d%n", p.partition(), p.from(),
                    p.committed(), p.landedClaims(), p.ledgerRows(), p.duplicates(), p.deadLetterClaims(), p.dlqRows(),
                    p.skippedByKafka(), p.unaccounted(), p.pending()));
        }
        for (PartitionAudit p : partitions) {
            for (Finding finding : p.findings()) {
                out.append(String.format("  partition %d: %s%n", p.partition(), finding.describe()));
            }
        }
        out.append(unaccounted() == 0
                ? String.format("every one of the %,d offsets read is accounted for%n", offsetsAudited())
                : String.format("UNACCOUNTED: %,d records (see the findings above and runbooks/StreamSREUnaccountedRecords.md)%n",
                        unaccounted()));
        return out.toString();
    }

    /**
     * One partition's audit of the offsets {@code [from, committed)}.
     *
     * @param landedClaims offsets the receipts say landed
     * @param ledgerRows   processed_events rows read from the window
     * @param skippedByKafka offsets Kafka did not deliver (transaction markers, aborted or compacted records)
     * @param pending      dead letters younger than the grace, not yet in dlq_events
     */
    public record PartitionAudit(int partition, long from, long committed, long landedClaims, long ledgerRows,
            long duplicates, long deadLetterClaims, long dlqRows, long skippedByKafka, long unaccounted, long pending,
            List<Finding> findings) {

        public long offsets() {
            return Math.max(0, committed - from);
        }

        /**
         * This audit of an earlier range followed by {@code later}'s of a later one, as one (the
         * scheduled audit's scrub slice and tail): counts added, findings of both, the earlier's start.
         */
        PartitionAudit and(PartitionAudit later) {
            List<Finding> both = new java.util.ArrayList<>(findings);
            both.addAll(later.findings);
            return new PartitionAudit(partition, from, later.committed, landedClaims + later.landedClaims,
                    ledgerRows + later.ledgerRows, duplicates + later.duplicates, deadLetterClaims + later.deadLetterClaims,
                    dlqRows + later.dlqRows, skippedByKafka + later.skippedByKafka, unaccounted + later.unaccounted,
                    pending + later.pending, both);
        }

        /** Where the proof stops: the first offset of a finding, else the committed offset. */
        public long verifiedTo() {
            return findings.stream().mapToLong(Finding::firstOffset).min().orElse(committed);
        }

        public String summary() {
            return findings.isEmpty() ? "accounted" : String.join("; ", findings.stream().map(Finding::describe).toList());
        }
    }

    /** Something the proof found missing, with the offsets concerned (up to the listing limit). */
    public record Finding(Kind kind, long count, long firstOffset, List<Long> offsets, String note) {

        public String describe() {
            String listed = offsets.isEmpty() ? "" : " at offsets " + offsets + (count > offsets.size() ? " ..." : "");
            return String.format("%s: %,d%s%s", kind.label, count, listed, note.isEmpty() ? "" : " (" + note + ")");
        }
    }

    /** The kinds of finding, each the failure of one check. */
    public enum Kind {
        LANDED_WITHOUT_LEDGER_ROW("landed per a receipt, but no ledger row at its offset"),
        DEAD_LETTER_WITHOUT_ROW("dead-lettered per a receipt, but no dlq_events row"),
        DEAD_LETTER_PENDING("dead-lettered, not yet in dlq_events (within the grace)"),
        NO_RECEIPT("records Kafka holds below the committed offset that no receipt covers"),
        LOST_TO_RETENTION("offsets deleted by the topic's retention before the group read them");

        final String label;

        Kind(String label) {
            this.label = label;
        }
    }
}
