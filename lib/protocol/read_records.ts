/**
 * From the records field of a fetch response to the records a consumer
 * should see: CRC-checked, decompressed, trimmed to the requested offset,
 * without control records, and without aborted transactions under
 * read_committed.
 *
 * @module
 */

import { ProtocolError } from "./bytes.ts";
import {
  decodeLegacyInner,
  decodeRecords,
  type Record,
  type RecordBatch,
  splitBatches,
  verifyBatchCrc,
} from "./records.ts";

export type Decompress = (
  codec: number,
  data: Uint8Array,
) => Uint8Array | Promise<Uint8Array>;

export interface AbortedTransaction {
  producerId: number;
  firstOffset: number;
}

export interface ReadRecordsOptions {
  /** Records before this offset are dropped (batches straddle offsets). */
  fromOffset: number;
  decompress: Decompress;
  /** Aborted transactions from the fetch response, for read_committed. */
  abortedTransactions?: readonly AbortedTransaction[] | null;
  /** Where the records came from, for error messages. */
  where: string;
  /** Check each batch's CRC (on by default). */
  checkCrc?: boolean;
}

export interface ReadRecordsResult {
  records: Record[];
  /** Offset after the last complete batch: where to fetch next. */
  nextOffset: number;
  /** A batch was cut off at the end: the fetch's maxBytes was too small. */
  truncated: boolean;
}

/** Decodes every complete batch in `bytes`. */
export async function readRecords(
  bytes: Uint8Array,
  options: ReadRecordsOptions,
): Promise<ReadRecordsResult> {
  const batches = splitBatches(bytes);
  const aborted = new AbortedTracker(options.abortedTransactions);
  const records: Record[] = [];
  let nextOffset = options.fromOffset;
  let consumed = 0;
  for (const batch of batches) {
    consumed += batch.bytes.length;
    const last = batch.magic === 2
      ? batch.baseOffset + batch.lastOffsetDelta
      : batch.baseOffset;
    if (last < options.fromOffset && batch.magic === 2) continue;
    if (options.checkCrc !== false) checkCrc(batch, options.where);
    nextOffset = Math.max(nextOffset, last + 1);
    const abortedBatch = aborted.isAborted(batch);
    if (batch.control) {
      aborted.onControl(batch);
      continue;
    }
    if (abortedBatch) continue;
    for (const record of await batchRecords(batch, options)) {
      records.push(record);
    }
  }
  return {
    records,
    nextOffset,
    truncated: consumed < bytes.length && batches.length === 0,
  };
}

function checkCrc(batch: RecordBatch, where: string): void {
  try {
    verifyBatchCrc(batch);
  } catch (error) {
    throw new ProtocolError(`${(error as Error).message} (${where})`);
  }
}

async function batchRecords(
  batch: RecordBatch,
  options: ReadRecordsOptions,
): Promise<Record[]> {
  if (batch.compression === 0) {
    return decodeRecords(batch, batch.payload, options.fromOffset);
  }
  let inner: Uint8Array;
  try {
    inner = await options.decompress(batch.compression, batch.payload);
  } catch (error) {
    throw new ProtocolError(
      `Cannot decompress batch at offset ${batch.baseOffset} (${options.where}): ${
        (error as Error).message
      }`,
      { cause: error },
    );
  }
  if (batch.magic !== 2) {
    return decodeLegacyInner(batch, inner, options.fromOffset);
  }
  return decodeRecords(batch, inner, options.fromOffset);
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
