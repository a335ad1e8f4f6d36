/**
 * The Writer: a `WritableStream` of messages whose sink batches by balancer
 * partition, with retries, idempotence and no latency trap.
 *
 * How batching works: each topic-partition has a queue. When the partition
 * has no request in flight, whatever is queued goes out at once, so a lone
 * write on an idle writer costs one round trip. While a request is in
 * flight, new messages accumulate into the next batch (up to batchSize and
 * batchBytes); it goes out when the request completes. One request in
 * flight per partition keeps a partition's order across retries; many
 * partitions' batches for the same broker share one Produce request.
 *
 * @module
 */

import {
  compressionId,
  type CompressionName,
  loadCodec,
} from "../codecs/mod.ts";
import { type Balancer, defaultBalancer } from "./balancer.ts";
import { Cluster, type ClusterOptions } from "./cluster/cluster.ts";
import {
  isRetriable,
  retry,
  type RetryOptions,
  sleep,
} from "./cluster/retry.ts";
import type { Connection } from "./connection/connection.ts";
import { abortReason, ClosedError } from "./connection/errors.ts";
import type { SaslOptions } from "./connection/sasl.ts";
import type { TlsOptions } from "./connection/socket.ts";
import {
  checkMessage,
  type MessageInput,
  toBytes,
  toHeaders,
  toRecord,
  toTimestamp,
} from "./message.ts";
import { ErrorCode, KafkaError } from "./protocol/errors.ts";
import { InitProducerId } from "./protocol/messages/init_producer_id.ts";
import { Produce, type ProduceResponse } from "./protocol/messages/produce.ts";
import {
  BATCH_HEADER_SIZE,
  RecordBatchBuilder,
  type RecordInput,
  recordSizeBound,
} from "./protocol/records.ts";

export type RequiredAcks = "none" | "one" | "all";

/** A logger in the shape of `console`: kafka-go's Logger/ErrorLogger. */
export interface Logger {
  (message: string, ...args: unknown[]): void;
}

/** Connection settings shared by writers and readers (kafka-go's Transport). */
export interface TransportOptions {
  clientId?: string;
  tls?: TlsOptions | boolean;
  sasl?: SaslOptions;
  /** Milliseconds before cached metadata is refreshed (default 60 s). */
  metadataTTL?: number;
  /** Milliseconds to open a connection (default 10 s). */
  dialTimeout?: number;
}

export interface WriterOptions {
  /** Bootstrap brokers, "host:port". Required unless `cluster` is given. */
  brokers?: readonly string[];
  /** A shared cluster connection (kafka-go's shared Transport). */
  cluster?: Cluster;
  transport?: TransportOptions;
  /** The topic of every message; when unset each message names its own. */
  topic?: string;
  balancer?: Balancer;
  /** Attempts per batch before it fails (default 10). */
  maxAttempts?: number;
  /** Milliseconds before the first retry (default 100). */
  writeBackoffMin?: number;
  /** Ceiling of the retry backoff (default 1000). */
  writeBackoffMax?: number;
  /** Most messages in one batch (default 100). */
  batchSize?: number;
  /** Most bytes in one batch (default 1 MiB). */
  batchBytes?: number;
  /**
   * Accepted (and validated) for kafka-go compatibility, where it is the
   * longest a message waits for its batch to fill. This writer never waits
   * for a batch to fill: a partition with nothing in flight sends at once,
   * and a busy one sends what gathered as soon as its request completes. So
   * no message waits on a timer and the value has no effect.
   */
  batchTimeout?: number;
  /** Milliseconds a Produce request may take (default 10 s). */
  writeTimeout?: number;
  /** Kept for kafka-go compatibility (metadata requests; default 10 s). */
  readTimeout?: number;
  /** Default "all". */
  requiredAcks?: RequiredAcks;
  /** writeMessages returns at once; `completion` reports the outcome. */
  async?: boolean;
  /** Called once per batch with its messages and its error (or null). */
  completion?: (messages: MessageInput[], error: Error | null) => void;
  compression?: CompressionName;
  logger?: Logger;
  errorLogger?: Logger;
  allowAutoTopicCreation?: boolean;
  /**
   * Exactly-once per partition across retries (InitProducerId, sequence
   * numbers). Default: on when requiredAcks is "all" and the broker supports it.
   */
  idempotent?: boolean;
  /** Bytes the stream interface buffers before `write()` waits (default 16 MiB). */
  maxBufferedBytes?: number;
}

export interface WriteOptions {
  signal?: AbortSignal;
}

/** Why a write failed, message by message (kafka-go's WriteErrors). */
export class WriteErrors extends Error {
  /** One entry per message of the write: its error, or null if it was written. */
  readonly errors: (Error | null)[];
  constructor(errors: (Error | null)[]) {
    const failed = errors.filter((e) => e !== null);
    const first = failed[0];
    super(
      `${failed.length} of ${errors.length} messages failed to write${
        first ? `: ${first.message}` : ""
      }`,
      { cause: first },
    );
    this.name = "WriteErrors";
    this.errors = errors;
  }

  /** How many messages failed. */
  get count(): number {
    return this.errors.filter((e) => e !== null).length;
  }
}

export interface WriterStats {
  writes: number;
  messages: number;
  bytes: number;
  errors: number;
  retries: number;
  batches: number;
  /** Messages per batch: average and largest since the last `stats()`. */
  batchSize: { avg: number; max: number };
  /** Milliseconds from queueing to acknowledgement of a batch. */
  writeTime: { avg: number; max: number };
}

const DEFAULTS = {
  maxAttempts: 10,
  writeBackoffMin: 100,
  writeBackoffMax: 1000,
  batchSize: 100,
  batchBytes: 1024 * 1024,
  batchTimeout: 1000,
  writeTimeout: 10_000,
  readTimeout: 10_000,
  maxBufferedBytes: 16 * 1024 * 1024,
};

const ACKS = { none: 0, one: 1, all: -1 } as const;

/**
 * One message between its write call and its partition's batch: its record
 * fields (so the entry is the record the balancer and the encoder read),
 * size and place in its write. Entries live only until routed: the batch
 * buffer then holds the record, and only the write and index are kept.
 */
interface Entry extends RecordInput {
  topic: string;
  size: number;
  write: PendingWrite;
  index: number;
  /** routing: waiting for metadata; queued: in a batch; done: settled. */
  state: "routing" | "queued" | "done";
}

/** The promise of one writeMessages call (or one stream chunk). */
class PendingWrite {
  /** What the call passed, for completion callbacks and re-encoding. */
  readonly messages: MessageInput[];
  /** The time of messages without one. */
  readonly now: number;
  private errors: (Error | null)[] | null = null;
  private left: number;
  readonly done: Promise<void>;
  private resolve!: () => void;
  private reject!: (error: Error) => void;
  constructor(messages: MessageInput[], now: number) {
    this.messages = messages;
    this.now = now;
    this.left = messages.length;
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    if (messages.length === 0) this.resolve();
  }

  settle(index: number, error: Error | null): void {
    if (error) {
      this.errors ??= new Array(this.messages.length).fill(null);
      this.errors[index] = error;
    }
    if (--this.left > 0) return;
    if (this.errors) this.reject(new WriteErrors(this.errors));
    else this.resolve();
  }
}

/**
 * Messages of one partition, encoded into a record batch as they are
 * routed. Per message it keeps two array slots (its write and index), not
 * an object: messages wait here while earlier batches are in flight, long
 * enough to outlive the young generation, and objects kept that long make
 * garbage collection dear.
 */
class OpenBatch {
  readonly builder: RecordBatchBuilder;
  readonly writes: PendingWrite[] = [];
  readonly indexes: number[] = [];
  /** Sum of the records' size bounds: what the buffered-bytes bound counts. */
  bytes = 0;

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
  }

  /** The messages in it, for completion callbacks. */
  messages(): MessageInput[] {
    return this.indexes.map((index, i) => this.writes[i].messages[index]);
  }
}

/** A batch that was taken from a queue: encoded once, retried as is. */
interface Batch {
  queue: PartitionQueue;
  open: OpenBatch;
  bytes: Uint8Array;
  attempt: number;
  queuedAt: number;
  baseSequence: number;
}

/**
 * Buffers of batches the broker acknowledged, for the next batches to fill:
 * steady writing then allocates no batch buffers at all, where it otherwise
 * leaves a batch-sized buffer behind per request for the collector.
 */
class BufferPool {
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
interface BatchSettings {
  codec: number;
  /** At most this many messages per batch... */
  batchSize: number;
  /** ...and this many bytes. */
  batchBytes: number;
  pool: BufferPool;
}

/** A partition's waiting batches, oldest first; the last one takes appends. */
class PartitionQueue {
  readonly topic: string;
  readonly partition: number;
  private batches: OpenBatch[] = [];
  /** Messages waiting (in no batch that was taken). */
  length = 0;
  inFlight = false;
  nextSequence = 0;
  /** The producer id the sequence numbers count for. */
  producerId = -1;
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
   * write), re-encoding the batches that held them; returns their indexes.
   */
  remove(write: PendingWrite): number[] {
    const removed: number[] = [];
    const { codec, pool } = this.settings;
    this.batches = this.batches.map((open) => {
      if (!open.writes.includes(write)) return open;
      const kept = new OpenBatch(codec, open.builder.size, pool);
      for (let i = 0; i < open.count; i++) {
        const [w, index] = [open.writes[i], open.indexes[i]];
        if (w === write) {
          removed.push(index);
          continue;
        }
        const record = toRecord(w.messages[index], w.now, index);
        kept.add(record, recordSizeBound(record), w, index);
      }
      return kept;
    }).filter((open) => open.count > 0);
    this.length -= removed.length;
    return removed;
  }

  /** Empties the queue, returning what it held. */
  clear(): OpenBatch[] {
    const all = this.batches;
    this.batches = [];
    this.length = 0;
    return all;
  }
}

function wasRead(message: MessageInput): boolean {
  return typeof (message as { offset?: unknown }).offset === "number";
}

function groupByTopic(entries: Entry[]): Map<string, Entry[]> {
  const first = entries[0].topic;
  // The common case, a Writer with one topic, needs no grouping.
  if (entries.every((e) => e.topic === first)) {
    return new Map([[first, entries]]);
  }
  const groups = new Map<string, Entry[]>();
  for (const entry of entries) {
    const list = groups.get(entry.topic);
    if (list) list.push(entry);
    else groups.set(entry.topic, [entry]);
  }
  return groups;
}

/**
 * Produces messages to Kafka. Use `writeMessages` directly, or pipe a stream
 * of messages into it: `await readable.pipeTo(writer)`.
 *
 * @example
 * ```ts ignore
 * const w = new Writer({ brokers: ["localhost:9092"], topic: "topic-A", balancer: new LeastBytes() });
 * await w.writeMessages({ key: "Key-A", value: "Hello World!" });
 * await w.close();
 * ```
 */
export class Writer extends WritableStream<MessageInput> {
  private readonly engine: WriterEngine;

  constructor(options: WriterOptions) {
    const engine = new WriterEngine(options);
    let streamWrites: Promise<void>[] = [];
    super({
      async write(message) {
        const write = engine.enqueue([message]);
        // Surface failures on a later write or on close, not only at the end.
        streamWrites.push(write.done.catch((e) => Promise.reject(e)));
        if (streamWrites.length > 1024) {
          const settled = streamWrites;
          streamWrites = [];
          await Promise.all(settled);
        }
        await engine.waitForRoom();
      },
      async close() {
        const pending = streamWrites;
        streamWrites = [];
        await Promise.all(pending);
        await engine.close();
      },
      async abort(reason) {
        streamWrites = [];
        await engine.abort(reason);
      },
    }, { highWaterMark: 1 });
    this.engine = engine;
  }

  /**
   * Writes messages and resolves when each is acknowledged as requiredAcks
   * demands; rejects with `WriteErrors` saying which failed and why. Pass an
   * array and `{ signal }` to make the write cancellable: messages not yet
   * sent when the signal fires are dropped and never delivered later.
   */
  writeMessages(...messages: MessageInput[]): Promise<void>;
  writeMessages(
    messages: MessageInput[],
    options?: WriteOptions,
  ): Promise<void>;
  writeMessages(...args: unknown[]): Promise<void> {
    const [messages, options] = Array.isArray(args[0])
      ? [args[0] as MessageInput[], (args[1] ?? {}) as WriteOptions]
      : [args as MessageInput[], {} as WriteOptions];
    return this.engine.writeMessages(messages, options);
  }

  /** Counters since the last call (kafka-go's Stats), then reset. */
  stats(): WriterStats {
    return this.engine.stats();
  }

  /** Flushes everything queued and resolves when it is acknowledged. */
  override close(): Promise<void> {
    if (this.locked) return this.engine.close();
    return super.close();
  }
}

class WriterEngine {
  private readonly options: WriterOptions;
  private readonly cluster: Cluster;
  private readonly ownsCluster: boolean;
  private readonly balancer: Balancer;
  private readonly acks: number;
  private readonly codec: number;
  private readonly limits: typeof DEFAULTS;
  private readonly queues = new Set<PartitionQueue>();
  private readonly queuesByTopic = new Map<string, PartitionQueue[]>();
  private readonly inFlight = new Set<Promise<void>>();
  private buffered = 0;
  private roomWaiters: (() => void)[] = [];
  private closed = false;
  private idempotent:
    | Promise<{ producerId: number; producerEpoch: number } | null>
    | null = null;
  private counters = newCounters();
  private readonly batchSettings: BatchSettings;

  constructor(options: WriterOptions) {
    validateWriter(options);
    this.options = options;
    this.limits = { ...DEFAULTS };
    for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
      const value = options[key];
      if (value !== undefined) this.limits[key] = value;
    }
    this.acks = ACKS[options.requiredAcks ?? "all"];
    this.codec = compressionId(options.compression ?? "none");
    this.balancer = options.balancer ?? defaultBalancer();
    this.ownsCluster = options.cluster === undefined;
    this.cluster = options.cluster ?? new Cluster(clusterOptions(options));
    this.batchSettings = {
      codec: this.codec,
      batchSize: this.limits.batchSize,
      batchBytes: this.limits.batchBytes,
      pool: new BufferPool(Math.max(4 * this.limits.batchBytes, 16 << 20)),
    };
  }

  async writeMessages(
    messages: MessageInput[],
    options: WriteOptions,
  ): Promise<void> {
    if (options.signal?.aborted) {
      throw abortReason(options.signal, "writeMessages");
    }
    const write = this.enqueue(messages, options.signal);
    if (this.options.async) {
      write.done.catch(() => {});
      return;
    }
    await write.done;
  }

  /** Validates every message first, then queues them; nothing is sent on a bad one. */
  enqueue(messages: MessageInput[], signal?: AbortSignal): PendingWrite {
    if (this.closed) {
      throw new ClosedError("Cannot write: the Writer is closed");
    }
    const now = Date.now();
    const write = new PendingWrite(messages, now);
    // Every message is checked before any is queued: one bad message fails
    // the call and nothing of it is sent.
    const entries: Entry[] = new Array(messages.length);
    let bytes = 0;
    for (let index = 0; index < messages.length; index++) {
      const entry = this.prepare(messages[index], index, now, write);
      bytes += entry.size;
      entries[index] = entry;
    }
    this.counters.writes++;
    if (messages.length === 0) return write;
    this.buffered += bytes;
    this.route(entries).catch((error) => this.fail(entries, error));
    if (signal) this.watchCancel(write, entries, signal);
    return write;
  }

  private prepare(
    message: MessageInput,
    index: number,
    now: number,
    write: PendingWrite,
  ): Entry {
    checkMessage(message, index);
    const topic = this.topicOf(message, index);
    const entry: Entry = {
      key: toBytes(message.key, "key", index),
      value: toBytes(message.value, "value", index),
      headers: toHeaders(message.headers, index),
      timestamp: toTimestamp(message.time, now, index),
      topic,
      size: 0,
      write,
      index,
      state: "routing",
    };
    const size = entry.size = recordSizeBound(entry);
    if (size + 61 > this.limits.batchBytes) {
      throw new KafkaError(ErrorCode.MESSAGE_TOO_LARGE, {
        apiName: "writeMessages",
        topic,
        detail:
          `message ${index} takes ${size} bytes, more than batchBytes ${this.limits.batchBytes}`,
      });
    }
    return entry;
  }

  private topicOf(message: MessageInput, index: number): string {
    const own = this.options.topic;
    const given = message?.topic;
    // A message read from Kafka (it has an offset) names where it came from,
    // not where to go: a Writer with a topic takes it, so that
    // `reader.pipeTo(writer)` mirrors a topic.
    if (own !== undefined && given !== undefined && !wasRead(message)) {
      throw new TypeError(
        `Cannot write message ${index}: the Writer has topic "${own}", so the message must not set one (it set "${given}")`,
      );
    }
    const topic = own ?? given;
    if (typeof topic !== "string" || topic === "") {
      throw new TypeError(
        `Cannot write message ${index}: it has no topic, and neither does the Writer`,
      );
    }
    return topic;
  }

  private async route(entries: Entry[]): Promise<void> {
    const touched = new Set<PartitionQueue>();
    for (const [topic, group] of groupByTopic(entries)) {
      if (this.aborted) {
        this.fail(group, new ClosedError("The Writer was aborted"));
        continue;
      }
      let partitions: number[];
      try {
        partitions = await this.partitionsOf(topic);
      } catch (error) {
        this.fail(group, error as Error);
        continue;
      }
      let queue: PartitionQueue | undefined;
      for (let i = 0; i < group.length; i++) {
        const entry = group[i];
        if (entry.state !== "routing") continue;
        entry.state = "queued";
        const partition = this.balancer.balance(entry, partitions);
        if (queue?.partition !== partition) {
          queue = this.queue(topic, partition);
          touched.add(queue);
        }
        queue.append(entry);
      }
    }
    for (const queue of touched) this.pump(queue);
  }

  private async partitionsOf(topic: string): Promise<number[]> {
    const cached = this.cluster.cachedTopic(topic);
    if (cached && cached.partitions.length > 0) {
      return cached.partitions.map((p) => p.id);
    }
    return await retry(async () => {
      const info = await this.cluster.topic(topic, {
        autoCreate: this.options.allowAutoTopicCreation ?? false,
        maxAge: 0,
      });
      if (info.partitions.length > 0) return info.partitions.map((p) => p.id);
      throw new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, { topic });
    }, this.retryOptions(`metadata of ${topic}`));
  }

  /** The writer's retry policy; `what` names the operation in logs. */
  private retryOptions(what: string, onRetry?: () => void): RetryOptions {
    return {
      maxAttempts: this.limits.maxAttempts,
      backoffMin: this.limits.writeBackoffMin,
      backoffMax: this.limits.writeBackoffMax,
      retriable: (error) => isRetriable(error) && !this.aborted,
      onRetry: (error, attempt) => {
        this.counters.retries++;
        this.options.errorLogger?.(
          `kafka writer: ${what}, attempt ${attempt}: ${
            (error as Error).message
          }`,
        );
        onRetry?.();
      },
    };
  }

  /** The queue of a topic-partition; looked up per message, so no string keys. */
  private queue(topic: string, partition: number): PartitionQueue {
    let byPartition = this.queuesByTopic.get(topic);
    if (!byPartition) {
      byPartition = [];
      this.queuesByTopic.set(topic, byPartition);
    }
    let queue = byPartition[partition];
    if (!queue) {
      queue = new PartitionQueue(topic, partition, this.batchSettings);
      byPartition[partition] = queue;
      this.queues.add(queue);
    }
    return queue;
  }

  /** Sends the queue's next batch if the partition has nothing in flight. */
  private pump(queue: PartitionQueue): void {
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
    try {
      const batch = await this.encode(queue, open);
      await this.deliver(batch);
    } catch (error) {
      // The broker never took these sequence numbers: later batches would
      // fail OUT_OF_ORDER_SEQUENCE_NUMBER, so start over with a new id.
      this.idempotent = null;
      this.failBatch(open, error as Error);
    }
  }

  private async encode(
    queue: PartitionQueue,
    open: OpenBatch,
  ): Promise<Batch> {
    const producer = await this.producer();
    if (producer && queue.producerId !== producer.producerId) {
      // A new producer id starts every partition's sequence again at 0.
      queue.producerId = producer.producerId;
      queue.nextSequence = 0;
    }
    const baseSequence = producer ? queue.nextSequence : -1;
    const compress = this.codec === 0
      ? undefined
      : (await loadCodec(this.codec)).compress;
    if (producer) {
      queue.nextSequence = (queue.nextSequence + open.count) | 0;
    }
    return {
      queue,
      open,
      bytes: open.builder.finish(compress, {
        producerId: producer?.producerId ?? -1,
        producerEpoch: producer?.producerEpoch ?? -1,
        baseSequence,
      }),
      attempt: 0,
      queuedAt: Date.now(),
      baseSequence,
    };
  }

  /** Sends one batch, retrying retriable failures with the same bytes. */
  private async deliver(batch: Batch): Promise<void> {
    const { topic, partition } = batch.queue;
    await retry(
      () => {
        batch.attempt++;
        return this.produce(batch);
      },
      this.retryOptions(
        `produce to ${topic}/${partition}`,
        () => this.cluster.invalidate(topic),
      ),
    );
    this.succeed(batch);
  }

  private async produce(batch: Batch): Promise<void> {
    const { topic, partition } = batch.queue;
    const { conn } = await this.leader(topic, partition);
    const request = {
      transactionalId: null,
      acks: this.acks,
      timeoutMs: this.limits.writeTimeout,
      topicData: [{
        name: topic,
        partitionData: [{ index: partition, records: batch.bytes }],
      }],
    };
    if (this.acks === 0) {
      await conn.requestNoResponse(Produce, request);
      return;
    }
    const response = await conn.request(Produce, request, {
      timeout: this.limits.writeTimeout + 5000,
    });
    checkProduce(response, topic, partition);
  }

  private async leader(
    topic: string,
    partition: number,
  ): Promise<{ conn: Connection }> {
    return await this.cluster.leader(topic, partition, "produce");
  }

  private succeed(batch: Batch): void {
    const elapsed = Date.now() - batch.queuedAt;
    const { open } = batch;
    if (this.options.logger) {
      const { topic, partition } = batch.queue;
      this.log(
        `kafka writer: wrote ${open.count} messages to ${topic}/${partition} in ${elapsed} ms (attempt ${batch.attempt})`,
      );
    }
    const c = this.counters;
    c.batches++;
    c.messages += open.count;
    c.batchSizeSum += open.count;
    c.batchSizeMax = Math.max(c.batchSizeMax, open.count);
    c.writeTimeSum += elapsed;
    c.writeTimeMax = Math.max(c.writeTimeMax, elapsed);
    c.bytes += open.bytes;
    this.settleBatch(open, null);
    // Sent once and answered: nothing refers to the buffer any more. (A
    // retried batch may still sit in a write queue of an older connection.)
    if (batch.attempt === 1) this.batchSettings.pool.give(open.builder.buffer);
  }

  /** Settles every message of a batch that was sent, or dropped whole. */
  private failBatch(open: OpenBatch, error: Error): void {
    this.counters.errors += open.count;
    this.settleBatch(open, error);
  }

  private settleBatch(open: OpenBatch, error: Error | null): void {
    const { writes, indexes } = open;
    for (let i = 0; i < indexes.length; i++) {
      writes[i].settle(indexes[i], error);
    }
    this.release(open.bytes);
    this.options.completion?.(open.messages(), error);
  }

  /** Settles entries that never reached a batch (routing failed). */
  private fail(entries: Entry[], error: Error): void {
    entries = entries.filter((e) => e.state !== "done");
    if (entries.length === 0) return;
    this.counters.errors += entries.length;
    let bytes = 0;
    for (const entry of entries) {
      entry.state = "done";
      bytes += entry.size;
      entry.write.settle(entry.index, error);
    }
    this.release(bytes);
    this.options.completion?.(
      entries.map((e) => e.write.messages[e.index]),
      error,
    );
  }

  private release(bytes: number): void {
    this.buffered -= bytes;
    if (this.buffered < this.limits.maxBufferedBytes) {
      const waiters = this.roomWaiters;
      this.roomWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** Resolves when buffered bytes are under the bound (stream backpressure). */
  waitForRoom(): Promise<void> {
    if (this.buffered < this.limits.maxBufferedBytes) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  private watchCancel(
    write: PendingWrite,
    entries: Entry[],
    signal: AbortSignal,
  ): void {
    const onAbort = () => {
      const reason = abortReason(signal, "writeMessages");
      const unsent = new Set<number>();
      for (const queue of this.queues) {
        for (const index of queue.remove(write)) unsent.add(index);
      }
      // Still routing, or just taken out of a batch; the rest was sent.
      const dropped = entries.filter((e) =>
        e.state === "routing" || (e.state === "queued" && unsent.has(e.index))
      );
      if (dropped.length) this.fail(dropped, reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    const forget = () => signal.removeEventListener("abort", onAbort);
    write.done.then(forget, forget);
  }

  /** The idempotent producer id, fetched once; null when not idempotent. */
  private producer() {
    if (this.idempotent === null) this.idempotent = this.initProducer();
    return this.idempotent;
  }

  private async initProducer() {
    const wanted = this.options.idempotent ?? this.acks === -1;
    if (!wanted) return null;
    // A fresh broker answers COORDINATOR_LOAD_IN_PROGRESS for a while.
    return await retry(
      () => this.requestProducerId(),
      this.retryOptions("InitProducerId"),
    );
  }

  private async requestProducerId() {
    const conn = await this.cluster.anyConnection("produce");
    if (!conn.apiVersions().some((v) => v.apiKey === InitProducerId.key)) {
      if (this.options.idempotent) {
        throw new KafkaError(ErrorCode.UNSUPPORTED_VERSION, {
          apiName: "InitProducerId",
          detail: "the broker does not support idempotent producers",
        });
      }
      return null;
    }
    const response = await conn.request(InitProducerId, {
      transactionalId: null,
      transactionTimeoutMs: 60_000,
      producerId: -1,
      producerEpoch: -1,
    });
    if (response.errorCode !== 0) {
      throw new KafkaError(response.errorCode, { apiName: "InitProducerId" });
    }
    this.log(
      `kafka writer: idempotent producer id ${response.producerId}, epoch ${response.producerEpoch}`,
    );
    return {
      producerId: response.producerId,
      producerEpoch: response.producerEpoch,
    };
  }

  /** Informational events go to `logger` (kafka-go's Logger). */
  private log(message: string): void {
    this.options.logger?.(message);
  }

  stats(): WriterStats {
    const c = this.counters;
    this.counters = newCounters();
    return {
      writes: c.writes,
      messages: c.messages,
      bytes: c.bytes,
      errors: c.errors,
      retries: c.retries,
      batches: c.batches,
      batchSize: {
        avg: c.batches ? c.batchSizeSum / c.batches : 0,
        max: c.batchSizeMax,
      },
      writeTime: {
        avg: c.batches ? c.writeTimeSum / c.batches : 0,
        max: c.writeTimeMax,
      },
    };
  }

  private aborted = false;

  /** Waits until every queued and in-flight batch settled. */
  private async flush(): Promise<void> {
    while (this.inFlight.size > 0 || this.hasQueued()) {
      for (const queue of this.queues) this.pump(queue);
      await Promise.allSettled([...this.inFlight]);
      // Routing may still be resolving metadata for the last writes.
      if (this.inFlight.size === 0 && this.hasQueued()) await sleep(1);
      if (this.inFlight.size === 0 && !this.hasQueued() && this.buffered > 0) {
        await sleep(1);
      }
    }
  }

  private hasQueued(): boolean {
    for (const queue of this.queues) {
      if (queue.length) return true;
    }
    return this.buffered > 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    if (this.ownsCluster) await this.cluster.close();
    this.log("kafka writer: closed");
  }

  async abort(reason: unknown): Promise<void> {
    this.closed = true;
    this.aborted = true;
    const error = reason instanceof Error
      ? reason
      : new ClosedError(`The Writer was aborted: ${String(reason)}`);
    for (const queue of this.queues) {
      for (const open of queue.clear()) this.failBatch(open, error);
    }
    await Promise.allSettled([...this.inFlight]);
    if (this.ownsCluster) await this.cluster.close();
  }
}

function newCounters() {
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

function checkProduce(
  response: ProduceResponse,
  topic: string,
  partition: number,
): void {
  for (const t of response.responses) {
    for (const p of t.partitionResponses) {
      // The batch was written before (a retry after a lost answer): success.
      if (
        p.errorCode === 0 || p.errorCode === ErrorCode.DUPLICATE_SEQUENCE_NUMBER
      ) continue;
      throw new KafkaError(p.errorCode, {
        apiName: "Produce",
        topic,
        partition,
        detail: p.errorMessage ?? p.recordErrors?.[0]?.batchIndexErrorMessage ??
          undefined,
      });
    }
  }
}

function clusterOptions(options: WriterOptions): ClusterOptions {
  const t = options.transport ?? {};
  return {
    brokers: options.brokers ?? [],
    clientId: t.clientId,
    tls: t.tls,
    sasl: t.sasl,
    metadataMaxAge: t.metadataTTL,
    connectTimeout: t.dialTimeout,
    requestTimeout: options.readTimeout ?? DEFAULTS.readTimeout,
  };
}

function validateWriter(options: WriterOptions): void {
  const fail = (message: string): never => {
    throw new TypeError(`Cannot create Writer: ${message}`);
  };
  if (options === null || typeof options !== "object") {
    fail("options must be an object");
  }
  if (options.cluster === undefined) {
    if (!Array.isArray(options.brokers) || options.brokers.length === 0) {
      fail(
        `"brokers" must list at least one "host:port", got ${
          JSON.stringify(options.brokers)
        }`,
      );
    }
  }
  if (
    options.topic !== undefined &&
    (typeof options.topic !== "string" || options.topic === "")
  ) {
    fail(
      `"topic" must be a non-empty string, got ${
        JSON.stringify(options.topic)
      }`,
    );
  }
  const positive = [
    "maxAttempts",
    "batchSize",
    "batchBytes",
    "writeTimeout",
    "readTimeout",
    "maxBufferedBytes",
  ] as const;
  for (const key of positive) {
    const value = options[key];
    if (value !== undefined && (!Number.isFinite(value) || value <= 0)) {
      throw new RangeError(
        `Cannot create Writer: "${key}" must be positive, got ${value}`,
      );
    }
  }
  for (
    const key of ["writeBackoffMin", "writeBackoffMax", "batchTimeout"] as const
  ) {
    const value = options[key];
    if (value !== undefined && (!Number.isFinite(value) || value < 0)) {
      throw new RangeError(
        `Cannot create Writer: "${key}" must be zero or more, got ${value}`,
      );
    }
  }
  if ((options.writeBackoffMin ?? 0) > (options.writeBackoffMax ?? Infinity)) {
    throw new RangeError(
      `Cannot create Writer: "writeBackoffMin" (${options.writeBackoffMin}) exceeds "writeBackoffMax" (${options.writeBackoffMax})`,
    );
  }
  if (options.requiredAcks !== undefined && !(options.requiredAcks in ACKS)) {
    throw new RangeError(
      `Cannot create Writer: "requiredAcks" must be "none", "one" or "all", got ${
        JSON.stringify(options.requiredAcks)
      }`,
    );
  }
  if (
    options.idempotent === true && (options.requiredAcks ?? "all") !== "all"
  ) {
    throw new RangeError(
      `Cannot create Writer: "idempotent" needs requiredAcks "all", got "${options.requiredAcks}"`,
    );
  }
  if (options.compression !== undefined) {
    try {
      compressionId(options.compression);
    } catch (error) {
      throw new RangeError(`Cannot create Writer: ${(error as Error).message}`);
    }
  }
  if (
    options.balancer !== undefined &&
    typeof options.balancer?.balance !== "function"
  ) {
    fail(`"balancer" must have a balance(message, partitions) method`);
  }
  for (const key of ["completion", "logger", "errorLogger"] as const) {
    if (options[key] !== undefined && typeof options[key] !== "function") {
      fail(`"${key}" must be a function, got ${typeof options[key]}`);
    }
  }
}
