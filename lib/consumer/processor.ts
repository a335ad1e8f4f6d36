/**
 * A WritableStream that processes messages concurrently while keeping
 * their order where it matters: `reader.pipeTo(new Processor(handle))`.
 *
 * @module
 */

import { type BulkSink, offerBulkSink } from "../bulk_sink.ts";
import type { Message, TopicPartition } from "../message.ts";
import { backoff, sleep } from "../cluster/retry.ts";
import { checkNumber, describeValue } from "../options.ts";
import type { ReaderTracing } from "../tracing/reader.ts";

/**
 * What a Processor does with each message; it may return a promise.
 * `signal` aborts when the Processor stops (the pipe was aborted, or
 * another handler failed), with that reason, or when the group took the
 * message's partition away and stopped waiting for the handler (half
 * `rebalanceTimeout`): pass it on to `fetch` and the like so that the stop
 * need not wait for slow work.
 */
export type MessageHandler<M extends Message = Message> = (
  message: M,
  signal: AbortSignal,
) => unknown;

/**
 * What a Processor has done so far, and what it holds now
 * (`processor.stats()`).
 */
export interface ProcessorStats {
  /** Handlers running now. */
  running: number;
  /** Messages handed over and not started yet. */
  waiting: number;
  /** Messages processed (a handler resolved, or `deadLetter` took them). */
  processed: number;
  /** Tries again of failed messages (`retryTimeout`). */
  retries: number;
  /** Messages `deadLetter` took. */
  deadLettered: number;
  /** Messages dropped not started, their partitions revoked. */
  revoked: number;
}

/** Options of a Processor (of messages `M`). */
export interface ProcessorOptions<M extends Message = Message> {
  /**
   * How many messages are processed at once, at most (default 8, up to
   * 100,000): each partition's messages in their order, or each key's
   * (`ordering`).
   */
  concurrency?: number | undefined;
  /**
   * What keeps its order: "partition" (the default: a partition's messages
   * one at a time, in offset order, as KafkaJS's
   * `partitionsConsumedConcurrently`), "key" (a key's messages in order,
   * those of different keys at once, messages without a key in their
   * partition's order), or "none" (any message at any time).
   */
  ordering?: "partition" | "key" | "none" | undefined;
  /**
   * Messages handed over and not started yet before the source waits
   * (default 1,000): what bounds the memory a slow handler holds. Piped
   * from a Reader, a fetched batch of a partition with none of its
   * messages waiting is taken even so, so that one partition's long queue
   * does not hold up the others.
   */
  queueCapacity?: number | undefined;
  /**
   * How long a message whose handler fails is tried again (ms; default 0:
   * not again), each try after a backoff doubling from `retryBackoff` up
   * to 10 s. Its lane (partition or key) waits meanwhile, so order holds;
   * a stop ends the wait.
   */
  retryTimeout?: number | undefined;
  /** The first backoff between tries (ms, 1 to 10,000; default 100). */
  retryBackoff?: number | undefined;
  /**
   * What to do with a message whose handler still fails once
   * `retryTimeout` is over: e.g. write it to a dead-letter topic. When it
   * resolves, the message counts as processed (and is committed) and the
   * Processor goes on; when it throws, the Processor fails with that
   * error, and without it, with the handler's. Not called for a message
   * failing while the Processor stops.
   */
  deadLetter?: ((message: M, error: unknown) => unknown) | undefined;
}

const PROCESSOR_OPTIONS = new Set([
  "concurrency",
  "ordering",
  "queueCapacity",
  "retryTimeout",
  "retryBackoff",
  "deadLetter",
]);

/** The most a retry backoff grows to (ms). */
const MAX_RETRY_BACKOFF = 10_000;

/** What the Work runs and how. */
interface Settings {
  handle: MessageHandler;
  concurrency: number;
  capacity: number;
  ordering: "partition" | "key" | "none";
  retryTimeout: number;
  retryBackoff: number;
  deadLetter: ((message: Message, error: unknown) => unknown) | null;
}

/** One message waiting, and what to tell when it is processed. */
interface Job {
  message: Message;
  /** Its place in the write that handed it over. */
  index: number;
  /** Told null (processed), an error, or DROPPED (revoked, not started). */
  done: (index: number, outcome: unknown) => void;
}

/** The outcome of a job dropped because its partition was revoked. */
const DROPPED = Symbol("dropped");

/** The messages of one ordering key, processed one at a time. */
interface Lane {
  id: string;
  /** Its messages' partition, "topic\0partition". */
  partition: string;
  jobs: Job[];
  running: boolean;
}

/** A write waiting for room (for a batch of `partition`, when not null). */
interface RoomWaiter {
  partition: string | null;
  wake: () => void;
}

/**
 * A WritableStream of messages that runs `handle` on each, up to
 * `concurrency` at once, in order per partition (or per key). Pipe a Reader
 * into it: in a consumer group a message then counts as consumed (and is
 * committed) once `handle` resolved for it and for every message handed
 * over before it (within a fetched batch too, as the batch is processed),
 * so a message whose handler failed is read again (at least once). When a
 * rebalance takes partitions away, their messages not started yet are
 * dropped (the next owner reads them) and the member waits only for their
 * handlers running before it commits and lets go. A handler that throws
 * (after the tries `retryTimeout` allows, unless `deadLetter` takes the
 * message) fails the stream, and the pipe with it, once the handlers
 * already running finished; nothing new starts. An abort, too, waits for
 * the handlers running; their `signal` (the handler's second argument)
 * tells them to stop. Piped from a Reader with `tracing`, each handler runs
 * in its message's "process" span.
 *
 * @example Process four partitions at once
 * ```ts
 * import { Processor, Reader, Writer } from "jsr:@streamkafka/client";
 *
 * const brokers = ["localhost:9092"];
 * const topic = "docs-processor";
 * const writer = new Writer({ brokers, topic, allowAutoTopicCreation: true });
 * await writer.writeMessages({ value: "one" }, { value: "two" });
 * await writer.close();
 *
 * const reader = new Reader({ brokers, groupId: "docs-processor", topic });
 * const seen: string[] = [];
 * const processor = new Processor(async (m) => {
 *   await new Promise((r) => setTimeout(r, 10)); // some slow work
 *   seen.push(new TextDecoder().decode(m.value!));
 * }, { concurrency: 4 });
 * const stop = new AbortController();
 * setTimeout(() => stop.abort(), 2000);
 * // Ends with the signal's reason; what was processed is committed.
 * await reader.pipeTo(processor, { signal: stop.signal, preventAbort: true })
 *   .catch(() => {});
 * console.log(seen);
 * ```
 */
export class Processor<M extends Message = Message> extends WritableStream<M> {
  /**
   * Checks the options (a TypeError or RangeError names a wrong one); the
   * handler runs once messages are written (piped) in.
   */
  constructor(handle: MessageHandler<M>, options: ProcessorOptions<M> = {}) {
    const context = "Cannot create Processor";
    if (typeof handle !== "function") {
      throw new TypeError(
        `${context}: the handler must be a function, got ${
          describeValue(handle)
        }`,
      );
    }
    if (options === null || typeof options !== "object") {
      throw new TypeError(
        `${context}: options must be an object, got ${describeValue(options)}`,
      );
    }
    for (const name of Object.keys(options)) {
      if (!PROCESSOR_OPTIONS.has(name)) {
        throw new TypeError(
          `${context}: unknown option "${name}" (known: ${
            [...PROCESSOR_OPTIONS].join(", ")
          })`,
        );
      }
    }
    checkNumber(context, "concurrency", options.concurrency, {
      min: 1,
      max: 100_000,
    });
    checkNumber(context, "queueCapacity", options.queueCapacity, {
      min: 1,
      max: 2 ** 31 - 1,
    });
    checkNumber(context, "retryTimeout", options.retryTimeout, {
      min: 0,
      max: 2 ** 31 - 1,
    });
    checkNumber(context, "retryBackoff", options.retryBackoff, {
      min: 1,
      max: MAX_RETRY_BACKOFF,
    });
    const deadLetter = options.deadLetter;
    if (deadLetter !== undefined && typeof deadLetter !== "function") {
      throw new TypeError(
        `${context}: "deadLetter" must be a function, got ${
          describeValue(deadLetter)
        }`,
      );
    }
    const ordering = options.ordering ?? "partition";
    if (!["partition", "key", "none"].includes(ordering)) {
      throw new TypeError(
        `${context}: "ordering" must be "partition", "key" or "none", got ${
          describeValue(ordering)
        }`,
      );
    }
    const work = new Work({
      handle: handle as MessageHandler,
      concurrency: options.concurrency ?? 8,
      capacity: options.queueCapacity ?? 1000,
      ordering,
      retryTimeout: options.retryTimeout ?? 0,
      retryBackoff: options.retryBackoff ?? 100,
      deadLetter: (deadLetter as Settings["deadLetter"]) ?? null,
    });
    let controller: WritableStreamDefaultController | undefined;
    super({
      start(c) {
        controller = c;
        work.onFailure(() => c.error(work.failure()));
        // An abort waits for the write in progress, which may wait for
        // room: stop starting handlers at once instead.
        c.signal?.addEventListener("abort", () => work.stop(c.signal.reason));
      },
      write(message) {
        const failure = work.failure();
        if (failure !== null) throw failure;
        work.add([message]).catch(() => {}); // the stream fails with it
        return work.ready();
      },
      async close() {
        await work.settled();
        const failure = work.failure();
        if (failure !== null) throw failure;
      },
      abort(reason) {
        // What was not started is dropped; what runs is waited for.
        work.stop(reason);
        return work.settled();
      },
    }, { highWaterMark: 1 });
    const sink: BulkSink = {
      write: (messages, progress) => {
        const failure = work.failure();
        if (failure !== null) throw failure;
        return work.add(messages as readonly Message[], progress);
      },
      ready: () => work.ready(),
      readyFor: (topic, partition) => work.ready(`${topic}\0${partition}`),
      failure: () => work.failure(),
      onFailure: (listener) => work.onFailure(listener),
      fail: (error) => {
        work.stop(error);
        controller?.error(error);
      },
      settled: () => work.settled(),
      revoke: (partitions) => work.revoke(partitions),
      abandon: (partitions) => work.abandon(partitions),
      traceWith: (tracing) => work.tracing = tracing,
      transactions: null,
    };
    offerBulkSink(this, sink);
    this.#work = work;
  }

  readonly #work: Work;

  /**
   * What this Processor has done so far and holds now: handlers running,
   * messages waiting, processed, tried again, dead-lettered, dropped by a
   * revocation.
   *
   * @example
   * ```ts
   * import { Processor } from "jsr:@streamkafka/client";
   *
   * const processor = new Processor(() => {});
   * const writer = processor.getWriter();
   * await writer.write({
   *   topic: "t", partition: 0, offset: 0, highWaterMark: 1, key: null,
   *   value: null, headers: [], time: new Date(),
   * });
   * await writer.close();
   * console.log(processor.stats().processed); // 1
   * ```
   */
  stats(): ProcessorStats {
    return this.#work.stats();
  }
}

/** The lanes, the jobs waiting, and the handler runs of one Processor. */
class Work {
  private readonly settings: Settings;
  private readonly concurrency: number;
  private readonly capacity: number;
  private readonly ordering: "partition" | "key" | "none";
  private readonly lanes = new Map<string, Lane>();
  /** Lanes with a job waiting and none running, in the order they got one. */
  private readonly ready_: Lane[] = [];
  private running = 0;
  private waiting = 0;
  /** Per partition with messages waiting to start, how many. */
  private readonly waitingIn = new Map<string, number>();
  private unsettled = 0;
  private failed: Error | null = null;
  private stopped = false;
  /** Aborts the handlers' signal when the Processor stops. */
  private readonly stopper = new AbortController();
  /**
   * Per partition ("topic\0partition") with handlers run: aborted when the
   * group takes the partition away, for its messages waiting to be tried
   * again, and, once the group stops waiting, for its handlers running.
   */
  private readonly partitions = new Map<
    string,
    {
      revoked: AbortController;
      abandoned: AbortController;
      signal: AbortSignal;
    }
  >();
  /** Those of `partitions` revoked, until the group stops waiting for them. */
  private readonly abandoning = new Map<
    string,
    { abandoned: AbortController }
  >();
  /** The piped Reader's tracing: each handler runs in a "process" span. */
  tracing: ReaderTracing | null = null;
  private readonly failureListeners = new Set<() => void>();
  private roomWaiters: RoomWaiter[] = [];
  private settleWaiters: (() => void)[] = [];
  private sequence = 0;
  private readonly counts = {
    processed: 0,
    retries: 0,
    deadLettered: 0,
    revoked: 0,
  };

  constructor(settings: Settings) {
    this.settings = settings;
    this.concurrency = settings.concurrency;
    this.capacity = settings.capacity;
    this.ordering = settings.ordering;
  }

  /** The lane a message of `partition` goes in. */
  private laneOf(m: Message, partition: string): string {
    if (this.ordering === "none") return `#${this.sequence++}`;
    const key = m.key as Uint8Array | string | null | undefined;
    if (this.ordering === "partition" || key === null || key === undefined) {
      return partition;
    }
    if (typeof key === "string") return `${partition}\u0000s${key}`;
    let bytes = "";
    for (let i = 0; i < key.length; i++) bytes += String.fromCharCode(key[i]);
    return `${partition}\u0000b${bytes}`;
  }

  /**
   * Queues messages; resolves once each is processed, rejects with the
   * first handler failure among them. When `revoke` dropped some, resolves
   * with how many of the first ones were processed. Meanwhile `progress`
   * is told how many of the first ones are processed each time that grows
   * (not when the last one completes the write).
   */
  add(
    messages: readonly Message[],
    progress?: (processed: number) => void,
  ): Promise<number | void> {
    if (messages.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let left = messages.length;
      let error: unknown = null;
      let firstDropped = Infinity;
      // Which are processed, and how many of the first ones all are.
      const processed = progress === undefined
        ? null
        : new Uint8Array(messages.length);
      let prefix = 0;
      const done = (index: number, outcome: unknown) => {
        if (outcome === DROPPED) firstDropped = Math.min(firstDropped, index);
        else if (outcome !== null) error ??= outcome;
        else if (processed !== null && left > 1) {
          processed[index] = 1;
          if (index === prefix) {
            while (prefix < processed.length && processed[prefix] === 1) {
              prefix++;
            }
            try {
              progress!(prefix);
            } catch (failure) {
              // Not the handler's: told as the Processor's failure rather
              // than thrown into the handler's promise chain.
              this.fail(failure);
            }
          }
        }
        if (--left > 0) return;
        if (error !== null) reject(error);
        else resolve(firstDropped === Infinity ? undefined : firstDropped);
      };
      for (let index = 0; index < messages.length; index++) {
        const message = messages[index];
        if (message === null || typeof message !== "object") {
          // As a Writer does: a malformed message fails the stream.
          const error = new TypeError(
            `Cannot process: expected a message, got ${describeValue(message)}`,
          );
          this.fail(error);
          done(index, error);
          continue;
        }
        const partition = `${message.topic}\0${message.partition}`;
        const id = this.laneOf(message, partition);
        let lane = this.lanes.get(id);
        if (lane === undefined) {
          lane = { id, partition, jobs: [], running: false };
          this.lanes.set(id, lane);
        }
        lane.jobs.push({ message, index, done });
        this.waiting++;
        this.waitingIn.set(partition, (this.waitingIn.get(partition) ?? 0) + 1);
        this.unsettled++;
        if (!lane.running && lane.jobs.length === 1) this.ready_.push(lane);
      }
      this.pump();
    });
  }

  /** Starts jobs while there is room. */
  private pump(): void {
    while (this.running < this.concurrency && this.ready_.length > 0) {
      const lane = this.ready_.shift()!;
      const job = lane.jobs.shift()!;
      lane.running = true;
      this.waiting--;
      this.started(lane.partition, 1);
      this.running++;
      this.run(lane, job);
    }
    this.wakeRoom();
  }

  /** `count` messages of `partition` no longer wait (started or dropped). */
  private started(partition: string, count: number): void {
    const left = this.waitingIn.get(partition)! - count;
    if (left > 0) this.waitingIn.set(partition, left);
    else this.waitingIn.delete(partition);
  }

  private run(lane: Lane, job: Job): void {
    const processed = () => this.finish(lane, job, null);
    const failed = (error: unknown) => {
      // Given up with its partition: not processed, not a failure.
      if (error === DROPPED) return this.finish(lane, job, DROPPED);
      this.fail(error);
      this.finish(lane, job, error ?? new Error("the handler failed"));
    };
    const of = this.partitionOf(lane.partition);
    // The first try stays on the fast path; a failure goes to `recover`.
    this.attempt(job.message, of.signal).then(processed, (error) => {
      if (this.stopped) return failed(error);
      this.recover(job.message, error, of).then(processed, failed);
    });
  }

  /** The signals of `partition`'s handlers (see `partitions`). */
  private partitionOf(partition: string) {
    let of = this.partitions.get(partition);
    if (of === undefined) {
      const revoked = new AbortController();
      const abandoned = new AbortController();
      const signal = AbortSignal.any([
        this.stopper.signal,
        abandoned.signal,
      ]);
      of = { revoked, abandoned, signal };
      this.partitions.set(partition, of);
    }
    return of;
  }

  /** One run of the handler on `message`, in its span when traced. */
  private attempt(message: Message, signal: AbortSignal): Promise<unknown> {
    if (this.stopped) {
      return Promise.reject(this.failed ?? new Error("stopped"));
    }
    try {
      const { handle } = this.settings;
      return this.tracing === null
        ? Promise.resolve(handle(message, signal))
        : this.tracing.process(message, () => handle(message, signal));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * After a failed first try: tries again until `retryTimeout` is over
   * (or the Processor stops), then hands the message to `deadLetter`;
   * rejects with the last error when that is not there or throws. When
   * the group takes the message's partition away meanwhile, it is given
   * up (rejects with DROPPED): its next owner reads it again.
   */
  private async recover(
    message: Message,
    error: unknown,
    of: { revoked: AbortController; signal: AbortSignal },
  ): Promise<void> {
    const { retryTimeout, retryBackoff, deadLetter } = this.settings;
    const deadline = Date.now() + retryTimeout;
    const revoked = of.revoked.signal;
    for (let tries = 1;; tries++) {
      const wait = backoff(tries, {
        backoffMin: retryBackoff,
        backoffMax: MAX_RETRY_BACKOFF,
      });
      if (Date.now() + wait > deadline) break;
      try {
        await sleep(wait, AbortSignal.any([this.stopper.signal, revoked]));
      } catch {
        if (revoked.aborted && !this.stopped) throw DROPPED;
        throw error; // stopped while waiting: not processed
      }
      this.counts.retries++;
      try {
        await this.attempt(message, of.signal);
        return;
      } catch (again) {
        if (this.stopped) throw again;
        if (revoked.aborted) throw DROPPED;
        error = again;
      }
    }
    if (revoked.aborted) throw DROPPED;
    if (deadLetter === null) throw error;
    await deadLetter(message, error);
    this.counts.deadLettered++;
  }

  stats(): ProcessorStats {
    return { running: this.running, waiting: this.waiting, ...this.counts };
  }

  private finish(lane: Lane, job: Job, error: unknown): void {
    if (error === null) this.counts.processed++;
    else if (error === DROPPED) this.counts.revoked++;
    this.running--;
    lane.running = false;
    if (lane.jobs.length > 0) this.ready_.push(lane);
    else this.lanes.delete(lane.id);
    this.unsettled--;
    job.done(job.index, error);
    if (this.stopped) {
      this.drop();
      this.tellFailure();
    } else this.pump();
    if (this.unsettled === 0) this.wakeSettled();
  }

  /** Fails every job not started (after a failure or an abort). */
  private drop(): void {
    this.ready_.length = 0;
    this.dropWhere(
      () => true,
      this.failed ?? new Error("the Processor stopped"),
    );
  }

  /**
   * Drops the jobs not started of `partitions`, which the group takes
   * away: the next owner reads them again.
   */
  revoke(partitions: readonly TopicPartition[]): void {
    const gone = new Set(partitions.map((p) => `${p.topic}\0${p.partition}`));
    // Messages waiting to be tried again are given up too; their handlers
    // running get a new set of signals should the partition come back.
    for (const key of gone) {
      const of = this.partitions.get(key);
      if (of === undefined) continue;
      of.revoked.abort();
      this.partitions.delete(key);
      this.abandoning.set(key, of);
    }
    this.dropWhere(
      (m) => gone.has(`${m.topic}\0${m.partition}`),
      DROPPED,
    );
    // Lanes left without a job are not ready any more.
    const ready = this.ready_.filter((lane) => lane.jobs.length > 0);
    this.ready_.splice(0, this.ready_.length, ...ready);
  }

  /**
   * The group stopped waiting for the handlers of revoked `partitions`
   * (half `rebalanceTimeout`, or the Reader closes): their signal aborts,
   * so that a handler that listens to it ends.
   */
  abandon(partitions: readonly TopicPartition[]): void {
    for (const p of partitions) {
      const key = `${p.topic}\0${p.partition}`;
      this.abandoning.get(key)?.abandoned.abort(
        new Error(
          `partition ${p.partition} of ${p.topic} was given up while its handler ran`,
        ),
      );
      this.abandoning.delete(key);
    }
  }

  /**
   * Ends the jobs not started of the lanes whose messages `which` picks
   * (a lane's messages are all of one partition) with `outcome`.
   */
  private dropWhere(which: (m: Message) => boolean, outcome: unknown): void {
    for (const lane of [...this.lanes.values()]) {
      if (lane.jobs.length === 0 || !which(lane.jobs[0].message)) continue;
      const jobs = lane.jobs.splice(0);
      this.started(lane.partition, jobs.length);
      if (outcome === DROPPED) this.counts.revoked += jobs.length;
      for (const job of jobs) {
        this.waiting--;
        this.unsettled--;
        job.done(job.index, outcome);
      }
      if (!lane.running) this.lanes.delete(lane.id);
    }
    this.wakeRoom();
    if (this.unsettled === 0) this.wakeSettled();
  }

  /**
   * A handler failed: nothing new starts, what waits is dropped, and once
   * the handlers running finish, the failure is told (the pipe then ends,
   * with nothing of this Processor's still running).
   */
  private fail(error: unknown): void {
    if (this.failed !== null) return;
    this.failed = error instanceof Error ? error : new Error(String(error));
    this.stopped = true;
    this.stopper.abort(this.failed);
    this.drop();
    this.tellFailure();
  }

  private tellFailure(): void {
    if (this.running > 0 || this.failed === null) return;
    const listeners = [...this.failureListeners];
    this.failureListeners.clear();
    for (const listener of listeners) listener();
  }

  /** Stops: what was not started is dropped (the stream was aborted). */
  stop(reason: unknown): void {
    this.stopped = true;
    this.failed ??= reason instanceof Error
      ? reason
      : new Error(`The Processor was stopped: ${String(reason)}`);
    this.stopper.abort(this.failed);
    this.drop();
  }

  /** The failure, once no handler runs any more; else null. */
  failure(): Error | null {
    return this.stopped && this.running === 0 ? this.failed : null;
  }

  onFailure(listener: () => void): () => void {
    if (this.failure() !== null) {
      listener();
      return () => {};
    }
    this.failureListeners.add(listener);
    return () => this.failureListeners.delete(listener);
  }

  /**
   * Resolves when fewer than `queueCapacity` messages wait to start, or
   * none of `partition` ("topic\0partition", when given) does.
   */
  ready(partition: string | null = null): Promise<void> {
    if (this.hasRoom(partition)) return Promise.resolve();
    return new Promise((wake) => this.roomWaiters.push({ partition, wake }));
  }

  private hasRoom(partition: string | null): boolean {
    return this.stopped || this.waiting < this.capacity ||
      (partition !== null && !this.waitingIn.has(partition));
  }

  /** Resolves when every message handed over is processed (or dropped). */
  settled(): Promise<void> {
    if (this.unsettled === 0) return Promise.resolve();
    return new Promise((wake) => this.settleWaiters.push(wake));
  }

  private wakeRoom(): void {
    if (this.roomWaiters.length === 0) return;
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const w of waiters) {
      if (this.hasRoom(w.partition)) w.wake();
      else this.roomWaiters.push(w);
    }
  }

  private wakeSettled(): void {
    const waiters = this.settleWaiters;
    this.settleWaiters = [];
    for (const wake of waiters) wake();
  }
}
