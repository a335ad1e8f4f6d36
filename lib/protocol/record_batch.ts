/**
 * Reading record batches from a fetched records field: each batch's header,
 * its CRC check, and its records decoded as views into the fetched buffer.
 * Legacy message sets (magic 0 and 1) are read by `legacy_messages.ts` and
 * come back as one batch per message.
 *
 * @module
 */

import { ByteReader, ProtocolError } from "./bytes.ts";
import { crc32c, crcHex } from "./crc32c.ts";
import {
  decodeLegacy,
  legacyBatch,
  verifyLegacyCrc,
} from "./legacy_messages.ts";
import { BatchTable, collectRecords } from "./record_table.ts";
import {
  ATTR_COMPRESSION,
  ATTR_CONTROL,
  ATTR_LOG_APPEND_TIME,
  ATTR_TRANSACTIONAL,
  ATTRIBUTES_OFFSET,
  BATCH_HEADER_SIZE,
  LOG_OVERHEAD,
  type Record,
} from "./records.ts";

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
  legacyKey?: Uint8Array | null | undefined;
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
        crcHex(actual)
      }, the batch says ${crcHex(batch.crc)}`,
    );
  }
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
