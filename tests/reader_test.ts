/** The Reader against the real broker. */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";
import { after, before, describe, test } from "node:test";
import { Cluster } from "../lib/cluster/cluster.ts";
import { type Conn, dial, dialLeader } from "../lib/conn/conn.ts";
import type { BrokerConnection } from "../lib/connection/connection.ts";
import { ClosedError } from "../lib/connection/errors.ts";
import type { Message, MessageInput } from "../lib/message.ts";
import { ErrorCode, KafkaError } from "../lib/protocol/errors.ts";
import { DeleteRecords } from "../lib/protocol/messages/delete_records.ts";
import {
  FirstOffset,
  LastOffset,
  Reader,
  type ReaderOptions,
} from "../lib/consumer/reader.ts";
import { Writer } from "../lib/producer/writer.ts";
import { main as readOffset42 } from "../examples/read_offset_42.ts";
import { main as readTimeRange } from "../examples/read_time_range.ts";
import { main as readerLogging } from "../examples/reader_logging.ts";
import { startProxy } from "./_proxy.ts";
import {
  BROKER,
  noUnhandledRejections,
  onPath,
  sleep,
  uniqueTopic,
} from "./_helpers.ts";

const text = new TextDecoder();
const utf8 = new TextEncoder();

function decode(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : text.decode(bytes);
}

/**
 * Writes the messages to partition 0 in one batch (creating the topic). A
 * topic just created may not have its leader ready yet: a retriable answer
 * (NOT_LEADER_OR_FOLLOWER...) is retried for up to 10 s, as a Writer would.
 */
async function produce(
  topic: string,
  messages: MessageInput[],
): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const conn = await dialLeader(BROKER, topic, 0);
    try {
      await conn.writeMessages(...messages);
      return;
    } catch (error) {
      const retriable = (error as { retriable?: boolean }).retriable === true;
      if (!retriable || Date.now() > deadline) throw error;
    } finally {
      conn.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function values(count: number, from = 0): MessageInput[] {
  return Array.from({ length: count }, (_, i) => ({ value: `m${from + i}` }));
}

/** Reads `count` messages through the stream, leaving the Reader open. */
async function take(reader: Reader, count: number): Promise<Message[]> {
  const out: Message[] = [];
  if (count === 0) return out;
  for await (const m of reader.values({ preventCancel: true })) {
    out.push(m);
    if (out.length === count) break;
  }
  return out;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe("Reader", () => {
  let admin: Conn;
  before(async () => {
    admin = await dial(BROKER);
  });
  after(() => admin.close());

  async function topicWith(partitions = 1): Promise<string> {
    const topic = uniqueTopic("reader");
    await admin.createTopics({
      topic,
      numPartitions: partitions,
      replicationFactor: 1,
    });
    return topic;
  }

  function open(topic: string, options: Partial<ReaderOptions> = {}) {
    return new Reader({ brokers: [BROKER], topic, ...options });
  }

  test("offsets, keys, values, headers and times come back exactly", async () => {
    const topic = await topicWith();
    const base = Date.now() - 60_000;
    const input = Array.from({ length: 25 }, (_, i) => ({
      key: i % 5 === 0 ? null : `key-${i}`,
      value: i % 7 === 0 ? null : `value-${i}`.repeat(i + 1),
      headers: i % 3 === 0
        ? []
        : [{ key: "i", value: String(i) }, { key: "none", value: null }],
      time: new Date(base + i * 1000),
    }));
    await produce(topic, input);
    const reader = open(topic);
    const got = await take(reader, input.length);
    await reader.close();
    got.forEach((m, i) => {
      assert.equal(m.topic, topic);
      assert.equal(m.partition, 0);
      assert.equal(m.offset, i);
      assert.equal(m.highWaterMark, input.length);
      assert.equal(decode(m.key), input[i].key);
      assert.equal(decode(m.value), input[i].value);
      assert.deepEqual(
        m.headers.map((h) => [h.key, decode(h.value)]),
        input[i].headers.map((h) => [h.key, h.value]),
      );
      assert.equal(m.time.getTime(), input[i].time.getTime());
    });
  });

  test("a topic deleted and created again is read from the new topic's start, alone and in a group", async () => {
    const topic = await topicWith(1);
    const write = async (prefix: string, n: number) => {
      const w = new Writer({ brokers: [BROKER], topic });
      await w.writeMessages(
        Array.from({ length: n }, (_, i) => ({ value: `${prefix}-${i}` })),
      );
      await w.close();
    };
    await write("old", 100);
    const logged: string[] = [];
    const errorLogger = (m: string) => logged.push(m);
    const single = open(topic, { partition: 0, maxWait: 200, errorLogger });
    const group = open(topic, {
      groupId: uniqueTopic("recreated"),
      maxWait: 200,
      heartbeatInterval: 500,
      errorLogger,
    });
    const take = async (r: Reader, n: number) => {
      const out: string[] = [];
      const signal = AbortSignal.timeout(60_000);
      while (out.length < n) {
        out.push(text.decode((await r.readMessage({ signal })).value!));
      }
      return out;
    };
    try {
      assert.equal((await take(single, 100)).at(-1), "old-99");
      assert.equal((await take(group, 100)).at(-1), "old-99");
      await admin.deleteTopics(topic);
      // Until the deletion is done, creating it again fails.
      for (let tries = 0;; tries++) {
        try {
          await admin.createTopics({ topic, numPartitions: 1 });
          break;
        } catch (error) {
          if (tries > 100) throw error;
          await sleep(200);
        }
      }
      // Fewer than were read (the old position would pass for a truncated
      // log) and then more (it would skip the first 100).
      await write("new", 50);
      const expected = Array.from({ length: 50 }, (_, i) => `new-${i}`);
      assert.deepEqual(await take(single, 50), expected);
      assert.deepEqual(await take(group, 50), expected);
      await write("more", 80);
      assert.equal((await take(single, 80)).at(-1), "more-79");
      assert.equal((await take(group, 80)).at(-1), "more-79");
      assert.ok(
        logged.some((m) =>
          /the topic was deleted and created again \(its id changed from \S+ to \S+\); reading the new topic from its first offset/
            .test(m)
        ),
        logged.join("\n"),
      );
    } finally {
      await single.close();
      await group.close();
    }
  });

  test("readMessage, fetchMessage and the stream share one queue", async () => {
    const topic = await topicWith();
    await produce(topic, values(12));
    const reader = open(topic);
    assert.equal((await reader.readMessage()).offset, 0);
    assert.equal((await reader.fetchMessage()).offset, 1);
    assert.deepEqual((await take(reader, 3)).map((m) => m.offset), [2, 3, 4]);
    assert.equal((await reader.readMessage()).offset, 5);

    const held = reader.getReader();
    await assert.rejects(reader.readMessage(), (error) => {
      assert.ok(error instanceof TypeError);
      assert.match(error.message, /locked by another consumer/);
      return true;
    });
    assert.equal(decode((await held.read()).value!.value), "m6");
    held.releaseLock();

    const concurrent = await Promise.all([
      reader.readMessage(),
      reader.readMessage(),
      reader.readMessage(),
    ]);
    assert.deepEqual(concurrent.map((m) => m.offset), [7, 8, 9]);
    assert.equal(reader.offset, 10);
    await reader.close();
    await assert.rejects(reader.readMessage(), ClosedError);
    assert.throws(() => reader.setOffset(0), ClosedError);
  });

  test("readLag, setOffsetAt and seekToTime cut short by close() say the Reader closed, naming the call", async () => {
    const topic = await topicWith(1);
    const w = new Writer({ brokers: [BROKER], topic });
    await w.writeMessages({ value: "x" });
    await w.close();
    const reader = open(topic, { partition: 0 });
    await reader.readMessage();
    const lag = reader.readLag();
    const offsetAt = reader.setOffsetAt(new Date());
    await reader.close();
    await assert.rejects(
      lag,
      /^ClosedError: Cannot read the lag: the Reader is closed$/,
    );
    await assert.rejects(
      offsetAt,
      /^ClosedError: Cannot set the offset: the Reader is closed$/,
    );
    const group = open(topic, { groupId: uniqueTopic("g") });
    await group.readMessage();
    const seeking = group.seekToTime(new Date());
    await group.close();
    await assert.rejects(
      seeking,
      /^ClosedError: Cannot seek: the Reader is closed$/,
    );
  });

  test("an aborted readMessage loses no message", async () => {
    const topic = await topicWith();
    const reader = open(topic);
    const controller = new AbortController();
    const pending = reader.readMessage({ signal: controller.signal });
    await sleep(300);
    controller.abort();
    await assert.rejects(pending, { name: "AbortError" });
    await assert.rejects(
      reader.readMessage({ signal: AbortSignal.abort() }),
      { name: "AbortError" },
    );
    // Bad options are refused, naming them, and lose nothing either.
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      reader.readMessage({ signal: 1 as any }),
      /^TypeError: Cannot read a message: "signal" must be an AbortSignal, got 1 \(number\)$/,
    );
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      reader.fetchMessage(null as any),
      /^TypeError: Cannot read a message: the options must be an object, got null$/,
    );
    await produce(topic, values(2));
    assert.equal(decode((await reader.readMessage()).value), "m0");
    assert.equal(decode((await reader.readMessage()).value), "m1");
    await reader.close();
  });

  test("setOffsetAt lands on the first message at or after the time", async () => {
    const topic = await topicWith();
    const base = Date.now() - 3_600_000;
    await produce(
      topic,
      Array.from({ length: 10 }, (_, i) => ({
        value: `t${i}`,
        time: new Date(base + i * 1000),
      })),
    );
    const reader = open(topic);
    const at = async (ms: number) => {
      await reader.setOffsetAt(new Date(ms));
      return reader.offset;
    };
    assert.equal(await at(base + 2500), 3);
    assert.equal((await reader.readMessage()).offset, 3);
    assert.equal(await at(base + 4000), 4, "a message exactly at the time");
    assert.equal((await reader.readMessage()).offset, 4);
    assert.equal(await at(base - 100_000), 0);
    assert.equal((await reader.readMessage()).offset, 0);
    assert.equal(await at(base + 100_000), 10, "none after: the end");
    assert.equal(await reader.readLag(), 0);
    await produce(topic, [{ value: "later" }]);
    const m = await reader.readMessage();
    assert.equal(m.offset, 10);
    assert.equal(decode(m.value), "later");
    await assert.rejects(
      reader.setOffsetAt(new Date("not a date")),
      /"time" must be a valid Date/,
    );
    await reader.close();
  });

  test("lag and readLag agree with the high watermark", async () => {
    const topic = await topicWith();
    await produce(topic, values(30));
    const reader = open(topic);
    assert.equal(reader.lag, -1, "unknown before the first fetch");
    assert.equal(await reader.readLag(), 30, "from the first offset");
    const read = await take(reader, 10);
    assert.equal(read.at(-1)!.highWaterMark, 30);
    assert.equal(reader.lag, 20);
    assert.equal(await reader.readLag(), 20);
    const stats = reader.stats();
    assert.equal(stats.lag, 20);
    assert.equal(stats.offset, 10);
    await produce(topic, values(5, 30));
    assert.equal(await reader.readLag(), 25);
    assert.equal(reader.lag, 25, "readLag refreshes the known end");
    await take(reader, 25);
    assert.equal(reader.lag, 0);
    assert.equal(await reader.readLag(), 0);
    await reader.close();
  });

  test("readLagInterval keeps lag current without reading", async () => {
    const topic = await topicWith();
    await produce(topic, values(3));
    const reader = open(topic, { readLagInterval: 50 });
    await take(reader, 3);
    assert.equal(reader.lag, 0);
    await produce(topic, values(4, 3));
    // Far below the 10 s a Fetch would wait with nothing to read.
    await until(() => reader.lag === 4, "lag 4");
    await reader.close();
  });

  test("a Reader piped into a Writer mirrors a topic", async () => {
    const source = await topicWith();
    const target = await topicWith();
    const total = 500;
    const base = Date.now() - 10_000;
    await produce(
      source,
      Array.from({ length: total }, (_, i) => ({
        key: `k${i % 13}`,
        value: `v${i}`,
        headers: [{ key: "n", value: String(i) }],
        time: new Date(base + i),
      })),
    );
    const reader = open(source);
    // A Message names its topic and partition, and a Writer with a topic
    // refuses messages that name one: pass on only what the Writer takes.
    // Ending the transform after the last message closes the Writer and
    // cancels (closes) the Reader.
    const toInput = new TransformStream<Message, MessageInput>({
      transform({ key, value, headers, time, offset }, controller) {
        controller.enqueue({ key, value, headers, time });
        if (offset === total - 1) controller.terminate();
      },
    });
    const writer = new Writer({ brokers: [BROKER], topic: target });
    await reader.pipeThrough(toInput).pipeTo(writer);
    await assert.rejects(reader.readMessage(), ClosedError);

    const copy = open(target);
    const mirrored = await take(copy, total);
    await copy.close();
    mirrored.forEach((m, i) => {
      assert.equal(m.offset, i);
      assert.equal(decode(m.key), `k${i % 13}`);
      assert.equal(decode(m.value), `v${i}`);
      assert.equal(decode(m.headers[0].value), String(i));
      assert.equal(m.time.getTime(), base + i);
    });
  });

  test("reader.pipeTo(writer) mirrors a topic as it is", async () => {
    const source = await topicWith();
    const target = await topicWith();
    const total = 200;
    const base = Date.UTC(2024, 0, 1);
    await produce(
      source,
      Array.from({ length: total }, (_, i) => ({
        key: `k${i}`,
        value: `v${i}`,
        time: new Date(base + i),
        ...(i % 2 === 0 ? { headers: [{ key: "n", value: String(i) }] } : {}),
      })),
    );
    const reader = open(source);
    const writer = new Writer({ brokers: [BROKER], topic: target });
    // Messages read from Kafka carry their source topic; the Writer takes
    // them anyway and writes them to its own topic, with their record's
    // time and headers unless these were changed on the way.
    const change = new TransformStream<Message, Message>({
      transform(m, controller) {
        if (m.offset % 5 === 0) {
          m.headers = [{ key: "set", value: utf8.encode("s") }];
          m.time = new Date(7);
        }
        controller.enqueue(m);
      },
    });
    const piping = reader.pipeThrough(change).pipeTo(writer);
    const copy = open(target);
    const mirrored = await take(copy, total);
    await copy.close();
    // Closing the Reader ends the pipe, which closes (flushes) the Writer.
    await reader.close();
    await piping;
    assert.deepEqual(
      mirrored.map((m) => decode(m.value)),
      Array.from({ length: total }, (_, i) => `v${i}`),
    );
    mirrored.forEach((m, i) => {
      const headers = m.headers.map((h) => [h.key, decode(h.value)]);
      if (i % 5 === 0) {
        assert.deepEqual(headers, [["set", "s"]]);
        assert.equal(m.time.getTime(), 7);
      } else {
        assert.deepEqual(headers, i % 2 === 0 ? [["n", String(i)]] : []);
        assert.equal(m.time.getTime(), base + i);
      }
    });
  });

  test("closing mid-iteration ends the loop cleanly", async () => {
    await noUnhandledRejections(async () => {
      const topic = await topicWith();
      await produce(topic, values(5));
      const reader = open(topic);
      const offsets: number[] = [];
      let closing: Promise<void> | undefined;
      for await (const m of reader) {
        offsets.push(m.offset);
        // Close while the loop waits in a long poll for offset 5.
        if (m.offset === 4) {
          setTimeout(() => (closing = reader.close()), 200);
        }
      }
      await closing;
      assert.deepEqual(offsets, [0, 1, 2, 3, 4]);
      assert.equal(reader.offset, 5);

      const waiting = open(topic, { startOffset: LastOffset });
      const pending = waiting.readMessage();
      await sleep(200);
      await waiting.close();
      await assert.rejects(pending, ClosedError);

      const cancelled = open(topic);
      assert.equal((await cancelled.readMessage()).offset, 0);
      await cancelled.cancel();
      await assert.rejects(cancelled.readMessage(), ClosedError);
      assert.throws(() => cancelled.setOffset(1), ClosedError);

      // A read waiting holds the stream's lock: cancel() closes the Reader
      // all the same (the platform refused a locked stream), as on a group
      // Reader.
      const held = open(topic, { startOffset: LastOffset });
      const fetching = held.fetchMessage();
      await sleep(200);
      await held.cancel();
      await assert.rejects(fetching, ClosedError);
    });
  });

  test("breaking out of for await, or await using, closes the Reader", async () => {
    const topic = await topicWith();
    await produce(topic, values(3));
    const reader = open(topic);
    for await (const m of reader) if (m.offset === 1) break;
    await assert.rejects(reader.readMessage(), ClosedError);

    // What `await using scoped = open(topic)` does, spelled out: Node 22
    // cannot parse `await using`.
    const scoped = open(topic);
    try {
      assert.equal((await scoped.readMessage()).offset, 0);
    } finally {
      await scoped[Symbol.asyncDispose]();
    }
    await assert.rejects(scoped.readMessage(), ClosedError);
  });

  // Only where kcat is installed (tools/test.ts says when it is not); the
  // Java client's interop tests cover the same codecs everywhere.
  const kcatCodecs = onPath("kcat") ? ["gzip", "snappy", "lz4", "zstd"] : [];
  for (const codec of kcatCodecs) {
    test(`reads a ${codec} topic written by kcat`, async () => {
      const topic = await topicWith();
      const lines = Array.from(
        { length: 300 },
        (_, i) => `key-${i}:value-${i}`,
      );
      const kcat = spawnSync("kcat", [
        "-P",
        "-b",
        BROKER,
        "-t",
        topic,
        "-p",
        "0",
        "-K",
        ":",
        "-z",
        codec,
      ], { input: lines.join("\n") + "\n" });
      assert.equal(kcat.status, 0, `kcat failed: ${kcat.stderr}`);
      const reader = open(topic);
      const got = await take(reader, lines.length);
      await reader.close();
      assert.deepEqual(
        got.map((m) => `${decode(m.key)}:${decode(m.value)}`),
        lines,
      );
      assert.deepEqual(got.map((m) => m.offset), lines.map((_, i) => i));
    });
  }

  test("a batch larger than maxBytes is still read whole", async () => {
    const topic = await topicWith();
    const big = "x".repeat(1000);
    await produce(topic, Array.from({ length: 50 }, () => ({ value: big })));
    const reader = open(topic, { maxBytes: 1024, minBytes: 1 });
    const got = await take(reader, 50);
    await reader.close();
    assert.equal(got.length, 50);
    assert.ok(got.every((m) => m.value!.length === 1000));
  });

  test("OFFSET_OUT_OF_RANGE past the end resets to startOffset", async () => {
    const topic = await topicWith();
    await produce(topic, values(10));
    const errors: string[] = [];
    const first = open(topic, { errorLogger: (m) => errors.push(m) });
    first.setOffset(1000);
    assert.equal((await first.readMessage()).offset, 0);
    assert.ok(
      errors.some((e) =>
        /offset 1000 is out of range .* resetting to the first offset/.test(e)
      ),
      errors.join("\n"),
    );
    await first.close();

    const last = open(topic, { startOffset: LastOffset, maxWait: 200 });
    last.setOffset(1000);
    const next = last.readMessage();
    await until(() => last.offset === 10, "reset to the last offset");
    await produce(topic, [{ value: "new" }]);
    assert.equal((await next).offset, 10);
    await last.close();
  });

  test("OFFSET_OUT_OF_RANGE before the log start resets to the first offset", async () => {
    const topic = await topicWith();
    await produce(topic, values(10));
    const leader = await dialLeader(BROKER, topic, 0);
    try {
      const response = await leader.raw.request(DeleteRecords, {
        topics: [{
          name: topic,
          partitions: [{ partitionIndex: 0, offset: 6 }],
        }],
        timeoutMs: 10_000,
      });
      assert.equal(response.topics[0].partitions[0].errorCode, 0);
    } finally {
      leader.close();
    }
    const reader = open(topic);
    reader.setOffset(2);
    assert.equal((await reader.readMessage()).offset, 6);
    reader.setOffset(FirstOffset);
    assert.equal((await reader.readMessage()).offset, 6);
    await reader.close();
  });

  test('offsetOutOfRange "error" errors the stream with the KafkaError', async () => {
    const topic = await topicWith();
    await produce(topic, values(3));
    const reader = open(topic, { offsetOutOfRange: "error" });
    reader.setOffset(50);
    const isOutOfRange = (error: unknown) => {
      assert.ok(error instanceof KafkaError);
      assert.equal(error.code, ErrorCode.OFFSET_OUT_OF_RANGE);
      assert.equal(error.topic, topic);
      return true;
    };
    await assert.rejects(reader.readMessage(), isOutOfRange);
    await assert.rejects(async () => {
      for await (const _ of reader) { /* errors before any message */ }
    }, isOutOfRange);
    assert.throws(() => reader.setOffset(0), /the Reader failed/);
    await reader.close();
  });

  test("setOffset while reading restarts there and drops what was prefetched", async () => {
    const topic = await topicWith();
    await produce(topic, values(20));
    const reader = open(topic);
    const offsets: number[] = [];
    for await (const m of reader.values({ preventCancel: true })) {
      offsets.push(m.offset);
      if (m.offset === 9 && offsets.length === 10) reader.setOffset(3);
      if (m.offset === 19) break;
    }
    assert.deepEqual(offsets, [
      ...Array.from({ length: 10 }, (_, i) => i),
      ...Array.from({ length: 17 }, (_, i) => i + 3),
    ]);

    // A long poll is in flight at offset 20 (maxWait 10 s): a seek must
    // not wait for it to end.
    await sleep(100);
    const started = Date.now();
    reader.setOffset(5);
    assert.equal(reader.offset, 5);
    assert.equal((await reader.readMessage()).offset, 5);
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
    reader.setOffset(LastOffset);
    assert.equal(reader.offset, LastOffset);
    assert.throws(() => reader.setOffset(-3), RangeError);
    assert.throws(() => reader.setOffset(1.5), RangeError);
    assert.throws(
      () => reader.setOffset("1" as unknown as number),
      /LastOffset \(-1\), got "1" \(string\)$/,
    );
    await reader.close();
  });

  test("read_committed reads plain messages up to the last stable offset", async () => {
    const topic = await topicWith();
    await produce(topic, values(3));
    const reader = open(topic, { isolationLevel: "read_committed" });
    const got = await take(reader, 3);
    assert.deepEqual(got.map((m) => decode(m.value)), ["m0", "m1", "m2"]);
    assert.equal(reader.lag, 0);
    assert.equal(await reader.readLag(), 0);
    await reader.close();
  });

  test("keys and values are views unless copyValues is set", async () => {
    const topic = await topicWith();
    await produce(topic, [{
      key: "k",
      value: "v",
      headers: [{ key: "h", value: "x" }],
    }]);
    const views = open(topic);
    const view = await views.readMessage();
    await views.close();
    assert.ok(view.value!.buffer.byteLength > view.value!.length);
    const copies = open(topic, { copyValues: true });
    const copy = await copies.readMessage();
    await copies.close();
    for (const bytes of [copy.key!, copy.value!, copy.headers[0].value!]) {
      assert.equal(bytes.buffer.byteLength, 1);
    }
    assert.deepEqual(copy.value, utf8.encode("v"));
  });

  test("stats count since the last call", async () => {
    const topic = await topicWith();
    await produce(topic, [{ key: "ab", value: "cde" }, { value: "fg" }]);
    const reader = open(topic, { queueCapacity: 7, maxWait: 250 });
    await take(reader, 2);
    const stats = reader.stats();
    assert.equal(stats.dials, 1);
    assert.ok(stats.fetches >= 1);
    assert.equal(stats.messages, 2);
    assert.equal(stats.bytes, 7);
    assert.equal(stats.rebalances, 0);
    assert.equal(stats.errors, 0);
    assert.deepEqual(
      [stats.offset, stats.lag, stats.queueLength, stats.queueCapacity],
      [2, 0, 0, 7],
    );
    assert.deepEqual(
      [stats.minBytes, stats.maxBytes, stats.maxWait],
      [1, 1024 * 1024, 250],
    );
    assert.equal(stats.topic, topic);
    assert.equal(stats.partition, 0);
    const again = reader.stats();
    assert.deepEqual([again.messages, again.bytes, again.dials], [0, 0, 0]);
    assert.equal(again.offset, 2);
    await reader.close();
  });

  test("readers sharing a cluster each have their own fetch connection", async () => {
    const topic = await topicWith(2);
    const cluster = new Cluster({ brokers: [BROKER] });
    const idle = new Reader({ cluster, topic, partition: 0 });
    const busy = new Reader({ cluster, topic, partition: 1 });
    const waiting = idle.readMessage();
    await sleep(200);
    const leader = await dialLeader(BROKER, topic, 1);
    await leader.writeMessages({ value: "p1" });
    leader.close();
    const started = Date.now();
    assert.equal(decode((await busy.readMessage()).value), "p1");
    assert.ok(Date.now() - started < 3000, "not behind the other long poll");
    await idle.close();
    await assert.rejects(waiting, ClosedError);
    // The shared cluster stays open for the other reader.
    const again = await dialLeader(BROKER, topic, 1);
    await again.writeMessages({ value: "p1 again" });
    again.close();
    assert.equal(decode((await busy.readMessage()).value), "p1 again");
    await busy.close();
    await cluster.close();
  });

  test("reconnects when the connection breaks during a long poll", async () => {
    const topic = await topicWith();
    await produce(topic, values(3));
    const fetchConnections: BrokerConnection[] = [];
    class Watched extends Cluster {
      override async leader(topic: string, partition: number, lane?: string) {
        const found = await super.leader(topic, partition, lane);
        if (lane?.startsWith("fetch")) fetchConnections.push(found.conn);
        return found;
      }
    }
    const cluster = new Watched({ brokers: [BROKER] });
    const errors: string[] = [];
    const reader = new Reader({
      cluster,
      topic,
      errorLogger: (m) => errors.push(m),
    });
    await take(reader, 3);
    await sleep(200);
    // Stands in for the broker going away: the socket closes under the
    // connection while the Fetch for offset 3 waits.
    const socket = (fetchConnections.at(-1) as unknown as {
      socket: { close(): void };
    }).socket;
    socket.close();
    await produce(topic, values(1, 3));
    assert.equal(decode((await reader.readMessage()).value), "m3");
    assert.equal(reader.stats().dials, 2);
    assert.ok(
      errors.some((e) =>
        /Fetch of partition 0 .* attempt 1 failed, retrying/.test(e)
      ),
      errors.join(),
    );
    await reader.close();
    await cluster.close();
  });

  test("a batch cut off at the end of an answer is asked for alone when a larger request would only cut off the next one", async () => {
    // Batches of 940 KB and 160 KB in turn, as a Writer with batchBytes of
    // 1 MB leaves them from calls of 10,000 x 100 B: under the 1 MiB limit,
    // an answer from a large batch ends in part of the small one, and one
    // from a small batch ended in 888 KB of the next large one, fetched
    // again whole next time: about twice the log's bytes in all.
    const topic = await topicWith();
    const value = new Uint8Array(100).fill(120);
    const conn = await dialLeader(BROKER, topic, 0);
    const pairs = 6;
    try {
      for (let i = 0; i < pairs; i++) {
        for (const count of [8546, 1454]) {
          await conn.writeMessages(
            ...Array.from({ length: count }, () => ({ value })),
          );
        }
      }
    } finally {
      conn.close();
    }
    const total = pairs * 10_000;
    // The two batches' sizes (as kafka-dump-log shows them).
    const logBytes = pairs * (940_411 + 159_937);
    const proxy = await startProxy({ target: BROKER });
    try {
      const reader = new Reader({
        brokers: [proxy.address],
        topic,
        partition: 0,
      });
      let next = 0;
      for await (const batch of reader.batches()) {
        for (let i = 0; i < batch.length; i++) {
          assert.equal(batch.offset(i), next++);
        }
        if (next === total) break;
      }
      // 1.10 of the log; 1.77 before the Reader asked for batches alone.
      const fetched = proxy.stats.bytesToClient;
      assert.ok(
        fetched < logBytes * 1.25,
        `${fetched} bytes came for a log of ${logBytes}`,
      );
    } finally {
      await proxy.close();
    }
  });

  test("transport options carry TLS and SASL to every connection", async () => {
    const topic = await topicWith();
    await produce(topic, values(2));
    const caPath = process.env.KAFKA_CA_PEM ??
      new URL("../.kafka/certs/ca.pem", import.meta.url).pathname;
    const reader = new Reader({
      brokers: [process.env.KAFKA_SASL_SSL_BROKERS ?? "127.0.0.1:9096"],
      topic,
      transport: {
        clientId: "reader-test",
        tls: { ca: readFileSync(caPath, "utf8") },
        sasl: {
          mechanism: "SCRAM-SHA-512",
          username: "alice",
          password: "alice-secret",
        },
      },
    });
    assert.deepEqual((await take(reader, 2)).map((m) => decode(m.value)), [
      "m0",
      "m1",
    ]);
    assert.equal(reader.stats().clientId, "reader-test");
    await reader.close();
  });

  test("a partition the topic lacks errors the stream with a RangeError", async () => {
    const topic = await topicWith(1);
    const reader = open(topic, { partition: 3 });
    const names = (error: unknown) => {
      assert.ok(error instanceof RangeError);
      assert.equal(
        error.message,
        `Cannot read partition 3 of topic "${topic}": the topic has 1 partition`,
      );
      return true;
    };
    await assert.rejects(reader.readMessage(), names);
    await assert.rejects(reader.readLag(), /the Reader failed: Cannot read/);
    await reader.close();
    const other = open(topic, { partition: 3 });
    await assert.rejects(other.readLag(), names);
    await assert.rejects(other.setOffsetAt(new Date()), names);
    await other.close();
  });

  test("bad options are refused with the option and value named", () => {
    const ok = { brokers: [BROKER], topic: "t" };
    const cases: [unknown, RegExp, ErrorConstructor][] = [
      [
        { topic: "t" },
        /"brokers" must list at least one "host:port", got undefined/,
        TypeError,
      ],
      [
        { brokers: [], topic: "t" },
        /"brokers" must list at least one/,
        TypeError,
      ],
      [
        { brokers: [BROKER] },
        /"topic" must be a non-empty string, got undefined/,
        TypeError,
      ],
      [
        { ...ok, topic: "" },
        /"topic" must be a non-empty string, got ""/,
        TypeError,
      ],
      [
        { ...ok, rack: 3 as never },
        /^Cannot create Reader: "rack" must be a non-empty string, got 3 \(number\)$/,
        TypeError,
      ],
      [
        { ...ok, minBytes: 2000, maxBytes: 1000 },
        /^Cannot create Reader: "minBytes" \(2000\) must not exceed "maxBytes" \(1000\)$/,
        RangeError,
      ],
      [
        { ...ok, minBytes: 2_000_000 },
        /"minBytes" \(2000000\) must not exceed "maxBytes" \(1048576\)/,
        RangeError,
      ],
      [
        { ...ok, fetchMaxBytes: "16MB" },
        /"fetchMaxBytes" must be an integer from 1 to 2147483647, got "16MB" \(string\)/,
        TypeError,
      ],
      [
        { ...ok, groupId: "g", minBytes: 2000, fetchMaxBytes: 1000 },
        /^Cannot create Reader: "minBytes" \(2000\) must not exceed "fetchMaxBytes" \(1000\)$/,
        RangeError,
      ],
      [
        { ...ok, maxWait: -1 },
        /"maxWait" must be an integer from 1 to 2147483647, got -1/,
        RangeError,
      ],
      [
        { ...ok, maxBytes: 0 },
        /"maxBytes" must be an integer from 1/,
        RangeError,
      ],
      [
        { ...ok, partition: -1 },
        /"partition" must be an integer from 0 .*got -1/,
        RangeError,
      ],
      [{ ...ok, partition: 1.5 }, /"partition" .* got 1.5/, RangeError],
      [{ ...ok, queueCapacity: 0 }, /"queueCapacity" .* got 0/, RangeError],
      [{ ...ok, maxAttempts: 0 }, /"maxAttempts" .* got 0/, RangeError],
      [
        { ...ok, readLagInterval: -1 },
        /"readLagInterval" .* got -1/,
        RangeError,
      ],
      [{ ...ok, readBackoffMin: -5 }, /"readBackoffMin" .* got -5/, RangeError],
      [
        { ...ok, readBackoffMin: 2000, readBackoffMax: 1000 },
        /"readBackoffMin" \(2000\) must not exceed "readBackoffMax" \(1000\)/,
        RangeError,
      ],
      [
        { ...ok, isolationLevel: "dirty" },
        /"isolationLevel" must be "read_uncommitted" or "read_committed", got "dirty"/,
        RangeError,
      ],
      [
        { ...ok, startOffset: 5 },
        /"startOffset" must be FirstOffset \(-2\) or LastOffset \(-1\), got 5/,
        RangeError,
      ],
      [
        { ...ok, offsetOutOfRange: "wait" },
        /"offsetOutOfRange" must be "reset" or "error", got "wait"/,
        RangeError,
      ],
      [
        { ...ok, isolationLevel: 1 },
        /"isolationLevel" must be "read_uncommitted" or "read_committed", got 1/,
        TypeError,
      ],
      [
        { ...ok, startOffset: "first" },
        /"startOffset" must be FirstOffset \(-2\) or LastOffset \(-1\), got "first"/,
        TypeError,
      ],
      [
        { ...ok, groupId: "g", partition: 2 },
        /"partition" cannot be set with "groupId"/,
        TypeError,
      ],
      [
        { ...ok, groupId: "g", readLagInterval: 1000 },
        /: "readLagInterval" is not used in a group \(got 1000 \(number\)\): each partition's lag comes with its fetches \(stats\(\)\.partitions\)$/,
        TypeError,
      ],
      [
        { ...ok, logger: "console" },
        /"logger" must be a function, got "console" \(string\)/,
        TypeError,
      ],
      [
        { ...ok, copyValues: "yes" },
        /"copyValues" must be a boolean/,
        TypeError,
      ],
      [
        { ...ok, brokers: undefined, cluster: {} },
        /"cluster" must be a Cluster/,
        TypeError,
      ],
      [null, /options must be an object/, TypeError],
    ];
    for (const [options, message, type] of cases) {
      assert.throws(
        () => new Reader(options as ReaderOptions),
        (error) => {
          assert.ok(
            error instanceof type,
            `${JSON.stringify(options)}: ${error}`,
          );
          assert.match((error as Error).message, /^Cannot create Reader: /);
          assert.match((error as Error).message, message);
          return true;
        },
      );
    }
  });
});

describe("reader examples", () => {
  test("read from offset 42", async () => {
    const topic = uniqueTopic("seed-offset42");
    const messages = await readOffset42(BROKER, topic);
    assert.deepEqual(messages.map((m) => m.offset), [
      42,
      43,
      44,
      45,
      46,
      47,
      48,
      49,
    ]);
    assert.equal(decode(messages[0].value), "message 42");
    assert.equal(decode(messages[0].key), "Key-42");
  });

  test("read every message in a time range", async () => {
    const topic = uniqueTopic("seed-range");
    const start = Date.now() - 100_000;
    await produce(
      topic,
      Array.from({ length: 10 }, (_, i) => ({
        value: `at ${i}`,
        time: new Date(start + i * 10_000),
      })),
    );
    const got = await readTimeRange(
      BROKER,
      topic,
      new Date(start + 25_000),
      new Date(start + 60_000),
    );
    assert.deepEqual(got.map((m) => decode(m.value)), [
      "at 3",
      "at 4",
      "at 5",
      "at 6",
    ]);
    const none = await readTimeRange(
      BROKER,
      topic,
      new Date(start + 1_000_000),
      new Date(start + 2_000_000),
    );
    assert.deepEqual(none, []);
  });

  test("logging with logger and errorLogger", async () => {
    const topic = uniqueTopic("seed-logging");
    const lines: string[] = [];
    const messages = await readerLogging(BROKER, topic, (m) => lines.push(m));
    assert.deepEqual(messages.map((m) => decode(m.value)), [
      "one",
      "two",
      "three",
    ]);
    assert.ok(
      lines.some((l) =>
        /seeking partition 0 of .* to offset 9007199254740991/.test(l)
      ),
      lines.join("\n"),
    );
    assert.ok(
      lines.some((l) =>
        /out of range .* resetting to the first offset/.test(l)
      ),
      lines.join("\n"),
    );
    assert.ok(
      lines.some((l) => /closed partition 0 of/.test(l)),
      lines.join("\n"),
    );
  });
});
