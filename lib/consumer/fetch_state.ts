/**
 * What the fetch engine keeps: its assigned partitions, a fetch loop per
 * broker, the responses they hold and the chunks made of them, its
 * counters, and `EngineHub`, what the engine's parts (the hand-out queue,
 * the broker loops, one round's requests) share.
 *
 * @module
 */

import { abortReason } from "../connection/errors.ts";
import type { Cluster } from "../cluster/cluster.ts";
import { FirstOffset, LastOffset } from "../requests/list_offsets.ts";
import type { BrokerConnection } from "../connection/connection.ts";
import { TimeoutError } from "../connection/errors.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import type { FetchedMessages } from "../requests/fetched.ts";
import type {
  FetchEngineOptions,
  FetchEngineStats,
  FetchLimits,
} from "./fetch_options.ts";
import type { HandOut } from "./hand_out.ts";

/** Wakes whoever waits; `wait()` callers share one promise. */
export class Notifier {
  private resolve: (() => void) | null = null;
  private promise: Promise<void> | null = null;
  /** Those waiting with a signal (`waitOrAbort`), each its own promise. */
  private waiters: Set<() => void> | null = null;

  wait(): Promise<void> {
    if (this.promise === null) {
      this.promise = new Promise((resolve) => (this.resolve = resolve));
    }
    return this.promise;
  }

  /**
   * As `wait()`, or rejects with the signal's reason (naming `what`) when
   * `signal` aborts. An aborted wait leaves nothing behind: callers that
   * poll with a timeout while nothing comes would otherwise pile reactions
   * on the shared promise until it settles.
   */
  waitOrAbort(signal: AbortSignal | undefined, what: string): Promise<void> {
    if (signal === undefined) return this.wait();
    if (signal.aborted) return Promise.reject(abortReason(signal, what));
    return new Promise((resolve, reject) => {
      const waiter = () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        this.waiters?.delete(waiter);
        reject(abortReason(signal, what));
      };
      (this.waiters ??= new Set()).add(waiter);
      signal.addEventListener("abort", onAbort, { once: true });
    });
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
    const waiters = this.waiters;
    if (waiters !== null) {
      this.waiters = null;
      for (const waiter of waiters) waiter();
    }
  }
}

/** A Fetch response as memory: counted whole while any of its chunks waits. */
export interface HeldResponse {
  loop: BrokerLoop;
  bytes: number;
  /** Its chunks not yet fully taken or dropped, plus one while it is checked. */
  chunks: number;
}

/** One partition's records of one response, made into messages as taken. */
export interface Chunk {
  messages: FetchedMessages;
  /** Its messages, taken or not. */
  count: number;
  bytes: number;
  held: HeldResponse;
}

/** An assigned partition. Revoking forgets the object: a new assignment makes a new one. */
export class PartitionState {
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
  /**
   * Bytes to ask for when the next Fetch starts at `fitOffset` (0: the
   * limit): the size of the batch that starts there, when a larger request
   * would only end in part of the batch after it (see `fitNextFetch`).
   */
  fitBytes = 0;
  fitOffset = -1;
  /** Its leader's id when it was routed. */
  leaderId = -1;
  /**
   * The follower its leader named to read from (KIP-392), -1 for none;
   * kept until `readReplicaUntil` (ms since epoch) or a failure there.
   */
  readReplica = -1;
  readReplicaUntil = 0;

  constructor(topic: string, partition: number, offset: number) {
    this.topic = topic;
    this.partition = partition;
    this.key = keyOf(topic, partition);
    this.fetchOffset = offset;
    this.position = offset;
  }
}

/** The fetch loop of one broker. */
export class BrokerLoop {
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
  /** The checks of arrived responses' records, run one after another. */
  checks: Promise<void> = Promise.resolve();
  /** Checks that wait for the next Fetch to go out, so the broker works meanwhile. */
  private deferred: (() => Promise<void>)[] = [];
  /** Starts deferred checks if no Fetch goes out before this fires. */
  private fallback: ReturnType<typeof setTimeout> | undefined = undefined;

  constructor(id: number) {
    this.id = id;
  }

  /**
   * Runs `check` (which must not reject) once the next Fetch is written,
   * or the loop waits, or at the latest on the next turn of the event loop.
   */
  deferCheck(check: () => Promise<void>): void {
    this.deferred.push(check);
    this.fallback ??= setTimeout(() => this.startChecks(), 0);
  }

  /** Starts the deferred checks, after the checks before them. */
  startChecks(): void {
    clearTimeout(this.fallback);
    this.fallback = undefined;
    for (const check of this.deferred) this.checks = this.checks.then(check);
    this.deferred = [];
  }
}

/** A partition as one request carried it. */
export interface Entry {
  state: PartitionState;
  generation: number;
  fetchOffset: number;
}

/** The counters of `FetchEngineStats`, since the last `stats()`. */
export type Counters = Omit<
  FetchEngineStats,
  "queuedMessages" | "queuedBytes" | "partitions"
>;

export function newCounters(): Counters {
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

/** What the engine's parts share: its settings, partitions and reports. */
export interface EngineHub {
  readonly cluster: Cluster;
  readonly options: FetchEngineOptions;
  readonly limits: FetchLimits;
  /** The engine's fetch lane: a connection per broker of its own. */
  readonly lane: string;
  /** 0: read_uncommitted, 1: read_committed. */
  readonly isolation: 0 | 1;
  /** Where an out-of-range offset is reset to. */
  readonly startOffset: number;
  /** Assigned partitions by key, in assignment order. */
  readonly byKey: Map<string, PartitionState>;
  readonly handOut: HandOut;
  /** Counts since the last `stats()`; the object stays, its counts reset. */
  readonly counters: Counters;
  /** Aborted when the engine closes. */
  readonly lifetime: AbortSignal;
  /** Open and not failed: the loops and the router run. */
  active(): boolean;
  closed(): boolean;
  /** Reports an event to `logger`. */
  log(message: string): void;
  /** Reports a failure to `errorLogger`. */
  logError(message: string): void;
  /** Stops all fetching with an error retrying cannot fix. */
  failWith(error: unknown): void;
  /** Drops the partition's data and fetches it from `offset` next. */
  moveTo(p: PartitionState, offset: number): void;
}

export function keyOf(topic: string, partition: number): string {
  // Topic names cannot hold ":" (only letters, digits, ".", "_" and "-").
  return `${partition}:${topic}`;
}

export function lagOf(p: PartitionState): number {
  if (p.end < 0 || p.position < 0) return -1;
  return Math.max(0, p.end - p.position);
}

/** "partitions 0, 1 of a and partition 2 of b". */
export function describePartitions(ps: readonly PartitionState[]): string {
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

/** "offset 42", or "the first offset" and "the last offset". */
export function describeOffset(offset: number): string {
  if (offset === FirstOffset) return "the first offset";
  if (offset === LastOffset) return "the last offset";
  return `offset ${offset}`;
}

/**
 * A broker's unexpected failure (UNKNOWN_SERVER_ERROR, an exception the
 * broker did not expect): fetching retries it with its backoff, as Java's
 * consumer and librdkafka do, rather than stop the reader for a broker's
 * bug on one partition (Kafka 4.4 has one for a share session holding a
 * deleted topic). Each failure is logged; `maxAttempts` bounds them.
 */
export function isServerFault(error: unknown): boolean {
  return error instanceof KafkaError &&
    error.code === ErrorCode.UNKNOWN_SERVER_ERROR;
}

/** A request that timed out, here or at the broker. */
export function isTimeout(error: unknown): boolean {
  return error instanceof TimeoutError ||
    (error instanceof KafkaError &&
      error.code === ErrorCode.REQUEST_TIMED_OUT);
}
