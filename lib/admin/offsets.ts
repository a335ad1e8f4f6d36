/**
 * Offsets: of partitions (ListOffsets, from each leader) and of groups
 * (OffsetFetch, OffsetCommit, OffsetDelete, at the group's coordinator).
 *
 * @module
 */

import { requireVersion, unsupportedAt } from "../requests/versions.ts";
import type { BrokerConnection } from "../connection/connection.ts";
import { ErrorCode, type KafkaError } from "../protocol/errors.ts";
import { ListOffsets } from "../protocol/messages/list_offsets.ts";
import { OffsetCommit } from "../protocol/messages/offset_commit.ts";
import { OffsetDelete } from "../protocol/messages/offset_delete.ts";
import { OffsetFetch } from "../protocol/messages/offset_fetch.ts";
import {
  type CommitOutcome,
  commitOutcomes,
  type CommittedOffset,
  committedOffsets,
  offsetCommitRequest,
  offsetFetchRequest,
  type OffsetToCommit,
  type VersionedRequest,
} from "../requests/offsets.ts";
import type { Api } from "../protocol/api.ts";
import {
  type Call,
  type CallOptions,
  itemError,
  type Router,
} from "../cluster/route.ts";
import { badArgument, checkPartitions } from "../requests/arguments.ts";
import { optionNames } from "../options.ts";

import type { TopicPartition } from "../message.ts";

export type { CommitOutcome, CommittedOffset, OffsetToCommit, TopicPartition };

/**
 * Which offset of a partition `listOffsets` asks for: the first, the next
 * to be written, the one of the largest timestamp, or the first at or after
 * a time (a Date or ms since epoch).
 *
 * @example
 * ```ts
 * import type { OffsetSpec } from "./offsets.ts";
 *
 * const specs: OffsetSpec[] = ["earliest", "latest", "maxTimestamp", new Date(0)];
 * console.log(specs.length);
 * ```
 */
export type OffsetSpec =
  | "earliest"
  | "latest"
  | "maxTimestamp"
  | Date
  | number;

/**
 * One partition and the offset wanted of it.
 *
 * @example
 * ```ts
 * import type { OffsetQuery } from "./offsets.ts";
 *
 * const q: OffsetQuery = { topic: "orders", partition: 0, at: "latest" };
 * console.log(q.at);
 * ```
 */
export interface OffsetQuery extends TopicPartition {
  /** Which offset (default "latest"). */
  at?: OffsetSpec | undefined;
}

/**
 * A partition's offset as ListOffsets answers.
 *
 * @example
 * ```ts
 * import type { ListedOffset } from "./offsets.ts";
 *
 * const o: ListedOffset = {
 *   topic: "orders", partition: 0, offset: 42, timestamp: -1, leaderEpoch: 0,
 *   error: null,
 * };
 * console.log(o.offset);
 * ```
 */
export interface ListedOffset extends TopicPartition {
  /** The offset; -1 when no record is at or after the time asked. */
  offset: number;
  /** The record's timestamp for time queries, else -1. */
  timestamp: number;
  /** The leader epoch of the offset, -1 if unknown. */
  leaderEpoch: number;
  /** The partition's error (e.g. UNKNOWN_TOPIC_OR_PARTITION), or null. */
  error: KafkaError | null;
}

/**
 * Options of `listOffsets`.
 *
 * @example
 * ```ts
 * import type { ListOffsetsOptions } from "./offsets.ts";
 *
 * const options: ListOffsetsOptions = { isolationLevel: "read_committed" };
 * console.log(options.isolationLevel);
 * ```
 */
export interface ListOffsetsOptions extends CallOptions {
  /**
   * "read_committed" makes "latest" the last stable offset (before open
   * transactions); default "read_uncommitted", the high watermark.
   */
  isolationLevel?: "read_uncommitted" | "read_committed" | undefined;
}

/**
 * Who commits with `offsetCommit`: by default nobody in particular (an
 * admin commit, accepted while the group has no members).
 *
 * @example
 * ```ts
 * import type { OffsetCommitOptions } from "./offsets.ts";
 *
 * const options: OffsetCommitOptions = { generationId: -1, memberId: "" };
 * console.log(options.memberId === "");
 * ```
 */
export interface OffsetCommitOptions extends CallOptions {
  /** The member's generation (member epoch for consumer groups); default -1. */
  generationId?: number | undefined;
  /** The member's id; default "". */
  memberId?: string | undefined;
  /** The static member's instance id; default null. */
  groupInstanceId?: string | null | undefined;
}

/**
 * What became of one partition of `offsetDelete`.
 *
 * @example
 * ```ts
 * import type { OffsetDeleteResult } from "./offsets.ts";
 *
 * const r: OffsetDeleteResult = { topic: "orders", partition: 0, error: null };
 * console.log(r.error);
 * ```
 */
export interface OffsetDeleteResult extends TopicPartition {
  /** Why it was kept (e.g. GROUP_SUBSCRIBED_TO_TOPIC), or null. */
  error: KafkaError | null;
}

/** The ListOffsets timestamp of a spec. */
function timestampOf(at: OffsetSpec | undefined): number {
  if (at === undefined || at === "latest") return -1;
  if (at === "earliest") return -2;
  if (at === "maxTimestamp") return -3;
  return at instanceof Date ? at.getTime() : at;
}

/**
 * Sends the request `request` makes (whose version depends on its content,
 * at most `maxVersion`: the highest the coordinator supports) to the
 * group's coordinator, as `Router.coordinator`; the response, and the
 * address of the coordinator that gave it.
 */
async function askGroupCoordinator<Req, Res>(
  router: Router,
  call: Call,
  groupId: string,
  api: Api<Req, Res>,
  request: (maxVersion: number) => VersionedRequest<Req>,
  codes: (response: Res) => Iterable<number>,
): Promise<{ response: Res; address: string }> {
  let address = "";
  let version = 0;
  const response = await router.coordinator(
    "group",
    groupId,
    api,
    (conn) => {
      address = conn.address;
      const made = request(conn.pickVersion(api));
      version = made.version;
      return made.body;
    },
    call,
    codes,
    () => version,
  );
  return { response, address };
}

/** Throws unless `groupId` is a group id. */
export function checkGroupId(method: string, groupId: unknown): void {
  if (typeof groupId !== "string" || groupId === "") {
    throw badArgument(
      method,
      "groupId",
      groupId,
      "a group id (a non-empty string)",
    );
  }
}

/** The fields of a query of listOffsets. */
const QUERY_FIELDS = optionNames<OffsetQuery>()("topic", "partition", "at");

/** The fields of an offset to commit. */
const COMMIT_FIELDS = optionNames<OffsetToCommit>()(
  "topic",
  "topicId",
  "partition",
  "offset",
  "leaderEpoch",
  "metadata",
);

/**
 * Offsets of partitions, asked of each partition's leader; one result per
 * query, in order.
 */
export async function listOffsets(
  router: Router,
  queries: readonly OffsetQuery[],
  options: ListOffsetsOptions = {},
): Promise<ListedOffset[]> {
  checkPartitions("listOffsets", "queries", queries, undefined, QUERY_FIELDS);
  queries.forEach((q, i) => {
    const at = q.at;
    const ok = at === undefined || at === "earliest" || at === "latest" ||
      at === "maxTimestamp" ||
      (at instanceof Date && !Number.isNaN(at.getTime())) ||
      (typeof at === "number" && Number.isInteger(at) && at >= 0);
    if (!ok) {
      throw badArgument(
        "listOffsets",
        `queries[${i}].at`,
        at,
        `"earliest", "latest", "maxTimestamp", a Date or a timestamp in ms`,
      );
    }
  });
  const level = options.isolationLevel ?? "read_uncommitted";
  if (level !== "read_uncommitted" && level !== "read_committed") {
    throw badArgument(
      "listOffsets",
      "isolationLevel",
      level,
      `"read_uncommitted" or "read_committed"`,
    );
  }
  const call = router.call(options);
  return await leaderOffsets(router, call, queries, level === "read_committed");
}

/**
 * ListOffsets of `queries`, split by leader; shared with lag.ts and
 * topics.ts. With `once`, a failure is not retried but left in its result.
 */
export function leaderOffsets(
  router: Router,
  call: Call,
  queries: readonly OffsetQuery[],
  readCommitted = false,
  once = false,
): Promise<ListedOffset[]> {
  return router.fanOut(call, queries, {
    retriable: once ? () => false : undefined,
    node: async (q) =>
      (await router.cluster.leader(q.topic, q.partition, router.lane)).conn,
    moved: (q) => router.cluster.invalidate(q.topic),
    errorOf: (r) => r.error,
    failed: unlisted,
    send: async (conn: BrokerConnection, batch) => {
      // A partition may appear once per request: repeats go in the next.
      const layers: OffsetQuery[][] = [];
      for (const q of batch) {
        const free = layers.find((l) =>
          !l.some((x) => x.topic === q.topic && x.partition === q.partition)
        );
        if (free) free.push(q);
        else layers.push([q]);
      }
      const answers = await Promise.all(
        layers.map((l) => askLeader(router, call, conn, l, readCommitted)),
      );
      return batch.map((q) => answers.find((a) => a.has(q))!.get(q)!);
    },
  });
}

/** The result of a query that failed with `error`. */
function unlisted(q: OffsetQuery, error: unknown): ListedOffset {
  return {
    topic: q.topic,
    partition: q.partition,
    offset: -1,
    timestamp: -1,
    leaderEpoch: -1,
    error: error as KafkaError,
  };
}

/** One ListOffsets request, for queries of distinct partitions. */
async function askLeader(
  router: Router,
  call: Call,
  conn: BrokerConnection,
  batch: readonly OffsetQuery[],
  readCommitted: boolean,
): Promise<Map<OffsetQuery, ListedOffset>> {
  // ListOffsets before v7 (Kafka 3.0, KIP-734) knows no -3: an older
  // broker would take it for a timestamp and answer the first offset.
  if (batch.some((q) => q.at === "maxTimestamp")) {
    requireVersion(
      conn,
      ListOffsets,
      7,
      'listOffsets "maxTimestamp"',
      "Kafka 3.0 or later, KIP-734",
    );
  }
  const topics = new Map<
    string,
    { partitionIndex: number; timestamp: number }[]
  >();
  for (const q of batch) {
    const list = topics.get(q.topic) ?? [];
    list.push({ partitionIndex: q.partition, timestamp: timestampOf(q.at) });
    topics.set(q.topic, list);
  }
  const response = await router.send(conn, ListOffsets, {
    replicaId: -1,
    isolationLevel: readCommitted ? 1 : 0,
    timeoutMs: router.brokerWait(call),
    topics: [...topics].map(([name, partitions]) => ({ name, partitions })),
  }, call);
  const results = new Map<OffsetQuery, ListedOffset>();
  for (const q of batch) {
    const where = {
      apiName: "ListOffsets",
      topic: q.topic,
      partition: q.partition,
    };
    const p = response.topics.find((t) => t.name === q.topic)?.partitions
      .find((x) => x.partitionIndex === q.partition);
    results.set(
      q,
      p
        ? {
          topic: q.topic,
          partition: q.partition,
          offset: p.offset,
          timestamp: p.timestamp,
          leaderEpoch: p.leaderEpoch,
          error: itemError(p.errorCode, null, where),
        }
        : unlisted(
          q,
          itemError(
            ErrorCode.UNKNOWN_SERVER_ERROR,
            `${conn.address} left the partition out of its answer`,
            where,
          ),
        ),
    );
  }
  return results;
}

/** The group-level error codes of an OffsetFetch response. */
function fetchCodes(r: {
  errorCode: number;
  groups: { errorCode: number }[];
}): number[] {
  return [r.errorCode, ...r.groups.map((g) => g.errorCode)];
}

/**
 * The offsets a group committed: for `partitions`, or for every partition
 * it committed when null. A partition without a commit has offset -1.
 */
export async function offsetFetch(
  router: Router,
  groupId: string,
  partitions: readonly TopicPartition[] | null = null,
  options: CallOptions & { requireStable?: boolean } = {},
): Promise<CommittedOffset[]> {
  checkGroupId("offsetFetch", groupId);
  if (partitions !== null) {
    checkPartitions("offsetFetch", "partitions", partitions);
  }
  const { response, address } = await askGroupCoordinator(
    router,
    router.call(options),
    groupId,
    OffsetFetch,
    (maxVersion) => {
      // OffsetFetch before v7 (Kafka 2.5, KIP-447) has no requireStable:
      // the codec would drop it and an offset a transaction is committing
      // would read as not committed (-1).
      if (options.requireStable && maxVersion < 7) {
        throw unsupportedAt(
          `The coordinator of group "${groupId}"`,
          OffsetFetch,
          maxVersion,
          7,
          'offsetFetch "requireStable"',
          "Kafka 2.5 or later, KIP-447",
        );
      }
      return offsetFetchRequest(groupId, partitions, maxVersion, {
        requireStable: options.requireStable,
      });
    },
    fetchCodes,
  );
  return committedOffsets(response, groupId, partitions, address);
}

/**
 * Commits offsets for a group: by default as an admin (generation -1, no
 * member), which the coordinator accepts only while the group has no
 * members. One outcome per offset, in order.
 */
export async function offsetCommit(
  router: Router,
  groupId: string,
  offsets: readonly OffsetToCommit[],
  options: OffsetCommitOptions = {},
): Promise<CommitOutcome[]> {
  checkGroupId("offsetCommit", groupId);
  checkPartitions("offsetCommit", "offsets", offsets, undefined, COMMIT_FIELDS);
  const m = "offsetCommit";
  offsets.forEach((o, i) => {
    if (!Number.isInteger(o.offset) || o.offset < 0) {
      throw badArgument(
        m,
        `offsets[${i}].offset`,
        o.offset,
        "the next offset to read (an integer >= 0)",
      );
    }
    if (o.leaderEpoch !== undefined && !isInt32(o.leaderEpoch, -1)) {
      throw badArgument(
        m,
        `offsets[${i}].leaderEpoch`,
        o.leaderEpoch,
        "a leader epoch (an integer from -1 to 2147483647) or undefined",
      );
    }
    checkShortString(m, `offsets[${i}].metadata`, o.metadata);
  });
  if (
    options.generationId !== undefined &&
    !isInt32(options.generationId, -1)
  ) {
    throw badArgument(
      m,
      "options.generationId",
      options.generationId,
      "an integer from -1 to 2147483647",
    );
  }
  checkShortString(m, "options.memberId", options.memberId);
  checkShortString(m, "options.groupInstanceId", options.groupInstanceId);
  if (offsets.length === 0) return [];
  const { response, address } = await askGroupCoordinator(
    router,
    router.call(options),
    groupId,
    OffsetCommit,
    (maxVersion) =>
      offsetCommitRequest(offsets, {
        groupId,
        generationId: options.generationId ?? -1,
        memberId: options.memberId ?? "",
        groupInstanceId: options.groupInstanceId ?? null,
      }, maxVersion),
    (r) => r.topics.flatMap((t) => t.partitions.map((p) => p.errorCode)),
  );
  return commitOutcomes(response, offsets, address);
}

/** Whether `value` is an integer from `min` to the int32 maximum. */
function isInt32(value: unknown, min: number): boolean {
  return Number.isInteger(value) && (value as number) >= min &&
    (value as number) <= 0x7fffffff;
}

/**
 * Refuses what is not a string (or null or undefined) of at most 32,767
 * UTF-8 bytes, the most a protocol string holds.
 */
function checkShortString(method: string, at: string, value: unknown): void {
  if (value === undefined || value === null) return;
  if (typeof value !== "string") {
    throw badArgument(method, at, value, "a string, or null or undefined");
  }
  const bytes = new TextEncoder().encode(value).length;
  if (bytes > 0x7fff) {
    throw new RangeError(
      `Client.${method}: "${at}" is ${bytes} bytes in UTF-8; a Kafka string holds at most 32767`,
    );
  }
}

/**
 * Deletes a group's committed offsets of partitions; a partition of a
 * topic the group's members still subscribe to is kept, with the error
 * GROUP_SUBSCRIBED_TO_TOPIC.
 */
export async function offsetDelete(
  router: Router,
  groupId: string,
  partitions: readonly TopicPartition[],
  options: CallOptions = {},
): Promise<OffsetDeleteResult[]> {
  checkGroupId("offsetDelete", groupId);
  checkPartitions("offsetDelete", "partitions", partitions);
  if (partitions.length === 0) return [];
  const call = router.call(options);
  const topics = new Map<string, { partitionIndex: number }[]>();
  for (const p of partitions) {
    const list = topics.get(p.topic) ?? [];
    list.push({ partitionIndex: p.partition });
    topics.set(p.topic, list);
  }
  const response = await router.coordinator(
    "group",
    groupId,
    OffsetDelete,
    {
      groupId,
      topics: [...topics].map(([name, partitions]) => ({ name, partitions })),
    },
    call,
    (r) => [r.errorCode],
  );
  const groupError = itemError(response.errorCode, null, {
    apiName: "OffsetDelete",
  });
  if (groupError) throw groupError;
  return partitions.map((p) => {
    const found = response.topics.find((t) => t.name === p.topic)?.partitions
      .find((x) => x.partitionIndex === p.partition);
    return {
      topic: p.topic,
      partition: p.partition,
      error: itemError(
        found?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR,
        found ? null : "the coordinator left the partition out of its answer",
        { apiName: "OffsetDelete", topic: p.topic, partition: p.partition },
      ),
    };
  });
}
