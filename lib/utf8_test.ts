import { test } from "node:test";
import assert from "node:assert/strict";
import { utf8Bytes } from "./utf8.ts";

const encoder = new TextEncoder();

test("utf8Bytes encodes as TextEncoder does: ASCII, 2-4 byte characters, lone surrogates, empty", () => {
  const texts = [
    "",
    "a",
    "hello, kafka",
    "héllo wörld",
    "日本語のテキスト",
    "emoji 🎉 and 𝄞",
    "lone \ud800 high, lone \udc00 low, end \ud83d",
    "x".repeat(1023),
    "é".repeat(1024),
    "🎉".repeat(40_000), // more than a chunk
  ];
  for (const text of texts) {
    assert.deepEqual(
      utf8Bytes(text),
      encoder.encode(text),
      `text of ${text.length} characters`,
    );
  }
});

test("utf8Bytes: no later string overwrites an earlier one's bytes, across chunks", () => {
  const kept: [string, Uint8Array][] = [];
  // 3,000 strings of 60-1,260 bytes: several chunks of 64 KiB.
  for (let i = 0; i < 3_000; i++) {
    const text = `${i}:` + "ab€".repeat(20 + (i * 37) % 400);
    kept.push([text, utf8Bytes(text)]);
  }
  for (const [text, bytes] of kept) {
    assert.equal(new TextDecoder().decode(bytes), text);
  }
});

test("utf8Bytes gives each string a view of exactly its bytes", () => {
  const a = utf8Bytes("first");
  const b = utf8Bytes("second");
  assert.equal(a.length, 5);
  assert.equal(b.length, 6);
  assert.equal(a.byteLength, 5);
  // Writing into one view does not show in the other.
  a[0] = 0x46;
  assert.equal(new TextDecoder().decode(a), "First");
  assert.equal(new TextDecoder().decode(b), "second");
});
