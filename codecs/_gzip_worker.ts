/**
 * A Web Worker (Deno, Bun) that gzips what `_workers.ts` posts to it: `{ id, data, level }`
 * in, `{ id, out, input }` (the input's buffer handed back for reuse) or
 * `{ id, error }` back, the bytes transferred both ways.
 *
 * Without a level it compresses with our deflate in WebAssembly (as
 * `gzip.ts` does on the calling thread); with one, with `node:zlib`'s
 * `gzipSync` at that level, loaded on first use. Where WebAssembly cannot
 * run, `CompressionStream` compresses at zlib's default level: it held far
 * less memory than `gzipSync`, whose output buffers outlive their use until
 * a collection the worker's small heap seldom needs (two workers that had
 * each gzipped fifty 1 MB batches: 131 MB of RSS against 210 MB).
 *
 * @module
 */

import { concatBytes } from "./_shared.ts";
import { codecsWasm, gzipByWasm } from "./_wasm.ts";

interface Scope {
  onmessage:
    | ((
      event: MessageEvent<{ id: number; data: Uint8Array; level?: number }>,
    ) => void)
    | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
}

const scope = globalThis as unknown as Scope;

let zlib: Promise<typeof import("node:zlib")> | undefined;

scope.onmessage = ({ data: { id, data, level } }) => {
  compress(data, level).then((out) => {
    // The input's buffer goes back too, for the next batch's copy.
    const input = data.buffer as ArrayBuffer;
    scope.postMessage({ id, out, input }, [out.buffer as ArrayBuffer, input]);
  }).catch((error) => {
    scope.postMessage({
      id,
      error: (error as Error)?.message ?? String(error),
    });
  });
};

/** gzip of `data`, in a buffer of its own (so it can be transferred). */
async function compress(data: Uint8Array, level?: number): Promise<Uint8Array> {
  if (level !== undefined) {
    zlib ??= import("node:zlib");
    return ownBuffer((await zlib).gzipSync(data, { level }));
  }
  const wasm = codecsWasm();
  if (wasm) return gzipByWasm(wasm, data);
  const stream = new CompressionStream("gzip");
  const writer = stream.writable.getWriter();
  // Both settle with the readable side, read below; their errors show there.
  writer.write(data as Uint8Array<ArrayBuffer>).catch(() => {});
  writer.close().catch(() => {});
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = stream.readable.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    length += value.length;
  }
  return ownBuffer(concatBytes(chunks, length));
}

/** `bytes`, or a copy where they share their buffer (a Node.js Buffer's pool). */
function ownBuffer(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes
    : bytes.slice();
}
