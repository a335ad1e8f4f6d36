/**
 * This client under the benchmark: `deno run -A bench/clients/streamkafka.ts
 * '<job>'` or `bun run bench/clients/streamkafka.ts '<job>'`.
 *
 * Produce goes through `Writer.writeMessages`. The consume workloads read each
 * partition with a `Reader` of its own through `reader.batches()`, each value
 * by index (`batch.value(i)`): this client's bulk path, as the peers read
 * through theirs (kafkajs `eachBatch`, @kafkats/client `runBatch`).
 * BENCH_CONSUME_API=reader reads with `for await` over the Reader instead,
 * =conn with `Conn.readBatch` in a loop. The consume points of `--curves` read
 * through one group Reader, as the group workload does. The latency workload also times bare
 * `Conn.writeMessages` round trips: the floor a Writer write can reach.
 * The group workload reads with `for await` over one Reader with `groupId`,
 * which commits on its own: with the default commitInterval 0, whenever it
 * waits for data (BENCH_GROUP_COMMIT_INTERVAL sets another interval). The
 * mirror workload pipes such a Reader into a Writer on the target topic
 * (`reader.pipeTo(writer)`), stopped by a signal once the Writer has the
 * count acknowledged.
 *
 * @module
 */

import * as streamkafka from "../../mod.ts";
import type { MessageInput } from "../../mod.ts";
import {
  env,
  feed,
  finish,
  type Job,
  latencyOutcome,
  percentile,
  readValues,
  run,
  timeWrites,
} from "./_common.ts";

/**
 * The commitInterval of the curves' consume: an hour, so that no commit falls
 * within the read, as the peers' consume commits nothing.
 */
const CURVE_COMMIT_INTERVAL = 3_600_000;

run(async (job) => {
  if (job.kind === "produce") await produce(job);
  else if (job.kind === "latency") await latency(job);
  else if (job.kind === "group") await groupConsume(job);
  else if (job.curve) {
    await groupConsume(job, CURVE_COMMIT_INTERVAL);
  } else if (job.kind === "mirror") await mirror(job);
  else await consume(job);
});

function newWriter(job: Job, topic = job.topic): streamkafka.Writer {
  return new streamkafka.Writer({
    brokers: job.brokers,
    topic,
    batchSize: job.batchMessages,
    batchBytes: job.batchBytes,
    batchTimeout: job.lingerMs,
    requiredAcks: job.acks === 1 ? "one" : "all",
    compression: job.compression,
    idempotent: job.idempotent,
    ...(job.spread ? { balancer: new streamkafka.RoundRobin() } : {}),
  });
}

async function produce(job: Job): Promise<void> {
  const values = readValues(job);
  const writer = newWriter(job);
  const start = performance.now();
  await feed(job, (from, to) => {
    const messages: MessageInput[] = new Array(to - from);
    for (let i = from; i < to; i++) {
      messages[i - from] = { value: values[i % values.length] };
    }
    return writer.writeMessages(messages);
  });
  await writer.close();
  const seconds = (performance.now() - start) / 1000;
  finish({ messages: job.messages, seconds, notes: { api: "writeMessages" } });
}

async function latency(job: Job): Promise<void> {
  const values = readValues(job);
  const writer = newWriter(job);
  const samples = await timeWrites(
    job.messages,
    job.warmup,
    (i) => writer.writeMessages({ value: values[i % values.length] }),
  );
  await writer.close();
  // The same writes on a bare connection to one partition's leader.
  const conn = await streamkafka.dialLeader(job.brokers[0], job.topic, 0, {
    requiredAcks: "all",
  });
  const floor = await timeWrites(
    job.messages,
    job.warmup,
    (i) => conn.writeMessages({ value: values[i % values.length] }),
  );
  conn.close();
  finish(latencyOutcome(samples, {
    api: "writeMessages",
    conn_p50_ms: round(percentile(floor, 50)),
    conn_p99_ms: round(percentile(floor, 99)),
  }));
}

/** How the consume workloads read: BENCH_CONSUME_API, `batches` by default. */
function consumeApi(): "batches" | "reader" | "conn" {
  const forced = env("BENCH_CONSUME_API") ?? "batches";
  if (forced === "batches" || forced === "reader" || forced === "conn") {
    return forced;
  }
  throw new RangeError(
    `BENCH_CONSUME_API must be "batches", "reader" or "conn", got ${
      JSON.stringify(forced)
    }`,
  );
}

const CONSUME_APIS = {
  batches: "Reader.batches(), values by index",
  reader: "Reader, for await",
  conn: "Conn.readBatch",
};

async function consume(job: Job): Promise<void> {
  const api = consumeApi();
  const read = api === "conn"
    ? readWithConn
    : (job: Job, partition: number) =>
      readWithReader(job, partition, api === "batches");
  const start = performance.now();
  const partitions = Array.from({ length: job.partitions }, (_, p) => p);
  const reads = await Promise.all(partitions.map((p) => read(job, p)));
  const seconds = (Math.max(...reads.map((r) => r.end)) - start) / 1000;
  const messages = reads.reduce((sum, r) => sum + r.count, 0);
  if (messages !== job.messages) {
    throw new Error(`Read ${messages} messages, expected ${job.messages}`);
  }
  finish({ messages, seconds, notes: { api: CONSUME_APIS[api] } });
}

/**
 * What one partition's read counted, and when its last message arrived:
 * closing may wait for a prefetch in flight, which the clock leaves out.
 */
interface PartitionRead {
  count: number;
  end: number;
}

/**
 * Reads one partition from its start up to its high watermark, message by
 * message or in batches (each value read by index, so each is looked at as
 * an application would).
 */
async function readWithReader(
  job: Job,
  partition: number,
  inBatches: boolean,
): Promise<PartitionRead> {
  const reader = new streamkafka.Reader({
    brokers: job.brokers,
    topic: job.topic,
    partition,
    minBytes: job.fetchMinBytes,
    maxBytes: job.fetchMaxBytes,
    maxWait: job.fetchMaxWaitMs,
  });
  let count = 0;
  let bytes = 0;
  let end = performance.now();
  if (inBatches) {
    for await (const batch of reader.batches()) {
      for (let i = 0; i < batch.length; i++) bytes += batch.value(i)!.length;
      count += batch.length;
      if (batch.lastOffset + 1 >= batch.highWaterMark) break;
    }
  } else {
    for await (const message of reader) {
      count++;
      bytes += message.value!.length;
      if (message.offset + 1 >= message.highWaterMark) break;
    }
  }
  end = performance.now();
  if (bytes === 0 && count > 0) throw new Error("Read only empty values");
  return { count, end };
}

async function readWithConn(
  job: Job,
  partition: number,
): Promise<PartitionRead> {
  const conn = await streamkafka.dialLeader(
    job.brokers[0],
    job.topic,
    partition,
  );
  let count = 0;
  try {
    let highWaterMark = Infinity;
    while (conn.offset() < highWaterMark) {
      const batch = await conn.readBatch({
        minBytes: job.fetchMinBytes,
        maxBytes: job.fetchMaxBytes,
        maxWait: job.fetchMaxWaitMs,
      });
      highWaterMark = batch.highWaterMark;
      for await (const _ of batch) count++;
    }
    return { count, end: performance.now() };
  } finally {
    conn.close();
  }
}

/**
 * One member of a fresh group reads the whole topic with `for await`, as an
 * application would, and commits as the Reader does by default. Leaving the
 * loop closes the Reader (final commit, LeaveGroup), which the clock leaves
 * out, as it leaves out closing elsewhere. The curves' consume reads this way
 * too, from FirstOffset, with `commitInterval` CURVE_COMMIT_INTERVAL: one
 * fetch engine for all the partitions, as a user reading many would, where
 * consume-1p and consume-6p read each partition with a Reader of its own.
 */
async function groupConsume(
  job: Job,
  commitInterval = groupCommitInterval(),
): Promise<void> {
  const start = performance.now();
  const reader = new streamkafka.Reader({
    brokers: job.brokers,
    groupId: job.group,
    topic: job.topic,
    startOffset: streamkafka.FirstOffset,
    minBytes: job.fetchMinBytes,
    // Per partition, as the peers' maxBytesPerPartition; the response cap is
    // the default fetchMaxBytes.
    maxBytes: job.fetchMaxBytes,
    maxWait: job.fetchMaxWaitMs,
    commitInterval,
  });
  let count = 0;
  let end = start;
  for await (const _ of reader) {
    if (++count === job.messages) {
      end = performance.now();
      break;
    }
  }
  if (count !== job.messages) {
    throw new Error(`Read ${count} messages, expected ${job.messages}`);
  }
  finish({
    messages: count,
    seconds: (end - start) / 1000,
    notes: { api: "Reader (group), for await", commitInterval },
  });
}

/** The commitInterval of group Readers: BENCH_GROUP_COMMIT_INTERVAL, or 0. */
function groupCommitInterval(): number {
  const raw = env("BENCH_GROUP_COMMIT_INTERVAL");
  return raw ? Number(raw) : 0;
}

/**
 * One member of a fresh group reads the topic and its messages are piped
 * into a Writer on the target topic: `reader.pipeTo(writer)`, which hands
 * the Writer a fetched batch at a time. A timer reads the Writer's count of
 * acknowledged messages and, at the job's count, stops the pipe with its
 * signal (`preventAbort`: what was handed over is written; `preventCancel`:
 * the Reader stays open): the clock stops there. Closing the Writer and the
 * Reader (which commits and leaves the group) is off the clock.
 */
async function mirror(job: Job): Promise<void> {
  const commitInterval = groupCommitInterval();
  const start = performance.now();
  const reader = new streamkafka.Reader({
    brokers: job.brokers,
    groupId: job.group,
    topic: job.topic,
    minBytes: job.fetchMinBytes,
    maxBytes: job.fetchMaxBytes,
    maxWait: job.fetchMaxWaitMs,
    commitInterval,
  });
  const writer = newWriter(job, job.target);
  // The source holds the job's count: the pipe is stopped once the Writer
  // has that many acknowledged (its stats count them), as the peers stop
  // when their sends of that many resolve.
  let count = 0;
  const stop = new AbortController();
  const watch = setInterval(() => {
    count += writer.stats().messages;
    if (count >= job.messages) stop.abort();
  }, 2);
  await reader.pipeTo(writer, {
    signal: stop.signal,
    preventAbort: true,
    preventCancel: true,
  })
    .catch((error) => {
      if (!stop.signal.aborted) throw error;
    })
    .finally(() => clearInterval(watch));
  const seconds = (performance.now() - start) / 1000;
  await writer.close();
  await reader.close();
  if (count !== job.messages) {
    throw new Error(`Mirrored ${count} messages, expected ${job.messages}`);
  }
  finish({
    messages: count,
    seconds,
    notes: { api: "Reader (group) piped into a Writer", commitInterval },
  });
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
