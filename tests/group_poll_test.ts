/**
 * maxPollInterval against the real broker: a group Reader that the
 * application stops reading, without closing it, leaves the group so that
 * the others read its partitions, and joins again at its next read; a read
 * waiting for messages keeps it in.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Reader, type ReaderOptions } from "../mod.ts";
import { BROKER, sleep } from "./_helpers.ts";
import {
  duplicates,
  expected,
  fast,
  newGroup,
  produce,
  PROTOCOLS,
  topicWith,
  until,
} from "./_group.ts";

const text = new TextDecoder();

function owned(r: Reader): number[] {
  return r.assignment().map((p) => p.partition).sort((a, b) => a - b);
}

for (const protocol of PROTOCOLS) {
  describe(`maxPollInterval (${protocol} protocol)`, () => {
    for (const instance of [null, "static-1"]) {
      const kind = instance === null ? "" : ", a static member";
      test(`a Reader no longer read leaves the group and its partitions move; its next read joins again; each message once${kind}`, async () => {
        const topic = await topicWith(4);
        const groupId = await newGroup(protocol);
        const logs: string[] = [];
        const revoked: number[][] = [];
        const base: ReaderOptions = {
          brokers: [BROKER],
          topic,
          groupId,
          ...fast(protocol),
        };
        const stalled = new Reader({
          ...base,
          ...(instance === null ? {} : { groupInstanceId: instance }),
          maxPollInterval: 3000,
          errorLogger: (m) => logs.push(m),
          onPartitionsRevoked: (p) =>
            void revoked.push(p.map((x) => x.partition)),
        });
        const other = new Reader(base);
        const seenStalled: string[] = [];
        const seenOther: string[] = [];
        const otherLoop = (async () => {
          for await (const m of other) seenOther.push(text.decode(m.value!));
        })();
        // Both members join; the stalled one reads (and commits, readMessage
        // with commitInterval 0) ten messages, then is not read any more.
        let firstRead = stalled.readMessage();
        await until(
          "two members with two partitions each",
          () => owned(stalled).length === 2 && owned(other).length === 2,
        );
        const partitions = owned(stalled);
        const revokedBefore = revoked.length; // joining may move partitions
        await produce(topic, 0, 400);
        for (let i = 0; i < 10; i++) {
          const m = await firstRead;
          seenStalled.push(text.decode(m.value!));
          if (i < 9) firstRead = stalled.readMessage();
        }
        const stoppedAt = Date.now();
        // Still a member well within the interval.
        await sleep(1500);
        assert.deepEqual(owned(stalled), partitions);
        await until(
          "the other member reads every partition",
          () => owned(other).length === 4 && owned(stalled).length === 0,
          20_000,
        );
        const left = Date.now() - stoppedAt;
        assert.ok(left >= 3000, `left after ${left} ms`);
        // Out of the group until the next read: no generation to commit
        // with.
        await until("no generation", () => stalled.groupMetadata() === null);
        assert.equal(stalled.stats().group?.generationId, -1);
        assert.deepEqual(
          revoked.slice(revokedBefore).map((p) => p.sort()),
          [partitions],
        );
        assert.ok(
          logs.some((m) => m.includes("more than maxPollInterval (3000 ms)")),
          logs.join("\n"),
        );
        await until(
          "every message read",
          () => seenStalled.length + seenOther.length >= 400,
        );
        // Read again: the member joins again and gets partitions back.
        const reading = (async () => {
          while (seenStalled.length + seenOther.length < 800) {
            const m = await stalled.readMessage();
            seenStalled.push(text.decode(m.value!));
          }
        })();
        await until(
          "the member is back with two partitions",
          () => owned(stalled).length === 2 && owned(other).length === 2,
        );
        await produce(topic, 400, 400);
        await until(
          "the new messages read",
          () => seenStalled.length + seenOther.length >= 800,
        );
        await Promise.all([stalled.close(), other.close()]);
        await reading.catch(() => {}); // ended by close
        await otherLoop;
        const all = [...seenStalled, ...seenOther];
        assert.ok(seenStalled.length > 10, `${seenStalled.length} read back`);
        assert.deepEqual(duplicates(all), []);
        assert.deepEqual([...all].sort(), expected(0, 800));
      });
    }

    test("a for await body slower than maxPollInterval: the partitions move meanwhile, the message in hand is read again by their new owner, the loop goes on", async () => {
      const topic = await topicWith(2);
      const groupId = await newGroup(protocol);
      const base: ReaderOptions = {
        brokers: [BROKER],
        topic,
        groupId,
        ...fast(protocol),
      };
      const slow = new Reader({ ...base, maxPollInterval: 2000 });
      const other = new Reader(base);
      const seenSlow: string[] = [];
      const seenOther: string[] = [];
      let release!: () => void;
      const held = new Promise<void>((resolve) => release = resolve);
      let stuckOn: string | null = null;
      const slowLoop = (async () => {
        for await (const m of slow) {
          const value = text.decode(m.value!);
          seenSlow.push(value);
          if (seenSlow.length === 20) {
            stuckOn = value;
            await held;
          }
        }
      })();
      const otherLoop = (async () => {
        for await (const m of other) seenOther.push(text.decode(m.value!));
      })();
      await until(
        "one partition each",
        () => owned(slow).length === 1 && owned(other).length === 1,
      );
      await produce(topic, 0, 200);
      await until("the slow member is stuck", () => stuckOn !== null);
      await until(
        "the other member reads both partitions",
        () => owned(other).length === 2 && owned(slow).length === 0,
        20_000,
      );
      await until(
        "every message read",
        () => new Set([...seenSlow, ...seenOther]).size >= 200,
      );
      release();
      await until(
        "the slow member is back",
        () => owned(slow).length === 1 && owned(other).length === 1,
      );
      await produce(topic, 200, 200);
      await until(
        "the new messages read",
        () => new Set([...seenSlow, ...seenOther]).size >= 400,
      );
      await Promise.all([slow.close(), other.close()]);
      await Promise.all([slowLoop, otherLoop]);
      const all = [...seenSlow, ...seenOther];
      // At least once: only the message in hand when the member left (not
      // consumed yet, so not committed) is read twice.
      assert.deepEqual(duplicates(all), [stuckOn]);
      assert.deepEqual([...new Set(all)].sort(), expected(0, 400));
    });

    test("a read waiting for messages longer than maxPollInterval keeps the member in; the interval counts from the read's end", async () => {
      const topic = await topicWith(2);
      const groupId = await newGroup(protocol);
      const revoked: number[][] = [];
      const reader = new Reader({
        brokers: [BROKER],
        topic,
        groupId,
        ...fast(protocol),
        maxPollInterval: 2000,
        onPartitionsRevoked: (p) =>
          void revoked.push(p.map((x) => x.partition)),
      });
      const read = reader.readMessage();
      await until(
        "the member owns both partitions",
        () => owned(reader).length === 2,
      );
      await sleep(4000);
      assert.deepEqual(owned(reader), [0, 1]);
      assert.deepEqual(revoked, []);
      await produce(topic, 0, 1);
      assert.equal(text.decode((await read).value!), "m0");
      // Not read since: it leaves, but no sooner than the interval after
      // that read returned (the wait's end counts as a read).
      const returned = Date.now();
      await until("the member left", () => revoked.length > 0, 10_000);
      const left = Date.now() - returned;
      assert.ok(left >= 2000, `left ${left} ms after the read returned`);
      await reader.close();
    });
  });
}

test("maxPollInterval must be a positive number of milliseconds", () => {
  const base = { brokers: [BROKER], topic: "t", groupId: "g" };
  assert.throws(
    () => new Reader({ ...base, maxPollInterval: 0 }),
    /"maxPollInterval" must be .*got 0/,
  );
  assert.throws(
    () => new Reader({ ...base, maxPollInterval: "5m" as unknown as number }),
    /"maxPollInterval" must be .*got "5m"/,
  );
  assert.throws(
    () => new Reader({ brokers: [BROKER], topic: "t", maxPollInterval: 1000 }),
    /maxPollInterval/,
  );
});
