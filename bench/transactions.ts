/**
 * Transactions per second and client CPU per message of the transactional
 * Writer against kafkajs's transactional producer (Node), on the same
 * broker in the same run:
 *
 *   deno run -A bench/transactions.ts [--txns N] [--rounds R]
 *
 * Each transaction writes `perTxn` 100 B messages (keys 0..perTxn-1) over
 * a 3-partition topic and commits; one transaction warms up, then N are
 * timed. Sizes: 1,000 and 10 messages per transaction. CPU is user +
 * system of the client's process during the timed transactions.
 *
 * @module
 */

import process from "node:process";
import { Client, Writer } from "../mod.ts";

const BROKER = process.env.KAFKA_BROKERS?.split(",")[0] ?? "127.0.0.1:9092";

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
}

const TXNS = option("--txns", 200);
const ROUNDS = option("--rounds", 2);

interface Timed {
  ms: number;
  cpuUs: number;
}

async function newTopic(client: Client, name: string): Promise<string> {
  const topic = `${name}-${Date.now()}`;
  const [created] = await client.createTopics([{ topic, numPartitions: 3 }]);
  if (created.error) throw created.error;
  return topic;
}

async function ours(topic: string, perTxn: number): Promise<Timed> {
  const w = new Writer({ brokers: [BROKER], topic, transactionalId: topic });
  const value = new Uint8Array(100).fill(120);
  const messages = Array.from({ length: perTxn }, (_, i) => ({
    key: `${i}`,
    value,
  }));
  const once = () => w.transaction(() => w.writeMessages(messages));
  try {
    await once();
    const start = performance.now();
    const cpu = process.cpuUsage();
    for (let t = 0; t < TXNS; t++) await once();
    const ms = performance.now() - start;
    const used = process.cpuUsage(cpu);
    return { ms, cpuUs: used.user + used.system };
  } finally {
    await w.close();
  }
}

async function kafkajs(topic: string, perTxn: number): Promise<Timed> {
  const node = process.env.NODE ?? "node";
  const script = new URL("./clients/kafkajs_txn.ts", import.meta.url);
  const { code, stdout, stderr } = await new Deno.Command(node, {
    args: [
      script.pathname,
      BROKER,
      topic,
      String(perTxn),
      String(TXNS),
    ],
    cwd: new URL(".", import.meta.url).pathname,
  }).output();
  if (code !== 0) {
    throw new Error(`kafkajs failed: ${new TextDecoder().decode(stderr)}`);
  }
  return JSON.parse(
    new TextDecoder().decode(stdout).trim().split("\n").at(-1)!,
  );
}

function line(name: string, perTxn: number, t: Timed): string {
  const messages = TXNS * perTxn;
  return `${name.padEnd(12)} ${String(perTxn).padStart(5)} msgs/txn  ${
    (t.ms / TXNS).toFixed(2).padStart(7)
  } ms/txn  ${
    Math.round(messages / t.ms * 1000).toString().padStart(8)
  } msgs/s  ${
    Math.round(t.cpuUs * 1000 / messages).toString().padStart(7)
  } ns CPU/msg`;
}

const client = new Client({ brokers: [BROKER] });
try {
  for (let round = 1; round <= ROUNDS; round++) {
    console.log(`round ${round}, ${TXNS} transactions each`);
    for (const perTxn of [1000, 10]) {
      const a = await ours(await newTopic(client, "txn-ours"), perTxn);
      const b = await kafkajs(await newTopic(client, "txn-kafkajs"), perTxn);
      console.log(line("streamkafka", perTxn, a));
      console.log(line("kafkajs", perTxn, b));
      console.log(
        `${"".padEnd(12)} ours ÷ kafkajs: ${
          (b.ms / a.ms).toFixed(1)
        }× the transactions per second, ${
          (a.cpuUs / b.cpuUs).toFixed(2)
        }× the CPU per message`,
      );
    }
  }
} finally {
  await client.close();
}
