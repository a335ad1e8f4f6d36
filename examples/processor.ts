/**
 * Processing a group's messages concurrently with a `Processor`: orders of
 * three customers, each customer's in order (`ordering: "key"`), up to four
 * at a time, each taking a while (a stand-in for a call to another
 * service, given the handler's signal so that a stop cuts it short).
 *
 * Failures: the payment service fails bob's second order once (it is
 * tried again after a backoff, `retryTimeout`, bob's later orders waiting),
 * and declines cy's third order every time: that one goes to a dead-letter
 * topic (`deadLetter`, with the error in a header) and the rest goes on.
 *
 * It writes four orders per customer, processes them, and stops once the
 * twelve are charged or dead-lettered: with `preventAbort`, the pipe
 * finishes what was handed over and commits it, so a later run with the
 * same group goes on from there.
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
 * Processor, and resolves with those charged, in the order they were, and
 * those dead-lettered (to `<topic>.dead-letters`).
 */
export async function main(
  broker = process.env.KAFKA_BROKERS?.split(",")[0] ?? "localhost:9092",
  topic = "orders-to-charge",
  groupId = "charging",
): Promise<{ charged: string[]; deadLettered: string[] }> {
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
  const deadLetters = new Writer({
    brokers: [broker],
    topic: `${topic}.dead-letters`,
    allowAutoTopicCreation: true,
  });
  const charged: string[] = [];
  const deadLettered: string[] = [];
  const tried = new Set<string>();
  const stop = new AbortController();
  const settled = () => {
    if (charged.length + deadLettered.length === customers.length * 4) {
      stop.abort();
    }
  };
  const processor = new Processor(async (m, signal) => {
    const order = text.decode(m.value!);
    await work(10 + Math.random() * 40, signal); // "charge" the order
    const first = !tried.has(order);
    tried.add(order);
    if (order === "bob order 2" && first) throw new Error("gateway timeout");
    if (order === "cy order 3") throw new Error("card declined");
    console.log(
      `charged ${order} (partition ${m.partition}, offset ${m.offset})`,
    );
    charged.push(order);
    settled();
  }, {
    ordering: "key",
    concurrency: 4,
    retryTimeout: 1000,
    retryBackoff: 50,
    deadLetter: async (m, error) => {
      await deadLetters.writeMessages({
        key: m.key,
        value: m.value,
        headers: [{ key: "error", value: String(error) }],
      });
      console.log(`dead-lettered ${text.decode(m.value!)}: ${error}`);
      deadLettered.push(text.decode(m.value!));
      settled();
    },
  });
  try {
    // Ends with the signal's reason once the twelve are settled and
    // committed.
    await reader.pipeTo(processor, { signal: stop.signal, preventAbort: true });
  } catch (error) {
    if (!stop.signal.aborted) throw error;
  } finally {
    await Promise.all([reader.close(), deadLetters.close()]);
  }
  return { charged, deadLettered };
}

if (import.meta.main) {
  await main(undefined, process.argv[2], process.argv[3]);
}
