/**
 * The messages of one Conn fetch, as a stream.
 *
 * @module
 */

import type { Message } from "../message.ts";
import type { FetchedMessages } from "../requests/fetched.ts";

/**
 * The messages of one `Conn.readBatch` fetch, as a stream. Reading a message
 * moves the Conn's offset past it. One batch of a Conn is read at a time:
 * the next `readBatch`, `readMessage` or `seek` ends it where it was read
 * to, and reads on from there.
 *
 * @example Read what one fetch returned
 * ```ts
 * import { dialLeader, SeekEnd } from "jsr:@streamkafka/client";
 *
 * const conn = await dialLeader("localhost:9092", "docs-batch", 0);
 * await conn.writeMessages({ value: "one" }, { value: "two" });
 * await conn.seek(-2, SeekEnd);
 * const batch = await conn.readBatch({ maxWait: 1000 });
 * for await (const message of batch) {
 *   console.log(message.offset, new TextDecoder().decode(message.value!));
 * }
 * console.log(batch.read, "messages, high watermark", batch.highWaterMark);
 * conn.close();
 * ```
 */
export class Batch extends ReadableStream<Message> {
  /** The partition's high watermark when the batch was fetched. */
  readonly highWaterMark: number;
  private readonly last: () => number;

  /**
   * @internal Batches come from `Conn.readBatch`. Once `turn.ended` is set
   * (the Conn began another read or a seek), the batch ends where it was
   * read to.
   */
  constructor(
    messages: FetchedMessages,
    onRead: (m: Message) => void,
    turn: { ended: boolean },
  ) {
    let count = 0;
    super({
      pull(controller) {
        const message = turn.ended ? undefined : messages.next();
        if (message === undefined) {
          controller.close();
          return;
        }
        count++;
        onRead(message);
        controller.enqueue(message);
      },
    }, { highWaterMark: 0 });
    this.highWaterMark = messages.highWaterMark;
    this.last = () => count;
  }

  /** How many messages were handed out so far. */
  get read(): number {
    return this.last();
  }
}
