/**
 * Messages on their way to the broker: each write's promise, the record
 * batch a partition fills as messages are routed, the partition queues,
 * and the pool of batch buffers.
 *
 * @module
 */

import { WriteErrors } from "./options.ts";
import type { MessageInput } from "../message.ts";
import {
  BATCH_HEADER_SIZE,
  RecordBatchBuilder,
  type RecordInput,
  recordSizeBound,
} from "../protocol/records.ts";

/**
 * One message between its write call and its partition's batch: its record
 * fields (so the entry is the record the balancer and the encoder read),
 * size and place in its write. Entries live only until routed: the batch
 * buffer then holds the record, and only the write and index are kept. A
 * write whose partitions are known is routed as it is made, through one
 * entry the router (`router.ts`) fills for each message in turn.
 */
export interface Entry extends RecordInput {
  topic: string;
  /** The partition the message asked for; -1: the balancer's choice. */
  partition: number;
  size: number;
  write: PendingWrite;
  index: number;
  /** routing: waiting for metadata; queued: in a batch; done: settled. */
  state: "routing" | "queued" | "done";
}

/**
 * Where a message was written: what `Writer.send` resolves with, one per
 * message, in the order given.
 *
 * @example
 * ```ts
 * import type { RecordMetadata } from "./batches.ts";
 *
 * const written: RecordMetadata = { topic: "orders", partition: 2, offset: 41 };
 * console.log(`${written.topic}/${written.partition}@${written.offset}`);
 * ```
 */
export interface RecordMetadata {
  /** The topic. */
  topic: string;
  /** The partition. */
  partition: number;
  /**
   * The message's offset; -1 when the broker did not say (requiredAcks
   * "none").
   */
  offset: number;
}

/** The promise of one writeMessages call (or one stream chunk). */
export class PendingWrite {
  /**
   * What the call passed, kept for a `completion` callback only (null
   * without one): a message is not needed once encoded, and letting go of
   * it at once keeps it, and the fetched response a mirrored message views,
   * out of the old generation.
   */
  readonly messages: MessageInput[] | null;
  /** How many messages the call passed. */
  readonly count: number;
  /** The time of messages without one, and when the write was queued. */
  readonly now: number;
  /** When its messages' delivery timeout expires (ms since epoch). */
  readonly deadline: number;
  /**
   * Where each message was written (topic, partition, offset), for `send`
   * only: null for every other write, which pays nothing for it.
   */
  readonly placed: RecordMetadata[] | null;
  /**
   * Whether each message stands alone (stream writes, a pipe's batches): a
   * partition the topic lacks fails that message only, not the write.
   */
  readonly alone: boolean;
  private errors: (Error | null)[] | null = null;
  private left: number;
  readonly done: Promise<void>;
  private resolve!: () => void;
  private reject!: (error: Error) => void;
  constructor(
    messages: MessageInput[],
    now: number,
    deadline: number,
    keepMessages: boolean,
    track = false,
    alone = false,
  ) {
    this.placed = track ? new Array(messages.length) : null;
    this.alone = alone;
    this.messages = keepMessages ? messages : null;
    this.count = messages.length;
    this.now = now;
    this.deadline = deadline;
    this.left = messages.length;
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    if (messages.length === 0) this.resolve();
  }

  settle(index: number, error: Error | null): void {
    if (error) {
      this.errors ??= new Array(this.count).fill(null);
      this.errors[index] = error;
    }
    if (--this.left > 0) return;
    if (this.errors) {
      const placed = this.placed;
      this.reject(
        new WriteErrors(
          this.errors,
          placed && Array.from(placed, (p) => p ?? null),
        ),
      );
    } else this.resolve();
  }
}

/**
 * Messages of one partition, encoded into a record batch as they are
 * routed. Per message it keeps two array slots (its write and index), not
 * an object: messages wait here while earlier batches are in flight, long
 * enough to outlive the young generation, and objects kept that long make
 * garbage collection dear.
 */
export class OpenBatch {
  readonly builder: RecordBatchBuilder;
  readonly writes: PendingWrite[] = [];
  readonly indexes: number[] = [];
  /** Sum of the records' size bounds: what the buffered-bytes bound counts. */
  bytes = 0;
  /** The earliest delivery deadline of its messages. */
  deadline = Infinity;

  constructor(codec: number, capacity: number, pool: BufferPool) {
    this.builder = new RecordBatchBuilder(
      { compression: codec },
      capacity,
      pool.take(capacity),
    );
  }

  get count(): number {
    return this.indexes.length;
  }

  add(record: RecordInput, size: number, write: PendingWrite, index: number) {
    this.builder.append(record);
    this.writes.push(write);
    this.indexes.push(index);
    this.bytes += size;
    if (write.deadline < this.deadline) this.deadline = write.deadline;
  }

  /** The messages in it, for completion callbacks (which keep them). */
  messages(): MessageInput[] {
    return this.indexes.map((index, i) => this.writes[i].messages![index]);
  }
}

/** A batch that was taken from a queue: encoded once, retried as is. */
export interface EncodedBatch {
  queue: PartitionQueue;
  open: OpenBatch;
  bytes: Uint8Array;
  attempt: number;
  queuedAt: number;
  baseSequence: number;
  producerId: number;
  /** The offset of the batch's first record, once written (-1 before, or with acks 0). */
  baseOffset: number;
  /** Records the broker named as invalid (INVALID_RECORD): index, message. */
  recordErrors: Map<number, string | null> | undefined;
  /**
   * Whether an attempt may have been written without our hearing of it (a
   * timeout or a broken connection after the request went out).
   */
  uncertain: boolean;
}

/**
 * Buffers of batches the broker acknowledged, for the next batches to fill:
 * steady writing then allocates no batch buffers at all, where it otherwise
 * leaves a batch-sized buffer behind per request for the collector.
 */
export class BufferPool {
  private readonly buffers: Uint8Array[] = [];
  private bytes = 0;
  private readonly maxBytes: number;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** A buffer of at least `size` bytes, if one is free. */
  take(size: number): Uint8Array | undefined {
    const i = this.buffers.findIndex((b) => b.length >= size);
    if (i < 0) return undefined;
    const [buffer] = this.buffers.splice(i, 1);
    this.bytes -= buffer.length;
    return buffer;
  }

  give(buffer: Uint8Array): void {
    if (this.bytes + buffer.length > this.maxBytes) return;
    this.buffers.push(buffer);
    this.bytes += buffer.length;
  }
}

/** How a partition's batches are made. */
export interface BatchSettings {
  codec: number;
  /** At most this many messages per batch... */
  batchSize: number;
  /** ...and this many bytes. */
  batchBytes: number;
  pool: BufferPool;
}

/** A partition's waiting batches, oldest first; the last one takes appends. */
export class PartitionQueue {
  readonly topic: string;
  readonly partition: number;
  private batches: OpenBatch[] = [];
  /** Messages waiting (in no batch that was taken). */
  length = 0;
  inFlight = false;
  /** The router's count of the placement that last appended here. */
  placement = 0;
  nextSequence = 0;
  /** The producer id the sequence numbers count for. */
  producerId = -1;
  /** The epoch of `producerId` they count for. */
  producerEpoch = -1;
  private lastBatchBytes = 0;

  private readonly settings: BatchSettings;

  constructor(topic: string, partition: number, settings: BatchSettings) {
    this.topic = topic;
    this.partition = partition;
    this.settings = settings;
  }

  append(entry: Entry): void {
    const { batchSize, batchBytes, codec, pool } = this.settings;
    let open = this.batches[this.batches.length - 1];
    const full = open !== undefined && (open.count >= batchSize ||
      BATCH_HEADER_SIZE + open.bytes + entry.size > batchBytes);
    if (open === undefined || full) {
      // Sized like the partition's last batch, which steady writing repeats;
      // growing by doubling instead would leave copies behind as garbage.
      const capacity = Math.min(
        batchBytes,
        Math.max(4096, this.lastBatchBytes) + entry.size,
      );
      open = new OpenBatch(codec, BATCH_HEADER_SIZE + capacity, pool);
      this.batches.push(open);
    }
    open.add(entry, entry.size, entry.write, entry.index);
    this.length++;
  }

  /** The oldest waiting batch, closed to appends from now on. */
  take(): OpenBatch | undefined {
    const open = this.batches.shift();
    if (open === undefined) return undefined;
    this.length -= open.count;
    this.lastBatchBytes = open.builder.size;
    return open;
  }

  /**
   * Takes the messages of `write` out of the waiting batches (a cancelled
   * write), re-encoding the batches that held them; returns their indexes
   * in the write and their size bounds.
   */
  remove(write: PendingWrite): { index: number; size: number }[] {
    const removed: { index: number; size: number }[] = [];
    this.batches = this.batches.map((open) => {
      if (!open.writes.includes(write)) return open;
      const records = open.builder.records();
      return this.rebuild(open, 0, open.count, (i) => {
        if (open.writes[i] !== write) return true;
        removed.push({
          index: open.indexes[i],
          size: recordSizeBound(records[i]),
        });
        return false;
      });
    }).filter((open) => open.count > 0);
    this.length -= removed.length;
    return removed;
  }

  /**
   * A new batch of the messages `from` to `to` of `open` that `keep`
   * accepts, encoded again from `open`'s own records (its buffer is given
   * back to the pool only once it was acknowledged, so they are intact).
   */
  rebuild(
    open: OpenBatch,
    from: number,
    to: number,
    keep: (i: number) => boolean = () => true,
  ): OpenBatch {
    const { codec, pool } = this.settings;
    const kept = new OpenBatch(codec, open.builder.size, pool);
    const records = open.builder.records();
    for (let i = from; i < to; i++) {
      if (!keep(i)) continue;
      const record = records[i];
      kept.add(
        record,
        recordSizeBound(record),
        open.writes[i],
        open.indexes[i],
      );
    }
    return kept;
  }

  /** Puts batches back at the front, to go out next in this order. */
  requeue(opens: OpenBatch[]): void {
    this.batches.unshift(...opens);
    for (const open of opens) this.length += open.count;
  }

  /** Empties the queue, returning what it held. */
  clear(): OpenBatch[] {
    const all = this.batches;
    this.batches = [];
    this.length = 0;
    return all;
  }
}
