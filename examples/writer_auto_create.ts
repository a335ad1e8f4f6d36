/**
 * The seed's "create the topic before publishing": the Writer creates a
 * missing topic, and the caller retries while the new topic's leader is
 * being elected (LEADER_NOT_AVAILABLE) or a write times out.
 *
 * Run: deno run -A examples/writer_auto_create.ts [topic]
 */

import {
  ErrorCode,
  KafkaError,
  type MessageInput,
  WriteErrors,
  Writer,
} from "../mod.ts";

export async function main(
  brokers = (Deno.env.get("KAFKA_BROKERS") ?? "localhost:9092").split(","),
  topic = "topic-A",
): Promise<void> {
  const w = new Writer({ brokers, topic, allowAutoTopicCreation: true });
  const messages: MessageInput[] = [
    { key: "Key-A", value: "Hello World!" },
    { key: "Key-B", value: "One!" },
    { key: "Key-C", value: "Two!" },
  ];
  try {
    const retries = 3;
    for (let i = 0; i < retries; i++) {
      try {
        await w.writeMessages(messages, {
          signal: AbortSignal.timeout(10_000),
        });
        return;
      } catch (error) {
        if (!worthRetrying(error) || i === retries - 1) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  } finally {
    await w.close();
  }
}

function worthRetrying(error: unknown): boolean {
  const causes = error instanceof WriteErrors ? error.errors : [error];
  return causes.some((e) =>
    (e instanceof KafkaError && e.code === ErrorCode.LEADER_NOT_AVAILABLE) ||
    (e instanceof DOMException && e.name === "TimeoutError")
  );
}

if (import.meta.main) await main(undefined, Deno.args[0]);
