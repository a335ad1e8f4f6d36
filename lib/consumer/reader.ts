/**
 * The Reader: a `ReadableStream` of the messages of one topic-partition,
 * modelled on kafka-go's Reader. Consumer groups come in a later version.
 *
 * How prefetching stays bounded: one fetch loop per reader fills a queue of
 * chunks, each holding the records of one Fetch response. The loop sends
 * the next Fetch while at most one response waits in the queue (the one
 * being read: fetching overlaps reading), or while fewer than
 * `queueCapacity` messages and fewer than `maxBytes` bytes of fetched
 * records wait. So the queue holds at most one partly read response (up to
 * maxBytes, or one larger batch, which the broker returns whole) plus one
 * new response: about 2 × maxBytes of fetched records.
 *
 * Records are checked when a response arrives (CRC, structure) but made
 * into messages only as they are taken, so a queued response costs its
 * bytes and no objects.
 *
 * How consumers share it: the stream's `pull()` hands out one message from
 * that queue and the stream itself buffers nothing (highWaterMark 0).
 * `readMessage` and `fetchMessage` take from the same queue: directly when
 * nobody holds the stream and the stream holds no message, otherwise
 * through the stream with a short-lived reader (whose lock an AbortSignal
 * releases). So `for await`, `pipeTo` and `readMessage` see one queue and
 * one order, and setOffset can discard everything prefetched.
 *
 * @module
 */

import { Cluster, type ClusterOptions } from "../cluster/cluster.ts";
import type { TopicInfo } from "../cluster/cluster.ts";
import { retry, type RetryOptions } from "../cluster/retry.ts";
import { FirstOffset, LastOffset } from "../conn/conn.ts";
import type { Connection } from "../connection/connection.ts";
import {
  abortReason,
  ClosedError,
  ProtocolError,
  TimeoutError,
} from "../connection/errors.ts";
import type { Message } from "../message.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import {
  Fetch,
  type FetchResponse,
  type FetchResponsePartitionData,
} from "../protocol/messages/fetch.ts";
import { ListOffsets } from "../protocol/messages/list_offsets.ts";
import {
  readRecordCursors,
  type RecordCursors,
} from "../protocol/read_records.ts";
import { FetchedMessages } from "./fetched.ts";
import { checkNumber } from "../options.ts";
import { loadCodec } from "../../codecs/mod.ts";
import type { Logger, TransportOptions } from "../producer/writer.ts";

export { FirstOffset, LastOffset };

/** Which records a Fetch returns: all, or only committed transactions. */
export type IsolationLevel = "read_uncommitted" | "read_committed";

/** Options of a Reader: kafka-go's ReaderConfig in camelCase. */
export interface ReaderOptions {
  /** Bootstrap brokers, "host:port". Required unless `cluster` is given. */
  brokers?: readonly string[];
  /** A shared cluster connection; the Reader then leaves it open on close. */
  cluster?: Cluster;
  transport?: TransportOptions;
  /** The topic to read. */
  topic: string;
  /** The partition to read (default 0). */
  partition?: number;
  /** Consumer groups are not supported yet: setting this throws. */
  groupId?: string;
  /**
   * Fetched messages that may wait to be read (default 100) before the
   * next Fetch waits too, unless they all came in the one response being
   * read: the next response is always fetched while that one is read.
   */
  queueCapacity?: number;
  /** Bytes the broker gathers before it answers a Fetch (default 1). */
  minBytes?: number;
  /**
   * Most bytes one Fetch returns (default 1 MiB), except that a single batch
   * larger than this still comes whole. Also bounds prefetching: the next
   * Fetch goes out only while fewer fetched bytes than this wait.
   */
  maxBytes?: number;
  /** Milliseconds the broker may wait for minBytes (default 10 s). */
  maxWait?: number;
  /**
   * Milliseconds between background reads of the partition's end, which keep
   * `lag` and `stats().lag` current while no Fetch returns (default 0: off).
   */
  readLagInterval?: number;
  /** "read_committed" skips aborted transactions (default "read_uncommitted"). */
  isolationLevel?: IsolationLevel;
  /**
   * Attempts of one Fetch before the stream errors. Unset (the default), the
   * Reader retries until it is closed: through broker restarts and leader
   * changes, reporting each failure to `errorLogger`. Errors that retrying
   * cannot fix (authorization, TLS or SASL settings, a peer that is not
   * Kafka) end the stream at once either way.
   */
  maxAttempts?: number;
  /** Milliseconds before the first retry (default 100). */
  readBackoffMin?: number;
  /** Ceiling of the retry backoff (default 1000). */
  readBackoffMax?: number;
  /**
   * Where reading starts, and where an out-of-range offset is reset to:
   * FirstOffset (the default) or LastOffset.
   */
  startOffset?: typeof FirstOffset | typeof LastOffset;
  /**
   * What an offset outside the partition (OFFSET_OUT_OF_RANGE) does: "reset"
   * (the default) moves to `startOffset`, "error" errors the stream.
   */
  offsetOutOfRange?: "reset" | "error";
  /**
   * false (the default): keys, values and header values are views into the
   * fetched response, so a message kept alive keeps its response alive.
   * true: each is copied, which costs time but holds only what it needs.
   */
  copyValues?: boolean;
  logger?: Logger;
  errorLogger?: Logger;
}

/** Options of a single read or lookup. */
export interface ReadOptions {
  /** Aborting rejects the call with the signal's reason; nothing is lost. */
  signal?: AbortSignal;
}

/** Counters since the last `stats()` call, and current settings (kafka-go's ReaderStats). */
export interface ReaderStats {
  /** Connections opened for fetching. */
  dials: number;
  fetches: number;
  /** Messages fetched. */
  messages: number;
  /** Key and value bytes fetched. */
  bytes: number;
  /** Always 0: rebalances belong to consumer groups. */
  rebalances: number;
  timeouts: number;
  errors: number;
  offset: number;
  lag: number;
  minBytes: number;
  maxBytes: number;
  maxWait: number;
  /** Messages fetched and not yet read. */
  queueLength: number;
  queueCapacity: number;
  clientId: string;
  topic: string;
  partition: number;
}

const DEFAULTS = {
  partition: 0,
  queueCapacity: 100,
  minBytes: 1,
  maxBytes: 1024 * 1024,
  maxWait: 10_000,
  readLagInterval: 0,
  maxAttempts: Infinity,
  readBackoffMin: 100,
  readBackoffMax: 1000,
};

type Limits = typeof DEFAULTS;

/** Kafka's int32 ceiling for byte counts and waits. */
const INT32_MAX = 2 ** 31 - 1;

let nextReaderId = 0;

/** What `for await` over a Reader gets: the platform's iterator type. */
type MessageIterator = ReturnType<ReadableStream<Message>["values"]>;

/**
 * Reads one topic-partition as a stream of messages, reconnecting and
 * following leader changes on its own (kafka-go's Reader).
 *
 * Read it with `for await`, pipe it (`reader.pipeTo(writer)`), or call
 * `readMessage()` in a loop; all three take from the same queue. Breaking out
 * of `for await` cancels the stream, which closes the Reader, as it does for
 * any ReadableStream; iterate `reader.values({ preventCancel: true })` to keep
 * it open.
 *
 * Keys, values and header values are views into the fetched response unless
 * `copyValues` is set (see ReaderOptions.copyValues).
 *
 * To mirror a topic, pipe the Reader into a Writer: `reader.pipeTo(writer)`.
 * A message read from Kafka names the topic it came from, and a Writer with a
 * topic of its own writes it there instead.
 *
 * @example Read partition 0 of topic-A from offset 42
 * ```ts ignore
 * import { Reader } from "jsr:@streamkafka/client";
 *
 * const r = new Reader({
 *   brokers: ["localhost:9092"],
 *   topic: "topic-A",
 *   partition: 0,
 *   minBytes: 10e3,
 *   maxBytes: 10e6,
 * });
 * r.setOffset(42);
 * for await (const m of r) {
 *   console.log(`message at offset ${m.offset}: ${new TextDecoder().decode(m.value!)}`);
 * }
 * ```
 */
export class Reader extends ReadableStream<Message> {
  private readonly engine: ReaderEngine;
  /** fetchMessage calls take turns: each waits for the one before. */
  private readTurn: Promise<unknown> = Promise.resolve();
  private reading = 0;

  constructor(options: ReaderOptions) {
    const engine = new ReaderEngine(options);
    super({
      start: (controller) => engine.attach(controller),
      pull: () => engine.pull(),
      cancel: () => engine.close(),
    }, { highWaterMark: 0 });
    this.engine = engine;
    engine.isLocked = () => this.locked;
  }

  /**
   * The next message (kafka-go's ReadMessage). Without consumer groups there
   * is nothing to commit, so this is the same as `fetchMessage`.
   */
  readMessage(options: ReadOptions = {}): Promise<Message> {
    return this.fetchMessage(options);
  }

  /**
   * The next message (kafka-go's FetchMessage). Concurrent calls are served
   * in call order. Rejects with a TypeError while another consumer holds the
   * stream (`for await`, `pipeTo`, `getReader`), with ClosedError once the
   * Reader is closed, and with the stream's error once it failed.
   */
  fetchMessage(options: ReadOptions = {}): Promise<Message> {
    const { signal } = options;
    if (this.reading === 0 && !signal?.aborted) {
      // Nobody else is reading and the stream holds nothing: take straight
      // from the queue instead of through a stream reader.
      const message = this.engine.takeUnlocked(this.locked);
      if (message !== undefined) return Promise.resolve(message);
    }
    this.reading++;
    // Counted down before the caller resumes, so its next call can take
    // the quick way again.
    const turn = this.readTurn.then(() => this.readOne(signal)).finally(() => {
      this.reading--;
    });
    this.readTurn = turn.then(ignore, ignore);
    return untilAborted(turn, signal, "readMessage");
  }

  /**
   * Iterates the messages, as the platform's iterator does (it locks the
   * stream; leaving the loop early cancels, which closes the Reader, unless
   * `preventCancel`), but takes queued messages straight from the queue: the
   * stream machinery costs more per message than decoding it.
   */
  override values(
    options: { preventCancel?: boolean } = {},
  ): MessageIterator {
    const reader = this.getReader();
    const engine = this.engine;
    let finished = false;
    const end = (): IteratorResult<Message> => {
      if (!finished) {
        finished = true;
        reader.releaseLock();
      }
      return { value: undefined, done: true };
    };
    const iterator = {
      next(): Promise<IteratorResult<Message>> {
        if (finished) return Promise.resolve(end());
        const message = engine.takeQueued();
        if (message !== undefined) {
          return Promise.resolve({ value: message, done: false });
        }
        return reader.read().then(
          (r) => r.done ? end() : { value: r.value, done: false },
          (error) => {
            end();
            throw error;
          },
        );
      },
      async return(value?: unknown): Promise<IteratorResult<Message>> {
        if (!finished && options.preventCancel !== true) {
          await reader.cancel(value);
        }
        end();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator as unknown as MessageIterator;
  }

  override [Symbol.asyncIterator](
    options?: { preventCancel?: boolean },
  ): MessageIterator {
    return this.values(options);
  }

  private async readOne(signal: AbortSignal | undefined): Promise<Message> {
    if (signal?.aborted) throw abortReason(signal, "readMessage");
    this.engine.checkNotClosed("read a message");
    if (this.locked) {
      throw new TypeError(
        "Cannot read a message: the Reader is locked by another consumer (for await, pipeTo or getReader); read through it, or release it first",
      );
    }
    const reader = this.getReader();
    // Releasing the lock rejects the pending read; the message it would
    // have got stays queued for the next read.
    const onAbort = () => reader.releaseLock();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const { value, done } = await reader.read();
      if (done) {
        throw new ClosedError("Cannot read a message: the Reader is closed");
      }
      return value;
    } catch (error) {
      if (signal?.aborted) throw abortReason(signal, "readMessage");
      throw error;
    } finally {
      signal?.removeEventListener("abort", onAbort);
      reader.releaseLock();
    }
  }

  /**
   * Moves the reader to `offset` (or FirstOffset, LastOffset): prefetched
   * messages are dropped and fetching restarts there.
   */
  setOffset(offset: number): void {
    this.engine.setOffset(offset);
  }

  /**
   * Moves the reader to the first message whose time is at or after `time`,
   * or to the end of the partition when there is none.
   */
  async setOffsetAt(time: Date, options: ReadOptions = {}): Promise<void> {
    await this.engine.setOffsetAt(time, options.signal);
  }

  /** The offset of the next message to be read; FirstOffset or LastOffset until known. */
  get offset(): number {
    return this.engine.position;
  }

  /** Messages between `offset` and the partition's end at the last fetch; -1 until known. */
  get lag(): number {
    return this.engine.lag;
  }

  /** Asks the partition leader for the end of the partition and returns the lag. */
  async readLag(options: ReadOptions = {}): Promise<number> {
    return await this.engine.readLag(options.signal);
  }

  /** Counters since the last call, then reset (kafka-go's Stats). */
  stats(): ReaderStats {
    return this.engine.stats();
  }

  /**
   * Stops fetching and closes the connections the Reader opened. A read in
   * progress ends as the end of the stream; later reads reject.
   */
  close(): Promise<void> {
    return this.engine.close();
  }

  /** Closes the Reader at the end of an `await using` block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The records of one Fetch response, handed out one message at a time. */
interface Chunk {
  messages: FetchedMessages;
  /** Size of the response's records field, for the byte bound. */
  bytes: number;
}

type FetchResult =
  | {
    kind: "records";
    fromOffset: number;
    found: RecordCursors;
    nextOffset: number;
    highWaterMark: number;
    /** Where reading can get to: the high watermark, or the LSO under read_committed. */
    end: number;
    bytes: number;
  }
  | { kind: "outOfRange"; fromOffset: number };

class ReaderEngine {
  readonly topic: string;
  readonly partition: number;
  private readonly limits: Limits;
  private readonly options: ReaderOptions;
  private readonly cluster: Cluster;
  private readonly ownsCluster: boolean;
  /** Fetch long-polls, so it gets a connection no other request waits behind. */
  private readonly lane = `fetch-${nextReaderId++}`;
  private readonly startOffset: number;
  private readonly isolation: 0 | 1;
  isLocked: () => boolean = () => false;
  private controller!: ReadableStreamDefaultController<Message>;

  private chunks: Chunk[] = [];
  private queuedMessages = 0;
  private queuedBytes = 0;
  /** The next offset to hand out (kafka-go's Offset). */
  position: number;
  /** Where the next Fetch starts; FirstOffset or LastOffset until resolved. */
  private fetchOffset: number;
  private end = -1;

  /** Aborted by setOffset and close, which end the fetch in progress. */
  private session = new AbortController();
  /** Aborted by close, for background work the caller does not wait on. */
  private readonly lifetime = new AbortController();
  private running: Promise<void> | null = null;
  private fetchConn: Connection | null = null;
  private fetching = false;
  /** Why fetching stopped; the stream errors once the queue is drained. */
  private failure: Error | null = null;
  private state: "open" | "closed" | "errored" = "open";
  private closing: Promise<void> | null = null;
  private wakeConsumer: (() => void) | null = null;
  private wakeFetcher: (() => void) | null = null;
  private lagTimer: ReturnType<typeof setInterval> | undefined;
  private counters = newCounters();

  constructor(options: ReaderOptions) {
    validateReader(options);
    this.options = options;
    this.limits = { ...DEFAULTS };
    for (const key of Object.keys(DEFAULTS) as (keyof Limits)[]) {
      const value = options[key];
      if (value !== undefined) this.limits[key] = value;
    }
    this.topic = options.topic;
    this.partition = this.limits.partition;
    this.startOffset = options.startOffset ?? FirstOffset;
    this.position = this.startOffset;
    this.fetchOffset = this.startOffset;
    this.isolation = options.isolationLevel === "read_committed" ? 1 : 0;
    this.ownsCluster = options.cluster === undefined;
    this.cluster = options.cluster ?? new Cluster(clusterOptions(options));
  }

  attach(controller: ReadableStreamDefaultController<Message>): void {
    this.controller = controller;
  }

  // ---- the consumer side ----

  /** The stream's pull: one message, fetched first when the queue is empty. */
  pull(): Promise<void> | undefined {
    const message = this.take();
    if (message !== undefined) {
      this.controller.enqueue(message);
      return;
    }
    return this.waitAndPull();
  }

  private async waitAndPull(): Promise<void> {
    this.start();
    while (this.state === "open") {
      const message = this.take();
      if (message !== undefined) return this.controller.enqueue(message);
      if (this.failure !== null) return this.fail(this.failure);
      await new Promise<void>((resolve) => (this.wakeConsumer = resolve));
      // The reader that asked let go (an aborted readMessage): leave the
      // message queued, where a setOffset can still discard it.
      if (!this.isLocked()) return;
    }
  }

  /**
   * A queued message for readMessage, when the stream is not locked and
   * holds no message of its own (the stream's queue, desiredSize below 0,
   * comes first in line).
   */
  takeUnlocked(locked: boolean): Message | undefined {
    if (locked) return undefined;
    return this.takeQueued();
  }

  /** A queued message when the stream's own queue is empty (it comes first). */
  takeQueued(): Message | undefined {
    if (this.state !== "open") return undefined;
    if (this.controller.desiredSize !== 0) return undefined;
    return this.take();
  }

  private take(): Message | undefined {
    const chunk = this.chunks[0];
    if (chunk === undefined) return undefined;
    // A queued chunk always has a message left: its records were counted.
    const message = chunk.messages.next()!;
    this.queuedMessages--;
    if (chunk.messages.remaining === 0) {
      this.chunks.shift();
      this.queuedBytes -= chunk.bytes;
    }
    this.position = message.offset + 1;
    if (this.wakeFetcher !== null && this.hasRoom()) this.resumeFetching();
    return message;
  }

  private wake(): void {
    const wake = this.wakeConsumer;
    this.wakeConsumer = null;
    wake?.();
  }

  // ---- the fetch loop ----

  private start(): void {
    if (this.running !== null || this.state !== "open") return;
    this.running = this.run();
    const interval = this.limits.readLagInterval;
    if (interval > 0 && this.lagTimer === undefined) {
      this.lagTimer = setInterval(() => this.refreshLag(), interval);
    }
  }

  /** Fetches until closed or failed; never rejects. */
  private async run(): Promise<void> {
    this.log(
      `kafka reader: reading partition ${this.partition} of ${this.topic} from ${
        describeOffset(this.fetchOffset)
      }`,
    );
    while (this.state === "open" && this.failure === null) {
      await this.waitForRoom();
      if (this.state !== "open") return;
      const session = this.session;
      try {
        const result = await retry(
          () => this.fetchOnce(session.signal),
          this.retryOptions("Fetch", session.signal),
        );
        if (session === this.session) this.absorb(result);
      } catch (error) {
        // close or setOffset cut the fetch short: not a failure.
        if (this.state !== "open" || session !== this.session) continue;
        this.counters.errors++;
        this.logError(
          `kafka reader: stopped reading partition ${this.partition} of ${this.topic} at offset ${this.fetchOffset}: ${
            messageOf(error)
          }`,
        );
        this.failure = error instanceof Error
          ? error
          : new Error(String(error));
        this.wake();
      }
    }
  }

  /**
   * Whether the next Fetch may go out: while at most one response waits (the
   * one being read, so fetching overlaps reading it), or while the queue is
   * under both queueCapacity and maxBytes. Either way about one response is
   * queued when the next arrives.
   */
  private hasRoom(): boolean {
    return this.chunks.length <= 1 ||
      (this.queuedMessages < this.limits.queueCapacity &&
        this.queuedBytes < this.limits.maxBytes);
  }

  private waitForRoom(): Promise<void> | undefined {
    if (this.hasRoom() || this.state !== "open") return;
    return new Promise((resolve) => (this.wakeFetcher = resolve));
  }

  private resumeFetching(): void {
    const wake = this.wakeFetcher;
    this.wakeFetcher = null;
    wake?.();
  }

  private retryOptions(
    what: "Fetch" | "ListOffsets",
    signal: AbortSignal | undefined,
  ): RetryOptions {
    return {
      maxAttempts: this.limits.maxAttempts,
      backoffMin: this.limits.readBackoffMin,
      backoffMax: this.limits.readBackoffMax,
      signal,
      onRetry: (error, attempt) => this.onRetry(what, error, attempt),
    };
  }

  private onRetry(what: string, error: unknown, attempt: number): void {
    this.counters.errors++;
    if (isTimeout(error)) this.counters.timeouts++;
    const of = this.limits.maxAttempts === Infinity
      ? ""
      : ` of ${this.limits.maxAttempts}`;
    this.logError(
      `kafka reader: ${what} of partition ${this.partition} of ${this.topic}, attempt ${attempt}${of} failed, retrying: ${
        messageOf(error)
      }`,
    );
    // A moved leader, a fenced epoch and a broken connection all call for
    // fresh metadata; the cluster replaces closed connections by itself.
    this.cluster.invalidate(this.topic);
    // The broker may still hold the timed-out long poll, and would answer
    // the next Fetch on this connection only after it.
    if (what === "Fetch" && error instanceof TimeoutError) {
      this.dropFetchConnection();
    }
  }

  private async fetchOnce(signal: AbortSignal): Promise<FetchResult> {
    const { conn, leaderEpoch, topicId } = await this.leader(this.lane);
    if (conn !== this.fetchConn) {
      this.fetchConn = conn;
      this.counters.dials++;
    }
    const fetchOffset = this.fetchOffset < 0
      ? await this.listOffset(conn, this.fetchOffset, signal)
      : this.fetchOffset;
    this.fetching = true;
    let response: FetchResponse;
    try {
      response = await conn.request(
        Fetch,
        this.fetchRequest(topicId, fetchOffset, leaderEpoch),
        { timeout: this.limits.maxWait + this.requestTimeout, signal },
      );
    } finally {
      this.fetching = false;
    }
    const data = this.partitionData(response, conn.address);
    if (data.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
      if (this.options.offsetOutOfRange !== "error") {
        return { kind: "outOfRange", fromOffset: fetchOffset };
      }
    }
    if (data.errorCode !== 0) {
      throw new KafkaError(data.errorCode, {
        apiName: "Fetch",
        topic: this.topic,
        partition: this.partition,
        detail: data.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE
          ? `offset ${fetchOffset} is outside ${data.logStartOffset}..${data.highWatermark}`
          : undefined,
      });
    }
    return await this.decode(data, fetchOffset, conn.address);
  }

  private get requestTimeout(): number {
    return this.cluster.options.requestTimeout ?? 30_000;
  }

  private fetchRequest(topicId: string, fetchOffset: number, epoch: number) {
    const { minBytes, maxBytes, maxWait } = this.limits;
    return {
      replicaId: -1,
      maxWaitMs: maxWait,
      minBytes,
      maxBytes,
      isolationLevel: this.isolation,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{
        topic: this.topic,
        topicId,
        partitions: [{
          partition: this.partition,
          fetchOffset,
          partitionMaxBytes: maxBytes,
          currentLeaderEpoch: epoch,
          lastFetchedEpoch: -1,
          logStartOffset: -1,
        }],
      }],
      forgottenTopicsData: [],
      rackId: "",
    };
  }

  private partitionData(
    response: FetchResponse,
    address: string,
  ): FetchResponsePartitionData {
    if (response.errorCode !== 0) {
      throw new KafkaError(response.errorCode, {
        apiName: "Fetch",
        topic: this.topic,
        partition: this.partition,
      });
    }
    const data = response.responses[0]?.partitions.find((p) =>
      p.partitionIndex === this.partition
    );
    if (!data) {
      throw new ProtocolError(
        `Fetch response from ${address} has no entry for ${this.topic}/${this.partition}`,
      );
    }
    return data;
  }

  private async decode(
    data: FetchResponsePartitionData,
    fromOffset: number,
    address: string,
  ): Promise<FetchResult> {
    const bytes = data.records ?? new Uint8Array(0);
    const found = await readRecordCursors(bytes, {
      fromOffset,
      decompress: async (id, input) => (await loadCodec(id)).decompress(input),
      abortedTransactions: data.abortedTransactions,
      where: `${this.topic}/${this.partition} from ${address}`,
    });
    // Bytes but no step forward: the batch at fromOffset was cut off, and
    // fetching again would return the same cut.
    const stuck = bytes.length > 0 && found.count === 0 &&
      found.nextOffset <= fromOffset;
    if (found.truncated || stuck) {
      throw new KafkaError(ErrorCode.MESSAGE_TOO_LARGE, {
        apiName: "Fetch",
        topic: this.topic,
        partition: this.partition,
        detail:
          `the batch at offset ${fromOffset} does not fit in the ${bytes.length} bytes the broker returned (maxBytes ${this.limits.maxBytes}); raise "maxBytes"`,
      });
    }
    const stable = this.isolation === 1 && data.lastStableOffset >= 0;
    return {
      kind: "records",
      fromOffset,
      found,
      nextOffset: found.nextOffset,
      highWaterMark: data.highWatermark,
      end: stable ? data.lastStableOffset : data.highWatermark,
      bytes: bytes.length,
    };
  }

  private absorb(result: FetchResult): void {
    this.counters.fetches++;
    if (result.kind === "outOfRange") {
      this.logError(
        `kafka reader: offset ${result.fromOffset} is out of range for partition ${this.partition} of ${this.topic}; resetting to ${
          describeOffset(this.startOffset)
        }`,
      );
      this.fetchOffset = this.startOffset;
      return;
    }
    this.end = result.end;
    this.fetchOffset = result.nextOffset;
    const { found } = result;
    if (found.count > 0) {
      const messages = new FetchedMessages(found, {
        topic: this.topic,
        partition: this.partition,
        highWaterMark: result.highWaterMark,
        copyValues: this.options.copyValues,
      });
      this.chunks.push({ messages, bytes: result.bytes });
      this.queuedMessages += found.count;
      this.queuedBytes += result.bytes;
      this.counters.messages += found.count;
      this.counters.bytes += found.payloadBytes;
      this.wake();
    } else if (this.queuedMessages === 0) {
      // Control records or aborted transactions were stepped over.
      this.position = this.fetchOffset;
    }
    if (this.position < 0) this.position = result.fromOffset;
  }

  // ---- leaders and offsets ----

  private async leader(lane: string) {
    const meta = await this.topicInfo();
    const { conn, info } = await this.cluster.leader(
      this.topic,
      this.partition,
      lane,
    );
    return { conn, leaderEpoch: info.leaderEpoch, topicId: meta.topicId };
  }

  /** The topic's metadata; a RangeError when the partition does not exist. */
  private async topicInfo(): Promise<TopicInfo> {
    const has = (meta: TopicInfo) =>
      meta.partitions.some((p) => p.id === this.partition);
    const cached = await this.cluster.topic(this.topic);
    if (has(cached)) return cached;
    // The cache may predate partitions added since.
    const fresh = await this.cluster.topic(this.topic, { maxAge: 0 });
    if (has(fresh)) return fresh;
    throw new RangeError(
      `Cannot read partition ${this.partition} of topic "${this.topic}": the topic has ${fresh.partitions.length} partition${
        fresh.partitions.length === 1 ? "" : "s"
      }`,
    );
  }

  /** ListOffsets for one timestamp (or -2 first, -1 last); -1 when none. */
  private async listOffset(
    conn: Connection,
    timestamp: number,
    signal?: AbortSignal,
  ): Promise<number> {
    const response = await conn.request(ListOffsets, {
      replicaId: -1,
      isolationLevel: this.isolation,
      topics: [{
        name: this.topic,
        partitions: [{
          partitionIndex: this.partition,
          timestamp,
          currentLeaderEpoch: -1,
        }],
      }],
    }, { signal });
    const result = response.topics[0]?.partitions.find((p) =>
      p.partitionIndex === this.partition
    );
    if (!result) {
      throw new ProtocolError(
        `ListOffsets response from ${conn.address} has no entry for ${this.topic}/${this.partition}`,
      );
    }
    if (result.errorCode !== 0) {
      throw new KafkaError(result.errorCode, {
        apiName: "ListOffsets",
        topic: this.topic,
        partition: this.partition,
      });
    }
    return result.offset;
  }

  /** Runs ListOffsets requests on the leader, retried like fetches. */
  private async withLeader<T>(
    signal: AbortSignal | undefined,
    fn: (conn: Connection) => Promise<T>,
  ): Promise<T> {
    // Not the fetch lane: a long poll there would hold these up.
    return await retry(async () => {
      const { conn } = await this.leader("reader");
      return await fn(conn);
    }, this.retryOptions("ListOffsets", signal));
  }

  setOffset(offset: number): void {
    if (
      !Number.isSafeInteger(offset) ||
      (offset < 0 && offset !== FirstOffset && offset !== LastOffset)
    ) {
      throw new RangeError(
        `Cannot set offset: expected an offset >= 0, FirstOffset (-2) or LastOffset (-1), got ${offset}`,
      );
    }
    this.checkOpen("set offset");
    this.log(
      `kafka reader: seeking partition ${this.partition} of ${this.topic} to ${
        describeOffset(offset)
      }`,
    );
    this.interruptFetch();
    this.chunks = [];
    this.queuedMessages = 0;
    this.queuedBytes = 0;
    this.fetchOffset = offset;
    this.position = offset;
    if (this.failure !== null) {
      // Nobody has seen the failure yet: start over from the new offset.
      this.failure = null;
      this.running = null;
    }
    this.resumeFetching();
  }

  async setOffsetAt(time: Date, signal?: AbortSignal): Promise<void> {
    const ms = time instanceof Date ? time.getTime() : NaN;
    if (!Number.isFinite(ms) || ms < 0) {
      throw new TypeError(
        `Cannot set offset: "time" must be a valid Date after 1970, got ${
          String(time)
        }`,
      );
    }
    this.checkOpen("set offset");
    const offset = await this.withLeader(signal, async (conn) => {
      const found = await this.listOffset(conn, ms, signal);
      return found >= 0 ? found : await this.listOffset(conn, -1, signal);
    });
    this.setOffset(offset);
  }

  get lag(): number {
    if (this.end < 0 || this.position < 0) return -1;
    return Math.max(0, this.end - this.position);
  }

  async readLag(signal?: AbortSignal): Promise<number> {
    this.checkOpen("read lag");
    const position = this.position;
    const [first, last] = await this.withLeader(signal, (conn) =>
      Promise.all([
        position === FirstOffset ? this.listOffset(conn, -2, signal) : 0,
        this.listOffset(conn, -1, signal),
      ]));
    this.end = Math.max(this.end, last);
    if (position === FirstOffset) return last - first;
    if (position === LastOffset) return 0;
    return Math.max(0, last - position);
  }

  private refreshLag(): void {
    this.readLag(this.lifetime.signal).catch((error) => {
      if (this.state !== "open") return;
      this.counters.errors++;
      this.logError(
        `kafka reader: cannot read the lag of partition ${this.partition} of ${this.topic}: ${
          messageOf(error)
        }`,
      );
    });
  }

  // ---- stats, logs, closing ----

  stats(): ReaderStats {
    const c = this.counters;
    this.counters = newCounters();
    return {
      ...c,
      rebalances: 0,
      offset: this.position,
      lag: this.lag,
      minBytes: this.limits.minBytes,
      maxBytes: this.limits.maxBytes,
      maxWait: this.limits.maxWait,
      queueLength: this.queuedMessages,
      queueCapacity: this.limits.queueCapacity,
      clientId: this.cluster.options.clientId ?? "streamkafka",
      topic: this.topic,
      partition: this.partition,
    };
  }

  private log(message: string): void {
    this.options.logger?.(message);
  }

  private logError(message: string): void {
    this.options.errorLogger?.(message);
  }

  checkNotClosed(what: string): void {
    if (this.state === "closed") {
      throw new ClosedError(`Cannot ${what}: the Reader is closed`);
    }
  }

  private checkOpen(what: string): void {
    this.checkNotClosed(what);
    if (this.state === "errored") {
      throw new ClosedError(
        `Cannot ${what}: the Reader failed: ${messageOf(this.failure)}`,
      );
    }
  }

  /** Ends the fetch in progress; the next one starts on a fresh session. */
  private interruptFetch(): void {
    this.session.abort(new DOMException("The fetch was stopped", "AbortError"));
    this.session = new AbortController();
    // The broker answers a connection's requests in order, so a new Fetch
    // would wait behind the long poll it still holds: start a new connection.
    if (this.fetching) this.dropFetchConnection();
  }

  private dropFetchConnection(): void {
    this.fetchConn?.close();
    this.fetchConn = null;
  }

  private fail(error: Error): void {
    this.state = "errored";
    this.controller.error(error);
    this.closing ??= this.release();
  }

  close(): Promise<void> {
    if (this.closing === null) {
      this.state = "closed";
      this.closing = this.release();
      try {
        // Ends a read in progress as the end of the stream.
        this.controller.close();
      } catch {
        // Already closed (cancel) or errored.
      }
    }
    return this.closing;
  }

  private async release(): Promise<void> {
    clearInterval(this.lagTimer);
    this.lifetime.abort(new ClosedError("The Reader is closed"));
    this.interruptFetch();
    this.chunks = [];
    this.queuedMessages = 0;
    this.queuedBytes = 0;
    this.wake();
    this.resumeFetching();
    // Closing our own cluster first also ends a metadata request in flight.
    if (this.ownsCluster) await this.cluster.close();
    await this.running;
    if (!this.ownsCluster) {
      this.dropFetchConnection();
      this.cluster.closeLane(this.lane);
    }
    this.log(
      `kafka reader: closed partition ${this.partition} of ${this.topic} at offset ${this.position}`,
    );
  }
}

function newCounters() {
  return {
    dials: 0,
    fetches: 0,
    messages: 0,
    bytes: 0,
    timeouts: 0,
    errors: 0,
  };
}

function ignore(): void {}

/** `promise`, or a rejection as soon as `signal` aborts. */
function untilAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  what: string,
): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal, what));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    promise.then((value) => {
      signal.removeEventListener("abort", onAbort);
      resolve(value);
    }, (error) => {
      signal.removeEventListener("abort", onAbort);
      reject(error);
    });
  });
}

function describeOffset(offset: number): string {
  if (offset === FirstOffset) return "the first offset";
  if (offset === LastOffset) return "the last offset";
  return `offset ${offset}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isTimeout(error: unknown): boolean {
  return error instanceof TimeoutError ||
    (error instanceof KafkaError &&
      error.code === ErrorCode.REQUEST_TIMED_OUT);
}

function clusterOptions(options: ReaderOptions): ClusterOptions {
  const t = options.transport ?? {};
  return {
    brokers: options.brokers ?? [],
    clientId: t.clientId,
    tls: t.tls,
    sasl: t.sasl,
    metadataMaxAge: t.metadataTTL,
    connectTimeout: t.dialTimeout,
  };
}

function validateReader(options: ReaderOptions): void {
  const fail = (message: string): never => {
    throw new TypeError(`Cannot create Reader: ${message}`);
  };
  const outOfRange = (message: string): never => {
    throw new RangeError(`Cannot create Reader: ${message}`);
  };
  if (options === null || typeof options !== "object") {
    fail("options must be an object");
  }
  if (options.groupId !== undefined) {
    fail(
      `consumer groups are not supported yet (got "groupId" ${
        JSON.stringify(options.groupId)
      }); read one partition with "topic" and "partition"`,
    );
  }
  if (options.cluster !== undefined) {
    if (!(options.cluster instanceof Cluster)) {
      fail(`"cluster" must be a Cluster`);
    }
  } else if (
    !Array.isArray(options.brokers) || options.brokers.length === 0 ||
    options.brokers.some((b) => typeof b !== "string" || b === "")
  ) {
    fail(
      `"brokers" must list at least one "host:port", got ${
        JSON.stringify(options.brokers)
      }`,
    );
  }
  if (typeof options.topic !== "string" || options.topic === "") {
    fail(
      `"topic" must be a non-empty string, got ${
        JSON.stringify(options.topic)
      }`,
    );
  }
  const integers: [keyof Limits, number, number][] = [
    ["partition", 0, INT32_MAX],
    ["queueCapacity", 1, INT32_MAX],
    ["minBytes", 1, INT32_MAX],
    ["maxBytes", 1, INT32_MAX],
    ["maxWait", 1, INT32_MAX],
    ["readLagInterval", 0, INT32_MAX],
    ["maxAttempts", 1, INT32_MAX],
    ["readBackoffMin", 0, INT32_MAX],
    ["readBackoffMax", 0, INT32_MAX],
  ];
  for (const [key, min, max] of integers) {
    checkNumber("Cannot create Reader", key, options[key], { min, max });
  }
  const minBytes = options.minBytes ?? DEFAULTS.minBytes;
  const maxBytes = options.maxBytes ?? DEFAULTS.maxBytes;
  if (minBytes > maxBytes) {
    outOfRange(
      `"minBytes" (${minBytes}) must not exceed "maxBytes" (${maxBytes})`,
    );
  }
  const backoffMin = options.readBackoffMin ?? DEFAULTS.readBackoffMin;
  const backoffMax = options.readBackoffMax ?? DEFAULTS.readBackoffMax;
  if (backoffMin > backoffMax) {
    outOfRange(
      `"readBackoffMin" (${backoffMin}) must not exceed "readBackoffMax" (${backoffMax})`,
    );
  }
  const choices = [
    ["isolationLevel", ["read_uncommitted", "read_committed"]],
    ["offsetOutOfRange", ["reset", "error"]],
    ["startOffset", [FirstOffset, LastOffset]],
  ] as const;
  for (const [key, allowed] of choices) {
    const value = options[key];
    if (value === undefined) continue;
    if (!(allowed as readonly unknown[]).includes(value)) {
      const names = key === "startOffset"
        ? ["FirstOffset (-2)", "LastOffset (-1)"]
        : allowed.map((a) => JSON.stringify(a));
      outOfRange(
        `"${key}" must be ${names.join(" or ")}, got ${JSON.stringify(value)}`,
      );
    }
  }
  if (
    options.copyValues !== undefined && typeof options.copyValues !== "boolean"
  ) {
    fail(`"copyValues" must be a boolean, got ${typeof options.copyValues}`);
  }
  for (const key of ["logger", "errorLogger"] as const) {
    if (options[key] !== undefined && typeof options[key] !== "function") {
      fail(`"${key}" must be a function, got ${typeof options[key]}`);
    }
  }
}
