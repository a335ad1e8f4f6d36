/**
 * A broker's throttle of one connection (KIP-219): when a client goes over
 * a quota, the broker answers at once with `throttleTimeMs` and then reads
 * nothing more from that connection until the time is up. A request
 * written meanwhile would wait in the socket, past its timeout, so the
 * connection holds its next requests back and writes them, in the order
 * they came, once the throttle ends (as Java's client does).
 *
 * The connection decides what a held request may wait and what happens
 * when it is cancelled or out of time; this keeps the throttle's end, the
 * queue of held writes and what error messages say about it.
 *
 * @module
 */

import { clientThrottles, MAX_THROTTLE_MS } from "../protocol/quotas.ts";

/** How long a throttle stays worth naming in a timeout's message. */
const RECENT_MS = 60_000;

export class Throttle {
  /**
   * Until when (`performance.now()`) the broker does not read from the
   * connection; 0 before any throttle.
   */
  private until = 0;
  /** The last throttle reported, and when (ms since epoch). */
  private last = { ms: 0, at: 0 };
  /** The writes held back, in the order of their correlation ids. */
  private held: (() => void)[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param clientId the connection's client id, named in the hints
   * @param isOpen whether the connection still is: a closed one releases
   *   its held writes at once (each then finds it closed)
   */
  private readonly clientId: string;
  private readonly isOpen: () => boolean;

  constructor(clientId: string, isOpen: () => boolean) {
    this.clientId = clientId;
    this.isOpen = isOpen;
  }

  /**
   * Notes the throttle a response of `apiKey` at `version` reports
   * (`throttleTimeMs`), if the client is the one to wait it out: from
   * KIP-219's version of that API on (before it, the broker delayed its
   * answer itself). Cut to `MAX_THROTTLE_MS`.
   */
  note(response: unknown, apiKey: number, version: number): void {
    const ms = (response as { throttleTimeMs?: unknown } | null)
      ?.throttleTimeMs;
    if (typeof ms !== "number" || !(ms > 0)) return;
    if (!clientThrottles(apiKey, version)) return;
    const until = performance.now() + Math.min(ms, MAX_THROTTLE_MS);
    this.last = { ms, at: Date.now() };
    if (until > this.until) this.until = until;
  }

  /** Whether a request must wait: the broker throttles, or others wait. */
  get holding(): boolean {
    return this.held.length > 0 ||
      (this.until !== 0 && this.until > performance.now());
  }

  /** The milliseconds left of the throttle (0 when none). */
  remaining(): number {
    return Math.max(0, Math.round(this.until - performance.now()));
  }

  /**
   * Holds a write until the throttle ends (longer if a response meanwhile
   * reports more). Held writes start in the order held, synchronously, so
   * their frames go out in that order.
   */
  hold(write: () => void): void {
    this.held.push(write);
    if (this.timer !== undefined) return;
    const release = () => {
      this.timer = undefined;
      const wait = this.until - performance.now();
      if (wait > 0 && this.isOpen()) {
        this.timer = setTimeout(release, wait);
        return;
      }
      this.releaseAll();
    };
    this.timer = setTimeout(
      release,
      Math.max(0, this.until - performance.now()),
    );
  }

  /**
   * Runs every held write now: at the throttle's end, or when the
   * connection closes (each write then finds it closed and fails).
   */
  releaseAll(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const writes = this.held;
    this.held = [];
    for (const write of writes) write();
  }

  /**
   * A throttle reported in the last minute, as the end of a timeout's
   * message (a likely cause), or "".
   */
  recentNote(): string {
    const { ms, at } = this.last;
    if (ms === 0 || Date.now() - at > RECENT_MS) return "";
    return ` (the broker throttled this connection for ${ms} ms ${
      Math.round((Date.now() - at) / 1000)
    } s ago: ${this.hint()})`;
  }

  /** What to check when the broker throttles this client. */
  hint(): string {
    return `a quota on client id "${this.clientId}" or its user; see the broker's client quotas`;
  }
}
