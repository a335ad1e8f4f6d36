/**
 * What a group pipe marks consumed when a revocation cuts writes short:
 * the `Acknowledged` tracker fed by writes settled here.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { Consumption } from "./group/engine.ts";
import type { MessageBatch } from "./message_batch.ts";
import { Acknowledged } from "./pipe_acknowledged.ts";

/** A batch of `partition` ending at `lastOffset` (all the tracker reads). */
function batch(partition: number, lastOffset: number): MessageBatch {
  return { topic: "t", partition, lastOffset } as MessageBatch;
}

/**
 * A tracker marking through a Consumption that records each mark as
 * "partition@offset" and owns what `owns` says (every partition).
 */
function tracked(owns: Consumption["owns"] = () => true) {
  const marked: string[] = [];
  const rewound: string[] = [];
  const consumption: Consumption = {
    consumed: (last) => marked.push(`${last.partition}@${last.offset}`),
    owns,
    group: () => "g",
    rewind: (positions) => {
      for (const p of positions) rewound.push(`${p.partition}@${p.offset}`);
    },
    release: () => {},
  };
  return { marked, rewound, tracker: new Acknowledged(consumption) };
}

/** Where a pipe began reading partitions (partition → first offset). */
function readFrom(first: Record<number, number>) {
  return new Map(
    Object.entries(first).map(([partition, offset]) => [
      `t\0${partition}`,
      { topic: "t", partition: Number(partition), offset },
    ]),
  );
}

test("Acknowledged: a pipe that ended keeping nothing moves the Reader back past what was marked", async () => {
  const { marked, rewound, tracker } = tracked();
  tracker.follow(batch(0, 9), Promise.resolve());
  await tracker.drained();
  const failed = Promise.withResolvers<number | void>();
  failed.promise.catch(() => {});
  tracker.follow(batch(0, 19), failed.promise);
  // Partition 1: handed over, never acknowledged; partition 2: read only.
  tracker.follow(batch(1, 30), new Promise(() => {}));
  failed.reject(new Error("MESSAGE_TOO_LARGE"));
  await new Promise((resolve) => setTimeout(resolve, 0));
  tracker.release(readFrom({ 0: 0, 1: 21, 2: 7 }));
  assert.deepEqual(marked, ["0@9"]);
  // Partition 0 from 10 (0 to 9 are marked), the others from where the
  // pipe began reading them.
  assert.deepEqual(rewound, ["0@10", "1@21", "2@7"]);
});

test("Acknowledged: a pipe that ended keeping what it read moves nothing back", () => {
  const { rewound, tracker } = tracked();
  tracker.follow(batch(0, 9), Promise.resolve());
  tracker.release();
  assert.deepEqual(rewound, []);
});

test("Acknowledged: after a write cut short by a revocation, its partition is marked no further", async () => {
  const owned = new Set(["t/0", "t/1"]);
  const { marked, tracker } = tracked((topic, partition) =>
    owned.has(`${topic}/${partition}`)
  );
  tracker.follow(batch(0, 9), Promise.resolve());
  await tracker.drained();
  assert.deepEqual(marked, ["0@9"]);

  const writes = [
    Promise.withResolvers<number | void>(),
    Promise.withResolvers<number | void>(),
    Promise.withResolvers<number | void>(),
  ];
  tracker.follow(batch(0, 19), writes[0].promise);
  tracker.follow(batch(0, 29), writes[1].promise);
  tracker.follow(batch(1, 5), writes[2].promise);
  owned.delete("t/0");
  tracker.revoked([{ topic: "t", partition: 0 }]);
  // Partition 0's batches are no longer handed over.
  assert.equal(tracker.verdict(batch(0, 39)), "drop");
  assert.equal(tracker.verdict(batch(1, 39)), "write");
  const drained = tracker.drained();
  // Processed through 14 in order; the next batch had messages processed
  // (ordering "none") after the hole at 15, which must not be marked.
  writes[0].resolve(14);
  writes[1].resolve(25);
  writes[2].resolve();
  await drained;
  assert.deepEqual(marked, ["0@9", "0@14", "1@5"]);

  // A batch with nothing processed marks nothing; the partition, owned
  // again later, is marked as usual.
  tracker.follow(batch(1, 9), Promise.resolve(-1));
  tracker.revoked([{ topic: "t", partition: 1 }]);
  owned.add("t/0");
  tracker.follow(batch(0, 50), Promise.resolve());
  await tracker.drained();
  assert.deepEqual(marked, ["0@9", "0@14", "1@5", "0@50"]);
  tracker.release();
});

test("Acknowledged: each partition is marked in its own order; a revocation waits for the revoked partitions only", async () => {
  const { marked, tracker } = tracked();
  const slow = Promise.withResolvers<number | void>();
  tracker.follow(batch(0, 9), slow.promise);
  tracker.follow(batch(1, 9), Promise.resolve());
  tracker.follow(batch(1, 19), Promise.resolve());
  // Partition 1 waits for no write of partition 0.
  await tracker.drained([{ topic: "t", partition: 1 }]);
  assert.deepEqual(marked, ["1@9", "1@19"]);
  let all = false;
  const drained = tracker.drained().then(() => all = true);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(all, false);
  slow.resolve();
  await drained;
  assert.deepEqual(marked, ["1@9", "1@19", "0@9"]);
  tracker.release();
});

test("Acknowledged: a second revocation keeps what the first cut short", async () => {
  const { marked, tracker } = tracked();
  const later = Promise.withResolvers<number | void>();
  tracker.follow(batch(0, 19), Promise.resolve(14));
  tracker.follow(batch(0, 29), later.promise);
  tracker.revoked([{ topic: "t", partition: 0 }]);
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(marked, ["0@14"]);
  // The drain timed out, the partition came back and is revoked again
  // while the second batch still runs.
  tracker.revoked([{ topic: "t", partition: 0 }]);
  later.resolve();
  await tracker.drained();
  assert.deepEqual(marked, ["0@14"], "nothing past the messages dropped");
  tracker.release();
  // Outcomes after the pipe ended mark nothing, and throw nothing.
  tracker.follow(batch(0, 39), Promise.resolve());
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(marked, ["0@14"]);
});

test("Acknowledged: a batch's progress is marked while it is the first pending of its partition, and not after a cut", async () => {
  const { marked, tracker } = tracked();
  const first = Promise.withResolvers<number | void>();
  const second = Promise.withResolvers<number | void>();
  const firstProgress = tracker.follow(batch(0, 9), first.promise);
  const secondProgress = tracker.follow(batch(0, 19), second.promise);
  firstProgress(3);
  firstProgress(2); // not backwards
  // The second batch's progress waits for the first batch.
  secondProgress(12);
  assert.deepEqual(marked, ["0@3"]);
  first.resolve();
  await new Promise((r) => setTimeout(r, 0));
  // The first batch marked, then what the second has processed so far.
  assert.deepEqual(marked, ["0@3", "0@9", "0@12"]);
  secondProgress(15);
  assert.deepEqual(marked, ["0@3", "0@9", "0@12", "0@15"]);

  // A batch cut short stops the marks of the later ones' progress too.
  tracker.revoked([{ topic: "t", partition: 0 }]);
  const third = Promise.withResolvers<number | void>();
  const thirdProgress = tracker.follow(batch(0, 29), third.promise);
  tracker.revoked([{ topic: "t", partition: 0 }]);
  second.resolve(16);
  await new Promise((r) => setTimeout(r, 0));
  thirdProgress(25);
  third.resolve(25);
  await tracker.drained();
  assert.deepEqual(marked, ["0@3", "0@9", "0@12", "0@15", "0@16"]);
  tracker.release();
});
