/**
 * `compressionLevel` (KIP-390's per-codec levels) on the Writer and the
 * Dialer: the level reaches the codec on every path (inline, and off the
 * main thread for large gzip batches), the broker accepts the batches and
 * they read back intact; bad levels fail at construction, naming the option,
 * the codec, the value and the range.
 */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  type Conn,
  dial,
  Dialer,
  type MessageInput,
  RoundRobin,
  Writer,
} from "../mod.ts";
import { type Codec, loadCodec, registerCodec } from "../codecs/mod.ts";
import {
  BROKER,
  jsonValue,
  noUnhandledRejections,
  readPartition,
  uniqueTopic,
} from "./_helpers.ts";

const text = new TextDecoder();

/** A 300-byte JSON-like value that compresses, numbered so it can be checked. */
const value = (i: number) => jsonValue(i, 300);

/**
 * Puts a codec in place of `id` that records the level of each call and
 * compresses with the real one; `restore` puts the real one back.
 */
async function spyOn(id: number) {
  const real = await loadCodec(id);
  const levels: (number | undefined)[] = [];
  let offThread = 0;
  const spy: Codec = {
    id: real.id,
    name: real.name,
    compress(data, level) {
      levels.push(level);
      return real.compress(data, level);
    },
    decompress: (data) => real.decompress(data),
    compressAsync: real.compressAsync &&
      ((data, level) => {
        levels.push(level);
        offThread++;
        return real.compressAsync!(data, level);
      }),
  };
  registerCodec(spy);
  return {
    levels,
    offThread: () => offThread,
    restore: () => registerCodec(real),
  };
}

async function readAll(topic: string, partitions: number) {
  const values = new Map<number, Uint8Array>();
  for (let p = 0; p < partitions; p++) {
    for (const m of await readPartition(topic, p)) {
      const n = Number(/^\{"n":(\d+),/.exec(text.decode(m.value!))![1]);
      values.set(n, m.value!);
    }
  }
  return values;
}

describe("compressionLevel", () => {
  let admin: Conn;
  before(async () => {
    admin = await dial(BROKER);
  });
  after(() => admin.close());

  for (
    const [codec, id, level] of [["gzip", 1, 1], ["gzip", 1, 9], [
      "zstd",
      4,
      19,
    ], ["zstd", 4, -3]] as const
  ) {
    test(`Writer, ${codec} level ${level}: every batch at that level, read back intact`, async () => {
      await noUnhandledRejections(async () => {
        const topic = uniqueTopic(`level-${codec}`);
        await admin.createTopics({
          topic,
          numPartitions: 3,
          replicationFactor: 1,
        });
        const spy = await spyOn(id);
        try {
          const writer = new Writer({
            brokers: [BROKER],
            topic,
            compression: codec,
            compressionLevel: level,
            batchSize: 5000,
            requiredAcks: "all",
            // Over all three partitions, so that there are several batches.
            balancer: new RoundRobin(),
          });
          // Small calls in flight, then one call whose batches pass 64 KiB
          // (gzip compresses those off the main thread).
          const calls: Promise<void>[] = [];
          for (let from = 0; from < 1000; from += 100) {
            const messages: MessageInput[] = [];
            for (let i = from; i < from + 100; i++) {
              messages.push({ value: value(i) });
            }
            calls.push(writer.writeMessages(messages));
          }
          await Promise.all(calls);
          const big: MessageInput[] = [];
          for (let i = 1000; i < 3000; i++) big.push({ value: value(i) });
          await writer.writeMessages(big);
          await writer.close();
        } finally {
          spy.restore();
        }
        assert.ok(spy.levels.length >= 3, `${spy.levels.length} batches`);
        assert.deepEqual(new Set(spy.levels), new Set([level]));
        if (codec === "gzip") {
          assert.ok(spy.offThread() > 0, "no batch compressed off-thread");
        }
        const read = await readAll(topic, 3);
        assert.equal(read.size, 3000);
        for (const [n, bytes] of read) assert.deepEqual(bytes, value(n));
      });
    });
  }

  test("Conn.writeMessages through a Dialer with compressionLevel", async () => {
    const topic = uniqueTopic("level-conn");
    await admin.createTopics({
      topic,
      numPartitions: 1,
      replicationFactor: 1,
    });
    const spy = await spyOn(1);
    const dialer = new Dialer({ compression: "gzip", compressionLevel: 2 });
    const conn = await dialer.dialLeader(BROKER, topic, 0);
    try {
      const messages: MessageInput[] = [];
      for (let i = 0; i < 200; i++) messages.push({ value: value(i) });
      await conn.writeMessages(...messages);
    } finally {
      conn.close();
      spy.restore();
    }
    assert.deepEqual(spy.levels, [2]);
    const read = await readAll(topic, 1);
    assert.equal(read.size, 200);
    for (const [n, bytes] of read) assert.deepEqual(bytes, value(n));
  });

  test("bad levels fail at construction, naming the option, codec, value and range", () => {
    const writer = (options: Record<string, unknown>) => () =>
      new Writer({ brokers: [BROKER], topic: "t", ...options });
    assert.throws(
      writer({ compressionLevel: 1 }),
      {
        name: "TypeError",
        message:
          'Cannot create Writer: "compressionLevel" applies to gzip (1 to 9) and zstd (-131072 to 22), but "compression" is "none"; leave compressionLevel out for none',
      },
    );
    for (const codec of ["lz4", "snappy"]) {
      assert.throws(writer({ compression: codec, compressionLevel: 9 }), {
        name: "TypeError",
        message: new RegExp(`"compression" is "${codec}"`),
      });
    }
    const cases: [string, unknown, string][] = [
      ["gzip", 0, "0"],
      ["gzip", 10, "10"],
      ["gzip", 1.5, "1.5"],
      ["gzip", "1", '"1" (string)'],
      ["zstd", 23, "23"],
      ["zstd", -131073, "-131073"],
      ["zstd", null, "null (object)"],
      ["zstd", Number.NaN, "NaN"],
    ];
    for (const [codec, level, shown] of cases) {
      const range = codec === "gzip"
        ? "1 to 9 (leave it out for the client's own deflate, about as small as level 6)"
        : "-131072 to 22 (default 3)";
      assert.throws(writer({ compression: codec, compressionLevel: level }), {
        name: typeof level === "number" ? "RangeError" : "TypeError",
        message:
          `Cannot create Writer: "compressionLevel" for ${codec} must be an integer from ${range}, got ${shown}`,
      });
    }
    assert.throws(
      () => new Dialer({ compression: "zstd", compressionLevel: 99 }),
      {
        name: "RangeError",
        message:
          'Cannot create Dialer: "compressionLevel" for zstd must be an integer from -131072 to 22 (default 3), got 99',
      },
    );
    // In range, and no level at all, are fine.
    new Dialer({ compression: "gzip", compressionLevel: 9 });
    new Dialer({ compression: "lz4" });
  });
});
