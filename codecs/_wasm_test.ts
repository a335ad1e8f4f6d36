import { test } from "node:test";
import assert from "node:assert/strict";
import { codecsWasm } from "./_wasm.ts";
import { SOURCES_SHA256 } from "./_wasm_bytes.ts";
import { sources, sourcesSha256 } from "../tools/wasm.ts";

test("the embedded WASM was built from codecs/wasm/*.rs as they are (deno task wasm)", async () => {
  assert.equal(
    SOURCES_SHA256,
    await sourcesSha256(sources()),
    "codecs/wasm/*.rs changed since codecs/_wasm_bytes.ts was built: run deno task wasm",
  );
});

test("the WASM is made once, needs no permission, and its memory grows on demand", () => {
  const wasm = codecsWasm();
  assert.ok(wasm, "WebAssembly runs in every runtime we support");
  assert.equal(codecsWasm(), wasm);
  const at = wasm.reserve(16);
  const before = wasm.bytes();
  const grown = wasm.reserve(before.length + 65536);
  assert.equal(grown, at, "the working place does not move");
  const after = wasm.bytes();
  assert.ok(after.length >= before.length + 65536);
  assert.equal(
    before.length,
    0,
    "the old view is detached once the memory grew",
  );
  assert.throws(
    () => wasm.reserve(2 ** 32),
    /memory cannot grow to hold 4294967296 bytes/,
  );
});
