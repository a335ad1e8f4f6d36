/**
 * One share group of our ShareReader and Kafka's own share consumer
 * (`VerifiableShareConsumer` from kafka-tools, a KafkaShareConsumer in
 * Java 17+ on the broker's jars): both join, then messages come, and the
 * partitions' leader hands each to one of them. Across both, every message
 * is read, none by both, and each side reads some.
 */

import assert from "node:assert/strict";
import { createInterface } from "node:readline";
import { describe, test } from "node:test";
import { Client, ShareReader } from "../mod.ts";
import { ensureJars } from "../tools/kafka.ts";
import {
  BROKER,
  kafkaJava,
  noUnhandledRejections,
  sleep,
  uniqueTopic,
} from "./_helpers.ts";
import { produce, setGroupConfig, topicWith, until } from "./_group.ts";

const text = new TextDecoder();

describe("a share group of ours and Java's", () => {
  test("every message read once, by one of them; each reads some", async () => {
    await noUnhandledRejections(async () => {
      const topic = await topicWith(3);
      const groupId = uniqueTopic("interop-sg");
      await setGroupConfig(groupId, {
        "share.auto.offset.reset": "earliest",
        "share.heartbeat.interval.ms": "200",
      });
      const libs = await ensureJars();
      const java = kafkaJava(
        libs,
        "org.apache.kafka.tools.VerifiableShareConsumer",
        [
          "--bootstrap-server",
          BROKER,
          "--topic",
          topic,
          "--group-id",
          groupId,
          "--verbose",
        ],
        "pipe",
      );
      const exited = new Promise<number | null>((resolve) =>
        java.on("exit", (code) => resolve(code))
      );
      const javaSeen: string[] = [];
      createInterface({ input: java.stdout! }).on("line", (line) => {
        if (!line.startsWith("{")) return;
        const event = JSON.parse(line);
        if (event.name === "record_data") javaSeen.push(event.value);
      });
      const ours = new ShareReader({
        brokers: [BROKER],
        groupId,
        topics: [topic],
        maxWait: 200,
        maxRecords: 100,
      });
      const oursSeen: string[] = [];
      const reading = (async () => {
        for await (const m of ours) oursSeen.push(text.decode(m.value!));
      })();
      const client = new Client({ brokers: [BROKER] });
      try {
        const deadline = Date.now() + 60_000;
        for (;;) {
          const [g] = await client.describeShareGroups([groupId]);
          if (
            g.members.length === 2 &&
            g.members.every((m) => m.assignment.length > 0)
          ) break;
          if (Date.now() > deadline) {
            throw new Error(`the group never had both: ${JSON.stringify(g)}`);
          }
          await sleep(100);
        }
        // Small batches, so that both get some of each partition.
        for (let i = 0; i < 6000; i += 100) await produce(topic, i, 100);
        await until(
          "all read",
          () => new Set([...oursSeen, ...javaSeen]).size === 6000,
          60_000,
        );
      } finally {
        java.kill("SIGTERM");
        await exited;
        await ours.close();
        await reading;
        await client.close();
      }
      const javaSet = new Set(javaSeen);
      const both = oursSeen.filter((v) => javaSet.has(v));
      assert.deepEqual(both, [], "no message read by both");
      assert.equal(oursSeen.length + javaSeen.length, 6000);
      assert.ok(oursSeen.length > 0, "ours read some");
      assert.ok(javaSeen.length > 0, "Java read some");
      console.log(
        `share interop: ours ${oursSeen.length}, Java ${javaSeen.length}`,
      );
    });
  });
});
