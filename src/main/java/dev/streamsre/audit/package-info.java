/**
 * The proof that nothing was lost or doubled, offset by offset. Each write of the consumer records
 * receipts in its own transaction (dev.streamsre.consumer.PartitionReceipt); here they are checked:
 * {@link dev.streamsre.audit.Reconciler} joins the group's committed offsets (Kafka) with the
 * receipts, the ledger and {@code dlq_events} (PostgreSQL), and asks the broker about the holes
 * ({@link dev.streamsre.audit.BrokerGapCheck}); {@link dev.streamsre.audit.AuditReport} is what it
 * found. {@link dev.streamsre.audit.AuditMode} runs it once (audit mode), and
 * {@link dev.streamsre.audit.ScheduledAudit} on a schedule in consumer mode, with its metrics.
 */
package dev.streamsre.audit;
