/**
 * The records of a fetched batch as a table: the batch is parsed once, when
 * it arrives, into typed arrays that say where each record's key, value and
 * headers lie; a record's parts are decoded by index only when asked for.
 * Parsing checks every record before any is handed out, so a corrupt batch
 * fails whole, never half-delivered.
 *
 * @module
 */

import { ByteReader, ProtocolError } from "./bytes.ts";
import type { RecordBatch } from "./record_batch.ts";
import type { Record, RecordHeader } from "./records.ts";

/** The records of one batch at or after the offset it was read from. */
export interface RecordTable {
  /** How many records the table holds. */
  readonly count: number;
  /** Their key and value bytes. */
  readonly payloadBytes: number;
  /** The offset of record `i`. */
  offset(i: number): number;
  /** The time of record `i`, in milliseconds since the epoch. */
  timestamp(i: number): number;
  /** The key of record `i`, a view into the batch, or null. */
  key(i: number): Uint8Array<ArrayBuffer> | null;
  /** The value of record `i`, a view into the batch, or null. */
  value(i: number): Uint8Array<ArrayBuffer> | null;
  /** The headers of record `i`, decoded anew on each call. */
  headers(i: number): RecordHeader[];
  /** Whether record `i` has headers (no decoding, no allocation). */
  hasHeaders(i: number): boolean;
}

/** What a table needs of its batch's header. */
export type TableHeader = Pick<
  RecordBatch,
  | "baseOffset"
  | "recordCount"
  | "logAppendTime"
  | "baseTimestamp"
  | "maxTimestamp"
>;

/** Per record: offset delta, key at, key length, value at, value length, headers at (-1: none). */
const STRIDE = 6;
/** The most slots of a batch's plain arrays; larger batches get typed ones. */
const PLAIN_UP_TO = 8192;
/** The fewest bytes a record takes (length, attributes, timestamp and offset deltas, key, value, header count). */
const MIN_RECORD = 7;

const textDecoder = new TextDecoder();

/** The records of a v2 batch, parsed once. */
export class BatchTable implements RecordTable {
  readonly count: number;
  readonly payloadBytes: number;
  readonly #buf: Uint8Array;
  /**
   * `#buf`'s buffer and where `#buf` starts in it: keys and values are made
   * with the Uint8Array constructor, which took 15-17 ns a view in Deno and
   * Node.js against 24-26 for `subarray` (Bun: 31-33 either way).
   */
  readonly #bytes: ArrayBuffer;
  readonly #base: number;
  readonly #baseOffset: number;
  readonly #at: Int32Array | number[];
  /** Timestamp deltas, or null when every record has the batch's log append time. */
  readonly #deltas: Float64Array | number[] | null;
  readonly #baseTime: number;

  /**
   * Parses the records of `batch` from `records` (its decompressed records
   * section), keeping those at or after `fromOffset`. Throws a
   * ProtocolError naming the record when one overruns the batch.
   */
  constructor(
    batch: TableHeader,
    records: Uint8Array,
    fromOffset: number,
  ) {
    // The header's count is only what the producer says: no more records
    // fit than the bytes allow.
    const capacity = Math.max(
      0,
      Math.min(batch.recordCount, Math.ceil(records.length / MIN_RECORD)),
    );
    // Small batches get plain arrays: V8 took about 1.7 µs to allocate an
    // Int32Array and a Float64Array (their buffers live outside its heap),
    // which made batches of 20 records cost a fifth more per message to
    // read. Past PLAIN_UP_TO slots plain arrays slow down (V8 and
    // JavaScriptCore switch to slower elements), and one allocation is
    // little over so many records.
    const slots = capacity * STRIDE;
    const at = slots <= PLAIN_UP_TO
      ? new Array<number>(slots)
      : new Int32Array(slots);
    const deltas = batch.logAppendTime
      ? null
      : slots <= PLAIN_UP_TO
      ? new Array<number>(capacity)
      : new Float64Array(capacity);
    let count = 0;
    let payloadBytes = 0;
    // Positions only grow, and a field that runs past its record's end
    // leaves the position past it, so one check per record, at its end,
    // catches any overrun (see `zigzag32`).
    const size = records.length;
    const recordCount = batch.recordCount;
    const skipBelow = fromOffset - batch.baseOffset;
    let pos = 0;
    for (let i = 0; i < recordCount; i++) {
      if (i >= capacity) throw truncatedRecord(batch, i);
      pos = zigzag32(records, pos, size);
      const length = decoded;
      const end = pos + length;
      if (length < 0 || end > size) throw truncatedRecord(batch, i);
      pos = zigzag64(records, pos + 1, end); // after the attributes
      const timestampDelta = decoded;
      pos = zigzag32(records, pos, end);
      const offsetDelta = decoded;
      pos = zigzag32(records, pos, end);
      const keyLength = decoded;
      const keyAt = pos;
      if (keyLength > 0) pos += keyLength;
      pos = zigzag32(records, pos, end);
      const valueLength = decoded;
      const valueAt = pos;
      if (valueLength > 0) pos += valueLength;
      const headersAt = pos;
      let headerCount = 0;
      if (pos < end && records[pos] === 0) pos++;
      else {
        pos = skipHeaders(records, pos, end);
        headerCount = decoded;
      }
      if (pos !== end) throw truncatedRecord(batch, i);
      if (offsetDelta < skipBelow) continue;
      const k = count * STRIDE;
      at[k] = offsetDelta;
      at[k + 1] = keyAt;
      at[k + 2] = keyLength < 0 ? -1 : keyLength;
      at[k + 3] = valueAt;
      at[k + 4] = valueLength < 0 ? -1 : valueLength;
      at[k + 5] = headerCount > 0 ? headersAt : -1;
      if (deltas !== null) deltas[count] = timestampDelta;
      payloadBytes += Math.max(0, keyLength) + Math.max(0, valueLength);
      count++;
    }
    this.count = count;
    this.payloadBytes = payloadBytes;
    this.#buf = records;
    // Responses and decompressed records are read into ArrayBuffers, never
    // into shared memory: views typed as such go to fetch, Blob and WebCrypto.
    this.#bytes = records.buffer as ArrayBuffer;
    this.#base = records.byteOffset;
    this.#baseOffset = batch.baseOffset;
    this.#at = at;
    this.#deltas = deltas;
    this.#baseTime = batch.logAppendTime
      ? batch.maxTimestamp
      : batch.baseTimestamp;
  }

  offset(i: number): number {
    return this.#baseOffset + this.#at[i * STRIDE];
  }

  timestamp(i: number): number {
    const deltas = this.#deltas;
    return deltas === null ? this.#baseTime : this.#baseTime + deltas[i];
  }

  key(i: number): Uint8Array<ArrayBuffer> | null {
    const k = i * STRIDE;
    const length = this.#at[k + 2];
    if (length < 0) return null;
    return new Uint8Array(this.#bytes, this.#base + this.#at[k + 1], length);
  }

  value(i: number): Uint8Array<ArrayBuffer> | null {
    const k = i * STRIDE;
    const length = this.#at[k + 4];
    if (length < 0) return null;
    return new Uint8Array(this.#bytes, this.#base + this.#at[k + 3], length);
  }

  headers(i: number): RecordHeader[] {
    const from = this.#at[i * STRIDE + 5];
    return from < 0 ? [] : readHeaders(this.#buf, from);
  }

  hasHeaders(i: number): boolean {
    return this.#at[i * STRIDE + 5] >= 0;
  }
}

/** Records decoded already (legacy message sets), as a table. */
export class ListTable implements RecordTable {
  readonly count: number;
  readonly payloadBytes: number;
  readonly #records: readonly Record[];

  constructor(records: readonly Record[]) {
    this.#records = records;
    this.count = records.length;
    let bytes = 0;
    for (const r of records) {
      bytes += (r.key?.length ?? 0) + (r.value?.length ?? 0);
    }
    this.payloadBytes = bytes;
  }

  offset(i: number): number {
    return this.#records[i].offset;
  }

  timestamp(i: number): number {
    return this.#records[i].timestamp;
  }

  key(i: number): Uint8Array<ArrayBuffer> | null {
    return this.#records[i].key;
  }

  value(i: number): Uint8Array<ArrayBuffer> | null {
    return this.#records[i].value;
  }

  headers(i: number): RecordHeader[] {
    return this.#records[i].headers;
  }

  hasHeaders(i: number): boolean {
    return this.#records[i].headers.length > 0;
  }
}

/** Appends the records of `table` to `out` as Record objects. */
export function collectRecords(table: RecordTable, out: Record[]): Record[] {
  for (let i = 0; i < table.count; i++) {
    out.push({
      offset: table.offset(i),
      timestamp: table.timestamp(i),
      key: table.key(i),
      value: table.value(i),
      headers: table.headers(i),
    });
  }
  return out;
}

function truncatedRecord(batch: TableHeader, index: number): ProtocolError {
  return new ProtocolError(
    `Corrupt record batch at offset ${batch.baseOffset}: record ${index} of ${batch.recordCount} overruns the batch`,
  );
}

/**
 * The value the last `zigzag32`, `zigzag64` or `skipHeaders` call read: a
 * module variable rather than an object per call, as these run for every
 * record of every fetched batch.
 */
let decoded = 0;

/**
 * Reads the zigzag varint (at most 5 bytes) at `at` of `b` into `decoded`
 * and returns where it ends. One that would reach `end` (or starts past it)
 * returns `end + 1`, so the caller's position ends up past the record and
 * its check there fails: positions only grow.
 */
function zigzag32(b: Uint8Array, at: number, end: number): number {
  let x = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (at >= end) return end + 1;
    const c = b[at++];
    x |= (c & 0x7f) << shift;
    if (c < 0x80) {
      decoded = (x >>> 1) ^ -(x & 1);
      return at;
    }
  }
  return end + 1;
}

/**
 * As `zigzag32`, for a zigzag varlong (at most 10 bytes): exact within the
 * safe integer range.
 */
function zigzag64(b: Uint8Array, at: number, end: number): number {
  // Values within 28 bits of zigzag (nearly every timestamp delta) stay in
  // 32-bit arithmetic.
  let low = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (at >= end) return end + 1;
    const c = b[at++];
    low |= (c & 0x7f) << shift;
    if (c < 0x80) {
      decoded = (low >>> 1) ^ -(low & 1);
      return at;
    }
  }
  let zigzag = low >>> 0;
  let scale = 0x10000000;
  for (let shift = 28; shift < 70; shift += 7) {
    if (at >= end) return end + 1;
    const c = b[at++];
    zigzag += (c & 0x7f) * scale;
    scale *= 0x80;
    if (c < 0x80) {
      const half = Math.floor(zigzag / 2);
      decoded = zigzag % 2 === 0 ? half : -half - 1;
      return at;
    }
  }
  return end + 1;
}

/**
 * Steps over the headers at `at` of `b`, none reaching past `end`: where
 * they end, their count in `decoded`; past `end` when they overrun (as
 * `zigzag32`).
 */
function skipHeaders(b: Uint8Array, at: number, end: number): number {
  at = zigzag32(b, at, end);
  const count = decoded;
  // No more headers than bytes left: a corrupt count makes no long loop.
  if (count > end - at) return end + 1;
  for (let i = 0; i < count; i++) {
    at = zigzag32(b, at, end); // key length
    if (decoded > 0) at += decoded;
    at = zigzag32(b, at, end); // value length
    if (decoded > 0) at += decoded;
  }
  decoded = count;
  return at;
}

/** Decodes the headers that `skipHeaders` checked, starting at `at`. */
function readHeaders(buf: Uint8Array, at: number): RecordHeader[] {
  const r = new ByteReader(buf);
  r.pos = at;
  const count = r.varint();
  const headers: RecordHeader[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const keyLength = r.varint();
    const keyBytes = r.raw(Math.max(0, keyLength));
    const valueLength = r.varint();
    headers[i] = {
      key: textDecoder.decode(keyBytes),
      value: valueLength < 0 ? null : r.raw(valueLength),
    };
  }
  return headers;
}
