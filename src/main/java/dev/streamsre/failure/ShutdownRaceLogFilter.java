package dev.streamsre.failure;

import io.quarkus.logging.LoggingFilter;
import java.util.function.BooleanSupplier;
import java.util.logging.Filter;
import java.util.logging.LogRecord;
import org.apache.kafka.common.errors.WakeupException;
import org.jboss.logmanager.Level;

/**
 * Turns one known connector race at shutdown from ERROR into WARN, and nothing else.
 *
 * <p>When the group assigns partitions to one of our consumers while the connector is closing it
 * (a rebalance caused by another member joining, leaving or expiring), the throttled commit
 * strategy looks up the committed offsets of the new partitions on the closing Kafka consumer. The
 * lookup fails ({@link WakeupException}, or "This consumer has already been closed"), the connector
 * reports it into the channel's stream, and SmallRye logs it as SRMSG00201 "[Error Occurred After
 * Shutdown]" against {@code EventConsumer#consume}, which never fails by itself (and Mutiny, when
 * that stream is already cancelled, as a dropped exception). Nothing is lost:
 * those partitions' records are uncommitted and go to their next owner. The race is in the
 * connector and cannot be avoided from outside it; this keeps an unactionable line out of ERROR
 * alerting while leaving it in the log.
 */
@LoggingFilter(name = "shutdown-race")
public final class ShutdownRaceLogFilter implements Filter {

    private final BooleanSupplier stopping;

    public ShutdownRaceLogFilter() {
        this(ShutdownSignal::isStopping);
    }

    ShutdownRaceLogFilter(BooleanSupplier stopping) {
        this.stopping = stopping;
    }

    @Override
    public boolean isLoggable(LogRecord record) {
        if (record.getLevel().intValue() >= Level.ERROR.intValue() && stopping.getAsBoolean()
                && isReportOfAFailure(record) && isCloseRace(record.getThrown())) {
            record.setLevel(Level.WARN);
        }
        return true;
    }

    /**
     * The two places the failed lookup surfaces: SmallRye's report against the consuming method,
     * and Mutiny's handler for a failure no subscriber took any more (the same exception, reported
     * a second time when the stream it would have gone to is already cancelled).
     */
    private static boolean isReportOfAFailure(LogRecord record) {
        String message = String.valueOf(record.getMessage());
        return "io.smallrye.reactive.messaging.provider".equals(record.getLoggerName()) && message.startsWith("SRMSG00201")
                || "io.quarkus.mutiny.runtime.MutinyInfrastructure".equals(record.getLoggerName())
                        && message.startsWith("Mutiny had to drop the following exception");
    }

    private static boolean isCloseRace(Throwable failure) {
        return failure instanceof WakeupException || failure instanceof IllegalStateException
                && String.valueOf(failure.getMessage()).contains("consumer has already been closed");
    }
}
