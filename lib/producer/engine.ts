/**
 * The Writer's engine: admits writes (their bytes against
 * maxBufferedBytes, `buffer_bound.ts`), routes their messages to partition queues, hands the
 * queues to delivery (`delivery.ts`: sending, retries until the delivery
 * timeout), runs the transaction calls, and closes or aborts.
 *
 * @module
 */

import { WriterTracing } from "../tracing/writer.ts";
import { checkCallOptions, guardCallbacks, SIGNAL_OPTION } from "../options.ts";
import { acksOf } from "../requests/produce.ts";
import { ProduceSender } from "./sender.ts";
import { ProducerIdentity } from "./idempotence.ts";
import {
  abortedError,
  checkGroup,
  checkOffsets,
  type GroupMetadata,
  type TransactionOffset,
  Transactions,
} from "./transaction.ts";
import { type Counters, Delivery, newCounters } from "./delivery.ts";
import { clusterOptions } from "../cluster/transport.ts";
import {
  type BatchSettings,
  BufferPool,
  type Entry,
  PendingWrite,
  type RecordMetadata,
} from "./batches.ts";
import {
  DEFAULTS,
  validateWriter,
  WriteErrors,
  type WriteOptions,
  type WriterOptions,
  type WriterStats,
} from "./options.ts";
import { compressionId } from "../../codecs/mod.ts";
import type { ClientTelemetry } from "../cluster/telemetry.ts";
import { writerTelemetry } from "./telemetry.ts";
import { SOFTWARE_NAME, SOFTWARE_VERSION } from "../connection/connection.ts";
import { JavaDefault } from "./balancers.ts";
import {
  type Admitted,
  asksMissing,
  MissingPartitionError,
  Router,
  type Unsent,
} from "./router.ts";
import { Cluster } from "../cluster/cluster.ts";
import { BufferBound } from "./buffer_bound.ts";
import { canRetry, retry, type RetryOptions, sleep } from "../cluster/retry.ts";
import {
  abortReason,
  ClosedError,
  TimeoutError,
  untilAborted,
  withinDeadline,
} from "../connection/errors.ts";
import type { MessageInput } from "../message.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { BATCH_HEADER_SIZE } from "../protocol/records.ts";

function groupByTopic(entries: Entry[]): Map<string, Entry[]> {
  const first = entries[0].topic;
  // The common case, a Writer with one topic, needs no grouping.
  if (entries.every((e) => e.topic === first)) {
    return new Map([[first, entries]]);
  }
  const groups = new Map<string, Entry[]>();
  for (const entry of entries) {
    const list = groups.get(entry.topic);
    if (list) list.push(entry);
    else groups.set(entry.topic, [entry]);
  }
  return groups;
}

export class WriterEngine {
  private readonly options: WriterOptions;
  private readonly cluster: Cluster;
  private readonly ownsCluster: boolean;
  private readonly router: Router;
  private readonly acks: number;
  private readonly sender: ProduceSender;
  private readonly codec: number;
  private readonly limits: typeof DEFAULTS;
  /** The buffered bytes against `maxBufferedBytes`, and calls waiting for room. */
  private readonly bound: BufferBound;
  private closed = false;
  /** The stream failure that closed the Writer, if one did. */
  private closedBy: { error: Error; how: string } | null = null;
  /** A commitTransaction or abortTransaction in flight, settled either way. */
  private ending: Promise<void> | null = null;
  /** The first `close()`, which later calls wait for. */
  private closing: Promise<void> | null = null;
  private readonly identity: ProducerIdentity;
  /** The transactions of a Writer with a transactionalId. */
  private readonly txn: Transactions | null;
  private counters: Counters = newCounters();
  /** The counters before the last `stats()`, for telemetry's totals. */
  private readonly before = { messages: 0, errors: 0 };
  private readonly telemetry: ClientTelemetry | null;
  /** The spans of the messages, with `tracing`. */
  private readonly tracing: WriterTracing | null;
  private readonly delivery: Delivery;
  private readonly batchSettings: BatchSettings;
  /** The cached partition ids of the Writer's topic. */
  private partitionIds?: { info: unknown; ids: readonly number[] };
  /** Connections per broker that Produce requests use. */
  private readonly lanes: number;
  /** Writes being routed by `route` (waiting for metadata). */
  private routing = 0;
  /** Writes not settled yet, which `settleWrites` waits for. */
  private readonly unsettled = new Set<PendingWrite>();
  /**
   * Aborted, with the reason, when the Writer gives up what it has not
   * delivered (`abort()`, or `close()`'s timeout): retries stop, requests
   * in flight are no longer waited for.
   */
  private readonly stopping = new AbortController();
  /** Aborted when `close()`'s timeout ends. */
  private readonly timedOut = new AbortController();
  /**
   * Set once `close()` is called: `writeMessages` and `send` are refused
   * from then on (what the stream took before is still queued).
   */
  private refusing = false;
  /** Calls of `enqueue` in progress: a failure inside one reports later. */
  private enqueuing = 0;
  /** When `close()`'s timeout ends (ms since epoch), and its timer. */
  private stopAt = Infinity;
  private stopTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(userOptions: WriterOptions) {
    validateWriter(userOptions);
    const options = guardCallbacks(userOptions, "kafka writer");
    this.options = options;
    this.limits = { ...DEFAULTS };
    for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
      const value = options[key];
      if (value !== undefined) this.limits[key] = value;
    }
    this.bound = new BufferBound(this.limits.maxBufferedBytes);
    this.acks = acksOf(options.requiredAcks ?? "all", "Cannot create Writer");
    this.sender = new ProduceSender(
      this.acks,
      this.limits.writeTimeout,
      options.transactionalId ?? null,
    );
    this.codec = compressionId(options.compression ?? "none");
    this.ownsCluster = options.cluster === undefined;
    this.cluster = options.cluster ?? new Cluster(
      clusterOptions(
        options.brokers,
        options.transport,
        options.readTimeout ?? DEFAULTS.readTimeout,
      ),
    );
    this.telemetry = writerTelemetry(this.cluster, options, {
      totals: () => ({
        messages: this.before.messages + this.counters.messages,
        errors: this.before.errors + this.counters.errors,
      }),
      buffered: () => this.bound.buffered,
      bufferLimit: this.limits.maxBufferedBytes,
    });
    this.tracing = options.tracing === undefined ? null : new WriterTracing({
      api: options.tracing,
      clientId: this.cluster.options.clientId ?? SOFTWARE_NAME,
      errorLogger: options.errorLogger,
    }, SOFTWARE_VERSION);
    this.batchSettings = {
      codec: this.codec,
      batchSize: this.limits.batchSize,
      batchBytes: this.limits.batchBytes,
      pool: new BufferPool(Math.max(4 * this.limits.batchBytes, 16 << 20)),
    };
    this.router = new Router(
      options.topic,
      // Null-key runs as long as a batch, so each run fills one.
      options.balancer ?? new JavaDefault({
        chunkSize: this.limits.batchSize,
        chunkBytes: Math.max(1, this.limits.batchBytes - BATCH_HEADER_SIZE),
      }),
      this.batchSettings,
    );
    this.identity = new ProducerIdentity({
      cluster: this.cluster,
      // Off unless acks is "all"; required when the user asked for it.
      idempotent: this.acks === -1 ? options.idempotent : false,
      retryOptions: (what, deadline) => this.retryOptions(what, deadline),
      log: (message) => this.log(message),
    });
    // A transactional Writer keeps to one connection per broker unless told
    // otherwise: the leader checks a transaction's new partitions per
    // request, and two requests checked at once make one of them fail
    // (and wait for a retry).
    this.lanes = options.connectionsPerBroker ??
      (options.transactionalId === undefined
        ? this.limits.connectionsPerBroker
        : 1);
    this.txn = options.transactionalId === undefined ? null : new Transactions({
      cluster: this.cluster,
      transactionalId: options.transactionalId,
      transactionTimeout: options.transactionTimeout ?? 60_000,
      callTimeout: this.limits.deliveryTimeout,
      log: (message) => this.log(message),
    });
    this.delivery = new Delivery({
      cluster: this.cluster,
      sender: this.sender,
      identity: this.identity,
      txn: this.txn,
      codec: this.codec,
      compressionLevel: options.compressionLevel,
      acks: this.acks,
      lanes: this.lanes,
      writeTimeout: this.limits.writeTimeout,
      pool: this.batchSettings.pool,
      logging: options.logger !== undefined,
      log: (message) => this.log(message),
      counters: () => this.counters,
      release: (bytes) => this.release(bytes),
      retryOptions: (what, deadline, onRetry) =>
        this.retryOptions(what, deadline, onRetry),
      finalError: (error, what, deadline, attempts) =>
        this.finalError(error, what, deadline, attempts),
      completion: options.completion,
      stopped: this.stopping.signal,
    });
  }

  /**
   * As `writeMessages`, but waits for delivery whatever `async` says and
   * resolves with where each message was written.
   */
  send(
    messages: MessageInput[],
    options: WriteOptions,
  ): Promise<RecordMetadata[]> {
    const placed = (w: PendingWrite) => w.done.then(() => w.placed!);
    try {
      const write = this.queueCall("send", messages, options);
      return write instanceof PendingWrite ? placed(write) : write.then(placed);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Not an async function (nor is `send`): a suspended one keeps its
   * arguments, and so the caller's array of messages, alive until the write
   * is acknowledged, long enough for the collector to move it to the old
   * generation.
   */
  writeMessages(
    messages: MessageInput[],
    options: WriteOptions,
  ): Promise<void> {
    try {
      const write = this.queueCall("writeMessages", messages, options);
      return write instanceof PendingWrite
        ? this.outcome(write)
        : write.then((w) => this.outcome(w));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Checks a `send` or `writeMessages` call and queues its write: now, or
   * (a promise) when room in the buffer comes to its turn. Throws what
   * refuses the call.
   */
  private queueCall(
    what: "send" | "writeMessages",
    messages: MessageInput[],
    options: WriteOptions,
  ): PendingWrite | Promise<PendingWrite> {
    const track = what === "send";
    checkCallOptions(
      track ? "Cannot send" : "Cannot write",
      options,
      SIGNAL_OPTION,
    );
    if (options.signal?.aborted) throw abortReason(options.signal, what);
    this.checkNotClosing(what);
    const room = this.bound.whenRoom(options.signal, what);
    if (room === null) return this.enqueue(messages, options.signal, track);
    // Taken by the call, its messages fail as any do once taken: in a
    // WriteErrors, whether the signal aborted or close() gave up the wait.
    return room.then(
      () => this.enqueueBlocked(messages, options, what),
      (error: Error) => {
        throw failedWhole(error, messages.length, track);
      },
    );
  }

  /** What writeMessages returns for a queued write: at once in async mode. */
  private outcome(write: PendingWrite): Promise<void> {
    if (this.options.async) {
      write.done.catch(() => {});
      return Promise.resolve();
    }
    return write.done;
  }

  /** Queues a write whose turn came, then lets the next waiting one try. */
  private enqueueBlocked(
    messages: MessageInput[],
    options: WriteOptions,
    what: "send" | "writeMessages",
  ): PendingWrite {
    try {
      const track = what === "send";
      if (options.signal?.aborted) {
        throw failedWhole(
          abortReason(options.signal, what),
          messages.length,
          track,
        );
      }
      return this.enqueue(messages, options.signal, track);
    } finally {
      this.bound.turnTaken();
    }
  }

  /** Validates every message first, then queues them; nothing is sent on a bad one. */
  enqueue(
    messages: MessageInput[],
    signal?: AbortSignal,
    track = false,
    alone = false,
  ): PendingWrite {
    this.enqueuing++;
    try {
      return this.enqueueNow(messages, signal, track, alone);
    } finally {
      this.enqueuing--;
    }
  }

  /** Refuses a user's write once `close()` was called. */
  private checkNotClosing(what: string): void {
    if (this.refusing || this.closed) {
      throw new ClosedError(
        this.closedBy === null && !this.closed
          ? `Cannot ${what}: the Writer is closing (close() was called; what was written before it is still delivered)`
          : `Cannot ${what}: ${this.closedMessage()}`,
      );
    }
  }

  /** From now on `writeMessages` and `send` are refused (close() began). */
  refuseWrites(): void {
    this.refusing = true;
  }

  private enqueueNow(
    messages: MessageInput[],
    signal: AbortSignal | undefined,
    track: boolean,
    alone: boolean,
  ): PendingWrite {
    if (this.closed) {
      throw new ClosedError(`Cannot write: ${this.closedMessage()}`);
    }
    this.txn?.checkWritable("writeMessages");
    this.telemetry?.start();
    const traced = this.tracing?.send(messages, this.options.topic);
    if (traced !== undefined) messages = traced.messages;
    const now = Date.now();
    const write = new PendingWrite(
      messages,
      now,
      now + this.limits.deliveryTimeout,
      this.options.completion !== undefined,
      track,
      alone,
    );
    if (write.count > 0) {
      this.unsettled.add(write);
      const forget = () => this.unsettled.delete(write);
      write.done.then(forget, forget);
    }
    if (traced !== undefined) {
      write.done.then(
        () => traced.end(null),
        (error) =>
          traced.end(error instanceof WriteErrors ? error.errors : error),
      );
    }
    const partitions = messages.length > 0 ? this.knownPartitions() : undefined;
    let routed;
    try {
      try {
        routed = partitions === undefined
          ? this.router.entries(messages, write, now)
          : this.router.routeNow(messages, write, now, partitions);
      } catch (error) {
        // A partition the cached metadata lacks may have just been added:
        // the write waits for fresh metadata (routeEntries), which decides.
        if (!(error instanceof MissingPartitionError)) throw error;
        routed = this.router.entries(messages, write, now);
      }
    } catch (error) {
      // A bad message: nothing was queued, and the write never settles,
      // so flush and close must not wait for it.
      this.unsettled.delete(write);
      traced?.end(error as Error);
      throw error;
    }
    if ("queues" in routed) {
      this.counters.writes++;
      this.admit(routed);
      for (const queue of routed.queues) this.delivery.pump(queue);
      if (signal) this.watchCancel(write, null, signal);
      return write;
    }
    const { entries, ...admitted } = routed;
    this.counters.writes++;
    this.admit(admitted);
    if (entries.length === 0) return write;
    this.route(write, entries).catch((error) => this.fail(entries, error));
    if (signal) this.watchCancel(write, entries, signal);
    return write;
  }

  /** Counts a write's bytes as buffered; fails its too large messages. */
  private admit({ bytes, tooLarge }: Admitted): void {
    this.bound.add(bytes);
    for (const entry of tooLarge ?? []) {
      this.fail([entry], tooLargeError(entry, this.limits.batchBytes));
    }
  }

  /**
   * The partitions of the Writer's own topic when the cache knows them: a
   * write is then routed as it is made, with no object per message.
   */
  private knownPartitions(): readonly number[] | undefined {
    const topic = this.options.topic;
    // While an earlier write waits for metadata, later ones wait behind it.
    if (topic === undefined || this.aborted || this.routing > 0) {
      return undefined;
    }
    const cached = this.cluster.cachedTopic(topic);
    if (cached === undefined || cached.partitions.length === 0) {
      return undefined;
    }
    if (this.partitionIds?.info !== cached) {
      this.partitionIds = {
        info: cached,
        ids: cached.partitions.map((p) => p.id),
      };
    }
    return this.partitionIds.ids;
  }

  private async route(write: PendingWrite, entries: Entry[]): Promise<void> {
    this.routing++;
    try {
      await this.routeEntries(write, entries);
    } finally {
      this.routing--;
    }
  }

  /**
   * Finds the partitions of each topic of a write, then places all its
   * messages at once: none is sent before the balancer has placed them all.
   */
  private async routeEntries(
    write: PendingWrite,
    entries: Entry[],
  ): Promise<void> {
    const groups: [Entry[], number[]][] = [];
    for (const [topic, group] of groupByTopic(entries)) {
      if (this.aborted) break;
      try {
        let partitions = await this.partitionsOf(topic, write.deadline);
        // A message asks for a partition the cache lacks: one fresh look.
        if (asksMissing(group, partitions)) {
          partitions = await this.partitionsOf(topic, write.deadline, true);
        }
        groups.push([group, partitions]);
      } catch (error) {
        const unknown = error instanceof KafkaError &&
          error.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION &&
          !this.options.allowAutoTopicCreation;
        const what = unknown
          ? `find partitions of ${topic}, a topic the brokers do not know (create it, or set allowAutoTopicCreation: true)`
          : `find partitions of ${topic}`;
        this.fail(group, this.finalError(error, what, write.deadline));
      }
    }
    if (this.aborted) {
      this.fail(entries, this.stopReason());
      return;
    }
    const missing: [Entry, MissingPartitionError][] = [];
    for (const queue of this.router.place(write, groups, missing)) {
      this.delivery.pump(queue);
    }
    for (const [entry, error] of missing) this.fail([entry], error);
  }

  /** The partitions of `topic`: cached ones unless `fresh`. */
  private async partitionsOf(
    topic: string,
    deadline: number,
    fresh = false,
  ): Promise<number[]> {
    const cached = fresh ? undefined : this.cluster.cachedTopic(topic);
    if (cached && cached.partitions.length > 0) {
      return cached.partitions.map((p) => p.id);
    }
    return await retry(async () => {
      const info = await untilAborted(
        withinDeadline(
          this.cluster.topic(topic, {
            autoCreate: this.options.allowAutoTopicCreation ?? false,
            maxAge: 0,
          }),
          deadline,
          undefined,
          `Looking up the partitions of ${topic}`,
        ),
        this.stopping.signal,
        `Looking up the partitions of ${topic}`,
      );
      if (info.partitions.length > 0) return info.partitions.map((p) => p.id);
      throw new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, { topic });
    }, this.retryOptions(`metadata of ${topic}`, deadline));
  }

  /**
   * The error a caller gets when retrying stopped: a retriable one means
   * time (or the attempts the user allowed) ran out, and says so.
   */
  private finalError(
    error: unknown,
    what: string,
    deadline: number,
    attempts?: number,
  ): Error {
    const cause = error instanceof Error ? error : new Error(String(error));
    if (!canRetry(cause) || this.aborted) return cause;
    // Stopped by the user's maxAttempts: the last error says it all.
    if (Date.now() + this.limits.writeBackoffMax < deadline) return cause;
    return new TimeoutError(
      `Cannot ${what} within deliveryTimeout (${this.limits.deliveryTimeout} ms)${
        attempts
          ? `, after ${attempts} attempt${attempts === 1 ? "" : "s"}`
          : ""
      }; the last error: ${cause.message}`,
      { cause },
    );
  }

  /** The writer's retry policy; `what` names the operation in logs. */
  private retryOptions(
    what: string,
    deadline: number,
    onRetry?: (error: unknown) => void,
  ): RetryOptions {
    return {
      maxAttempts: this.limits.maxAttempts,
      deadline,
      backoffMin: this.limits.writeBackoffMin,
      backoffMax: this.limits.writeBackoffMax,
      retriable: (error) => canRetry(error) && !this.aborted,
      signal: this.stopping.signal,
      onRetry: (error, attempt) => {
        this.counters.retries++;
        this.options.errorLogger?.(
          `kafka writer: ${what}, attempt ${attempt}: ${
            (error as Error).message
          }`,
        );
        onRetry?.(error);
      },
    };
  }

  /**
   * Settles messages that were not sent (routing failed, or cancelled: a
   * cancelled write leaves the transaction it was in committable).
   */
  private fail(entries: Unsent[], error: Error, cancelled = false): void {
    entries = entries.filter((e) => e.state !== "done");
    if (entries.length === 0) return;
    if (!cancelled) this.txn?.failed(error);
    this.counters.errors += entries.length;
    let bytes = 0;
    for (const entry of entries) {
      entry.state = "done";
      bytes += entry.size;
      entry.write.settle(entry.index, error);
    }
    this.release(bytes);
    const completion = this.options.completion;
    if (completion === undefined) return;
    const messages = entries.map((e) => e.write.messages![e.index]);
    // Never from inside the writeMessages call that failed: a completion
    // that writes again would nest, call within call.
    if (this.enqueuing > 0) queueMicrotask(() => completion(messages, error));
    else completion(messages, error);
  }

  private release(bytes: number): void {
    this.bound.release(bytes);
  }

  /** Resolves when buffered bytes are under the bound (stream backpressure). */
  waitForRoom(): Promise<void> {
    return this.bound.waitForRoom();
  }

  /** `entries`: a write's when routed later; null when routed at once. */
  private watchCancel(
    write: PendingWrite,
    entries: Entry[] | null,
    signal: AbortSignal,
  ): void {
    const onAbort = () => {
      const reason = abortReason(signal, "writeMessages");
      // Taken out of a batch, or still routing; the rest was sent.
      const dropped = this.router.remove(write);
      for (const e of entries ?? []) if (e.state === "routing") dropped.push(e);
      if (dropped.length) this.fail(dropped, reason, true);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    const forget = () => signal.removeEventListener("abort", onAbort);
    write.done.then(forget, forget);
  }

  /** Informational events go to `logger` (kafka-go's Logger). */
  private log(message: string): void {
    this.options.logger?.(message);
  }

  /** The Writer's transactions, or a TypeError naming `what`. */
  private transactions(what: string): Transactions {
    if (this.txn === null) {
      throw new TypeError(
        `Cannot ${what}: the Writer is not transactional (set "transactionalId")`,
      );
    }
    if (this.closed) {
      throw new ClosedError(`Cannot ${what}: ${this.closedMessage()}`);
    }
    return this.txn;
  }

  /** Begins a transaction (the first asks for the producer id). */
  async beginTransaction(): Promise<void> {
    await this.transactions("beginTransaction").begin();
  }

  /** Commits consumed offsets with the open transaction. */
  async sendOffsets(
    offsets: readonly TransactionOffset[],
    group: GroupMetadata | string,
  ): Promise<void> {
    const txn = this.transactions("sendOffsets");
    await txn.sendOffsets(
      checkOffsets(offsets),
      checkGroup(group),
    );
  }

  /**
   * Commits or aborts the open transaction: an abort drops the batches not
   * sent yet; both wait for those in flight, then end the transaction.
   */
  async endTransaction(commit: boolean): Promise<void> {
    const txn = this.transactions(
      commit ? "commitTransaction" : "abortTransaction",
    );
    txn.startEnding(commit);
    if (!commit) {
      const error = abortedError(txn.id);
      for (const queue of this.router.queues) {
        for (const open of queue.clear()) this.delivery.failBatch(open, error);
      }
    }
    const ending = this.flush().then(() => txn.end(commit));
    // close() waits for it: closing the connections under an EndTxn in
    // flight would leave the transaction open on the broker.
    const settled = ending.then(() => {}, () => {});
    this.ending = settled;
    settled.then(() => {
      if (this.ending === settled) this.ending = null;
    });
    await ending;
  }

  /**
   * On close: waits for a commit or abort in flight, then aborts a
   * transaction left open (never begun to end, or whose commit failed),
   * and says so.
   */
  private async abortOpenTransaction(): Promise<void> {
    if (this.ending !== null) await this.ending;
    if (this.txn === null || !this.txn.isOpen) return;
    this.log(
      `kafka writer: closing with a transaction of "${this.txn.id}" open: aborting it`,
    );
    try {
      this.txn.startEnding(false);
      await this.flush();
      await this.txn.end(false);
    } catch (error) {
      // The coordinator aborts it after transactionTimeout anyway.
      this.options.errorLogger?.(
        `kafka writer: aborting the open transaction of "${this.txn.id}" on close: ${
          (error as Error).message
        }`,
      );
    }
  }

  /** See `Writer.clientInstanceId`. */
  clientInstanceId(timeout: number): Promise<string | null> {
    return this.telemetry?.whenInstanceId(timeout) ?? Promise.resolve(null);
  }

  stats(): WriterStats {
    const c = this.counters;
    this.counters = newCounters();
    this.before.messages += c.messages;
    this.before.errors += c.errors;
    return {
      writes: c.writes,
      requests: this.sender.takeRequests(),
      messages: c.messages,
      bytes: c.bytes,
      errors: c.errors,
      retries: c.retries,
      batches: c.batches,
      batchSize: {
        avg: c.batches ? c.batchSizeSum / c.batches : 0,
        max: c.batchSizeMax,
      },
      writeTime: {
        avg: c.batches ? c.writeTimeSum / c.batches : 0,
        max: c.writeTimeMax,
      },
    };
  }

  private aborted = false;

  /**
   * Resolves once every write made so far is settled (its messages
   * acknowledged or failed), whatever their outcome; later writes are not
   * waited for.
   */
  async settleWrites(): Promise<void> {
    if (this.closed) {
      throw new ClosedError(`Cannot flush: ${this.closedMessage()}`);
    }
    const writes = [...this.unsettled].map((w) => w.done);
    await Promise.allSettled(writes);
  }

  /** Waits until every queued and in-flight batch settled. */
  private async flush(): Promise<void> {
    while (this.delivery.inFlight.size > 0 || this.hasQueued()) {
      for (const queue of this.router.queues) this.delivery.pump(queue);
      await Promise.allSettled([...this.delivery.inFlight]);
      // Routing may still be resolving metadata for the last writes.
      if (this.delivery.inFlight.size === 0 && this.hasQueued()) await sleep(1);
      if (
        this.delivery.inFlight.size === 0 && !this.hasQueued() &&
        this.bound.buffered > 0
      ) {
        await sleep(1);
      }
    }
  }

  private hasQueued(): boolean {
    for (const queue of this.router.queues) {
      if (queue.length) return true;
    }
    return this.bound.buffered > 0 || this.bound.waiting;
  }

  /**
   * Closes once: a second call (while closing or after) waits for the
   * first. `because`, the error of the Writer's stream that closed it,
   * is named by the errors of later calls.
   */
  close(because?: Error): Promise<void> {
    this.refusing = true;
    if (this.closing === null && because !== undefined) {
      this.closedBy ??= { error: because, how: "failed" };
    }
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  /** "the Writer is closed", and why when its stream's failure closed it. */
  private closedMessage(): string {
    const by = this.closedBy;
    return by === null
      ? "the Writer is closed"
      : `the Writer is closed: its stream ${by.how} with ${by.error.name}: ${by.error.message}`;
  }

  /**
   * Gives up, `ms` from now, what `close()` is still waiting for then (an
   * earlier end set before stays).
   */
  closeWithin(ms: number): void {
    if (this.closed || this.aborted) return;
    const at = Date.now() + ms;
    if (at >= this.stopAt) return;
    this.stopAt = at;
    clearTimeout(this.stopTimer);
    this.stopTimer = setTimeout(() => {
      this.stopTimer = undefined;
      if (this.closed || this.aborted) return;
      const left = this.unsettled.size;
      this.log(
        `kafka writer: close() timed out after ${ms} ms; giving up ${left} writes not acknowledged`,
      );
      const error = new TimeoutError(
        `The Writer's close() gave up after its timeout of ${ms} ms, before these messages were acknowledged`,
      );
      this.timedOut.abort(error);
      this.stop(error);
    }, ms);
  }

  private async closeOnce(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
      // Out of time: a transaction left open is the coordinator's to abort
      // (after transactionTimeout, or when the transactionalId is used again).
      if (this.txn !== null) {
        const { id } = this.txn;
        await untilAborted(
          this.abortOpenTransaction(),
          this.timedOut.signal,
          "Aborting the open transaction",
        ).catch((error) => {
          this.options.errorLogger?.(
            `kafka writer: close() left the transaction of "${id}" as it was (the coordinator aborts one left open after transactionTimeout): ${
              (error as Error).message
            }`,
          );
        });
      }
    } finally {
      clearTimeout(this.stopTimer);
      this.stopTimer = undefined;
    }
    this.closed = true;
    await this.telemetry?.close();
    if (this.ownsCluster) await this.cluster.close();
    this.log("kafka writer: closed");
    const gaveUp = this.stopping.signal.reason;
    if (gaveUp instanceof TimeoutError) {
      throw new TimeoutError(
        `${gaveUp.message}: the writes given up failed with it (writeMessages, send, completion)`,
        { cause: gaveUp },
      );
    }
  }

  async abort(reason: unknown): Promise<void> {
    this.closed = true;
    const error = reason instanceof Error
      ? reason
      : new ClosedError(`The Writer was aborted: ${String(reason)}`);
    this.closedBy ??= { error, how: "was aborted" };
    clearTimeout(this.stopTimer);
    this.stop(error);
    await Promise.allSettled([...this.delivery.inFlight]);
    await this.abortOpenTransaction();
    await this.telemetry?.close();
    if (this.ownsCluster) await this.cluster.close();
  }

  /**
   * Gives up what is not delivered: queued batches fail with `error`, and
   * so do those being sent (as sent perhaps) and writes being routed.
   */
  private stop(error: Error): void {
    if (this.aborted) return;
    this.aborted = true;
    this.stopping.abort(error);
    for (const queue of this.router.queues) {
      for (const open of queue.clear()) this.delivery.failBatch(open, error);
    }
    // Writes waiting for room were never queued: they fail whole.
    this.bound.failWaiting(error);
  }

  /** Why the Writer gave up its writes. */
  private stopReason(): Error {
    const reason = this.stopping.signal.reason;
    return reason instanceof Error
      ? reason
      : new ClosedError("The Writer was aborted");
  }
}

/**
 * Each of a write's `count` messages failed with `error`, none written
 * (`written` is kept for a `send`).
 */
function failedWhole(error: Error, count: number, send: boolean): WriteErrors {
  return new WriteErrors(
    new Array<Error>(count).fill(error),
    send ? new Array<null>(count).fill(null) : null,
  );
}

function tooLargeError(entry: Entry, batchBytes: number): KafkaError {
  return new KafkaError(ErrorCode.MESSAGE_TOO_LARGE, {
    apiName: "writeMessages",
    topic: entry.topic,
    detail: `message ${entry.index} takes ${entry.size} bytes, ${
      entry.size + BATCH_HEADER_SIZE
    } in a batch of its own: more than batchBytes (${batchBytes}) allows`,
  });
}
