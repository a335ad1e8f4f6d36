import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  compressFrame,
  decompressFrame,
  type FrameOptions,
  loadLz4,
  lz4,
  type Lz4Engine,
} from "./lz4.ts";
import { xxhash32 } from "./_xxhash32.ts";
import {
  concat,
  fromHex,
  jsonRecords,
  pseudoRandom,
  seeded,
} from "./_test_data.ts";

const ascii = (s: string) => new TextEncoder().encode(s);
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

const INDEPENDENT = 0x60;
const LINKED = 0x40;
const BLOCK_CHECKSUM = 0x10;
const CONTENT_SIZE = 0x08;
const CONTENT_CHECKSUM = 0x04;
const MAX_64K = 0x40;
const MAX_4M = 0x70;

function le32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, true);
  return out;
}

/** A frame header with its descriptor checksum, as the format defines it. */
function header(flags: number, bd: number, contentSize?: number): Uint8Array {
  const descriptor = contentSize === undefined
    ? new Uint8Array([flags, bd])
    : concat(new Uint8Array([flags, bd]), le32(contentSize), le32(0));
  const checksum = (xxhash32(descriptor) >>> 8) & 0xff;
  return concat(fromHex("04 22 4d 18"), descriptor, new Uint8Array([checksum]));
}

function stored(data: Uint8Array): Uint8Array {
  return concat(le32((data.length | 0x80000000) >>> 0), data);
}

function compressed(block: Uint8Array): Uint8Array {
  return concat(le32(block.length), block);
}

const END = le32(0);

/**
 * "abc", a match 3 back for 12 bytes, then the 5 literals every block ends
 * with: "abcabcabcabcabcxyzzy".
 */
const ABC_BLOCK = concat(
  new Uint8Array([0x38]),
  ascii("abc"),
  new Uint8Array([3, 0, 0x50]),
  ascii("xyzzy"),
);

describe("lz4 frames", () => {
  test("Kafka's header: independent 64 KiB blocks, no checksums", () => {
    const frame = lz4.compress(ascii("hello"));
    assert.deepEqual(frame.subarray(0, 7), header(INDEPENDENT, MAX_64K));
    assert.deepEqual(frame.subarray(0, 7), fromHex("04 22 4d 18 60 40 82"));
    assert.deepEqual(frame.subarray(-4), END);
  });

  test("a hand-made frame of two stored blocks and one compressed block", () => {
    const frame = concat(
      header(INDEPENDENT, MAX_64K),
      stored(ascii("first ")),
      stored(ascii("second ")),
      compressed(ABC_BLOCK),
      END,
    );
    assert.equal(
      text(decompressFrame(frame)),
      "first second abcabcabcabcabcxyzzy",
    );
  });

  test("checksums, content size and block sizes the frame may carry", () => {
    const data = ascii("abcabcabcabcabcxyzzy");
    const body = concat(compressed(ABC_BLOCK));
    const withBlockChecksum = concat(
      le32(ABC_BLOCK.length),
      ABC_BLOCK,
      le32(xxhash32(ABC_BLOCK)),
    );
    const frames = {
      plain: concat(header(INDEPENDENT, MAX_64K), body, END),
      "content checksum": concat(
        header(INDEPENDENT | CONTENT_CHECKSUM, MAX_64K),
        body,
        END,
        le32(xxhash32(data)),
      ),
      "block checksum": concat(
        header(INDEPENDENT | BLOCK_CHECKSUM, MAX_64K),
        withBlockChecksum,
        END,
      ),
      "content size": concat(
        header(INDEPENDENT | CONTENT_SIZE, MAX_64K, data.length),
        body,
        END,
      ),
      "4 MiB blocks": concat(header(INDEPENDENT, MAX_4M), body, END),
    };
    for (const [name, frame] of Object.entries(frames)) {
      assert.deepEqual(decompressFrame(frame), data, name);
    }
  });

  test("linked blocks may refer to the block before", () => {
    const second = concat(new Uint8Array([0x08, 12, 0, 0x10]), ascii("!"));
    const blocks = [stored(ascii("hello world!")), compressed(second), END];
    const linked = concat(header(LINKED, MAX_64K), ...blocks);
    assert.equal(text(decompressFrame(linked)), "hello world!hello world!!");
    const independent = concat(header(INDEPENDENT, MAX_64K), ...blocks);
    assert.throws(
      () => decompressFrame(independent),
      /^Error: lz4: match at byte \d+ points 12 bytes back/,
    );
  });

  test("Kafka 0.8's descriptor checksum, which also covered the magic", () => {
    const broken = concat(
      fromHex("04 22 4d 18 60 40"),
      new Uint8Array([0]),
      compressed(ABC_BLOCK),
      END,
    );
    broken[6] = (xxhash32(broken, 0, 0, 6) >>> 8) & 0xff;
    assert.equal(text(decompressFrame(broken)), "abcabcabcabcabcxyzzy");
  });

  test("a frame written by the lz4 command line tool (lz4 -BX --content-size)", () => {
    // lz4 -BX --content-size on a file holding "hello hello hello hello lz4!".
    const frame = fromHex(
      "04 22 4d 18 7c 40 1c 00 00 00 00 00 00 00 af 0f 00 00 00 6d 68 65 6c 6c" +
        "6f 20 06 00 50 20 6c 7a 34 21 c3 7d 53 18 00 00 00 00 26 6b 69 3d",
    );
    assert.equal(text(decompressFrame(frame)), "hello hello hello hello lz4!");
  });
});

/** Frame options both encoders write. */
const BOTH: FrameOptions[] = [
  {},
  { contentChecksum: true },
  { contentSize: true },
  { contentChecksum: true, contentSize: true },
];

/** Frame options only the TypeScript encoder writes. */
const TYPESCRIPT_ONLY: FrameOptions[] = [
  { blockChecksum: true },
  {
    blockSize: 256 * 1024,
    blockChecksum: true,
    contentChecksum: true,
    contentSize: true,
  },
  { blockSize: 4 * 1024 * 1024 },
];

/**
 * The frame decoded by the TypeScript decoder, after checking that the WASM
 * decodes it to the same bytes.
 */
function decodedBothWays(frame: Uint8Array): Uint8Array {
  const typescript = decompressFrame(frame, "typescript");
  assert.deepEqual(decompressFrame(frame, "wasm"), typescript);
  return typescript;
}

for (
  const [name, blocks] of [
    ["the TypeScript encoder", "typescript"],
    ["the WASM encoder", "wasm"],
  ] as [string, Lz4Engine][]
) {
  describe(`lz4 round trips through the frame options, blocks by ${name}`, () => {
    const data = concat(jsonRecords(300_000), pseudoRandom(70_000));
    const cases = blocks === "wasm" ? BOTH : [...BOTH, ...TYPESCRIPT_ONLY];
    for (const options of cases) {
      test(JSON.stringify(options), () => {
        assert.deepEqual(
          decodedBothWays(compressFrame(data, options, blocks)),
          data,
        );
      });
    }

    test("incompressible blocks are stored as they are", () => {
      const random = pseudoRandom(100_000);
      const frame = compressFrame(random, {}, blocks);
      const firstSize = new DataView(frame.buffer, frame.byteOffset).getUint32(
        7,
        true,
      );
      assert.equal(firstSize, (65536 | 0x80000000) >>> 0);
      assert.deepEqual(decodedBothWays(frame), random);
    });

    test("long runs and repeats compress far below their size", () => {
      const zeros = new Uint8Array(1 << 20);
      const frame = compressFrame(zeros, {}, blocks);
      assert.ok(frame.length < 8000, `${frame.length} bytes`);
      assert.deepEqual(decodedBothWays(frame), zeros);
    });

    test("inputs that are views into a larger buffer", () => {
      const backing = jsonRecords(10_000);
      const view = backing.subarray(1234, 9000);
      const frame = compressFrame(view, {}, blocks);
      const framed = concat(new Uint8Array(11), frame).subarray(11);
      assert.deepEqual(decodedBothWays(framed), view);
    });

    test("inputs of every length up to 300 bytes, and around chunk sizes", () => {
      const source = concat(jsonRecords(2_000), pseudoRandom(2_000, 7));
      for (let length = 0; length <= 300; length++) {
        const input = source.subarray(1000 - (length >> 1), 1000 + length);
        assert.deepEqual(
          decodedBothWays(compressFrame(input, {}, blocks)),
          input,
          `${length} bytes`,
        );
      }
      const big = concat(jsonRecords(1_200_000), pseudoRandom(1_000_000, 3));
      for (const length of [65535, 65536, 65537, 1 << 20, (1 << 20) + 13]) {
        const input = big.subarray(big.length - length);
        assert.deepEqual(
          decodedBothWays(compressFrame(input, {}, blocks)),
          input,
          `${length} bytes`,
        );
      }
    });

    test("matches at the longest offset and runs of every length", () => {
      // A 64 KiB block whose second half repeats its first (offsets near
      // 65535), then repeats of growing lengths separated by noise.
      const noise = pseudoRandom(32_768, 11);
      const parts: Uint8Array[] = [noise, noise];
      for (let run = 1; run < 600; run += 7) {
        parts.push(pseudoRandom(run, run), new Uint8Array(run).fill(run));
      }
      const input = concat(...parts);
      assert.deepEqual(
        decodedBothWays(compressFrame(input, {}, blocks)),
        input,
      );
    });

    test("Kafka batches of 1 KiB and 100 B values", () => {
      for (const size of [1024, 100]) {
        const batch = concat(
          ...Array.from(
            { length: Math.floor(1_000_000 / size) },
            (_, i) => concat(jsonRecords(size - 20), pseudoRandom(20, i + 1)),
          ),
        );
        assert.deepEqual(
          decodedBothWays(compressFrame(batch, {}, blocks)),
          batch,
        );
      }
    });
  });
}

test("the codec compresses with the WASM encoder", async () => {
  const codec = await loadLz4();
  const data = jsonRecords(200_000);
  const frame = codec.compress(data);
  assert.deepEqual(frame, compressFrame(data, {}, "wasm"));
  assert.notDeepEqual(frame, compressFrame(data, {}, "typescript"));
  assert.deepEqual(codec.decompress(frame), data);
});

test("the WASM encoder refuses the frames it does not write", () => {
  const data = jsonRecords(1000);
  for (const options of TYPESCRIPT_ONLY) {
    assert.throws(
      () => compressFrame(data, options, "wasm"),
      /Cannot write LZ4 frame with the WASM encoder: it writes 64 KiB blocks without block checksums only/,
    );
  }
  // Without an encoder named, the TypeScript encoder writes them.
  for (const options of TYPESCRIPT_ONLY) {
    assert.deepEqual(decompressFrame(compressFrame(data, options)), data);
  }
});

test("corrupted frames decode alike, or fail alike, by the WASM and by TypeScript", () => {
  const next = seeded(4242);
  const sources = [
    jsonRecords(5000),
    pseudoRandom(3000),
    new Uint8Array(4000).fill(7),
    concat(jsonRecords(70_000), pseudoRandom(1000)),
  ];
  const outcome = (frame: Uint8Array, decoder: Lz4Engine) => {
    try {
      return decompressFrame(frame, decoder);
    } catch (error) {
      return (error as Error).message;
    }
  };
  let decoded = 0;
  for (let round = 0; round < 3000; round++) {
    const source = sources[next(sources.length)];
    const frame = compressFrame(source.subarray(0, 1 + next(source.length)));
    for (let flips = next(4); flips > 0; flips--) {
      // Past the header, whose checksum would catch most flips.
      frame[7 + next(frame.length - 7)] = next(256);
    }
    const cut = next(8) === 0 ? frame.subarray(0, next(frame.length)) : frame;
    const wasm = outcome(cut, "wasm");
    assert.deepEqual(wasm, outcome(cut, "typescript"), `round ${round}`);
    if (typeof wasm !== "string") decoded++;
  }
  assert.ok(decoded > 500, `${decoded} of 3000 frames decoded`);
});

describe("malformed lz4 frames fail with errors that name lz4", () => {
  const valid = concat(
    header(INDEPENDENT, MAX_64K),
    compressed(ABC_BLOCK),
    END,
  );
  const cases: Record<string, [Uint8Array, RegExp]> = {
    "too short": [valid.subarray(0, 5), /frame of 5 bytes is too short/],
    "wrong magic": [
      concat(fromHex("04 22 4d 19"), valid.subarray(4)),
      /not an LZ4 frame/,
    ],
    "bad descriptor checksum": [
      concat(
        valid.subarray(0, 6),
        new Uint8Array([valid[6] ^ 1]),
        valid.subarray(7),
      ),
      /descriptor checksum mismatch/,
    ],
    "dictionary id": [
      concat(header(INDEPENDENT | 1, MAX_64K), END),
      /dictionary/,
    ],
    "block size id 3": [
      concat(header(INDEPENDENT, 0x30), END),
      /invalid frame descriptor/,
    ],
    "truncated block": [
      valid.subarray(0, valid.length - 6),
      /block at byte 7 overruns the frame/,
    ],
    "no end mark": [valid.subarray(0, valid.length - 4), /before its end mark/],
    "trailing bytes": [
      concat(valid, new Uint8Array([1])),
      /1 unexpected bytes after the frame/,
    ],
    "block larger than the maximum": [
      concat(
        header(INDEPENDENT, MAX_64K),
        le32(65537),
        new Uint8Array(65537),
        END,
      ),
      /block at byte 7 has 65537 bytes, more than the frame's maximum of 65536/,
    ],
    "forged huge block size": [
      concat(header(INDEPENDENT, MAX_4M), le32(0x7fffffff), END),
      /has 2147483647 bytes/,
    ],
    "forged huge content size": [
      concat(header(INDEPENDENT | CONTENT_SIZE, MAX_64K, 0xfffffff0), END),
      /declares 4294967280 bytes of content/,
    ],
    "content size that does not match": [
      concat(
        header(INDEPENDENT | CONTENT_SIZE, MAX_64K, 3),
        compressed(ABC_BLOCK),
        END,
      ),
      /declares 3 bytes of content but holds 20/,
    ],
    "content checksum mismatch": [
      concat(
        header(INDEPENDENT | CONTENT_CHECKSUM, MAX_64K),
        compressed(ABC_BLOCK),
        END,
        le32(1),
      ),
      /content checksum mismatch/,
    ],
    "block checksum mismatch": [
      concat(
        header(INDEPENDENT | BLOCK_CHECKSUM, MAX_64K),
        compressed(ABC_BLOCK),
        le32(7),
        END,
      ),
      /block at byte 7 fails its checksum/,
    ],
    "match before the start": [
      concat(
        header(INDEPENDENT, MAX_64K),
        compressed(fromHex("00 01 00 50 61 61 61 61 61")),
        END,
      ),
      /match at byte 12 points 1 bytes back, outside the output/,
    ],
    "zero offset": [
      concat(
        header(INDEPENDENT, MAX_64K),
        compressed(fromHex("10 61 00 00 50 61 61 61 61 61")),
        END,
      ),
      /points 0 bytes back/,
    ],
    "literals past the block": [
      concat(
        header(INDEPENDENT, MAX_64K),
        compressed(fromHex("f0 ff ff 61")),
        END,
      ),
      /literals at byte \d+ overrun the block/,
    ],
    "length that never ends": [
      concat(
        header(INDEPENDENT, MAX_64K),
        compressed(fromHex("f0 ff ff")),
        END,
      ),
      /block ends inside a length/,
    ],
    "offset cut short": [
      concat(
        header(INDEPENDENT, MAX_64K),
        compressed(fromHex("10 61 01")),
        END,
      ),
      /block ends inside an offset/,
    ],
  };
  for (const [name, [frame, message]] of Object.entries(cases)) {
    test(name, () => {
      assert.throws(() => decompressFrame(frame), (error: Error) => {
        assert.match(error.message, /^lz4: /);
        assert.match(error.message, message);
        return true;
      });
    });
  }

  test("a block whose lengths claim more than it can hold stops at the block maximum", () => {
    // One literal, then a match repeating it with a length of 15 + 255 * 300.
    const block = concat(
      new Uint8Array([0x1f, 0x61, 1, 0]),
      new Uint8Array(300).fill(255),
      new Uint8Array([0, 0x50]),
      ascii("aaaaa"),
    );
    const frame = concat(header(INDEPENDENT, MAX_64K), compressed(block), END);
    assert.throws(
      () => decompressFrame(frame),
      /^Error: lz4: block at byte 7 decompresses to more than the frame's maximum of 65536 bytes/,
    );
  });

  test("a block may expand up to the 255 to 1 that bounds the output", () => {
    // One literal, then a match repeating it with a length of 19 + 255 * 4000.
    const block = concat(
      new Uint8Array([0x1f, 0x61, 1, 0]),
      new Uint8Array(4000).fill(255),
      new Uint8Array([0, 0x50]),
      ascii("aaaaa"),
    );
    const frame = concat(header(INDEPENDENT, MAX_4M), compressed(block), END);
    const out = decompressFrame(frame);
    assert.equal(out.length, 1 + 19 + 255 * 4000 + 5);
    assert.ok(out.every((b) => b === 0x61));
    assert.ok(out.length / frame.length > 250);
  });
});
