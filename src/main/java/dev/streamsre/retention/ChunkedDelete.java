package dev.streamsre.retention;

import dev.streamsre.failure.ShutdownSignal;
import io.micrometer.core.instrument.Timer;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.Tuple;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import java.util.function.ToIntFunction;

/**
 * Deletes rows a chunk at a time, each chunk its own short transaction, until a chunk comes back
 * short or shutdown begins: how the pruners keep a table bounded while the consumer writes to it.
 */
public final class ChunkedDelete {

    /** Rows per DELETE: small enough that a chunk is a short transaction, large enough to keep up. */
    public static final int CHUNK = 5_000;
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private ChunkedDelete() {
    }

    /**
     * Runs {@code sql} ({@code $1} the age in seconds, {@code $2} the chunk size) until fewer than
     * {@link #CHUNK} rows go; returns how many went. Throws on a database failure; what was deleted
     * stays deleted.
     */
    public static long olderThan(Pool pool, String sql, Duration age, Timer timer, LongConsumer eachChunk) {
        return run(pool, sql, Tuple.of((double) age.toSeconds(), CHUNK), RowSet::rowCount, timer, eachChunk);
    }

    /**
     * Like {@link #olderThan}, for a statement that does more than one DELETE (it also records how
     * far it pruned) and answers how many rows went as its one row's first column; {@code $3} is
     * {@code extra}.
     */
    public static long counted(Pool pool, String sql, Duration age, String extra, Timer timer, LongConsumer eachChunk) {
        return run(pool, sql, Tuple.of((double) age.toSeconds(), CHUNK, extra),
                rows -> rows.iterator().next().getLong(0).intValue(), timer, eachChunk);
    }

    private static long run(Pool pool, String sql, Tuple chunked, ToIntFunction<RowSet<Row>> deletedIn, Timer timer,
            LongConsumer eachChunk) {
        long total = 0;
        int deleted;
        do {
            long started = System.nanoTime();
            deleted = deletedIn.applyAsInt(pool.preparedQuery(sql).execute(chunked).await().atMost(TIMEOUT));
            timer.record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
            total += deleted;
            eachChunk.accept(deleted);
        } while (deleted == CHUNK && !ShutdownSignal.isStopping());
        return total;
    }
}
