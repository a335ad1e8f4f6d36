/**
 * Consumer groups against the real broker, under each group protocol
 * (classic, and the consumer protocol of KIP-848): several Readers share a
 * topic's partitions, hand them over when one leaves or dies, resume from
 * their commits, keep their membership while a message takes long, and
 * close promptly even during a rebalance.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Message, Reader } from "../mod.ts";
import { CreatePartitions } from "../lib/protocol/messages/create_partitions.ts";
import { Cluster } from "../lib/cluster/cluster.ts";
import { BROKER, sleep } from "./_helpers.ts";
import {
  childReads,
  committed,
  consume,
  duplicates,
  endOffsets,
  expected,
  fast,
  member,
  newGroup,
  produce,
  PROTOCOLS,
  topicWith,
  until,
} from "./_group.ts";

for (const protocol of PROTOCOLS) {
  const FAST = fast(protocol);
  describe(`consumer group (${protocol} protocol)`, () => {
    test("three readers share six partitions: each message once, two partitions each", async () => {
      const topic = await topicWith(6);
      await produce(topic, 0, 3000);
      const groupId = await newGroup(protocol);
      const readers = [0, 1, 2].map(() =>
        new Reader({ brokers: [BROKER], topic, groupId, ...FAST })
      );
      const seen: string[][] = readers.map(() => []);
      const loops = readers.map((r, i) => consume(r, seen[i]));
      const total = () => seen.reduce((n, s) => n + s.length, 0);
      await until("every message read", () => total() >= 3000);
      await until(
        "a balanced assignment",
        () => readers.every((r) => r.assignment().length === 2),
      );
      const owned = readers.flatMap((r) =>
        r.assignment().map((p) => p.partition)
      );
      await Promise.all(readers.map((r) => r.close()));
      await Promise.all(loops);
      const all = seen.flat();
      assert.deepEqual(duplicates(all), []);
      assert.deepEqual([...all].sort(), expected(0, 3000));
      assert.deepEqual(owned.sort(), [0, 1, 2, 3, 4, 5]);
      assert.deepEqual(
        await committed(groupId, topic, 6),
        await endOffsets(topic, 6),
      );
    });

    test("a reader that closes hands its partitions over; the others go on from its commits", async () => {
      const topic = await topicWith(6);
      await produce(topic, 0, 600);
      const groupId = await newGroup(protocol);
      const readers = [0, 1, 2].map(() =>
        new Reader({ brokers: [BROKER], topic, groupId, ...FAST })
      );
      const seen: string[][] = readers.map(() => []);
      const loops = readers.map((r, i) => consume(r, seen[i]));
      const total = () => seen.reduce((n, s) => n + s.length, 0);
      await until("the first messages read", () => total() >= 600);
      await readers[0].close();
      await loops[0];
      await until(
        "the two left own every partition",
        () =>
          readers[1].assignment().length + readers[2].assignment().length === 6,
      );
      await produce(topic, 600, 600);
      await until("the next messages read", () => total() >= 1200);
      await Promise.all(readers.slice(1).map((r) => r.close()));
      await Promise.all(loops);
      const all = seen.flat();
      assert.deepEqual(duplicates(all), []);
      assert.deepEqual([...all].sort(), expected(0, 1200));
    });

    test("a reader killed without leaving: its partitions move after the session timeout, from its commits, with no gap", async () => {
      const topic = await topicWith(6);
      await produce(topic, 0, 300);
      const groupId = await newGroup(protocol);
      const child = member(topic, groupId, protocol);
      const childSeen: string[] = [];
      try {
        await childReads(child, childSeen, 1);
        const survivors = [0, 1].map(() =>
          new Reader({ brokers: [BROKER], topic, groupId, ...FAST })
        );
        const seen: string[][] = survivors.map(() => []);
        const loops = survivors.map((r, i) => consume(r, seen[i]));
        await until(
          "the child shares the partitions",
          () => survivors.some((r) => r.assignment().length > 0),
        );
        await produce(topic, 300, 300);
        await sleep(1000);
        child.kill("SIGKILL");
        const killedAt = Date.now();
        await until(
          "the survivors own every partition",
          () =>
            survivors[0].assignment().length +
                survivors[1].assignment().length ===
              6,
        );
        const movedAfter = Date.now() - killedAt;
        await produce(topic, 600, 300);
        const all = () => new Set([...childSeen, ...seen.flat()]);
        await until("every message read by someone", () => all().size >= 900);
        await Promise.all(survivors.map((r) => r.close()));
        await Promise.all(loops);
        assert.deepEqual([...all()].sort(), expected(0, 900));
        // Only what the dead member read after its last commit comes twice.
        const twice = duplicates([...childSeen, ...seen.flat()]);
        assert.ok(twice.length < 300, `${twice.length} read twice`);
        assert.ok(
          movedAfter < 20_000,
          `partitions moved after ${movedAfter} ms`,
        );
      } finally {
        child.kill("SIGKILL");
      }
    });

    test("a restarted group resumes from its commits", async () => {
      const topic = await topicWith(3);
      await produce(topic, 0, 300);
      const groupId = await newGroup(protocol);
      const first = new Reader({ brokers: [BROKER], topic, groupId, ...FAST });
      const seen: string[] = [];
      const loop = consume(first, seen);
      await until("the first run read everything", () => seen.length >= 300);
      await first.close();
      await loop;
      await produce(topic, 300, 150);
      const second = new Reader({ brokers: [BROKER], topic, groupId, ...FAST });
      const again: string[] = [];
      const loop2 = consume(second, again);
      await until(
        "the second run read the new messages",
        () => again.length >= 150,
      );
      await sleep(500);
      await second.close();
      await loop2;
      assert.deepEqual([...again].sort(), expected(300, 150));
    });

    test("commits made in onPartitionsRevoked while close() gives the partitions up are taken: commitMessages and commitOffsets", async () => {
      const topic = await topicWith(2);
      await produce(topic, 0, 20);
      const groupId = await newGroup(protocol);
      const processed: Message[] = [];
      const outcomes: string[] = [];
      const reader: Reader = new Reader({
        brokers: [BROKER],
        topic,
        groupId,
        ...FAST,
        onPartitionsRevoked: async () => {
          // Processed, not committed yet: commit them now. One partition
          // by message, the other by offset.
          const [first, ...rest] = processed;
          try {
            await reader.commitMessages(
              ...rest.filter((m) => m.partition !== first.partition),
            );
            const last = processed.filter((m) =>
              m.partition === first.partition
            ).at(-1)!;
            await reader.commitOffsets({
              topic,
              partition: last.partition,
              offset: last.offset + 1,
            });
            outcomes.push("committed");
          } catch (error) {
            outcomes.push(String(error));
          }
        },
      });
      while (processed.length < 20) processed.push(await reader.fetchMessage());
      await reader.close();
      assert.deepEqual(outcomes, ["committed"]);
      assert.deepEqual(
        await committed(groupId, topic, 2),
        await endOffsets(topic, 2),
      );
      // Closed now: commits are refused.
      await assert.rejects(
        reader.commitMessages(processed[0]),
        /^ClosedError: Cannot commit messages: the Reader is closed$/,
      );
    });

    test("a read inside a rebalance callback is refused at once (it would wait for the rebalance, which waits for the callback); reads after it go on", async () => {
      const topic = await topicWith(1);
      await produce(topic, 0, 3);
      const groupId = await newGroup(protocol);
      const refusals: string[] = [];
      const reader: Reader = new Reader({
        brokers: [BROKER],
        topic,
        groupId,
        ...FAST,
        onPartitionsAssigned: async (partitions) => {
          if (partitions.length === 0) return;
          for (const read of [reader.fetchMessage(), reader.readMessage()]) {
            await read.then(
              () => refusals.push("read a message"),
              (error) => refusals.push(String(error)),
            );
          }
        },
      });
      try {
        const m = await reader.fetchMessage();
        assert.equal(m.offset, 0);
        assert.equal(refusals.length, 2);
        for (const refusal of refusals) {
          assert.match(
            refusal,
            /^TypeError: Cannot read a message inside a rebalance callback of group ".*" \(onPartitionsAssigned, onPartitionsRevoked or onPartitionsLost\): the rebalance waits for the callback/,
          );
        }
      } finally {
        await reader.close();
      }
    });

    test("await reader.close() inside onPartitionsAssigned and onPartitionsRevoked resolves at once, and the Reader closes after the callback", async () => {
      const topic = await topicWith(2);
      await produce(topic, 0, 10);
      const groupId = await newGroup(protocol);
      // With a rebalanceTimeout of 30 s, a close waiting for the callback
      // that awaits it would take 30 s.
      const options = { ...FAST, rebalanceTimeout: 30_000 };
      const events: string[] = [];
      let closed: Promise<void> | null = null;
      const first: Reader = new Reader({
        brokers: [BROKER],
        topic,
        groupId,
        ...options,
        onPartitionsAssigned: async (partitions) => {
          if (partitions.length === 0) return;
          const started = Date.now();
          await first.close();
          events.push(
            `assigned: close() took < 5 s: ${Date.now() - started < 5000}`,
          );
        },
        onPartitionsRevoked: async (partitions) => {
          events.push(`revoked ${partitions.length}`);
          // Still taken: the close gives the partitions up now.
          await first.commitOffsets({ topic, partition: 0, offset: 3 });
          events.push("committed");
        },
      });
      const reading = first.fetchMessage().then(
        () => "a message",
        (error) => String(error),
      );
      await until("the close inside the callback", () => events.length >= 3);
      closed = first.close();
      const started = Date.now();
      await closed;
      assert.ok(Date.now() - started < 5000, `${Date.now() - started} ms`);
      assert.deepEqual(events, [
        "assigned: close() took < 5 s: true",
        "revoked 2",
        "committed",
      ]);
      assert.equal(
        await reading,
        "ClosedError: Cannot read a message: the Reader is closed",
      );
      assert.deepEqual(await committed(groupId, topic, 2), [3, -1]);

      // Inside onPartitionsRevoked, called by a close().
      const revokedEvents: string[] = [];
      const second: Reader = new Reader({
        brokers: [BROKER],
        topic,
        groupId,
        ...options,
        onPartitionsRevoked: async () => {
          const started = Date.now();
          await second.close();
          revokedEvents.push(
            `close() took < 5 s: ${Date.now() - started < 5000}`,
          );
          await second.commitOffsets({ topic, partition: 1, offset: 4 });
          revokedEvents.push("committed");
        },
      });
      await second.fetchMessage();
      const closing = Date.now();
      await second.close();
      assert.ok(Date.now() - closing < 5000, `${Date.now() - closing} ms`);
      assert.deepEqual(revokedEvents, [
        "close() took < 5 s: true",
        "committed",
      ]);
      assert.deepEqual(await committed(groupId, topic, 2), [3, 4]);
    });

    test("commitInterval: commits land within the interval; readMessage and commitMessages", async () => {
      const topic = await topicWith(1);
      await produce(topic, 0, 10);
      const groupId = await newGroup(protocol);
      const r = new Reader({
        brokers: [BROKER],
        topic,
        groupId,
        commitInterval: 1000,
        ...FAST,
      });
      for (let i = 0; i < 5; i++) await r.readMessage();
      const readAt = Date.now();
      let offsets = await committed(groupId, topic, 1);
      while (offsets[0] !== 5 && Date.now() - readAt < 3000) {
        await sleep(100);
        offsets = await committed(groupId, topic, 1);
      }
      assert.equal(offsets[0], 5);
      assert.ok(
        Date.now() - readAt < 2500,
        `committed after ${Date.now() - readAt} ms`,
      );
      // Explicit: fetchMessage does not commit, commitMessages does (highest wins).
      const a = await r.fetchMessage();
      const b = await r.fetchMessage();
      await r.commitMessages(b, a);
      await r.close();
      assert.deepEqual(await committed(groupId, topic, 1), [7]);
    });

    test("a slow consumer (2 s per message, sessionTimeout 6 s) keeps its membership", async () => {
      const topic = await topicWith(2);
      await produce(topic, 0, 10);
      const groupId = await newGroup(protocol);
      const lost: unknown[] = [];
      const revoked: unknown[] = [];
      const r = new Reader({
        brokers: [BROKER],
        topic,
        groupId,
        ...FAST,
        onPartitionsLost: (p) => void lost.push(p),
        onPartitionsRevoked: (p) => void revoked.push(p),
      });
      const handled: Message[] = [];
      const started = Date.now();
      while (Date.now() - started < 8000) {
        const m = await r.fetchMessage();
        await sleep(2000);
        await r.commitMessages(m);
        handled.push(m);
      }
      assert.ok(handled.length >= 4);
      assert.deepEqual(lost, []);
      assert.deepEqual(revoked, []);
      assert.equal(r.stats().rebalances, 1);
      await r.close();
    });

    test("close() during a rebalance returns within rebalanceTimeout", async () => {
      const topic = await topicWith(4);
      const groupId = await newGroup(protocol);
      const a = new Reader({ brokers: [BROKER], topic, groupId, ...FAST });
      const loopA = consume(a, []);
      await until(
        "the first member has partitions",
        () => a.assignment().length === 4,
      );
      // A second member starts a rebalance that `a` must join.
      const b = new Reader({ brokers: [BROKER], topic, groupId, ...FAST });
      const loopB = consume(b, []);
      await sleep(300);
      const started = Date.now();
      await b.close();
      const took = Date.now() - started;
      assert.ok(took < FAST.rebalanceTimeout!, `close took ${took} ms`);
      await a.close();
      await Promise.all([loopA, loopB]);
    });

    test(
      protocol === "classic"
        ? "watchPartitionChanges: new partitions rebalance the group and are read"
        : "new partitions are assigned (the broker watches) and read",
      async () => {
        const topic = await topicWith(2);
        const groupId = await newGroup(protocol);
        const assigned: number[][] = [];
        const r = new Reader({
          brokers: [BROKER],
          topic,
          groupId,
          ...FAST,
          ...(protocol === "classic"
            ? { watchPartitionChanges: true, partitionWatchInterval: 500 }
            : {}),
          onPartitionsAssigned: (p) =>
            void assigned.push(p.map((x) => x.partition)),
        });
        const seen: string[] = [];
        const loop = consume(r, seen);
        await until("the first assignment", () => r.assignment().length === 2);
        const cluster = new Cluster({ brokers: [BROKER] });
        try {
          const conn = await cluster.anyConnection();
          const response = await conn.request(CreatePartitions, {
            topics: [{ name: topic, count: 4, assignments: null }],
            timeoutMs: 10_000,
            validateOnly: false,
          });
          assert.equal(response.results[0].errorCode, 0);
        } finally {
          await cluster.close();
        }
        await until(
          "the new partitions assigned",
          () => r.assignment().length === 4,
        );
        await produce(topic, 0, 200);
        await until("every message read", () => seen.length >= 200);
        await r.close();
        await loop;
        // Eager: every rebalance assigns everything again; the consumer
        // protocol hands over only what is new.
        assert.deepEqual(
          assigned.map((a) => a.sort()),
          protocol === "classic" ? [[0, 1], [0, 1, 2, 3]] : [[0, 1], [2, 3]],
        );
        assert.deepEqual([...seen].sort(), expected(0, 200));
      },
    );

    test("in a group, offsets belong to the group; bad group options are named", async () => {
      const topic = await topicWith(1);
      const groupId = await newGroup(protocol);
      const r = new Reader({ brokers: [BROKER], topic, groupId, ...FAST });
      assert.throws(() => r.setOffset(3), /committed offsets/);
      assert.equal(r.offset, -1);
      assert.equal(r.lag, -1);
      await assert.rejects(r.readLag(), /stats\(\)\.partitions/);
      await r.readMessage({ signal: AbortSignal.timeout(10) }).catch(() => {});
      await until("the first assignment", () => r.assignment().length === 1);
      const stats = r.stats();
      assert.equal(stats.partition, -1);
      assert.equal(stats.group?.groupId, groupId);
      assert.equal(stats.group?.protocol, protocol);
      assert.equal(
        stats.group?.rebalance,
        protocol === "classic" ? "eager" : "cooperative",
      );
      assert.ok(
        stats.group!.generationId >= 1,
        String(stats.group?.generationId),
      );
      assert.ok(stats.group!.memberId.length > 0);
      assert.deepEqual(stats.group?.assignment, [{ topic, partition: 0 }]);
      await r.close();
      assert.throws(
        () =>
          new Reader({
            brokers: [BROKER],
            topic,
            groupId: "g",
            // deno-lint-ignore no-explicit-any
            groupProtocol: "modern" as any,
          }),
        /"groupProtocol" must be "classic" or "consumer", got "modern" \(string\)/,
      );
      assert.throws(
        () =>
          new Reader({
            brokers: [BROKER],
            topic,
            groupId: "g",
            groupProtocol: "consumer",
            sessionTimeout: 6000,
          }),
        /"sessionTimeout" cannot be set with groupProtocol "consumer" \(got 6000 \(number\)\)/,
      );
      assert.throws(
        () =>
          new Reader({
            brokers: [BROKER],
            groupId: "g",
            groupProtocol: "classic",
            topic: "t-1",
            groupTopics: /t-.*/,
          }),
        /"topic" \(t-1\) cannot be set with "groupTopics" as a RegExp: the pattern names the topics/,
      );
      assert.throws(
        () =>
          new Reader({
            brokers: [BROKER],
            groupId: "g",
            groupProtocol: "consumer",
            groupTopics: /(?!internal)t-.*/,
          }),
        /uses lookarounds/,
      );
      assert.throws(
        () =>
          new Reader({
            brokers: [BROKER],
            topic,
            groupId: "g",
            groupRemoteAssignor: "uniform",
          }),
        /"groupRemoteAssignor" needs groupProtocol "consumer"/,
      );
      assert.throws(
        () =>
          new Reader({
            brokers: [BROKER],
            topic,
            groupId: "g",
            groupInstanceId: "",
          }),
        /"groupInstanceId" must be a non-empty string, got ""/,
      );
      assert.throws(
        () => new Reader({ brokers: [BROKER], groupId: "g" }),
        /needs "topic" or "groupTopics"/,
      );
      assert.throws(
        () =>
          new Reader({ brokers: [BROKER], topic, groupId: "g", partition: 1 }),
        /"partition" cannot be set with "groupId"/,
      );
      assert.throws(
        () =>
          new Reader({
            brokers: [BROKER],
            topic,
            groupId: "g",
            // deno-lint-ignore no-explicit-any
            sessionTimeout: "6000" as any,
          }),
        /"sessionTimeout" must be an integer from 1 to 2147483647, got "6000" \(string\)/,
      );
    });
  });
}

describe("consumer group (classic protocol): closing while joining", () => {
  test("close() of a member whose JoinGroup the coordinator holds returns at once: its LeaveGroup goes over another connection", async () => {
    const topic = await topicWith(2);
    await produce(topic, 0, 10);
    const groupId = await newGroup("classic");
    const options = {
      ...fast("classic"),
      rebalanceTimeout: 20_000,
      sessionTimeout: 15_000,
    };
    let release!: () => void;
    const released = new Promise<void>((resolve) => release = resolve);
    let revoking!: () => void;
    const revoked = new Promise<void>((resolve) => revoking = resolve);
    const first = new Reader({
      brokers: [BROKER],
      topic,
      groupId,
      ...options,
      // Holds the rebalance the second member's join began.
      onPartitionsRevoked: async (partitions) => {
        if (partitions.length === 0) return;
        revoking();
        await released;
      },
    });
    await first.fetchMessage();
    const second = new Reader({
      brokers: [BROKER],
      topic,
      groupId,
      ...options,
    });
    const reading = second.fetchMessage().then(() => "read", (e) => String(e));
    await revoked;
    // The coordinator holds the second member's JoinGroup until the first
    // rejoins, which it does once released.
    const started = Date.now();
    await second.close();
    const took = Date.now() - started;
    release();
    await first.close();
    assert.ok(took < 5000, `close() took ${took} ms`);
    assert.equal(
      await reading,
      "ClosedError: Cannot read a message: the Reader is closed",
    );
  });
});

describe("consumer group options", () => {
  test("retentionTime, which Kafka 2.1 and later ignore, is said to be ignored through errorLogger", async () => {
    const topic = await topicWith(1);
    await produce(topic, 0, 1);
    const logged: string[] = [];
    const reader = new Reader({
      brokers: [BROKER],
      topic,
      groupId: await newGroup("classic"),
      retentionTime: 86_400_000,
      errorLogger: (line) => logged.push(line),
      ...fast("classic"),
    });
    try {
      await reader.fetchMessage();
    } finally {
      await reader.close();
    }
    assert.deepEqual(logged, [
      "kafka reader: retentionTime 86400000 is ignored by Kafka 2.1 and later, which keep committed offsets for the broker's offsets.retention.minutes after the group empties",
    ]);
  });
});
