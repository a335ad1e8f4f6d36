/**
 * The seed's "list all topics": read every partition's metadata and print
 * each topic once.
 *
 * Run: deno run -A examples/list_topics.ts
 */

import { dial } from "../mod.ts";

export async function main(
  broker = Deno.env.get("KAFKA_BROKERS")?.split(",")[0] ?? "localhost:9092",
): Promise<string[]> {
  const conn = await dial(broker);
  try {
    const partitions = await conn.readPartitions();
    const topics = new Set(partitions.map((p) => p.topic));
    for (const topic of topics) console.log(topic);
    return [...topics];
  } finally {
    conn.close();
  }
}

if (import.meta.main) await main();
