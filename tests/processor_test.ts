/**
 * `reader.pipeTo(new Processor(handle))` against the real broker: messages
 * processed concurrently, in order per partition (or per key), committed
 * only once processed, a failing handler's message read again, and a
 * share group's messages accepted once processed.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type Message,
  Processor,
  Reader,
  type ReaderOptions,
  type ShareMessage,
  Writer,
} from "../mod.ts";
import { BROKER, sleep } from "./_helpers.ts";
import {
  committed,
  duplicates,
  endOffsets,
  expected,
  fast,
  newGroup,
  pipeUntilStopped,
  produce,
  topicWith,
  until,
} from "./_group.ts";
import { leftIn, newShareGroup, shareReader } from "./_share.ts";

const text = new TextDecoder();

/** Counts the handlers running at once, and the most seen. */
function gauge() {
  let now = 0;
  let most = 0;
  return {
    get most() {
      return most;
    },
    async around(work: () => Promise<void>) {
      now++;
      most = Math.max(most, now);
      try {
        await work();
      } finally {
        now--;
      }
    },
  };
}

function groupReader(
  groupId: string,
  topic: string,
  options: Partial<ReaderOptions> = {},
): Reader {
  return new Reader({
    brokers: [BROKER],
    groupId,
    topic,
    ...fast("classic"),
    ...options,
  });
}

/**
 * Two members of `groupId`, each piping a Reader of `topic` into a
 * Processor (two at a time) that runs `handle`: the first at once, the
 * second once `secondWhen()`; both stop (committing what they processed)
 * and close once `done()`.
 */
async function twoMembers(
  protocol: "classic" | "consumer",
  groupId: string,
  topic: string,
  handle: (member: number, m: Message) => Promise<void>,
  when: { secondWhen: () => boolean; done: () => boolean },
): Promise<void> {
  const members = [0, 1].map((i) => ({
    reader: new Reader({
      brokers: [BROKER],
      groupId,
      groupTopics: [topic],
      ...fast(protocol),
    }),
    processor: new Processor((m) => handle(i, m), { concurrency: 2 }),
    pipe: null as ReturnType<typeof pipeUntilStopped> | null,
  }));
  const start = (i: number) => {
    members[i].pipe = pipeUntilStopped(members[i].reader, members[i].processor);
  };
  try {
    start(0);
    await until("the first processing", when.secondWhen);
    start(1);
    await until("every message processed", when.done, 60_000);
    const endings = await Promise.all(members.map((m) => m.pipe?.stop()));
    for (const ending of endings) {
      assert.equal((ending as Error).name, "AbortError");
    }
  } finally {
    await Promise.allSettled(members.map((m) => m.reader.close()));
  }
}

describe("Processor", () => {
  test("six partitions, three at a time: each partition in offset order, all processed once, all committed", async () => {
    const topic = await topicWith(6);
    await produce(topic, 0, 600);
    const groupId = await newGroup("classic");
    const reader = groupReader(groupId, topic);
    const running = gauge();
    const seen: string[] = [];
    const offsets = new Map<number, number[]>();
    const processor = new Processor((m) =>
      running.around(async () => {
        await sleep(1 + (m.offset % 3));
        seen.push(text.decode(m.value!));
        const list = offsets.get(m.partition) ?? [];
        list.push(m.offset);
        offsets.set(m.partition, list);
      }), { concurrency: 3 });
    const pipe = pipeUntilStopped(reader, processor);
    await until("every message processed", () => seen.length >= 600, 60_000);
    assert.equal((await pipe.stop() as Error)?.name, "AbortError");
    await reader.close();
    assert.deepEqual(duplicates(seen), []);
    assert.deepEqual([...seen].sort(), expected(0, 600));
    assert.equal(running.most, 3, "three at a time");
    for (const [partition, list] of offsets) {
      assert.deepEqual(
        list,
        [...list].sort((a, b) => a - b),
        `partition ${partition} in order`,
      );
    }
    assert.deepEqual(
      await committed(groupId, topic, 6),
      await endOffsets(topic, 6),
    );
  });

  test("a handler that throws fails the pipe; its message and those after it are read again", async () => {
    const topic = await topicWith(1);
    await produce(topic, 0, 100);
    const groupId = await newGroup("classic");
    const reader = groupReader(groupId, topic);
    const done: number[] = [];
    const processor = new Processor((m: Message) => {
      if (m.offset === 50) throw new Error("cannot process offset 50");
      done.push(m.offset);
    }, { concurrency: 1 });
    await assert.rejects(
      reader.pipeTo(processor),
      /^Error: cannot process offset 50$/,
    );
    await reader.close();
    assert.deepEqual(done, Array.from({ length: 50 }, (_, i) => i));
    const [commit] = await committed(groupId, topic, 1);
    assert.ok(commit <= 50, `committed ${commit}, past the failed message`);
    // The group goes on from its commit: offset 50 comes again.
    const again = groupReader(groupId, topic);
    const first = await again.fetchMessage();
    await again.close();
    assert.ok(first.offset <= 50, `read again from ${first.offset}`);
  });

  test("a long fetched batch is committed as it is processed, not only at its end", async () => {
    const topic = await topicWith(1);
    // One write, one record batch: the Reader fetches it as one batch.
    await produce(topic, 0, 300);
    const groupId = await newGroup("classic");
    const reader = groupReader(groupId, topic);
    const gate = Promise.withResolvers<void>();
    let done = 0;
    const processor = new Processor(async (m: Message) => {
      if (m.offset === 150) await gate.promise;
      done++;
    }, { concurrency: 1 });
    const pipe = pipeUntilStopped(reader, processor);
    try {
      await until("150 messages processed", () => done === 150);
      // Offset 150 waits in its handler: the first 150 are committed.
      const deadline = Date.now() + 10_000;
      let commit = -1;
      while (commit < 150 && Date.now() < deadline) {
        [commit] = await committed(groupId, topic, 1);
        if (commit < 150) await sleep(100);
      }
      assert.equal(commit, 150, "the processed part of the batch committed");
      assert.equal(done, 150, "and nothing past the message in process");
      gate.resolve();
      await until("every message processed", () => done === 300);
    } finally {
      gate.resolve();
      await pipe.stop();
      await reader.close();
    }
    await assert.rejects(pipe.piping, { name: "AbortError" });
    assert.deepEqual(await committed(groupId, topic, 1), [300]);
  });

  test("a partition's long fetched batch does not hold up the other partitions", async () => {
    const topic = await topicWith(2);
    await produce(topic, 0, 3000);
    const groupId = await newGroup("classic");
    const reader = groupReader(groupId, topic);
    /** The partition of each message processed, in the order processed. */
    const order: number[] = [];
    const processor = new Processor(async (m: Message) => {
      if (m.offset % 10 === 0) await sleep(1);
      order.push(m.partition);
    }, { concurrency: 2, queueCapacity: 100 });
    const pipe = pipeUntilStopped(reader, processor);
    try {
      await until("every message processed", () => order.length >= 3000);
    } finally {
      await pipe.stop();
      await reader.close();
    }
    // Each fetched batch is far longer than the queue: the second
    // partition still starts while the first has most of its batch left.
    const before = order.indexOf(1 - order[0]);
    const ofFirst = order.filter((p) => p === order[0]).length;
    assert.ok(
      before < ofFirst / 4,
      `the second partition started after ${before} of ${ofFirst}`,
    );
    assert.deepEqual(
      await committed(groupId, topic, 2),
      await endOffsets(topic, 2),
    );
  });

  test("retries, then a dead-letter topic: a poison message is written there and the group commits past it", async () => {
    const topic = await topicWith(1);
    await produce(topic, 0, 20);
    const dlq = await topicWith(1);
    const groupId = await newGroup("classic");
    const reader = groupReader(groupId, topic);
    const deadLetters = new Writer({ brokers: [BROKER], topic: dlq });
    const done: number[] = [];
    let tries = 0;
    const processor = new Processor((m: Message) => {
      if (m.offset === 7) {
        tries++;
        throw new Error("cannot bill order 7");
      }
      done.push(m.offset);
    }, {
      retryTimeout: 300,
      retryBackoff: 50,
      deadLetter: (m: Message, error) =>
        deadLetters.writeMessages({
          key: m.key,
          value: m.value,
          headers: [{ key: "error", value: (error as Error).message }],
        }),
    });
    const pipe = pipeUntilStopped(reader, processor);
    try {
      await until("every other message processed", () => done.length >= 19);
      assert.equal((await pipe.stop() as Error)?.name, "AbortError");
    } finally {
      await pipe.stop();
      await Promise.all([reader.close(), deadLetters.close()]);
    }
    assert.deepEqual(
      done,
      Array.from({ length: 20 }, (_, i) => i).filter((i) => i !== 7),
    );
    assert.ok(tries >= 2, `tried ${tries} times`);
    assert.deepEqual(await committed(groupId, topic, 1), [20]);
    const check = new Reader({ brokers: [BROKER], topic: dlq, partition: 0 });
    try {
      const dead = await check.readMessage();
      assert.equal(text.decode(dead.value!), "m7");
      assert.deepEqual(
        dead.headers.map((h) => [h.key, text.decode(h.value as Uint8Array)]),
        [["error", "cannot bill order 7"]],
      );
    } finally {
      await check.close();
    }
  });

  test("a message waiting to be tried again when the Reader closes is given up: not tried again, not dead-lettered, not committed; close does not wait for it", async () => {
    const topic = await topicWith(1);
    await produce(topic, 0, 3);
    const groupId = await newGroup("classic");
    const reader = groupReader(groupId, topic);
    let tries = 0;
    let deadLettered = 0;
    const processor = new Processor((m: Message) => {
      if (m.offset === 1) {
        tries++;
        throw new Error("not now");
      }
    }, {
      concurrency: 1,
      retryTimeout: 20_000,
      retryBackoff: 1000,
      deadLetter: () => void deadLettered++,
    });
    const piping = reader.pipeTo(processor, { preventAbort: true });
    piping.catch(() => {}); // awaited below
    await until("the message failed once", () => tries === 1);
    const started = Date.now();
    await reader.close();
    const took = Date.now() - started;
    // Half of rebalanceTimeout (10 s) is what close would wait for a
    // handler running; one waiting to be tried again is not waited for.
    assert.ok(took < 3000, `close took ${took} ms`);
    await piping.catch(() => {});
    await sleep(2500);
    assert.equal(tries, 1);
    assert.equal(deadLettered, 0);
    // It, and the one after it that waited behind it.
    assert.equal(processor.stats().revoked, 2);
    assert.deepEqual(await committed(groupId, topic, 1), [1]);
  });

  test("reader.close() under a handler that outlives the wait: its signal aborts, and the pipe ends", async () => {
    const topic = await topicWith(1);
    await produce(topic, 0, 1);
    const groupId = await newGroup("classic");
    const reader = groupReader(groupId, topic, { rebalanceTimeout: 4000 });
    let started = false;
    let reason: unknown = null;
    const processor = new Processor(async (_m: Message, signal) => {
      started = true;
      await new Promise<void>((resolve) =>
        signal.addEventListener("abort", () => {
          reason = signal.reason;
          resolve();
        })
      );
    }, { concurrency: 1 });
    const piping = reader.pipeTo(processor, { preventAbort: true });
    piping.catch(() => {}); // awaited below
    await until("the handler runs", () => started);
    const closing = Date.now();
    await reader.close();
    // Waited half of rebalanceTimeout for the handler, then gave up.
    assert.ok(Date.now() - closing < 4000, `${Date.now() - closing} ms`);
    await until("the handler's signal aborted", () => reason !== null, 5000);
    assert.match(
      String((reason as Error).message),
      /partition 0 of .* was given up while its handler ran/,
    );
    let ended = false;
    piping.catch(() => {}).finally(() => ended = true);
    await until("the pipe ended", () => ended, 5000);
    // Not processed in time: not committed.
    assert.deepEqual(await committed(groupId, topic, 1), [-1]);
  });

  test('ordering "key": one partition, its keys at once, each key in order', async () => {
    const topic = await topicWith(1);
    const w = new Writer({ brokers: [BROKER], topic });
    await w.writeMessages(
      Array.from({ length: 80 }, (_, i) => ({
        key: `k${i % 4}`,
        value: `${i % 4}:${i}`,
      })),
    );
    await w.close();
    const groupId = await newGroup("classic");
    const reader = groupReader(groupId, topic);
    const running = gauge();
    const byKey = new Map<string, number[]>();
    let count = 0;
    const processor = new Processor((m) =>
      running.around(async () => {
        await sleep(2);
        const [key, i] = text.decode(m.value!).split(":");
        byKey.set(key, [...(byKey.get(key) ?? []), Number(i)]);
        count++;
      }), { concurrency: 8, ordering: "key" });
    const pipe = pipeUntilStopped(reader, processor);
    await until("every message processed", () => count >= 80);
    await pipe.stop();
    await reader.close();
    assert.equal(running.most, 4, "the four keys at once, never more");
    assert.equal(byKey.size, 4);
    for (const [key, list] of byKey) {
      assert.equal(list.length, 20);
      assert.deepEqual(list, [...list].sort((a, b) => a - b), `key ${key}`);
    }
  });

  test("a second member joins mid-way: every message processed, the commits reach the end", async () => {
    const topic = await topicWith(4);
    await produce(topic, 0, 400);
    const groupId = await newGroup("classic");
    const seen: string[] = [];
    await twoMembers("classic", groupId, topic, async (_member, m) => {
      await sleep(5);
      seen.push(text.decode(m.value!));
    }, {
      secondWhen: () => seen.length >= 100,
      done: () => new Set(seen).size >= 400,
    });
    assert.deepEqual([...new Set(seen)].sort(), expected(0, 400));
    assert.deepEqual(
      await committed(groupId, topic, 4),
      await endOffsets(topic, 4),
    );
  });

  for (const protocol of ["classic", "consumer"] as const) {
    test(`${protocol}: a member losing a partition drops what it had not started; the next owner processes it, nothing twice`, async () => {
      const topic = await topicWith(2);
      await produce(topic, 0, 400);
      const groupId = await newGroup(protocol);
      const seen: string[] = [];
      const by: number[] = [0, 0];
      // Each member takes in all it is handed (the queue holds 1,000), and
      // the first alone would need 6 s for a partition's 200: longer than
      // the half rebalance timeout (5 s) a member waits for a Writer.
      await twoMembers(protocol, groupId, topic, async (member, m) => {
        await sleep(30);
        seen.push(text.decode(m.value!));
        by[member]++;
      }, {
        secondWhen: () => seen.length >= 20,
        done: () => new Set(seen).size >= 400,
      });
      assert.deepEqual([...new Set(seen)].sort(), expected(0, 400));
      // The first member let its queue of the lost partition go: what it
      // had processed was committed, the second read on from there.
      assert.deepEqual(duplicates(seen), []);
      assert.ok(by[1] >= 100, `the second member processed ${by[1]}`);
      assert.deepEqual(
        await committed(groupId, topic, 2),
        await endOffsets(topic, 2),
      );
    });
  }

  test("a ShareReader piped in: each message accepted once processed, none left", async () => {
    const topic = await topicWith(2);
    await produce(topic, 0, 200);
    const groupId = await newShareGroup();
    const reader = shareReader(groupId, topic);
    const running = gauge();
    const seen: string[] = [];
    const processor = new Processor((m) =>
      running.around(async () => {
        await sleep(2);
        seen.push(text.decode(m.value!));
      }), { concurrency: 4, ordering: "none" });
    const pipe = pipeUntilStopped(reader, processor);
    await until("every message processed", () => seen.length >= 200, 60_000);
    await pipe.stop();
    await reader.close();
    assert.deepEqual([...seen].sort(), expected(0, 200));
    assert.equal(running.most, 4);
    // All were accepted: a new member finds nothing.
    assert.deepEqual(await leftIn(groupId, topic), []);
  });

  test("a ShareReader's long batch is accepted as it is processed: when the locks run out, only the rest comes back", async () => {
    const topic = await topicWith(1);
    await produce(topic, 0, 300);
    const groupId = await newShareGroup({
      "share.record.lock.duration.ms": "2000",
    });
    const reader = shareReader(groupId, topic);
    const gate = Promise.withResolvers<void>();
    let done = 0;
    /** Offsets delivered again (their locks ran out unaccepted). */
    const again = new Set<number>();
    const processor = new Processor(async (m: ShareMessage) => {
      if (m.offset === 150) await gate.promise;
      if (m.deliveryCount > 1) again.add(m.offset);
      done++;
    }, { concurrency: 1 });
    const pipe = pipeUntilStopped(reader, processor);
    try {
      await until("150 messages processed", () => done === 150);
      // Offset 150 holds its handler past the locks of the whole batch:
      // what comes back is what was not accepted.
      await sleep(3000);
      gate.resolve();
      await until("the rest delivered again", () => again.size >= 150);
      await sleep(500);
    } finally {
      gate.resolve();
      await pipe.stop();
      await reader.close();
    }
    assert.deepEqual(
      [...again].sort((a, b) => a - b),
      Array.from({ length: 150 }, (_, i) => 150 + i),
      "only records not accepted before the locks ran out came back",
    );
  });

  test("bad arguments are refused, naming them", () => {
    assert.throws(
      // deno-lint-ignore no-explicit-any
      () => new Processor("handle" as any),
      /^TypeError: Cannot create Processor: the handler must be a function, got "handle" \(string\)$/,
    );
    assert.throws(
      () => new Processor(() => {}, { concurrency: 0 }),
      /Cannot create Processor: "concurrency" must be an integer from 1 to 100000, got 0/,
    );
    assert.throws(
      // deno-lint-ignore no-explicit-any
      () => new Processor(() => {}, { ordering: "offset" as any }),
      /"ordering" must be "partition", "key" or "none", got "offset" \(string\)/,
    );
    assert.throws(
      // deno-lint-ignore no-explicit-any
      () => new Processor(() => {}, { concurency: 2 } as any),
      /unknown option "concurency"/,
    );
    assert.throws(
      () => new Processor(() => {}, { retryTimeout: -1 }),
      /"retryTimeout" must be an integer from 0 to 2147483647, got -1/,
    );
    assert.throws(
      () => new Processor(() => {}, { retryBackoff: 0 }),
      /"retryBackoff" must be an integer from 1 to 10000, got 0/,
    );
    assert.throws(
      // deno-lint-ignore no-explicit-any
      () => new Processor(() => {}, { deadLetter: "dlq" as any }),
      /^TypeError: Cannot create Processor: "deadLetter" must be a function, got "dlq" \(string\)$/,
    );
  });
});
