/**
 * The pipe's transactions with the Writer and the group replaced by
 * recorders: the orders of calls and the races a broker cannot be made to
 * produce on demand (a batch held while its partition is being given up, a
 * commit asked for while a transaction begins). The real thing is tested
 * in tests/reader_pipe_transactions_test.ts.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { BulkSink, SinkTransactions } from "../bulk_sink.ts";
import type { Consumption } from "./group/engine.ts";
import type { MessageBatch } from "./message_batch.ts";
import { PipeTransactions } from "./pipe_transactions.ts";
import { pipeToBulkSink } from "./pipe.ts";

/** Records the calls; `begin` and `sendOffsets` wait for `release` when held. */
class Recorder implements SinkTransactions {
  timeout = 60_000;
  readonly calls: string[] = [];
  failOffsets: Error | null = null;
  private held: (() => void)[] = [];
  hold = false;

  private wait(): Promise<void> {
    if (!this.hold) return Promise.resolve();
    return new Promise((resolve) => this.held.push(resolve));
  }

  release(): void {
    this.hold = false;
    for (const resolve of this.held.splice(0)) resolve();
  }

  async begin(): Promise<void> {
    this.calls.push("begin");
    await this.wait();
  }

  async sendOffsets(
    offsets: readonly { topic: string; partition: number; offset: number }[],
    group: unknown,
  ): Promise<void> {
    this.calls.push(
      `offsets ${JSON.stringify(group)} ${
        offsets.map((o) => `${o.topic}/${o.partition}@${o.offset}`).join(" ")
      }`,
    );
    await this.wait();
    if (this.failOffsets) throw this.failOffsets;
  }

  failCommit: Error | null = null;

  end(commit: boolean): Promise<void> {
    this.calls.push(commit ? "commit" : "abort");
    if (commit && this.failCommit) return Promise.reject(this.failCommit);
    return Promise.resolve();
  }
}

/** A group that owns the partitions in `owned`. */
function group(
  owned: Set<string>,
): Consumption & { released: boolean; rewound: string[] } {
  return {
    released: false,
    rewound: [],
    consumed: () => assert.fail("a transactional pipe marks nothing"),
    owns: (topic, partition) => owned.has(`${topic}/${partition}`),
    group: () => "g",
    rewind(positions) {
      for (const p of positions) {
        this.rewound.push(`${p.topic}/${p.partition}@${p.offset}`);
      }
    },
    release() {
      this.released = true;
    },
  };
}

function batch(topic: string, partition: number, last: number): MessageBatch {
  return { topic, partition, lastOffset: last } as MessageBatch;
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("PipeTransactions", () => {
  test("a batch waits for the transaction to begin; commit sends each partition's next offset, then commits", async () => {
    const txns = new Recorder();
    const t = new PipeTransactions(
      txns,
      group(new Set(["a/0", "a/1"])),
      60_000,
    );
    const b = batch("a", 0, 9);
    assert.equal(t.verdict(b), "wait");
    assert.equal(t.verdict(b), "wait", "one begin, however often asked");
    await t.ready();
    assert.equal(t.verdict(b), "write");
    t.follow(b, Promise.resolve());
    t.follow(batch("a", 1, 4), Promise.resolve());
    t.follow(batch("a", 0, 19), Promise.resolve());
    await t.drained();
    assert.deepEqual(txns.calls, [
      "begin",
      'offsets "g" a/0@20 a/1@5',
      "commit",
    ]);
    // The next batch begins the next transaction.
    assert.equal(t.verdict(b), "wait");
    await t.ready();
    await t.finish(true);
    assert.deepEqual(txns.calls.slice(3), ["begin", "commit"]);
    t.release();
  });

  test("a pipe that ended keeping nothing moves the Reader back past what was committed", async () => {
    const txns = new Recorder();
    const g = group(new Set(["a/0", "a/1"]));
    const t = new PipeTransactions(txns, g, 60_000);
    assert.equal(t.verdict(batch("a", 0, 9)), "wait");
    await t.ready();
    t.follow(batch("a", 0, 9), Promise.resolve());
    await t.drained();
    // The next transaction's batches are aborted with it.
    assert.equal(t.verdict(batch("a", 0, 19)), "wait");
    await t.ready();
    t.follow(batch("a", 0, 19), Promise.resolve());
    t.follow(batch("a", 1, 4), Promise.resolve());
    await t.finish(false);
    t.release(
      new Map([
        ["a\u00000", { topic: "a", partition: 0, offset: 0 }],
        ["a\u00001", { topic: "a", partition: 1, offset: 0 }],
      ]),
    );
    assert.deepEqual(txns.calls.at(-1), "abort");
    assert.deepEqual(g.rewound, ["a/0@10", "a/1@0"]);
    assert.equal(g.released, true);
  });

  test("a batch of a partition being given up is dropped, not written", async () => {
    const owned = new Set(["a/0", "a/1"]);
    const t = new PipeTransactions(new Recorder(), group(owned), 60_000);
    t.verdict(batch("a", 0, 0));
    await t.ready();
    owned.delete("a/1");
    assert.equal(t.verdict(batch("a", 1, 5)), "drop");
    assert.equal(t.verdict(batch("a", 0, 5)), "write");
    await t.finish(false);
    t.release();
  });

  test("a commit asked for while the transaction begins waits for it; batches wait for the commit", async () => {
    const txns = new Recorder();
    const t = new PipeTransactions(txns, group(new Set(["a/0"])), 60_000);
    txns.hold = true;
    const b = batch("a", 0, 3);
    assert.equal(t.verdict(b), "wait");
    const committed = t.drained();
    await tick();
    assert.deepEqual(txns.calls, ["begin"]);
    txns.release();
    await t.ready();
    // The commit goes first, so this batch waits for the next transaction.
    assert.equal(t.verdict(b), "wait");
    await committed;
    assert.deepEqual(txns.calls, ["begin", "commit"]);
    t.release();
  });

  test("a failed commit aborts the transaction and fails the pipe; later batches are dropped", async () => {
    const txns = new Recorder();
    const t = new PipeTransactions(txns, group(new Set(["a/0"])), 60_000);
    let told = 0;
    t.onFailure(() => told++);
    t.verdict(batch("a", 0, 0));
    await t.ready();
    t.follow(batch("a", 0, 0), Promise.resolve());
    txns.failOffsets = new Error("ILLEGAL_GENERATION");
    await assert.rejects(t.drained(), /ILLEGAL_GENERATION/);
    assert.deepEqual(txns.calls.slice(-1), ["abort"]);
    assert.equal(told, 1);
    assert.equal(t.failure()?.message, "ILLEGAL_GENERATION");
    assert.equal(t.verdict(batch("a", 0, 1)), "drop");
    await assert.rejects(t.finish(true), /ILLEGAL_GENERATION/);
    t.release();
  });

  for (const [interval, timeout] of [[10, 60_000], [60_000, 20]]) {
    test(`the interval commits an open transaction by itself (interval ${interval} ms, transactionTimeout ${timeout} ms)`, async () => {
      const txns = new Recorder();
      txns.timeout = timeout;
      const consumption = group(new Set(["a/0"]));
      const t = new PipeTransactions(txns, consumption, interval);
      t.verdict(batch("a", 0, 0));
      await t.ready();
      t.follow(batch("a", 0, 0), Promise.resolve());
      const deadline = Date.now() + 5000;
      while (!txns.calls.includes("commit")) {
        assert.ok(Date.now() < deadline, "committed within 5 s");
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.deepEqual(txns.calls, ["begin", 'offsets "g" a/0@1', "commit"]);
      t.release();
      assert.equal(consumption.released, true);
    });
  }

  test("a pipe stopped with preventAbort whose last commit fails rejects with that failure, and cancels the source", async () => {
    const txns = new Recorder();
    txns.failCommit = new Error("COMMIT REFUSED");
    let cancelled: unknown;
    let handedOver = 0;
    const source = {
      batches: () =>
        new ReadableStream<MessageBatch>({
          pull(controller) {
            // One batch, then nothing more.
            if (handedOver++ === 0) {
              controller.enqueue({
                topic: "a",
                partition: 0,
                lastOffset: 0,
                messages: [{ topic: "a", partition: 0, offset: 0 }],
              } as unknown as MessageBatch);
            } else return new Promise(() => {});
          },
          cancel(reason) {
            cancelled = reason;
          },
        }, { highWaterMark: 0 }),
    };
    const written: unknown[] = [];
    const sink: BulkSink = {
      write: (messages) => {
        written.push(messages);
        return Promise.resolve();
      },
      ready: () => Promise.resolve(),
      failure: () => null,
      onFailure: () => () => {},
      fail: () => {},
      settled: () => Promise.resolve(),
      transactions: txns,
    };
    const stop = new AbortController();
    const reason = new Error("stop");
    const piped = pipeToBulkSink(
      source,
      new WritableStream(),
      sink,
      { signal: stop.signal, preventAbort: true },
      () => new PipeTransactions(txns, null, 100),
    );
    while (written.length === 0) await tick();
    stop.abort(reason);
    await assert.rejects(piped, /COMMIT REFUSED/);
    assert.equal(cancelled, reason);
    assert.equal(written.length, 1);
    assert.deepEqual(txns.calls, ["begin", "commit", "abort"]);
  });
});
