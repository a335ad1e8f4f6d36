/**
 * Consume, transform and produce exactly once: a group Reader reads
 * orders, and a transactional Writer writes each one enriched together
 * with the group's offset, in one transaction. If the program dies between
 * the two, neither counts, and the next member of the group starts again
 * from the last committed order. Readers of the output use
 * `isolationLevel: "read_committed"`, so they never see an aborted write.
 *
 * Run: deno run -A examples/writer_transactions.ts
 */

import process from "node:process";
import { Reader, Writer } from "../mod.ts";

export async function main(
  broker = process.env.KAFKA_BROKERS?.split(",")[0] ?? "localhost:9092",
  input = "orders",
  output = "orders-enriched",
  groupId = "enricher",
  count = 5,
): Promise<string[]> {
  // Some orders to enrich.
  const orders = new Writer({
    brokers: [broker],
    topic: input,
    allowAutoTopicCreation: true,
  });
  await orders.writeMessages(
    Array.from({ length: count }, (_, i) => ({ value: `order-${i}` })),
  );
  await orders.close();

  const reader = new Reader({
    brokers: [broker],
    groupId,
    groupTopics: [input],
    isolationLevel: "read_committed",
  });
  const writer = new Writer({
    brokers: [broker],
    topic: output,
    // One id per producing process: a restarted process with the same id
    // aborts what its predecessor left open.
    transactionalId: `${groupId}-1`,
    allowAutoTopicCreation: true,
  });
  const written: string[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const m = await reader.fetchMessage();
      const enriched = `${new TextDecoder().decode(m.value!)}: enriched`;
      await writer.transaction(async () => {
        await writer.writeMessages({ key: m.key, value: enriched });
        // The next offset to read: this one + 1.
        await writer.sendOffsets(
          [{ topic: m.topic, partition: m.partition, offset: m.offset + 1 }],
          reader.groupMetadata()!,
        );
      });
      written.push(enriched);
    }
  } finally {
    await Promise.all([reader.close(), writer.close()]);
  }
  return written;
}

if (import.meta.main) console.log(await main());
