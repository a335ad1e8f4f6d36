/**
 * `reader.seek` and `reader.commitOffsets` in a consumer group, against the
 * real broker: moving owned partitions back and forward, from
 * `readMessage` and from `for await`, inside onPartitionsAssigned (instead
 * of the committed offset), the commits that follow, explicit commits of
 * offsets, and the refusals.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ClosedError,
  FirstOffset,
  LastOffset,
  Reader,
  Writer,
} from "../mod.ts";
import { BROKER, noUnhandledRejections, sleep } from "./_helpers.ts";
import {
  committed,
  expected,
  groupReader,
  newGroup,
  produce,
  PROTOCOLS,
  topicWith,
} from "./_group.ts";

const text = new TextDecoder();

describe("reader.seek and reader.commitOffsets in a consumer group", () => {
  for (const protocol of PROTOCOLS) {
    test(`back and forward (${protocol}); the commits follow what is read from there`, async () => {
      await noUnhandledRejections(async () => {
        const topic = await topicWith(1);
        const groupId = await newGroup(protocol);
        await produce(topic, 0, 100);
        const reader = groupReader(protocol, groupId, topic);
        try {
          for (let i = 0; i < 50; i++) {
            assert.equal((await reader.readMessage()).offset, i);
          }
          assert.deepEqual(await committed(groupId, topic, 1), [50]);
          reader.seek({ topic, partition: 0, offset: 10 });
          for (let i = 10; i <= 20; i++) {
            const m = await reader.readMessage();
            assert.equal(m.offset, i);
            assert.equal(text.decode(m.value!), `m${i}`);
          }
          // readMessage committed m20: the group is back at 21.
          assert.deepEqual(await committed(groupId, topic, 1), [21]);
          reader.seek({ topic, partition: 0, offset: 90 });
          assert.equal((await reader.readMessage()).offset, 90);
          reader.seek({ topic, partition: 0, offset: LastOffset });
          // The end is looked up at the next fetch (as Java's seekToEnd):
          // nothing comes from there until a message is written.
          await assert.rejects(
            reader.readMessage({ signal: AbortSignal.timeout(1000) }),
            (error: Error) => error.name === "TimeoutError",
          );
          await produce(topic, 100, 1);
          const next = await reader.readMessage({
            signal: AbortSignal.timeout(20_000),
          });
          assert.equal(next.offset, 100, "LastOffset: the next one written");
          reader.seek({ topic, partition: 0, offset: FirstOffset });
          assert.equal((await reader.readMessage()).offset, 0);
        } finally {
          await reader.close();
        }
      });
    });
  }

  test("inside for await: the next message is the one sought; for await commits from there", async () => {
    await noUnhandledRejections(async () => {
      const topic = await topicWith(1);
      const groupId = await newGroup("classic");
      await produce(topic, 0, 40);
      const reader = groupReader("classic", groupId, topic);
      const offsets: number[] = [];
      let sought = false;
      for await (const m of reader) {
        offsets.push(m.offset);
        if (m.offset === 30 && !sought) {
          sought = true;
          reader.seek({ topic, partition: 0, offset: 5 });
        } else if (sought && m.offset === 9) {
          break; // closes the Reader, which commits m9
        }
      }
      assert.deepEqual(offsets.slice(29), [29, 30, 5, 6, 7, 8, 9]);
      assert.deepEqual(await committed(groupId, topic, 1), [10]);
    });
  });

  test("in onPartitionsAssigned, a seek replaces the committed offset", async () => {
    await noUnhandledRejections(async () => {
      const topic = await topicWith(2);
      const groupId = await newGroup("classic");
      await produce(topic, 0, 200);
      const first = groupReader("classic", groupId, topic);
      try {
        for (let i = 0; i < 150; i++) await first.readMessage();
      } finally {
        await first.close();
      }
      const before = await committed(groupId, topic, 2);
      assert.ok(before.every((o) => o > 3), `committed ${before}`);
      const seen = new Map<number, number[]>();
      const second: Reader = groupReader("classic", groupId, topic, {
        onPartitionsAssigned: (
          partitions: { topic: string; partition: number }[],
        ) => second.seek(...partitions.map((p) => ({ ...p, offset: 3 }))),
      });
      try {
        while (
          (seen.get(0)?.length ?? 0) < 1 || (seen.get(1)?.length ?? 0) < 1
        ) {
          const m = await second.readMessage({
            signal: AbortSignal.timeout(20_000),
          });
          seen.set(m.partition, [...(seen.get(m.partition) ?? []), m.offset]);
        }
      } finally {
        await second.close();
      }
      assert.equal(seen.get(0)![0], 3);
      assert.equal(seen.get(1)![0], 3);
    });
  });

  test("refusals: a partition not assigned (nothing moves), bad positions, a Reader without a group, a closed Reader", async () => {
    await noUnhandledRejections(async () => {
      const topic = await topicWith(1);
      const groupId = await newGroup("classic");
      await produce(topic, 0, 10);
      const reader = groupReader("classic", groupId, topic);
      assert.equal((await reader.readMessage()).offset, 0);
      assert.throws(
        () =>
          reader.seek(
            { topic, partition: 0, offset: 5 },
            { topic, partition: 7, offset: 0 },
          ),
        (error: Error) =>
          error instanceof RangeError &&
          error.message.includes(`partition 7 of "${topic}" is not assigned`) &&
          error.message.includes(`${topic}/0`),
      );
      assert.equal(
        (await reader.readMessage()).offset,
        1,
        "the valid position before it did not move either",
      );
      assert.throws(
        () => reader.seek({ topic, partition: 0, offset: -5 }),
        /offset >= 0, FirstOffset \(-2\) or LastOffset \(-1\)/,
      );
      assert.throws(
        () => reader.seek({ topic: "", partition: 0, offset: 1 }),
        /needs a topic name/,
      );
      assert.throws(
        () => reader.seek({ topic, partition: 1.5, offset: 1 }),
        /needs a partition number \(an integer >= 0\), got 1\.5 \(number\)$/,
      );
      // The bad field's value shows, however long the topic's name.
      assert.ok(topic.length > 20, topic);
      assert.throws(
        () => reader.seek({ topic, partition: 0, offset: "12" as never }),
        {
          name: "TypeError",
          message:
            `Cannot seek: position 0 (partition 0 of "${topic}") needs an offset >= 0, FirstOffset (-2) or LastOffset (-1), got "12" (string)`,
        },
      );
      await assert.rejects(
        reader.commitOffsets({ topic, partition: 0, offset: 2 ** 60 }),
        {
          name: "RangeError",
          message:
            `Cannot commit offsets: position 0 (partition 0 of "${topic}") needs an offset >= 0, got ${
              2 ** 60
            } (number)`,
        },
      );
      assert.throws(
        () => reader.seek(null as never),
        /^TypeError: Cannot seek: position 0 must be \{ topic, partition, offset \}, got null$/,
      );
      // A list where the positions were meant one by one.
      assert.throws(
        () => reader.seek([{ topic, partition: 0, offset: 1 }] as never),
        /^TypeError: Cannot seek: position 0 is an array; pass the positions as separate arguments \(spread a list: \.\.\.positions\)$/,
      );
      await reader.close();
      assert.throws(
        () => reader.seek({ topic, partition: 0, offset: 1 }),
        ClosedError,
      );
      const single = new Reader({ brokers: [BROKER], topic, partition: 0 });
      assert.throws(
        () => single.seek({ topic, partition: 0, offset: 1 }),
        /not in a consumer group \(set "groupId"\)/,
      );
      await single.close();
    });
  });

  test("pause and resume take only partitions this member owns, named as seek names them; a paused then resumed partition is read on", async () => {
    const topic = await topicWith(1);
    const groupId = await newGroup("classic");
    await produce(topic, 0, 10);
    const reader = groupReader("classic", groupId, topic);
    try {
      assert.equal((await reader.readMessage()).offset, 0);
      reader.pause({ topic, partition: 0 });
      reader.resume({ topic, partition: 0 });
      for (let i = 1; i < 10; i++) {
        const m = await reader.readMessage({
          signal: AbortSignal.timeout(20_000),
        });
        assert.equal(m.offset, i);
      }
      for (const method of ["pause", "resume"] as const) {
        const what = `${method} partitions`;
        assert.throws(
          () => reader[method]({ topic, partition: 99 }),
          (error: Error) =>
            error instanceof RangeError &&
            error.message.startsWith(
              `Cannot ${what}: partition 99 of "${topic}" is not assigned to this member`,
            ),
        );
        assert.throws(
          () => reader[method](null as never),
          new RegExp(
            `^TypeError: Cannot ${what}: position 0 must be \\{ topic, partition \\}, got null$`,
          ),
        );
        assert.throws(
          () => reader[method]("x" as never),
          new RegExp(
            `^TypeError: Cannot ${what}: position 0 must be \\{ topic, partition \\}, got "x" \\(string\\)$`,
          ),
        );
      }
    } finally {
      await reader.close();
    }
    assert.throws(() => reader.pause({ topic, partition: 0 }), ClosedError);
  });

  for (const protocol of PROTOCOLS) {
    test(`commitOffsets in onPartitionsAssigned (${protocol}): the partition resumes from that commit`, async () => {
      const topic = await topicWith(1);
      const groupId = await newGroup(protocol);
      await produce(topic, 0, 10);
      const reader: Reader = groupReader(protocol, groupId, topic, {
        onPartitionsAssigned: async (partitions) => {
          if (partitions.length === 0) return;
          await reader.commitOffsets({ topic, partition: 0, offset: 7 });
        },
      });
      try {
        const m = await reader.readMessage({
          signal: AbortSignal.timeout(20_000),
        });
        assert.equal(m.offset, 7);
      } finally {
        await reader.close();
      }
    });

    test(`pause in onPartitionsAssigned (${protocol}): the partition is not read until resumed`, async () => {
      const topic = await topicWith(2);
      const groupId = await newGroup(protocol);
      const writer = new Writer({ brokers: [BROKER], topic });
      await writer.writeMessages(
        [0, 1, 0, 1, 0, 1].map((partition) => ({ partition, value: "m" })),
      );
      await writer.close();
      const reader: Reader = groupReader(protocol, groupId, topic, {
        onPartitionsAssigned: (partitions) => {
          const one = partitions.filter((p) => p.partition === 1);
          if (one.length > 0) reader.pause(...one);
        },
      });
      try {
        // The three of partition 0 come, none of partition 1.
        const seen: string[] = [];
        for (let i = 0; i < 3; i++) {
          const m = await reader.readMessage({
            signal: AbortSignal.timeout(20_000),
          });
          seen.push(`${m.partition}/${m.offset}`);
        }
        assert.deepEqual(seen, ["0/0", "0/1", "0/2"]);
        assert.equal(
          await reader.readMessage({ signal: AbortSignal.timeout(1500) })
            .then((m) => `read ${m.partition}/${m.offset}`, () => "nothing"),
          "nothing",
        );
        reader.resume({ topic, partition: 1 });
        const m = await reader.readMessage({
          signal: AbortSignal.timeout(20_000),
        });
        assert.equal(m.partition, 1);
      } finally {
        await reader.close();
      }
    });
  }

  test("commitOffsets commits the given next offsets at once, whatever commitInterval; refuses partitions not assigned", async () => {
    await noUnhandledRejections(async () => {
      const topic = await topicWith(2);
      const groupId = await newGroup("classic");
      await produce(topic, 0, 40);
      const reader = groupReader("classic", groupId, topic, {
        commitInterval: 60_000,
      });
      try {
        const m = await reader.fetchMessage();
        await reader.commitOffsets({
          topic,
          partition: m.partition,
          offset: m.offset + 3,
        });
        const after = await committed(groupId, topic, 2);
        assert.equal(after[m.partition], m.offset + 3);
        assert.equal(after[1 - m.partition], -1, "the other untouched");
        // Lower again: the group goes where it is told.
        await reader.commitOffsets({
          topic,
          partition: m.partition,
          offset: 1,
        });
        assert.equal((await committed(groupId, topic, 2))[m.partition], 1);
        await assert.rejects(
          reader.commitOffsets(
            { topic, partition: m.partition, offset: 5 },
            { topic, partition: 9, offset: 0 },
          ),
          (error: Error) =>
            error instanceof RangeError &&
            error.message.includes(`partition 9 of "${topic}" is not assigned`),
        );
        assert.equal(
          (await committed(groupId, topic, 2))[m.partition],
          1,
          "nothing sent",
        );
        await assert.rejects(
          reader.commitOffsets({ topic, partition: m.partition, offset: -1 }),
          /needs an offset >= 0, got -1 \(number\)$/,
        );
      } finally {
        await reader.close();
      }
      const single = new Reader({ brokers: [BROKER], topic, partition: 0 });
      await assert.rejects(
        single.commitOffsets({ topic, partition: 0, offset: 1 }),
        /not in a consumer group/,
      );
      await single.close();
    });
  });

  test("seekToTime moves owned partitions to their first message at or after a time, or to their end", async () => {
    await noUnhandledRejections(async () => {
      const topic = await topicWith(2);
      const groupId = await newGroup("classic");
      await produce(topic, 0, 20);
      await sleep(50);
      const middle = new Date();
      await sleep(50);
      await produce(topic, 20, 20);
      const reader = groupReader("classic", groupId, topic);
      try {
        const seen: string[] = [];
        for (let i = 0; i < 40; i++) {
          seen.push(text.decode((await reader.readMessage()).value!));
        }
        await reader.seekToTime(middle);
        const again = new Set<string>();
        while (again.size < 20) {
          const m = await reader.readMessage({
            signal: AbortSignal.timeout(20_000),
          });
          again.add(text.decode(m.value!));
        }
        assert.deepEqual([...again].sort(), expected(20, 20));
        // A time after every message: the end of each partition.
        await reader.seekToTime(new Date(Date.now() + 3600_000));
        await produce(topic, 40, 2);
        const next = await reader.readMessage({
          signal: AbortSignal.timeout(20_000),
        });
        assert.match(text.decode(next.value!), /^m4[01]$/);
        await assert.rejects(
          reader.seekToTime(middle, { topic, partition: 5 }),
          /partition 5 of ".*" is not assigned/,
        );
        await assert.rejects(
          // deno-lint-ignore no-explicit-any
          reader.seekToTime("yesterday" as any),
          /"time" must be a valid Date/,
        );
      } finally {
        await reader.close();
      }
    });
  });
});
