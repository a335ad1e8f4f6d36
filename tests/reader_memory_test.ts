/**
 * The Reader's memory stays bounded behind a slow consumer.
 *
 * The bound, from the prefetch rule in lib/consumer/reader.ts: the next Fetch goes
 * out only while fewer than queueCapacity messages and fewer than maxBytes
 * bytes wait, so at most 2 × maxBytes of fetched records are held, decoded
 * into at most queueCapacity + (messages in one response) Record objects.
 * With the defaults (maxBytes 1 MiB, queueCapacity 100) and 100-byte values,
 * one response holds about 8,900 records, so the Reader holds about
 * 2 MiB of buffers and about 9,000 records of a few hundred bytes each:
 * under 8 MiB. The test allows 24 MiB of live growth (heap plus buffers,
 * measured after a full garbage collection), which leaves room for the
 * runtimes' own buffers and still fails clearly if the Reader fetched ahead
 * without bound: the 200,000 messages below take about 23 MB on the wire and
 * about 80 MB once decoded.
 *
 * bench/reader_bench.ts --slow runs the full 1,000,000 messages × 1 ms.
 */

import assert from "node:assert/strict";
import process from "node:process";
import v8 from "node:v8";
import vm from "node:vm";
import { describe, test } from "node:test";
import { dial, dialLeader } from "../lib/conn/conn.ts";
import { Reader } from "../lib/consumer/reader.ts";
import { BROKER, sleep, uniqueTopic } from "./_helpers.ts";

const MESSAGES = 200_000;
const SLOW_MESSAGES = 2_000;
const MAX_BYTES = 1024 * 1024;
const QUEUE_CAPACITY = 100;
/** Allowed growth of live memory while reading (see above). */
const BOUND = 24 * 1024 * 1024;

/** A full garbage collection, so samples count live memory only. */
function collector(): () => void {
  const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
  if (bun) return () => bun.gc(true);
  // V8 hides gc() unless asked at startup; this asks later, for tests only.
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
}

function liveBytes(gc: () => void): number {
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

async function fill(topic: string): Promise<void> {
  const admin = await dial(BROKER);
  try {
    await admin.createTopics({ topic, numPartitions: 1, replicationFactor: 1 });
  } finally {
    admin.close();
  }
  const conn = await dialLeader(BROKER, topic, 0);
  try {
    const value = new Uint8Array(100).fill(97);
    // 5,000 records of 100 bytes stay under the broker's 1 MB batch limit.
    const batch = Array.from({ length: 5_000 }, () => ({ value }));
    for (let sent = 0; sent < MESSAGES; sent += batch.length) {
      await conn.writeMessages(...batch);
    }
  } finally {
    conn.close();
  }
}

describe("Reader memory", () => {
  test(`a slow consumer over ${MESSAGES} messages keeps live memory bounded`, async () => {
    const topic = uniqueTopic("reader-memory");
    await fill(topic);
    const gc = collector();
    const reader = new Reader({
      brokers: [BROKER],
      topic,
      maxBytes: MAX_BYTES,
      queueCapacity: QUEUE_CAPACITY,
    });
    const before = liveBytes(gc);
    let peak = before;
    let peakQueue = 0;
    let read = 0;
    for await (const m of reader) {
      assert.equal(m.offset, read);
      read++;
      // Slow first: the fetch loop has all the time it wants to run ahead.
      if (read <= SLOW_MESSAGES) await sleep(1);
      const every = read <= SLOW_MESSAGES ? 250 : 10_000;
      if (read % every === 0) {
        peak = Math.max(peak, liveBytes(gc));
        peakQueue = Math.max(peakQueue, reader.stats().queueLength);
      }
      if (read === MESSAGES) break;
    }
    const growth = peak - before;
    const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
    console.log(
      `live memory grew by ${mib(growth)} MiB (bound ${
        mib(BOUND)
      } MiB); longest queue ${peakQueue} messages`,
    );
    assert.equal(read, MESSAGES);
    assert.ok(growth < BOUND, `grew by ${mib(growth)} MiB`);
    // One response of 100-byte messages holds under 10,000 of them.
    assert.ok(peakQueue < QUEUE_CAPACITY + 10_000, `queue of ${peakQueue}`);
  });
});
