import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type {
  GroupAssignments,
  GroupBalancer,
  GroupMember,
  GroupPartition,
} from "./balancers.ts";
import {
  CooperativeStickyGroupBalancer,
  stickyAssign,
  stickyGeneration,
  withoutMovedPartitions,
} from "./sticky.ts";

type Claim = { topic: string; partition: number };

/** "t3" is partition 3 of topic "t" (one-letter topic names). */
function claims(...names: string[]): Claim[] {
  return names.map((name) => ({
    topic: name[0],
    partition: Number(name.slice(1)),
  }));
}

function member(
  id: string,
  topics: string[],
  owned: Claim[] = [],
  generation = -1,
): GroupMember {
  return { id, topics, userData: null, owned, generation };
}

function partitionsOf(counts: Record<string, number>): GroupPartition[] {
  return Object.entries(counts).flatMap(([topic, n]) =>
    Array.from({ length: n }, (_, partition) => ({
      topic,
      partition,
      leader: partition % 3,
    }))
  );
}

/** Member id to its partitions as "t3" names, members and names sorted. */
function plain(assignments: GroupAssignments): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const id of [...assignments.keys()].sort()) {
    out[id] = [...assignments.get(id)!].flatMap(([topic, ids]) =>
      ids.map((partition) => `${topic}${partition}`)
    ).sort();
  }
  return out;
}

/** The members again, each now owning what `assignments` gave it. */
function nextRound(
  members: readonly GroupMember[],
  assignments: GroupAssignments,
  generation: number,
): GroupMember[] {
  return members.map((m) =>
    member(m.id, [...m.topics], claims(...plain(assignments)[m.id]), generation)
  );
}

/**
 * Every partition of a subscribed topic assigned once, to a member that
 * subscribes to it; and no member could take a partition from one that has
 * two or more more (with equal subscriptions: counts differ by one at most).
 */
function assertBalanced(
  members: readonly GroupMember[],
  partitions: readonly GroupPartition[],
  assignments: GroupAssignments,
): void {
  assert.deepEqual(
    [...assignments.keys()].sort(),
    members.map((m) => m.id).sort(),
  );
  const owner = new Map<string, string>();
  const counts = new Map<string, number>();
  for (const [id, topics] of assignments) {
    const m = members.find((m) => m.id === id)!;
    for (const [topic, ids] of topics) {
      assert.ok(m.topics.includes(topic), `${id} got ${topic}`);
      for (const p of ids) {
        assert.ok(!owner.has(`${topic}${p}`), `${topic}${p} assigned twice`);
        owner.set(`${topic}${p}`, id);
      }
      counts.set(id, (counts.get(id) ?? 0) + ids.length);
    }
  }
  const subscribed = partitions.filter((p) =>
    members.some((m) => m.topics.includes(p.topic))
  );
  assert.deepEqual(
    [...owner.keys()].sort(),
    subscribed.map((p) => `${p.topic}${p.partition}`).sort(),
  );
  const count = (id: string) => counts.get(id) ?? 0;
  for (const [name, from] of owner) {
    for (const m of members) {
      if (m.topics.includes(name[0])) {
        assert.ok(
          count(from) < count(m.id) + 2,
          `${m.id} (${count(m.id)}) could take ${name} from ${from} (${
            count(from)
          })`,
        );
      }
    }
  }
}

describe("cooperative-sticky: protocol", () => {
  test("name and rebalance protocol", () => {
    const balancer: GroupBalancer = new CooperativeStickyGroupBalancer();
    assert.equal(balancer.protocolName, "cooperative-sticky");
    assert.equal(balancer.rebalanceProtocol, "cooperative");
  });

  // CooperativeStickyAssignor.subscriptionUserData writes a Struct of one
  // INT32 field, "generation": 4 bytes, big-endian, no version prefix.
  test("user data is the generation as Java's INT32 struct", () => {
    const balancer = new CooperativeStickyGroupBalancer();
    const vectors: [number, number[]][] = [
      [-1, [0xff, 0xff, 0xff, 0xff]],
      [0, [0, 0, 0, 0]],
      [1, [0, 0, 0, 1]],
      [258, [0, 0, 1, 2]],
      [0x7fffffff, [0x7f, 0xff, 0xff, 0xff]],
    ];
    for (const [generation, bytes] of vectors) {
      const userData = balancer.userData(["t"], generation);
      assert.deepEqual(userData, new Uint8Array(bytes));
      assert.equal(
        stickyGeneration({ id: "m", topics: [], userData }),
        generation,
      );
    }
    assert.deepEqual(
      balancer.userData(["t"]),
      new Uint8Array([255, 255, 255, 255]),
    );
  });

  test("a generation that is not a 32-bit integer is a RangeError", () => {
    const balancer = new CooperativeStickyGroupBalancer();
    for (const bad of [1.5, 2 ** 31, NaN, "3" as unknown as number]) {
      assert.throws(
        () => balancer.userData(["t"], bad),
        (error: unknown) =>
          error instanceof RangeError &&
          /"generation" must be a 32-bit integer, got/.test(error.message),
      );
    }
  });

  test("the generation field wins over the user data, unless it is -1", () => {
    const userData = new Uint8Array([0, 0, 0, 9]);
    const base = { id: "m", topics: ["t"], userData };
    assert.equal(stickyGeneration({ ...base, generation: 4 }), 4);
    assert.equal(stickyGeneration({ ...base, generation: -1 }), 9);
    assert.equal(stickyGeneration(base), 9);
    // As Java reads it: too short is -1, extra bytes are ignored.
    const short = { ...base, userData: new Uint8Array([0, 0, 9]) };
    assert.equal(stickyGeneration(short), -1);
    const long = { ...base, userData: new Uint8Array([0, 0, 0, 9, 1, 2]) };
    assert.equal(stickyGeneration(long), 9);
    assert.equal(stickyGeneration({ ...base, userData: null }), -1);
  });

  test("the generation from the user data settles a conflicting claim", () => {
    const balancer = new CooperativeStickyGroupBalancer();
    const partitions = partitionsOf({ t: 2 });
    const members: GroupMember[] = [
      {
        ...member("a", ["t"], claims("t0")),
        userData: balancer.userData([], 3),
      },
      {
        ...member("b", ["t"], claims("t0")),
        userData: balancer.userData([], 2),
      },
    ];
    const result = plain(balancer.assign(members, partitions));
    assert.deepEqual(result, { a: ["t0"], b: ["t1"] });
  });
});

describe("cooperative-sticky: assignments", () => {
  const balancer = new CooperativeStickyGroupBalancer();

  test("a fresh group is balanced, each member with a part of each topic", () => {
    const members = ["c", "a", "b"].map((id) => member(id, ["t", "u"]));
    const partitions = partitionsOf({ u: 3, t: 3 });
    const result = balancer.assign(members, partitions);
    assert.deepEqual(plain(result), {
      a: ["t0", "u0"],
      b: ["t1", "u1"],
      c: ["t2", "u2"],
    });
    assert.deepEqual([...result.keys()], ["a", "b", "c"]);
    const uneven = partitionsOf({ t: 7, u: 5 });
    const five = ["a", "b", "c", "d", "e"].map((id) => member(id, ["t", "u"]));
    assertBalanced(five, uneven, balancer.assign(five, uneven));
  });

  test("a member joins: round one only takes away, round two hands over", () => {
    const partitions = partitionsOf({ t: 6, u: 3 });
    const before = [
      member("a", ["t", "u"], claims("t0", "t2", "t4", "u0", "u2"), 3),
      member("b", ["t", "u"], claims("t1", "t3", "t5", "u1"), 3),
      member("c", ["t", "u"]),
    ];
    const target = stickyAssign(before, partitions);
    assertBalanced(before, partitions, target);
    const first = balancer.assign(before, partitions);
    assert.deepEqual(plain(first), {
      a: ["t0", "t2", "u0"],
      b: ["t1", "t3", "u1"],
      c: [],
    });
    // The balancer is the cooperative adjustment of the sticky target.
    assert.deepEqual(
      plain(withoutMovedPartitions(before, target)),
      plain(first),
    );

    const second = balancer.assign(nextRound(before, first, 4), partitions);
    assert.deepEqual(plain(second), plain(target));
    assert.deepEqual(plain(second).c, ["t4", "t5", "u2"]);
  });

  test("a member leaves: its partitions are shared out, no other moves", () => {
    const partitions = partitionsOf({ t: 7 });
    const members = [
      member("a", ["t"], claims("t0", "t3"), 8),
      member("b", ["t"], claims("t1", "t4", "t6"), 8),
      // c, which owned t2 and t5, left.
    ];
    const result = balancer.assign(members, partitions);
    assert.deepEqual(plain(result), {
      a: ["t0", "t2", "t3", "t5"],
      b: ["t1", "t4", "t6"],
    });
    assert.deepEqual(plain(stickyAssign(members, partitions)), plain(result));
  });

  test("conflicting claims: the later generation wins, a tie is withheld", () => {
    const partitions = partitionsOf({ t: 6 });
    const members = [
      member("a", ["t"], claims("t0", "t1"), 5),
      member("b", ["t"], claims("t0", "t2"), 4), // t0 is stale
      member("c", ["t"], claims("t1", "t3"), 5), // t1: a tie with a
    ];
    assert.deepEqual(plain(stickyAssign(members, partitions)), {
      a: ["t0", "t1"],
      b: ["t2", "t4"],
      c: ["t3", "t5"],
    });
    // t1 is withheld: a and c both say they own it.
    assert.deepEqual(plain(balancer.assign(members, partitions)), {
      a: ["t0"],
      b: ["t2", "t4"],
      c: ["t3", "t5"],
    });
  });

  test("an uncontested claim from an older generation is kept", () => {
    const partitions = partitionsOf({ t: 4 });
    const members = [
      member("a", ["t"], claims("t0", "t1"), 9),
      member("b", ["t"], claims("t2", "t3"), 6), // missed some rebalances
    ];
    assert.deepEqual(plain(balancer.assign(members, partitions)), {
      a: ["t0", "t1"],
      b: ["t2", "t3"],
    });
  });

  test("the valid owner keeps a partition a stale member also claims", () => {
    const members = [
      member("a", ["t"], claims("t0"), 2),
      member("b", ["t"], claims("t0"), 1),
    ];
    const assignments: GroupAssignments = new Map([
      ["a", new Map([["t", [0]]])],
      ["b", new Map([["t", [1]]])],
    ]);
    assert.deepEqual(plain(withoutMovedPartitions(members, assignments)), {
      a: ["t0"],
      b: ["t1"],
    });
    // Given to the stale claimant, it is withheld: a still has it.
    const moved: GroupAssignments = new Map([
      ["a", new Map([["t", [1]]])],
      ["b", new Map([["t", [0]]])],
    ]);
    assert.deepEqual(plain(withoutMovedPartitions(members, moved)), {
      a: ["t1"],
      b: [],
    });
  });

  test("unequal subscriptions: balanced as far as the topics allow", () => {
    const partitions = partitionsOf({ t: 4, u: 2 });
    const fresh = [
      member("a", ["t"]),
      member("b", ["t", "u"]),
      member("c", ["u"]),
    ];
    assert.deepEqual(plain(balancer.assign(fresh, partitions)), {
      a: ["t0", "t2"],
      b: ["t1", "t3"],
      c: ["u0", "u1"],
    });

    // b owned everything: a and c get their share in the second round.
    const all = claims("t0", "t1", "t2", "t3", "u0", "u1");
    const joined = [fresh[0], member("b", ["t", "u"], all, 1), fresh[2]];
    const target = stickyAssign(joined, partitions);
    assertBalanced(joined, partitions, target);
    assert.deepEqual(
      Object.values(plain(target)).map((names) => names.length),
      [2, 2, 2],
    );
    const first = balancer.assign(joined, partitions);
    assert.deepEqual(plain(first).a, []);
    assert.deepEqual(plain(first).c, []);
    assert.equal(plain(first).b.length, 2);
    const second = balancer.assign(nextRound(joined, first, 2), partitions);
    assert.deepEqual(plain(second), plain(target));

    const skewed = [
      member("a", ["t", "u"]),
      member("b", ["t"]),
      member("c", ["t"]),
    ];
    assertBalanced(skewed, partitions, balancer.assign(skewed, partitions));
  });

  test("vanished topics and partitions, and unsubscribed topics, are dropped", () => {
    const partitions = partitionsOf({ t: 2, u: 2 });
    const members = [
      // g: a deleted topic; t5: a partition that does not exist.
      member("a", ["t", "g"], claims("t0", "t5", "g0"), 3),
      // b owned u0 but now subscribes to t only.
      member("b", ["t"], claims("t1", "u0"), 3),
      member("c", ["t", "u"], claims("u1"), 3),
    ];
    const target = stickyAssign(members, partitions);
    assertBalanced(members, partitions, target);
    assert.deepEqual(plain(target), { a: ["t0"], b: ["t1"], c: ["u0", "u1"] });
    // u0 waits for b to give it up.
    assert.deepEqual(plain(balancer.assign(members, partitions)), {
      a: ["t0"],
      b: ["t1"],
      c: ["u1"],
    });
  });

  test("no members, no partitions, duplicate partitions", () => {
    assert.equal(balancer.assign([], partitionsOf({ t: 3 })).size, 0);
    const members = [member("a", ["t"]), member("b", ["t"])];
    assert.deepEqual(plain(balancer.assign(members, [])), { a: [], b: [] });
    const twice = [...partitionsOf({ t: 2 }), ...partitionsOf({ t: 2 })];
    assert.deepEqual(plain(balancer.assign(members, twice)), {
      a: ["t0"],
      b: ["t1"],
    });
  });

  test("conflicting random claims: balanced, and the order given does not matter", () => {
    const next = random(7);
    for (let run = 0; run < 50; run++) {
      const { members, partitions } = randomGroup(next, true);
      assertBalanced(members, partitions, stickyAssign(members, partitions));
      const expected = plain(balancer.assign(members, partitions));
      const shuffledMembers = shuffle(members, next);
      const shuffledPartitions = shuffle(partitions, next);
      const again = balancer.assign(shuffledMembers, shuffledPartitions);
      assert.deepEqual(plain(again), expected);
      assert.deepEqual(
        [...again.keys()],
        members.map((m) => m.id).sort(),
      );
    }
  });

  test("leaves its input alone", () => {
    const members = [
      member("a", ["t"], claims("t0", "t1"), 2),
      member("b", ["t"]),
    ];
    const partitions = partitionsOf({ t: 3 });
    const before = JSON.stringify([members, partitions]);
    balancer.assign(members, partitions);
    assert.equal(JSON.stringify([members, partitions]), before);
  });
});

describe("cooperative-sticky: random churn", () => {
  const balancer = new CooperativeStickyGroupBalancer();

  // Members join, leave and change topics; each generation is run as the
  // group would run it: the cooperative round, then, while something was
  // withheld, a follow-up round with what each member then owns.
  test("no partition is given to one member while another owns it", () => {
    const next = random(42);
    for (let run = 0; run < 40; run++) {
      const { members: start, partitions } = randomGroup(next);
      let members = start;
      let generation = 1;
      for (let step = 0; step < 6; step++) {
        const owners = new Map<string, string>();
        for (const m of members) {
          for (const { topic, partition } of m.owned ?? []) {
            owners.set(`${topic}${partition}`, m.id);
          }
        }
        const target = plain(stickyAssign(members, partitions));
        assertBalanced(members, partitions, stickyAssign(members, partitions));
        let result = balancer.assign(members, partitions);
        for (const [id, names] of Object.entries(plain(result))) {
          for (const name of names) {
            const previous = owners.get(name);
            assert.ok(previous === undefined || previous === id);
          }
          // And all it is given now, the target gives it too.
          for (const name of names) assert.ok(target[id].includes(name));
        }
        members = nextRound(members, result, ++generation);
        result = balancer.assign(members, partitions);
        if (sameTopics(members, partitions)) {
          // With equal subscriptions, the follow-up round completes it.
          assert.deepEqual(plain(result), target);
        }
        members = churn(nextRound(members, result, ++generation), next);
      }
    }
  });
});

function sameTopics(
  members: readonly GroupMember[],
  partitions: readonly GroupPartition[],
): boolean {
  const existing = new Set(partitions.map((p) => p.topic));
  const sets = members.map((m) =>
    m.topics.filter((t) => existing.has(t)).sort().join()
  );
  return sets.every((set) => set === sets[0]);
}

/** A small seeded generator (mulberry32), so that failures reproduce. */
function random(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor(((t ^ (t >>> 14)) >>> 0) / 2 ** 32 * n);
  };
}

function shuffle<T>(items: readonly T[], next: (n: number) => number): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = next(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const TOPICS = ["t", "u", "v"];

function randomTopics(next: (n: number) => number): string[] {
  return next(2) ? TOPICS : TOPICS.filter(() => next(2) > 0);
}

/**
 * 1 to 5 members, 3 topics of 0 to 8 partitions; with `withClaims`, each
 * member claims a random fourth of them (and of a deleted topic) from
 * generation 1, 2 or 3, so claims conflict.
 */
function randomGroup(next: (n: number) => number, withClaims = false) {
  const counts: Record<string, number> = {};
  for (const topic of TOPICS) counts[topic] = next(9);
  const members: GroupMember[] = [];
  const count = 1 + next(5);
  for (let i = 0; i < count; i++) {
    const owned = withClaims
      ? partitionsOf({ ...counts, g: 2 }).filter(() => next(4) === 0)
        .map(({ topic, partition }) => ({ topic, partition }))
      : [];
    members.push(member(`m${i}`, randomTopics(next), owned, 1 + next(3)));
  }
  return { members, partitions: partitionsOf(counts) };
}

let joined = 0;

/** Now and then a member leaves, one joins, or one changes its topics. */
function churn(
  members: GroupMember[],
  next: (n: number) => number,
): GroupMember[] {
  const out = members.slice();
  const roll = next(4);
  if (roll === 0 && out.length > 1) out.splice(next(out.length), 1);
  else if (roll === 1) out.push(member(`n${joined++}`, randomTopics(next)));
  else if (roll === 2) {
    const i = next(out.length);
    out[i] = { ...out[i], topics: randomTopics(next) };
  }
  return out;
}
