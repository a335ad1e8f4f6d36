/**
 * Errors raised below the broker's own error codes: the network failed, a
 * request ran out of time, or the peer does not speak Kafka.
 *
 * @module
 */

export { ProtocolError, TruncatedError } from "../protocol/bytes.ts";

/** The socket could not be opened, or broke while requests were in flight. */
export class ConnectionError extends Error {
  /** Worth retrying on a fresh connection. */
  readonly retriable = true;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConnectionError";
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
