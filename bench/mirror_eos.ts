/**
 * What exactly-once costs a mirror: `reader.pipeTo(writer)` from a group
 * Reader into a plain Writer (at least once: the group commits what the
 * Writer acknowledged) and into a transactional one (the pipe commits a
 * transaction with the group's offsets every 100 ms), in turns, on the
 * same broker in the same run:
 *
 *   deno run -A bench/mirror_eos.ts [--messages N] [--rounds R]
 *
 * N messages of 100 B over 6 partitions are written once; each pipe reads
 * them all with a new group and is timed until the group's committed
 * offsets (read with requireStable) reach the end. CPU is user + system of
 * this process over that time.
 *
 * @module
 */

import process from "node:process";
import { Client, FirstOffset, Reader, Writer } from "../mod.ts";

const BROKER = process.env.KAFKA_BROKERS?.split(",")[0] ?? "127.0.0.1:9092";

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
}

const MESSAGES = option("--messages", 1_000_000);
const ROUNDS = option("--rounds", 3);
const PARTITIONS = 6;

interface Timed {
  ms: number;
  cpuUs: number;
}

async function newTopic(client: Client, name: string): Promise<string> {
  const topic = `${name}-${Date.now()}`;
  const [created] = await client.createTopics([{
    topic,
    numPartitions: PARTITIONS,
  }]);
  if (created.error) throw created.error;
  return topic;
}

async function fill(topic: string): Promise<number[]> {
  const w = new Writer({ brokers: [BROKER], topic, batchSize: 10_000 });
  const value = new Uint8Array(100).fill(120);
  for (let sent = 0; sent < MESSAGES; sent += 10_000) {
    await w.writeMessages(
      Array.from({ length: 10_000 }, (_, i) => ({ key: `${sent + i}`, value })),
    );
  }
  await w.close();
  const client = new Client({ brokers: [BROKER] });
  try {
    const ends = await client.listOffsets(
      Array.from({ length: PARTITIONS }, (_, partition) => ({
        topic,
        partition,
      })),
    );
    return ends.map((e) => e.offset);
  } finally {
    await client.close();
  }
}

async function mirror(
  client: Client,
  source: string,
  ends: number[],
  transactional: boolean,
): Promise<Timed> {
  const target = await newTopic(client, transactional ? "eos-out" : "alo-out");
  const groupId = `${target}-group`;
  const reader = new Reader({
    brokers: [BROKER],
    groupId,
    groupTopics: [source],
    startOffset: FirstOffset,
  });
  const writer = new Writer({
    brokers: [BROKER],
    topic: target,
    ...(transactional ? { transactionalId: target } : {}),
  });
  const list = ends.map((_, partition) => ({ topic: source, partition }));
  const stop = new AbortController();
  const start = performance.now();
  const cpu = process.cpuUsage();
  const piped = reader.pipeTo(writer, {
    signal: stop.signal,
    preventAbort: true,
  }).catch((error) => {
    if (!stop.signal.aborted) throw error;
  });
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const offsets = await client.offsetFetch(groupId, list, {
      requireStable: true,
    });

    if (offsets.every((o, i) => o.offset === ends[i])) break;
  }
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  stop.abort();
  await piped;
  await Promise.all([reader.close(), writer.close()]);
  return { ms, cpuUs: used.user + used.system };
}

function line(name: string, t: Timed): string {
  return `${name.padEnd(16)} ${
    Math.round(MESSAGES / t.ms * 1000).toString().padStart(9)
  } msgs/s  ${
    Math.round(t.cpuUs * 1000 / MESSAGES).toString().padStart(6)
  } ns CPU/msg`;
}

const client = new Client({ brokers: [BROKER] });
try {
  const source = await newTopic(client, "eos-in");
  const ends = await fill(source);
  console.log(`${MESSAGES} messages of 100 B over ${PARTITIONS} partitions`);
  for (let round = 1; round <= ROUNDS; round++) {
    const plain = await mirror(client, source, ends, false);
    const eos = await mirror(client, source, ends, true);
    console.log(`round ${round}`);
    console.log(line("at least once", plain));
    console.log(line("exactly once", eos));
    console.log(
      `${"".padEnd(16)} exactly ÷ at least once: ${
        (plain.ms / eos.ms).toFixed(2)
      }× the msgs/s, ${
        (eos.cpuUs / plain.cpuUs).toFixed(2)
      }× the CPU per message`,
    );
  }
} finally {
  await client.close();
}
