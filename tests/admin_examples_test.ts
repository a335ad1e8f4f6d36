/** The admin Client's examples, run as they ship in examples/. */

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { Client, Reader } from "../mod.ts";
import { main as listTopicsMain } from "../examples/admin_list_topics.ts";
import { main as groupLagMain } from "../examples/admin_group_lag.ts";
import { main as resetMain } from "../examples/admin_reset_offsets.ts";
import { BROKER, sleep } from "./_helpers.ts";
import { fast, newGroup, produce, topicWith } from "./_group.ts";

describe("admin examples", () => {
  const client = new Client({ brokers: [BROKER] });
  after(() => client.close());

  test("list topics with partitions and leaders", async () => {
    const topic = await topicWith(3);
    const rows = await listTopicsMain(BROKER, [topic]);
    assert.deepEqual(rows.map((r) => r.partition), [0, 1, 2]);
    const [broker] = (await client.describeCluster()).brokers;
    for (const r of rows) {
      assert.equal(r.topic, topic);
      assert.equal(r.leader, `${broker.id} (${broker.host}:${broker.port})`);
      assert.deepEqual(r.replicas, [broker.id]);
      assert.deepEqual(r.isr, [broker.id]);
    }
  });

  test("describe a group with its lag, then reset it to a time", async () => {
    const topic = await topicWith(1);
    await produce(topic, 0, 20);
    await sleep(50);
    const middle = new Date();
    await sleep(50);
    await produce(topic, 20, 10);
    const groupId = await newGroup("classic");
    const reader = new Reader({
      brokers: [BROKER],
      topic,
      groupId,
      ...fast("classic"),
    });
    try {
      for (let i = 0; i < 5; i++) {
        await reader.commitMessages(await reader.fetchMessage());
      }
      const lag = await groupLagMain(BROKER, groupId);
      assert.equal(lag.members, 1);
      assert.deepEqual(
        lag.partitions.map((p) => [p.committed, p.endOffset, p.lag]),
        [[5, 30, 25]],
      );
      // Refused while the reader is a member.
      await assert.rejects(
        () => resetMain(BROKER, groupId, topic, middle),
        /NON_EMPTY_GROUP/,
      );
    } finally {
      await reader.close();
    }
    let moved = await resetMain(BROKER, groupId, topic, middle).catch(() =>
      null
    );
    for (let i = 0; moved === null && i < 50; i++) {
      await sleep(200); // the member's leave may still be under way
      moved = await resetMain(BROKER, groupId, topic, middle).catch(() => null);
    }
    assert.deepEqual(moved?.map((m) => [m.partition, m.offset, m.error]), [
      [0, 20, null],
    ]);
    const after = await groupLagMain(BROKER, groupId);
    assert.equal(after.members, 0);
    assert.equal(after.totalLag, 10);
  });
});
