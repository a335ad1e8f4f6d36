/** The seed's Conn examples, run as they ship in examples/. */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { dial } from "../mod.ts";
import { main as controllerMain } from "../examples/controller.ts";
import { main as createTopicsMain } from "../examples/create_topics.ts";
import { main as dialLeaderMain } from "../examples/dial_leader.ts";
import { main as listTopicsMain } from "../examples/list_topics.ts";
import { BROKER, uniqueTopic } from "./_helpers.ts";

const text = new TextDecoder();

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
