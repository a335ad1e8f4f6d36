/**
 * Sending a Writer's batches: one in flight per partition, each encoded
 * (compressed, then numbered with the producer id, epoch and sequence),
 * sent to the partition's leader and retried with the same bytes until its
 * delivery timeout. A batch refused for its records is split or trimmed
 * and sent again; every message of a batch settles with its outcome.
 *
 * @module
 */

import type { Cluster } from "../cluster/cluster.ts";
import { retry, type RetryOptions } from "../cluster/retry.ts";
import type { BrokerConnection } from "../connection/connection.ts";
import {
  abortReason,
  ClosedError,
  ThrottledError,
  TimeoutError,
  untilAborted,
  withinDeadline,
} from "../connection/errors.ts";
import type { MessageInput } from "../message.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { BATCH_HEADER_SIZE } from "../protocol/records.ts";
import { type PartitionOutcome, produceError } from "../requests/produce.ts";
import { loadCodec } from "../../codecs/mod.ts";
import type {
  BufferPool,
  EncodedBatch,
  OpenBatch,
  PartitionQueue,
} from "./batches.ts";
import { Compressor } from "./compressor.ts";
import type { ProducerId, ProducerIdentity } from "./idempotence.ts";
import type { ProduceSender } from "./sender.ts";
import { abortedError, type Transactions } from "./transaction.ts";

/** The Writer's counters since the last `stats()`. */
export type Counters = ReturnType<typeof newCounters>;

/** What delivery takes from the Writer's engine. */
export interface DeliveryHost {
  readonly cluster: Cluster;
  readonly sender: ProduceSender;
  readonly identity: ProducerIdentity;
  /** The transactions of a Writer with a transactionalId, or null. */
  readonly txn: Transactions | null;
  /** The compression codec's id (0: none) and level. */
  readonly codec: number;
  readonly compressionLevel?: number | undefined;
  /** The acks each Produce waits for (0, 1 or -1). */
  readonly acks: number;
  /** Connections per broker that Produce requests use. */
  readonly lanes: number;
  /** Milliseconds a Produce request may take. */
  readonly writeTimeout: number;
  /** Where sent batches' buffers go back. */
  readonly pool: BufferPool;
  /** Whether informational events are logged (each costs a string). */
  readonly logging: boolean;
  log(message: string): void;
  counters(): Counters;
  /** The bytes of settled messages leave the buffer. */
  release(bytes: number): void;
  retryOptions(
    what: string,
    deadline: number,
    onRetry?: (error: unknown) => void,
  ): RetryOptions;
  finalError(
    error: unknown,
    what: string,
    deadline: number,
    attempts?: number,
  ): Error;
  readonly completion?:
    | ((messages: MessageInput[], error: Error | null) => void)
    | undefined;
  /**
   * Aborted, with the reason, when the Writer gives up what it has not
   * delivered: no more retries, and requests in flight are not waited for.
   */
  readonly stopped: AbortSignal;
}

/** Sends the batches of the partition queues, one in flight per partition. */
export class Delivery {
  private readonly host: DeliveryHost;
  private readonly compressor = new Compressor();
  /** The sends in progress, one per partition at most. */
  readonly inFlight = new Set<Promise<void>>();

  constructor(host: DeliveryHost) {
    this.host = host;
  }

  /** Sends the queue's next batch if the partition has nothing in flight. */
  pump(queue: PartitionQueue): void {
    if (queue.inFlight || queue.length === 0) return;
    queue.inFlight = true;
    const task = this.sendFrom(queue).finally(() => {
      this.inFlight.delete(task);
      queue.inFlight = false;
      this.pump(queue);
    });
    this.inFlight.add(task);
  }

  private async sendFrom(queue: PartitionQueue): Promise<void> {
    // Microtask yield: let writes issued in the same tick join this batch.
    await Promise.resolve();
    const open = queue.take();
    if (open === undefined) return;
    const { topic, partition } = queue;
    const what = `deliver ${open.count} message${
      open.count === 1 ? "" : "s"
    } to ${topic}/${partition}`;
    if (this.host.stopped.aborted) {
      // Queued as the Writer gave up: never sent.
      this.failBatch(open, givenUp(this.host.stopped));
      return;
    }
    if (open.deadline <= Date.now()) {
      // Its time ran out while it waited behind earlier batches.
      const late = new TimeoutError("it waited behind earlier batches");
      this.failBatch(open, this.host.finalError(late, what, open.deadline));
      return;
    }
    let batch: EncodedBatch | undefined;
    try {
      if (this.host.txn) {
        if (this.host.txn.aborting) {
          this.failBatch(open, abortedError(this.host.txn.id));
          return;
        }
        // Into the transaction before its first batch goes out.
        const adding = this.host.txn.add(topic, partition);
        if (adding) await adding;
      }
      batch = await this.encode(queue, open);
      await this.deliver(batch);
    } catch (error) {
      if (this.host.stopped.aborted) {
        this.failBatch(open, givenUp(this.host.stopped, batch));
        return;
      }
      if (batch === undefined) {
        // Not encoded: no sequence number was taken.
        this.failBatch(open, this.host.finalError(error, what, open.deadline));
      } else {
        this.failed(batch, error as Error, what);
      }
      return;
    }
    this.succeed(batch);
  }

  private async encode(
    queue: PartitionQueue,
    open: OpenBatch,
  ): Promise<EncodedBatch> {
    // Compressed first (a turn of the event loop may pass), then numbered:
    // one batch per partition is encoded at a time, so the sequence
    // numbers still follow the batches' order.
    let packed: Uint8Array | undefined;
    if (this.host.codec !== 0) {
      const { builder } = open;
      packed = await this.compressor.compress(
        await loadCodec(this.host.codec),
        builder.buffer.subarray(BATCH_HEADER_SIZE, builder.size),
        this.host.compressionLevel,
      );
    }
    const producer: ProducerId | null = this.host.txn
      ? this.host.txn.producer()
      : await untilAborted(
        this.host.identity.get(open.deadline),
        this.host.stopped,
        "Getting a producer id",
      );
    if (
      producer && (queue.producerId !== producer.producerId ||
        queue.producerEpoch !== producer.producerEpoch)
    ) {
      // A new producer id or epoch starts every partition's sequence at 0.
      queue.producerId = producer.producerId;
      queue.producerEpoch = producer.producerEpoch;
      queue.nextSequence = 0;
    }
    const baseSequence = producer ? queue.nextSequence : -1;
    const bytes = open.builder.finish(packed && (() => packed), {
      producerId: producer?.producerId ?? -1,
      producerEpoch: producer?.producerEpoch ?? -1,
      baseSequence,
      transactional: this.host.txn !== null,
    });
    if (producer) {
      queue.nextSequence = (queue.nextSequence + open.count) | 0;
    }
    return {
      queue,
      open,
      bytes,
      attempt: 0,
      queuedAt: Date.now(),
      baseSequence,
      producerId: producer?.producerId ?? -1,
      uncertain: false,
      recordErrors: undefined,
      baseOffset: -1,
    };
  }

  /**
   * Sends one batch, retrying retriable failures with the same bytes (the
   * same producer id, epoch and sequence, so the broker drops a copy it
   * already has) until its delivery timeout.
   */
  private async deliver(batch: EncodedBatch): Promise<void> {
    const { topic, partition } = batch.queue;
    await retry(
      () => {
        batch.attempt++;
        return this.produce(batch);
      },
      {
        ...this.host.retryOptions(
          `produce to ${topic}/${partition}`,
          batch.open.deadline,
          (error) => {
            // The leader is right: no metadata to refresh.
            if (!verificationRace(error)) this.host.cluster.invalidate(topic);
          },
        ),
        backoffMinFor: (error) => verificationRace(error) ? 5 : undefined,
      },
    );
  }

  /**
   * A batch that failed for good. Rejections that depend only on the
   * records (too large, invalid) fail just the records at fault: a batch of
   * several is split and sent again. Otherwise its messages fail.
   */
  private failed(batch: EncodedBatch, error: Error, what: string): void {
    const { queue, open } = batch;
    const code = error instanceof KafkaError ? error.code : 0;
    const deterministic = RECORD_REJECTIONS.has(code);
    if (batch.producerId >= 0) {
      const next = (batch.baseSequence + open.count) | 0;
      if (
        (deterministic || !batch.uncertain) &&
        queue.producerId === batch.producerId && queue.nextSequence === next
      ) {
        // The broker never took these sequence numbers: hand them on.
        queue.nextSequence = batch.baseSequence;
      } else {
        // It may have written the batch: the partition's next sequence is
        // unknown, so start over with a new producer id (a transactional
        // one: a new epoch, once this transaction is aborted).
        if (this.host.txn) this.host.txn.sequenceLost();
        else this.host.identity.reset();
      }
    }
    if (code === ErrorCode.MESSAGE_TOO_LARGE && open.count > 1) {
      const half = open.count >> 1;
      queue.requeue([
        queue.rebuild(open, 0, half),
        queue.rebuild(open, half, open.count),
      ]);
      this.host.log(
        `kafka writer: ${queue.topic}/${queue.partition} refused a batch of ${open.count} messages as too large; sending it in two halves`,
      );
      return;
    }
    const bad = batch.recordErrors;
    if (PER_RECORD.has(code) && bad && bad.size < open.count) {
      // Only the records the broker named are invalid: fail them, resend the rest.
      const invalid = queue.rebuild(open, 0, open.count, (i) => bad.has(i));
      const indexes = [...bad.keys()].sort((a, b) => a - b);
      for (let i = 0; i < invalid.count; i++) {
        const index = indexes[i];
        invalid.writes[i].settle(
          invalid.indexes[i],
          new KafkaError(code, {
            apiName: "Produce",
            topic: queue.topic,
            partition: queue.partition,
            detail: bad.get(index) ?? undefined,
          }),
        );
      }
      this.host.counters().errors += invalid.count;
      this.host.release(invalid.bytes);
      this.host.completion?.(invalid.messages(), error);
      queue.requeue([queue.rebuild(open, 0, open.count, (i) => !bad.has(i))]);
      return;
    }
    this.failBatch(
      open,
      this.host.finalError(error, what, open.deadline, batch.attempt),
    );
  }

  private async produce(batch: EncodedBatch): Promise<void> {
    const { topic, partition } = batch.queue;
    const { conn } = await withinDeadline(
      this.leader(topic, partition),
      batch.open.deadline,
      undefined,
      `Connecting to the leader of ${topic}/${partition}`,
    );
    let outcome: PartitionOutcome | undefined;
    try {
      outcome = await untilAborted(
        this.host.sender.send(
          conn,
          { topic, partition, records: batch.bytes },
          Math.min(
            this.host.writeTimeout + 5000,
            Math.max(1000, batch.open.deadline - Date.now()),
          ),
          batch.open.deadline,
        ),
        this.host.stopped,
        `Producing to ${topic}/${partition}`,
      );
    } catch (error) {
      // Sent perhaps, answered not: the broker may have written it. (Not
      // one held back by the broker's throttle until it expired.)
      if (!(error instanceof ThrottledError)) batch.uncertain = true;
      throw error;
    }
    if (this.host.acks === 0) return;
    const error = produceError(outcome, topic, partition);
    if (error === null) {
      batch.baseOffset = outcome?.baseOffset ?? -1;
      return;
    }
    if (outcome?.recordErrors?.length) {
      batch.recordErrors = new Map(
        outcome.recordErrors.map((
          e,
        ) => [e.batchIndex, e.batchIndexErrorMessage]),
      );
    }
    throw error;
  }

  private async leader(
    topic: string,
    partition: number,
  ): Promise<{ conn: BrokerConnection }> {
    const lanes = this.host.lanes;
    // Lane 0 is the one InitProducerId uses too.
    const lane = lanes === 1 ? 0 : partition % lanes;
    return await this.host.cluster.leader(
      topic,
      partition,
      lane === 0 ? "produce" : `produce-${lane}`,
    );
  }

  private succeed(batch: EncodedBatch): void {
    const elapsed = Date.now() - batch.queuedAt;
    const { open } = batch;
    if (this.host.logging) {
      const { topic, partition } = batch.queue;
      this.host.log(
        `kafka writer: wrote ${open.count} message${
          open.count === 1 ? "" : "s"
        } to ${topic}/${partition} in ${elapsed} ms (attempt ${batch.attempt})`,
      );
    }
    const c = this.host.counters();
    c.batches++;
    c.messages += open.count;
    c.batchSizeSum += open.count;
    c.batchSizeMax = Math.max(c.batchSizeMax, open.count);
    c.writeTimeSum += elapsed;
    c.writeTimeMax = Math.max(c.writeTimeMax, elapsed);
    c.bytes += open.bytes;
    this.settleBatch(open, null, batch);
    // Sent once and answered: nothing refers to the buffer any more. (A
    // retried batch may still sit in a write queue of an older connection.)
    if (batch.attempt === 1) this.host.pool.give(open.builder.buffer);
  }

  /** Settles every message of a batch that was sent, or dropped whole. */
  failBatch(open: OpenBatch, error: Error): void {
    this.host.txn?.failed(error, true);
    this.host.counters().errors += open.count;
    this.settleBatch(open, error);
  }

  private settleBatch(
    open: OpenBatch,
    error: Error | null,
    written?: EncodedBatch,
  ): void {
    const { writes, indexes } = open;
    for (let i = 0; i < indexes.length; i++) {
      const write = writes[i];
      if (write.placed !== null && written !== undefined) {
        // The batch's records are its messages in order: record i is at
        // the batch's base offset + i.
        const base = written.baseOffset;
        write.placed[indexes[i]] = {
          topic: written.queue.topic,
          partition: written.queue.partition,
          offset: base < 0 ? -1 : base + i,
        };
      }
      write.settle(indexes[i], error);
    }
    this.host.release(open.bytes);
    this.host.completion?.(open.messages(), error);
  }
}

/** The counters `stats()` reports, at zero. */
export function newCounters() {
  return {
    writes: 0,
    messages: 0,
    bytes: 0,
    errors: 0,
    retries: 0,
    batches: 0,
    batchSizeSum: 0,
    batchSizeMax: 0,
    writeTimeSum: 0,
    writeTimeMax: 0,
  };
}

/**
 * A transactional batch that the leader could not yet check against the
 * transaction (KIP-890): the coordinator was still finishing the previous
 * one, or another of our requests was being checked at the same time. It
 * clears within milliseconds.
 */
function verificationRace(error: unknown): boolean {
  if (!(error instanceof KafkaError)) return false;
  return error.code === ErrorCode.CONCURRENT_TRANSACTIONS ||
    (error.code === ErrorCode.NOT_ENOUGH_REPLICAS &&
      (error.detail ?? "").startsWith("Unable to verify the partition"));
}

/**
 * Produce errors that depend only on the records: the same bytes are
 * refused every time, so the broker never wrote them.
 */
const RECORD_REJECTIONS = new Set<number>([
  ErrorCode.MESSAGE_TOO_LARGE,
  ErrorCode.RECORD_LIST_TOO_LARGE,
  ErrorCode.INVALID_RECORD,
  ErrorCode.CORRUPT_MESSAGE,
  ErrorCode.INVALID_TIMESTAMP,
]);

/**
 * Refusals that name the records at fault (`recordErrors`, KIP-467): a
 * record without a key on a compacted topic, a time out of the topic's
 * bounds (`message.timestamp.before.max.ms`, `...after.max.ms`).
 */
const PER_RECORD = new Set<number>([
  ErrorCode.INVALID_RECORD,
  ErrorCode.INVALID_TIMESTAMP,
]);

/**
 * The error of a batch the Writer gave up (`stopped`'s reason), saying
 * whether it may have been written: a batch sent and not answered may.
 */
function givenUp(stopped: AbortSignal, batch?: EncodedBatch): Error {
  const reason = abortReason(stopped, "Writing");
  if (batch === undefined || !batch.uncertain) return reason;
  const { topic, partition } = batch.queue;
  const n = batch.open.count;
  const message = `${reason.message}; ${n} message${
    n === 1 ? "" : "s"
  } sent to ${topic}/${partition} and not acknowledged: written perhaps`;
  if (reason instanceof TimeoutError) {
    return new TimeoutError(message, { cause: reason });
  }
  const closed = new ClosedError(message);
  closed.cause = reason;
  return closed;
}
