package dev.streamsre.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamsre.drill.Drill;
import dev.streamsre.drill.Drills;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Two of {@code bin/drill}'s drills, end to end in their short form, on the build's broker: the
 * alert must fire in a real Prometheus evaluating the repository's rules, be delivered by a real
 * Alertmanager running the repository's alertmanager.yml to the receiver of its severity (a
 * webhook here), resolve after the runbook's mitigation, the Watchdog must arrive too, and the
 * ledger must hold. The report is
 * printed, so CI's log shows the timeline.
 */
class DrillIT {

    @ParameterizedTest(name = "bin/drill {0} --short")
    @ValueSource(strings = { "poison", "consumer-crash" })
    void theDrillsAlertFiresAndResolvesAndNothingIsLost(String name) throws Exception {
        Drill.Result result = Drill.run(Drills.named(name), true, Path.of("target", "drill-reports"));

        String report = Files.readString(result.report());
        System.out.println(report);
        assertThat(result.passed()).as(report).isTrue();
        assertThat(report).contains("| lost | doubled |").contains("Result: **PASSED**");
    }
}
