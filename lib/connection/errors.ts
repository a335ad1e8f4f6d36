/**
 * Errors raised below the broker's own error codes: the network failed, a
 * request ran out of time, or the peer does not speak Kafka.
 *
 * @module
 */

export { ProtocolError, TruncatedError } from "../protocol/bytes.ts";

/** Options of a {@link ConnectionError}. */
export interface ConnectionErrorOptions extends ErrorOptions {
  /**
   * Whether a fresh connection may succeed (default true). False for what
   * retrying cannot fix: a TLS certificate the client does not trust, a
   * listener that wants SASL or TLS while the client speaks plaintext.
   */
  retriable?: boolean;
}

/**
 * The socket could not be opened, broke while requests were in flight, or
 * the peer refused this client's settings (then `retriable` is false).
 *
 * @example
 * ```ts
 * import { ConnectionError } from "./errors.ts";
 *
 * const error = new ConnectionError("Cannot connect to 127.0.0.1:9092: refused");
 * console.log(error.retriable); // true
 * ```
 */
export class ConnectionError extends Error {
  /** Worth retrying on a fresh connection. */
  readonly retriable: boolean;
  constructor(message: string, options?: ConnectionErrorOptions) {
    super(message, options);
    this.name = "ConnectionError";
    this.retriable = options?.retriable ?? true;
  }
}

/** A dial or request did not finish within its timeout. */
export class TimeoutError extends Error {
  readonly retriable = true;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TimeoutError";
  }
}

/** The broker does not support a version of an API that this client knows. */
export class UnsupportedVersionError extends Error {
  readonly retriable = false;
  constructor(message: string) {
    super(message);
    this.name = "UnsupportedVersionError";
  }
}

/** Raised from operations on a connection or client that was closed. */
export class ClosedError extends Error {
  readonly retriable = false;
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
