/**
 * A consumer group subscribed by pattern: `groupTopics` as a RegExp reads
 * every topic whose whole name matches, and topics created later too (on
 * the classic protocol, each member lists the cluster's topics every
 * `partitionWatchInterval`; on the consumer protocol the broker matches).
 *
 * So that there is something to read, it first writes five messages to
 * each of `<prefix>.orders` and `<prefix>.refunds`; it stops once it has
 * read to the end of both, so that it ends. readMessage commits each
 * message, so a later run with the same group goes on from there.
 *
 * Run: deno run -A examples/reader_group_pattern.ts [prefix] [group]
 *  or: bun run examples/reader_group_pattern.ts [prefix] [group]
 */

import process from "node:process";
import { type Message, Reader, Writer } from "../mod.ts";

const text = new TextDecoder();

/**
 * Writes five messages to each of two topics named `<prefix>.…`, then reads
 * them through a group Reader subscribed to `<prefix>\..*` until it has
 * reached the end of both; resolves with what it read.
 */
export async function main(
  broker = process.env.KAFKA_BROKERS?.split(",")[0] ?? "localhost:9092",
  prefix = "shop",
  groupId = "pattern-group-id",
): Promise<Message[]> {
  const topics = [`${prefix}.orders`, `${prefix}.refunds`];
  const w = new Writer({ brokers: [broker], allowAutoTopicCreation: true });
  await w.writeMessages(
    topics.flatMap((topic) =>
      Array.from({ length: 5 }, (_, i) => ({ topic, value: `${topic} ${i}` }))
    ),
  );
  await w.close();

  // Every topic named "<prefix>." and anything: both of the above, and any
  // created later while the Reader runs.
  const r = new Reader({
    brokers: [broker],
    groupId,
    groupTopics: new RegExp(`${prefix.replaceAll(".", "\\.")}\\..*`),
    maxWait: 1000,
  });

  const messages: Message[] = [];
  const caughtUp = new Set<string>();
  try {
    while (caughtUp.size < topics.length) {
      const m = await r.readMessage();
      console.log(
        `${m.topic}/${m.partition}/${m.offset}: ${text.decode(m.value!)}`,
      );
      messages.push(m);
      if (m.offset + 1 >= m.highWaterMark) caughtUp.add(m.topic);
    }
  } finally {
    await r.close();
  }
  return messages;
}

if (import.meta.main) {
  await main(undefined, process.argv[2], process.argv[3]);
}
