/**
 * The consumer protocol's data inside the classic group protocol: a
 * member's subscription (JoinGroup metadata), the leader's assignments
 * (SyncGroup), and a member's own partitions out of SyncGroup's answer.
 *
 * Eager members write version 1 of the subscription, as kafka-go; members
 * that keep their partitions (cooperative) write version 3, as the Java
 * client: the partitions they own, the generation they own them in, and
 * their rack.
 *
 * @module
 */

import type { Cluster } from "../../cluster/cluster.ts";
import { messageOf } from "../../connection/errors.ts";
import { ByteReader, ByteWriter } from "../../protocol/bytes.ts";
import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import {
  decodeConsumerProtocolAssignment,
  encodeConsumerProtocolAssignment,
} from "../../protocol/messages/consumer_protocol_assignment.ts";
import {
  decodeConsumerProtocolSubscription,
  encodeConsumerProtocolSubscription,
} from "../../protocol/messages/consumer_protocol_subscription.ts";
import type { JoinGroupResponse } from "../../protocol/messages/join_group.ts";
import type {
  GroupBalancer,
  GroupMember as BalancedMember,
  GroupPartition,
} from "./balancers.ts";
import type { Assignment } from "./membership.ts";

const EAGER_DATA_VERSION = 1;
const COOPERATIVE_DATA_VERSION = 3;

/** What a member says of itself when it joins. */
export interface SubscriptionState {
  topics: readonly string[];
  /** Whether the member keeps its partitions through a rebalance. */
  cooperative: boolean;
  /** The partitions it owns now. */
  owned: Assignment;
  /** The generation it owns them in; -1 for none. */
  generation: number;
  rack: string | null;
}

/** A member's subscription, as `balancer`'s protocol metadata. */
export function encodeSubscription(
  balancer: GroupBalancer,
  state: SubscriptionState,
): Uint8Array {
  const { cooperative } = state;
  const version = cooperative ? COOPERATIVE_DATA_VERSION : EAGER_DATA_VERSION;
  const w = new ByteWriter(64);
  w.int16(version);
  encodeConsumerProtocolSubscription(w, version, {
    topics: [...state.topics],
    userData: balancer.userData?.(state.topics, state.generation) ?? null,
    ownedPartitions: cooperative
      ? [...state.owned].map(([topic, partitions]) => ({ topic, partitions }))
      : [],
    generationId: cooperative ? state.generation : -1,
    rackId: state.rack,
  });
  return w.finish();
}

/**
 * The leader's work: every member's partitions, by the balancer the group
 * chose, over the partitions the cluster has now. A subscribed topic with
 * no metadata yet gets no partitions this time (`logError` says so).
 */
export async function leaderAssignments(
  cluster: Cluster,
  balancers: readonly GroupBalancer[],
  joined: JoinGroupResponse,
  logError: (message: string) => void,
): Promise<{ memberId: string; assignment: Uint8Array }[]> {
  const balancer = balancers.find((b) =>
    b.protocolName === joined.protocolName
  );
  if (!balancer) {
    throw new KafkaError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, {
      apiName: "JoinGroup",
      detail:
        `the group chose protocol "${joined.protocolName}", which this member does not offer`,
    });
  }
  const members: BalancedMember[] = joined.members.map((m) => {
    const r = new ByteReader(m.metadata);
    const version = r.int16();
    const s = decodeConsumerProtocolSubscription(r, version);
    return {
      id: m.memberId,
      topics: s.topics,
      userData: s.userData,
      owned: s.ownedPartitions.flatMap(({ topic, partitions }) =>
        partitions.map((partition) => ({ topic, partition }))
      ),
      generation: version >= 2 ? s.generationId : undefined,
      rack: s.rackId,
    };
  });
  const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
  const partitions: GroupPartition[] = [];
  for (const topic of topics) {
    try {
      const info = await cluster.topic(topic, { maxAge: 0 });
      for (const p of info.partitions) {
        partitions.push({
          topic,
          partition: p.id,
          leader: p.leader,
          leaderRack: cluster.rackOf(p.leader),
        });
      }
    } catch (error) {
      logError(
        `no metadata for subscribed topic ${topic}: ${messageOf(error)}`,
      );
    }
  }
  const assigned = balancer.assign(members, partitions);
  return members.map((m) => {
    const byTopic = assigned.get(m.id) ?? new Map<string, number[]>();
    const w = new ByteWriter(64);
    w.int16(EAGER_DATA_VERSION);
    encodeConsumerProtocolAssignment(w, EAGER_DATA_VERSION, {
      assignedPartitions: [...byTopic].map(([topic, partitions]) => ({
        topic,
        partitions,
      })),
      userData: null,
    });
    return { memberId: m.id, assignment: w.finish() };
  });
}

/** A member's partitions out of SyncGroup's answer, limited to its topics. */
export function decodeAssignment(
  bytes: Uint8Array,
  topics: readonly string[],
): Assignment {
  const assignment: Assignment = new Map();
  if (bytes.length === 0) return assignment;
  const r = new ByteReader(bytes);
  const version = r.int16();
  const data = decodeConsumerProtocolAssignment(r, version);
  for (const { topic, partitions } of data.assignedPartitions) {
    if (!topics.includes(topic)) continue;
    const list = assignment.get(topic) ?? [];
    list.push(...partitions);
    assignment.set(topic, list.sort((a, b) => a - b));
  }
  return assignment;
}
