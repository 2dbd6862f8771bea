package dev.streamsre.it;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** How ObservabilityIT reads an alert expression to check it against a real Prometheus. */
class AlertExpressionsTest {

    @Test
    void thresholdsAreNeutralisedButBoolComparisonsAndRangesStay() {
        assertThat(ObservabilityIT.neutraliseThresholds("max by (topic) (consumer_lag_seconds{job=\"c\"}) > 60"))
                .isEqualTo("max by (topic) (consumer_lag_seconds{job=\"c\"}) >= -Inf");
        assertThat(ObservabilityIT.neutraliseThresholds("max(x) > bool 5 and rate(y[5m]) == 1"))
                .isEqualTo("max(x) > bool 5 and rate(y[5m]) >= -Inf");
    }

    @Test
    void metricNamesLeaveOutFunctionsKeywordsLabelsAndGroupingLabels() {
        String consumerDown = """
                (
                  count by (namespace, job) (max_over_time(up{job="streamsre-consumer"}[1h]))
                  unless on (namespace, job)
                  count by (namespace, job) (up{job="streamsre-consumer"} == 1)
                )
                or
                absent(up{job="streamsre-consumer"})""";
        assertThat(ObservabilityIT.metricNames(consumerDown)).containsExactly("up");
        assertThat(ObservabilityIT.metricNames(
                "slo:burn_rate:rate1h > 14.4 and on (namespace, job, slo) slo:burn_rate:rate5m > 14.4"))
                .containsExactly("slo:burn_rate:rate1h", "slo:burn_rate:rate5m");
    }
}
