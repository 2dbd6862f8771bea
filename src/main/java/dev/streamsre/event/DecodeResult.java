package dev.streamsre.event;

/**
 * The outcome of decoding one record value: a valid event, or a typed reason it was rejected.
 * Decoding never throws for bad input; callers branch on this instead of catching exceptions.
 */
public sealed interface DecodeResult {

    /** The bytes were a valid event. */
    record Valid(Event event) implements DecodeResult {
    }

    /**
     * The bytes were rejected.
     *
     * @param reason the stable reason code
     * @param detail a human-readable explanation naming the field or position at fault
     */
    record Rejected(RejectReason reason, String detail) implements DecodeResult {
    }

    static DecodeResult rejected(RejectReason reason, String detail) {
        return new Rejected(reason, detail);
    }
}
