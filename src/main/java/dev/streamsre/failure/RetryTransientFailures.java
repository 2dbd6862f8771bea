package dev.streamsre.failure;

import java.util.function.Predicate;

/**
 * Retry predicate for {@code @RetryWhen}: retry what the dependency caused, never what the record
 * caused, and never once shutdown has begun (the record stays uncommitted and is redelivered).
 */
public class RetryTransientFailures implements Predicate<Throwable> {

    @Override
    public boolean test(Throwable failure) {
        // A write whose earlier write failed cannot succeed by trying again: that write will not commit.
        return FailureClassifier.isTransient(failure) && !(failure instanceof EarlierWriteFailedException)
                && !ShutdownSignal.isStopping();
    }
}
