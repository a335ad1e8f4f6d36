/** The seed's Conn examples, run as they ship in examples/. */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import process from "node:process";
import { dial, dialLeader } from "../mod.ts";
import { main as autoCreateMain } from "../examples/writer_auto_create.ts";
import { main as balancersMain } from "../examples/writer_balancers.ts";
import { main as compressionMain } from "../examples/writer_compression.ts";
import { main as leastBytesMain } from "../examples/writer_least_bytes.ts";
import { main as multipleTopicsMain } from "../examples/writer_multiple_topics.ts";
import { main as tlsMain } from "../examples/writer_tls.ts";
import { main as controllerMain } from "../examples/controller.ts";
import { main as createTopicsMain } from "../examples/create_topics.ts";
import { main as dialLeaderMain } from "../examples/dial_leader.ts";
import { main as listTopicsMain } from "../examples/list_topics.ts";
import { BROKER, uniqueTopic } from "./_helpers.ts";

const text = new TextDecoder();
const SSL_BROKER = process.env.KAFKA_SSL_BROKERS ?? "127.0.0.1:9095";
const CA_PEM = process.env.KAFKA_CA_PEM ??
  new URL("../.kafka/certs/ca.pem", import.meta.url).pathname;

describe("seed examples", () => {
  test("dial the leader and produce (auto-creates the topic)", async () => {
    const topic = uniqueTopic("seed-leader");
    const messages = await dialLeaderMain(BROKER, topic);
    assert.deepEqual(messages.map((m) => text.decode(m.value!)), [
      "one!",
      "two!",
      "three!",
    ]);
    assert.deepEqual(messages.map((m) => m.offset), [0, 1, 2]);
  });

  test("create a topic explicitly through the controller", async () => {
    const topic = uniqueTopic("seed-create");
    await createTopicsMain(BROKER, topic);
    const conn = await dial(BROKER);
    try {
      const partitions = await conn.readPartitions(topic);
      assert.equal(partitions.length, 1);
      assert.equal(partitions[0].topic, topic);
    } finally {
      conn.close();
    }
  });

  test("reach the controller through a non-leader connection", async () => {
    const conn = await controllerMain(BROKER);
    try {
      const brokers = await conn.brokers();
      assert.ok(brokers.length >= 1);
      assert.equal(conn.address, "127.0.0.1:9092");
    } finally {
      conn.close();
    }
  });

  test("list all topics", async () => {
    const topic = uniqueTopic("seed-list");
    await createTopicsMain(BROKER, topic);
    const topics = await listTopicsMain(BROKER);
    assert.ok(topics.includes(topic), `${topic} should be listed`);
    assert.equal(new Set(topics).size, topics.length, "each topic once");
  });
});

describe("seed Writer examples", () => {
  async function values(topic: string, partitions = 1): Promise<string[]> {
    const out: string[] = [];
    for (let p = 0; p < partitions; p++) {
      const conn = await dialLeader(BROKER, topic, p);
      try {
        const batch = await conn.readBatch({ maxWait: 500 });
        for await (const m of batch) out.push(text.decode(m.value!));
      } finally {
        conn.close();
      }
    }
    return out.sort();
  }

  test("least-bytes writer", async () => {
    const topic = uniqueTopic("seed-lb");
    await createTopicsMain(BROKER, topic);
    await leastBytesMain([BROKER], topic);
    assert.deepEqual(await values(topic), ["Hello World!", "One!", "Two!"]);
  });

  test("create the topic before publishing, retrying LEADER_NOT_AVAILABLE", async () => {
    const topic = uniqueTopic("seed-auto");
    await autoCreateMain([BROKER], topic);
    assert.deepEqual(await values(topic), ["Hello World!", "One!", "Two!"]);
  });

  test("write to multiple topics", async () => {
    const topics = [1, 2, 3].map(() => uniqueTopic("seed-multi"));
    await multipleTopicsMain([BROKER], topics);
    assert.deepEqual(await values(topics[0]), ["Hello World!"]);
    assert.deepEqual(await values(topics[1]), ["One!"]);
    assert.deepEqual(await values(topics[2]), ["Two!"]);
  });

  for (
    const like of ["sarama", "saramaReference", "librdkafka", "java"] as const
  ) {
    test(`${like}-compatible balancer`, async () => {
      const topic = uniqueTopic(`seed-${like}`);
      const admin = await dial(BROKER);
      await admin.createTopics({
        topic,
        numPartitions: 3,
        replicationFactor: 1,
      });
      admin.close();
      await balancersMain([BROKER], topic, like);
      assert.deepEqual(await values(topic, 3), ["paid", "signed up"]);
    });
  }

  test("TLS transport", async () => {
    const topic = uniqueTopic("seed-tls");
    await tlsMain([SSL_BROKER], topic, CA_PEM);
    assert.deepEqual(await values(topic), ["sent over TLS"]);
  });
});

describe("seed compression example", () => {
  for (const codec of ["gzip", "snappy", "lz4", "zstd"] as const) {
    test(`a ${codec} Writer's messages read back transparently`, async () => {
      const topic = uniqueTopic(`seed-${codec}`);
      await createTopicsMain(BROKER, topic);
      await compressionMain([BROKER], topic, codec);
      const conn = await dialLeader(BROKER, topic, 0);
      try {
        const batch = await conn.readBatch({ maxWait: 500 });
        const got: string[] = [];
        for await (const m of batch) got.push(text.decode(m.value!));
        assert.equal(got.length, 100);
        assert.equal(got[99], "compressible message number 99");
      } finally {
        conn.close();
      }
    });
  }
});
