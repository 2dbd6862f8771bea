package dev.streamsre.failure;

/**
 * Fails a write whose turn to commit never came: an earlier write of one of its keys was left for
 * redelivery (only at shutdown, once the retries stopped), so this one rolls back and is left too,
 * and no key's later event lands before an earlier one. Neither the record's fault nor worth a retry.
 */
public class EarlierWriteFailedException extends RuntimeException {

    public EarlierWriteFailedException(Throwable earlierFailure) {
        super("an earlier write of the same keys was left for redelivery: this one is left too", earlierFailure);
    }
}
