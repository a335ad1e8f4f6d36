/** Conn against the real broker: metadata, topics, produce, fetch, offsets. */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  type Conn,
  dial,
  dialLeader,
  ErrorCode,
  KafkaError,
  type Message,
  SeekCurrent,
  SeekEnd,
  SeekStart,
} from "../mod.ts";
import { ApiVersions } from "../lib/protocol/messages/api_versions.ts";
import { Fetch } from "../lib/protocol/messages/fetch.ts";
import { Produce } from "../lib/protocol/messages/produce.ts";
import { BROKER, sleep, uniqueTopic } from "./_helpers.ts";

const text = new TextDecoder();

async function readAll(conn: Conn, maxBytes = 1 << 20): Promise<Message[]> {
  const batch = await conn.readBatch({ maxBytes, maxWait: 500 });
  const out: Message[] = [];
  for await (const m of batch) out.push(m);
  return out;
}

describe("Conn on a live broker", () => {
  let admin: Conn;
  const topic = uniqueTopic("conn");
  /** A topic of its own for the test of message partitions. */
  const own = uniqueTopic("conn-partition");

  before(async () => {
    admin = await dial(BROKER);
    await admin.createTopics(
      { topic, numPartitions: 3, replicationFactor: 1 },
      { topic: own, numPartitions: 3, replicationFactor: 1 },
    );
  });

  after(async () => {
    await admin.deleteTopics(topic, own).catch(() => {});
    admin.close();
  });

  test("ApiVersions lists the APIs the client uses", () => {
    const versions = admin.apiVersions();
    const keys = new Map(versions.map((v) => [v.apiKey, v]));
    for (const api of [ApiVersions, Produce, Fetch]) {
      const range = keys.get(api.key);
      assert.ok(range, `broker should offer ${api.name}`);
      assert.ok(range.maxVersion >= range.minVersion);
    }
  });

  test("metadata: brokers, controller and partitions", async () => {
    const brokers = await admin.brokers();
    assert.equal(brokers.length, 1);
    assert.equal(brokers[0].host, "127.0.0.1");
    assert.equal(brokers[0].port, 9092);
    const controller = await admin.controller();
    assert.equal(controller.id, brokers[0].id);
    const partitions = await admin.readPartitions(topic);
    assert.deepEqual(partitions.map((p) => p.id).sort(), [0, 1, 2]);
    for (const p of partitions) {
      assert.equal(p.topic, topic);
      assert.equal(p.leader.id, brokers[0].id);
      assert.deepEqual(p.isr.map((b) => b.id), [brokers[0].id]);
      assert.equal(p.error, null);
    }
    const all = await admin.readPartitions();
    assert.ok(all.some((p) => p.topic === topic), "all topics include ours");
  });

  test("creating an existing topic fails with TOPIC_ALREADY_EXISTS", async () => {
    await assert.rejects(
      admin.createTopics({ topic, numPartitions: 1, replicationFactor: 1 }),
      (error) =>
        error instanceof KafkaError &&
        error.code === ErrorCode.TOPIC_ALREADY_EXISTS &&
        error.message.includes(topic),
    );
  });

  test("produce then fetch through a leader Conn, exactly", async () => {
    const conn = await dialLeader(BROKER, topic, 1);
    try {
      const time = new Date(1_700_000_000_123);
      const bytes = await conn.writeMessages(
        { key: "k0", value: "v0", time, headers: [{ key: "h", value: "x" }] },
        { key: null, value: new Uint8Array([1, 2, 3]), time },
        { key: "k2", value: null, time },
      );
      assert.equal(bytes, 2 + 2 + 3 + 2);
      await conn.seek(0);
      const messages = await readAll(conn);
      assert.equal(messages.length, 3);
      assert.deepEqual(messages.map((m) => m.offset), [0, 1, 2]);
      for (const m of messages) {
        assert.equal(m.topic, topic);
        assert.equal(m.partition, 1);
        assert.equal(m.highWaterMark, 3);
        assert.equal(m.time.getTime(), time.getTime());
      }
      assert.equal(text.decode(messages[0].key!), "k0");
      assert.equal(text.decode(messages[0].value!), "v0");
      assert.deepEqual(messages[0].headers, [{
        key: "h",
        value: new TextEncoder().encode("x"),
      }]);
      assert.equal(messages[1].key, null);
      assert.deepEqual(messages[1].value, new Uint8Array([1, 2, 3]));
      assert.equal(messages[2].value, null);
      assert.equal(conn.offset(), 3, "reading advances the offset");
    } finally {
      conn.close();
    }
  });

  test("a message's partition must be the Conn's, unless the message was read from Kafka; nothing of a refused call is written", async () => {
    const conn = await dialLeader(BROKER, own, 2);
    try {
      await conn.writeMessages({ value: "own", partition: 2 });
      const [read] = await readAll(conn);
      assert.equal(read.partition, 2);
      await assert.rejects(
        conn.writeMessages({ value: "a" }, { value: "b", partition: 0 }),
        /^TypeError: Cannot write message 1: its partition 0 differs from this Conn's 2$/,
      );
      await assert.rejects(
        conn.writeMessages({ value: "b", partition: -1 }),
        /^RangeError: Cannot write message 0: "partition" must be a whole number from 0 to 2147483647, or undefined to let the balancer choose; got -1 \(number\)$/,
      );
      // A message read from another partition says where it came from.
      const other = await dialLeader(BROKER, own, 0);
      try {
        await other.writeMessages(read);
      } finally {
        other.close();
      }
      assert.equal(await conn.readLastOffset(), 1);
    } finally {
      conn.close();
    }
  });

  test("reads made at once take turns: each starts where the one before stopped, none hands out a message twice", async () => {
    const conn = await dialLeader(BROKER, own, 1);
    try {
      await conn.writeMessages(
        ...Array.from({ length: 20 }, (_, i) => ({ value: `m${i}` })),
      );
      await conn.seek(0);
      // Before, all ten returned offset 0.
      const one = await Promise.all(
        Array.from({ length: 10 }, () => conn.readMessage()),
      );
      assert.deepEqual(one.map((m) => m.offset), [...Array(10).keys()]);
      // A new batch ends the one before where it was read to.
      const batches = await Promise.all(
        Array.from({ length: 3 }, async () => {
          const got: number[] = [];
          for await (const m of await conn.readBatch({ maxWait: 500 })) {
            got.push(m.offset);
          }
          return got;
        }),
      );
      assert.deepEqual(
        batches.flat().sort((a, b) => a - b),
        Array.from({ length: 10 }, (_, i) => 10 + i),
      );
      // A seek ends the open batch: reading it cannot move the offset back.
      await conn.seek(0);
      const open = await conn.readBatch({ maxWait: 500 });
      const reader = open.getReader();
      assert.equal((await reader.read()).value?.offset, 0);
      await conn.seek(15);
      assert.equal((await reader.read()).done, true);
      assert.equal((await conn.readMessage()).offset, 15);
    } finally {
      conn.close();
    }
  });

  test("first, last and by-time offsets; seek by whence", async () => {
    const conn = await dialLeader(BROKER, topic, 2);
    try {
      const t0 = Date.now() - 60_000;
      for (let i = 0; i < 5; i++) {
        await conn.writeMessages({
          value: `m${i}`,
          time: new Date(t0 + i * 1000),
        });
      }
      assert.equal(await conn.readFirstOffset(), 0);
      assert.equal(await conn.readLastOffset(), 5);
      assert.deepEqual(await conn.readOffsets(), { first: 0, last: 5 });
      assert.equal(await conn.readOffset(new Date(t0 + 2000)), 2);
      assert.equal(await conn.readOffset(new Date(t0 + 2500)), 3);
      assert.equal(await conn.readOffset(new Date(t0 - 1)), 0);
      assert.equal(await conn.readOffset(new Date(t0 + 3_600_000)), 5);

      assert.equal(await conn.seek(1, SeekStart), 1);
      assert.equal(await conn.seek(1, SeekCurrent), 2);
      assert.equal(await conn.seek(-1, SeekEnd), 4);
      const [last] = await readAll(conn);
      assert.equal(text.decode(last.value!), "m4");
      await assert.rejects(
        conn.seek(99),
        (error) =>
          error instanceof KafkaError &&
          error.code === ErrorCode.OFFSET_OUT_OF_RANGE,
      );
      // A whence that is not one of the numbers is refused, not read as 0.
      await assert.rejects(
        conn.seek(0, "end" as unknown as number),
        /whence must be SeekStart, SeekAbsolute, SeekEnd or SeekCurrent .*got "end" \(string\)/,
      );
    } finally {
      conn.close();
    }
  });

  test("readBatch waits up to maxWait on an empty partition", async () => {
    const conn = await dialLeader(BROKER, topic, 0);
    try {
      await conn.seek(0, SeekEnd);
      const started = Date.now();
      const batch = await conn.readBatch({ minBytes: 1, maxWait: 300 });
      const messages = [];
      for await (const m of batch) messages.push(m);
      assert.equal(messages.length, 0);
      assert.ok(Date.now() - started >= 250, "the broker held the fetch");
    } finally {
      conn.close();
    }
  });

  test("many requests in flight on one connection resolve in order", async () => {
    const conn = await dialLeader(BROKER, topic, 0);
    try {
      const writes = [];
      for (let i = 0; i < 50; i++) {
        writes.push(conn.writeMessages({ value: `p${i}` }));
      }
      await Promise.all(writes);
      const first = await conn.readFirstOffset();
      await conn.seek(first);
      const values = (await readAll(conn)).map((m) => text.decode(m.value!));
      assert.deepEqual(values, Array.from({ length: 50 }, (_, i) => `p${i}`));
    } finally {
      conn.close();
    }
  });

  test("deleteTopics removes a topic", async () => {
    const doomed = uniqueTopic("doomed");
    await admin.createTopics({ topic: doomed, numPartitions: 1 });
    await admin.deleteTopics(doomed);
    // Deletion is asynchronous on the controller: poll briefly.
    for (let i = 0; i < 50; i++) {
      const all = await admin.readPartitions();
      if (!all.some((p) => p.topic === doomed)) return;
      await sleep(100);
    }
    assert.fail(`topic ${doomed} still listed after deletion`);
  });

  test("a request aborted by its signal rejects at once", async () => {
    const conn = await dialLeader(BROKER, topic, 0);
    try {
      await conn.seek(0, SeekEnd);
      const controller = new AbortController();
      const pending = conn.readBatch({
        maxWait: 1500,
        signal: controller.signal,
      });
      setTimeout(() => controller.abort(new Error("stop now")), 50);
      const started = Date.now();
      await assert.rejects(pending, /stop now/);
      assert.ok(Date.now() - started < 1000);
      // The connection stays usable: the late answer is recognised and dropped.
      assert.ok((await conn.readLastOffset()) >= 0);
    } finally {
      conn.close();
    }
  });
});

describe("Conn argument errors", () => {
  test("bad options and arguments name what was wrong", async () => {
    await assert.rejects(
      dial(BROKER, { timeout: -1 }),
      /^RangeError: Cannot create Dialer: "timeout" must be a positive number of milliseconds, got -1 \(number\)$/,
    );
    await assert.rejects(
      dialLeader(BROKER, "bad topic!", 0),
      /Invalid topic "bad topic!"/,
    );
    await assert.rejects(dialLeader(BROKER, "ok", -1), /Invalid partition/);
    await assert.rejects(
      dial("localhost:99999"),
      /port must be 1\.\.65535, got "localhost:99999"/,
    );
    const conn = await dial(BROKER);
    try {
      await assert.rejects(
        conn.writeMessages({ value: "x" }),
        /dialed without a topic and partition/,
      );
      await assert.rejects(
        conn.createTopics({ topic: "t", numPartitions: 0 }),
        /"numPartitions" must be a positive integer up to 2147483647, or -1, got 0 \(number\)/,
      );
      await assert.rejects(
        // deno-lint-ignore no-explicit-any
        conn.readPartitions(5 as any),
        /Invalid topic: expected a name of 1 to 249 characters, got 5/,
      );
    } finally {
      conn.close();
    }
    const leader = await dialLeader(BROKER, uniqueTopic("conn-bad-batch"), 0);
    try {
      await assert.rejects(
        // deno-lint-ignore no-explicit-any
        leader.readBatch(1000 as any),
        /^TypeError: Cannot read a batch: the options must be an object, got 1000 \(number\)$/,
      );
      // A wait longer than a timer takes is refused up front: it used to
      // fire at once, fail the Fetch and close the Conn.
      await assert.rejects(
        leader.readBatch({ maxWait: 2 ** 40 }),
        /^RangeError: Cannot read a batch: "maxWait" must be an integer from 0 to 2147483647, got 1099511627776 \(number\)$/,
      );
      // A misspelt value would be written as a tombstone.
      await assert.rejects(
        leader.writeMessages({ value: "a" }, { valeu: "b" } as never),
        /^TypeError: Cannot write message 1: unknown field "valeu"; did you mean "value"\?$/,
      );
      // So would any misspelt field, value or not (a key lost here).
      await assert.rejects(
        leader.writeMessages({ value: "x", kye: "k" } as never),
        /^TypeError: Cannot write message 0: unknown field "kye"; did you mean "key"\?$/,
      );
      await leader.writeMessages({ value: "still open" });
      // The longest wait allowed: its timer (the wait plus the request
      // timeout) is capped, not fired at once; the data answers at once.
      const batch = await leader.readBatch({ maxWait: 2 ** 31 - 1 });
      const values: string[] = [];
      for await (const m of batch) {
        values.push(new TextDecoder().decode(m.value!));
      }
      assert.deepEqual(values, ["still open"], "the Conn stayed open");
    } finally {
      leader.close();
    }
  });
});
