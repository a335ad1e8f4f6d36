/**
 * Finding the coordinator of a consumer group: the broker that keeps the
 * group's membership and committed offsets.
 *
 * Lookups are cached per key. Lookups of several keys that start together
 * share one FindCoordinator request (v4+ takes a list of keys; older
 * versions take one key per request, and then each key gets its own). A
 * broker that is still electing or loading the coordinator answers
 * COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS or
 * NOT_COORDINATOR: the lookup asks again with backoff until its deadline or
 * its AbortSignal, never a count of attempts. A group request that meets
 * NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE later invalidates the key and
 * looks it up again.
 *
 * `Cluster.coordinator` wraps this: it connects to the coordinator through
 * the Cluster's per-broker connections, so they share its one reconnection
 * loop per broker.
 *
 * @module
 */

import type { BrokerConnection } from "../connection/connection.ts";
import { withinDeadline } from "../connection/errors.ts";
import { ProtocolError } from "../protocol/bytes.ts";
import { ErrorCode, KafkaError, throwIfError } from "../protocol/errors.ts";
import { FindCoordinator } from "../protocol/messages/find_coordinator.ts";
import { retry } from "./retry.ts";

/**
 * The coordinator types FindCoordinator knows; groups are the one used.
 *
 * @example
 * ```ts
 * import { CoordinatorType } from "./coordinator.ts";
 *
 * console.log(CoordinatorType.group); // 0
 * ```
 */
export const CoordinatorType: {
  readonly group: 0;
  readonly transaction: 1;
} = Object.freeze({
  /** Consumer groups. */
  group: 0,
  /** Transactional producers. */
  transaction: 1,
});

/**
 * The broker that coordinates a key, as FindCoordinator names it.
 *
 * @example
 * ```ts
 * import type { CoordinatorNode } from "./coordinator.ts";
 *
 * const node: CoordinatorNode = { id: 1, host: "localhost", port: 9092 };
 * console.log(`${node.host}:${node.port}`);
 * ```
 */
export interface CoordinatorNode {
  /** The broker's node id. */
  id: number;
  /** The host the broker advertises. */
  host: string;
  /** The port the broker advertises. */
  port: number;
}

/**
 * Settings of a CoordinatorLookup.
 *
 * @example
 * ```ts
 * import { Cluster } from "./cluster.ts";
 * import { CoordinatorLookup, type CoordinatorLookupOptions } from "./coordinator.ts";
 *
 * const cluster = new Cluster({ brokers: ["localhost:9092"] });
 * const options: CoordinatorLookupOptions = {
 *   connection: () => cluster.anyConnection("metadata"),
 *   backoffMax: 500,
 * };
 * const lookup = new CoordinatorLookup(options);
 * console.log((await lookup.lookup("docs-group")).id >= 0);
 * await cluster.close();
 * ```
 */
export interface CoordinatorLookupOptions {
  /** A connection to any broker, to send FindCoordinator on. */
  connection: () => Promise<BrokerConnection>;
  /** What the keys are (default `CoordinatorType.group`). */
  keyType?: number | undefined;
  /** Milliseconds before the first retry of a lookup (default 100). */
  backoffMin?: number | undefined;
  /** Ceiling of the wait between retries (default 1000). */
  backoffMax?: number | undefined;
  /** Milliseconds a lookup retries when the caller gives no deadline (default 30 s). */
  timeout?: number | undefined;
}

/**
 * How long one lookup may take: retries stop at the deadline, and the
 * signal cancels the lookup at once.
 *
 * @example Retry until the caller closes
 * ```ts
 * import type { LookupOptions } from "./coordinator.ts";
 *
 * const closing = new AbortController();
 * const options: LookupOptions = { deadline: Infinity, signal: closing.signal };
 * console.log(options.deadline); // Infinity
 * ```
 */
export interface LookupOptions {
  /**
   * No retry starts at or after this time (ms since epoch); Infinity retries
   * until the signal aborts. Default: the lookup's `timeout` from now.
   */
  deadline?: number | undefined;
  /** Aborting rejects the lookup with the signal's reason. */
  signal?: AbortSignal | undefined;
}

/** A key waiting for the next FindCoordinator request. */
interface Waiter {
  resolve(node: CoordinatorNode): void;
  reject(error: unknown): void;
}

/**
 * Whether a group request's error means the coordinator moved or went away:
 * NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE. The caller then invalidates
 * the key and looks the coordinator up again (COORDINATOR_LOAD_IN_PROGRESS
 * means the same coordinator is almost ready: ask it again).
 *
 * @example
 * ```ts
 * import { ErrorCode, KafkaError } from "../protocol/errors.ts";
 * import { coordinatorMoved } from "./coordinator.ts";
 *
 * console.log(coordinatorMoved(new KafkaError(ErrorCode.NOT_COORDINATOR))); // true
 * console.log(coordinatorMoved(new KafkaError(ErrorCode.ILLEGAL_GENERATION))); // false
 * ```
 */
export function coordinatorMoved(error: unknown): boolean {
  return error instanceof KafkaError &&
    (error.code === ErrorCode.NOT_COORDINATOR ||
      error.code === ErrorCode.COORDINATOR_NOT_AVAILABLE);
}

/**
 * Finds and caches the coordinator of each key (a group id). Lookups that
 * start while a request is being prepared join it; concurrent lookups of
 * one key share one attempt.
 *
 * @example Two groups, one FindCoordinator request
 * ```ts
 * import { Cluster } from "./cluster.ts";
 * import { CoordinatorLookup } from "./coordinator.ts";
 *
 * const cluster = new Cluster({ brokers: ["localhost:9092"] });
 * const lookup = new CoordinatorLookup({
 *   connection: () => cluster.anyConnection("metadata"),
 * });
 * const [a, b] = await Promise.all([
 *   lookup.lookup("docs-group-a"),
 *   lookup.lookup("docs-group-b"),
 * ]);
 * console.log(a.host, b.host);
 * lookup.invalidate("docs-group-a"); // the next lookup asks a broker again
 * await cluster.close();
 * ```
 */
export class CoordinatorLookup {
  private readonly options: CoordinatorLookupOptions;
  private readonly cache = new Map<string, CoordinatorNode>();
  /** The attempt in progress per key, shared by its concurrent lookups. */
  private readonly attempts = new Map<string, Promise<CoordinatorNode>>();
  /** Keys for the next request, with whoever waits for them. */
  private queued = new Map<string, Waiter>();
  /** True from scheduling a request until it has taken its keys. */
  private preparing = false;

  /** A lookup sending its requests on `options.connection()`. */
  constructor(options: CoordinatorLookupOptions) {
    this.options = options;
  }

  /** The cached coordinator of `key`, without any request. */
  cached(key: string): CoordinatorNode | undefined {
    return this.cache.get(key);
  }

  /** Forgets the coordinator of `key`: the next lookup asks a broker. */
  invalidate(key: string): void {
    this.cache.delete(key);
  }

  /**
   * The coordinator of `key`: the cached one, or a broker's answer. Retries
   * the coordinator errors and connection failures with backoff until
   * `options.deadline`; throws what retrying cannot fix (e.g.
   * GROUP_AUTHORIZATION_FAILED) at once.
   */
  lookup(key: string, options: LookupOptions = {}): Promise<CoordinatorNode> {
    return this.use(key, (node) => Promise.resolve(node), options);
  }

  /**
   * Looks up the coordinator of `key` and runs `dial` on it, in one retry
   * loop: when `dial` fails, the key is invalidated (the coordinator may
   * have moved with its broker) and the next attempt looks it up again.
   */
  use<T>(
    key: string,
    dial: (node: CoordinatorNode) => Promise<T>,
    options: LookupOptions = {},
  ): Promise<T> {
    if (typeof key !== "string") {
      return Promise.reject(
        new TypeError(
          `Cannot look up coordinator: the key must be a string, got ${
            JSON.stringify(key)
          }`,
        ),
      );
    }
    const { signal } = options;
    const deadline = options.deadline ??
      Date.now() + (this.options.timeout ?? 30_000);
    return retry(async () => {
      const node = this.cache.get(key) ??
        await withinDeadline(
          this.attempt(key),
          deadline,
          signal,
          `Finding the coordinator of ${JSON.stringify(key)}`,
        );
      try {
        return await withinDeadline(
          dial(node),
          deadline,
          signal,
          `Connecting to coordinator ${node.id}`,
        );
      } catch (error) {
        if (this.cache.get(key) === node) this.cache.delete(key);
        throw error;
      }
    }, {
      deadline,
      signal,
      backoffMin: this.options.backoffMin ?? 100,
      backoffMax: this.options.backoffMax ?? 1000,
    });
  }

  /** One attempt to find `key`'s coordinator, shared by concurrent lookups. */
  private attempt(key: string): Promise<CoordinatorNode> {
    const running = this.attempts.get(key);
    if (running) return running;
    const attempt = new Promise<CoordinatorNode>((resolve, reject) => {
      this.queued.set(key, { resolve, reject });
    });
    this.attempts.set(key, attempt);
    const forget = () => {
      if (this.attempts.get(key) === attempt) this.attempts.delete(key);
    };
    attempt.then((node) => {
      forget();
      this.cache.set(key, node);
    }, forget);
    if (!this.preparing) {
      this.preparing = true;
      queueMicrotask(() => this.send());
    }
    return attempt;
  }

  /**
   * Sends the queued keys. Keys queued while the connection is being
   * opened go in the same request; later ones start the next.
   */
  private async send(): Promise<void> {
    let conn: BrokerConnection | undefined;
    let failure: unknown;
    try {
      conn = await this.options.connection();
    } catch (error) {
      failure = error;
    }
    const batch = this.queued;
    this.queued = new Map();
    this.preparing = false;
    if (conn === undefined) {
      for (const waiter of batch.values()) waiter.reject(failure);
      return;
    }
    let version: number;
    try {
      version = conn.pickVersion(FindCoordinator);
    } catch (error) {
      for (const waiter of batch.values()) waiter.reject(error);
      return;
    }
    if (version >= 4) {
      await this.sendBatch(conn, batch);
    } else {
      await Promise.all(
        [...batch].map(([key, waiter]) => this.sendOne(conn, key, waiter)),
      );
    }
  }

  /** One FindCoordinator v4+ request for every key of `batch`. */
  private async sendBatch(
    conn: BrokerConnection,
    batch: Map<string, Waiter>,
  ): Promise<void> {
    const keyType = this.options.keyType ?? CoordinatorType.group;
    try {
      const response = await conn.request(FindCoordinator, {
        keyType,
        coordinatorKeys: [...batch.keys()],
      });
      for (const [key, waiter] of batch) {
        const found = response.coordinators.find((c) => c.key === key);
        if (!found) {
          waiter.reject(
            new ProtocolError(
              `FindCoordinator response from ${conn.address} has no entry for ${
                JSON.stringify(key)
              }`,
            ),
          );
          continue;
        }
        settle(waiter, key, found.errorCode, found.errorMessage, found);
      }
    } catch (error) {
      for (const waiter of batch.values()) waiter.reject(error);
    }
  }

  /** One FindCoordinator v0-3 request, for one key. */
  private async sendOne(
    conn: BrokerConnection,
    key: string,
    waiter: Waiter,
  ): Promise<void> {
    const keyType = this.options.keyType ?? CoordinatorType.group;
    try {
      const response = await conn.request(FindCoordinator, { key, keyType });
      settle(waiter, key, response.errorCode, response.errorMessage, response);
    } catch (error) {
      waiter.reject(error);
    }
  }
}

/** Resolves a key's waiter with its coordinator, or rejects with its error. */
function settle(
  waiter: Waiter,
  key: string,
  errorCode: number,
  errorMessage: string | null,
  node: { nodeId: number; host: string; port: number },
): void {
  try {
    throwIfError(errorCode, {
      apiName: "FindCoordinator",
      detail: `key ${JSON.stringify(key)}${
        errorMessage ? `: ${errorMessage}` : ""
      }`,
    });
    if (node.nodeId < 0) {
      // No error, yet no broker: treat it as not available yet.
      throwIfError(ErrorCode.COORDINATOR_NOT_AVAILABLE, {
        apiName: "FindCoordinator",
        detail: `key ${JSON.stringify(key)}: no node in the answer`,
      });
    }
    waiter.resolve({ id: node.nodeId, host: node.host, port: node.port });
  } catch (error) {
    waiter.reject(error);
  }
}
