/**
 * Snappy as Kafka uses it: written in the xerial framing of snappy-java's
 * `SnappyOutputStream` (what Kafka's Java client writes), read in that framing
 * or as one bare raw snappy block (what some other clients write). The raw
 * blocks come from snappy-wasm.
 *
 * @module
 */

import * as snappyWasm from "snappy-wasm";
import type { Codec } from "./mod.ts";
import { codecError, concatBytes, MAX_DECOMPRESSED_BYTES } from "./_shared.ts";

const { compress_raw, decompress_raw } = snappyWasm;
// The package's package.json has no "type", so TypeScript reads its .d.ts as
// CommonJS and misplaces the default export; Deno and Bun load its ES module,
// whose default export is the async init().
const init = snappyWasm.default as unknown as (
  wasm?: Uint8Array,
) => Promise<unknown>;

/** `\x82SNAPPY\0` */
const XERIAL_MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00];
/** The magic, then version 1 and compatible version 1 as big-endian int32s. */
const XERIAL_HEADER = new Uint8Array([...XERIAL_MAGIC, 0, 0, 0, 1, 0, 0, 0, 1]);
/** snappy-java's default block size. */
const CHUNK_SIZE = 32 * 1024;
/** A 3-byte copy element yields at most 64 bytes, so no block expands more than 22 times. */
const MAX_RATIO = 22;

/**
 * Loads the WASM (snappy-wasm fetches it next to its own module, which in
 * Deno needs read access to that folder) and returns the codec.
 */
export async function loadSnappy(): Promise<Codec> {
  await init(await wasmForNode());
  return snappy;
}

/**
 * Node's fetch cannot read file: URLs, where snappy-wasm's init() looks for
 * its WASM: under Node, read the file and hand init() the bytes. Deno and Bun
 * fetch it themselves.
 */
async function wasmForNode(): Promise<Uint8Array | undefined> {
  if ("Deno" in globalThis || "Bun" in globalThis) return undefined;
  const { readFile } = await import("node:fs/promises");
  const module = import.meta.resolve("snappy-wasm");
  return await readFile(new URL("snappy_bg.wasm", module));
}

/** Compresses into xerial chunks of 32 KiB input each. */
function compress(data: Uint8Array): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = XERIAL_HEADER.length;
  for (let start = 0; start < data.length; start += CHUNK_SIZE) {
    const chunk = compress_raw(data.subarray(start, start + CHUNK_SIZE));
    chunks.push(chunk);
    total += 4 + chunk.length;
  }
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(XERIAL_HEADER);
  let pos = XERIAL_HEADER.length;
  for (const chunk of chunks) {
    view.setInt32(pos, chunk.length);
    out.set(chunk, pos + 4);
    pos += 4 + chunk.length;
  }
  return out;
}

function decompress(data: Uint8Array): Uint8Array {
  try {
    return isXerial(data)
      ? decompressXerial(data)
      : decompressBlock(data, 0, data.length);
  } catch (error) {
    throw codecError("snappy", error);
  }
}

function isXerial(data: Uint8Array): boolean {
  if (data.length < XERIAL_HEADER.length) return false;
  for (let i = 0; i < XERIAL_MAGIC.length; i++) {
    if (data[i] !== XERIAL_MAGIC[i]) return false;
  }
  return true;
}

/** Reads the chunks after the header (the versions are not checked, as snappy-java does not). */
function decompressXerial(data: Uint8Array): Uint8Array {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const parts: Uint8Array[] = [];
  let total = 0;
  let pos = XERIAL_HEADER.length;
  while (pos < data.length) {
    if (data.length - pos < 4) {
      throw new Error(`snappy: chunk at byte ${pos} ends inside its length`);
    }
    const size = view.getInt32(pos);
    if (size < 0 || size > data.length - pos - 4) {
      throw new Error(`snappy: chunk at byte ${pos} overruns the data`);
    }
    const part = decompressBlock(data, pos + 4, pos + 4 + size);
    total += part.length;
    if (total > MAX_DECOMPRESSED_BYTES) {
      throw new Error(
        `snappy: data decompresses to more than ${MAX_DECOMPRESSED_BYTES} bytes`,
      );
    }
    parts.push(part);
    pos += 4 + size;
  }
  return concatBytes(parts, total);
}

/**
 * Decompresses one raw block after checking the length it declares: the WASM
 * allocates that length up front, so a forged one must never reach it.
 */
function decompressBlock(
  data: Uint8Array,
  start: number,
  end: number,
): Uint8Array {
  const declared = declaredLength(data, start, end);
  const limit = Math.min(MAX_DECOMPRESSED_BYTES, (end - start) * MAX_RATIO);
  if (declared > limit) {
    throw new Error(
      `snappy: block at byte ${start} declares ${declared} bytes, more than ${
        end - start
      } bytes can hold`,
    );
  }
  return decompress_raw(data.subarray(start, end));
}

/** The uncompressed length a raw block starts with, as a varint of up to 5 bytes. */
function declaredLength(data: Uint8Array, start: number, end: number): number {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    if (start + i >= end) {
      throw new Error(`snappy: block at byte ${start} ends inside its length`);
    }
    const byte = data[start + i];
    value += (byte & 0x7f) * 2 ** (7 * i);
    if (byte < 0x80) return value;
  }
  throw new Error(`snappy: block at byte ${start} has an invalid length`);
}

/** Codec id 2: snappy, usable once `loadSnappy` has resolved. */
const snappy: Codec = { id: 2, name: "snappy", compress, decompress };
