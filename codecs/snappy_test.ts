import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { loadSnappy } from "./snappy.ts";
import {
  concat,
  fromHex,
  jsonRecords,
  mixedInputs,
  pseudoRandom,
} from "./_test_data.ts";

const snappy = await loadSnappy();
const ascii = (s: string) => new TextEncoder().encode(s);
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

const XERIAL_HEADER = fromHex(
  "82 53 4e 41 50 50 59 00 00 00 00 01 00 00 00 01",
);

function be32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, value);
  return out;
}

/** The [int32 length][raw block] chunks after the xerial header. */
function chunks(framed: Uint8Array): Uint8Array[] {
  const view = new DataView(
    framed.buffer,
    framed.byteOffset,
    framed.byteLength,
  );
  const out: Uint8Array[] = [];
  for (let pos = 16; pos < framed.length;) {
    const size = view.getInt32(pos);
    out.push(framed.subarray(pos + 4, pos + 4 + size));
    pos += 4 + size;
  }
  return out;
}

/** "abcabcabcabc": length 12, literal "abc", then a copy of 9 bytes from 3 back. */
const RAW_ABC = concat(fromHex("0c 08"), ascii("abc"), fromHex("15 03"));

describe("snappy in the xerial framing", () => {
  test("the header is snappy-java's: magic, version 1, compatible version 1", () => {
    const framed = snappy.compress(ascii("hello"));
    assert.deepEqual(framed.subarray(0, 16), XERIAL_HEADER);
    assert.equal(chunks(framed).length, 1);
  });

  test("empty input is the header alone", () => {
    const framed = snappy.compress(new Uint8Array(0));
    assert.deepEqual(framed, XERIAL_HEADER);
    assert.equal(snappy.decompress(framed).length, 0);
  });

  test("chunks hold 32 KiB of input each", () => {
    const data = jsonRecords(100 * 1024);
    const framed = snappy.compress(data);
    const parts = chunks(framed);
    assert.equal(parts.length, 4);
    assert.deepEqual(snappy.decompress(framed), data);
    // Each chunk is a complete raw block, readable on its own.
    assert.deepEqual(
      snappy.decompress(parts[1]),
      data.subarray(32 * 1024, 64 * 1024),
    );
  });

  test("a hand-made frame of two chunks", () => {
    const framed = concat(
      XERIAL_HEADER,
      be32(RAW_ABC.length),
      RAW_ABC,
      be32(RAW_ABC.length),
      RAW_ABC,
    );
    assert.equal(text(snappy.decompress(framed)), "abcabcabcabcabcabcabcabc");
  });
});

describe("bare raw snappy", () => {
  test("a hand-made block with a literal and a copy", () => {
    assert.equal(text(snappy.decompress(RAW_ABC)), "abcabcabcabc");
  });

  test("a block of literals only", () => {
    assert.equal(
      text(snappy.decompress(concat(fromHex("05 10"), ascii("hello")))),
      "hello",
    );
  });

  test("an empty block", () => {
    assert.equal(snappy.decompress(new Uint8Array([0])).length, 0);
  });
});

describe("snappy round trips", () => {
  test("inputs of every length up to 300 bytes, and around chunk sizes", () => {
    const source = concat(jsonRecords(2_000), pseudoRandom(2_000, 7));
    for (let length = 0; length <= 300; length++) {
      const input = source.subarray(1000 - (length >> 1), 1000 + length);
      assert.deepEqual(snappy.decompress(snappy.compress(input)), input);
    }
    const big = concat(jsonRecords(1_200_000), pseudoRandom(1_000_000, 3));
    for (const length of [32767, 32768, 32769, 1 << 20, (1 << 20) + 13]) {
      const input = big.subarray(big.length - length);
      assert.deepEqual(
        snappy.decompress(snappy.compress(input)),
        input,
        `${length} bytes`,
      );
    }
  });

  test("copies of every length and offset kind, runs and overlaps", () => {
    // Repeats near (1-byte offsets) and far (2-byte offsets) of growing
    // lengths, runs (overlapping copies), noise between them.
    const parts: Uint8Array[] = [];
    for (let run = 1; run < 400; run += 3) {
      const noise = pseudoRandom(run % 50 + 1, run);
      parts.push(noise, new Uint8Array(run).fill(run & 0xff), noise);
      if (run % 30 === 1) parts.push(pseudoRandom(3000, run), noise);
    }
    const input = concat(...parts);
    const framed = snappy.compress(input);
    assert.ok(framed.length < input.length, "it shrinks");
    assert.deepEqual(snappy.decompress(framed), input);
  });

  test("generated inputs of repeats, runs and noise", () => {
    let round = 0;
    for (const input of mixedInputs(12345, 300)) {
      assert.deepEqual(
        snappy.decompress(snappy.compress(input)),
        input,
        `round ${round++}, ${input.length} bytes`,
      );
    }
  });
});

describe("malformed snappy fails with errors that name snappy", () => {
  const framed = snappy.compress(jsonRecords(5000));
  const cases: Record<string, [Uint8Array, RegExp]> = {
    "no bytes": [new Uint8Array(0), /block at byte 0 ends inside its length/],
    "chunk length cut short": [
      concat(XERIAL_HEADER, fromHex("00 00")),
      /chunk at byte 16 ends inside its length/,
    ],
    "chunk past the end": [
      framed.subarray(0, framed.length - 1),
      /chunk at byte 16 overruns the data/,
    ],
    "negative chunk length": [
      concat(XERIAL_HEADER, be32(-5), RAW_ABC),
      /chunk at byte 16 overruns the data/,
    ],
    "forged 4 GiB raw length": [
      fromHex("ff ff ff ff 0f 00"),
      /declares 4294967295 bytes/,
    ],
    "forged length in a chunk": [
      concat(XERIAL_HEADER, be32(3), fromHex("80 80 40")),
      /block at byte 20 declares 1048576 bytes, more than 3 bytes can hold/,
    ],
    "length varint of six bytes": [
      fromHex("ff ff ff ff ff 01"),
      /invalid length/,
    ],
    "copy before the start": [
      concat(fromHex("0c 15 03"), ascii("abc")),
      /block at byte 0 is corrupt: a copy reaches before the start of the output/,
    ],
    "copy with offset 0": [
      concat(fromHex("0c 08"), ascii("abc"), fromHex("15 00")),
      /a copy reaches before the start of the output/,
    ],
    "declared length larger than the data": [
      concat(fromHex("0d 08"), ascii("abc"), fromHex("15 03")),
      /its elements end before its declared length/,
    ],
    "declared length smaller than the data": [
      concat(fromHex("0b 08"), ascii("abc"), fromHex("15 03")),
      /an element runs past its declared length/,
    ],
    "literal cut short": [
      concat(fromHex("0c 14"), ascii("ab")),
      /it ends inside an element/,
    ],
    "long literal length cut short": [
      fromHex("40 f0 3f"),
      /it ends inside an element/,
    ],
    "literal of 2^32 bytes": [
      fromHex("04 fc ff ff ff ff 61 62 63 64"),
      /it ends inside an element/,
    ],
    "copy offset cut short": [
      concat(fromHex("0c 08"), ascii("abc"), fromHex("16 03")),
      /it ends inside an element/,
    ],
    "4-byte copy offset cut short": [
      concat(fromHex("0c 08"), ascii("abc"), fromHex("17 03 00 00")),
      /it ends inside an element/,
    ],
  };
  for (const [name, [data, message]] of Object.entries(cases)) {
    test(name, () => {
      assert.throws(() => snappy.decompress(data), (error: Error) => {
        assert.match(error.message, /^snappy: /);
        assert.match(error.message, message);
        return true;
      });
    });
  }

  test("the codec still works after the WASM rejected bad input", () => {
    assert.throws(() =>
      snappy.decompress(concat(fromHex("0c 15 03"), ascii("abc")))
    );
    assert.equal(text(snappy.decompress(RAW_ABC)), "abcabcabcabc");
  });
});
