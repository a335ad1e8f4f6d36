/**
 * The seed's first example: dial the leader of a topic-partition, produce a
 * few messages, and read them back. With auto.create.topics.enable=true on
 * the broker, dialing the leader creates the topic.
 *
 * Run: deno run -A examples/dial_leader.ts [topic]
 */

import { dialLeader, type Message } from "../mod.ts";

export async function main(
  broker = Deno.env.get("KAFKA_BROKERS")?.split(",")[0] ?? "localhost:9092",
  topic = "my-topic",
): Promise<Message[]> {
  const partition = 0;
  const conn = await dialLeader(broker, topic, partition);
  try {
    const start = await conn.readLastOffset();
    await conn.writeMessages(
      { value: "one!" },
      { value: "two!" },
      { value: "three!" },
    );
    await conn.seek(start);
    const batch = await conn.readBatch({ minBytes: 10, maxBytes: 1e6 });
    const messages: Message[] = [];
    for await (const message of batch) {
      messages.push(message);
      console.log(
        `offset ${message.offset}: ${new TextDecoder().decode(message.value!)}`,
      );
    }
    return messages;
  } finally {
    conn.close();
  }
}

if (import.meta.main) await main(undefined, Deno.args[0]);
