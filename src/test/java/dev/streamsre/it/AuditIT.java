package dev.streamsre.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The reconciler catches what it exists to catch. A consumer drains a stream with duplicates and
 * poison through the real broker into the real PostgreSQL, auditing every few seconds; then each
 * fault is injected by hand, as an operator or a bug could, and must show in the consumer's
 * {@code reconcile_unaccounted_records} within an audit interval and in audit mode's report, with
 * the partition and the offsets concerned.
 */
class AuditIT {

    private static final int PARTITIONS = 3;
    private static final Duration AUDIT_INTERVAL = Duration.ofSeconds(3);
    /** Detection within one interval, plus the audit's own run and a scrape. */
    private static final Duration DETECTION = AUDIT_INTERVAL.multipliedBy(2).plusSeconds(5);
    private static final Map<String, String> AUDITING = Map.of("STREAMSRE_AUDIT_INTERVAL", AUDIT_INTERVAL.toSeconds() + "s",
            "STREAMSRE_AUDIT_DEAD_LETTER_GRACE", "2s");

    private Pipeline pipeline;

    @BeforeEach
    void freshPipeline() {
        pipeline = Pipeline.fresh("it-audit", PARTITIONS);
    }

    @AfterEach
    void stopProcesses() {
        pipeline.close();
    }

    @Test
    void eachInjectedFaultIsReportedWithItsPartitionAndOffsetsWithinOneAuditInterval() {
        pipeline.produce(20_000, 2, 1);
        Pipeline.Expected expected = pipeline.expected();
        AppProcess consumer = pipeline.startConsumer(AUDITING);
        pipeline.awaitDrained(expected);
        awaitUnaccounted(consumer, "a clean drain", unaccounted -> unaccounted.size() == PARTITIONS
                && unaccounted.values().stream().allMatch(count -> count == 0));
        Pipeline.Audit clean = pipeline.audit(AUDITING);
        assertThat(clean.exitCode()).as("clean run:%n%s", clean.report()).isZero();
        assertThat(clean.report()).contains("every one of the " + String.format("%,d", expected.records()));

        // 1. A review and its ledger row deleted by hand, in partition 0.
        long landedOffset = PipelineState.count("SELECT min(source_offset) + 7 FROM processed_events WHERE source_partition = 0");
        landedOffset = PipelineState.count("SELECT min(source_offset) FROM processed_events WHERE source_partition = 0"
                + " AND source_offset >= " + landedOffset);
        PipelineState.execute("WITH gone AS (DELETE FROM processed_events WHERE source_partition = 0 AND source_offset = "
                + landedOffset + " RETURNING event_id) DELETE FROM reviews WHERE event_id IN (SELECT event_id FROM gone)");
        double seconds = awaitUnaccounted(consumer, "the deleted ledger row", unaccounted -> unaccounted.get(0) == 1);
        assertReported(0, "landed per a receipt, but no ledger row at its offset: 1 at offsets [" + landedOffset + "]", seconds);

        // 2. A receipt removed, from the middle of partition 1: the broker still holds its records.
        long receipt = PipelineState.count("SELECT id FROM partition_receipts WHERE partition = 1 ORDER BY first_offset"
                + " OFFSET 2 LIMIT 1");
        long first = PipelineState.count("SELECT first_offset FROM partition_receipts WHERE id = " + receipt);
        long last = PipelineState.count("SELECT last_offset FROM partition_receipts WHERE id = " + receipt);
        PipelineState.execute("DELETE FROM partition_receipts WHERE id = " + receipt);
        seconds = awaitUnaccounted(consumer, "the deleted receipt", unaccounted -> unaccounted.get(1) == last - first + 1);
        assertReported(1, "records Kafka holds below the committed offset that no receipt covers: " + (last - first + 1)
                + " at offsets [" + first + ", ", seconds);

        // 3. A dead letter deleted from dlq_events, in partition 2.
        long deadLetter = PipelineState.count("SELECT min(source_offset) FROM dlq_events WHERE source_partition = 2");
        PipelineState.execute("DELETE FROM dlq_events WHERE source_partition = 2 AND source_offset = " + deadLetter);
        seconds = awaitUnaccounted(consumer, "the deleted dead letter", unaccounted -> unaccounted.get(2) == 1);
        assertReported(2, "dead-lettered per a receipt, but no dlq_events row: 1 at offsets [" + deadLetter + "]", seconds);

        // 4. The group's offsets reset forward past unread records, with Kafka's own tool.
        assertThat(pipeline.stop(consumer).exitCode()).isZero();
        Map<Integer, Long> before = PipelineState.committedOffsets(pipeline.group()).entrySet().stream()
                .collect(java.util.stream.Collectors.toMap(entry -> entry.getKey().partition(), Map.Entry::getValue));
        pipeline.produce(3_000, 0, 0);
        // The consumer does not leave the group as it closes (a restart must not rebalance): the
        // tool resets only an empty group, once the member's session has timed out.
        PipelineState.await("the group empty", Duration.ofSeconds(60), () -> groupState().equalsIgnoreCase("empty"));
        TestInfrastructure.infra("kafka", "consumer-groups", "--bootstrap-server", TestInfrastructure.bootstrapServers(),
                "--group", pipeline.group(), "--topic", pipeline.topic(), "--reset-offsets", "--shift-by", "100", "--execute");
        Map<Integer, Long> reset = PipelineState.committedOffsets(pipeline.group()).entrySet().stream()
                .collect(java.util.stream.Collectors.toMap(entry -> entry.getKey().partition(), Map.Entry::getValue));
        for (int partition = 0; partition < PARTITIONS; partition++) {
            assertThat(reset.get(partition)).as("partition %d reset forward", partition).isEqualTo(before.get(partition) + 100);
        }
        AppProcess resumed = pipeline.startConsumer(AUDITING);
        PipelineState.await("the rest drained", Duration.ofMinutes(2), () -> pipeline.lag() == 0);
        // A consumer's first audit comes 10 s after its start (ScheduledAudit), then one per interval.
        seconds = awaitUnaccounted(resumed, "the skipped records", DETECTION.plusSeconds(10),
                unaccounted -> unaccounted.get(0) == 101 && unaccounted.get(1) == last - first + 101 && unaccounted.get(2) == 101);
        for (int partition = 0; partition < PARTITIONS; partition++) {
            long from = before.get(partition);
            assertReported(partition, "no receipt covers offsets " + from + ".." + (from + 99), seconds);
        }
        Pipeline.Audit all = pipeline.audit(AUDITING);
        assertThat(all.exitCode()).as("audit mode's verdict:%n%s", all.report()).isEqualTo(1);
        // As the report writes it: with the locale's grouping once there are a thousand or more.
        assertThat(all.report()).contains(String.format("UNACCOUNTED: %,d records", 3 + last - first + 300));
        System.out.printf("audit, all four faults (%.1f s):%n%s", all.seconds(), all.report());
    }

    private String groupState() {
        try {
            return TestInfrastructure.sharedAdmin().describeConsumerGroups(java.util.List.of(pipeline.group())).all().get()
                    .get(pipeline.group()).groupState().toString();
        } catch (Exception e) {
            return "unknown: " + e;
        }
    }

    /** Runs audit mode and checks that it names the partition and the finding; prints both. */
    private void assertReported(int partition, String finding, double detectedAfter) {
        Pipeline.Audit audit = pipeline.audit(AUDITING);
        assertThat(audit.exitCode()).as("audit mode's verdict:%n%s", audit.report()).isEqualTo(1);
        java.util.List<String> findings = audit.report().lines()
                .filter(line -> line.startsWith("  partition " + partition + ": ")).toList();
        assertThat(findings).as("partition %d's findings in:%n%s", partition, audit.report())
                .anyMatch(line -> line.contains(finding));
        System.out.printf("detected in %.1f s, partition %d: %s%n", detectedAfter, partition,
                findings.stream().filter(line -> line.contains(finding)).findFirst().orElseThrow());
    }

    /** Waits until the consumer's reconcile_unaccounted_records per partition satisfy {@code until}; returns the seconds waited. */
    private double awaitUnaccounted(AppProcess consumer, String what, java.util.function.Predicate<Map<Integer, Long>> until) {
        return awaitUnaccounted(consumer, what, DETECTION, until);
    }

    private double awaitUnaccounted(AppProcess consumer, String what, Duration within,
            java.util.function.Predicate<Map<Integer, Long>> until) {
        long started = System.nanoTime();
        Map<Integer, Long>[] last = new Map[] {Map.of()};
        PipelineState.await("reconcile_unaccounted_records after " + what, within.plusSeconds(60), () -> {
            last[0] = unaccounted(consumer.get("/q/metrics"));
            return last[0].size() == PARTITIONS && until.test(last[0]);
        }, () -> "reconcile_unaccounted_records=" + last[0]);
        double seconds = (System.nanoTime() - started) / 1e9;
        assertThat(seconds).as("detected within one audit interval (plus its run and a scrape)")
                .isLessThan(within.toSeconds());
        return seconds;
    }

    private Map<Integer, Long> unaccounted(String metrics) {
        Map<Integer, Long> values = new HashMap<>();
        Matcher matcher = Pattern.compile("^reconcile_unaccounted_records\\{([^}]*)\\} (\\S+)$", Pattern.MULTILINE).matcher(metrics);
        while (matcher.find()) {
            if (matcher.group(1).contains("topic=\"" + pipeline.topic() + "\"")) {
                Matcher partition = Pattern.compile("partition=\"(\\d+)\"").matcher(matcher.group(1));
                partition.find();
                values.put(Integer.parseInt(partition.group(1)), (long) Double.parseDouble(matcher.group(2)));
            }
        }
        return values;
    }
}
