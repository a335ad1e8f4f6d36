/**
 * The Reader's fetch loop for one partition: a bounded queue of fetched
 * responses, offsets and their resets, retries until closed, lag and stats.
 *
 * @module
 */

import { timeOf } from "../options.ts";
import {
  type Divergence,
  divergence,
  fetchedPartition,
  fetchRequest,
  rewind,
  truncationDetail,
  truncationError,
} from "../requests/fetch.ts";
import { listedOffset, listOffsetsRequest } from "../requests/list_offsets.ts";
import {
  DEFAULTS,
  type Limits,
  type ReaderOptions,
  type ReaderStats,
  validateReader,
} from "./options.ts";
import { Cluster } from "../cluster/cluster.ts";
import type { TopicInfo } from "../cluster/cluster.ts";
import { retry, type RetryOptions } from "../cluster/retry.ts";
import { FirstOffset, LastOffset } from "../conn/conn.ts";
import type { BrokerConnection } from "../connection/connection.ts";
import { ClosedError, messageOf, TimeoutError } from "../connection/errors.ts";
import { describeOffset, isTimeout } from "./fetch_engine.ts";
import type { Message } from "../message.ts";
import { ErrorCode, KafkaError, throwIfError } from "../protocol/errors.ts";
import {
  Fetch,
  type FetchResponse,
  type FetchResponsePartitionData,
} from "../protocol/messages/fetch.ts";
import { ListOffsets } from "../protocol/messages/list_offsets.ts";
import {
  readRecordTables,
  type RecordTables,
} from "../protocol/read_records.ts";
import { FetchedMessages } from "../requests/fetched.ts";
import { loadCodec } from "../../codecs/mod.ts";
import { clusterOptions } from "../cluster/transport.ts";

/** Numbers the readers, so that each fetches on a lane of its own. */
let nextReaderId = 0;

/** The records of one Fetch response, handed out one message at a time. */
export interface Chunk {
  messages: FetchedMessages;
  /** Size of the response's records field, for the byte bound. */
  bytes: number;
}

export type FetchResult =
  | {
    kind: "records";
    fromOffset: number;
    found: RecordTables;
    nextOffset: number;
    highWaterMark: number;
    /** Where reading can get to: the high watermark, or the LSO under read_committed. */
    end: number;
    bytes: number;
  }
  | { kind: "outOfRange"; fromOffset: number }
  | { kind: "diverged"; fromOffset: number; divergence: Divergence };

export class ReaderEngine {
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
  /** The leader epoch of the last batch read, sent as lastFetchedEpoch. */
  private lastEpoch = -1;
  private end = -1;

  /** Aborted by setOffset and close, which end the fetch in progress. */
  private session = new AbortController();
  /** Aborted by close, for background work the caller does not wait on. */
  private readonly lifetime = new AbortController();
  private running: Promise<void> | null = null;
  private fetchConn: BrokerConnection | null = null;
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
    this.topic = options.topic!;
    this.partition = this.limits.partition;
    this.startOffset = options.startOffset ?? FirstOffset;
    this.position = this.startOffset;
    this.fetchOffset = this.startOffset;
    this.isolation = options.isolationLevel === "read_committed" ? 1 : 0;
    this.ownsCluster = options.cluster === undefined;
    this.cluster = options.cluster ?? new Cluster(
      clusterOptions(options.brokers, options.transport),
    );
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

  /** The rest of the chunk the last message came from (maybe none). */
  takeRest(): Message[] {
    if (this.state !== "open") return [];
    const chunk = this.chunks[0];
    if (chunk === undefined) return [];
    const messages = chunk.messages.rest();
    this.queuedMessages -= messages.length;
    this.chunks.shift();
    this.queuedBytes -= chunk.bytes;
    if (messages.length > 0) this.position = messages.at(-1)!.offset + 1;
    if (this.wakeFetcher !== null && this.hasRoom()) this.resumeFetching();
    return messages;
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
    const data = fetchedPartition(response, {
      topic: this.topic,
      topicId,
      partition: this.partition,
    }, conn.address);
    if (data.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
      if (this.options.offsetOutOfRange !== "error") {
        return { kind: "outOfRange", fromOffset: fetchOffset };
      }
    }
    throwIfError(data.errorCode, {
      apiName: "Fetch",
      topic: this.topic,
      partition: this.partition,
      detail: data.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE
        ? `offset ${fetchOffset} is outside ${data.logStartOffset}..${data.highWatermark}`
        : undefined,
    });
    const diverged = divergence(data);
    if (diverged !== null) {
      if (
        diverged.endOffset < fetchOffset &&
        this.options.offsetOutOfRange === "error"
      ) {
        throw truncationError(this, fetchOffset, diverged);
      }
      return {
        kind: "diverged",
        fromOffset: fetchOffset,
        divergence: diverged,
      };
    }
    return await this.decode(data, fetchOffset, conn.address);
  }

  private get requestTimeout(): number {
    return this.cluster.options.requestTimeout ?? 30_000;
  }

  private fetchRequest(topicId: string, fetchOffset: number, epoch: number) {
    const { minBytes, maxBytes, maxWait } = this.limits;
    return fetchRequest([{
      topic: this.topic,
      topicId,
      partition: this.partition,
      fetchOffset,
      leaderEpoch: epoch,
      lastFetchedEpoch: this.lastEpoch,
      maxBytes,
    }], { minBytes, maxBytes, maxWait, isolationLevel: this.isolation });
  }

  private async decode(
    data: FetchResponsePartitionData,
    fromOffset: number,
    address: string,
  ): Promise<FetchResult> {
    const bytes = data.records ?? new Uint8Array(0);
    const found = await readRecordTables(bytes, {
      fromOffset,
      decompress: async (id, input) => (await loadCodec(id)).decompress(input),
      abortedTransactions: data.abortedTransactions,
      where: `${this.topic}/${this.partition} from ${address}`,
      checkCrc: this.options.checkCrcs,
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
      this.lastEpoch = -1;
      return;
    }
    if (result.kind === "diverged") return this.diverged(result);
    this.end = result.end;
    this.fetchOffset = result.nextOffset;
    if (result.found.lastEpoch >= 0) this.lastEpoch = result.found.lastEpoch;
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

  /**
   * The leader's log parts from what was read (KIP-320). Below the fetch
   * offset, the records read past that point are gone (an unclean leader
   * election): reading goes back to where the logs part, dropping what is
   * queued from there on. At or past it, only the epoch is corrected.
   */
  private diverged(
    result: { fromOffset: number; divergence: Divergence },
  ): void {
    const d = result.divergence;
    const back = rewind(result.fromOffset, this.position, d);
    if (back === null) {
      this.lastEpoch = d.epoch;
      return;
    }
    this.counters.errors++;
    this.logError(
      `kafka reader: partition ${this.partition} of ${this.topic}: ${
        truncationDetail(result.fromOffset, d)
      }; reading again from offset ${back.to}`,
    );
    this.chunks = [];
    this.queuedMessages = 0;
    this.queuedBytes = 0;
    this.fetchOffset = back.to;
    this.position = back.to;
    this.lastEpoch = back.lastEpoch;
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
    conn: BrokerConnection,
    timestamp: number,
    signal?: AbortSignal,
  ): Promise<number> {
    const response = await conn.request(
      ListOffsets,
      listOffsetsRequest([{
        topic: this.topic,
        partition: this.partition,
        timestamp,
      }], this.isolation),
      { signal },
    );
    return listedOffset(response, this.topic, this.partition, conn.address);
  }

  /** Runs ListOffsets requests on the leader, retried like fetches. */
  private async withLeader<T>(
    signal: AbortSignal | undefined,
    fn: (conn: BrokerConnection) => Promise<T>,
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
    this.lastEpoch = -1;
    if (this.failure !== null) {
      // Nobody has seen the failure yet: start over from the new offset.
      this.failure = null;
      this.running = null;
    }
    this.resumeFetching();
  }

  async setOffsetAt(time: Date, signal?: AbortSignal): Promise<void> {
    const ms = timeOf("Cannot set offset", time);
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

export function ignore(): void {}
