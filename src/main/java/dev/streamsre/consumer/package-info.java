/**
 * Consumer mode: the pipeline from a batch of the main topic to PostgreSQL and the DLQ. Read in
 * the order a record meets it:
 * <ol>
 *   <li>{@link dev.streamsre.consumer.EventConsumer}: takes a batch from the connector, waits for the
 *       rate limit and for room under max-inflight ({@link dev.streamsre.consumer.InflightRecords}),
 *       runs the stages below;</li>
 *   <li>{@link dev.streamsre.consumer.BatchRecord}: the one object per record that every stage
 *       reads and settles (to write, landed, duplicate, dead letter);</li>
 *   <li>{@link dev.streamsre.consumer.BatchTriage}: decodes the bytes; poison gets its
 *       {@link dev.streamsre.consumer.Poison} reason before anything touches the database;</li>
 *   <li>{@link dev.streamsre.consumer.KeyOrderedWriteScheduler}: starts the batch's write once every
 *       earlier unfinished write of its keys has started, on up to write-concurrency connections, and
 *       hands it its {@link dev.streamsre.consumer.WriteTurn}: it commits only after them;</li>
 *   <li>{@link dev.streamsre.consumer.IsolatingWriter}: writes the valid events and, when the
 *       database refuses a batch, finds the records at fault by halving it;</li>
 *   <li>{@link dev.streamsre.consumer.ReviewSink}: one transaction's statements (ledger, reviews, and
 *       the batch's {@link dev.streamsre.consumer.PartitionReceipt}s for the audit) with retries and
 *       the circuit breaker, then its COMMIT in its turn, outside them;
 *       {@link dev.streamsre.consumer.WriteRefusal} remembers a
 *       refusal every write meets (an outage, never poison);</li>
 *   <li>{@link dev.streamsre.consumer.DeadLetterOffice}: sends the batch's dead letters through
 *       {@link dev.streamsre.consumer.DeadLetterSender} and acknowledges the batch once each is safe.</li>
 * </ol>
 * Around them: {@link dev.streamsre.consumer.ConsumerLifecycle} (the mode's start and stop, the one
 * place the consumer checks the mode), {@link dev.streamsre.config.ConsumerSettings} (settings),
 * {@link dev.streamsre.consumer.ConsumerWarmUp} (the statements rehearsed before the first batch),
 * {@link dev.streamsre.consumer.IntakeStop} (graceful stop), {@link dev.streamsre.consumer.ConsumerRateLimiter}.
 * The DLQ topic's own reader, which records dead letters into {@code dlq_events}, is in
 * {@code dev.streamsre.deadletter}.
 */
package dev.streamsre.consumer;
