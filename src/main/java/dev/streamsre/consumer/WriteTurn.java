package dev.streamsre.consumer;

import io.smallrye.mutiny.Uni;
import java.util.concurrent.CompletableFuture;

/**
 * A write's turn to commit, as {@link KeyOrderedWriteScheduler} hands it to the writer: every
 * transaction that writes the batch's records commits only once every earlier write of the same keys
 * has committed. Readers see rows when they commit, so each key's events appear in offset order
 * while the writes of one key run on several connections at once.
 */
@FunctionalInterface
public interface WriteTurn {

    /** For a write that follows no one: commits at once. */
    WriteTurn ANY_TIME = () -> Uni.createFrom().voidItem();

    /**
     * Completes once every earlier write of this write's keys has committed; fails with
     * {@link dev.streamsre.failure.EarlierWriteFailedException} if one was left for redelivery.
     */
    Uni<Void> mayCommit();

    /**
     * The turn that comes when {@code earlier} completes, and fails with its failure. A subscriber
     * that stops waiting (a write that gives its locks up, {@link ReviewSink.OpenWrite#commitInTurn})
     * leaves {@code earlier} as it is: {@code Uni.createFrom().completionStage} would cancel it, and
     * with it the turn of every later wait.
     */
    static WriteTurn after(CompletableFuture<Void> earlier) {
        return () -> Uni.createFrom().emitter(emitter -> earlier.whenComplete((done, failure) -> {
            if (failure != null) {
                emitter.fail(failure);
            } else {
                emitter.complete(null);
            }
        }));
    }
}
