package dev.streamsre.event;

/**
 * The sizes a valid event may have. They exist so that an event the codec accepts is one
 * PostgreSQL accepts too: {@code key} and {@code review_id} are indexed, and a B-tree index row
 * holds at most 2,704 bytes, so a longer value makes the database refuse the whole batch.
 *
 * <p>Lengths count UTF-16 characters ({@link String#length()}); one character is at most 3 bytes
 * of UTF-8 (a surrogate pair, two characters, is 4), so {@value #MAX_INDEXED_LENGTH} characters
 * are always under the index limit with room for the row header.
 *
 * @param maxEventBytes     largest record value, in bytes ({@code oversize} above it)
 * @param maxKeyLength      longest {@code key} ({@code reviews.user_key}, kept indexable)
 * @param maxReviewIdLength longest {@code payload.review_id} ({@code reviews} primary key)
 * @param maxTextLength     longest {@code payload.text} (not indexed; bounds row size)
 */
public record EventLimits(int maxEventBytes, int maxKeyLength, int maxReviewIdLength, int maxTextLength) {

    /** The longest value an indexed text column can take whatever its characters: 880 x 3 bytes + header. */
    public static final int MAX_INDEXED_LENGTH = 880;

    public static final EventLimits DEFAULT = new EventLimits(256 * 1024, 512, 512, 65_536);

    public EventLimits {
        requirePositive("max-event-bytes", maxEventBytes);
        requirePositive("max-key-length", maxKeyLength);
        requirePositive("max-review-id-length", maxReviewIdLength);
        requirePositive("max-text-length", maxTextLength);
        if (maxKeyLength > MAX_INDEXED_LENGTH || maxReviewIdLength > MAX_INDEXED_LENGTH) {
            throw new IllegalArgumentException("max-key-length and max-review-id-length must be at most "
                    + MAX_INDEXED_LENGTH + " (longer values do not fit a PostgreSQL B-tree index row), got "
                    + maxKeyLength + " and " + maxReviewIdLength);
        }
    }

    private static void requirePositive(String setting, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(setting + " must be positive, got " + value);
        }
    }
}
