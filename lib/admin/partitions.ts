/**
 * Partitions: deleting records (at each partition's leader), electing
 * leaders, and moving replicas (reassignments, at the controller).
 *
 * @module
 */

import { requireVersion } from "../requests/versions.ts";
import { byTopicPartition, type TopicPartition } from "../message.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { AlterPartitionReassignments } from "../protocol/messages/alter_partition_reassignments.ts";
import { DeleteRecords } from "../protocol/messages/delete_records.ts";
import { ElectLeaders } from "../protocol/messages/elect_leaders.ts";
import { ListPartitionReassignments } from "../protocol/messages/list_partition_reassignments.ts";
import {
  type CallOptions,
  itemError,
  itemFailure,
  type Router,
} from "../cluster/route.ts";
import { badArgument, isList } from "../requests/arguments.ts";
import { checkPartitions } from "../requests/arguments.ts";
import { checkOptionNames, optionNames } from "../options.ts";

export type { TopicPartition };

/**
 * Records to delete from a partition: every record before an offset.
 *
 * @example
 * ```ts
 * import type { RecordsToDelete } from "./partitions.ts";
 * const r: RecordsToDelete[] = [
 *   { topic: "orders", partition: 0, before: 1000 },
 *   { topic: "orders", partition: 1, before: "highWatermark" },
 * ];
 * ```
 */
export interface RecordsToDelete extends TopicPartition {
  /**
   * Records before this offset are deleted: the partition's new low
   * watermark; "highWatermark" deletes every record written so far.
   */
  before: number | "highWatermark";
}

/**
 * What became of one partition of `deleteRecords`.
 *
 * @example
 * ```ts
 * import type { DeletedRecords } from "./partitions.ts";
 * const d: DeletedRecords = { topic: "orders", partition: 0, lowWatermark: 1000, error: null };
 * ```
 */
export interface DeletedRecords extends TopicPartition {
  /** The partition's first offset now, -1 on error. */
  lowWatermark: number;
  /** Why records were not deleted (e.g. OFFSET_OUT_OF_RANGE), or null. */
  error: KafkaError | null;
}

/**
 * Which replica an election makes leader: the preferred one (the first of
 * the partition's replicas, when in sync), or, for "unclean", any live
 * replica when none is in sync (records may be lost).
 *
 * @example
 * ```ts
 * import type { ElectionType } from "./partitions.ts";
 * const election: ElectionType = "preferred";
 * ```
 */
export type ElectionType = "preferred" | "unclean";

/**
 * What became of one partition of `electLeaders`.
 *
 * @example
 * ```ts
 * import type { ElectionResult } from "./partitions.ts";
 * const r: ElectionResult = { topic: "orders", partition: 0, error: null };
 * ```
 */
export interface ElectionResult extends TopicPartition {
  /**
   * Why no leader was elected (e.g. ELECTION_NOT_NEEDED: it already leads),
   * or null.
   */
  error: KafkaError | null;
}

/**
 * Where a partition's replicas should move, or null to cancel its
 * reassignment in progress.
 *
 * @example
 * ```ts
 * import type { PartitionReassignment } from "./partitions.ts";
 * const moves: PartitionReassignment[] = [
 *   { topic: "orders", partition: 0, replicas: [2, 3, 1] },
 *   { topic: "orders", partition: 1, replicas: null },
 * ];
 * ```
 */
export interface PartitionReassignment extends TopicPartition {
  /** Broker ids of the new replicas, preferred leader first; null cancels. */
  replicas: readonly number[] | null;
}

/**
 * Options of `alterPartitionReassignments`.
 *
 * @example
 * ```ts
 * import type { AlterPartitionReassignmentsOptions } from "./partitions.ts";
 * const options: AlterPartitionReassignmentsOptions = { allowReplicationFactorChange: false };
 * ```
 */
export interface AlterPartitionReassignmentsOptions extends CallOptions {
  /**
   * Whether a reassignment may change a partition's number of replicas
   * (default true; false needs brokers of Kafka 4.0 or later, KIP-860).
   */
  allowReplicationFactorChange?: boolean | undefined;
}

/**
 * What became of one partition of `alterPartitionReassignments`.
 *
 * @example
 * ```ts
 * import type { ReassignmentResult } from "./partitions.ts";
 * const r: ReassignmentResult = { topic: "orders", partition: 0, error: null };
 * ```
 */
export interface ReassignmentResult extends TopicPartition {
  /**
   * Why it was refused (e.g. INVALID_REPLICA_ASSIGNMENT, or
   * NO_REASSIGNMENT_IN_PROGRESS to a cancel), or null.
   */
  error: KafkaError | null;
}

/**
 * A partition whose replicas are moving.
 *
 * @example
 * ```ts
 * import type { OngoingReassignment } from "./partitions.ts";
 * const r: OngoingReassignment = {
 *   topic: "orders", partition: 0, replicas: [1, 2, 3], addingReplicas: [3], removingReplicas: [1],
 * };
 * ```
 */
export interface OngoingReassignment extends TopicPartition {
  /** Every replica now, the ones coming and going included. */
  replicas: number[];
  /** Replicas being added. */
  addingReplicas: number[];
  /** Replicas being removed. */
  removingReplicas: number[];
}

/** The names of `RecordsToDelete`. */
const RECORDS_TO_DELETE_FIELDS = optionNames<RecordsToDelete>()(
  "topic",
  "partition",
  "before",
);

/**
 * Deletes the records of partitions before given offsets, at each
 * partition's leader (retried where leadership moved); one result per
 * partition, in order, with its new low watermark or its error.
 *
 * @example
 * ```ts
 * import { Cluster } from "../cluster/cluster.ts";
 * import { deleteRecords } from "./partitions.ts";
 * import { Router } from "../cluster/route.ts";
 * import { createTopics, deleteTopics } from "./topics.ts";
 *
 * const cluster = new Cluster({ brokers: ["localhost:9092"] });
 * const router = new Router(cluster, 10_000);
 * await createTopics(router, [{ topic: "docs-delete-records", numPartitions: 1 }]);
 * const [deleted] = await deleteRecords(router, [
 *   { topic: "docs-delete-records", partition: 0, before: "highWatermark" },
 * ]);
 * console.log(deleted.lowWatermark, deleted.error); // 0 null
 * await deleteTopics(router, ["docs-delete-records"]);
 * await cluster.close();
 * ```
 */
export async function deleteRecords(
  client: Router,
  records: readonly RecordsToDelete[],
  options: CallOptions = {},
): Promise<DeletedRecords[]> {
  // The leader holds the request until the replicas follow (timeoutMs).
  const router = client.waiting;
  checkDistinctPartitions("deleteRecords", "records", records, (r, at) => {
    // `offset` for `before` would fail below as a missing offset.
    checkOptionNames(
      `Client.deleteRecords: "${at}"`,
      r,
      RECORDS_TO_DELETE_FIELDS,
      {},
      "field",
    );
    const before = r.before;
    if (
      before !== "highWatermark" &&
      !(Number.isSafeInteger(before) && (before as number) >= 0)
    ) {
      throw badArgument(
        "deleteRecords",
        `${at}.before`,
        before,
        'an offset (an integer >= 0) or "highWatermark"',
      );
    }
  });
  if (records.length === 0) return [];
  const call = router.call(options);
  const unreached = new Set<KafkaError>();
  const failed = (r: RecordsToDelete, error: unknown): DeletedRecords => {
    const wrapped = itemFailure(error, call);
    if (wrapped !== error) unreached.add(wrapped);
    return { ...partitionOf(r), lowWatermark: -1, error: wrapped };
  };
  // A partition missing from cached metadata is looked up afresh once.
  const refreshed = new Set<string>();
  const results = await router.fanOut(call, records, {
    node: async ({ topic, partition }) => {
      try {
        return (await router.cluster.leader(topic, partition, router.lane))
          .conn;
      } catch (error) {
        const unknown = error instanceof KafkaError &&
          error.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        if (!unknown || refreshed.has(topic)) throw error;
        refreshed.add(topic);
        router.cluster.invalidate(topic);
        return (await router.cluster.leader(topic, partition, router.lane))
          .conn;
      }
    },
    moved: (r) => router.cluster.invalidate(r.topic),
    errorOf: (r) => r.error,
    failed,
    send: async (conn, batch) => {
      const response = await router.send(conn, DeleteRecords, {
        timeoutMs: router.brokerWait(call),
        topics: [...byTopic(batch)].map(([name, items]) => ({
          name,
          partitions: items.map((r) => ({
            partitionIndex: r.partition,
            offset: r.before === "highWatermark" ? -1 : r.before,
          })),
        })),
      }, call);
      return batch.map((r) => {
        const p = response.topics.find((t) => t.name === r.topic)?.partitions
          .find((x) => x.partitionIndex === r.partition);
        const context = { apiName: "DeleteRecords", ...partitionOf(r) };
        if (!p) return failed(r, leftOut(conn.address, context));
        const error = itemError(p.errorCode, null, context);
        return {
          ...partitionOf(r),
          lowWatermark: error ? -1 : p.lowWatermark,
          error,
        };
      });
    },
  });
  if (unreached.size === results.length) {
    throw (results[0].error as KafkaError).cause;
  }
  return results;
}

/**
 * Elects partitions' leaders at the controller: the preferred replica, or
 * for "unclean" any live one where none is in sync. With `partitions` null
 * (the default), every partition that needs it; one result per partition
 * (in order when given, else sorted), each with its error.
 *
 * @example
 * ```ts
 * import { Cluster } from "../cluster/cluster.ts";
 * import { electLeaders } from "./partitions.ts";
 * import { Router } from "../cluster/route.ts";
 * import { createTopics, deleteTopics } from "./topics.ts";
 *
 * const cluster = new Cluster({ brokers: ["localhost:9092"] });
 * const router = new Router(cluster, 10_000);
 * await createTopics(router, [{ topic: "docs-elect", numPartitions: 1 }]);
 * const [result] = await electLeaders(router, "preferred", [
 *   { topic: "docs-elect", partition: 0 },
 * ]);
 * console.log(result.error?.name); // ELECTION_NOT_NEEDED: it leads already
 * await deleteTopics(router, ["docs-elect"]);
 * await cluster.close();
 * ```
 */
export async function electLeaders(
  router: Router,
  election: ElectionType,
  partitions: readonly TopicPartition[] | null = null,
  options: CallOptions = {},
): Promise<ElectionResult[]> {
  if (election !== "preferred" && election !== "unclean") {
    throw badArgument(
      "electLeaders",
      "election",
      election,
      '"preferred" or "unclean"',
    );
  }
  if (partitions !== null) {
    checkDistinctPartitions("electLeaders", "partitions", partitions);
    if (partitions.length === 0) return [];
  }
  const call = router.call(options);
  const response = await router.waiting.controller(
    ElectLeaders,
    (conn) => {
      if (election === "unclean") {
        requireVersion(
          conn,
          ElectLeaders,
          1,
          'electLeaders "unclean"',
          "Kafka 2.4 or later, KIP-460",
        );
      }
      return {
        electionType: election === "preferred" ? 0 : 1,
        timeoutMs: router.brokerWait(call),
        topicPartitions: partitions && [...byTopic(partitions)].map((
          [topic, items],
        ) => ({ topic, partitions: items.map((p) => p.partition) })),
      };
    },
    call,
    (r) => [r.errorCode],
  );
  const error = itemError(response.errorCode, null, {
    apiName: "ElectLeaders",
  });
  if (error) throw error;
  const results = response.replicaElectionResults.flatMap((t) =>
    t.partitionResult.map((p) => {
      const tp = { topic: t.topic, partition: p.partitionId };
      const context = { apiName: "ElectLeaders", ...tp };
      return { ...tp, error: itemError(p.errorCode, p.errorMessage, context) };
    })
  );
  if (partitions === null) return results.sort(byTopicPartition);
  return partitions.map((tp) =>
    results.find((r) => r.topic === tp.topic && r.partition === tp.partition) ??
      {
        ...partitionOf(tp),
        error: leftOut("the controller", {
          apiName: "ElectLeaders",
          ...partitionOf(tp),
        }),
      }
  );
}

/**
 * Moves partitions' replicas to other brokers, or with `replicas` null
 * cancels a move in progress, at the controller; one result per partition,
 * in order, each with its error. The move goes on in the background:
 * `listPartitionReassignments` shows it until done.
 *
 * @example
 * ```ts
 * import { Cluster } from "../cluster/cluster.ts";
 * import { alterPartitionReassignments } from "./partitions.ts";
 * import { Router } from "../cluster/route.ts";
 * import { createTopics, deleteTopics } from "./topics.ts";
 *
 * const cluster = new Cluster({ brokers: ["localhost:9092"] });
 * const router = new Router(cluster, 10_000);
 * await createTopics(router, [{ topic: "docs-reassign", numPartitions: 1 }]);
 * const [broker] = await cluster.brokers();
 * const [result] = await alterPartitionReassignments(router, [
 *   { topic: "docs-reassign", partition: 0, replicas: [broker.id] },
 * ]);
 * console.log(result.error); // null: it is there already
 * await deleteTopics(router, ["docs-reassign"]);
 * await cluster.close();
 * ```
 */
export async function alterPartitionReassignments(
  router: Router,
  reassignments: readonly PartitionReassignment[],
  options: AlterPartitionReassignmentsOptions = {},
): Promise<ReassignmentResult[]> {
  const method = "alterPartitionReassignments";
  checkDistinctPartitions(method, "reassignments", reassignments, (r, at) => {
    const replicas: unknown = r.replicas;
    if (
      replicas !== null &&
      (!isList(replicas) ||
        (replicas as unknown[]).some((id) =>
          !Number.isInteger(id) || (id as number) < 0
        ))
    ) {
      throw badArgument(
        method,
        `${at}.replicas`,
        replicas,
        "an array of broker ids, or null to cancel",
      );
    }
  });
  if (reassignments.length === 0) return [];
  const call = router.call(options);
  const response = await router.waiting.controller(
    AlterPartitionReassignments,
    (conn) => {
      if (options.allowReplicationFactorChange === false) {
        requireVersion(
          conn,
          AlterPartitionReassignments,
          1,
          'alterPartitionReassignments "allowReplicationFactorChange: false"',
          "KIP-860",
        );
      }
      return {
        timeoutMs: router.brokerWait(call),
        allowReplicationFactorChange: options.allowReplicationFactorChange ??
          true,
        topics: [...byTopic(reassignments)].map(([name, items]) => ({
          name,
          partitions: items.map((r) => ({
            partitionIndex: r.partition,
            replicas: r.replicas && [...r.replicas],
          })),
        })),
      };
    },
    call,
    (r) => [r.errorCode],
  );
  const error = itemError(response.errorCode, response.errorMessage, {
    apiName: "AlterPartitionReassignments",
  });
  if (error) throw error;
  return reassignments.map((r) => {
    const context = {
      apiName: "AlterPartitionReassignments",
      ...partitionOf(r),
    };
    const p = response.responses.find((t) => t.name === r.topic)?.partitions
      .find((x) => x.partitionIndex === r.partition);
    return {
      ...partitionOf(r),
      error: p
        ? itemError(p.errorCode, p.errorMessage, context)
        : leftOut("the controller", context),
    };
  });
}

/**
 * The reassignments in progress, of every partition (`partitions` null,
 * the default) or of the given ones, sorted by topic and partition.
 *
 * @example
 * ```ts
 * import { Cluster } from "../cluster/cluster.ts";
 * import { listPartitionReassignments } from "./partitions.ts";
 * import { Router } from "../cluster/route.ts";
 *
 * const cluster = new Cluster({ brokers: ["localhost:9092"] });
 * const router = new Router(cluster, 10_000);
 * for (const r of await listPartitionReassignments(router)) {
 *   console.log(`${r.topic}/${r.partition}: +${r.addingReplicas} -${r.removingReplicas}`);
 * }
 * await cluster.close();
 * ```
 */
export async function listPartitionReassignments(
  router: Router,
  partitions: readonly TopicPartition[] | null = null,
  options: CallOptions = {},
): Promise<OngoingReassignment[]> {
  if (partitions !== null) {
    checkDistinctPartitions(
      "listPartitionReassignments",
      "partitions",
      partitions,
    );
    if (partitions.length === 0) return [];
  }
  const call = router.call(options);
  const response = await router.controller(
    ListPartitionReassignments,
    () => ({
      timeoutMs: router.brokerWait(call),
      topics: partitions && [...byTopic(partitions)].map(([name, items]) => ({
        name,
        partitionIndexes: items.map((p) => p.partition),
      })),
    }),
    call,
    (r) => [r.errorCode],
  );
  const error = itemError(response.errorCode, response.errorMessage, {
    apiName: "ListPartitionReassignments",
  });
  if (error) throw error;
  return response.topics.flatMap((t) =>
    t.partitions.map((p) => ({
      topic: t.name,
      partition: p.partitionIndex,
      replicas: p.replicas,
      addingReplicas: p.addingReplicas,
      removingReplicas: p.removingReplicas,
    }))
  ).sort(byTopicPartition);
}

/**
 * Throws a TypeError unless `items` is an array of distinct partitions
 * (topic name, partition number) that `check` accepts.
 */
function checkDistinctPartitions<T extends TopicPartition>(
  method: string,
  argument: string,
  items: readonly T[],
  check: (item: T, at: string) => void = () => {},
): void {
  const seen = new Set<string>();
  checkPartitions(method, argument, items, (item, at) => {
    const key = `${item.partition}:${item.topic}`;
    if (seen.has(key)) {
      throw badArgument(method, at, partitionOf(item), "each partition once");
    }
    seen.add(key);
    check(item, at);
  });
}

/** Items grouped by topic, topics and items in their first order. */
function byTopic<T extends TopicPartition>(
  items: readonly T[],
): Map<string, T[]> {
  const topics = new Map<string, T[]>();
  for (const item of items) {
    const list = topics.get(item.topic);
    if (list) list.push(item);
    else topics.set(item.topic, [item]);
  }
  return topics;
}

/** Just the topic and partition of an item. */
function partitionOf(item: TopicPartition): TopicPartition {
  return { topic: item.topic, partition: item.partition };
}

/** The error of a partition a broker's answer left out. */
function leftOut(
  who: string,
  context: { apiName: string; topic: string; partition: number },
): KafkaError {
  return new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, {
    ...context,
    detail: `${who} left the partition out of its answer`,
  });
}
