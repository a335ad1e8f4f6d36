import { test } from "node:test";
import assert from "node:assert/strict";
import { Compressor } from "./compressor.ts";
import type { Codec } from "../../codecs/mod.ts";

/** A codec that records what it compressed, and fails on a 0 byte. */
function fakeCodec(log: string[]): Codec {
  return {
    id: 1,
    name: "gzip",
    compress(data) {
      if (data[0] === 0) throw new Error("gzip: refused");
      log.push(`compress ${data[0]}`);
      return data.map((b) => b + 1);
    },
    decompress: (data) => data,
  };
}

test("Compressor compresses in order, a millisecond's worth per turn of the event loop", async () => {
  const log: string[] = [];
  const fast = fakeCodec(log);
  const slow: Codec = {
    ...fast,
    compress(data) {
      const until = performance.now() + 1.5;
      while (performance.now() < until) { /* a large batch */ }
      return fast.compress(data);
    },
  };
  const compressor = new Compressor();
  const results = [
    [slow, 1],
    [slow, 2],
    [fast, 3],
    [fast, 4],
    [slow, 5],
    [fast, 6],
  ].map(([codec, n]) =>
    compressor.compress(codec as Codec, new Uint8Array([n as number])).then(
      (out) => {
        log.push(`done ${out[0]}`);
        return out;
      },
    )
  );
  // The first at once; the others wait for turns of the event loop, so the
  // first one's continuation runs before the second is compressed.
  assert.deepEqual(log, ["compress 1"]);
  const outs = await Promise.all(results);
  assert.deepEqual(outs.map((o) => o[0]), [2, 3, 4, 5, 6, 7]);
  // A slow one fills a turn; fast ones share one until a millisecond passed.
  assert.deepEqual(log, [
    "compress 1",
    "done 2",
    "compress 2",
    "done 3",
    "compress 3",
    "compress 4",
    "compress 5",
    "done 4",
    "done 5",
    "done 6",
    "compress 6",
    "done 7",
  ]);
});

test("Compressor rejects a failed compression and goes on with the next", async () => {
  const codec = fakeCodec([]);
  const compressor = new Compressor();
  const failed = compressor.compress(codec, new Uint8Array([0]));
  const next = compressor.compress(codec, new Uint8Array([7]));
  await assert.rejects(failed, /gzip: refused/);
  assert.deepEqual([...await next], [8]);
});

test("Compressor hands batches from 64 KiB to the codec's compressAsync", async () => {
  const log: string[] = [];
  const codec: Codec = {
    ...fakeCodec(log),
    compressAsync(data) {
      log.push(`async ${data.length}`);
      return Promise.resolve(data.subarray(0, 1));
    },
  };
  const compressor = new Compressor();
  const big = await compressor.compress(codec, new Uint8Array(64 * 1024));
  const small = await compressor.compress(codec, new Uint8Array([5]));
  assert.deepEqual(log, ["async 65536", "compress 5"]);
  assert.equal(big.length, 1);
  assert.deepEqual([...small], [6]);
});
