package dev.streamsre.consumer;

import dev.streamsre.config.InvalidConfigurationException;
import dev.streamsre.event.EventLimits;

/** Checks consumer mode's settings at start, so a bad value fails the start with a message naming it. */
final class ConsumerSettings {

    private ConsumerSettings() {
    }

    static void check(ConsumerConfig config) {
        if (config.rateLimit() < 0) {
            throw new InvalidConfigurationException("streamsre.consumer.rate-limit (CONSUMER_RATE_LIMIT) must be"
                    + " 0 (no limit) or a positive number of events per second, got " + config.rateLimit());
        }
        if (config.deadLetterLogInterval().isNegative()) {
            throw new InvalidConfigurationException("streamsre.consumer.dead-letter-log-interval must be 0 (log every"
                    + " dead letter) or a positive duration, got " + config.deadLetterLogInterval());
        }
        if (config.dedupeHorizon().isNegative()) {
            throw new InvalidConfigurationException("streamsre.consumer.dedupe-horizon must be 0 (keep the ledger"
                    + " forever) or a positive duration longer than the topic's retention, got " + config.dedupeHorizon());
        }
        if (config.dlqRetention().isNegative()) {
            throw new InvalidConfigurationException("streamsre.consumer.dlq-retention must be 0 (keep dead letters"
                    + " forever) or a positive duration, got " + config.dlqRetention());
        }
        if (config.maxAttempts() < 1) {
            throw new InvalidConfigurationException("streamsre.consumer.max-attempts must be at least 1, got "
                    + config.maxAttempts());
        }
        positive("streamsre.consumer.max-event-bytes", config.maxEventBytes());
        positive("streamsre.consumer.max-text-length", config.maxTextLength());
        indexed("streamsre.consumer.max-key-length", config.maxKeyLength());
        indexed("streamsre.consumer.max-review-id-length", config.maxReviewIdLength());
    }

    private static void positive(String setting, int value) {
        if (value <= 0) {
            throw new InvalidConfigurationException(setting + " must be positive, got " + value);
        }
    }

    private static void indexed(String setting, int value) {
        if (value <= 0 || value > EventLimits.MAX_INDEXED_LENGTH) {
            throw new InvalidConfigurationException(setting + " must be between 1 and " + EventLimits.MAX_INDEXED_LENGTH
                    + " (the column is indexed, and a PostgreSQL B-tree index row holds at most 2,704 bytes), got "
                    + value);
        }
    }
}
