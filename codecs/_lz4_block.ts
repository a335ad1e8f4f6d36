/**
 * The LZ4 block format (a sequence of literal runs and back-references),
 * written from the LZ4 block format description
 * (github.com/lz4/lz4, doc/lz4_Block_format.md). The frame around the blocks
 * lives in `lz4.ts`.
 *
 * The decoder reads bytes from a broker, so every length and offset is checked
 * before it is used and the output grows only up to a limit the caller sets.
 *
 * @module
 */

/** The shortest match the format can express. */
const MIN_MATCH = 4;
/** The last 5 bytes of a block are always literals. */
const LAST_LITERALS = 5;
/** The last match must start at least 12 bytes before the end of the block. */
const MATCH_FIND_LIMIT = 12;
const MAX_OFFSET = 65535;
/** 2^13 entries: what the reference compressor uses for blocks of 64 KiB. */
const MAX_HASH_LOG = 13;
const MIN_HASH_LOG = 8;
/** After 2^6 misses in a row the search skips ahead faster, so incompressible data stays cheap. */
const SKIP_TRIGGER = 6;
/** Below this size a byte loop copies faster than `set` or `copyWithin`. */
const SHORT_COPY = 32;

/** The most bytes `encodeBlock` can write for `length` input bytes. */
export function blockBound(length: number): number {
  return length + Math.floor(length / 255) + 16;
}

const sharedTable = new Int32Array(1 << MAX_HASH_LOG);

/**
 * A cleared hash table for `encodeBlock`, sized for `length` bytes of input
 * so that small inputs clear less. It is shared (compression is synchronous),
 * so use it for one input at a time, across that input's blocks.
 */
export function hashTable(length: number): Int32Array {
  const log = Math.min(
    MAX_HASH_LOG,
    Math.max(MIN_HASH_LOG, 32 - Math.clz32(length)),
  );
  const table = sharedTable.subarray(0, 1 << log);
  table.fill(0);
  return table;
}

/**
 * Compresses `src[start, end)` into `dst` at `out` and returns the new end of
 * `dst`. `dst` must have `blockBound(end - start)` bytes free. Matches never
 * reach before `start`, so every block is independent. The table holds
 * positions seen earlier in `src`, plus one so that its initial zeros mean
 * "none"; each candidate is checked against the data, so one from an earlier
 * block costs a miss, never a wrong match.
 */
export function encodeBlock(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  out: number,
  table: Int32Array,
): number {
  let anchor = start;
  if (end - start > MATCH_FIND_LIMIT) {
    // DataView reads of 4 bytes ran about 20% faster than composing bytes, in V8 and JavaScriptCore.
    const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
    const shift = Math.clz32(table.length) + 1;
    const searchLimit = end - MATCH_FIND_LIMIT;
    const matchLimit = end - LAST_LITERALS;
    let pos = start;
    search: while (pos <= searchLimit) {
      let candidate = -1;
      let attempts = 1 << SKIP_TRIGGER;
      for (;;) {
        const sequence = view.getInt32(pos, true);
        const slot = hash(sequence, shift);
        candidate = table[slot] - 1;
        table[slot] = pos + 1;
        if (
          candidate >= start && pos - candidate <= MAX_OFFSET &&
          view.getInt32(candidate, true) === sequence
        ) break;
        pos += attempts++ >> SKIP_TRIGGER;
        if (pos > searchLimit) break search;
      }
      while (
        pos > anchor && candidate > start && src[pos - 1] === src[candidate - 1]
      ) {
        pos--;
        candidate--;
      }
      let length = MIN_MATCH;
      while (
        pos + length + 4 <= matchLimit &&
        view.getInt32(pos + length, true) ===
          view.getInt32(candidate + length, true)
      ) {
        length += 4;
      }
      while (
        pos + length < matchLimit &&
        src[pos + length] === src[candidate + length]
      ) {
        length++;
      }
      out = writeSequence(
        src,
        anchor,
        pos - anchor,
        pos - candidate,
        length,
        dst,
        out,
      );
      pos += length;
      anchor = pos;
      // Remember a position inside the match too, as the reference compressor
      // does: it finds the next match sooner on repetitive data.
      if (pos <= searchLimit) {
        table[hash(view.getInt32(pos - 2, true), shift)] = pos - 1;
      }
    }
  }
  return writeLastLiterals(src, anchor, end - anchor, dst, out);
}

function writeSequence(
  src: Uint8Array,
  from: number,
  literals: number,
  offset: number,
  matchLength: number,
  dst: Uint8Array,
  out: number,
): number {
  const tokenAt = out++;
  const extra = matchLength - MIN_MATCH;
  let token = (literals < 15 ? literals : 15) << 4;
  if (literals >= 15) out = writeLength(dst, out, literals - 15);
  out = copyBytes(src, from, literals, dst, out);
  dst[out++] = offset & 0xff;
  dst[out++] = offset >>> 8;
  token |= extra < 15 ? extra : 15;
  if (extra >= 15) out = writeLength(dst, out, extra - 15);
  dst[tokenAt] = token;
  return out;
}

function writeLastLiterals(
  src: Uint8Array,
  from: number,
  literals: number,
  dst: Uint8Array,
  out: number,
): number {
  dst[out++] = (literals < 15 ? literals : 15) << 4;
  if (literals >= 15) out = writeLength(dst, out, literals - 15);
  return copyBytes(src, from, literals, dst, out);
}

/** Lengths past 15 continue in bytes of 255 and a final byte below 255. */
function writeLength(dst: Uint8Array, out: number, rest: number): number {
  while (rest >= 255) {
    dst[out++] = 255;
    rest -= 255;
  }
  dst[out++] = rest;
  return out;
}

function copyBytes(
  src: Uint8Array,
  from: number,
  length: number,
  dst: Uint8Array,
  out: number,
): number {
  if (length < SHORT_COPY) {
    for (let i = 0; i < length; i++) dst[out + i] = src[from + i];
  } else {
    dst.set(src.subarray(from, from + length), out);
  }
  return out + length;
}

function hash(sequence: number, shift: number): number {
  return Math.imul(sequence, 2654435761) >>> shift;
}

/** Where `decodeBlock` writes: a buffer it may replace with a larger one. */
export interface Output {
  buf: Uint8Array;
  length: number;
  /** The size `buf` may grow to; more output is an error. */
  limit: number;
}

/**
 * Decodes the block `src[pos, end)` onto the end of `output`. Matches may
 * reach back to `windowStart` in the output (the block's own start for
 * independent blocks, earlier output for linked ones).
 */
export function decodeBlock(
  src: Uint8Array,
  pos: number,
  end: number,
  output: Output,
  windowStart: number,
): void {
  let dst = output.buf;
  let out = output.length;
  for (;;) {
    if (pos >= end) throw new Error(`lz4: block ends early at byte ${pos}`);
    const token = src[pos++];
    let literals = token >>> 4;
    if (literals === 15) {
      let byte = 255;
      while (byte === 255) {
        if (pos >= end) {
          throw new Error(`lz4: block ends inside a length at byte ${pos}`);
        }
        byte = src[pos++];
        literals += byte;
      }
    }
    if (literals > end - pos) {
      throw new Error(`lz4: literals at byte ${pos} overrun the block`);
    }
    if (literals > dst.length - out) {
      dst = grow(output, dst, out, literals);
    }
    if (literals < SHORT_COPY) {
      for (let i = 0; i < literals; i++) dst[out + i] = src[pos + i];
    } else {
      dst.set(src.subarray(pos, pos + literals), out);
    }
    pos += literals;
    out += literals;
    // Only the last sequence may stop after its literals.
    if (pos === end) break;
    if (end - pos < 2) {
      throw new Error(`lz4: block ends inside an offset at byte ${pos}`);
    }
    const offset = src[pos] | (src[pos + 1] << 8);
    if (offset === 0 || offset > out - windowStart) {
      throw new Error(
        `lz4: match at byte ${pos} points ${offset} bytes back, outside the output`,
      );
    }
    pos += 2;
    let length = (token & 15) + MIN_MATCH;
    if ((token & 15) === 15) {
      let byte = 255;
      while (byte === 255) {
        if (pos >= end) {
          throw new Error(`lz4: block ends inside a length at byte ${pos}`);
        }
        byte = src[pos++];
        length += byte;
      }
    }
    if (length > dst.length - out) dst = grow(output, dst, out, length);
    const from = out - offset;
    if (length < SHORT_COPY || offset < length) {
      // A byte at a time also repeats a short pattern when the match overlaps itself.
      for (let i = 0; i < length; i++) dst[out + i] = dst[from + i];
    } else {
      dst.copyWithin(out, from, from + length);
    }
    out += length;
  }
  output.buf = dst;
  output.length = out;
}

/** Appends the stored bytes `src[from, to)` to `output`. */
export function appendBytes(
  output: Output,
  src: Uint8Array,
  from: number,
  to: number,
): void {
  let dst = output.buf;
  if (to - from > dst.length - output.length) {
    dst = grow(output, dst, output.length, to - from);
  }
  dst.set(src.subarray(from, to), output.length);
  output.length += to - from;
}

/** Doubles the output (up to its limit) to fit `needed` more bytes after `used`. */
function grow(
  output: Output,
  dst: Uint8Array,
  used: number,
  needed: number,
): Uint8Array {
  if (needed > output.limit - used) {
    throw new Error(
      `lz4: data decompresses to more than ${output.limit} bytes`,
    );
  }
  const size = Math.min(output.limit, Math.max(dst.length * 2, used + needed));
  const bigger = new Uint8Array(size);
  bigger.set(dst.subarray(0, used));
  output.buf = bigger;
  return bigger;
}
