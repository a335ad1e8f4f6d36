import { test } from "node:test";
import assert from "node:assert/strict";
import { crc32, crc32c } from "./crc32c.ts";

const ascii = (s: string) => new TextEncoder().encode(s);

/** Bit-at-a-time reference: slow, but too simple to get wrong. */
function reference(poly: number, data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (const byte of data) {
    c ^= byte;
    for (let bit = 0; bit < 8; bit++) {
      c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    }
  }
  return ~c >>> 0;
}

/** Deterministic bytes so failures reproduce. */
function pseudoRandom(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

test("crc32c standard check value", () => {
  assert.equal(crc32c(ascii("123456789")), 0xe3069283);
});

test("crc32 standard check value", () => {
  assert.equal(crc32(ascii("123456789")), 0xcbf43926);
});

test("crc32c RFC 3720 iSCSI vectors", () => {
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  const ascending = Uint8Array.from({ length: 32 }, (_, i) => i);
  assert.equal(crc32c(ascending), 0x46dd794e);
  const descending = Uint8Array.from({ length: 32 }, (_, i) => 31 - i);
  assert.equal(crc32c(descending), 0x113fdb5c);
});

test("empty input leaves the running value unchanged", () => {
  assert.equal(crc32c(new Uint8Array(0)), 0);
  assert.equal(crc32(new Uint8Array(0)), 0);
  assert.equal(crc32c(new Uint8Array(0), 0xe3069283), 0xe3069283);
});

test("results are unsigned 32-bit numbers", () => {
  // 0x8A9136AA has the top bit set: a signed result would be negative.
  const value = crc32c(new Uint8Array(32));
  assert.ok(value > 0x7fffffff && value <= 0xffffffff);
  assert.ok(Number.isInteger(crc32(pseudoRandom(100))));
});

test("incremental use matches one pass", () => {
  const data = pseudoRandom(1000, 7);
  for (const cut of [0, 1, 3, 7, 8, 9, 500, 999, 1000]) {
    const a = data.subarray(0, cut);
    const b = data.subarray(cut);
    assert.equal(crc32c(b, crc32c(a)), crc32c(data), `crc32c cut ${cut}`);
    assert.equal(crc32(b, crc32(a)), crc32(data), `crc32 cut ${cut}`);
  }
  const a = ascii("1234");
  const b = ascii("56789");
  assert.equal(crc32c(b, crc32c(a)), crc32c(concat(a, b)));
});

test("every length 0..200 agrees with the bitwise reference (byte and word paths)", () => {
  const data = pseudoRandom(200, 3);
  for (let length = 0; length <= 200; length++) {
    const slice = data.subarray(0, length);
    assert.equal(
      crc32c(slice),
      reference(0x82f63b78, slice),
      `crc32c ${length}`,
    );
    assert.equal(crc32(slice), reference(0xedb88320, slice), `crc32 ${length}`);
  }
});

test("unaligned subarray offsets agree with a fresh copy", () => {
  const backing = pseudoRandom(4096 + 16, 11);
  for (let offset = 0; offset < 16; offset++) {
    for (const length of [1, 5, 8, 13, 64, 1023, 4096]) {
      const view = backing.subarray(offset, offset + length);
      const copy = view.slice();
      assert.equal(crc32c(view), crc32c(copy), `crc32c @${offset}+${length}`);
      assert.equal(crc32(view), crc32(copy), `crc32 @${offset}+${length}`);
      assert.equal(crc32c(view), reference(0x82f63b78, copy));
    }
  }
});

test("a continued checksum agrees with the reference", () => {
  const data = pseudoRandom(333, 5);
  const start = reference(0xedb88320, data.subarray(0, 100));
  assert.equal(crc32(data.subarray(100), start), reference(0xedb88320, data));
  const startC = reference(0x82f63b78, data.subarray(0, 41));
  assert.equal(
    crc32c(data.subarray(41), startC),
    reference(0x82f63b78, data),
  );
});

test("lengths about the two-stream blocks agree with the reference, at every alignment", () => {
  // Two streams from 2 KiB: pairs of 1 KiB blocks, then words, then bytes.
  const backing = pseudoRandom(8192 + 64 + 4, 13);
  for (let offset = 0; offset < 4; offset++) {
    for (
      const length of [
        2047,
        2048,
        2049,
        2063,
        2064,
        3071,
        4096,
        4099,
        8192 + 63,
      ]
    ) {
      const view = backing.subarray(offset, offset + length);
      assert.equal(
        crc32c(view),
        reference(0x82f63b78, view),
        `crc32c @${offset}+${length}`,
      );
    }
  }
});

test("a large input and its continuation agree with the reference", () => {
  const data = pseudoRandom(1_000_003, 17);
  const whole = reference(0x82f63b78, data);
  assert.equal(crc32c(data), whole);
  for (const cut of [1, 2048, 500_001]) {
    const head = crc32c(data.subarray(0, cut));
    assert.equal(crc32c(data.subarray(cut), head), whole, `cut ${cut}`);
  }
});
