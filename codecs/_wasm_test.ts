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

if ("Deno" in globalThis) {
  test("in Deno, snappy and lz4 load and work without any permission", async () => {
    const { spawnSync } = await import("node:child_process");
    const deno = (globalThis as unknown as { Deno: { execPath(): string } })
      .Deno.execPath();
    const mod = new URL("./mod.ts", import.meta.url).href;
    const script = `
      import { loadCodec } from "${mod}";
      const data = new TextEncoder().encode("a permissionless codec ".repeat(500));
      for (const id of [2, 3]) {
        const codec = await loadCodec(id);
        const back = codec.decompress(codec.compress(data));
        console.log(codec.name, back.length === data.length && back.every((b, i) => b === data[i]));
      }`;
    const run = spawnSync(deno, ["run", "--no-prompt", "--no-config", "-"], {
      input: script,
      encoding: "utf8",
    });
    assert.equal(run.stderr.includes("error"), false, run.stderr);
    assert.equal(run.stdout, "snappy true\nlz4 true\n");
  });
}
