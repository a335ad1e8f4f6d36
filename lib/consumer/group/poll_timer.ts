/**
 * The group Reader's poll timer (Java's `max.poll.interval.ms`): whether
 * the application still reads. A member heartbeats on its own, so an
 * application that stops reading without closing the Reader would keep its
 * partitions forever, unread. When no read came for `maxPollInterval` ms,
 * and none is waiting for messages, the timer fires and the Reader leaves
 * the group; the next read rejoins.
 *
 * Reads only count (`polls++`, one increment on the hot path); a check every
 * eighth of the interval (at most every 5 s) sees whether the count moved,
 * so the timer fires at most a quarter of the interval (10 s) late.
 *
 * @module
 */

import { unrefTimer } from "../../connection/socket.ts";

/** Watches the reads of a group Reader. */
export class PollTimer {
  /** Reads so far: every take from the Reader adds one. */
  polls = 0;
  /** Reads waiting for messages to arrive: the application is not stalled meanwhile. */
  waiting = 0;
  private readonly interval: number;
  private readonly expired: (idle: number) => void;
  private timer: ReturnType<typeof setInterval> | null = null;
  private seen = 0;
  private since = 0;

  /** `expired` is called once, with the milliseconds since the last read. */
  constructor(interval: number, expired: (idle: number) => void) {
    this.interval = interval;
    this.expired = expired;
  }

  /** Starts watching (again), counting from now. */
  start(): void {
    if (this.timer !== null) return;
    this.seen = this.polls;
    this.since = Date.now();
    const every = Math.max(10, Math.min(5000, Math.floor(this.interval / 8)));
    this.timer = setInterval(() => this.check(), every);
    // The member's heartbeats keep the process alive, not this.
    unrefTimer(this.timer);
  }

  /** Stops watching (the Reader closes, or left the group for now). */
  stop(): void {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
  }

  private check(): void {
    const now = Date.now();
    if (this.polls !== this.seen || this.waiting > 0) {
      this.seen = this.polls;
      this.since = now;
      return;
    }
    const idle = now - this.since;
    if (idle < this.interval) return;
    this.stop();
    this.expired(idle);
  }
}
