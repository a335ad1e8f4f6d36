/**
 * The message types users read and write, and the conversion from what users
 * pass (strings accepted) to the bytes records carry.
 *
 * @module
 */

import type { RecordHeader, RecordInput } from "./protocol/records.ts";

/** A record header; the value may be null. */
export interface Header {
  key: string;
  value: Uint8Array | null;
}

/** A message read from Kafka. `key` and `value` may be views into a fetch buffer. */
export interface Message {
  topic: string;
  partition: number;
  offset: number;
  /** The partition's high watermark when this message was fetched. */
  highWaterMark: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: Header[];
  time: Date;
}

/** What a write accepts: strings are encoded as UTF-8, a missing time is now. */
export interface MessageInput {
  topic?: string;
  key?: Uint8Array | string | null;
  value?: Uint8Array | string | null;
  headers?: readonly {
    key: string;
    value: Uint8Array | string | null;
  }[];
  time?: Date;
}

const utf8 = new TextEncoder();

/**
 * `Uint8Array` as is, strings as UTF-8, missing as null. `field` and `index`
 * name the value in the error (built only on failure: this is per message).
 */
export function toBytes(
  value: Uint8Array | string | null | undefined,
  field: string,
  index: number,
): Uint8Array | null {
  if (value === undefined || value === null) return null;
  if (value instanceof Uint8Array) return value;
  if (typeof value === "string") return utf8.encode(value);
  throw new TypeError(
    `Cannot write message ${index}: "${field}" must be a Uint8Array, a string or null, got ${typeof value}`,
  );
}

/** Throws a TypeError unless `message` is an object. */
export function checkMessage(message: unknown, index: number): void {
  if (message === null || typeof message !== "object") {
    throw new TypeError(
      `Cannot write message ${index}: expected an object, got ${
        message === null ? "null" : typeof message
      }`,
    );
  }
}

/** Converts a user message to a record, with `now` for a missing time. */
export function toRecord(
  message: MessageInput,
  now: number,
  index = 0,
): RecordInput {
  checkMessage(message, index);
  return {
    key: toBytes(message.key, "key", index),
    value: toBytes(message.value, "value", index),
    headers: toHeaders(message.headers, index),
    timestamp: toTimestamp(message.time, now, index),
  };
}

/** Header values as bytes; undefined stays undefined (no array per message). */
export function toHeaders(
  headers: MessageInput["headers"],
  index: number,
): RecordHeader[] | undefined {
  if (headers === undefined) return undefined;
  if (!Array.isArray(headers)) {
    throw new TypeError(
      `Cannot write message ${index}: "headers" must be an array of { key, value }`,
    );
  }
  return headers.map((header, i) => {
    if (typeof header?.key !== "string") {
      throw new TypeError(
        `Cannot write message ${index}: "headers[${i}].key" must be a string, got ${typeof header
          ?.key}`,
      );
    }
    return {
      key: header.key,
      value: toBytes(header.value, `headers[${i}].value`, index),
    };
  });
}

/** The time in ms, or `now` when missing. */
export function toTimestamp(
  time: Date | undefined,
  now: number,
  index: number,
): number {
  if (time === undefined) return now;
  const ms = time instanceof Date ? time.getTime() : NaN;
  if (!Number.isFinite(ms)) {
    throw new TypeError(
      `Cannot write message ${index}: "time" must be a valid Date, got ${
        String(time)
      }`,
    );
  }
  return ms;
}
