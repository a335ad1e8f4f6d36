/**
 * `reader.pipeTo(writer)` a batch at a time: when the destination offers a
 * bulk sink (a Writer does), the Reader hands it each fetched batch's
 * messages in one call instead of a stream write per message. What the
 * platform's pipe promises holds the same way: both ends are locked while
 * piping; the source's end closes the destination unless `preventClose`;
 * the source's error aborts it unless `preventAbort`; the destination's
 * error cancels the source unless `preventCancel`; `signal` stops the pipe
 * with its reason (after the messages already handed over are written,
 * when `preventAbort`).
 *
 * @module
 */

import type { BulkSink } from "../bulk_sink.ts";
import type { MessageBatch } from "./message_batch.ts";
import type { Consumption } from "./group/engine.ts";

/** What the pipe needs of the Reader. */
export interface BatchSource {
  batches(options: { preventCancel?: boolean }): ReadableStream<MessageBatch>;
}

/** How the pump stopped. */
type Ending =
  | { kind: "done" }
  | { kind: "source"; error: unknown }
  | { kind: "dest"; error: unknown }
  | { kind: "abort"; reason: unknown };

const ignore = () => {};

/**
 * Pipes `source` into `dest` through its bulk sink. `consumption` takes a
 * group Reader's commits over, to mark what `dest` acknowledged as
 * consumed (null for a Reader with no commits).
 */
export async function pipeToBulkSink(
  source: BatchSource,
  dest: WritableStream<never>,
  sink: BulkSink,
  options: StreamPipeOptions,
  consumption: (drain: () => Promise<void>) => Consumption | null = () => null,
): Promise<void> {
  const { preventClose = false, preventAbort = false, signal } = options;
  const writer = dest.getWriter();
  const batches = source.batches({ preventCancel: options.preventCancel })
    .getReader();
  const acked = new Acknowledged();
  acked.start(consumption(() => acked.drained()));
  try {
    const ending = await pump(batches, sink, signal, acked);
    switch (ending.kind) {
      case "done":
        if (!preventClose) await writer.close();
        else await settled(sink);
        return;
      case "source":
        if (!preventAbort) await writer.abort(ending.error).catch(ignore);
        throw ending.error;
      case "dest":
        sink.fail(ending.error);
        await batches.cancel(ending.error).catch(ignore);
        throw ending.error;
      case "abort":
        if (preventAbort) await sink.settled();
        else await writer.abort(ending.reason).catch(ignore);
        await batches.cancel(ending.reason).catch(ignore);
        throw ending.reason;
    }
  } finally {
    acked.release();
    writer.releaseLock();
    batches.releaseLock();
  }
}

/**
 * Marks a group Reader's batches consumed once the Writer acknowledged
 * them, in the order they were handed over: a batch whose write failed,
 * and every one after it, stays unmarked, so its messages are read again
 * (at least once). Without it a batch would count as consumed as soon as
 * the next one was read, while its messages might still wait in the
 * Writer's buffer.
 */
class Acknowledged {
  private consumption: Consumption | null = null;
  /**
   * The last message of each batch handed over, in order, and whether its
   * write was acknowledged and then marked (not the batch itself: that
   * would keep its fetched bytes alive until then).
   */
  private readonly pending: Entry[] = [];
  /** Callers of `drained`, each waiting for one entry to be marked. */
  private drainWaiters: { entry: Entry; wake: () => void }[] = [];
  private stopped = false;

  /** Marks through `consumption` from now on (null: nothing to mark). */
  start(consumption: Consumption | null): void {
    this.consumption = consumption;
  }

  /**
   * Resolves once every write handed over so far is acknowledged and
   * marked (later ones are not waited for), or one failed, or the pipe
   * ended.
   */
  drained(): Promise<void> {
    const entry = this.pending.at(-1);
    if (this.stopped || entry === undefined) return Promise.resolve();
    return new Promise((wake) => this.drainWaiters.push({ entry, wake }));
  }

  private wakeDrainers(): void {
    if (this.drainWaiters.length === 0) return;
    const waiting = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiting) {
      if (this.stopped || w.entry.state === "marked") w.wake();
      else this.drainWaiters.push(w);
    }
  }

  /** Follows the outcome of one batch's write. */
  follow(batch: MessageBatch, written: Promise<void>): void {
    if (this.consumption === null) {
      written.catch(ignore);
      return;
    }
    const entry: Entry = {
      last: {
        topic: batch.topic,
        partition: batch.partition,
        offset: batch.lastOffset,
      },
      state: "written",
    };
    this.pending.push(entry);
    written.then(() => {
      entry.state = "acked";
      this.markReady();
    }, () => {
      this.stopped = true;
      this.wakeDrainers();
    });
  }

  private markReady(): void {
    while (!this.stopped && this.pending[0]?.state === "acked") {
      const entry = this.pending.shift()!;
      entry.state = "marked";
      this.consumption!.consumed(entry.last);
    }
    this.wakeDrainers();
  }

  /** Gives the marking back to the Reader; later outcomes mark nothing. */
  release(): void {
    this.stopped = true;
    this.wakeDrainers();
    this.consumption?.release();
  }
}

/** A batch handed to the Writer, until it is marked consumed. */
interface Entry {
  last: { topic: string; partition: number; offset: number };
  state: "written" | "acked" | "marked";
}

/** Moves batches until the source ends or fails, the sink fails, or `signal` fires. */
async function pump(
  batches: ReadableStreamDefaultReader<MessageBatch>,
  sink: BulkSink,
  signal: AbortSignal | undefined,
  acked: Acknowledged,
): Promise<Ending> {
  while (true) {
    let result: ReadableStreamReadResult<MessageBatch> | Stop;
    try {
      result = await unlessStopped(batches.read(), sink, signal);
    } catch (error) {
      return { kind: "source", error };
    }
    if (result === ABORTED) return { kind: "abort", reason: signal!.reason };
    if (result === FAILED) return { kind: "dest", error: sink.failure() };
    if (result.done) return { kind: "done" };
    try {
      acked.follow(result.value, sink.write(result.value.messages));
    } catch (error) {
      return { kind: "dest", error };
    }
    const room = await unlessStopped(sink.ready(), sink, signal);
    if (room === ABORTED) return { kind: "abort", reason: signal!.reason };
    if (room === FAILED) return { kind: "dest", error: sink.failure() };
  }
}

const ABORTED = Symbol("aborted");
const FAILED = Symbol("failed");
type Stop = typeof ABORTED | typeof FAILED;

/**
 * `promise`, or ABORTED as soon as `signal` fires, or FAILED as soon as a
 * write fails. The listeners live for one wait only: a promise raced
 * against a long-lived one would keep every value it ever resolved with
 * (each fetched batch) reachable.
 */
function unlessStopped<T>(
  promise: Promise<T>,
  sink: BulkSink,
  signal: AbortSignal | undefined,
): Promise<T | Stop> {
  if (signal?.aborted) {
    promise.catch(ignore);
    return Promise.resolve(ABORTED);
  }
  return new Promise((resolve, reject) => {
    let settled = false;
    let stopListening = ignore;
    const onAbort = () => stop(ABORTED);
    const done = () => {
      signal?.removeEventListener("abort", onAbort);
      stopListening();
    };
    const stop = (why: Stop) => {
      if (settled) return;
      settled = true;
      done();
      promise.catch(ignore);
      resolve(why);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    stopListening = sink.onFailure(() => stop(FAILED));
    promise.then((value) => {
      if (settled) return;
      settled = true;
      done();
      resolve(value);
    }, (error) => {
      if (settled) return;
      settled = true;
      done();
      reject(error);
    });
  });
}

/** Every write settled; rejects with the first failure. */
async function settled(sink: BulkSink): Promise<void> {
  await sink.settled();
  const failure = sink.failure();
  if (failure !== null) throw failure;
}
