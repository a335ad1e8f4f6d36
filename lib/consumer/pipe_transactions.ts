/**
 * `reader.pipeTo(writer)` into a transactional Writer: exactly once. The
 * pipe writes the batches it reads inside a transaction, and every
 * `interval` commits it together with the group's next offsets of what it
 * wrote (TxnOffsetCommit), as Kafka Streams does with exactly-once
 * processing. Either the output and the offsets both count, or neither
 * does: after a failure or a crash, the group's next member reads again
 * from the last committed transaction, and read_committed consumers of
 * the output never see a message twice.
 *
 * Before a rebalance takes partitions away, the open transaction is
 * committed (the engine waits for it, as for an at-least-once pipe's
 * acknowledgements), and a batch of a partition being given up that the
 * pipe still holds is dropped: its next owner reads it again.
 *
 * @module
 */

import type { SinkTransactions } from "../bulk_sink.ts";
import type { Consumption } from "./group/engine.ts";
import type { MessageBatch } from "./message_batch.ts";
import {
  type ReadFrom,
  rewindTargets,
  type Tracker,
  type Verdict,
} from "./pipe.ts";

const ignore = () => {};

/** The pipe's transactions: begins, fills and commits them in turn. */
export class PipeTransactions implements Tracker {
  private readonly txns: SinkTransactions;
  private readonly consumption: Consumption | null;
  private readonly interval: number;
  /** A transaction is open (begun, not ended). */
  private open = false;
  /** While a transaction begins, or ends: batches wait for it. */
  private busy: Promise<void> | null = null;
  /** The next offset of each partition written in the open transaction. */
  private readonly offsets = new Map<
    string,
    { topic: string; partition: number; offset: number }
  >();
  /** Per partition, the next offset a committed transaction carried. */
  private readonly committed = new Map<string, number>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private failed: Error | null = null;
  private readonly failureListeners = new Set<() => void>();

  /**
   * `consumption` is a group Reader's (null: no offsets to commit);
   * `interval` the milliseconds a transaction stays open, at most half the
   * Writer's `transactionTimeout`.
   */
  constructor(
    txns: SinkTransactions,
    consumption: Consumption | null,
    interval: number,
  ) {
    this.txns = txns;
    this.consumption = consumption;
    this.interval = Math.min(interval, txns.timeout / 2);
  }

  verdict(batch: MessageBatch): Verdict {
    if (this.failed !== null) return "drop";
    if (this.busy !== null) return "wait";
    if (!this.open) {
      this.busy = this.begin();
      return "wait";
    }
    const owned = this.consumption?.owns(batch.topic, batch.partition) ?? true;
    return owned ? "write" : "drop";
  }

  ready(): Promise<void> {
    return this.busy ?? Promise.resolve();
  }

  private async begin(): Promise<void> {
    try {
      await this.txns.begin();
      this.open = true;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.commit().catch(ignore);
      }, this.interval);
    } catch (error) {
      this.fail(error);
    } finally {
      this.busy = null;
    }
  }

  follow(batch: MessageBatch, written: Promise<unknown>): void {
    // A failed write fails the Writer, which stops the pipe; the commit
    // then rejects too.
    written.catch(ignore);
    this.offsets.set(`${batch.topic}\0${batch.partition}`, {
      topic: batch.topic,
      partition: batch.partition,
      offset: batch.lastOffset + 1,
    });
  }

  /**
   * Commits the open transaction with its offsets, once it has begun and
   * any end in progress is over; a failure fails the pipe (the
   * transaction is aborted first).
   */
  commit(): Promise<void> {
    if (this.busy !== null) return this.busy.then(() => this.commit());
    if (!this.open) return this.failed ? Promise.reject(this.failed) : done;
    this.busy = this.end(true).finally(() => this.busy = null);
    return this.busy;
  }

  /** Ends the open transaction; an abort leaves the pipe as it is. */
  private async end(commit: boolean): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const offsets = [...this.offsets.values()];
    this.offsets.clear();
    try {
      if (commit && offsets.length > 0 && this.consumption !== null) {
        await this.txns.sendOffsets(offsets, this.consumption.group());
      }
      await this.txns.end(commit);
      this.open = false;
      if (commit) {
        for (const o of offsets) {
          this.committed.set(`${o.topic}\0${o.partition}`, o.offset);
        }
      }
    } catch (error) {
      if (!commit) throw error;
      this.fail(error);
      // The transaction is abort-only now: abort it, so that the Writer's
      // close does not have to.
      await this.txns.end(false).then(() => this.open = false, ignore);
      throw error;
    }
  }

  async finish(commit: boolean): Promise<void> {
    while (this.busy !== null) await this.busy.catch(ignore);
    if (commit) {
      await this.commit();
    } else if (this.open) {
      this.busy = this.end(false).finally(() => this.busy = null);
      await this.busy;
    }
  }

  private fail(error: unknown): void {
    if (this.failed !== null) return;
    this.failed = error instanceof Error ? error : new Error(String(error));
    for (const listener of this.failureListeners) listener();
  }

  failure(): Error | null {
    return this.failed;
  }

  onFailure(listener: () => void): () => void {
    if (this.failed !== null) {
      listener();
      return ignore;
    }
    this.failureListeners.add(listener);
    return () => this.failureListeners.delete(listener);
  }

  drained(): Promise<void> {
    return this.commit();
  }

  /** With `rewind`, moves the Reader back past what was committed. */
  release(rewind?: ReadFrom): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (rewind !== undefined) {
      this.consumption?.rewind(
        rewindTargets(rewind, (key) => this.committed.get(key)),
      );
    }
    this.consumption?.release();
  }
}

const done = Promise.resolve();
