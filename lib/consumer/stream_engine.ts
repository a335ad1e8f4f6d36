/**
 * What the partition and group engines share as the source of a Reader's
 * stream: the stream's controller, the messages pull() put in its queue,
 * and one way to end, by a failure or by close, each once.
 *
 * @module
 */

import { ClosedError, messageOf } from "../connection/errors.ts";
import type { Message } from "../message.ts";
import type { ClientTelemetry } from "../cluster/telemetry.ts";

/** The base of `PartitionEngine` and `GroupEngine`. */
export abstract class StreamEngine {
  /** Set by the Reader: whether its stream has a reader attached. */
  isLocked: () => boolean = () => false;
  protected controller!: ReadableStreamDefaultController<Message>;
  /** The stream's own queue may hold a message: pull() enqueued one since. */
  private enqueued = false;
  protected state: "open" | "errored" | "closed" = "open";
  /** The failure the stream ended with. */
  protected failure: Error | null = null;
  private closing: Promise<void> | null = null;
  /** The Reader's client telemetry (KIP-714); null when off. */
  protected telemetry: ClientTelemetry | null = null;

  attach(controller: ReadableStreamDefaultController<Message>): void {
    this.controller = controller;
  }

  protected enqueue(message: Message): void {
    this.enqueued = true;
    this.controller.enqueue(message);
  }

  /**
   * Whether the stream's own queue may still hold a message, which comes
   * before any the engine has ready. Only pull() fills it, so its
   * `desiredSize` is asked once after each pull, not per message.
   */
  protected streamHolds(): boolean {
    if (!this.enqueued) return false;
    if (this.controller.desiredSize !== 0) return true;
    this.enqueued = false;
    return false;
  }

  checkNotClosed(what: string): void {
    if (this.state === "closed") {
      throw new ClosedError(`Cannot ${what}: the Reader is closed`);
    }
  }

  /** Throws a ClosedError unless the Reader is open and has not failed. */
  protected checkOpen(what: string): void {
    this.checkNotClosed(what);
    if (this.state === "errored") {
      throw new ClosedError(
        `Cannot ${what}: the Reader failed: ${messageOf(this.failure)}`,
      );
    }
  }

  /** Ends the stream with `error` (once, while open) and lets go of all. */
  protected fail(error: Error): void {
    if (this.state !== "open") return;
    this.state = "errored";
    this.failure = error;
    this.failed(error);
    try {
      this.controller.error(error);
    } catch {
      // Already closed.
    }
    this.closing ??= this.end();
  }

  /** Closes: a read in progress ends as the end of the stream. */
  close(): Promise<void> {
    if (this.closing === null) {
      this.state = "closed";
      this.closing = this.end();
      try {
        this.controller.close();
      } catch {
        // Already closed (cancel) or errored.
      }
    }
    return this.closing;
  }

  /** See `Reader.clientInstanceId`. */
  clientInstanceId(timeout: number): Promise<string | null> {
    return this.telemetry?.whenInstanceId(timeout) ?? Promise.resolve(null);
  }

  /** The telemetry's last push (it never rejects), then `release()`. */
  private async end(): Promise<void> {
    try {
      await this.telemetry?.close();
    } finally {
      await this.release();
    }
  }

  /** Told of the failure the stream ends with, before the stream is. */
  protected failed(_error: Error): void {}

  /** Lets go of what the engine holds: after a failure, or on close. */
  protected abstract release(): Promise<void>;
}
