/**
 * The soak: produce and consume in a consumer group on the three-node
 * cluster (tools/cluster.ts) while one node after another is restarted
 * (kill -9, then started again) every few minutes; at the end every
 * acknowledged message must have been read, and memory must not have grown
 * (the last third of the run peaks within 25% of the first third).
 *
 *   deno task soak [--minutes=30] [--every=5] [--rate=2000]
 *
 * Prints one line a minute (written, acknowledged, read, RSS, heap) and a
 * JSON summary; exits 1 when a message was lost or a write rejected.
 *
 * @module
 */

import { Reader, Writer } from "../mod.ts";
import {
  CLUSTER_BROKERS,
  clusterDown,
  clusterUp,
  killNode,
  NODES,
  startNode,
  waitServing,
} from "./cluster.ts";

function option(name: string, fallback: number): number {
  const arg = Deno.args.find((a) => a.startsWith(`--${name}=`));
  const value = arg === undefined ? fallback : Number(arg.split("=")[1]);
  if (!(value > 0)) throw new Error(`--${name} must be a positive number`);
  return value;
}

const minutes = option("minutes", 30);
const every = option("every", 5);
const rate = option("rate", 2000);
const text = new TextDecoder();

await clusterUp();
const topic = `soak-${Date.now().toString(36)}`;
const writer = new Writer({
  brokers: CLUSTER_BROKERS,
  topic,
  allowAutoTopicCreation: true,
  requiredAcks: "all",
});
const reader = new Reader({
  brokers: CLUSTER_BROKERS,
  topic,
  groupId: `${topic}-group`,
  sessionTimeout: 10_000,
  heartbeatInterval: 1000,
  commitInterval: 1000,
});

/** One bit per message number, so bookkeeping adds no memory per message. */
class Bits {
  #bytes = new Uint8Array(1 << 16);
  #count = 0;
  get size(): number {
    return this.#count;
  }
  has(n: number): boolean {
    return n >> 3 < this.#bytes.length &&
      (this.#bytes[n >> 3] & (1 << (n & 7))) !== 0;
  }
  add(n: number): void {
    while (n >> 3 >= this.#bytes.length) {
      const grown = new Uint8Array(this.#bytes.length * 2);
      grown.set(this.#bytes);
      this.#bytes = grown;
    }
    if (this.has(n)) return;
    this.#bytes[n >> 3] |= 1 << (n & 7);
    this.#count++;
  }
}

const acked = new Bits();
const read = new Bits();
let written = 0;
let rejected = 0;
let duplicates = 0;
let stopping = false;
const end = Date.now() + minutes * 60_000;

const writing = (async () => {
  const perTick = Math.max(1, Math.round(rate / 10));
  while (!stopping && Date.now() < end) {
    const from = written;
    const batch = Array.from({ length: perTick }, (_, i) => ({
      key: `${from + i}`,
      value: `${from + i}`,
    }));
    written += perTick;
    try {
      await writer.writeMessages(batch);
      for (let i = from; i < from + perTick; i++) acked.add(i);
    } catch {
      rejected += perTick;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
})();

const reading = (async () => {
  for (;;) {
    try {
      const m = await reader.readMessage();
      const value = Number(text.decode(m.value!));
      if (read.has(value)) duplicates++;
      read.add(value);
    } catch {
      if (stopping) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
})();

const started = Date.now();
let restarts = 0;
let next = 0;
const samples: { minute: number; rssMiB: number; heapMiB: number }[] = [];
while (Date.now() < end) {
  await new Promise((r) => setTimeout(r, 60_000));
  const minute = Math.round((Date.now() - started) / 60_000);
  const memory = Deno.memoryUsage();
  const sample = {
    minute,
    rssMiB: Math.round(memory.rss / 2 ** 20),
    heapMiB: Math.round(memory.heapUsed / 2 ** 20),
  };
  samples.push(sample);
  console.log(
    `min ${minute}: written ${written}, acked ${acked.size}, read ${read.size}, rejected ${rejected}, rss ${sample.rssMiB} MiB, heap ${sample.heapMiB} MiB`,
  );
  if (minute % every === 0 && Date.now() < end) {
    const node = NODES[next++ % NODES.length];
    console.log(`min ${minute}: kill -9 and restart node ${node}`);
    await killNode(node);
    await startNode(node);
    await waitServing(NODES.length);
    restarts++;
  }
}
stopping = true;
await writing;
// Let the group read what is left.
const missing = () => {
  let count = 0;
  for (let v = 0; v < written; v++) if (acked.has(v) && !read.has(v)) count++;
  return count;
};
const drain = Date.now() + 60_000;
while (missing() > 0 && Date.now() < drain) {
  await new Promise((r) => setTimeout(r, 500));
}
await reader.close();
await writer.close();
await reading;
const lost = missing();
// Memory is flat when the last third of the run peaks no higher than the
// first third after a minute of warm-up, give or take 25%.
const third = Math.max(1, Math.floor(samples.length / 3));
const early = samples.slice(1, 1 + third);
const late = samples.slice(-third);
const peak = (s: typeof samples, k: "rssMiB" | "heapMiB") =>
  Math.max(...s.map((x) => x[k]));
const flat = early.length > 0 &&
  peak(late, "rssMiB") <= peak(early, "rssMiB") * 1.25 &&
  peak(late, "heapMiB") <= peak(early, "heapMiB") * 1.25;
const summary = {
  minutes,
  restarts,
  written,
  acknowledged: acked.size,
  rejected,
  read: read.size,
  lost,
  duplicatesRead: duplicates,
  memoryFlat: flat,
  memory: samples,
};
console.log(JSON.stringify(summary));
await clusterDown();
Deno.exit(lost === 0 && rejected === 0 && flat ? 0 : 1);
