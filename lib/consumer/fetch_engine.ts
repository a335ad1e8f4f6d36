/**
 * One fetch engine for many partitions: what every Reader reads from, the
 * consumer-group Reader (all its assigned partitions) and the
 * single-partition Reader (one partition, sought with `seek`).
 *
 * **Routing.** Each assigned partition is routed to its leader broker from
 * the cluster's metadata, and each broker has one fetch loop on a connection
 * (a lane) of its own per engine, since a Fetch long-polls. A loop sends ONE
 * Fetch at a time, carrying every partition routed to it that is not paused,
 * those that got records last time at the end: the broker fills a response
 * in request order, so each partition gets its turn at the front.
 * Partitions whose offset is FirstOffset or LastOffset are resolved first,
 * with one ListOffsets request per broker for all of them.
 *
 * **Failures.** A failed request (a broken connection, a timeout, a broker
 * going away) or a partition's retriable error (NOT_LEADER_OR_FOLLOWER,
 * FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, UNKNOWN_TOPIC_OR_PARTITION, ...)
 * is reported to `errorLogger`; the partitions concerned drop their cached
 * metadata and are routed again after a backoff (`readBackoffMin` doubling
 * to `readBackoffMax`), to wherever their leader now is. By default there
 * is no attempt limit: the engine retries until it is closed (`maxAttempts`
 * caps the failures in a row of one partition). What retrying cannot fix
 * (TOPIC_AUTHORIZATION_FAILED, a TLS or SASL setting, a peer that is not
 * Kafka, OFFSET_OUT_OF_RANGE with `offsetOutOfRange: "error"`) stops all
 * fetching: `failure` holds the error, `onFailure` is called, `ready()`
 * resolves; messages fetched before can still be taken.
 *
 * **Memory.** Bounded per broker: a loop sends its next Fetch only while at
 * most one of its responses is still being read, or while the responses it
 * holds (those with a message not yet taken) add up to fewer than `maxBytes`
 * bytes of records (and fewer than `queueCapacity` messages, when set). A
 * response carries at most `maxBytes` (the broker's limit for the whole
 * response; only a single record batch larger than that comes whole), so at
 * most about 2 × `maxBytes` of fetched records wait per broker. A response is counted whole until its last message is taken or
 * dropped, because its partitions' records share its buffer. Records are
 * checked when they arrive (CRC, decompression) but made into messages only
 * as they are taken.
 *
 * **Handing out.** `take()` hands out one message at a time, in offset order
 * per partition; partitions with data take turns one fetched chunk (one
 * partition's records of one response) at a time. It allocates nothing
 * beyond the message itself.
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

import type { Cluster, TopicInfo } from "../cluster/cluster.ts";
import { backoff, canRetry, retry } from "../cluster/retry.ts";
import type { Logger } from "../cluster/transport.ts";
import { FirstOffset, LastOffset } from "../conn/conn.ts";
import type { BrokerConnection } from "../connection/connection.ts";
import {
  ClosedError,
  messageOf,
  TimeoutError,
  untilAborted,
} from "../connection/errors.ts";
import type { Message } from "../message.ts";
import { checkNumber } from "../options.ts";
import { ErrorCode, KafkaError, throwIfError } from "../protocol/errors.ts";
import {
  Fetch,
  type FetchResponse,
  type FetchResponsePartitionData,
} from "../protocol/messages/fetch.ts";
import { ListOffsets } from "../protocol/messages/list_offsets.ts";
import { readRecordTables } from "../protocol/read_records.ts";
import {
  type Divergence,
  divergence,
  type FetchPartition,
  fetchRequest,
  rewind,
  truncationDetail,
  truncationError,
} from "../requests/fetch.ts";
import { FetchedMessages } from "../requests/fetched.ts";
import { listedOffset, listOffsetsRequest } from "../requests/list_offsets.ts";
import { loadCodec } from "../../codecs/mod.ts";
import { checkFetchSettings, type IsolationLevel } from "./options.ts";

import type { TopicPartition } from "../message.ts";

export type { TopicPartition };

/**
 * A partition to assign, and where to start reading it.
 *
 * @example
 * ```ts
 * import { FirstOffset } from "../conn/conn.ts";
 * import type { AssignedPartition } from "./fetch_engine.ts";
 *
 * const committed: AssignedPartition = { topic: "orders", partition: 0, offset: 42 };
 * const fresh: AssignedPartition = { topic: "orders", partition: 1, offset: FirstOffset };
 * console.log(committed.offset, fresh.offset); // 42 -2
 * ```
 */
export interface AssignedPartition extends TopicPartition {
  /**
   * The offset of the first message to hand out, or FirstOffset (-2) or
   * LastOffset (-1), looked up with ListOffsets. Default: the engine's
   * `startOffset`.
   */
  offset?: number;
}

/**
 * Options of a {@link FetchEngine}. The byte and wait settings are the
 * Reader's.
 *
 * @example
 * ```ts
 * import { Cluster } from "../cluster/cluster.ts";
 * import { LastOffset } from "../conn/conn.ts";
 * import type { FetchEngineOptions } from "./fetch_engine.ts";
 *
 * const cluster = new Cluster({ brokers: ["localhost:9092"] });
 * const options: FetchEngineOptions = {
 *   cluster,
 *   maxBytes: 4 << 20,
 *   partitionMaxBytes: 1 << 20,
 *   maxWait: 500,
 *   startOffset: LastOffset,
 *   errorLogger: (message) => console.error(message),
 * };
 * console.log(options.maxWait);
 * await cluster.close();
 * ```
 */
export interface FetchEngineOptions {
  /** The cluster to fetch from; the engine uses lanes of its own and leaves it open. */
  cluster: Cluster;
  /** Bytes the broker gathers before it answers a Fetch (default 1). */
  minBytes?: number;
  /**
   * Most bytes of records in one Fetch response (default 1 MiB), except that
   * a single larger record batch still comes whole. Also the memory bound:
   * a broker's next Fetch goes out only while fewer bytes than this wait
   * unread (or at most one response), so about 2 × maxBytes wait per broker.
   */
  maxBytes?: number;
  /** Most bytes of one partition in one response (default: `maxBytes`). */
  partitionMaxBytes?: number;
  /** Milliseconds the broker may wait for minBytes (default 10 s). */
  maxWait?: number;
  /** "read_committed" skips aborted transactions (default "read_uncommitted"). */
  isolationLevel?: IsolationLevel;
  /**
   * Where a partition assigned without an offset starts, and where an
   * out-of-range offset is reset to: FirstOffset (the default) or LastOffset.
   */
  startOffset?: typeof FirstOffset | typeof LastOffset;
  /**
   * What OFFSET_OUT_OF_RANGE does: "reset" (the default) moves the partition
   * to `startOffset`; "error" stops the engine with that error. A log
   * truncated below the position moves the partition back to where the
   * leader's log parts from what was read, or under "error" stops the engine.
   */
  offsetOutOfRange?: "reset" | "error";
  /**
   * Fetched messages that may wait per broker (default: no limit) before its
   * next Fetch waits too, unless they all came in the one response being
   * read; `maxBytes` bounds the waiting either way.
   */
  queueCapacity?: number;
  /** Milliseconds before the first retry (default 100). */
  readBackoffMin?: number;
  /** Ceiling of the retry backoff (default 1000). */
  readBackoffMax?: number;
  /**
   * Failures in a row of one partition (its Fetch, or the lookup of its
   * leader or offset) before the engine stops with the last one (default:
   * no limit, retried until the engine is closed).
   */
  maxAttempts?: number;
  /**
   * What a partition the topic does not have (in fresh metadata) does:
   * "retry" (the default; a group's assignment may run ahead of a broker's
   * metadata) routes it again after a backoff, "error" stops the engine
   * with a RangeError naming the partition count.
   */
  unknownPartition?: "retry" | "error";
  /** Copy keys, values and header values out of the fetched buffers (default false). */
  copyValues?: boolean;
  /** Check each fetched batch's CRC-32C (default true). */
  checkCrcs?: boolean;
  /** Receives informational events: assignments, resets, closing. */
  logger?: Logger;
  /** Receives failures: each retried request and its cause. */
  errorLogger?: Logger;
  /** Called once when an error that retrying cannot fix stops the engine. */
  onFailure?: (error: Error) => void;
}

/**
 * What the engine knows of one assigned partition.
 *
 * @example
 * ```ts
 * import type { PartitionStats } from "./fetch_engine.ts";
 *
 * function behind(p: PartitionStats): string {
 *   return `${p.topic}/${p.partition}: ${p.lag < 0 ? "?" : p.lag} behind`;
 * }
 * console.log(behind({
 *   topic: "t", partition: 0, position: 5, highWaterMark: 9, lag: 4,
 *   paused: false, leader: 1, queuedMessages: 4, queuedBytes: 300,
 * })); // t/0: 4 behind
 * ```
 */
export interface PartitionStats {
  /** The topic. */
  topic: string;
  /** The partition. */
  partition: number;
  /** Offset of the next message to hand out; FirstOffset or LastOffset until looked up. */
  position: number;
  /** The high watermark from the last Fetch response, -1 before one. */
  highWaterMark: number;
  /** Messages from `position` to the end (the last stable offset under read_committed), -1 unknown. */
  lag: number;
  /** Whether the partition is paused. */
  paused: boolean;
  /** The leader broker it is fetched from, -1 while it is being routed. */
  leader: number;
  /** Fetched messages not yet handed out. */
  queuedMessages: number;
  /** Bytes of records fetched and not yet handed out. */
  queuedBytes: number;
}

/**
 * Counters since the last `stats()` call, and the current state.
 *
 * @example
 * ```ts
 * import type { FetchEngineStats } from "./fetch_engine.ts";
 *
 * function summary(s: FetchEngineStats): string {
 *   return `${s.fetches} fetches, ${s.messages} messages, ${s.errors} errors`;
 * }
 * console.log(summary({
 *   dials: 1, fetches: 3, offsetLookups: 1, messages: 20, bytes: 400,
 *   errors: 0, timeouts: 0, interrupts: 0, queuedMessages: 0,
 *   queuedBytes: 0, partitions: [],
 * })); // 3 fetches, 20 messages, 0 errors
 * ```
 */
export interface FetchEngineStats {
  /** Connections opened for fetching. */
  dials: number;
  /** Fetch requests answered. */
  fetches: number;
  /** ListOffsets requests answered (FirstOffset and LastOffset lookups). */
  offsetLookups: number;
  /** Messages fetched. */
  messages: number;
  /** Key and value bytes fetched. */
  bytes: number;
  /** Failed requests and partition errors, retried or not. */
  errors: number;
  /** Failed requests that timed out (counted in `errors` too). */
  timeouts: number;
  /** Fetches cut short so that a partition assigned, resumed or sought joins at once. */
  interrupts: number;
  /** Fetched messages not yet handed out, all partitions. */
  queuedMessages: number;
  /** Bytes of the fetched responses held until their messages are taken, all brokers. */
  queuedBytes: number;
  /** Each assigned partition, in assignment order. */
  partitions: PartitionStats[];
}

const DEFAULTS = {
  minBytes: 1,
  maxBytes: 1024 * 1024,
  partitionMaxBytes: 0, // 0: maxBytes
  maxWait: 10_000,
  queueCapacity: Infinity,
  readBackoffMin: 100,
  readBackoffMax: 1000,
  maxAttempts: Infinity,
};

type Limits = typeof DEFAULTS;

const INT32_MAX = 2 ** 31 - 1;
const EMPTY = new Uint8Array(0);

/** Numbers the engines, so that each fetches on lanes of its own. */
let nextEngineId = 0;

/** Wakes whoever waits; `wait()` callers share one promise. */
class Notifier {
  private resolve: (() => void) | null = null;
  private promise: Promise<void> | null = null;

  wait(): Promise<void> {
    if (this.promise === null) {
      this.promise = new Promise((resolve) => (this.resolve = resolve));
    }
    return this.promise;
  }

  /** Waits for `notify()` or `ms` milliseconds, whichever comes first. */
  waitFor(ms: number): Promise<void> {
    const timer = setTimeout(() => this.notify(), ms);
    return this.wait().then(() => clearTimeout(timer));
  }

  notify(): void {
    const resolve = this.resolve;
    this.resolve = null;
    this.promise = null;
    resolve?.();
  }
}

/** A Fetch response as memory: counted whole while any of its chunks waits. */
interface HeldResponse {
  loop: BrokerLoop;
  bytes: number;
  /** Its chunks not yet fully taken or dropped. */
  chunks: number;
}

/** One partition's records of one response, made into messages as taken. */
interface Chunk {
  messages: FetchedMessages;
  /** Its messages, taken or not. */
  count: number;
  bytes: number;
  held: HeldResponse;
}

/** An assigned partition. Revoking forgets the object: a new assignment makes a new one. */
class PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  topicId = "";
  leaderEpoch = -1;
  /** The leader epoch of the last batch read, sent as lastFetchedEpoch. */
  lastEpoch = -1;
  loop: BrokerLoop | null = null;
  /** Where the next Fetch starts; FirstOffset or LastOffset until looked up. */
  fetchOffset: number;
  /** The offset of the next message to hand out. */
  position: number;
  paused = false;
  /** Bumped by seek, pause and revoke: answers to older requests are discarded. */
  generation = 0;
  chunks: Chunk[] = [];
  queuedBytes = 0;
  /** In the ring of partitions with data, or the one being handed out. */
  listed = false;
  /** In the Fetch in flight. */
  inFlight = false;
  highWaterMark = -1;
  /** Where reading can get to: the high watermark, or the LSO under read_committed. */
  end = -1;
  /** Failures in a row, for the backoff. */
  failures = 0;
  /** No routing before this time (ms since epoch). */
  retryAt = 0;
  /** Fetch it first next time: its batch did not fit in what the response had left. */
  first = false;

  constructor(topic: string, partition: number, offset: number) {
    this.topic = topic;
    this.partition = partition;
    this.key = keyOf(topic, partition);
    this.fetchOffset = offset;
    this.position = offset;
  }
}

/** The fetch loop of one broker. */
class BrokerLoop {
  readonly id: number;
  /**
   * The partitions routed here, in the order of the next Fetch: a partition
   * that got records moves to the end, so that the broker, which fills a
   * response in request order, serves the others first next time.
   */
  readonly members = new Set<PartitionState>();
  readonly signal = new Notifier();
  running: Promise<void> = Promise.resolve();
  conn: BrokerConnection | null = null;
  /** Aborts the ListOffsets or Fetch in progress; kept for the next round until used. */
  round: AbortController | null = null;
  /** A Fetch is in flight. */
  fetching = false;
  /** Something changed since the round collected its partitions. */
  stale = false;
  waitingForRoom = false;
  heldBytes = 0;
  heldResponses = 0;
  /** Messages of the chunks held (taken ones too, until their chunk is done). */
  heldMessages = 0;

  constructor(id: number) {
    this.id = id;
  }
}

/** A partition as one request carried it. */
interface Entry {
  state: PartitionState;
  generation: number;
  fetchOffset: number;
}

/**
 * Fetches many topic-partitions with one Fetch request per leader broker and
 * hands out their messages in order per partition, partitions taking turns.
 * See the module documentation for routing, retries, the memory bound and
 * what `revoke()` guarantees.
 *
 * Read with `take()` (synchronous, `undefined` when nothing is ready) and
 * `await ready()` when it returns nothing; or with `takeBatch()`, or
 * `for await (const m of engine.messages())`.
 *
 * @example Read a topic's partition from its start
 * ```ts
 * import { Cluster } from "../cluster/cluster.ts";
 * import { FirstOffset } from "../conn/conn.ts";
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
  private readonly cluster: Cluster;
  private readonly options: FetchEngineOptions;
  private readonly limits: Limits;
  private readonly lane = `fetch-engine-${nextEngineId++}`;
  private readonly isolation: 0 | 1;
  private readonly startOffset: number;

  /** Assigned partitions by key, in assignment order. */
  private readonly byKey = new Map<string, PartitionState>();
  /** Assigned partitions with no leader yet. */
  private readonly unrouted = new Set<PartitionState>();
  private readonly loops = new Map<number, BrokerLoop>();
  private readonly router = new Notifier();
  private routing: Promise<void> | null = null;

  /** Partitions with data waiting their turn. */
  private ring: PartitionState[] = [];
  /** The partition whose chunk is being handed out. */
  private current: PartitionState | undefined = undefined;
  /** Loops waiting for room that taking a message can make (queueCapacity). */
  private countWaiters = 0;
  private readonly consumer = new Notifier();

  private state: "open" | "closed" = "open";
  private failed: Error | null = null;
  private closing: Promise<void> | null = null;
  private readonly lifetime = new AbortController();
  private counters = newCounters();

  /** Checks the options (a TypeError or RangeError names a wrong one); fetches nothing yet. */
  constructor(options: FetchEngineOptions) {
    validate(options);
    this.options = options;
    this.cluster = options.cluster;
    this.limits = { ...DEFAULTS };
    for (const key of Object.keys(DEFAULTS) as (keyof Limits)[]) {
      const value = options[key];
      if (value !== undefined) this.limits[key] = value;
    }
    if (this.limits.partitionMaxBytes === 0) {
      this.limits.partitionMaxBytes = this.limits.maxBytes;
    }
    this.isolation = options.isolationLevel === "read_committed" ? 1 : 0;
    this.startOffset = options.startOffset ?? FirstOffset;
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
        `Cannot assign partitions: expected an array of { topic, partition, offset? }, got ${typeof partitions}`,
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
      this.unrouted.add(state);
      added.push(state);
    }
    if (added.length === 0) return;
    this.log(`kafka reader: assigned ${describePartitions(added)}`);
    this.routing ??= this.routeLoop();
    this.router.notify();
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
      this.forget(p);
      p.loop?.members.delete(p);
      p.loop = null;
      this.unrouted.delete(p);
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
      this.forget(p);
      p.fetchOffset = p.position;
    }
  }

  /** Fetches paused partitions again, from where they were paused. */
  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      const p = this.byKey.get(keyOf(tp.topic, tp.partition));
      if (p === undefined || !p.paused) continue;
      p.paused = false;
      if (p.loop !== null) this.poke(p.loop);
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
  async listOffsets(
    partition: TopicPartition,
    timestamps: readonly number[],
    signal?: AbortSignal,
  ): Promise<number[]> {
    checkPartition("Cannot list offsets", partition);
    // A lookup, not fetching: it works after a failure too.
    if (this.state === "closed") {
      throw new ClosedError("Cannot list offsets: the fetch engine is closed");
    }
    const { topic, partition: id } = partition;
    const { maxAttempts, readBackoffMin, readBackoffMax } = this.limits;
    const found = await retry(async () => {
      const meta = await this.metadata(topic, [partition]);
      if (!meta.partitions.some((i) => i.id === id)) {
        throw this.unknownPartition(meta, id);
      }
      const { conn } = await this.cluster.leader(topic, id, "reader");
      return await Promise.all(timestamps.map(async (timestamp) => {
        const response = await conn.request(
          ListOffsets,
          listOffsetsRequest(
            [{ topic, partition: id, timestamp }],
            this.isolation,
          ),
          { signal },
        );
        return listedOffset(response, topic, id, conn.address);
      }));
    }, {
      maxAttempts,
      backoffMin: readBackoffMin,
      backoffMax: readBackoffMax,
      signal,
      onRetry: (error, attempt) => {
        this.counters.errors++;
        if (isTimeout(error)) this.counters.timeouts++;
        const of = maxAttempts === Infinity ? "" : ` of ${maxAttempts}`;
        this.logError(
          `kafka reader: ListOffsets of partition ${id} of ${topic}, attempt ${attempt}${of} failed, retrying: ${
            messageOf(error)
          }`,
        );
        this.cluster.invalidate(topic);
      },
    });
    const last = timestamps.indexOf(LastOffset);
    const p = this.byKey.get(keyOf(topic, id));
    if (last >= 0 && p !== undefined) p.end = Math.max(p.end, found[last]);
    return found;
  }

  // ---- handing out ----

  /**
   * The next message, or undefined when none is ready. Partitions take
   * turns, one fetched chunk at a time; each partition's messages come in
   * offset order.
   */
  take(): Message | undefined {
    // Kept small, the rare work in calls of its own: runtimes inline this
    // into the consumer's loop only while the whole chain stays short.
    const p = this.current ?? this.nextTurn();
    if (p === undefined) return undefined;
    // A listed partition always has a chunk with a message left.
    const chunk = p.chunks[0];
    const message = chunk.messages.next()!;
    p.position = message.offset + 1;
    if (chunk.messages.remaining === 0) this.finishChunk(p, chunk);
    else if (this.countWaiters > 0) this.wakeForRoom(chunk.held.loop);
    return message;
  }

  /** The partition whose turn it is next, now the one being handed out. */
  private nextTurn(): PartitionState | undefined {
    const p = this.ring.shift();
    if (p !== undefined) this.current = p;
    return p;
  }

  /** A message was taken from the loop's response: the loop may fetch again. */
  private wakeForRoom(loop: BrokerLoop): void {
    if (loop.waitingForRoom && this.hasRoom(loop)) loop.signal.notify();
  }

  /**
   * The rest of the chunk that the last `take()` took from, in order (none
   * when that chunk was finished): the messages of one partition.
   */
  takeRest(): Message[] {
    const p = this.current;
    if (p === undefined) return [];
    const chunk = p.chunks[0];
    const messages = chunk.messages.rest();
    if (messages.length > 0) p.position = messages.at(-1)!.offset + 1;
    this.finishChunk(p, chunk);
    return messages;
  }

  /** Up to `max` messages that are ready now (maybe none). */
  takeBatch(max = Infinity): Message[] {
    const out: Message[] = [];
    while (out.length < max) {
      const message = this.take();
      if (message === undefined) break;
      out.push(message);
    }
    return out;
  }

  /**
   * Resolves when `take()` may return a message, or the engine failed
   * (`failure`), or it is closed. A revoke, pause or seek in between can
   * still leave `take()` empty: call it again then.
   */
  ready(): Promise<void> {
    if (
      this.current !== undefined || this.ring.length > 0 ||
      this.failed !== null || this.state === "closed"
    ) return Promise.resolve();
    return this.consumer.wait();
  }

  /**
   * Every message as it comes, until the engine is closed; throws the
   * failure once the messages fetched before it are handed out.
   */
  async *messages(): AsyncGenerator<Message, void, undefined> {
    for (;;) {
      const message = this.take();
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

  // ---- stats and closing ----

  /** Counters since the last call, and each partition's state. */
  stats(): FetchEngineStats {
    const c = this.counters;
    this.counters = newCounters();
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
        leader: p.loop?.id ?? -1,
        queuedMessages: messages,
        queuedBytes: p.queuedBytes,
      });
    }
    let queuedBytes = 0;
    for (const loop of this.loops.values()) queuedBytes += loop.heldBytes;
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
    for (const p of this.byKey.values()) this.forget(p);
    this.byKey.clear();
    this.unrouted.clear();
    this.ring = [];
    this.current = undefined;
    this.stopLoops();
    this.consumer.notify();
    this.closing = this.shutdown();
    return this.closing;
  }

  /** Waits for the loops to end, then closes the engine's connections. */
  private async shutdown(): Promise<void> {
    const loops = [...this.loops.values()];
    await Promise.all([this.routing, ...loops.map((loop) => loop.running)]);
    for (const loop of loops) this.dropConnection(loop);
    this.cluster.closeLane(this.lane);
    this.log("kafka reader: fetch engine closed");
  }

  // ---- partitions' data ----

  /** Drops a partition's data and makes answers already asked for stale. */
  private forget(p: PartitionState): void {
    p.generation++;
    for (const chunk of p.chunks) this.release(chunk);
    p.chunks = [];
    p.queuedBytes = 0;
    if (!p.listed) return;
    p.listed = false;
    if (this.current === p) {
      this.current = undefined;
    } else {
      const at = this.ring.indexOf(p);
      if (at >= 0) this.ring.splice(at, 1);
    }
  }

  /** Drops the partition's data and fetches it from `offset` next. */
  private moveTo(p: PartitionState, offset: number): void {
    this.log(
      `kafka reader: seeking partition ${p.partition} of ${p.topic} to ${
        describeOffset(offset)
      }`,
    );
    this.forget(p);
    p.fetchOffset = offset;
    p.position = offset;
    p.lastEpoch = -1;
    if (p.loop !== null && !p.paused) this.poke(p.loop);
  }

  /** Queues a chunk, counts its response, and lists the partition for its turn. */
  private queue(p: PartitionState, chunk: Chunk): void {
    p.chunks.push(chunk);
    p.queuedBytes += chunk.bytes;
    const held = chunk.held;
    if (held.chunks++ === 0) {
      held.loop.heldBytes += held.bytes;
      held.loop.heldResponses++;
    }
    held.loop.heldMessages += chunk.count;
    if (!p.listed) {
      p.listed = true;
      this.ring.push(p);
      this.consumer.notify();
    }
  }

  /** A chunk was taken to its end: the partition's turn is over. */
  private finishChunk(p: PartitionState, chunk: Chunk): void {
    p.chunks.shift();
    p.queuedBytes -= chunk.bytes;
    this.release(chunk);
    this.current = undefined;
    // Its next chunk waits for the other partitions' turns.
    if (p.chunks.length > 0) this.ring.push(p);
    else p.listed = false;
  }

  /** A chunk is done with; its response stops counting with its last chunk. */
  private release(chunk: Chunk): void {
    const held = chunk.held;
    const loop = held.loop;
    loop.heldMessages -= chunk.count;
    if (--held.chunks > 0) return;
    loop.heldBytes -= held.bytes;
    loop.heldResponses--;
    if (loop.waitingForRoom && this.hasRoom(loop)) loop.signal.notify();
  }

  // ---- routing ----

  /** Routes partitions to their leaders' loops; retries after backoff. */
  private async routeLoop(): Promise<void> {
    // Let the caller finish assigning first.
    await null;
    while (this.active) {
      if (this.unrouted.size === 0) {
        await this.router.wait();
        continue;
      }
      const now = Date.now();
      const due: PartitionState[] = [];
      let next = Infinity;
      for (const p of this.unrouted) {
        if (p.retryAt <= now) due.push(p);
        else next = Math.min(next, p.retryAt);
      }
      if (due.length === 0) {
        await this.router.waitFor(next - now);
        continue;
      }
      try {
        await this.route(due);
      } catch (error) {
        this.failWith(error);
      }
    }
  }

  /** Looks up the leaders of `due`, a metadata lookup per topic, and routes them. */
  private async route(due: PartitionState[]): Promise<void> {
    const byTopic = new Map<string, PartitionState[]>();
    for (const p of due) {
      const list = byTopic.get(p.topic);
      if (list === undefined) byTopic.set(p.topic, [p]);
      else list.push(p);
    }
    type Lookup = {
      topic: string;
      ps: PartitionState[];
      meta?: TopicInfo;
      error?: unknown;
    };
    const found = await Promise.all(
      [...byTopic].map(async ([topic, ps]): Promise<Lookup> => {
        try {
          return { topic, ps, meta: await this.metadata(topic, ps) };
        } catch (error) {
          return { topic, ps, error };
        }
      }),
    );
    if (!this.active) return;
    // Every lookup is in: route them all at once, so that a loop's first
    // Fetch carries all its partitions.
    const touched = new Set<BrokerLoop>();
    for (const { topic, ps, meta, error } of found) {
      const waiting = ps.filter((p) => this.unrouted.has(p));
      if (meta === undefined) {
        this.retryLater(waiting, error, "Metadata");
        continue;
      }
      const missing: PartitionState[] = [];
      const leaderless: PartitionState[] = [];
      for (const p of waiting) {
        const info = meta.partitions.find((i) => i.id === p.partition);
        if (info === undefined) missing.push(p);
        else if (info.leader < 0) leaderless.push(p);
        else {
          p.topicId = meta.topicId;
          p.leaderEpoch = info.leaderEpoch;
          this.unrouted.delete(p);
          const loop = this.loopFor(info.leader);
          p.loop = loop;
          loop.members.add(p);
          if (!p.paused) touched.add(loop);
        }
      }
      if (!this.active) return;
      if (missing.length > 0) {
        this.retryLater(
          missing,
          this.unknownPartition(meta, missing[0].partition),
          "Metadata",
        );
      }
      if (leaderless.length > 0) {
        this.retryLater(
          leaderless,
          new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, {
            apiName: "Metadata",
            topic,
          }),
          "Metadata",
        );
      }
    }
    for (const loop of touched) this.poke(loop);
  }

  /** The topic's metadata, fetched afresh when it lacks one of `ps`. */
  private async metadata(
    topic: string,
    ps: readonly { partition: number }[],
  ): Promise<TopicInfo> {
    const has = (meta: TopicInfo) =>
      ps.every((p) => meta.partitions.some((i) => i.id === p.partition));
    const signal = this.lifetime.signal;
    const cached = await untilAborted(
      this.cluster.topic(topic),
      signal,
      "Metadata lookup",
    );
    if (has(cached)) return cached;
    // The cache may predate partitions added since.
    return await untilAborted(
      this.cluster.topic(topic, { maxAge: 0 }),
      signal,
      "Metadata lookup",
    );
  }

  /** The error for a partition the topic lacks: retried, unless `unknownPartition` is "error". */
  private unknownPartition(meta: TopicInfo, partition: number): Error {
    const count = meta.partitions.length;
    const has = `the topic has ${count} partition${count === 1 ? "" : "s"}`;
    if (this.options.unknownPartition === "error") {
      return new RangeError(
        `Cannot read partition ${partition} of topic "${meta.name}": ${has}`,
      );
    }
    return new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, {
      apiName: "Metadata",
      topic: meta.name,
      detail: has,
    });
  }

  /** The broker's fetch loop, started on first use. */
  private loopFor(id: number): BrokerLoop {
    let loop = this.loops.get(id);
    if (loop === undefined) {
      loop = new BrokerLoop(id);
      this.loops.set(id, loop);
      loop.running = this.runLoop(loop);
    }
    return loop;
  }

  /** Takes a partition off its loop until the router finds its leader again. */
  private unroute(p: PartitionState): void {
    p.loop?.members.delete(p);
    p.loop = null;
    this.unrouted.add(p);
    this.router.notify();
  }

  /**
   * A partition joined the loop, or was resumed or sought: the next Fetch
   * must carry it. A Fetch already in flight (maybe a long poll that would
   * keep it waiting for maxWait) is cut short, with its connection, since
   * the broker answers a connection's requests in order.
   */
  private poke(loop: BrokerLoop): void {
    loop.stale = true;
    if (loop.fetching && loop.round !== null) {
      this.counters.interrupts++;
      loop.round.abort(
        new DOMException("The fetch was interrupted", "AbortError"),
      );
      this.dropConnection(loop);
    }
    loop.signal.notify();
  }

  /** Closes the loop's connection; the next round dials a new one. */
  private dropConnection(loop: BrokerLoop): void {
    loop.conn?.close();
    loop.conn = null;
  }

  // ---- the fetch loops ----

  /** Open and not failed: the loops and the router run. */
  private get active(): boolean {
    return this.state === "open" && this.failed === null;
  }

  /** Fetches until closed or failed; never rejects. */
  private async runLoop(loop: BrokerLoop): Promise<void> {
    // Let the router finish routing first.
    await null;
    while (this.active) {
      try {
        await this.round(loop);
      } catch (error) {
        this.failWith(error);
      }
    }
  }

  /**
   * Whether the loop may send its next Fetch: while at most one of its
   * responses is being read (so fetching overlaps reading), or while the
   * responses it holds add up to fewer than maxBytes and queueCapacity.
   */
  private hasRoom(loop: BrokerLoop): boolean {
    return loop.heldResponses <= 1 ||
      (loop.heldBytes < this.limits.maxBytes &&
        this.waitingMessages(loop) < this.limits.queueCapacity);
  }

  /**
   * The loop's messages not yet taken: those of its chunks, less what was
   * taken of the one chunk being handed out (only that one can be partly
   * taken), counted here rather than on every take.
   */
  private waitingMessages(loop: BrokerLoop): number {
    const chunk = this.current?.chunks[0];
    if (chunk === undefined || chunk.held.loop !== loop) {
      return loop.heldMessages;
    }
    return loop.heldMessages - (chunk.count - chunk.messages.remaining);
  }

  /** One ListOffsets (when needed) and one Fetch for the loop's partitions. */
  private async round(loop: BrokerLoop): Promise<void> {
    loop.stale = false;
    if (!this.hasRoom(loop)) {
      loop.waitingForRoom = true;
      // Taking messages may make room: take() checks while any loop waits.
      const counted = this.limits.queueCapacity !== Infinity;
      if (counted) this.countWaiters++;
      await loop.signal.wait();
      if (counted) this.countWaiters--;
      loop.waitingForRoom = false;
      return;
    }
    const batch = this.collect(loop);
    if (batch.length === 0) {
      await loop.signal.wait();
      return;
    }
    // One controller for the loop's rounds, until one is cut short.
    if (loop.round === null || loop.round.signal.aborted) {
      loop.round = new AbortController();
    }
    const round = loop.round;
    try {
      const conn = await this.connect(loop, batch[0], round.signal);
      if (conn === null || loop.stale) return;
      const unresolved = batch.filter((p) => p.fetchOffset < 0);
      if (unresolved.length > 0) {
        await this.resolveOffsets(conn, unresolved, round.signal);
        // Partitions may have come and gone meanwhile: collect again (the
        // offsets found are kept).
        if (loop.stale) return;
      }
      const ready = batch.filter((p) =>
        p.fetchOffset >= 0 && p.loop === loop && !p.paused &&
        this.byKey.get(p.key) === p
      );
      if (ready.length === 0 || !this.active) return;
      await this.fetch(loop, conn, ready, round.signal);
    } catch (error) {
      // Closed, failed or interrupted: not a failure of the request.
      if (!this.active || round.signal.aborted) return;
      if (error instanceof TimeoutError) {
        // The broker may still hold the long poll, and would answer the
        // next Fetch on this connection only after it.
        this.dropConnection(loop);
      }
      this.retryLater(
        batch.filter((p) => p.loop === loop && this.byKey.get(p.key) === p),
        error,
        "Fetch",
        loop.id,
      );
    }
  }

  /**
   * The loop's partitions for the next Fetch, not paused, in the loop's
   * order (those that got records last go to its end), with those whose
   * batch did not fit last time first.
   */
  private collect(loop: BrokerLoop): PartitionState[] {
    const first: PartitionState[] = [];
    const rest: PartitionState[] = [];
    for (const p of loop.members) {
      if (p.paused || p.inFlight) continue;
      if (p.first) {
        p.first = false;
        first.push(p);
      } else {
        rest.push(p);
      }
    }
    return first.length === 0 ? rest : first.concat(rest);
  }

  /** The loop's connection, through the leader of its first partition. */
  private async connect(
    loop: BrokerLoop,
    first: PartitionState,
    signal: AbortSignal,
  ): Promise<BrokerConnection | null> {
    const pending = this.cluster.leader(
      first.topic,
      first.partition,
      this.lane,
    );
    // A dial that ends after close must not leave its connection open.
    pending.then(({ conn }) => {
      if (this.state === "closed") conn.close();
    }, ignore);
    const { conn, info } = await untilAborted(pending, signal, "Leader lookup");
    if (info.leader !== loop.id) {
      // The metadata moved on since routing: route it again.
      this.unroute(first);
      return null;
    }
    if (conn !== loop.conn) {
      loop.conn = conn;
      this.counters.dials++;
    }
    return conn;
  }

  /** Looks up FirstOffset and LastOffset of `ps` in one ListOffsets request. */
  private async resolveOffsets(
    conn: BrokerConnection,
    ps: PartitionState[],
    signal: AbortSignal,
  ): Promise<void> {
    const entries: Entry[] = ps.map((p) => ({
      state: p,
      generation: p.generation,
      fetchOffset: p.fetchOffset,
    }));
    const response = await conn.request(
      ListOffsets,
      listOffsetsRequest(
        ps.map((p) => ({
          topic: p.topic,
          partition: p.partition,
          timestamp: p.fetchOffset,
        })),
        this.isolation,
      ),
      { signal },
    );
    this.counters.offsetLookups++;
    const failed = new Failures();
    for (const e of entries) {
      if (!this.isCurrent(e)) continue;
      const p = e.state;
      try {
        const offset = listedOffset(
          response,
          p.topic,
          p.partition,
          conn.address,
        );
        if (offset < 0) {
          throw new KafkaError(ErrorCode.OFFSET_NOT_AVAILABLE, {
            apiName: "ListOffsets",
            topic: p.topic,
            partition: p.partition,
          });
        }
        p.fetchOffset = offset;
        if (p.chunks.length === 0) p.position = offset;
      } catch (error) {
        failed.add(p, error);
      }
    }
    for (const [error, ps] of failed.groups) {
      this.retryLater(ps, error, "ListOffsets");
    }
  }

  /** One Fetch for `batch`, its answer queued partition by partition. */
  private async fetch(
    loop: BrokerLoop,
    conn: BrokerConnection,
    batch: PartitionState[],
    signal: AbortSignal,
  ): Promise<void> {
    const { minBytes, maxBytes, maxWait, partitionMaxBytes } = this.limits;
    const entries: Entry[] = [];
    const parts: FetchPartition[] = [];
    for (const p of batch) {
      entries.push({
        state: p,
        generation: p.generation,
        fetchOffset: p.fetchOffset,
      });
      parts.push({
        topic: p.topic,
        topicId: p.topicId,
        partition: p.partition,
        fetchOffset: p.fetchOffset,
        leaderEpoch: p.leaderEpoch,
        lastFetchedEpoch: p.lastEpoch,
        maxBytes: partitionMaxBytes,
      });
      p.inFlight = true;
    }
    const request = fetchRequest(parts, {
      minBytes,
      maxBytes,
      maxWait,
      isolationLevel: this.isolation,
    });
    loop.fetching = true;
    let response: FetchResponse;
    try {
      response = await conn.request(Fetch, request, {
        timeout: maxWait + (this.cluster.options.requestTimeout ?? 30_000),
        signal,
      });
    } finally {
      loop.fetching = false;
      for (const p of batch) p.inFlight = false;
    }
    this.counters.fetches++;
    throwIfError(response.errorCode, { apiName: "Fetch" });
    const found = matchResponse(entries, response);
    let bytes = 0;
    let withRecords = 0;
    for (const data of found) {
      const size = data?.records?.length ?? 0;
      bytes += size;
      if (size > 0) withRecords++;
    }
    const held: HeldResponse = { loop, bytes, chunks: 0 };
    const failed = new Failures();
    for (let i = 0; i < entries.length && this.active; i++) {
      const e = entries[i];
      const data = found[i];
      if (data === undefined || !this.isCurrent(e)) continue;
      if (data.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
        this.outOfRange(e, data);
        continue;
      }
      const diverged = data.errorCode === 0 ? divergence(data) : null;
      if (diverged !== null) {
        this.diverged(e, diverged);
        continue;
      }
      try {
        throwIfError(data.errorCode, {
          apiName: "Fetch",
          topic: e.state.topic,
          partition: e.state.partition,
        });
        await this.absorb(e, data, held, withRecords > 1, conn.address);
      } catch (error) {
        if (this.isCurrent(e)) failed.add(e.state, error);
      }
    }
    for (const [error, ps] of failed.groups) {
      this.retryLater(ps, error, "Fetch");
    }
  }

  /** Queues one partition's records from a response. */
  private async absorb(
    e: Entry,
    data: FetchResponsePartitionData,
    held: HeldResponse,
    crowded: boolean,
    address: string,
  ): Promise<void> {
    const p = e.state;
    const bytes = data.records ?? EMPTY;
    const found = bytes.length === 0 ? null : await readRecordTables(bytes, {
      fromOffset: e.fetchOffset,
      decompress: async (id, input) => (await loadCodec(id)).decompress(input),
      abortedTransactions: data.abortedTransactions,
      where: `${p.topic}/${p.partition} from ${address}`,
      checkCrc: this.options.checkCrcs,
    });
    // Revoked, paused or sought while the records were checked.
    if (!this.isCurrent(e)) return;
    p.failures = 0;
    p.highWaterMark = data.highWatermark;
    p.end = this.isolation === 1 && data.lastStableOffset >= 0
      ? data.lastStableOffset
      : data.highWatermark;
    if (found === null) return;
    // Bytes but no step forward: the batch at the offset was cut off.
    const stuck = found.count === 0 && found.nextOffset <= e.fetchOffset;
    if (found.truncated || stuck) {
      // Other partitions used up the response: the broker returns a batch
      // whole only to the first partition with data, so ask for this one
      // first next time.
      if (crowded) {
        p.first = true;
        return;
      }
      const { maxBytes, partitionMaxBytes } = this.limits;
      const limits = maxBytes === partitionMaxBytes
        ? `maxBytes ${maxBytes}); raise "maxBytes"`
        : `maxBytes ${maxBytes}, partitionMaxBytes ${partitionMaxBytes}); raise them`;
      throw new KafkaError(ErrorCode.MESSAGE_TOO_LARGE, {
        apiName: "Fetch",
        topic: p.topic,
        partition: p.partition,
        detail:
          `the batch at offset ${e.fetchOffset} does not fit in the ${bytes.length} bytes the broker returned (${limits}`,
      });
    }
    p.fetchOffset = found.nextOffset;
    if (found.lastEpoch >= 0) p.lastEpoch = found.lastEpoch;
    if (found.count > 0) {
      if (p.position < 0) p.position = e.fetchOffset;
      const messages = new FetchedMessages(found, {
        topic: p.topic,
        partition: p.partition,
        highWaterMark: data.highWatermark,
        copyValues: this.options.copyValues,
      });
      this.queue(p, {
        messages,
        count: found.count,
        bytes: bytes.length,
        held,
      });
      // Served: the others come before it in the next request.
      if (p.loop !== null) {
        p.loop.members.delete(p);
        p.loop.members.add(p);
      }
      this.counters.messages += found.count;
      this.counters.bytes += found.payloadBytes;
    } else if (p.chunks.length === 0) {
      // Control records or aborted transactions were stepped over.
      p.position = p.fetchOffset;
    }
  }

  /** OFFSET_OUT_OF_RANGE: back to startOffset, or the engine's failure. */
  private outOfRange(e: Entry, data: FetchResponsePartitionData): void {
    const p = e.state;
    // Brokers may leave the bounds out (-1).
    const detail = data.logStartOffset >= 0 && data.highWatermark >= 0
      ? `offset ${e.fetchOffset} is outside ${data.logStartOffset}..${data.highWatermark}`
      : `offset ${e.fetchOffset} is out of range`;
    if (this.options.offsetOutOfRange === "error") {
      this.failWith(
        new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, {
          apiName: "Fetch",
          topic: p.topic,
          partition: p.partition,
          detail,
        }),
      );
      return;
    }
    this.counters.errors++;
    this.logError(
      `kafka reader: offset ${e.fetchOffset} is out of range for partition ${p.partition} of ${p.topic}; resetting to ${
        describeOffset(this.startOffset)
      }`,
    );
    p.fetchOffset = this.startOffset;
    p.lastEpoch = -1;
  }

  /**
   * The leader's log parts from what was read (KIP-320): below the fetch
   * offset, the records read past that point are gone (an unclean leader
   * election), so reading goes back to where the logs part, or stops under
   * `offsetOutOfRange: "error"`; at or past it, only the epoch is corrected.
   */
  private diverged(e: Entry, d: Divergence): void {
    const p = e.state;
    const back = rewind(e.fetchOffset, p.position, d);
    if (back === null) {
      p.lastEpoch = d.epoch;
      return;
    }
    if (this.options.offsetOutOfRange === "error") {
      this.failWith(truncationError(p, e.fetchOffset, d));
      return;
    }
    this.counters.errors++;
    this.logError(
      `kafka reader: partition ${p.partition} of ${p.topic}: ${
        truncationDetail(e.fetchOffset, d)
      }; reading again from offset ${back.to}`,
    );
    this.moveTo(p, back.to);
    p.lastEpoch = back.lastEpoch;
  }

  /** Whether an answer to a request for `e` still applies. */
  private isCurrent(e: Entry): boolean {
    const p = e.state;
    return this.active && this.byKey.get(p.key) === p &&
      p.generation === e.generation && p.fetchOffset === e.fetchOffset;
  }

  // ---- failures ----

  /**
   * Partitions that failed `what` with `error`: routed again after their
   * backoff, from fresh metadata. An error retrying cannot fix stops the
   * engine instead.
   */
  private retryLater(
    ps: PartitionState[],
    error: unknown,
    what: string,
    broker?: number,
  ): void {
    if (!this.active) return;
    let failures = 0;
    for (const p of ps) failures = Math.max(failures, ++p.failures);
    const { maxAttempts } = this.limits;
    if (!canRetry(error) || failures >= maxAttempts) {
      if (isTimeout(error)) this.counters.timeouts++;
      this.failWith(error);
      return;
    }
    this.counters.errors++;
    if (isTimeout(error)) this.counters.timeouts++;
    if (ps.length === 0) return;
    const of = maxAttempts === Infinity ? "" : ` of ${maxAttempts}`;
    const from = broker === undefined ? "" : ` (broker ${broker})`;
    this.logError(
      `kafka reader: ${what} of ${
        describePartitions(ps)
      }, attempt ${failures}${of} failed, retrying: ${messageOf(error)}${from}`,
    );
    // One wait for all of them, so that they are retried together.
    const retryAt = Date.now() + backoff(failures, {
      backoffMin: this.limits.readBackoffMin,
      backoffMax: this.limits.readBackoffMax,
    });
    const topics = new Set<string>();
    for (const p of ps) {
      p.retryAt = retryAt;
      topics.add(p.topic);
      this.unroute(p);
    }
    // A moved leader, a fenced epoch and a broken connection all call for
    // fresh metadata; the cluster replaces closed connections by itself.
    for (const topic of topics) this.cluster.invalidate(topic);
  }

  /** Stops all fetching with an error retrying cannot fix. */
  private failWith(error: unknown): void {
    if (!this.active) return;
    const failure = error instanceof Error ? error : new Error(String(error));
    this.failed = failure;
    this.counters.errors++;
    this.logError(`kafka reader: stopped fetching: ${failure.message}`);
    this.stopLoops();
    this.consumer.notify();
    this.options.onFailure?.(failure);
  }

  /** Ends the fetches in flight and wakes the loops and the router, which then end. */
  private stopLoops(): void {
    for (const loop of this.loops.values()) {
      loop.round?.abort(new ClosedError("The fetch engine stopped"));
      if (loop.fetching) this.dropConnection(loop);
      loop.signal.notify();
    }
    this.router.notify();
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

/** Partition errors of one response, reported once per kind of error. */
class Failures {
  private readonly byKind = new Map<string, [unknown, PartitionState[]]>();

  add(p: PartitionState, error: unknown): void {
    const kind = error instanceof KafkaError
      ? `code ${error.code}`
      : `${(error as Error)?.name}: ${messageOf(error)}`;
    const group = this.byKind.get(kind);
    if (group === undefined) this.byKind.set(kind, [error, [p]]);
    else group[1].push(p);
  }

  /** Each kind of error once, with the partitions that met it. */
  get groups(): Iterable<[unknown, PartitionState[]]> {
    return this.byKind.values();
  }
}

/** The response's data for each entry, matched by topic name or id. */
function matchResponse(
  entries: Entry[],
  response: FetchResponse,
): (FetchResponsePartitionData | undefined)[] {
  const index = new Map<string, Map<number, number>>();
  const nameOfId = new Map<string, string>();
  entries.forEach((e, i) => {
    const { topic, topicId, partition } = e.state;
    let byPartition = index.get(topic);
    if (byPartition === undefined) {
      byPartition = new Map();
      index.set(topic, byPartition);
      if (topicId !== "") nameOfId.set(topicId, topic);
    }
    byPartition.set(partition, i);
  });
  const found: (FetchResponsePartitionData | undefined)[] = new Array(
    entries.length,
  );
  for (const t of response.responses) {
    const name = index.has(t.topic) ? t.topic : nameOfId.get(t.topicId);
    const byPartition = name === undefined ? undefined : index.get(name);
    if (byPartition === undefined) continue;
    for (const data of t.partitions) {
      const i = byPartition.get(data.partitionIndex);
      if (i !== undefined) found[i] = data;
    }
  }
  return found;
}

function newCounters() {
  return {
    dials: 0,
    fetches: 0,
    offsetLookups: 0,
    messages: 0,
    bytes: 0,
    errors: 0,
    timeouts: 0,
    interrupts: 0,
  };
}

function keyOf(topic: string, partition: number): string {
  // Topic names cannot hold ":" (only letters, digits, ".", "_" and "-").
  return `${partition}:${topic}`;
}

function lagOf(p: PartitionState): number {
  if (p.end < 0 || p.position < 0) return -1;
  return Math.max(0, p.end - p.position);
}

/** "partitions 0, 1 of a and partition 2 of b". */
function describePartitions(ps: readonly PartitionState[]): string {
  const byTopic = new Map<string, number[]>();
  for (const p of ps) {
    const list = byTopic.get(p.topic);
    if (list === undefined) byTopic.set(p.topic, [p.partition]);
    else list.push(p.partition);
  }
  return [...byTopic].map(([topic, ids]) =>
    `partition${ids.length === 1 ? "" : "s"} ${
      ids.sort((a, b) => a - b).join(", ")
    } of ${topic}`
  ).join(" and ");
}

export function describeOffset(offset: number): string {
  if (offset === FirstOffset) return "the first offset";
  if (offset === LastOffset) return "the last offset";
  return `offset ${offset}`;
}

export function isTimeout(error: unknown): boolean {
  return error instanceof TimeoutError ||
    (error instanceof KafkaError &&
      error.code === ErrorCode.REQUEST_TIMED_OUT);
}

function ignore(): void {}

function checkPartition(context: string, tp: TopicPartition): void {
  if (tp === null || typeof tp !== "object") {
    throw new TypeError(
      `${context}: expected { topic, partition }, got ${
        tp === null ? "null" : typeof tp
      }`,
    );
  }
  if (typeof tp.topic !== "string" || tp.topic === "") {
    throw new TypeError(
      `${context}: "topic" must be a non-empty string, got ${
        JSON.stringify(tp.topic)
      }`,
    );
  }
  checkNumber(context, "partition", tp.partition, { min: 0, max: INT32_MAX });
  if (tp.partition === undefined) {
    throw new TypeError(`${context}: "partition" is missing for ${tp.topic}`);
  }
}

/** A RangeError unless `offset` is an offset, FirstOffset or LastOffset. */
export function checkOffset(context: string, offset: number): void {
  if (
    !Number.isSafeInteger(offset) ||
    (offset < 0 && offset !== FirstOffset && offset !== LastOffset)
  ) {
    throw new RangeError(
      `${context}: expected an offset >= 0, FirstOffset (-2) or LastOffset (-1), got ${offset}`,
    );
  }
}

function validate(options: FetchEngineOptions): void {
  const context = "Cannot create FetchEngine";
  if (options === null || typeof options !== "object") {
    throw new TypeError(`${context}: options must be an object`);
  }
  const cluster = options.cluster as Partial<Cluster> | undefined;
  if (
    cluster === null || typeof cluster !== "object" ||
    typeof cluster.leader !== "function"
  ) {
    throw new TypeError(`${context}: "cluster" must be a Cluster`);
  }
  const integers: [keyof Limits, number][] = [
    ["minBytes", 1],
    ["maxBytes", 1],
    ["partitionMaxBytes", 1],
    ["maxWait", 1],
    ["queueCapacity", 1],
    ["readBackoffMin", 0],
    ["readBackoffMax", 0],
    ["maxAttempts", 1],
  ];
  for (const [key, min] of integers) {
    checkNumber(context, key, options[key], { min, max: INT32_MAX });
  }
  checkFetchSettings(context, options);
  const unknown = options.unknownPartition;
  if (unknown !== undefined && unknown !== "retry" && unknown !== "error") {
    throw new RangeError(
      `${context}: "unknownPartition" must be "retry" or "error", got ${
        JSON.stringify(unknown)
      }`,
    );
  }
  if (
    options.onFailure !== undefined && typeof options.onFailure !== "function"
  ) {
    throw new TypeError(
      `${context}: "onFailure" must be a function, got ${typeof options
        .onFailure}`,
    );
  }
}
