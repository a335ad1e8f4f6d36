/**
 * The Writer: a `WritableStream` of messages whose sink batches by balancer
 * partition, with retries, idempotence and no latency trap.
 *
 * How batching works: each topic-partition has a queue. When the partition
 * has no request in flight, whatever is queued goes out at once, so a lone
 * write on an idle writer costs one round trip. While a request is in
 * flight, new messages accumulate into the next batch (up to batchSize and
 * batchBytes); it goes out when the request completes. One request in
 * flight per partition keeps a partition's order across retries; many
 * partitions' batches for the same broker share one Produce request.
 *
 * @module
 */

import type { PendingWrite, RecordMetadata } from "./batches.ts";
export type { RecordMetadata } from "./batches.ts";
import { WriterEngine } from "./engine.ts";
import { ClosedError } from "../connection/errors.ts";
import { instanceIdTimeout } from "../cluster/telemetry.ts";
import { checkCallOptions, TIMEOUT_OPTION } from "../options.ts";
import type { WriteOptions, WriterOptions, WriterStats } from "./options.ts";
export type { Logger, TransportOptions } from "../cluster/transport.ts";
export {
  type RequiredAcks,
  WriteErrors,
  type WriteOptions,
  type WriterOptions,
  type WriterStats,
} from "./options.ts";
import type { MessageInput } from "../message.ts";
import type { GroupMetadata, TransactionOffset } from "./transaction.ts";
export type { GroupMetadata, TransactionOffset } from "./transaction.ts";
import { type BulkSink, offerBulkSink } from "../bulk_sink.ts";

/**
 * A bad message's error ("Cannot write message 3: ..."), naming the message
 * as `name(3)` says: its place in the stream, or in a pipe's batch.
 */
function renamed(error: Error, name: (index: number) => string): Error {
  const named = /^Cannot write message (\d+): /.exec(error.message);
  if (named === null) return error;
  const Kind = error instanceof RangeError ? RangeError : TypeError;
  return new Kind(
    `Cannot write ${name(Number(named[1]))}: ${
      error.message.slice(named[0].length)
    }`,
    { cause: error },
  );
}

/** The most stream writes gathered into one queued write. */
const STREAM_GROUP = 1000;

/**
 * Produces messages to Kafka. Use `writeMessages` directly, or pipe a stream
 * of messages into it: `await readable.pipeTo(writer)`.
 *
 * @example Write messages, then close
 * ```ts
 * import { LeastBytes, Writer } from "jsr:@streamkafka/client";
 *
 * const w = new Writer({
 *   brokers: ["localhost:9092"],
 *   topic: "docs-writer",
 *   balancer: new LeastBytes(),
 *   allowAutoTopicCreation: true,
 * });
 * await w.writeMessages(
 *   { key: "Key-A", value: "Hello World!" },
 *   { key: "Key-B", value: "One!" },
 * );
 * await w.close();
 * ```
 *
 * @example Pipe a stream of messages into it
 * ```ts
 * import { type MessageInput, Writer } from "jsr:@streamkafka/client";
 *
 * const w = new Writer({
 *   brokers: ["localhost:9092"],
 *   topic: "docs-writer",
 *   allowAutoTopicCreation: true,
 * });
 * const messages = ReadableStream.from<MessageInput>([
 *   { value: "one" },
 *   { value: "two" },
 * ]);
 * await messages.pipeTo(w); // closes the Writer when the stream ends
 * ```
 */
export class Writer extends WritableStream<MessageInput> {
  private readonly engine: WriterEngine;
  private readonly streamFailure: () => Error | null;
  /** Whether the stream is still open (its sink was not closed). */
  private readonly writable: () => boolean;
  /** The first `close()` of the stream, which later calls await too. */
  private closing: Promise<void> | null = null;
  /** Queues the stream writes gathered for the next turn now. */
  private readonly flushGathered: () => void;
  /** Closes the Writer under whoever holds its stream (see `close`). */
  private readonly closeLocked: () => Promise<void>;

  /**
   * Checks the options (a TypeError or RangeError names a wrong one).
   * Connections open with the first write.
   */
  constructor(options: WriterOptions) {
    const engine = new WriterEngine(options);
    // Every write's outcome is taken here, so none is left unhandled: the
    // first failure errors the stream at the next write or at close.
    let failure: Error | null = null;
    /** Set when `close()` closed the Writer while its stream was locked. */
    let closedUnder: ClosedError | null = null;
    let open = true;
    let outcomes: Promise<void>[] = [];
    const failureListeners = new Set<() => void>();
    const noteFailure = (error: Error) => {
      failure ??= error;
      for (const listener of failureListeners) listener();
    };
    const failStream = (error: Error): never => {
      // The stream is done for: deliver what was queued, then let go of the
      // connections, so a failed pipeTo leaves nothing open.
      engine.close(error).catch(() => {});
      throw error;
    };
    // Stream writes come one message at a time: they are gathered and queued
    // together, at STREAM_GROUP messages or on the next turn of the event
    // loop, so a pipe pays per message little more than the stream's own
    // bookkeeping.
    let gathered: MessageInput[] = [];
    /** Messages written to the stream so far, to name a bad one. */
    let streamed = 0;
    let flushTimer: ReturnType<typeof setTimeout> | undefined;
    const track = (write: PendingWrite): Promise<void> => {
      outcomes.push(write.done.then(undefined, noteFailure));
      return write.done;
    };
    /**
     * Queues a group of messages; returns the outcome of them all. `first`
     * is the first one's place in the stream, or null for a pipe's batch.
     */
    const queue = (
      group: MessageInput[],
      first: number | null,
    ): Promise<unknown> => {
      try {
        // Each message stands alone: one asking for a partition the topic
        // lacks fails alone, as a stream write that resolved must be
        // delivered.
        return track(engine.enqueue(group, undefined, false, true));
      } catch (error) {
        if (first === null) {
          // A pipe's batch is one call, as writeMessages: a bad message
          // fails it whole, before anything of it is sent.
          const named = renamed(
            error as Error,
            (i) => `message ${i} of a batch the pipe handed over`,
          );
          failure ??= named;
          const all = Promise.reject(named);
          all.catch(() => {});
          return all;
        }
        // One bad message fails a group whole: queue the others on their
        // own (their stream writes resolved already: they were taken), and
        // fail the stream with the first bad one's error, as a per-message
        // error fails only its own message.
        const done: Promise<void>[] = [];
        for (let i = 0; i < group.length; i++) {
          try {
            done.push(
              track(engine.enqueue([group[i]], undefined, false, true)),
            );
          } catch (error) {
            // Queued alone, it is message 0 of its write.
            const named = renamed(
              error as Error,
              () => `message ${first + i} of the stream (counted from 0)`,
            );
            failure ??= named;
            done.push(Promise.reject(named));
          }
        }
        const all = Promise.all(done);
        // Stream writes ask the stream's failure instead: handled here.
        all.catch(() => {});
        return all;
      }
    };
    const flush = () => {
      if (flushTimer !== undefined) clearTimeout(flushTimer);
      flushTimer = undefined;
      if (gathered.length === 0) return;
      const group = gathered;
      gathered = [];
      queue(group, streamed - group.length);
    };
    /** Room for more, once the outcomes kept so far are settled when many. */
    const room = (): Promise<void> => {
      if (outcomes.length <= 1024) return engine.waitForRoom();
      const settled = outcomes;
      outcomes = [];
      return Promise.all(settled).then(() => engine.waitForRoom());
    };
    let controller: WritableStreamDefaultController | undefined;
    const bulk: BulkSink = {
      write(messages) {
        if (failure) throw failure;
        if (closedUnder) throw closedUnder;
        flush();
        const done = queue(messages as MessageInput[], null);
        // Handled here too: the caller may only ask for the stream's failure.
        done.catch(() => {});
        if (failure) {
          bulk.fail(failure);
          throw failure;
        }
        return done.then(() => {});
      },
      ready: room,
      failure: () => failure ?? closedUnder,
      onFailure(listener) {
        if (failure || closedUnder) {
          listener();
          return () => {};
        }
        failureListeners.add(listener);
        return () => failureListeners.delete(listener);
      },
      fail(error) {
        // Recorded, so that close() rejects with it, not with the platform's
        // "stream is errored".
        if (error instanceof Error) failure ??= error;
        controller?.error(error);
        engine.close(error instanceof Error ? error : undefined).catch(
          () => {},
        );
      },
      async settled() {
        flush();
        await Promise.all(outcomes);
        outcomes = [];
      },
      transactions: options.transactionalId === undefined ? null : {
        timeout: options.transactionTimeout ?? 60_000,
        begin: () => engine.beginTransaction(),
        sendOffsets: (offsets, group) => engine.sendOffsets(offsets, group),
        end: (commit) => engine.endTransaction(commit),
      },
    };
    super({
      start(c) {
        controller = c;
      },
      write(message): Promise<void> | undefined {
        if (failure) failStream(failure);
        streamed++;
        gathered.push(message);
        if (gathered.length >= STREAM_GROUP) flush();
        else flushTimer ??= setTimeout(flush, 0);
        if (failure) failStream(failure);
        return room();
      },
      async close() {
        open = false;
        await bulk.settled();
        if (failure) failStream(failure);
        await engine.close();
      },
      async abort(reason) {
        // Aborted (a pipe's signal, or its source failed): close() then
        // closes the engine, as after a pipe that ended.
        open = false;
        if (flushTimer !== undefined) clearTimeout(flushTimer);
        gathered = [];
        outcomes = [];
        await engine.abort(reason);
      },
    }, { highWaterMark: 1 });
    this.engine = engine;
    this.streamFailure = () => failure;
    this.writable = () => open;
    this.flushGathered = flush;
    this.closeLocked = () => {
      if (closedUnder === null) {
        // What the stream took so far is queued before the engine closes,
        // so it is delivered; whoever holds the stream (a pipe, a
        // getWriter() user) learns at once that it takes no more.
        flush();
        open = false;
        closedUnder = new ClosedError(
          "Cannot write: the Writer was closed (close() was called while its stream was locked by a pipe or getWriter())",
        );
        for (const listener of failureListeners) listener();
        controller?.error(closedUnder);
      }
      return engine.close();
    };
    offerBulkSink(this, bulk);
  }

  /**
   * Writes messages and resolves when each is acknowledged as requiredAcks
   * demands; rejects with `WriteErrors` saying which failed and why. Pass an
   * array and `{ signal }` to make the write cancellable: messages not yet
   * sent when the signal fires are dropped and never delivered later.
   */
  writeMessages(...messages: MessageInput[]): Promise<void>;
  /**
   * Writes the messages of an array, as above; aborting `options.signal`
   * rejects the call and drops those of its messages not sent yet.
   */
  writeMessages(
    messages: readonly MessageInput[],
    options?: WriteOptions,
  ): Promise<void>;
  writeMessages(
    ...args: MessageInput[] | [
      readonly MessageInput[],
      (WriteOptions | undefined)?,
    ]
  ): Promise<void> {
    const call = messagesAndOptions("writeMessages", args);
    if (call instanceof Error) return Promise.reject(call);
    // Stream writes made before this call are stored before its messages.
    this.flushGathered();
    return this.engine.writeMessages(call.messages, call.options);
  }

  /**
   * Writes messages as `writeMessages` does and resolves, once each is
   * acknowledged, with where each was written: its topic, partition and
   * offset, in the order given (Java's `send` and kafkajs's `send` tell
   * the same). It waits for delivery even with `async: true`. Offsets are
   * -1 with requiredAcks "none" (the broker does not answer). Rejects as
   * `writeMessages` does, with a `WriteErrors` whose `written` says where
   * the messages that did not fail went.
   *
   * @example Where a keyed message went
   * ```ts
   * import { Writer } from "jsr:@streamkafka/client";
   *
   * const w = new Writer({
   *   brokers: ["localhost:9092"],
   *   topic: "docs-send",
   *   allowAutoTopicCreation: true,
   * });
   * const [written] = await w.send({ key: "order-7", value: "paid" });
   * console.log(written.partition, written.offset);
   * await w.close();
   * ```
   */
  send(...messages: MessageInput[]): Promise<RecordMetadata[]>;
  /**
   * Sends the messages of an array, as above; aborting `options.signal`
   * rejects the call and drops those of its messages not sent yet.
   */
  send(
    messages: readonly MessageInput[],
    options?: WriteOptions,
  ): Promise<RecordMetadata[]>;
  send(
    ...args: MessageInput[] | [
      readonly MessageInput[],
      (WriteOptions | undefined)?,
    ]
  ): Promise<RecordMetadata[]> {
    const call = messagesAndOptions("send", args);
    if (call instanceof Error) return Promise.reject(call);
    // Stream writes made before this call are stored before its messages.
    this.flushGathered();
    return this.engine.send(call.messages, call.options);
  }

  /**
   * Begins a transaction on a Writer with a `transactionalId`. The first
   * call asks the transaction coordinator for the producer id, which
   * aborts whatever an earlier Writer with the same id left open and fences
   * that Writer. Writes made until `commitTransaction` or
   * `abortTransaction` are in this transaction.
   *
   * @example Write two messages atomically
   * ```ts
   * import { Writer } from "jsr:@streamkafka/client";
   *
   * const w = new Writer({
   *   brokers: ["localhost:9092"],
   *   topic: "docs-transactions",
   *   transactionalId: "docs-writer-1",
   *   allowAutoTopicCreation: true,
   * });
   * await w.beginTransaction();
   * try {
   *   await w.writeMessages({ value: "debit" }, { value: "credit" });
   *   await w.commitTransaction();
   * } catch (error) {
   *   await w.abortTransaction();
   *   throw error;
   * }
   * await w.close();
   * ```
   */
  beginTransaction(): Promise<void> {
    return this.engine.beginTransaction();
  }

  /**
   * Waits for the transaction's writes, then commits it: Readers with
   * `isolationLevel: "read_committed"` now see its messages, and the
   * offsets given to `sendOffsets` count. Rejects when one of its writes
   * failed; the transaction is then only abortable.
   */
  commitTransaction(): Promise<void> {
    // Stream writes made before the commit are in the transaction.
    this.flushGathered();
    return this.engine.endTransaction(true);
  }

  /**
   * Aborts the transaction: messages not sent yet are dropped (their
   * writes reject), those sent are never shown to read_committed Readers,
   * and its offsets do not count.
   */
  abortTransaction(): Promise<void> {
    this.flushGathered();
    return this.engine.endTransaction(false);
  }

  /**
   * Runs `fn` in a transaction: begins one, commits it when `fn` resolves,
   * aborts it when `fn` (or the commit) rejects, and rejects with that
   * error.
   *
   * @example Consume, transform and produce exactly once
   * ```ts
   * import { Reader, Writer } from "jsr:@streamkafka/client";
   *
   * const reader = new Reader({
   *   brokers: ["localhost:9092"],
   *   groupId: "docs-enricher",
   *   groupTopics: ["docs-orders"],
   *   isolationLevel: "read_committed",
   * });
   * const writer = new Writer({
   *   brokers: ["localhost:9092"],
   *   topic: "docs-enriched",
   *   transactionalId: "docs-enricher-1",
   *   allowAutoTopicCreation: true,
   * });
   * const m = await reader.fetchMessage({ signal: AbortSignal.timeout(5000) })
   *   .catch(() => null);
   * if (m) {
   *   await writer.transaction(async () => {
   *     await writer.writeMessages({ key: m.key, value: m.value });
   *     await writer.sendOffsets(
   *       [{ topic: m.topic, partition: m.partition, offset: m.offset + 1 }],
   *       reader.groupMetadata()!,
   *     );
   *   });
   * }
   * await Promise.all([reader.close(), writer.close()]);
   * ```
   */
  async transaction<T>(fn: () => Promise<T> | T): Promise<T> {
    if (typeof fn !== "function") {
      throw new TypeError(
        `Cannot run transaction: "fn" must be a function, got ${typeof fn}`,
      );
    }
    await this.beginTransaction();
    let result: T;
    try {
      result = await fn();
      await this.commitTransaction();
    } catch (error) {
      try {
        await this.abortTransaction();
      } catch (abortError) {
        // Closed meanwhile: close() aborts an open transaction itself.
        if (abortError instanceof ClosedError) throw error;
        throw new AggregateError(
          [error, abortError],
          `The transaction failed (${
            (error as Error)?.message ?? String(error)
          }), and aborting it failed too (${(abortError as Error).message})`,
        );
      }
      throw error;
    }
    return result;
  }

  /**
   * Commits a consumer group's offsets with the open transaction (Kafka's
   * consume-transform-produce): they count only if the transaction
   * commits. `offset` is the next offset to read, the processed message's
   * offset + 1. Pass `reader.groupMetadata()` so that a member the group
   * has moved on from is fenced (KIP-447), or just the group id.
   */
  sendOffsets(
    offsets: readonly TransactionOffset[],
    group: GroupMetadata | string,
  ): Promise<void> {
    return this.engine.sendOffsets(offsets, group);
  }

  /**
   * Resolves once every message written before the call is delivered or
   * failed (Java's `flush`): with `async: true`, the way to know they are
   * out without closing the Writer. It does not reject for a failed
   * message (its `writeMessages` call and `completion` say so); it rejects
   * with a ClosedError once the Writer is closed.
   *
   * @example
   * ```ts
   * import { Writer } from "jsr:@streamkafka/client";
   *
   * const w = new Writer({
   *   brokers: ["localhost:9092"],
   *   topic: "docs-flush",
   *   async: true,
   *   allowAutoTopicCreation: true,
   *   completion: (messages, error) => {
   *     if (error) console.error(`${messages.length} lost: ${error.message}`);
   *   },
   * });
   * await w.writeMessages({ value: "one" }, { value: "two" }); // at once
   * await w.flush(); // both delivered (or reported to completion)
   * await w.close();
   * ```
   */
  async flush(): Promise<void> {
    this.flushGathered();
    await this.engine.settleWrites();
  }

  /**
   * The client instance id the brokers gave this Writer for its telemetry
   * (KIP-714; Java's `clientInstanceId`), under which its metrics reach the
   * cluster's metrics system: asked for now if it was not yet. Null when
   * the brokers take no telemetry (no receiver plugin) or `telemetry` is
   * false; a TimeoutError after `options.timeout` ms (default 10 s).
   *
   * @example
   * ```ts
   * import { Writer } from "jsr:@streamkafka/client";
   *
   * const w = new Writer({ brokers: ["localhost:9092"], topic: "docs-instance-id" });
   * console.log(await w.clientInstanceId()); // for example "h5BZ_LAiTFCvn2TX_oBGVw", or null
   * await w.close();
   * ```
   */
  clientInstanceId(
    options: { timeout?: number | undefined } = {},
  ): Promise<string | null> {
    try {
      return this.engine.clientInstanceId(instanceIdTimeout("Writer", options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Counters since the last call (kafka-go's Stats), then reset. */
  stats(): WriterStats {
    return this.engine.stats();
  }

  /**
   * Flushes everything queued and resolves when it is acknowledged. On a
   * stream that a failed write errored, it rejects with that error. While
   * a pipe or a `getWriter()` user holds the stream, it closes the Writer
   * under them: what the stream took so far is delivered, and the stream
   * errors with a ClosedError, which ends the pipe (cancelling its source
   * unless `preventCancel`).
   *
   * Waiting is bounded by each message's `deliveryTimeout` (2 minutes by
   * default), or sooner by `options.timeout` (ms; Java's
   * `close(Duration)`): then what is not acknowledged fails with a
   * TimeoutError (messages sent and not answered may have been written:
   * their error says so), a transaction left open is left to the
   * coordinator to abort, and `close()` rejects with a TimeoutError once
   * the connections are closed.
   *
   * @example
   * ```ts
   * import { Writer } from "jsr:@streamkafka/client";
   *
   * const w = new Writer({
   *   brokers: ["localhost:9092"],
   *   topic: "docs-close",
   *   allowAutoTopicCreation: true,
   * });
   * await w.writeMessages({ value: "one" });
   * // On shutdown: at most 5 s more for anything still being written.
   * await w.close({ timeout: 5000 });
   * ```
   */
  override close(options?: { timeout?: number | undefined }): Promise<void> {
    try {
      checkCallOptions("Cannot close the Writer", options, TIMEOUT_OPTION);
    } catch (error) {
      return Promise.reject(error);
    }
    // Writes made from now on are refused, so that close() ends even while
    // others keep writing.
    this.engine.refuseWrites();
    const failure = this.streamFailure();
    if (failure) return Promise.reject(failure);
    if (options?.timeout !== undefined) {
      this.engine.closeWithin(options.timeout);
    }
    if (this.locked) return this.closeLocked();
    // Closed by a pipe that ended, or under its holder: the engine closes
    // (once; a second call waits for the first).
    if (this.closing === null && !this.writable()) return this.engine.close();
    this.closing ??= super.close();
    return this.closing;
  }

  /** Closes the Writer at the end of an `await using` block: what was written is delivered first. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * The messages and options of a `writeMessages` or `send` call: messages
 * as arguments, or one array and its options; a TypeError for more.
 */
function messagesAndOptions(
  method: string,
  args: unknown[],
): { messages: MessageInput[]; options: WriteOptions } | TypeError {
  if (Array.isArray(args[0]) && (args.length > 2 || Array.isArray(args[1]))) {
    // Another array would be taken for the options, its messages lost.
    return new TypeError(
      `Cannot write: ${method} takes one array of messages and its options, got ${args.length} arguments, ${
        Array.isArray(args[1]) ? "the second an array" : "more than two"
      }; pass the messages in one array, or as arguments of their own`,
    );
  }
  return Array.isArray(args[0])
    ? {
      messages: args[0] as MessageInput[],
      options: (args[1] === undefined ? {} : args[1]) as WriteOptions,
    }
    : { messages: args as MessageInput[], options: {} };
}
