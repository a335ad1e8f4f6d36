/**
 * The ShareReader (share groups, KIP-932) against the real broker: members
 * sharing partitions, implicit and explicit acknowledgement, release and
 * reject, records coming back when a member closes, holds them past their
 * lock, or is killed, read_committed groups stepping over transaction
 * markers (acknowledged as gaps), and the refusals of bad arguments.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ClosedError,
  Cluster,
  dial,
  KafkaError,
  type ShareMessage,
  ShareReader,
  type ShareReaderOptions,
  Writer,
} from "../mod.ts";
import {
  BROKER,
  noUnhandledRejections,
  sleep,
  uniqueTopic,
} from "./_helpers.ts";
import {
  drain,
  leftIn,
  newShareGroup,
  readFor,
  readN,
  shareReader,
  valueOf,
} from "./_share.ts";
import {
  childReads,
  expected,
  produce,
  spawnScript,
  topicWith,
  until,
} from "./_group.ts";
import { main as queueExample } from "../examples/share_queue.ts";

const text = new TextDecoder();

describe("ShareReader (share groups)", () => {
  test("two members share three partitions: every message handed out once, then accepted", async () => {
    await noUnhandledRejections(async () => {
      const topic = await topicWith(3);
      const groupId = await newShareGroup();
      await produce(topic, 0, 10_000);
      const a = shareReader(groupId, topic);
      const b = shareReader(groupId, topic);
      const seenA: ShareMessage[] = [];
      const seenB: ShareMessage[] = [];
      const reading = [drain(a, seenA), drain(b, seenB)];
      await until("all read", () => seenA.length + seenB.length >= 10_000);
      await sleep(300);
      await Promise.all([a.close(), b.close()]);
      await Promise.all(reading);
      const all = [...seenA, ...seenB];
      // Released records (a member giving a partition up with records
      // fetched) come again, delivered a second time.
      const firsts = all.filter((m) => m.deliveryCount === 1).map(valueOf);
      assert.equal(
        new Set(firsts).size,
        firsts.length,
        "no first delivery twice",
      );
      assert.deepEqual(
        [...new Set(all.map(valueOf))].sort(),
        expected(0, 10_000).sort(),
      );
      assert.ok(
        seenA.length > 0 && seenB.length > 0,
        `both read: ${seenA.length} and ${seenB.length}`,
      );
      for (const m of all) {
        assert.equal(m.topic, topic);
        assert.equal(m.highWaterMark, -1);
        assert.equal(text.decode(m.key!), `k${valueOf(m).slice(1)}`);
      }
      const stats = a.stats();
      assert.equal(stats.acknowledgeFailures, 0);
      assert.ok(stats.acknowledged >= seenA.length, JSON.stringify(stats));
      assert.ok(stats.lockTimeout > 0);
      // Everything was accepted: nothing is left for a third member.
      assert.deepEqual(await readFor(groupId, topic, 1500), []);
    });
  });

  // With acknowledgements pending when the topic goes, Kafka 4.4 fails the
  // session's next request with UNKNOWN_SERVER_ERROR (a NullPointerException
  // on the deleted topic's name): the reader goes on with a new session.
  for (const pending of [false, true]) {
    test(
      `a session whose connection was closed for idling goes on on a new one: partitions gone (a topic deleted${
        pending ? " with acknowledgements pending" : ""
      }), then new ones (another created)`,
      async () => {
        await noUnhandledRejections(async () => {
          const first = await topicWith(1);
          const second = uniqueTopic("share-later");
          await produce(first, 0, 2);
          const groupId = await newShareGroup();
          // The pool closes a connection with nothing in flight for 300 ms.
          const cluster = new Cluster({ brokers: [BROKER], idleTimeout: 300 });
          const logged: string[] = [];
          const reader = new ShareReader({
            cluster,
            groupId,
            topics: [first, second],
            maxWait: 200,
            acknowledgements: "explicit",
            logger: (m) => logged.push(m),
            errorLogger: (m) => logged.push(m),
          });
          try {
            const read = await readN(reader, 2);
            assert.deepEqual(read.map(valueOf), ["m0", "m1"]);
            for (const m of read) reader.acknowledge(m);
            if (!pending) await reader.commit();
            const admin = await dial(BROKER);
            try {
              await admin.deleteTopics(first);
              // The session has no partitions left: it idles, and the pool
              // closes its connection.
              await until(
                "the partition given up",
                () => logged.some((m) => /owns no partitions/.test(m)),
              );
              await sleep(1000);
              await admin.createTopics({
                topic: second,
                numPartitions: 1,
                replicationFactor: 1,
              });
            } finally {
              admin.close();
            }
            await produce(second, 0, 2);
            const again = await readN(reader, 2);
            assert.deepEqual(again.map(valueOf), ["m0", "m1"]);
            for (const m of again) reader.acknowledge(m);
            await reader.commit();
          } finally {
            await reader.close();
            await cluster.close();
          }
        });
      },
    );
  }

  test("explicit: a release comes back with a higher delivery count, a reject never", async () => {
    await noUnhandledRejections(async () => {
      const topic = await topicWith(1);
      const groupId = await newShareGroup();
      await produce(topic, 0, 10);
      const reader = shareReader(groupId, topic, {
        acknowledgements: "explicit",
      });
      try {
        const first = await readN(reader, 10);
        assert.deepEqual(first.map(valueOf), expected(0, 10));
        assert.ok(first.every((m) => m.deliveryCount === 1));
        for (const m of first) {
          const i = m.offset;
          reader.acknowledge(
            m,
            i === 1 ? "release" : i === 3 ? "reject" : "accept",
          );
        }
        await reader.commit();
        const again = await readN(reader, 1);
        assert.equal(valueOf(again[0]), "m1");
        assert.equal(again[0].deliveryCount, 2);
        reader.acknowledge(again[0]);
        assert.throws(
          () => reader.acknowledge(again[0]),
          (e: Error) =>
            e instanceof RangeError &&
            /Cannot acknowledge .*\/0 offset 1: this ShareReader did not hand it out \(pass the very message object it gave, not a copy\), or it was acknowledged already/
              .test(e.message),
        );
        assert.throws(
          () => reader.acknowledge(first[0], "done" as "accept"),
          /"type" must be "accept", "release" or "reject", got "done" \(string\)/,
        );
        await reader.commit();
      } finally {
        await reader.close();
      }
      // m3 was rejected, the rest accepted.
      assert.deepEqual(await readFor(groupId, topic, 1500), []);
      assert.equal(reader.stats().acknowledged, 11);
    });
  });

  test("fetchMessage takes one message at a time, gives up with its signal, and leaves the reader usable", async () => {
    await noUnhandledRejections(async () => {
      const topic = await topicWith(1);
      const groupId = await newShareGroup();
      await produce(topic, 0, 3);
      const reader = shareReader(groupId, topic, {
        acknowledgements: "explicit",
      });
      const soon = () => ({ signal: AbortSignal.timeout(15_000) });
      try {
        const got: ShareMessage[] = [];
        for (let i = 0; i < 3; i++) {
          const m = await reader.fetchMessage(soon());
          reader.acknowledge(m);
          got.push(m);
        }
        assert.deepEqual(got.map(valueOf), expected(0, 3));
        // Nothing more: the wait ends with the signal.
        const started = Date.now();
        await assert.rejects(
          reader.fetchMessage({ signal: AbortSignal.timeout(600) }),
          (error: Error) => error.name === "TimeoutError",
        );
        assert.ok(Date.now() - started < 3000, "gave up with its signal");
        // The reader goes on: a message written afterwards comes next.
        await produce(topic, 3, 1);
        const late = await reader.fetchMessage(soon());
        assert.equal(valueOf(late), "m3");
        reader.acknowledge(late);
        await reader.commit();
        const held = reader.getReader();
        await assert.rejects(
          reader.fetchMessage(),
          /^TypeError: Cannot read a message: the ShareReader is locked by another consumer/,
        );
        held.releaseLock();
        await assert.rejects(
          reader.fetchMessage({ timeout: 5 } as never),
          /^TypeError: Cannot read a message: unknown option "timeout"/,
        );
      } finally {
        await reader.close();
      }
      await assert.rejects(reader.fetchMessage(), ClosedError);
      // All four were accepted: a new member of the group gets nothing.
      assert.deepEqual(await leftIn(groupId, topic), []);
    });
  });

  test("fetchMessage calls made at once are served one at a time, in call order; one aborted while it waits leaves the others in line", async () => {
    await noUnhandledRejections(async () => {
      const topic = await topicWith(1);
      const groupId = await newShareGroup();
      await produce(topic, 0, 20);
      const reader = shareReader(groupId, topic, {
        acknowledgements: "explicit",
      });
      try {
        const signal = AbortSignal.timeout(20_000);
        const aborted = new AbortController();
        const calls = Array.from(
          { length: 21 },
          (_, i) =>
            reader.fetchMessage({ signal: i === 5 ? aborted.signal : signal }),
        );
        aborted.abort(new Error("not this one"));
        await assert.rejects(calls[5], /not this one/);
        const got = await Promise.all(calls.filter((_, i) => i !== 5));
        for (const m of got) reader.acknowledge(m);
        // In call order: offsets rise from call to call, none twice.
        assert.deepEqual(
          got.map(valueOf),
          Array.from({ length: 20 }, (_, i) => `m${i}`),
        );
        await reader.commit();
      } finally {
        await reader.close();
      }
    });
  });

  test("closing releases what was not acknowledged; the loop's end accepts its last message", async () => {
    await noUnhandledRejections(async () => {
      const topic = await topicWith(1);
      const groupId = await newShareGroup();
      await produce(topic, 0, 20);
      const reader = shareReader(groupId, topic);
      // Read m0..m4 without a loop: m0..m3 accepted by the reads after
      // them, m4 in process when the reader closes, m5.. fetched only.
      assert.deepEqual((await readN(reader, 5)).map(valueOf), expected(0, 5));
      await reader.close();
      const next = shareReader(groupId, topic);
      const seen: ShareMessage[] = [];
      for await (const m of next) {
        seen.push(m);
        if (m.offset === 9) break; // accepts m9
      }
      assert.deepEqual(seen.map(valueOf), expected(4, 6));
      assert.equal(seen[0].deliveryCount, 2, "m4 was released");
      const rest = await readFor(
        groupId,
        topic,
        1500,
        (seen) => seen.length >= 10,
      );
      assert.deepEqual(rest.map(valueOf).sort(), expected(10, 10).sort());
    });
  });

  test("commit() waiting when close() comes resolves: its acknowledgements go in the closing ShareAcknowledge", async () => {
    await noUnhandledRejections(async () => {
      const topic = await topicWith(1);
      const groupId = await newShareGroup();
      await produce(topic, 0, 20);
      const reader = shareReader(groupId, topic, {
        acknowledgements: "explicit",
      });
      const read = await readN(reader, 20);
      for (const m of read.slice(0, 10)) reader.acknowledge(m, "accept");
      // Before, the commit rejected with "The ShareReader is closed",
      // though the acknowledgements took effect.
      const committed = reader.commit();
      await reader.close();
      await committed;
      const rest = await readFor(
        groupId,
        topic,
        1500,
        (seen) => seen.length >= 10,
      );
      assert.deepEqual(rest.map(valueOf).sort(), expected(10, 10).sort());
    });
  });

  test("a record held past its acquisition lock goes to another member; a late acknowledgement is refused", async () => {
    await noUnhandledRejections(async () => {
      const topic = await topicWith(1);
      const groupId = await newShareGroup({
        "share.record.lock.duration.ms": "1000",
      });
      // Two records in one batch, and the slow member asks for two: it
      // holds m1 fetched, so it fetches no more while it holds m0.
      await produce(topic, 0, 2);
      const slow = shareReader(groupId, topic, {
        acknowledgements: "explicit",
        maxRecords: 2,
      });
      try {
        const [held] = await readN(slow, 1);
        assert.equal(valueOf(held), "m0");
        assert.equal(slow.stats().lockTimeout, 1000);
        const other = shareReader(groupId, topic);
        const [again] = await readN(other, 1);
        assert.equal(valueOf(again), "m0");
        assert.ok(
          again.deliveryCount >= 2,
          `delivered ${again.deliveryCount} times`,
        );
        await other.close(); // releases it again
        slow.acknowledge(held);
        await assert.rejects(
          slow.commit(),
          (e: Error) =>
            e instanceof KafkaError && e.name === "INVALID_RECORD_STATE" &&
            e.message.includes(`topic "${topic}" partition 0`) &&
            e.message.includes("not in the acquired state"),
        );
      } finally {
        await slow.close();
      }
    });
  });

  test("kill -9 of a member: what it held comes back to the others when the locks run out", async () => {
    await noUnhandledRejections(async () => {
      const topic = await topicWith(2);
      const groupId = await newShareGroup({
        "share.record.lock.duration.ms": "2000",
        "share.session.timeout.ms": "3000",
      });
      await produce(topic, 0, 2000);
      const child = spawnScript("share_member.ts", [BROKER, topic, groupId]);
      const childSeen: string[] = [];
      try {
        await childReads(child, childSeen, 700);
      } finally {
        child.kill("SIGKILL");
      }
      const survivor = shareReader(groupId, topic);
      const seen: ShareMessage[] = [];
      const reading = drain(survivor, seen);
      await until("the rest read", () => {
        const values = new Set([
          ...childSeen.map((s) => s.split(" ")[0]),
          ...seen.map(valueOf),
        ]);
        return values.size === 2000;
      }, 60_000);
      await sleep(300);
      await survivor.close();
      await reading;
      // What the child was handed and never acknowledged (its message in
      // process, at least, and what it had fetched) came again.
      const redelivered = seen.filter((m) => m.deliveryCount > 1);
      assert.ok(redelivered.length >= 1, "the child's records came back");
      const childValues = new Set(childSeen.map((s) => s.split(" ")[0]));
      for (const m of redelivered) {
        assert.ok(
          childValues.has(valueOf(m)) || m.deliveryCount === 2,
          `${valueOf(m)} delivered ${m.deliveryCount} times`,
        );
      }
      const firsts = seen.filter((m) => m.deliveryCount === 1).map(valueOf);
      for (const v of firsts) {
        assert.ok(!childValues.has(v), `${v} twice at first`);
      }
      assert.deepEqual(await readFor(groupId, topic, 1500), []);
    });
  });

  test("read_committed: aborted transactions are not handed out, their markers are acknowledged as gaps", async () => {
    await noUnhandledRejections(async () => {
      const topic = await topicWith(1);
      const groupId = await newShareGroup({
        "share.isolation.level": "read_committed",
      });
      const writer = new Writer({
        brokers: [BROKER],
        topic,
        transactionalId: uniqueTopic("share-txn"),
      });
      try {
        for (
          const [from, commit] of [[0, true], [10, false], [20, true]] as const
        ) {
          await writer.beginTransaction();
          await writer.writeMessages(
            ...expected(from, 10).map((value) => ({ value })),
          );
          if (commit) await writer.commitTransaction();
          else await writer.abortTransaction();
        }
      } finally {
        await writer.close();
      }
      const reader = shareReader(groupId, topic);
      const seen: ShareMessage[] = [];
      const reading = drain(reader, seen);
      await until("20 read", () => seen.length >= 20);
      await sleep(500);
      await reader.close();
      await reading;
      assert.deepEqual(seen.map(valueOf), [
        ...expected(0, 10),
        ...expected(20, 10),
      ]);
      const stats = reader.stats();
      assert.ok(
        stats.gaps >= 2,
        `the committed markers: ${JSON.stringify(stats)}`,
      );
      assert.equal(stats.acknowledgeFailures, 0);
      assert.deepEqual(await readFor(groupId, topic, 1500), []);
    });
  });

  test("batches(): each batch accepted when the next is asked for, the last when the loop ends", async () => {
    await noUnhandledRejections(async () => {
      const topic = await topicWith(2);
      const groupId = await newShareGroup();
      await produce(topic, 0, 3000);
      const reader = shareReader(groupId, topic);
      const values: string[] = [];
      for await (const batch of reader.batches()) {
        assert.ok(batch.length >= 1);
        for (let i = 0; i < batch.length; i++) {
          values.push(text.decode(batch.value(i)!));
          assert.equal(batch.offset(i), batch.messages[i].offset);
        }
        assert.equal(batch.lastOffset, batch.offset(batch.length - 1));
        if (values.length === 3000) break;
      }
      assert.deepEqual(values.sort(), expected(0, 3000).sort());
      assert.equal(reader.stats().acknowledged, 3000);
      assert.deepEqual(await readFor(groupId, topic, 1500), []);
    });
  });

  test("pipeTo(writer) without map: the messages as read, deliveryCount and all, are written", async () => {
    await noUnhandledRejections(async () => {
      const source = await topicWith(1);
      const target = await topicWith(1);
      const groupId = await newShareGroup();
      await produce(source, 0, 50);
      const reader = shareReader(groupId, source);
      const writer = new Writer({ brokers: [BROKER], topic: target });
      const stop = new AbortController();
      const piped = reader.pipeTo(writer, {
        signal: stop.signal,
        preventAbort: true,
      });
      const copied: string[] = [];
      const check = new ShareReader({
        brokers: [BROKER],
        groupId: await newShareGroup(),
        topics: [target],
        maxWait: 200,
      });
      const checking = (async () => {
        for await (const m of check) copied.push(valueOf(m));
      })();
      await until("copied", () => copied.length >= 50);
      stop.abort(new Error("enough"));
      await assert.rejects(piped, /enough/);
      await writer.close();
      await check.close();
      await checking;
      assert.deepEqual(copied.sort(), expected(0, 50).sort());
    });
  });

  test("pipeTo(writer): accepted once the Writer acknowledged; a failed write releases its batch", async () => {
    await noUnhandledRejections(async () => {
      const source = await topicWith(3);
      const target = await topicWith(1);
      const groupId = await newShareGroup();
      await produce(source, 0, 5000);
      const reader = shareReader(groupId, source);
      const writer = new Writer({ brokers: [BROKER], topic: target });
      const stop = new AbortController();
      const piped = reader.pipeTo(writer, {
        signal: stop.signal,
        preventAbort: true,
        map: (m) => ({ key: m.key, value: `${valueOf(m)}!` }),
      });
      const copied: string[] = [];
      const check = new ShareReader({
        brokers: [BROKER],
        groupId: await newShareGroup(),
        topics: [target],
        maxWait: 200,
      });
      const checking = (async () => {
        for await (const m of check) copied.push(valueOf(m));
      })();
      await until("copied", () => copied.length >= 5000);
      stop.abort(new Error("enough"));
      await assert.rejects(piped, /enough/);
      await writer.close();
      await check.close();
      await checking;
      assert.deepEqual(
        copied.sort(),
        expected(0, 5000).map((v) => `${v}!`).sort(),
      );
      assert.deepEqual(await readFor(groupId, source, 1500), []);

      // A value too large for the broker fails its write: the pipe
      // rejects, and the batch goes back to the group.
      await produce(source, 5000, 1);
      const failing = shareReader(groupId, source);
      const small = new Writer({
        brokers: [BROKER],
        topic: target,
        maxAttempts: 1,
      });
      await assert.rejects(
        failing.pipeTo(small, {
          map: () => ({ value: new Uint8Array(2 * 1024 * 1024) }),
        }),
        /MESSAGE_TOO_LARGE|too large/i,
      );
      const again = await readFor(
        groupId,
        source,
        2000,
        (seen) => seen.length >= 1,
      );
      assert.deepEqual(again.map(valueOf), ["m5000"]);
      assert.equal(again[0].deliveryCount, 2);

      const transactional = new Writer({
        brokers: [BROKER],
        topic: target,
        transactionalId: uniqueTopic("share-pipe-txn"),
      });
      const refused = shareReader(groupId, source);
      await assert.rejects(
        refused.pipeTo(transactional),
        (e: Error) =>
          e instanceof TypeError &&
          /Cannot pipe a ShareReader into a Writer with a transactionalId/
            .test(e.message),
      );
      await refused.close();
      await transactional.close();
    });
  });

  test("examples/share_queue.ts: each job done once, one released and tried again, one rejected", async () => {
    await noUnhandledRejections(async () => {
      const topic = uniqueTopic("share-queue");
      const outcomes = await queueExample(BROKER, topic, uniqueTopic("sq"), 10);
      const jobOf = (o: string) => o.split(" ").pop()!;
      const accepted = outcomes.filter((o) => o.includes(" accepted "));
      assert.deepEqual(
        accepted.map(jobOf).sort(),
        expected(0, 10).map((v) => `job-${v.slice(1)}`)
          .filter((j) => j !== "job-7").sort(),
      );
      assert.equal(
        outcomes.filter((o) => o.endsWith(" released job-3")).length,
        1,
      );
      assert.deepEqual(
        outcomes.filter((o) => o.includes(" rejected ")).map(jobOf),
        ["job-7"],
      );
    });
  });

  test("bad options and calls are refused with what was wrong", async () => {
    const make = (o: unknown) => () => new ShareReader(o as ShareReaderOptions);
    assert.throws(
      make({ groupId: "g", topics: ["t"] }),
      /Cannot create ShareReader: "brokers" must list at least one "host:port", got undefined/,
    );
    assert.throws(
      make({ brokers: [BROKER], topics: ["t"] }),
      /"groupId" must be a non-empty string, got undefined/,
    );
    assert.throws(
      make({ brokers: [BROKER], groupId: "g", topics: "t" }),
      /"topics" must list at least one topic name, got "t" \(string\)/,
    );
    assert.throws(
      make({
        brokers: [BROKER],
        groupId: "g",
        topics: ["t"],
        readBackoffMin: 500,
        readBackoffMax: 100,
      }),
      /"readBackoffMin" \(500\) must not exceed "readBackoffMax" \(100\)/,
    );
    assert.throws(
      make({
        brokers: [BROKER],
        groupId: "g",
        topics: ["t"],
        acknowledgements: "auto",
      }),
      /"acknowledgements" must be "implicit" or "explicit", got "auto" \(string\)/,
    );
    assert.throws(
      make({ brokers: [BROKER], groupId: "g", topics: ["t"], maxRecords: 0 }),
      (e: Error) =>
        e instanceof RangeError &&
        /"maxRecords" must be an integer from 1 to 2147483647, got 0 \(number\)/
          .test(e.message),
    );
    // 0 would retry a failing coordinator in a tight loop.
    assert.throws(
      make({
        brokers: [BROKER],
        groupId: "g",
        topics: ["t"],
        joinGroupBackoff: 0,
      }),
      (e: Error) =>
        e instanceof RangeError &&
        /"joinGroupBackoff" must be an integer from 1 to \d+, got 0 \(number\)/
          .test(e.message),
    );
    assert.throws(
      make({ brokers: [BROKER], groupId: "g", topics: ["t"], topic: "t" }),
      /unknown option "topic"; did you mean "topics"\?/,
    );
    const reader = new ShareReader({
      brokers: [BROKER],
      groupId: "g",
      topics: ["t"],
    });
    await reader.close();
    await assert.rejects(reader.commit(), ClosedError);
    assert.throws(() => reader.acknowledge({} as ShareMessage), ClosedError);
  });
});
