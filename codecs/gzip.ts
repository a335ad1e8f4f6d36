/**
 * gzip. Without a level, batches are compressed by our deflate in
 * WebAssembly (`codecs/wasm/deflate.rs`, see `_wasm.ts`): on the benchmark's
 * batches of 1 KiB JSON records it compressed about as well as zlib's
 * default level 6 (ratio 5.68 against Deno's 5.62 and Node's 5.93) with
 * about a third less CPU. With a level (1 to 9, as Java's
 * `compression.gzip.level`) they go through `node:zlib` at that level, as
 * they do where WebAssembly cannot run. Decompression is
 * `node:zlib`'s, which Deno, Bun and Node provide.
 *
 * @module
 */

import { gunzipSync, gzip as gzipAsync, gzipSync } from "node:zlib";
import type { Codec } from "./mod.ts";
import {
  codecError,
  MAX_DECOMPRESSED_BYTES,
  plainBytes,
  zlibAsync,
} from "./_shared.ts";
import { WorkerPool } from "./_workers.ts";
import { codecsWasm, gzipByWasm } from "./_wasm.ts";

/** Deflate cannot expand data more than about 1032 to 1. */
const MAX_RATIO = 1032;

function compress(data: Uint8Array, level?: number): Uint8Array {
  if (level === undefined) {
    const wasm = codecsWasm();
    if (wasm) return gzipByWasm(wasm, data);
    return plainBytes(gzipSync(data));
  }
  return plainBytes(gzipSync(data, { level }));
}

function decompress(data: Uint8Array): Uint8Array {
  // zlib grows its output as it goes; the cap stops a small hostile payload
  // from inflating into gigabytes.
  const limit = Math.min(MAX_DECOMPRESSED_BYTES, data.length * MAX_RATIO);
  try {
    return plainBytes(
      gunzipSync(data, { maxOutputLength: Math.max(limit, 1) }),
    );
  } catch (error) {
    throw codecError("gzip", error);
  }
}

/**
 * Codec id 1: gzip (RFC 1952), by our deflate unless given a zlib level from
 * 1 to 9.
 */
export const gzip: Codec = {
  id: 1,
  name: "gzip",
  compress,
  decompress,
  compressAsync: typeof Worker === "function"
    ? compressOnWorkers
    : compressOnThreadPool,
};

/**
 * Node, which has no Web Workers: `node:zlib`'s callback `gzip` runs on
 * libuv's thread pool (at level 6 by default: our deflate runs on the
 * calling thread, and the pool's threads compress several batches at once).
 */
function compressOnThreadPool(
  data: Uint8Array,
  level?: number,
): Promise<Uint8Array> {
  return zlibAsync((done) =>
    gzipAsync(data, level === undefined ? {} : { level }, done)
  );
}

/**
 * Deno and Bun: our deflate on Web Workers, one per core from 2 (one was no
 * faster than the main thread alone) to 4. Deno's asynchronous `node:zlib`
 * calls run on the main thread; Bun's run on its thread pool, but at zlib's
 * level 6: the workers took Bun's gzip workload from 98k-104k msgs/s and
 * 14.8-15.5 µs of CPU a message to 124k-130k and 11.5-12.3 µs.
 */
function compressOnWorkers(
  data: Uint8Array,
  level?: number,
): Promise<Uint8Array> {
  pool ??= new WorkerPool(
    new URL("./_gzip_worker.ts", import.meta.url),
    Math.min(4, Math.max(2, globalThis.navigator?.hardwareConcurrency ?? 2)),
    "gzip",
    compress,
  );
  return pool.run(data, level);
}

let pool: WorkerPool | undefined;
