/**
 * The ShareReader's options: their types, defaults and checks.
 *
 * @module
 */

import { checkTracing, type TracingApi } from "../../tracing/api.ts";
import { Cluster } from "../../cluster/cluster.ts";
import {
  checkBrokers,
  checkNames,
  type Logger,
  type TransportOptions,
} from "../../cluster/transport.ts";
import type { Message } from "../../message.ts";
import { checkNumber, describeValue, optionNames } from "../../options.ts";
import { INT32_MAX } from "../options.ts";

/** A message of a share group: a Message, and how often it was handed out. */
export interface ShareMessage extends Message {
  /**
   * How many times the group has handed this record out, this time
   * included: 1 the first time; more after a member released it, crashed,
   * or held it past the acquisition lock. The broker archives a record
   * after `share.delivery.count.limit` deliveries (5 by default).
   */
  deliveryCount: number;
  /** Always -1: share fetches do not say. */
  highWaterMark: number;
}

/** Options of a ShareReader. */
export interface ShareReaderOptions {
  /** Bootstrap brokers, "host:port". Required unless `cluster` is given. */
  brokers?: readonly string[] | undefined;
  /** A shared cluster connection; the ShareReader then leaves it open on close. */
  cluster?: Cluster | undefined;
  /** Client id, TLS, SASL and timeouts; refused with `cluster`, which has its own. */
  transport?: TransportOptions | undefined;
  /** The share group's id. Required. */
  groupId: string;
  /** The topics to read. Required: at least one. */
  topics: readonly string[];
  /**
   * "implicit" (the default): a message counts as processed, and is
   * accepted, once the next one is asked for or the `for await` loop that
   * read it ends. "explicit": each message must be given to `acknowledge`
   * (accept, release or reject); one never acknowledged goes back to the
   * group when its acquisition lock runs out, or when the reader closes.
   */
  acknowledgements?: "implicit" | "explicit" | undefined;
  /**
   * Records one ShareFetch asks for (default 500, Java's
   * `max.poll.records`). The broker acquires whole record batches, so a
   * response may hold more: as many as the producer put in a batch (see
   * `acquireMode`). While one response is handed out, the next is
   * fetched; their records' locks run meanwhile.
   */
  maxRecords?: number | undefined;
  /**
   * How the broker acquires records for this member (KIP-1206; Java's
   * `share.acquire.mode`):
   * - "batch_optimized" (the default): whole record batches, so a fetch
   *   may acquire more than `maxRecords`;
   * - "record_limit": at most `maxRecords` records per fetch, splitting
   *   batches, and a fetch only when the consumer asks for a message and
   *   none is left. For slow consumers: a member holds only what it was
   *   handed (and what it is fetching), so records do not wait, locked,
   *   in it while others could process them. Needs Kafka 4.2 or later; an
   *   older broker fails the reader at once.
   */
  acquireMode?: "batch_optimized" | "record_limit" | undefined;
  /** Most bytes of one ShareFetch response (default 4 MiB). */
  maxBytes?: number | undefined;
  /**
   * Milliseconds a broker may wait for records before it answers (default
   * 500, as Java's). Acknowledgements and closing wait for the answer.
   */
  maxWait?: number | undefined;
  /** The member's rack, for rack-aware assignment. */
  rack?: string | undefined;
  /**
   * Longest backoff between failed heartbeats, in milliseconds (default
   * 5000, at most 5000: a member silent longer risks its session); the
   * backoff starts at 100 ms and doubles.
   */
  joinGroupBackoff?: number | undefined;
  /** Milliseconds before the first retry of a failed fetch (default 100). */
  readBackoffMin?: number | undefined;
  /** Ceiling of the retry backoff (default 1000). */
  readBackoffMax?: number | undefined;
  /**
   * Milliseconds acknowledgements may wait for the next ShareFetch before
   * they go out alone in a ShareAcknowledge (default 200).
   */
  acknowledgeLinger?: number | undefined;
  /**
   * Milliseconds (default 0: off) for which the locks of messages handed
   * out and not acknowledged yet are renewed before they run out (see
   * `ShareReader.renew`; Kafka 4.2 on), counted from when each record was
   * acquired: long work keeps its record without calling `renew`, and a
   * consumer that hangs lets it go after this long.
   */
  autoRenew?: number | undefined;
  /**
   * false (the default): keys, values and header values are views into the
   * fetched response. true: each is copied.
   */
  copyValues?: boolean | undefined;
  /** true (the default): each fetched batch's CRC-32C is checked. */
  checkCrcs?: boolean | undefined;
  /**
   * true (the default): when the cluster's operators subscribed to client
   * metrics (KIP-714, `kafka-client-metrics.sh`) and a broker has a
   * telemetry receiver, the reader pushes its metrics to the broker, as
   * Java's share consumer does (`enable.metrics.push`). Nothing is sent
   * otherwise. false turns it off.
   */
  telemetry?: boolean | undefined;
  /** Receives informational events: joining, assignments, closing. */
  logger?: Logger | undefined;
  /** Receives failures, such as each retried request and its cause. */
  errorLogger?: Logger | undefined;
  /**
   * The OpenTelemetry API (`import * as api from "@opentelemetry/api"`) to
   * trace the messages with, as a Reader does: a CONSUMER span "process
   * <topic>" per message handed out, a child of the context its headers
   * carry, until the next one is asked for; a "process" span per batch
   * through `batches()`. See `TracingApi`. Unset (the default), nothing is
   * traced.
   */
  tracing?: TracingApi | undefined;
}

/** The defaults of the numeric options. */
export const SHARE_DEFAULTS = {
  maxRecords: 500,
  maxBytes: 4 * 1024 * 1024,
  maxWait: 500,
  joinGroupBackoff: 5000,
  readBackoffMin: 100,
  readBackoffMax: 1000,
  acknowledgeLinger: 200,
  autoRenew: 0,
} as const;

const SHARE_OPTIONS = optionNames<ShareReaderOptions>()(
  "brokers",
  "cluster",
  "transport",
  "groupId",
  "topics",
  "acknowledgements",
  "maxRecords",
  "acquireMode",
  "maxBytes",
  "maxWait",
  "rack",
  "joinGroupBackoff",
  "readBackoffMin",
  "readBackoffMax",
  "acknowledgeLinger",
  "autoRenew",
  "copyValues",
  "checkCrcs",
  "telemetry",
  "logger",
  "errorLogger",
  "tracing",
);

const CONTEXT = "Cannot create ShareReader";

/** Throws a TypeError or RangeError naming the first option that is wrong. */
export function validateShareReader(options: ShareReaderOptions): void {
  const fail = (message: string): never => {
    throw new TypeError(`${CONTEXT}: ${message}`);
  };
  if (options === null || typeof options !== "object") {
    fail(`options must be an object, got ${describeValue(options)}`);
  }
  checkNames(CONTEXT, options, SHARE_OPTIONS);
  if (options.cluster !== undefined) {
    if (!(options.cluster instanceof Cluster)) {
      fail(
        `"cluster" must be a Cluster, got ${describeValue(options.cluster)}`,
      );
    }
  } else {
    checkBrokers(CONTEXT, options.brokers);
  }
  if (typeof options.groupId !== "string" || options.groupId === "") {
    fail(
      `"groupId" must be a non-empty string, got ${
        describeValue(options.groupId)
      }`,
    );
  }
  if (
    !Array.isArray(options.topics) || options.topics.length === 0 ||
    options.topics.some((t) => typeof t !== "string" || t === "")
  ) {
    fail(
      `"topics" must list at least one topic name, got ${
        describeValue(options.topics)
      }`,
    );
  }
  const mode = options.acknowledgements;
  if (mode !== undefined && mode !== "implicit" && mode !== "explicit") {
    fail(
      `"acknowledgements" must be "implicit" or "explicit", got ${
        describeValue(mode)
      }`,
    );
  }
  const acquire = options.acquireMode;
  if (
    acquire !== undefined && acquire !== "batch_optimized" &&
    acquire !== "record_limit"
  ) {
    fail(
      `"acquireMode" must be "batch_optimized" or "record_limit", got ${
        describeValue(acquire)
      }`,
    );
  }
  if (
    options.rack !== undefined &&
    (typeof options.rack !== "string" || options.rack === "")
  ) {
    fail(
      `"rack" must be a non-empty string, got ${describeValue(options.rack)}`,
    );
  }
  for (const key of ["copyValues", "checkCrcs", "telemetry"] as const) {
    const value = options[key];
    if (value !== undefined && typeof value !== "boolean") {
      fail(`"${key}" must be a boolean, got ${describeValue(value)}`);
    }
  }
  for (const key of ["logger", "errorLogger"] as const) {
    const value = options[key];
    if (value !== undefined && typeof value !== "function") {
      fail(`"${key}" must be a function, got ${describeValue(value)}`);
    }
  }
  checkTracing(CONTEXT, options.tracing);
  const integers: [keyof typeof SHARE_DEFAULTS, number][] = [
    ["maxRecords", 1],
    ["maxBytes", 1],
    ["maxWait", 0],
    ["joinGroupBackoff", 1],
    ["readBackoffMin", 0],
    ["readBackoffMax", 0],
    ["acknowledgeLinger", 0],
    ["autoRenew", 0],
  ];
  for (const [key, min] of integers) {
    checkNumber(CONTEXT, key, options[key], { min, max: INT32_MAX });
  }
  const backoffMin = options.readBackoffMin ?? SHARE_DEFAULTS.readBackoffMin;
  const backoffMax = options.readBackoffMax ?? SHARE_DEFAULTS.readBackoffMax;
  if (backoffMin > backoffMax) {
    throw new RangeError(
      `${CONTEXT}: "readBackoffMin" (${backoffMin}) must not exceed "readBackoffMax" (${backoffMax})`,
    );
  }
}
