/**
 * The Writer's options: their types, defaults and checks.
 *
 * @module
 */

import { checkTracing, type TracingApi } from "../tracing/api.ts";
import type { Logger, TransportOptions } from "../cluster/transport.ts";
import { acksOf, type RequiredAcks } from "../requests/produce.ts";
import {
  checkCompressionLevel,
  compressionId,
  type CompressionName,
} from "../../codecs/mod.ts";
import type { Balancer } from "./balancers.ts";
import { Cluster } from "../cluster/cluster.ts";
import type { MessageInput } from "../message.ts";
import type { RecordMetadata } from "./batches.ts";
import {
  checkDuration,
  checkNumber,
  describeValue,
  optionNames,
} from "../options.ts";
import { checkBrokers, checkNames } from "../cluster/transport.ts";

/** Options of a Writer: kafka-go's Writer fields in camelCase. */
export interface WriterOptions {
  /** Bootstrap brokers, "host:port". Required unless `cluster` is given. */
  brokers?: readonly string[] | undefined;
  /** A shared cluster connection (kafka-go's shared Transport). */
  cluster?: Cluster | undefined;
  /** Client id, TLS, SASL and timeouts; refused with `cluster`, which has its own. */
  transport?: TransportOptions | undefined;
  /** The topic of every message; when unset each message names its own. */
  topic?: string | undefined;
  /**
   * Picks each message's partition. Default: a new `JavaDefault` whose runs
   * of keyless messages are as long as this Writer's `batchSize` and
   * `batchBytes`, so that each run fills one batch.
   */
  balancer?: Balancer | undefined;
  /**
   * Milliseconds a message may take from `writeMessages` to its
   * acknowledgement, retries included (default 120 s, as Java's
   * `delivery.timeout.ms`). Retriable failures (leader changes, a broker
   * restarting, timeouts) are retried until then; the message then fails
   * with a `TimeoutError`.
   */
  deliveryTimeout?: number | undefined;
  /**
   * Attempts per batch before it fails. Unset (the default), only
   * `deliveryTimeout` bounds the retries.
   */
  maxAttempts?: number | undefined;
  /** Milliseconds before the first retry (default 100). */
  writeBackoffMin?: number | undefined;
  /** Ceiling of the retry backoff (default 1000). */
  writeBackoffMax?: number | undefined;
  /** Most messages in one batch (default 100). */
  batchSize?: number | undefined;
  /** Most bytes in one batch (default 1 MiB). */
  batchBytes?: number | undefined;
  /**
   * Accepted (and validated) for kafka-go compatibility, where it is the
   * longest a message waits for its batch to fill. This writer never waits
   * for a batch to fill: a partition with nothing in flight sends at once,
   * and a busy one sends what gathered as soon as its request completes. So
   * no message waits on a timer and the value has no effect.
   */
  batchTimeout?: number | undefined;
  /**
   * Milliseconds the broker may take to answer a Produce (its `timeoutMs`;
   * default 10 s). The Writer waits 5 s more for the answer, within
   * `deliveryTimeout`, before it counts the request as timed out.
   */
  writeTimeout?: number | undefined;
  /**
   * Milliseconds each of the Writer's other requests may take: metadata,
   * producer ids, coordinators, transactions (default 10 s). Refused with
   * `cluster`, whose `requestTimeout` applies.
   */
  readTimeout?: number | undefined;
  /** Acknowledgements each Produce waits for: "all" (default), "one", "none", or Kafka's -1, 1, 0. */
  requiredAcks?: RequiredAcks | undefined;
  /**
   * writeMessages returns once the messages are queued (at once, unless
   * `maxBufferedBytes` are buffered); `completion` reports the outcome.
   */
  async?: boolean | undefined;
  /**
   * Called once per batch with its messages and its error (or null). What it
   * throws goes to `errorLogger`; the Writer goes on.
   */
  completion?:
    | ((messages: MessageInput[], error: Error | null) => void)
    | undefined;
  /** Compression of record batches (default "none"). */
  compression?: CompressionName | undefined;
  /**
   * The codec's compression level, as Kafka's Java producer takes it
   * (`compression.gzip.level`, `compression.zstd.level`; KIP-390): for gzip
   * zlib's 1 (fastest) to 9 (smallest); for zstd -131072 to 22, default 3.
   * snappy and lz4 take none. Without a level, gzip is our own deflate,
   * which on 1 KiB JSON messages compressed about as well as zlib's level 6
   * with a third less CPU. Lower levels trade size for CPU: on those
   * messages gzip at level 1 took about a third of level 6's CPU, for
   * batches 5 to 10 % larger under Node.js and 50 to 60 % larger under Deno
   * and Bun, whose zlib differ.
   *
   * @example
   * ```ts
   * import { Writer } from "jsr:@streamkafka/client";
   *
   * const writer = new Writer({
   *   brokers: ["localhost:9092"],
   *   topic: "docs-compression-level",
   *   compression: "gzip",
   *   compressionLevel: 1,
   *   allowAutoTopicCreation: true,
   * });
   * await writer.writeMessages([{ value: "fast and small enough" }]);
   * await writer.close();
   * ```
   */
  compressionLevel?: number | undefined;
  /** Receives informational events, such as each batch written. */
  logger?: Logger | undefined;
  /** Receives failures, such as each retry and its cause. */
  errorLogger?: Logger | undefined;
  /**
   * Let metadata requests create a missing topic, where the broker has
   * `auto.create.topics.enable` (default false).
   */
  allowAutoTopicCreation?: boolean | undefined;
  /**
   * Exactly-once per partition across retries (InitProducerId, sequence
   * numbers). Default: on when requiredAcks is "all" and the broker supports it.
   */
  idempotent?: boolean | undefined;
  /**
   * Makes the Writer transactional (KIP-98): its writes go in transactions
   * begun and ended with `beginTransaction` / `commitTransaction` /
   * `abortTransaction` (or `transaction(fn)`), and Readers with
   * `isolationLevel: "read_committed"` see only committed ones. One id per
   * producing process: a new Writer with the same id fences the old one.
   * Needs requiredAcks "all" and idempotence (default: not transactional).
   */
  transactionalId?: string | undefined;
  /**
   * Milliseconds the transaction coordinator lets a transaction stay open
   * before it aborts it (default 60 000; at most the broker's
   * `transaction.max.timeout.ms`).
   */
  transactionTimeout?: number | undefined;
  /**
   * Bytes the Writer buffers (default 16 MiB; Java's `buffer.memory`, 32 MiB there):
   * beyond them the stream's `write()`, `writeMessages` (in async mode too)
   * and `send` wait, in call order, until acknowledged messages make room.
   */
  maxBufferedBytes?: number | undefined;
  /**
   * Connections the Writer produces over to each broker (1 to 16, default
   * 2; 1 with a `transactionalId`, since the leader checks the new
   * partitions of a transaction one request at a time). A broker works on one request per connection at a time, so with two
   * it writes two requests' batches at once: 10 KiB messages went 20-40 %
   * faster on a two-core machine, 100 B ones as fast, at up to 10 % more
   * client CPU. Each partition keeps to one of them (by its number), so its
   * batches stay in order.
   *
   * @example One connection per broker, as the Java client keeps
   * ```ts
   * import { Writer } from "jsr:@streamkafka/client";
   *
   * const writer = new Writer({
   *   brokers: ["localhost:9092"],
   *   topic: "docs-one-connection",
   *   connectionsPerBroker: 1,
   *   allowAutoTopicCreation: true,
   * });
   * await writer.writeMessages([{ value: "hello" }]);
   * await writer.close();
   * ```
   */
  connectionsPerBroker?: number | undefined;
  /**
   * true (the default): when the cluster's operators subscribed to client
   * metrics (KIP-714, `kafka-client-metrics.sh`) and a broker has a
   * telemetry receiver, the Writer pushes its metrics to the broker, as
   * Java's producer does (`enable.metrics.push`). Nothing is sent otherwise.
   * false turns it off.
   */
  telemetry?: boolean | undefined;
  /**
   * The OpenTelemetry API (`import * as api from "@opentelemetry/api"`) to
   * trace the messages with: a PRODUCER span "send <topic>" per message,
   * its context written into the message's headers (see `TracingApi`).
   * Unset (the default), nothing is traced.
   */
  tracing?: TracingApi | undefined;
}

/** Options of one `Writer.writeMessages` call. */
export interface WriteOptions {
  /**
   * Aborting drops the call's messages not sent yet: it rejects with a
   * `WriteErrors` in which each of them failed with the signal's reason
   * (those sent before may be written). A signal aborted before the call
   * rejects it with the reason itself, as `fetch` does: nothing was taken.
   */
  signal?: AbortSignal | undefined;
}

/**
 * Why a write failed, message by message (kafka-go's WriteErrors).
 *
 * @example A message too large for any batch fails alone
 * ```ts
 * import { WriteErrors, Writer } from "jsr:@streamkafka/client";
 *
 * const writer = new Writer({
 *   brokers: ["localhost:9092"],
 *   topic: "docs-write-errors",
 *   batchBytes: 1000,
 *   allowAutoTopicCreation: true,
 * });
 * try {
 *   await writer.writeMessages(
 *     { value: "small" },
 *     { value: "x".repeat(2000) },
 *   );
 * } catch (error) {
 *   if (!(error instanceof WriteErrors)) throw error;
 *   console.log(error.count); // 1
 *   console.log(error.errors.map((e) => e === null)); // [ true, false ]
 * }
 * await writer.close();
 * ```
 */
export class WriteErrors extends Error {
  /** One entry per message of the write: its error, or null if it was written. */
  readonly errors: (Error | null)[];
  /**
   * Of a `send` call: one entry per message, where it was written (topic,
   * partition, offset), or null for one that failed. Null for the other
   * writes (`writeMessages`, the stream), which keep no such record.
   */
  readonly written: (RecordMetadata | null)[] | null;

  /**
   * One entry per message of the write: its error, or null; and for a
   * `send`, where each written one went.
   */
  constructor(
    errors: (Error | null)[],
    written: (RecordMetadata | null)[] | null = null,
  ) {
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
    this.written = written;
  }

  /** How many messages failed. */
  get count(): number {
    return this.errors.filter((e) => e !== null).length;
  }
}

/** Counters since the last `Writer.stats()` call (kafka-go's WriterStats). */
export interface WriterStats {
  /** writeMessages calls (and stream writes). */
  writes: number;
  /**
   * Produce requests sent: one per broker carries every partition ready,
   * up to half a MiB of records; batches past that go at once.
   */
  requests: number;
  /** Messages acknowledged. */
  messages: number;
  /**
   * Bytes of the messages acknowledged: an upper bound of their encoded
   * records, before compression.
   */
  bytes: number;
  /** Messages that failed. */
  errors: number;
  /** Retries of failed requests (Produce, metadata, producer id). */
  retries: number;
  /** Batches acknowledged. */
  batches: number;
  /** Messages per batch: average and largest since the last `stats()`. */
  batchSize: { avg: number; max: number };
  /** Milliseconds from queueing to acknowledgement of a batch. */
  writeTime: { avg: number; max: number };
}

export const DEFAULTS = {
  maxAttempts: Infinity,
  deliveryTimeout: 120_000,
  writeBackoffMin: 100,
  writeBackoffMax: 1000,
  batchSize: 100,
  batchBytes: 1024 * 1024,
  batchTimeout: 1000,
  writeTimeout: 10_000,
  readTimeout: 10_000,
  maxBufferedBytes: 16 * 1024 * 1024,
  connectionsPerBroker: 2,
};

/** Kafka's int32 ceiling, for counts and milliseconds sent to the broker. */
export const INT32_MAX = 2 ** 31 - 1;

/** The names of `WriterOptions`. */
const WRITER_OPTIONS = optionNames<WriterOptions>()(
  "brokers",
  "cluster",
  "transport",
  "topic",
  "balancer",
  "deliveryTimeout",
  "maxAttempts",
  "writeBackoffMin",
  "writeBackoffMax",
  "batchSize",
  "batchBytes",
  "batchTimeout",
  "writeTimeout",
  "readTimeout",
  "requiredAcks",
  "async",
  "completion",
  "compression",
  "compressionLevel",
  "logger",
  "errorLogger",
  "allowAutoTopicCreation",
  "idempotent",
  "transactionalId",
  "transactionTimeout",
  "maxBufferedBytes",
  "connectionsPerBroker",
  "telemetry",
  "tracing",
);

/** The options of `T` that are booleans. */
type BooleanKeys<T> = {
  [K in keyof T]-?: NonNullable<T[K]> extends boolean ? K : never;
}[keyof T];

/**
 * The boolean options of `WriterOptions`, each checked to be one: the
 * compiler refuses the list while it lacks one.
 */
const WRITER_BOOLEANS = optionNames<
  Pick<WriterOptions, BooleanKeys<WriterOptions>>
>()("async", "allowAutoTopicCreation", "idempotent", "telemetry");

export function validateWriter(options: WriterOptions): void {
  const fail = (message: string): never => {
    throw new TypeError(`Cannot create Writer: ${message}`);
  };
  if (options === null || typeof options !== "object") {
    fail(`options must be an object, got ${describeValue(options)}`);
  }
  checkNames("Cannot create Writer", options, WRITER_OPTIONS);
  if (options.cluster !== undefined && !(options.cluster instanceof Cluster)) {
    fail(`"cluster" must be a Cluster, got ${describeValue(options.cluster)}`);
  }
  if (options.cluster === undefined) {
    checkBrokers("Cannot create Writer", options.brokers);
  } else if (options.readTimeout !== undefined) {
    fail(
      `"cluster" and "readTimeout" exclude each other (the Cluster's requestTimeout applies to its requests); give one of them`,
    );
  }
  if (
    options.topic !== undefined &&
    (typeof options.topic !== "string" || options.topic === "")
  ) {
    fail(
      `"topic" must be a non-empty string, got ${describeValue(options.topic)}`,
    );
  }
  for (const key of WRITER_BOOLEANS) {
    const value = (options as Record<string, unknown>)[key];
    if (value !== undefined && typeof value !== "boolean") {
      fail(`"${key}" must be a boolean, got ${describeValue(value)}`);
    }
  }
  const context = "Cannot create Writer";
  checkTracing(context, options.tracing);
  for (const key of ["maxAttempts", "batchSize"] as const) {
    checkNumber(context, key, options[key], { min: 1, max: INT32_MAX });
  }
  checkNumber(context, "connectionsPerBroker", options.connectionsPerBroker, {
    min: 1,
    max: 16,
  });
  for (const key of ["batchBytes", "maxBufferedBytes"] as const) {
    checkNumber(context, key, options[key], { min: 1 });
  }
  for (
    const key of ["deliveryTimeout", "writeTimeout", "readTimeout"] as const
  ) {
    checkNumber(context, key, options[key], { min: 1, max: INT32_MAX });
  }
  for (
    const key of ["writeBackoffMin", "writeBackoffMax", "batchTimeout"] as const
  ) {
    checkDuration(context, key, options[key]);
  }
  const backoffMin = options.writeBackoffMin ?? DEFAULTS.writeBackoffMin;
  const backoffMax = options.writeBackoffMax ?? DEFAULTS.writeBackoffMax;
  if (backoffMin > backoffMax) {
    const shown = (key: string, value: number | undefined, fallback: number) =>
      value === undefined
        ? `${key}, by default ${fallback}`
        : `${key} ${value}`;
    throw new RangeError(
      `Cannot create Writer: "writeBackoffMin" must not exceed "writeBackoffMax" (${
        shown("writeBackoffMin", options.writeBackoffMin, backoffMin)
      }; ${shown("writeBackoffMax", options.writeBackoffMax, backoffMax)})`,
    );
  }
  const acks = acksOf(options.requiredAcks ?? "all", "Cannot create Writer");
  if (options.idempotent === true && acks !== -1) {
    throw new RangeError(
      `Cannot create Writer: "idempotent" needs requiredAcks "all", got "${options.requiredAcks}"`,
    );
  }
  if (options.transactionalId !== undefined) {
    if (
      typeof options.transactionalId !== "string" ||
      options.transactionalId === ""
    ) {
      fail(
        `"transactionalId" must be a non-empty string, got ${
          describeValue(options.transactionalId)
        }`,
      );
    }
    if (acks !== -1) {
      throw new RangeError(
        `Cannot create Writer: "transactionalId" needs requiredAcks "all", got "${options.requiredAcks}"`,
      );
    }
    if (options.idempotent === false) {
      throw new RangeError(
        `Cannot create Writer: "transactionalId" needs idempotence, but "idempotent" is false`,
      );
    }
  } else if (options.transactionTimeout !== undefined) {
    throw new RangeError(
      `Cannot create Writer: "transactionTimeout" needs "transactionalId"`,
    );
  }
  checkNumber(context, "transactionTimeout", options.transactionTimeout, {
    min: 1,
    max: INT32_MAX,
  });
  if (options.compression !== undefined) {
    try {
      compressionId(options.compression);
    } catch (error) {
      throw new RangeError(`Cannot create Writer: ${(error as Error).message}`);
    }
  }
  checkCompressionLevel(
    "Cannot create Writer",
    options.compression,
    options.compressionLevel,
  );
  if (
    options.balancer !== undefined &&
    typeof options.balancer?.balance !== "function"
  ) {
    fail(`"balancer" must have a balance(message, partitions) method`);
  }
  for (const key of ["completion", "logger", "errorLogger"] as const) {
    if (options[key] !== undefined && typeof options[key] !== "function") {
      fail(`"${key}" must be a function, got ${describeValue(options[key])}`);
    }
  }
}

export type { RequiredAcks };
