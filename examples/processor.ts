/**
 * Processing a group's messages concurrently with a `Processor`: orders of
 * three customers, each customer's in order (`ordering: "key"`), up to four
 * at a time, each taking a while (a stand-in for a call to another
 * service, given the handler's signal so that a stop cuts it short).
 *
 * It writes four orders per customer, processes them, and stops once the
 * twelve are done: with `preventAbort`, the pipe finishes what was handed
 * over and commits it, so a later run with the same group goes on from
 * there.
 *
 * Run: deno run -A examples/processor.ts [topic] [group]
 *  or: bun run examples/processor.ts [topic] [group]
 */

import process from "node:process";
import { Processor, Reader, Writer } from "../mod.ts";

const text = new TextDecoder();

/** Resolves after `ms`, or rejects with the signal's reason. */
function work(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

/**
 * Writes twelve orders, processes them through a group Reader piped into a
 * Processor, and resolves with them in the order they were done.
 */
export async function main(
  broker = process.env.KAFKA_BROKERS?.split(",")[0] ?? "localhost:9092",
  topic = "orders-to-charge",
  groupId = "charging",
): Promise<string[]> {
  const customers = ["ada", "bob", "cy"];
  const w = new Writer({
    brokers: [broker],
    topic,
    allowAutoTopicCreation: true,
  });
  await w.writeMessages(
    customers.flatMap((key) =>
      [1, 2, 3, 4].map((n) => ({ key, value: `${key} order ${n}` }))
    ),
  );
  await w.close();

  const reader = new Reader({
    brokers: [broker],
    groupId,
    topic,
    maxWait: 500,
  });
  const done: string[] = [];
  const stop = new AbortController();
  const processor = new Processor(async (m, signal) => {
    await work(10 + Math.random() * 40, signal); // "charge" the order
    const order = text.decode(m.value!);
    console.log(
      `charged ${order} (partition ${m.partition}, offset ${m.offset})`,
    );
    done.push(order);
    if (done.length === customers.length * 4) stop.abort();
  }, { ordering: "key", concurrency: 4 });
  try {
    // Ends with the signal's reason once the twelve are done and committed.
    await reader.pipeTo(processor, { signal: stop.signal, preventAbort: true });
  } catch (error) {
    if (!stop.signal.aborted) throw error;
  } finally {
    await reader.close();
  }
  return done;
}

if (import.meta.main) {
  await main(undefined, process.argv[2], process.argv[3]);
}
