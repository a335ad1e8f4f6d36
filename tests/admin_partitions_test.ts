/**
 * The admin calls of partitions against the real broker: deleteRecords,
 * electLeaders, alterPartitionReassignments, listPartitionReassignments,
 * with their per-partition errors; argument checks.
 */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  Client,
  Cluster,
  dialLeader,
  ErrorCode,
  KafkaError,
  Writer,
} from "../mod.ts";
import { BROKER, noUnhandledRejections, uniqueTopic } from "./_helpers.ts";

/** First and next offsets of a partition, from its leader. */
async function offsets(
  topic: string,
  partition: number,
): Promise<{ first: number; last: number }> {
  const conn = await dialLeader(BROKER, topic, partition);
  try {
    return await conn.readOffsets();
  } finally {
    conn.close();
  }
}

describe("admin Client: partitions", () => {
  const cluster = new Cluster({ brokers: [BROKER] });
  const client = new Client({ cluster: cluster, timeout: 20_000 });
  const topic = uniqueTopic("admin-partitions");
  let brokerId = -1;
  before(async () => {
    const [created] = await client.createTopics([{
      topic,
      numPartitions: 2,
    }]);
    assert.equal(created.error, null);
    brokerId = (await cluster.brokers())[0].id;
  });
  after(async () => {
    await client.deleteTopics([topic]);
    await cluster.close();
  });

  test("deleteRecords moves the low watermark; an unknown partition and an offset past the end fail alone", async () => {
    const one = uniqueTopic("admin-delete-records");
    await client.createTopics([{ topic: one, numPartitions: 1 }]);
    try {
      const writer = new Writer({ brokers: [BROKER], topic: one });
      await writer.writeMessages(
        ...Array.from({ length: 10 }, (_, i) => ({ value: `record ${i}` })),
      );
      await writer.close();
      assert.deepEqual(await offsets(one, 0), { first: 0, last: 10 });
      const missing = uniqueTopic("admin-delete-none");
      const results = await client.deleteRecords([
        { topic: one, partition: 0, before: 4 },
        { topic: one, partition: 3, before: 1 },
        { topic, partition: 0, before: 5 },
        { topic: missing, partition: 0, before: 0 },
      ]);
      assert.deepEqual(
        results.map((r) => [r.topic, r.partition]),
        [[one, 0], [one, 3], [topic, 0], [missing, 0]],
      );
      assert.deepEqual([results[0].lowWatermark, results[0].error], [4, null]);
      assert.equal(
        results[1].error?.code,
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      );
      assert.equal(results[1].lowWatermark, -1);
      assert.equal(results[2].error?.code, ErrorCode.OFFSET_OUT_OF_RANGE);
      assert.equal(
        results[3].error?.code,
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      );
      assert.deepEqual(await offsets(one, 0), { first: 4, last: 10 });
      const [rest] = await client.deleteRecords([
        { topic: one, partition: 0, before: "highWatermark" },
      ]);
      assert.deepEqual([rest.lowWatermark, rest.error], [10, null]);
      assert.deepEqual(await offsets(one, 0), { first: 10, last: 10 });
    } finally {
      await client.deleteTopics([one]);
    }
  });

  test("deleteRecords after the topic's cached metadata went stale finds the new partition", async () => {
    const grown = uniqueTopic("admin-delete-grown");
    await client.createTopics([{ topic: grown, numPartitions: 1 }]);
    try {
      const [first] = await client.deleteRecords([
        { topic: grown, partition: 0, before: 0 },
      ]);
      assert.equal(first.error, null);
      // Another client adds partition 1: this one's cache lacks it.
      const other = new Client({ brokers: [BROKER] });
      try {
        const [grew] = await other.createPartitions([
          { topic: grown, count: 2 },
        ]);
        assert.equal(grew.error, null);
      } finally {
        await other.close();
      }
      assert.deepEqual(
        cluster.cachedTopic(grown)?.partitions.map((p) => p.id),
        [0],
      );
      const [second] = await client.deleteRecords([
        { topic: grown, partition: 1, before: 0 },
      ]);
      assert.deepEqual([second.lowWatermark, second.error], [0, null]);
    } finally {
      await client.deleteTopics([grown]);
    }
  });

  test("electLeaders preferred: ELECTION_NOT_NEEDED per partition on a single broker; unknown ones fail alone", async () => {
    const results = await client.electLeaders("preferred", [
      { topic, partition: 1 },
      { topic, partition: 0 },
      { topic, partition: 7 },
    ]);
    assert.deepEqual(
      results.map((r) => [r.partition, r.error?.code]),
      [
        [1, ErrorCode.ELECTION_NOT_NEEDED],
        [0, ErrorCode.ELECTION_NOT_NEEDED],
        [7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ],
    );
    assert.ok(results[0].error instanceof KafkaError);
    assert.equal(results[0].error.topic, topic);
    const [unclean] = await client.electLeaders("unclean", [
      { topic, partition: 0 },
    ]);
    assert.equal(unclean.error?.code, ErrorCode.ELECTION_NOT_NEEDED);
    // Every partition: none needs an election (the broker leaves them out).
    const all = await client.electLeaders("preferred");
    assert.ok(all.every((r) => r.topic !== topic || r.error !== null));
  });

  test("alterPartitionReassignments: to its own broker succeeds, to a missing broker fails alone; cancelling nothing says so", async () => {
    const results = await client.alterPartitionReassignments([
      { topic, partition: 0, replicas: [brokerId] },
      { topic, partition: 1, replicas: [99] },
    ]);
    assert.deepEqual(results.map((r) => [r.topic, r.partition]), [
      [topic, 0],
      [topic, 1],
    ]);
    assert.equal(results[0].error, null);
    assert.equal(results[1].error?.code, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    assert.match(results[1].error.message, /99/);
    const cancelled = await client.alterPartitionReassignments([
      { topic, partition: 0, replicas: null },
      {
        topic: uniqueTopic("admin-reassign-none"),
        partition: 0,
        replicas: [1],
      },
    ]);
    assert.equal(
      cancelled[0].error?.code,
      ErrorCode.NO_REASSIGNMENT_IN_PROGRESS,
    );
    assert.equal(
      cancelled[1].error?.code,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
    const { topics } = await client.metadata([topic]);
    assert.deepEqual(topics[0].partitions.map((p) => p.replicas), [
      [brokerId],
      [brokerId],
    ]);
  });

  test("listPartitionReassignments: none in progress, of all or of some partitions", async () => {
    const all = await client.listPartitionReassignments();
    assert.deepEqual(all.filter((r) => r.topic === topic), []);
    assert.deepEqual(
      await client.listPartitionReassignments([
        { topic, partition: 0 },
        { topic, partition: 1 },
      ]),
      [],
    );
  });

  test("nothing to do asks nothing", async () => {
    assert.deepEqual(await client.deleteRecords([]), []);
    assert.deepEqual(await client.electLeaders("preferred", []), []);
    assert.deepEqual(await client.alterPartitionReassignments([]), []);
    assert.deepEqual(await client.listPartitionReassignments([]), []);
  });

  test("an abort rejects the call with the signal's reason", async () => {
    await noUnhandledRejections(async () => {
      const controller = new AbortController();
      controller.abort(new Error("stop"));
      await assert.rejects(
        () =>
          client.deleteRecords([{ topic, partition: 0, before: 0 }], {
            signal: controller.signal,
          }),
        /stop/,
      );
      await assert.rejects(
        () =>
          client.electLeaders("preferred", null, {
            signal: controller.signal,
          }),
        /stop/,
      );
    });
  });

  test("bad arguments are refused with the argument, value and what was expected", async () => {
    await assert.rejects(
      () => client.deleteRecords([{ topic, partition: -1, before: 0 }]),
      /Client\.deleteRecords: "records\[0\]\.partition" must be a partition number \(an integer >= 0\), got number -1/,
    );
    await assert.rejects(
      () =>
        client.deleteRecords([{
          topic,
          partition: 0,
          before: "end" as never,
        }]),
      /"records\[0\]\.before" must be an offset \(an integer >= 0\) or "highWatermark", got string "end"/,
    );
    await assert.rejects(
      () =>
        client.deleteRecords([
          { topic, partition: 0, before: 1 },
          { topic, partition: 0, before: 2 },
        ]),
      /"records\[1\]" must be each partition once, got object/,
    );
    await assert.rejects(
      () => client.electLeaders("clean" as never),
      /Client\.electLeaders: "election" must be "preferred" or "unclean", got string "clean"/,
    );
    await assert.rejects(
      () => client.electLeaders("preferred", [{ topic: "", partition: 0 }]),
      /"partitions\[0\]\.topic" must be a topic name, got string ""/,
    );
    await assert.rejects(
      () =>
        client.alterPartitionReassignments([
          { topic, partition: 0, replicas: "1" as never },
        ]),
      /Client\.alterPartitionReassignments: "reassignments\[0\]\.replicas" must be an array of broker ids, or null to cancel, got string "1"/,
    );
    await assert.rejects(
      () => client.listPartitionReassignments(topic as never),
      /"partitions" must be an array of \{ topic, partition \}, got string/,
    );
  });
});
