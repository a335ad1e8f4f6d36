/**
 * The admin calls of configs against the real broker: describeConfigs,
 * alterConfigs, incrementalAlterConfigs, with their per-resource errors;
 * argument checks.
 */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Client, Cluster, ErrorCode, KafkaError } from "../mod.ts";
import type { ConfigResourceResult } from "../mod.ts";
import { BROKER, noUnhandledRejections, uniqueTopic } from "./_helpers.ts";

/**
 * Runs `check` until it passes or 10 s have gone by: a broker applies a
 * config change from the metadata log a moment after the controller accepts
 * it, so a describe right after may still show the value before.
 */
async function eventually(check: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** A config of a described resource; fails when it is missing. */
function config(result: ConfigResourceResult, name: string) {
  const found = result.configs.find((c) => c.name === name);
  assert.ok(found, `${result.type} "${result.name}" has config ${name}`);
  return found;
}

describe("admin Client: configs", () => {
  const cluster = new Cluster({ brokers: [BROKER] });
  const client = new Client({ cluster: cluster, timeout: 20_000 });
  const topic = uniqueTopic("admin-configs");
  let brokerId = "";
  before(async () => {
    const [created] = await client.createTopics([{ topic, numPartitions: 1 }]);
    assert.equal(created.error, null);
    brokerId = String((await cluster.brokers())[0].id);
  });
  after(async () => {
    await client.deleteTopics([topic]);
    await cluster.close();
  });

  test("describeConfigs: a topic's configs; an unknown topic fails alone", async () => {
    const missing = uniqueTopic("admin-configs-none");
    const results = await client.describeConfigs([
      { type: "topic", name: topic },
      { type: "topic", name: missing },
    ]);
    assert.deepEqual(results.map((r) => [r.type, r.name]), [
      ["topic", topic],
      ["topic", missing],
    ]);
    assert.equal(results[0].error, null);
    const retention = config(results[0], "retention.ms");
    assert.equal(retention.value, "604800000");
    assert.equal(retention.source, "DEFAULT_CONFIG");
    assert.equal(retention.type, "LONG");
    assert.equal(retention.readOnly, false);
    assert.equal(retention.isSensitive, false);
    assert.deepEqual(retention.synonyms, []);
    assert.equal(retention.documentation, null);
    assert.ok(results[0].configs.length > 20);
    assert.ok(results[1].error instanceof KafkaError);
    assert.equal(results[1].error.code, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.deepEqual(results[1].configs, []);
  });

  test("describeConfigs: named configs only, with synonyms and documentation", async () => {
    const [result] = await client.describeConfigs([
      {
        type: "topic",
        name: topic,
        configNames: ["retention.ms", "cleanup.policy"],
      },
    ], { includeSynonyms: true, includeDocumentation: true });
    assert.equal(result.error, null);
    assert.deepEqual(
      result.configs.map((c) => c.name).sort(),
      ["cleanup.policy", "retention.ms"],
    );
    const policy = config(result, "cleanup.policy");
    assert.equal(policy.value, "delete");
    assert.equal(policy.type, "LIST");
    assert.match(policy.documentation ?? "", /retention policy/i);
    assert.ok(
      policy.synonyms.some((s) => s.name === "log.cleanup.policy"),
      "the broker's log.cleanup.policy stands for the topic's",
    );
  });

  test("describeConfigs of a broker, its loggers, the cluster default, a group and a client metrics subscription", async () => {
    const results = await client.describeConfigs([
      { type: "broker", name: brokerId, configNames: ["num.io.threads"] },
      { type: "brokerLogger", name: brokerId, configNames: ["root"] },
      { type: "broker", name: "" },
      { type: "group", name: uniqueTopic("admin-configs-group") },
      { type: "clientMetrics", name: uniqueTopic("admin-configs-metrics") },
    ]);
    assert.deepEqual(results.map((r) => r.error), [
      null,
      null,
      null,
      null,
      null,
    ]);
    const io = config(results[0], "num.io.threads");
    assert.match(io.value ?? "", /^\d+$/);
    assert.equal(io.type, "INT");
    assert.ok(
      ["DEFAULT_CONFIG", "STATIC_BROKER_CONFIG", "DYNAMIC_BROKER_CONFIG"]
        .includes(io.source),
    );
    const root = config(results[1], "root");
    assert.equal(root.source, "DYNAMIC_BROKER_LOGGER_CONFIG");
    assert.match(root.value ?? "", /^(TRACE|DEBUG|INFO|WARN|ERROR|FATAL|OFF)$/);
    assert.ok(
      results[2].configs.every((c) =>
        c.source === "DYNAMIC_DEFAULT_BROKER_CONFIG"
      ),
    );
    const session = config(results[3], "consumer.session.timeout.ms");
    assert.equal(session.source, "DEFAULT_CONFIG");
    assert.equal(config(results[4], "interval.ms").type, "INT");
  });

  test("listConfigResources lists topics and client-metrics subscriptions, by type or all", async () => {
    const subscription = uniqueTopic("admin-configs-list");
    const [made] = await client.incrementalAlterConfigs([{
      type: "clientMetrics",
      name: subscription,
      changes: [
        { name: "metrics", op: "set", value: "org.apache.kafka.producer." },
        { name: "interval.ms", op: "set", value: "60000" },
      ],
    }]);
    assert.equal(made.error, null);
    try {
      // The broker lists the subscription once it has applied it.
      let metrics: Awaited<ReturnType<typeof client.listConfigResources>> = [];
      await eventually(async () => {
        metrics = await client.listConfigResources(["clientMetrics"]);
        assert.ok(metrics.some((r) => r.name === subscription), subscription);
      });
      assert.ok(metrics.every((r) => r.type === "clientMetrics"));
      const topics = await client.listConfigResources(["topic"]);
      assert.ok(topics.every((r) => r.type === "topic"));
      assert.ok(topics.some((r) => r.name === topic), topic);
      const names = topics.map((r) => r.name);
      assert.deepEqual(names, [...names].sort(), "sorted by name");
      // Every type: both, and each listed resource describes.
      const all = await client.listConfigResources();
      for (
        const [type, name] of [["topic", topic], [
          "clientMetrics",
          subscription,
        ]]
      ) {
        assert.ok(
          all.some((r) => r.type === type && r.name === name),
          `${type} ${name}`,
        );
      }
      const [described] = await client.describeConfigs([
        metrics.find((r) => r.name === subscription)!,
      ]);
      assert.equal(described.error, null);
      assert.equal(
        described.configs.find((c) => c.name === "interval.ms")?.value,
        "60000",
      );
    } finally {
      await client.incrementalAlterConfigs([{
        type: "clientMetrics",
        name: subscription,
        changes: [
          { name: "metrics", op: "delete" },
          { name: "interval.ms", op: "delete" },
        ],
      }]);
    }
    await assert.rejects(
      client.listConfigResources(["topics" as "topic"]),
      /Client\.listConfigResources: "types\[0\]" must be "topic", "broker", "brokerLogger", "group" or "clientMetrics", got string "topics"/,
    );
  });

  test("incrementalAlterConfigs sets retention.ms, then deletes it back to the default", async () => {
    const [set] = await client.incrementalAlterConfigs([{
      type: "topic",
      name: topic,
      changes: [
        { name: "retention.ms", op: "set", value: "3600000" },
        { name: "cleanup.policy", op: "append", value: "compact" },
      ],
    }]);
    assert.deepEqual([set.type, set.name, set.error], ["topic", topic, null]);
    await eventually(async () => {
      const [described] = await client.describeConfigs([
        {
          type: "topic",
          name: topic,
          configNames: ["retention.ms", "cleanup.policy"],
        },
      ]);
      assert.equal(config(described, "retention.ms").value, "3600000");
      assert.equal(
        config(described, "retention.ms").source,
        "DYNAMIC_TOPIC_CONFIG",
      );
      assert.equal(
        config(described, "cleanup.policy").value,
        "delete,compact",
      );
    });
    const [deleted] = await client.incrementalAlterConfigs([{
      type: "topic",
      name: topic,
      changes: [
        { name: "retention.ms", op: "delete" },
        { name: "cleanup.policy", op: "subtract", value: "compact" },
      ],
    }]);
    assert.equal(deleted.error, null);
    await eventually(async () => {
      const [described] = await client.describeConfigs([
        {
          type: "topic",
          name: topic,
          configNames: ["retention.ms", "cleanup.policy"],
        },
      ]);
      assert.equal(config(described, "retention.ms").value, "604800000");
      assert.equal(config(described, "retention.ms").source, "DEFAULT_CONFIG");
      assert.equal(config(described, "cleanup.policy").value, "delete");
    });
  });

  test("incrementalAlterConfigs: an invalid value, an unknown topic and a bad broker value fail alone", async () => {
    const missing = uniqueTopic("admin-configs-none");
    const results = await client.incrementalAlterConfigs([
      {
        type: "topic",
        name: topic,
        changes: [{ name: "retention.ms", op: "set", value: "soon" }],
      },
      {
        type: "topic",
        name: missing,
        changes: [{ name: "retention.ms", op: "set", value: "1000" }],
      },
      {
        type: "topic",
        name: topic + "-other",
        changes: [],
      },
      {
        type: "broker",
        name: brokerId,
        changes: [{ name: "log.cleaner.threads", op: "set", value: "many" }],
      },
    ]);
    assert.equal(results[0].error?.code, ErrorCode.INVALID_CONFIG);
    assert.match(results[0].error.message, /retention\.ms/);
    assert.equal(results[1].error?.code, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(results[2].error?.code, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.ok(results[3].error instanceof KafkaError);
    assert.match(results[3].error.message, /log\.cleaner\.threads/);
    const [described] = await client.describeConfigs([
      { type: "topic", name: topic, configNames: ["retention.ms"] },
    ]);
    assert.equal(config(described, "retention.ms").source, "DEFAULT_CONFIG");
  });

  test("incrementalAlterConfigs validateOnly checks without changing", async () => {
    const results = await client.incrementalAlterConfigs([
      {
        type: "topic",
        name: topic,
        changes: [{ name: "retention.ms", op: "set", value: "1000" }],
      },
      {
        type: "topic",
        name: uniqueTopic("admin-configs-none"),
        changes: [{ name: "retention.ms", op: "set", value: "1000" }],
      },
    ], { validateOnly: true });
    assert.equal(results[0].error, null);
    assert.equal(results[1].error?.code, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const [described] = await client.describeConfigs([
      { type: "topic", name: topic, configNames: ["retention.ms"] },
    ]);
    assert.equal(config(described, "retention.ms").source, "DEFAULT_CONFIG");
  });

  test("incrementalAlterConfigs of a group config, deleted afterwards", async () => {
    const group = uniqueTopic("admin-configs-group");
    const [set] = await client.incrementalAlterConfigs([{
      type: "group",
      name: group,
      changes: [{
        name: "consumer.session.timeout.ms",
        op: "set",
        value: "50000",
      }],
    }]);
    assert.equal(set.error, null);
    await eventually(async () => {
      const [described] = await client.describeConfigs([
        {
          type: "group",
          name: group,
          configNames: ["consumer.session.timeout.ms"],
        },
      ]);
      const session = config(described, "consumer.session.timeout.ms");
      assert.deepEqual([session.value, session.source], [
        "50000",
        "DYNAMIC_GROUP_CONFIG",
      ]);
    });
    const [deleted] = await client.incrementalAlterConfigs([{
      type: "group",
      name: group,
      changes: [{ name: "consumer.session.timeout.ms", op: "delete" }],
    }]);
    assert.equal(deleted.error, null);
    await eventually(async () => {
      const [described] = await client.describeConfigs([
        {
          type: "group",
          name: group,
          configNames: ["consumer.session.timeout.ms"],
        },
      ]);
      assert.equal(
        config(described, "consumer.session.timeout.ms").source,
        "DEFAULT_CONFIG",
      );
    });
  });

  test("alterConfigs replaces a topic's whole set; an invalid value fails alone", async () => {
    const other = uniqueTopic("admin-configs-alter");
    await client.createTopics([{
      topic: other,
      configs: { "retention.ms": "7200000" },
    }]);
    try {
      const results = await client.alterConfigs([
        {
          type: "topic",
          name: topic,
          configs: { "retention.ms": "not-a-number" },
        },
        { type: "topic", name: other, configs: { "segment.ms": "86400000" } },
      ]);
      assert.equal(results[0].error?.code, ErrorCode.INVALID_CONFIG);
      assert.equal(results[1].error, null);
      await eventually(async () => {
        const described = await client.describeConfigs([
          {
            type: "topic",
            name: other,
            configNames: ["retention.ms", "segment.ms"],
          },
          { type: "topic", name: topic, configNames: ["retention.ms"] },
        ]);
        // The whole set was replaced: retention.ms, left out, is back to its default.
        assert.equal(config(described[0], "segment.ms").value, "86400000");
        assert.equal(
          config(described[0], "segment.ms").source,
          "DYNAMIC_TOPIC_CONFIG",
        );
        assert.equal(
          config(described[0], "retention.ms").source,
          "DEFAULT_CONFIG",
        );
        assert.equal(
          config(described[1], "retention.ms").source,
          "DEFAULT_CONFIG",
        );
      });
    } finally {
      await client.deleteTopics([other]);
    }
  });

  test("a broker's configs as a new Client's first call (its metadata not loaded yet)", async () => {
    const fresh = new Client({ brokers: [BROKER], timeout: 5_000 });
    try {
      const started = Date.now();
      const [result] = await fresh.describeConfigs([
        { type: "broker", name: brokerId, configNames: ["num.io.threads"] },
      ]);
      assert.equal(result.error, null);
      assert.match(config(result, "num.io.threads").value ?? "", /^\d+$/);
      assert.ok(Date.now() - started < 4_000, "answered without waiting");
    } finally {
      await fresh.close();
    }
  });

  test("nothing to do asks nothing", async () => {
    assert.deepEqual(await client.describeConfigs([]), []);
    assert.deepEqual(await client.alterConfigs([]), []);
    assert.deepEqual(await client.incrementalAlterConfigs([]), []);
  });

  test("an unknown broker id fails alone once the timeout passes, or fails the call when alone", async () => {
    await noUnhandledRejections(async () => {
      const results = await client.describeConfigs([
        { type: "topic", name: topic, configNames: ["retention.ms"] },
        { type: "broker", name: "99" },
      ], { timeout: 2000 }); // the topic's answer must come within it
      assert.equal(results[0].error, null);
      assert.equal(config(results[0], "retention.ms").value, "604800000");
      assert.equal(results[1].error?.code, ErrorCode.BROKER_NOT_AVAILABLE);
      assert.deepEqual(results[1].configs, []);
      await assert.rejects(
        () =>
          client.describeConfigs([{ type: "broker", name: "99" }], {
            timeout: 300,
          }),
        (error: Error) =>
          error instanceof KafkaError &&
          error.code === ErrorCode.BROKER_NOT_AVAILABLE,
      );
    });
  });

  test("bad arguments are refused with the argument, value and what was expected", async () => {
    await assert.rejects(
      () => client.describeConfigs([{ type: "topics" as never, name: "x" }]),
      /Client\.describeConfigs: "resources\[0\]\.type" must be "topic", "broker", "brokerLogger", "group" or "clientMetrics", got string "topics"/,
    );
    await assert.rejects(
      () => client.describeConfigs([{ type: "broker", name: "one" }]),
      /"resources\[0\]\.name" must be a broker id as a string, e\.g\. "1" \(or "" for the cluster default\), got string "one"/,
    );
    await assert.rejects(
      () => client.describeConfigs([{ type: "topic", name: "" }]),
      /"resources\[0\]\.name" must be a topic name, got string ""/,
    );
    await assert.rejects(
      () =>
        client.describeConfigs([
          { type: "topic", name: "a" },
          { type: "topic", name: "a" },
        ]),
      /"resources\[1\]" must be each resource once, got object/,
    );
    await assert.rejects(
      () => client.describeConfigs({ type: "topic", name: "a" } as never),
      /Client\.describeConfigs: "resources" must be an array of resources, got object/,
    );
    await assert.rejects(
      () =>
        client.incrementalAlterConfigs([{
          type: "topic",
          name: "a",
          changes: [{ name: "retention.ms", op: "put" as never, value: "1" }],
        }]),
      /"resources\[0\]\.changes\[0\]\.op" must be "set", "delete", "append" or "subtract", got string "put"/,
    );
    await assert.rejects(
      () =>
        client.incrementalAlterConfigs([{
          type: "topic",
          name: "a",
          changes: [{ name: "retention.ms", op: "set" }],
        }]),
      /"resources\[0\]\.changes\[0\]\.value" must be a string \(to set\), got undefined/,
    );
    await assert.rejects(
      () =>
        client.alterConfigs([{
          type: "topic",
          name: "a",
          configs: { "retention.ms": 1000 as never },
        }]),
      /"resources\[0\]\.configs" must be an object of string values/,
    );
  });
});
