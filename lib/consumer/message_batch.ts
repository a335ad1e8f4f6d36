/**
 * A batch of messages of one partition, as `Reader.batches()` hands them
 * out: the rest of one fetched response's records for that partition.
 *
 * @module
 */

import type { Message } from "../message.ts";

/**
 * Consecutive messages of one topic-partition, in offset order, for users
 * who process records in bulk (`reader.batches()`). Each message decodes its
 * key, value, headers and time only when read.
 *
 * @example
 * ```ts
 * import { Reader, Writer } from "jsr:@streamkafka/client";
 *
 * const brokers = ["localhost:9092"];
 * const topic = "docs-message-batch";
 * const writer = new Writer({ brokers, topic, allowAutoTopicCreation: true });
 * await writer.writeMessages({ value: "one" }, { value: "two" });
 * await writer.close();
 *
 * const reader = new Reader({ brokers, topic, partition: 0 });
 * for await (const batch of reader.batches()) {
 *   console.log(batch.partition, batch.firstOffset, batch.messages.length);
 *   // Caught up: leaving the loop closes the Reader.
 *   if (batch.lastOffset + 1 === batch.highWaterMark) break;
 * }
 * ```
 */
export interface MessageBatch {
  /** The topic the messages were read from. */
  readonly topic: string;
  /** The partition the messages were read from. */
  readonly partition: number;
  /** The partition's high watermark when the messages were fetched. */
  readonly highWaterMark: number;
  /** The offset of the first message. */
  readonly firstOffset: number;
  /** The offset of the last message. */
  readonly lastOffset: number;
  /** The messages, at least one, in offset order. */
  readonly messages: readonly Message[];
}

/** A batch of `first` and the messages that follow it. */
export function messageBatch(first: Message, rest: Message[]): MessageBatch {
  rest.unshift(first);
  return {
    topic: first.topic,
    partition: first.partition,
    highWaterMark: first.highWaterMark,
    firstOffset: first.offset,
    lastOffset: rest[rest.length - 1].offset,
    messages: rest,
  };
}
