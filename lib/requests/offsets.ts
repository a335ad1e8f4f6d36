/**
 * The OffsetCommit and OffsetFetch requests, built once for consumer groups
 * and the admin client: committing the offsets of many topic-partitions for
 * a group, reading them back, and each partition's outcome with its error.
 *
 * Versions: OffsetCommit v10 and OffsetFetch v10 (Kafka 4.x) name topics by
 * id only (KIP-516). The builders send both name and id and pick the version
 * with the negotiated one as ceiling: the highest when every topic's id is
 * known, v9 at most when one is not (a topic missing from the metadata, or
 * an OffsetFetch of all the group's topics, whose answer must name them).
 * Responses are matched by name or id, so either version reads the same.
 *
 * @module
 */

import type { Encodable } from "../protocol/api.ts";
import { ProtocolError, ZERO_UUID } from "../protocol/bytes.ts";
import { type KafkaErrorContext, throwIfError } from "../protocol/errors.ts";
import type {
  OffsetCommitRequest,
  OffsetCommitResponse,
} from "../protocol/messages/offset_commit.ts";
import type {
  OffsetFetchRequest,
  OffsetFetchResponse,
} from "../protocol/messages/offset_fetch.ts";

/** The last OffsetCommit and OffsetFetch versions that name topics by name. */
const LAST_BY_NAME = 9;

/**
 * A request body and the version to send it at (pass it as the `version`
 * option of `BrokerConnection.request`).
 *
 * @example
 * ```ts
 * import { offsetFetchRequest, type VersionedRequest } from "./offsets.ts";
 * import type { OffsetFetchRequest } from "../protocol/messages/offset_fetch.ts";
 *
 * const request: VersionedRequest<OffsetFetchRequest> = offsetFetchRequest(
 *   "my-group",
 *   null,
 *   10,
 * );
 * console.log(request.version); // 9: all topics, so named by name
 * ```
 */
export interface VersionedRequest<T> {
  /** The version the body is meant for. */
  version: number;
  /** The request body. */
  body: Encodable<T>;
}

/**
 * One topic-partition, named by topic and, where known, topic id.
 *
 * @example
 * ```ts
 * import type { OffsetPartition } from "./offsets.ts";
 *
 * const partition: OffsetPartition = { topic: "orders", partition: 0 };
 * console.log(partition.topicId ?? "id unknown");
 * ```
 */
export interface OffsetPartition {
  /** The topic's name. */
  topic: string;
  /**
   * The topic's id (`Cluster.topic(name).topicId`); v10 names topics by id.
   * Leave it out when unknown: the request then goes at v9 at most.
   */
  topicId?: string | undefined;
  /** The partition number. */
  partition: number;
}

/**
 * One partition's offset to commit.
 *
 * @example
 * ```ts
 * import type { OffsetToCommit } from "./offsets.ts";
 *
 * // The last message processed was at offset 41: the next to read is 42.
 * const commit: OffsetToCommit = { topic: "orders", partition: 0, offset: 42 };
 * console.log(commit.offset);
 * ```
 */
export interface OffsetToCommit extends OffsetPartition {
  /** The offset of the next message to read: the last one processed + 1. */
  offset: number;
  /** The leader epoch of the last message processed (default -1: unknown). */
  leaderEpoch?: number | undefined;
  /** Text kept with the offset (default ""). */
  metadata?: string | null | undefined;
}

/**
 * Who commits: the group, and the member and generation for a member of a
 * group. A "simple" group (offsets kept without membership) commits with
 * generation -1 and member id "".
 *
 * @example A simple group
 * ```ts
 * import type { Committer } from "./offsets.ts";
 *
 * const committer: Committer = {
 *   groupId: "my-group",
 *   generationId: -1,
 *   memberId: "",
 * };
 * console.log(committer.groupId);
 * ```
 */
export interface Committer {
  /** The group id. */
  groupId: string;
  /** The generation (classic groups) or member epoch; -1 without membership. */
  generationId: number;
  /** The member id the coordinator gave; "" without membership. */
  memberId: string;
  /** The static member id (KIP-345), or null (the default). */
  groupInstanceId?: string | null | undefined;
  /**
   * Milliseconds the broker keeps the offsets, -1 (the default) for its
   * `offsets.retention.minutes`. Only OffsetCommit v2-4 carries it: brokers
   * since Kafka 2.1 keep offsets by their own setting.
   */
  retentionTimeMs?: number | undefined;
}

/** True when `p` has a topic id that is not the zero UUID. */
function hasTopicId(p: OffsetPartition): p is OffsetPartition & {
  topicId: string;
} {
  return p.topicId !== undefined && p.topicId !== "" &&
    p.topicId !== ZERO_UUID;
}

/** Whether a response topic is the one named by `p`. */
function sameTopic(
  p: OffsetPartition,
  topic: { name: string; topicId: string },
): boolean {
  return topic.name === p.topic ||
    (hasTopicId(p) && topic.topicId === p.topicId);
}

/** The partitions grouped by topic, in their order. */
function byTopic<P extends OffsetPartition>(
  partitions: readonly P[],
): { topic: string; topicId: string; partitions: P[] }[] {
  const topics: { topic: string; topicId: string; partitions: P[] }[] = [];
  const index = new Map<string, (typeof topics)[number]>();
  for (const p of partitions) {
    let entry = index.get(p.topic);
    if (entry === undefined) {
      entry = { topic: p.topic, topicId: ZERO_UUID, partitions: [] };
      index.set(p.topic, entry);
      topics.push(entry);
    }
    if (hasTopicId(p)) entry.topicId = p.topicId;
    entry.partitions.push(p);
  }
  return topics;
}

/** The version to use: `maxVersion`, or v9 at most when names are needed. */
function versionFor(maxVersion: number, byName: boolean): number {
  return byName ? Math.min(maxVersion, LAST_BY_NAME) : maxVersion;
}

/** The KafkaError of `code` (through throwIfError), or null for 0. */
function errorOf(code: number, context: KafkaErrorContext): Error | null {
  try {
    throwIfError(code, context);
    return null;
  } catch (error) {
    return error as Error;
  }
}

/**
 * An OffsetCommit request committing `commits` for `committer`, grouped by
 * topic in their order, at `maxVersion` (`conn.pickVersion(OffsetCommit)`)
 * or v9 when a topic's id is missing.
 *
 * @example
 * ```ts
 * import { offsetCommitRequest } from "./offsets.ts";
 * import { OffsetCommit } from "../protocol/messages/offset_commit.ts";
 * import { ByteWriter } from "../protocol/bytes.ts";
 *
 * const { version, body } = offsetCommitRequest(
 *   [{ topic: "orders", partition: 0, offset: 42 }],
 *   { groupId: "my-group", generationId: -1, memberId: "" },
 *   10,
 * );
 * OffsetCommit.encodeRequest(new ByteWriter(64), version, body);
 * console.log(version); // 9: the topic's id is not given
 * ```
 */
export function offsetCommitRequest(
  commits: readonly OffsetToCommit[],
  committer: Committer,
  maxVersion: number,
): VersionedRequest<OffsetCommitRequest> {
  const topics = byTopic(commits);
  const version = versionFor(
    maxVersion,
    topics.some((t) => t.topicId === ZERO_UUID),
  );
  return {
    version,
    body: {
      groupId: committer.groupId,
      generationIdOrMemberEpoch: committer.generationId,
      memberId: committer.memberId,
      groupInstanceId: committer.groupInstanceId ?? null,
      retentionTimeMs: committer.retentionTimeMs ?? -1,
      topics: topics.map((t) => ({
        name: t.topic,
        topicId: t.topicId,
        partitions: t.partitions.map((c) => ({
          partitionIndex: c.partition,
          committedOffset: c.offset,
          committedLeaderEpoch: c.leaderEpoch ?? -1,
          committedMetadata: c.metadata ?? "",
        })),
      })),
    },
  };
}

/**
 * What the coordinator said of one committed partition.
 *
 * @example
 * ```ts
 * import type { CommitOutcome } from "./offsets.ts";
 *
 * const outcome: CommitOutcome = {
 *   topic: "orders",
 *   partition: 0,
 *   offset: 42,
 *   error: null,
 * };
 * console.log(outcome.error === null ? "committed" : outcome.error.message);
 * ```
 */
export interface CommitOutcome {
  /** The topic's name. */
  topic: string;
  /** The partition number. */
  partition: number;
  /** The offset that was to be committed. */
  offset: number;
  /**
   * Null when committed; else the partition's KafkaError (e.g.
   * UNKNOWN_TOPIC_OR_PARTITION, ILLEGAL_GENERATION, NOT_COORDINATOR), or a
   * ProtocolError when the response does not mention the partition.
   */
  error: Error | null;
}

/**
 * The outcome of each of `commits` in an OffsetCommit response, in their
 * order, matched by topic name or id. `address` names the coordinator in
 * the error of a partition the response leaves out.
 *
 * @example
 * ```ts
 * import { commitOutcomes } from "./offsets.ts";
 *
 * const outcomes = commitOutcomes(
 *   {
 *     throttleTimeMs: 0,
 *     topics: [{
 *       name: "orders",
 *       topicId: "AAAAAAAAAAAAAAAAAAAAAA",
 *       partitions: [{ partitionIndex: 0, errorCode: 0 }],
 *     }],
 *   },
 *   [{ topic: "orders", partition: 0, offset: 42 }],
 *   "localhost:9092",
 * );
 * console.log(outcomes[0].error); // null
 * ```
 */
export function commitOutcomes(
  response: OffsetCommitResponse,
  commits: readonly OffsetToCommit[],
  address: string,
): CommitOutcome[] {
  return commits.map((c) => {
    const found = response.topics.find((t) => sameTopic(c, t))?.partitions
      .find((p) => p.partitionIndex === c.partition);
    const error = found === undefined
      ? new ProtocolError(
        `OffsetCommit response from ${address} has no entry for ${c.topic}/${c.partition}`,
      )
      : errorOf(found.errorCode, {
        apiName: "OffsetCommit",
        topic: c.topic,
        partition: c.partition,
      });
    return { topic: c.topic, partition: c.partition, offset: c.offset, error };
  });
}

/**
 * Options of an OffsetFetch request.
 *
 * @example
 * ```ts
 * import type { OffsetFetchOptions } from "./offsets.ts";
 *
 * const options: OffsetFetchOptions = { requireStable: true };
 * console.log(options.requireStable);
 * ```
 */
export interface OffsetFetchOptions {
  /**
   * Whether a partition with a pending transactional commit answers
   * UNSTABLE_OFFSET_COMMIT (retriable) instead of the last stable offset
   * (default false; v7+).
   */
  requireStable?: boolean | undefined;
  /** The member id, for groups of the consumer protocol (default null; v9+). */
  memberId?: string | null | undefined;
  /** The member epoch, for groups of the consumer protocol (default -1; v9+). */
  memberEpoch?: number | undefined;
}

/**
 * An OffsetFetch request for the offsets `groupId` committed for
 * `partitions`, or for every partition it committed when null; at
 * `maxVersion` (`conn.pickVersion(OffsetFetch)`), or v9 when a topic's id is
 * missing or all topics are asked for (v10 would answer by id only).
 *
 * @example
 * ```ts
 * import { offsetFetchRequest } from "./offsets.ts";
 * import { OffsetFetch } from "../protocol/messages/offset_fetch.ts";
 * import { ByteWriter } from "../protocol/bytes.ts";
 *
 * const { version, body } = offsetFetchRequest(
 *   "my-group",
 *   [{ topic: "orders", topicId: "KJ9yJ0xrR9e3Ck4cNLjp4A", partition: 0 }],
 *   10,
 *   { requireStable: true },
 * );
 * OffsetFetch.encodeRequest(new ByteWriter(64), version, body);
 * console.log(version); // 10
 * ```
 */
export function offsetFetchRequest(
  groupId: string,
  partitions: readonly OffsetPartition[] | null,
  maxVersion: number,
  options: OffsetFetchOptions = {},
): VersionedRequest<OffsetFetchRequest> {
  const topics = partitions === null ? null : byTopic(partitions);
  const version = versionFor(
    maxVersion,
    topics === null || topics.some((t) => t.topicId === ZERO_UUID),
  );
  const indexes = (t: { partitions: OffsetPartition[] }) =>
    t.partitions.map((p) => p.partition);
  const requireStable = options.requireStable ?? false;
  if (version < 8) {
    // v1-7: one group at the top level.
    return {
      version,
      body: {
        groupId,
        topics: topics === null ? null : topics.map((t) => ({
          name: t.topic,
          partitionIndexes: indexes(t),
        })),
        requireStable,
      },
    };
  }
  // v8+: a list of groups (the member, v9+, and topic ids, v10+, are
  // ignorable: the encoder drops them below those versions).
  return {
    version,
    body: {
      groups: [{
        groupId,
        memberId: options.memberId ?? null,
        memberEpoch: options.memberEpoch ?? -1,
        topics: topics === null ? null : topics.map((t) => ({
          name: t.topic,
          topicId: t.topicId,
          partitionIndexes: indexes(t),
        })),
      }],
      requireStable,
    },
  };
}

/**
 * A group's committed offset of one partition, as OffsetFetch answers.
 *
 * @example
 * ```ts
 * import type { CommittedOffset } from "./offsets.ts";
 *
 * const committed: CommittedOffset = {
 *   topic: "orders",
 *   partition: 0,
 *   offset: -1,
 *   leaderEpoch: -1,
 *   metadata: null,
 *   error: null,
 * };
 * console.log(committed.offset < 0 ? "no commit" : committed.offset);
 * ```
 */
export interface CommittedOffset {
  /** The topic's name. */
  topic: string;
  /** The partition number. */
  partition: number;
  /** The committed offset: the next message to read; -1 when none. */
  offset: number;
  /** The leader epoch committed with it, -1 when none. */
  leaderEpoch: number;
  /** The text committed with it. */
  metadata: string | null;
  /**
   * Null, or the partition's KafkaError (e.g. UNSTABLE_OFFSET_COMMIT), or a
   * ProtocolError when the response does not mention the partition.
   */
  error: Error | null;
}

/**
 * The committed offsets in an OffsetFetch response for `groupId`: one per
 * partition of `partitions`, in their order (matched by topic name or id),
 * or every partition the response names when `partitions` is null. Throws
 * the group's error (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS,
 * GROUP_AUTHORIZATION_FAILED, ...) and a ProtocolError naming `address`
 * when the response leaves the group out.
 *
 * @example
 * ```ts
 * import { committedOffsets } from "./offsets.ts";
 *
 * const [committed] = committedOffsets(
 *   {
 *     throttleTimeMs: 0,
 *     topics: [],
 *     errorCode: 0,
 *     groups: [{
 *       groupId: "my-group",
 *       errorCode: 0,
 *       topics: [{
 *         name: "orders",
 *         topicId: "AAAAAAAAAAAAAAAAAAAAAA",
 *         partitions: [{
 *           partitionIndex: 0,
 *           committedOffset: 42,
 *           committedLeaderEpoch: -1,
 *           metadata: "",
 *           errorCode: 0,
 *         }],
 *       }],
 *     }],
 *   },
 *   "my-group",
 *   [{ topic: "orders", partition: 0 }],
 *   "localhost:9092",
 * );
 * console.log(committed.offset); // 42
 * ```
 */
export function committedOffsets(
  response: OffsetFetchResponse,
  groupId: string,
  partitions: readonly OffsetPartition[] | null,
  address: string,
): CommittedOffset[] {
  type Topic = {
    name: string;
    topicId: string;
    partitions: {
      partitionIndex: number;
      committedOffset: number;
      committedLeaderEpoch: number;
      metadata: string | null;
      errorCode: number;
    }[];
  };
  let topics: Topic[];
  if (response.groups.length > 0) {
    // v8+: one entry per group asked for.
    const group = response.groups.find((g) => g.groupId === groupId);
    if (!group) {
      throw new ProtocolError(
        `OffsetFetch response from ${address} has no entry for group ${
          JSON.stringify(groupId)
        }`,
      );
    }
    throwIfError(group.errorCode, {
      apiName: "OffsetFetch",
      detail: `group ${JSON.stringify(groupId)}`,
    });
    topics = group.topics;
  } else {
    throwIfError(response.errorCode, {
      apiName: "OffsetFetch",
      detail: `group ${JSON.stringify(groupId)}`,
    });
    topics = response.topics.map((t) => ({ ...t, topicId: ZERO_UUID }));
  }
  const outcome = (
    topic: string,
    p: Topic["partitions"][number],
  ): CommittedOffset => ({
    topic,
    partition: p.partitionIndex,
    offset: p.committedOffset,
    leaderEpoch: p.committedLeaderEpoch,
    metadata: p.metadata,
    error: errorOf(p.errorCode, {
      apiName: "OffsetFetch",
      topic,
      partition: p.partitionIndex,
    }),
  });
  if (partitions === null) {
    return topics.flatMap((t) => t.partitions.map((p) => outcome(t.name, p)));
  }
  return partitions.map((want) => {
    const found = topics.find((t) => sameTopic(want, t))?.partitions
      .find((p) => p.partitionIndex === want.partition);
    if (found) return outcome(want.topic, found);
    return {
      topic: want.topic,
      partition: want.partition,
      offset: -1,
      leaderEpoch: -1,
      metadata: null,
      error: new ProtocolError(
        `OffsetFetch response from ${address} has no entry for ${want.topic}/${want.partition}`,
      ),
    };
  });
}
