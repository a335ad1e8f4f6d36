/**
 * Reader throughput and memory against the real broker.
 *
 *   deno run -A bench/reader_bench.ts [--messages N] [--queue-capacity N]
 *   bun run bench/reader_bench.ts     [--messages N] [--queue-capacity N]
 *   deno run -A bench/reader_bench.ts --slow [--slow-messages N]
 *
 * Throughput: reads N (default 1,000,000) pre-produced 100-byte messages from
 * one partition with one Reader (through `for await`, then through
 * `readMessage`), and from 6 partitions with 6 Readers at once; prints
 * messages/s, MB/s of values and the peak RSS of the process.
 *
 * --slow: the memory bound under a slow consumer. One Reader with default
 * options over the 1-partition topic, the consumer awaiting 1 ms per
 * message (about 17 minutes for 1,000,000); prints the peak RSS, the peak
 * growth of live memory (heap plus buffers, sampled after a full garbage
 * collection every 10,000 messages) and the longest the Reader's queue got.
 *
 * The topics are named after N and filled once (Writer, batchSize 10000);
 * later runs, under either runtime, read the same data.
 *
 * @module
 */

import process from "node:process";
import v8 from "node:v8";
import vm from "node:vm";
import { dial, dialLeader } from "../lib/conn/conn.ts";
import { Reader } from "../lib/consumer/reader.ts";
import { Writer } from "../lib/producer/writer.ts";

const BROKER = process.env.KAFKA_BROKERS?.split(",")[0] ?? "127.0.0.1:9092";
const RUNTIME = "Bun" in globalThis ? "bun" : "deno";
const VALUE_SIZE = 100;

function flag(name: string): boolean {
  return process.argv.includes(name);
}

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
}

/** Samples RSS and heap every 50 ms and keeps the peaks. */
class MemoryPeaks {
  rss = 0;
  heap = 0;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor() {
    this.sample();
    this.timer = setInterval(() => this.sample(), 50);
  }

  sample(): void {
    const usage = process.memoryUsage();
    this.rss = Math.max(this.rss, usage.rss);
    this.heap = Math.max(this.heap, usage.heapUsed);
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

async function partitionEnds(topic: string, count: number): Promise<number[]> {
  const ends: number[] = [];
  for (let p = 0; p < count; p++) {
    const conn = await dialLeader(BROKER, topic, p);
    try {
      ends.push(await conn.readLastOffset());
    } finally {
      conn.close();
    }
  }
  return ends;
}

/** Creates and fills the topic unless an earlier run did. */
async function ensureTopic(
  topic: string,
  partitions: number,
  total: number,
): Promise<number[]> {
  const admin = await dial(BROKER);
  try {
    const known = await admin.readPartitions().then((all) =>
      all.some((p) => p.topic === topic)
    );
    if (!known) {
      await admin.createTopics({
        topic,
        numPartitions: partitions,
        replicationFactor: 1,
      });
    }
  } finally {
    admin.close();
  }
  const ends = await partitionEnds(topic, partitions);
  const missing = total - ends.reduce((a, b) => a + b, 0);
  if (missing <= 0) return ends;
  console.log(`producing ${missing} messages to ${topic}...`);
  const started = performance.now();
  const w = new Writer({ brokers: [BROKER], topic, batchSize: 10_000 });
  const value = new Uint8Array(VALUE_SIZE).fill(120);
  const chunk = 10_000;
  for (let sent = 0; sent < missing; sent += chunk) {
    const n = Math.min(chunk, missing - sent);
    await w.writeMessages(Array.from({ length: n }, () => ({ value })));
  }
  await w.close();
  console.log(
    `  produced in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  return await partitionEnds(topic, partitions);
}

interface Result {
  messages: number;
  bytes: number;
  seconds: number;
}

async function readWithStream(
  topic: string,
  partition: number,
  count: number,
): Promise<Result> {
  const reader = new Reader({
    brokers: [BROKER],
    topic,
    partition,
    queueCapacity: option("--queue-capacity", 100),
  });
  const started = performance.now();
  let messages = 0;
  let bytes = 0;
  if (count > 0) {
    for await (const m of reader) {
      messages++;
      bytes += m.value?.length ?? 0;
      if (messages === count) break;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  await reader.close();
  return { messages, bytes, seconds };
}

async function readWithReadMessage(
  topic: string,
  count: number,
): Promise<Result> {
  const reader = new Reader({
    brokers: [BROKER],
    topic,
    queueCapacity: option("--queue-capacity", 100),
  });
  const started = performance.now();
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    bytes += (await reader.readMessage()).value?.length ?? 0;
  }
  const seconds = (performance.now() - started) / 1000;
  await reader.close();
  return { messages: count, bytes, seconds };
}

function report(name: string, result: Result, peaks: MemoryPeaks): void {
  const rate = result.messages / result.seconds;
  console.log(
    `${RUNTIME} ${name}: ${result.messages} messages in ${
      result.seconds.toFixed(2)
    } s = ${Math.round(rate).toLocaleString("en-US")} msg/s, ${
      mb(result.bytes / result.seconds)
    } MB/s, peak RSS ${mb(peaks.rss)} MB`,
  );
}

async function throughput(total: number): Promise<void> {
  const one = `bench-reader-1p-${total}`;
  const six = `bench-reader-6p-${total}`;
  await ensureTopic(one, 1, total);
  const ends = await ensureTopic(six, 6, total);

  let peaks = new MemoryPeaks();
  const stream = await readWithStream(one, 0, total);
  peaks.stop();
  report("1 partition, for await", stream, peaks);

  peaks = new MemoryPeaks();
  const single = await readWithReadMessage(one, total);
  peaks.stop();
  report("1 partition, readMessage", single, peaks);

  peaks = new MemoryPeaks();
  const started = performance.now();
  const parts = await Promise.all(
    ends.map((end, p) => readWithStream(six, p, end)),
  );
  const seconds = (performance.now() - started) / 1000;
  peaks.stop();
  report("6 partitions, 6 readers", {
    messages: parts.reduce((n, r) => n + r.messages, 0),
    bytes: parts.reduce((n, r) => n + r.bytes, 0),
    seconds,
  }, peaks);
}

/** A full garbage collection (Bun.gc, or V8's gc exposed late). */
function collector(): () => void {
  const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
  if (bun) return () => bun.gc(true);
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
}

/** Heap plus buffers still referenced, measured after a full collection. */
function liveBytes(gc: () => void): number {
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

async function slowConsumer(total: number): Promise<void> {
  const topic = `bench-reader-1p-${total}`;
  await ensureTopic(topic, 1, total);
  const gc = collector();
  const reader = new Reader({ brokers: [BROKER], topic });
  const liveBefore = liveBytes(gc);
  const rssBefore = process.memoryUsage().rss;
  let livePeak = liveBefore;
  const peaks = new MemoryPeaks();
  let peakQueue = 0;
  const started = performance.now();
  let read = 0;
  for await (const _ of reader) {
    // 1 ms per message on average: timers fire late (Deno's by about a
    // millisecond), so sleep only while ahead of that schedule.
    const ahead = started + read - performance.now();
    if (ahead > 0) await new Promise((resolve) => setTimeout(resolve, ahead));
    if (++read % 1000 === 0) {
      peakQueue = Math.max(peakQueue, reader.stats().queueLength);
    }
    if (read % 10_000 === 0) livePeak = Math.max(livePeak, liveBytes(gc));
    if (read % 100_000 === 0) {
      console.log(
        `  ${read} read, RSS ${mb(process.memoryUsage().rss)} MB, peak ${
          mb(peaks.rss)
        } MB, live growth peak ${mb(livePeak - liveBefore)} MB`,
      );
    }
    if (read === total) break;
  }
  peaks.stop();
  const minutes = (performance.now() - started) / 60_000;
  console.log(
    `${RUNTIME} slow consumer (1 ms per message): ${read} messages in ${
      minutes.toFixed(1)
    } min; RSS ${mb(rssBefore)} MB before, peak ${
      mb(peaks.rss)
    } MB; live memory (heap + buffers after GC) grew by at most ${
      mb(livePeak - liveBefore)
    } MB; longest queue ${peakQueue} messages`,
  );
}

const total = option("--messages", 1_000_000);
if (flag("--slow")) await slowConsumer(option("--slow-messages", total));
else await throughput(total);
