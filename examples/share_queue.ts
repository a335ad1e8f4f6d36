/**
 * A work queue on a share group (KIP-932): two workers read the same topic
 * together, each job goes to one of them at a time, and each job is
 * acknowledged: accepted once done, released to be tried again (by either
 * worker) when it failed for now, rejected when it can never succeed. A
 * job whose worker dies comes back when its lock runs out.
 *
 * Run: deno run -A examples/share_queue.ts   (Kafka 4.1 or later)
 */

import process from "node:process";
import { Client, type ShareMessage, ShareReader, Writer } from "../mod.ts";

/** What each worker did with each job: "worker 1 accepted job-3". */
export type Outcome = string;

export async function main(
  broker = process.env.KAFKA_BROKERS?.split(",")[0] ?? "localhost:9092",
  topic = "jobs",
  groupId = "job-workers",
  jobs = 10,
): Promise<Outcome[]> {
  // A new share group starts at the end of the topic: start this one at
  // the beginning (before any member joins), so it sees the jobs below.
  const client = new Client({ brokers: [broker] });
  try {
    await client.createTopics([{ topic, numPartitions: 2 }]);
    const [set] = await client.incrementalAlterConfigs([{
      type: "group",
      name: groupId,
      changes: [
        { name: "share.auto.offset.reset", op: "set", value: "earliest" },
      ],
    }]);
    if (set.error !== null) throw set.error;
  } finally {
    await client.close();
  }
  const writer = new Writer({ brokers: [broker], topic });
  await writer.writeMessages(
    Array.from({ length: jobs }, (_, i) => ({ value: `job-${i}` })),
  );
  await writer.close();

  const outcomes: Outcome[] = [];
  const done = new Set<string>();
  const workers = [1, 2].map((n) => ({
    n,
    reader: new ShareReader({
      brokers: [broker],
      groupId,
      topics: [topic],
      acknowledgements: "explicit",
    }),
  }));
  const handle = (n: number, reader: ShareReader, job: ShareMessage) => {
    const name = new TextDecoder().decode(job.value!);
    // job-3 fails the first time it is tried; job-7 can never be done.
    if (name === "job-3" && job.deliveryCount === 1) {
      reader.acknowledge(job, "release");
      outcomes.push(`worker ${n} released ${name}`);
    } else if (name === "job-7") {
      reader.acknowledge(job, "reject");
      outcomes.push(`worker ${n} rejected ${name}`);
      done.add(name);
    } else {
      reader.acknowledge(job, "accept");
      outcomes.push(`worker ${n} accepted ${name}`);
      done.add(name);
    }
  };
  await Promise.all(workers.map(async ({ n, reader }) => {
    try {
      for await (const job of reader) {
        handle(n, reader, job);
        if (done.size === jobs) break;
      }
    } finally {
      // Sends what was acknowledged; the other worker stops too.
      await Promise.all(workers.map((w) => w.reader.close()));
    }
  }));
  return outcomes;
}

if (import.meta.main) {
  for (const outcome of await main()) console.log(outcome);
}
