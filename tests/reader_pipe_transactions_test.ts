/**
 * `reader.pipeTo(writer)` into a transactional Writer, against the real
 * broker: the batches go in transactions with the group's offsets, so each
 * message reaches read_committed consumers of the output exactly once,
 * when the pipe ends, when a write fails, and across rebalances between
 * two piping members.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Client, FirstOffset, Reader, Writer } from "../mod.ts";
import { Cluster } from "../lib/cluster/cluster.ts";
import {
  BROKER,
  noUnhandledRejections,
  sleep,
  uniqueTopic,
} from "./_helpers.ts";
import {
  duplicates,
  endOffsets,
  expected,
  groupReader,
  newGroup,
  produce,
  PROTOCOLS,
  spawnScript,
  topicWith,
  until,
} from "./_group.ts";
import { groupOffsets } from "./_txn.ts";
import { main as mirrorExample } from "../examples/exactly_once_mirror.ts";

const text = new TextDecoder();

/** A transactional Writer into `topic`. */
function transactional(topic: string, options = {}): Writer {
  return new Writer({
    brokers: [BROKER],
    topic,
    transactionalId: uniqueTopic("txn"),
    ...options,
  });
}

/**
 * The values read_committed (or read_uncommitted) consumers see in
 * `topic`: read until there are `count`, then for another 500 ms to catch
 * any extra.
 */
async function outputOf(
  topic: string,
  count: number,
  isolationLevel: "read_committed" | "read_uncommitted" = "read_committed",
): Promise<string[]> {
  const reader = new Reader({
    brokers: [BROKER],
    groupId: uniqueTopic("check"),
    groupTopics: [topic],
    startOffset: FirstOffset,
    isolationLevel,
    maxWait: 100,
  });
  const values: string[] = [];
  try {
    const signal = AbortSignal.timeout(30_000);
    while (values.length < count) {
      const m = await reader.fetchMessage({ signal });
      values.push(text.decode(m.value!));
    }
    for (;;) {
      const m = await reader.fetchMessage({ signal: AbortSignal.timeout(500) })
        .catch(() => null);
      if (m === null) break;
      values.push(text.decode(m.value!));
    }
    return values;
  } finally {
    await reader.close();
  }
}

/**
 * A mirroring member in its own process (tests/scripts/txn_mirror.ts);
 * resolves once it has partitions.
 */
async function mirrorProcess(
  source: string,
  target: string,
  groupId: string,
  transactionalId: string,
  commitInterval = 0,
) {
  const child = spawnScript("txn_mirror.ts", [
    BROKER,
    source,
    target,
    groupId,
    transactionalId,
    String(commitInterval),
  ]);
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => resolve())
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      if (chunk.includes("assigned")) resolve();
    });
    child.once(
      "exit",
      (code) => reject(new Error(`the mirror exited (${code})`)),
    );
  });
  return {
    kill: async () => {
      child.kill("SIGKILL");
      await exited;
    },
  };
}

/** The sum of the group's committed offsets of `topic` (-1s as 0). */
async function committedSum(
  groupId: string,
  topic: string,
  partitions: number,
) {
  const cluster = new Cluster({ brokers: [BROKER] });
  try {
    const list = Array.from(
      { length: partitions },
      (_, partition) => ({ topic, partition }),
    );
    const offsets = await groupOffsets(cluster, groupId, list);
    return offsets.reduce((sum, o) => sum + Math.max(o, 0), 0);
  } finally {
    await cluster.close();
  }
}

/** Whether `topic` holds writes of a transaction still open. */
async function uncommittedWrites(topic: string, partitions: number) {
  const client = new Client({ brokers: [BROKER] });
  try {
    const list = Array.from({ length: partitions }, (_, partition) => ({
      topic,
      partition,
    }));
    const [ends, stable] = await Promise.all([
      client.listOffsets(list),
      client.listOffsets(list, { isolationLevel: "read_committed" }),
    ]);
    return ends.some((e, i) => e.offset > stable[i].offset);
  } finally {
    await client.close();
  }
}

/** Waits until the group's committed offsets of `topic` reach its end. */
async function caughtUp(groupId: string, topic: string, partitions: number) {
  const ends = await endOffsets(topic, partitions);
  const list = ends.map((_, partition) => ({ topic, partition }));
  const cluster = new Cluster({ brokers: [BROKER] });
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const offsets = await groupOffsets(cluster, groupId, list);
      if (offsets.every((o, i) => o === ends[i])) return;
      assert.ok(
        Date.now() < deadline,
        `committed ${offsets} of ${ends} after 60 s`,
      );
      await sleep(100);
    }
  } finally {
    await cluster.close();
  }
}

describe("reader.pipeTo(transactional writer)", () => {
  for (const protocol of PROTOCOLS) {
    test(`a group Reader (${protocol}) mirrors exactly once: output and offsets commit together`, async () => {
      await noUnhandledRejections(async () => {
        const source = await topicWith(3);
        const target = await topicWith(3);
        const groupId = await newGroup(protocol);
        await produce(source, 0, 20_000);
        const reader = groupReader(protocol, groupId, source);
        const writer = transactional(target);
        const stop = new AbortController();
        const piped = reader.pipeTo(writer, {
          signal: stop.signal,
          preventAbort: true,
        }).then(() => null, (error) => error);
        await caughtUp(groupId, source, 3);
        stop.abort(new Error("stop"));
        assert.equal((await piped)?.message, "stop");
        await Promise.all([reader.close(), writer.close()]);
        const out = await outputOf(target, 20_000);
        assert.deepEqual(duplicates(out), []);
        assert.deepEqual(out.sort(), expected(0, 20_000));
        // Nothing was aborted: read_uncommitted sees the same.
        assert.equal(
          (await outputOf(target, 20_000, "read_uncommitted")).length,
          20_000,
        );
      });
    });
  }

  test("consume, transform and produce exactly once: map's results commit with the offsets of what they came from", async () => {
    await noUnhandledRejections(async () => {
      const source = await topicWith(3);
      const target = await topicWith(3);
      const groupId = await newGroup("classic");
      await produce(source, 0, 10_000);
      const reader = groupReader("classic", groupId, source);
      const writer = transactional(target);
      const stop = new AbortController();
      const piped = reader.pipeTo(writer, {
        signal: stop.signal,
        preventAbort: true,
        // Odd ones left out, even ones doubled and marked.
        map: (m) => {
          const i = Number(text.decode(m.value!).slice(1));
          return i % 2 === 1 ? null : [
            { key: m.key, value: `m${i}!` },
            { key: m.key, value: `m${i}!!` },
          ];
        },
      }).then(() => null, (error) => error);
      await caughtUp(groupId, source, 3);
      stop.abort(new Error("stop"));
      assert.equal((await piped)?.message, "stop");
      await Promise.all([reader.close(), writer.close()]);
      const want = expected(0, 10_000).filter((v) =>
        Number(v.slice(1)) % 2 === 0
      )
        .flatMap((v) => [`${v}!`, `${v}!!`]).sort();
      const out = await outputOf(target, want.length);
      assert.deepEqual(out.sort(), want);
    });
  });

  test("a failed write aborts the open transaction: the output and the offsets stay at the last commit, and the next member goes on from there", async () => {
    await noUnhandledRejections(async () => {
      const source = await topicWith(1);
      const target = await topicWith(1);
      const groupId = await newGroup("classic");
      await produce(source, 0, 3000);
      const reader = groupReader("classic", groupId, source);
      // 2,000-byte batches: the 4,000-byte message below cannot be sent.
      const writer = transactional(target, { batchBytes: 2_000 });
      const piped = reader.pipeTo(writer).then(() => null, (error) => error);
      await caughtUp(groupId, source, 1);
      const more = new Writer({ brokers: [BROKER], topic: source });
      await more.writeMessages(
        { value: "m3000" },
        { value: new Uint8Array(4_000) },
        { value: "m3001" },
      );
      await more.close();
      const failed = await piped;
      assert.ok(failed instanceof Error, String(failed));
      assert.match(failed.message, /too large|4\d{3} bytes/i);
      // The transaction holding m3000 was aborted with its offsets.
      const cluster = new Cluster({ brokers: [BROKER] });
      try {
        assert.deepEqual(
          await groupOffsets(cluster, groupId, [{
            topic: source,
            partition: 0,
          }]),
          [3000],
        );
      } finally {
        await cluster.close();
      }
      const out = await outputOf(target, 3000);
      assert.deepEqual(out.sort(), expected(0, 3000));
      // The next member reads m3000 again.
      const again = groupReader("classic", groupId, source);
      try {
        const m = await again.readMessage({
          signal: AbortSignal.timeout(30_000),
        });
        assert.equal(m.offset, 3000);
        assert.equal(text.decode(m.value!), "m3000");
      } finally {
        await again.close();
      }
    });
  });

  for (const protocol of PROTOCOLS) {
    test(`two members (${protocol}) piping while messages arrive and the group rebalances: each message is in the output once`, async () => {
      await noUnhandledRejections(async () => {
        const source = await topicWith(4);
        const target = await topicWith(2);
        const groupId = await newGroup(protocol);
        const rounds = 30;
        const perRound = 500;
        const producing = (async () => {
          for (let r = 0; r < rounds; r++) {
            await produce(source, r * perRound, perRound);
            await sleep(50);
          }
        })();
        const stop = new AbortController();
        const pipe = () => {
          const reader = groupReader(protocol, groupId, source);
          const writer = transactional(target);
          const piped = reader.pipeTo(writer, {
            signal: stop.signal,
            preventAbort: true,
          }).then(() => null, (error) => error);
          return { reader, writer, piped };
        };
        const first = pipe();
        await sleep(800);
        const second = pipe();
        // Its join rebalances the group: waited for, so that both have
        // partitions by the end (on a slow broker, the first alone could
        // otherwise catch up before the rebalance).
        await until(
          "the second member has partitions",
          () => second.reader.assignment().length > 0,
        );
        await producing;
        await caughtUp(groupId, source, 4);
        assert.ok(
          first.reader.assignment().length > 0 &&
            second.reader.assignment().length > 0,
          "both members had partitions at the end",
        );
        stop.abort(new Error("stop"));
        for (const { reader, writer, piped } of [first, second]) {
          assert.equal((await piped)?.message, "stop");
          await Promise.all([reader.close(), writer.close()]);
        }
        const total = rounds * perRound;
        const out = await outputOf(target, total);
        assert.deepEqual(duplicates(out), []);
        assert.deepEqual(out.sort(), expected(0, total));
      });
    });
  }

  test("a Reader of one partition pipes in transactions too (no offsets to commit)", async () => {
    await noUnhandledRejections(async () => {
      const source = await topicWith(1);
      const target = await topicWith(1);
      await produce(source, 0, 1000);
      const reader = new Reader({
        brokers: [BROKER],
        topic: source,
        partition: 0,
        maxWait: 100,
      });
      const writer = transactional(target);
      const stop = new AbortController();
      const piped = reader.pipeTo(writer, {
        signal: stop.signal,
        preventAbort: true,
      })
        .then(() => null, (error) => error);
      const out = await outputOf(target, 1000);
      stop.abort(new Error("stop"));
      assert.equal((await piped)?.message, "stop");
      await Promise.all([reader.close(), writer.close()]);
      assert.deepEqual(out.sort(), expected(0, 1000));
      const client = new Client({ brokers: [BROKER] });
      try {
        const [ended] = await client.listOffsets([{
          topic: target,
          partition: 0,
        }], {
          isolationLevel: "read_committed",
        });
        // 1,000 messages and at least one commit marker, all stable.
        assert.ok(ended.offset > 1000, `last stable offset ${ended.offset}`);
      } finally {
        await client.close();
      }
    });
  });

  test("examples/exactly_once_mirror.ts copies a topic whole and once, its group's offsets committed with it", async () => {
    await noUnhandledRejections(async () => {
      const source = await topicWith(2);
      const target = uniqueTopic("copy");
      const groupId = await newGroup("classic");
      await produce(source, 0, 5000);
      const stop = new AbortController();
      const running = mirrorExample(
        BROKER,
        source,
        target,
        groupId,
        stop.signal,
      );
      try {
        await caughtUp(groupId, source, 2);
      } finally {
        stop.abort();
      }
      await running;
      const out = await outputOf(target, 5000);
      assert.deepEqual(out.sort(), expected(0, 5000));
    });
  });

  test("a mirroring process killed (kill -9) in the middle of a transaction: its successor with the same transactional id aborts it and goes on, each message in the output once", async () => {
    await noUnhandledRejections(async () => {
      const source = await topicWith(3);
      const target = await topicWith(3);
      const groupId = await newGroup("classic");
      const transactionalId = uniqueTopic("txn");
      const rounds = 40;
      const perRound = 500;
      const total = rounds * perRound;
      // Transactions of 1 s: the kill lands in one that holds writes.
      const first = await mirrorProcess(
        source,
        target,
        groupId,
        transactionalId,
        1000,
      );
      const producing = (async () => {
        for (let r = 0; r < rounds; r++) {
          await produce(source, r * perRound, perRound);
          await sleep(50);
        }
      })();
      try {
        // Killed once a transaction committed, while the open one holds
        // writes (the copy's end is past its last stable offset).
        const deadline = Date.now() + 30_000;
        while (
          await committedSum(groupId, source, 3) === 0 ||
          !(await uncommittedWrites(target, 3))
        ) {
          assert.ok(
            Date.now() < deadline,
            "the first process committed within 30 s",
          );
          await sleep(20);
        }
      } finally {
        await first.kill();
      }
      const killedAt = await committedSum(groupId, source, 3);
      assert.ok(
        killedAt < total,
        `killed after ${killedAt} of ${total} committed`,
      );
      const second = await mirrorProcess(
        source,
        target,
        groupId,
        transactionalId,
      );
      try {
        await producing;
        await caughtUp(groupId, source, 3);
      } finally {
        await second.kill();
      }
      const out = await outputOf(target, total);
      assert.deepEqual(duplicates(out), []);
      assert.deepEqual(out.sort(), expected(0, total));
      // The killed process had written messages its successor aborted.
      const all = await outputOf(target, total, "read_uncommitted");
      assert.ok(all.length > total, `${all.length} written in all`);
    });
  });
});
