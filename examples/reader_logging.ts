/**
 * The seed's logging example: a Reader with a logger and an error logger.
 * To give the error logger something to say, it starts far past the end of
 * the partition; the reader reports that and resets to the first offset.
 *
 * Run: deno run -A examples/reader_logging.ts [topic]
 *  or: bun run examples/reader_logging.ts [topic]
 */

import process from "node:process";
import type { Message } from "../lib/message.ts";
import { Reader } from "../mod.ts";
import type { Logger } from "../lib/producer/writer.ts";
import { Writer } from "../lib/producer/writer.ts";

function logf(message: string, ...args: unknown[]): void {
  console.log(message, ...args);
}

export async function main(
  broker = process.env.KAFKA_BROKERS?.split(",")[0] ?? "localhost:9092",
  topic = "my-topic1",
  log: Logger = logf,
): Promise<Message[]> {
  const w = new Writer({
    brokers: [broker],
    topic,
    allowAutoTopicCreation: true,
  });
  await w.writeMessages({ value: "one" }, { value: "two" }, {
    value: "three",
  });
  await w.close();

  const r = new Reader({
    brokers: [broker],
    topic,
    partition: 0,
    logger: log,
    errorLogger: log,
  });
  r.setOffset(Number.MAX_SAFE_INTEGER);
  const messages: Message[] = [];
  try {
    while (messages.length < 3) messages.push(await r.readMessage());
  } finally {
    await r.close();
  }
  return messages;
}

if (import.meta.main) await main(undefined, process.argv[2]);
