/**
 * The seed's Reader example: read partition 0 of a topic from offset 42.
 * So that there is something to read, it first writes 50 messages; it stops
 * at the end of the partition so that it ends.
 *
 * Run: deno run -A examples/read_offset_42.ts [topic]
 *  or: bun run examples/read_offset_42.ts [topic]
 */

import process from "node:process";
import type { Message } from "../lib/message.ts";
import { Reader } from "../mod.ts";
import { Writer } from "../lib/producer/writer.ts";

const text = new TextDecoder();

export async function main(
  broker = process.env.KAFKA_BROKERS?.split(",")[0] ?? "localhost:9092",
  topic = "topic-A",
): Promise<Message[]> {
  const w = new Writer({
    brokers: [broker],
    topic,
    allowAutoTopicCreation: true,
  });
  await w.writeMessages(
    Array.from({ length: 50 }, (_, i) => ({
      key: `Key-${i}`,
      value: `message ${i}`,
    })),
  );
  await w.close();

  // make a new reader that consumes from topic-A, partition 0, at offset 42
  const r = new Reader({
    brokers: [broker],
    topic,
    partition: 0,
    minBytes: 10e3, // 10KB
    maxBytes: 10e6, // 10MB
    // The broker answers once 10KB are there or after maxWait: the last
    // few messages are fewer than 10KB, so do not wait the default 10 s.
    maxWait: 1000,
  });
  r.setOffset(42);

  const messages: Message[] = [];
  try {
    while (true) {
      const m = await r.readMessage();
      console.log(
        `message at offset ${m.offset}: ${text.decode(m.key!)} = ${
          text.decode(m.value!)
        }`,
      );
      messages.push(m);
      if (m.offset + 1 >= m.highWaterMark) break;
    }
  } finally {
    await r.close();
  }
  return messages;
}

if (import.meta.main) await main(undefined, process.argv[2]);
