/**
 * Writing record batches (magic 2), and the record types and batch layout
 * that reading them (`record_batch.ts`) shares.
 *
 * A batch is written straight into one growing buffer: the 61-byte header is
 * reserved, records are appended with their sizes computed up front (so no
 * length is back-filled inside a record), and the header and CRC are filled
 * in at the end.
 *
 * @module
 */

import { ByteWriter } from "./bytes.ts";
import { crc32c } from "./crc32c.ts";
import { BatchTable, collectRecords } from "./record_table.ts";

/** Codec ids as stored in the low three attribute bits. */
export const Compression = {
  none: 0,
  gzip: 1,
  snappy: 2,
  lz4: 3,
  zstd: 4,
} as const;

/** Attribute bits: the codec id (all formats)... */
export const ATTR_COMPRESSION = 0x07;
/** ...timestamps set by the broker (magic 1 and 2)... */
export const ATTR_LOG_APPEND_TIME = 0x08;
/** ...and, in magic 2, a transaction's batch and control records. */
export const ATTR_TRANSACTIONAL = 0x10;
export const ATTR_CONTROL = 0x20;

/** Size of a v2 batch header up to and including the record count. */
export const BATCH_HEADER_SIZE = 61;
/** baseOffset + batchLength: the part of a batch before `batchLength` counts. */
export const LOG_OVERHEAD = 12;
const CRC_OFFSET = 17;
/** Where a v2 batch's CRC-32C coverage starts. */
export const ATTRIBUTES_OFFSET = 21;

/** A record header; the value may be null. */
export interface RecordHeader {
  /** The header's name. */
  key: string;
  /** The header's value, or null. */
  value: Uint8Array | null;
}

/** A record as written: bytes only, strings are converted by the caller. */
export interface RecordInput {
  /** The key, or null. */
  key: Uint8Array | null;
  /** The value, or null. */
  value: Uint8Array | null;
  /** The headers, in order (default none). */
  headers?: readonly RecordHeader[] | undefined;
  /** Milliseconds since the epoch. */
  timestamp: number;
}

/** A decoded record; key, value and header values are views, not copies. */
export interface Record {
  /** The record's offset in its partition. */
  offset: number;
  /** Milliseconds since the epoch. */
  timestamp: number;
  /** The key, or null. */
  key: Uint8Array<ArrayBuffer> | null;
  /** The value, or null. */
  value: Uint8Array<ArrayBuffer> | null;
  /** The headers, in order. */
  headers: RecordHeader[];
}

/** Header fields of a batch to write; unset ones are written as -1 or off. */
export interface BatchOptions {
  /** Codec id (see `Compression`); the caller compresses through `finish`. */
  compression?: number | undefined;
  /** The idempotent producer's id (default -1: none). */
  producerId?: number | undefined;
  /** The producer's epoch (default -1). */
  producerEpoch?: number | undefined;
  /** The sequence number of the batch's first record (default -1). */
  baseSequence?: number | undefined;
  /** Whether the batch belongs to a transaction (default false). */
  transactional?: boolean | undefined;
  /** The leader epoch the producer saw (default -1). */
  partitionLeaderEpoch?: number | undefined;
}

/** Compresses the records section of a batch. */
export type CompressFn = (records: Uint8Array) => Uint8Array;

/**
 * Appends records into one buffer and closes them into a v2 batch.
 * The first record's timestamp is the batch's base timestamp.
 *
 * @example Build a batch and read it back
 * ```ts
 * import {
 *   decodeRecords,
 *   RecordBatchBuilder,
 *   splitBatches,
 *   verifyBatchCrc,
 * } from "jsr:@streamkafka/client/protocol";
 *
 * const builder = new RecordBatchBuilder();
 * const value = new TextEncoder().encode("hello");
 * builder.append({ key: null, value, timestamp: Date.now() });
 * const bytes = builder.finish();
 * const [batch] = splitBatches(bytes);
 * verifyBatchCrc(batch);
 * console.log(batch.recordCount, decodeRecords(batch)[0].offset); // 1 0
 * ```
 */
export class RecordBatchBuilder {
  private readonly w: ByteWriter;
  private readonly options: BatchOptions;
  private baseTimestamp = 0;
  private maxTimestamp = 0;
  /** Records appended so far. */
  count = 0;

  /** `buffer`, when given, is written over instead of a new one. */
  constructor(
    options: BatchOptions = {},
    capacity = 1024,
    buffer?: Uint8Array,
  ) {
    this.options = options;
    this.w = new ByteWriter(Math.max(capacity, BATCH_HEADER_SIZE + 64), buffer);
    this.w.pos = BATCH_HEADER_SIZE;
  }

  /** The buffer written into, to reuse once the batch is no longer needed. */
  get buffer(): Uint8Array {
    return this.w.buf;
  }

  /** Bytes taken so far, header included (before compression). */
  get size(): number {
    return this.w.pos;
  }

  /**
   * The records appended so far, read back from the buffer: views into it,
   * valid until the buffer is written over. A batch re-made from some of
   * another's records needs nothing else of what they were made from.
   *
   * @example
   * ```ts
   * import { RecordBatchBuilder } from "jsr:@streamkafka/client/protocol";
   *
   * const builder = new RecordBatchBuilder();
   * const value = new TextEncoder().encode("one");
   * builder.append({ key: null, value, timestamp: 1000 });
   * const [record] = builder.records();
   * console.log(new TextDecoder().decode(record.value!), record.timestamp); // one 1000
   * ```
   */
  records(): Record[] {
    const header = {
      baseOffset: 0,
      recordCount: this.count,
      logAppendTime: false,
      baseTimestamp: this.baseTimestamp,
      maxTimestamp: this.maxTimestamp,
    };
    const table = new BatchTable(
      header,
      this.w.buf.subarray(BATCH_HEADER_SIZE, this.w.pos),
      0,
    );
    return collectRecords(table, []);
  }

  /** Appends one record; its offset delta is its place in the batch. */
  append(record: RecordInput): void {
    const ts = record.timestamp;
    if (this.count === 0) {
      this.baseTimestamp = ts;
      this.maxTimestamp = ts;
    } else if (ts > this.maxTimestamp) {
      this.maxTimestamp = ts;
    }
    writeRecord(this.w, record, this.count, ts - this.baseTimestamp);
    this.count++;
  }

  /**
   * Closes the batch and returns its bytes; `compress` is required for
   * codecs. `header` overrides options known only now (the producer's id and
   * sequence, given when the batch is sent rather than when it was begun).
   */
  finish(compress?: CompressFn, header?: BatchOptions): Uint8Array {
    const codec = this.options.compression ?? 0;
    let w = this.w;
    if (codec !== 0) {
      if (!compress) {
        throw new TypeError(
          `Cannot finish record batch: codec ${codec} needs a compress function`,
        );
      }
      const packed = compress(w.buf.subarray(BATCH_HEADER_SIZE, w.pos));
      w = new ByteWriter(BATCH_HEADER_SIZE + packed.length);
      w.pos = BATCH_HEADER_SIZE;
      w.raw(packed);
    }
    this.fillHeader(w, codec, { ...this.options, ...header });
    return w.finish();
  }

  /** Writes the 61-byte header in front of the records, CRC last. */
  private fillHeader(w: ByteWriter, codec: number, o: BatchOptions): void {
    const end = w.pos;
    let attributes = codec & ATTR_COMPRESSION;
    if (o.transactional) attributes |= ATTR_TRANSACTIONAL;
    w.pos = 0;
    w.int64(0);
    w.int32(end - LOG_OVERHEAD);
    w.int32(o.partitionLeaderEpoch ?? -1);
    w.int8(2);
    w.uint32(0);
    w.int16(attributes);
    w.int32(this.count - 1);
    w.int64(this.baseTimestamp);
    w.int64(this.maxTimestamp);
    w.int64(o.producerId ?? -1);
    w.int16(o.producerEpoch ?? -1);
    w.int32(o.baseSequence ?? -1);
    w.int32(this.count);
    w.pos = end;
    const crc = crc32c(w.buf.subarray(ATTRIBUTES_OFFSET, end));
    w.view.setUint32(CRC_OFFSET, crc);
  }
}

/**
 * Encodes records into one v2 batch (a convenience over the builder).
 *
 * @example A batch with idempotent producer fields
 * ```ts
 * import {
 *   encodeRecordBatch,
 *   splitBatches,
 * } from "jsr:@streamkafka/client/protocol";
 *
 * const value = new TextEncoder().encode("one");
 * const bytes = encodeRecordBatch(
 *   [{ key: null, value, timestamp: Date.now() }],
 *   { producerId: 7, producerEpoch: 0, baseSequence: 0 },
 * );
 * const [batch] = splitBatches(bytes);
 * console.log(batch.recordCount, batch.producerId); // 1 7
 * ```
 */
export function encodeRecordBatch(
  records: readonly RecordInput[],
  options: BatchOptions = {},
  compress?: CompressFn,
): Uint8Array {
  const builder = new RecordBatchBuilder(options);
  for (const record of records) builder.append(record);
  return builder.finish(compress);
}

/**
 * Writes one record straight into the writer's buffer, its size known up
 * front: one `ensure` per record, and the varints and byte fields written
 * through a local position rather than a method call each (per message on
 * the Writer's hot path; headers, rare, take the writer's methods).
 */
function writeRecord(
  w: ByteWriter,
  record: RecordInput,
  offsetDelta: number,
  timestampDelta: number,
): void {
  const { key, value, headers } = record;
  const smallDelta = timestampDelta >= -0x40000000 &&
    timestampDelta < 0x40000000;
  const size = 1 +
    (smallDelta ? varintSize(timestampDelta) : varlongSize(timestampDelta)) +
    varintSize(offsetDelta) + nullableSize(key) + nullableSize(value) +
    headersSize(headers);
  w.ensure(size + 5);
  const buf = w.buf;
  let pos = putVarint(buf, w.pos, size);
  buf[pos++] = 0;
  if (smallDelta) {
    pos = putVarint(buf, pos, timestampDelta);
  } else {
    w.pos = pos;
    w.varlong(timestampDelta);
    pos = w.pos;
  }
  pos = putVarint(buf, pos, offsetDelta);
  pos = putNullable(buf, pos, key);
  pos = putNullable(buf, pos, value);
  if (headers === undefined || headers.length === 0) {
    buf[pos] = 0;
    w.pos = pos + 1;
    return;
  }
  w.pos = putVarint(buf, pos, headers.length);
  // Indexed loops: this runs per message, and for-of allocates an iterator
  // wherever the optimizer has not removed it.
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i];
    w.varint(utf8Length(h.key));
    w.utf8(h.key);
    writeNullable(w, h.value);
  }
}

/** A zigzag varint of a 32-bit signed value at `pos`, room made; the end. */
function putVarint(buf: Uint8Array, pos: number, v: number): number {
  let z = ((v << 1) ^ (v >> 31)) >>> 0;
  while (z >= 0x80) {
    buf[pos++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  buf[pos] = z;
  return pos + 1;
}

/** A nullable byte field (varint length, then the bytes) at `pos`; the end. */
function putNullable(
  buf: Uint8Array,
  pos: number,
  bytes: Uint8Array | null,
): number {
  if (bytes === null) {
    buf[pos] = 1; // zigzag -1
    return pos + 1;
  }
  pos = putVarint(buf, pos, bytes.length);
  buf.set(bytes, pos);
  return pos + bytes.length;
}

/**
 * Bytes a record takes inside a batch, at most: its deltas are not known
 * before it is placed, so each counts at its largest useful size.
 */
export function recordSizeBound(record: RecordInput): number {
  const body = 1 + nullableSize(record.key) + nullableSize(record.value) +
    headersSize(record.headers) + 2;
  return varintSize(body) + body + 8;
}

/** Bytes the headers of a record take, their count included. */
export function headersSize(
  headers: readonly RecordHeader[] | undefined,
): number {
  if (headers === undefined || headers.length === 0) return 1;
  let size = varintSize(headers.length);
  for (let i = 0; i < headers.length; i++) {
    const n = utf8Length(headers[i].key);
    size += varintSize(n) + n + nullableSize(headers[i].value);
  }
  return size;
}

function writeNullable(w: ByteWriter, bytes: Uint8Array | null): void {
  if (bytes === null) {
    w.varint(-1);
    return;
  }
  w.varint(bytes.length);
  w.raw(bytes);
}

function nullableSize(bytes: Uint8Array | null): number {
  return bytes === null ? 1 : varintSize(bytes.length) + bytes.length;
}

/** Size of a zigzag varint for a 32-bit signed value. */
export function varintSize(v: number): number {
  const z = ((v << 1) ^ (v >> 31)) >>> 0;
  if (z < 0x80) return 1;
  if (z < 0x4000) return 2;
  if (z < 0x200000) return 3;
  if (z < 0x10000000) return 4;
  return 5;
}

/** Size of a zigzag varlong (exact within the safe integer range). */
export function varlongSize(v: number): number {
  if (v >= -0x40000000 && v < 0x40000000) return varintSize(v);
  let z = v >= 0 ? v * 2 : -v * 2 - 1;
  let n = 1;
  while (z >= 0x80) {
    z = Math.floor(z / 0x80);
    n++;
  }
  return n;
}

/** UTF-8 byte length of a string without encoding it. */
export function utf8Length(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      n += 2;
      i++;
    } else n += 2;
  }
  return n;
}
