/**
 * The messages of one Conn fetch, as a stream.
 *
 * @module
 */

import type { Message } from "../message.ts";
import type { FetchedMessages } from "../consumer/fetched.ts";

/** A batch of fetched messages, readable as a stream. */
export class Batch extends ReadableStream<Message> {
  /** The partition's high watermark when the batch was fetched. */
  readonly highWaterMark: number;
  private readonly last: () => number;

  constructor(messages: FetchedMessages, onRead: (m: Message) => void) {
    let count = 0;
    super({
      pull(controller) {
        const message = messages.next();
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
