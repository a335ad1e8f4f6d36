/**
 * The seed's "read every message in a time range": seek to the first
 * message at or after the start time with setOffsetAt, then read until a
 * message is newer than the end time (or the partition ends).
 *
 * Run: deno run -A examples/read_time_range.ts [topic]
 *  or: bun run examples/read_time_range.ts [topic]
 * Run on its own, it first writes a message every 10 minutes of the last
 * two hours, then reads the last hour.
 */

import process from "node:process";
import type { Message } from "../lib/message.ts";
import { Reader } from "../mod.ts";
import { Writer } from "../lib/producer/writer.ts";

const text = new TextDecoder();

export async function main(
  broker = process.env.KAFKA_BROKERS?.split(",")[0] ?? "localhost:9092",
  topic = "my-topic1",
  startTime = new Date(Date.now() - 60 * 60 * 1000),
  endTime = new Date(),
): Promise<Message[]> {
  const batchSize = 10e6; // 10MB

  const r = new Reader({
    brokers: [broker],
    topic,
    partition: 0,
    minBytes: batchSize,
    maxBytes: batchSize,
    // minBytes asks the broker to gather 10MB; cap how long it tries.
    maxWait: 500,
  });

  const messages: Message[] = [];
  try {
    await r.setOffsetAt(startTime);
    // Nothing at or after startTime: setOffsetAt went to the end.
    if (await r.readLag() === 0) return messages;
    while (true) {
      const m = await r.readMessage();
      if (m.time > endTime) break;
      console.log(
        `message at offset ${m.offset} (${m.time.toISOString()}): ${
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

/** Writes a message every 10 minutes of the last two hours. */
async function writeSample(broker: string, topic: string): Promise<void> {
  const now = Date.now();
  const w = new Writer({
    brokers: [broker],
    topic,
    allowAutoTopicCreation: true,
  });
  await w.writeMessages(
    Array.from({ length: 12 }, (_, i) => {
      const time = new Date(now - (12 - i) * 10 * 60 * 1000);
      return { value: `written for ${time.toISOString()}`, time };
    }),
  );
  await w.close();
}

if (import.meta.main) {
  const broker = process.env.KAFKA_BROKERS?.split(",")[0] ?? "localhost:9092";
  const topic = process.argv[2] ?? "my-topic1";
  await writeSample(broker, topic);
  await main(broker, topic);
}
