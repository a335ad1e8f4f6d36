/**
 * The Processor fed by a plain stream of messages made here, for what the
 * broker has no part in: when a failure or an abort is told while other
 * handlers still run, and keys of every kind.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { bulkSinkOf } from "../bulk_sink.ts";
import type { Message } from "../message.ts";
import type { MessageBatch } from "./message_batch.ts";
import { Acknowledged } from "./pipe_acknowledged.ts";
import { pipeToBulkSink } from "./pipe.ts";
import { Processor } from "./processor.ts";

/** A message of `partition` (0) at `offset`, with `key`. */
function message(offset: number, key: unknown = null, partition = 0): Message {
  return {
    topic: "t",
    partition,
    offset,
    highWaterMark: 100,
    key: key as Uint8Array<ArrayBuffer> | null,
    value: null,
    headers: [],
    time: new Date(0),
  };
}

function streamOf(messages: unknown[]): ReadableStream<Message> {
  return new ReadableStream<Message>({
    start(controller) {
      for (const m of messages) controller.enqueue(m as Message);
      controller.close();
    },
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("Processor with a stream made here", () => {
  test("a handler that throws fails the pipe only once the handlers running finish; nothing new starts", async () => {
    const finished: number[] = [];
    const started: number[] = [];
    const processor = new Processor(async (m) => {
      started.push(m.offset);
      if (m.offset === 1) {
        await sleep(10);
        throw new Error("offset 1 failed");
      }
      await sleep(100);
      finished.push(m.offset);
    }, { concurrency: 3, ordering: "none" });
    const messages = Array.from({ length: 10 }, (_, i) => message(i));
    await assert.rejects(
      streamOf(messages).pipeTo(processor),
      /^Error: offset 1 failed$/,
    );
    // 0 and 2 were running when 1 failed: both finished before the pipe
    // ended, and nothing after them started.
    assert.deepEqual(started, [0, 1, 2]);
    assert.deepEqual(finished.sort(), [0, 2]);
  });

  test("an abort waits for the handlers running and drops what waits", async () => {
    const finished: number[] = [];
    const processor = new Processor(async (m) => {
      await sleep(100);
      finished.push(m.offset);
    }, { concurrency: 2, ordering: "none" });
    const stop = new AbortController();
    // A source that does not end: the pipe is still running at the abort.
    let next = 0;
    const endless = new ReadableStream<Message>({
      pull(controller) {
        controller.enqueue(message(next++));
      },
    });
    const piping = endless.pipeTo(processor, { signal: stop.signal });
    await sleep(30);
    stop.abort(new Error("enough"));
    await assert.rejects(piping, /enough/);
    // The handlers running finished before the pipe ended (the platform's
    // pipe first writes what it read: at most one more started), and no
    // handler runs after it.
    const done = finished.length;
    assert.deepEqual(finished.slice(0, 2).sort(), [0, 1]);
    assert.ok(done <= 3, `finished ${finished}`);
    await sleep(150);
    assert.equal(finished.length, done);
  });

  test('ordering "key": byte keys, string keys and no key each keep their order', async () => {
    const seen: string[] = [];
    const processor = new Processor(async (m) => {
      await sleep(m.offset % 2 === 0 ? 20 : 1);
      seen.push(`${String(m.key)}:${m.offset}`);
    }, { concurrency: 8, ordering: "key" });
    const bytes = new Uint8Array([1, 2]);
    const keys: unknown[] = [bytes, "ab", null, undefined, "ba"];
    await streamOf(
      Array.from({ length: 20 }, (_, i) => message(i, keys[i % 5])),
    ).pipeTo(processor);
    assert.equal(seen.length, 20);
    const order = (key: string) =>
      seen.filter((s) => s.startsWith(`${key}:`)).map((s) =>
        Number(s.split(":")[1])
      );
    for (const key of ["1,2", "ab", "ba"]) {
      const list = order(key);
      assert.equal(list.length, 4, key);
      assert.deepEqual(list, [...list].sort((a, b) => a - b), key);
    }
    // No key (null or undefined): in the partition's order, one lane.
    const keyless = seen.filter((s) => /^(null|undefined):/.test(s))
      .map((s) => Number(s.split(":")[1]));
    assert.deepEqual(keyless, [...keyless].sort((a, b) => a - b));
  });

  test("what is not a message fails the stream, naming it", async () => {
    const processor = new Processor(() => {});
    await assert.rejects(
      streamOf([message(0), "not a message"]).pipeTo(processor),
      /^TypeError: Cannot process: expected a message, got "not a message" \(string\)$/,
    );
  });

  test("a revocation drops what was not started of the revoked partitions; their writes tell how far they got", async () => {
    const done: string[] = [];
    const processor = new Processor(async (m) => {
      await sleep(20);
      done.push(`${m.partition}:${m.offset}`);
    }, { concurrency: 2 });
    // What a Reader's pipe does: a write per fetched batch.
    const sink = bulkSinkOf(processor)!;
    const of = (partition: number, from: number, to: number) =>
      Array.from(
        { length: to - from },
        (_, i) => message(from + i, null, partition),
      );
    const first = sink.write(of(0, 0, 10));
    const second = sink.write(of(0, 10, 20));
    const other = sink.write(of(1, 0, 5));
    await sleep(50);
    sink.revoke!([{ topic: "t", partition: 0 }]);
    const { revoked, waiting } = processor.stats();
    assert.ok(
      revoked >= 10 && waiting <= 4,
      `${revoked} dropped, ${waiting} left`,
    );
    const kept = await first;
    assert.equal(typeof kept, "number");
    // What was processed of partition 0 is exactly the first `kept`: the
    // one running at the revocation finished, nothing started after it.
    const ofZero = done.filter((d) => d.startsWith("0:"));
    assert.deepEqual(
      ofZero,
      of(0, 0, kept as number).map((m) => `0:${m.offset}`),
    );
    assert.ok((kept as number) >= 2 && (kept as number) < 10, `kept ${kept}`);
    assert.equal(await second, 0);
    // Partition 1 goes on to its end, and partition 0 may come back.
    assert.equal(await other, undefined);
    assert.deepEqual(done.filter((d) => d.startsWith("1:")), [
      "1:0",
      "1:1",
      "1:2",
      "1:3",
      "1:4",
    ]);
    assert.equal(await sink.write(of(0, 10, 12)), undefined);
    assert.deepEqual(done.slice(-2), ["0:10", "0:11"]);
    await sink.settled();
    assert.equal(sink.failure(), null);
  });

  test("a write tells its progress: how many of its first messages are processed, as that grows", async () => {
    const finishing = new Map<number, () => void>();
    const processor = new Processor(
      (m) => new Promise<void>((r) => finishing.set(m.offset, r)),
      { concurrency: 5, ordering: "none" },
    );
    const sink = bulkSinkOf(processor)!;
    const told: number[] = [];
    const written = sink.write(
      Array.from({ length: 5 }, (_, i) => message(i)),
      (n) => told.push(n),
    );
    await sleep(0);
    const finish = async (offset: number) => {
      finishing.get(offset)!();
      await sleep(0);
    };
    await finish(1); // 0 still runs: nothing in order yet
    assert.deepEqual(told, []);
    await finish(0);
    assert.deepEqual(told, [2]);
    await finish(3);
    await finish(2);
    assert.deepEqual(told, [2, 4]);
    // The last one completes the write itself, told by its outcome.
    await finish(4);
    assert.deepEqual(told, [2, 4]);
    assert.equal(await written, undefined);
  });

  test("a partition with nothing waiting has room however long the queue of another is", async () => {
    const gate = Promise.withResolvers<void>();
    const processor = new Processor(() => gate.promise, {
      concurrency: 2,
      queueCapacity: 10,
    });
    const sink = bulkSinkOf(processor)!;
    const of = (partition: number, count: number) =>
      Array.from({ length: count }, (_, i) => message(i, null, partition));
    const settled = (p: Promise<void>) =>
      Promise.race([p.then(() => true), sleep(20).then(() => false)]);
    const zero = sink.write(of(0, 100));
    assert.equal(await settled(sink.ready()), false, "the queue is full");
    assert.equal(await settled(sink.readyFor!("t", 0)), false);
    assert.equal(await settled(sink.readyFor!("t", 1)), true);
    const one = sink.write(of(1, 5));
    const forOne = sink.readyFor!("t", 1);
    assert.equal(await settled(forOne), false, "partition 1 waits now");
    // Partition 0's queue dropped: room for both.
    sink.revoke!([{ topic: "t", partition: 0 }]);
    assert.equal(await settled(forOne), true);
    assert.equal(await settled(sink.readyFor!("t", 0)), true);
    gate.resolve();
    assert.equal(await zero, 1, "the message running was processed");
    assert.equal(await one, undefined);
  });

  test("stopped with preventAbort while a batch waits for room: the batch read is processed too", async () => {
    const gate = Promise.withResolvers<void>();
    const done: number[] = [];
    const processor = new Processor(async (m) => {
      await gate.promise;
      done.push(m.offset);
    }, { concurrency: 1, queueCapacity: 5 });
    const batchOf = (from: number) => {
      const messages = Array.from({ length: 10 }, (_, i) => message(from + i));
      return { topic: "t", partition: 0, messages, lastOffset: from + 9 };
    };
    let read = 0;
    const source = {
      batches: () =>
        new ReadableStream<MessageBatch>({
          pull(controller) {
            // Two batches, then nothing more for now.
            if (read < 2) {
              controller.enqueue(
                batchOf(10 * read++) as unknown as MessageBatch,
              );
            } else return new Promise(() => {});
          },
        }, { highWaterMark: 0 }),
    };
    const stop = new AbortController();
    const piped = pipeToBulkSink(
      source,
      processor as WritableStream<never>,
      bulkSinkOf(processor)!,
      { signal: stop.signal, preventAbort: true },
      () => new Acknowledged(null),
    );
    // The first batch fills the queue; the second waits for room.
    while (read < 2) await sleep(1);
    await sleep(10);
    const reason = new Error("stop");
    stop.abort(reason);
    gate.resolve();
    await assert.rejects(piped, (e) => e === reason);
    assert.deepEqual(done, Array.from({ length: 20 }, (_, i) => i));
  });

  test("retryTimeout: a failing message is tried again in its place, its partition waiting", async () => {
    const tries = new Map<number, number>();
    const done: number[] = [];
    const processor = new Processor((m) => {
      const n = (tries.get(m.offset) ?? 0) + 1;
      tries.set(m.offset, n);
      if (m.offset === 1 && n < 3) throw new Error(`try ${n} failed`);
      done.push(m.offset);
    }, { retryTimeout: 5000, retryBackoff: 10 });
    await streamOf([0, 1, 2, 3].map((i) => message(i))).pipeTo(processor);
    assert.deepEqual(done, [0, 1, 2, 3]);
    assert.equal(tries.get(1), 3);
    assert.deepEqual(processor.stats(), {
      running: 0,
      waiting: 0,
      processed: 4,
      retries: 2,
      deadLettered: 0,
      revoked: 0,
    });
  });

  test("deadLetter: what still fails is handed to it and the rest goes on; a deadLetter that throws fails the Processor", async () => {
    const dead: string[] = [];
    const done: number[] = [];
    const processor = new Processor((m) => {
      if (m.offset === 2) throw new Error("poison");
      done.push(m.offset);
    }, {
      retryTimeout: 50,
      retryBackoff: 10,
      deadLetter: (m, error) => {
        dead.push(`${m.offset}: ${(error as Error).message}`);
      },
    });
    await streamOf([0, 1, 2, 3].map((i) => message(i))).pipeTo(processor);
    assert.deepEqual(done, [0, 1, 3]);
    assert.deepEqual(dead, ["2: poison"]);
    const { processed, deadLettered } = processor.stats();
    assert.deepEqual({ processed, deadLettered }, {
      processed: 4,
      deadLettered: 1,
    });

    const refusing = new Processor((m) => {
      if (m.offset === 1) throw new Error("poison");
    }, {
      deadLetter: () => {
        throw new Error("the dead-letter topic is gone");
      },
    });
    await assert.rejects(
      streamOf([0, 1, 2].map((i) => message(i))).pipeTo(refusing),
      /^Error: the dead-letter topic is gone$/,
    );
  });

  test("an abort ends a retry's wait at once; the message is not dead-lettered", async () => {
    const dead: number[] = [];
    const processor = new Processor(() => {
      throw new Error("always");
    }, {
      retryTimeout: 60_000,
      retryBackoff: 5000,
      deadLetter: (m) => dead.push(m.offset),
    });
    const stop = new AbortController();
    // A source that does not end: the pipe is still running at the abort.
    const endless = new ReadableStream<Message>({
      start(controller) {
        controller.enqueue(message(0));
      },
    });
    const piping = endless.pipeTo(processor, { signal: stop.signal });
    await sleep(50);
    const started = Date.now();
    stop.abort(new Error("enough"));
    await assert.rejects(piping, /enough/);
    assert.ok(Date.now() - started < 1000, "the wait was cut short");
    assert.deepEqual(dead, []);
  });

  test("the handlers' signal tells them the Processor stopped, with the reason", async () => {
    const reasons: unknown[] = [];
    const processor = new Processor(async (_m, signal) => {
      assert.ok(signal instanceof AbortSignal);
      // Work that would take a minute, unless told to stop.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 60_000);
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          reasons.push(signal.reason);
          resolve();
        });
      });
    }, { concurrency: 2, ordering: "none" });
    const stop = new AbortController();
    // A source that does not end, with fewer messages than the queue holds:
    // the platform's pipe aborts only once its write in progress settled,
    // which a full queue would hold until a handler finished (a Reader's
    // pipe does not wait).
    const open = new ReadableStream<Message>({
      start(controller) {
        for (let i = 0; i < 100; i++) controller.enqueue(message(i));
      },
    });
    const piping = open.pipeTo(processor, { signal: stop.signal });
    await sleep(30);
    const began = Date.now();
    stop.abort(new Error("enough"));
    await assert.rejects(piping, /enough/);
    assert.ok(Date.now() - began < 5_000);
    assert.equal(reasons.length, 2);
    for (const reason of reasons) assert.match(String(reason), /enough/);
  });
});
