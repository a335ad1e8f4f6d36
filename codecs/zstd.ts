/**
 * Zstandard through `node:zlib` (Deno 2.9, Bun 1.4 and Node 22.15 have
 * `zstdCompressSync` and `zstdDecompressSync`), with fzstd (pure JavaScript)
 * as the decoder for runtimes that lack zstd in `node:zlib`.
 *
 * fzstd is only the fallback because fuzzing found inputs on which it never
 * returns, in both runtimes (see codecs/README.md); libzstd is hardened
 * against that and decodes about four times faster.
 *
 * Both decoders allocate what a frame header declares (the content size, or
 * else the window size, which may claim gigabytes) before they read a block.
 * So the frames are walked first (RFC 8878, section 3.1): every declared size
 * is checked against what the frame's blocks can hold, and a window larger
 * than that is lowered in a copy of the header, which a decoder cannot tell
 * apart from a frame written with the smaller window.
 *
 * @module
 */

import * as zlib from "node:zlib";
import type { Codec } from "./mod.ts";
import { codecError, MAX_DECOMPRESSED_BYTES, plainBytes } from "./_shared.ts";

const FRAME_MAGIC = 0xfd2fb528;
/** Skippable frames use the 16 magic numbers 0x184D2A50 to 0x184D2A5F. */
const SKIPPABLE_MAGIC = 0x184d2a50;
const MAX_BLOCK_SIZE = 128 * 1024;
const BLOCK_RLE = 1;
const BLOCK_COMPRESSED = 2;
const DICT_ID_BYTES = [0, 1, 2, 4];

type Transform = (
  data: Uint8Array,
  options?: { maxOutputLength?: number; params?: Record<number, number> },
) => Uint8Array;
const native = zlib as {
  zstdCompressSync?: Transform;
  zstdDecompressSync?: Transform;
};

/**
 * Returns the codec, importing fzstd only where it decodes: when the runtime
 * has no zstd in `node:zlib`, or when `useFzstd` asks for it.
 */
export async function loadZstd(
  useFzstd = !native.zstdDecompressSync,
): Promise<Codec> {
  let decode: Transform;
  if (useFzstd) {
    const fzstd = await import("fzstd");
    decode = (data) => fzstd.decompress(data);
  } else {
    decode = native.zstdDecompressSync!;
  }
  return {
    id: 4,
    name: "zstd",
    compress,
    decompress: (data) => decompress(data, decode),
  };
}

/** `ZSTD_c_compressionLevel`, the parameter `node:zlib` takes a level by. */
const LEVEL_PARAMETER =
  (zlib.constants as Record<string, number>).ZSTD_c_compressionLevel ?? 100;

function compress(data: Uint8Array, level?: number): Uint8Array {
  if (!native.zstdCompressSync) {
    throw new Error(
      "zstd: this runtime's node:zlib has no zstdCompressSync (Deno 2.9+, Bun 1.4+ and Node.js 22.15+ do), so it can read zstd batches but not write them",
    );
  }
  return plainBytes(
    level === undefined
      ? native.zstdCompressSync(data)
      : native.zstdCompressSync(data, {
        params: { [LEVEL_PARAMETER]: level },
      }),
  );
}

function decompress(data: Uint8Array, decode: Transform): Uint8Array {
  // One frame at a time: Deno's decoder stops after the first frame.
  const parts = checkFrames(data).map(({ bytes, bound }) => {
    try {
      return decode(bytes, { maxOutputLength: Math.max(bound, 1) });
    } catch (error) {
      throw codecError("zstd", error);
    }
  });
  return parts.length === 1 ? plainBytes(parts[0]) : concat(parts);
}

interface Frame {
  start: number;
  end: number;
  skippable: boolean;
  /** The most bytes the frame's blocks can decompress to. */
  bound: number;
  /** Where the window descriptor is, or -1 if the frame has none. */
  windowAt: number;
  windowSize: number;
  contentSize: number | undefined;
}

/** A frame ready for a decoder, and the most bytes it can decompress to. */
export interface CheckedFrame {
  bytes: Uint8Array;
  bound: number;
}

/**
 * Walks every frame and returns those that hold data: views of the input,
 * or copies whose oversized windows are lowered to what the blocks can
 * produce. Exported for the tests.
 */
export function checkFrames(data: Uint8Array): CheckedFrame[] {
  if (data.length === 0) throw new Error("zstd: no frame in 0 bytes");
  const frames: CheckedFrame[] = [];
  let total = 0;
  for (let pos = 0; pos < data.length;) {
    const frame = readFrame(data, pos);
    total += frame.bound;
    if (total > MAX_DECOMPRESSED_BYTES) {
      throw new Error(
        `zstd: data may decompress to more than ${MAX_DECOMPRESSED_BYTES} bytes`,
      );
    }
    if (!frame.skippable) {
      frames.push({ bytes: lowerWindow(data, frame), bound: frame.bound });
    }
    pos = frame.end;
  }
  return frames;
}

/** Without a content size, decoders allocate the whole window up front. */
function lowerWindow(data: Uint8Array, frame: Frame): Uint8Array {
  const bytes = data.subarray(frame.start, frame.end);
  if (frame.windowAt < 0 || frame.contentSize) return bytes;
  const descriptor = windowDescriptorFor(frame.bound);
  if (windowSizeOf(descriptor) >= frame.windowSize) return bytes;
  const lowered = bytes.slice();
  lowered[frame.windowAt - frame.start] = descriptor;
  return lowered;
}

function readFrame(data: Uint8Array, start: number): Frame {
  if (data.length - start < 4) {
    throw new Error(`zstd: frame at byte ${start} is truncated`);
  }
  const magic = read32(data, start);
  if ((magic & 0xfffffff0) >>> 0 === SKIPPABLE_MAGIC) {
    return skipFrame(data, start);
  }
  if (magic !== FRAME_MAGIC) {
    throw new Error(
      `zstd: no zstd frame at byte ${start} (magic ${magic.toString(16)})`,
    );
  }
  const descriptor = data[start + 4];
  if (descriptor & 0x08) {
    throw new Error(`zstd: frame at byte ${start} sets a reserved bit`);
  }
  const single = (descriptor >>> 5) & 1;
  const dictBytes = DICT_ID_BYTES[descriptor & 3];
  const sizeBytes = descriptor >>> 6 ? 1 << (descriptor >>> 6) : single;
  let pos = start + 5;
  const blocksAt = pos + (single ? 0 : 1) + dictBytes + sizeBytes;
  if (blocksAt > data.length) {
    throw new Error(`zstd: frame header at byte ${start} is truncated`);
  }
  const windowAt = single ? -1 : pos++;
  if (dictBytes && readLittleEndian(data, pos, dictBytes) !== 0) {
    throw new Error(
      `zstd: frame at byte ${start} needs a dictionary, which is not supported`,
    );
  }
  pos += dictBytes;
  const contentSize = sizeBytes
    ? readContentSize(data, pos, sizeBytes)
    : undefined;
  const windowSize = single ? contentSize! : windowSizeOf(data[windowAt]);
  const blocks = readBlocks(
    data,
    blocksAt,
    Math.min(windowSize, MAX_BLOCK_SIZE),
  );
  let end = blocks.end;
  if (descriptor & 0x04) {
    end += 4;
    if (end > data.length) {
      throw new Error(`zstd: frame at byte ${start} ends inside its checksum`);
    }
  }
  if (contentSize !== undefined && contentSize > blocks.bound) {
    throw new Error(
      `zstd: frame at byte ${start} declares ${contentSize} bytes of content, more than its blocks can hold (${blocks.bound})`,
    );
  }
  return {
    start,
    end,
    skippable: false,
    bound: blocks.bound,
    windowAt,
    windowSize,
    contentSize,
  };
}

function skipFrame(data: Uint8Array, start: number): Frame {
  if (data.length - start < 8) {
    throw new Error(`zstd: frame at byte ${start} is truncated`);
  }
  const end = start + 8 + read32(data, start + 4);
  if (end > data.length) {
    throw new Error(`zstd: skippable frame at byte ${start} overruns the data`);
  }
  return {
    start,
    end,
    skippable: true,
    bound: 0,
    windowAt: -1,
    windowSize: 0,
    contentSize: undefined,
  };
}

/** Walks the block headers: raw and RLE blocks state their size, compressed ones hold a block at most. */
function readBlocks(
  data: Uint8Array,
  pos: number,
  blockMax: number,
): { end: number; bound: number } {
  let bound = 0;
  for (;;) {
    if (data.length - pos < 3) {
      throw new Error(`zstd: block at byte ${pos} is truncated`);
    }
    const header = data[pos] | (data[pos + 1] << 8) | (data[pos + 2] << 16);
    const type = (header >>> 1) & 3;
    const size = header >>> 3;
    if (type > BLOCK_COMPRESSED) {
      throw new Error(`zstd: block at byte ${pos} has the reserved block type`);
    }
    if (size > blockMax) {
      throw new Error(
        `zstd: block at byte ${pos} has ${size} bytes, more than the frame's maximum of ${blockMax}`,
      );
    }
    const stored = type === BLOCK_RLE ? 1 : size;
    if (stored > data.length - pos - 3) {
      throw new Error(`zstd: block at byte ${pos} overruns the data`);
    }
    bound += type === BLOCK_COMPRESSED ? blockMax : size;
    pos += 3 + stored;
    if (header & 1) return { end: pos, bound };
  }
}

function readContentSize(data: Uint8Array, pos: number, bytes: number): number {
  const value = readLittleEndian(data, pos, bytes);
  // The 2-byte form stores the size minus 256.
  return bytes === 2 ? value + 256 : value;
}

/** An unsigned little-endian number of up to 8 bytes (exact up to 2^53). */
function readLittleEndian(
  data: Uint8Array,
  pos: number,
  bytes: number,
): number {
  let value = 0;
  for (let i = bytes - 1; i >= 0; i--) value = value * 256 + data[pos + i];
  return value;
}

/** A window descriptor: an exponent (10 to 41) and eighths of it to add. */
function windowSizeOf(descriptor: number): number {
  const base = 2 ** (10 + (descriptor >>> 3));
  return base + (base / 8) * (descriptor & 7);
}

/** The descriptor of the smallest power-of-two window that holds `size` bytes. */
function windowDescriptorFor(size: number): number {
  const log = Math.max(10, Math.ceil(Math.log2(Math.max(size, 1))));
  return (log - 10) << 3;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let pos = 0;
  for (const part of parts) {
    out.set(part, pos);
    pos += part.length;
  }
  return out;
}

function read32(data: Uint8Array, pos: number): number {
  return (data[pos] | (data[pos + 1] << 8) | (data[pos + 2] << 16) |
    (data[pos + 3] << 24)) >>> 0;
}
