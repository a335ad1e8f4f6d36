import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { gzip } from "./gzip.ts";
import { gunzipSync } from "node:zlib";
import {
  concat,
  fromHex,
  jsonRecords,
  mixedInputs,
  pseudoRandom,
  seeded,
} from "./_test_data.ts";

const ascii = (s: string) => new TextEncoder().encode(s);
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe("gzip", () => {
  test("writes RFC 1952 members and returns plain Uint8Arrays", () => {
    const member = gzip.compress(ascii("hello"));
    assert.deepEqual(member.subarray(0, 3), fromHex("1f 8b 08"));
    assert.equal(Object.getPrototypeOf(member), Uint8Array.prototype);
    assert.equal(
      Object.getPrototypeOf(gzip.decompress(member)),
      Uint8Array.prototype,
    );
  });

  test("compressAsync: off the main thread, its members read back", async () => {
    const data = jsonRecords(300_000);
    const small = data.subarray(1000, 5000);
    const members = await Promise.all([
      gzip.compressAsync!(data),
      gzip.compressAsync!(small),
      gzip.compressAsync!(data.subarray(7)),
    ]);
    assert.equal(Object.getPrototypeOf(members[0]), Uint8Array.prototype);
    assert.deepEqual(gzip.decompress(members[0]), data);
    assert.deepEqual(gzip.decompress(members[1]), small);
    assert.deepEqual(gzip.decompress(members[2]), data.subarray(7));
  });

  test("levels 1 to 9: each reads back; level 1 is the largest, 9 no larger than 6", async () => {
    const data = jsonRecords(200_000);
    const sizes = new Map<number, number>();
    for (const level of [1, 6, 9]) {
      const member = gzip.compress(data, level);
      assert.deepEqual(gzip.decompress(member), data);
      sizes.set(level, member.length);
      // Off the main thread (a batch of 200 KB takes that path) alike, to
      // a few header bytes (Bun's asynchronous gzip sets them differently).
      const off = await gzip.compressAsync!(data, level);
      assert.deepEqual(gzip.decompress(off), data);
      assert.ok(
        Math.abs(off.length - member.length) <= 16,
        `level ${level}: ${off.length} off-thread, ${member.length} inline`,
      );
    }
    // Without a level, our deflate: within a few percent of zlib's level 6
    // on records (smaller than Deno's zlib, 4 % larger than Node's).
    const plain = gzip.compress(data);
    assert.ok(
      plain.length <= sizes.get(6)! * 1.06,
      `${plain.length}, ${[...sizes]}`,
    );
    assert.deepEqual(gzip.decompress(plain), data);
    assert.ok(sizes.get(1)! > sizes.get(6)!, `sizes ${[...sizes]}`);
    assert.ok(sizes.get(9)! <= sizes.get(6)!, `sizes ${[...sizes]}`);
  });

  test("reads concatenated members, as Java's GZIPInputStream does", () => {
    const data = concat(
      gzip.compress(ascii("one ")),
      gzip.compress(ascii("two")),
    );
    assert.equal(text(gzip.decompress(data)), "one two");
  });

  test("10 MiB of zeros, near deflate's largest ratio, is within the limit", () => {
    const zeros = new Uint8Array(10 << 20);
    const member = gzip.compress(zeros);
    assert.ok(zeros.length / member.length > 1000);
    assert.equal(gzip.decompress(member).length, zeros.length);
  });
});

describe("our deflate (no level) reads back through zlib", () => {
  // zlib's gunzip checks the CRC-32 and the length in the trailer too.
  const back = (data: Uint8Array) =>
    new Uint8Array(gunzipSync(gzip.compress(data)));

  test("inputs of every length up to 300 bytes, and around block sizes", () => {
    const source = concat(jsonRecords(2_000), pseudoRandom(2_000, 7));
    for (let length = 0; length <= 300; length++) {
      const input = source.subarray(1000 - (length >> 1), 1000 + length);
      assert.deepEqual(back(input), input, `${length} bytes`);
    }
    const big = concat(jsonRecords(1_500_000), pseudoRandom(200_000, 3));
    for (const length of [65535, 65536, 65537, 1 << 20, 1_700_000]) {
      const input = big.subarray(big.length - length);
      assert.deepEqual(back(input), input, `${length} bytes`);
    }
  });

  test("incompressible data is stored, barely larger than itself", () => {
    const random = pseudoRandom(300_000, 9);
    const member = gzip.compress(random);
    assert.ok(member.length < random.length + 100, `${member.length} bytes`);
    assert.deepEqual(new Uint8Array(gunzipSync(member)), random);
  });

  test("runs, repeats near and far, and noise", () => {
    let round = 0;
    const inputs = mixedInputs(777, 200, {
      shortLength: 5000,
      longLength: 400_000,
      maxOffset: 40_000,
    });
    for (const input of inputs) {
      assert.deepEqual(back(input), input, `round ${round++}`);
    }
  });

  test("byte frequencies that would need codes over 15 bits", () => {
    // Byte i appears fib(i) times, shuffled: an unlimited Huffman code
    // would give the rarest bytes codes of about 25 bits.
    const counts = [1, 1];
    while (counts.length < 26) {
      counts.push(counts[counts.length - 1] + counts[counts.length - 2]);
    }
    const input = new Uint8Array(counts.reduce((a, b) => a + b, 0));
    let at = 0;
    counts.forEach((count, byte) => {
      input.fill(byte * 7, at, at + count);
      at += count;
    });
    const next = seeded(99);
    for (let i = input.length - 1; i > 0; i--) {
      const j = next(i + 1);
      [input[i], input[j]] = [input[j], input[i]];
    }
    assert.deepEqual(back(input), input);
  });

  test("the header is a plain RFC 1952 one: deflate, no flags, OS unknown", () => {
    const member = gzip.compress(ascii("hello hello hello"));
    assert.deepEqual(
      member.subarray(0, 10),
      fromHex("1f 8b 08 00 00 00 00 00 00 ff"),
    );
  });
});

describe("malformed gzip fails with errors that name gzip", () => {
  const member = gzip.compress(jsonRecords(5000));
  const flipped = member.slice();
  flipped[member.length - 6] ^= 0xff; // inside the CRC-32 trailer
  const cases: Record<string, Uint8Array> = {
    "no bytes": new Uint8Array(0),
    "not gzip": ascii("hello, world"),
    "cut short": member.subarray(0, member.length >> 1),
    "checksum mismatch": flipped,
    "zlib instead of gzip": fromHex("78 9c cb 48 cd c9 c9 07 00 06 2c 02 15"),
  };
  for (const [name, data] of Object.entries(cases)) {
    test(name, () => {
      assert.throws(() => gzip.decompress(data), /^Error: gzip: /);
    });
  }
});
