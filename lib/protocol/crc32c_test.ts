import { test } from "node:test";
import assert from "node:assert/strict";
import { crc32, crc32c } from "./crc32c.ts";
import { FOLD_FROM, foldCastagnoli } from "./crc32c_fold.ts";
import { SOURCES_SHA256 } from "./_crc32c_fold_wasm.ts";
import { CRC32C_FOLD, sources, sourcesSha256 } from "../../tools/wasm.ts";

const ascii = (s: string) => new TextEncoder().encode(s);

/** The reflected Castagnoli polynomial, for the reference. */
const CASTAGNOLI = 0x82f63b78;

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
      reference(CASTAGNOLI, slice),
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
      assert.equal(crc32c(view), reference(CASTAGNOLI, copy));
    }
  }
});

test("a continued checksum agrees with the reference", () => {
  const data = pseudoRandom(333, 5);
  const start = reference(0xedb88320, data.subarray(0, 100));
  assert.equal(crc32(data.subarray(100), start), reference(0xedb88320, data));
  const startC = reference(CASTAGNOLI, data.subarray(0, 41));
  assert.equal(
    crc32c(data.subarray(41), startC),
    reference(CASTAGNOLI, data),
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
        reference(CASTAGNOLI, view),
        `crc32c @${offset}+${length}`,
      );
    }
  }
});

test("a large input and its continuation agree with the reference", () => {
  const data = pseudoRandom(1_000_003, 17);
  const whole = reference(CASTAGNOLI, data);
  assert.equal(crc32c(data), whole);
  for (const cut of [1, 2048, 500_001]) {
    const head = crc32c(data.subarray(0, cut));
    assert.equal(crc32c(data.subarray(cut), head), whole, `cut ${cut}`);
  }
});

// From FOLD_FROM bytes on, crc32c folds in WebAssembly first (crc32c_fold.ts).

test("the embedded WASM was built from lib/protocol/wasm/*.rs as they are (deno task wasm)", async () => {
  assert.equal(
    SOURCES_SHA256,
    await sourcesSha256(sources(CRC32C_FOLD.dir)),
    "lib/protocol/wasm/*.rs changed since _crc32c_fold_wasm.ts was built: run deno task wasm",
  );
});

test("y^209 + y^144 + y^54 + y^39 + y^14 + 1 is a multiple of the Castagnoli polynomial (y = x^128)", () => {
  // Polynomials below degree 32, bit i the coefficient of x^i.
  const P = 0x1edc6f41; // x^32 + ..., x^32 implied
  const times = (a: number, b: number): number => {
    let r = 0;
    for (let i = 31; i >= 0; i--) {
      const top = r >>> 31;
      r = (r << 1) >>> 0;
      if (top) r = (r ^ P) >>> 0;
      if ((b >>> i) & 1) r = (r ^ a) >>> 0;
    }
    return r;
  };
  let y = 1;
  for (let i = 0; i < 128; i++) y = times(y, 2);
  const powers = [1];
  for (let i = 1; i <= 209; i++) powers.push(times(powers[i - 1], y));
  const sum = [209, 144, 54, 39, 14, 0].reduce((s, e) => s ^ powers[e], 0);
  assert.equal(sum, 0);
});

test("folding is available in this runtime and gives 3,344 bytes", () => {
  const folded = foldCastagnoli(new Uint8Array(FOLD_FROM), 0);
  assert.ok(folded, "WebAssembly SIMD runs in every runtime we support");
  assert.equal(folded.length, 209 * 16);
});

test("crc32c from FOLD_FROM on equals the bitwise reference, across blocks, pads and offsets", () => {
  const block = 65536;
  const lengths = [
    FOLD_FROM - 1,
    FOLD_FROM,
    FOLD_FROM + 1,
    FOLD_FROM + 15,
    block - 1,
    block,
    block + 1,
    block + 209 * 16,
    block + 209 * 16 - 1,
    2 * block - 3 * 16 + 5,
    3 * block + 7,
    1_000_003,
  ];
  const big = pseudoRandom(1_000_003 + 64, 7);
  for (const length of lengths) {
    for (const offset of [0, 1, 3, 16, 61]) {
      const data = big.subarray(offset, offset + length);
      assert.equal(
        crc32c(data),
        reference(CASTAGNOLI, data),
        `${length} at ${offset}`,
      );
      assert.equal(
        crc32c(data, 0x12345678),
        reference(CASTAGNOLI, data, 0x12345678),
        `${length} at ${offset}, continued`,
      );
    }
  }
});

test("a folded CRC continues and is continued by shorter ones", () => {
  const data = pseudoRandom(100_000, 3);
  const whole = reference(CASTAGNOLI, data);
  const head = crc32c(data.subarray(0, 100));
  const middle = crc32c(data.subarray(100, 90_000), head);
  assert.equal(crc32c(data.subarray(90_000), middle), whole);
  assert.equal(crc32c(data), whole);
});

test("all zeros and all ones fold like any other input", () => {
  for (const fill of [0, 0xff]) {
    const data = new Uint8Array(70_000).fill(fill);
    assert.equal(crc32c(data), reference(CASTAGNOLI, data));
  }
});
