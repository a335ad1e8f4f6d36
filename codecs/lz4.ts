/**
 * LZ4 in the frame format Kafka uses (lz4/lz4 doc/lz4_Frame_format.md): the
 * magic `04 22 4D 18`, a descriptor with its checksum, blocks each prefixed
 * by a 32-bit little-endian size whose high bit marks a stored (uncompressed)
 * block, a zero end mark and an optional content checksum.
 *
 * The frames are ours. Their blocks are compressed by our LZ4 in WebAssembly
 * (`codecs/wasm/lz4.rs`, see `_wasm.ts`), which compressed the Writer's
 * batches 1.8 to 2.3 times as fast as our TypeScript encoder
 * (`_lz4_block.ts`) and 1.15 to 1.55 times as fast as lz4-wasm 0.9.2, which
 * it replaced. The TypeScript encoder writes the frames the WASM does not
 * (blocks over 64 KiB, block checksums) and takes over if WebAssembly cannot
 * run. The WASM decodes independent blocks too; the TypeScript decoder
 * decodes linked ones, and a block the WASM refuses, to name what is wrong
 * with it. The frame and every size it declares are checked here, in
 * TypeScript, before a block reaches either decoder.
 *
 * @module
 */

import type { Codec } from "./mod.ts";
import {
  appendBytes,
  blockBound,
  decodeBlock,
  encodeBlock,
  hashTable,
  type Output,
} from "./_lz4_block.ts";
import {
  type CodecsWasm,
  codecsWasm,
  compressInPieces,
  PIECE_BYTES,
} from "./_wasm.ts";
import { MAX_DECOMPRESSED_BYTES } from "./_shared.ts";
import { xxhash32 } from "./_xxhash32.ts";

const MAGIC = 0x184d2204;
const STORED_BIT = 0x80000000;
/** Block maximum sizes for the descriptor's ids 4 to 7. */
const BLOCK_SIZES = [64 << 10, 256 << 10, 1 << 20, 4 << 20] as const;
/** One byte of output per input byte and a 255-byte run per length byte at most. */
const MAX_RATIO = 255;

const FLG_VERSION = 0x40;
const FLG_INDEPENDENT = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_DICT_ID = 0x01;

/** How to write a frame; the defaults are what Kafka's Java client writes. */
export interface FrameOptions {
  /** Input bytes per block: 64 KiB (default), 256 KiB, 1 MiB or 4 MiB. */
  blockSize?: (typeof BLOCK_SIZES)[number];
  /** Follow each block with the xxHash32 of its stored bytes. */
  blockChecksum?: boolean;
  /** Record the uncompressed size in the descriptor. */
  contentSize?: boolean;
  /** End with the xxHash32 of the uncompressed data. */
  contentChecksum?: boolean;
}

/**
 * Which code compresses or decodes a frame's blocks: `"wasm"`
 * (`codecs/wasm/lz4.rs`) or `"typescript"` (`_lz4_block.ts`).
 */
export type Lz4Engine = "wasm" | "typescript";

/** Whether the WASM compressor passed its check; undefined until tried. */
let wasmChecked: boolean | undefined;

/** The WASM, made and checked on first use; null if it cannot run here. */
function wasmInstance(): CodecsWasm | null {
  const wasm = codecsWasm();
  if (wasm && wasmChecked === undefined) {
    try {
      wasmChecked = checkBlocks(wasm);
    } catch {
      wasmChecked = false;
    }
  }
  return wasm && wasmChecked ? wasm : null;
}

/**
 * Returns the codec, its WASM compressor made (or the TypeScript encoder
 * chosen if WebAssembly cannot run here).
 */
export function loadLz4(): Promise<Codec> {
  wasmInstance();
  return Promise.resolve(lz4);
}

/**
 * Whether `wasm` makes frames that decode to their input (a sample), by the
 * TypeScript decoder and by its own.
 */
function checkBlocks(wasm: CodecsWasm): boolean {
  const sample = new TextEncoder().encode(
    '{"id":1,"name":"lz4","tags":["a","b"]}'.repeat(40) + "tail",
  );
  const frame = wasmFrame(sample, {}, wasm);
  return [decodeFrame(frame, null), decodeFrame(frame, wasm)].every((back) =>
    back.length === sample.length &&
    back.every((byte, i) => byte === sample[i])
  );
}

/**
 * Compresses `data` into one LZ4 frame of independent blocks. The blocks are
 * compressed by `encoder`: by default the WASM where it runs and the frame
 * has 64 KiB blocks without block checksums (the frames Kafka writes), else
 * TypeScript. Asking for `"wasm"` where it cannot run, or for a frame it
 * does not write, throws an Error.
 */
export function compressFrame(
  data: Uint8Array,
  options: FrameOptions = {},
  encoder?: Lz4Engine,
): Uint8Array {
  const blockSize = options.blockSize ?? BLOCK_SIZES[0];
  const sizeId = BLOCK_SIZES.indexOf(blockSize);
  if (sizeId < 0) {
    throw new RangeError(
      `Cannot write LZ4 frame: "blockSize" must be one of ${
        BLOCK_SIZES.join(", ")
      }, got ${blockSize}`,
    );
  }
  const wasmWrites = sizeId === 0 && !options.blockChecksum;
  if (encoder === "wasm") {
    const instance = wasmInstance();
    if (!instance || !wasmWrites) {
      throw new Error(
        instance
          ? "Cannot write LZ4 frame with the WASM encoder: it writes 64 KiB blocks without block checksums only"
          : "Cannot write LZ4 frame with the WASM encoder: WebAssembly cannot run it here",
      );
    }
    return wasmFrame(data, options, instance);
  }
  if (encoder === undefined && wasmWrites) {
    const instance = wasmInstance();
    if (instance) return wasmFrame(data, options, instance);
  }
  const blocks = Math.ceil(data.length / blockSize);
  const perBlock = 4 + (options.blockChecksum ? 4 : 0) + 16;
  const dst = new Uint8Array(23 + blocks * perBlock + blockBound(data.length));
  let out = writeHeader(dst, options, sizeId, data.length);
  const table = hashTable(Math.min(data.length, blockSize));
  for (let start = 0; start < data.length; start += blockSize) {
    const end = Math.min(start + blockSize, data.length);
    const sizeAt = out;
    out = encodeBlock(data, start, end, dst, out + 4, table);
    let stored = out - sizeAt - 4;
    // Like Kafka's writer, store a block that compression does not shrink.
    if (stored >= end - start) {
      stored = end - start;
      dst.set(data.subarray(start, end), sizeAt + 4);
      out = sizeAt + 4 + stored;
      write32(dst, sizeAt, stored | STORED_BIT);
    } else {
      write32(dst, sizeAt, stored);
    }
    if (options.blockChecksum) {
      out = write32(dst, out, xxhash32(dst, 0, sizeAt + 4, out));
    }
  }
  out = write32(dst, out, 0);
  if (options.contentChecksum) out = write32(dst, out, xxhash32(data));
  return dst.subarray(0, out);
}

/**
 * The frame of 64 KiB blocks that the WASM compresses (each block's size
 * first, as in the frame). The frame takes exactly its size, and the blocks
 * are copied once, from the WASM's memory into the frame.
 */
function wasmFrame(
  data: Uint8Array,
  options: FrameOptions,
  wasm: CodecsWasm,
): Uint8Array {
  const { exports } = wasm;
  const blockSize = BLOCK_SIZES[0];
  const { out: dst, end } = compressInPieces(
    wasm,
    data,
    exports.lz4_bound(PIECE_BYTES, blockSize),
    options.contentSize ? 15 : 7,
    4 + (options.contentChecksum ? 4 : 0),
    (input, length, output) =>
      exports.lz4_compress_blocks(input, length, blockSize, output),
  );
  writeHeader(dst, options, 0, data.length);
  const out = write32(dst, end, 0);
  if (options.contentChecksum) write32(dst, out, xxhash32(data));
  return dst;
}

function writeHeader(
  dst: Uint8Array,
  options: FrameOptions,
  sizeId: number,
  contentSize: number,
): number {
  let flags = FLG_VERSION | FLG_INDEPENDENT;
  if (options.blockChecksum) flags |= FLG_BLOCK_CHECKSUM;
  if (options.contentSize) flags |= FLG_CONTENT_SIZE;
  if (options.contentChecksum) flags |= FLG_CONTENT_CHECKSUM;
  let out = write32(dst, 0, MAGIC);
  dst[out++] = flags;
  dst[out++] = (sizeId + 4) << 4;
  if (options.contentSize) {
    out = write32(dst, out, contentSize % 2 ** 32);
    out = write32(dst, out, Math.floor(contentSize / 2 ** 32));
  }
  dst[out] = (xxhash32(dst, 0, 4, out) >>> 8) & 0xff;
  return out + 1;
}

interface FrameHeader {
  flags: number;
  blockMax: number;
  contentSize: number | undefined;
  /** Where the first block starts. */
  end: number;
}

/**
 * Decompresses one LZ4 frame: with or without block and content checksums,
 * any block size, independent or linked blocks, with or without the content
 * size. Its blocks are decoded by `decoder`: by default the WASM where it
 * runs (the TypeScript decoder for linked blocks and for the details of a
 * bad block), else TypeScript.
 */
export function decompressFrame(
  data: Uint8Array,
  decoder?: Lz4Engine,
): Uint8Array {
  const wasm = decoder === "typescript" ? null : wasmInstance();
  if (decoder === "wasm" && !wasm) {
    throw new Error(
      "Cannot read LZ4 frame with the WASM decoder: WebAssembly cannot run it here",
    );
  }
  return decodeFrame(data, wasm);
}

/** Decodes a frame, its independent blocks by `wasm` where given. */
function decodeFrame(data: Uint8Array, wasm: CodecsWasm | null): Uint8Array {
  const header = readHeader(data);
  const limit = Math.min(MAX_DECOMPRESSED_BYTES, data.length * MAX_RATIO);
  if (header.contentSize !== undefined && header.contentSize > limit) {
    throw new Error(
      `lz4: frame declares ${header.contentSize} bytes of content, more than its ${data.length} bytes can hold`,
    );
  }
  const initial = header.contentSize ?? Math.min(limit, data.length * 4 + 1024);
  const output: Output = { buf: new Uint8Array(initial), length: 0, limit };
  const pos = readBlocks(data, header, output, wasm);
  const content = output.buf.subarray(0, output.length);
  const end = checkContent(data, pos, header, content);
  if (end !== data.length) {
    throw new Error(
      `lz4: ${
        data.length - end
      } unexpected bytes after the frame at byte ${end}`,
    );
  }
  return content;
}

function readHeader(data: Uint8Array): FrameHeader {
  if (data.length < 7) {
    throw new Error(`lz4: frame of ${data.length} bytes is too short`);
  }
  if (read32(data, 0) !== MAGIC) {
    throw new Error(
      `lz4: not an LZ4 frame (magic ${hex(data.subarray(0, 4))})`,
    );
  }
  const flags = data[4];
  const descriptor = data[5];
  if ((flags & 0xc0) !== FLG_VERSION) {
    throw new Error(`lz4: unsupported frame version ${flags >>> 6}`);
  }
  if (flags & FLG_DICT_ID) {
    throw new Error("lz4: frames with a dictionary are not supported");
  }
  const sizeId = (descriptor >>> 4) & 7;
  if ((flags & 0x02) || (descriptor & 0x8f) || sizeId < 4) {
    throw new Error(
      `lz4: invalid frame descriptor ${hex(data.subarray(4, 6))}`,
    );
  }
  let end = 6;
  let contentSize: number | undefined;
  if (flags & FLG_CONTENT_SIZE) {
    if (data.length < 15) {
      throw new Error(`lz4: frame of ${data.length} bytes is too short`);
    }
    contentSize = read32(data, 6) + read32(data, 10) * 2 ** 32;
    end = 14;
  }
  checkHeaderChecksum(data, end);
  return {
    flags,
    blockMax: BLOCK_SIZES[sizeId - 4],
    contentSize,
    end: end + 1,
  };
}

/**
 * Kafka before 0.10 (magic 0 messages) hashed the magic number too, and
 * readers such as librdkafka accept that form, so this does as well.
 */
function checkHeaderChecksum(data: Uint8Array, end: number): void {
  const stored = data[end];
  if (stored === ((xxhash32(data, 0, 4, end) >>> 8) & 0xff)) return;
  if (stored === ((xxhash32(data, 0, 0, end) >>> 8) & 0xff)) return;
  throw new Error(`lz4: frame descriptor checksum mismatch at byte ${end}`);
}

/** Decodes the blocks up to the end mark and returns where the end mark ends. */
function readBlocks(
  data: Uint8Array,
  header: FrameHeader,
  output: Output,
  wasm: CodecsWasm | null,
): number {
  const checksumBytes = header.flags & FLG_BLOCK_CHECKSUM ? 4 : 0;
  const independent = (header.flags & FLG_INDEPENDENT) !== 0;
  let pos = header.end;
  for (;;) {
    if (data.length - pos < 4) {
      throw new Error(
        `lz4: frame ends at byte ${data.length} before its end mark`,
      );
    }
    const blockAt = pos;
    const word = read32(data, pos);
    pos += 4;
    if (word === 0) return pos;
    const size = word & ~STORED_BIT;
    if (size > header.blockMax) {
      throw new Error(
        `lz4: block at byte ${blockAt} has ${size} bytes, more than the frame's maximum of ${header.blockMax}`,
      );
    }
    const end = pos + size;
    if (end + checksumBytes > data.length) {
      throw new Error(`lz4: block at byte ${blockAt} overruns the frame`);
    }
    if (checksumBytes && xxhash32(data, 0, pos, end) !== read32(data, end)) {
      throw new Error(`lz4: block at byte ${blockAt} fails its checksum`);
    }
    const start = output.length;
    if (word & STORED_BIT) {
      appendBytes(output, data, pos, end);
    } else if (
      !wasm || !independent || !wasmBlock(wasm, data, pos, end, header, output)
    ) {
      // Linked blocks, a block the WASM refused (this decoder then names
      // what is wrong with it), or no WebAssembly.
      decodeBlock(data, pos, end, output, independent ? start : 0);
      if (output.length - start > header.blockMax) {
        throw new Error(
          `lz4: block at byte ${blockAt} decompresses to more than the frame's maximum of ${header.blockMax} bytes`,
        );
      }
    }
    pos = end + checksumBytes;
  }
}

/**
 * Decodes the independent block `data[pos, end)` with the WASM onto the end
 * of `output`, and returns whether it could; false leaves `output` as it
 * was.
 */
function wasmBlock(
  wasm: CodecsWasm,
  data: Uint8Array,
  pos: number,
  end: number,
  header: FrameHeader,
  output: Output,
): boolean {
  const input = wasm.reserve(end - pos + header.blockMax);
  const at = input + (end - pos);
  const memory = wasm.bytes();
  memory.set(data.subarray(pos, end), input);
  const length = wasm.exports.lz4_decompress_block(
    input,
    end - pos,
    at,
    header.blockMax,
  );
  if (length < 0) return false;
  appendBytes(output, memory, at, at + length);
  return true;
}

/** Checks the content checksum and size; returns where the frame ends. */
function checkContent(
  data: Uint8Array,
  pos: number,
  header: FrameHeader,
  content: Uint8Array,
): number {
  if (
    header.contentSize !== undefined && header.contentSize !== content.length
  ) {
    throw new Error(
      `lz4: frame declares ${header.contentSize} bytes of content but holds ${content.length}`,
    );
  }
  if (!(header.flags & FLG_CONTENT_CHECKSUM)) return pos;
  if (data.length - pos < 4) {
    throw new Error(
      `lz4: frame ends at byte ${data.length} inside its content checksum`,
    );
  }
  if (xxhash32(content) !== read32(data, pos)) {
    throw new Error(`lz4: content checksum mismatch at byte ${pos}`);
  }
  return pos + 4;
}

function read32(data: Uint8Array, pos: number): number {
  return (data[pos] | (data[pos + 1] << 8) | (data[pos + 2] << 16) |
    (data[pos + 3] << 24)) >>> 0;
}

function write32(dst: Uint8Array, pos: number, value: number): number {
  dst[pos] = value;
  dst[pos + 1] = value >>> 8;
  dst[pos + 2] = value >>> 16;
  dst[pos + 3] = value >>> 24;
  return pos + 4;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

/** Codec id 3: LZ4 frames as Kafka writes them (64 KiB independent blocks, no checksums). */
export const lz4: Codec = {
  id: 3,
  name: "lz4",
  compress: (data) => compressFrame(data),
  decompress: decompressFrame,
};
