package dev.streamsre.drill;

import dev.streamsre.it.AppProcess;
import dev.streamsre.it.Pipeline;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Many graceful stops at random moments under load with poison, to prove the stop is clean every
 * time, not usually: a race that shows once in fifty stops passes a CI test of twenty most days.
 * Each consumer is started (the image's JVM settings), left running for a random 0.2..4 s (from
 * partitions still being assigned to well into the stream), sent SIGTERM, and must exit 0 within
 * the 10 s grace period with no ERROR line. The run ends with the exact-drain check: every distinct
 * event once in reviews and the ledger, every poison record once in dlq_events.
 *
 * <p>Run by {@code bin/soak-stops [STOPS]} (default 200), which starts the local stack. A soak, not
 * a CI test: 200 stops take about half an hour on two cores.
 */
public final class StopSoak {

    private static final Duration GRACE_PERIOD = Duration.ofSeconds(10);
    /** The images' JVM settings, so the soak stops what production runs. */
    private static final List<String> IMAGE_JVM_OPTIONS = AppProcess.IMAGE_JVM_OPTIONS;

    private StopSoak() {
    }

    public static void main(String[] args) {
        int stops = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        long seed = args.length > 1 ? Long.parseLong(args[1]) : System.nanoTime();
        Random random = new Random(seed);
        List<String> failures = new ArrayList<>();
        double maxSeconds = 0;
        double totalSeconds = 0;
        long errorLines = 0;
        try (Pipeline pipeline = Pipeline.fresh("soak-stops", 6)) {
            AppProcess producer = pipeline.start("producer", Map.of("KAFKA_TOPIC", pipeline.topic(), "RATE_PER_SEC",
                    "4000", "DURATION", "0", "DUPLICATE_PCT", "2", "POISON_PCT", "1"));
            System.out.printf("soak: %d stops at random moments, producer at 4,000 events/s with 1 %% poison (seed %d)%n",
                    stops, seed);
            for (int stop = 1; stop <= stops; stop++) {
                Pipeline.Stop result = pipeline.startAndStopAtRandomMoment(random, IMAGE_JVM_OPTIONS);
                maxSeconds = Math.max(maxSeconds, result.seconds());
                totalSeconds += result.seconds();
                errorLines += result.errors().size();
                if (result.exitCode() != 0 || result.seconds() >= GRACE_PERIOD.toSeconds() || !result.errors().isEmpty()) {
                    failures.add(String.format("stop %d: exit %d after %.1f s, %d ERROR line(s)%s", stop,
                            result.exitCode(), result.seconds(), result.errors().size(), result.errors().isEmpty() ? ""
                                    : ":\n  " + String.join("\n  ", result.errors())));
                }
                if (stop % 10 == 0 || stop == stops) {
                    System.out.printf("soak: %d/%d stops, max %.2f s, mean %.2f s, ERROR lines %d, failed stops %d%n",
                            stop, stops, maxSeconds, totalSeconds / stop, errorLines, failures.size());
                }
            }
            producer.terminate();
            producer.awaitExit(Duration.ofSeconds(30));
            Pipeline.Expected expected = pipeline.expected();
            pipeline.startConsumer(Map.of(), IMAGE_JVM_OPTIONS);
            pipeline.awaitDrained(expected, Duration.ofMinutes(10));
            long copies = pipeline.assertExactly(expected);
            System.out.printf("soak: %,d records, %,d distinct events landed once, %,d dead letters once in dlq_events"
                    + " (%,d copies in the DLQ topic): exact%n", expected.records(), expected.events().size(),
                    expected.poison(), copies);
        } catch (AssertionError e) {
            failures.add("final drain: " + e.getMessage());
        }
        System.out.printf("soak: %d stops, max %.2f s, mean %.2f s, ERROR lines %d; %s%n", stops, maxSeconds,
                totalSeconds / stops, errorLines, failures.isEmpty() ? "all clean" : failures.size() + " FAILED");
        failures.forEach(System.out::println);
        System.exit(failures.isEmpty() ? 0 : 1);
    }
}
