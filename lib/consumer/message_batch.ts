/**
 * A batch of messages of one partition, as `Reader.batches()` hands them
 * out: the rest of one fetched response's records for that partition.
 *
 * @module
 */

import type { Header, Message } from "../message.ts";
import type { FetchedRun } from "../requests/fetched.ts";

/**
 * Consecutive messages of one topic-partition, in offset order, for users
 * who process records in bulk (`reader.batches()`). Read them by index —
 * `value(i)`, `key(i)`, `offset(i)`, `headers(i)`, `timestamp(i)` — and no
 * object is made per message: each call decodes just what it returns, from
 * the fetched bytes. Or read `messages`, made (once) when first asked for,
 * each message decoding its key, value, headers and time when read.
 * `M` is the type of those messages: `ShareMessage` from a ShareReader.
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
 * let bytes = 0;
 * for await (const batch of reader.batches()) {
 *   for (let i = 0; i < batch.length; i++) bytes += batch.value(i)?.length ?? 0;
 *   console.log(batch.partition, batch.firstOffset, batch.messages.length);
 *   // Caught up: leaving the loop closes the Reader.
 *   if (batch.lastOffset + 1 === batch.highWaterMark) break;
 * }
 * console.log(bytes); // 6
 * ```
 */
export interface MessageBatch<M extends Message = Message> {
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
  /** How many messages the batch holds: at least one. */
  readonly length: number;
  /** The messages, in offset order, made when first asked for. */
  readonly messages: readonly M[];
  /** The offset of message `i` (0 to `length - 1`). */
  offset(i: number): number;
  /** The key of message `i`: a view into the fetched bytes, or null. */
  key(i: number): Uint8Array<ArrayBuffer> | null;
  /** The value of message `i`: a view into the fetched bytes, or null. */
  value(i: number): Uint8Array<ArrayBuffer> | null;
  /** The headers of message `i`, decoded anew on each call. */
  headers(i: number): Header[];
  /** The time of message `i`, in milliseconds since the epoch. */
  timestamp(i: number): number;
}

/** A batch of `first` and the run of records that follows it. */
export function messageBatch(
  first: Message,
  rest: FetchedRun | null,
): MessageBatch {
  return new RunBatch(first, rest);
}

/** Message 0 is the one taken first; the others are read from the run. */
class RunBatch implements MessageBatch {
  readonly topic: string;
  readonly partition: number;
  readonly highWaterMark: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly length: number;
  readonly #first: Message;
  readonly #rest: FetchedRun | null;
  #messages: Message[] | undefined = undefined;

  constructor(first: Message, rest: FetchedRun | null) {
    this.topic = first.topic;
    this.partition = first.partition;
    this.highWaterMark = first.highWaterMark;
    this.firstOffset = first.offset;
    this.lastOffset = rest === null
      ? first.offset
      : rest.offset(rest.length - 1);
    this.length = 1 + (rest?.length ?? 0);
    this.#first = first;
    this.#rest = rest;
  }

  get messages(): readonly Message[] {
    if (this.#messages === undefined) {
      const out: Message[] = new Array(this.length);
      out[0] = this.#first;
      for (let i = 1; i < out.length; i++) out[i] = this.#rest!.message(i - 1);
      this.#messages = out;
    }
    return this.#messages;
  }

  offset(i: number): number {
    return i === 0 ? this.#first.offset : this.#run(i).offset(i - 1);
  }

  key(i: number): Uint8Array<ArrayBuffer> | null {
    return i === 0 ? this.#first.key : this.#run(i).key(i - 1);
  }

  value(i: number): Uint8Array<ArrayBuffer> | null {
    return i === 0 ? this.#first.value : this.#run(i).value(i - 1);
  }

  headers(i: number): Header[] {
    return i === 0 ? this.#first.headers : this.#run(i).headers(i - 1);
  }

  timestamp(i: number): number {
    return i === 0 ? this.#first.time.getTime() : this.#run(i).timestamp(i - 1);
  }

  /** The run, for message `i` past the first; an index out of range throws. */
  #run(i: number): FetchedRun {
    if (
      this.#rest === null || !(Number.isInteger(i) && i > 0 && i < this.length)
    ) {
      throw new RangeError(
        `message index ${i} (${typeof i}) is outside 0..${
          this.length - 1
        } of this batch`,
      );
    }
    return this.#rest;
  }
}

/** A batch of messages made already (consecutive, of one partition). */
export function arrayBatch<M extends Message>(
  messages: readonly M[],
): MessageBatch<M> {
  return new ArrayBatch(messages);
}

class ArrayBatch<M extends Message> implements MessageBatch<M> {
  readonly topic: string;
  readonly partition: number;
  readonly highWaterMark: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly length: number;
  readonly messages: readonly M[];

  constructor(messages: readonly M[]) {
    const first = messages[0];
    this.topic = first.topic;
    this.partition = first.partition;
    this.highWaterMark = first.highWaterMark;
    this.firstOffset = first.offset;
    this.lastOffset = messages[messages.length - 1].offset;
    this.length = messages.length;
    this.messages = messages;
  }

  offset(i: number): number {
    return this.#at(i).offset;
  }

  key(i: number): Uint8Array<ArrayBuffer> | null {
    return this.#at(i).key;
  }

  value(i: number): Uint8Array<ArrayBuffer> | null {
    return this.#at(i).value;
  }

  headers(i: number): Header[] {
    return this.#at(i).headers;
  }

  timestamp(i: number): number {
    return this.#at(i).time.getTime();
  }

  #at(i: number): Message {
    const message = this.messages[i];
    if (message === undefined || !Number.isInteger(i)) {
      throw new RangeError(
        `message index ${i} (${typeof i}) is outside 0..${
          this.length - 1
        } of this batch`,
      );
    }
    return message;
  }
}

/** How a batch stream takes its batches from a Reader or ShareReader. */
export interface BatchTaker<M extends Message> {
  /** A message ready without going through the stream, if any. */
  queued(): M | undefined;
  /** The batch that starts with `first`: the rest of its partition's records. */
  batch(first: M): MessageBatch<M>;
  /** The next batch is asked for: the one before is processed. */
  asked?(): void;
  /** The loop reading the batches ended: the last one is processed. */
  ended(): void;
}

/**
 * The batches of the stream `reader` reads (which it keeps locked until the
 * batches end): `batches()` of a Reader or a ShareReader. Cancelling it
 * cancels the stream, unless `preventCancel`.
 */
export function batchStream<M extends Message>(
  reader: ReadableStreamDefaultReader<M>,
  taker: BatchTaker<M>,
  options: { preventCancel?: boolean | undefined },
): ReadableStream<MessageBatch<M>> {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    reader.releaseLock();
  };
  return new ReadableStream<MessageBatch<M>>({
    async pull(controller) {
      taker.asked?.();
      let first = taker.queued();
      if (first === undefined) {
        let result: ReadableStreamReadResult<M>;
        try {
          result = await reader.read();
        } catch (error) {
          release();
          throw error;
        }
        if (result.done) {
          release();
          controller.close();
          return;
        }
        first = result.value;
      }
      controller.enqueue(taker.batch(first));
    },
    async cancel(reason) {
      // The loop body finished with the last batch.
      taker.ended();
      if (!released && options.preventCancel !== true) {
        await reader.cancel(reason);
      }
      release();
    },
  }, { highWaterMark: 0 });
}
