/**
 * The seed's explicit commits: fetchMessage does not commit, so the
 * application commits each message with commitMessages once it has handled
 * it. What was fetched and not committed is read again by whoever reads the
 * partition next (at least once).
 *
 * So that there is something to read, it first writes ten messages; it
 * stops at the end of the partition (the topic it creates has one) so that
 * it ends.
 *
 * Run: deno run -A examples/reader_group_explicit_commits.ts [topic] [group]
 *  or: bun run examples/reader_group_explicit_commits.ts [topic] [group]
 */

import process from "node:process";
import { type Message, Reader, Writer } from "../mod.ts";

const text = new TextDecoder();

/**
 * Writes ten messages to `topic`, then fetches with a group Reader and
 * commits each message after printing it, until the end of the partition;
 * resolves with what it read.
 */
export async function main(
  broker = process.env.KAFKA_BROKERS?.split(",")[0] ?? "localhost:9092",
  topic = "topic-A",
  groupId = "consumer-group-id",
): Promise<Message[]> {
  const w = new Writer({
    brokers: [broker],
    topic,
    allowAutoTopicCreation: true,
  });
  await w.writeMessages(
    Array.from({ length: 10 }, (_, i) => ({
      key: `Key-${i}`,
      value: `message ${i}`,
    })),
  );
  await w.close();

  const r = new Reader({
    brokers: [broker],
    groupId,
    topic,
    minBytes: 10e3, // 10KB
    maxBytes: 10e6, // 10MB
    maxWait: 1000, // a few small messages: do not wait 10 s for 10KB
  });

  const messages: Message[] = [];
  try {
    while (true) {
      const m = await r.fetchMessage();
      console.log(
        `message at topic/partition/offset ${m.topic}/${m.partition}/${m.offset}: ${
          text.decode(m.key!)
        } = ${text.decode(m.value!)}`,
      );
      // handled: commit it (the group resumes after it)
      await r.commitMessages(m);
      messages.push(m);
      if (m.offset + 1 >= m.highWaterMark) break;
    }
  } finally {
    await r.close();
  }
  return messages;
}

if (import.meta.main) {
  await main(undefined, process.argv[2], process.argv[3]);
}
