/**
 * The broker killed with SIGKILL and restarted (through tools/kafka.ts)
 * while a Writer with default options produces and Readers consume: no
 * call rejects, and every message is in the log once, in its call's order,
 * and read once by the Readers.
 *
 * FAULT_MESSAGES sets the number of messages (default 60,000).
 */

import assert from "node:assert/strict";
import process from "node:process";
import { after, describe, test } from "node:test";
import {
  dial,
  type Message,
  Reader,
  type ShareMessage,
  ShareReader,
  TimeoutError,
  WriteErrors,
  Writer,
} from "../mod.ts";
import { BROKER, kafkaTool, sleep, uniqueTopic } from "./_helpers.ts";
import { setGroupConfig } from "./_group.ts";
import { leftIn } from "./_share.ts";

const MESSAGES = Number(process.env.FAULT_MESSAGES ?? 60_000);
const PER_CALL = 1000;
const CALLS_IN_FLIGHT = 16;
const PARTITIONS = 3;
const text = new TextDecoder();

/** Copies what a Reader reads into `out` until the Reader is closed. */
async function consume(reader: Reader, out: Message[]): Promise<void> {
  for await (const m of reader) {
    out.push({ ...m, value: m.value?.slice() ?? null, key: null });
  }
}

describe("broker restart", () => {
  // A test that fails half-way must not leave the broker down for the files
  // after this one.
  after(() => kafkaTool("up"));

  /** Closes what a test opened, whether or not it got to its end. */
  async function closeAll(...streams: { close(): Promise<unknown> }[]) {
    await Promise.allSettled(streams.map((s) => s.close()));
  }

  // A connection of its own per topic: the broker dies under each test.
  async function createTopic(topic: string, partitions: number) {
    const admin = await dial(BROKER);
    try {
      await admin.createTopics({
        topic,
        numPartitions: partitions,
        replicationFactor: 1,
      });
    } finally {
      admin.close();
    }
  }

  test("with the broker down, 50 writes reject together at deliveryTimeout and a Reader waits it out", async () => {
    const topic = uniqueTopic("down");
    await createTopic(topic, 1);
    const readerErrors: string[] = [];
    const reader = new Reader({
      brokers: [BROKER],
      topic,
      maxWait: 500,
      errorLogger: (m) => readerErrors.push(m),
    });
    const first = reader.readMessage();
    const writer = new Writer({
      brokers: [BROKER],
      topic,
      deliveryTimeout: 4000,
    });
    try {
      await downAndBack(reader, writer, first, readerErrors);
    } finally {
      await closeAll(writer, reader);
    }
  });

  async function downAndBack(
    reader: Reader,
    writer: Writer,
    first: Promise<Message>,
    readerErrors: string[],
  ) {
    await writer.writeMessages({ value: "before" });
    assert.equal(text.decode((await first).value!), "before");
    const next = reader.readMessage();
    let readerEnded = false;
    next.catch(() => readerEnded = true);

    await kafkaTool("kill");
    const started = performance.now();
    const settledAt: number[] = [];
    const calls = Array.from({ length: 50 }, (_, call) =>
      writer.writeMessages(
        Array.from({ length: 100 }, (_, i) => ({ value: `${call}-${i}` })),
      ).then(
        () => assert.fail("a write resolved with the broker down"),
        (error) => {
          settledAt.push(performance.now() - started);
          assert.ok(error instanceof WriteErrors, String(error));
          assert.equal(error.count, 100);
          assert.ok(error.errors[0] instanceof TimeoutError, String(error));
        },
      ));
    await Promise.all(calls);
    const last = Math.max(...settledAt);
    console.log(
      `broker down: 50 calls of 100 messages rejected between ${
        Math.min(...settledAt).toFixed(0)
      } and ${last.toFixed(0)} ms (deliveryTimeout 4000 ms)`,
    );
    assert.ok(last < 4000 + 1500, `the last call rejected at ${last} ms`);

    await kafkaTool("up");
    assert.equal(readerEnded, false, "the Reader kept waiting");
    // A restarted broker may still be taking its partitions back (slowly on
    // a loaded machine): this Writer's 4 s deliveryTimeout is short.
    const until = Date.now() + 60_000;
    for (;;) {
      try {
        await writer.writeMessages({ value: "after" });
        break;
      } catch (error) {
        if (Date.now() > until) throw error;
      }
    }
    await writer.close();
    assert.equal(text.decode((await next).value!), "after");
    assert.ok(
      readerErrors.some((e) => /Fetch .* failed, retrying/.test(e)),
      "the Reader reported its retries",
    );
  }

  test(`kill -9 and restart during a ${MESSAGES}-message produce and consume`, async () => {
    const topic = uniqueTopic("restart");
    await createTopic(topic, PARTITIONS);

    const errors: string[] = [];
    const writer = new Writer({
      brokers: [BROKER],
      topic,
      errorLogger: (m) => errors.push(m),
    });
    const readers = Array.from(
      { length: PARTITIONS },
      (_, partition) =>
        new Reader({
          brokers: [BROKER],
          topic,
          partition,
          maxWait: 500,
          errorLogger: (m) => errors.push(m),
        }),
    );
    const read: Message[][] = readers.map(() => []);
    const total = () => read.reduce((n, r) => n + r.length, 0);
    const consuming = readers.map((r, p) => consume(r, read[p]));
    // Awaited below; handled now in case the test fails before that.
    for (const c of consuming) c.catch(() => {});
    try {
      let rejected = 0;
      let sent = 0;
      let killed: Promise<void> | undefined;
      const calls = MESSAGES / PER_CALL;
      const inFlight = new Set<Promise<void>>();
      for (let call = 0; call < calls; call++) {
        const messages = Array.from({ length: PER_CALL }, (_, i) => ({
          value: `${call}:${i}`,
        }));
        const write = writer.writeMessages(messages).catch((error) => {
          rejected++;
          errors.push(`call ${call}: ${error}`);
        }).finally(() => inFlight.delete(write));
        inFlight.add(write);
        sent += PER_CALL;
        if (killed === undefined && sent >= MESSAGES / 3) {
          killed = kafkaTool("kill").then(() => sleep(1000)).then(() =>
            kafkaTool("up")
          );
        }
        if (inFlight.size >= CALLS_IN_FLIGHT) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      await killed;
      await writer.close();
      assert.equal(rejected, 0, errors.slice(-5).join("\n"));
      assert.ok(
        errors.some((e) => /kafka writer: .*attempt/.test(e)),
        "the writer retried through the restart",
      );

      // The partitions fill unevenly: wait for the total, then close them all.
      const deadline = Date.now() + 120_000;
      while (total() < MESSAGES && Date.now() < deadline) await sleep(100);
      await Promise.all(readers.map((r) => r.close()));
      await Promise.all(consuming);
      assert.equal(total(), MESSAGES, `the readers got ${total()}`);

      // Every message once; within a partition, each call's messages in order.
      const seen = new Set<string>();
      let duplicated = 0;
      let reordered = 0;
      for (const partition of read) {
        const lastIndex = new Map<number, number>();
        for (const m of partition) {
          const value = text.decode(m.value!);
          if (seen.has(value)) duplicated++;
          seen.add(value);
          const [call, index] = value.split(":").map(Number);
          if ((lastIndex.get(call) ?? -1) > index) reordered++;
          lastIndex.set(call, index);
        }
        // Offsets without gaps: the Readers read the log as it is.
        for (let i = 1; i < partition.length; i++) {
          assert.equal(partition[i].offset, partition[i - 1].offset + 1);
        }
      }
      const lost = MESSAGES - seen.size;
      console.log(
        `restart: ${MESSAGES} messages, rejected calls ${rejected}, lost ${lost}, duplicated ${duplicated}, reordered ${reordered}`,
      );
      assert.equal(duplicated, 0);
      assert.equal(reordered, 0);
      assert.equal(lost, 0);
      assert.equal(total(), MESSAGES);
    } finally {
      await closeAll(writer, ...readers);
    }
  });

  test("kill -9 and restart while two share-group members read: nothing lost, nothing left", async () => {
    const topic = uniqueTopic("restart-share");
    await createTopic(topic, PARTITIONS);
    const groupId = uniqueTopic("restart-sg");
    await setGroupConfig(groupId, {
      "share.auto.offset.reset": "earliest",
      "share.heartbeat.interval.ms": "200",
      "share.record.lock.duration.ms": "2000",
    });
    const count = 20_000;
    const writer = new Writer({ brokers: [BROKER], topic });
    await writer.writeMessages(
      Array.from({ length: count }, (_, i) => ({ value: `s${i}` })),
    );
    await writer.close();
    const errors: string[] = [];
    const members = [0, 1].map(() =>
      new ShareReader({
        brokers: [BROKER],
        groupId,
        topics: [topic],
        maxWait: 200,
        maxRecords: 200,
        errorLogger: (m) => errors.push(m),
      })
    );
    const seen = new Map<string, number>();
    let deliveries = 0;
    const read = async (reader: ShareReader) => {
      for await (const m of reader as AsyncIterable<ShareMessage>) {
        const value = text.decode(m.value!);
        seen.set(value, (seen.get(value) ?? 0) + 1);
        deliveries++;
        // Slow enough for the kill to land mid-way.
        if (deliveries % 200 === 0) await sleep(20);
      }
    };
    const reading = members.map(read);
    for (const r of reading) r.catch(() => {});
    try {
      const deadline = Date.now() + 120_000;
      while (seen.size < count / 3 && Date.now() < deadline) await sleep(20);
      await kafkaTool("kill");
      await sleep(1000);
      await kafkaTool("up");
      while (seen.size < count && Date.now() < deadline) await sleep(100);
      assert.equal(seen.size, count, `read ${seen.size} of ${count}`);
      assert.ok(
        errors.some((e) => /kafka share reader: .*attempt/.test(e)),
        "the members retried through the restart",
      );
      // Acknowledgements lost with the sessions come back after their
      // locks (2 s): wait until nothing has been delivered for longer than
      // a lock, then nothing must be left.
      let delivered = deliveries;
      let quietSince = Date.now();
      const quietBy = Date.now() + 30_000;
      while (Date.now() - quietSince < 3000 && Date.now() < quietBy) {
        await sleep(100);
        if (deliveries !== delivered) {
          delivered = deliveries;
          quietSince = Date.now();
        }
      }
      await Promise.all(members.map((r) => r.close()));
      await Promise.all(reading);
      const again = [...seen.values()].filter((n) => n > 1).length;
      console.log(
        `share restart: ${count} messages, ${deliveries} deliveries, ${again} read more than once`,
      );
      assert.deepEqual(
        await leftIn(groupId, topic),
        [],
        "everything was accepted",
      );
    } finally {
      await closeAll(...members);
    }
  });
  test("kill -9 and restart under a classic group subscribed by pattern: every message read, and a topic created after the restart joins", async () => {
    const prefix = uniqueTopic("restart_rx").replaceAll("-", "_");
    const [a, b, c] = ["a", "b", "c"].map((t) => `${prefix}.${t}`);
    await createTopic(a, 2);
    await createTopic(b, 1);
    const errors: string[] = [];
    const reader = new Reader({
      brokers: [BROKER],
      groupId: uniqueTopic("restart-rx-g"),
      groupProtocol: "classic",
      groupTopics: new RegExp(`${prefix}\\..*`),
      partitionWatchInterval: 500,
      heartbeatInterval: 500,
      sessionTimeout: 6000,
      rebalanceTimeout: 10_000,
      maxWait: 500,
      errorLogger: (m) => errors.push(m),
    });
    const read: Message[] = [];
    const consuming = consume(reader, read);
    consuming.catch(() => {}); // awaited below
    const writer = new Writer({ brokers: [BROKER] });
    const write = (topic: string, from: number, count: number) =>
      writer.writeMessages(
        Array.from({ length: count }, (_, i) => ({
          topic,
          value: `${topic}:${from + i}`,
        })),
      );
    const values = () => new Set(read.map((m) => text.decode(m.value!)));
    try {
      await write(a, 0, 2000);
      await write(b, 0, 2000);
      const deadline = Date.now() + 120_000;
      while (values().size < 1000 && Date.now() < deadline) await sleep(20);
      await kafkaTool("kill");
      await sleep(1000);
      await kafkaTool("up");
      await write(a, 2000, 500);
      await write(b, 2000, 500);
      await createTopic(c, 1);
      await write(c, 0, 100);
      const want = [
        ...[a, b].flatMap((t) =>
          Array.from({ length: 2500 }, (_, i) => `${t}:${i}`)
        ),
        ...Array.from({ length: 100 }, (_, i) => `${c}:${i}`),
      ];
      const missing = () => {
        const got = values();
        return want.filter((v) => !got.has(v));
      };
      while (missing().length > 0 && Date.now() < deadline) await sleep(100);
      assert.deepEqual(missing().slice(0, 5), [], "every message read");
      assert.deepEqual(
        reader.assignment().map((p) => `${p.topic}/${p.partition}`).sort(),
        [`${a}/0`, `${a}/1`, `${b}/0`, `${c}/0`],
      );
      assert.ok(
        errors.some((e) => /kafka reader: /.test(e)),
        "the Reader reported the lost broker",
      );
      await reader.close();
      await consuming;
      console.log(
        `pattern restart: ${want.length} messages, ${read.length} deliveries`,
      );
    } finally {
      await closeAll(writer, reader);
    }
  });
});
