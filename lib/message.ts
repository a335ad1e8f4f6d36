/**
 * The message types users read and write, and the conversion from what users
 * pass (strings accepted) to the bytes records carry.
 *
 * @module
 */

import type { RecordHeader, RecordInput } from "./protocol/records.ts";
import { checkOptionNames, describeValue } from "./options.ts";
import { utf8Bytes } from "./utf8.ts";

/** A record header; the value may be null. */
export interface Header {
  /** The header's name; names may repeat within a message. */
  key: string;
  /** The header's value, or null. */
  value: Uint8Array<ArrayBuffer> | null;
}

/**
 * A header to write: strings are encoded as UTF-8.
 *
 * @example
 * ```ts
 * import type { HeaderInput, MessageInput } from "jsr:@streamkafka/client";
 *
 * const headers: HeaderInput[] = [{ key: "content-type", value: "json" }];
 * const message: MessageInput = { value: "{}", headers };
 * console.log(message.headers?.length); // 1
 * ```
 */
export interface HeaderInput {
  /** The header's name; names may repeat within a message. */
  key: string;
  /** The header's value, or null. */
  value: Uint8Array | string | null;
}

/** A message read from Kafka. `key` and `value` may be views into a fetch buffer. */
export interface Message {
  /** The topic the message was read from. */
  topic: string;
  /** The partition the message was read from. */
  partition: number;
  /** The message's offset in its partition. */
  offset: number;
  /** The partition's high watermark when this message was fetched. */
  highWaterMark: number;
  /** The key, or null for a message without one. */
  key: Uint8Array<ArrayBuffer> | null;
  /** The value, or null (a tombstone on a compacted topic). */
  value: Uint8Array<ArrayBuffer> | null;
  /** The headers, in the order they were written. */
  headers: Header[];
  /** The record's time: create time, or log append time per the topic. */
  time: Date;
}

/** What a write accepts: strings are encoded as UTF-8, a missing time is now. */
export interface MessageInput {
  /**
   * The topic to write to, for a Writer without a topic of its own. A Writer
   * with one rejects a message that sets another (a message read from Kafka
   * excepted); a Conn rejects one that differs from its own.
   */
  topic?: string | undefined;
  /**
   * The partition to write to, a whole number from 0: set, the Writer's
   * balancer is not asked, as with a partition in Java's `ProducerRecord`.
   * A partition the topic does not have fails the write, after one fresh
   * look at the metadata (for partitions just added). A message read from
   * Kafka names where it came from, and is balanced like any other; a Conn
   * rejects a message whose partition differs from its own.
   */
  partition?: number | undefined;
  /** The key (default null): balancers that hash keys route by it. */
  key?: Uint8Array | string | null | undefined;
  /** The value (default null). */
  value?: Uint8Array | string | null | undefined;
  /** Headers, in order; names may repeat. */
  headers?: readonly HeaderInput[] | undefined;
  /** The record's timestamp (default: when the write was called). */
  time?: Date | undefined;
}

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
  if (typeof value === "string") return utf8Bytes(value);
  throw new TypeError(
    `Cannot write message ${index}: "${field}" must be a Uint8Array, a string or null, got ${
      describeValue(value)
    }`,
  );
}

/**
 * Whether `message` was read from Kafka (it has an offset): its topic and
 * partition say where it came from, not where to write it.
 */
export function wasRead(message: unknown): boolean {
  return typeof (message as { offset?: unknown } | null)?.offset === "number";
}

/** Throws a TypeError unless `message` is an object. */
export function checkMessage(message: unknown, index: number): void {
  if (message === null || typeof message !== "object") {
    throw new TypeError(
      `Cannot write message ${index}: expected an object, got ${
        describeValue(message)
      }`,
    );
  }
}

/**
 * The fields a message may have: what a write takes, and what a message read
 * from Kafka carries besides (a mirror writes those; a share group's
 * messages also say how often they were handed out).
 */
const MESSAGE_FIELDS: ReadonlySet<string> = new Set([
  "topic",
  "key",
  "value",
  "headers",
  "time",
  "partition",
  "offset",
  "highWaterMark",
  "deliveryCount",
]);

/** The fields a header may have. */
const HEADER_FIELDS: ReadonlySet<string> = new Set(["key", "value"]);

/**
 * Throws a TypeError naming a field of `message` that no message has, with
 * what was probably meant: `{ value, partiton: 1 }` would go where the
 * balancer says, `{ valeu: "x" }` would be a tombstone. Every message is
 * checked: the names are compared in a `switch`, about 10 ns a message,
 * and the error is built only on failure.
 */
export function checkFields(message: object, index: number): void {
  for (const name in message) {
    switch (name) {
      case "value":
      case "key":
      case "headers":
      case "time":
      case "topic":
      case "partition":
      case "offset":
      case "highWaterMark":
      case "deliveryCount":
        continue;
    }
    if (Array.isArray(message) || ArrayBuffer.isView(message)) {
      throw new TypeError(
        `Cannot write message ${index}: expected a message object { key, value, ... }, got ${
          describeValue(message)
        }${
          Array.isArray(message)
            ? " (a list of messages goes whole as the first argument, or spread)"
            : " (put bytes in its value: { value: bytes })"
        }`,
      );
    }
    if (name === "signal") {
      throw new TypeError(
        `Cannot write message ${index}: it has a "signal", a call's option: pass the messages as an array and the options after it, writeMessages([...messages], { signal })`,
      );
    }
    // Names it by its own fields (an inherited or undefined one passes).
    checkOptionNames(
      `Cannot write message ${index}`,
      message,
      MESSAGE_FIELDS,
      {},
      "field",
    );
    return;
  }
}

/** Converts a user message to a record, with `now` for a missing time. */
export function toRecord(
  message: MessageInput,
  now: number,
  index = 0,
): RecordInput {
  checkMessage(message, index);
  checkFields(message, index);
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
      `Cannot write message ${index}: "headers" must be an array of { key, value }, got ${
        describeValue(headers)
      }`,
    );
  }
  // By index, not `map`: a hole is a missing header, not one to skip.
  const out: RecordHeader[] = new Array(headers.length);
  for (let i = 0; i < headers.length; i++) {
    const header = headers[i];
    if (header === null || typeof header !== "object") {
      throw new TypeError(
        `Cannot write message ${index}: "headers[${i}]" must be an object { key, value }, got ${
          describeValue(header)
        }`,
      );
    }
    for (const name in header) {
      if (name !== "key" && name !== "value") {
        checkOptionNames(
          `Cannot write message ${index}: "headers[${i}]"`,
          header,
          HEADER_FIELDS,
          {},
          "field",
        );
      }
    }
    if (typeof header.key !== "string") {
      throw new TypeError(
        `Cannot write message ${index}: "headers[${i}].key" must be a string, got ${
          describeValue(header.key)
        }`,
      );
    }
    out[i] = {
      key: header.key,
      value: toBytes(header.value, `headers[${i}].value`, index),
    };
  }
  return out;
}

/**
 * The partition a message asks for, or -1 when it leaves the choice to the
 * balancer (`partition` undefined or null). Throws a TypeError or RangeError
 * naming the message for anything but a whole number from 0 to 2^31 - 1.
 */
export function askedPartition(partition: unknown, index: number): number {
  if (partition === undefined || partition === null) return -1;
  if (
    typeof partition === "number" && Number.isInteger(partition) &&
    partition >= 0 && partition <= 0x7fffffff
  ) {
    return partition;
  }
  const Failure = typeof partition === "number" ? RangeError : TypeError;
  throw new Failure(
    `Cannot write message ${index}: "partition" must be a whole number from 0 to 2147483647, or undefined to let the balancer choose; got ${
      describeValue(partition)
    }`,
  );
}

/** "(it has 3: 0 to 2)": the partitions a topic has, for error messages. */
export function partitionsText(count: number): string {
  return `(it has ${count}: ${count === 1 ? "0" : `0 to ${count - 1}`})`;
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
        describeValue(time)
      }`,
    );
  }
  return ms;
}

/**
 * A topic's partition: where a message lives, what a group member owns,
 * what an admin call is about.
 *
 * @example
 * ```ts
 * import type { TopicPartition } from "./message.ts";
 *
 * const tp: TopicPartition = { topic: "orders", partition: 3 };
 * console.log(`${tp.topic}/${tp.partition}`);
 * ```
 */
export interface TopicPartition {
  /** The topic's name. */
  topic: string;
  /** The partition number, from 0. */
  partition: number;
}

/**
 * Orders partitions by topic, then number (for `Array.prototype.sort`).
 *
 * @example
 * ```ts
 * import { byTopicPartition } from "./message.ts";
 *
 * const sorted = [{ topic: "b", partition: 0 }, { topic: "a", partition: 1 }]
 *   .sort(byTopicPartition);
 * console.log(sorted[0].topic); // a
 * ```
 */
export function byTopicPartition(a: TopicPartition, b: TopicPartition): number {
  if (a.topic !== b.topic) return a.topic < b.topic ? -1 : 1;
  return a.partition - b.partition;
}

/**
 * A partition a group Reader owns and an offset there: where `reader.seek`
 * moves it (the next message to hand out, or FirstOffset (-2) or
 * LastOffset (-1)), or what `reader.commitOffsets` commits (the next
 * message to read).
 *
 * @example
 * ```ts
 * import type { SeekPosition } from "./message.ts";
 *
 * const replay: SeekPosition = { topic: "orders", partition: 3, offset: 1200 };
 * console.log(replay.offset);
 * ```
 */
export interface SeekPosition extends TopicPartition {
  /** The offset of the next message to hand out or read. */
  offset: number;
}

/**
 * The consumer group whose offsets a transaction commits, with the member
 * that read them, so that a member the group has moved on from is fenced
 * (KIP-447). `Reader.groupMetadata()` gives it for a group Reader.
 *
 * @example
 * ```ts
 * import type { GroupMetadata } from "./message.ts";
 *
 * const group: GroupMetadata = {
 *   groupId: "orders-enricher",
 *   generationId: 3,
 *   memberId: "reader-1-5f0c",
 *   groupInstanceId: null,
 * };
 * console.log(group.groupId);
 * ```
 */
export interface GroupMetadata {
  /** The consumer group. */
  groupId: string;
  /** The generation (classic) or member epoch (consumer protocol); -1: not checked. */
  generationId: number;
  /** The member id the coordinator gave; "": not checked. */
  memberId: string;
  /** The static member's instance id (KIP-345), or null. */
  groupInstanceId: string | null;
}
