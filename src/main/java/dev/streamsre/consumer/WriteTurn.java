package dev.streamsre.consumer;

import io.smallrye.mutiny.Uni;

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
}
