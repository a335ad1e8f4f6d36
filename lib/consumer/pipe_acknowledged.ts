/**
 * What a group's pipe into a Writer (or a Processor) commits: each batch
 * once the sink acknowledged it, in order within its partition, and, when
 * a revocation cut a Processor's batches short, what was processed of them
 * in order and no further.
 *
 * @module
 */

import type { TopicPartition } from "../message.ts";
import type { Consumption } from "./group/engine.ts";
import type { MessageBatch } from "./message_batch.ts";
import {
  type Progress,
  type ReadFrom,
  rewindTargets,
  type Tracker,
  type Verdict,
} from "./pipe.ts";

const ignore = () => {};

/**
 * Marks a group Reader's batches consumed once the Writer acknowledged
 * them, in the order they were handed over within each partition: a batch
 * whose write failed, and every one after it, stays unmarked, so its
 * messages are read again (at least once). Without it a batch would count
 * as consumed as soon as the next one was read, while its messages might
 * still wait in the Writer's buffer.
 */
export class Acknowledged implements Tracker {
  private readonly consumption: Consumption | null;
  /**
   * Per partition ("topic\0partition"), the last message of each batch
   * handed over, in order, until it is marked (not the batch itself: that
   * would keep its fetched bytes alive until then).
   */
  private readonly pending = new Map<string, Entry[]>();
  /** Per partition with revoked batches pending: whether one was cut short. */
  private readonly cuts = new Map<string, { value: boolean }>();
  /** Callers of `drained`, each waiting for some entries to be marked. */
  private drainWaiters: { entries: Entry[]; wake: () => void }[] = [];
  private stopped = false;
  /** Per partition, the offset after the last message marked consumed. */
  private readonly marked = new Map<string, number>();

  /** Marks through `consumption` (null: nothing to mark). */
  constructor(consumption: Consumption | null) {
    this.consumption = consumption;
  }

  /** Batches of partitions the group is taking away are not handed over. */
  verdict(batch: MessageBatch): Verdict {
    const owned = this.consumption?.owns(batch.topic, batch.partition) ?? true;
    return owned ? "write" : "drop";
  }

  ready(): Promise<void> {
    return Promise.resolve();
  }

  failure(): null {
    return null;
  }

  onFailure(): () => void {
    return ignore;
  }

  finish(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Resolves once every write handed over so far (of `partitions` only,
   * when given) is acknowledged and marked, later ones not waited for; or
   * one failed, or the pipe ended.
   */
  drained(partitions?: readonly TopicPartition[]): Promise<void> {
    const keys = partitions === undefined
      ? [...this.pending.keys()]
      : partitions.map((p) => `${p.topic}\0${p.partition}`);
    const entries: Entry[] = [];
    for (const key of keys) {
      const last = this.pending.get(key)?.at(-1);
      if (last !== undefined) entries.push(last);
    }
    if (this.stopped || entries.length === 0) return Promise.resolve();
    return new Promise((wake) => this.drainWaiters.push({ entries, wake }));
  }

  private wakeDrainers(): void {
    if (this.drainWaiters.length === 0) return;
    const waiting = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiting) {
      if (this.stopped || w.entries.every((e) => e.state === "marked")) {
        w.wake();
      } else this.drainWaiters.push(w);
    }
  }

  /**
   * Batches of `partitions` handed over so far may be cut short: after
   * the first that is, none of its partition is marked.
   */
  revoked(partitions: readonly TopicPartition[]): void {
    for (const p of partitions) {
      const key = `${p.topic}\0${p.partition}`;
      const queue = this.pending.get(key);
      if (queue === undefined) continue;
      // One per partition while any batch of it is pending: a second
      // revocation must not clear what the first one cut.
      let cut = this.cuts.get(key);
      if (cut === undefined) this.cuts.set(key, cut = { value: false });
      for (const entry of queue) entry.cut = cut;
    }
  }

  /**
   * Follows the outcome of one batch's write, and its progress: while its
   * batch is the first of its partition still pending, what is processed
   * of it is marked as it goes (a Processor's long batch is committed as
   * it goes, not only at its end).
   */
  follow(batch: MessageBatch, written: Promise<number | void>): Progress {
    if (this.consumption === null) {
      written.catch(ignore);
      return ignore;
    }
    const key = `${batch.topic}\0${batch.partition}`;
    const entry: Entry = {
      last: {
        topic: batch.topic,
        partition: batch.partition,
        offset: batch.lastOffset,
      },
      state: "written",
      short: false,
      cut: null,
      progress: -1,
    };
    let queue = this.pending.get(key);
    if (queue === undefined) this.pending.set(key, queue = []);
    queue.push(entry);
    written.then((through) => {
      if (typeof through === "number") {
        entry.short = true;
        entry.last.offset = through;
      }
      entry.state = "acked";
      this.markReady(key);
    }, () => {
      this.stopped = true;
      this.forget();
    });
    return (offset) => {
      if (offset <= entry.progress) return;
      entry.progress = offset;
      if (entry.state === "written" && queue[0] === entry) {
        this.markProgress(entry);
      }
    };
  }

  /** Marks what is processed of a batch at the head of its queue. */
  private markProgress(entry: Entry): void {
    if (this.stopped || entry.progress < 0 || entry.cut?.value) return;
    const { topic, partition } = entry.last;
    this.consumption!.consumed({ topic, partition, offset: entry.progress });
    this.marked.set(`${topic}\0${partition}`, entry.progress + 1);
  }

  /** Marks the acknowledged batches at the head of a partition's queue. */
  private markReady(key: string): void {
    const queue = this.pending.get(key);
    if (queue === undefined) return; // the pipe ended
    while (!this.stopped && queue[0]?.state === "acked") {
      const entry = queue.shift()!;
      entry.state = "marked";
      // After a batch cut short, its partition's later ones are not marked:
      // the next owner reads on from the first message not processed.
      if (entry.cut?.value) continue;
      if (entry.short) {
        if (entry.cut !== null) entry.cut.value = true;
        if (entry.last.offset < 0) continue;
      }
      this.consumption!.consumed(entry.last);
      this.marked.set(key, entry.last.offset + 1);
    }
    if (queue.length === 0) {
      this.pending.delete(key);
      this.cuts.delete(key);
    } else if (queue[0].state === "written") this.markProgress(queue[0]);
    this.wakeDrainers();
  }

  /**
   * Gives the marking back to the Reader; later outcomes mark nothing.
   * With `rewind`, moves the Reader back past what was marked.
   */
  release(rewind?: ReadFrom): void {
    this.stopped = true;
    this.forget();
    if (rewind !== undefined) {
      this.consumption?.rewind(
        rewindTargets(rewind, (key) => this.marked.get(key)),
      );
    }
    this.consumption?.release();
  }

  /** Stopped: nothing more is marked, and nobody waits. */
  private forget(): void {
    this.pending.clear();
    this.cuts.clear();
    this.wakeDrainers();
  }
}

/** A batch handed to the Writer, until it is marked consumed. */
interface Entry {
  /** Its last message, or the last processed when it was cut short. */
  last: { topic: string; partition: number; offset: number };
  state: "written" | "acked" | "marked";
  /** Whether a revocation cut it short. */
  short: boolean;
  /**
   * For a batch handed over before its partition was revoked: whether a
   * batch of the partition handed over before it was cut short already.
   */
  cut: { value: boolean } | null;
  /** The offset up to which its messages are processed in order, or -1. */
  progress: number;
}
