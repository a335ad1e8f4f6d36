/**
 * How `reader.pipeTo(writer)` moves messages without a stream write per
 * message: a Writer registers a bulk sink here, and a Reader piping into it
 * hands over each fetched batch's messages in one call. The two meet here
 * so that neither depends on the other, and nothing of it is public.
 *
 * A stream pipe costs per message the stream machinery of both ends (a
 * read, a write, their promises and queue entries): on Deno about 1.2 KB of
 * garbage and as much CPU as reading and writing the message themselves.
 *
 * @module
 */

import type { GroupMetadata, MessageInput, TopicPartition } from "./message.ts";
import type { ReaderTracing } from "./tracing/reader.ts";

/** What a Writer offers a pipe that writes messages a batch at a time. */
export interface BulkSink {
  /**
   * Queues messages as one write, as a stream write of each would (a
   * malformed one fails the stream); throws when the Writer failed already.
   * Returns the write's outcome: it resolves once every message of it is
   * acknowledged, and rejects if one failed (the stream fails too). A
   * write that `revoke` cut short resolves with how many of its first
   * messages were processed. A sink that processes messages (a Processor)
   * tells `progress` how many of the first ones are processed as that
   * grows, so that a long write is committed as it goes; a Writer does not.
   */
  write(
    messages: readonly MessageInput[],
    progress?: (processed: number) => void,
  ): Promise<number | void>;
  /**
   * The group takes `partitions` away. A sink that processes messages
   * (a Processor) drops those of them it has not started, so that the
   * rebalance waits only for what runs; a Writer has no such method and
   * delivers everything it was handed.
   */
  revoke?(partitions: readonly TopicPartition[]): void;
  /**
   * The group stopped waiting for what runs of revoked `partitions` (half
   * `rebalanceTimeout` passed, or the Reader closes): a Processor aborts
   * the signal of their handlers still running.
   */
  abandon?(partitions: readonly TopicPartition[]): void;
  /**
   * The source is a Reader with `tracing`: a sink that runs work per
   * message (a Processor) runs each in a "process" span of `tracing`, and
   * the pipe then reads its batches without a span of their own.
   */
  traceWith?(tracing: ReaderTracing): void;
  /** Resolves when the Writer has room for more (its maxBufferedBytes). */
  ready(): Promise<void>;
  /**
   * A sink that queues messages per partition (a Processor): resolves when
   * it has room for a batch of this partition, which it always has while
   * none of the partition's messages waits, so that one partition's long
   * queue does not hold up the others. When there is one, a pipe asks it
   * before each write instead of asking `ready()` after.
   */
  readyFor?(topic: string, partition: number): Promise<void>;
  /** The first failure of a write, or null. */
  failure(): Error | null;
  /**
   * Calls `listener` once a write fails (at once if one has); returns
   * what stops listening.
   */
  onFailure(listener: () => void): () => void;
  /**
   * Errors the stream with `error`, as a failed stream write would (what
   * was queued is still delivered, then the connections close).
   */
  fail(error: unknown): void;
  /** Resolves when every write queued so far is settled. */
  settled(): Promise<void>;
  /**
   * A transactional Writer's transactions, which a pipe into it runs (the
   * Writer refuses writes outside one); null for any other Writer.
   */
  readonly transactions: SinkTransactions | null;
}

/** The transaction calls of a transactional Writer, as a pipe uses them. */
export interface SinkTransactions {
  /** How long the coordinator lets a transaction stay open (ms). */
  readonly timeout: number;
  /** Begins a transaction. */
  begin(): Promise<void>;
  /** Commits a group's next offsets with the open transaction. */
  sendOffsets(
    offsets: readonly { topic: string; partition: number; offset: number }[],
    group: GroupMetadata | string,
  ): Promise<void>;
  /** Waits for the transaction's writes, then commits or aborts it. */
  end(commit: boolean): Promise<void>;
}

const sinks = new WeakMap<object, BulkSink>();

/** Registers the bulk sink of a stream (a Writer, when made). */
export function offerBulkSink(stream: object, sink: BulkSink): void {
  sinks.set(stream, sink);
}

/** The bulk sink `dest` offers, if any. */
export function bulkSinkOf(dest: unknown): BulkSink | undefined {
  return typeof dest === "object" && dest !== null
    ? sinks.get(dest)
    : undefined;
}
