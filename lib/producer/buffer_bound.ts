/**
 * The Writer's bound on buffered bytes (`maxBufferedBytes`, Java's
 * `buffer.memory`): the bytes of the messages queued and not yet settled,
 * and the `writeMessages` and `send` calls waiting for room, let go one at a
 * time in call order.
 *
 * @module
 */

import { abortReason } from "../connection/errors.ts";

/** A write waiting for room in the buffer. */
interface Blocked {
  go(): void;
  fail(error: Error): void;
}

/**
 * Writes waiting for room, first in first out: taking the first is O(1)
 * (an array's shift moves the rest: quadratic with 400,000 waiting), and
 * so is taking one out whose signal aborted.
 */
class BlockedWrites {
  private items: (Blocked | null)[] = [];
  /** Where each waiting write is, counted from the first ever pushed. */
  private readonly at = new Map<Blocked, number>();
  /** The count of items dropped from the front of `items`. */
  private base = 0;
  private head = 0;

  get size(): number {
    return this.at.size;
  }

  push(b: Blocked): void {
    this.at.set(b, this.base + this.items.length);
    this.items.push(b);
  }

  shift(): Blocked | undefined {
    while (this.head < this.items.length) {
      const b = this.items[this.head++];
      if (b !== null) {
        this.at.delete(b);
        this.compact();
        return b;
      }
    }
    return undefined;
  }

  /** Takes `b` out of the line (its signal aborted). */
  remove(b: Blocked): void {
    const at = this.at.get(b);
    if (at === undefined) return;
    this.at.delete(b);
    this.items[at - this.base] = null;
  }

  private compact(): void {
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.base += this.head;
      this.head = 0;
    }
  }
}

/**
 * Counts the buffered bytes against `max`. A call that finds no room waits
 * (`whenRoom`); once let go it must say its turn is over (`turnTaken`),
 * queued or not, for the next to try.
 */
export class BufferBound {
  #buffered = 0;
  /** Calls waiting for room, in call order. */
  readonly #blocked = new BlockedWrites();
  /** The first call let go has not said its turn is over yet. */
  #waking = false;
  /** The stream's writes waiting for the bound (`waitForRoom`). */
  #roomWaiters: (() => void)[] = [];

  /** The bound: `maxBufferedBytes`. */
  readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  /** Bytes of the messages queued and not settled yet. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Calls wait for room, or one let go has not taken its turn yet. */
  get waiting(): boolean {
    return this.#blocked.size > 0 || this.#waking;
  }

  /**
   * Null when a call may queue its write now; else a promise that resolves
   * when its turn comes: `max` bytes are buffered, or earlier calls wait
   * (they go first). Rejects when `signal` aborts (the call is dropped from
   * the line) or `failWaiting` gives up every call waiting.
   */
  whenRoom(
    signal: AbortSignal | undefined,
    what: string,
  ): Promise<void> | null {
    if (
      this.#blocked.size === 0 && !this.#waking && this.#buffered < this.max
    ) {
      return null;
    }
    return new Promise<void>((resolve, reject) => {
      const entry: Blocked = {
        go: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        fail: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      const onAbort = () => {
        this.#blocked.remove(entry);
        reject(abortReason(signal!, what));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#blocked.push(entry);
    });
  }

  /** The call let go queued its write (or failed): the next may try. */
  turnTaken(): void {
    this.#waking = false;
    this.#wake();
  }

  /** Counts the bytes of a queued write. */
  add(bytes: number): void {
    this.#buffered += bytes;
  }

  /** The bytes of settled messages: lets waiting writes go while there is room. */
  release(bytes: number): void {
    this.#buffered -= bytes;
    this.#wake();
    if (this.#buffered < this.max) {
      const waiters = this.#roomWaiters;
      this.#roomWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** Resolves when the buffered bytes are under the bound (stream backpressure). */
  waitForRoom(): Promise<void> {
    if (this.#buffered < this.max) return Promise.resolve();
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }

  /** Every call waiting for room fails with `error` (the Writer gave up). */
  failWaiting(error: Error): void {
    for (let b = this.#blocked.shift(); b; b = this.#blocked.shift()) {
      b.fail(error);
    }
  }

  /** Lets the first waiting call go, one at a time, while there is room. */
  #wake(): void {
    if (
      this.#waking || this.#blocked.size === 0 || this.#buffered >= this.max
    ) {
      return;
    }
    this.#waking = true;
    this.#blocked.shift()!.go();
  }
}
