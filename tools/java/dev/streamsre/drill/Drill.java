package dev.streamsre.drill;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code bin/drill NAME [--short]}: runs a chaos drill against the local stack and writes its
 * report. Exits 0 when every alert the drill expects fired and resolved and the ledger holds
 * (nothing lost, nothing doubled); 1 otherwise; 2 on a usage error. {@code all} runs every drill.
 */
public final class Drill {

    private Drill() {
    }

    public static void main(String[] args) throws Exception {
        List<String> names = new ArrayList<>();
        boolean shortForm = false;
        for (String arg : args) {
            if (arg.equals("--short")) {
                shortForm = true;
            } else {
                names.add(arg);
            }
        }
        if (names.size() != 1) {
            System.err.println("usage: bin/drill NAME [--short]; NAME one of "
                    + Drills.ALL.stream().map(Drills.Scenario::name).toList() + " or all");
            System.exit(2);
        }
        List<Drills.Scenario> scenarios;
        try {
            scenarios = names.get(0).equals("all") ? Drills.ALL : List.of(Drills.named(names.get(0)));
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        // With KAFKA_BROKERS, the broker is the user's: no drill stops it.
        if (Boolean.getBoolean("drill.external.broker")) {
            if (names.get(0).equals("broker-restart")) {
                System.err.println("broker-restart stops and starts the broker bin/infra runs; with KAFKA_BROKERS the broker"
                        + " is yours, so this drill does not run against it");
                System.exit(2);
            }
            scenarios = scenarios.stream().filter(scenario -> {
                boolean ours = !scenario.name().equals("broker-restart");
                if (!ours) {
                    System.out.println("skipped: broker-restart (KAFKA_BROKERS: the broker is not bin/infra's to stop)");
                }
                return ours;
            }).toList();
        }
        Path directory = Path.of(System.getProperty("drill.reports", "drill-reports"));
        List<String> summary = new ArrayList<>();
        boolean allPassed = true;
        for (Drills.Scenario scenario : scenarios) {
            Result result = run(scenario, shortForm, directory);
            allPassed &= result.passed();
            summary.add(String.format("%-15s %s  %s", scenario.name(), result.passed() ? "PASSED" : "FAILED",
                    result.report()));
        }
        System.out.println();
        summary.forEach(System.out::println);
        System.exit(allPassed ? 0 : 1);
    }

    /** What a drill ended with: passed or not, and where its report is. */
    public record Result(boolean passed, Path report) {
    }

    /** Runs one drill to its end (its processes stopped) and writes its report. */
    public static Result run(Drills.Scenario scenario, boolean shortForm, Path directory) throws Exception {
        try (DrillRun run = new DrillRun(scenario.name(), shortForm)) {
            run.progress("fault: %s", scenario.fault());
            try {
                scenario.script().accept(run);
            } catch (RuntimeException | AssertionError e) {
                run.fail("drill stopped: " + e);
            }
            run.checkAlertChain(scenario.alerts(), scenario.symptoms());
            Path report = run.writeReport(directory, scenario.fault(), scenario.mitigation(), scenario.alerts(),
                    scenario.symptoms());
            run.progress("%s; report: %s", run.passed() ? "PASSED" : "FAILED", report.toAbsolutePath());
            return new Result(run.passed(), report.toAbsolutePath());
        }
    }
}
