/**
 * @platformatic/kafka under the benchmark, on Node 22+ (type stripping):
 * `node bench/clients/platformatic.ts '<job>'`.
 *
 * Its `send` is one Produce request per call, like kafkajs's, so the
 * application batches with the same chunk and window. Its default
 * partitioner sends every keyless message to partition 0, so a round-robin
 * partitioner spreads them as the other clients do. Consuming needs a
 * consumer group; the messages stream is read through "data" events. The
 * consume workloads run it without commits from the earliest offsets; the
 * group workload with its default autocommit (after each fetch), starting
 * from the group's commits and falling back on the earliest offsets. The
 * mirror workload reads as the group workload does and pipes the stream,
 * through a generator that points each message at the target topic and
 * stops at the count, into `producer.asStream()` (its Writable, which sends
 * a batch at a time: batchSize the chunk, batchTime the linger, and a
 * highWaterMark of two batches so that one fills while the other is sent).
 *
 * @module
 */

import { pipeline } from "node:stream/promises";
import {
  Consumer,
  type Message,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  type MessageToProduce,
  Producer,
} from "@platformatic/kafka";
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
  if (job.kind === "consume" || job.kind === "group") await consume(job);
  else if (job.kind === "mirror") await mirror(job);
  else await produce(job);
});

function newProducer(job: Job): Producer {
  let next = 0;
  return new Producer({
    clientId: "bench-platformatic",
    bootstrapBrokers: job.brokers,
    acks: job.acks,
    idempotent: job.idempotent,
    autocreateTopics: false,
    partitioner: () => next++ % job.partitions,
    ...(job.compression === "none" ? {} : { compression: job.compression }),
  });
}

async function produce(job: Job): Promise<void> {
  const values = readBuffers(job);
  const producer = newProducer(job);
  const start = performance.now();
  const send = (messages: MessageToProduce[]) => producer.send({ messages });
  if (job.kind === "latency") {
    const samples = await timeWrites(
      job.messages,
      job.warmup,
      (i) => send([{ topic: job.topic, value: values[i % values.length] }]),
    );
    await producer.close();
    finish(latencyOutcome(samples, { api: "send" }));
    return;
  }
  await feed(job, (from, to) => {
    const messages: MessageToProduce[] = new Array(to - from);
    for (let i = from; i < to; i++) {
      messages[i - from] = {
        topic: job.topic,
        value: values[i % values.length],
      };
    }
    return send(messages);
  });
  const seconds = (performance.now() - start) / 1000;
  await producer.close();
  finish({ messages: job.messages, seconds, notes: { api: "send" } });
}

/** The job's group member, with its fetch sizes and wait. */
function newConsumer(job: Job, autocommit: boolean): Consumer {
  return new Consumer({
    clientId: "bench-platformatic",
    groupId: job.group,
    bootstrapBrokers: job.brokers,
    minBytes: job.fetchMinBytes,
    maxBytesPerPartition: job.fetchMaxBytes,
    maxWaitTime: job.fetchMaxWaitMs,
    autocommit,
  });
}

async function consume(job: Job): Promise<void> {
  const group = job.kind === "group";
  const consumer = newConsumer(job, group);
  const start = performance.now();
  const stream = await consumer.consume({
    topics: [job.topic],
    ...(group
      ? {
        mode: MessagesStreamModes.COMMITTED,
        fallbackMode: MessagesStreamFallbackModes.EARLIEST,
      }
      : { mode: MessagesStreamModes.EARLIEST }),
  });
  let count = 0;
  await new Promise<void>((resolve, reject) => {
    stream.on("error", reject);
    stream.on("data", () => {
      if (++count === job.messages) resolve();
    });
  });
  const seconds = (performance.now() - start) / 1000;
  await consumer.close(true);
  finish({
    messages: job.messages,
    seconds,
    notes: { api: group ? "consume stream, autocommit" : "consume stream" },
  });
}

async function mirror(job: Job): Promise<void> {
  const consumer = newConsumer(job, true);
  const producer = newProducer(job);
  const start = performance.now();
  const stream = await consumer.consume({
    topics: [job.topic],
    mode: MessagesStreamModes.COMMITTED,
    fallbackMode: MessagesStreamFallbackModes.EARLIEST,
  });
  let count = 0;
  await pipeline(
    stream,
    async function* (messages: AsyncIterable<Message>) {
      for await (const message of messages) {
        const out: MessageToProduce = {
          topic: job.target,
          key: message.key,
          value: message.value,
          headers: message.headers,
        };
        yield out;
        if (++count === job.messages) return;
      }
    },
    producer.asStream({
      batchSize: job.chunk,
      batchTime: job.lingerMs,
      highWaterMark: 2 * job.chunk,
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  await consumer.close(true);
  await producer.close();
  if (count !== job.messages) {
    throw new Error(`Mirrored ${count} messages, expected ${job.messages}`);
  }
  finish({
    messages: count,
    seconds,
    notes: { api: "consume stream piped into producer.asStream()" },
  });
}
