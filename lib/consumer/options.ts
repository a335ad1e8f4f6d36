/**
 * The Reader's options: their types, defaults and checks.
 *
 * @module
 */

import { checkTracing, type TracingApi } from "../tracing/api.ts";
import { Cluster } from "../cluster/cluster.ts";
import { FirstOffset, LastOffset } from "../requests/list_offsets.ts";
import {
  checkChoice,
  checkNumber,
  describeValue,
  optionNames,
} from "../options.ts";
import type { GroupOptions } from "./group/options.ts";
import type { Message } from "../message.ts";
import {
  checkBrokers,
  checkNames,
  type Logger,
  type TransportOptions,
} from "../cluster/transport.ts";

/** Which records a Fetch returns: all, or only committed transactions. */
export type IsolationLevel = "read_uncommitted" | "read_committed";

/** Options of a Reader: kafka-go's ReaderConfig in camelCase. */
export interface ReaderOptions extends GroupOptions {
  /** Bootstrap brokers, "host:port". Required unless `cluster` is given. */
  brokers?: readonly string[] | undefined;
  /** A shared cluster connection; the Reader then leaves it open on close. */
  cluster?: Cluster | undefined;
  /** Client id, TLS, SASL and timeouts; refused with `cluster`, which has its own. */
  transport?: TransportOptions | undefined;
  /** The topic to read (in a group, or `groupTopics`). */
  topic?: string | undefined;
  /** The partition to read (default 0). */
  partition?: number | undefined;
  /**
   * Fetched messages that may wait to be read (default 100; in a group,
   * per broker and no limit unless set, `fetchMaxBytes` bounding the
   * waiting) before the next Fetch waits too, unless they all came in the
   * one response being read: the next response is always fetched while that
   * one is read.
   */
  queueCapacity?: number | undefined;
  /** Bytes the broker gathers before it answers a Fetch (default 1; at most `maxBytes`). */
  minBytes?: number | undefined;
  /**
   * Most bytes one Fetch returns for one partition (default 1 MiB, Java's
   * `max.partition.fetch.bytes`), except that a single batch larger than this
   * still comes whole. Reading one partition, it also bounds prefetching: the
   * next Fetch goes out only while fewer fetched bytes than this wait.
   */
  maxBytes?: number | undefined;
  /**
   * In a group: most bytes of one Fetch response, all its partitions together
   * (default 4 MiB; Java's `fetch.max.bytes` is 50 MiB, kafkajs's 10 MiB). A
   * broker's next Fetch goes out only while fewer fetched bytes than this
   * wait, so about twice this may wait per broker. Measured on 2 cores: 1,024
   * partitions of 100 B messages read at 545k msgs/s with 1 MiB and 1.05M to
   * 1.3M with 4, 8 or 16 MiB, while a `pipeTo(writer)` mirror of 6
   * partitions peaked at 186-212 MiB RSS with 4 MiB and 254-321 MiB with 16.
   * Not used when reading one partition, where `maxBytes` bounds both.
   */
  fetchMaxBytes?: number | undefined;
  /** Milliseconds the broker may wait for minBytes (default 10 s). */
  maxWait?: number | undefined;
  /**
   * Milliseconds between background reads of the partition's end, which keep
   * `lag` and `stats().lag` current while no Fetch returns (default 0: off).
   * Refused in a group, whose lags come with the fetches.
   */
  readLagInterval?: number | undefined;
  /** "read_committed" skips aborted transactions (default "read_uncommitted"). */
  isolationLevel?: IsolationLevel | undefined;
  /**
   * Attempts of one Fetch before the stream errors. Unset (the default), the
   * Reader retries until it is closed: through broker restarts and leader
   * changes, reporting each failure to `errorLogger`. Errors that retrying
   * cannot fix (authorization, TLS or SASL settings, a peer that is not
   * Kafka) end the stream at once either way.
   */
  maxAttempts?: number | undefined;
  /** Milliseconds before the first retry (default 100). */
  readBackoffMin?: number | undefined;
  /** Ceiling of the retry backoff (default 1000). */
  readBackoffMax?: number | undefined;
  /**
   * Where reading starts, and where an out-of-range offset is reset to:
   * FirstOffset (the default) or LastOffset.
   */
  startOffset?: typeof FirstOffset | typeof LastOffset | undefined;
  /**
   * What an offset outside the partition (OFFSET_OUT_OF_RANGE) does: "reset"
   * (the default) moves to `startOffset`, "error" errors the stream. A log
   * truncated below the position (an unclean leader election, detected with
   * the leader epochs of KIP-320) moves back to where the leader's log parts
   * from what was read under "reset", and errors the stream with
   * OFFSET_OUT_OF_RANGE under "error".
   */
  offsetOutOfRange?: "reset" | "error" | undefined;
  /**
   * false (the default): keys, values and header values are views into the
   * fetched response, so a message kept alive keeps its response alive.
   * true: each is copied, which costs time but holds only what it needs.
   */
  copyValues?: boolean | undefined;
  /**
   * true (the default): each fetched batch's CRC-32C is checked, as Kafka's
   * Java consumer does, so corruption on the way fails loudly. false skips
   * it, as librdkafka does by default (`check.crcs`): about a tenth less
   * CPU per 100-byte message consumed.
   */
  checkCrcs?: boolean | undefined;
  /**
   * true (the default): when the cluster's operators subscribed to client
   * metrics (KIP-714, `kafka-client-metrics.sh`) and a broker has a
   * telemetry receiver, the Reader pushes its metrics to the broker, as
   * Java's consumer does (`enable.metrics.push`). Nothing is sent otherwise.
   * false turns it off.
   */
  telemetry?: boolean | undefined;
  /**
   * The OpenTelemetry API (`import * as api from "@opentelemetry/api"`) to
   * trace the messages with: a CONSUMER span per message handed out, a
   * child of the context its headers carry ("process <topic>" through
   * `for await`, until the next message is asked for; "receive <topic>"
   * through `readMessage` and `fetchMessage`; a "process" span per batch
   * through `batches()`). See `TracingApi`. Unset (the default), nothing is
   * traced.
   */
  tracing?: TracingApi | undefined;
  /** Receives informational events: where reading starts, seeks, closing. */
  logger?: Logger | undefined;
  /** Receives failures, such as each retried Fetch and its cause. */
  errorLogger?: Logger | undefined;
}

/**
 * What `reader.pipeTo(dest, { map })` makes of each message before `dest`
 * gets it: a value, several (an array), or none (null or undefined, to
 * leave the message out); or a promise of one of these.
 *
 * @example
 * ```ts
 * import type { Message, MessageInput, PipeMap } from "jsr:@streamkafka/client";
 *
 * const upper: PipeMap<MessageInput> = (m: Message) =>
 *   m.value === null ? null : {
 *     key: m.key,
 *     value: new TextDecoder().decode(m.value).toUpperCase(),
 *   };
 * console.log(typeof upper);
 * ```
 */
export type PipeMap<T, M extends Message = Message> = (
  message: M,
) =>
  | T
  | readonly T[]
  | null
  | undefined
  | Promise<T | readonly T[] | null | undefined>;

/**
 * Options of `reader.pipeTo`: the platform's pipe options, and `map`.
 *
 * @example
 * ```ts
 * import type { MessageInput, ReaderPipeOptions } from "jsr:@streamkafka/client";
 *
 * const options: ReaderPipeOptions<MessageInput> = {
 *   preventClose: true,
 *   map: (m) => ({ key: m.key, value: m.value }),
 * };
 * console.log(options.preventClose);
 * ```
 */
export interface ReaderPipeOptions<T, M extends Message = Message>
  extends StreamPipeOptions {
  /**
   * Turns each message into what the destination gets (consume, transform,
   * produce). Into a Writer, a batch's results go over in one call, and a
   * group's offsets commit as without it: the batch counts once all of its
   * results are acknowledged, or, into a transactional Writer, they commit
   * in the same transaction. A `map` that throws or rejects stops the pipe
   * with its error: the destination is aborted unless `preventAbort`, the
   * Reader cancelled unless `preventCancel`, and nothing of that batch is
   * written or committed.
   */
  map?: PipeMap<T, M> | undefined;
}

/** Options of a single read or lookup. */
export interface ReadOptions {
  /** Aborting rejects the call with the signal's reason; nothing is lost. */
  signal?: AbortSignal | undefined;
}

/**
 * A group Reader's membership, as `stats().group` reports it.
 *
 * @example
 * ```ts
 * import type { GroupStats } from "./options.ts";
 *
 * const group: GroupStats = {
 *   groupId: "orders",
 *   protocol: "consumer",
 *   rebalance: "cooperative",
 *   memberId: "Xq3ZL0yWQ8aYb1nJ3CkW9w",
 *   generationId: 7,
 *   groupInstanceId: null,
 *   assignor: "uniform",
 *   assignment: [{ topic: "orders", partition: 0 }],
 * };
 * console.log(`${group.protocol} epoch ${group.generationId}`);
 * ```
 */
export interface GroupStats {
  /** The group's id. */
  groupId: string;
  /** "classic" (JoinGroup, SyncGroup) or "consumer" (KIP-848). */
  protocol: "classic" | "consumer";
  /** "eager" (all partitions given up on each rebalance) or "cooperative" (only those that move). */
  rebalance: "eager" | "cooperative";
  /** The member id; "" before the first join. */
  memberId: string;
  /** The classic generation id, or the consumer protocol's member epoch; -1 when none. */
  generationId: number;
  /** The static member's instance id, or null. */
  groupInstanceId: string | null;
  /** The balancer the group chose (classic) or the broker assignor asked for (consumer); null when unknown. */
  assignor: string | null;
  /** The partitions this member owns now. */
  assignment: { topic: string; partition: number }[];
}

/** Counters since the last `stats()` call, and current settings (kafka-go's ReaderStats). */
export interface ReaderStats {
  /** Connections opened for fetching. */
  dials: number;
  /** Fetch requests answered. */
  fetches: number;
  /** Messages fetched. */
  messages: number;
  /** Key and value bytes fetched. */
  bytes: number;
  /** Rebalances this member took part in (always 0 outside a group). */
  rebalances: number;
  /** Failed requests that timed out (counted in `errors` too). */
  timeouts: number;
  /** Failed requests, retried or not. */
  errors: number;
  /** The offset of the next message to be read, as `Reader.offset`. */
  offset: number;
  /** Messages between `offset` and the partition's end, as `Reader.lag`. */
  lag: number;
  /** The `minBytes` setting. */
  minBytes: number;
  /** The `maxBytes` setting. */
  maxBytes: number;
  /** The `maxWait` setting, in milliseconds. */
  maxWait: number;
  /** Messages fetched and not yet read. */
  queueLength: number;
  /** The `queueCapacity` setting. */
  queueCapacity: number;
  /** The client id sent to the brokers. */
  clientId: string;
  /** The topic read. */
  topic: string;
  /** The partition read; -1 in a group. */
  partition: number;
  /**
   * In a group: the protocol in use, the member id, its generation (the
   * member epoch under the consumer protocol) and its partitions.
   */
  group?: GroupStats | undefined;
  /** In a group: each assigned partition's next offset and lag (-1 unknown). */
  partitions?: {
    topic: string;
    partition: number;
    offset: number;
    lag: number;
  }[];
}

export const DEFAULTS = {
  partition: 0,
  queueCapacity: 100,
  minBytes: 1,
  maxBytes: 1024 * 1024,
  fetchMaxBytes: 4 * 1024 * 1024,
  maxWait: 10_000,
  readLagInterval: 0,
  maxAttempts: Infinity,
  readBackoffMin: 100,
  readBackoffMax: 1000,
};

export type Limits = typeof DEFAULTS;

/** Kafka's int32 ceiling for byte counts and waits. */
export const INT32_MAX = 2 ** 31 - 1;

/** The options only a group Reader takes (`groupId` aside). */
const GROUP_ONLY = [
  "groupTopics",
  "groupProtocol",
  "groupRemoteAssignor",
  "groupInstanceId",
  "groupBalancers",
  "heartbeatInterval",
  "sessionTimeout",
  "rebalanceTimeout",
  "maxPollInterval",
  "joinGroupBackoff",
  "retentionTime",
  "commitInterval",
  "watchPartitionChanges",
  "partitionWatchInterval",
  "onPartitionsAssigned",
  "onPartitionsRevoked",
  "onPartitionsLost",
] as const satisfies readonly (keyof ReaderOptions)[];

/** The names of `ReaderOptions`, its group options included. */
const READER_OPTIONS = optionNames<ReaderOptions>()(
  "brokers",
  "cluster",
  "transport",
  "topic",
  "partition",
  "queueCapacity",
  "minBytes",
  "maxBytes",
  "fetchMaxBytes",
  "maxWait",
  "readLagInterval",
  "isolationLevel",
  "maxAttempts",
  "readBackoffMin",
  "readBackoffMax",
  "startOffset",
  "offsetOutOfRange",
  "copyValues",
  "checkCrcs",
  "telemetry",
  "tracing",
  "logger",
  "errorLogger",
  "groupId",
  "rack",
  ...GROUP_ONLY,
);

export function validateReader(options: ReaderOptions): void {
  const fail = (message: string): never => {
    throw new TypeError(`Cannot create Reader: ${message}`);
  };
  if (options === null || typeof options !== "object") {
    fail(`options must be an object, got ${describeValue(options)}`);
  }
  checkNames("Cannot create Reader", options, READER_OPTIONS);
  if (options.cluster !== undefined) {
    if (!(options.cluster instanceof Cluster)) {
      fail(`"cluster" must be a Cluster`);
    }
  } else {
    checkBrokers("Cannot create Reader", options.brokers);
  }
  if (
    options.telemetry !== undefined && typeof options.telemetry !== "boolean"
  ) {
    fail(
      `"telemetry" must be a boolean, got ${describeValue(options.telemetry)}`,
    );
  }
  checkTracing("Cannot create Reader", options.tracing);
  const inGroup = options.groupId !== undefined;
  if (!inGroup) {
    // Without a group these would be ignored: most likely the group was
    // forgotten.
    for (const key of GROUP_ONLY) {
      if (options[key] !== undefined) {
        fail(
          `"${key}" is an option of a consumer group: set "groupId" too, or leave "${key}" out`,
        );
      }
    }
  }
  // In a group, the group's checks name it.
  if (
    !inGroup && options.rack !== undefined &&
    (typeof options.rack !== "string" || options.rack === "")
  ) {
    fail(
      `"rack" must be a non-empty string, got ${describeValue(options.rack)}`,
    );
  }
  if (
    (!inGroup || options.topic !== undefined) &&
    (typeof options.topic !== "string" || options.topic === "")
  ) {
    fail(
      `"topic" must be a non-empty string, got ${describeValue(options.topic)}`,
    );
  }
  const integers: [keyof Limits, number, number][] = [
    ["partition", 0, INT32_MAX],
    ["queueCapacity", 1, INT32_MAX],
    ["minBytes", 1, INT32_MAX],
    ["maxBytes", 1, INT32_MAX],
    ["fetchMaxBytes", 1, INT32_MAX],
    ["maxWait", 1, INT32_MAX],
    ["readLagInterval", 0, INT32_MAX],
    ["maxAttempts", 1, INT32_MAX],
    ["readBackoffMin", 0, INT32_MAX],
    ["readBackoffMax", 0, INT32_MAX],
  ];
  for (const [key, min, max] of integers) {
    checkNumber("Cannot create Reader", key, options[key], { min, max });
  }
  checkFetchSettings("Cannot create Reader", options);
  const minBytes = options.minBytes ?? DEFAULTS.minBytes;
  const fetchMaxBytes = options.fetchMaxBytes ?? DEFAULTS.fetchMaxBytes;
  if (inGroup && minBytes > fetchMaxBytes) {
    throw new RangeError(
      `Cannot create Reader: "minBytes" (${minBytes}) must not exceed "fetchMaxBytes" (${fetchMaxBytes})`,
    );
  }
}

/** The fetch settings the Reader and the fetch engine share. */
export interface FetchSettingsInput {
  minBytes?: number | undefined;
  maxBytes?: number | undefined;
  readBackoffMin?: number | undefined;
  readBackoffMax?: number | undefined;
  isolationLevel?: IsolationLevel | undefined;
  offsetOutOfRange?: "reset" | "error" | undefined;
  startOffset?: number | undefined;
  copyValues?: boolean | undefined;
  checkCrcs?: boolean | undefined;
  logger?: unknown;
  errorLogger?: unknown;
}

/**
 * Checks what the Reader and the fetch engine both take, beyond each number's
 * own range: minBytes against maxBytes, the backoff bounds, the choices, the
 * flags and the loggers. Messages start with `context`.
 */
export function checkFetchSettings(
  context: string,
  options: FetchSettingsInput,
): void {
  const outOfRange = (message: string): never => {
    throw new RangeError(`${context}: ${message}`);
  };
  const fail = (message: string): never => {
    throw new TypeError(`${context}: ${message}`);
  };
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
  checkChoice(context, "isolationLevel", options.isolationLevel, [
    "read_uncommitted",
    "read_committed",
  ]);
  checkChoice(context, "offsetOutOfRange", options.offsetOutOfRange, [
    "reset",
    "error",
  ]);
  checkChoice(
    context,
    "startOffset",
    options.startOffset,
    [FirstOffset, LastOffset],
    ["FirstOffset (-2)", "LastOffset (-1)"],
  );
  for (const key of ["copyValues", "checkCrcs"] as const) {
    if (options[key] !== undefined && typeof options[key] !== "boolean") {
      fail(`"${key}" must be a boolean, got ${describeValue(options[key])}`);
    }
  }
  for (const key of ["logger", "errorLogger"] as const) {
    if (options[key] !== undefined && typeof options[key] !== "function") {
      fail(`"${key}" must be a function, got ${describeValue(options[key])}`);
    }
  }
}
