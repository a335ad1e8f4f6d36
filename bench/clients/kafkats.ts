/**
 * @kafkats/client under the benchmark, on Node 22+ (type stripping):
 * `node bench/clients/kafkats.ts '<job>'`.
 *
 * Its producer batches on its own (lingerMs, maxBatchBytes per partition
 * batch, up to 5 requests in flight per broker), so `send` gets the same
 * chunk and window as the other array APIs, with the job's linger and
 * batch bytes; keyless messages go round-robin (its default, murmur2, sends
 * them to one sticky partition at a time). Acks are "leader" for acks=1 and
 * "all" (its default) for acks=all. The consume workloads read without a
 * group: `runBatch` with a manual assignment of every partition from offset
 * 0 and no commits. The group workload joins a fresh group (cooperative-
 * sticky, its default) with `runBatch` and its default autocommit (every
 * 5 s and on stop), from the earliest offsets. Both process the partitions
 * concurrently (`partitionConcurrency`, default 1) and leave the other
 * consumer settings at their defaults, such as isolation read_committed
 * and maxRecords 500 per poll. The mirror workload runs the group's
 * consumer and `send`s each batch to the target topic from the handler,
 * which returns once it is acknowledged (at-least-once).
 *
 * @module
 */

// Node resolves the package in bench/node_modules; `deno check`, whose
// configuration does not list it, takes its typings from there too.
// @ts-types="../node_modules/@kafkats/client/dist/index.d.ts"
import {
  type Acks,
  type Consumer,
  KafkaClient,
  type Message,
  type Producer,
  type ProducerMessage,
} from "@kafkats/client";
import {
  feed,
  finish,
  type Job,
  latencyOutcome,
  readBuffers,
  run,
  timeWrites,
} from "./_common.ts";

run(async (job) => {
  const client = new KafkaClient({
    brokers: job.brokers,
    clientId: "bench-kafkats",
    logLevel: "error",
  });
  if (job.kind === "consume" || job.kind === "group") {
    await consume(client, job);
  } else if (job.kind === "mirror") await mirror(client, job);
  else await produce(client, job);
});

function newProducer(client: KafkaClient, job: Job): Producer {
  const acks: Acks = job.acks === 1 ? "leader" : "all";
  return client.producer({
    acks,
    idempotent: job.idempotent,
    lingerMs: job.lingerMs,
    maxBatchBytes: job.batchBytes,
    compression: job.compression,
    partitioner: "round-robin",
  });
}

function newConsumer(client: KafkaClient, job: Job): Consumer {
  return client.consumer({
    groupId: job.group,
    minBytes: job.fetchMinBytes,
    maxBytesPerPartition: job.fetchMaxBytes,
    maxWaitMs: job.fetchMaxWaitMs,
    autoOffsetReset: "earliest",
  });
}

async function produce(client: KafkaClient, job: Job): Promise<void> {
  const values = readBuffers(job);
  const producer = newProducer(client, job);
  const start = performance.now();
  await client.connect();
  if (job.kind === "latency") {
    const samples = await timeWrites(
      job.messages,
      job.warmup,
      (i) => producer.send(job.topic, { value: values[i % values.length] }),
    );
    await producer.disconnect();
    finish(latencyOutcome(samples, { api: "send" }));
    return;
  }
  await feed(job, (from, to) => {
    const messages: ProducerMessage[] = new Array(to - from);
    for (let i = from; i < to; i++) {
      messages[i - from] = { value: values[i % values.length] };
    }
    return producer.send(job.topic, messages);
  });
  const seconds = (performance.now() - start) / 1000;
  await producer.disconnect();
  finish({ messages: job.messages, seconds, notes: { api: "send" } });
}

async function consume(client: KafkaClient, job: Job): Promise<void> {
  const group = job.kind === "group";
  const consumer = newConsumer(client, job);
  const start = performance.now();
  await client.connect();
  let count = 0;
  let end = 0;
  const running = consumer.runBatch(
    job.topic,
    (messages) => {
      count += messages.length;
      if (count >= job.messages && end === 0) {
        end = performance.now();
        consumer.stop();
      }
      return Promise.resolve();
    },
    {
      partitionConcurrency: job.partitions,
      ...(group ? {} : {
        assignment: Array.from({ length: job.partitions }, (_, partition) => ({
          topic: job.topic,
          partition,
          offset: 0n,
        })),
        commitOffsets: false,
      }),
    },
  );
  await running;
  if (end === 0) {
    throw new Error(`Read ${count} messages, expected ${job.messages}`);
  }
  await client.disconnect();
  finish({
    messages: count,
    seconds: (end - start) / 1000,
    notes: {
      api: group ? "runBatch, autocommit" : "runBatch, assignment, no commits",
    },
  });
}

async function mirror(client: KafkaClient, job: Job): Promise<void> {
  const consumer = newConsumer(client, job);
  const producer = newProducer(client, job);
  const start = performance.now();
  await client.connect();
  let count = 0;
  let end = 0;
  const copy = (message: Message): ProducerMessage => ({
    key: message.key,
    value: message.value,
    headers: message.headers,
  });
  await consumer.runBatch(
    job.topic,
    async (messages) => {
      await producer.send(job.target, messages.map(copy));
      count += messages.length;
      if (count >= job.messages && end === 0) {
        end = performance.now();
        consumer.stop();
      }
    },
    { partitionConcurrency: job.partitions },
  );
  if (end === 0) {
    throw new Error(`Mirrored ${count} messages, expected ${job.messages}`);
  }
  await producer.disconnect();
  await client.disconnect();
  finish({
    messages: count,
    seconds: (end - start) / 1000,
    notes: { api: "runBatch, send per batch, autocommit" },
  });
}
