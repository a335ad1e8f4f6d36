/**
 * List topics with their partitions, leaders and replicas, through the
 * admin Client.
 *
 * Run: deno run -A examples/admin_list_topics.ts [topic...]
 */

import { Client } from "../mod.ts";

/** One printed row: a partition and where it lives. */
export interface PartitionRow {
  topic: string;
  partition: number;
  leader: string;
  replicas: number[];
  isr: number[];
}

export async function main(
  broker = Deno.env.get("KAFKA_BROKERS")?.split(",")[0] ?? "localhost:9092",
  topics: string[] | null = null,
): Promise<PartitionRow[]> {
  const client = new Client({ brokers: [broker] });
  try {
    const metadata = await client.metadata(topics);
    const brokers = new Map(
      metadata.brokers.map((b) => [b.id, `${b.id} (${b.host}:${b.port})`]),
    );
    const rows: PartitionRow[] = [];
    for (const t of metadata.topics) {
      if (t.error) {
        console.log(`${t.topic}: ${t.error.name}`);
        continue;
      }
      if (t.isInternal) continue;
      for (const p of t.partitions) {
        rows.push({
          topic: t.topic,
          partition: p.partition,
          leader: brokers.get(p.leader) ?? "none",
          replicas: p.replicas,
          isr: p.isr,
        });
      }
    }
    console.table(rows);
    return rows;
  } finally {
    await client.close();
  }
}

if (import.meta.main) {
  await main(undefined, Deno.args.length > 0 ? Deno.args : null);
}
