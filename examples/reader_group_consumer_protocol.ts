/**
 * The seed's consumer-group example on Kafka 4's consumer group protocol
 * (KIP-848, `groupProtocol: "consumer"`): the broker assigns the
 * partitions, and when members come and go only the partitions that move
 * are handed over; nobody stops reading. readMessage commits each message
 * (with the member epoch) before it returns it, so a later run with the
 * same group goes on where this one stopped.
 *
 * So that there is something to read, it first writes ten messages; it
 * stops at the end of the partition (the topic it creates has one) so that
 * it ends.
 *
 * Run: deno run -A examples/reader_group_consumer_protocol.ts [topic] [group]
 *  or: bun run examples/reader_group_consumer_protocol.ts [topic] [group]
 */

import process from "node:process";
import { type Message, Reader, Writer } from "../mod.ts";

const text = new TextDecoder();

/**
 * Writes ten messages to `topic`, then reads with a consumer-protocol group
 * Reader (readMessage commits each) until the end of the partition;
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

  // make a new reader that consumes from topic-A in a KIP-848 group
  const r = new Reader({
    brokers: [broker],
    groupId,
    groupProtocol: "consumer",
    groupRemoteAssignor: "uniform",
    topic,
    minBytes: 10e3, // 10KB
    maxBytes: 10e6, // 10MB
    // The broker answers once 10KB are there or after maxWait: a few small
    // messages are fewer than 10KB, so do not wait the default 10 s.
    maxWait: 1000,
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
    await r.close();
  }
  return messages;
}

if (import.meta.main) {
  await main(undefined, process.argv[2], process.argv[3]);
}
