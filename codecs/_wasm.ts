/**
 * The codecs' WebAssembly (`codecs/wasm/*.rs`: LZ4 blocks and snappy raw
 * blocks, both ways, and gzip compression), embedded in `_wasm_bytes.ts` by
 * `deno task wasm`. It is compiled on first use, synchronously, and once per
 * thread: the module is about 21 KB, it imports nothing, and it needs no file
 * or network access (so no permission in Deno).
 *
 * Its memory holds one input and its output at a time, from `reserve`'s
 * offset on; every call is synchronous, so `lz4.ts`, `snappy.ts` and
 * `gzip.ts` share that place.
 *
 * @module
 */

import { WASM_BASE64 } from "./_wasm_bytes.ts";

/** What `codecs/wasm/lib.rs` exports. */
interface Exports {
  memory: WebAssembly.Memory;
  reserve(bytes: number): number;
  lz4_bound(length: number, blockSize: number): number;
  lz4_compress_blocks(
    src: number,
    length: number,
    blockSize: number,
    dst: number,
  ): number;
  lz4_decompress_block(
    src: number,
    length: number,
    dst: number,
    capacity: number,
  ): number;
  gzip_bound(length: number): number;
  gzip_compress(src: number, length: number, dst: number): number;
  snappy_bound(length: number, chunkSize: number): number;
  snappy_compress_chunks(
    src: number,
    length: number,
    chunkSize: number,
    dst: number,
  ): number;
  snappy_decompress(
    src: number,
    length: number,
    dst: number,
    expected: number,
  ): number;
}

/** The instance, with a view of its memory kept current. */
export interface CodecsWasm {
  /** The module's functions. */
  readonly exports: Exports;
  /**
   * Makes the memory hold `bytes` bytes from the working place on, and
   * returns that place; throws if the memory cannot grow that far.
   */
  reserve(bytes: number): number;
  /** The memory as bytes (a new view after the memory grew). */
  bytes(): Uint8Array;
}

/** The most a 32-bit WebAssembly memory can hold. */
const MAX_BYTES = 2 ** 32;

/** The instance once made; null if WebAssembly could not make it. */
let instance: CodecsWasm | null | undefined;
/** Why it could not, for the error of a codec that needs it. */
let failure: unknown;

/** The instance, made on first use; null if WebAssembly cannot run here. */
export function codecsWasm(): CodecsWasm | null {
  if (instance === undefined) instance = instantiate();
  return instance;
}

/** Why `codecsWasm()` returned null. */
export function wasmFailure(): unknown {
  return failure;
}

function instantiate(): CodecsWasm | null {
  try {
    const binary = atob(WASM_BASE64);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), {})
      .exports as unknown as Exports;
    let view = new Uint8Array(exports.memory.buffer);
    return {
      exports,
      reserve(size: number): number {
        // A 32-bit memory: larger sizes would wrap around in the call.
        const at = size < MAX_BYTES ? exports.reserve(size) : 0;
        if (at === 0) {
          throw new RangeError(
            `WebAssembly memory cannot grow to hold ${size} bytes`,
          );
        }
        return at;
      },
      bytes(): Uint8Array {
        // A grown memory detaches the old buffer (its length becomes 0).
        if (view.buffer !== exports.memory.buffer) {
          view = new Uint8Array(exports.memory.buffer);
        }
        return view;
      },
    };
  } catch (error) {
    failure = error;
    return null;
  }
}

/** Input bytes per call into the WASM when compressing: 1 MiB. */
export const PIECE_BYTES = 1 << 20;

/**
 * Writes what `compress` makes of `data` into a new array after `head` bytes
 * and before `tail` bytes, which the caller fills. `compress(input, length,
 * output)` compresses `length` bytes at `input` in the memory to `output` and
 * returns how many bytes it wrote, at most `bound` for a piece of
 * `PIECE_BYTES`. The data goes in a piece at a time, so that the memory
 * holds at most one piece and its output; pieces split the data at
 * multiples of `PIECE_BYTES`, so each codec's chunks or blocks must divide it.
 * Returns the array and where the tail starts.
 */
export function compressInPieces(
  wasm: CodecsWasm,
  data: Uint8Array,
  bound: number,
  head: number,
  tail: number,
  compress: (input: number, length: number, output: number) => number,
): { out: Uint8Array; end: number } {
  const input = wasm.reserve(PIECE_BYTES + bound);
  const output = input + PIECE_BYTES;
  const memory = wasm.bytes();
  const earlier: Uint8Array[] = [];
  let length = 0;
  let last = 0;
  for (let start = 0; start < data.length; start += PIECE_BYTES) {
    const end = Math.min(start + PIECE_BYTES, data.length);
    memory.set(data.subarray(start, end), input);
    last = compress(input, end - start, output);
    length += last;
    // All but the last piece's output leave the memory before the next call.
    if (end < data.length) earlier.push(memory.slice(output, output + last));
  }
  const out = new Uint8Array(head + length + tail);
  let at = head;
  for (const part of earlier) {
    out.set(part, at);
    at += part.length;
  }
  out.set(memory.subarray(output, output + last), at);
  return { out, end: at + last };
}

/** One gzip member of `data`, by our deflate (`codecs/wasm/deflate.rs`). */
export function gzipByWasm(
  wasm: CodecsWasm,
  data: Uint8Array,
): Uint8Array {
  const { exports } = wasm;
  const input = wasm.reserve(data.length + exports.gzip_bound(data.length));
  const output = input + data.length;
  wasm.bytes().set(data, input);
  const length = exports.gzip_compress(input, data.length, output);
  return wasm.bytes().slice(output, output + length);
}
