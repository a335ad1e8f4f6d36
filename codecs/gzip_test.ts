import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { gzip } from "./gzip.ts";
import { concat, fromHex, jsonRecords } from "./_test_data.ts";

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
    assert.equal(gzip.compress(data).length, sizes.get(6), "default is 6");
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
