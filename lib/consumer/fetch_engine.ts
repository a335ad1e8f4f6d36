/**
 * One fetch engine for many partitions: what every Reader reads from, the
 * consumer-group Reader (all its assigned partitions) and the
 * single-partition Reader (one partition, sought with `seek`).
 *
 * This file is its API: assigning, revoking, pausing, seeking and looking
 * up partitions, handing out their messages, stats, failing and closing.
 * Its parts: the hand-out queue and the memory bound (hand_out.ts), routing
 * and a fetch loop per leader broker with their retries (broker_loops.ts),
 * the requests those send and what their answers do (fetch_requests.ts),
 * the state they share (fetch_state.ts), the options (fetch_options.ts).
 *
 * **Failures.** Retriable errors are retried until the engine is closed
 * (or `maxAttempts` failures in a row of a partition); what retrying cannot
 * fix (TOPIC_AUTHORIZATION_FAILED, a TLS or SASL setting, a peer that is
 * not Kafka, OFFSET_OUT_OF_RANGE with `offsetOutOfRange: "error"`) stops all
 * fetching: `failure` holds the error, `onFailure` is called, `ready()`
 * resolves; messages fetched before can still be taken.
 *
 * **Revoking.** `revoke()` forgets the partitions at once: their prefetched
 * messages are dropped, and data for them in a response still in flight is
 * discarded when it arrives. After `revoke()` returns, no message of those
 * partitions is handed out (until they are assigned again). `pause()` and
 * `seek()` discard in the same way, so nothing from before them comes out
 * after them.
 *
 * @module
 */

import { FirstOffset } from "../requests/list_offsets.ts";
import { ClosedError } from "../connection/errors.ts";
import { closedError } from "../cluster/pool.ts";
import type { Message } from "../message.ts";
import { describeValue } from "../options.ts";
import type { FetchedRun } from "../requests/fetched.ts";
import { BrokerLoops } from "./broker_loops.ts";
import {
  type AssignedPartition,
  checkOffset,
  checkPartition,
  type FetchEngineOptions,
  type FetchEngineStats,
  type FetchLimits,
  fetchLimits,
  type PartitionStats,
  type TopicPartition,
  validateFetchEngine,
} from "./fetch_options.ts";
import {
  type Counters,
  describeOffset,
  describePartitions,
  type EngineHub,
  keyOf,
  lagOf,
  newCounters,
  PartitionState,
} from "./fetch_state.ts";
import { HandOut } from "./hand_out.ts";

export type {
  AssignedPartition,
  FetchEngineOptions,
  FetchEngineStats,
  PartitionStats,
  TopicPartition,
};

/** Numbers the engines, so that each fetches on lanes of its own. */
let nextEngineId = 0;

/**
 * Fetches many topic-partitions with one Fetch request per leader broker and
 * hands out their messages in order per partition, partitions taking turns.
 * See the module documentation for what `revoke()` guarantees and where
 * routing, retries and the memory bound are described.
 *
 * Read with `take()` (synchronous, `undefined` when nothing is ready) and
 * `await ready()` when it returns nothing; or with `takeBatch()`, or
 * `for await (const m of engine.messages())`.
 *
 * @example Read a topic's partition from its start
 * ```ts
 * import { Cluster } from "../cluster/cluster.ts";
 * import { FirstOffset } from "../requests/list_offsets.ts";
 * import { Writer } from "../producer/writer.ts";
 * import { FetchEngine } from "./fetch_engine.ts";
 *
 * const cluster = new Cluster({ brokers: ["localhost:9092"] });
 * const topic = "docs-fetch-engine";
 * const writer = new Writer({ cluster, topic, allowAutoTopicCreation: true });
 * await writer.writeMessages({ value: "hello" });
 * await writer.close();
 *
 * const engine = new FetchEngine({ cluster, maxWait: 500 });
 * engine.assign([{ topic, partition: 0, offset: FirstOffset }]);
 * let message = engine.take();
 * while (message === undefined) {
 *   await engine.ready();
 *   if (engine.failure) throw engine.failure;
 *   message = engine.take();
 * }
 * console.log(message.offset, new TextDecoder().decode(message.value!));
 * console.log(engine.position({ topic, partition: 0 }) === message.offset + 1); // true
 * await engine.close();
 * await cluster.close();
 * ```
 */
export class FetchEngine {
  private readonly options: FetchEngineOptions;
  private readonly limits: FetchLimits;
  /** Assigned partitions by key, in assignment order. */
  private readonly byKey = new Map<string, PartitionState>();
  private readonly handOut: HandOut;
  private readonly loops: BrokerLoops;
  private readonly counters: Counters = newCounters();
  private readonly startOffset: number;
  private state: "open" | "closed" = "open";
  private failed: Error | null = null;
  private closing: Promise<void> | null = null;
  private readonly lifetime = new AbortController();

  /** Checks the options (a TypeError or RangeError names a wrong one); fetches nothing yet. */
  constructor(options: FetchEngineOptions) {
    validateFetchEngine(options);
    this.options = options;
    this.limits = fetchLimits(options);
    this.startOffset = options.startOffset ?? FirstOffset;
    this.handOut = new HandOut(this.limits);
    const hub: EngineHub = {
      cluster: options.cluster,
      options,
      limits: this.limits,
      lane: `fetch-engine-${nextEngineId++}`,
      isolation: options.isolationLevel === "read_committed" ? 1 : 0,
      startOffset: this.startOffset,
      byKey: this.byKey,
      handOut: this.handOut,
      counters: this.counters,
      lifetime: this.lifetime.signal,
      active: () => this.active,
      closed: () => this.state === "closed",
      log: (message) => this.log(message),
      logError: (message) => this.logError(message),
      failWith: (error) => this.failWith(error),
      moveTo: (p, offset) => this.moveTo(p, offset),
    };
    this.loops = new BrokerLoops(hub);
  }

  // ---- assignment ----

  /**
   * Adds partitions and starts fetching them (from `offset`, or the
   * `startOffset` option). A partition already assigned keeps its state,
   * unless an offset is given: then it is sought there. Throws a TypeError
   * or RangeError for a malformed entry (and then assigns none), and
   * ClosedError once the engine is closed or failed.
   */
  assign(partitions: readonly AssignedPartition[]): void {
    if (!Array.isArray(partitions)) {
      throw new TypeError(
        `Cannot assign partitions: expected an array of { topic, partition, offset? }, got ${
          describeValue(partitions)
        }`,
      );
    }
    for (const p of partitions) {
      checkPartition("Cannot assign partitions", p);
      if (p.offset !== undefined) {
        checkOffset("Cannot assign partitions", p.offset);
      }
    }
    this.checkOpen("assign partitions");
    const added: PartitionState[] = [];
    for (const { topic, partition, offset } of partitions) {
      const existing = this.byKey.get(keyOf(topic, partition));
      if (existing !== undefined) {
        if (offset !== undefined) this.moveTo(existing, offset);
        continue;
      }
      const state = new PartitionState(
        topic,
        partition,
        offset ?? this.startOffset,
      );
      this.byKey.set(state.key, state);
      added.push(state);
    }
    if (added.length === 0) return;
    this.log(`kafka reader: assigned ${describePartitions(added)}`);
    this.loops.add(added);
  }

  /**
   * Removes partitions (unknown ones are ignored). Their prefetched messages
   * are dropped at once and data for them in a response still in flight is
   * discarded when it arrives: once this returns, no message of these
   * partitions is handed out until they are assigned again.
   */
  revoke(partitions: readonly TopicPartition[]): void {
    const removed: PartitionState[] = [];
    for (const tp of partitions) {
      const p = this.byKey.get(keyOf(tp.topic, tp.partition));
      if (p === undefined) continue;
      this.byKey.delete(p.key);
      this.handOut.forget(p);
      this.loops.remove(p);
      removed.push(p);
    }
    if (removed.length > 0) {
      this.log(`kafka reader: revoked ${describePartitions(removed)}`);
    }
  }

  /**
   * Stops fetching and handing out partitions (unknown ones are ignored).
   * Their prefetched messages are dropped (and fetched again after
   * `resume`): nothing is lost, and a paused partition holds no memory.
   */
  pause(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      const p = this.byKey.get(keyOf(tp.topic, tp.partition));
      if (p === undefined || p.paused) continue;
      p.paused = true;
      this.handOut.forget(p);
      p.fetchOffset = p.position;
    }
  }

  /** Fetches paused partitions again, from where they were paused. */
  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      const p = this.byKey.get(keyOf(tp.topic, tp.partition));
      if (p === undefined || !p.paused) continue;
      p.paused = false;
      if (p.loop !== null) this.loops.poke(p.loop);
    }
  }

  /**
   * Moves an assigned partition to `offset` (or FirstOffset, LastOffset):
   * its prefetched messages are dropped, and the next message it hands out
   * is the one at `offset`. A RangeError for a partition not assigned or a
   * bad offset; ClosedError once the engine is closed or failed.
   */
  seek(partition: TopicPartition, offset: number): void {
    checkPartition("Cannot seek", partition);
    checkOffset("Cannot seek", offset);
    this.checkOpen("seek");
    const p = this.byKey.get(keyOf(partition.topic, partition.partition));
    if (p === undefined) {
      throw new RangeError(
        `Cannot seek: partition ${partition.partition} of "${partition.topic}" is not assigned`,
      );
    }
    this.moveTo(p, offset);
  }

  /** The partitions assigned, in assignment order. */
  assigned(): TopicPartition[] {
    return [...this.byKey.values()].map((p) => ({
      topic: p.topic,
      partition: p.partition,
    }));
  }

  /**
   * The offset of the next message of `partition` to hand out (FirstOffset
   * or LastOffset until looked up), or undefined when it is not assigned.
   */
  position(partition: TopicPartition): number | undefined {
    return this.byKey.get(keyOf(partition.topic, partition.partition))
      ?.position;
  }

  /** The partition's high watermark from the last Fetch response; -1 before one or when not assigned. */
  highWaterMark(partition: TopicPartition): number {
    return this.byKey.get(keyOf(partition.topic, partition.partition))
      ?.highWaterMark ?? -1;
  }

  /**
   * Messages from the partition's position to its end (the high watermark,
   * or the last stable offset under read_committed) as of the last Fetch
   * response; -1 when unknown or not assigned.
   */
  lag(partition: TopicPartition): number {
    const p = this.byKey.get(keyOf(partition.topic, partition.partition));
    return p === undefined ? -1 : lagOf(p);
  }

  /**
   * Looks up offsets of a partition on its leader, assigned or not: for
   * each timestamp (ms since the epoch) the first offset at or after it, or
   * -1 when there is none; FirstOffset (-2) and LastOffset (-1) look up the
   * partition's bounds (the end is the last stable offset under
   * read_committed). A lookup of LastOffset also moves an assigned
   * partition's known end, which `lag()` counts to. Retried with the
   * engine's backoff (up to `maxAttempts`), on a connection where no long
   * poll holds it up.
   */
  listOffsets(
    partition: TopicPartition,
    timestamps: readonly number[],
    signal?: AbortSignal,
  ): Promise<number[]> {
    return this.loops.requests.listOffsets(partition, timestamps, signal);
  }

  // ---- handing out ----

  /**
   * The next message, or undefined when none is ready. Partitions take
   * turns, one fetched chunk at a time; each partition's messages come in
   * offset order.
   */
  take(): Message | undefined {
    return this.handOut.take();
  }

  /**
   * The rest of the chunk that the last `take()` took from, as a run of
   * records of one partition (null when that chunk was finished).
   */
  takeRest(): FetchedRun | null {
    return this.handOut.takeRest();
  }

  /** Up to `max` messages that are ready now (maybe none). */
  takeBatch(max = Infinity): Message[] {
    const out: Message[] = [];
    while (out.length < max) {
      const message = this.handOut.take();
      if (message === undefined) break;
      out.push(message);
    }
    return out;
  }

  /**
   * Resolves when `take()` may return a message, or the engine failed
   * (`failure`), or it is closed; rejects when `signal` aborts (naming
   * `what`). A revoke, pause or seek in between can still leave `take()`
   * empty: call it again then.
   */
  ready(signal?: AbortSignal, what?: string): Promise<void> {
    if (
      this.handOut.hasData || this.failed !== null || this.state === "closed"
    ) return Promise.resolve();
    return this.handOut.waitForData(signal, what);
  }

  /**
   * Every message as it comes, until the engine is closed; throws the
   * failure once the messages fetched before it are handed out.
   */
  async *messages(): AsyncGenerator<Message, void, undefined> {
    for (;;) {
      const message = this.handOut.take();
      if (message !== undefined) {
        yield message;
        continue;
      }
      if (this.failed !== null) throw this.failed;
      if (this.state === "closed") return;
      await this.ready();
    }
  }

  /** The error that stopped fetching, or null. */
  get failure(): Error | null {
    return this.failed;
  }

  // ---- stats, failing and closing ----

  /** How many partitions are assigned. */
  get assignedCount(): number {
    return this.byKey.size;
  }

  /** The largest lag of an assigned partition; -1 when none is known. */
  maxLag(): number {
    let max = -1;
    for (const p of this.byKey.values()) max = Math.max(max, lagOf(p));
    return max;
  }

  /** Counters since the last call, and each partition's state. */
  stats(): FetchEngineStats {
    const c = { ...this.counters };
    Object.assign(this.counters, newCounters());
    const partitions: PartitionStats[] = [];
    let queuedMessages = 0;
    for (const p of this.byKey.values()) {
      let messages = 0;
      for (const chunk of p.chunks) messages += chunk.messages.remaining;
      queuedMessages += messages;
      partitions.push({
        topic: p.topic,
        partition: p.partition,
        position: p.position,
        highWaterMark: p.highWaterMark,
        lag: lagOf(p),
        paused: p.paused,
        leader: p.loop === null ? -1 : p.leaderId,
        replica: p.loop === null || p.loop.id === p.leaderId ? -1 : p.loop.id,
        queuedMessages: messages,
        queuedBytes: p.queuedBytes,
      });
    }
    const queuedBytes = this.loops.heldBytes();
    return { ...c, queuedMessages, queuedBytes, partitions };
  }

  /**
   * Stops fetching: fetches in flight are aborted, prefetched messages
   * dropped, the engine's connections closed (the cluster stays open).
   * Resolves promptly, even while a broker is unreachable.
   */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.state = "closed";
    this.lifetime.abort(new ClosedError("The fetch engine is closed"));
    for (const p of this.byKey.values()) this.handOut.forget(p);
    this.byKey.clear();
    this.handOut.clear();
    this.loops.stop();
    this.handOut.notify();
    this.closing = this.shutdown();
    return this.closing;
  }

  /** Waits for the loops to end and their connections to close. */
  private async shutdown(): Promise<void> {
    await this.loops.shutdown();
    this.log("kafka reader: fetch engine closed");
  }

  /** Open and not failed: the loops and the router run. */
  private get active(): boolean {
    return this.state === "open" && this.failed === null;
  }

  /** Drops the partition's data and fetches it from `offset` next. */
  private moveTo(p: PartitionState, offset: number): void {
    this.log(
      `kafka reader: seeking partition ${p.partition} of ${p.topic} to ${
        describeOffset(offset)
      }`,
    );
    this.handOut.forget(p);
    p.fetchOffset = offset;
    p.position = offset;
    p.lastEpoch = -1;
    if (p.loop !== null && !p.paused) this.loops.poke(p.loop);
  }

  /** Stops all fetching with an error retrying cannot fix. */
  private failWith(error: unknown): void {
    if (!this.active) return;
    // A connection closed under the engine by its (shared) Cluster's close:
    // the error says which was closed.
    const failure =
      error instanceof ClosedError && this.options.cluster.isClosed
        ? closedError()
        : error instanceof Error
        ? error
        : new Error(String(error));
    this.failed = failure;
    this.counters.errors++;
    this.logError(`kafka reader: stopped fetching: ${failure.message}`);
    this.loops.stop();
    this.handOut.notify();
    this.options.onFailure?.(failure);
  }

  /** Throws ClosedError once the engine is closed or failed. */
  private checkOpen(what: string): void {
    if (this.state === "closed") {
      throw new ClosedError(`Cannot ${what}: the fetch engine is closed`);
    }
    if (this.failed !== null) {
      throw new ClosedError(
        `Cannot ${what}: the fetch engine failed: ${this.failed.message}`,
      );
    }
  }

  /** Reports an event to `logger`. */
  private log(message: string): void {
    this.options.logger?.(message);
  }

  /** Reports a failure to `errorLogger`. */
  private logError(message: string): void {
    this.options.errorLogger?.(message);
  }
}
