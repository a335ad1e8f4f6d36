/**
 * What a ShareReader's pipe into a Writer (or a Processor) does with the
 * records it hands over: each batch is accepted once the Writer
 * acknowledged it, and released (to be handed out again) when its write
 * failed. A Processor's batch is accepted as it is processed, its first
 * records while later ones still wait: their locks do not run out with the
 * rest of the batch. At least once: a member that dies meanwhile leaves
 * its records to come back when their locks run out.
 *
 * @module
 */

import type { MessageBatch } from "../message_batch.ts";
import type { Progress, Tracker, Verdict } from "../pipe.ts";
import type { ShareMessage } from "./options.ts";

/** How the tracker acknowledges, and gives acknowledging back. */
export interface ShareAcknowledging {
  /** Accepts (`taken`) or releases `messages` from `from` to `to`. */
  acknowledge(
    messages: readonly ShareMessage[],
    taken: boolean,
    from: number,
    to: number,
  ): void;
  release(): void;
}

const ignore = () => {};

/** Acknowledges each batch by the outcome of its write. */
export class ShareAcknowledged implements Tracker {
  private readonly acks: ShareAcknowledging;
  private readonly open = new Set<Promise<void>>();

  constructor(acks: ShareAcknowledging) {
    this.acks = acks;
  }

  verdict(): Verdict {
    return "write";
  }

  ready(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Accepts the batch's records as the write's progress tells they are
   * processed in order, and the rest by its outcome.
   */
  follow(batch: MessageBatch, written: Promise<unknown>): Progress {
    const messages = batch.messages as readonly ShareMessage[];
    /** How many of the first records are accepted already. */
    let accepted = 0;
    const settle = (taken: boolean) => {
      const from = accepted;
      accepted = messages.length;
      this.acks.acknowledge(messages, taken, from, messages.length);
    };
    const done = written.then(() => settle(true), () => settle(false))
      .catch(ignore).finally(() => this.open.delete(done));
    this.open.add(done);
    return (offset) => {
      let to = accepted;
      while (to < messages.length && messages[to].offset <= offset) to++;
      if (to === accepted) return;
      this.acks.acknowledge(messages, true, accepted, to);
      accepted = to;
    };
  }

  /** Resolves once every write handed over so far is acknowledged. */
  async drained(): Promise<void> {
    await Promise.all(this.open);
  }

  failure(): null {
    return null;
  }

  onFailure(): () => void {
    return ignore;
  }

  /** Keeping what was handed over waits for its writes' outcomes. */
  finish(keep: boolean): Promise<void> {
    return keep ? this.drained() : Promise.resolve();
  }

  release(): void {
    this.acks.release();
  }
}
