/**
 * Mirror a topic exactly once: a group Reader piped into a transactional
 * Writer. The pipe writes what it reads in transactions, and commits the
 * group's offsets in the same transactions (every 100 ms, or the Reader's
 * `commitInterval`), so a crash, a failed write or a rebalance never
 * doubles nor loses a message for readers of the copy that use
 * `isolationLevel: "read_committed"`.
 *
 * Run: deno run -A examples/exactly_once_mirror.ts   (Ctrl-C stops it)
 */

import process from "node:process";
import { Reader, Writer } from "../mod.ts";

export async function main(
  broker = process.env.KAFKA_BROKERS?.split(",")[0] ?? "localhost:9092",
  input = "clicks",
  output = "clicks-copy",
  groupId = "clicks-mirror",
  signal?: AbortSignal,
): Promise<void> {
  const reader = new Reader({
    brokers: [broker],
    groupId,
    groupTopics: [input],
    isolationLevel: "read_committed",
  });
  const writer = new Writer({
    brokers: [broker],
    topic: output,
    // One id per mirroring process: a restarted process with the same id
    // aborts what its predecessor left open.
    transactionalId: `${groupId}-1`,
    allowAutoTopicCreation: true,
  });
  try {
    // With preventAbort, stopping commits what was handed over first.
    await reader.pipeTo(writer, { signal, preventAbort: true });
  } catch (error) {
    if (!signal?.aborted) throw error;
  } finally {
    await Promise.all([reader.close(), writer.close()]);
  }
}

if (import.meta.main) {
  const stop = new AbortController();
  process.once("SIGINT", () => stop.abort());
  await main(undefined, undefined, undefined, undefined, stop.signal);
}
