/**
 * Transactions and producers seen from outside: which broker coordinates a
 * group or transactional id (FindCoordinator), the producers writing to
 * partitions (DescribeProducers, from each leader), the transactions the
 * coordinators know (ListTransactions, from every broker) and their state
 * (DescribeTransactions, from each id's coordinator). The transactional
 * producer's own requests are in `../requests/transactions.ts`.
 *
 * @module
 */

import type { BrokerConnection } from "../connection/connection.ts";
import { byTopicPartition, type TopicPartition } from "../message.ts";
import { checkPartitions } from "../requests/arguments.ts";
import { canRetry } from "../cluster/retry.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { DescribeProducers } from "../protocol/messages/describe_producers.ts";
import { DescribeTransactions } from "../protocol/messages/describe_transactions.ts";
import { FindCoordinator } from "../protocol/messages/find_coordinator.ts";
import { ListTransactions } from "../protocol/messages/list_transactions.ts";
import {
  type CallOptions,
  itemError,
  itemFailure,
  type Router,
} from "../cluster/route.ts";
import { badArgument, isList } from "../requests/arguments.ts";

export type { TopicPartition };

/**
 * What a coordinator coordinates: consumer groups or transactional ids.
 *
 * @example
 * ```ts
 * import type { CoordinatorType } from "./transactions.ts";
 *
 * const type: CoordinatorType = "transaction";
 * console.log(type);
 * ```
 */
export type CoordinatorType = "group" | "transaction";

/**
 * Options of `findCoordinator`.
 *
 * @example
 * ```ts
 * import type { FindCoordinatorOptions } from "./transactions.ts";
 *
 * const options: FindCoordinatorOptions = { type: "transaction", timeout: 5000 };
 * console.log(options.type);
 * ```
 */
export interface FindCoordinatorOptions extends CallOptions {
  /** Whether the keys are group ids or transactional ids (default "group"). */
  type?: CoordinatorType | undefined;
}

/**
 * The coordinator of one key, as FindCoordinator answers.
 *
 * @example
 * ```ts
 * import type { CoordinatorInfo } from "./transactions.ts";
 *
 * const c: CoordinatorInfo = {
 *   key: "orders-processor", nodeId: 1, host: "localhost", port: 9092, error: null,
 * };
 * console.log(`${c.host}:${c.port}`);
 * ```
 */
export interface CoordinatorInfo {
  /** The group id or transactional id asked about. */
  key: string;
  /** The coordinator's node id, -1 on error. */
  nodeId: number;
  /** The coordinator's host, "" on error. */
  host: string;
  /** The coordinator's port, -1 on error. */
  port: number;
  /** Why no coordinator was found (e.g. INVALID_GROUP_ID), or null. */
  error: KafkaError | null;
}

/**
 * A producer writing to a partition, as its leader knows it.
 *
 * @example
 * ```ts
 * import type { ActiveProducer } from "./transactions.ts";
 *
 * const p: ActiveProducer = {
 *   producerId: 4000, producerEpoch: 0, lastSequence: 2, lastTimestamp: 0,
 *   coordinatorEpoch: 0, currentTxnStartOffset: -1,
 * };
 * console.log(p.currentTxnStartOffset >= 0 ? "in a transaction" : "idle");
 * ```
 */
export interface ActiveProducer {
  /** The producer id. */
  producerId: number;
  /** Its epoch. */
  producerEpoch: number;
  /** The sequence number of its last record written, -1 if none. */
  lastSequence: number;
  /** The timestamp of its last batch (ms since epoch), -1 if none. */
  lastTimestamp: number;
  /** The epoch of the transaction coordinator that last wrote a marker, -1 if none. */
  coordinatorEpoch: number;
  /** The first offset of its open transaction, -1 when none is open. */
  currentTxnStartOffset: number;
}

/**
 * The producers of one partition, or why they could not be listed.
 *
 * @example
 * ```ts
 * import type { PartitionProducers } from "./transactions.ts";
 *
 * const result: PartitionProducers = {
 *   topic: "orders", partition: 0, producers: [], error: null,
 * };
 * console.log(result.producers.length);
 * ```
 */
export interface PartitionProducers extends TopicPartition {
  /** The producers that wrote to it and have not expired. */
  producers: ActiveProducer[];
  /** Why they could not be listed (e.g. UNKNOWN_TOPIC_OR_PARTITION), or null. */
  error: KafkaError | null;
}

/**
 * Options of `describeProducers`.
 *
 * @example
 * ```ts
 * import type { DescribeProducersOptions } from "./transactions.ts";
 *
 * const options: DescribeProducersOptions = { broker: 2 };
 * console.log(options.broker);
 * ```
 */
export interface DescribeProducersOptions extends CallOptions {
  /**
   * Ask this broker (a follower, say) instead of each partition's leader;
   * a broker without a replica answers NOT_LEADER_OR_FOLLOWER.
   */
  broker?: number | undefined;
}

/** The transaction states a broker knows (Kafka 4.x). */
const TRANSACTION_STATES: readonly string[] = [
  "Empty",
  "Ongoing",
  "PrepareCommit",
  "PrepareAbort",
  "CompleteCommit",
  "CompleteAbort",
  "Dead",
  "PrepareEpochFence",
];

/**
 * A transaction's state, as coordinators name it.
 *
 * @example
 * ```ts
 * import type { TransactionState } from "./transactions.ts";
 *
 * const state: TransactionState = "Ongoing";
 * console.log(state);
 * ```
 */
export type TransactionState =
  | "Empty"
  | "Ongoing"
  | "PrepareCommit"
  | "PrepareAbort"
  | "CompleteCommit"
  | "CompleteAbort"
  | "Dead"
  | "PrepareEpochFence"
  // Any state a newer broker adds.
  | (string & Record<never, never>);

/**
 * Options of `listTransactions`: filters, all optional.
 *
 * @example
 * ```ts
 * import type { ListTransactionsOptions } from "./transactions.ts";
 *
 * // Transactions open for more than a minute.
 * const options: ListTransactionsOptions = {
 *   states: ["Ongoing"],
 *   durationFilterMs: 60_000,
 * };
 * console.log(options.states);
 * ```
 */
export interface ListTransactionsOptions extends CallOptions {
  /** Only transactions in one of these states (default: all). */
  states?: readonly TransactionState[] | undefined;
  /** Only transactions of these producer ids (default: all). */
  producerIds?: readonly number[] | undefined;
  /** Only transactions running for longer than this (ms; broker v1+). */
  durationFilterMs?: number | undefined;
  /**
   * Only transactional ids matching this Java regular expression (the
   * whole id must match; broker v2+).
   */
  transactionalIdPattern?: string | undefined;
}

/**
 * One transaction in `listTransactions`' answer.
 *
 * @example
 * ```ts
 * import type { TransactionListing } from "./transactions.ts";
 *
 * const t: TransactionListing = {
 *   transactionalId: "orders-writer-1", producerId: 4000, state: "Ongoing",
 *   coordinatorId: 1,
 * };
 * console.log(t.state);
 * ```
 */
export interface TransactionListing {
  /** The transactional id. */
  transactionalId: string;
  /** Its current producer id. */
  producerId: number;
  /** Its state. */
  state: TransactionState;
  /** The node id of the coordinator that listed it. */
  coordinatorId: number;
}

/**
 * The answer of `listTransactions`: every transaction the brokers that
 * answered know, and the brokers that did not answer.
 *
 * @example
 * ```ts
 * import type { TransactionList } from "./transactions.ts";
 *
 * const list: TransactionList = { transactions: [], unknownStates: [], errors: [] };
 * console.log(list.errors.length === 0 ? "complete" : "partial");
 * ```
 */
export interface TransactionList {
  /** The transactions, sorted by transactional id. */
  transactions: TransactionListing[];
  /** States of the `states` filter that some broker does not know. */
  unknownStates: string[];
  /** The brokers whose transactions are missing, and why. */
  errors: { brokerId: number; error: KafkaError }[];
}

/**
 * A transaction as its coordinator describes it.
 *
 * @example
 * ```ts
 * import type { TransactionDescription } from "./transactions.ts";
 *
 * const d: TransactionDescription = {
 *   transactionalId: "orders-writer-1", state: "Ongoing", timeoutMs: 60_000,
 *   startTimeMs: Date.now(), producerId: 4000, producerEpoch: 0,
 *   partitions: [{ topic: "orders", partition: 0 }], error: null,
 * };
 * console.log(d.partitions.length);
 * ```
 */
export interface TransactionDescription {
  /** The transactional id. */
  transactionalId: string;
  /** Its state, "" on error. */
  state: TransactionState;
  /** The transaction timeout (ms), -1 on error. */
  timeoutMs: number;
  /** When its current or last transaction began (ms since epoch), -1 if none. */
  startTimeMs: number;
  /** Its current producer id, -1 on error. */
  producerId: number;
  /** Its current epoch, -1 on error. */
  producerEpoch: number;
  /**
   * The partitions of its open transaction (sorted by topic, partition);
   * while it commits or aborts, those still without a marker.
   */
  partitions: TopicPartition[];
  /** Why it was not described (e.g. TRANSACTIONAL_ID_NOT_FOUND), or null. */
  error: KafkaError | null;
}

/**
 * The coordinator of each key (group ids, or transactional ids with
 * `type: "transaction"`), from FindCoordinator sent to any broker: in one
 * request for all the keys (v4+), or one per key. One result per key, in
 * order; a key whose coordinator is not available yet (a new
 * `__transaction_state` being created) is asked again until the deadline.
 *
 * @example
 * ```ts
 * import { Cluster } from "../cluster/cluster.ts";
 * import { Router } from "../cluster/route.ts";
 * import { findCoordinator } from "./transactions.ts";
 *
 * const cluster = new Cluster({ brokers: ["localhost:9092"] });
 * const router = new Router(cluster, 20_000);
 * const [c] = await findCoordinator(router, ["docs-txn-id"], { type: "transaction" });
 * console.log(c.error ?? `${c.nodeId} at ${c.host}:${c.port}`);
 * await cluster.close();
 * ```
 */
export async function findCoordinator(
  router: Router,
  keys: readonly string[],
  options: FindCoordinatorOptions = {},
): Promise<CoordinatorInfo[]> {
  const method = "findCoordinator";
  checkIds(method, "keys", keys, "group or transactional ids");
  const type = options.type ?? "group";
  if (type !== "group" && type !== "transaction") {
    throw badArgument(method, "type", type, `"group" or "transaction"`);
  }
  if (keys.length === 0) return [];
  const keyType = type === "group" ? 0 : 1;
  const call = router.call(options);
  const failed = (key: string, error: unknown): CoordinatorInfo => ({
    key,
    nodeId: -1,
    host: "",
    port: -1,
    error: itemFailure(error, call, {
      apiName: "FindCoordinator",
      detail: key,
    }),
  });
  return await router.fanOut(call, keys, {
    node: () => router.cluster.anyConnection(router.lane),
    errorOf: (r) => r.error,
    failed,
    send: async (conn, batch) => {
      const found = (
        key: string,
        c: {
          nodeId: number;
          host: string;
          port: number;
          errorCode: number;
          errorMessage: string | null;
        },
      ): CoordinatorInfo => {
        const error = itemError(
          c.errorCode,
          `${type} ${JSON.stringify(key)}${
            c.errorMessage ? `: ${c.errorMessage}` : ""
          }`,
          { apiName: "FindCoordinator" },
        );
        return error ? failed(key, error) : {
          key,
          nodeId: c.nodeId,
          host: c.host,
          port: c.port,
          error: null,
        };
      };
      if (conn.pickVersion(FindCoordinator) >= 4) {
        const r = await router.send(conn, FindCoordinator, {
          keyType,
          coordinatorKeys: [...new Set(batch)],
        }, call);
        return batch.map((key) => {
          const c = r.coordinators.find((x) => x.key === key);
          return c ? found(key, c) : failed(
            key,
            itemError(-1, `${conn.address} left the key out of its answer`, {
              apiName: "FindCoordinator",
            }),
          );
        });
      }
      return await Promise.all(batch.map(async (key) => {
        const r = await router.send(conn, FindCoordinator, {
          key,
          keyType,
        }, call);
        return found(key, r);
      }));
    },
  });
}

/**
 * The producers writing to each partition (DescribeProducers, sent to each
 * partition's leader, or to `options.broker`): their ids, epochs, last
 * sequence numbers and, for a transactional producer with an open
 * transaction, its first offset. One result per partition, in order, each
 * with its own error; moved leaders are looked up again until the deadline.
 *
 * @example
 * ```ts
 * import { Cluster } from "../cluster/cluster.ts";
 * import { Router } from "../cluster/route.ts";
 * import { createTopics, deleteTopics } from "./topics.ts";
 * import { describeProducers } from "./transactions.ts";
 *
 * const cluster = new Cluster({ brokers: ["localhost:9092"] });
 * const router = new Router(cluster, 20_000);
 * await createTopics(router, [{ topic: "docs-producers" }]);
 * const [p] = await describeProducers(router, [{ topic: "docs-producers", partition: 0 }]);
 * console.log(p.error ?? p.producers.map((x) => x.producerId));
 * await deleteTopics(router, ["docs-producers"]);
 * await cluster.close();
 * ```
 */
export async function describeProducers(
  router: Router,
  partitions: readonly TopicPartition[],
  options: DescribeProducersOptions = {},
): Promise<PartitionProducers[]> {
  const method = "describeProducers";
  checkPartitions(method, "partitions", partitions);
  const broker = options.broker;
  if (broker !== undefined && (!Number.isInteger(broker) || broker < 0)) {
    throw badArgument(
      method,
      "broker",
      broker,
      "a broker id (an integer >= 0)",
    );
  }
  if (partitions.length === 0) return [];
  const call = router.call(options);
  const failed = (p: TopicPartition, error: unknown): PartitionProducers => ({
    topic: p.topic,
    partition: p.partition,
    producers: [],
    error: itemFailure(error, call, {
      apiName: "DescribeProducers",
      topic: p.topic,
      partition: p.partition,
    }),
  });
  return await router.fanOut(call, partitions, {
    node: async (p) =>
      broker === undefined
        ? (await router.cluster.leader(p.topic, p.partition, router.lane)).conn
        : await router.cluster.connection(broker, router.lane),
    moved: (p) => router.cluster.invalidate(p.topic),
    // A chosen broker's answer is final: only its connection is retried.
    retriable: broker === undefined
      ? undefined
      : (e) => !(e instanceof KafkaError) && canRetry(e),
    errorOf: (r) => r.error,
    failed,
    send: async (conn: BrokerConnection, batch) => {
      const topics = new Map<string, Set<number>>();
      for (const p of batch) {
        const set = topics.get(p.topic) ?? new Set();
        set.add(p.partition);
        topics.set(p.topic, set);
      }
      const r = await router.send(conn, DescribeProducers, {
        topics: [...topics].map(([name, set]) => ({
          name,
          partitionIndexes: [...set],
        })),
      }, call);
      return batch.map((p) => {
        const answer = r.topics.find((t) => t.name === p.topic)?.partitions
          .find((x) => x.partitionIndex === p.partition);
        if (!answer) {
          return failed(
            p,
            itemError(
              -1,
              `${conn.address} left the partition out of its answer`,
              {
                apiName: "DescribeProducers",
                topic: p.topic,
                partition: p.partition,
              },
            ),
          );
        }
        const error = itemError(answer.errorCode, answer.errorMessage, {
          apiName: "DescribeProducers",
          topic: p.topic,
          partition: p.partition,
        });
        return {
          topic: p.topic,
          partition: p.partition,
          producers: error ? [] : answer.activeProducers.map((a) => ({
            producerId: a.producerId,
            producerEpoch: a.producerEpoch,
            lastSequence: a.lastSequence,
            lastTimestamp: a.lastTimestamp,
            coordinatorEpoch: a.coordinatorEpoch,
            currentTxnStartOffset: a.currentTxnStartOffset,
          })),
          error,
        };
      });
    },
  });
}

/**
 * The transactions the coordinators know (ListTransactions, sent to every
 * broker, as each coordinates its share of transactional ids), filtered by
 * state, producer id, duration or id pattern, merged and sorted by id. A
 * broker that fails leaves its transactions out and its error in
 * `errors`; the call rejects only when the brokers cannot be listed.
 *
 * @example
 * ```ts
 * import { Cluster } from "../cluster/cluster.ts";
 * import { Router } from "../cluster/route.ts";
 * import { listTransactions } from "./transactions.ts";
 *
 * const cluster = new Cluster({ brokers: ["localhost:9092"] });
 * const router = new Router(cluster, 20_000);
 * const { transactions, errors } = await listTransactions(router, {
 *   states: ["Ongoing"],
 * });
 * for (const t of transactions) console.log(t.transactionalId, t.producerId);
 * console.log(errors.length === 0 ? "every broker answered" : errors);
 * await cluster.close();
 * ```
 */
export async function listTransactions(
  router: Router,
  options: ListTransactionsOptions = {},
): Promise<TransactionList> {
  const method = "listTransactions";
  const given = options.states ?? [];
  checkIds(method, "states", given, "transaction states");
  // The broker matches the names exactly: a known state in another case
  // ("ongoing") is sent as it spells it; a name it does not know (one a
  // newer broker may have) comes back in `unknownStates`.
  const states = given.map((state) =>
    TRANSACTION_STATES.find((k) => k.toLowerCase() === state.toLowerCase()) ??
      state
  );
  const producerIds = options.producerIds ?? [];
  if (
    !isList(producerIds) ||
    producerIds.some((id) => !Number.isSafeInteger(id) || id < 0)
  ) {
    throw badArgument(
      method,
      "producerIds",
      options.producerIds,
      "an array of producer ids (integers >= 0)",
    );
  }
  const duration = options.durationFilterMs;
  if (
    duration !== undefined && (!Number.isSafeInteger(duration) || duration < 0)
  ) {
    throw badArgument(
      method,
      "durationFilterMs",
      duration,
      "a number of milliseconds (an integer >= 0)",
    );
  }
  const pattern = options.transactionalIdPattern;
  if (pattern !== undefined && typeof pattern !== "string") {
    throw badArgument(
      method,
      "transactionalIdPattern",
      pattern,
      "a regular expression (a string)",
    );
  }
  const call = router.call(options);
  const body = (conn: BrokerConnection) => {
    const version = conn.pickVersion(ListTransactions);
    const need = pattern ? 2 : duration !== undefined ? 1 : 0;
    if (version < need) {
      throw new KafkaError(ErrorCode.UNSUPPORTED_VERSION, {
        apiName: "ListTransactions",
        detail: `${conn.address} serves v${version}; ${
          pattern ? "transactionalIdPattern" : "durationFilterMs"
        } needs v${need}`,
      });
    }
    return {
      stateFilters: [...states],
      producerIdFilters: [...producerIds],
      durationFilter: duration ?? -1,
      transactionalIdPattern: pattern ?? null,
    };
  };
  const answers = await router.eachBroker(ListTransactions, body, call);
  const transactions: TransactionListing[] = [];
  const unknownStates = new Set<string>();
  const errors: TransactionList["errors"] = [];
  await Promise.all(answers.map(async (answer) => {
    const { broker } = answer;
    const where = {
      apiName: "ListTransactions",
      detail: `broker ${broker.id}`,
    };
    let r = answer.response;
    let error: KafkaError | null;
    try {
      // A coordinator still loading its transactions answers again later.
      if (r?.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) {
        r = await router.retry(call, async () => {
          const again = await router.broker(
            broker.id,
            ListTransactions,
            body,
            call,
          );
          const e = itemError(again.errorCode, where.detail, where);
          if (e?.code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) throw e;
          return again;
        });
      }
      error = r
        ? itemError(r.errorCode, where.detail, where)
        : itemFailure(answer.error, call, where);
    } catch (e) {
      error = itemFailure(e, call, where);
    }
    if (error || !r) {
      errors.push({ brokerId: broker.id, error: error! });
      return;
    }
    for (const s of r.unknownStateFilters) unknownStates.add(s);
    for (const t of r.transactionStates) {
      transactions.push({
        transactionalId: t.transactionalId,
        producerId: t.producerId,
        state: t.transactionState,
        coordinatorId: broker.id,
      });
    }
  }));
  transactions.sort((a, b) =>
    a.transactionalId < b.transactionalId
      ? -1
      : a.transactionalId > b.transactionalId
      ? 1
      : 0
  );
  errors.sort((a, b) => a.brokerId - b.brokerId);
  return { transactions, unknownStates: [...unknownStates].sort(), errors };
}

/**
 * Transactions by transactional id (DescribeTransactions, split by each
 * id's coordinator): state, timeout, start time, producer id and epoch, and
 * the partitions of the open transaction. One result per id, in order; an
 * unknown id fails alone with TRANSACTIONAL_ID_NOT_FOUND, and ids whose
 * coordinator moved or is loading are asked again until the deadline.
 *
 * @example
 * ```ts
 * import { Cluster } from "../cluster/cluster.ts";
 * import { Router } from "../cluster/route.ts";
 * import { describeTransactions } from "./transactions.ts";
 *
 * const cluster = new Cluster({ brokers: ["localhost:9092"] });
 * const router = new Router(cluster, 20_000);
 * const [d] = await describeTransactions(router, ["docs-txn-unknown"]);
 * console.log(d.error?.name ?? d.state); // TRANSACTIONAL_ID_NOT_FOUND
 * await cluster.close();
 * ```
 */
export async function describeTransactions(
  router: Router,
  transactionalIds: readonly string[],
  options: CallOptions = {},
): Promise<TransactionDescription[]> {
  checkIds(
    "describeTransactions",
    "transactionalIds",
    transactionalIds,
    "transactional ids",
  );
  if (transactionalIds.length === 0) return [];
  const call = router.call(options);
  const failed = (id: string, error: unknown): TransactionDescription => ({
    transactionalId: id,
    state: "",
    timeoutMs: -1,
    startTimeMs: -1,
    producerId: -1,
    producerEpoch: -1,
    partitions: [],
    error: itemFailure(error, call, {
      apiName: "DescribeTransactions",
      detail: `transactional id ${JSON.stringify(id)}`,
    }),
  });
  return await router.fanOut(call, transactionalIds, {
    node: (id) => router.coordinatorConnection("transaction", id, call),
    moved: (id) => router.forgetCoordinator("transaction", id),
    errorOf: (r) => r.error,
    failed,
    send: async (conn, batch) => {
      const r = await router.send(conn, DescribeTransactions, {
        transactionalIds: [...new Set(batch)],
      }, call);
      return batch.map((id) => {
        const t = r.transactionStates.find((x) => x.transactionalId === id);
        if (!t) {
          return failed(
            id,
            itemError(-1, `${conn.address} left the id out of its answer`, {
              apiName: "DescribeTransactions",
            }),
          );
        }
        const error = itemError(
          t.errorCode,
          `transactional id ${JSON.stringify(id)}`,
          { apiName: "DescribeTransactions" },
        );
        if (error) return failed(id, error);
        return {
          transactionalId: id,
          state: t.transactionState,
          timeoutMs: t.transactionTimeoutMs,
          startTimeMs: t.transactionStartTimeMs,
          producerId: t.producerId,
          producerEpoch: t.producerEpoch,
          partitions: t.topics
            .flatMap((x) =>
              x.partitions.map((partition) => ({ topic: x.topic, partition }))
            )
            .sort(byTopicPartition),
          error: null,
        };
      });
    },
  });
}

// --- Helpers -----------------------------------------------------------------

/** Throws unless `list` is an array of non-empty strings. */
function checkIds(
  method: string,
  argument: string,
  list: unknown,
  what: string,
): void {
  if (
    !isList(list) ||
    (list as unknown[]).some((v) => typeof v !== "string" || v === "")
  ) {
    throw badArgument(method, argument, list, `an array of ${what}`);
  }
}
