/** The seed's examples, run as they ship in examples/. */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import process from "node:process";
import { Cluster, dial, dialLeader, type Message, Reader } from "../mod.ts";
import { OffsetFetch } from "../lib/protocol/messages/offset_fetch.ts";
import {
  committedOffsets,
  offsetFetchRequest,
} from "../lib/requests/offsets.ts";
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
import { main as groupReaderMain } from "../examples/reader_group.ts";
import { main as explicitCommitsMain } from "../examples/reader_group_explicit_commits.ts";
import { main as commitIntervalMain } from "../examples/reader_group_commit_interval.ts";
import { main as consumerProtocolMain } from "../examples/reader_group_consumer_protocol.ts";
import { main as patternMain } from "../examples/reader_group_pattern.ts";
import { main as tracingMain } from "../examples/tracing.ts";
import { main as processorMain } from "../examples/processor.ts";
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
  const cases = [
    ["gzip"],
    ["snappy"],
    ["lz4"],
    ["zstd"],
    ["gzip", 1],
    ["zstd", 19],
  ] as const;
  for (const [codec, level] of cases) {
    const at = level === undefined ? "" : ` at level ${level}`;
    test(`a ${codec} Writer's messages${at} read back transparently`, async () => {
      const topic = uniqueTopic(`seed-${codec}`);
      await createTopicsMain(BROKER, topic);
      await compressionMain([BROKER], topic, codec, level);
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

describe("seed consumer-group examples", () => {
  /** The group's committed offset of partition 0 (-1 for none). */
  async function committed(groupId: string, topic: string): Promise<number> {
    const cluster = new Cluster({ brokers: [BROKER] });
    try {
      const conn = await cluster.coordinator(groupId);
      const list = [{ topic, partition: 0 }];
      const { version, body } = offsetFetchRequest(
        groupId,
        list,
        conn.pickVersion(OffsetFetch),
      );
      const response = await conn.request(OffsetFetch, body, { version });
      return committedOffsets(response, groupId, list, conn.address)[0].offset;
    } finally {
      await cluster.close();
    }
  }

  /** [offset, key, value] of what an example read. */
  const read = (messages: Message[]) =>
    messages.map((m) => [
      m.offset,
      text.decode(m.key!),
      text.decode(m.value!),
    ]);

  /** What a run writes (ten messages) at the offsets it lands on. */
  const written = (from: number) =>
    Array.from({ length: 10 }, (_, i) => [
      from + i,
      `Key-${i}`,
      `message ${i}`,
    ]);

  const examples = [
    ["readMessage commits each message", groupReaderMain],
    ["fetchMessage, then commitMessages", explicitCommitsMain],
    ["commitInterval (1 s) and close commit", commitIntervalMain],
    ["the consumer protocol (KIP-848)", consumerProtocolMain],
  ] as const;
  test("group Reader subscribed by pattern: both topics read; a second run goes on from the commits", async () => {
    const prefix = uniqueTopic("seed-pattern");
    const groupId = uniqueTopic("seed-pattern-id");
    const values = (messages: Message[]) =>
      messages.map((m) => text.decode(m.value!)).sort();
    const each = (topic: string) =>
      Array.from({ length: 5 }, (_, i) => `${topic} ${i}`);
    const topics = [`${prefix}.orders`, `${prefix}.refunds`];
    const first = await patternMain(BROKER, prefix, groupId);
    assert.deepEqual(values(first), topics.flatMap(each).sort());
    const second = await patternMain(BROKER, prefix, groupId);
    assert.deepEqual(values(second), topics.flatMap(each).sort());
    // Only what the second run wrote: offsets 5 to 9 of each topic.
    assert.deepEqual(
      second.map((m) => `${m.topic}/${m.offset}`).sort(),
      topics.flatMap((t) => [5, 6, 7, 8, 9].map((o) => `${t}/${o}`)),
    );
    for (const topic of topics) {
      assert.equal(await committed(groupId, topic), 10);
    }
  });

  test("Processor: each customer's orders in order, one retried, one dead-lettered; a second run goes on from the commits", async () => {
    const topic = uniqueTopic("seed-processor");
    const groupId = uniqueTopic("seed-processor-id");
    for (let run = 0; run < 2; run++) {
      const { charged, deadLettered } = await processorMain(
        BROKER,
        topic,
        groupId,
      );
      assert.equal(charged.length, 11);
      for (const customer of ["ada", "bob", "cy"]) {
        assert.deepEqual(
          charged.filter((o) => o.startsWith(`${customer} `)),
          [1, 2, 3, 4].map((n) => `${customer} order ${n}`)
            .filter((o) => o !== "cy order 3"),
        );
      }
      assert.deepEqual(deadLettered, ["cy order 3"]);
      // The second run processes only what it wrote.
      assert.equal(await committed(groupId, topic), 12 * (run + 1));
    }
    // Both runs' declined orders, with their errors.
    const dead = new Reader({
      brokers: [BROKER],
      topic: `${topic}.dead-letters`,
      partition: 0,
    });
    try {
      for (let i = 0; i < 2; i++) {
        const m = await dead.readMessage();
        assert.equal(text.decode(m.value!), "cy order 3");
        assert.equal(
          text.decode(m.headers[0].value as Uint8Array),
          "Error: card declined",
        );
      }
    } finally {
      await dead.close();
    }
  });

  for (const [what, main] of examples) {
    test(`group Reader, ${what}: a second run goes on from the commits`, async () => {
      const topic = uniqueTopic("seed-group");
      const groupId = uniqueTopic("seed-group-id");
      const first = await main(BROKER, topic, groupId);
      assert.deepEqual(read(first), written(0));
      assert.ok(first.every((m) => m.topic === topic && m.partition === 0));
      assert.equal(await committed(groupId, topic), 10);
      // The same group again: only the ten messages this run writes.
      const second = await main(BROKER, topic, groupId);
      assert.deepEqual(read(second), written(10));
      assert.equal(await committed(groupId, topic), 20);
    });
  }
});

describe("tracing example", () => {
  test("checkout > send > process > bill, for each of three messages", async () => {
    const spans = await tracingMain(BROKER, uniqueTopic("traced"));
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    const parentName = (s: (typeof spans)[number]) => {
      const id = s.parentSpanContext?.spanId;
      return id === undefined ? undefined : byId.get(id)?.name;
    };
    const names = spans.map((s) => s.name.split(" ")[0]).sort();
    assert.deepEqual(names, [
      "bill",
      "bill",
      "bill",
      "checkout",
      "process",
      "process",
      "process",
      "send",
      "send",
      "send",
    ]);
    for (const s of spans) {
      const expected = {
        checkout: undefined,
        send: "checkout",
        process: "send",
        bill: "process",
      }[s.name.split(" ")[0]];
      assert.equal(parentName(s)?.split(" ")[0], expected, s.name);
    }
    assert.equal(new Set(spans.map((s) => s.spanContext().traceId)).size, 1);
  });
});
