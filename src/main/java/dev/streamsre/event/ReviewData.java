package dev.streamsre.event;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.quarkus.runtime.annotations.RegisterForReflection;
import java.util.Objects;

/**
 * The payload of a {@code review_created} event: the row that lands in {@code reviews}.
 *
 * @param reviewId business id of the review; a second event claiming it is a conflict, not an update
 * @param rating stars, 1 to 5
 * @param text free text, may be empty
 */
// Written by Jackson through its accessors: a native image keeps them only when registered.
@RegisterForReflection
@JsonPropertyOrder({"review_id", "rating", "text"})
public record ReviewData(
        @JsonProperty("review_id") String reviewId,
        @JsonProperty("rating") int rating,
        @JsonProperty("text") String text) {

    public static final int MIN_RATING = 1;
    public static final int MAX_RATING = 5;

    public ReviewData {
        Objects.requireNonNull(reviewId, "reviewId");
        Objects.requireNonNull(text, "text");
    }
}
