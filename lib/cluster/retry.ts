/**
 * The one retry loop: exponential backoff with jitter, bounded by a deadline
 * (and attempts only where a user asked for a count), cancellable. Every
 * layer that retries goes through here.
 *
 * @module
 */

import { abortReason, DeadlineError } from "../connection/errors.ts";

export interface RetryOptions {
  /** Total attempts, the first included (>= 1; default: no limit). */
  maxAttempts?: number | undefined;
  /** No retry starts at or after this time (ms since epoch; default: none). */
  deadline?: number | undefined;
  /** Milliseconds before the first retry. */
  backoffMin: number;
  /**
   * A shorter first wait for errors known to clear within milliseconds
   * (undefined: `backoffMin`); the wait still doubles per attempt.
   */
  backoffMinFor?: (error: unknown) => number | undefined;
  /** Ceiling of the backoff. */
  backoffMax: number;
  signal?: AbortSignal | undefined;
  /** Whether an error is worth another attempt (default: its `retriable`). */
  retriable?: ((error: unknown) => boolean) | undefined;
  /** Called before each retry, e.g. to refresh metadata or log. */
  onRetry?:
    | ((error: unknown, attempt: number) => void | Promise<void>)
    | undefined;
}

/** True for errors that say so: KafkaError, ConnectionError, TimeoutError. */
export function canRetry(error: unknown): boolean {
  return typeof error === "object" && error !== null &&
    (error as { retriable?: unknown }).retriable === true;
}

/**
 * The least time before the deadline for one more attempt: a backoff is cut
 * to end this long before it, and none starts closer to it.
 */
const LAST_ATTEMPT_MS = 100;

/** Runs `fn` until it succeeds, fails for good, or runs out of time or attempts. */
export async function retry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const retriable = options.retriable ?? canRetry;
  let previous: unknown;
  for (let attempt = 1;; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      // An attempt the deadline cut short: the one before says why.
      if (error instanceof DeadlineError && previous !== undefined) {
        throw previous;
      }
      previous = error;
      if (!retriable(error)) throw error;
      if (attempt >= (options.maxAttempts ?? Infinity)) throw error;
      if (options.signal?.aborted) throw error;
      const min = options.backoffMinFor?.(error) ?? options.backoffMin;
      let wait = backoff(attempt, { ...options, backoffMin: min });
      if (options.deadline !== undefined) {
        // A backoff that would end past the deadline is cut short, so that
        // the last attempt still comes: giving up at the backoff ended a
        // 2 s deliveryTimeout after 1.4 s.
        const left = options.deadline - Date.now() - LAST_ATTEMPT_MS;
        if (left <= 0) throw error;
        wait = Math.min(wait, left);
      }
      await options.onRetry?.(error, attempt);
      await sleep(wait, options.signal);
    }
  }
}

/** Backoff before retry `attempt`: doubling from min to max, with jitter. */
export function backoff(
  attempt: number,
  options: Pick<RetryOptions, "backoffMin" | "backoffMax">,
): number {
  const base = Math.min(
    options.backoffMax,
    options.backoffMin * 2 ** (attempt - 1),
  );
  // Up to 20% jitter keeps many clients from retrying in lockstep.
  return base * (0.8 + Math.random() * 0.2);
}

/** Resolves after `ms`, or rejects with the signal's reason when aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal, "Waiting"));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!, "Waiting"));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
