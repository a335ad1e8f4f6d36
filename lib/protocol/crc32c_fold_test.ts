import { test } from "node:test";
import assert from "node:assert/strict";
import { crc32c } from "./crc32c.ts";
import { FOLD_FROM, foldCastagnoli } from "./crc32c_fold.ts";
import { SOURCES_SHA256 } from "./_crc32c_fold_wasm.ts";
import { CRC32C_FOLD, sources, sourcesSha256 } from "../../tools/wasm.ts";

/** Bit-at-a-time CRC-32C: slow, but too simple to get wrong. */
function reference(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (const byte of data) {
    c ^= byte;
    for (let bit = 0; bit < 8; bit++) {
      c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    }
  }
  return ~c >>> 0;
}

function pseudoRandom(length: number, seed = 7): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

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
  const big = pseudoRandom(1_000_003 + 64);
  for (const length of lengths) {
    for (const offset of [0, 1, 3, 16, 61]) {
      const data = big.subarray(offset, offset + length);
      assert.equal(crc32c(data), reference(data), `${length} at ${offset}`);
      assert.equal(
        crc32c(data, 0x12345678),
        reference(data, 0x12345678),
        `${length} at ${offset}, continued`,
      );
    }
  }
});

test("a folded CRC continues and is continued by shorter ones", () => {
  const data = pseudoRandom(100_000, 3);
  const whole = reference(data);
  const head = crc32c(data.subarray(0, 100));
  const middle = crc32c(data.subarray(100, 90_000), head);
  assert.equal(crc32c(data.subarray(90_000), middle), whole);
  assert.equal(crc32c(data), whole);
});

test("all zeros and all ones fold like any other input", () => {
  for (const fill of [0, 0xff]) {
    const data = new Uint8Array(70_000).fill(fill);
    assert.equal(crc32c(data), reference(data));
  }
});
