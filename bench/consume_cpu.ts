/**
 * Client CPU per consumed message, for profiling the consume path:
 *
 *   deno run -A bench/consume_cpu.ts --messages N [--size B] --fill  # once
 *   deno run -A bench/consume_cpu.ts [--messages N] [--size B]
 *     [--mode stream|batches|batch-messages[,...]] [--rounds R]
 *     [--no-crc]
 *
 * `--fill` fills a one-partition topic with N messages of B bytes (100 by
 * default; at most 1,000,000, the broker's default record size limit) with
 * a Writer. Without it, one Reader reads them (a topic holding fewer is
 * refused) and it prints msgs/s and CPU ns per message (user + system of
 * this process during the read), and per value byte from 1 KiB up.
 *
 * `--rounds R` reads the topic R times in this one process, a new Reader
 * each time, cycling through the modes listed: the first read pays for
 * compiling the library's code, the later ones show the warm figures
 * (`--mode batches,stream --rounds 10`: each API warm, alternating).
 *
 * @module
 */

import process from "node:process";
import { dialLeader, Reader, Writer } from "../mod.ts";

const BROKER = process.env.KAFKA_BROKERS?.split(",")[0] ?? "127.0.0.1:9092";

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at < 0 ? fallback : process.argv[at + 1];
}

const total = Number(option("--messages", "1000000"));
const modes = option("--mode", "stream").split(",");
for (const mode of modes) {
  if (!["stream", "batches", "batch-messages"].includes(mode)) {
    console.error(
      `--mode ${mode}: expected stream, batches or batch-messages (or a comma-separated list)`,
    );
    process.exit(2);
  }
}
const rounds = Number(option("--rounds", "1"));
if (!(Number.isInteger(rounds) && rounds > 0)) {
  console.error(`--rounds ${rounds}: expected a whole number above 0`);
  process.exit(2);
}
const size = Number(option("--size", "100"));
if (!(Number.isInteger(size) && size > 0 && size <= 1_000_000)) {
  console.error(
    `--size ${size}: expected a whole number of bytes, 1 to 1000000`,
  );
  process.exit(2);
}
const topic = size === 100
  ? `consume-cpu-${total}`
  : `consume-cpu-${total}-${size}b`;

async function fill(): Promise<void> {
  const w = new Writer({
    brokers: [BROKER],
    topic,
    batchSize: 10_000,
    // A batch holds at least one value (the broker takes up to 1,048,588 B).
    batchBytes: Math.max(1_000_000, size + 4096),
    allowAutoTopicCreation: true,
  });
  const value = new Uint8Array(size).fill(120);
  // Calls of 10,000 messages, or of 16 MiB for large values.
  const call = Math.max(1, Math.min(10_000, Math.floor((16 << 20) / size)));
  for (let sent = 0; sent < total; sent += call) {
    const n = Math.min(call, total - sent);
    await w.writeMessages(Array.from({ length: n }, () => ({ value })));
  }
  await w.close();
}

if (process.argv.includes("--fill")) {
  await fill();
  console.log(`filled ${topic}`);
  process.exit(0);
}

// Reading a topic that holds fewer messages than asked would wait for
// the rest forever: say so instead.
const held = await messagesIn(topic);
if (held < total) {
  console.error(
    `${topic} holds ${held} messages, fewer than --messages ${total}: ` +
      `fill it first with --fill (same --messages and --size)`,
  );
  process.exit(1);
}

/** Messages in partition 0 of `topic`: 0 where it does not exist. */
async function messagesIn(topic: string): Promise<number> {
  try {
    const conn = await dialLeader(BROKER, topic, 0);
    try {
      return (await conn.readLastOffset()) - (await conn.readFirstOffset());
    } finally {
      conn.close();
    }
  } catch {
    return 0;
  }
}

/** One read of the topic with `mode`, printed as one line. */
async function readOnce(mode: string): Promise<void> {
  const reader = new Reader({
    brokers: [BROKER],
    topic,
    partition: 0,
    checkCrcs: !process.argv.includes("--no-crc"),
  });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  let bytes = 0;
  if (mode === "batches") {
    // By index: no object per message.
    for await (const batch of reader.batches()) {
      const count = Math.min(batch.length, total - n);
      for (let i = 0; i < count; i++) bytes += batch.value(i)!.length;
      n += count;
      if (n >= total) break;
    }
  } else if (mode === "batch-messages") {
    for await (const batch of reader.batches()) {
      for (const m of batch.messages) {
        bytes += m.value!.length;
        if (++n >= total) break;
      }
      if (n >= total) break;
    }
  } else {
    for await (const m of reader) {
      bytes += m.value!.length;
      if (++n >= total) break;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await reader.close();
  console.log(
    `${mode}: ${n} msgs in ${seconds.toFixed(2)} s = ${
      Math.round(n / seconds)
    } msgs/s, cpu ${
      Math.round((cpu.user + cpu.system) * 1000 / n)
    } ns/msg (user ${(cpu.user / 1e6).toFixed(2)} s, sys ${
      (cpu.system / 1e6).toFixed(2)
    } s), ${bytes} value bytes${
      size >= 1024
        ? `, ${((cpu.user + cpu.system) * 1000 / bytes).toFixed(2)} ns a byte`
        : ""
    }`,
  );
}

for (let round = 0; round < rounds; round++) {
  await readOnce(modes[round % modes.length]);
}
