/**
 * The seed's Writer example: produce to topic-A with the least-bytes
 * distribution, then close (which flushes).
 *
 * Run: deno run -A examples/writer_least_bytes.ts [topic]
 */

import { LeastBytes, Writer } from "../mod.ts";

export async function main(
  brokers = (Deno.env.get("KAFKA_BROKERS") ?? "localhost:9092").split(","),
  topic = "topic-A",
): Promise<void> {
  const w = new Writer({ brokers, topic, balancer: new LeastBytes() });
  try {
    await w.writeMessages(
      { key: "Key-A", value: "Hello World!" },
      { key: "Key-B", value: "One!" },
      { key: "Key-C", value: "Two!" },
    );
  } finally {
    await w.close();
  }
}

if (import.meta.main) await main(undefined, Deno.args[0]);
