import { test } from "node:test";
import assert from "node:assert/strict";
import { xxhash32 } from "./_xxhash32.ts";

const ascii = (s: string) => new TextEncoder().encode(s);
const PRIME = 2654435761;

/** The 101-byte buffer of xxHash's own sanity check (xxhsum's bench). */
function sanityBuffer(): Uint8Array {
  const out = new Uint8Array(101);
  let gen = PRIME;
  for (let i = 0; i < out.length; i++) {
    out[i] = gen >>> 24;
    gen = Math.imul(gen, gen) >>> 0;
  }
  return out;
}

test("xxhash32 matches xxHash's sanity check values", () => {
  const buf = sanityBuffer();
  const cases: [number, number, number][] = [
    [0, 0, 0x02cc5d05],
    [0, PRIME, 0x36b78ae7],
    [1, 0, 0xb85cbee5],
    [1, PRIME, 0xd5845d64],
    [14, 0, 0xe5aa0ab4],
    [14, PRIME, 0x4481951d],
    [101, 0, 0x1f1aa412],
    [101, PRIME, 0x498ec8e2],
  ];
  for (const [length, seed, expected] of cases) {
    assert.equal(
      xxhash32(buf.subarray(0, length), seed),
      expected,
      `${length} bytes, seed ${seed}`,
    );
  }
});

test("xxhash32 matches published string digests", () => {
  assert.equal(xxhash32(ascii("abc")), 0x32d153ff);
  assert.equal(
    xxhash32(ascii("Nobody inspects the spammish repetition")),
    0xe2293b2f,
  );
});

test("xxhash32 of a range equals the hash of that slice", () => {
  const buf = sanityBuffer();
  for (const [start, end] of [[3, 3], [5, 20], [1, 100], [17, 33]]) {
    assert.equal(xxhash32(buf, 0, start, end), xxhash32(buf.slice(start, end)));
  }
});
