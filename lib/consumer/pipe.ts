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
 * Into a transactional Writer the batches go in transactions that carry
 * the group's offsets (`pipe_transactions.ts`): exactly once. Into any
 * other, a group's batches count as consumed once the Writer acknowledged
 * them: at least once.
 *
 * @module
 */

import { type BulkSink, bulkSinkOf } from "../bulk_sink.ts";
import type {
  Message,
  MessageInput,
  SeekPosition,
  TopicPartition,
} from "../message.ts";
import { checkStreamOptions } from "../options.ts";
import type { MessageBatch } from "./message_batch.ts";
import type { PipeMap, ReaderPipeOptions } from "./options.ts";
import type { ReaderTracing } from "../tracing/reader.ts";

/** What the pipe needs of the Reader. */
export interface BatchSource {
  batches(
    options: { preventCancel?: boolean | undefined },
  ): ReadableStream<MessageBatch>;
}

/**
 * A Reader's tracing, for a sink that traces each message's work (a
 * Processor), and its batches without the batch spans of `batches()`.
 */
export interface TracedSource {
  tracing: ReaderTracing;
  untraced: BatchSource;
}

/**
 * What a group calls before it revokes partitions: resolves once what the
 * pipe handed over is settled. `giveUp` aborts when the group stops
 * waiting for that.
 */
export type Drain = (
  revoked: readonly TopicPartition[],
  giveUp?: AbortSignal,
) => Promise<void>;

/** Whether a batch is handed over now, skipped, or waits. */
export type Verdict = "write" | "drop" | "wait";

/** What follows the batches a pipe hands over, and settles them. */
export interface Tracker {
  /**
   * "write": hand `batch` over now (in this turn); "drop": skip it;
   * "wait": ask again once `ready()` resolves.
   */
  verdict(batch: MessageBatch): Verdict;
  /** Resolves when a batch that had to wait may be asked about again. */
  ready(): Promise<void>;
  /**
   * Follows the outcome of one batch's write: it resolves with nothing
   * once all of it is written, or, when a revocation cut it short, with
   * the offset of its last message processed in order (-1: none). May
   * return what to tell, while the write goes on, the offset up to which
   * its messages are processed in order (a Processor's progress).
   */
  follow(
    batch: MessageBatch,
    written: Promise<number | void>,
  ): Progress | void;
  /**
   * Resolves once what was handed over so far (of `partitions`, when
   * given) is settled for the group (before a rebalance takes partitions
   * away).
   */
  drained(partitions?: readonly TopicPartition[]): Promise<void>;
  /**
   * The group takes `partitions` away: what was handed over of them may be
   * cut short (the sink was told).
   */
  revoked?(partitions: readonly TopicPartition[]): void;
  /** The tracker's own failure, which stops the pipe, or null. */
  failure(): Error | null;
  /** Calls `listener` once the tracker fails; returns what stops listening. */
  onFailure(listener: () => void): () => void;
  /** The pipe ends: settles what is open, keeping it (true) or not. */
  finish(keep: boolean): Promise<void>;
  /**
   * Gives the marking back to the Reader. With `rewind` (the pipe ended
   * without keeping what it read, and the Reader stays open: preventCancel),
   * where the pipe began reading each partition: the Reader moves back to
   * the first message of each that is not settled for the group, so that
   * it reads again what the pipe did not deliver.
   */
  release(rewind?: ReadFrom): void;
}

/**
 * Per partition ("topic\0partition"), the first offset a pipe read of it.
 */
export type ReadFrom = ReadonlyMap<string, SeekPosition>;

/** Where to move each partition of `from` back to: past what is settled. */
export function rewindTargets(
  from: ReadFrom,
  settled: (key: string) => number | undefined,
): SeekPosition[] {
  return [...from].map(([key, p]) => ({
    topic: p.topic,
    partition: p.partition,
    offset: Math.max(p.offset, settled(key) ?? -1),
  }));
}

/** A write's messages are processed in order up to and with `offset`. */
export type Progress = (offset: number) => void;

/** How the pump stopped. */
type Ending =
  | { kind: "done" }
  | { kind: "source"; error: unknown }
  | { kind: "dest"; error: unknown }
  | { kind: "map"; error: unknown }
  | { kind: "abort"; reason: unknown; held?: Held };

/** A batch read from the source and not handed over yet. */
interface Held {
  batch: MessageBatch;
  out: readonly MessageInput[];
}

const ignore = () => {};

/**
 * `pipeTo` of a Reader or ShareReader (`what` names it in errors): into a
 * Writer through its bulk sink, `trackerFor` saying what follows each batch
 * (or refusing the Writer by throwing); into anything else through the
 * platform's pipe, and a TransformStream for `map`.
 */
export function pipeMessages<M extends Message>(
  source: ReadableStream<M> & BatchSource,
  dest: WritableStream<unknown>,
  options: ReaderPipeOptions<unknown, M>,
  what: string,
  trackerFor: (sink: BulkSink) => (drain: Drain) => Tracker,
  traced: TracedSource | null = null,
): Promise<void> {
  try {
    checkStreamOptions(`Cannot pipe ${what}`, options, true);
  } catch (error) {
    return Promise.reject(error);
  }
  const map = options?.map;
  const sink = bulkSinkOf(dest);
  if (
    sink !== undefined && !source.locked && !dest.locked &&
    typeof options === "object" && options !== null &&
    (options.signal === undefined || options.signal instanceof AbortSignal)
  ) {
    let makeTracker;
    try {
      makeTracker = trackerFor(sink);
    } catch (error) {
      return Promise.reject(error);
    }
    let from: BatchSource = source;
    if (traced !== null && sink.traceWith !== undefined) {
      sink.traceWith(traced.tracing);
      from = traced.untraced;
    }
    return pipeToBulkSink(
      from,
      dest as WritableStream<never>,
      sink,
      options,
      makeTracker,
      map as PipeMap<MessageInput> | undefined,
    );
  }
  // The platform's own pipe (the subclasses override pipeTo).
  const pipe = ReadableStream.prototype.pipeTo;
  if (map === undefined) {
    return pipe.call(source, dest as WritableStream<M>, options);
  }
  const { preventAbort, preventCancel, preventClose, signal } = options;
  const mapped = new TransformStream<M, unknown>({
    async transform(message, controller) {
      spread(await map(message), (value) => controller.enqueue(value));
    },
  });
  return source.pipeThrough(mapped, defined({ preventCancel, signal }))
    .pipeTo(dest, defined({ preventAbort, preventClose, signal }));
}

/**
 * Pipes `source` into `dest` through its bulk sink; `tracker` makes what
 * follows and settles each batch handed over (given how to wait until
 * what was handed over is settled, for a rebalance), and `map` transforms
 * the messages on the way.
 */
export async function pipeToBulkSink(
  source: BatchSource,
  dest: WritableStream<never>,
  sink: BulkSink,
  options: StreamPipeOptions,
  makeTracker: (drain: Drain) => Tracker,
  map?: PipeMap<MessageInput>,
): Promise<void> {
  const { preventClose = false, preventAbort = false, signal } = options;
  const writer = dest.getWriter();
  const batches = source.batches({ preventCancel: options.preventCancel })
    .getReader();
  // Drained only later, before a rebalance: a sink that processes messages
  // (a Processor) drops what it has not started of the revoked partitions.
  const tracker: Tracker = makeTracker((revoked, giveUp) => {
    tracker.revoked?.(revoked);
    sink.revoke?.(revoked);
    giveUp?.addEventListener("abort", () => sink.abandon?.(revoked), {
      once: true,
    });
    return tracker.drained(revoked);
  });
  const readFrom = new Map<string, SeekPosition>();
  // Whether what was read and not delivered is read again by the Reader,
  // kept open: on an ending that keeps nothing, with preventCancel.
  let rewind = false;
  try {
    const ending = await pump(batches, sink, signal, tracker, map, readFrom);
    rewind = options.preventCancel === true &&
      (ending.kind === "dest" || ending.kind === "map" ||
        ending.kind === "abort" && !preventAbort);
    switch (ending.kind) {
      case "done":
        try {
          await tracker.finish(true);
        } catch (error) {
          sink.fail(error);
          throw error;
        }
        if (!preventClose) await writer.close();
        else await settled(sink);
        return;
      case "source":
        await tracker.finish(false).catch(ignore);
        if (!preventAbort) await writer.abort(ending.error).catch(ignore);
        throw ending.error;
      case "dest":
        await tracker.finish(false).catch(ignore);
        sink.fail(ending.error);
        await batches.cancel(ending.error).catch(ignore);
        throw ending.error;
      case "map":
        // Neither end failed: each is ended as the options say (the batches
        // stream keeps the Reader open on cancel when preventCancel).
        await tracker.finish(false).catch(ignore);
        if (preventAbort) await sink.settled();
        else await writer.abort(ending.error).catch(ignore);
        await batches.cancel(ending.error).catch(ignore);
        throw ending.error;
      case "abort": {
        // With preventAbort, what was handed over is kept (committed, into
        // a transactional Writer); a failure to is the pipe's outcome.
        let outcome = ending.reason;
        if (preventAbort) {
          // What was read is written, as the platform's pipe does.
          const { held } = ending;
          if (held !== undefined && tracker.verdict(held.batch) === "write") {
            try {
              handOver(sink, tracker, held.batch, held.out);
            } catch (error) {
              outcome = error;
            }
          }
          await sink.settled();
          await tracker.finish(true).catch((error) => outcome = error);
        } else {
          await tracker.finish(false).catch(ignore);
          await writer.abort(ending.reason).catch(ignore);
        }
        await batches.cancel(ending.reason).catch(ignore);
        throw outcome;
      }
    }
  } finally {
    tracker.release(rewind ? readFrom : undefined);
    writer.releaseLock();
    batches.releaseLock();
  }
}

/**
 * Moves batches until the source ends or fails, the sink or the tracker
 * fails, or `signal` fires.
 */
async function pump(
  batches: ReadableStreamDefaultReader<MessageBatch>,
  sink: BulkSink,
  signal: AbortSignal | undefined,
  tracker: Tracker,
  map: PipeMap<MessageInput> | undefined,
  readFrom: Map<string, SeekPosition>,
): Promise<Ending> {
  const stops = [sink, tracker];
  const failed = (): Ending => ({
    kind: "dest",
    error: sink.failure() ?? tracker.failure(),
  });
  while (true) {
    let result: ReadableStreamReadResult<MessageBatch> | Stop;
    try {
      result = await unlessStopped(batches.read(), stops, signal);
    } catch (error) {
      return { kind: "source", error };
    }
    if (result === ABORTED) return { kind: "abort", reason: signal!.reason };
    if (result === FAILED) return failed();
    if (result.done) return { kind: "done" };
    const batch = result.value;
    const key = `${batch.topic}\0${batch.partition}`;
    if (!readFrom.has(key)) {
      readFrom.set(key, {
        topic: batch.topic,
        partition: batch.partition,
        offset: batch.firstOffset,
      });
    }
    let out: readonly MessageInput[] = batch.messages;
    if (map !== undefined) {
      try {
        const mapped = mapBatch(batch.messages, map);
        out = Array.isArray(mapped) ? mapped : await mapped;
      } catch (error) {
        return { kind: "map", error };
      }
    }
    // A Processor takes a batch of a partition with nothing waiting at
    // once (before the verdict: its partition may be revoked meanwhile).
    if (sink.readyFor !== undefined) {
      const room = await unlessStopped(
        sink.readyFor(batch.topic, batch.partition),
        stops,
        signal,
      );
      if (room === ABORTED) {
        return { kind: "abort", reason: signal!.reason, held: { batch, out } };
      }
      if (room === FAILED) return failed();
    }
    let verdict = tracker.verdict(batch);
    while (verdict === "wait") {
      const ready = await unlessStopped(tracker.ready(), stops, signal);
      if (ready === ABORTED) return { kind: "abort", reason: signal!.reason };
      if (ready === FAILED) return failed();
      verdict = tracker.verdict(batch);
    }
    if (tracker.failure() !== null) return failed();
    if (verdict === "drop") continue;
    try {
      handOver(sink, tracker, batch, out);
    } catch (error) {
      return { kind: "dest", error };
    }
    if (sink.readyFor !== undefined) continue;
    const room = await unlessStopped(sink.ready(), stops, signal);
    if (room === ABORTED) return { kind: "abort", reason: signal!.reason };
    if (room === FAILED) return failed();
  }
}

/** Writes a batch into the sink, and has the tracker follow the write. */
function handOver(
  sink: BulkSink,
  tracker: Tracker,
  batch: MessageBatch,
  out: readonly MessageInput[],
): void {
  // Progress comes later (a handler's end): the tracker's by then.
  let progress: Progress | void = undefined;
  const written = write(sink, batch, out, (offset) => progress?.(offset));
  progress = tracker.follow(batch, written);
}

/**
 * Hands `out` (`batch`'s messages, or what `map` made of them) to the sink;
 * resolves with nothing once all are written, or with the offset of the
 * batch's last message processed in order when a revocation cut the write
 * short (-1: none, or not known when `map` made other messages). Meanwhile
 * `progress` is told that offset as it grows (not when `map` made others).
 */
function write(
  sink: BulkSink,
  batch: MessageBatch,
  out: readonly MessageInput[],
  progress: Progress,
): Promise<number | void> {
  if (out.length === 0) return Promise.resolve();
  if (sink.revoke === undefined) return sink.write(out);
  const written = out === batch.messages
    ? sink.write(out, (n) => progress(batch.messages[n - 1].offset))
    : sink.write(out);
  return written.then((kept) => {
    if (kept === undefined) return;
    return kept > 0 && out === batch.messages
      ? batch.messages[kept - 1].offset
      : -1;
  });
}

/**
 * What `map` makes of a batch's messages, in their order: a value each,
 * several (an array) or none (null or undefined). Promises are awaited
 * together, so the batch's results come as one promise.
 */
function mapBatch<T>(
  messages: readonly Message[],
  map: PipeMap<T>,
): T[] | Promise<T[]> {
  const results: (MapResult<T> | PromiseLike<MapResult<T>>)[] = [];
  try {
    for (const m of messages) results.push(map(m));
  } catch (error) {
    // The promises made before the throw are not awaited: their
    // rejections, if any, must not be unhandled.
    for (const r of results) {
      if (isThenable(r)) Promise.resolve(r).catch(() => {});
    }
    throw error;
  }
  const flat = (all: readonly MapResult<T>[]): T[] => {
    const out: T[] = [];
    for (const r of all) spread(r, (value) => out.push(value));
    return out;
  };
  return results.some(isThenable)
    ? Promise.all(results).then(flat)
    : flat(results as MapResult<T>[]);
}

/** Hands each value of one `map` result to `take`: none, one or several. */
export function spread<T>(result: MapResult<T>, take: (value: T) => void) {
  if (result === null || result === undefined) return;
  if (Array.isArray(result)) { for (const value of result) take(value); }
  else take(result as T);
}

/** What one call of `map` gives, once awaited. */
export type MapResult<T> = T | readonly T[] | null | undefined;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown>)?.then === "function";
}

const ABORTED = Symbol("aborted");
const FAILED = Symbol("failed");
type Stop = typeof ABORTED | typeof FAILED;

/**
 * `promise`, or ABORTED as soon as `signal` fires, or FAILED as soon as one
 * of `stops` fails (a write, or the pipe's transactions). The listeners live for one wait only: a promise raced
 * against a long-lived one would keep every value it ever resolved with
 * (each fetched batch) reachable.
 */
function unlessStopped<T>(
  promise: Promise<T>,
  stops: readonly { onFailure(listener: () => void): () => void }[],
  signal: AbortSignal | undefined,
): Promise<T | Stop> {
  if (signal?.aborted) {
    promise.catch(ignore);
    return Promise.resolve(ABORTED);
  }
  return new Promise((resolve, reject) => {
    let settled = false;
    let listening: (() => void)[] = [];
    const onAbort = () => stop(ABORTED);
    const done = () => {
      signal?.removeEventListener("abort", onAbort);
      for (const stopListening of listening) stopListening();
    };
    const stop = (why: Stop) => {
      if (settled) return;
      settled = true;
      done();
      promise.catch(ignore);
      resolve(why);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    listening = stops.map((s) => s.onFailure(() => stop(FAILED)));
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

/** `options` without its undefined entries (the platform's option types have none). */
function defined<T extends object>(options: T): {
  [K in keyof T]?: Exclude<T[K], undefined>;
} {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) out[key] = value;
  }
  return out as { [K in keyof T]?: Exclude<T[K], undefined> };
}
