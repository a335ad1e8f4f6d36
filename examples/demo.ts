/**
 * A produce/consume round trip against the broker that `deno task kafka:up`
 * starts: create a topic, write messages with keys and headers, read them
 * back, and print what came back.
 *
 * Run: deno task demo
 */

import { dial, dialLeader } from "../mod.ts";

const broker = Deno.env.get("KAFKA_BROKERS")?.split(",")[0] ??
  "localhost:9092";
const topic = `demo-${Date.now()}`;
const text = new TextDecoder();

const admin = await dial(broker);
await admin.createTopics({ topic, numPartitions: 1, replicationFactor: 1 });
console.log(`created topic ${topic}`);
admin.close();

const conn = await dialLeader(broker, topic, 0);
await conn.writeMessages(
  {
    key: "Key-A",
    value: "Hello World!",
    headers: [{ key: "lang", value: "en" }],
  },
  { key: "Key-B", value: "One!" },
  { key: "Key-C", value: "Two!" },
);
console.log("wrote 3 messages");

await conn.seek(0);
const batch = await conn.readBatch({ maxBytes: 1e6 });
for await (const m of batch) {
  const headers = m.headers.map((h) => `${h.key}=${text.decode(h.value!)}`);
  console.log(
    `offset ${m.offset} ${m.time.toISOString()} ${text.decode(m.key!)} = ${
      text.decode(m.value!)
    } ${headers.join(" ")}`,
  );
}
conn.close();
