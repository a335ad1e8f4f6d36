/**
 * The transactional producer's requests, one call each: InitProducerId,
 * AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit and EndTxn, sent to
 * the transactional id's coordinator (TxnOffsetCommit to the group's) and
 * retried while the coordinator moves, loads, or is still finishing the
 * previous transaction (CONCURRENT_TRANSACTIONS). With them a program can
 * run a transaction by hand; the records themselves go in Produce requests
 * whose batches carry the producer id, epoch and the transactional flag.
 *
 * Kafka 4 brokers with `transaction.version` 2 (KIP-890) bump the
 * producer's epoch when a transaction ends: `endTxn` returns the id and
 * epoch the next transaction must use.
 *
 * @module
 */

import type { BrokerConnection } from "../connection/connection.ts";
import { unsupportedAt } from "./versions.ts";
import type { TopicPartition } from "../message.ts";
import type { Api, Encodable } from "../protocol/api.ts";
import { ErrorCode, type KafkaError } from "../protocol/errors.ts";
import { AddOffsetsToTxn } from "../protocol/messages/add_offsets_to_txn.ts";
import { AddPartitionsToTxn } from "../protocol/messages/add_partitions_to_txn.ts";
import { EndTxn } from "../protocol/messages/end_txn.ts";
import { InitProducerId } from "../protocol/messages/init_producer_id.ts";
import { TxnOffsetCommit } from "../protocol/messages/txn_offset_commit.ts";
import {
  type Call,
  type CallOptions,
  itemError,
  type Router,
  routingError,
} from "../cluster/route.ts";
import { badArgument, isList } from "./arguments.ts";
import { checkOptionNames, optionNames } from "../options.ts";
import { checkPartitions } from "./arguments.ts";

/**
 * What InitProducerId asks for: a transactional producer's id (with a
 * `transactionalId`) or an idempotent producer's (without).
 *
 * @example
 * ```ts
 * import type { ProducerIdRequest } from "./transactions.ts";
 *
 * const request: ProducerIdRequest = {
 *   transactionalId: "orders-writer-1",
 *   transactionTimeoutMs: 60_000,
 * };
 * console.log(request.transactionalId);
 * ```
 */
export interface ProducerIdRequest {
  /** The transactional id, or null/left out for an idempotent producer. */
  transactionalId?: string | null | undefined;
  /**
   * Milliseconds the coordinator lets a transaction run before it aborts
   * it (default 60 000; at most the broker's `transaction.max.timeout.ms`).
   */
  transactionTimeoutMs?: number | undefined;
  /**
   * The producer id held so far, to bump its epoch rather than get a new
   * id (KIP-360; default -1: none). Give `producerEpoch` with it.
   */
  producerId?: number | undefined;
  /** The epoch held so far with `producerId` (default -1: none). */
  producerEpoch?: number | undefined;
}

/** The names of `ProducerIdRequest`. */
const PRODUCER_ID_FIELDS = optionNames<ProducerIdRequest>()(
  "transactionalId",
  "transactionTimeoutMs",
  "producerId",
  "producerEpoch",
);

/**
 * A producer id and its epoch, as the coordinator gave them.
 *
 * @example
 * ```ts
 * import type { ProducerIdAndEpoch } from "./transactions.ts";
 *
 * const producer: ProducerIdAndEpoch = { producerId: 4000, producerEpoch: 0 };
 * console.log(producer.producerEpoch);
 * ```
 */
export interface ProducerIdAndEpoch {
  /** The producer id. */
  producerId: number;
  /** Its epoch: requests with an older one are fenced. */
  producerEpoch: number;
}

/**
 * The transactional producer a transaction request speaks for.
 *
 * @example
 * ```ts
 * import type { TransactionalProducer } from "./transactions.ts";
 *
 * const producer: TransactionalProducer = {
 *   transactionalId: "orders-writer-1",
 *   producerId: 4000,
 *   producerEpoch: 0,
 * };
 * console.log(producer.transactionalId);
 * ```
 */
export interface TransactionalProducer extends ProducerIdAndEpoch {
  /** The transactional id `initProducerId` was called with. */
  transactionalId: string;
}

/**
 * Partitions to add to the producer's ongoing transaction.
 *
 * @example
 * ```ts
 * import type { TxnPartitions } from "./transactions.ts";
 *
 * const request: TxnPartitions = {
 *   transactionalId: "orders-writer-1",
 *   producerId: 4000,
 *   producerEpoch: 0,
 *   partitions: [{ topic: "orders", partition: 0 }],
 * };
 * console.log(request.partitions.length);
 * ```
 */
export interface TxnPartitions extends TransactionalProducer {
  /** The partitions the transaction will write to. */
  partitions: readonly TopicPartition[];
}

/**
 * One partition's outcome in a transaction request (AddPartitionsToTxn,
 * TxnOffsetCommit).
 *
 * @example
 * ```ts
 * import type { TxnPartitionResult } from "./transactions.ts";
 *
 * const result: TxnPartitionResult = { topic: "orders", partition: 0, error: null };
 * console.log(result.error === null);
 * ```
 */
export interface TxnPartitionResult extends TopicPartition {
  /**
   * Why the partition failed (UNKNOWN_TOPIC_OR_PARTITION,
   * INVALID_PRODUCER_EPOCH, and OPERATION_NOT_ATTEMPTED for the others of
   * a request where one failed...), or null.
   */
  error: KafkaError | null;
}

/**
 * A group whose offsets the producer's transaction will commit.
 *
 * @example
 * ```ts
 * import type { TxnGroup } from "./transactions.ts";
 *
 * const request: TxnGroup = {
 *   transactionalId: "orders-writer-1",
 *   producerId: 4000,
 *   producerEpoch: 0,
 *   groupId: "orders-processor",
 * };
 * console.log(request.groupId);
 * ```
 */
export interface TxnGroup extends TransactionalProducer {
  /** The consumer group. */
  groupId: string;
}

/**
 * How to end the producer's ongoing transaction.
 *
 * @example
 * ```ts
 * import type { TxnEnd } from "./transactions.ts";
 *
 * const request: TxnEnd = {
 *   transactionalId: "orders-writer-1",
 *   producerId: 4000,
 *   producerEpoch: 0,
 *   committed: true,
 * };
 * console.log(request.committed ? "commit" : "abort");
 * ```
 */
export interface TxnEnd extends TransactionalProducer {
  /** true commits the transaction, false aborts it. */
  committed: boolean;
}

/**
 * One partition's offset to commit in a transaction.
 *
 * @example
 * ```ts
 * import type { TxnOffset } from "./transactions.ts";
 *
 * // The last record processed was at offset 41: the next to read is 42.
 * const offset: TxnOffset = { topic: "orders", partition: 0, offset: 42 };
 * console.log(offset.offset);
 * ```
 */
export interface TxnOffset extends TopicPartition {
  /** The offset of the next record to read: the last one processed + 1. */
  offset: number;
  /** The leader epoch of the last record processed (default -1: unknown). */
  leaderEpoch?: number | undefined;
  /** Text kept with the offset (default ""). */
  metadata?: string | null | undefined;
}

/**
 * A group's offsets to commit as part of the producer's transaction: they
 * become visible when it commits, and are dropped if it aborts.
 *
 * @example
 * ```ts
 * import type { TxnOffsets } from "./transactions.ts";
 *
 * const request: TxnOffsets = {
 *   transactionalId: "orders-writer-1",
 *   producerId: 4000,
 *   producerEpoch: 0,
 *   groupId: "orders-processor",
 *   offsets: [{ topic: "orders", partition: 0, offset: 42 }],
 * };
 * console.log(request.offsets[0].offset);
 * ```
 */
export interface TxnOffsets extends TxnGroup {
  /**
   * The group's generation (classic protocol) or member epoch (consumer
   * protocol) the offsets were read in, so that a zombie member is fenced
   * (default -1: not checked).
   */
  generationId?: number | undefined;
  /** The member id the coordinator gave (default "": not checked). */
  memberId?: string | undefined;
  /** The static member id (KIP-345), or null (the default). */
  groupInstanceId?: string | null | undefined;
  /** The offsets to commit. */
  offsets: readonly TxnOffset[];
}

/**
 * Gets a producer id and epoch from InitProducerId. With a
 * `transactionalId` the request goes to its transaction coordinator, which
 * fences any older producer of the id (aborting its open transaction) and
 * gives the same producer id with a higher epoch; without, any broker gives
 * an idempotent producer a new id. Retried while the coordinator moves,
 * loads or finishes an earlier transaction (CONCURRENT_TRANSACTIONS), until
 * the call's deadline; any other error rejects with its KafkaError.
 *
 * @example
 * ```ts
 * import { Cluster } from "../cluster/cluster.ts";
 * import { Router } from "../cluster/route.ts";
 * import { initProducerId } from "./transactions.ts";
 *
 * const cluster = new Cluster({ brokers: ["localhost:9092"] });
 * const router = new Router(cluster, 20_000);
 * const { producerId, producerEpoch } = await initProducerId(router, {
 *   transactionalId: "docs-txn-init",
 * });
 * console.log(producerId, producerEpoch);
 * await cluster.close();
 * ```
 */
export async function initProducerId(
  router: Router,
  request: ProducerIdRequest = {},
  options: CallOptions = {},
): Promise<ProducerIdAndEpoch> {
  const method = "initProducerId";
  if (request === null || typeof request !== "object") {
    throw badArgument(
      method,
      "request",
      request,
      "an object such as { transactionalId }",
    );
  }
  // `transactionTimeout` for `transactionTimeoutMs` would leave 60 s.
  checkOptionNames(
    `Client.${method}`,
    request,
    PRODUCER_ID_FIELDS,
    {},
    "field",
  );
  const transactionalId = request.transactionalId ?? null;
  if (transactionalId !== null) {
    checkText(method, "transactionalId", transactionalId, "transactional id");
  }
  const timeoutMs = request.transactionTimeoutMs ?? 60_000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > INT32_MAX) {
    throw badArgument(
      method,
      "transactionTimeoutMs",
      request.transactionTimeoutMs,
      "a positive integer number of milliseconds",
    );
  }
  const producerId = request.producerId ?? -1;
  const producerEpoch = request.producerEpoch ?? -1;
  if (!Number.isSafeInteger(producerId) || producerId < -1) {
    throw badArgument(
      method,
      "producerId",
      request.producerId,
      "a producer id (an integer >= 0) or -1",
    );
  }
  if (
    !Number.isInteger(producerEpoch) || producerEpoch < -1 ||
    producerEpoch > EPOCH_MAX
  ) {
    throw badArgument(
      method,
      "producerEpoch",
      request.producerEpoch,
      `an epoch (an integer from 0 to ${EPOCH_MAX}) or -1`,
    );
  }
  if ((producerId === -1) !== (producerEpoch === -1)) {
    throw badArgument(
      method,
      producerId === -1 ? "producerId" : "producerEpoch",
      producerId === -1 ? request.producerId : request.producerEpoch,
      "given together with " +
        (producerId === -1 ? "producerEpoch" : "producerId"),
    );
  }
  const target = transactionalId === null
    ? anyBroker(router)
    : coordinatorOf(router, "transaction", transactionalId);
  const r = await askOrThrow(
    router,
    target,
    InitProducerId,
    {
      transactionalId,
      transactionTimeoutMs: timeoutMs,
      producerId,
      producerEpoch,
    },
    options,
    transactionalId,
    (version, address) => {
      // Before v3 the broker would not check the id and epoch: a zombie's
      // bump would fence the live producer instead of being fenced.
      if (producerId !== -1 && version < 3) {
        throw unsupportedAt(
          `Broker ${address}`,
          InitProducerId,
          version,
          3,
          "initProducerId with a producer id and epoch",
          "Kafka 2.5 or later, KIP-360",
        );
      }
    },
  );
  return { producerId: r.producerId, producerEpoch: r.producerEpoch };
}

/**
 * Adds partitions to the producer's transaction (AddPartitionsToTxn v3 or
 * below, the clients' form: v4+ is the brokers' batched one of KIP-890),
 * before records are produced to them; the first call of a transaction
 * begins it. One result per partition, in order, each with its own error.
 * Retried while the coordinator moves or loads, or is still completing the
 * previous transaction (CONCURRENT_TRANSACTIONS). On Kafka 4 brokers with
 * `transaction.version` 2, a Produce v12+ of a transactional batch adds
 * its partition by itself; adding it here first is harmless.
 *
 * @example
 * ```ts
 * import { Cluster } from "../cluster/cluster.ts";
 * import { Router } from "../cluster/route.ts";
 * import { createTopics, deleteTopics } from "../admin/topics.ts";
 * import { addPartitionsToTxn, endTxn, initProducerId } from "./transactions.ts";
 *
 * const cluster = new Cluster({ brokers: ["localhost:9092"] });
 * const router = new Router(cluster, 20_000);
 * await createTopics(router, [{ topic: "docs-txn-add", numPartitions: 2 }]);
 * const transactionalId = "docs-txn-add";
 * const producer = await initProducerId(router, { transactionalId });
 * const results = await addPartitionsToTxn(router, {
 *   transactionalId,
 *   ...producer,
 *   partitions: [
 *     { topic: "docs-txn-add", partition: 0 },
 *     { topic: "docs-txn-add", partition: 1 },
 *   ],
 * });
 * console.log(results.map((r) => r.error?.name ?? "added"));
 * await endTxn(router, { transactionalId, ...producer, committed: false });
 * await deleteTopics(router, ["docs-txn-add"]);
 * await cluster.close();
 * ```
 */
export async function addPartitionsToTxn(
  router: Router,
  request: TxnPartitions,
  options: CallOptions = {},
): Promise<TxnPartitionResult[]> {
  const method = "addPartitionsToTxn";
  checkProducer(method, request);
  checkPartitions(method, "partitions", request.partitions);
  const partitions = request.partitions;
  if (partitions.length === 0) return [];
  const call = router.call(options);
  const r = await ask(
    router,
    coordinatorOf(router, "transaction", request.transactionalId),
    AddPartitionsToTxn,
    {
      v3AndBelowTransactionalId: request.transactionalId,
      v3AndBelowProducerId: request.producerId,
      v3AndBelowProducerEpoch: request.producerEpoch,
      v3AndBelowTopics: byTopic(partitions, (p) => p.partition).map((
        [name, indexes],
      ) => ({ name, partitions: indexes })),
    },
    call,
    (r) =>
      r.resultsByTopicV3AndBelow.flatMap((t) =>
        t.resultsByPartition.map((p) => p.partitionErrorCode)
      ),
    CLIENT_ADD_PARTITIONS_MAX_VERSION,
  );
  return partitionResults(
    partitions,
    "AddPartitionsToTxn",
    (topic, partition) =>
      r.resultsByTopicV3AndBelow.find((t) => t.name === topic)
        ?.resultsByPartition.find((x) => x.partitionIndex === partition)
        ?.partitionErrorCode,
  );
}

/**
 * Adds a group's offsets to the producer's transaction
 * (AddOffsetsToTxn): the coordinator adds the group's partition of
 * `__consumer_offsets`, so that `txnOffsetCommit` can then commit the
 * group's offsets within the transaction. Retried while the coordinator
 * moves, loads or finishes an earlier transaction; another error rejects
 * with its KafkaError.
 *
 * @example
 * ```ts
 * import { Cluster } from "../cluster/cluster.ts";
 * import { Router } from "../cluster/route.ts";
 * import { addOffsetsToTxn, endTxn, initProducerId } from "./transactions.ts";
 *
 * const cluster = new Cluster({ brokers: ["localhost:9092"] });
 * const router = new Router(cluster, 20_000);
 * const transactionalId = "docs-txn-offsets";
 * const producer = await initProducerId(router, { transactionalId });
 * await addOffsetsToTxn(router, {
 *   transactionalId,
 *   ...producer,
 *   groupId: "docs-txn-group",
 * });
 * await endTxn(router, { transactionalId, ...producer, committed: false });
 * await cluster.close();
 * ```
 */
export async function addOffsetsToTxn(
  router: Router,
  request: TxnGroup,
  options: CallOptions = {},
): Promise<void> {
  const method = "addOffsetsToTxn";
  checkProducer(method, request);
  checkText(method, "groupId", request.groupId, "group id");
  await askOrThrow(
    router,
    coordinatorOf(router, "transaction", request.transactionalId),
    AddOffsetsToTxn,
    {
      transactionalId: request.transactionalId,
      producerId: request.producerId,
      producerEpoch: request.producerEpoch,
      groupId: request.groupId,
    },
    options,
    request.transactionalId,
  );
}

/**
 * Commits (`committed: true`) or aborts the producer's ongoing transaction
 * (EndTxn): the coordinator writes the markers that make its records and
 * offsets visible to read_committed readers, or hide them. Resolves with
 * the producer id and epoch the next transaction must use: a Kafka 4
 * broker with `transaction.version` 2 (KIP-890, EndTxn v5+) bumps the epoch
 * at every end; an older one keeps them. Retried while the coordinator
 * moves, loads or finishes an earlier transaction; another error
 * (INVALID_TXN_STATE, PRODUCER_FENCED...) rejects with its KafkaError.
 *
 * @example
 * ```ts
 * import { Cluster } from "../cluster/cluster.ts";
 * import { Router } from "../cluster/route.ts";
 * import { addOffsetsToTxn, endTxn, initProducerId } from "./transactions.ts";
 *
 * const cluster = new Cluster({ brokers: ["localhost:9092"] });
 * const router = new Router(cluster, 20_000);
 * const transactionalId = "docs-txn-end";
 * const producer = await initProducerId(router, { transactionalId });
 * await addOffsetsToTxn(router, { transactionalId, ...producer, groupId: "docs-txn-end" });
 * const next = await endTxn(router, { transactionalId, ...producer, committed: true });
 * console.log(producer.producerEpoch, "->", next.producerEpoch);
 * await cluster.close();
 * ```
 */
export async function endTxn(
  router: Router,
  request: TxnEnd,
  options: CallOptions = {},
): Promise<ProducerIdAndEpoch> {
  const method = "endTxn";
  checkProducer(method, request);
  if (typeof request.committed !== "boolean") {
    throw badArgument(
      method,
      "committed",
      request.committed,
      "true (commit) or false (abort)",
    );
  }
  const r = await askOrThrow(
    router,
    coordinatorOf(router, "transaction", request.transactionalId),
    EndTxn,
    {
      transactionalId: request.transactionalId,
      producerId: request.producerId,
      producerEpoch: request.producerEpoch,
      committed: request.committed,
    },
    options,
    request.transactionalId,
  );
  // Before v5 the response has no producer id: -1, and the epoch is kept.
  return r.producerId >= 0
    ? { producerId: r.producerId, producerEpoch: r.producerEpoch }
    : { producerId: request.producerId, producerEpoch: request.producerEpoch };
}

/**
 * Commits a group's offsets within the producer's transaction
 * (TxnOffsetCommit, to the group's coordinator, after `addOffsetsToTxn`):
 * they become the group's committed offsets when the transaction commits,
 * and are dropped if it aborts. One result per offset, in order, each with
 * its own error. Retried while the coordinator moves or loads. Sent at v5
 * at most, which names topics (v6 names them by id).
 *
 * @example
 * ```ts
 * import { Cluster } from "../cluster/cluster.ts";
 * import { Router } from "../cluster/route.ts";
 * import { createTopics, deleteTopics } from "../admin/topics.ts";
 * import {
 *   addOffsetsToTxn,
 *   endTxn,
 *   initProducerId,
 *   txnOffsetCommit,
 * } from "./transactions.ts";
 *
 * const cluster = new Cluster({ brokers: ["localhost:9092"] });
 * const router = new Router(cluster, 20_000);
 * await createTopics(router, [{ topic: "docs-txn-commit" }]);
 * const transactionalId = "docs-txn-commit";
 * const groupId = "docs-txn-commit-group";
 * const producer = await initProducerId(router, { transactionalId });
 * await addOffsetsToTxn(router, { transactionalId, ...producer, groupId });
 * const [result] = await txnOffsetCommit(router, {
 *   transactionalId,
 *   ...producer,
 *   groupId,
 *   offsets: [{ topic: "docs-txn-commit", partition: 0, offset: 0 }],
 * });
 * console.log(result.error?.name ?? "committed in the transaction");
 * await endTxn(router, { transactionalId, ...producer, committed: true });
 * await deleteTopics(router, ["docs-txn-commit"]);
 * await cluster.close();
 * ```
 */
export async function txnOffsetCommit(
  router: Router,
  request: TxnOffsets,
  options: CallOptions = {},
): Promise<TxnPartitionResult[]> {
  const method = "txnOffsetCommit";
  checkProducer(method, request);
  checkText(method, "groupId", request.groupId, "group id");
  const generationId = request.generationId ?? -1;
  if (!Number.isInteger(generationId) || generationId < -1) {
    throw badArgument(
      method,
      "generationId",
      request.generationId,
      "a generation or member epoch (an integer >= 0) or -1",
    );
  }
  if (request.memberId !== undefined && typeof request.memberId !== "string") {
    throw badArgument(method, "memberId", request.memberId, "a string");
  }
  const instance = request.groupInstanceId ?? null;
  if (instance !== null && (typeof instance !== "string" || instance === "")) {
    throw badArgument(
      method,
      "groupInstanceId",
      instance,
      "a non-empty string or null",
    );
  }
  const offsets = request.offsets;
  checkPartitions(method, "offsets", offsets);
  offsets.forEach((o, i) => {
    if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
      throw badArgument(
        method,
        `offsets[${i}].offset`,
        o.offset,
        "an offset (an integer >= 0)",
      );
    }
    const epoch = o.leaderEpoch ?? -1;
    if (!Number.isInteger(epoch) || epoch < -1) {
      throw badArgument(
        method,
        `offsets[${i}].leaderEpoch`,
        o.leaderEpoch,
        "a leader epoch (an integer >= 0) or -1",
      );
    }
    const metadata = o.metadata ?? null;
    if (metadata !== null && typeof metadata !== "string") {
      throw badArgument(
        method,
        `offsets[${i}].metadata`,
        o.metadata,
        "a string or null",
      );
    }
  });
  if (offsets.length === 0) return [];
  const call = router.call(options);
  const r = await ask(
    router,
    coordinatorOf(router, "group", request.groupId),
    TxnOffsetCommit,
    {
      transactionalId: request.transactionalId,
      groupId: request.groupId,
      producerId: request.producerId,
      producerEpoch: request.producerEpoch,
      generationIdOrMemberEpoch: generationId,
      memberId: request.memberId ?? "",
      groupInstanceId: instance,
      topics: byTopic(offsets, (o) => ({
        partitionIndex: o.partition,
        committedOffset: o.offset,
        committedLeaderEpoch: o.leaderEpoch ?? -1,
        committedMetadata: o.metadata ?? "",
      })).map(([name, partitions]) => ({ name, partitions })),
    },
    call,
    (r) => r.topics.flatMap((t) => t.partitions.map((p) => p.errorCode)),
    TXN_OFFSET_COMMIT_MAX_VERSION,
    (version, address) => {
      // Before v3 (Kafka 2.5, KIP-447) the request has no group metadata:
      // sent without it, a zombie member's commit would not be fenced.
      if (
        version < 3 && (generationId !== -1 || instance !== null ||
          (request.memberId ?? "") !== "")
      ) {
        throw unsupportedAt(
          `The coordinator of group "${request.groupId}" (${address})`,
          TxnOffsetCommit,
          version,
          3,
          "txnOffsetCommit with the group's generation and member",
          "Kafka 2.5 or later, KIP-447",
        );
      }
    },
  );
  return partitionResults(
    offsets,
    "TxnOffsetCommit",
    (topic, partition) =>
      r.topics.find((t) => t.name === topic)?.partitions.find((x) =>
        x.partitionIndex === partition
      )?.errorCode,
  );
}

// --- Helpers -----------------------------------------------------------------

const INT32_MAX = 2 ** 31 - 1;
const EPOCH_MAX = 32767;
/** AddPartitionsToTxn v4+ is the brokers' batched form (KIP-890). */
const CLIENT_ADD_PARTITIONS_MAX_VERSION = 3;
/** TxnOffsetCommit v6 names topics by id; v5 by name. */
const TXN_OFFSET_COMMIT_MAX_VERSION = 5;

/** Codes sending the request again: the coordinator moved or is busy. */
const AGAIN = new Set<number>([
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.CONCURRENT_TRANSACTIONS,
  ErrorCode.REQUEST_TIMED_OUT,
]);
/** Codes meaning the coordinator must be looked up again. */
const MOVED = new Set<number>([
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
]);

/** Where a request goes, and how to forget that place when it moved. */
interface Target {
  connect: (call: Call) => Promise<BrokerConnection>;
  forget: () => void;
}

function coordinatorOf(
  router: Router,
  kind: "group" | "transaction",
  key: string,
): Target {
  return {
    connect: (call) => router.coordinatorConnection(kind, key, call),
    forget: () => router.forgetCoordinator(kind, key),
  };
}

function anyBroker(router: Router): Target {
  return {
    connect: (call) =>
      router.within(
        call,
        "Connecting to a broker",
        router.cluster.anyConnection(router.lane),
      ),
    forget: () => {},
  };
}

/** A response whose codes ask for another attempt. */
class Again<Res> extends Error {
  readonly response: Res;
  constructor(response: Res, code: number) {
    super(`error code ${code}: trying again`);
    this.response = response;
  }
}

/**
 * Sends a request to `target` at the highest version both sides support
 * (at most `maxVersion`) until no code of `codes` asks for another attempt
 * or the deadline passes; the last response is then returned, its errors
 * for the caller to report.
 */
async function ask<Req, Res>(
  router: Router,
  target: Target,
  api: Api<Req, Res>,
  body: Encodable<Req>,
  call: Call,
  codes: (response: Res) => Iterable<number>,
  maxVersion = Infinity,
  checkVersion?: (version: number, address: string) => void,
): Promise<Res> {
  try {
    return await router.retry(call, async () => {
      const conn = await target.connect(call);
      const version = Math.min(maxVersion, conn.pickVersion(api));
      checkVersion?.(version, conn.address);
      let response: Res;
      try {
        response = await router.send(conn, api, body, call, version);
      } catch (error) {
        target.forget();
        throw error;
      }
      for (const code of codes(response)) {
        if (MOVED.has(code)) target.forget();
        if (AGAIN.has(code)) throw new Again(response, code);
      }
      return response;
    }, (error) => error instanceof Again || routingError(error));
  } catch (error) {
    if (error instanceof Again) return error.response as Res;
    throw error;
  }
}

/**
 * Sends a request whose answer carries one error code, as `ask` does, and
 * throws that code's KafkaError; resolves with the response otherwise.
 */
async function askOrThrow<Req, Res extends { errorCode: number }>(
  router: Router,
  target: Target,
  api: Api<Req, Res>,
  body: Encodable<Req>,
  options: CallOptions,
  transactionalId: string | null,
  checkVersion?: (version: number, address: string) => void,
): Promise<Res> {
  const call = router.call(options);
  const response = await ask(
    router,
    target,
    api,
    body,
    call,
    (r) => [r.errorCode],
    Infinity,
    checkVersion,
  );
  throwItemError(response.errorCode, api.name, transactionalId);
  return response;
}

/**
 * One result per partition, in order, with the error code `codeOf` finds
 * for it in the broker's answer (UNKNOWN_SERVER_ERROR where it finds none).
 */
function partitionResults(
  partitions: readonly TopicPartition[],
  apiName: string,
  codeOf: (topic: string, partition: number) => number | undefined,
): TxnPartitionResult[] {
  return partitions.map(({ topic, partition }) => {
    const code = codeOf(topic, partition);
    return {
      topic,
      partition,
      error: itemError(
        code ?? -1,
        code === undefined
          ? "the broker's answer left the partition out"
          : null,
        { apiName, topic, partition },
      ),
    };
  });
}

/** Throws the KafkaError of a nonzero code. */
function throwItemError(
  code: number,
  apiName: string,
  transactionalId: string | null,
): void {
  const error = itemError(
    code,
    transactionalId === null
      ? null
      : `transactional id ${JSON.stringify(transactionalId)}`,
    { apiName },
  );
  if (error) throw error;
}

/** Throws unless `value` is a non-empty string. */
function checkText(
  method: string,
  argument: string,
  value: unknown,
  what: string,
): void {
  if (typeof value !== "string" || value === "") {
    throw badArgument(
      method,
      argument,
      value,
      `a ${what} (a non-empty string)`,
    );
  }
}

/** Throws unless `request` names a transactional producer. */
function checkProducer(method: string, request: unknown): void {
  if (request === null || typeof request !== "object" || isList(request)) {
    throw badArgument(
      method,
      "request",
      request,
      "an object with transactionalId, producerId and producerEpoch",
    );
  }
  const r = request as Partial<TransactionalProducer>;
  checkText(method, "transactionalId", r.transactionalId, "transactional id");
  if (!Number.isSafeInteger(r.producerId) || r.producerId! < 0) {
    throw badArgument(
      method,
      "producerId",
      r.producerId,
      "a producer id from initProducerId (an integer >= 0)",
    );
  }
  if (
    !Number.isInteger(r.producerEpoch) || r.producerEpoch! < 0 ||
    r.producerEpoch! > EPOCH_MAX
  ) {
    throw badArgument(
      method,
      "producerEpoch",
      r.producerEpoch,
      `an epoch from initProducerId (an integer from 0 to ${EPOCH_MAX})`,
    );
  }
}

/** Items grouped by topic, in the order topics first appear. */
function byTopic<T extends TopicPartition, U>(
  items: readonly T[],
  map: (item: T) => U,
): [string, U[]][] {
  const topics = new Map<string, Map<number, U>>();
  for (const item of items) {
    let partitions = topics.get(item.topic);
    if (!partitions) {
      partitions = new Map();
      topics.set(item.topic, partitions);
    }
    // A partition named twice is sent once, with its last value.
    partitions.set(item.partition, map(item));
  }
  return [...topics].map(([topic, partitions]) => [topic, [
    ...partitions.values(),
  ]]);
}
