/**
 * Record batches (magic 2) and legacy message sets (magic 0 and 1).
 *
 * A batch is written straight into one growing buffer: the 61-byte header is
 * reserved, records are appended with their sizes computed up front (so no
 * length is back-filled inside a record), and the header and CRC are filled
 * in at the end. Decoding returns keys and values as views into the fetched
 * buffer.
 *
 * @module
 */

import { ByteReader, ByteWriter, ProtocolError } from "./bytes.ts";
import { crc32, crc32c } from "./crc32c.ts";
import { BatchTable, collectRecords } from "./record_table.ts";

/** Codec ids as stored in the low three attribute bits. */
export const Compression = {
  none: 0,
  gzip: 1,
  snappy: 2,
  lz4: 3,
  zstd: 4,
} as const;

const ATTR_COMPRESSION = 0x07;
const ATTR_LOG_APPEND_TIME = 0x08;
const ATTR_TRANSACTIONAL = 0x10;
const ATTR_CONTROL = 0x20;

/** Size of a v2 batch header up to and including the record count. */
export const BATCH_HEADER_SIZE = 61;
/** baseOffset + batchLength: the part of a batch before `batchLength` counts. */
const LOG_OVERHEAD = 12;
const CRC_OFFSET = 17;
const ATTRIBUTES_OFFSET = 21;

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
  headers?: readonly RecordHeader[];
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
  key: Uint8Array | null;
  /** The value, or null. */
  value: Uint8Array | null;
  /** The headers, in order. */
  headers: RecordHeader[];
}

/** Header fields of a batch to write; unset ones are written as -1 or off. */
export interface BatchOptions {
  /** Codec id (see `Compression`); the caller compresses through `finish`. */
  compression?: number;
  /** The idempotent producer's id (default -1: none). */
  producerId?: number;
  /** The producer's epoch (default -1). */
  producerEpoch?: number;
  /** The sequence number of the batch's first record (default -1). */
  baseSequence?: number;
  /** Whether the batch belongs to a transaction (default false). */
  transactional?: boolean;
  /** The leader epoch the producer saw (default -1). */
  partitionLeaderEpoch?: number;
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

/** The header of a batch found in a fetched buffer; `payload` is a view. */
export interface RecordBatch {
  /** The offset of the batch's first record. */
  baseOffset: number;
  /** The leader epoch the batch was written in, or -1. */
  partitionLeaderEpoch: number;
  /** The format: 2 for a record batch, 0 or 1 for a legacy message set. */
  magic: number;
  /** The CRC as stored: CRC-32C for magic 2, CRC-32 for legacy messages. */
  crc: number;
  /** The attribute bits as stored. */
  attributes: number;
  /** Codec id from the attributes (see `Compression`). */
  compression: number;
  /** Timestamps are the broker's append time rather than the producer's. */
  logAppendTime: boolean;
  /** The batch belongs to a transaction. */
  transactional: boolean;
  /** The batch holds control records (transaction markers). */
  control: boolean;
  /** The last record's offset minus `baseOffset`. */
  lastOffsetDelta: number;
  /** The first record's timestamp, ms since the epoch. */
  baseTimestamp: number;
  /** The largest timestamp in the batch, ms since the epoch. */
  maxTimestamp: number;
  /** The producer's id, or -1. */
  producerId: number;
  /** The producer's epoch, or -1. */
  producerEpoch: number;
  /** The sequence number of the first record, or -1. */
  baseSequence: number;
  /** Records in the batch, as the header says. */
  recordCount: number;
  /** The records section (compressed when `compression` is not 0). */
  payload: Uint8Array;
  /** The whole batch as it came, for CRC checks and re-sending. */
  bytes: Uint8Array;
  /** Legacy (magic 0/1) messages only: the message key. */
  legacyKey?: Uint8Array | null;
}

/**
 * Splits a records field into batches. A partial batch at the end (the broker
 * cuts responses at maxBytes) is dropped: the caller fetches it again from
 * the next offset. Legacy message sets come back as one synthetic batch per
 * message (see `decodeLegacy`).
 *
 * @example Two batches in one buffer
 * ```ts
 * import {
 *   encodeRecordBatch,
 *   splitBatches,
 * } from "jsr:@streamkafka/client/protocol";
 *
 * const record = { key: null, value: null, timestamp: 0 };
 * const one = encodeRecordBatch([record]);
 * const two = encodeRecordBatch([record, record]);
 * const bytes = new Uint8Array([...one, ...two]);
 * console.log(splitBatches(bytes).map((b) => b.recordCount)); // [ 1, 2 ]
 * console.log(splitBatches(bytes.subarray(0, bytes.length - 1)).length); // 1
 * ```
 */
export function splitBatches(records: Uint8Array): RecordBatch[] {
  const out: RecordBatch[] = [];
  const view = new DataView(
    records.buffer,
    records.byteOffset,
    records.byteLength,
  );
  let pos = 0;
  while (records.length - pos >= LOG_OVERHEAD + 5) {
    const length = view.getInt32(pos + 8);
    if (length < 0) {
      throw new ProtocolError(
        `Cannot decode record batch: negative length ${length} at ${pos}`,
      );
    }
    const end = pos + LOG_OVERHEAD + length;
    if (end > records.length) break;
    const magic = view.getInt8(pos + 16);
    const bytes = records.subarray(pos, end);
    if (magic === 2) out.push(batchHeader(bytes));
    else if (magic === 0 || magic === 1) out.push(legacyBatch(bytes, magic));
    else {
      throw new ProtocolError(
        `Cannot decode record batch: unknown magic ${magic} at offset ${
          readOffset(view, pos)
        }`,
      );
    }
    pos = end;
  }
  return out;
}

function readOffset(view: DataView, pos: number): number {
  return view.getInt32(pos) * 4294967296 + view.getUint32(pos + 4);
}

function batchHeader(bytes: Uint8Array): RecordBatch {
  if (bytes.length < BATCH_HEADER_SIZE) {
    throw new ProtocolError(
      `Cannot decode record batch: ${bytes.length} bytes is shorter than its header`,
    );
  }
  const r = new ByteReader(bytes);
  const baseOffset = r.int64();
  r.int32();
  const partitionLeaderEpoch = r.int32();
  const magic = r.int8();
  const crc = r.uint32();
  const attributes = r.int16();
  return {
    baseOffset,
    partitionLeaderEpoch,
    magic,
    crc,
    attributes,
    compression: attributes & ATTR_COMPRESSION,
    logAppendTime: (attributes & ATTR_LOG_APPEND_TIME) !== 0,
    transactional: (attributes & ATTR_TRANSACTIONAL) !== 0,
    control: (attributes & ATTR_CONTROL) !== 0,
    lastOffsetDelta: r.int32(),
    baseTimestamp: r.int64(),
    maxTimestamp: r.int64(),
    producerId: r.int64(),
    producerEpoch: r.int16(),
    baseSequence: r.int32(),
    recordCount: r.int32(),
    payload: bytes.subarray(BATCH_HEADER_SIZE),
    bytes,
  };
}

/**
 * Throws a `ProtocolError` when the stored CRC does not match the bytes.
 *
 * @example
 * ```ts
 * import {
 *   encodeRecordBatch,
 *   splitBatches,
 *   verifyBatchCrc,
 * } from "jsr:@streamkafka/client/protocol";
 *
 * const bytes = encodeRecordBatch([{ key: null, value: null, timestamp: 0 }]);
 * bytes[bytes.length - 1] ^= 1; // damage the last byte
 * try {
 *   verifyBatchCrc(splitBatches(bytes)[0]);
 * } catch (error) {
 *   console.log((error as Error).name); // ProtocolError
 * }
 * ```
 */
export function verifyBatchCrc(batch: RecordBatch): void {
  if (batch.magic !== 2) return verifyLegacyCrc(batch);
  const actual = crc32c(batch.bytes.subarray(ATTRIBUTES_OFFSET));
  if (actual !== batch.crc) {
    throw new ProtocolError(
      `Corrupt record batch at offset ${batch.baseOffset}: CRC32C is ${
        hex(actual)
      }, the batch says ${hex(batch.crc)}`,
    );
  }
}

function hex(n: number): string {
  return "0x" + n.toString(16).padStart(8, "0");
}

/**
 * Decodes the records of a v2 batch from its (decompressed) records section.
 * Returns records at or after `fromOffset`, so a batch that straddles the
 * requested offset is trimmed.
 *
 * @example
 * ```ts
 * import {
 *   decodeRecords,
 *   encodeRecordBatch,
 *   splitBatches,
 * } from "jsr:@streamkafka/client/protocol";
 *
 * const text = new TextEncoder();
 * const [batch] = splitBatches(encodeRecordBatch([
 *   { key: null, value: text.encode("a"), timestamp: 0 },
 *   { key: null, value: text.encode("b"), timestamp: 0 },
 * ]));
 * const records = decodeRecords(batch, batch.payload, 1);
 * console.log(records.map((r) => r.offset)); // [ 1 ]
 * ```
 */
export function decodeRecords(
  batch: RecordBatch,
  records: Uint8Array = batch.payload,
  fromOffset = -Infinity,
): Record[] {
  if (batch.magic !== 2) return decodeLegacy(batch, fromOffset);
  return collectRecords(new BatchTable(batch, records, fromOffset), []);
}

// ---- legacy message sets (magic 0 and 1) ----

/**
 * One legacy message wrapped as a batch: payload is the message's value
 * (a nested message set when compressed), key is kept in `legacyKey`.
 */
function legacyBatch(bytes: Uint8Array, magic: number): RecordBatch {
  const r = new ByteReader(bytes);
  const offset = r.int64();
  r.int32();
  const crc = r.uint32();
  r.int8();
  const attributes = r.int8();
  const timestamp = magic === 1 ? r.int64() : -1;
  const key = r.bytes();
  const value = r.bytes();
  r.complete(`legacy message at offset ${offset}`);
  const batch: RecordBatch = {
    baseOffset: offset,
    partitionLeaderEpoch: -1,
    magic,
    crc,
    attributes,
    compression: attributes & ATTR_COMPRESSION,
    logAppendTime: (attributes & ATTR_LOG_APPEND_TIME) !== 0,
    transactional: false,
    control: false,
    lastOffsetDelta: 0,
    baseTimestamp: timestamp,
    maxTimestamp: timestamp,
    producerId: -1,
    producerEpoch: -1,
    baseSequence: -1,
    recordCount: 1,
    payload: value ?? new Uint8Array(0),
    bytes,
    legacyKey: key,
  };
  if (value === null) batch.payload = NULL_VALUE;
  return batch;
}

// Marks a legacy message whose value is null (distinct from empty).
const NULL_VALUE = new Uint8Array(0);

function verifyLegacyCrc(batch: RecordBatch): void {
  const actual = crc32(batch.bytes.subarray(LOG_OVERHEAD + 4));
  if (actual !== batch.crc) {
    throw new ProtocolError(
      `Corrupt message at offset ${batch.baseOffset}: CRC32 is ${
        hex(actual)
      }, the message says ${hex(batch.crc)}`,
    );
  }
}

/**
 * Decodes a legacy message. An uncompressed one is a single record; for a
 * compressed one pass the decompressed inner message set as `records` via
 * `decodeLegacyInner`.
 */
function decodeLegacy(batch: RecordBatch, fromOffset: number): Record[] {
  if (batch.baseOffset < fromOffset) return [];
  const key = batch.legacyKey ?? null;
  return [{
    offset: batch.baseOffset,
    timestamp: batch.baseTimestamp,
    key,
    value: batch.payload === NULL_VALUE ? null : batch.payload,
    headers: [],
  }];
}

/**
 * Decodes the inner message set of a compressed legacy wrapper. In magic 1
 * inner offsets are relative (0..n-1) and the wrapper carries the last
 * absolute offset; in magic 0 they are absolute already.
 */
export function decodeLegacyInner(
  wrapper: RecordBatch,
  inner: Uint8Array,
  fromOffset = -Infinity,
): Record[] {
  const messages = splitBatches(inner);
  const last = messages.at(-1);
  const relative = wrapper.magic === 1 && last !== undefined;
  const shift = relative ? wrapper.baseOffset - last.baseOffset : 0;
  const out: Record[] = [];
  for (const message of messages) {
    const records = decodeLegacy(message, -Infinity);
    for (const record of records) {
      record.offset += shift;
      if (wrapper.logAppendTime) record.timestamp = wrapper.baseTimestamp;
      if (record.offset >= fromOffset) out.push(record);
    }
  }
  return out;
}

/** Encodes one legacy message (for tests and fixtures of old brokers). */
export function encodeLegacyMessage(
  magic: 0 | 1,
  offset: number,
  message: {
    key: Uint8Array | null;
    value: Uint8Array | null;
    timestamp?: number;
    attributes?: number;
  },
): Uint8Array {
  const w = new ByteWriter(64);
  w.int64(offset);
  const at = w.startLength();
  const crcAt = w.pos;
  w.uint32(0);
  w.int8(magic);
  w.int8(message.attributes ?? 0);
  if (magic === 1) w.int64(message.timestamp ?? 0);
  w.bytes(message.key);
  w.bytes(message.value);
  w.endLength(at);
  w.view.setUint32(crcAt, crc32(w.buf.subarray(crcAt + 4, w.pos)));
  return w.finish();
}
