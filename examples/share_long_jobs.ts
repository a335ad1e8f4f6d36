/**
 * Long jobs on a share group (Kafka 4.2 or later): each job takes longer
 * than the record's acquisition lock, yet no job goes to a second worker
 * while the first works on it.
 *
 * - `acquireMode: "record_limit"` with `maxRecords: 1`: a worker acquires
 *   one job at a time, so the rest of a producer's batch stays with the
 *   group for the other workers instead of waiting, locked, in this one.
 * - `autoRenew`: the worker renews the lock of the job it works on, at
 *   half a lock, for up to that long (a worker that hangs lets go then).
 *   `reader.renew(job)` does the same by hand.
 *
 * Run: deno run -A examples/share_long_jobs.ts
 */

import process from "node:process";
import { Client, ShareReader, Writer } from "../mod.ts";

/** Which worker did which job, and how often each job was handed out. */
export interface JobReport {
  worker: number;
  job: string;
  deliveryCount: number;
}

export async function main(
  broker = process.env.KAFKA_BROKERS?.split(",")[0] ?? "localhost:9092",
  topic = "long-jobs",
  groupId = "long-job-workers",
  jobs = 4,
  jobMs = 2500,
): Promise<JobReport[]> {
  const client = new Client({ brokers: [broker] });
  try {
    await client.createTopics([{ topic }]);
    // Start at the beginning, and lock records for 1 s only, so that the
    // jobs below outlast their locks (the default lock is 30 s).
    const [set] = await client.incrementalAlterConfigs([{
      type: "group",
      name: groupId,
      changes: [
        { name: "share.auto.offset.reset", op: "set", value: "earliest" },
        { name: "share.record.lock.duration.ms", op: "set", value: "1000" },
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

  const report: JobReport[] = [];
  const workers = [1, 2].map(() =>
    new ShareReader({
      brokers: [broker],
      groupId,
      topics: [topic],
      acquireMode: "record_limit",
      maxRecords: 1,
      autoRenew: 60_000,
    })
  );
  await Promise.all(workers.map(async (reader, i) => {
    for await (const job of reader) {
      await new Promise((done) => setTimeout(done, jobMs)); // the work
      report.push({
        worker: i + 1,
        job: new TextDecoder().decode(job.value!),
        deliveryCount: job.deliveryCount,
      });
      if (report.length === jobs) break; // accepts this job, and closes
    }
    // The other worker stops too.
    await Promise.all(workers.map((w) => w.close()));
  }));
  return report;
}

if (import.meta.main) {
  for (const r of await main()) {
    console.log(
      `worker ${r.worker} did ${r.job} (handed out ${r.deliveryCount}x)`,
    );
  }
}
