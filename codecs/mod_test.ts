import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type Codec, compressionId, loadCodec, registerCodec } from "./mod.ts";
import { jsonRecords, pseudoRandom } from "./_test_data.ts";

const CODECS = ["gzip", "snappy", "lz4", "zstd"] as const;
const MIB = 1 << 20;

const inputs: Record<string, Uint8Array> = {
  empty: new Uint8Array(0),
  "one byte": new Uint8Array([42]),
  "tiny text": new TextEncoder().encode("hello, kafka"),
  "1 MiB of JSON records": jsonRecords(MIB),
  "1 MiB of random bytes": pseudoRandom(MIB),
  "a view into a larger buffer": jsonRecords(70_000).subarray(333, 69_000),
};

for (const name of CODECS) {
  describe(`${name} round trips`, () => {
    for (const [label, data] of Object.entries(inputs)) {
      test(label, async () => {
        const codec = await loadCodec(compressionId(name));
        const packed = codec.compress(data);
        assert.deepEqual(codec.decompress(packed), data);
      });
    }

    test("compressed JSON is much smaller", async () => {
      const codec = await loadCodec(compressionId(name));
      const data = inputs["1 MiB of JSON records"];
      assert.ok(codec.compress(data).length < data.length / 2);
    });

    test("a compressed view decompresses from a view too", async () => {
      const codec = await loadCodec(compressionId(name));
      const packed = codec.compress(inputs["tiny text"]);
      const backing = new Uint8Array(packed.length + 10);
      backing.set(packed, 5);
      assert.deepEqual(
        codec.decompress(backing.subarray(5, 5 + packed.length)),
        inputs["tiny text"],
      );
    });
  });
}

describe("corrupted payloads give data or an error naming the codec", () => {
  const sample = jsonRecords(6000);
  for (const name of CODECS) {
    test(name, async () => {
      const codec = await loadCodec(compressionId(name));
      const packed = codec.compress(sample);
      const random = pseudoRandom(4000, 99);
      for (let round = 0; round < 400; round++) {
        const broken = corrupt(packed, random, round);
        try {
          codec.decompress(broken);
        } catch (error) {
          assert.ok(error instanceof Error, `round ${round}: ${error}`);
          assert.match(
            error.message,
            new RegExp(`^${name}: `),
            `round ${round}`,
          );
        }
      }
    });
  }
});

/** Flips a few bytes, truncates, or both, driven by `random`. */
function corrupt(
  packed: Uint8Array,
  random: Uint8Array,
  round: number,
): Uint8Array {
  const pick = (i: number) => random[(round * 8 + i) % random.length];
  const position = (i: number) =>
    ((pick(i) << 8) | pick(i + 1)) % packed.length;
  let out = packed.slice();
  const kind = round % 3;
  if (kind !== 1) {
    for (let i = 0; i < 1 + (pick(0) & 3); i++) {
      out[position(2 * i + 1)] ^= pick(7) | 1;
    }
  }
  if (kind !== 0) out = out.subarray(0, position(6));
  return out;
}

describe("loading", () => {
  test("loadCodec returns the codec of each id and caches it", async () => {
    for (const [index, name] of CODECS.entries()) {
      const id = index + 1;
      const codec = await loadCodec(id);
      assert.equal(codec.id, id);
      assert.equal(codec.name, name);
      assert.equal(await loadCodec(id), codec);
    }
  });

  test("concurrent first uses share one load", async () => {
    const [a, b] = await Promise.all([loadCodec(2), loadCodec(2)]);
    assert.equal(a, b);
  });

  test("unknown ids and none are RangeErrors", async () => {
    await assert.rejects(loadCodec(0), RangeError);
    await assert.rejects(loadCodec(5), /Unknown compression codec id 5/);
    assert.throws(
      () => compressionId("brotli" as never),
      /^RangeError: "compression" must be one of "none", "gzip", "snappy", "lz4", "zstd", got "brotli"$/,
    );
  });

  test("a registered codec replaces the built-in one", async () => {
    const original = await loadCodec(3);
    const identity: Codec = {
      id: 3,
      name: "lz4",
      compress: (data) => data,
      decompress: (data) => data,
    };
    registerCodec(identity);
    try {
      assert.equal(await loadCodec(3), identity);
    } finally {
      registerCodec(original);
    }
  });
});
