/**
 * Helpers of the transaction tests (the admin Client's raw calls and the
 * transactional Writer): reading what read_committed Readers see, the
 * group's stable offsets, topics whose leaders are ready, and batches
 * written with a raw Produce request.
 */

import assert from "node:assert/strict";
import {
  Client,
  type Cluster,
  ErrorCode,
  KafkaError,
  type ProducerIdAndEpoch,
  Reader,
} from "../mod.ts";
import { Produce } from "../lib/protocol/messages/produce.ts";
import { encodeRecordBatch } from "../lib/protocol/records.ts";
import {
  produceError,
  produceOutcomes,
  produceRequest,
} from "../lib/requests/produce.ts";
import { BROKER, sleep } from "./_helpers.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();
/**
 * Writes one batch of `values` to a partition with a Produce request:
 * transactional (with the producer's id, epoch and `baseSequence`) unless
 * `producer` is null; stamped `timestamp` (default now); in Produce
 * `version` (default the highest both sides serve). Returns the batch's
 * base offset.
 */
export async function produce(
  cluster: Cluster,
  topic: string,
  partition: number,
  values: string[],
  producer: ProducerIdAndEpoch & { transactionalId: string } | null,
  baseSequence = 0,
  { timestamp = Date.now(), version }: {
    timestamp?: number;
    version?: number;
  } = {},
): Promise<number> {
  const records = encodeRecordBatch(
    values.map((v) => ({
      key: null,
      value: encoder.encode(v),
      timestamp,
    })),
    producer
      ? {
        producerId: producer.producerId,
        producerEpoch: producer.producerEpoch,
        baseSequence,
        transactional: true,
      }
      : {},
  );
  const body = {
    ...produceRequest([{ topic, partition, records }], -1, 10_000),
    transactionalId: producer?.transactionalId ?? null,
  };
  // A topic just created may not have its leader ready yet: the same batch
  // (same sequence) is sent again.
  for (let attempt = 1;; attempt++) {
    const { conn } = await cluster.leader(topic, partition, "test-produce");
    const response = await conn.request(Produce, body, { version });
    const outcome = produceOutcomes(response).get(topic)?.get(partition);
    const error = produceError(outcome, topic, partition);
    if (!error) return outcome!.baseOffset;
    if (!error.retriable || attempt >= 50) throw error;
    cluster.invalidate(topic);
    await sleep(100);
  }
}

/** The values a Reader reads from a partition up to `last`. */
export async function readUntil(
  topic: string,
  partition: number,
  last: string,
  isolationLevel: "read_committed" | "read_uncommitted" = "read_committed",
): Promise<string[]> {
  const reader = new Reader({
    brokers: [BROKER],
    topic,
    partition,
    isolationLevel,
    maxWait: 500,
  });
  try {
    const values: string[] = [];
    const signal = AbortSignal.timeout(15_000);
    while (values.at(-1) !== last) {
      const m = await reader.readMessage({ signal });
      values.push(decoder.decode(m.value ?? new Uint8Array()));
    }
    return values;
  } finally {
    await reader.close();
  }
}

/**
 * The group's committed offsets of `partitions`, asked with requireStable
 * (the admin Client's offsetFetch), again while a transaction's offsets
 * are pending (UNSTABLE_OFFSET_COMMIT).
 */
export async function groupOffsets(
  cluster: Cluster,
  groupId: string,
  partitions: { topic: string; partition: number }[],
): Promise<number[]> {
  const client = new Client({ cluster });
  // A loaded broker writes the markers of a commit seconds later.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const offsets = await client.offsetFetch(groupId, partitions, {
      requireStable: true,
    });
    const unstable = offsets.some((o) =>
      o.error instanceof KafkaError &&
      o.error.code === ErrorCode.UNSTABLE_OFFSET_COMMIT
    );
    if (!unstable || Date.now() > deadline) {
      for (const o of offsets) assert.equal(o.error, null);
      return offsets.map((o) => o.offset);
    }
    await sleep(100);
  }
}

/**
 * Creates a topic and waits until the broker serves it: every partition
 * has a leader in the metadata (the transaction coordinator answers
 * UNKNOWN_TOPIC_OR_PARTITION for a topic it does not know yet).
 */
export async function createTopic(
  client: Client,
  topic: string,
  partitions: number,
) {
  const [created] = await client.createTopics([{
    topic,
    numPartitions: partitions,
  }]);
  assert.equal(created.error, null);
  for (let attempt = 0; attempt < 100; attempt++) {
    const [t] = (await client.metadata([topic])).topics;
    if (
      t.error === null && t.partitions.length === partitions &&
      t.partitions.every((p) => p.leader >= 0 && p.error === null)
    ) return;
    await sleep(100);
  }
  assert.fail(`${topic} has no leaders after 10 s`);
}
