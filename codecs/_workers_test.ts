import { test } from "node:test";
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { WorkerPool } from "./_workers.ts";
import { gzip } from "./gzip.ts";
import { jsonRecords } from "./_test_data.ts";

const inline = (data: Uint8Array, level?: number) =>
  new Uint8Array(gzipSync(data, level === undefined ? {} : { level }));

/** A pool of two workers running `module`, compressing inline when they cannot. */
const gzipPool = (module: string) =>
  new WorkerPool(new URL(module, import.meta.url), 2, "gzip", inline);

test("WorkerPool compresses on its workers, in any number at once", async () => {
  const pool = gzipPool("./_gzip_worker.ts");
  const inputs = [1, 2, 3, 4, 5].map((n) => jsonRecords(50_000 * n));
  const outs = await Promise.all(inputs.map((data) => pool.run(data)));
  for (let i = 0; i < inputs.length; i++) {
    assert.deepEqual(gzip.decompress(outs[i]), inputs[i]);
  }
  // Stopped after a moment without work (the test would hang otherwise).
  await new Promise((resolve) => setTimeout(resolve, 400));
});

// Where the runtime has no Web Workers (Node), no worker ever starts: the
// same fallback.
test("WorkerPool whose workers cannot start compresses inline", async () => {
  const pool = gzipPool("./no_such_worker.ts");
  const data = jsonRecords(100_000);
  const outs = await Promise.all([pool.run(data), pool.run(data)]);
  for (const out of outs) assert.deepEqual(gzip.decompress(out), data);
  // Broken for good: the next one compresses at once.
  assert.deepEqual(gzip.decompress(await pool.run(data)), data);
});

test("WorkerPool's gzip workers compress at a level they are given", async () => {
  const pool = gzipPool("./_gzip_worker.ts");
  const data = jsonRecords(200_000);
  const [fast, small, plain] = await Promise.all([
    pool.run(data, 1),
    pool.run(data, 9),
    pool.run(data),
  ]);
  for (const out of [fast, small, plain]) {
    assert.deepEqual(gzip.decompress(out), data);
  }
  // Level 1 trades size for speed: the levels reached zlib.
  assert.ok(
    fast.length > small.length,
    `level 1 gave ${fast.length} bytes, level 9 ${small.length}`,
  );
  await new Promise((resolve) => setTimeout(resolve, 400));
});

test("WorkerPool: a job that cannot be handed over rejects, and the idle workers still stop", async () => {
  const pool = gzipPool("./_gzip_worker.ts");
  // A length no buffer can have: the copy for the worker fails (a
  // RangeError; under Node, which has no Web Workers, inline gzip refuses
  // it with a TypeError).
  const bad = { length: -1, byteLength: -1 } as unknown as Uint8Array;
  await assert.rejects(
    pool.run(bad),
    (error) => error instanceof RangeError || error instanceof TypeError,
  );
  const data = jsonRecords(10_000);
  assert.deepEqual(gzip.decompress(await pool.run(data)), data);
  // Stopped after a moment without work: the failed job is not waited for.
  await new Promise((resolve) => setTimeout(resolve, 400));
  assert.equal((pool as unknown as { workers: unknown[] }).workers.length, 0);
});
