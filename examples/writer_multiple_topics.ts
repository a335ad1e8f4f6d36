/**
 * The seed's "write to multiple topics": with no Writer topic, each
 * message names its own. Setting both, or neither, is an error.
 *
 * Run: deno run -A examples/writer_multiple_topics.ts
 */

import { LeastBytes, Writer } from "../mod.ts";

export async function main(
  brokers = (Deno.env.get("KAFKA_BROKERS") ?? "localhost:9092").split(","),
  topics = ["topic-A", "topic-B", "topic-C"],
): Promise<void> {
  // NOTE: no Writer topic here, so every message must carry one.
  const w = new Writer({
    brokers,
    balancer: new LeastBytes(),
    allowAutoTopicCreation: true,
  });
  try {
    await w.writeMessages(
      { topic: topics[0], key: "Key-A", value: "Hello World!" },
      { topic: topics[1], key: "Key-B", value: "One!" },
      { topic: topics[2], key: "Key-C", value: "Two!" },
    );
  } finally {
    await w.close();
  }
}

if (import.meta.main) await main();
