/**
 * Legacy message sets (magic 0 and 1), as brokers before 0.11 stored them and
 * later ones still serve for data written then: each message read as a
 * batch of one record, a compressed wrapper's inner message set decoded,
 * and messages encoded for tests and fixtures.
 *
 * @module
 */

import { ByteReader, ByteWriter, ProtocolError } from "./bytes.ts";
import { crc32, crcHex } from "./crc32c.ts";
import type { RecordBatch } from "./record_batch.ts";
import {
  ATTR_COMPRESSION,
  ATTR_LOG_APPEND_TIME,
  LOG_OVERHEAD,
  type Record,
} from "./records.ts";

/**
 * One legacy message wrapped as a batch: payload is the message's value
 * (a nested message set when compressed), key is kept in `legacyKey`.
 */
export function legacyBatch(bytes: Uint8Array, magic: number): RecordBatch {
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

export function verifyLegacyCrc(batch: RecordBatch): void {
  const actual = crc32(batch.bytes.subarray(LOG_OVERHEAD + 4));
  if (actual !== batch.crc) {
    throw new ProtocolError(
      `Corrupt message at offset ${batch.baseOffset}: CRC32 is ${
        crcHex(actual)
      }, the message says ${crcHex(batch.crc)}`,
    );
  }
}

/**
 * Decodes a legacy message. An uncompressed one is a single record; for a
 * compressed one pass the decompressed inner message set as `records` via
 * `decodeLegacyInner`.
 */
export function decodeLegacy(batch: RecordBatch, fromOffset: number): Record[] {
  if (batch.baseOffset < fromOffset) return [];
  // Views into the response, an ArrayBuffer (see `BatchTable`).
  const key = (batch.legacyKey ?? null) as Uint8Array<ArrayBuffer> | null;
  const payload = batch.payload as Uint8Array<ArrayBuffer>;
  return [{
    offset: batch.baseOffset,
    timestamp: batch.baseTimestamp,
    key,
    value: payload === NULL_VALUE ? null : payload,
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
  const messages = innerMessages(inner);
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

/**
 * The messages of a decompressed inner message set, each as a batch of one;
 * like `splitBatches`, a partial message at the end is dropped.
 */
function innerMessages(inner: Uint8Array): RecordBatch[] {
  const view = new DataView(inner.buffer, inner.byteOffset, inner.byteLength);
  const out: RecordBatch[] = [];
  let pos = 0;
  while (inner.length - pos >= LOG_OVERHEAD + 5) {
    const length = view.getInt32(pos + 8);
    const magic = view.getInt8(pos + 16);
    if (length < 0 || (magic !== 0 && magic !== 1)) {
      throw new ProtocolError(
        `Cannot decode a compressed legacy message set: the message at byte ${pos} has ${
          length < 0 ? `a negative length (${length})` : `magic ${magic}`
        }, where only magic 0 and 1 may nest`,
      );
    }
    const end = pos + LOG_OVERHEAD + length;
    if (end > inner.length) break;
    out.push(legacyBatch(inner.subarray(pos, end), magic));
    pos = end;
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
