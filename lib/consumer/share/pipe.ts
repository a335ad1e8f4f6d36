/**
 * What a ShareReader's pipe into a Writer does with the records it hands
 * over: each batch is accepted once the Writer acknowledged it, and
 * released (to be handed out again) when its write failed. At least once:
 * a member that dies meanwhile leaves its records to come back when their
 * locks run out.
 *
 * @module
 */

import type { MessageBatch } from "../message_batch.ts";
import type { Tracker, Verdict } from "../pipe.ts";
import type { ShareMessage } from "./options.ts";

/** How the tracker acknowledges, and gives acknowledging back. */
export interface ShareAcknowledging {
  acknowledge(messages: readonly ShareMessage[], taken: boolean): void;
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

  follow(batch: MessageBatch, written: Promise<unknown>): void {
    const messages = batch.messages as readonly ShareMessage[];
    const done = written.then(
      () => this.acks.acknowledge(messages, true),
      () => this.acks.acknowledge(messages, false),
    ).catch(ignore).finally(() => this.open.delete(done));
    this.open.add(done);
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
