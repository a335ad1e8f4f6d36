/**
 * The ShareReader: a member of a share group (KIP-932, Kafka's queues), as
 * a ReadableStream of messages.
 *
 * @module
 */

import { type ReaderTracing, readerTracing } from "../../tracing/reader.ts";
import { instanceIdTimeout } from "../../cluster/telemetry.ts";
import type { TopicPartition } from "../../message.ts";
import {
  checkCallOptions,
  checkStreamOptions,
  describeValue,
  guardCallbacks,
  SIGNAL_OPTION,
} from "../../options.ts";
import { ClosedError, untilAborted } from "../../connection/errors.ts";
import {
  arrayBatch,
  batchStream,
  type BatchTaker,
  type MessageBatch,
} from "../message_batch.ts";
import type { PipeMap, ReaderPipeOptions } from "../options.ts";
import { pipeMessages } from "../pipe.ts";
import type { AcknowledgeType } from "./acks.ts";
import { ShareEngine } from "./engine.ts";
import { ShareAcknowledged } from "./pipe.ts";
import {
  type ShareMessage,
  type ShareReaderOptions,
  validateShareReader,
} from "./options.ts";

export type { AcknowledgeType, ShareMessage, ShareReaderOptions };

/** What a ShareReader has done so far. */
export interface ShareReaderStats {
  /** Messages fetched (acquired) and queued to be handed out. */
  messages: number;
  /** ShareFetch requests sent. */
  fetches: number;
  /** Acknowledgements the brokers took (gaps included). */
  acknowledged: number;
  /** Acknowledgements refused by a broker or lost with a session. */
  acknowledgeFailures: number;
  /** Offsets acquired with no record there, acknowledged as gaps. */
  gaps: number;
  /**
   * Records acquired in a batch that failed its CRC check: rejected, so
   * that no member is handed them.
   */
  corrupt: number;
  /** Acquisition locks renewed (`renew`). */
  renewed: number;
  /**
   * Records fetched whose locks ran out before the consumer asked for them:
   * dropped, not handed out late (they went back to the group).
   */
  expired: number;
  /** The acquisition lock the brokers last reported (ms), -1 before any. */
  lockTimeout: number;
}

/**
 * A member of a share group (KIP-932, Kafka 4.1 on): the group's members
 * read the same partitions together, and the broker hands each record to
 * one member at a time, as a queue does. A member acknowledges each record
 * it was handed: accept (done), release (hand it to someone again) or
 * reject (never again); a record not acknowledged within the acquisition
 * lock (`share.record.lock.duration.ms`, 30 s by default) goes back to the
 * group, and `deliveryCount` says how often it was handed out.
 *
 * By default acknowledgement is implicit: a message is accepted when the
 * next one is asked for, or when the `for await` loop that read it ends.
 * With `acknowledgements: "explicit"`, call `acknowledge` for each one.
 * Closing releases what was not acknowledged.
 *
 * A new share group starts at the end of each partition (the group config
 * `share.auto.offset.reset` is "latest" by default; set it to "earliest"
 * with `Client.incrementalAlterConfigs` on the group to read what is there already).
 *
 * @example Work through a queue, two workers at once
 * ```ts
 * import { ShareReader } from "jsr:@streamkafka/client";
 *
 * const worker = () =>
 *   new ShareReader({
 *     brokers: ["localhost:9092"],
 *     groupId: "docs-jobs",
 *     topics: ["docs-jobs"],
 *   });
 * const a = worker();
 * const b = worker();
 * setTimeout(() => Promise.all([a.close(), b.close()]), 1000);
 * await Promise.all([a, b].map(async (reader) => {
 *   for await (const job of reader) {
 *     console.log(job.offset, job.deliveryCount); // accepted when the next is read
 *   }
 * }));
 * ```
 */
export class ShareReader extends ReadableStream<ShareMessage> {
  private readonly engine: ShareEngine;
  /** The spans of the messages, with `tracing`. */
  private readonly tracing: ReaderTracing | null;
  /** Settles when the `fetchMessage` calls made so far have ended. */
  #fetching: Promise<void> = Promise.resolve();

  /**
   * Checks the options (a TypeError or RangeError names a wrong one).
   * The member joins the group on the first read.
   */
  constructor(userOptions: ShareReaderOptions) {
    validateShareReader(userOptions);
    const options = guardCallbacks(userOptions, "kafka share reader");
    const engine = new ShareEngine(options);
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
   * Takes the next message, as a queue worker pulls one job at a time;
   * waits until one comes, the reader closes (a ClosedError) or `signal`
   * aborts (the wait ends; nothing is lost: a message fetched meanwhile
   * comes with the next call). As with `for await`, in the implicit mode
   * the message is accepted when the next one is taken (or at `commit()`
   * or `close()`); in the explicit mode, `acknowledge` it. Calls made at
   * once are served one at a time, in call order. A reader held by
   * `for await`, a pipe or `getReader()` refuses with a TypeError.
   *
   * @example One job at a time, with a time limit
   * ```ts
   * import { ShareReader } from "jsr:@streamkafka/client";
   *
   * const reader = new ShareReader({
   *   brokers: ["localhost:9092"],
   *   groupId: "docs-fetch-one",
   *   topics: ["docs-jobs"],
   *   acknowledgements: "explicit",
   * });
   * try {
   *   const job = await reader.fetchMessage({
   *     signal: AbortSignal.timeout(5000),
   *   });
   *   reader.acknowledge(job, job.value === null ? "reject" : "accept");
   *   await reader.commit();
   * } catch (error) {
   *   console.log((error as Error).name); // TimeoutError when no job came
   * } finally {
   *   await reader.close();
   * }
   * ```
   */
  async fetchMessage(
    options: { signal?: AbortSignal | undefined } = {},
  ): Promise<ShareMessage> {
    checkCallOptions("Cannot read a message", options, SIGNAL_OPTION);
    this.engine.checkNotClosed("read a message");
    // One call at a time, in call order: each waits for the calls before
    // it (a call aborted while it waits lets the next wait for the same).
    const before = this.#fetching;
    let done!: () => void;
    const mine = new Promise<void>((resolve) => done = resolve);
    this.#fetching = before.then(() => mine);
    let result: ReadableStreamReadResult<ShareMessage>;
    try {
      await untilAborted(before, options.signal, "readMessage");
      this.engine.checkNotClosed("read a message");
      if (this.locked) {
        throw new TypeError(
          "Cannot read a message: the ShareReader is locked by another consumer (for await, pipeTo or getReader); read through it, or release it first",
        );
      }
      const reader = this.getReader();
      try {
        result = await untilAborted(
          reader.read(),
          options.signal,
          "readMessage",
        );
      } finally {
        // A read still waiting (aborted) ends here; what it would have
        // taken stays queued in the stream for the next read.
        reader.releaseLock();
      }
    } finally {
      done();
    }
    if (result.done) {
      throw new ClosedError("Cannot read a message: the ShareReader is closed");
    }
    this.tracing?.start(result.value, "receive");
    return result.value;
  }

  /**
   * Acknowledges a message this reader handed out: "accept" (the default)
   * marks it done; "release" hands it out again (to any member), "reject"
   * archives it unprocessed. Each message is acknowledged once; in the
   * implicit mode, acknowledging one before the next read overrides the
   * implicit accept. The acknowledgement goes out with the next fetch, or
   * at once with `commit`.
   *
   * @example Release what cannot be processed now
   * ```ts
   * import { ShareReader } from "jsr:@streamkafka/client";
   *
   * const reader = new ShareReader({
   *   brokers: ["localhost:9092"],
   *   groupId: "docs-explicit",
   *   topics: ["docs-jobs"],
   *   acknowledgements: "explicit",
   * });
   * setTimeout(() => reader.close(), 1000);
   * for await (const job of reader) {
   *   const ok = job.value !== null;
   *   reader.acknowledge(job, ok ? "accept" : "reject");
   * }
   * ```
   */
  acknowledge(message: ShareMessage, type: AcknowledgeType = "accept"): void {
    // A closed reader says so first, whatever it is given.
    this.engine.checkNotClosed("acknowledge");
    const m = message as Partial<ShareMessage> | null;
    if (
      m === null || typeof m !== "object" || typeof m.topic !== "string" ||
      !Number.isInteger(m.partition) || !Number.isInteger(m.offset)
    ) {
      throw new TypeError(
        `Cannot acknowledge: "message" must be a message this ShareReader handed out ({ topic, partition, offset, ... }), got ${
          describeValue(message)
        }`,
      );
    }
    if (type !== "accept" && type !== "release" && type !== "reject") {
      throw new TypeError(
        `Cannot acknowledge: "type" must be "accept", "release" or "reject", got ${
          describeValue(type)
        }`,
      );
    }
    this.engine.acknowledge(message, type);
  }

  /**
   * Sends the acknowledgements made so far (in the implicit mode, the
   * message in process is accepted first) and resolves once the brokers
   * took them: Java's `commitSync`. Rejects with a broker's refusal (e.g.
   * INVALID_RECORD_STATE when a record's lock ran out first), an
   * AggregateError for several.
   *
   * @example
   * ```ts
   * import { ShareReader } from "jsr:@streamkafka/client";
   *
   * const reader = new ShareReader({
   *   brokers: ["localhost:9092"],
   *   groupId: "docs-commit",
   *   topics: ["docs-jobs"],
   *   acknowledgements: "explicit",
   * });
   * setTimeout(() => reader.close(), 1000);
   * for await (const job of reader) {
   *   reader.acknowledge(job);
   *   await reader.commit(); // the broker has it now
   * }
   * ```
   */
  commit(): Promise<void> {
    return this.engine.commit();
  }

  /**
   * Restarts the acquisition locks of messages this reader handed out and
   * that are not acknowledged yet (KIP-1222, Kafka 4.2 on): each stays with
   * this member for another lock duration (`share.record.lock.duration.ms`,
   * `stats().lockTimeout`) from now, with its delivery count unchanged. For
   * work that takes longer than the lock: renew before it runs out, as
   * often as needed. A renewed message still needs its acknowledgement (in
   * the implicit mode, the next read accepts it as before).
   *
   * Sent at once; resolves when the brokers renewed the locks. Rejects with
   * a RangeError for a message not handed out or already acknowledged
   * (nothing is renewed then), INVALID_RECORD_STATE when a lock had run out
   * already (the record went back to the group), and
   * UnsupportedVersionError from a broker older than 4.2.
   *
   * @example Keep a long job's record while working on it
   * ```ts
   * import { ShareReader } from "jsr:@streamkafka/client";
   *
   * const reader = new ShareReader({
   *   brokers: ["localhost:9092"],
   *   groupId: "docs-renew",
   *   topics: ["docs-jobs"],
   * });
   * setTimeout(() => reader.close(), 1000);
   * for await (const job of reader) {
   *   const keep = setInterval(() => {
   *     reader.renew(job).catch((error) => console.error(error));
   *   }, 10_000);
   *   try {
   *     // ... work for minutes ...
   *   } finally {
   *     clearInterval(keep);
   *   }
   * }
   * ```
   */
  renew(...messages: ShareMessage[]): Promise<void> {
    return this.engine.renew(messages);
  }

  /**
   * The messages as a stream of batches, each the rest of one response's
   * records of one partition, for processing in bulk. It locks the reader
   * as `for await` does; cancelling it closes the reader unless
   * `preventCancel`. In the implicit mode a batch is accepted when the next
   * one is asked for, or when the loop ends.
   *
   * @example
   * ```ts
   * import { ShareReader } from "jsr:@streamkafka/client";
   *
   * const reader = new ShareReader({
   *   brokers: ["localhost:9092"],
   *   groupId: "docs-share-batches",
   *   topics: ["docs-jobs"],
   * });
   * setTimeout(() => reader.close(), 1000);
   * for await (const batch of reader.batches()) {
   *   console.log(batch.partition, batch.firstOffset, batch.length);
   * }
   * ```
   */
  batches(
    options: { preventCancel?: boolean | undefined } = {},
  ): ReadableStream<MessageBatch<ShareMessage>> {
    checkStreamOptions("Cannot read batches", options);
    if (this.locked) {
      throw new TypeError(
        "Cannot read batches: the ShareReader is locked by another consumer (for await, pipeTo or getReader); read through it, or release it first",
      );
    }
    return this.#batches(options, true);
  }

  /** The batches, with a span each when `traced` and the reader has tracing. */
  #batches(
    options: { preventCancel?: boolean | undefined },
    traced: boolean,
  ): ReadableStream<MessageBatch<ShareMessage>> {
    const engine = this.engine;
    const taker: BatchTaker<ShareMessage> = {
      queued: () => undefined,
      batch: (first) => arrayBatch(engine.takeRest(first)),
      ended: () => engine.iterationEnded(),
    };
    return batchStream(
      this.getReader(),
      (traced ? this.tracing?.takeBatches(taker) : undefined) ?? taker,
      options,
    );
  }

  /**
   * Pipes what `options.map` makes of each message into `dest`, with the
   * same options and outcomes as the next overload.
   *
   * @example Consume, transform, produce
   * ```ts
   * import { ShareReader, Writer } from "jsr:@streamkafka/client";
   *
   * const brokers = ["localhost:9092"];
   * const reader = new ShareReader({
   *   brokers,
   *   groupId: "docs-share-upper",
   *   topics: ["docs-jobs"],
   * });
   * const writer = new Writer({
   *   brokers,
   *   topic: "docs-jobs-upper",
   *   allowAutoTopicCreation: true,
   * });
   * const stop = new AbortController();
   * setTimeout(() => stop.abort(), 1000);
   * await reader.pipeTo(writer, {
   *   signal: stop.signal,
   *   preventAbort: true,
   *   map: (m) => ({ value: new TextDecoder().decode(m.value!).toUpperCase() }),
   * }).catch(() => {});
   * await writer.close();
   * ```
   */
  override pipeTo<T>(
    dest: WritableStream<T>,
    options: ReaderPipeOptions<NoInfer<T>, ShareMessage> & {
      map: PipeMap<NoInfer<T>, ShareMessage>;
    },
  ): Promise<void>;
  /**
   * Pipes the messages into `dest`, as the platform's `pipeTo` does (the
   * options mean the same). Into a Writer, each batch goes over in one
   * call, and is accepted once the Writer acknowledged it, released (to be
   * handed out again) if its write failed: at least once. Into any other
   * destination a message is accepted when the next one is read, as in
   * `for await`. A Writer with a `transactionalId` is refused: share
   * groups acknowledge records outside transactions.
   *
   * @example Move jobs from a queue into a topic
   * ```ts
   * import { ShareReader, Writer } from "jsr:@streamkafka/client";
   *
   * const brokers = ["localhost:9092"];
   * const reader = new ShareReader({
   *   brokers,
   *   groupId: "docs-share-pipe",
   *   topics: ["docs-jobs"],
   * });
   * const writer = new Writer({
   *   brokers,
   *   topic: "docs-jobs-done",
   *   allowAutoTopicCreation: true,
   * });
   * const stop = new AbortController();
   * setTimeout(() => stop.abort(), 1000);
   * // Ends with the signal's reason; what was handed over is written.
   * await reader.pipeTo(writer, { signal: stop.signal, preventAbort: true })
   *   .catch(() => {});
   * await writer.close();
   * ```
   */
  override pipeTo(
    dest: WritableStream<ShareMessage>,
    options?: StreamPipeOptions,
  ): Promise<void>;
  override pipeTo(
    dest: WritableStream<unknown>,
    options: ReaderPipeOptions<unknown, ShareMessage> = {},
  ): Promise<void> {
    const engine = this.engine;
    return pipeMessages(
      this,
      dest,
      options,
      "the ShareReader",
      (sink) => {
        if (sink.transactions !== null) {
          throw new TypeError(
            "Cannot pipe a ShareReader into a Writer with a transactionalId: share groups acknowledge records outside transactions. Pipe into a Writer without one (at least once)",
          );
        }
        return () =>
          new ShareAcknowledged({
            acknowledge: (messages, taken, from, to) =>
              engine.pipeAcknowledge(messages, taken, from, to),
            release: engine.pipeTakesOver(),
          });
      },
      this.tracing === null ? null : {
        tracing: this.tracing,
        untraced: { batches: (o) => this.#batches(o, false) },
      },
    );
  }

  /** The partitions the group assigns this member now (shared with others). */
  assignment(): TopicPartition[] {
    return this.engine.assignment();
  }

  /** The member id this reader joined with (made by the client, KIP-1082). */
  get memberId(): string {
    return this.engine.member.memberId;
  }

  /**
   * The client instance id the brokers gave this reader for its telemetry
   * (KIP-714; Java's `clientInstanceId`), under which its metrics reach the
   * cluster's metrics system: asked for now if it was not yet. Null when
   * the brokers take no telemetry (no receiver plugin) or `telemetry` is
   * false; a TimeoutError after `options.timeout` ms (default 10 s).
   *
   * @example
   * ```ts
   * import { ShareReader } from "jsr:@streamkafka/client";
   *
   * const r = new ShareReader({
   *   brokers: ["localhost:9092"],
   *   groupId: "docs-share-instance-id",
   *   topics: ["docs-share-instance-id"],
   * });
   * console.log(await r.clientInstanceId()); // for example "h5BZ_LAiTFCvn2TX_oBGVw", or null
   * await r.close();
   * ```
   */
  clientInstanceId(
    options: { timeout?: number | undefined } = {},
  ): Promise<string | null> {
    try {
      return this.engine.clientInstanceId(
        instanceIdTimeout("ShareReader", options),
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Counters since the reader was created. */
  stats(): ShareReaderStats {
    return { ...this.engine.counters, lockTimeout: this.engine.lockTimeout };
  }

  /**
   * Iterates the messages as the platform's iterator does (it locks the
   * stream; leaving the loop early closes the reader, unless
   * `preventCancel`). The loop's end accepts the last message in the
   * implicit mode: its body finished with it.
   */
  override values(
    options: { preventCancel?: boolean | undefined } = {},
  ): ReturnType<ReadableStream<ShareMessage>["values"]> {
    checkStreamOptions("Cannot iterate the ShareReader", options);
    const iterator = super.values(
      options.preventCancel === undefined
        ? {}
        : { preventCancel: options.preventCancel },
    );
    const engine = this.engine;
    const end = iterator.return?.bind(iterator);
    const ending = Object.assign(iterator, {
      return(value?: unknown): Promise<IteratorResult<ShareMessage>> {
        engine.iterationEnded();
        return end !== undefined
          ? end(value)
          : Promise.resolve({ value: undefined, done: true });
      },
    }) as ReturnType<ReadableStream<ShareMessage>["values"]>;
    return this.tracing?.iterate(ending) ?? ending;
  }

  /** What `for await` calls: the same as `values(options)`. */
  override [Symbol.asyncIterator](
    options?: { preventCancel?: boolean | undefined },
  ): ReturnType<ReadableStream<ShareMessage>["values"]> {
    return this.values(options);
  }

  /**
   * Leaves the group: what was handed out and not acknowledged, and what
   * was fetched and not handed out, is released to the other members; the
   * acknowledgements made are sent first.
   */
  close(): Promise<void> {
    return this.engine.close();
  }

  /** Closes the reader at the end of an `await using` block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
