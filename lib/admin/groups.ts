/**
 * Groups: listing them on every broker, describing classic groups
 * (DescribeGroups) and KIP-848 consumer groups (ConsumerGroupDescribe),
 * deleting them. Requests about several groups are split by coordinator.
 *
 * @module
 */

import { requireVersion } from "../requests/versions.ts";
import type { BrokerConnection } from "../connection/connection.ts";
import type { Api } from "../protocol/api.ts";
import { ByteReader } from "../protocol/bytes.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { ConsumerGroupDescribe } from "../protocol/messages/consumer_group_describe.ts";
import { decodeConsumerProtocolAssignment } from "../protocol/messages/consumer_protocol_assignment.ts";
import { DeleteGroups } from "../protocol/messages/delete_groups.ts";
import { DescribeGroups } from "../protocol/messages/describe_groups.ts";
import { ListGroups } from "../protocol/messages/list_groups.ts";
import type { TopicPartition } from "./offsets.ts";
import {
  type Call,
  type CallOptions,
  itemError,
  type Router,
} from "../cluster/route.ts";
import { badArgument, checkList } from "../requests/arguments.ts";
import { abortReason } from "../connection/errors.ts";

/**
 * A group as ListGroups names it.
 *
 * @example
 * ```ts
 * import type { ListedGroup } from "./groups.ts";
 *
 * const g: ListedGroup = {
 *   groupId: "billing", protocolType: "consumer", state: "Stable", type: "consumer",
 * };
 * console.log(g.state);
 * ```
 */
export interface ListedGroup {
  /** The group id. */
  groupId: string;
  /** "consumer" for consumer groups, "" for groups that only keep offsets. */
  protocolType: string;
  /** Its state, e.g. "Stable", "Empty" (brokers since 2.6). */
  state: string;
  /** "classic", "consumer", "share" or "streams" (brokers since 3.8). */
  type: string;
}

/**
 * Filters of `listGroups`.
 *
 * @example
 * ```ts
 * import type { ListGroupsOptions } from "./groups.ts";
 *
 * const options: ListGroupsOptions = { states: ["Empty"], types: ["classic"] };
 * console.log(options.states);
 * ```
 */
export interface ListGroupsOptions extends CallOptions {
  /** Only groups in these states ("Stable", "Empty", "PreparingRebalance"...). */
  states?: readonly string[] | undefined;
  /** Only groups of these types ("classic", "consumer", "share", "streams"). */
  types?: readonly string[] | undefined;
}

/**
 * The answer of `listGroups`: the groups of every broker that answered,
 * and the brokers that did not.
 *
 * @example
 * ```ts
 * import type { ListGroupsResult } from "./groups.ts";
 *
 * const r: ListGroupsResult = { groups: [], errors: [] };
 * console.log(r.groups.length);
 * ```
 */
export interface ListGroupsResult {
  /** The groups, sorted by id. */
  groups: ListedGroup[];
  /** Brokers that failed to answer, with why. */
  errors: { broker: number; error: Error }[];
}

/**
 * A member of a classic group.
 *
 * @example
 * ```ts
 * import type { ClassicGroupMember } from "./groups.ts";
 *
 * const m: ClassicGroupMember = {
 *   memberId: "m-1", groupInstanceId: null, clientId: "c", clientHost: "/127.0.0.1",
 *   metadata: new Uint8Array(), assignment: new Uint8Array(),
 *   assignedPartitions: [{ topic: "orders", partition: 0 }],
 * };
 * console.log(m.assignedPartitions.length);
 * ```
 */
export interface ClassicGroupMember {
  /** The member id the coordinator gave. */
  memberId: string;
  /** The static member's instance id, or null. */
  groupInstanceId: string | null;
  /** The member's client id. */
  clientId: string;
  /** The member's host as the broker saw it. */
  clientHost: string;
  /** The member's protocol metadata (its subscription), as sent. */
  metadata: Uint8Array;
  /** The member's assignment, as the leader made it. */
  assignment: Uint8Array;
  /** The assignment decoded, for groups of protocol type "consumer". */
  assignedPartitions: TopicPartition[];
}

/**
 * A classic group as DescribeGroups answers.
 *
 * @example
 * ```ts
 * import type { ClassicGroupDescription } from "./groups.ts";
 *
 * const g: ClassicGroupDescription = {
 *   groupId: "billing", state: "Empty", protocolType: "consumer", protocol: "",
 *   members: [], authorizedOperations: null, error: null,
 * };
 * console.log(g.state);
 * ```
 */
export interface ClassicGroupDescription {
  /** The group id. */
  groupId: string;
  /** "Stable", "Empty", "PreparingRebalance", "CompletingRebalance", "Dead". */
  state: string;
  /** "consumer" for consumer groups, "" for groups that only keep offsets. */
  protocolType: string;
  /** The assignor the group agreed on, e.g. "range". */
  protocol: string;
  /** Its members. */
  members: ClassicGroupMember[];
  /** Bit field of operations the caller may do on the group, if asked. */
  authorizedOperations: number | null;
  /** The group's error (e.g. GROUP_ID_NOT_FOUND), or null. */
  error: KafkaError | null;
}

/**
 * A member of a KIP-848 consumer group.
 *
 * @example
 * ```ts
 * import type { ConsumerGroupMember } from "./groups.ts";
 *
 * const m: ConsumerGroupMember = {
 *   memberId: "m", instanceId: null, rackId: null, memberEpoch: 3, clientId: "c",
 *   clientHost: "/127.0.0.1", subscribedTopicNames: ["orders"],
 *   subscribedTopicRegex: null, assignment: [], targetAssignment: [],
 *   memberType: "consumer",
 * };
 * console.log(m.memberEpoch);
 * ```
 */
export interface ConsumerGroupMember {
  /** The member id (made by the client). */
  memberId: string;
  /** The static member's instance id, or null. */
  instanceId: string | null;
  /** The member's rack, or null. */
  rackId: string | null;
  /** The member's epoch. */
  memberEpoch: number;
  /** The member's client id. */
  clientId: string;
  /** The member's host as the broker saw it. */
  clientHost: string;
  /** The topics it subscribes to by name. */
  subscribedTopicNames: string[];
  /** The RE2/J pattern it subscribes with, or null. */
  subscribedTopicRegex: string | null;
  /** The partitions it owns now. */
  assignment: TopicPartition[];
  /** The partitions it is to own once reconciled. */
  targetAssignment: TopicPartition[];
  /** "consumer", or "classic" for a classic member in a consumer group. */
  memberType: "consumer" | "classic" | "unknown";
}

/**
 * A KIP-848 consumer group as ConsumerGroupDescribe answers.
 *
 * @example
 * ```ts
 * import type { ConsumerGroupDescription } from "./groups.ts";
 *
 * const g: ConsumerGroupDescription = {
 *   groupId: "billing", state: "Stable", groupEpoch: 4, assignmentEpoch: 4,
 *   assignorName: "uniform", members: [], authorizedOperations: null, error: null,
 * };
 * console.log(g.groupEpoch);
 * ```
 */
export interface ConsumerGroupDescription {
  /** The group id. */
  groupId: string;
  /** "Empty", "Assigning", "Reconciling", "Stable" or "Dead". */
  state: string;
  /** The group's epoch. */
  groupEpoch: number;
  /** The epoch of its target assignment. */
  assignmentEpoch: number;
  /** The server-side assignor, e.g. "uniform". */
  assignorName: string;
  /** Its members. */
  members: ConsumerGroupMember[];
  /** Bit field of operations the caller may do on the group, if asked. */
  authorizedOperations: number | null;
  /**
   * The group's error, or null: GROUP_ID_NOT_FOUND for a group that does
   * not exist or is a classic group.
   */
  error: KafkaError | null;
}

/**
 * What became of one group of `deleteGroups`.
 *
 * @example
 * ```ts
 * import type { DeletedGroup } from "./groups.ts";
 *
 * const d: DeletedGroup = { groupId: "billing", error: null };
 * console.log(d.error);
 * ```
 */
export interface DeletedGroup {
  /** The group id. */
  groupId: string;
  /** Why it was kept (e.g. NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND), or null. */
  error: KafkaError | null;
}

/** Throws unless `groupIds` is an array of group ids. */
export function checkGroupIds(method: string, groupIds: unknown): void {
  checkList(method, "groupIds", groupIds, "an array of group ids");
  (groupIds as unknown[]).forEach((id, i) => {
    if (typeof id !== "string" || id === "") {
      throw badArgument(
        method,
        `groupIds[${i}]`,
        id,
        "a group id (a non-empty string)",
      );
    }
  });
}

/** Throws unless `list` is undefined or an array of strings. */
/**
 * The group states and types Kafka 4 knows (the broker matches them in any
 * case): a name outside them matches no group, which would read as "there
 * are none".
 */
const GROUP_STATES = [
  "PreparingRebalance",
  "CompletingRebalance",
  "Stable",
  "Dead",
  "Empty",
  "Assigning",
  "Reconciling",
  "NotReady",
];
const GROUP_TYPES = ["classic", "consumer", "share", "streams"];

function checkNames(
  method: string,
  argument: string,
  list: unknown,
  known: readonly string[],
): void {
  if (list === undefined) return;
  const names = known.map((k) => `"${k}"`).join(", ");
  checkList(method, argument, list, `an array of ${names}`);
  (list as unknown[]).forEach((name, i) => {
    const lower = typeof name === "string" ? name.toLowerCase() : null;
    if (!known.some((k) => k.toLowerCase() === lower)) {
      throw badArgument(method, `${argument}[${i}]`, name, `one of ${names}`);
    }
  });
}

/** The groups of every broker, filtered by state and type. */
export async function listGroups(
  router: Router,
  options: ListGroupsOptions = {},
): Promise<ListGroupsResult> {
  checkNames("listGroups", "states", options.states, GROUP_STATES);
  checkNames("listGroups", "types", options.types, GROUP_TYPES);
  const call = router.call(options);
  const states = [...(options.states ?? [])];
  const types = [...(options.types ?? [])];
  const answers = await router.eachBroker(ListGroups, (conn) => {
    if (states.length > 0) {
      requireVersion(
        conn,
        ListGroups,
        4,
        'listGroups "states"',
        "Kafka 2.6 or later, KIP-518",
      );
    }
    if (types.length > 0) {
      requireVersion(
        conn,
        ListGroups,
        5,
        'listGroups "types"',
        "Kafka 3.8 or later, KIP-848",
      );
    }
    return { statesFilter: states, typesFilter: types };
  }, call);
  // A broker's failure is reported with the groups of the others; an
  // aborted call is not a result.
  if (call.signal?.aborted) throw abortReason(call.signal, "Admin call");
  const groups = new Map<string, ListedGroup>();
  const errors: { broker: number; error: Error }[] = [];
  for (const { broker, response, error } of answers) {
    const failure = error ??
      itemError(response!.errorCode, null, { apiName: "ListGroups" });
    if (failure) {
      errors.push({ broker: broker.id, error: failure as Error });
      continue;
    }
    for (const g of response!.groups) {
      groups.set(g.groupId, {
        groupId: g.groupId,
        protocolType: g.protocolType,
        state: g.groupState,
        type: g.groupType,
      });
    }
  }
  return {
    groups: [...groups.values()].sort((a, b) =>
      a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0
    ),
    errors,
  };
}

/**
 * Asks each group's coordinator about its groups (as `perCoordinator`) and
 * makes each group's result from its entry in the answer; a group the
 * answer leaves out fails with UNKNOWN_SERVER_ERROR.
 */
export function describeEachGroup<
  G extends { groupId: string },
  R extends { error: KafkaError | null },
>(
  router: Router,
  call: Call,
  groupIds: readonly string[],
  apiName: string,
  send: (conn: BrokerConnection, ids: string[]) => Promise<readonly G[]>,
  describe: (groupId: string, group: G) => R,
  failed: (groupId: string, error: unknown) => R,
): Promise<R[]> {
  return perCoordinator(router, call, groupIds, async (conn, ids) => {
    const groups = await send(conn, ids);
    return ids.map((groupId) => {
      const group = groups.find((g) => g.groupId === groupId);
      if (group) return describe(groupId, group);
      return failed(
        groupId,
        new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, {
          apiName,
          detail: `${conn.address} left the group out of its answer`,
        }),
      );
    });
  }, failed);
}

/**
 * Asks each group's coordinator about its groups, in one request per
 * coordinator; groups whose coordinator moved are asked again.
 */
function perCoordinator<R extends { error: KafkaError | null }>(
  router: Router,
  call: Call,
  groupIds: readonly string[],
  send: (conn: BrokerConnection, ids: string[]) => Promise<R[]>,
  failed: (groupId: string, error: unknown) => R,
): Promise<R[]> {
  return router.fanOut(call, groupIds, {
    node: (id) => router.coordinatorConnection("group", id, call),
    moved: (id) => router.forgetCoordinator("group", id),
    send,
    errorOf: (r) => r.error,
    failed,
  });
}

/** The partitions of a consumer-protocol assignment, or none. */
function assignedPartitions(
  protocolType: string,
  bytes: Uint8Array,
): TopicPartition[] {
  if (protocolType !== "consumer" || bytes.length < 2) return [];
  try {
    const r = new ByteReader(bytes);
    const version = r.int16();
    const data = decodeConsumerProtocolAssignment(r, version);
    return data.assignedPartitions.flatMap(({ topic, partitions }) =>
      partitions.map((partition) => ({ topic, partition }))
    );
  } catch {
    return [];
  }
}

/** Describes classic groups; each result carries its own error. */
export async function describeGroups(
  router: Router,
  groupIds: readonly string[],
  options: CallOptions & { includeAuthorizedOperations?: boolean } = {},
): Promise<ClassicGroupDescription[]> {
  checkGroupIds("describeGroups", groupIds);
  if (groupIds.length === 0) return [];
  const call = router.call(options);
  const failed = (
    groupId: string,
    error: unknown,
  ): ClassicGroupDescription => ({
    groupId,
    state: "",
    protocolType: "",
    protocol: "",
    members: [],
    authorizedOperations: null,
    error: error as KafkaError,
  });
  return await describeEachGroup(
    router,
    call,
    groupIds,
    "DescribeGroups",
    async (conn, ids) => {
      const response = await router.send(conn, DescribeGroups, {
        groups: ids,
        // Before v3 (Kafka 2.3) there are no operations to ask for: the
        // description says so with null (the encoder refuses the flag).
        includeAuthorizedOperations: conn.pickVersion(DescribeGroups) >= 3 &&
          (options.includeAuthorizedOperations ?? false),
      }, call);
      return response.groups;
    },
    (groupId, g) => ({
      groupId,
      state: g.groupState,
      protocolType: g.protocolType,
      protocol: g.protocolData,
      members: g.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        metadata: m.memberMetadata,
        assignment: m.memberAssignment,
        assignedPartitions: assignedPartitions(
          g.protocolType,
          m.memberAssignment,
        ),
      })),
      // Before v3 (Kafka 2.3) the answer has no operations: the field
      // decodes as its default, INT32_MIN.
      authorizedOperations: options.includeAuthorizedOperations &&
          g.authorizedOperations !== -2147483648
        ? g.authorizedOperations
        : null,
      error: itemError(g.errorCode, g.errorMessage, {
        apiName: "DescribeGroups",
      }),
    }),
    failed,
  );
}

/** Describes KIP-848 consumer groups; each result carries its own error. */
export function describeConsumerGroups(
  router: Router,
  groupIds: readonly string[],
  options: CallOptions & { includeAuthorizedOperations?: boolean } = {},
): Promise<ConsumerGroupDescription[]> {
  return describeModernGroups(
    router,
    "describeConsumerGroups",
    ConsumerGroupDescribe,
    groupIds,
    options,
    (m) => ({
      memberId: m.memberId,
      instanceId: m.instanceId,
      rackId: m.rackId,
      memberEpoch: m.memberEpoch,
      clientId: m.clientId,
      clientHost: m.clientHost,
      subscribedTopicNames: m.subscribedTopicNames,
      subscribedTopicRegex: m.subscribedTopicRegex,
      assignment: assignmentOf(m.assignment),
      targetAssignment: assignmentOf(m.targetAssignment),
      memberType: m.memberType === 1
        ? "consumer" as const
        : m.memberType === 0
        ? "classic" as const
        : "unknown" as const,
    }),
  );
}

/** What ConsumerGroupDescribe and ShareGroupDescribe answer of a group. */
interface ModernGroup<M> {
  groupId: string;
  errorCode: number;
  errorMessage: string | null;
  groupState: string;
  groupEpoch: number;
  assignmentEpoch: number;
  assignorName: string;
  members: M[];
  authorizedOperations: number;
}

/** A group described by one of the heartbeat protocols (KIP-848, KIP-932). */
export interface ModernGroupDescription<M> {
  groupId: string;
  state: string;
  groupEpoch: number;
  assignmentEpoch: number;
  assignorName: string;
  members: M[];
  authorizedOperations: number | null;
  error: KafkaError | null;
}

/**
 * Describes groups of a protocol whose coordinator computes assignments
 * (ConsumerGroupDescribe, ShareGroupDescribe): one request per
 * coordinator, each member made by `member`.
 */
export async function describeModernGroups<M, Out>(
  router: Router,
  method: string,
  api: Api<
    { groupIds: string[]; includeAuthorizedOperations: boolean },
    { groups: ModernGroup<M>[] }
  >,
  groupIds: readonly string[],
  options: CallOptions & { includeAuthorizedOperations?: boolean },
  member: (m: M) => Out,
): Promise<ModernGroupDescription<Out>[]> {
  checkGroupIds(method, groupIds);
  if (groupIds.length === 0) return [];
  const call = router.call(options);
  const failed = (
    groupId: string,
    error: unknown,
  ): ModernGroupDescription<Out> => ({
    groupId,
    state: "",
    groupEpoch: -1,
    assignmentEpoch: -1,
    assignorName: "",
    members: [],
    authorizedOperations: null,
    error: error as KafkaError,
  });
  const asked = options.includeAuthorizedOperations ?? false;
  return await describeEachGroup(
    router,
    call,
    groupIds,
    api.name,
    async (conn, ids) =>
      (await router.send(conn, api, {
        groupIds: ids,
        includeAuthorizedOperations: asked,
      }, call)).groups,
    (groupId, g) => ({
      groupId,
      state: g.groupState,
      groupEpoch: g.groupEpoch,
      assignmentEpoch: g.assignmentEpoch,
      assignorName: g.assignorName,
      members: g.members.map(member),
      authorizedOperations: asked ? g.authorizedOperations : null,
      error: itemError(g.errorCode, g.errorMessage, { apiName: api.name }),
    }),
    failed,
  );
}

/** The partitions of a heartbeat protocol's assignment, by topic name. */
export function assignmentOf(
  a: { topicPartitions: { topicName: string; partitions: number[] }[] },
): TopicPartition[] {
  return a.topicPartitions.flatMap((t) =>
    t.partitions.map((partition) => ({ topic: t.topicName, partition }))
  );
}

/** Deletes groups with no members; each result carries its own error. */
export async function deleteGroups(
  router: Router,
  groupIds: readonly string[],
  options: CallOptions = {},
): Promise<DeletedGroup[]> {
  checkGroupIds("deleteGroups", groupIds);
  if (groupIds.length === 0) return [];
  const call = router.call(options);
  const failed = (groupId: string, error: unknown): DeletedGroup => ({
    groupId,
    error: error as KafkaError,
  });
  return await perCoordinator(router, call, groupIds, async (conn, ids) => {
    const response = await router.send(
      conn,
      DeleteGroups,
      { groupsNames: ids },
      call,
    );
    return ids.map((groupId) => {
      const r = response.results.find((x) => x.groupId === groupId);
      return {
        groupId,
        error: itemError(
          r?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR,
          r
            ? r.errorMessage
            : `${conn.address} left the group out of its answer`,
          { apiName: "DeleteGroups" },
        ),
      };
    });
  }, failed);
}
