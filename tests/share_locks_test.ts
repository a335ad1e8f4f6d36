/**
 * The acquisition locks of a ShareReader's records, against the real
 * broker: renewing them (KIP-1222), acquiring at most `maxRecords`
 * (KIP-1206, acquireMode "record_limit"), records whose locks ran out
 * before they were handed out, and a batch damaged on the way (through the
 * fault proxy) rejected instead of handed out or failing the reader.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ClosedError, KafkaError, type ShareMessage, Writer } from "../mod.ts";
import { ShareFetch } from "../lib/protocol/messages/share_fetch.ts";
import {
  BROKER,
  indexOf,
  noUnhandledRejections,
  sleep,
  uniqueTopic,
} from "./_helpers.ts";
import { expected, produce, topicWith, until } from "./_group.ts";
import { startProxy } from "./_proxy.ts";
import { main as longJobs } from "../examples/share_long_jobs.ts";
import {
  drain,
  newShareGroup,
  readFor,
  readN,
  shareReader,
  valueOf,
} from "./_share.ts";

describe("ShareReader: acquisition locks", () => {
  test("renew keeps a record past its lock: no other member is handed it, and it is accepted after", async () => {
    await noUnhandledRejections(async () => {
      const topic = await topicWith(1);
      const groupId = await newShareGroup({
        "share.record.lock.duration.ms": "1000",
      });
      await produce(topic, 0, 1);
      const slow = shareReader(groupId, topic, {
        acknowledgements: "explicit",
      });
      const other = shareReader(groupId, topic);
      const seenByOther: ShareMessage[] = [];
      let reading: Promise<void> | undefined;
      try {
        const [job] = await readN(slow, 1);
        assert.equal(valueOf(job), "m0");
        reading = drain(other, seenByOther);
        // 2.8 s of work against a 1 s lock, renewed every 400 ms.
        for (let i = 0; i < 7; i++) {
          await sleep(400);
          await slow.renew(job);
        }
        assert.deepEqual(seenByOther.map(valueOf), [], "nobody else got m0");
        slow.acknowledge(job);
        await slow.commit();
        const stats = slow.stats();
        assert.equal(stats.renewed, 7);
        assert.equal(stats.acknowledged, 1);
        assert.equal(stats.acknowledgeFailures, 0);
        assert.equal(stats.lockTimeout, 1000);
        await assert.rejects(
          slow.renew(job),
          (e: Error) =>
            e instanceof RangeError &&
            e.message.includes(`Cannot renew ${topic}/0 offset 0`),
          "an acknowledged message cannot be renewed",
        );
      } finally {
        await Promise.all([slow.close(), other.close()]);
        await reading;
      }
      assert.deepEqual(seenByOther.map(valueOf), []);
      assert.deepEqual(await readFor(groupId, topic, 1200), [], "m0 is done");
    });
  });

  test("renew in the implicit mode: the message in process stays, and the next read accepts it", async () => {
    await noUnhandledRejections(async () => {
      const topic = await topicWith(1);
      const groupId = await newShareGroup({
        "share.record.lock.duration.ms": "1000",
      });
      await produce(topic, 0, 2);
      const reader = shareReader(groupId, topic, {
        acknowledgements: "implicit",
        acquireMode: "record_limit",
        maxRecords: 1,
      });
      const seen: ShareMessage[] = [];
      for await (const m of reader) {
        seen.push(m);
        if (m.offset === 0) {
          for (let i = 0; i < 4; i++) {
            await sleep(400);
            await reader.renew(m);
          }
        } else break; // accepts m1
      }
      // m1, fetched while m0 was in process, may have waited past its lock
      // and come again; m0 was never handed out again.
      assert.deepEqual(seen.map(valueOf), ["m0", "m1"]);
      assert.equal(seen[0].deliveryCount, 1);
      assert.equal(reader.stats().renewed, 4);
      assert.deepEqual(await readFor(groupId, topic, 1200), []);
    });
  });

  test("autoRenew: the message in process keeps its record for that long, not longer", async () => {
    await noUnhandledRejections(async () => {
      const topic = await topicWith(1);
      const groupId = await newShareGroup({
        "share.record.lock.duration.ms": "1000",
      });
      await produce(topic, 0, 1);
      const worker = shareReader(groupId, topic, { autoRenew: 2500 });
      const other = shareReader(groupId, topic);
      const seenByOther: ShareMessage[] = [];
      let reading: Promise<void> | undefined;
      try {
        const [job] = await readN(worker, 1);
        reading = drain(other, seenByOther);
        // Renewed until 2.5 s after it was acquired, then its lock runs
        // out and the other member gets it.
        await sleep(2000);
        assert.equal(seenByOther.length, 0, "kept while renewed");
        assert.ok(worker.stats().renewed >= 2, `${worker.stats().renewed}`);
        await until("the other member has it", () => seenByOther.length === 1);
        assert.equal(valueOf(seenByOther[0]), valueOf(job));
        // 2, or 3 when the worker's own next fetch took it back first
        // (its lock then ran out there, the worker reading nothing).
        assert.ok(seenByOther[0].deliveryCount >= 2);
      } finally {
        await Promise.all([worker.close(), other.close()]);
        await reading;
      }
    });
  });

  test("examples/share_long_jobs.ts: jobs longer than their locks, each done once by one worker", async () => {
    await noUnhandledRejections(async () => {
      const topic = await topicWith(1);
      const report = await longJobs(BROKER, topic, uniqueTopic("lj"), 4, 2500);
      assert.deepEqual(
        report.map((r) => r.job).sort(),
        ["job-0", "job-1", "job-2", "job-3"],
      );
      for (const r of report) {
        assert.equal(r.deliveryCount, 1, `${r.job} handed out once`);
      }
    });
  });

  test("renewing a record another member has now is refused (INVALID_RECORD_STATE); bad arguments and a closed reader", async () => {
    await noUnhandledRejections(async () => {
      const topic = await topicWith(1);
      const groupId = await newShareGroup({
        "share.record.lock.duration.ms": "1000",
      });
      await produce(topic, 0, 1);
      const slow = shareReader(groupId, topic, {
        acknowledgements: "explicit",
        // Fetches nothing while it holds m0: it cannot take m0 back itself.
        acquireMode: "record_limit",
        maxRecords: 1,
      });
      const other = shareReader(groupId, topic);
      try {
        const [held] = await readN(slow, 1);
        // After the lock ran out: \`other\` holds m0 now, for a second.
        const [again] = await readN(other, 1);
        assert.equal(valueOf(again), "m0");
        assert.ok(again.deliveryCount >= 2);
        await assert.rejects(
          slow.renew(held),
          (e: Error) =>
            e instanceof KafkaError && e.name === "INVALID_RECORD_STATE" &&
            e.message.includes(`topic "${topic}" partition 0`),
        );
        assert.ok(slow.stats().acknowledgeFailures >= 1);
        await assert.rejects(
          slow.renew({ ...held }),
          (e: Error) =>
            e instanceof RangeError &&
            e.message.includes("did not hand it out"),
        );
        await assert.rejects(
          slow.renew(null as unknown as ShareMessage),
          (e: Error) =>
            e instanceof RangeError && e.message.includes("Cannot renew null"),
        );
      } finally {
        await Promise.all([slow.close(), other.close()]);
      }
      await assert.rejects(slow.renew(), ClosedError);
    });
  });

  test('acquireMode "record_limit": a member holding one record leaves the rest of its batch to the others', async () => {
    await noUnhandledRejections(async () => {
      const topic = await topicWith(1);
      await produce(topic, 0, 50); // one producer batch
      const othersRead = async (
        acquireMode: "batch_optimized" | "record_limit",
      ) => {
        const groupId = await newShareGroup();
        const holder = shareReader(groupId, topic, {
          acknowledgements: "explicit",
          acquireMode,
          maxRecords: 1,
        });
        try {
          const [held] = await readN(holder, 1);
          // The others get what the holder did not acquire: read until they
          // have all of it (a slow broker hands it out later), and for 2.5 s
          // at least to see nothing more comes.
          const got = await readFor(
            groupId,
            topic,
            2500,
            (seen) => seen.length >= 50 - holder.stats().messages,
          );
          assert.ok(!got.some((m) => m.offset === held.offset));
          return {
            got: got.map(valueOf),
            holderFetched: holder.stats().messages,
          };
        } finally {
          await holder.close();
        }
      };
      // The holder acquires one record, and no more while it holds it.
      const limited = await othersRead("record_limit");
      assert.equal(limited.holderFetched, 1, "the holder acquired one");
      assert.equal(limited.got.length, 50 - limited.holderFetched);
      assert.equal(new Set(limited.got).size, limited.got.length);
      // The default acquires the whole batch: the others wait for its lock.
      const whole = await othersRead("batch_optimized");
      assert.equal(whole.holderFetched, 50);
      assert.deepEqual(whole.got, []);
    });
  });

  test("records whose locks ran out before they were handed out are dropped, not acquired again while the consumer pauses", async () => {
    await noUnhandledRejections(async () => {
      const topic = await topicWith(1);
      const groupId = await newShareGroup({
        "share.record.lock.duration.ms": "1000",
      });
      await produce(topic, 0, 20); // one batch: all acquired by one fetch
      const errors: string[] = [];
      const reader = shareReader(groupId, topic, {
        errorLogger: (m: string) => errors.push(m),
      });
      try {
        const [first] = await readN(reader, 1);
        assert.equal(valueOf(first), "m0");
        // The consumer pauses for 4.5 lock periods: fetching and dropping
        // each period would reach the delivery limit (5) and archive all.
        await sleep(4500);
        const { expired } = reader.stats();
        assert.ok(expired >= 19 && expired <= 39, `${expired} expired`);
        assert.ok(
          errors.some((e) =>
            e.includes(
              "messages waited for the consumer past their acquisition lock (1000 ms)",
            )
          ),
          errors.join("\n"),
        );
        // Fetched again when asked for, none handed out late; m0's late
        // accept is refused by the broker, and m0 comes again too.
        const again = await readN(reader, 20);
        assert.deepEqual(again.map(valueOf).sort(), expected(0, 20).sort());
        for (const m of again) {
          assert.ok(
            m.deliveryCount >= 2 && m.deliveryCount <= 3,
            `${valueOf(m)} delivered ${m.deliveryCount} times`,
          );
        }
      } finally {
        await reader.close();
      }
    });
  });

  test("a batch damaged on the way is rejected: the rest is handed out, no member gets it, the reader goes on", async () => {
    await noUnhandledRejections(async () => {
      const topic = await topicWith(1);
      const groupId = await newShareGroup();
      const marker = "DAMAGE-ME";
      const w = new Writer({ brokers: [BROKER], topic });
      const batch = (from: number, value: (i: number) => string) =>
        w.writeMessages(
          Array.from({ length: 5 }, (_, i) => ({ value: value(from + i) })),
        );
      await batch(0, (i) => `m${i}`);
      await batch(5, (i) => `${marker}${i}`);
      await batch(10, (i) => `m${i}`);
      await w.close();
      const proxy = await startProxy({ target: BROKER });
      const needle = new TextEncoder().encode(marker);
      proxy.tamper(ShareFetch.key, (frame) => {
        const at = indexOf(frame, needle);
        if (at < 0) return frame;
        const out = frame.slice();
        out[at] ^= 0x20; // "D" becomes "d": the batch's CRC no longer holds
        return out;
      });
      const errors: string[] = [];
      const direct: ShareMessage[] = [];
      try {
        const proxied = shareReader(groupId, topic, {
          brokers: [proxy.address],
          errorLogger: (m: string) => errors.push(m),
        });
        const seen: ShareMessage[] = [];
        const reading = drain(proxied, seen);
        await until("10 read", () => seen.length >= 10);
        await sleep(500);
        const stats = proxied.stats();
        await proxied.close();
        await reading;
        assert.deepEqual(
          seen.map(valueOf).sort(),
          [...expected(0, 5), ...expected(10, 5)].sort(),
        );
        assert.equal(stats.corrupt, 5);
        assert.ok(
          errors.some((e) =>
            e.includes("rejecting what this member acquired of offsets 5..9") &&
            e.includes(`${topic}/0`)
          ),
          errors.join("\n"),
        );
        direct.push(...await readFor(groupId, topic, 1500));
      } finally {
        await proxy.close();
      }
      assert.deepEqual(direct, [], "the damaged records were archived");
    });
  });
});
