/**
 * From the records field of a fetch response to the records a consumer
 * should see: CRC-checked, decompressed, trimmed to the requested offset,
 * without control records, and without aborted transactions under
 * read_committed.
 *
 * @module
 */

import { ProtocolError } from "./bytes.ts";
import { decodeLegacyInner } from "./legacy_messages.ts";
import {
  decodeRecords,
  type RecordBatch,
  splitBatches,
  verifyBatchCrc,
} from "./record_batch.ts";
import type { Record } from "./records.ts";
import {
  BatchTable,
  collectRecords,
  ListTable,
  type RecordTable,
} from "./record_table.ts";

/** Decompresses a batch's records section, given the codec id. */
export type Decompress = (
  codec: number,
  data: Uint8Array,
) => Uint8Array | Promise<Uint8Array>;

/** An aborted transaction as a Fetch response lists it. */
export interface AbortedTransaction {
  /** The transactional producer's id. */
  producerId: number;
  /** The first offset of the aborted transaction. */
  firstOffset: number;
}

/** Options of `readRecords`. */
export interface ReadRecordsOptions {
  /** Records before this offset are dropped (batches straddle offsets). */
  fromOffset: number;
  /** Decompresses compressed batches. */
  decompress: Decompress;
  /** Aborted transactions from the fetch response, for read_committed. */
  abortedTransactions?: readonly AbortedTransaction[] | null | undefined;
  /** Where the records came from, for error messages. */
  where: string;
  /** Check each batch's CRC (on by default). */
  checkCrc?: boolean | undefined;
  /**
   * Given a batch that fails its CRC check, and the error: the batch is
   * skipped. Without it, the error is thrown. (A batch that cannot be
   * decompressed throws either way: the fault may be this machine's.)
   */
  onCorrupt?: ((batch: RecordBatch, error: ProtocolError) => void) | undefined;
}

/** What `readRecords` found. */
export interface ReadRecordsResult {
  /** The records a consumer sees, in offset order. */
  records: Record[];
  /** Offset after the last complete batch: where to fetch next. */
  nextOffset: number;
  /** A batch was cut off at the end: the fetch's maxBytes was too small. */
  truncated: boolean;
}

/** What `readRecordTables` found: records to decode one at a time. */
export interface RecordTables {
  /** One table per batch with records to hand out, in offset order. */
  tables: RecordTable[];
  /** How many records the tables hold in all. */
  count: number;
  /** Their key and value bytes. */
  payloadBytes: number;
  /** Offset after the last complete batch: where to fetch next. */
  nextOffset: number;
  /**
   * The leader epoch of the last complete batch read (control batches
   * included), -1 when none or legacy: the next Fetch's `lastFetchedEpoch`,
   * which lets the leader detect a log truncation (KIP-320).
   */
  lastEpoch: number;
  /** A batch was cut off at the end: the fetch's maxBytes was too small. */
  truncated: boolean;
}

/**
 * Decodes every complete batch in `bytes`: the records field of a Fetch
 * response, as a consumer should see it.
 *
 * @example
 * ```ts
 * import {
 *   encodeRecordBatch,
 *   readRecords,
 * } from "jsr:@streamkafka/client/protocol";
 *
 * const value = new TextEncoder().encode("hello");
 * const bytes = encodeRecordBatch([{ key: null, value, timestamp: 0 }]);
 * const { records, nextOffset } = await readRecords(bytes, {
 *   fromOffset: 0,
 *   decompress: () => {
 *     throw new Error("not compressed");
 *   },
 *   where: "example",
 * });
 * console.log(records.length, nextOffset); // 1 1
 * ```
 */
export async function readRecords(
  bytes: Uint8Array,
  options: ReadRecordsOptions,
): Promise<ReadRecordsResult> {
  const { tables, nextOffset, truncated } = await readRecordTables(
    bytes,
    options,
  );
  const records: Record[] = [];
  for (const table of tables) collectRecords(table, records);
  return { records, nextOffset, truncated };
}

/**
 * Checks every complete batch in `bytes` (CRC, decompression, record
 * structure) and returns tables that decode its records on demand.
 */
export function readRecordTables(
  bytes: Uint8Array,
  options: ReadRecordsOptions,
): Promise<RecordTables> {
  return checkRecords(scanRecords(bytes, options.fromOffset), options);
}

/**
 * What the batch headers of a Fetch response's records tell without reading
 * the records: where the next Fetch starts. A consumer can ask for the next
 * records before checking these.
 */
export interface RecordsScan {
  /** The complete batches at or past the offset asked for. */
  batches: RecordBatch[];
  /** Offset after the last complete batch: where to fetch next. */
  nextOffset: number;
  /** The leader epoch of the last complete batch, -1 when none or legacy. */
  lastEpoch: number;
  /** A batch was cut off at the end and none came whole. */
  truncated: boolean;
  /**
   * The whole size of the batch cut off at the end, as its header says (0
   * when the bytes end where a batch ends, or too little of its header came):
   * the next Fetch starts with that batch.
   */
  cutBatchBytes: number;
  /** The size of the largest complete batch, 0 when none. */
  largestBatch: number;
}

/**
 * Walks the batch headers in `bytes` (no CRC, no records): the complete
 * batches from `fromOffset` on, and where the next Fetch starts. Throws a
 * ProtocolError for a malformed header.
 */
export function scanRecords(
  bytes: Uint8Array,
  fromOffset: number,
): RecordsScan {
  const all = splitBatches(bytes);
  const scan: RecordsScan = {
    batches: [],
    nextOffset: fromOffset,
    lastEpoch: -1,
    truncated: false,
    cutBatchBytes: 0,
    largestBatch: 0,
  };
  let consumed = 0;
  for (const batch of all) {
    const size = batch.bytes.length;
    consumed += size;
    if (size > scan.largestBatch) scan.largestBatch = size;
    const last = batch.magic === 2
      ? batch.baseOffset + batch.lastOffsetDelta
      : batch.baseOffset;
    if (last < fromOffset && batch.magic === 2) continue;
    scan.batches.push(batch);
    scan.nextOffset = Math.max(scan.nextOffset, last + 1);
    if (batch.magic === 2) scan.lastEpoch = batch.partitionLeaderEpoch;
  }
  scan.truncated = consumed < bytes.length && all.length === 0;
  // A batch's size sits after its base offset: 12 bytes of log overhead.
  if (bytes.length - consumed >= 12) {
    const at = bytes.byteOffset + consumed + 8;
    const length = new DataView(bytes.buffer, at, 4).getInt32(0);
    if (length > 0) scan.cutBatchBytes = 12 + length;
  }
  return scan;
}

/**
 * Checks the batches a scan found (CRC, decompression, record structure),
 * steps over control batches and aborted transactions, and returns tables
 * that decode the records on demand.
 */
export async function checkRecords(
  scan: RecordsScan,
  options: ReadRecordsOptions,
): Promise<RecordTables> {
  const aborted = new AbortedTracker(options.abortedTransactions);
  const result: RecordTables = {
    tables: [],
    count: 0,
    payloadBytes: 0,
    nextOffset: scan.nextOffset,
    lastEpoch: scan.lastEpoch,
    truncated: scan.truncated,
  };
  const onCorrupt = options.onCorrupt;
  for (const batch of scan.batches) {
    if (options.checkCrc !== false) {
      if (onCorrupt === undefined) checkCrc(batch, options.where);
      else {
        try {
          checkCrc(batch, options.where);
        } catch (error) {
          onCorrupt(batch, error as ProtocolError);
          continue;
        }
      }
    }
    const abortedBatch = aborted.isAborted(batch);
    if (batch.control) {
      aborted.onControl(batch);
      continue;
    }
    if (abortedBatch) continue;
    await addBatch(result, batch, options);
  }
  return result;
}

function checkCrc(batch: RecordBatch, where: string): void {
  try {
    verifyBatchCrc(batch);
  } catch (error) {
    throw new ProtocolError(`${(error as Error).message} (${where})`);
  }
}

/** Adds a table of the batch's records, checked and counted. */
async function addBatch(
  result: RecordTables,
  batch: RecordBatch,
  options: ReadRecordsOptions,
): Promise<void> {
  const records = batch.compression === 0
    ? batch.payload
    : await decompress(batch, options);
  if (batch.magic !== 2) {
    const decoded = batch.compression === 0
      ? decodeRecords(batch, records, options.fromOffset)
      : decodeLegacyInner(batch, records, options.fromOffset);
    if (decoded.length === 0) return;
    add(result, new ListTable(decoded));
    return;
  }
  add(result, new BatchTable(batch, records, options.fromOffset));
}

function add(result: RecordTables, table: RecordTable): void {
  if (table.count === 0) return;
  result.tables.push(table);
  result.count += table.count;
  result.payloadBytes += table.payloadBytes;
}

async function decompress(
  batch: RecordBatch,
  options: ReadRecordsOptions,
): Promise<Uint8Array> {
  try {
    return await options.decompress(batch.compression, batch.payload);
  } catch (error) {
    throw new ProtocolError(
      `Cannot decompress batch at offset ${batch.baseOffset} (${options.where}): ${
        (error as Error).message
      }`,
      { cause: error },
    );
  }
}

/**
 * Tracks which producers' transactions are aborted as batches go by: an
 * aborted transaction starts at its firstOffset and ends at that producer's
 * ABORT control record.
 */
class AbortedTracker {
  private readonly upcoming: AbortedTransaction[];
  private readonly active = new Set<number>();

  constructor(list: readonly AbortedTransaction[] | null | undefined) {
    this.upcoming = list
      ? [...list].sort((a, b) => a.firstOffset - b.firstOffset)
      : [];
  }

  isAborted(batch: RecordBatch): boolean {
    if (!batch.transactional) return false;
    while (
      this.upcoming.length > 0 &&
      this.upcoming[0].firstOffset <= batch.baseOffset + batch.lastOffsetDelta
    ) {
      this.active.add(this.upcoming.shift()!.producerId);
    }
    return this.active.has(batch.producerId);
  }

  onControl(batch: RecordBatch): void {
    // Control records end a transaction (commit or abort) of that producer.
    this.active.delete(batch.producerId);
  }
}
