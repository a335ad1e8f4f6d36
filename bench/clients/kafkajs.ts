/**
 * kafkajs under the benchmark, on Node 22+ (type stripping):
 * `node bench/clients/kafkajs.ts '<job>'`.
 *
 * kafkajs has no producer-side batching (no linger, no batch size): each
 * `send` is one Produce request, so the application batches, with the same
 * chunk and window as the other array APIs. Snappy, LZ4 and ZSTD need codec
 * plugins that are not installed; kafkajs's own error is what gets recorded.
 * Consuming needs a consumer group; `eachBatch` is its fastest path. The
 * consume workloads run it without commits; the group workload with its
 * default autoCommit, which commits after each batch. The mirror workload
 * runs the group's consumer and, from `eachBatch`, `send`s each batch to the
 * target topic and returns once it is acknowledged (at-least-once).
 *
 * @module
 */

import type { Buffer } from "node:buffer";
import {
  CompressionTypes,
  type Consumer,
  type ConsumerCrashEvent,
  type EachBatchPayload,
  Kafka,
  type KafkaMessage,
  logLevel,
} from "kafkajs";
import {
  feed,
  finish,
  type Job,
  latencyOutcome,
  readBuffers,
  run,
  timeWrites,
} from "./_common.ts";

const CODECS = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

run(async (job) => {
  const kafka = new Kafka({
    clientId: "bench-kafkajs",
    brokers: job.brokers,
    logLevel: logLevel.NOTHING,
  });
  if (job.kind === "consume" || job.kind === "group") {
    await consume(kafka, job);
  } else if (job.kind === "mirror") await mirror(kafka, job);
  else await produce(kafka, job);
});

async function produce(kafka: Kafka, job: Job): Promise<void> {
  const values = readBuffers(job);
  const producer = kafka.producer({
    idempotent: job.idempotent,
    allowAutoTopicCreation: false,
  });
  const start = performance.now();
  await producer.connect();
  const send = (messages: { value: Buffer }[]) =>
    producer.send({
      topic: job.topic,
      messages,
      acks: job.acks,
      compression: CODECS[job.compression],
    });
  if (job.kind === "latency") {
    const samples = await timeWrites(
      job.messages,
      job.warmup,
      (i) => send([{ value: values[i % values.length] }]),
    );
    await producer.disconnect();
    finish(latencyOutcome(samples, { api: "send" }));
    return;
  }
  await feed(job, (from, to) => {
    const messages = new Array(to - from);
    for (let i = from; i < to; i++) {
      messages[i - from] = { value: values[i % values.length] };
    }
    return send(messages);
  });
  const seconds = (performance.now() - start) / 1000;
  await producer.disconnect();
  finish({ messages: job.messages, seconds, notes: { api: "send" } });
}

/** The job's group member, with its fetch sizes and wait. */
function newConsumer(kafka: Kafka, job: Job): Consumer {
  return kafka.consumer({
    groupId: job.group,
    minBytes: job.fetchMinBytes,
    maxBytesPerPartition: job.fetchMaxBytes,
    maxWaitTimeInMs: job.fetchMaxWaitMs,
    allowAutoTopicCreation: false,
  });
}

async function consume(kafka: Kafka, job: Job): Promise<void> {
  const consumer = newConsumer(kafka, job);
  const start = performance.now();
  await consumer.connect();
  await consumer.subscribe({ topics: [job.topic], fromBeginning: true });
  let count = 0;
  let counted = 0;
  const autoCommit = job.kind === "group";
  await new Promise<void>((resolve, reject) => {
    consumer.on(
      consumer.events.CRASH,
      (event: ConsumerCrashEvent) => reject(event.payload.error),
    );
    consumer.run({
      autoCommit,
      partitionsConsumedConcurrently: job.partitions,
      eachBatch: ({ batch }: EachBatchPayload) => {
        count += batch.messages.length;
        if (count >= job.messages && counted === 0) {
          counted = count;
          resolve();
        }
        return Promise.resolve();
      },
    }).catch(reject);
  });
  const seconds = (performance.now() - start) / 1000;
  await consumer.disconnect();
  finish({
    messages: counted,
    seconds,
    notes: { api: autoCommit ? "eachBatch, autoCommit" : "eachBatch" },
  });
}

async function mirror(kafka: Kafka, job: Job): Promise<void> {
  const consumer = newConsumer(kafka, job);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const start = performance.now();
  await Promise.all([consumer.connect(), producer.connect()]);
  await consumer.subscribe({ topics: [job.topic], fromBeginning: true });
  let count = 0;
  let end = 0;
  await new Promise<void>((resolve, reject) => {
    consumer.on(
      consumer.events.CRASH,
      (event: ConsumerCrashEvent) => reject(event.payload.error),
    );
    consumer.run({
      partitionsConsumedConcurrently: job.partitions,
      eachBatch: async ({ batch }: EachBatchPayload) => {
        await producer.send({
          topic: job.target,
          messages: batch.messages.map((m: KafkaMessage) => ({
            key: m.key,
            value: m.value,
            headers: m.headers,
          })),
          acks: job.acks,
          compression: CODECS[job.compression],
        });
        count += batch.messages.length;
        if (count >= job.messages && end === 0) {
          end = performance.now();
          resolve();
        }
      },
    }).catch(reject);
  });
  await consumer.disconnect();
  await producer.disconnect();
  finish({
    messages: count,
    seconds: (end - start) / 1000,
    notes: { api: "eachBatch, send per batch, autoCommit" },
  });
}
