/**
 * The admin Client's offset and group calls against the real broker:
 * listOffsets, offsetCommit/Fetch/Delete, listGroups, describeGroups,
 * describeConsumerGroups, deleteGroups, groupLag and resetGroupOffsets, for
 * classic and KIP-848 consumer groups, with their per-item errors.
 */

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { Client, ErrorCode, KafkaError, Reader } from "../mod.ts";
import { BROKER, sleep, uniqueTopic } from "./_helpers.ts";
import { fast, newGroup, produce, PROTOCOLS, topicWith } from "./_group.ts";

const client = new Client({ brokers: [BROKER], timeout: 20_000 });
after(() => client.close());

describe("admin Client: offsets", () => {
  test("listOffsets: earliest, latest, by time and max timestamp; an unknown partition fails alone", async () => {
    const topic = uniqueTopic("admin-offsets");
    await client.createTopics([{ topic, numPartitions: 2 }]);
    await produce(topic, 0, 10);
    await sleep(20);
    const middle = new Date();
    await sleep(20);
    await produce(topic, 10, 10);
    const latest = await client.listOffsets([
      { topic, partition: 0 },
      { topic, partition: 1, at: "latest" },
    ]);
    const total = latest[0].offset + latest[1].offset;
    assert.equal(total, 20);
    const results = await client.listOffsets([
      { topic, partition: 0, at: "earliest" },
      { topic, partition: 0, at: middle },
      { topic, partition: 0, at: "maxTimestamp" },
      { topic, partition: 7, at: "latest" },
      { topic, partition: 0, at: new Date(Date.now() + 3_600_000) },
    ]);
    assert.equal(results[0].offset, 0);
    assert.equal(results[0].error, null);
    // The first record written after `middle` on partition 0.
    assert.ok(results[1].offset > 0 && results[1].offset < latest[0].offset);
    assert.ok(results[1].timestamp >= middle.getTime());
    // The first record of the largest timestamp: in the second batch.
    assert.ok(results[2].offset >= results[1].offset);
    assert.ok(results[2].offset < latest[0].offset);
    assert.ok(results[2].timestamp >= results[1].timestamp);
    assert.ok(results[3].error instanceof KafkaError);
    assert.equal(results[3].error.code, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(results[4].offset, -1, "nothing after a future time");
    await client.deleteTopics([topic]);
  });

  test("offsetCommit, offsetFetch and offsetDelete for a group without members", async () => {
    const topic = await topicWith(2);
    const groupId = await newGroup("classic");
    const outcomes = await client.offsetCommit(groupId, [
      { topic, partition: 0, offset: 5, metadata: "five" },
      { topic, partition: 1, offset: 7 },
    ]);
    assert.deepEqual(outcomes.map((o) => o.error), [null, null]);
    const fetched = await client.offsetFetch(groupId);
    assert.deepEqual(
      fetched.map((f) => [f.partition, f.offset, f.metadata]).sort(),
      [[0, 5, "five"], [1, 7, ""]],
    );
    const some = await client.offsetFetch(groupId, [
      { topic, partition: 1 },
      { topic: uniqueTopic("admin-none"), partition: 0 },
    ]);
    assert.equal(some[0].offset, 7);
    assert.equal(some[1].offset, -1, "no commit: -1");
    const deleted = await client.offsetDelete(groupId, [
      { topic, partition: 0 },
      { topic, partition: 9 },
    ]);
    assert.equal(deleted[0].error, null);
    assert.equal(
      deleted[1].error?.code,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
    const after = await client.offsetFetch(groupId, [
      { topic, partition: 0 },
      { topic, partition: 1 },
    ]);
    assert.deepEqual(after.map((f) => f.offset), [-1, 7]);
    const unknown = await client.offsetDelete(await newGroup("classic"), [
      { topic, partition: 0 },
    ]).catch((e) => e);
    assert.ok(unknown instanceof KafkaError);
    assert.equal(unknown.code, ErrorCode.GROUP_ID_NOT_FOUND);
    assert.deepEqual(
      (await client.deleteGroups([groupId])).map((d) => d.error),
      [null],
    );
  });

  test("a group that does not exist: its lag is refused (not 0), and offsets can be set before its first start", async () => {
    const topic = await topicWith(2);
    await produce(topic, 0, 10);
    const groupId = await newGroup("classic");
    // A lag of 0 would read as "caught up" for a misspelt group id.
    await assert.rejects(
      client.groupLag(groupId),
      (error: Error) =>
        error instanceof KafkaError &&
        error.code === ErrorCode.GROUP_ID_NOT_FOUND &&
        error.message.includes(
          `group "${groupId}" does not exist: it has no members and no committed offsets`,
        ),
    );
    const set = await client.resetGroupOffsets(groupId, {
      to: "latest",
      topics: [topic],
    });
    assert.equal(set.length, 2);
    assert.ok(set.every((s) => s.error === null));
    const now = await client.groupLag(groupId);
    assert.equal(now.state, "Empty");
    assert.equal(now.partitions.length, 2);
    assert.equal(now.totalLag, 0);
    await client.deleteGroups([groupId]);
  });

  test("bad arguments are refused with the argument, value and what was expected", async () => {
    await assert.rejects(
      () => client.listOffsets([{ topic: "t", partition: -1 }]),
      /Client\.listOffsets: "queries\[0\]\.partition" must be a partition number \(an integer >= 0\), got number -1/,
    );
    await assert.rejects(
      () =>
        client.listOffsets([{
          topic: "t",
          partition: 0,
          at: "first" as never,
        }]),
      /"queries\[0\]\.at" must be "earliest", "latest", "maxTimestamp", a Date or a timestamp in ms, got string "first"/,
    );
    await assert.rejects(
      () => client.offsetFetch(""),
      /Client\.offsetFetch: "groupId" must be a group id \(a non-empty string\), got string ""/,
    );
    await assert.rejects(
      () =>
        client.offsetCommit("g", [{ topic: "t", partition: 0, offset: -5 }]),
      /"offsets\[0\]\.offset" must be the next offset to read \(an integer >= 0\), got number -5/,
    );
    await assert.rejects(
      () => client.resetGroupOffsets("g", { to: "start" as never }),
      /Client\.resetGroupOffsets: "to" must be "earliest", "latest", a Date, \{ shiftBy: n \}, \{ offset: n \} or an array of \{ topic, partition, offset \}, got string "start"/,
    );
    await assert.rejects(
      () => client.describeGroups("g" as never),
      /"groupIds" must be an array of group ids, got string "g"/,
    );
  });
});

for (const protocol of PROTOCOLS) {
  describe(`admin Client: a ${protocol} group`, () => {
    test("described, listed, lagging, not deleted or reset while it has a member; reset and deleted after", async () => {
      const topic = await topicWith(2);
      await produce(topic, 0, 40);
      const groupId = await newGroup(protocol);
      const reader = new Reader({
        brokers: [BROKER],
        topic,
        groupId,
        transport: { clientId: `admin-${protocol}` },
        ...fast(protocol),
      });
      try {
        // Read and commit 10 messages, then stop reading.
        for (let i = 0; i < 10; i++) {
          const m = await reader.fetchMessage();
          await reader.commitMessages(m);
        }
        let memberId = "";
        if (protocol === "classic") {
          const [g, missing] = await client.describeGroups([
            groupId,
            await newGroup("classic"),
          ]);
          assert.equal(g.error, null);
          assert.equal(g.state, "Stable");
          assert.equal(g.protocolType, "consumer");
          assert.equal(g.members.length, 1);
          assert.equal(g.members[0].clientId, `admin-${protocol}`);
          assert.deepEqual(
            g.members[0].assignedPartitions.map((p) => p.partition).sort(),
            [0, 1],
          );
          memberId = g.members[0].memberId;
          assert.equal(missing.state, "Dead", "an unknown group is Dead");
          const [notConsumer] = await client.describeConsumerGroups([groupId]);
          assert.equal(
            notConsumer.error?.code,
            ErrorCode.GROUP_ID_NOT_FOUND,
          );
        } else {
          const [g, missing] = await client.describeConsumerGroups([
            groupId,
            await newGroup("consumer"),
          ]);
          assert.equal(g.error, null);
          assert.equal(g.state, "Stable");
          assert.ok(g.groupEpoch >= 1);
          assert.equal(g.members.length, 1);
          const m = g.members[0];
          assert.equal(m.clientId, `admin-${protocol}`);
          assert.deepEqual(m.subscribedTopicNames, [topic]);
          assert.equal(m.memberType, "consumer");
          assert.deepEqual(
            m.assignment.map((p) => `${p.topic}/${p.partition}`).sort(),
            [`${topic}/0`, `${topic}/1`],
          );
          assert.deepEqual(m.targetAssignment, m.assignment);
          memberId = m.memberId;
          assert.equal(missing.error?.code, ErrorCode.GROUP_ID_NOT_FOUND);
        }
        const listed = await client.listGroups({ types: [protocol] });
        assert.deepEqual(listed.errors, []);
        const entry = listed.groups.find((g) => g.groupId === groupId);
        assert.equal(entry?.type, protocol);
        assert.equal(entry?.state, "Stable");
        const empty = await client.listGroups({ states: ["Empty"] });
        assert.ok(!empty.groups.some((g) => g.groupId === groupId));

        const lag = await client.groupLag(groupId);
        assert.equal(lag.type, protocol);
        assert.equal(lag.members, 1);
        assert.deepEqual(lag.partitions.map((p) => p.partition), [0, 1]);
        assert.equal(
          lag.partitions.reduce((n, p) => n + p.endOffset, 0),
          40,
        );
        // Ten messages read and committed, on one partition or both.
        const read = lag.partitions.reduce(
          (n, p) => n + Math.max(p.committed, 0),
          0,
        );
        assert.equal(read, 10);
        let total = 0;
        for (const p of lag.partitions) {
          assert.equal(p.memberId, memberId);
          assert.equal(p.clientId, `admin-${protocol}`);
          if (p.committed < 0) {
            assert.equal(p.lag, null, "no commit: no lag");
          } else {
            assert.equal(p.lag, p.endOffset - p.committed);
            total += p.lag!;
          }
        }
        assert.equal(lag.totalLag, total);

        const deleted = await client.deleteGroups([groupId]);
        assert.equal(deleted[0].error?.code, ErrorCode.NON_EMPTY_GROUP);
        const refused = await client.resetGroupOffsets(groupId, {
          to: "earliest",
        }).catch((e) => e);
        assert.ok(refused instanceof KafkaError);
        assert.equal(refused.code, ErrorCode.NON_EMPTY_GROUP);
        assert.match(refused.message, /1 active member\(s\) \(admin-/);
        assert.match(refused.message, /stop its consumers/);
        const subscribed = await client.offsetDelete(groupId, [
          { topic, partition: 0 },
        ]);
        assert.equal(
          subscribed[0].error?.code,
          ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC,
        );
      } finally {
        await reader.close();
      }
      await waitEmpty(groupId);
      const dry = await client.resetGroupOffsets(groupId, {
        to: "earliest",
        topics: [topic],
        dryRun: true,
      });
      assert.deepEqual(dry.map((d) => [d.partition, d.offset, d.error]), [
        [0, 0, null],
        [1, 0, null],
      ]);
      const before = await client.groupLag(groupId);
      assert.equal(
        before.partitions.reduce((n, p) => n + Math.max(p.committed, 0), 0),
        10,
        "a dry run commits nothing",
      );
      // By default, the partitions the group committed.
      const reset = await client.resetGroupOffsets(groupId, {
        to: "earliest",
      });
      const committedBefore = before.partitions.filter((p) => p.committed >= 0);
      assert.deepEqual(
        reset.map((r) => [r.partition, r.offset, r.error]),
        committedBefore.map((p) => [p.partition, 0, null]),
      );
      const lag = await client.groupLag(groupId);
      assert.equal(lag.state, "Empty");
      assert.equal(lag.members, 0);
      assert.equal(
        lag.totalLag,
        committedBefore.reduce((n, p) => n + p.endOffset, 0),
      );
      await client.resetGroupOffsets(groupId, {
        to: "earliest",
        topics: [topic],
      });
      assert.equal((await client.groupLag(groupId)).totalLag, 40);
      const toLatest = await client.resetGroupOffsets(groupId, {
        to: "latest",
        topics: [topic],
      });
      assert.equal(toLatest.length, 2);
      assert.equal((await client.groupLag(groupId)).totalLag, 0);
      const given = await client.resetGroupOffsets(groupId, {
        to: [{ topic, partition: 1, offset: 3 }],
      });
      assert.deepEqual(given.map((g) => [g.partition, g.offset, g.error]), [
        [1, 3, null],
      ]);
      // --shift-by and --to-offset: within each partition's log.
      const now = (await client.groupLag(groupId)).partitions;
      const within = (p: (typeof now)[number], offset: number) =>
        Math.min(Math.max(offset, 0), p.endOffset);
      const back = await client.resetGroupOffsets(groupId, {
        to: { shiftBy: -2 },
        topics: [topic],
      });
      assert.deepEqual(
        back.map((b) => [b.partition, b.offset, b.error]),
        now.map((p) => [p.partition, within(p, p.committed - 2), null]),
      );
      const far = await client.resetGroupOffsets(groupId, {
        to: { shiftBy: 1000 },
        topics: [topic],
      });
      assert.deepEqual(
        far.map((f) => f.offset),
        now.map((p) => p.endOffset),
        "past the end: the end",
      );
      const five = await client.resetGroupOffsets(groupId, {
        to: { offset: 5 },
        topics: [topic],
      });
      assert.deepEqual(
        five.map((f) => [f.partition, f.offset, f.error]),
        now.map((p) => [p.partition, within(p, 5), null]),
      );
      assert.deepEqual(
        (await client.groupLag(groupId)).partitions.map((p) => p.committed),
        now.map((p) => within(p, 5)),
      );
      // --from-file: given offsets are kept within each log too; a
      // partition named twice is refused; one the topic lacks fails alone,
      // in a dry run as in a real one.
      const listed = await client.resetGroupOffsets(groupId, {
        to: [
          { topic, partition: 0, offset: 1_000_000 },
          { topic, partition: 1, offset: 1 },
        ],
        dryRun: true,
      });
      assert.deepEqual(
        listed.map((l) => [l.partition, l.offset, l.error]),
        [[0, now[0].endOffset, null], [1, within(now[1], 1), null]],
      );
      await assert.rejects(
        client.resetGroupOffsets(groupId, {
          to: [
            { topic, partition: 0, offset: 3 },
            { topic, partition: 0, offset: 9 },
          ],
        }),
        new TypeError(
          `resetGroupOffsets: "to[1]" names ${topic}/0 again ("to[0]" did): give each partition one offset`,
        ),
      );
      for (const dryRun of [true, false]) {
        const missing = await client.resetGroupOffsets(groupId, {
          to: [{ topic, partition: 99, offset: 0 }],
          dryRun,
        });
        assert.equal(missing.length, 1);
        assert.equal(
          (missing[0].error as KafkaError | null)?.code,
          ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          `dryRun ${dryRun}: ${missing[0].error}`,
        );
      }
      // A group without commits has nothing to shift: each partition says so.
      const fresh = await newGroup("classic");
      const none = await client.resetGroupOffsets(fresh, {
        to: { shiftBy: 1 },
        topics: [topic],
      });
      assert.equal(none.length, 2);
      for (const n of none) {
        assert.match(
          String(n.error),
          /a committed offset of .+ to shift \(it has none: reset it to "earliest", "latest" or an offset first\)/,
        );
      }
      for (
        const [to, shown] of [[
          { shiftBy: 1.5 },
          'shiftBy" must be a safe integer \\(how far to move each committed offset\\), got number 1\\.5',
        ], [
          { shiftBy: NaN },
          'shiftBy" must be a safe integer .*, got number NaN',
        ], [
          { offset: -1 },
          'offset" must be an offset \\(an integer >= 0\\), got number -1',
        ]] as const
      ) {
        await assert.rejects(
          client.resetGroupOffsets(groupId, { to }),
          new RegExp(`^TypeError: Client\\.resetGroupOffsets: "to\\.${shown}$`),
        );
      }
      await assert.rejects(
        client.resetGroupOffsets(groupId, { to: { shift: 1 } as never }),
        /^TypeError: Client\.resetGroupOffsets: "to" must be "earliest", "latest", a Date, \{ shiftBy: n \}, \{ offset: n \} or an array of \{ topic, partition, offset \}, got object \{"shift":1\}$/,
      );
      const unknown = await client.deleteGroups([
        groupId,
        await newGroup(protocol),
      ]);
      assert.equal(unknown[0].error, null);
      assert.equal(unknown[1].error?.code, ErrorCode.GROUP_ID_NOT_FOUND);
    });
  });
}

/** Waits until the group has no members (a consumer group leaves at once). */
async function waitEmpty(groupId: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const lag = await client.groupLag(groupId);
    if (lag.members === 0) return;
    await sleep(200);
  }
  throw new Error(`group ${groupId} kept its members`);
}
