/**
 * Share groups (KIP-932) seen by an administrator: their members and
 * assignments (ShareGroupDescribe), where each partition's records start
 * and how many wait (DescribeShareGroupOffsets), and moving or dropping
 * those start offsets while the group is empty (AlterShareGroupOffsets,
 * DeleteShareGroupOffsets). Each goes to the group's coordinator.
 *
 * @module
 */

import { type CallOptions, itemError, type Router } from "../cluster/route.ts";
import { byTopicPartition } from "../message.ts";
import { ErrorCode, type KafkaError } from "../protocol/errors.ts";
import { AlterShareGroupOffsets } from "../protocol/messages/alter_share_group_offsets.ts";
import { DeleteShareGroupOffsets } from "../protocol/messages/delete_share_group_offsets.ts";
import { DescribeShareGroupOffsets } from "../protocol/messages/describe_share_group_offsets.ts";
import { ShareGroupDescribe } from "../protocol/messages/share_group_describe.ts";
import {
  badArgument,
  checkList,
  checkPartitions,
} from "../requests/arguments.ts";
import { assignmentOf, describeModernGroups } from "./groups.ts";
import { checkGroupId, type TopicPartition } from "./offsets.ts";

/**
 * A member of a share group.
 *
 * @example
 * ```ts
 * import type { ShareGroupMember } from "./share_groups.ts";
 *
 * const m: ShareGroupMember = {
 *   memberId: "Gk9wVWszHOvl7iTsMw5yOQ", rackId: null, memberEpoch: 3,
 *   clientId: "streamkafka", clientHost: "/127.0.0.1",
 *   subscribedTopicNames: ["jobs"], assignment: [{ topic: "jobs", partition: 0 }],
 * };
 * console.log(m.assignment.length);
 * ```
 */
export interface ShareGroupMember {
  /** The member id (made by the member). */
  memberId: string;
  /** Its rack, or null. */
  rackId: string | null;
  /** Its epoch. */
  memberEpoch: number;
  /** The client id it connected with. */
  clientId: string;
  /** The host it connected from. */
  clientHost: string;
  /** The topics it subscribes to. */
  subscribedTopicNames: string[];
  /** The partitions it reads (other members may read them too). */
  assignment: TopicPartition[];
}

/**
 * A share group, as ShareGroupDescribe tells it.
 *
 * @example
 * ```ts
 * import type { ShareGroupDescription } from "./share_groups.ts";
 *
 * const g: ShareGroupDescription = {
 *   groupId: "jobs", state: "Stable", groupEpoch: 3, assignmentEpoch: 3,
 *   assignorName: "simple", members: [], authorizedOperations: null, error: null,
 * };
 * console.log(g.state);
 * ```
 */
export interface ShareGroupDescription {
  /** The group id. */
  groupId: string;
  /** "Empty", "Stable" or "Dead". */
  state: string;
  /** The group's epoch. */
  groupEpoch: number;
  /** The epoch of its assignment. */
  assignmentEpoch: number;
  /** The assignor, e.g. "simple". */
  assignorName: string;
  /** Its members. */
  members: ShareGroupMember[];
  /** Bit field of operations the caller may do on the group, if asked. */
  authorizedOperations: number | null;
  /**
   * The group's error, or null: GROUP_ID_NOT_FOUND for a group that does
   * not exist or is not a share group.
   */
  error: KafkaError | null;
}

/**
 * Where a share group's records of a partition start, and how many wait.
 *
 * @example
 * ```ts
 * import type { ShareGroupOffset } from "./share_groups.ts";
 *
 * const o: ShareGroupOffset = {
 *   topic: "jobs", partition: 0, startOffset: 120, leaderEpoch: 0, lag: 5, error: null,
 * };
 * console.log(o.lag);
 * ```
 */
export interface ShareGroupOffset {
  /** The topic. */
  topic: string;
  /** The partition. */
  partition: number;
  /**
   * The share-partition start offset: records before it are all done
   * (acknowledged or archived); -1 when the group never read the partition.
   */
  startOffset: number;
  /** The leader epoch of the start offset, or -1. */
  leaderEpoch: number;
  /** Records from the start offset to the end not yet done, -1 when unknown. */
  lag: number;
  /** The partition's error, or null. */
  error: KafkaError | null;
}

/**
 * What became of one partition of `alterShareGroupOffsets`, or of one
 * topic of `deleteShareGroupOffsets` (partition -1).
 *
 * @example
 * ```ts
 * import type { ShareOffsetChange } from "./share_groups.ts";
 *
 * const c: ShareOffsetChange = { topic: "jobs", partition: 0, error: null };
 * console.log(c.error);
 * ```
 */
export interface ShareOffsetChange {
  /** The topic. */
  topic: string;
  /** The partition, or -1 for a whole topic. */
  partition: number;
  /** Why it did not change, or null. */
  error: KafkaError | null;
}

/** Describes share groups: state, epochs, members and their assignments. */
export function describeShareGroups(
  router: Router,
  groupIds: readonly string[],
  options: CallOptions & { includeAuthorizedOperations?: boolean } = {},
): Promise<ShareGroupDescription[]> {
  return describeModernGroups(
    router,
    "describeShareGroups",
    ShareGroupDescribe,
    groupIds,
    options,
    (m) => ({
      memberId: m.memberId,
      rackId: m.rackId,
      memberEpoch: m.memberEpoch,
      clientId: m.clientId,
      clientHost: m.clientHost,
      subscribedTopicNames: m.subscribedTopicNames,
      assignment: assignmentOf(m.assignment),
    }),
  );
}

/**
 * A share group's start offset and lag per partition: of the given topics
 * (all partitions of each), or of every topic it read when none are given.
 * Throws the group's error (e.g. GROUP_ID_NOT_FOUND).
 */
export async function shareGroupOffsets(
  router: Router,
  groupId: string,
  options: CallOptions & { topics?: readonly string[] } = {},
): Promise<ShareGroupOffset[]> {
  checkGroupId("shareGroupOffsets", groupId);
  const topics = options.topics;
  if (topics !== undefined) checkTopics("shareGroupOffsets", topics);
  const call = router.call(options);
  let asked: { topicName: string; partitions: number[] }[] | null = null;
  if (topics !== undefined) {
    asked = await Promise.all(topics.map(async (topicName) => ({
      topicName,
      partitions: (await router.within(
        call,
        `Looking up topic ${topicName}`,
        router.cluster.topic(topicName),
      )).partitions.map((p) => p.id),
    })));
  }
  const response = await router.coordinator(
    "group",
    groupId,
    DescribeShareGroupOffsets,
    { groups: [{ groupId, topics: asked }] },
    call,
    (r) => r.groups.map((g) => g.errorCode),
  );
  const group = response.groups.find((g) => g.groupId === groupId);
  const groupError = itemError(
    group?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR,
    group ? group.errorMessage : "the coordinator left the group out",
    { apiName: "DescribeShareGroupOffsets" },
  );
  if (groupError) throw groupError;
  if (group!.topics.length === 0) {
    // The broker answers a group that does not exist with no offsets and
    // no error: a misspelt group id must not read as a group with none.
    const [described] = await describeShareGroups(router, [groupId], {
      signal: call.signal,
      timeout: router.left(call),
    });
    if (described?.error) throw described.error;
  }
  return group!.topics.flatMap((t) =>
    t.partitions.map((p) => ({
      topic: t.topicName,
      partition: p.partitionIndex,
      startOffset: p.startOffset,
      leaderEpoch: p.leaderEpoch,
      lag: p.lag,
      error: itemError(p.errorCode, p.errorMessage, {
        apiName: "DescribeShareGroupOffsets",
        topic: t.topicName,
        partition: p.partitionIndex,
      }),
    }))
  ).sort(byTopicPartition);
}

/**
 * Moves a share group's start offsets (the group must have no members):
 * its members then read each partition from there. One result per
 * partition, in order; throws the group's error (e.g. NON_EMPTY_GROUP).
 */
export async function alterShareGroupOffsets(
  router: Router,
  groupId: string,
  offsets: readonly (TopicPartition & { offset: number })[],
  options: CallOptions = {},
): Promise<ShareOffsetChange[]> {
  checkGroupId("alterShareGroupOffsets", groupId);
  checkPartitions("alterShareGroupOffsets", "offsets", offsets, (o, at) => {
    if (!Number.isInteger(o.offset) || o.offset < 0) {
      throw badArgument(
        "alterShareGroupOffsets",
        `${at}.offset`,
        o.offset,
        "an offset (an integer >= 0)",
      );
    }
  });
  if (offsets.length === 0) return [];
  const call = router.call(options);
  const topics = new Map<
    string,
    { partitionIndex: number; startOffset: number }[]
  >();
  for (const o of offsets) {
    const list = topics.get(o.topic) ?? [];
    list.push({ partitionIndex: o.partition, startOffset: o.offset });
    topics.set(o.topic, list);
  }
  const response = await router.coordinator(
    "group",
    groupId,
    AlterShareGroupOffsets,
    {
      groupId,
      topics: [...topics].map(([topicName, partitions]) => ({
        topicName,
        partitions,
      })),
    },
    call,
    (r) => [r.errorCode],
  );
  const groupError = itemError(response.errorCode, response.errorMessage, {
    apiName: "AlterShareGroupOffsets",
  });
  if (groupError) throw groupError;
  return offsets.map((o) => {
    const found = response.responses.find((t) => t.topicName === o.topic)
      ?.partitions.find((p) => p.partitionIndex === o.partition);
    return {
      topic: o.topic,
      partition: o.partition,
      error: itemError(
        found?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR,
        found ? found.errorMessage : "the coordinator left it out",
        {
          apiName: "AlterShareGroupOffsets",
          topic: o.topic,
          partition: o.partition,
        },
      ),
    };
  });
}

/**
 * Forgets a share group's state of whole topics (the group must have no
 * members): it reads them anew as `share.auto.offset.reset` says. One
 * result per topic, partition -1; throws the group's error.
 */
export async function deleteShareGroupOffsets(
  router: Router,
  groupId: string,
  topics: readonly string[],
  options: CallOptions = {},
): Promise<ShareOffsetChange[]> {
  checkGroupId("deleteShareGroupOffsets", groupId);
  checkTopics("deleteShareGroupOffsets", topics);
  if (topics.length === 0) return [];
  const call = router.call(options);
  const response = await router.coordinator(
    "group",
    groupId,
    DeleteShareGroupOffsets,
    { groupId, topics: topics.map((topicName) => ({ topicName })) },
    call,
    (r) => [r.errorCode],
  );
  const groupError = itemError(response.errorCode, response.errorMessage, {
    apiName: "DeleteShareGroupOffsets",
  });
  if (groupError) throw groupError;
  return topics.map((topic) => {
    const found = response.responses.find((t) => t.topicName === topic);
    return {
      topic,
      partition: -1,
      error: itemError(
        found?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR,
        found ? found.errorMessage : "the coordinator left it out",
        { apiName: "DeleteShareGroupOffsets", topic },
      ),
    };
  });
}

function checkTopics(method: string, topics: unknown): void {
  checkList(method, "topics", topics, "an array of topic names");
  (topics as unknown[]).forEach((t, i) => {
    if (typeof t !== "string" || t === "") {
      throw badArgument(method, `topics[${i}]`, t, "a topic name");
    }
  });
}
