/**
 * `Client.groupLag` against Kafka's own tool: for a classic and a KIP-848
 * consumer group, with a live member that read part of a topic, our lag
 * per partition equals what `kafka-consumer-groups --describe` prints
 * (CURRENT-OFFSET, LOG-END-OFFSET, LAG, CONSUMER-ID, CLIENT-ID).
 */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { promisify } from "node:util";
import { after, describe, test } from "node:test";
import { Client, Reader } from "../mod.ts";
import { ensureJars } from "../tools/kafka.ts";
import { BROKER } from "./_helpers.ts";
import { fast, newGroup, produce, PROTOCOLS, topicWith } from "./_group.ts";

const run = promisify(execFile);

/** One row of `kafka-consumer-groups --describe`. */
interface ToolRow {
  topic: string;
  partition: number;
  current: number | null;
  end: number | null;
  lag: number | null;
  consumerId: string | null;
  clientId: string | null;
}

/** Runs Kafka's ConsumerGroupCommand --describe and parses its table. */
async function describeWithTool(groupId: string): Promise<ToolRow[]> {
  const libs = await ensureJars();
  const home = process.env.JAVA_HOME;
  const java = home ? join(home, "bin", "java") : "java";
  const { stdout } = await run(java, [
    "-XX:TieredStopAtLevel=1",
    "-XX:+UseSerialGC",
    "-cp",
    join(libs, "*"),
    "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    "--bootstrap-server",
    BROKER,
    "--describe",
    "--group",
    groupId,
  ], { timeout: 60_000 });
  const lines = stdout.split("\n").map((l) => l.trim()).filter((l) => l);
  const header = lines.findIndex((l) => l.startsWith("GROUP"));
  assert.ok(header >= 0, `no table in the tool's output:\n${stdout}`);
  const columns = lines[header].split(/\s+/);
  const value = (cells: string[], name: string) => {
    const v = cells[columns.indexOf(name)];
    return v === undefined || v === "-" ? null : v;
  };
  const number = (v: string | null) => (v === null ? null : Number(v));
  return lines.slice(header + 1).map((line) => {
    const cells = line.split(/\s+/);
    return {
      topic: value(cells, "TOPIC")!,
      partition: Number(value(cells, "PARTITION")),
      current: number(value(cells, "CURRENT-OFFSET")),
      end: number(value(cells, "LOG-END-OFFSET")),
      lag: number(value(cells, "LAG")),
      consumerId: value(cells, "CONSUMER-ID"),
      clientId: value(cells, "CLIENT-ID"),
    };
  }).sort((a, b) => a.partition - b.partition);
}

describe("groupLag agrees with kafka-consumer-groups --describe", () => {
  const client = new Client({ brokers: [BROKER], timeout: 20_000 });
  after(() => client.close());

  for (const protocol of PROTOCOLS) {
    test(`a ${protocol} group with a live member`, async () => {
      const topic = await topicWith(3);
      await produce(topic, 0, 90);
      const groupId = await newGroup(protocol);
      const reader = new Reader({
        brokers: [BROKER],
        topic,
        groupId,
        transport: { clientId: `lag-${protocol}` },
        ...fast(protocol),
      });
      try {
        // Commit 25 of the 90 messages; leave the rest unread.
        for (let i = 0; i < 25; i++) {
          await reader.commitMessages(await reader.fetchMessage());
        }
        const ours = await client.groupLag(groupId);
        const tool = await describeWithTool(groupId);
        assert.equal(ours.type, protocol);
        assert.equal(ours.members, 1);
        assert.deepEqual(
          ours.partitions.map((p) => ({
            topic: p.topic,
            partition: p.partition,
            current: p.committed < 0 ? null : p.committed,
            end: p.endOffset,
            lag: p.lag,
            consumerId: p.memberId,
            clientId: p.clientId,
          })),
          tool,
        );
        assert.equal(
          ours.partitions.reduce((n, p) => n + Math.max(0, p.committed), 0),
          25,
        );
        assert.equal(
          ours.totalLag,
          tool.reduce((n, r) => n + (r.lag ?? 0), 0),
        );
      } finally {
        await reader.close();
      }
    });
  }
});
