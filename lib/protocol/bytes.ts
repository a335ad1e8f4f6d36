/**
 * Byte primitives named after Kafka's wire types.
 *
 * `ByteWriter` appends into one growing buffer and can back-fill a length or a
 * checksum once the bytes after it are known. `ByteReader` keeps a sticky
 * "ran out of bytes" flag instead of throwing from every read, so decoders stay
 * flat and check once with `complete()`.
 *
 * int64 values are JavaScript numbers: offsets, timestamps and producer ids fit
 * in 53 bits in practice, and numbers keep every hot path free of BigInt. Values
 * outside the safe range are clamped to Kafka's Long.MIN/MAX when written.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });
const TWO_32 = 4294967296;
const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/**
 * Raised for bytes that do not follow the protocol: corrupt or garbage data,
 * or a peer that does not speak Kafka.
 *
 * @example
 * ```ts
 * import { ProtocolError } from "jsr:@streamkafka/client";
 *
 * const error = new ProtocolError("Record batch CRC mismatch");
 * console.log(error.name); // ProtocolError
 * ```
 */
export class ProtocolError extends Error {
  /** An error with `message`, and `options.cause`. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProtocolError";
  }
}

/**
 * Raised when a frame is shorter than the fields it claims to hold.
 *
 * @example
 * ```ts
 * import {
 *   ByteReader,
 *   TruncatedError,
 * } from "jsr:@streamkafka/client/protocol";
 *
 * const r = new ByteReader(new Uint8Array([0, 0]));
 * r.int32();
 * try {
 *   r.complete("an int32");
 * } catch (error) {
 *   console.log(error instanceof TruncatedError); // true
 * }
 * ```
 */
export class TruncatedError extends ProtocolError {
  /** What was being decoded, and the position and length of its bytes. */
  constructor(what: string, position: number, length: number) {
    super(
      `Cannot decode ${what}: ran out of bytes at ${position} of ${length}`,
    );
    this.name = "TruncatedError";
  }
}

/**
 * An appending writer over one growing buffer, with a method per Kafka wire
 * type; numbers are big-endian.
 *
 * @example
 * ```ts
 * import { ByteReader, ByteWriter } from "jsr:@streamkafka/client/protocol";
 *
 * const w = new ByteWriter();
 * w.int16(3).compactString("topic").uvarint(300);
 * const r = new ByteReader(w.finish());
 * console.log(r.int16(), r.compactString(), r.uvarint()); // 3 topic 300
 * r.complete("example");
 * ```
 */
export class ByteWriter {
  /** The buffer written into; replaced by a larger one as it fills. */
  buf: Uint8Array;
  /** A DataView of `buf`. */
  view: DataView;
  /** Bytes written so far: where the next write goes. */
  pos = 0;
  /** Byte fields at least this long are kept by reference (`shareLarge`). */
  private shareFrom = Infinity;
  /** Output before `pieceStart`, in order: own bytes and shared arrays. */
  private shared: Uint8Array[] | null = null;
  private pieceStart = 0;

  /** Writes into `buffer` when it is given and holds `capacity` bytes. */
  constructor(capacity = 256, buffer?: Uint8Array) {
    this.buf = buffer !== undefined && buffer.length >= capacity
      ? buffer
      : new Uint8Array(capacity);
    this.view = new DataView(
      this.buf.buffer,
      this.buf.byteOffset,
      this.buf.byteLength,
    );
  }

  /**
   * From now on, byte fields of at least `min` bytes are not copied: the
   * output becomes a list of pieces (see `pieces`) that refer to them. A
   * Produce request sends its record batches so, instead of copying them.
   * Lengths must not be back-filled across a shared field.
   */
  shareLarge(min: number): this {
    this.shareFrom = min;
    return this;
  }

  /** The output as pieces to send in order (one piece unless shared). */
  pieces(): Uint8Array[] {
    const tail = this.buf.subarray(this.pieceStart, this.pos);
    if (this.shared === null) return [tail];
    return tail.length > 0 ? [...this.shared, tail] : [...this.shared];
  }

  /** Makes room for `n` more bytes; doubles so appends stay amortised O(1). */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    // Doubling keeps many small appends cheap; a large append (a record
    // batch into a request) gets its size plus slack instead of up to twice
    // its size, which would only become garbage.
    const size = Math.max(this.buf.length * 2, need + 4096);
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** The bytes written so far, as a view (no copy). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** INT8. */
  int8(v: number): this {
    this.ensure(1);
    this.view.setInt8(this.pos, v);
    this.pos += 1;
    return this;
  }

  /** BOOLEAN: one byte, 1 or 0. */
  bool(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }

  /** INT16. */
  int16(v: number): this {
    this.ensure(2);
    this.view.setInt16(this.pos, v);
    this.pos += 2;
    return this;
  }

  /** UINT16. */
  uint16(v: number): this {
    this.ensure(2);
    this.view.setUint16(this.pos, v);
    this.pos += 2;
    return this;
  }

  /** INT32. */
  int32(v: number): this {
    this.ensure(4);
    this.view.setInt32(this.pos, v);
    this.pos += 4;
    return this;
  }

  /** UINT32. */
  uint32(v: number): this {
    this.ensure(4);
    this.view.setUint32(this.pos, v);
    this.pos += 4;
    return this;
  }

  /** INT64 of a number, clamped to the int64 range; NaN throws a RangeError. */
  int64(v: number): this {
    this.ensure(8);
    if (Number.isSafeInteger(v)) {
      const hi = Math.floor(v / TWO_32);
      this.view.setInt32(this.pos, hi);
      this.view.setUint32(this.pos + 4, v - hi * TWO_32);
    } else {
      this.view.setBigInt64(this.pos, clampInt64(v));
    }
    this.pos += 8;
    return this;
  }

  /** FLOAT64. */
  float64(v: number): this {
    this.ensure(8);
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
    return this;
  }

  /** Unsigned LEB128 of a 32-bit value. */
  uvarint(v: number): this {
    this.ensure(5);
    let value = v >>> 0;
    const buf = this.buf;
    let pos = this.pos;
    while (value >= 0x80) {
      buf[pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buf[pos++] = value;
    this.pos = pos;
    return this;
  }

  /** Zigzag varint of a 32-bit signed value. */
  varint(v: number): this {
    return this.uvarint((v << 1) ^ (v >> 31));
  }

  /** Zigzag varlong: 64-bit signed, exact within the safe integer range. */
  varlong(v: number): this {
    if (v >= -0x40000000 && v < 0x40000000) return this.varint(v);
    this.ensure(10);
    let zigzag = v >= 0 ? v * 2 : -v * 2 - 1;
    const buf = this.buf;
    let pos = this.pos;
    while (zigzag >= 0x80) {
      buf[pos++] = (zigzag % 0x80) | 0x80;
      zigzag = Math.floor(zigzag / 0x80);
    }
    buf[pos++] = zigzag;
    this.pos = pos;
    return this;
  }

  /**
   * The bytes as they are, with no length; not copied when `shareLarge`
   * applies to them.
   */
  raw(bytes: Uint8Array): this {
    if (bytes.length >= this.shareFrom) {
      (this.shared ??= []).push(
        this.buf.subarray(this.pieceStart, this.pos),
        bytes,
      );
      this.pieceStart = this.pos;
      return this;
    }
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }

  /** UTF-8 text straight into the buffer, returning the byte count. */
  utf8(text: string): number {
    this.ensure(text.length * 3);
    const { written } = encoder.encodeInto(
      text,
      this.buf.subarray(this.pos),
    );
    this.pos += written;
    return written;
  }

  /** STRING / NULLABLE_STRING: int16 length (-1 for null), UTF-8 bytes. */
  string(v: string | null): this {
    if (v === null) return this.int16(-1);
    const start = this.pos;
    this.int16(0);
    const n = this.utf8(v);
    this.view.setInt16(start, n);
    return this;
  }

  /** COMPACT_STRING / COMPACT_NULLABLE_STRING: uvarint length+1 (0 for null). */
  compactString(v: string | null): this {
    if (v === null) return this.uvarint(0);
    const bytes = encoder.encode(v);
    this.uvarint(bytes.length + 1);
    return this.raw(bytes);
  }

  /** BYTES / NULLABLE_BYTES: int32 length (-1 for null). */
  bytes(v: Uint8Array | null): this {
    if (v === null) return this.int32(-1);
    this.int32(v.length);
    return this.raw(v);
  }

  /** COMPACT_BYTES / COMPACT_NULLABLE_BYTES: uvarint length+1 (0 for null). */
  compactBytes(v: Uint8Array | null): this {
    if (v === null) return this.uvarint(0);
    this.uvarint(v.length + 1);
    return this.raw(v);
  }

  /** UUID in Kafka's text form (URL-safe base64 of the 16 bytes, no padding). */
  uuid(v: string): this {
    const bytes = uuidBytes(v);
    return this.raw(bytes);
  }

  /** Array length: int32 (-1 for null) or, when compact, uvarint length+1. */
  arrayLength(length: number | null, compact: boolean): this {
    if (compact) return this.uvarint(length === null ? 0 : length + 1);
    return this.int32(length === null ? -1 : length);
  }

  /** Reserves an int32 to back-fill with `endLength`; returns its position. */
  startLength(): number {
    const at = this.pos;
    this.int32(0);
    return at;
  }

  /** Writes the byte count since `startLength` into the reserved int32. */
  endLength(at: number): void {
    this.view.setInt32(at, this.pos - at - 4);
  }
}

/**
 * A reader with a sticky out-of-bytes flag, checked once by `complete()`: a
 * read past the end returns a zero value and sets `short`, so decoders read
 * every field and check once at the end. Numbers are big-endian.
 *
 * @example
 * ```ts
 * import { ByteReader } from "jsr:@streamkafka/client/protocol";
 *
 * const r = new ByteReader(new Uint8Array([0, 7, 1]));
 * console.log(r.int16(), r.int16(), r.short); // 7 0 true
 * try {
 *   r.complete("example");
 * } catch (error) {
 *   console.log((error as Error).name); // TruncatedError
 * }
 * ```
 */
export class ByteReader {
  /** The bytes read from. */
  readonly buf: Uint8Array;
  /** A DataView of `buf`. */
  readonly view: DataView;
  /** Where the next read starts. */
  pos: number;
  /** Set when a read ran past the end; reads then return zero values. */
  short = false;
  private readonly end: number;

  /** Reads `buf` from `start` up to `end` (default: all of it). */
  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
    this.end = end;
  }

  /** Bytes left before the end. */
  get remaining(): number {
    return this.end - this.pos;
  }

  /** Throws `TruncatedError` if any read ran past the end. */
  complete(what: string): void {
    if (this.short) throw new TruncatedError(what, this.pos, this.end);
  }

  /** The position of the next `n` bytes, or -1 (and `short`) past the end. */
  private take(n: number): number {
    const at = this.pos;
    if (n > this.end - at || n < 0) {
      this.short = true;
      this.pos = this.end;
      return -1;
    }
    this.pos = at + n;
    return at;
  }

  /** INT8. */
  int8(): number {
    const at = this.take(1);
    return at < 0 ? 0 : this.view.getInt8(at);
  }

  /** BOOLEAN: any byte but 0 is true. */
  bool(): boolean {
    return this.int8() !== 0;
  }

  /** INT16. */
  int16(): number {
    const at = this.take(2);
    return at < 0 ? 0 : this.view.getInt16(at);
  }

  /** UINT16. */
  uint16(): number {
    const at = this.take(2);
    return at < 0 ? 0 : this.view.getUint16(at);
  }

  /** INT32. */
  int32(): number {
    const at = this.take(4);
    return at < 0 ? 0 : this.view.getInt32(at);
  }

  /** UINT32. */
  uint32(): number {
    const at = this.take(4);
    return at < 0 ? 0 : this.view.getUint32(at);
  }

  /** INT64 as a number: exact within the safe integer range. */
  int64(): number {
    const at = this.take(8);
    if (at < 0) return 0;
    return this.view.getInt32(at) * TWO_32 + this.view.getUint32(at + 4);
  }

  /** FLOAT64. */
  float64(): number {
    const at = this.take(8);
    return at < 0 ? 0 : this.view.getFloat64(at);
  }

  /** Unsigned LEB128 of a 32-bit value; more than 5 bytes counts as short. */
  uvarint(): number {
    const buf = this.buf;
    let pos = this.pos;
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (pos >= this.end) {
        this.short = true;
        this.pos = this.end;
        return 0;
      }
      const byte = buf[pos++];
      result |= (byte & 0x7f) << shift;
      if (byte < 0x80) {
        this.pos = pos;
        return result >>> 0;
      }
    }
    // More than five bytes cannot be a 32-bit varint: treat as corrupt.
    this.short = true;
    this.pos = this.end;
    return 0;
  }

  /** Zigzag varint of a 32-bit signed value. */
  varint(): number {
    const v = this.uvarint();
    return (v >>> 1) ^ -(v & 1);
  }

  /** Zigzag varlong: 64-bit signed, exact within the safe integer range. */
  varlong(): number {
    const buf = this.buf;
    let pos = this.pos;
    // Fast path: values that fit in 28 bits of zigzag, i.e. nearly all deltas.
    let low = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (pos >= this.end) return this.ranOut();
      const byte = buf[pos++];
      low |= (byte & 0x7f) << shift;
      if (byte < 0x80) {
        this.pos = pos;
        return (low >>> 1) ^ -(low & 1);
      }
    }
    let zigzag = low >>> 0;
    let scale = 0x10000000;
    for (let shift = 28; shift < 70; shift += 7) {
      if (pos >= this.end) return this.ranOut();
      const byte = buf[pos++];
      zigzag += (byte & 0x7f) * scale;
      scale *= 0x80;
      if (byte < 0x80) {
        this.pos = pos;
        const half = Math.floor(zigzag / 2);
        return zigzag % 2 === 0 ? half : -half - 1;
      }
    }
    return this.ranOut();
  }

  /** Marks the reader short and returns the zero value. */
  private ranOut(): number {
    this.short = true;
    this.pos = this.end;
    return 0;
  }

  /** A view of the next `n` bytes (no copy). */
  raw(n: number): Uint8Array {
    const at = this.take(n);
    return at < 0 ? new Uint8Array(0) : this.buf.subarray(at, at + n);
  }

  /** The next `n` bytes as UTF-8 text. */
  private text(n: number): string {
    const at = this.take(n);
    if (at < 0) return "";
    return decodeUtf8(this.buf, at, at + n);
  }

  /** STRING / NULLABLE_STRING: int16 length (-1 for null), UTF-8 bytes. */
  string(): string | null {
    const n = this.int16();
    if (n < 0) return null;
    return this.text(n);
  }

  /** COMPACT_STRING / COMPACT_NULLABLE_STRING: uvarint length+1, 0 for null. */
  compactString(): string | null {
    const n = this.uvarint();
    if (n === 0) return null;
    return this.text(n - 1);
  }

  /** BYTES / NULLABLE_BYTES: int32 length (-1 for null); a view, no copy. */
  bytes(): Uint8Array | null {
    const n = this.int32();
    if (n < 0) return null;
    return this.raw(n);
  }

  /**
   * COMPACT_BYTES / COMPACT_NULLABLE_BYTES: uvarint length+1 (0 for null);
   * a view, no copy.
   */
  compactBytes(): Uint8Array | null {
    const n = this.uvarint();
    if (n === 0) return null;
    return this.raw(n - 1);
  }

  /** UUID in Kafka's text form: URL-safe base64 of 16 bytes, no padding. */
  uuid(): string {
    const at = this.take(16);
    if (at < 0) return ZERO_UUID;
    return uuidString(this.buf.subarray(at, at + 16));
  }

  /** Array length (null for -1 / 0-when-compact), bounded by what is left. */
  arrayLength(compact: boolean): number | null {
    const n = compact ? this.uvarint() - 1 : this.int32();
    if (n < 0) return null;
    // Every element takes at least one byte: a larger count is a forged length.
    if (n > this.remaining) {
      this.short = true;
      this.pos = this.end;
      return 0;
    }
    return n;
  }

  /** Skips tagged fields this decoder does not know. */
  skip(n: number): void {
    this.take(n);
  }
}

/** Decodes UTF-8, with a loop for short ASCII strings (topic names, ids). */
export function decodeUtf8(
  buf: Uint8Array,
  start: number,
  end: number,
): string {
  if (end - start < 32) {
    let out = "";
    for (let i = start; i < end; i++) {
      const c = buf[i];
      if (c >= 0x80) return decoder.decode(buf.subarray(start, end));
      out += String.fromCharCode(c);
    }
    return out;
  }
  return decoder.decode(buf.subarray(start, end));
}

/** The all-zero UUID, Kafka's "no id". */
export const ZERO_UUID = "AAAAAAAAAAAAAAAAAAAAAA";

const BASE64URL =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const BASE64URL_INDEX = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE64URL.length; i++) {
  BASE64URL_INDEX[BASE64URL.charCodeAt(i)] = i;
}

/** 16 bytes to Kafka's UUID text (as Java's `Uuid.toString()`). */
export function uuidString(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 3 <= 16; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += BASE64URL[n >> 18] + BASE64URL[(n >> 12) & 63] +
      BASE64URL[(n >> 6) & 63] + BASE64URL[n & 63];
  }
  const last = bytes[15];
  out += BASE64URL[last >> 2] + BASE64URL[(last & 3) << 4];
  return out;
}

/** Kafka's UUID text to its 16 bytes. */
export function uuidBytes(text: string): Uint8Array {
  if (text.length !== 22) {
    throw new TypeError(
      `Cannot encode UUID: expected 22 base64url characters, got "${text}"`,
    );
  }
  const out = new Uint8Array(16);
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < 22; i++) {
    const code = text.charCodeAt(i);
    const v = code < 128 ? BASE64URL_INDEX[code] : -1;
    if (v < 0) {
      throw new TypeError(`Cannot encode UUID: invalid character in "${text}"`);
    }
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (o < 16) out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

function clampInt64(v: number): bigint {
  if (Number.isNaN(v)) {
    throw new RangeError(`Cannot encode int64: got NaN`);
  }
  if (v >= 9223372036854775807) return INT64_MAX;
  if (v <= -9223372036854775808) return INT64_MIN;
  return BigInt(Math.trunc(v));
}
