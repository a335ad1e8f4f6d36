/**
 * The single-partition Reader over the fetch engine: the consumer side
 * reader.ts calls (the stream's pull, the quick takes), offsets
 * (setOffset, setOffsetAt), lag and readLag, stats and closing, for a
 * FetchEngine with the one partition assigned.
 *
 * Nothing is fetched until the first read, when the partition is assigned
 * at the offset chosen meanwhile. The engine bounds prefetching with the
 * Reader's `maxBytes` (as both the response's and the partition's limit)
 * and `queueCapacity`. The stream errors with the engine's failure only
 * once the messages fetched before it are read; a setOffset before anyone
 * has seen that failure starts over from the new offset on a new engine.
 *
 * @module
 */

import { Cluster } from "../cluster/cluster.ts";
import { clusterOptions } from "../cluster/transport.ts";
import { FirstOffset, LastOffset } from "../requests/list_offsets.ts";
import { ClosedError, messageOf } from "../connection/errors.ts";
import type { Message, TopicPartition } from "../message.ts";
import type { FetchedRun } from "../requests/fetched.ts";
import { timeOf } from "../options.ts";
import { FetchEngine, type FetchEngineStats } from "./fetch_engine.ts";
import { checkOffset } from "./fetch_options.ts";
import { describeOffset } from "./fetch_state.ts";
import { StreamEngine } from "./stream_engine.ts";
import type { FetchTally } from "./fetch_options.ts";
import { readerTelemetry } from "./telemetry.ts";
import { DEFAULTS, type ReaderOptions, type ReaderStats } from "./options.ts";

/** The counters of `ReaderStats` that add up across engines. */
type Counters = Pick<
  FetchEngineStats,
  "dials" | "fetches" | "messages" | "bytes" | "timeouts" | "errors"
>;

/** The consumer side of a Reader of one topic-partition. */
export class PartitionEngine extends StreamEngine {
  private readonly options: ReaderOptions;
  private readonly tp: TopicPartition;
  private readonly cluster: Cluster;
  private readonly ownsCluster: boolean;
  private engine: FetchEngine;
  /** Whether the partition is assigned: from the first read on. */
  private started = false;
  /** Where reading starts until it does. */
  private startAt: number;
  /** Offset and lag where reading stopped, once closed (the engine forgot them). */
  private stopped: { position: number; lag: number } | null = null;
  /** The partition's end as readLag found it before reading started. */
  private knownEnd = -1;
  /** Engines given up after a failure, closing. */
  private retired: Promise<unknown> = Promise.resolve();
  /** Counts of retired engines and of failed lag refreshes, for the next stats(). */
  private carried: Counters = newCounters();
  private lagTimer: ReturnType<typeof setInterval> | undefined;
  /** Aborted by close, for background lookups nobody waits on. */
  private readonly lifetime = new AbortController();
  /** Records and bytes fetched by every engine, for telemetry. */
  private readonly tally: FetchTally = { records: 0, bytes: 0 };

  /** Takes options the Reader has checked; fetches nothing yet. */
  constructor(options: ReaderOptions) {
    super();
    this.options = options;
    this.tp = {
      topic: options.topic!,
      partition: options.partition ?? DEFAULTS.partition,
    };
    this.startAt = options.startOffset ?? FirstOffset;
    this.ownsCluster = options.cluster === undefined;
    this.cluster = options.cluster ?? new Cluster(
      clusterOptions(options.brokers, options.transport),
    );
    this.engine = this.newEngine();
    this.telemetry = readerTelemetry(this.cluster, options, {
      tally: this.tally,
      maxLag: () => this.engine.maxLag(),
    });
  }

  private newEngine(): FetchEngine {
    const o = this.options;
    const maxBytes = o.maxBytes ?? DEFAULTS.maxBytes;
    return new FetchEngine({
      cluster: this.cluster,
      tally: this.tally,
      minBytes: o.minBytes,
      // One partition: maxBytes bounds the response and what waits unread.
      maxBytes,
      partitionMaxBytes: maxBytes,
      maxWait: o.maxWait,
      queueCapacity: o.queueCapacity ?? DEFAULTS.queueCapacity,
      isolationLevel: o.isolationLevel,
      startOffset: o.startOffset,
      offsetOutOfRange: o.offsetOutOfRange,
      readBackoffMin: o.readBackoffMin,
      readBackoffMax: o.readBackoffMax,
      maxAttempts: o.maxAttempts,
      // The user named the partition: one the topic lacks is a mistake.
      unknownPartition: "error",
      copyValues: o.copyValues,
      checkCrcs: o.checkCrcs,
      logger: o.logger,
      errorLogger: o.errorLogger,
      rack: o.rack,
    });
  }

  /** Assigns the partition on the first read. */
  private start(): void {
    if (this.started || this.state !== "open") return;
    this.started = true;
    this.telemetry?.start();
    this.engine.assign([{ ...this.tp, offset: this.startAt }]);
    const interval = this.options.readLagInterval ?? 0;
    if (interval > 0) {
      this.lagTimer = setInterval(() => this.refreshLag(), interval);
    }
  }

  // ---- the consumer side ----

  /** The stream's pull: one message, fetched first when none is ready. */
  pull(): Promise<void> | undefined {
    const message = this.engine.take();
    if (message === undefined) return this.waitAndPull();
    this.enqueue(message);
  }

  private async waitAndPull(): Promise<void> {
    this.start();
    while (this.state === "open") {
      const engine = this.engine;
      const message = engine.take();
      if (message !== undefined) return this.enqueue(message);
      if (engine.failure !== null) return this.fail(engine.failure);
      await engine.ready();
      // The reader that asked let go (an aborted readMessage): leave the
      // message queued, where a setOffset can still discard it.
      if (!this.isLocked()) return;
    }
  }

  /** A ready message for readMessage when nobody holds the stream. */
  takeUnlocked(locked: boolean): Message | undefined {
    if (locked) return undefined;
    return this.takeQueued();
  }

  /** A ready message when the stream's own queue is empty (it comes first). */
  takeQueued(): Message | undefined {
    if (this.state !== "open") return undefined;
    if (this.streamHolds()) return undefined;
    return this.engine.take();
  }

  /** The rest of the chunk the last message came from (maybe none). */
  takeRest(): FetchedRun | null {
    if (this.state !== "open") return null;
    return this.engine.takeRest();
  }

  // ---- offsets and lag ----

  /** The offset of the next message to hand out. */
  get position(): number {
    if (this.stopped !== null) return this.stopped.position;
    if (!this.started) return this.startAt;
    return this.engine.position(this.tp) ?? this.startAt;
  }

  setOffset(offset: number): void {
    checkOffset("Cannot set offset", offset);
    this.checkOpen("set offset");
    if (this.engine.failure !== null) {
      // Nobody has seen the failure yet: start over from the new offset.
      this.restart(offset);
    } else if (this.started) {
      this.engine.seek(this.tp, offset);
    } else {
      this.options.logger?.(
        `kafka reader: seeking partition ${this.tp.partition} of ${this.tp.topic} to ${
          describeOffset(offset)
        }`,
      );
      this.startAt = offset;
    }
  }

  async setOffsetAt(time: Date, signal?: AbortSignal): Promise<void> {
    const ms = timeOf("Cannot set offset", time);
    this.checkOpen("set offset");
    let [offset] = await this.engine.listOffsets(this.tp, [ms], signal);
    if (offset < 0) {
      // No message at or after the time: the end.
      [offset] = await this.engine.listOffsets(this.tp, [LastOffset], signal);
    }
    this.setOffset(offset);
  }

  get lag(): number {
    if (this.stopped !== null) return this.stopped.lag;
    if (this.started) return this.engine.lag(this.tp);
    if (this.knownEnd < 0 || this.startAt < 0) return -1;
    return Math.max(0, this.knownEnd - this.startAt);
  }

  async readLag(signal?: AbortSignal): Promise<number> {
    this.checkOpen("read the lag");
    const position = this.position;
    const wanted = position === FirstOffset
      ? [FirstOffset, LastOffset]
      : [LastOffset];
    const found = await this.engine.listOffsets(this.tp, wanted, signal);
    const last = found[found.length - 1];
    if (!this.started) this.knownEnd = Math.max(this.knownEnd, last);
    if (position === FirstOffset) return last - found[0];
    if (position === LastOffset) return 0;
    return Math.max(0, last - position);
  }

  /** readLagInterval's background lookup of the partition's end. */
  private refreshLag(): void {
    this.readLag(this.lifetime.signal).catch((error) => {
      if (this.state !== "open") return;
      this.carried.errors++;
      this.options.errorLogger?.(
        `kafka reader: cannot read the lag of partition ${this.tp.partition} of ${this.tp.topic}: ${
          messageOf(error)
        }`,
      );
    });
  }

  /** Replaces the failed engine with a new one reading from `offset`. */
  private restart(offset: number): void {
    const failed = this.engine;
    this.carry(failed.stats());
    this.retired = Promise.all([this.retired, failed.close()]);
    this.engine = this.newEngine();
    this.engine.assign([{ ...this.tp, offset }]);
  }

  private carry(from: Counters): void {
    const c = this.carried;
    c.dials += from.dials;
    c.fetches += from.fetches;
    c.messages += from.messages;
    c.bytes += from.bytes;
    c.timeouts += from.timeouts;
    c.errors += from.errors;
  }

  // ---- stats and closing ----

  stats(): ReaderStats {
    const s = this.engine.stats();
    this.carry(s);
    const c = this.carried;
    this.carried = newCounters();
    const o = this.options;
    return {
      ...c,
      rebalances: 0,
      offset: this.position,
      lag: this.lag,
      minBytes: o.minBytes ?? DEFAULTS.minBytes,
      maxBytes: o.maxBytes ?? DEFAULTS.maxBytes,
      maxWait: o.maxWait ?? DEFAULTS.maxWait,
      queueLength: s.queuedMessages,
      queueCapacity: o.queueCapacity ?? DEFAULTS.queueCapacity,
      clientId: this.cluster.options.clientId ?? "streamkafka",
      topic: this.tp.topic,
      partition: this.tp.partition,
    };
  }

  protected override async release(): Promise<void> {
    clearInterval(this.lagTimer);
    this.lifetime.abort(new ClosedError("The Reader is closed"));
    this.stopped = { position: this.position, lag: this.lag };
    await Promise.all([this.engine.close(), this.retired]);
    if (this.ownsCluster) await this.cluster.close();
    this.options.logger?.(
      `kafka reader: closed partition ${this.tp.partition} of ${this.tp.topic} at offset ${this.stopped.position}`,
    );
  }
}

function newCounters(): Counters {
  return {
    dials: 0,
    fetches: 0,
    messages: 0,
    bytes: 0,
    timeouts: 0,
    errors: 0,
  };
}
