/**
 * The cooperative-sticky group balancer: balanced assignments that move as
 * few partitions as they can from one rebalance to the next, handed over in
 * two rebalances (KIP-429) so that no partition is ever read by two members
 * at once. It speaks the Java client's `CooperativeStickyAssignor` protocol
 * (name "cooperative-sticky", the same user data), so our readers and Java
 * consumers can share a group whichever of them leads.
 *
 * {@link CooperativeStickyGroupBalancer} is {@link withoutMovedPartitions}
 * applied to {@link stickyAssign}. All three are pure functions.
 *
 * @example A third member joins: two partitions change hands in two rebalances
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const t = (ids: number[]) => ids.map((partition) => ({ topic: "t", partition }));
 * const partitions = t([0, 1, 2, 3, 4, 5]).map((p) => ({ ...p, leader: 1 }));
 * const member = (id: string, owned: number[], generation: number) =>
 *   ({ id, topics: ["t"], userData: null, owned: t(owned), generation });
 * const balancer = new CooperativeStickyGroupBalancer();
 * const first = balancer.assign(
 *   [member("a", [0, 1, 2], 4), member("b", [3, 4, 5], 4), member("c", [], -1)],
 *   partitions,
 * );
 * // a and b give up 2 and 5, which c cannot have while they own them.
 * assert.deepEqual(first.get("a"), new Map([["t", [0, 1]]]));
 * assert.deepEqual(first.get("c"), new Map());
 * const second = balancer.assign(
 *   [member("a", [0, 1], 5), member("b", [3, 4], 5), member("c", [], 5)],
 *   partitions,
 * );
 * assert.deepEqual(second.get("c"), new Map([["t", [2, 5]]]));
 * ```
 *
 * @module
 */

import type {
  GroupAssignments,
  GroupBalancer,
  GroupMember,
  GroupPartition,
} from "./balancers.ts";

/**
 * The cooperative-sticky balancer, compatible with the Java client's
 * `CooperativeStickyAssignor`: protocol name "cooperative-sticky", the
 * cooperative rebalance protocol, and as user data the generation of the
 * member's last assignment (a 4-byte big-endian INT32, as Java writes it).
 *
 * Every member keeps what it validly owned as far as balance allows; a
 * partition that changes hands is left out until its owner has given it up
 * and rejoined. Racks are ignored (Java's rack-aware placement is not
 * implemented), which makes no assignment invalid for Java members.
 *
 * @example What a member sends
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const balancer = new CooperativeStickyGroupBalancer();
 * assert.equal(balancer.protocolName, "cooperative-sticky");
 * assert.equal(balancer.rebalanceProtocol, "cooperative");
 * assert.deepEqual(balancer.userData(["t"], 7), new Uint8Array([0, 0, 0, 7]));
 * assert.deepEqual(balancer.userData(["t"]), new Uint8Array([255, 255, 255, 255]));
 * ```
 */
export class CooperativeStickyGroupBalancer implements GroupBalancer {
  /** "cooperative-sticky", as in the Java client and librdkafka. */
  readonly protocolName = "cooperative-sticky";
  /** Members keep their partitions through a rebalance (KIP-429). */
  readonly rebalanceProtocol = "cooperative";

  /**
   * The generation in which the member got the partitions it owns, as a
   * big-endian INT32 (Java's one-field struct "generation"); -1, the
   * default, when it owns none or does not know. The topics do not matter.
   * Throws a RangeError unless `generation` is a 32-bit integer.
   */
  userData(
    _topics?: readonly string[],
    generation = -1,
  ): Uint8Array {
    if (generation !== (generation | 0)) {
      throw new RangeError(
        `Cannot encode cooperative-sticky user data: "generation" must be a 32-bit integer, got ${
          String(generation)
        }`,
      );
    }
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setInt32(0, generation);
    return bytes;
  }

  assign(
    members: readonly GroupMember[],
    partitions: readonly GroupPartition[],
  ): GroupAssignments {
    return withoutMovedPartitions(members, stickyAssign(members, partitions));
  }
}

/**
 * The generation the leader credits a member's owned partitions to:
 * {@link GroupMember.generation} when it is known (0 or more), else the one
 * in its cooperative-sticky user data, else -1. As the Java client reads
 * user data, one shorter than 4 bytes counts as -1 and bytes after the
 * fourth are ignored.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const userData = new Uint8Array([0, 0, 1, 2]);
 * assert.equal(stickyGeneration({ id: "a", topics: [], userData }), 258);
 * assert.equal(stickyGeneration({ id: "a", topics: [], userData, generation: 3 }), 3);
 * assert.equal(stickyGeneration({ id: "a", topics: [], userData: null }), -1);
 * ```
 */
export function stickyGeneration(member: GroupMember): number {
  const { generation, userData } = member;
  if (typeof generation === "number" && generation >= 0) return generation;
  if (!userData || userData.length < 4) return -1;
  return new DataView(userData.buffer, userData.byteOffset, 4).getInt32(0);
}

/**
 * The sticky assignment, before the cooperative adjustment: what the group
 * should look like once every handover is done.
 *
 * - Sticky: a member keeps each partition it validly owns, as far as balance
 *   allows. A claim is valid when the partition still exists, the member
 *   still subscribes to its topic, and no other member claims it from a
 *   later generation (see {@link stickyGeneration}). Two claims from the
 *   same, latest, generation cancel out: the partition goes to whoever
 *   balance favours. An older claim that nobody contests still counts, as in
 *   the Java client since 3.4.1 and 3.5 (KAFKA-14639): dropping every claim older than
 *   the newest generation revoked everything a member owned for having
 *   missed one rebalance.
 * - Balanced: when every member subscribes to the same topics (among those
 *   that exist), each gets the floor or the ceiling of partitions / members;
 *   otherwise no member is left that could take a partition from one that
 *   has two or more partitions more than it.
 * - Deterministic: members are taken in id order, partitions in topic then
 *   id order, whatever the order given. Every member has an entry, in id
 *   order; topics are in name order, partition ids ascending.
 *
 * @example A member leaves: its partitions are shared out, nothing else moves
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const t = (ids: number[]) => ids.map((partition) => ({ topic: "t", partition }));
 * const partitions = t([0, 1, 2, 3, 4, 5]).map((p) => ({ ...p, leader: 1 }));
 * const assignments = stickyAssign([
 *   { id: "a", topics: ["t"], userData: null, owned: t([0, 3]), generation: 2 },
 *   { id: "b", topics: ["t"], userData: null, owned: t([1, 4]), generation: 2 },
 * ], partitions); // c, which had 2 and 5, left
 * assert.deepEqual(assignments.get("a"), new Map([["t", [0, 2, 3]]]));
 * assert.deepEqual(assignments.get("b"), new Map([["t", [1, 4, 5]]]));
 * ```
 */
export function stickyAssign(
  members: readonly GroupMember[],
  partitions: readonly GroupPartition[],
): GroupAssignments {
  const sorted = uniqueById(members);
  const existing = new Set(partitions.map((p) => p.topic));
  // What each member may be given: its topics that exist.
  const eligible = new Map<string, Set<string>>();
  const subscribers = new Map<string, string[]>();
  for (const { id, topics } of sorted) {
    eligible.set(id, new Set(topics.filter((topic) => existing.has(topic))));
    for (const topic of eligible.get(id)!) {
      subscribers.set(topic, [...subscribers.get(topic) ?? [], id]);
    }
  }
  const slots = new Map<string, Slot>();
  for (const { topic, partition } of partitions) {
    const key = keyOf(topic, partition);
    const ids = subscribers.get(topic);
    if (ids && !slots.has(key)) {
      slots.set(key, { topic, partition, subscribers: ids });
    }
  }
  const all = [...slots.values()].sort(compareSlots);

  const kept = new Map<string, Slot[]>(sorted.map((m) => [m.id, []]));
  for (const [key, owner] of validOwners(sorted)) {
    const slot = slots.get(key);
    if (slot && owner !== null && eligible.get(owner)!.has(slot.topic)) {
      kept.get(owner)!.push(slot);
    }
  }

  const sets = [...eligible.values()];
  const equal = sets.every((set) =>
    set.size === sets[0].size && [...set].every((t) => sets[0].has(t))
  );
  const shares = equal
    ? assignByQuota(sorted, all, kept)
    : assignByBalancing(sorted, all, kept);

  const result: GroupAssignments = new Map();
  for (const member of sorted) {
    const topics = new Map<string, number[]>();
    for (const slot of shares.get(member.id)!.sort(compareSlots)) {
      const list = topics.get(slot.topic);
      if (list) list.push(slot.partition);
      else topics.set(slot.topic, [slot.partition]);
    }
    result.set(member.id, topics);
  }
  return result;
}

/**
 * The cooperative adjustment: `assignments` without the partitions that
 * change hands, which their previous owner must give up before anyone else
 * may have them. A member keeps a partition in the result when nobody claims
 * it in {@link GroupMember.owned}, or when it is the partition's valid owner
 * (the one claimant of the latest generation; see {@link stickyAssign}).
 * Any other partition is withheld: a member still owns it (or two do, when
 * their claims cancel out) and will give it up on receiving this
 * assignment, then rejoin, and the next rebalance assigns it.
 *
 * Returns a new map; `assignments` is left alone. Every member it lists is
 * kept, in its order, with its topics in their order.
 *
 * @example b takes over partition 1 from a, in the next rebalance
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const members = [
 *   { id: "a", topics: ["t"], userData: null, owned: [{ topic: "t", partition: 1 }] },
 *   { id: "b", topics: ["t"], userData: null },
 * ];
 * const assignments = new Map([
 *   ["a", new Map([["t", [0]]])],
 *   ["b", new Map([["t", [1, 2]]])],
 * ]);
 * const adjusted = withoutMovedPartitions(members, assignments);
 * assert.deepEqual(adjusted.get("a"), new Map([["t", [0]]]));
 * assert.deepEqual(adjusted.get("b"), new Map([["t", [2]]]));
 * ```
 */
export function withoutMovedPartitions(
  members: readonly GroupMember[],
  assignments: GroupAssignments,
): GroupAssignments {
  const owners = validOwners(uniqueById(members));
  const result: GroupAssignments = new Map();
  for (const [id, topics] of assignments) {
    const kept = new Map<string, number[]>();
    for (const [topic, ids] of topics) {
      const list = ids.filter((partition) => {
        const owner = owners.get(keyOf(topic, partition));
        return owner === undefined || owner === id;
      });
      if (list.length > 0) kept.set(topic, list);
    }
    result.set(id, kept);
  }
  return result;
}

/** A partition of a subscribed topic, with the members that may have it. */
interface Slot {
  readonly topic: string;
  readonly partition: number;
  /** Ids of the members subscribed to its topic, in id order. */
  readonly subscribers: readonly string[];
}

/** Topic names cannot hold NUL, so the pair maps to one string. */
function keyOf(topic: string, partition: number): string {
  return `${topic}\0${partition}`;
}

/** Strings in UTF-16 order, as Java's `String.compareTo`. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareSlots(a: Slot, b: Slot): number {
  return compareStrings(a.topic, b.topic) || a.partition - b.partition;
}

/** The members sorted by id; of two with one id, the first given. */
function uniqueById(members: readonly GroupMember[]): GroupMember[] {
  const byId = new Map<string, GroupMember>();
  for (const member of members) {
    if (!byId.has(member.id)) byId.set(member.id, member);
  }
  return [...byId.values()].sort((a, b) => compareStrings(a.id, b.id));
}

/**
 * Each claimed partition's valid owner: the one member that claims it from
 * the latest generation among its claims, or null when several do. The
 * outcome does not depend on the members' order.
 */
function validOwners(
  members: readonly GroupMember[],
): Map<string, string | null> {
  const claims = new Map<string, { id: string | null; generation: number }>();
  for (const member of members) {
    const generation = stickyGeneration(member);
    for (const { topic, partition } of member.owned ?? []) {
      const key = keyOf(topic, partition);
      const claim = claims.get(key);
      if (!claim || generation > claim.generation) {
        claims.set(key, { id: member.id, generation });
      } else if (generation === claim.generation && claim.id !== member.id) {
        claim.id = null;
      }
    }
  }
  return new Map([...claims].map(([key, claim]) => [key, claim.id]));
}

/**
 * Equal subscriptions: every member gets `floor(n / m)` partitions and
 * `n % m` of them one more. A member keeps up to its quota of what it owns,
 * the extra one going to members owning more than the floor first (in id
 * order), so that as few partitions as possible move; what is left is dealt
 * out in turn to the members short of their quota.
 */
function assignByQuota(
  members: readonly GroupMember[],
  all: readonly Slot[],
  kept: ReadonlyMap<string, Slot[]>,
): Map<string, Slot[]> {
  const shares = new Map<string, Slot[]>();
  if (members.length === 0) return shares;
  const floor = Math.floor(all.length / members.length);
  let extra = all.length % members.length;
  const taken = new Set<Slot>();
  const quotas = new Map<string, number>();
  for (const { id } of members) {
    // Lowest partition ids first, across topics: a member cut back keeps a
    // part of every topic it had rather than all of one topic.
    const owned = kept.get(id)!.sort((a, b) =>
      a.partition - b.partition || compareStrings(a.topic, b.topic)
    );
    let quota = floor;
    if (owned.length > floor && extra > 0) {
      quota++;
      extra--;
    }
    quotas.set(id, quota);
    const share = owned.slice(0, quota);
    for (const slot of share) taken.add(slot);
    shares.set(id, share);
  }
  for (const { id } of members) {
    if (extra > 0 && quotas.get(id) === floor) {
      quotas.set(id, floor + 1);
      extra--;
    }
  }
  const short = members.map((m) => m.id).filter((id) =>
    shares.get(id)!.length < quotas.get(id)!
  );
  let next = 0;
  for (const slot of all) {
    if (taken.has(slot)) continue;
    const id = short[next];
    const share = shares.get(id)!;
    share.push(slot);
    if (share.length === quotas.get(id)) short.splice(next, 1);
    else next++;
    if (next >= short.length) next = 0;
  }
  return shares;
}

/**
 * Unequal subscriptions: every member keeps all it validly owns; each
 * partition left goes to the least loaded member that may have it, the
 * partitions with fewest candidates first. Then, while some member may take
 * a partition from one holding two or more more than it, the least loaded
 * such member takes one from the most loaded one it can: where it has the
 * choice, one it owned, else one not taken from its owner, and of the
 * partitions with fewest candidates, which leaves the others to members that
 * can take only those. Every move lowers the sum of the squares of the
 * members' counts, so this ends.
 */
function assignByBalancing(
  members: readonly GroupMember[],
  all: readonly Slot[],
  kept: ReadonlyMap<string, Slot[]>,
): Map<string, Slot[]> {
  const ids = members.map((member) => member.id);
  const owner = new Map<Slot, string>();
  const counts = new Map(ids.map((id) => [id, kept.get(id)!.length]));
  for (const id of ids) for (const slot of kept.get(id)!) owner.set(slot, id);
  const original = new Map(owner);
  const count = (id: string) => counts.get(id)!;
  const give = (slot: Slot, id: string) => {
    const from = owner.get(slot);
    if (from !== undefined) counts.set(from, count(from) - 1);
    counts.set(id, count(id) + 1);
    owner.set(slot, id);
  };
  const cost = (slot: Slot, id: string) => {
    const first = original.get(slot);
    return first === id ? 0 : owner.get(slot) === first ? 2 : 1;
  };

  const ordered = all.slice().sort((a, b) =>
    a.subscribers.length - b.subscribers.length || compareSlots(a, b)
  );
  const reachable = new Map<string, Slot[]>(ids.map((id) => [id, []]));
  for (const slot of ordered) {
    for (const id of slot.subscribers) reachable.get(id)!.push(slot);
    if (!owner.has(slot)) {
      give(
        slot,
        slot.subscribers.reduce((a, b) => count(b) < count(a) ? b : a),
      );
    }
  }
  for (let moved = true; moved;) {
    moved = false;
    const receivers = ids.slice().sort((a, b) =>
      count(a) - count(b) || compareStrings(a, b)
    );
    for (const id of receivers) {
      let best: Slot | undefined;
      let most = count(id) + 1;
      for (const slot of reachable.get(id)!) {
        const held = count(owner.get(slot)!);
        if (
          held > most ||
          (best && held === most && cost(slot, id) < cost(best, id))
        ) {
          best = slot;
          most = held;
        }
      }
      if (best) {
        give(best, id);
        moved = true;
        break;
      }
    }
  }
  const shares = new Map<string, Slot[]>(ids.map((id) => [id, []]));
  for (const [slot, id] of owner) shares.get(id)!.push(slot);
  return shares;
}
