/**
 * Acknowledgements of a share group's records (KIP-932): what a member
 * tells a partition's leader about each record it was handed. They wait per
 * partition, as ranges of consecutive offsets of one type, and go out with
 * the next ShareFetch to that leader, or in a ShareAcknowledge.
 *
 * @module
 */

/** What a member may do with a record it acquired. */
export type AcknowledgeType = "accept" | "release" | "reject";

/**
 * The wire's acknowledge types: a gap is an offset acquired with no record
 * there (a transaction's marker, a record compacted away); renew restarts
 * a record's acquisition lock and leaves it acquired (KIP-1222, Kafka 4.2).
 */
export const AckType = {
  gap: 0,
  accept: 1,
  release: 2,
  reject: 3,
  renew: 4,
} as const;

/** The wire code of each type a user may give. */
export const ACK_CODES: Readonly<Record<AcknowledgeType, number>> = {
  accept: AckType.accept,
  release: AckType.release,
  reject: AckType.reject,
};

/** One acknowledgement batch, as ShareFetch and ShareAcknowledge carry it. */
export interface AckBatch {
  firstOffset: number;
  /** Inclusive. */
  lastOffset: number;
  /** One type for the whole range. */
  acknowledgeTypes: number[];
}

/**
 * The acknowledgements of one partition not sent yet. Offsets given in
 * order (implicit acknowledgement) extend the last range; any order is
 * taken, and sorted when taken out.
 */
export class PendingAcks {
  private batches: AckBatch[] = [];
  private sorted = true;
  /** How many of the ranges are renewals. */
  renewals = 0;

  /** How many ranges wait. */
  get size(): number {
    return this.batches.length;
  }

  /**
   * Adds `offset` .. `last` (inclusive) with wire type `type`. A final
   * acknowledgement replaces a renewal of the same offsets not sent yet.
   */
  add(offset: number, type: number, last = offset): void {
    if (type === AckType.renew) {
      if (this.renewing(offset, last)) return;
      this.renewals++;
    } else if (this.renewals > 0) this.dropRenewals(offset, last);
    this.push(offset, type, last);
  }

  private push(offset: number, type: number, last: number): void {
    const tail = this.batches[this.batches.length - 1];
    if (tail !== undefined) {
      if (tail.lastOffset + 1 === offset && tail.acknowledgeTypes[0] === type) {
        tail.lastOffset = last;
        if (type === AckType.renew) this.renewals--;
        return;
      }
      if (offset <= tail.lastOffset) this.sorted = false;
    }
    this.batches.push({
      firstOffset: offset,
      lastOffset: last,
      acknowledgeTypes: [type],
    });
  }

  /** Whether an unsent renewal covers `offset` .. `last` already. */
  private renewing(offset: number, last: number): boolean {
    if (this.renewals === 0) return false;
    return this.batches.some((b) =>
      b.acknowledgeTypes[0] === AckType.renew && b.firstOffset <= offset &&
      b.lastOffset >= last
    );
  }

  /** Takes the renewals of offsets `offset` .. `last` out. */
  private dropRenewals(offset: number, last: number): void {
    const kept: AckBatch[] = [];
    for (const b of this.batches) {
      const renewal = b.acknowledgeTypes[0] === AckType.renew;
      if (!renewal || b.lastOffset < offset || b.firstOffset > last) {
        kept.push(b);
        continue;
      }
      this.renewals--;
      this.sorted = false;
      if (b.firstOffset < offset) {
        kept.push({ ...b, lastOffset: offset - 1 });
        this.renewals++;
      }
      if (b.lastOffset > last) {
        kept.push({ ...b, firstOffset: last + 1 });
        this.renewals++;
      }
    }
    this.batches = kept;
  }

  /** Takes every waiting range out, in offset order, adjacent ones of a type merged. */
  take(): AckBatch[] {
    const batches = this.batches;
    this.batches = [];
    this.renewals = 0;
    if (this.sorted) return batches;
    this.sorted = true;
    batches.sort((a, b) => a.firstOffset - b.firstOffset);
    const out: AckBatch[] = [];
    for (const b of batches) {
      const tail = out[out.length - 1];
      if (
        tail !== undefined && tail.lastOffset + 1 === b.firstOffset &&
        tail.acknowledgeTypes[0] === b.acknowledgeTypes[0]
      ) {
        tail.lastOffset = b.lastOffset;
      } else out.push(b);
    }
    return out;
  }
}

/** The offsets `ranges` cover, in all. */
export function countOffsets(ranges: readonly AckBatch[]): number {
  let n = 0;
  for (const r of ranges) n += r.lastOffset - r.firstOffset + 1;
  return n;
}
