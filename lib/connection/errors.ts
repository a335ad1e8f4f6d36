/**
 * Errors raised below the broker's own error codes: the network failed, a
 * request ran out of time, or the peer does not speak Kafka.
 *
 * @module
 */

export { ProtocolError, TruncatedError } from "../protocol/bytes.ts";
export { UnsupportedVersionError } from "../protocol/api.ts";

/** Options of a {@link ConnectionError}. */
export interface ConnectionErrorOptions extends ErrorOptions {
  /**
   * Whether a fresh connection may succeed (default true). False for what
   * retrying cannot fix: a TLS certificate the client does not trust, a
   * listener that wants SASL or TLS while the client speaks plaintext.
   */
  retriable?: boolean | undefined;
}

/**
 * The socket could not be opened, broke while requests were in flight, or
 * the peer refused this client's settings (then `retriable` is false).
 *
 * @example Tell a failure worth retrying from one that is not
 * ```ts
 * import { ConnectionError, dial } from "jsr:@streamkafka/client";
 *
 * try {
 *   (await dial("127.0.0.1:1", { timeout: 1000 })).close();
 * } catch (error) {
 *   if (!(error instanceof ConnectionError)) throw error;
 *   console.log(error.message, error.retriable); // ... true
 * }
 * ```
 */
export class ConnectionError extends Error {
  /** Worth retrying on a fresh connection. */
  readonly retriable: boolean;

  /** `options.retriable` defaults to true. */
  constructor(message: string, options?: ConnectionErrorOptions) {
    super(message, options);
    this.name = "ConnectionError";
    this.retriable = options?.retriable ?? true;
  }
}

/**
 * A dial or request did not finish within its timeout.
 *
 * @example
 * ```ts
 * import { TimeoutError } from "jsr:@streamkafka/client";
 *
 * const error = new TimeoutError("Fetch request timed out after 30000 ms");
 * console.log(error.name, error.retriable); // TimeoutError true
 * ```
 */
export class TimeoutError extends Error {
  /** Always true: another attempt may finish in time. */
  readonly retriable = true;

  /** An error with `message`, and `options.cause`. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TimeoutError";
  }
}

/**
 * Raised from operations on a connection or client that was closed.
 *
 * @example
 * ```ts
 * import { ClosedError, dial } from "jsr:@streamkafka/client";
 *
 * const conn = await dial("127.0.0.1:9092");
 * conn.close();
 * try {
 *   await conn.brokers();
 * } catch (error) {
 *   console.log(error instanceof ClosedError); // true
 * }
 * ```
 */
export class ClosedError extends Error {
  /** Always false: a closed object stays closed. */
  readonly retriable = false;

  /** An error with `message`. */
  constructor(message: string) {
    super(message);
    this.name = "ClosedError";
  }
}

/** The abort reason of a signal, as an Error the caller can rethrow. */
export function abortReason(signal: AbortSignal, what: string): Error {
  const reason = signal.reason;
  if (reason instanceof Error) return reason;
  return new DOMException(`${what} was aborted`, "AbortError");
}

/**
 * Resolves or rejects as `promise` does, or rejects with the signal's reason
 * (an Error naming `what`) as soon as `signal` aborts; `promise` is then
 * still handled, so its later rejection is never unhandled.
 *
 * @example
 * ```ts
 * import { untilAborted } from "./errors.ts";
 *
 * const stop = new AbortController();
 * const slow = new Promise((resolve) => setTimeout(resolve, 50));
 * stop.abort();
 * await untilAborted(slow, stop.signal, "Waiting").catch((e) => console.log(e.name));
 * await slow;
 * ```
 */
export function untilAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  what: string,
): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(abortReason(signal, what));
  }
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => {});
      reject(abortReason(signal, what));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then((value) => {
      signal.removeEventListener("abort", onAbort);
      resolve(value);
    }, (error) => {
      signal.removeEventListener("abort", onAbort);
      reject(error);
    });
  });
}

/**
 * A signal that aborts when `a` or `b` does, and `release`, which removes
 * its listeners: for a long-lived signal (a pool's) joined with one call's.
 * `AbortSignal.any` would do, but some runtimes keep every signal it made
 * from a long-lived one alive as long as that one (nodejs/node#54614).
 *
 * @example
 * ```ts
 * import { eitherSignal } from "./errors.ts";
 *
 * const pool = new AbortController();
 * const call = new AbortController();
 * const { signal, release } = eitherSignal(pool.signal, call.signal);
 * call.abort();
 * console.log(signal.aborted); // true
 * release();
 * ```
 */
export function eitherSignal(
  a: AbortSignal,
  b: AbortSignal,
): { signal: AbortSignal; release: () => void } {
  const either = new AbortController();
  if (a.aborted) either.abort(a.reason);
  else if (b.aborted) either.abort(b.reason);
  if (either.signal.aborted) return { signal: either.signal, release() {} };
  const onA = () => either.abort(a.reason);
  const onB = () => either.abort(b.reason);
  a.addEventListener("abort", onA, { once: true });
  b.addEventListener("abort", onB, { once: true });
  return {
    signal: either.signal,
    release() {
      a.removeEventListener("abort", onA);
      b.removeEventListener("abort", onB);
    },
  };
}

/**
 * A request held back while the broker throttled the connection (a quota,
 * KIP-219) that ran out of time before it could be written: the broker
 * never saw it, so sending it again cannot duplicate anything.
 *
 * @example
 * ```ts
 * import { ThrottledError } from "jsr:@streamkafka/client";
 *
 * const error = new ThrottledError("Produce request not sent within 5000 ms");
 * console.log(error.name, error.retriable); // ThrottledError true
 * ```
 */
export class ThrottledError extends TimeoutError {
  /** An error with `message`, and `options.cause`. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ThrottledError";
  }
}

/**
 * A step cut short by its caller's deadline (see `withinDeadline`); the
 * retry loop then throws the error of the attempt before, which says why
 * the time ran out, when there was one.
 */
export class DeadlineError extends TimeoutError {}

/**
 * `promise`, or a DeadlineError once `deadline` (ms since the epoch) passes,
 * or the signal's reason once it aborts: for a step (a metadata lookup, a
 * dial) whose own timeouts may outlast its caller's time. The step goes on
 * for whoever shares it; its outcome is handled either way.
 */
export function withinDeadline<T>(
  promise: Promise<T>,
  deadline: number,
  signal: AbortSignal | undefined,
  what: string,
): Promise<T> {
  if (!Number.isFinite(deadline)) return untilAborted(promise, signal, what);
  return new Promise((resolve, reject) => {
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      finish();
      reject(abortReason(signal!, what));
    };
    const timer = setTimeout(() => {
      finish();
      reject(
        new DeadlineError(`${what} did not finish in the time allowed`),
      );
    }, Math.max(0, deadline - Date.now()));
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
    promise.then((value) => {
      finish();
      resolve(value);
    }, (error) => {
      finish();
      reject(error);
    });
  });
}

/** The message of an error, or the value as text. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
