/**
 * Compressed produce in one process, repeated, with where the time goes: the
 * benchmark's produce workload (1 KiB JSON values, 6 partitions, acks=1,
 * batches of up to 10,000 messages or 1 MB, array calls of 976 messages with
 * 5 in flight), run `--runs` times per codec on fresh topics. Per run it
 * prints msgs/s, the client's CPU per message, the broker's CPU per message
 * (from /proc, when the broker on 9092 is a local process), the time spent in
 * `compress`, and the Writer's batches and requests.
 *
 *     deno run -A bench/compression_bench.ts [--codecs=gzip,lz4] [--runs=5]
 *       [--messages=50000] [--size=1024] [--partitions=6] [--cold] [--reuse]
 *       [--connections=2]
 *     bun bench/compression_bench.ts ...
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { execSync } from "node:child_process";
import process from "node:process";
import { parseArgs } from "node:util";
import { dial, Writer } from "../mod.ts";
import { type Codec, loadCodec, registerCodec } from "../codecs/mod.ts";
import { compressionId } from "../codecs/mod.ts";

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    codecs: { type: "string", default: "gzip,snappy,lz4,zstd" },
    runs: { type: "string", default: "3" },
    messages: { type: "string", default: "50000" },
    size: { type: "string", default: "1024" },
    partitions: { type: "string", default: "6" },
    broker: { type: "string", default: "127.0.0.1:9092" },
    window: { type: "string", default: "5" },
    values: { type: "string", default: "json" },
    cold: { type: "boolean", default: false },
    reuse: { type: "boolean", default: false },
    connections: { type: "string", default: "2" },
  },
});

const BROKER = args.broker!;
const MESSAGES = Number(args.messages);
const SIZE = Number(args.size);
const PARTITIONS = Number(args.partitions);
const WINDOW = Number(args.window);
const BATCH_BYTES = 1_000_000;
const BATCH_MESSAGES = 10_000;
const CHUNK = Math.max(
  1,
  Math.min(BATCH_MESSAGES, Math.floor(BATCH_BYTES / SIZE)),
);

const runtime = "Bun" in globalThis ? "bun" : "deno";

/** 1000 distinct JSON-like values of SIZE bytes, seeded (like bench/_data.ts's kind). */
function jsonValues(): Uint8Array[] {
  let seed = 7;
  const next = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const words = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "user",
    "order",
    "item",
    "price",
    "status",
    "created",
    "updated",
    "region",
    "eu-west-1",
    "active",
    "pending",
    "shipped",
    "true",
    "false",
    "null",
    "quantity",
  ];
  const encoder = new TextEncoder();
  const out: Uint8Array[] = [];
  for (let n = 0; n < 1000; n++) {
    let s = `{"id":${Math.floor(next() * 1e9)},"ts":${1700000000000 + n}`;
    while (s.length < SIZE) {
      const k = words[Math.floor(next() * words.length)];
      const v = next() < 0.5
        ? `"${words[Math.floor(next() * words.length)]}"`
        : String(Math.floor(next() * 100000));
      s += `,"${k}":${v}`;
    }
    const bytes = encoder.encode(s.slice(0, SIZE - 1) + "}");
    out.push(bytes);
  }
  return out;
}

function randomValues(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let n = 0; n < 1000; n++) {
    const v = new Uint8Array(SIZE);
    crypto.getRandomValues(v);
    out.push(v);
  }
  return out;
}

/** The bench's own values file when it is there, else our own. */
function loadValues(): Uint8Array[] {
  const kind = args.values === "random" ? "random" : "json";
  try {
    const path = new URL(`./.data/values-${kind}-${SIZE}.txt`, import.meta.url);
    const file = readFileSync(path);
    const bytes = new Uint8Array(file.buffer, file.byteOffset, file.length);
    const values: Uint8Array[] = [];
    for (let at = 0; at + SIZE <= bytes.length; at += SIZE + 1) {
      values.push(bytes.subarray(at, at + SIZE));
    }
    if (values.length) return values;
  } catch {
    // fall through
  }
  return kind === "random" ? randomValues() : jsonValues();
}

function brokerPid(): number | undefined {
  try {
    const port = BROKER.split(":").pop();
    const out = execSync("ss -ltnp", { encoding: "utf8" });
    const line = out.split("\n").find((l) => l.includes(`:${port} `));
    const m = line?.match(/pid=(\d+)/);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds of a process (user + system), from /proc. */
function procCpu(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** CPU seconds all processes used (from /proc/stat), or NaN. */
function totalCpu(): number {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / 100;
  } catch {
    return NaN;
  }
}

/** The process's peak RSS so far in MiB (VmHWM), or NaN off Linux. */
function peakRss(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(
      readFileSync("/proc/self/status", "utf8"),
    );
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

function ownCpu(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** Wraps the codec so that compress calls are counted and timed. */
async function timedCodec(id: number) {
  const codec = await loadCodec(id);
  const timing = { calls: 0, ms: 0, bytesIn: 0, bytesOut: 0 };
  const wrapped: Codec = {
    ...codec,
    compress(data) {
      const start = performance.now();
      const out = codec.compress(data);
      timing.ms += performance.now() - start;
      timing.calls++;
      timing.bytesIn += data.length;
      timing.bytesOut += out.length;
      return out;
    },
  };
  registerCodec(wrapped);
  return { timing, restore: () => registerCodec(codec) };
}

async function createTopic(topic: string): Promise<void> {
  const conn = await dial(BROKER);
  try {
    await conn.createTopics({
      topic,
      numPartitions: PARTITIONS,
      replicationFactor: 1,
    });
  } finally {
    conn.close();
  }
}

async function deleteTopic(topic: string): Promise<void> {
  const conn = await dial(BROKER);
  try {
    await conn.deleteTopics(topic).catch(() => {});
  } finally {
    conn.close();
  }
}

async function feed(
  send: (from: number, to: number) => Promise<unknown>,
): Promise<void> {
  const pending = new Set<Promise<unknown>>();
  for (let from = 0; from < MESSAGES; from += CHUNK) {
    const call: Promise<unknown> = send(from, Math.min(MESSAGES, from + CHUNK))
      .finally(() => pending.delete(call));
    pending.add(call);
    if (pending.size >= WINDOW) await Promise.race(pending);
  }
  await Promise.all(pending);
}

/** With --reuse, one topic per codec for all its runs (created once). */
const reused = new Map<string, string>();

async function run(codecName: string, values: Uint8Array[], pid?: number) {
  let topic = reused.get(codecName);
  const fresh = topic === undefined;
  topic ??= `compbench-${codecName}-${Date.now()}-${
    Math.floor(Math.random() * 1e6)
  }`;
  if (fresh) await createTopic(topic);
  if (args.reuse) reused.set(codecName, topic);

  const coldStart = performance.now();
  const id = compressionId(codecName as "gzip");
  const timed = id === 0 ? undefined : await timedCodec(id);
  const writer = new Writer({
    brokers: [BROKER],
    topic,
    batchSize: BATCH_MESSAGES,
    batchBytes: BATCH_BYTES,
    batchTimeout: 5,
    requiredAcks: "one",
    compression: codecName as "gzip",
    connectionsPerBroker: Number(args.connections),
  });
  // Warm: metadata and the connection, outside the clock (unless --cold,
  // which times it all, as bench/main.ts does with a fresh process per run).
  if (!args.cold) {
    await writer.writeMessages({ value: values[0] });
    writer.stats();
  }
  const cpu0 = args.cold ? 0 : ownCpu();
  const broker0 = procCpu(pid);
  const total0 = totalCpu();
  const start = args.cold ? coldStart : performance.now();
  await feed((from, to) => {
    const messages = new Array(to - from);
    for (let i = from; i < to; i++) {
      messages[i - from] = { value: values[i % values.length] };
    }
    return writer.writeMessages(messages);
  });
  const stats = writer.stats();
  await writer.close();
  const seconds = (performance.now() - start) / 1000;
  const cpu = ownCpu() - cpu0;
  const broker = procCpu(pid) - broker0;
  const others = totalCpu() - total0 - broker -
    (ownCpu() - (args.cold ? 0 : cpu0));
  timed?.restore();
  if (!args.reuse) await deleteTopic(topic);
  return {
    msgsPerS: MESSAGES / seconds,
    seconds,
    cpuUsPerMsg: (cpu / MESSAGES) * 1e6,
    brokerUsPerMsg: (broker / MESSAGES) * 1e6,
    compressMs: timed?.timing.ms ?? 0,
    compressCalls: timed?.timing.calls ?? 0,
    ratio: timed ? timed.timing.bytesIn / timed.timing.bytesOut : 1,
    batches: stats.batches,
    requests: stats.requests,
    avgBatch: stats.batchSize.avg,
    otherCores: others / seconds,
    peakRss: peakRss(),
  };
}

const values = loadValues();
const pid = brokerPid();
const runs = Number(args.runs);
console.log(
  `${runtime}: ${MESSAGES} x ${SIZE} B ${args.values}, ${PARTITIONS} partitions, calls of ${CHUNK}, ${WINDOW} in flight, broker pid ${
    pid ?? "?"
  }`,
);
console.log(
  "codec   msgs/s  wall s  cpu us/msg  broker us/msg  compress ms (calls)  ratio  batches  requests  avg batch  peak RSS MiB  other cores",
);
for (const codec of args.codecs!.split(",")) {
  const rows = [];
  for (let r = 0; r < runs; r++) {
    const row = await run(codec, values, pid);
    rows.push(row);
    console.log(
      `${codec.padEnd(6)} ${(row.msgsPerS / 1000).toFixed(1).padStart(6)}k ${
        row.seconds.toFixed(3).padStart(6)
      } ${row.cpuUsPerMsg.toFixed(2).padStart(10)} ${
        row.brokerUsPerMsg.toFixed(2).padStart(13)
      } ${row.compressMs.toFixed(0).padStart(12)} (${row.compressCalls}) ${
        row.ratio.toFixed(2).padStart(6)
      } ${String(row.batches).padStart(8)} ${
        String(row.requests).padStart(9)
      } ${row.avgBatch.toFixed(0).padStart(10)} ${
        row.peakRss.toFixed(0).padStart(13)
      } ${row.otherCores.toFixed(2).padStart(12)}`,
    );
  }
  const kept = reused.get(codec);
  if (kept) await deleteTopic(kept);
  const sorted = rows.map((r) => r.msgsPerS).sort((a, b) => a - b);
  console.log(
    `${codec.padEnd(6)} median ${
      (sorted[sorted.length >> 1] / 1000).toFixed(1)
    }k msgs/s, cpu ${
      (rows.reduce((s, r) => s + r.cpuUsPerMsg, 0) / rows.length).toFixed(2)
    } us/msg`,
  );
}
