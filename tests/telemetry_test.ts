/**
 * Client telemetry (KIP-714) against the real broker, whose receiver
 * (tools/telemetry/TelemetryReceiver.java) decodes each push with the OTLP
 * classes of Kafka's own client and writes it as a JSON line to
 * .kafka/telemetry/<instance id>.jsonl. Each test subscribes (a
 * client-metrics resource) only the client id it uses.
 */

import assert from "node:assert/strict";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Client, Cluster, Reader, ShareReader, Writer } from "../mod.ts";
import { setGroupConfig } from "./_group.ts";
import { ensureJars } from "../tools/kafka.ts";
import {
  BROKER,
  kafkaJava,
  kafkaTool,
  noUnhandledRejections,
  sleep,
  uniqueTopic,
} from "./_helpers.ts";

const DIR = new URL("../.kafka/telemetry/", import.meta.url).pathname;
const brokers = [BROKER];

interface Point {
  attributes: Record<string, unknown>;
  start: string;
  time: string;
  int?: number;
  double?: number;
}

interface PushedMetric {
  name: string;
  type: string;
  temporality?: number;
  monotonic?: boolean;
  points: Point[];
}

interface Push {
  instance: string;
  clientId: string;
  terminating: boolean;
  contentType: string;
  error?: string;
  resources: {
    attributes: Record<string, unknown>;
    scopes: { name: string; version: string; metrics: PushedMetric[] }[];
  }[];
}

/** Every push the broker received from `clientId`, in order per instance. */
function pushesOf(clientId: string): Push[] {
  if (!existsSync(DIR)) return [];
  const pushes: Push[] = [];
  for (const file of readdirSync(DIR)) {
    if (!file.endsWith(".jsonl")) continue;
    const text = readFileSync(join(DIR, file), "utf8");
    for (const line of text.split("\n")) {
      if (line === "") continue;
      const push = JSON.parse(line) as Push;
      if (push.clientId === clientId) pushes.push(push);
    }
  }
  return pushes;
}

function metricsOf(push: Push): PushedMetric[] {
  assert.equal(push.error, undefined, `the push decoded: ${push.error}`);
  return push.resources.flatMap((r) => r.scopes.flatMap((s) => s.metrics));
}

/** The sum of a delta counter over every push. */
function total(pushes: Push[], name: string): number {
  let sum = 0;
  for (const push of pushes) {
    for (const m of metricsOf(push)) {
      if (m.name !== name) continue;
      assert.equal(m.type, "sum", name);
      assert.equal(m.temporality, 1, `${name} is a delta, as the broker asks`);
      assert.equal(m.monotonic, true, name);
      for (const p of m.points) sum += p.int ?? NaN;
    }
  }
  return sum;
}

async function eventually(
  what: string,
  check: () => boolean,
  ms = 15_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * Subscribes `clientId` to metrics starting with `prefixes` (subscription
 * `name`: a new one, or one to change), and waits until the broker has
 * applied it: it does so from the metadata log a moment after the
 * controller accepted it, and a client that asks before is told there is
 * nothing to push, and asks again only minutes later. Resolves with what
 * removes it.
 */
async function subscribe(
  client: Client,
  clientId: string,
  prefixes: string,
  intervalMs = 500,
  name = uniqueTopic("telemetry-subscription"),
): Promise<() => Promise<void>> {
  const wanted: Record<string, string> = {
    metrics: prefixes,
    "interval.ms": String(intervalMs),
    match: `client_id=${clientId}`,
  };
  const [result] = await client.incrementalAlterConfigs([{
    type: "clientMetrics",
    name,
    changes: Object.entries(wanted).map(([n, value]) => ({
      name: n,
      op: "set" as const,
      value,
    })),
  }]);
  assert.equal(result.error, null);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const [listed, [described]] = await Promise.all([
      client.listConfigResources(["clientMetrics"]),
      client.describeConfigs([{ type: "clientMetrics", name }]),
    ]);
    const value = (n: string) =>
      described.configs.find((c) => c.name === n)?.value;
    if (
      listed.some((r) => r.name === name) &&
      Object.entries(wanted).every(([n, v]) => value(n) === v)
    ) break;
    if (Date.now() > deadline) {
      assert.fail(`the broker did not apply subscription ${name} in 15 s`);
    }
    await sleep(100);
  }
  return async () => {
    await client.incrementalAlterConfigs([{
      type: "clientMetrics",
      name,
      changes: ["metrics", "interval.ms", "match"].map((n) => ({
        name: n,
        op: "delete" as const,
      })),
    }]);
  };
}

describe("client telemetry (KIP-714)", () => {
  // The kill -9 test must not leave the broker down for the files after.
  after(() => kafkaTool("up"));
  test("a Writer pushes its metrics every interval, and a last push marked terminating on close", async () => {
    await noUnhandledRejections(async () => {
      const client = new Client({ brokers });
      const clientId = uniqueTopic("telemetry-writer");
      const unsubscribe = await subscribe(
        client,
        clientId,
        "org.apache.kafka.producer.",
      );
      try {
        const writer = new Writer({
          brokers,
          topic: uniqueTopic("telemetry-writer"),
          allowAutoTopicCreation: true,
          transport: { clientId },
        });
        for (let i = 0; i < 3; i++) {
          await writer.writeMessages(
            Array.from({ length: 100 }, (_, j) => ({ value: `${i}-${j}` })),
          );
          await sleep(700);
        }
        await eventually("two pushes", () => pushesOf(clientId).length >= 2);
        await writer.close();
        const pushes = pushesOf(clientId);
        assert.equal(new Set(pushes.map((p) => p.instance)).size, 1);
        assert.deepEqual(
          pushes.map((p) => p.terminating),
          [...pushes.slice(1).map(() => false), true],
          "only the last push is terminating",
        );
        assert.ok(pushes.every((p) => p.contentType === "OTLP"));
        for (const push of pushes) {
          const scopes = push.resources.flatMap((r) => r.scopes);
          assert.deepEqual(
            scopes.map((s) => s.name),
            ["streamkafka"],
          );
          for (const m of metricsOf(push)) {
            assert.match(m.name, /^org\.apache\.kafka\.producer\./);
          }
        }
        assert.equal(
          total(pushes, "org.apache.kafka.producer.record.send.total"),
          300,
        );
        assert.equal(
          total(pushes, "org.apache.kafka.producer.record.error.total"),
          0,
        );
        assert.ok(
          total(
            pushes,
            "org.apache.kafka.producer.connection.creation.total",
          ) >=
            2,
          "a bootstrap and a leader connection at least",
        );
        const all = pushes.flatMap(metricsOf);
        const latency = all.filter((m) =>
          m.name === "org.apache.kafka.producer.node.request.latency.avg"
        );
        assert.ok(latency.length > 0);
        const nodes = latency.flatMap((m) =>
          m.points.map((p) => p.attributes.node_id)
        );
        assert.ok(nodes.includes("node-1"), `node ids ${nodes}`);
        for (const m of latency) {
          assert.equal(m.type, "gauge");
          for (const p of m.points) assert.ok(p.double! >= 0, `${p.double}`);
        }
        const buffer = all.find((m) =>
          m.name === "org.apache.kafka.producer.buffer.total.bytes"
        );
        assert.equal(buffer?.points[0].double, 16 * 1024 * 1024);
        const rates = all.filter((m) =>
          m.name === "org.apache.kafka.producer.record.send.rate"
        );
        assert.ok(rates.some((m) => m.points[0].double! > 0), "a rate above 0");
      } finally {
        await unsubscribe();
        await client.close();
      }
    });
  });

  test("a group's Reader pushes consumer metrics with its group; telemetry: false pushes nothing", async () => {
    await noUnhandledRejections(async () => {
      const client = new Client({ brokers });
      const clientId = uniqueTopic("telemetry-reader");
      const topic = uniqueTopic("telemetry-reader");
      const groupId = uniqueTopic("telemetry-group");
      const [created] = await client.createTopics([
        { topic, numPartitions: 2 },
      ]);
      assert.equal(created.error, null);
      const unsubscribe = await subscribe(
        client,
        clientId,
        "org.apache.kafka.",
      );
      try {
        const writer = new Writer({
          brokers,
          topic,
          transport: { clientId },
          telemetry: false,
        });
        await writer.writeMessages(
          Array.from({ length: 500 }, (_, i) => ({
            key: `k${i}`,
            value: `v${i}`,
          })),
        );
        await writer.close();
        const reader = new Reader({
          brokers,
          topic,
          groupId,
          transport: { clientId },
        });
        for (let i = 0; i < 500; i++) await reader.readMessage();
        await eventually(
          "a push with the commits",
          () =>
            pushesOf(clientId).flatMap(metricsOf).some((m) =>
              m.name ===
                "org.apache.kafka.consumer.coordinator.commit.latency.avg"
            ),
        );
        await reader.close();
        const pushes = pushesOf(clientId);
        assert.ok(pushes.at(-1)!.terminating);
        const all = pushes.flatMap(metricsOf);
        assert.ok(
          all.every((m) => m.name.startsWith("org.apache.kafka.consumer.")),
          "the Writer with telemetry: false pushed nothing",
        );
        assert.equal(
          total(
            pushes,
            "org.apache.kafka.consumer.fetch.manager.records.consumed.total",
          ),
          500,
        );
        assert.ok(
          total(
            pushes,
            "org.apache.kafka.consumer.fetch.manager.bytes.consumed.total",
          ) >= 500 * 4,
        );
        const assigned = all.filter((m) =>
          m.name === "org.apache.kafka.consumer.coordinator.assigned.partitions"
        ).map((m) => m.points[0].double);
        assert.ok(assigned.includes(2), `assigned ${assigned}`);
        assert.ok(
          all.some((m) =>
            m.name ===
              "org.apache.kafka.consumer.fetch.manager.fetch.latency.max"
          ),
        );
        for (const push of pushes) {
          assert.equal(push.resources[0].attributes.group_id, groupId);
        }
      } finally {
        await unsubscribe();
        await client.deleteTopics([topic]);
        await client.close();
      }
    });
  });

  test("the subscription's prefixes choose the metrics, and a changed subscription applies at once", async () => {
    await noUnhandledRejections(async () => {
      const client = new Client({ brokers });
      const clientId = uniqueTopic("telemetry-change");
      // One subscription, changed in place below: removing it and adding
      // another would leave the client a moment with none, and a push then
      // would be told there is nothing to push for minutes.
      const subscription = uniqueTopic("telemetry-subscription");
      const unsubscribe = await subscribe(
        client,
        clientId,
        "org.apache.kafka.producer.record.send",
        500,
        subscription,
      );
      const writer = new Writer({
        brokers,
        topic: uniqueTopic("telemetry-change"),
        allowAutoTopicCreation: true,
        transport: { clientId },
      });
      try {
        const written = { n: 0 };
        const keepWriting = (async () => {
          while (written.n < 40) {
            await writer.writeMessages({ value: `m${written.n++}` });
            await sleep(150);
          }
        })();
        await eventually("a push", () => pushesOf(clientId).length >= 1);
        const first = pushesOf(clientId);
        assert.deepEqual(
          [...new Set(first.flatMap(metricsOf).map((m) => m.name))].sort(),
          [
            "org.apache.kafka.producer.record.send.rate",
            "org.apache.kafka.producer.record.send.total",
          ],
        );
        await subscribe(
          client,
          clientId,
          "org.apache.kafka.producer.node.request.latency",
          500,
          subscription,
        );
        await eventually(
          "a push of the new subscription",
          () =>
            pushesOf(clientId).flatMap(metricsOf).some((m) =>
              m.name.includes("node.request.latency")
            ),
        );
        await keepWriting;
        const pushes = pushesOf(clientId);
        assert.equal(
          new Set(pushes.map((p) => p.instance)).size,
          1,
          "the instance id stays",
        );
        const changed = pushes.findIndex((p) =>
          metricsOf(p).some((m) => m.name.includes("node.request.latency"))
        );
        for (const push of pushes.slice(changed)) {
          for (const m of metricsOf(push)) {
            assert.match(
              m.name,
              /^org\.apache\.kafka\.producer\.node\.request\.latency\.(avg|max)$/,
            );
          }
        }
      } finally {
        await writer.close();
        await unsubscribe();
        await client.close();
      }
    });
  });

  test("without a subscription for the client nothing is pushed", async () => {
    await noUnhandledRejections(async () => {
      const clientId = uniqueTopic("telemetry-none");
      const writer = new Writer({
        brokers,
        topic: uniqueTopic("telemetry-none"),
        allowAutoTopicCreation: true,
        transport: { clientId },
      });
      await writer.writeMessages({ value: "x" });
      await sleep(1000);
      const started = Date.now();
      await writer.close();
      assert.ok(Date.now() - started < 2000, "close is quick");
      assert.deepEqual(pushesOf(clientId), []);
    });
  });

  test("a shared Cluster closed under a Writer: its telemetry stops without a word", async () => {
    await noUnhandledRejections(async () => {
      const admin = new Client({ brokers });
      const clientId = uniqueTopic("telemetry-shared");
      const unsubscribe = await subscribe(
        admin,
        clientId,
        "org.apache.kafka.producer.",
        200,
      );
      const cluster = new Cluster({ brokers, clientId });
      const logged: string[] = [];
      const writer = new Writer({
        cluster,
        topic: uniqueTopic("telemetry-shared"),
        allowAutoTopicCreation: true,
        logger: (m) => m.includes("telemetry") && logged.push(m),
        errorLogger: (m) => logged.push(m),
      });
      try {
        await writer.writeMessages({ value: "x" });
        await eventually("a push", () => pushesOf(clientId).length > 0);
        await cluster.close();
        const before = logged.length;
        await sleep(1000);
        assert.deepEqual(logged.slice(before), []);
        await writer.close();
        assert.ok(
          pushesOf(clientId).every((p) => !p.terminating),
          "no last push over a closed Cluster",
        );
      } finally {
        await unsubscribe();
        await admin.close();
      }
    });
  });

  test("every metric we push has the name and type Kafka's Java producer, consumer and share consumer push for it", async () => {
    await noUnhandledRejections(async () => {
      const admin = new Client({ brokers });
      const id = uniqueTopic("telemetry-java");
      const topic = uniqueTopic("telemetry-java");
      const unsubscribe = await subscribe(admin, `${id}-.*`, "*");
      try {
        const libs = await ensureJars();
        const consumerConfig = join(
          mkdtempSync(join(tmpdir(), "telemetry-")),
          "consumer.properties",
        );
        writeFileSync(consumerConfig, `client.id=${id}-java-c\n`);
        const shareConfig = `${consumerConfig}.share`;
        writeFileSync(shareConfig, `client.id=${id}-java-s\n`);
        for (const group of [`${id}-java-share`, `${id}-ours-share`]) {
          await setGroupConfig(group, {
            "share.auto.offset.reset": "earliest",
          });
        }
        const java = (mainClass: string, ...args: string[]) =>
          new Promise<void>((resolve, reject) => {
            const child = kafkaJava(libs, mainClass, args);
            child.on("error", reject);
            child.on(
              "exit",
              (code) =>
                code === 0
                  ? resolve()
                  : reject(new Error(`${mainClass} exited with ${code}`)),
            );
          });
        await java(
          "org.apache.kafka.tools.ProducerPerformance",
          "--topic",
          topic,
          "--num-records",
          "3000",
          "--record-size",
          "100",
          "--throughput",
          "2000",
          // Deprecated in 4.x, but 3.9's tools know only these.
          "--producer-props",
          `bootstrap.servers=${BROKER}`,
          `client.id=${id}-java-p`,
        );
        for (
          const [tool, group, config] of [
            ["ConsumerPerformance", `${id}-java`, consumerConfig],
            ["ShareConsumerPerformance", `${id}-java-share`, shareConfig],
          ]
        ) {
          await java(
            `org.apache.kafka.tools.${tool}`,
            "--topic",
            topic,
            "--messages",
            "3000",
            "--bootstrap-server",
            BROKER,
            "--group",
            group,
            "--consumer.config",
            config,
          );
        }
        const writer = new Writer({
          brokers,
          topic,
          transport: { clientId: `${id}-ours-p` },
        });
        await writer.writeMessages({ value: "ours" });
        await eventually(
          "our producer's push",
          () => pushesOf(`${id}-ours-p`).length > 0,
        );
        await writer.close();
        const reader = new Reader({
          brokers,
          topic,
          groupId: `${id}-ours`,
          transport: { clientId: `${id}-ours-c` },
        });
        for (let i = 0; i < 3001; i++) await reader.readMessage();
        await eventually(
          "our consumer's push",
          () => pushesOf(`${id}-ours-c`).length > 0,
        );
        await reader.close();
        const share = new ShareReader({
          brokers,
          topics: [topic],
          groupId: `${id}-ours-share`,
          transport: { clientId: `${id}-ours-s` },
        });
        let shared = 0;
        for await (const _ of share) if (++shared === 3001) break;
        await eventually(
          "our share consumer's push",
          () => pushesOf(`${id}-ours-s`).length > 0,
        );
        await share.close();
        const sharePushes = pushesOf(`${id}-ours-s`);
        assert.equal(
          total(
            sharePushes,
            "org.apache.kafka.consumer.share.fetch.manager.records.consumed.total",
          ),
          3001,
        );
        assert.equal(
          sharePushes[0].resources[0].attributes.group_id,
          `${id}-ours-share`,
        );
        assert.ok(sharePushes.at(-1)!.terminating, "a last push on close");
        for (const kind of ["p", "c", "s"]) {
          const types = (clientId: string) => {
            const found = new Map<string, string>();
            for (const m of pushesOf(clientId).flatMap(metricsOf)) {
              found.set(m.name, m.type);
            }
            return found;
          };
          const theirs = types(`${id}-java-${kind}`);
          const ours = types(`${id}-ours-${kind}`);
          assert.ok(theirs.size > 20, `Java pushed ${theirs.size} metrics`);
          assert.ok(ours.size >= 8, `we pushed ${[...ours.keys()]}`);
          for (const [name, type] of ours) {
            assert.equal(theirs.get(name), type, `${name} (${type})`);
          }
          for (const m of pushesOf(`${id}-ours-${kind}`).flatMap(metricsOf)) {
            for (const point of m.points) {
              const node = point.attributes.node_id;
              if (node !== undefined) {
                assert.match(String(node), /^node--?\d+$/);
              }
            }
          }
        }
      } finally {
        await unsubscribe();
        await admin.deleteTopics([topic]);
        await admin.close();
      }
    });
  });

  test("clientInstanceId(): the id the pushes carry; null with telemetry: false; bad timeouts refused", async () => {
    await noUnhandledRejections(async () => {
      const admin = new Client({ brokers });
      const clientId = uniqueTopic("telemetry-id");
      const unsubscribe = await subscribe(
        admin,
        clientId,
        "org.apache.kafka.producer.record",
      );
      const topic = uniqueTopic("telemetry-id");
      const writer = new Writer({
        brokers,
        topic,
        allowAutoTopicCreation: true,
        transport: { clientId },
      });
      const reader = new Reader({ brokers, topic, transport: { clientId } });
      const off = new Writer({ brokers, topic, telemetry: false });
      try {
        // Asked before any write: the exchange starts for it.
        const id = await writer.clientInstanceId();
        assert.match(id ?? "", /^[A-Za-z0-9_-]{22}$/);
        await writer.writeMessages({ value: "x" });
        await eventually("a push", () => pushesOf(clientId).length > 0);
        assert.deepEqual(
          [...new Set(pushesOf(clientId).map((p) => p.instance))],
          [id],
        );
        const readerId = await reader.clientInstanceId({ timeout: 5000 });
        assert.match(readerId ?? "", /^[A-Za-z0-9_-]{22}$/);
        assert.notEqual(readerId, id, "an instance per Reader and Writer");
        assert.equal(await off.clientInstanceId(), null);
        await assert.rejects(writer.clientInstanceId({ timeout: 0 }), {
          name: "RangeError",
          message:
            `Cannot get the Writer's client instance id: "timeout" must be a positive number of milliseconds, got 0 (number)`,
        });
        await assert.rejects(
          // @ts-expect-error: the wrong type on purpose
          reader.clientInstanceId({ timeout: "1s" }),
          {
            name: "TypeError",
            message:
              `Cannot get the Reader's client instance id: "timeout" must be a positive number of milliseconds, got "1s" (string)`,
          },
        );
        await writer.close();
        assert.equal(await writer.clientInstanceId(), id, "kept after close");
      } finally {
        await writer.close().catch(() => {}); // closed already, unless failed
        await reader.close();
        await off.close();
        await unsubscribe();
        await admin.close();
      }
    });
  });

  test("telemetry must be a boolean", () => {
    assert.throws(
      // @ts-expect-error: the wrong type on purpose
      () => new Writer({ brokers, topic: "t", telemetry: "yes" }),
      {
        name: "TypeError",
        message:
          `Cannot create Writer: "telemetry" must be a boolean, got "yes" (string)`,
      },
    );
    assert.throws(
      // @ts-expect-error: the wrong type on purpose
      () => new Reader({ brokers, topic: "t", telemetry: 1 }),
      {
        name: "TypeError",
        message:
          `Cannot create Reader: "telemetry" must be a boolean, got 1 (number)`,
      },
    );
  });

  test("kill -9 and restart of the broker: the pushes go on, under the same instance id", async () => {
    await noUnhandledRejections(async () => {
      const clientId = uniqueTopic("telemetry-restart");
      const admin = new Client({ brokers });
      const unsubscribe = await subscribe(
        admin,
        clientId,
        "org.apache.kafka.producer.record.send.total",
      );
      const logged: string[] = [];
      const writer = new Writer({
        brokers,
        topic: uniqueTopic("telemetry-restart"),
        allowAutoTopicCreation: true,
        transport: { clientId },
        logger: (m) => m.includes("telemetry") && logged.push(m),
      });
      let written = 0;
      const write = async () => {
        await writer.writeMessages({ value: `m${written}` });
        written++;
      };
      try {
        while (pushesOf(clientId).length === 0) {
          await write();
          await sleep(100);
        }
        await kafkaTool("kill");
        const restarted = BigInt(Date.now()) * 1_000_000n;
        await sleep(1000);
        await kafkaTool("up");
        for (let i = 0; i < 20; i++) await write();
        await eventually(
          "two pushes after the restart",
          () =>
            pushesOf(clientId).filter((p) =>
              metricsOf(p).some((m) =>
                m.points.some((point) => BigInt(point.time) > restarted)
              )
            ).length >= 2,
          60_000,
        );
        await writer.close();
      } finally {
        await writer.close().catch(() => {});
        await unsubscribe();
        await admin.close();
      }
      const pushes = pushesOf(clientId);
      assert.equal(new Set(pushes.map((p) => p.instance)).size, 1);
      assert.ok(pushes.at(-1)!.terminating);
      const sent = total(pushes, "org.apache.kafka.producer.record.send.total");
      // Deltas run from the last push the broker took, across the new
      // subscription; only a push taken just before the kill, its answer
      // lost, may be counted twice.
      const largest = Math.max(
        ...pushes.flatMap(metricsOf).flatMap((m) =>
          m.points.map((point) => point.int ?? 0)
        ),
      );
      assert.ok(
        sent >= written && sent <= written + largest,
        `pushed ${sent} sends of ${written} (largest push ${largest})`,
      );
      assert.ok(
        logged.some((m) => /asking again/.test(m)),
        `the lost broker was noticed: ${logged.join("; ")}`,
      );
    });
  });
});
