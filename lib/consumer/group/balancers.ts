/**
 * Group balancers: how the leader of a consumer group (classic protocol)
 * assigns the partitions of the subscribed topics to the members, with
 * kafka-go's set of them: {@link RangeGroupBalancer},
 * {@link RoundRobinGroupBalancer} and {@link RackAffinityGroupBalancer}.
 *
 * Each member lists the balancers it supports, by protocol name, when it
 * joins; the coordinator picks one that every member supports, and the leader
 * runs it. The built-in ones produce exactly kafka-go's assignments for the
 * same members and partitions, so a group may mix our readers with kafka-go's.
 * "range" and "roundrobin" are also the names the Java client and librdkafka
 * use, so their members can join the same group (whichever member leads
 * computes the assignment with its own implementation).
 *
 * They are pure functions of their input: no I/O, no state, no randomness.
 *
 * @example Three members share a topic of six partitions
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const members = ["a", "b", "c"].map((id) => ({
 *   id,
 *   topics: ["orders"],
 *   userData: null,
 * }));
 * const partitions = [0, 1, 2, 3, 4, 5].map((partition) => ({
 *   topic: "orders",
 *   partition,
 *   leader: 1,
 * }));
 * const assignments = new RangeGroupBalancer().assign(members, partitions);
 * assert.deepEqual(assignments.get("b"), new Map([["orders", [2, 3]]]));
 * ```
 *
 * @module
 */

import { checkCallOptions, describeValue } from "../../options.ts";

/**
 * A member of the group as the leader sees it: its id and its subscription,
 * as its ConsumerProtocolSubscription (the metadata of the chosen protocol in
 * the JoinGroup response) carries it.
 *
 * @example
 * ```ts
 * const member: GroupMember = {
 *   id: "consumer-1-4f1c",
 *   topics: ["orders", "payments"],
 *   userData: null,
 * };
 * ```
 */
export interface GroupMember {
  /** The member id the coordinator gave it. */
  readonly id: string;
  /** The topics it subscribes to. */
  readonly topics: readonly string[];
  /**
   * What its balancer's {@link GroupBalancer.userData} returned when it
   * joined; null when nothing.
   */
  readonly userData: Uint8Array | null;
  /**
   * The partitions it owned when it joined (ConsumerProtocolSubscription v1+
   * `ownedPartitions`); absent or empty when none or unknown. Sticky
   * balancers keep them where they can.
   */
  readonly owned?: readonly { topic: string; partition: number }[] | undefined;
  /**
   * The generation in which it got {@link GroupMember.owned}, from
   * ConsumerProtocolSubscription v2+ `generationId`. -1 or absent: unknown,
   * and a balancer whose user data carries it reads it from there (as
   * cooperative-sticky does: older Java clients send it only there).
   */
  readonly generation?: number | undefined;
  /**
   * Its rack (ConsumerProtocolSubscription v3+ `rackId`); null or absent
   * when it has none.
   */
  readonly rack?: string | null | undefined;
}

/**
 * A partition of a subscribed topic, as the leader reads it from the cluster
 * metadata.
 *
 * @example
 * ```ts
 * const partition: GroupPartition = {
 *   topic: "orders",
 *   partition: 0,
 *   leader: 2,
 *   leaderRack: "us-east-1a",
 *   replicas: [2, 3, 1],
 * };
 * ```
 */
export interface GroupPartition {
  /** The topic's name. */
  readonly topic: string;
  /** The partition's id within its topic. */
  readonly partition: number;
  /** The broker id of its leader; -1 when it has none. */
  readonly leader: number;
  /**
   * The rack of the leader's broker; null or absent when that broker has no
   * rack (or is unknown). {@link RackAffinityGroupBalancer} reads it.
   */
  readonly leaderRack?: string | null | undefined;
  /** The broker ids of its replicas, leader included, when known. */
  readonly replicas?: readonly number[] | undefined;
}

/**
 * The outcome of a balancer: member id to topic to the partition ids the
 * member gets, in the order the balancer assigned them.
 *
 * Every member given to {@link GroupBalancer.assign} has an entry, an empty
 * map when it gets nothing; a topic appears in a member's map only when the
 * member gets at least one of its partitions.
 *
 * @example
 * ```ts
 * const assignments: GroupAssignments = new Map([
 *   ["a", new Map([["orders", [0, 1]]])],
 *   ["b", new Map()],
 * ]);
 * ```
 */
export type GroupAssignments = Map<string, Map<string, number[]>>;

/**
 * Assigns partitions to the members of a group. Implement it to supply your
 * own; every member of a group must offer a balancer of the same protocol
 * name for the coordinator to choose it.
 *
 * @example A balancer that gives every partition to the first member
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const first: GroupBalancer = {
 *   protocolName: "first",
 *   assign(members, partitions) {
 *     const result: GroupAssignments = new Map();
 *     for (const member of members) result.set(member.id, new Map());
 *     const [head] = members;
 *     const topics = head && result.get(head.id);
 *     if (!topics) return result;
 *     for (const { topic, partition } of partitions) {
 *       if (!head.topics.includes(topic)) continue;
 *       topics.set(topic, [...topics.get(topic) ?? [], partition]);
 *     }
 *     return result;
 *   },
 * };
 * const members = [{ id: "a", topics: ["t"], userData: null }];
 * const partitions = [{ topic: "t", partition: 0, leader: 1 }];
 * assert.deepEqual(
 *   first.assign(members, partitions).get("a"),
 *   new Map([["t", [0]]]),
 * );
 * ```
 */
export interface GroupBalancer {
  /**
   * The name this balancer is offered under in JoinGroup (the assignor's
   * name, in the Java client's words).
   */
  readonly protocolName: string;
  /**
   * How members change hands of partitions in a rebalance. "eager" (or
   * absent): every member gives up all its partitions when a rebalance
   * starts and takes the new assignment afterwards. "cooperative" (KIP-429):
   * a member keeps its partitions through the rebalance and gives up only
   * those the new assignment moves away, then rejoins at once, so that the
   * follow-up rebalance hands them to their new owner; the balancer must
   * leave out of an assignment every partition another member still owns.
   */
  readonly rebalanceProtocol?: "eager" | "cooperative" | undefined;
  /**
   * The user data this member sends along with its subscription to
   * `topics`, which the leader's balancer receives as
   * {@link GroupMember.userData}. Absent or null: none. `generation` is the
   * one in which the member got the partitions it owns now (-1 or absent:
   * none or unknown), for balancers whose user data carries it.
   */
  userData?(topics: readonly string[], generation?: number): Uint8Array | null;
  /**
   * Assigns `partitions` (those of the topics the members subscribe to; any
   * other is ignored) to `members`. Each partition of a subscribed topic
   * should go to exactly one member subscribed to its topic.
   */
  assign(
    members: readonly GroupMember[],
    partitions: readonly GroupPartition[],
  ): GroupAssignments;
}

/**
 * Gives each member a contiguous range of each topic's partitions, as
 * kafka-go's `RangeGroupBalancer`, under the protocol name "range".
 *
 * For each topic, the members subscribed to it are sorted by id (by their
 * UTF-8 bytes, as Go compares strings) and the topic's partitions are taken in
 * the order given (not sorted: pass them sorted by id for the usual result).
 * Member `i` of `m` gets the partitions at indexes `floor(i * n / m)` up to
 * `floor((i + 1) * n / m)` (excluded), so with an uneven split the larger
 * shares fall at evenly spaced places, the last member's always among them:
 * 5 partitions over 2 members give [0, 1] and [2, 3, 4]. (Java's
 * `RangeAssignor` gives the extra partitions to the first members; both are
 * valid in one group, since the leader alone assigns.) Sorting the members
 * the same way for every topic gives a member the same part of each topic.
 *
 * @example Five partitions, two members
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const members = [
 *   { id: "c1", topics: ["t"], userData: null },
 *   { id: "c0", topics: ["t"], userData: null },
 * ];
 * const partitions = [0, 1, 2, 3, 4].map((partition) => ({
 *   topic: "t",
 *   partition,
 *   leader: 1,
 * }));
 * const assignments = new RangeGroupBalancer().assign(members, partitions);
 * assert.deepEqual(assignments.get("c0")?.get("t"), [0, 1]);
 * assert.deepEqual(assignments.get("c1")?.get("t"), [2, 3, 4]);
 * ```
 */
export class RangeGroupBalancer implements GroupBalancer {
  /** "range", as in the Java client and librdkafka. */
  readonly protocolName = "range";

  assign(
    members: readonly GroupMember[],
    partitions: readonly GroupPartition[],
  ): GroupAssignments {
    return assignEachTopic(members, partitions, (ids, i, count) => {
      const from = Math.floor(i * ids.length / count);
      const to = Math.floor((i + 1) * ids.length / count);
      return ids.slice(from, to);
    });
  }
}

/**
 * Deals each topic's partitions out to its members in turn, as kafka-go's
 * `RoundRobinGroupBalancer`, under the protocol name "roundrobin".
 *
 * For each topic, the members subscribed to it are sorted by id (by their
 * UTF-8 bytes, as Go compares strings) and the partition at index `k` (in the
 * order given) goes to member `k % m`. Each topic starts again from the first
 * member, unlike Java's `RoundRobinAssignor`, which deals all topics'
 * partitions as one sequence.
 *
 * @example Five partitions, two members
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const members = [
 *   { id: "c0", topics: ["t"], userData: null },
 *   { id: "c1", topics: ["t"], userData: null },
 * ];
 * const partitions = [0, 1, 2, 3, 4].map((partition) => ({
 *   topic: "t",
 *   partition,
 *   leader: 1,
 * }));
 * const balancer = new RoundRobinGroupBalancer();
 * const assignments = balancer.assign(members, partitions);
 * assert.deepEqual(assignments.get("c0")?.get("t"), [0, 2, 4]);
 * assert.deepEqual(assignments.get("c1")?.get("t"), [1, 3]);
 * ```
 */
export class RoundRobinGroupBalancer implements GroupBalancer {
  /** "roundrobin", as in the Java client and librdkafka. */
  readonly protocolName = "roundrobin";

  assign(
    members: readonly GroupMember[],
    partitions: readonly GroupPartition[],
  ): GroupAssignments {
    return assignEachTopic(members, partitions, (ids, i, count) => {
      const share: number[] = [];
      for (let k = i; k < ids.length; k += count) share.push(ids[k]);
      return share;
    });
  }
}

/** Options of {@link RackAffinityGroupBalancer}. */
export interface RackAffinityGroupBalancerOptions {
  /**
   * The rack (zone) this member runs in, sent to the leader as its user
   * data. Default "": unknown, which pairs with partitions whose leader has
   * no rack.
   */
  rack?: string | undefined;
}

/**
 * Spreads each topic's partitions evenly over its members while pairing
 * members with partitions whose leader is in their rack, as kafka-go's
 * `RackAffinityGroupBalancer`, under the protocol name "rack-affinity" (which
 * only kafka-go and this client know). Reading from a leader in one's own rack
 * saves latency, and the cost of traffic across zones where it is charged.
 *
 * Each member sends its rack as its user data. Per topic, with `n` partitions
 * and `m` subscribed members (in the order given, not sorted), every member
 * gets `floor(n / m)` partitions and `n % m` of them one more. Within that
 * bound, the members of each rack first share the partitions led from their
 * rack ({@link GroupPartition.leaderRack}) as evenly as they divide, and what
 * is left is then dealt out regardless of rack: a best effort, not the
 * largest possible number of partitions in rack. A member with no rack and a
 * leader with no rack count as the same rack. Racks are taken in the order
 * their first partition appears, which is one of the orders kafka-go's (a Go
 * map's, so random) may take: where that order matters, kafka-go's result
 * varies from run to run and ours is one of its results.
 *
 * @example Two racks, one member in each
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const rack = (name: string) => new TextEncoder().encode(name);
 * const members = [
 *   { id: "a", topics: ["t"], userData: rack("zone-a") },
 *   { id: "b", topics: ["t"], userData: rack("zone-b") },
 * ];
 * const partitions = [0, 1, 2, 3].map((partition) => ({
 *   topic: "t",
 *   partition,
 *   leader: partition % 2,
 *   leaderRack: partition % 2 ? "zone-b" : "zone-a",
 * }));
 * const balancer = new RackAffinityGroupBalancer({ rack: "zone-a" });
 * const assignments = balancer.assign(members, partitions);
 * assert.deepEqual(assignments.get("a")?.get("t"), [0, 2]);
 * assert.deepEqual(assignments.get("b")?.get("t"), [1, 3]);
 * ```
 */
export class RackAffinityGroupBalancer implements GroupBalancer {
  /** "rack-affinity", as in kafka-go. */
  readonly protocolName = "rack-affinity";
  /** The rack of this member, as given ("" when none was). */
  readonly rack: string;

  /** Throws a TypeError unless `rack` is a string or unset. */
  constructor(options: RackAffinityGroupBalancerOptions = {}) {
    const context = "Cannot create RackAffinityGroupBalancer";
    checkCallOptions(context, options, RACK_OPTIONS);
    const rack = options.rack ?? "";
    if (typeof rack !== "string") {
      throw new TypeError(
        `${context}: "rack" must be a string, got ${describeValue(rack)}`,
      );
    }
    this.rack = rack;
  }

  /** The rack in UTF-8 (empty when none), whatever the topics. */
  userData(_topics?: readonly string[]): Uint8Array {
    return utf8.encode(this.rack);
  }

  assign(
    members: readonly GroupMember[],
    partitions: readonly GroupPartition[],
  ): GroupAssignments {
    const result = emptyAssignments(members);
    const membersByTopic = new Map<string, GroupMember[]>();
    for (const member of members) {
      for (const topic of member.topics) {
        pushTo(membersByTopic, topic, member);
      }
    }
    const partitionsByTopic = new Map<string, GroupPartition[]>();
    for (const partition of partitions) {
      pushTo(partitionsByTopic, partition.topic, partition);
    }
    const rackKeys = new Map<string, string>();
    for (const [topic, subscribers] of membersByTopic) {
      const shares = assignByRack(
        subscribers,
        partitionsByTopic.get(topic) ?? [],
        rackKeys,
      );
      for (const [id, share] of shares) append(result, id, topic, share);
    }
    return result;
  }
}

const utf8 = new TextEncoder();

/** The names of `RackAffinityGroupBalancerOptions`. */
const RACK_OPTIONS: ReadonlySet<string> = new Set(["rack"]);

/**
 * One topic's share-out of {@link RackAffinityGroupBalancer}: member id to
 * partition ids. `rackKeys` caches the zone key of each rack name.
 */
function assignByRack(
  members: readonly GroupMember[],
  partitions: readonly GroupPartition[],
  rackKeys: Map<string, string>,
): Map<string, number[]> {
  // Zones are compared as bytes, as kafka-go compares a member's user data
  // with the leader's rack: each is keyed by a string of one char per byte.
  const partitionsByZone = new Map<string, number[]>();
  for (const partition of partitions) {
    const rack = partition.leaderRack ?? "";
    let zone = rackKeys.get(rack);
    if (zone === undefined) {
      zone = byteKey(utf8.encode(rack));
      rackKeys.set(rack, zone);
    }
    pushTo(partitionsByZone, zone, partition.partition);
  }
  const membersByZone = new Map<string, string[]>();
  for (const member of members) {
    pushTo(membersByZone, byteKey(member.userData), member.id);
  }

  const target = Math.floor(partitions.length / members.length);
  let remainder = partitions.length % members.length;
  const shares = new Map<string, number[]>();
  const give = (id: string, ids: readonly number[]) => {
    const share = shares.get(id);
    if (share) share.push(...ids);
    else shares.set(id, ids.slice());
  };

  // First in zone: up to `target` each, and the remainder's extra partition
  // too where a zone has enough for all its members to reach the target.
  for (const [zone, all] of partitionsByZone) {
    const consumers = membersByZone.get(zone);
    if (!consumers) continue;
    const each = Math.min(Math.floor(all.length / consumers.length), target);
    let next = 0;
    for (const consumer of consumers) {
      give(consumer, all.slice(next, next + each));
      next += each;
    }
    let leftover = all.length - next;
    if (each === target) {
      leftover = Math.min(leftover, remainder, consumers.length);
      remainder -= leftover;
    }
    for (let i = 0; i < leftover; i++) give(consumers[i], [all[next + i]]);
    next += leftover;
    if (next === all.length) partitionsByZone.delete(zone);
    else partitionsByZone.set(zone, all.slice(next));
  }

  // Then what is left, regardless of zone, to the members short of their
  // share, the first ones taking what remains of the remainder.
  const remaining = [...partitionsByZone.values()].flat();
  let next = 0;
  for (const member of members) {
    let delta = target - (shares.get(member.id)?.length ?? 0);
    if (delta >= 0 && remainder > 0) {
      delta++;
      remainder--;
    }
    if (delta > 0) {
      give(member.id, remaining.slice(next, next + delta));
      next += delta;
    }
  }
  return shares;
}

/** A string of one char per byte: equal strings for equal bytes. */
function byteKey(bytes: Uint8Array | null): string {
  let key = "";
  if (bytes) { for (const byte of bytes) key += String.fromCharCode(byte); }
  return key;
}

/** An empty entry for every member, in the order given. */
/**
 * Shares each topic's partitions out among the members subscribed to it,
 * sorted by id: the `i`th of `count` gets `share(ids, i, count)`.
 */
function assignEachTopic(
  members: readonly GroupMember[],
  partitions: readonly GroupPartition[],
  share: (ids: readonly number[], i: number, count: number) => number[],
): GroupAssignments {
  const result = emptyAssignments(members);
  const partitionsByTopic = partitionIdsByTopic(partitions);
  for (const [topic, subscribers] of sortedMembersByTopic(members)) {
    const ids = partitionsByTopic.get(topic) ?? [];
    const count = subscribers.length;
    for (let i = 0; i < count; i++) {
      append(result, subscribers[i].id, topic, share(ids, i, count));
    }
  }
  return result;
}

function emptyAssignments(members: readonly GroupMember[]): GroupAssignments {
  const result: GroupAssignments = new Map();
  for (const member of members) result.set(member.id, new Map());
  return result;
}

/** Adds `ids` (when there are any) to the member's list of `topic`. */
function append(
  result: GroupAssignments,
  id: string,
  topic: string,
  ids: readonly number[],
): void {
  if (ids.length === 0) return;
  let topics = result.get(id);
  if (!topics) result.set(id, topics = new Map());
  const list = topics.get(topic);
  if (list) list.push(...ids);
  else topics.set(topic, ids.slice());
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Each topic's partition ids, in the order given. */
function partitionIdsByTopic(
  partitions: readonly GroupPartition[],
): Map<string, number[]> {
  const ids = new Map<string, number[]>();
  for (const { topic, partition } of partitions) pushTo(ids, topic, partition);
  return ids;
}

/**
 * The members subscribed to each topic, sorted by id in UTF-8 byte order, as
 * kafka-go sorts them for Range and RoundRobin.
 */
function sortedMembersByTopic(
  members: readonly GroupMember[],
): Map<string, GroupMember[]> {
  const byTopic = new Map<string, GroupMember[]>();
  for (const member of members) {
    for (const topic of member.topics) pushTo(byTopic, topic, member);
  }
  for (const list of byTopic.values()) {
    list.sort((a, b) => compareUtf8(a.id, b.id));
  }
  return byTopic;
}

/**
 * Compares two strings as their UTF-8 bytes (code point order), as Go
 * compares strings. UTF-16 code units sort the same way except that a
 * surrogate (U+D800 to U+DFFF, half of a code point above U+FFFF) must sort
 * after the code units U+E000 to U+FFFF.
 */
function compareUtf8(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}
