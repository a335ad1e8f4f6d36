/**
 * Where each admin or coordinator request goes, and how it is retried: to any broker, the
 * controller, a group's or transactional id's coordinator, a partition's
 * leader, or every broker. A request about several items (partitions,
 * groups) is split per node that must answer it and merged back in the
 * caller's order; items the broker answers with a retriable routing error
 * (NOT_LEADER_OR_FOLLOWER, NOT_COORDINATOR, NOT_CONTROLLER...) are sent
 * again after the route is looked up anew, until the call's deadline. Every
 * retry goes through the one loop of `./retry.ts`.
 *
 * @module
 */

import type { BrokerInfo, Cluster } from "./cluster.ts";
import { checkCallOptions, describeValue } from "../options.ts";
import { canRetry, retry, sleep } from "./retry.ts";
import { type BrokerConnection, DEFAULTS } from "../connection/connection.ts";
import {
  abortReason,
  ClosedError,
  ConnectionError,
  TimeoutError,
  UnsupportedVersionError,
  withinDeadline,
} from "../connection/errors.ts";
import type { Api, Encodable } from "../protocol/api.ts";
import {
  ErrorCode,
  KafkaError,
  type KafkaErrorContext,
} from "../protocol/errors.ts";

/**
 * Options of one routed call: every admin Client method takes them, and so
 * do a transactional Writer's calls to its coordinator.
 *
 * @example
 * ```ts
 * import type { CallOptions } from "./route.ts";
 *
 * const options: CallOptions = { timeout: 5000, signal: AbortSignal.timeout(10_000) };
 * console.log(options.timeout);
 * ```
 */
export interface CallOptions {
  /** Aborting rejects the call with the signal's reason. */
  signal?: AbortSignal | undefined;
  /**
   * Milliseconds the call may take, its retries included (default: the
   * Client's `timeout`).
   */
  timeout?: number | undefined;
}

/** A request's body, or a function making it for the connection it goes on. */
export type Body<Req> = NoInfer<
  Encodable<Req> | ((conn: BrokerConnection) => Encodable<Req>)
>;

/** One call's budget: its deadline and signal. */
export interface Call {
  /** No request or retry starts after this time (ms since epoch). */
  deadline: number;
  /** The caller's signal, if any. */
  signal?: AbortSignal | undefined;
}

/**
 * The least time one request gets while its call has twice that left (see
 * `Router.attemptTimeout`).
 */
const MIN_ATTEMPT_MS = 5000;

/** Codes meaning "ask again, the same node will know soon". */
const WAIT_CODES = new Set<number>([
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.OFFSET_NOT_AVAILABLE,
  ErrorCode.CONCURRENT_TRANSACTIONS,
]);

/** Codes meaning "look the node up again, then ask it". */
const MOVED_CODES = new Set<number>([
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NOT_CONTROLLER,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.REPLICA_NOT_AVAILABLE,
  ErrorCode.BROKER_NOT_AVAILABLE,
]);

/**
 * Whether a routed request's error is worth another attempt: a connection
 * failure or timeout, or a Kafka code that says the node moved or is busy.
 * UNKNOWN_TOPIC_OR_PARTITION is retried only where `unknownTopicIsFinal`
 * is false (a topic just created may not have reached every broker yet).
 */
export function routingError(
  error: unknown,
  unknownTopicIsFinal = true,
): boolean {
  if (error instanceof KafkaError) {
    if (error.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
      return !unknownTopicIsFinal;
    }
    return MOVED_CODES.has(error.code) || WAIT_CODES.has(error.code);
  }
  return canRetry(error);
}

/** A Kafka error from a code and message, or null for code 0. */
export function itemError(
  code: number,
  message: string | null | undefined,
  context: {
    apiName: string;
    topic?: string | undefined;
    partition?: number | undefined;
  },
): KafkaError | null {
  if (code === 0) return null;
  return new KafkaError(code, {
    ...context,
    detail: message ?? undefined,
  });
}

/**
 * The error of an item from its entry in the broker's answer, or
 * UNKNOWN_SERVER_ERROR where the answer left it out (`what` names the item
 * in that message: "topic", "user"...).
 */
export function answerError(
  entry: { errorCode: number; errorMessage: string | null } | undefined,
  what: string,
  context: { apiName: string; topic?: string },
): KafkaError | null {
  return entry
    ? itemError(entry.errorCode, entry.errorMessage, context)
    : itemError(-1, `the broker's answer left the ${what} out`, context);
}

/**
 * An item's failure as the KafkaError its result carries: a Kafka error as
 * it is; a connection failure NETWORK_EXCEPTION, a timeout
 * REQUEST_TIMED_OUT, a missing API UNSUPPORTED_VERSION, anything else
 * UNKNOWN_SERVER_ERROR (the original as `cause`). An aborted call rejects
 * instead, with the signal's reason.
 */
export function itemFailure(
  error: unknown,
  call: Call,
  context: KafkaErrorContext = {},
): KafkaError {
  if (error instanceof KafkaError) return error;
  if (call.signal?.aborted) throw abortReason(call.signal, "Admin call");
  const code = error instanceof UnsupportedVersionError
    ? ErrorCode.UNSUPPORTED_VERSION
    : error instanceof TimeoutError
    ? ErrorCode.REQUEST_TIMED_OUT
    : error instanceof ConnectionError || error instanceof ClosedError
    ? ErrorCode.NETWORK_EXCEPTION
    : ErrorCode.UNKNOWN_SERVER_ERROR;
  const message = error instanceof Error ? error.message : String(error);
  return new KafkaError(code, {
    ...context,
    detail: context.detail ? `${context.detail}: ${message}` : message,
    cause: error,
  });
}

/**
 * Sends the Client's requests to the nodes that must answer them, with one
 * retry policy bounded by each call's deadline.
 */
export class Router {
  /** The cluster whose connections and metadata the requests use. */
  readonly cluster: Cluster;
  /** Default milliseconds of a call. */
  readonly timeout: number;
  /** The connection lane of admin requests. */
  readonly lane: string;
  /** The first and the longest wait between attempts, in ms. */
  private readonly backoff: { min: number; max: number };
  /** `waiting`, once made. */
  private waitingRouter: Router | undefined;
  /** Set by `close()`, shared with `waiting`: calls are refused. */
  private readonly state: { closed: boolean };

  /**
   * A router over `cluster`, calls lasting `timeout` ms by default, with
   * waits between attempts from `backoff.min` doubling to `backoff.max`
   * (default 100 and 1,000 ms).
   */
  constructor(
    cluster: Cluster,
    timeout: number,
    lane = "admin",
    backoff = { min: 100, max: 1000 },
    state = { closed: false },
  ) {
    this.cluster = cluster;
    this.timeout = timeout;
    this.lane = lane;
    this.backoff = backoff;
    this.state = state;
  }

  /** Refuses calls from now on (its Client was closed). */
  close(): void {
    this.state.closed = true;
  }

  /**
   * This router on a lane of its own, for requests the broker may hold
   * until their `timeoutMs` passes (creating, deleting and growing topics,
   * deleting records, elections, reassignments, feature updates). A broker
   * answers one request of a connection at a time, so quick requests sent
   * behind one of those would wait for it: after a kill -9 of a replica, a
   * DeleteRecords held a Metadata request behind it until that timed out.
   */
  get waiting(): Router {
    this.waitingRouter ??= new Router(
      this.cluster,
      this.timeout,
      `${this.lane}-wait`,
      this.backoff,
      this.state,
    );
    return this.waitingRouter;
  }

  /** The budget of a call made with `options`. */
  call(options: CallOptions = {}): Call {
    if (this.state.closed) {
      throw new ClosedError("Cannot make the call: the Client is closed");
    }
    checkCallOptions("Cannot make the call", options);
    const timeout = options.timeout ?? this.timeout;
    return { deadline: Date.now() + timeout, signal: options.signal };
  }

  /**
   * A lookup (metadata, a dial) within what is left of the call: the
   * cluster bounds its own by the request and dial timeouts, which may be
   * longer than the call's.
   */
  within<T>(call: Call, what: string, lookup: Promise<T>): Promise<T> {
    return withinDeadline(lookup, call.deadline, call.signal, what);
  }

  /** Milliseconds left to `call`'s deadline (at least 1). */
  left(call: Call): number {
    return Math.max(1, call.deadline - Date.now());
  }

  /**
   * Runs `attempt` until it succeeds, throws what `retriable` refuses, or
   * the call's deadline passes (then the last error is thrown).
   */
  retry<T>(
    call: Call,
    attempt: () => Promise<T>,
    retriable: (error: unknown) => boolean = (e) => routingError(e),
  ): Promise<T> {
    return retry(attempt, {
      deadline: call.deadline,
      signal: call.signal,
      backoffMin: this.backoff.min,
      backoffMax: this.backoff.max,
      retriable,
    });
  }

  /**
   * Milliseconds one request of `call` may take: at most the cluster's
   * `requestTimeout`, and at most half of what is left of the call (not
   * less than 5 s while the call has that), so that a request the broker
   * never answers times out, and closes its connection, while the call
   * still has time to try again on a new one. A call of the Client's
   * default 30 s gives a request 15 s; Java's default 60 s would give 30.
   */
  attemptTimeout(call: Call): number {
    const left = this.left(call);
    const request = this.cluster.options.requestTimeout ??
      DEFAULTS.requestTimeout;
    return Math.min(
      request,
      left,
      Math.max(MIN_ATTEMPT_MS, Math.ceil(left / 2)),
    );
  }

  /**
   * Milliseconds the broker may hold a request of `call` before it answers
   * (the `timeoutMs` of CreateTopics, DeleteRecords, ListOffsets...): a
   * tenth less than the request's own timeout (at most 1 s less), so that
   * the broker's answer arrives before the client gives up on it.
   */
  brokerWait(call: Call): number {
    const attempt = this.attemptTimeout(call);
    return Math.max(1, attempt - Math.min(1000, Math.floor(attempt / 10)));
  }

  /**
   * Sends `data` on `conn` within `attemptTimeout(call)`: a stalled
   * connection times out (and closes) while the call still has time to
   * retry on a new one.
   */
  send<Req, Res>(
    conn: BrokerConnection,
    api: Api<Req, Res>,
    data: Encodable<Req>,
    call: Call,
    version?: number,
  ): Promise<Res> {
    return conn.request(api, data, {
      timeout: this.attemptTimeout(call),
      signal: call.signal,
      version,
    });
  }

  /** A request any broker can answer, retried on connection failures. */
  any<Req, Res>(
    api: Api<Req, Res>,
    data: Body<Req>,
    call: Call,
  ): Promise<Res> {
    return this.retry(call, async () => {
      const conn = await this.within(
        call,
        "Connecting to a broker",
        this.cluster.anyConnection(this.lane),
      );
      const body = typeof data === "function" ? data(conn) : data;
      return await this.send(conn, api, body, call);
    });
  }

  /** A request to one broker by id, retried on connection failures. */
  broker<Req, Res>(
    brokerId: number,
    api: Api<Req, Res>,
    data: Body<Req>,
    call: Call,
  ): Promise<Res> {
    if (!Number.isInteger(brokerId) || brokerId < 0) {
      return Promise.reject(
        new TypeError(
          `Cannot send ${api.name}: the broker must be a broker id (an integer >= 0), got ${
            describeValue(brokerId)
          }`,
        ),
      );
    }
    return this.retry(call, async () => {
      const conn = await this.within(
        call,
        `Connecting to broker ${brokerId}`,
        this.cluster.connection(brokerId, this.lane),
      );
      const body = typeof data === "function" ? data(conn) : data;
      return await this.send(conn, api, body, call);
    });
  }

  /**
   * A request for the controller. `codes` lists the response's error codes:
   * when one is NOT_CONTROLLER, the controller is looked up again and the
   * request resent.
   */
  controller<Req, Res>(
    api: Api<Req, Res>,
    data: Body<Req>,
    call: Call,
    codes: (response: Res) => Iterable<number> = () => [],
  ): Promise<Res> {
    return this.retry(call, async () => {
      const conn = await this.within(
        call,
        "Connecting to the controller",
        this.cluster.controller(this.lane),
      );
      const body = typeof data === "function" ? data(conn) : data;
      let response: Res;
      try {
        response = await this.send(conn, api, body, call);
      } catch (error) {
        this.cluster.invalidateController();
        throw error;
      }
      for (const code of codes(response)) {
        if (code === ErrorCode.NOT_CONTROLLER) {
          this.cluster.invalidateController();
          throw new KafkaError(code, { apiName: api.name });
        }
      }
      return response;
    });
  }

  /**
   * A request for the coordinator of `key` (a group id, or a transactional
   * id when `kind` is "transaction"). `codes` lists the response's error
   * codes for this key: NOT_COORDINATOR and COORDINATOR_NOT_AVAILABLE send
   * it again to a coordinator looked up anew, COORDINATOR_LOAD_IN_PROGRESS
   * to the same one after a backoff. `version`, when given, is read after
   * the body is made and picks the request's version.
   */
  coordinator<Req, Res>(
    kind: "group" | "transaction",
    key: string,
    api: Api<Req, Res>,
    data: Body<Req>,
    call: Call,
    codes: (response: Res) => Iterable<number> = () => [],
    version?: () => number,
  ): Promise<Res> {
    return this.retry(call, async () => {
      const conn = await this.coordinatorConnection(kind, key, call);
      const body = typeof data === "function" ? data(conn) : data;
      let response: Res;
      try {
        response = await this.send(conn, api, body, call, version?.());
      } catch (error) {
        this.forgetCoordinator(kind, key);
        throw error;
      }
      for (const code of codes(response)) {
        if (MOVED_CODES.has(code)) this.forgetCoordinator(kind, key);
        if (MOVED_CODES.has(code) || WAIT_CODES.has(code)) {
          throw new KafkaError(code, {
            apiName: api.name,
            detail: `${kind} ${JSON.stringify(key)}`,
          });
        }
      }
      return response;
    });
  }

  /** The connection to a key's coordinator within the call's budget. */
  coordinatorConnection(
    kind: "group" | "transaction",
    key: string,
    call: Call,
  ): Promise<BrokerConnection> {
    const lookup = { deadline: call.deadline, signal: call.signal };
    return kind === "group"
      ? this.cluster.coordinator(key, this.lane, lookup)
      : this.cluster.transactionCoordinator(key, this.lane, lookup);
  }

  /** Forgets a key's cached coordinator. */
  forgetCoordinator(kind: "group" | "transaction", key: string): void {
    if (kind === "group") this.cluster.invalidateCoordinator(key);
    else this.cluster.invalidateTransactionCoordinator(key);
  }

  /**
   * Sends one request to every broker and gives each broker's answer or
   * failure (a broker that cannot be reached fails alone).
   */
  async eachBroker<Req, Res>(
    api: Api<Req, Res>,
    data: Body<Req>,
    call: Call,
  ): Promise<{ broker: BrokerInfo; response?: Res; error?: unknown }[]> {
    const brokers = await this.retry(
      call,
      () => this.within(call, "Listing the brokers", this.cluster.brokers()),
    );
    return await Promise.all(brokers.map(async (broker) => {
      try {
        return {
          broker,
          response: await this.broker(broker.id, api, data, call),
        };
      } catch (error) {
        return { broker, error };
      }
    }));
  }

  /**
   * Splits items by the node that must answer them, sends each node its
   * share, and merges the results back in the items' order.
   *
   * - `node` finds an item's connection (leader, coordinator...); a failure
   *   that `retriable` accepts keeps the item for the next round.
   * - `send` asks one node about its items and returns one result per item,
   *   in their order.
   * - `errorOf` gives a result's error; when `retriable` accepts it, `moved`
   *   forgets the item's route and the item goes in the next round.
   * - `failed` makes the result of an item that failed for good, or whose
   *   deadline passed while it was still failing (see `itemFailure`).
   */
  async fanOut<I, R>(call: Call, items: readonly I[], route: {
    node: (item: I) => Promise<BrokerConnection>;
    send: (conn: BrokerConnection, items: I[]) => Promise<R[]>;
    errorOf: (result: R) => unknown;
    failed: (item: I, error: KafkaError) => R;
    moved?: ((item: I, error: unknown) => void) | undefined;
    retriable?: ((error: unknown) => boolean) | undefined;
  }): Promise<R[]> {
    const retriable = route.retriable ?? ((e) => routingError(e));
    const results = new Array<R>(items.length);
    let pending = items.map((_, i) => i);
    const lastError = new Map<number, unknown>();
    for (let round = 1; pending.length > 0; round++) {
      if (call.signal?.aborted) throw abortReason(call.signal, "Admin call");
      const again: number[] = [];
      const byNode = new Map<BrokerConnection, number[]>();
      await Promise.all(pending.map(async (i) => {
        try {
          const conn = await this.within(
            call,
            "Finding the broker to ask",
            route.node(items[i]),
          );
          const list = byNode.get(conn);
          if (list) list.push(i);
          else byNode.set(conn, [i]);
        } catch (error) {
          lastError.set(i, error);
          if (retriable(error)) {
            route.moved?.(items[i], error);
            again.push(i);
          } else results[i] = route.failed(items[i], itemFailure(error, call));
        }
      }));
      await Promise.all([...byNode].map(async ([conn, indexes]) => {
        let answers: R[];
        try {
          answers = await route.send(conn, indexes.map((i) => items[i]));
        } catch (error) {
          for (const i of indexes) {
            lastError.set(i, error);
            if (retriable(error)) {
              route.moved?.(items[i], error);
              again.push(i);
            } else {results[i] = route.failed(
                items[i],
                itemFailure(error, call),
              );}
          }
          return;
        }
        indexes.forEach((i, k) => {
          const error = route.errorOf(answers[k]);
          if (error && retriable(error)) {
            lastError.set(i, error);
            route.moved?.(items[i], error);
            again.push(i);
          } else results[i] = answers[k];
        });
      }));
      pending = again.sort((a, b) => a - b);
      if (pending.length === 0) break;
      const wait = Math.min(1000, 100 * 2 ** (round - 1));
      if (Date.now() + wait >= call.deadline || call.signal?.aborted) {
        for (const i of pending) {
          results[i] = route.failed(
            items[i],
            itemFailure(lastError.get(i), call),
          );
        }
        break;
      }
      await sleep(wait, call.signal);
    }
    if (call.signal?.aborted) throw abortReason(call.signal, "Admin call");
    return results;
  }
}
