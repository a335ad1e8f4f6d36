import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { FRAME_UPFRONT, FrameReader, FrameSplitter } from "./framing.ts";
import { ProtocolError } from "../protocol/bytes.ts";

/** Frames of the given sizes, each filled with bytes of its index. */
function frames(sizes: number[]): Uint8Array[] {
  return sizes.map((size, i) => new Uint8Array(size).fill(i + 1));
}

function wire(list: Uint8Array[]): Uint8Array {
  const total = list.reduce((n, f) => n + 4 + f.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let pos = 0;
  for (const f of list) {
    view.setInt32(pos, f.length);
    out.set(f, pos + 4);
    pos += 4 + f.length;
  }
  return out;
}

/** Cuts `bytes` into pieces of pseudo-random sizes up to `most`. */
function cut(bytes: Uint8Array, most: number, seed: number): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let state = seed;
  for (let pos = 0; pos < bytes.length;) {
    state = (state * 1103515245 + 12345) >>> 0;
    const n = 1 + (state % most);
    pieces.push(bytes.slice(pos, pos + n));
    pos += n;
  }
  return pieces;
}

/** A ReadInto over pieces: each read gets at most the rest of one piece. */
function source(pieces: Uint8Array[]) {
  let i = 0;
  let at = 0;
  return (into: Uint8Array): Promise<number | null> => {
    const piece = pieces[i];
    if (piece === undefined) return Promise.resolve(null);
    const n = Math.min(into.length, piece.length - at);
    into.set(piece.subarray(at, at + n));
    at += n;
    if (at === piece.length) {
      i++;
      at = 0;
    }
    return Promise.resolve(n);
  };
}

async function readAll(reader: FrameReader): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (let f = await reader.next(); f !== null; f = await reader.next()) {
    out.push(f);
  }
  return out;
}

const SIZES = [0, 1, 3, 100, 5000, 70_000, 4, 200_000, 17, 65_532, 65_536];

describe("FrameReader", () => {
  for (const most of [1, 7, 1000, 65_536, 300_000]) {
    test(`reads frames cut into pieces of up to ${most} bytes`, async () => {
      const expected = frames(SIZES);
      const reader = new FrameReader(
        source(cut(wire(expected), most, most)),
        1 << 20,
        1024 * 64,
      );
      assert.deepEqual(await readAll(reader), expected);
      assert.equal(reader.idle, true);
    });
  }

  test("frames it hands out stay intact while it reads on", async () => {
    const expected = frames([10, 20, 30, 40_000, 50]);
    const reader = new FrameReader(source(cut(wire(expected), 9, 3)), 1 << 20);
    const got = await readAll(reader);
    assert.deepEqual(got, expected);
  });

  test("an end inside a frame is not idle", async () => {
    for (const keep of [2, 4, 50, 100_004 - 1]) {
      const bytes = wire(frames([100_000])).subarray(0, keep);
      const reader = new FrameReader(source(cut(bytes, 999, 1)), 1 << 20);
      assert.equal(await reader.next(), null);
      assert.equal(reader.idle, false, `cut after ${keep} bytes`);
    }
  });

  test("a frame size over the limit is a ProtocolError naming both", async () => {
    const reader = new FrameReader(source([wire(frames([2000]))]), 1000);
    await assert.rejects(reader.next(), (error: Error) => {
      assert.ok(error instanceof ProtocolError);
      assert.match(error.message, /frame size 2000 is outside 0\.\.1000/);
      return true;
    });
  });
});

describe("FrameSplitter", () => {
  for (const most of [1, 7, 1000, 300_000]) {
    test(`splits chunks of up to ${most} bytes`, () => {
      const expected = frames(SIZES);
      const splitter = new FrameSplitter(1 << 20);
      const got: Uint8Array[] = [];
      for (const chunk of cut(wire(expected), most, most)) {
        splitter.push(chunk, (f) => got.push(f.slice()));
      }
      assert.deepEqual(got, expected);
      assert.equal(splitter.idle, true);
    });
  }
});

/** The largest `new Uint8Array(n)` while `run` runs. */
async function largestAllocation(run: () => unknown): Promise<number> {
  const original = globalThis.Uint8Array;
  let largest = 0;
  globalThis.Uint8Array = new Proxy(original, {
    construct(target, args, newTarget) {
      if (typeof args[0] === "number") largest = Math.max(largest, args[0]);
      return Reflect.construct(target, args, newTarget);
    },
  });
  try {
    await run();
  } finally {
    globalThis.Uint8Array = original;
  }
  return largest;
}

describe("a frame larger than what arrives", () => {
  const MAX = 256 * 1024 * 1024;
  /** A size of 200 MiB, then ten bytes: all that ever comes. */
  const lying = new Uint8Array(14);
  new DataView(lying.buffer).setInt32(0, 200 * 1024 * 1024);

  test("FrameReader allocates what arrives, not what it says", async () => {
    const reader = new FrameReader(source([lying]), MAX);
    const largest = await largestAllocation(async () => {
      assert.equal(await reader.next(), null);
    });
    assert.ok(largest <= FRAME_UPFRONT, `allocated ${largest}`);
    assert.equal(reader.idle, false);
  });

  test("FrameSplitter allocates what arrives, not what it says", async () => {
    const splitter = new FrameSplitter(MAX);
    const largest = await largestAllocation(() => {
      splitter.push(lying, () => assert.fail("no frame is complete"));
    });
    assert.ok(largest <= FRAME_UPFRONT, `allocated ${largest}`);
    assert.equal(splitter.idle, false);
  });

  test("frames larger than the first allocation grow to their size", async () => {
    const expected = frames([3_000_000, 10, 1_048_577, 2_097_152]);
    for (const most of [65_536, 700_000, 5_000_000]) {
      const reader = new FrameReader(
        source(cut(wire(expected), most, most)),
        1 << 23,
      );
      assert.deepEqual(await readAll(reader), expected);
      const splitter = new FrameSplitter(1 << 23);
      const got: Uint8Array[] = [];
      for (const chunk of cut(wire(expected), most, most)) {
        splitter.push(chunk, (f) => got.push(f.slice()));
      }
      assert.deepEqual(got, expected);
    }
  });
});
