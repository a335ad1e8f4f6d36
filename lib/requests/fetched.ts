/**
 * The messages of one Fetch response, made one at a time as they are taken:
 * what the Reader queues and what a Conn's Batch hands out.
 *
 * @module
 */

import type { Header, Message } from "../message.ts";
import type { RecordCursors } from "../protocol/read_records.ts";
import type { RecordCursor } from "../protocol/records.ts";

/** Which partition the records came from, and how to hand them out. */
export interface FetchedFrom {
  topic: string;
  partition: number;
  highWaterMark: number;
  /** Copy keys, values and header values out of the response. */
  copyValues?: boolean;
}

/**
 * Messages decoded on demand from checked record cursors. A message that is
 * never taken (the reader seeks away, or closes) is never decoded, and each
 * one taken is garbage as soon as its consumer drops it.
 */
export class FetchedMessages {
  /** Messages not yet taken. */
  remaining: number;
  readonly highWaterMark: number;
  private readonly cursors: RecordCursor[];
  private at = 0;
  private readonly topic: string;
  private readonly partition: number;
  private readonly copy: boolean;

  constructor(found: RecordCursors, from: FetchedFrom) {
    this.cursors = found.cursors;
    this.remaining = found.count;
    this.topic = from.topic;
    this.partition = from.partition;
    this.highWaterMark = from.highWaterMark;
    this.copy = from.copyValues === true;
  }

  /** The next message, or undefined when all were taken. */
  next(): Message | undefined {
    let cursor = this.cursors[this.at];
    while (cursor !== undefined) {
      if (cursor.next()) {
        this.remaining--;
        return this.copy ? this.copied(cursor) : this.viewed(cursor);
      }
      cursor = this.cursors[++this.at];
    }
    return undefined;
  }

  private viewed(c: RecordCursor): Message {
    return {
      topic: this.topic,
      partition: this.partition,
      offset: c.offset,
      highWaterMark: this.highWaterMark,
      key: c.key,
      value: c.value,
      headers: c.headers as Header[],
      time: new Date(c.timestamp),
    };
  }

  private copied(c: RecordCursor): Message {
    return {
      topic: this.topic,
      partition: this.partition,
      offset: c.offset,
      highWaterMark: this.highWaterMark,
      key: copyBytes(c.key),
      value: copyBytes(c.value),
      headers: c.headers.map(copyHeader),
      time: new Date(c.timestamp),
    };
  }
}

function copyBytes(bytes: Uint8Array | null): Uint8Array | null {
  return bytes === null ? null : bytes.slice();
}

function copyHeader(header: Header): Header {
  return { key: header.key, value: copyBytes(header.value) };
}
