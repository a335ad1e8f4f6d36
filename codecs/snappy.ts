/**
 * Snappy as Kafka uses it: written in the xerial framing of snappy-java's
 * `SnappyOutputStream` (what Kafka's Java client writes), read in that framing
 * or as one bare raw snappy block (what some other clients write). The raw
 * blocks are compressed and decompressed by our snappy in WebAssembly
 * (`codecs/wasm/snappy.rs`, see `_wasm.ts`); the framing, and the checks of
 * every size a frame declares before anything is allocated, are TypeScript.
 *
 * @module
 */

import type { Codec } from "./mod.ts";
import { codecError, concatBytes, MAX_DECOMPRESSED_BYTES } from "./_shared.ts";
import {
  type CodecsWasm,
  codecsWasm,
  compressInPieces,
  PIECE_BYTES,
  wasmFailure,
} from "./_wasm.ts";

/** `\x82SNAPPY\0` */
const XERIAL_MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00];
/** The magic, then version 1 and compatible version 1 as big-endian int32s. */
const XERIAL_HEADER = new Uint8Array([...XERIAL_MAGIC, 0, 0, 0, 1, 0, 0, 0, 1]);
/** snappy-java's default block size. */
const CHUNK_SIZE = 32 * 1024;
/** A 3-byte copy element yields at most 64 bytes, so no block expands more than 22 times. */
const MAX_RATIO = 22;

/** The WASM once made (see `_wasm.ts`). */
let wasm: CodecsWasm | undefined;

/**
 * Makes the WASM (the module is embedded: no file or network access) and
 * returns the codec; rejects where WebAssembly cannot run.
 */
export function loadSnappy(): Promise<Codec> {
  const made = codecsWasm();
  if (!made) {
    const cause = wasmFailure();
    return Promise.reject(
      new Error(
        `snappy needs WebAssembly, which failed here: ${
          cause instanceof Error ? cause.message : String(cause)
        }`,
        { cause },
      ),
    );
  }
  wasm = made;
  return Promise.resolve(snappy);
}

/** Compresses into xerial chunks of 32 KiB input each. */
function compress(data: Uint8Array): Uint8Array {
  const { exports } = wasm!;
  const { out } = compressInPieces(
    wasm!,
    data,
    exports.snappy_bound(PIECE_BYTES, CHUNK_SIZE),
    XERIAL_HEADER.length,
    0,
    (input, length, output) =>
      exports.snappy_compress_chunks(input, length, CHUNK_SIZE, output),
  );
  out.set(XERIAL_HEADER);
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
 * Decompresses one raw block after checking the length it declares: its
 * output is reserved up front, so a forged one must never reach the WASM.
 */
function decompressBlock(
  data: Uint8Array,
  start: number,
  end: number,
): Uint8Array {
  const [declared, body] = declaredLength(data, start, end);
  const limit = Math.min(MAX_DECOMPRESSED_BYTES, (end - start) * MAX_RATIO);
  if (declared > limit) {
    throw new Error(
      `snappy: block at byte ${start} declares ${declared} bytes, more than ${
        end - start
      } bytes can hold`,
    );
  }
  const { exports } = wasm!;
  const input = wasm!.reserve(end - body + declared);
  const output = input + (end - body);
  const memory = wasm!.bytes();
  memory.set(data.subarray(body, end), input);
  const result = exports.snappy_decompress(input, end - body, output, declared);
  if (result < 0) {
    throw new Error(
      `snappy: block at byte ${start} is corrupt: ${
        DECOMPRESS_ERRORS[-result - 1]
      }`,
    );
  }
  return memory.slice(output, output + declared);
}

/** What `snappy_decompress`'s error codes -1 to -4 mean. */
const DECOMPRESS_ERRORS = [
  "it ends inside an element",
  "an element runs past its declared length",
  "a copy reaches before the start of the output",
  "its elements end before its declared length",
];

/**
 * The uncompressed length a raw block starts with, as a varint of up to 5
 * bytes, and where the block's elements start after it.
 */
function declaredLength(
  data: Uint8Array,
  start: number,
  end: number,
): [length: number, body: number] {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    if (start + i >= end) {
      throw new Error(`snappy: block at byte ${start} ends inside its length`);
    }
    const byte = data[start + i];
    value += (byte & 0x7f) * 2 ** (7 * i);
    if (byte < 0x80) return [value, start + i + 1];
  }
  throw new Error(`snappy: block at byte ${start} has an invalid length`);
}

/** Codec id 2: snappy, usable once `loadSnappy` has resolved. */
const snappy: Codec = { id: 2, name: "snappy", compress, decompress };
