/**
 * The Reader: a `ReadableStream` of the messages of one topic-partition, or
 * of a consumer group's partitions, modelled on kafka-go's Reader. Both read
 * from the fetch engine (fetch_engine.ts): one partition through
 * partition_engine.ts, a group's through group/engine.ts.
 *
 * How prefetching stays bounded for one partition: the engine's fetch loop
 * fills a queue of chunks, each holding the records of one Fetch response.
 * The loop sends the next Fetch while at most one response waits in the
 * queue (the one being read: fetching overlaps reading), or while fewer
 * than `queueCapacity` messages and fewer than `maxBytes` bytes of fetched
 * records wait. So the queue holds at most one partly read response (up to
 * maxBytes, or one larger batch, which the broker returns whole) plus one
 * new response: about 2 × maxBytes of fetched records.
 *
 * Records are checked when a response arrives (CRC, structure) but made
 * into messages only as they are taken, so a queued response costs its
 * bytes and no objects.
 *
 * How consumers share it: the stream's `pull()` hands out one message from
 * that queue and the stream itself buffers nothing (highWaterMark 0).
 * `readMessage` and `fetchMessage` take from the same queue: directly when
 * nobody holds the stream and the stream holds no message, otherwise
 * through the stream with a short-lived reader (whose lock an AbortSignal
 * releases). So `for await`, `pipeTo` and `readMessage` see one queue and
 * one order, and setOffset can discard everything prefetched.
 *
 * @module
 */

import { type ReaderTracing, readerTracing } from "../tracing/reader.ts";
import {
  checkCallOptions,
  checkStreamOptions,
  describeValue,
  guardCallbacks,
  SIGNAL_OPTION,
} from "../options.ts";
import { instanceIdTimeout } from "../cluster/telemetry.ts";
import { GroupEngine } from "./group/engine.ts";
import { PartitionEngine } from "./partition_engine.ts";
import type { TopicPartition } from "./group/options.ts";
import {
  type PipeMap,
  type ReaderOptions,
  type ReaderPipeOptions,
  type ReaderStats,
  type ReadOptions,
  validateReader,
} from "./options.ts";
export type {
  GroupStats,
  IsolationLevel,
  PipeMap,
  ReaderOptions,
  ReaderPipeOptions,
  ReaderStats,
  ReadOptions,
} from "./options.ts";
import { FirstOffset, LastOffset } from "../requests/list_offsets.ts";
import {
  abortReason,
  ClosedError,
  untilAborted,
} from "../connection/errors.ts";
import type { GroupMetadata, Message, SeekPosition } from "../message.ts";
import {
  batchStream,
  type BatchTaker,
  type MessageBatch,
  messageBatch,
} from "./message_batch.ts";
import { pipeMessages } from "./pipe.ts";
import { Acknowledged } from "./pipe_acknowledged.ts";
import { PipeTransactions } from "./pipe_transactions.ts";
export type { MessageBatch };

export { FirstOffset, LastOffset };

/**
 * Reads one topic-partition as a stream of messages, reconnecting and
 * following leader changes on its own (kafka-go's Reader).
 *
 * Read it with `for await`, pipe it (`reader.pipeTo(writer)`), or call
 * `readMessage()` in a loop; all three take from the same queue. Breaking out
 * of `for await` cancels the stream, which closes the Reader, as it does for
 * any ReadableStream; iterate `reader.values({ preventCancel: true })` to keep
 * it open.
 *
 * Keys, values and header values are views into the fetched response unless
 * `copyValues` is set (see ReaderOptions.copyValues).
 *
 * To mirror a topic, pipe the Reader into a Writer: `reader.pipeTo(writer)`.
 * A message read from Kafka names the topic it came from, and a Writer with a
 * topic of its own writes it there instead.
 *
 * @example Read a partition up to its end
 * ```ts
 * import { Reader, Writer } from "jsr:@streamkafka/client";
 *
 * const brokers = ["localhost:9092"];
 * const topic = "docs-reader";
 * const writer = new Writer({ brokers, topic, allowAutoTopicCreation: true });
 * await writer.writeMessages({ value: "one" }, { value: "two" });
 * await writer.close();
 *
 * const reader = new Reader({ brokers, topic, partition: 0 });
 * for await (const m of reader) {
 *   console.log(m.offset, new TextDecoder().decode(m.value!));
 *   // Caught up: leaving the loop closes the Reader.
 *   if (m.offset + 1 === m.highWaterMark) break;
 * }
 * ```
 */
export class Reader extends ReadableStream<Message> {
  private readonly engine: PartitionEngine | GroupEngine;
  /** fetchMessage calls take turns: each waits for the one before. */
  private readTurn: Promise<unknown> = Promise.resolve();
  private reading = 0;
  /** The spans of the messages, with `tracing`. */
  private readonly tracing: ReaderTracing | null;

  /**
   * Checks the options (a TypeError or RangeError names a wrong one).
   * Nothing is fetched until the first read.
   */
  constructor(userOptions: ReaderOptions) {
    validateReader(userOptions);
    const options = guardCallbacks(userOptions, "kafka reader");
    const engine = options?.groupId !== undefined
      ? new GroupEngine(options)
      : new PartitionEngine(options);
    super({
      start: (controller) => engine.attach(controller),
      pull: () => engine.pull(),
      cancel: () => engine.close(),
    }, { highWaterMark: 0 });
    this.engine = engine;
    engine.isLocked = () => this.locked;
    this.tracing = readerTracing(options);
  }

  /**
   * The next message (kafka-go's ReadMessage). In a consumer group it is
   * committed before it is returned (at once with `commitInterval` 0, else
   * at the next interval); without a group this is `fetchMessage`.
   */
  async readMessage(options: ReadOptions = {}): Promise<Message> {
    const message = await this.fetchMessage(options);
    if (this.engine instanceof GroupEngine) {
      await this.engine.commitMessages([message]);
    }
    return message;
  }

  /**
   * Commits messages of a consumer group (kafka-go's CommitMessages): per
   * partition the highest offset wins, and the committed value is that
   * offset + 1. Commits for partitions this member no longer owns are not
   * sent (their new owner reads them again); commits refused because the
   * group is rebalancing are handled by rejoining, not thrown.
   *
   * @example
   * ```ts
   * import { Reader, Writer } from "../../mod.ts";
   *
   * const topic = "docs-group-commits";
   * const w = new Writer({ brokers: ["localhost:9092"], topic, allowAutoTopicCreation: true });
   * await w.writeMessages({ value: "hello" });
   * await w.close();
   *
   * const r = new Reader({ brokers: ["localhost:9092"], groupId: `docs-${Date.now()}`, topic });
   * const m = await r.fetchMessage();
   * console.log(new TextDecoder().decode(m.value!)); // handle it, then:
   * await r.commitMessages(m);
   * await r.close();
   * ```
   */
  async commitMessages(...messages: Message[]): Promise<void> {
    if (!(this.engine instanceof GroupEngine)) {
      throw new TypeError(
        `Cannot commit messages: the Reader is not in a consumer group (set "groupId")`,
      );
    }
    messages.forEach(checkCommitted);
    await this.engine.commitMessages(messages);
  }

  /**
   * Seeks partitions this group member owns (all of them when none are
   * named) to their first message at or after `time`, or to their end when
   * there is none (Java's `offsetsForTimes`, then `seek`). Rejects, before
   * anything moves, for a partition not assigned or a time that is not a
   * valid Date.
   *
   * @example Read again what came since an hour ago
   * ```ts
   * import { Reader, Writer } from "jsr:@streamkafka/client";
   *
   * const topic = "docs-seek-time";
   * const w = new Writer({ brokers: ["localhost:9092"], topic, allowAutoTopicCreation: true });
   * await w.writeMessages({ value: "recent" });
   * await w.close();
   *
   * const r = new Reader({ brokers: ["localhost:9092"], groupId: `docs-st-${Date.now()}`, topic });
   * await r.readMessage(); // joined, with partitions
   * await r.seekToTime(new Date(Date.now() - 3600_000));
   * console.log(new TextDecoder().decode((await r.readMessage()).value!)); // "recent"
   * await r.close();
   * ```
   */
  async seekToTime(time: Date, ...partitions: TopicPartition[]): Promise<void> {
    await this.#whileOpen(
      "seek",
      this.groupEngine("seek").seekToTime(time, partitions),
    );
  }

  /**
   * `work`, whose failure because the Reader closed under it (a connection
   * or the fetch engine closed) says so, naming the call.
   */
  async #whileOpen<T>(what: string, work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (error) {
      if (error instanceof ClosedError) this.engine.checkNotClosed(what);
      throw error;
    }
  }

  /**
   * Commits offsets of partitions this group member owns now, whatever
   * `commitInterval` (Java's `commitSync` with offsets): each `offset` is the
   * next message to read, the last one processed + 1. A RangeError for a
   * partition not assigned to this member, before anything is sent.
   *
   * @example
   * ```ts
   * import { Reader, Writer } from "jsr:@streamkafka/client";
   *
   * const topic = "docs-commit-offsets";
   * const w = new Writer({ brokers: ["localhost:9092"], topic, allowAutoTopicCreation: true });
   * await w.writeMessages({ value: "a" }, { value: "b" });
   * await w.close();
   *
   * const r = new Reader({ brokers: ["localhost:9092"], groupId: `docs-co-${Date.now()}`, topic });
   * const m = await r.fetchMessage();
   * // Done with m and the one after it: resume at m.offset + 2.
   * await r.commitOffsets({ topic, partition: m.partition, offset: m.offset + 2 });
   * await r.close();
   * ```
   */
  async commitOffsets(...offsets: SeekPosition[]): Promise<void> {
    await this.groupEngine("commit offsets").commitOffsets(offsets);
  }

  /**
   * Stops fetching and handing out messages of these partitions of a group
   * Reader until `resume`; what was prefetched for them is dropped (and
   * fetched again on resume). The group keeps them assigned to this member.
   */
  pause(...partitions: TopicPartition[]): void {
    this.groupEngine("pause partitions").pause(partitions);
  }

  /** Fetches and hands out partitions paused with `pause` again. */
  resume(...partitions: TopicPartition[]): void {
    this.groupEngine("resume partitions").resume(partitions);
  }

  /**
   * Moves partitions this group member owns to offsets (Java's `seek`): what
   * was prefetched for them is dropped, and the next message of each is the
   * one at its offset (FirstOffset and LastOffset: the partition's first or
   * next message). Commits then follow what is consumed from there, so a
   * seek back commits the lower offset once read. Called in
   * `onPartitionsAssigned`, it replaces the committed offset the partition
   * would resume from. A RangeError for a partition not assigned to this
   * member (see `assignment()`); nothing moves then.
   *
   * @example Read a partition again from its start
   * ```ts
   * import { FirstOffset, Reader, Writer } from "jsr:@streamkafka/client";
   *
   * const topic = "docs-seek";
   * const w = new Writer({ brokers: ["localhost:9092"], topic, allowAutoTopicCreation: true });
   * await w.writeMessages({ value: "first" }, { value: "second" });
   * await w.close();
   *
   * const r = new Reader({ brokers: ["localhost:9092"], groupId: `docs-seek-${Date.now()}`, topic });
   * const m = await r.readMessage();
   * r.seek({ topic, partition: m.partition, offset: FirstOffset });
   * console.log(new TextDecoder().decode((await r.readMessage()).value!)); // "first"
   * await r.close();
   * ```
   */
  seek(...positions: SeekPosition[]): void {
    this.groupEngine("seek").seek(positions);
  }

  /** The partitions the group assigned to this member now (empty outside a group). */
  assignment(): TopicPartition[] {
    return this.engine instanceof GroupEngine ? this.engine.assignment() : [];
  }

  /**
   * The group and member this Reader consumes as, for
   * `Writer.sendOffsets` in a transaction; null outside a group or between
   * generations (before the first join, during a rebalance).
   */
  groupMetadata(): GroupMetadata | null {
    return this.engine instanceof GroupEngine
      ? this.engine.groupMetadata()
      : null;
  }

  /** The group engine, or a TypeError saying `what` needs a group. */
  private groupEngine(what: string): GroupEngine {
    if (!(this.engine instanceof GroupEngine)) {
      throw new TypeError(
        `Cannot ${what}: the Reader is not in a consumer group (set "groupId")`,
      );
    }
    return this.engine;
  }

  /**
   * The next message (kafka-go's FetchMessage). Concurrent calls are served
   * in call order. Rejects with a TypeError while another consumer holds the
   * stream (`for await`, `pipeTo`, `getReader`), with ClosedError once the
   * Reader is closed, and with the stream's error once it failed.
   */
  fetchMessage(options: ReadOptions = {}): Promise<Message> {
    try {
      checkCallOptions("Cannot read a message", options, SIGNAL_OPTION);
    } catch (error) {
      return Promise.reject(error);
    }
    const fetched = this.fetchOne(options);
    const tracing = this.tracing;
    if (tracing === null) return fetched;
    return fetched.then((m) => {
      tracing.start(m, "receive");
      return m;
    });
  }

  /**
   * Cancels the stream, which closes the Reader (as `close()` does). A
   * `fetchMessage` or `readMessage` of a partition Reader holds the
   * stream's lock while it waits: then the Reader is closed all the same,
   * and they reject with a ClosedError, as on a group Reader (the platform
   * would refuse a locked stream).
   */
  override cancel(reason?: unknown): Promise<void> {
    if (this.locked && this.reading > 0) return this.close();
    return super.cancel(reason);
  }

  /** `fetchMessage` without its span. */
  private fetchOne(options: ReadOptions): Promise<Message> {
    const { signal } = options;
    if (this.engine instanceof GroupEngine) {
      if (this.locked) {
        // A closed Reader says so, whoever still holds its stream.
        try {
          this.engine.checkNotClosed("read a message");
        } catch (error) {
          return Promise.reject(error);
        }
        return Promise.reject(
          new TypeError(
            "Cannot read a message: the Reader is locked by another consumer (for await, pipeTo or getReader); read through it, or release it first",
          ),
        );
      }
      return this.engine.next(signal);
    }
    if (this.reading === 0 && !signal?.aborted) {
      // Nobody else is reading and the stream holds nothing: take straight
      // from the queue instead of through a stream reader.
      const message = this.engine.takeUnlocked(this.locked);
      if (message !== undefined) return Promise.resolve(message);
    }
    this.reading++;
    // Counted down before the caller resumes, so its next call can take
    // the quick way again.
    const turn = this.readTurn.then(() => this.readOne(signal)).finally(() => {
      this.reading--;
    });
    this.readTurn = turn.then(ignore, ignore);
    return untilAborted(turn, signal, "readMessage");
  }

  /**
   * Iterates the messages, as the platform's iterator does (it locks the
   * stream; leaving the loop early cancels, which closes the Reader, unless
   * `preventCancel`), but takes queued messages straight from the queue: the
   * stream machinery costs more per message than decoding it.
   *
   * The return type is the platform's own iterator type (it differs between
   * runtimes' type definitions).
   */
  override values(
    options: { preventCancel?: boolean | undefined } = {},
  ): ReturnType<ReadableStream<Message>["values"]> {
    checkStreamOptions("Cannot iterate the Reader", options);
    const reader = this.getReader();
    const engine = this.engine;
    let finished = false;
    const end = (): IteratorResult<Message> => {
      if (!finished) {
        finished = true;
        reader.releaseLock();
      }
      return { value: undefined, done: true };
    };
    const iterator = {
      next(): Promise<IteratorResult<Message>> {
        if (finished) return Promise.resolve(end());
        const message = engine.takeQueued();
        if (message !== undefined) {
          return Promise.resolve({ value: message, done: false });
        }
        return reader.read().then(
          (r) => r.done ? end() : { value: r.value, done: false },
          (error) => {
            end();
            throw error;
          },
        );
      },
      async return(value?: unknown): Promise<IteratorResult<Message>> {
        // The loop body finished with the last message (break, return).
        if (engine instanceof GroupEngine) engine.iterationEnded();
        if (!finished && options.preventCancel !== true) {
          await reader.cancel(value);
        }
        end();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return (this.tracing?.iterate(iterator) ??
      iterator) as unknown as ReturnType<
        ReadableStream<Message>["values"]
      >;
  }

  /**
   * The messages as a stream of batches, each the consecutive messages of
   * one partition that one fetch returned (what is left of them): for
   * processing records in bulk. Read by index (`batch.value(i)`), a batch
   * makes no object per message. It locks the Reader as `for await` does;
   * cancelling it (leaving its `for await` early) closes the Reader unless
   * `preventCancel`. In a consumer group, a batch counts as consumed (for
   * the automatic commits) once the next one is asked for, or the loop ends.
   *
   * @example
   * ```ts
   * import { Reader, Writer } from "jsr:@streamkafka/client";
   *
   * const brokers = ["localhost:9092"];
   * const topic = "docs-batches";
   * const writer = new Writer({ brokers, topic, allowAutoTopicCreation: true });
   * await writer.writeMessages({ value: "one" }, { value: "two" });
   * await writer.close();
   *
   * const reader = new Reader({ brokers, topic, partition: 0 });
   * let bytes = 0;
   * for await (const batch of reader.batches()) {
   *   for (let i = 0; i < batch.length; i++) {
   *     bytes += batch.value(i)?.length ?? 0;
   *   }
   *   // Caught up: leaving the loop closes the Reader.
   *   if (batch.lastOffset + 1 === batch.highWaterMark) break;
   * }
   * console.log(bytes);
   * ```
   */
  batches(
    options: { preventCancel?: boolean | undefined } = {},
  ): ReadableStream<MessageBatch> {
    checkStreamOptions("Cannot read batches", options);
    if (this.locked) {
      throw new TypeError(
        "Cannot read batches: the Reader is locked by another consumer (for await, pipeTo or getReader); read through it, or release it first",
      );
    }
    return this.#batches(options, true);
  }

  /** The batches, with a span each when `traced` and the Reader has tracing. */
  #batches(
    options: { preventCancel?: boolean | undefined },
    traced: boolean,
  ): ReadableStream<MessageBatch> {
    const engine = this.engine;
    const taker: BatchTaker<Message> = {
      queued: () => engine.takeQueued(),
      batch: (first) => messageBatch(first, engine.takeRest()),
      ended: () => {
        if (engine instanceof GroupEngine) engine.iterationEnded();
      },
    };
    return batchStream(
      this.getReader(),
      (traced ? this.tracing?.takeBatches(taker) : undefined) ?? taker,
      options,
    );
  }

  /**
   * Pipes what `options.map` makes of each message into `dest` (consume,
   * transform, produce), with the same options and outcomes; into a
   * Writer, at least once in a group, or exactly once into a
   * transactional one, as the next overload says.
   *
   * @example Transform on the way
   * ```ts
   * import { Reader, Writer } from "jsr:@streamkafka/client";
   *
   * const brokers = ["localhost:9092"];
   * const reader = new Reader({ brokers, groupId: "docs-upper", topic: "docs-in" });
   * const writer = new Writer({
   *   brokers,
   *   topic: "docs-upper",
   *   allowAutoTopicCreation: true,
   * });
   * const stop = new AbortController();
   * setTimeout(() => stop.abort(), 1000);
   * await reader.pipeTo(writer, {
   *   signal: stop.signal,
   *   preventAbort: true,
   *   // null leaves a message out; an array writes several.
   *   map: (m) =>
   *     m.value === null ? null : {
   *       key: m.key,
   *       value: new TextDecoder().decode(m.value).toUpperCase(),
   *     },
   * }).catch(() => {});
   * await writer.close();
   * ```
   */
  override pipeTo<T>(
    dest: WritableStream<T>,
    options: ReaderPipeOptions<NoInfer<T>, Message> & {
      map: PipeMap<NoInfer<T>, Message>;
    },
  ): Promise<void>;
  /**
   * Pipes the messages into `dest`, as the platform's `pipeTo` does (the
   * options mean the same). Into a Writer, each fetched batch's messages go
   * over in one call, not a stream write each: mirroring costs about half
   * the CPU per message of a stream pipe. In a consumer group, a batch
   * counts as consumed (for the commits) once the Writer acknowledged it and
   * every batch before it: what a failed write held is read again.
   *
   * Into a Writer with a `transactionalId`, the pipe writes in transactions
   * and commits each with the group's offsets of what it wrote, every
   * `commitInterval` (100 ms when 0): exactly once for read_committed
   * readers of the output. A failed write aborts the open transaction and
   * rejects the pipe; a rebalance commits it first.
   *
   * @example Mirror a topic
   * ```ts
   * import { Reader, Writer } from "jsr:@streamkafka/client";
   *
   * const brokers = ["localhost:9092"];
   * const source = new Writer({
   *   brokers,
   *   topic: "docs-in",
   *   allowAutoTopicCreation: true,
   * });
   * await source.writeMessages({ value: "one" }, { value: "two" });
   * await source.close();
   *
   * const reader = new Reader({ brokers, groupId: "mirror", topic: "docs-in" });
   * const writer = new Writer({
   *   brokers,
   *   topic: "docs-out",
   *   allowAutoTopicCreation: true,
   * });
   * const stop = new AbortController();
   * setTimeout(() => stop.abort(), 1000);
   * // Ends with the signal's reason; what was handed over is written.
   * await reader.pipeTo(writer, { signal: stop.signal, preventAbort: true })
   *   .catch(() => {});
   * await writer.close();
   * ```
   *
   * @example Mirror a topic exactly once
   * ```ts
   * import { Reader, Writer } from "jsr:@streamkafka/client";
   *
   * const brokers = ["localhost:9092"];
   * const reader = new Reader({
   *   brokers,
   *   groupId: "docs-eos-mirror",
   *   topic: "docs-in",
   * });
   * const writer = new Writer({
   *   brokers,
   *   topic: "docs-eos-out",
   *   transactionalId: "docs-eos-mirror-1",
   *   allowAutoTopicCreation: true,
   * });
   * const stop = new AbortController();
   * setTimeout(() => stop.abort(), 1000);
   * // Stopping with preventAbort commits what was handed over.
   * await reader.pipeTo(writer, { signal: stop.signal, preventAbort: true })
   *   .catch(() => {});
   * await writer.close();
   * ```
   */
  override pipeTo(
    dest: WritableStream<Message>,
    options?: StreamPipeOptions & { map?: undefined },
  ): Promise<void>;
  /**
   * Pipes with options kept in a variable of type `ReaderPipeOptions<T>`,
   * whose `map` (if any) must give what `dest` takes.
   */
  override pipeTo<T>(
    dest: WritableStream<T>,
    options: ReaderPipeOptions<NoInfer<T>, Message>,
  ): Promise<void>;
  override pipeTo(
    dest: WritableStream<unknown>,
    options: ReaderPipeOptions<unknown> = {},
  ): Promise<void> {
    // A group's commits follow what the Writer acknowledged, or go in its
    // transactions.
    const group = this.engine instanceof GroupEngine ? this.engine : null;
    return pipeMessages(
      this,
      dest,
      options,
      "the Reader",
      (sink) => (drain) => {
        const consumption = group?.consumedBy(drain) ?? null;
        return sink.transactions === null
          ? new Acknowledged(consumption)
          : new PipeTransactions(
            sink.transactions,
            consumption,
            group?.transactionInterval ?? 100,
          );
      },
      this.tracing === null ? null : {
        tracing: this.tracing,
        untraced: { batches: (o) => this.#batches(o, false) },
      },
    );
  }

  /** What `for await` calls: the same as `values(options)`. */
  override [Symbol.asyncIterator](
    options?: { preventCancel?: boolean | undefined },
  ): ReturnType<ReadableStream<Message>["values"]> {
    return this.values(options);
  }

  /** One message through a short-lived stream reader that `signal` releases. */
  private async readOne(signal: AbortSignal | undefined): Promise<Message> {
    if (signal?.aborted) throw abortReason(signal, "readMessage");
    this.engine.checkNotClosed("read a message");
    if (this.locked) {
      throw new TypeError(
        "Cannot read a message: the Reader is locked by another consumer (for await, pipeTo or getReader); read through it, or release it first",
      );
    }
    const reader = this.getReader();
    // Releasing the lock rejects the pending read; the message it would
    // have got stays queued for the next read.
    const onAbort = () => reader.releaseLock();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const { value, done } = await reader.read();
      if (done) {
        throw new ClosedError("Cannot read a message: the Reader is closed");
      }
      return value;
    } catch (error) {
      if (signal?.aborted) throw abortReason(signal, "readMessage");
      throw error;
    } finally {
      signal?.removeEventListener("abort", onAbort);
      reader.releaseLock();
    }
  }

  /**
   * Moves the reader to `offset` (or FirstOffset, LastOffset): prefetched
   * messages are dropped and fetching restarts there.
   */
  setOffset(offset: number): void {
    this.engine.setOffset(offset);
  }

  /**
   * Moves the reader to the first message whose time is at or after `time`,
   * or to the end of the partition when there is none.
   */
  async setOffsetAt(time: Date, options: ReadOptions = {}): Promise<void> {
    checkCallOptions("Cannot set the offset", options, SIGNAL_OPTION);
    await this.#whileOpen(
      "set the offset",
      this.engine.setOffsetAt(time, options.signal),
    );
  }

  /** The offset of the next message to be read; FirstOffset or LastOffset until known. */
  get offset(): number {
    return this.engine.position;
  }

  /** Messages between `offset` and the partition's end at the last fetch; -1 until known. */
  get lag(): number {
    return this.engine.lag;
  }

  /** Asks the partition leader for the end of the partition and returns the lag. */
  async readLag(options: ReadOptions = {}): Promise<number> {
    checkCallOptions("Cannot read the lag", options, SIGNAL_OPTION);
    return await this.#whileOpen(
      "read the lag",
      this.engine.readLag(options.signal),
    );
  }

  /**
   * The client instance id the brokers gave this Reader for its telemetry
   * (KIP-714; Java's `clientInstanceId`), under which its metrics reach the
   * cluster's metrics system: asked for now if it was not yet. Null when
   * the brokers take no telemetry (no receiver plugin) or `telemetry` is
   * false; a TimeoutError after `options.timeout` ms (default 10 s).
   *
   * @example
   * ```ts
   * import { Reader } from "jsr:@streamkafka/client";
   *
   * const r = new Reader({ brokers: ["localhost:9092"], topic: "docs-instance-id" });
   * console.log(await r.clientInstanceId()); // for example "h5BZ_LAiTFCvn2TX_oBGVw", or null
   * await r.close();
   * ```
   */
  clientInstanceId(
    options: { timeout?: number | undefined } = {},
  ): Promise<string | null> {
    try {
      return this.engine.clientInstanceId(instanceIdTimeout("Reader", options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Counters since the last call, then reset (kafka-go's Stats). */
  stats(): ReaderStats {
    return this.engine.stats();
  }

  /**
   * Stops fetching and closes the connections the Reader opened. A read in
   * progress ends as the end of the stream; later reads reject. In a group
   * it commits what was consumed and leaves the group first; called inside
   * a rebalance callback it resolves at once, and the Reader closes once the
   * callback returns.
   */
  close(): Promise<void> {
    return this.engine.close();
  }

  /** Closes the Reader at the end of an `await using` block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function ignore(): void {}

/**
 * Throws unless `m` is a message as read (what `commitMessages` commits
 * past): a topic, a partition and an offset, each of its kind. The commit
 * is `offset + 1`, so a string offset would commit "1" + 1 = 11.
 */
function checkCommitted(m: Message, index: number): void {
  const at = `Cannot commit messages: message ${index}`;
  if (m === null || typeof m !== "object") {
    throw new TypeError(
      `${at} must be a message read from this Reader, got ${describeValue(m)}`,
    );
  }
  if (typeof m.topic !== "string" || m.topic === "") {
    throw new TypeError(
      `${at} has "topic" ${describeValue(m.topic)}: expected a topic name`,
    );
  }
  if (!Number.isInteger(m.partition) || m.partition < 0) {
    throw new RangeError(
      `${at} has "partition" ${
        describeValue(m.partition)
      }: expected a whole number >= 0`,
    );
  }
  if (!Number.isSafeInteger(m.offset) || m.offset < 0) {
    throw new RangeError(
      `${at} has "offset" ${
        describeValue(m.offset)
      }: expected a whole number >= 0 (the offset of a message read)`,
    );
  }
}
