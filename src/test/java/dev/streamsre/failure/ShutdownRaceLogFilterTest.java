package dev.streamsre.failure;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.logging.LogRecord;
import org.apache.kafka.common.errors.WakeupException;
import org.jboss.logmanager.Level;
import org.junit.jupiter.api.Test;

class ShutdownRaceLogFilterTest {

    private static LogRecord record(String logger, String message, Throwable thrown) {
        LogRecord record = new LogRecord(Level.ERROR, message);
        record.setLoggerName(logger);
        record.setThrown(thrown);
        return record;
    }

    private static final String PROVIDER = "io.smallrye.reactive.messaging.provider";
    private static final String RACE = "SRMSG00201: Error caught while processing a message in method consume";

    @Test
    void theConnectorsCloseRaceAfterShutdownIsAWarning() {
        ShutdownRaceLogFilter filter = new ShutdownRaceLogFilter(() -> true);
        for (Throwable race : new Throwable[] {new WakeupException(),
                new IllegalStateException("This consumer has already been closed.")}) {
            LogRecord record = record(PROVIDER, RACE, race);
            assertThat(filter.isLoggable(record)).as("still logged").isTrue();
            assertThat(record.getLevel()).isEqualTo(Level.WARN);
        }
    }

    @Test
    void mutinysReportOfTheSameDroppedFailureIsAWarningToo() {
        LogRecord record = record("io.quarkus.mutiny.runtime.MutinyInfrastructure",
                "Mutiny had to drop the following exception", new IllegalStateException("This consumer has already been closed."));

        assertThat(new ShutdownRaceLogFilter(() -> true).isLoggable(record)).isTrue();
        assertThat(record.getLevel()).isEqualTo(Level.WARN);

        LogRecord otherDropped = record("io.quarkus.mutiny.runtime.MutinyInfrastructure",
                "Mutiny had to drop the following exception", new IllegalStateException("boom"));
        new ShutdownRaceLogFilter(() -> true).isLoggable(otherDropped);
        assertThat(otherDropped.getLevel()).isEqualTo(Level.ERROR);
    }

    @Test
    void everyOtherErrorStaysAnError() {
        ShutdownRaceLogFilter running = new ShutdownRaceLogFilter(() -> false);
        ShutdownRaceLogFilter stopping = new ShutdownRaceLogFilter(() -> true);
        LogRecord beforeShutdown = record(PROVIDER, RACE, new WakeupException());
        LogRecord otherFailure = record(PROVIDER, RACE, new IllegalStateException("boom"));
        LogRecord otherMessage = record(PROVIDER, "SRMSG00200: something else", new WakeupException());
        LogRecord otherLogger = record("dev.streamsre.consumer.EventConsumer", RACE, new WakeupException());

        running.isLoggable(beforeShutdown);
        stopping.isLoggable(otherFailure);
        stopping.isLoggable(otherMessage);
        stopping.isLoggable(otherLogger);

        for (LogRecord record : new LogRecord[] {beforeShutdown, otherFailure, otherMessage, otherLogger}) {
            assertThat(record.getLevel()).as(record.getMessage()).isEqualTo(Level.ERROR);
        }
    }
}
