/**
 * Hanging transactions (KIP-664): a partition's open transaction that no
 * coordinator will ever close, because the coordinator does not know the
 * partition is in it (a broker bug, or a producer that wrote without adding
 * the partition). It holds the partition's last stable offset back, so
 * `read_committed` readers stop at it and the log cannot be compacted past
 * it. `findHangingTransactions` finds them the way `kafka-transactions.sh
 * find-hanging` does; `abortTransaction` writes the abort marker the
 * coordinator never will (WriteTxnMarkers to the partition's leader).
 *
 * @module
 */

import {
  type CallOptions,
  itemError,
  type Router,
  routingError,
} from "../cluster/route.ts";
import { byTopicPartition, type TopicPartition } from "../message.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { WriteTxnMarkers } from "../protocol/messages/write_txn_markers.ts";
import {
  badArgument,
  checkList,
  checkPartitions,
} from "../requests/arguments.ts";
import { metadata } from "./topics.ts";
import { requireListed } from "./brokers.ts";
import {
  type ActiveProducer,
  describeProducers,
  describeTransactions,
  listTransactions,
} from "./transactions.ts";

/**
 * The transaction to abort on one partition: its producer's id and epoch,
 * and the epoch of the coordinator that last wrote a marker for it, as
 * `describeProducers` and `findHangingTransactions` give them.
 *
 * @example
 * ```ts
 * import type { AbortTransactionSpec } from "./hanging_transactions.ts";
 *
 * const spec: AbortTransactionSpec = {
 *   topic: "orders", partition: 0, producerId: 4000, producerEpoch: 0,
 *   coordinatorEpoch: -1,
 * };
 * console.log(spec.producerId);
 * ```
 */
export interface AbortTransactionSpec extends TopicPartition {
  /** The producer id of the open transaction. */
  producerId: number;
  /** Its producer epoch. */
  producerEpoch: number;
  /** The coordinator epoch the partition knows for it, -1 if none. */
  coordinatorEpoch: number;
}

/**
 * The open transaction of a partition that begins at `startOffset` (its
 * producer looked up with DescribeProducers), as `kafka-transactions.sh
 * abort --start-offset` takes it.
 *
 * @example
 * ```ts
 * import type { TransactionAtOffset } from "./hanging_transactions.ts";
 *
 * const target: TransactionAtOffset = { topic: "orders", partition: 0, startOffset: 1042 };
 * console.log(target.startOffset);
 * ```
 */
export interface TransactionAtOffset extends TopicPartition {
  /** The offset of the open transaction's first record. */
  startOffset: number;
}

/**
 * Where `findHangingTransactions` looks, and what counts as too old. With
 * neither `topics`, `partitions` nor `broker`, it looks at every partition
 * of every topic but Kafka's own.
 *
 * @example
 * ```ts
 * import type { FindHangingTransactionsOptions } from "./hanging_transactions.ts";
 *
 * const options: FindHangingTransactionsOptions = { broker: 2 };
 * console.log(options.broker);
 * ```
 */
export interface FindHangingTransactionsOptions extends CallOptions {
  /** Every partition of these topics. */
  topics?: readonly string[] | undefined;
  /** These partitions (with `topics`, both). */
  partitions?: readonly TopicPartition[] | undefined;
  /**
   * Ask this broker (followers answer too): of `topics` (or of every
   * topic, alone), only the partitions with a replica on it; `partitions`
   * named without one there fail in `errors` (NOT_LEADER_OR_FOLLOWER).
   */
  broker?: number | undefined;
  /**
   * A transaction open for longer than this (ms since its producer's last
   * write) is a candidate; default 900,000 (15 minutes), the broker's
   * default `transaction.max.timeout.ms`, the longest a live transaction
   * may run.
   */
  maxTransactionTimeout?: number | undefined;
}

/**
 * A hanging transaction: everything `abortTransaction` needs, and how long
 * it has been open.
 *
 * @example
 * ```ts
 * import type { HangingTransaction } from "./hanging_transactions.ts";
 *
 * const t: HangingTransaction = {
 *   topic: "orders", partition: 0, producerId: 4000, producerEpoch: 0,
 *   coordinatorEpoch: -1, startOffset: 1042, lastTimestamp: 0,
 * };
 * console.log(`${t.topic}-${t.partition} is stuck at ${t.startOffset}`);
 * ```
 */
export interface HangingTransaction extends AbortTransactionSpec {
  /** The offset of its first record: where `read_committed` readers stop. */
  startOffset: number;
  /** The timestamp of its producer's last batch on the partition (ms). */
  lastTimestamp: number;
}

/**
 * The answer of `findHangingTransactions`.
 *
 * @example
 * ```ts
 * import type { HangingTransactions } from "./hanging_transactions.ts";
 *
 * const found: HangingTransactions = { transactions: [], errors: [] };
 * console.log(found.errors.length === 0 ? "searched everywhere" : found.errors);
 * ```
 */
export interface HangingTransactions {
  /** The hanging transactions, sorted by topic, partition and offset. */
  transactions: HangingTransaction[];
  /** The partitions whose producers could not be listed, and why. */
  errors: (TopicPartition & { error: KafkaError })[];
}

const ABORT = "abortTransaction";
const FIND = "findHangingTransactions";

/**
 * Aborts a partition's open transaction by writing its abort marker
 * (WriteTxnMarkers to the leader; needs ClusterAction permission on the
 * cluster). Resolves with what was aborted.
 */
export async function abortTransaction(
  router: Router,
  target: AbortTransactionSpec | TransactionAtOffset,
  options: CallOptions = {},
): Promise<AbortTransactionSpec> {
  if (typeof target !== "object" || target === null) {
    throw badArgument(
      ABORT,
      "target",
      target,
      "{ topic, partition, producerId, producerEpoch, coordinatorEpoch } or { topic, partition, startOffset }",
    );
  }
  if (typeof target.topic !== "string" || target.topic === "") {
    throw badArgument(ABORT, "target.topic", target.topic, "a topic name");
  }
  if (!Number.isInteger(target.partition) || target.partition < 0) {
    throw badArgument(
      ABORT,
      "target.partition",
      target.partition,
      "a partition number (an integer >= 0)",
    );
  }
  const call = router.call(options);
  // A producer given is used as it is (a HangingTransaction has both).
  const spec = "producerId" in target && target.producerId !== undefined
    ? checkSpec(target)
    : await openAt(
      router,
      target as TransactionAtOffset,
      router.left(call),
      options.signal,
    );
  const [result] = await router.fanOut(call, [spec], {
    node: async (s) =>
      (await router.cluster.leader(s.topic, s.partition, router.lane)).conn,
    moved: (s) => router.cluster.invalidate(s.topic),
    // A topic the metadata does not list fails at once; a broker that
    // answers UNKNOWN_TOPIC_OR_PARTITION no longer holds the partition
    // (its leader moved), as Java's handler takes it.
    retriable: (e) =>
      routingError(e) ||
      (e instanceof KafkaError &&
        e.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION &&
        e.apiName === "WriteTxnMarkers"),
    errorOf: (error) => error,
    failed: (_, error) => error,
    send: async (conn, [s]) => {
      const r = await router.send(conn, WriteTxnMarkers, {
        markers: [{
          producerId: s.producerId,
          producerEpoch: s.producerEpoch,
          transactionResult: false,
          topics: [{ name: s.topic, partitionIndexes: [s.partition] }],
          coordinatorEpoch: s.coordinatorEpoch,
        }],
      }, call);
      const answer = r.markers.find((m) => m.producerId === s.producerId)
        ?.topics.find((t) => t.name === s.topic)?.partitions
        .find((p) => p.partitionIndex === s.partition);
      return [itemError(
        answer?.errorCode ?? -1,
        answer
          ? HINTS[answer.errorCode]
          : `${conn.address} left the partition out of its answer`,
        {
          apiName: "WriteTxnMarkers",
          topic: s.topic,
          partition: s.partition,
        },
      )];
    },
  });
  if (result) throw result;
  return spec;
}

/** What to check for the refusals retrying cannot fix. */
const HINTS: Record<number, string> = {
  [ErrorCode.CLUSTER_AUTHORIZATION_FAILED]:
    "writing transaction markers needs ClusterAction permission on the cluster",
  [ErrorCode.INVALID_PRODUCER_EPOCH]:
    "the producer has a newer epoch on the partition than the one given: describe its producers again",
  [ErrorCode.TRANSACTION_COORDINATOR_FENCED]:
    "a newer coordinator epoch wrote markers for this producer: describe its producers again",
};

/** Finds the hanging transactions of some partitions (see the module). */
export async function findHangingTransactions(
  router: Router,
  options: FindHangingTransactionsOptions = {},
): Promise<HangingTransactions> {
  const { topics, partitions, broker } = options;
  if (topics !== undefined) {
    checkList(FIND, "topics", topics, "an array of topic names");
    topics.forEach((t, i) => {
      if (typeof t !== "string" || t === "") {
        throw badArgument(FIND, `topics[${i}]`, t, "a topic name");
      }
    });
  }
  if (partitions !== undefined) checkPartitions(FIND, "partitions", partitions);
  if (broker !== undefined && (!Number.isInteger(broker) || broker < 0)) {
    throw badArgument(FIND, "broker", broker, "a broker id (an integer >= 0)");
  }
  const maxAge = options.maxTransactionTimeout ?? 900_000;
  if (!Number.isSafeInteger(maxAge) || maxAge < 0) {
    throw badArgument(
      FIND,
      "maxTransactionTimeout",
      options.maxTransactionTimeout,
      "milliseconds (an integer >= 0)",
    );
  }
  const call = router.call(options);
  // A broker the cluster does not list holds no partition: the search
  // would find nothing and say so as if all were well.
  if (broker !== undefined) {
    await requireListed(router, call, FIND, broker, "DescribeProducers");
  }
  const sub = () => ({ signal: options.signal, timeout: router.left(call) });

  // The partitions to search.
  const searched = new Map<string, TopicPartition>();
  const add = (p: TopicPartition) =>
    searched.set(`${p.partition}@${p.topic}`, p);
  for (const p of partitions ?? []) {
    add({ topic: p.topic, partition: p.partition });
  }
  if (topics !== undefined || (partitions === undefined)) {
    const named = topics ?? null;
    if (named === null || named.length > 0) {
      const m = await metadata(router, named, sub());
      for (const t of m.topics) {
        if (t.error) throw t.error;
        if (named === null && t.isInternal) continue;
        for (const p of t.partitions) {
          if (broker === undefined || p.replicas.includes(broker)) {
            add({ topic: t.topic, partition: p.partition });
          }
        }
      }
    }
  }
  if (searched.size === 0) return { transactions: [], errors: [] };

  // Open transactions older than the longest a live one may run.
  const now = Date.now();
  const candidates: HangingTransaction[] = [];
  const errors: HangingTransactions["errors"] = [];
  for (
    const r of await describeProducers(router, [...searched.values()], {
      ...sub(),
      broker,
    })
  ) {
    if (r.error) {
      errors.push({ topic: r.topic, partition: r.partition, error: r.error });
      continue;
    }
    for (const p of r.producers) {
      if (p.currentTxnStartOffset >= 0 && now - p.lastTimestamp > maxAge) {
        candidates.push(hanging(r, p));
      }
    }
  }
  if (candidates.length === 0) return { transactions: [], errors };

  // The coordinators' view of their producers: a partition its
  // transaction's coordinator does not list will never get a marker.
  const listed = await listTransactions(router, {
    ...sub(),
    producerIds: [...new Set(candidates.map((c) => c.producerId))],
  });
  if (listed.errors.length > 0) {
    const { brokerId, error } = listed.errors[0];
    throw new KafkaError(error.code, {
      apiName: "ListTransactions",
      detail:
        `broker ${brokerId} did not list its transactions (${error.message}), so whether the open transactions hang cannot be told`,
    });
  }
  const idOf = new Map<number, string>();
  for (const t of listed.transactions) {
    idOf.set(t.producerId, t.transactionalId);
  }
  const ids = [...new Set(idOf.values())];
  const described = new Map<string, TopicPartition[]>();
  for (const d of await describeTransactions(router, ids, sub())) {
    if (d.error === null) described.set(d.transactionalId, d.partitions);
    else if (d.error.code !== ErrorCode.TRANSACTIONAL_ID_NOT_FOUND) {
      throw d.error;
    }
  }
  const transactions = candidates.filter((c) => {
    const id = idOf.get(c.producerId);
    const open = id === undefined ? undefined : described.get(id);
    return !open?.some((p) =>
      p.topic === c.topic && p.partition === c.partition
    );
  }).sort((a, b) => byTopicPartition(a, b) || a.startOffset - b.startOffset);
  return { transactions, errors };
}

function hanging(tp: TopicPartition, p: ActiveProducer): HangingTransaction {
  return {
    topic: tp.topic,
    partition: tp.partition,
    producerId: p.producerId,
    producerEpoch: p.producerEpoch,
    coordinatorEpoch: p.coordinatorEpoch,
    startOffset: p.currentTxnStartOffset,
    lastTimestamp: p.lastTimestamp,
  };
}

/** The spec of the open transaction beginning at `target.startOffset`. */
async function openAt(
  router: Router,
  target: TransactionAtOffset,
  timeout: number,
  signal: AbortSignal | undefined,
): Promise<AbortTransactionSpec> {
  const { topic, partition, startOffset } = target;
  if (!Number.isSafeInteger(startOffset) || startOffset < 0) {
    throw badArgument(
      ABORT,
      "target.startOffset",
      startOffset,
      "an offset (an integer >= 0)",
    );
  }
  const [r] = await describeProducers(router, [{ topic, partition }], {
    timeout,
    signal,
  });
  if (r.error) throw r.error;
  const open = r.producers.filter((p) => p.currentTxnStartOffset >= 0);
  const found = open.find((p) => p.currentTxnStartOffset === startOffset);
  if (!found) {
    throw new RangeError(
      `Client.${ABORT}: no open transaction of topic ${
        JSON.stringify(topic)
      } partition ${partition} begins at offset ${startOffset}; ${
        open.length === 0
          ? "it has none open"
          : `the open ones begin at ${
            open.map((p) =>
              `${p.currentTxnStartOffset} (producer ${p.producerId})`
            ).join(", ")
          }`
      }`,
    );
  }
  const { startOffset: _, lastTimestamp: __, ...spec } = hanging(r, found);
  return spec;
}

function checkSpec(spec: AbortTransactionSpec): AbortTransactionSpec {
  const fields = [
    ["producerId", 0, "a producer id (an integer >= 0)"],
    ["producerEpoch", 0, "a producer epoch (an integer 0-32767)"],
    ["coordinatorEpoch", -1, "a coordinator epoch (an integer >= -1)"],
  ] as const;
  for (const [name, min, expected] of fields) {
    const value = spec[name];
    if (
      !Number.isSafeInteger(value) || value < min ||
      (name === "producerEpoch" && value > 32767)
    ) {
      throw badArgument(ABORT, `target.${name}`, value, expected);
    }
  }
  return {
    topic: spec.topic,
    partition: spec.partition,
    producerId: spec.producerId,
    producerEpoch: spec.producerEpoch,
    coordinatorEpoch: spec.coordinatorEpoch,
  };
}
