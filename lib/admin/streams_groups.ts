/**
 * Streams groups (KIP-1071) seen by an administrator: the topology the
 * group runs, its members, their tasks and the changelog offsets they
 * report (StreamsGroupDescribe, sent to each group's coordinator). Their
 * committed offsets, deletion and listing go through the calls every group
 * type shares (`offsetFetch`, `deleteGroups`, `listGroups`).
 *
 * @module
 */

import type { CallOptions, Router } from "../cluster/route.ts";
import { itemError } from "../cluster/route.ts";
import type { KafkaError } from "../protocol/errors.ts";
import {
  StreamsGroupDescribe,
  type StreamsGroupDescribeResponseAssignment,
  type StreamsGroupDescribeResponseKeyValue,
  type StreamsGroupDescribeResponseMember,
  type StreamsGroupDescribeResponseTopicInfo,
} from "../protocol/messages/streams_group_describe.ts";
import { checkGroupIds, describeEachGroup } from "./groups.ts";

/**
 * A topic a streams group's subtopology makes and uses: a state changelog
 * or a repartition topic.
 *
 * @example
 * ```ts
 * import type { StreamsInternalTopic } from "./streams_groups.ts";
 *
 * const t: StreamsInternalTopic = {
 *   name: "app-counts-changelog", partitions: 0, replicationFactor: 0,
 *   configs: { "cleanup.policy": "compact" },
 * };
 * console.log(t.name);
 * ```
 */
export interface StreamsInternalTopic {
  /** The topic's name. */
  name: string;
  /** Its partition count; 0 when it is not fixed (changelogs). */
  partitions: number;
  /** Its replication factor; 0 for the broker's default. */
  replicationFactor: number;
  /** Topic configs it is created with. */
  configs: Record<string, string>;
}

/**
 * A subtopology of a streams group: an independent part of its topology,
 * whose tasks (one per partition of its source topics) the members share.
 *
 * @example
 * ```ts
 * import type { StreamsSubtopology } from "./streams_groups.ts";
 *
 * const s: StreamsSubtopology = {
 *   subtopologyId: "0", sourceTopics: ["orders"], repartitionSinkTopics: [],
 *   stateChangelogTopics: [], repartitionSourceTopics: [],
 * };
 * console.log(s.sourceTopics);
 * ```
 */
export interface StreamsSubtopology {
  /** Its id, unique in the topology. */
  subtopologyId: string;
  /** The topics it reads. */
  sourceTopics: string[];
  /** The repartition topics it writes to. */
  repartitionSinkTopics: string[];
  /** Its state stores' changelog topics. */
  stateChangelogTopics: StreamsInternalTopic[];
  /** The repartition topics among its sources. */
  repartitionSourceTopics: StreamsInternalTopic[];
}

/**
 * Tasks of a streams member, by subtopology: each is a subtopology and the
 * partitions of its source topics the task reads.
 *
 * @example
 * ```ts
 * import type { StreamsTasks } from "./streams_groups.ts";
 *
 * const t: StreamsTasks = {
 *   active: [{ subtopologyId: "0", partitions: [0, 1] }], standby: [], warmup: [],
 * };
 * console.log(t.active[0].partitions);
 * ```
 */
export interface StreamsTasks {
  /** Tasks it processes. */
  active: { subtopologyId: string; partitions: number[] }[];
  /** Tasks whose state it keeps up to date, to take over quickly. */
  standby: { subtopologyId: string; partitions: number[] }[];
  /** Tasks whose state it is catching up on before it takes them. */
  warmup: { subtopologyId: string; partitions: number[] }[];
}

/**
 * A changelog offset a member reports for one task (its state's progress).
 *
 * @example
 * ```ts
 * import type { StreamsTaskOffset } from "./streams_groups.ts";
 *
 * const o: StreamsTaskOffset = { subtopologyId: "0", partition: 1, offset: 420 };
 * console.log(o.offset);
 * ```
 */
export interface StreamsTaskOffset {
  /** The task's subtopology. */
  subtopologyId: string;
  /** The task's partition. */
  partition: number;
  /** The offset. */
  offset: number;
}

/**
 * A member of a streams group (one consumer of a Kafka Streams process).
 *
 * @example
 * ```ts
 * import type { StreamsGroupMember } from "./streams_groups.ts";
 *
 * const none = { active: [], standby: [], warmup: [] };
 * const m: StreamsGroupMember = {
 *   memberId: "m-1", memberEpoch: 3, instanceId: null, rackId: null,
 *   clientId: "app-1-StreamThread-1", clientHost: "/10.0.0.7", topologyEpoch: 0,
 *   processId: "0f3c", userEndpoint: { host: "10.0.0.7", port: 8080 }, clientTags: {},
 *   taskOffsets: [], taskEndOffsets: [], assignment: none, targetAssignment: none,
 *   isClassic: false,
 * };
 * console.log(m.userEndpoint?.port);
 * ```
 */
export interface StreamsGroupMember {
  /** The member id (made by the member). */
  memberId: string;
  /** Its epoch. */
  memberEpoch: number;
  /** Its static instance id, or null. */
  instanceId: string | null;
  /** Its rack, or null. */
  rackId: string | null;
  /** The client id it connected with. */
  clientId: string;
  /** The host it connected from. */
  clientHost: string;
  /** The topology epoch it runs. */
  topologyEpoch: number;
  /** The Kafka Streams process it belongs to (several members may). */
  processId: string;
  /** Where its interactive queries are served, or null. */
  userEndpoint: { host: string; port: number } | null;
  /** Tags it gave for rack-aware assignment. */
  clientTags: Record<string, string>;
  /** Changelog offsets of its tasks, as it last reported. */
  taskOffsets: StreamsTaskOffset[];
  /** Changelog end offsets of its tasks, as it last reported. */
  taskEndOffsets: StreamsTaskOffset[];
  /** The tasks it owns now. */
  assignment: StreamsTasks;
  /** The tasks the coordinator means it to own. */
  targetAssignment: StreamsTasks;
  /** Whether it speaks the classic protocol (an older Kafka Streams). */
  isClassic: boolean;
}

/**
 * A streams group, as StreamsGroupDescribe tells it.
 *
 * @example
 * ```ts
 * import type { StreamsGroupDescription } from "./streams_groups.ts";
 *
 * const g: StreamsGroupDescription = {
 *   groupId: "app", state: "Stable", groupEpoch: 4, assignmentEpoch: 4,
 *   topologyEpoch: 0, subtopologies: [], assignorName: "sticky", members: [],
 *   authorizedOperations: null, error: null,
 * };
 * console.log(g.state);
 * ```
 */
export interface StreamsGroupDescription {
  /** The group id. */
  groupId: string;
  /**
   * "Empty", "NotReady" (topics its topology needs are missing),
   * "Assigning", "Reconciling", "Stable" or "Dead".
   */
  state: string;
  /** The group's epoch. */
  groupEpoch: number;
  /** The epoch of its target assignment. */
  assignmentEpoch: number;
  /** The epoch of its topology, -1 when none is set. */
  topologyEpoch: number;
  /** The subtopologies of its topology (empty when none is set). */
  subtopologies: StreamsSubtopology[];
  /** The task assignor of the next assignment, or null (older brokers). */
  assignorName: string | null;
  /** Its members. */
  members: StreamsGroupMember[];
  /** Bit field of operations the caller may do on the group, if asked. */
  authorizedOperations: number | null;
  /**
   * The group's error, or null: GROUP_ID_NOT_FOUND for a group that does
   * not exist or is not a streams group.
   */
  error: KafkaError | null;
}

/** Describes streams groups; each result carries its own error. */
export async function describeStreamsGroups(
  router: Router,
  groupIds: readonly string[],
  options: CallOptions & { includeAuthorizedOperations?: boolean } = {},
): Promise<StreamsGroupDescription[]> {
  checkGroupIds("describeStreamsGroups", groupIds);
  if (groupIds.length === 0) return [];
  const call = router.call(options);
  const asked = options.includeAuthorizedOperations ?? false;
  return await describeEachGroup(
    router,
    call,
    groupIds,
    StreamsGroupDescribe.name,
    async (conn, ids) =>
      (await router.send(conn, StreamsGroupDescribe, {
        groupIds: ids,
        includeAuthorizedOperations: asked,
        includeTopologyDescription: false,
      }, call)).groups,
    (groupId, g): StreamsGroupDescription => ({
      groupId,
      state: g.groupState,
      groupEpoch: g.groupEpoch,
      assignmentEpoch: g.assignmentEpoch,
      topologyEpoch: g.topology?.epoch ?? -1,
      subtopologies: (g.topology?.subtopologies ?? []).map((s) => ({
        subtopologyId: s.subtopologyId,
        sourceTopics: s.sourceTopics,
        repartitionSinkTopics: s.repartitionSinkTopics,
        stateChangelogTopics: s.stateChangelogTopics.map(internalTopic),
        repartitionSourceTopics: s.repartitionSourceTopics.map(internalTopic),
      })),
      assignorName: g.assignorName,
      members: g.members.map(member),
      authorizedOperations: asked ? g.authorizedOperations : null,
      error: itemError(g.errorCode, g.errorMessage, {
        apiName: StreamsGroupDescribe.name,
      }),
    }),
    (groupId, error): StreamsGroupDescription => ({
      groupId,
      state: "",
      groupEpoch: -1,
      assignmentEpoch: -1,
      topologyEpoch: -1,
      subtopologies: [],
      assignorName: null,
      members: [],
      authorizedOperations: null,
      error: error as KafkaError,
    }),
  );
}

function member(m: StreamsGroupDescribeResponseMember): StreamsGroupMember {
  return {
    memberId: m.memberId,
    memberEpoch: m.memberEpoch,
    instanceId: m.instanceId,
    rackId: m.rackId,
    clientId: m.clientId,
    clientHost: m.clientHost,
    topologyEpoch: m.topologyEpoch,
    processId: m.processId,
    userEndpoint: m.userEndpoint === null
      ? null
      : { host: m.userEndpoint.host, port: m.userEndpoint.port },
    clientTags: record(m.clientTags),
    taskOffsets: m.taskOffsets.map(taskOffset),
    taskEndOffsets: m.taskEndOffsets.map(taskOffset),
    assignment: tasks(m.assignment),
    targetAssignment: tasks(m.targetAssignment),
    isClassic: m.isClassic,
  };
}

function taskOffset(
  o: { subtopologyId: string; partition: number; offset: number },
): StreamsTaskOffset {
  return {
    subtopologyId: o.subtopologyId,
    partition: o.partition,
    offset: o.offset,
  };
}

function tasks(a: StreamsGroupDescribeResponseAssignment): StreamsTasks {
  const ids = (list: { subtopologyId: string; partitions: number[] }[]) =>
    list.map((t) => ({
      subtopologyId: t.subtopologyId,
      partitions: t.partitions,
    }));
  return {
    active: ids(a.activeTasks),
    standby: ids(a.standbyTasks),
    warmup: ids(a.warmupTasks),
  };
}

function internalTopic(
  t: StreamsGroupDescribeResponseTopicInfo,
): StreamsInternalTopic {
  return {
    name: t.name,
    partitions: t.partitions,
    replicationFactor: t.replicationFactor,
    configs: record(t.topicConfigs),
  };
}

function record(
  pairs: readonly StreamsGroupDescribeResponseKeyValue[],
): Record<string, string> {
  return Object.fromEntries(pairs.map((p) => [p.key, p.value]));
}
