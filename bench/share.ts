/**
 * Share groups (KIP-932): a ShareReader against Kafka's own share consumer
 * (`ShareConsumerPerformance` from kafka-tools), on the same broker in the
 * same run, in turns:
 *
 *   deno run -A bench/share.ts [--messages N] [--rounds R] [--runtimes deno,bun,node]
 *
 * N messages of 100 B over 6 partitions are written once; each client reads
 * them all as the only member of a new share group that starts at the
 * beginning (`share.auto.offset.reset=earliest`), accepting each record
 * (ours: implicitly, Java's: its default implicit mode). msgs/s is each
 * client's own count over its own time from its first record to its last
 * (ShareConsumerPerformance: from the end of its first reporting interval,
 * which the first record ends, as joining takes 5 s); CPU is the
 * whole process's user + system time over N, start-up included, as in
 * bench/main.ts.
 *
 * @module
 */

import process from "node:process";
import { join } from "node:path";
import { Client, Writer } from "../mod.ts";
import { spawn } from "./_spawn.ts";

const BROKER = process.env.KAFKA_BROKERS?.split(",")[0] ?? "127.0.0.1:9092";
const ROOT = new URL("..", import.meta.url).pathname;

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at < 0 ? fallback : process.argv[at + 1];
}

const MESSAGES = Number(option("--messages", "500000"));
const ROUNDS = Number(option("--rounds", "3"));
const RUNTIMES = option("--runtimes", "deno").split(",");
const PARTITIONS = 6;
const KAFKA_VERSION = process.env.KAFKA_VERSION || "4.4.0";

const client = new Client({ brokers: [BROKER] });
const topic = `bench-share-${Date.now()}`;
await client.createTopics([{ topic, numPartitions: PARTITIONS }]);
const writer = new Writer({ brokers: [BROKER], topic, batchSize: 10_000 });
const value = new Uint8Array(100).fill(120);
for (let i = 0; i < MESSAGES; i += 10_000) {
  await writer.writeMessages(
    Array.from({ length: Math.min(10_000, MESSAGES - i) }, () => ({ value })),
  );
}
await writer.close();

async function newGroup(name: string): Promise<string> {
  const groupId = `bench-share-${name}-${Date.now()}`;
  const [result] = await client.incrementalAlterConfigs([{
    type: "group",
    name: groupId,
    changes: [
      { name: "share.auto.offset.reset", op: "set", value: "earliest" },
    ],
  }]);
  if (result.error !== null) throw result.error;
  return groupId;
}

interface Row {
  client: string;
  msgsPerSecond: number;
  cpuNsPerMessage: number;
}

async function ours(runtime: string): Promise<Row> {
  const groupId = await newGroup(runtime);
  const script = join(ROOT, "bench/clients/share_reader.ts");
  const binary = join(ROOT, ".tools/node_modules/.bin", runtime);
  const args = runtime === "deno"
    ? ["run", "-A", script, BROKER, topic, groupId, String(MESSAGES)]
    : [script, BROKER, topic, groupId, String(MESSAGES)];
  const run = await spawn(binary, args, { timeoutMs: 300_000 });
  if (run.code !== 0) throw new Error(`${runtime}: ${run.stderr}`);
  const { messages, ms } = JSON.parse(run.stdout.trim().split("\n").pop()!);
  return {
    client: `streamkafka (${runtime})`,
    msgsPerSecond: messages / ms * 1000,
    cpuNsPerMessage: run.cpuSeconds * 1e9 / messages,
  };
}

async function java(): Promise<Row> {
  const groupId = await newGroup("java");
  const home = join(ROOT, ".kafka", KAFKA_VERSION);
  const run = await spawn("java", [
    "-Xmx512M",
    "-XX:+UseG1GC",
    `-Dlog4j2.configurationFile=${join(home, "tools-log4j2.properties")}`,
    "-cp",
    join(home, "libs", "*"),
    "org.apache.kafka.tools.ShareConsumerPerformance",
    "--bootstrap-server",
    BROKER,
    "--topic",
    topic,
    "--group",
    groupId,
    "--num-records",
    String(MESSAGES),
    "--timeout",
    "30000",
    "--hide-header",
    "--show-detailed-stats",
    "--reporting-interval",
    "100",
  ], { timeoutMs: 300_000 });
  if (run.code !== 0) throw new Error(`java: ${run.stderr}`);
  // start.time, end.time, MB, MB/s, nMsg/s, nMsg, fetch.time.ms: one line
  // per interval ("for share consumer 1"), then the whole run's. Joining
  // takes a heartbeat interval (5 s), so the first interval's line comes
  // with the first record.
  const lines = run.stdout.trim().split("\n").filter((l) => l.includes(","));
  const fields = (line: string) => line.split(",").map((f) => f.trim());
  const time = (text: string) => {
    const [date, clock] = text.split(" ");
    const [h, m, sec, ms] = clock.split(":").map(Number);
    return Date.parse(`${date}T00:00:00Z`) + ((h * 60 + m) * 60 + sec) * 1000 +
      ms;
  };
  const first = fields(lines.find((l) => l.includes("share consumer"))!);
  const total = fields(lines[lines.length - 1]);
  const messages = Number(total[5]);
  const ms = time(total[1]) - time(first[1]);
  return {
    client: "Java KafkaShareConsumer",
    msgsPerSecond: (messages - Number(first[5])) / ms * 1000,
    cpuNsPerMessage: run.cpuSeconds * 1e9 / messages,
  };
}

const rows: Row[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  for (const runtime of RUNTIMES) rows.push(await ours(runtime));
  rows.push(await java());
  for (const r of rows.slice(-(RUNTIMES.length + 1))) {
    console.log(
      `round ${round}: ${r.client}: ${
        Math.round(r.msgsPerSecond).toLocaleString("en")
      } msgs/s, ${Math.round(r.cpuNsPerMessage)} ns CPU per message`,
    );
  }
}
await client.deleteTopics([topic]);
await client.close();
console.log("\n| client | msgs/s | CPU per message |\n| --- | ---: | ---: |");
for (const name of new Set(rows.map((r) => r.client))) {
  const mine = rows.filter((r) => r.client === name);
  const span = (xs: number[]) =>
    `${Math.round(Math.min(...xs)).toLocaleString("en")}-${
      Math.round(Math.max(...xs)).toLocaleString("en")
    }`;
  console.log(
    `| ${name} | ${span(mine.map((r) => r.msgsPerSecond))} | ${
      span(mine.map((r) => r.cpuNsPerMessage))
    } ns |`,
  );
}
