import { test } from "node:test";
import assert from "node:assert/strict";
import { ByteWriter } from "./bytes.ts";

function concat(pieces: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

/** Writes the same fields, growing the buffer between shared fields. */
function write(w: ByteWriter, large: Uint8Array[]): void {
  w.int32(7);
  for (const bytes of large) {
    w.compactBytes(bytes);
    w.string("x".repeat(300));
    w.bytes(bytes.subarray(0, 10));
  }
  w.uvarint(0);
}

test("ByteWriter.shareLarge: pieces hold the same bytes as a copy", () => {
  const large = [5000, 20, 70_000, 4096].map((n, i) =>
    new Uint8Array(n).fill(i + 1)
  );
  const copied = new ByteWriter(16);
  write(copied, large);
  const shared = new ByteWriter(16).shareLarge(4096);
  write(shared, large);
  const pieces = shared.pieces();
  assert.deepEqual(concat(pieces), copied.finish());
  // The three large fields are the caller's arrays, not copies.
  const kept = pieces.filter((p) => large.some((l) => l === p));
  assert.equal(kept.length, 3);
});

test("ByteWriter.pieces without sharing is the one buffer", () => {
  const w = new ByteWriter();
  w.int16(1).int16(2);
  assert.deepEqual(w.pieces(), [new Uint8Array([0, 1, 0, 2])]);
});

test("ByteWriter writes over a given buffer only when it is large enough", () => {
  const big = new Uint8Array(64).fill(9);
  const w = new ByteWriter(32, big);
  w.int8(1);
  assert.equal(w.buf, big);
  assert.equal(big[0], 1);
  const small = new Uint8Array(8);
  assert.notEqual(new ByteWriter(32, small).buf, small);
});
