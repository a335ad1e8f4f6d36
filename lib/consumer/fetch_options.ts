/**
 * The fetch engine's options and stats, as types, and their defaults and
 * checks (a TypeError or RangeError names the option and the value).
 *
 * @module
 */

import type { Cluster } from "../cluster/cluster.ts";
import type { Logger } from "../cluster/transport.ts";
import { FirstOffset, LastOffset } from "../requests/list_offsets.ts";
import type { TopicPartition } from "../message.ts";
import { checkNumber, describeValue } from "../options.ts";
import { checkFetchSettings, type IsolationLevel } from "./options.ts";

export type { TopicPartition };

/**
 * A partition to assign, and where to start reading it.
 *
 * @example
 * ```ts
 * import { FirstOffset } from "../requests/list_offsets.ts";
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
  offset?: number | undefined;
}

/**
 * Options of a `FetchEngine`. The byte and wait settings are the
 * Reader's.
 *
 * @example
 * ```ts
 * import { Cluster } from "../cluster/cluster.ts";
 * import { LastOffset } from "../requests/list_offsets.ts";
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
  /**
   * Counts of records and their key and value bytes fetched, added to and
   * never reset (client telemetry's totals; `stats()` has its own).
   */
  tally?: FetchTally | undefined;
  /** Bytes the broker gathers before it answers a Fetch (default 1). */
  minBytes?: number | undefined;
  /**
   * Most bytes of records in one Fetch response (default 1 MiB), except that
   * a single larger record batch still comes whole. Also the memory bound:
   * a broker's next Fetch goes out only while fewer bytes than this wait
   * unread (or at most one response), so about 2 × maxBytes wait per broker.
   */
  maxBytes?: number | undefined;
  /** Most bytes of one partition in one response (default: `maxBytes`). */
  partitionMaxBytes?: number | undefined;
  /** Milliseconds the broker may wait for minBytes (default 10 s). */
  maxWait?: number | undefined;
  /** "read_committed" skips aborted transactions (default "read_uncommitted"). */
  isolationLevel?: IsolationLevel | undefined;
  /**
   * Where a partition assigned without an offset starts, and where an
   * out-of-range offset is reset to: FirstOffset (the default) or LastOffset.
   */
  startOffset?: typeof FirstOffset | typeof LastOffset | undefined;
  /**
   * What OFFSET_OUT_OF_RANGE does: "reset" (the default) moves the partition
   * to `startOffset`; "error" stops the engine with that error. A log
   * truncated below the position moves the partition back to where the
   * leader's log parts from what was read, or under "error" stops the engine.
   */
  offsetOutOfRange?: "reset" | "error" | undefined;
  /**
   * Fetched messages that may wait per broker (default: no limit) before its
   * next Fetch waits too, unless they all came in the one response being
   * read; `maxBytes` bounds the waiting either way.
   */
  queueCapacity?: number | undefined;
  /** Milliseconds before the first retry (default 100). */
  readBackoffMin?: number | undefined;
  /** Ceiling of the retry backoff (default 1000). */
  readBackoffMax?: number | undefined;
  /**
   * Failures in a row of one partition (its Fetch, or the lookup of its
   * leader or offset) before the engine stops with the last one (default:
   * no limit, retried until the engine is closed).
   */
  maxAttempts?: number | undefined;
  /**
   * What a partition the topic does not have (in fresh metadata) does:
   * "retry" (the default; a group's assignment may run ahead of a broker's
   * metadata) routes it again after a backoff, "error" stops the engine
   * with a RangeError naming the partition count.
   */
  unknownPartition?: "retry" | "error" | undefined;
  /** Copy keys, values and header values out of the fetched buffers (default false). */
  copyValues?: boolean | undefined;
  /** Check each fetched batch's CRC-32C (default true). */
  checkCrcs?: boolean | undefined;
  /** Receives informational events: assignments, resets, closing. */
  logger?: Logger | undefined;
  /** Receives failures: each retried request and its cause. */
  errorLogger?: Logger | undefined;
  /** Called once when an error that retrying cannot fix stops the engine. */
  onFailure?: ((error: Error) => void) | undefined;
  /**
   * This client's rack (Java's `client.rack`), sent with each Fetch: a
   * broker whose `replica.selector.class` is rack-aware then names the
   * replica in that rack, and the partition is read from it (KIP-392,
   * fetching from the closest replica) until a failure there, or until
   * the cluster's `metadataMaxAge` passes and its leader is asked again.
   */
  rack?: string | undefined;
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
 *   paused: false, leader: 1, replica: -1, queuedMessages: 4, queuedBytes: 300,
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
  /** Its leader broker, -1 while it is being routed. */
  leader: number;
  /**
   * The follower it is fetched from, which its leader named for this
   * client's `rack` (KIP-392); -1 when it is fetched from its leader.
   */
  replica: number;
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

/** The engine's numeric settings, with their defaults. */
export const FETCH_DEFAULTS = {
  minBytes: 1,
  maxBytes: 1024 * 1024,
  partitionMaxBytes: 0, // 0: maxBytes
  maxWait: 10_000,
  queueCapacity: Infinity,
  readBackoffMin: 100,
  readBackoffMax: 1000,
  maxAttempts: Infinity,
};

/** The numeric settings in effect. */
export type FetchLimits = typeof FETCH_DEFAULTS;

const INT32_MAX = 2 ** 31 - 1;

/** The settings in effect: the options given, the defaults for the others. */
export function fetchLimits(options: FetchEngineOptions): FetchLimits {
  const limits = { ...FETCH_DEFAULTS };
  for (const key of Object.keys(FETCH_DEFAULTS) as (keyof FetchLimits)[]) {
    const value = options[key];
    if (value !== undefined) limits[key] = value;
  }
  if (limits.partitionMaxBytes === 0) {
    limits.partitionMaxBytes = limits.maxBytes;
  }
  return limits;
}

/** A TypeError or RangeError unless `tp` is a `{ topic, partition }`. */
export function checkPartition(context: string, tp: TopicPartition): void {
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
        describeValue(tp.topic)
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
    const Kind = typeof offset === "number" ? RangeError : TypeError;
    throw new Kind(
      `${context}: expected an offset >= 0, FirstOffset (-2) or LastOffset (-1), got ${
        describeValue(offset)
      }`,
    );
  }
}

/** Checks a FetchEngine's options; the error names the wrong one. */
export function validateFetchEngine(options: FetchEngineOptions): void {
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
  const integers: [keyof FetchLimits, number][] = [
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
  if (
    options.rack !== undefined &&
    (typeof options.rack !== "string" || options.rack === "")
  ) {
    throw new TypeError(
      `${context}: "rack" must be a non-empty string, got ${
        describeValue(options.rack)
      }`,
    );
  }
  const unknown = options.unknownPartition;
  if (unknown !== undefined && unknown !== "retry" && unknown !== "error") {
    throw new RangeError(
      `${context}: "unknownPartition" must be "retry" or "error", got ${
        describeValue(unknown)
      }`,
    );
  }
  if (
    options.onFailure !== undefined && typeof options.onFailure !== "function"
  ) {
    throw new TypeError(
      `${context}: "onFailure" must be a function, got ${
        describeValue(options.onFailure)
      }`,
    );
  }
}

/** What `FetchEngineOptions.tally` counts, from the start. */
export interface FetchTally {
  records: number;
  bytes: number;
}
