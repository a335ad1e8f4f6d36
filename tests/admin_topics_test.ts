/**
 * The admin Client's topic and cluster calls against the real broker:
 * createTopics, deleteTopics, createPartitions, metadata, describeCluster,
 * apiVersions, with their per-topic errors; argument checks; idle
 * connections closed by the shared Cluster.
 */

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import {
  Client,
  Cluster,
  ErrorCode,
  KafkaError,
  Reader,
  Writer,
} from "../mod.ts";
import { BROKER, sleep, uniqueTopic } from "./_helpers.ts";

describe("admin Client: topics and cluster", () => {
  const client = new Client({ brokers: [BROKER], timeout: 20_000 });
  after(() => client.close());

  test("a closed Client refuses its calls with a ClosedError, its own cluster or a shared one (which stays open)", async () => {
    const cluster = new Cluster({ brokers: [BROKER] });
    const shared = new Client({ cluster });
    const own = new Client({ brokers: [BROKER] });
    try {
      await shared.describeCluster();
      await own.describeCluster();
      await shared.close();
      await own.close();
      for (const closed of [shared, own]) {
        for (
          const call of [
            () => closed.describeCluster(),
            () => closed.metadata(),
            () => closed.listGroups(),
            () => closed.createTopics([{ topic: uniqueTopic("closed") }]),
            () => closed.groupLag("closed-group"),
          ]
        ) {
          await assert.rejects(
            call(),
            /^ClosedError: Cannot make the call: the Client is closed$/,
          );
        }
      }
      // The shared cluster is not the Client's to close.
      const other = new Client({ cluster });
      assert.ok((await other.describeCluster()).brokers.length > 0);
      await other.close();
    } finally {
      await cluster.close();
    }
  });

  test("describeTopics pages through partitions (with ELR and authorized operations), all topics or some", async () => {
    const topic = uniqueTopic("admin-describe-topics");
    const [created] = await client.createTopics([{ topic, numPartitions: 5 }]);
    assert.equal(created.error, null);
    // Two partitions per response: the topic comes in three pages.
    const [t] = await client.describeTopics([topic], { partitionLimit: 2 });
    assert.equal(t.topic, topic);
    assert.equal(t.error, null);
    assert.equal(t.isInternal, false);
    assert.deepEqual(t.partitions.map((p) => p.partition), [0, 1, 2, 3, 4]);
    const meta = await client.metadata([topic]);
    assert.equal(t.topicId, meta.topics[0].topicId);
    for (const [i, p] of t.partitions.entries()) {
      const m = meta.topics[0].partitions[i];
      assert.deepEqual(
        [p.leader, p.replicas, p.isr, p.error],
        [m.leader, m.replicas, m.isr, null],
      );
      // Kafka 4.4 runs with ELR on: in sync, so none outside the ISR.
      assert.deepEqual(p.eligibleLeaderReplicas, []);
    }
    // The test broker's ACLs let ANONYMOUS do anything: READ (3) and
    // DESCRIBE (8) among the bits.
    assert.equal(typeof t.authorizedOperations, "number");
    assert.ok((t.authorizedOperations! & (1 << 3)) !== 0, "READ");
    assert.ok((t.authorizedOperations! & (1 << 8)) !== 0, "DESCRIBE");

    // Every topic, one partition per response.
    const all = await client.describeTopics(null, { partitionLimit: 1 });
    const mine = all.find((x) => x.topic === topic);
    assert.deepEqual(mine?.partitions.map((p) => p.partition), [0, 1, 2, 3, 4]);
    const names = all.map((x) => x.topic);
    assert.deepEqual(names, [...names].sort());

    const missing = uniqueTopic("admin-describe-missing");
    const [unknown] = await client.describeTopics([missing]);
    assert.equal(unknown.error?.name, "UNKNOWN_TOPIC_OR_PARTITION");
    assert.deepEqual(unknown.partitions, []);

    await assert.rejects(
      client.describeTopics([topic], { partitionLimit: 0 }),
      /Client\.describeTopics: "partitionLimit" must be an integer from 1 to 2000, got number 0/,
    );
    await assert.rejects(
      client.describeTopics([""]),
      /"topics" must be an array of topic names, or null/,
    );
  });

  test("createTopics: new topics created, an existing one fails alone", async () => {
    const a = uniqueTopic("admin-create-a");
    const b = uniqueTopic("admin-create-b");
    const first = await client.createTopics([{ topic: a, numPartitions: 2 }]);
    assert.equal(first[0].error, null);
    assert.equal(first[0].numPartitions, 2);
    assert.match(first[0].topicId, /^[A-Za-z0-9_-]{22}$/);
    const results = await client.createTopics([
      { topic: b, numPartitions: 3, configs: { "cleanup.policy": "compact" } },
      { topic: a, numPartitions: 1 },
    ]);
    assert.deepEqual(results.map((r) => r.topic), [b, a]);
    assert.equal(results[0].error, null);
    assert.equal(results[0].numPartitions, 3);
    assert.equal(results[0].configs["cleanup.policy"], "compact");
    assert.ok(results[1].error instanceof KafkaError);
    assert.equal(results[1].error.code, ErrorCode.TOPIC_ALREADY_EXISTS);
    const { topics } = await client.metadata([a, b]);
    assert.deepEqual(
      topics.map((t) => [t.topic, t.partitions.length]),
      [
        [a, 2],
        [b, 3],
      ].sort((x, y) => String(x[0]) < String(y[0]) ? -1 : 1),
    );
    const deleted = await client.deleteTopics([a, b]);
    assert.deepEqual(deleted.map((d) => d.error), [null, null]);
  });

  test("createTopics validateOnly creates nothing; a bad replication factor fails alone", async () => {
    const a = uniqueTopic("admin-validate");
    const [checked] = await client.createTopics([{ topic: a }], {
      validateOnly: true,
    });
    assert.equal(checked.error, null);
    const { topics } = await client.metadata([a]);
    assert.equal(topics[0].error?.code, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const b = uniqueTopic("admin-rf");
    const results = await client.createTopics([
      { topic: a, numPartitions: 1 },
      { topic: b, replicationFactor: 3 },
    ]);
    assert.equal(results[0].error, null);
    assert.equal(
      results[1].error?.code,
      ErrorCode.INVALID_REPLICATION_FACTOR,
    );
    await client.deleteTopics([a]);
  });

  test("deleteTopics: an unknown topic fails alone", async () => {
    const a = uniqueTopic("admin-delete");
    await client.createTopics([{ topic: a }]);
    const results = await client.deleteTopics([a, uniqueTopic("admin-none")]);
    assert.equal(results[0].error, null);
    assert.equal(results[1].error?.code, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  test("createPartitions grows one topic; a shrink and an unknown topic fail alone", async () => {
    const a = uniqueTopic("admin-grow");
    const b = uniqueTopic("admin-shrink");
    await client.createTopics([
      { topic: a, numPartitions: 1 },
      { topic: b, numPartitions: 3 },
    ]);
    const results = await client.createPartitions([
      { topic: a, count: 4 },
      { topic: b, count: 2 },
      { topic: uniqueTopic("admin-none"), count: 2 },
    ]);
    assert.equal(results[0].error, null);
    assert.equal(results[1].error?.code, ErrorCode.INVALID_PARTITIONS);
    assert.equal(results[2].error?.code, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const { topics } = await client.metadata([a]);
    assert.equal(topics[0].partitions.length, 4);
    await client.deleteTopics([a, b]);
  });

  test("metadata of every topic lists brokers, leaders and replicas", async () => {
    const a = uniqueTopic("admin-meta");
    await client.createTopics([{ topic: a, numPartitions: 2 }]);
    const m = await client.metadata();
    assert.ok(m.brokers.length >= 1);
    assert.ok(m.brokers.some((b) => b.id === m.controllerId));
    const t = m.topics.find((x) => x.topic === a);
    assert.ok(t, "the new topic is listed");
    assert.equal(t.isInternal, false);
    for (const p of t.partitions) {
      assert.ok(m.brokers.some((b) => b.id === p.leader));
      assert.deepEqual(p.replicas, [p.leader]);
      assert.deepEqual(p.isr, [p.leader]);
      assert.equal(p.error, null);
    }
    await client.deleteTopics([a]);
  });

  test("describeCluster and apiVersions describe the broker", async () => {
    const d = await client.describeCluster({
      includeAuthorizedOperations: true,
    });
    assert.match(d.clusterId, /^[A-Za-z0-9_-]{22}$/);
    assert.ok(d.brokers.some((b) => b.id === d.controllerId));
    assert.equal(d.brokers[0].isFenced, false);
    assert.equal(typeof d.authorizedOperations, "number");
    const v = await client.apiVersions();
    assert.equal(v.broker, BROKER.replace("localhost", v.broker.split(":")[0]));
    const produce = v.apis.find((a) => a.apiKey === 0);
    assert.ok(produce && produce.maxVersion >= 9);
    assert.ok((v.features["metadata.version"] ?? 0) > 0);
    const byId = await client.apiVersions({ broker: d.brokers[0].id });
    assert.equal(byId.apis.length, v.apis.length);
  });

  test("bad arguments are refused with the argument, value and what was expected", async () => {
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      () => client.listGroups({ timeout: "5000" as any }),
      /^TypeError: Client\.listGroups: "timeout" must be a positive number of milliseconds, got "5000" \(string\)$/,
    );
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      () => client.describeCluster({ signal: {} as any }),
      /^TypeError: Client\.describeCluster: "signal" must be an AbortSignal, got \{\} \(object\)$/,
    );
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      () => client.listOffsets([{ partition: 0 } as any]),
      /"queries\[0\]\.topic" must be a topic name, got undefined$/,
    );
    await assert.rejects(
      () => client.createTopics([{ topic: "" }]),
      /Client\.createTopics: "topics\[0\]\.topic" must be a topic name, got string ""/,
    );
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      () => client.createTopics([{ topic: "x", numpartitions: 3 } as any]),
      /Client\.createTopics: "topics\[0\]": unknown option "numpartitions"; did you mean "numPartitions"\?/,
    );
    await assert.rejects(
      () => client.createTopics([{ topic: "x", numPartitions: 0 }]),
      /"topics\[0\]\.numPartitions" must be a positive integer up to 2147483647 \(or -1: the broker's default\), got number 0/,
    );
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      () => client.deleteTopics("orders" as any),
      /"topics" must be an array of topic names, got string "orders"/,
    );
    await assert.rejects(
      () => client.createPartitions([{ topic: "x", count: 1.5 }]),
      /"increases\[0\]\.count" must be the new total number of partitions/,
    );
    assert.throws(
      () => new Client({ brokers: [] }),
      /"brokers" must list at least one/,
    );
    assert.throws(
      () => new Client({ brokers: [BROKER], timeout: -1 }),
      /"timeout" must be a positive number of milliseconds, got -1 \(number\)/,
    );
  });

  test("a Writer, a Reader and a Client share one Cluster: its metadata and its brokers' connections", async () => {
    const cluster = new Cluster({ brokers: [BROKER] });
    const shared = new Client({ cluster });
    const topic = uniqueTopic("admin-shared");
    try {
      await shared.createTopics([{ topic, numPartitions: 2 }]);
      const writer = new Writer({ cluster, topic });
      await writer.writeMessages({ value: "a" }, { value: "b" });
      await writer.close();
      const cached = cluster.cachedTopic(topic);
      assert.equal(cached?.partitions.length, 2, "the Writer filled the cache");
      const reader = new Reader({ cluster, topic, partition: 0 });
      const ends = await shared.listOffsets([
        { topic, partition: 0 },
        { topic, partition: 1 },
      ]);
      assert.equal(ends[0].offset + ends[1].offset, 2);
      await reader.close();
      await shared.close();
      // The Client did not close the shared Cluster: its lanes stay usable.
      const lanes = new Set(
        cluster.connectionKeys().map((k) => k.split("/")[1]),
      );
      assert.ok(lanes.has("admin"), `lanes: ${[...lanes]}`);
      assert.ok(lanes.size >= 2, `lanes: ${[...lanes]}`);
      const again = new Client({ cluster });
      assert.equal(
        (await again.metadata([topic])).topics[0].partitions.length,
        2,
      );
      await again.deleteTopics([topic]);
    } finally {
      await cluster.close();
    }
  });

  test("a shared Cluster closes connections idle for longer than idleTimeout", async () => {
    const cluster = new Cluster({ brokers: [BROKER], idleTimeout: 300 });
    const shared = new Client({ cluster });
    try {
      await shared.describeCluster();
      assert.ok(cluster.connectionKeys().some((k) => k.endsWith("/admin")));
      await sleep(1200);
      assert.deepEqual(
        cluster.connectionKeys().filter((k) => k.endsWith("/admin")),
        [],
      );
      // The next call dials again.
      const d = await shared.describeCluster();
      assert.ok(d.brokers.length >= 1);
      await shared.close();
      // Closing the Client leaves the shared Cluster open.
      assert.ok((await cluster.brokers()).length >= 1);
    } finally {
      await cluster.close();
    }
  });
});
