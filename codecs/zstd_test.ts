import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { checkFrames, loadZstd } from "./zstd.ts";
import { concat, fromHex, jsonRecords } from "./_test_data.ts";

const native = await loadZstd(false);
const fzstd = await loadZstd(true);
const ascii = (s: string) => new TextEncoder().encode(s);
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

const HELLO = "hello hello hello hello zstd!";
/** `zstd --content-size -19`: single segment, content size, checksum. */
const WITH_SIZE = fromHex(
  "28 b5 2f fd 24 1d 8d 00 00 58 68 65 6c 6c 6f 20 7a 73 74 64 21 01 00 f1 4a 11 ae 1b 8f 93",
);
/** `zstd --no-content-size` from a pipe: a 2 MiB window, no size, like Deno's and Kafka's Java frames. */
const WITHOUT_SIZE = fromHex(
  "28 b5 2f fd 04 58 8d 00 00 58 68 65 6c 6c 6f 20 7a 73 74 64 21 01 00 f1 4a 11 ae 1b 8f 93",
);
/** A frame with a window of `descriptor` and one empty last raw block. */
const emptyWithWindow = (descriptor: number) =>
  concat(
    fromHex("28 b5 2f fd 00"),
    new Uint8Array([descriptor]),
    fromHex("01 00 00"),
  );
/**
 * Found by fuzzing: a corrupt Huffman table on which fzstd 0.1.1 loops
 * forever (its weight decoding reads zero bits per step and never ends).
 */
const FZSTD_HANGS = fromHex(
  "28 b5 2f fd 60 88 12 25 01 00 a6 e6 5f 1f f0 1f d2 06 8b 70 cc 7e f8 79 b4 10" +
    "7b bb 11 2d be 32 8e 97 dd dd bd b3 84 5a 55 51 45 c4 d4 6c",
);

for (
  const [decoder, zstd] of [["node:zlib", native], ["fzstd", fzstd]] as const
) {
  describe(`zstd frames (${decoder})`, () => {
    test("frames with and without the content size", () => {
      assert.equal(text(zstd.decompress(WITH_SIZE)), HELLO);
      assert.equal(text(zstd.decompress(WITHOUT_SIZE)), HELLO);
    });

    test("concatenated frames and a skippable frame", () => {
      const skippable = fromHex("50 2a 4d 18 03 00 00 00 aa bb cc");
      const data = concat(WITH_SIZE, skippable, WITHOUT_SIZE);
      assert.equal(text(zstd.decompress(data)), HELLO + HELLO);
    });

    test("hand-made raw and RLE blocks", () => {
      const raw = concat(fromHex("28 b5 2f fd 20 05 29 00 00"), ascii("hello"));
      assert.equal(text(zstd.decompress(raw)), "hello");
      const rle = fromHex("28 b5 2f fd 20 0a 53 00 00 61");
      assert.equal(text(zstd.decompress(rle)), "aaaaaaaaaa");
    });

    test("a window larger than the blocks can fill decodes, lowered", () => {
      assert.equal(zstd.decompress(emptyWithWindow(0xa0)).length, 0); // 1 GiB
      assert.equal(zstd.decompress(emptyWithWindow(0xf8)).length, 0); // 2^41 bytes
    });

    test("what node:zlib writes in this runtime", () => {
      const data = jsonRecords(200_000);
      const frame = zstd.compress(data);
      assert.deepEqual(frame.subarray(0, 4), fromHex("28 b5 2f fd"));
      assert.deepEqual(zstd.decompress(frame), data);
    });
  });

  describe(`malformed zstd fails with errors that name zstd (${decoder})`, () => {
    const cases: Record<string, [Uint8Array, RegExp]> = {
      "no bytes": [new Uint8Array(0), /no frame in 0 bytes/],
      "wrong magic": [
        fromHex("28 b5 2f fe 00 58 01 00 00"),
        /no zstd frame at byte 0/,
      ],
      "reserved bit": [fromHex("28 b5 2f fd 08 58 01 00 00"), /reserved bit/],
      "header cut short": [
        fromHex("28 b5 2f fd 00"),
        /frame header at byte 0 is truncated/,
      ],
      "block cut short": [
        WITH_SIZE.subarray(0, 12),
        /block at byte 6 overruns the data/,
      ],
      "block header cut short": [
        WITH_SIZE.subarray(0, 7),
        /block at byte 6 is truncated/,
      ],
      "checksum cut short": [
        WITH_SIZE.subarray(0, WITH_SIZE.length - 2),
        /ends inside its checksum/,
      ],
      "reserved block type": [
        fromHex("28 b5 2f fd 00 58 07 00 00"),
        /reserved block type/,
      ],
      "block larger than the frame allows": [
        concat(fromHex("28 b5 2f fd 20 05 31 00 00"), ascii("hello!")),
        /has 6 bytes, more than the frame's maximum of 5/,
      ],
      "RLE block longer than 128 KiB": [
        fromHex("28 b5 2f fd 00 58 0b 00 10 61"),
        /has 131073 bytes, more than the frame's maximum of 131072/,
      ],
      "forged 1 TiB content size": [
        fromHex("28 b5 2f fd c0 58 00 00 00 00 00 01 00 00 01 00 00"),
        /declares 1099511627776 bytes of content, more than its blocks can hold \(0\)/,
      ],
      "a dictionary": [
        fromHex("28 b5 2f fd 01 58 07 01 00 00"),
        /needs a dictionary/,
      ],
      "skippable frame past the end": [
        fromHex("50 2a 4d 18 09 00 00 00 aa"),
        /skippable frame at byte 0 overruns/,
      ],
      "garbage after a frame": [
        concat(WITH_SIZE, fromHex("00 01")),
        /frame at byte 30 is truncated/,
      ],
      "corrupt compressed block": [
        concat(
          WITH_SIZE.subarray(0, 9),
          new Uint8Array(17).fill(0xff),
          WITH_SIZE.subarray(26),
        ),
        /^zstd: /,
      ],
    };
    for (const [name, [data, message]] of Object.entries(cases)) {
      test(name, () => {
        assert.throws(() => zstd.decompress(data), (error: Error) => {
          assert.match(error.message, /^zstd: /);
          assert.match(error.message, message);
          return true;
        });
      });
    }
  });
}

describe("zstd levels", () => {
  test("levels -5, 1, 3 and 19 read back; -5 is the largest, 19 the smallest", () => {
    const data = jsonRecords(200_000);
    const size = (level?: number) => {
      const frame = native.compress(data, level);
      assert.deepEqual(native.decompress(frame), data);
      assert.deepEqual(fzstd.decompress(frame), data);
      return frame.length;
    };
    const fast = size(-5);
    const three = size(3);
    const best = size(19);
    assert.equal(size(), three, "default is 3");
    assert.ok(fast > size(1), `-5: ${fast}`);
    assert.ok(best < three, `19: ${best}, 3: ${three}`);
  });
});

describe("zstd frame checks", () => {
  test("a window larger than the blocks can fill is lowered in a copy", () => {
    const data = emptyWithWindow(0xa0); // a 1 GiB window
    const [frame] = checkFrames(data);
    assert.equal(frame.bytes[5], 0x00); // 1 KiB
    assert.equal(data[5], 0xa0);
    assert.equal(frame.bound, 0);
  });

  test("one compressed block may fill 128 KiB", () => {
    const [frame] = checkFrames(WITHOUT_SIZE);
    assert.equal(frame.bytes[5], 0x38);
    assert.equal(frame.bound, 128 * 1024);
  });

  test("frames with a content size are passed on as they are", () => {
    const [frame] = checkFrames(WITH_SIZE);
    assert.equal(frame.bytes.buffer, WITH_SIZE.buffer);
  });

  test("skippable frames are left out", () => {
    const skippable = fromHex("50 2a 4d 18 00 00 00 00");
    assert.equal(
      checkFrames(concat(skippable, WITH_SIZE, skippable)).length,
      1,
    );
    assert.equal(checkFrames(skippable).length, 0);
  });

  test("the input on which fzstd never returns fails quickly with node:zlib", () => {
    const started = performance.now();
    assert.throws(() => native.decompress(FZSTD_HANGS), /^Error: zstd: /);
    assert.ok(performance.now() - started < 1000);
  });

  test("the codec loaded by default decodes with node:zlib in Deno, Bun and Node", async () => {
    const { loadCodec } = await import("./mod.ts");
    const codec = await loadCodec(4);
    assert.throws(() => codec.decompress(FZSTD_HANGS), /^Error: zstd: /);
  });
});
