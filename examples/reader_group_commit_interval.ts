/**
 * The seed's "managing commits": with commitInterval, readMessage does not
 * wait for a commit; what was read is committed every second in the
 * background (and by close), which is much faster when messages come in
 * quick succession. A crash loses at most the last second's commits, and
 * those messages are read again.
 *
 * So that there is something to read, it first writes ten messages; it
 * stops at the end of the partition (the topic it creates has one) so that
 * it ends.
 *
 * Run: deno run -A examples/reader_group_commit_interval.ts [topic] [group]
 *  or: bun run examples/reader_group_commit_interval.ts [topic] [group]
 */

import process from "node:process";
import { type Message, Reader, Writer } from "../mod.ts";

const text = new TextDecoder();

/**
 * Writes ten messages to `topic`, then reads them with a group Reader that
 * commits once a second (and on close); resolves with what it read.
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
    commitInterval: 1000, // flushes commits to Kafka every second
  });

  const messages: Message[] = [];
  try {
    while (true) {
      const m = await r.readMessage();
      console.log(
        `message at topic/partition/offset ${m.topic}/${m.partition}/${m.offset}: ${
          text.decode(m.key!)
        } = ${text.decode(m.value!)}`,
      );
      messages.push(m);
      if (m.offset + 1 >= m.highWaterMark) break;
    }
  } finally {
    await r.close(); // commits what the last interval has not
  }
  return messages;
}

if (import.meta.main) {
  await main(undefined, process.argv[2], process.argv[3]);
}
