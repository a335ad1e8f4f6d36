/**
 * The admin Client on share groups (KIP-932), against the real broker:
 * describing a group and its member, its start offsets and lag, moving the
 * start offsets back while the group is empty (its records are read
 * again), forgetting a topic's state, and the refusals.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Client, KafkaError, type ShareMessage } from "../mod.ts";
import { BROKER, noUnhandledRejections, uniqueTopic } from "./_helpers.ts";
import { produce, setGroupConfig, topicWith, until } from "./_group.ts";
import { readFor as readShare, shareReader, valueOf } from "./_share.ts";

/** The values a new member reads within `ms`, and until `count` are distinct. */
async function readFor(
  groupId: string,
  topic: string,
  ms: number,
  count: number,
) {
  const enough = (seen: ShareMessage[]) =>
    new Set(seen.map(valueOf)).size >= count;
  return (await readShare(groupId, topic, ms, enough)).map(valueOf);
}

describe("admin Client: share groups", () => {
  test("describe, offsets and lag, alter back to 0 while empty, delete a topic's state", async () => {
    await noUnhandledRejections(async () => {
      const topic = await topicWith(2);
      const groupId = uniqueTopic("admin-sg");
      await setGroupConfig(groupId, {
        "share.auto.offset.reset": "earliest",
        "share.heartbeat.interval.ms": "200",
      });
      await produce(topic, 0, 100);
      const client = new Client({ brokers: [BROKER] });
      const reader = shareReader(groupId, topic);
      try {
        const seen: string[] = [];
        const reading = (async () => {
          for await (const m of reader) seen.push(valueOf(m));
        })();
        await until("all read", () => seen.length === 100);
        await reader.commit();
        const [group] = await client.describeShareGroups([groupId]);
        assert.equal(group.error, null);
        assert.equal(group.groupId, groupId);
        assert.equal(group.state, "Stable");
        assert.equal(group.members.length, 1);
        const [m] = group.members;
        assert.equal(m.memberId, reader.memberId);
        assert.deepEqual(m.subscribedTopicNames, [topic]);
        assert.deepEqual(
          m.assignment.sort((a, b) => a.partition - b.partition),
          [{ topic, partition: 0 }, { topic, partition: 1 }],
        );
        // Members are in it: its offsets cannot move.
        await assert.rejects(
          client.alterShareGroupOffsets(groupId, [
            { topic, partition: 0, offset: 0 },
          ]),
          (e: Error) => e instanceof KafkaError && e.name === "NON_EMPTY_GROUP",
        );
        await reader.close();
        await reading;
        // Not a consumer group: said so, not "does not exist".
        await assert.rejects(
          client.groupLag(groupId),
          /^GROUP_ID_NOT_FOUND: .*group ".*" is a share group, not a consumer group: see shareGroupOffsets/,
        );

        const offsets = await client.shareGroupOffsets(groupId);
        assert.deepEqual(
          offsets.map((o) => [o.topic, o.partition, o.error]),
          [[topic, 0, null], [topic, 1, null]],
        );
        const ends = await client.listOffsets([
          { topic, partition: 0 },
          { topic, partition: 1 },
        ]);
        // Everything was accepted: nothing waits. (The broker moves a
        // start offset forward lazily, so it may still say 0.)
        assert.ok(offsets.every((o) => o.startOffset >= 0));
        assert.deepEqual(offsets.map((o) => o.lag), [0, 0]);

        const altered = await client.alterShareGroupOffsets(groupId, [
          { topic, partition: 0, offset: 0 },
          { topic, partition: 1, offset: 0 },
        ]);
        assert.deepEqual(altered.map((a) => a.error), [null, null]);
        const back = await client.shareGroupOffsets(groupId, {
          topics: [topic],
        });
        assert.deepEqual(back.map((o) => o.startOffset), [0, 0]);
        assert.deepEqual(
          back.map((o) => o.lag),
          ends.map((e) => e.offset),
          "all of it waits again",
        );
        const again = await readFor(groupId, topic, 2500, 100);
        assert.equal(new Set(again).size, 100, "read again from 0");

        const deleted = await client.deleteShareGroupOffsets(groupId, [topic]);
        assert.deepEqual(deleted, [{ topic, partition: -1, error: null }]);
        const after = await client.shareGroupOffsets(groupId, {
          topics: [topic],
        });
        assert.ok(
          after.every((o) => o.startOffset === -1 || o.error !== null),
          JSON.stringify(after),
        );
      } finally {
        await reader.close();
        await client.close();
      }
    });
  });

  test("a group that is not a share group, and bad arguments", async () => {
    const client = new Client({ brokers: [BROKER] });
    try {
      const [missing] = await client.describeShareGroups([uniqueTopic("none")]);
      assert.equal(missing.error?.name, "GROUP_ID_NOT_FOUND");
      // The broker answers its offsets with none and no error: a misspelt
      // id must not read as a group with no offsets.
      await assert.rejects(
        client.shareGroupOffsets(uniqueTopic("none")),
        /^GROUP_ID_NOT_FOUND: .*not found/,
      );
      assert.deepEqual(await client.describeShareGroups([]), []);
      await assert.rejects(
        client.alterShareGroupOffsets("g", [{
          topic: "t",
          partition: 0,
          offset: -1,
        }]),
        /alterShareGroupOffsets.*"offsets\[0\]\.offset".*an offset \(an integer >= 0\)/,
      );
      await assert.rejects(
        client.deleteShareGroupOffsets("g", ["" as string]),
        /deleteShareGroupOffsets.*"topics\[0\]".*a topic name/,
      );
      await assert.rejects(
        client.shareGroupOffsets(""),
        /shareGroupOffsets.*"groupId".*a group id/,
      );
    } finally {
      await client.close();
    }
  });
});
