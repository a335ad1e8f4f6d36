/**
 * The Reader in a consumer group: the member (joining, heartbeats,
 * rebalances), the fetch engine (every assigned partition, one Fetch per
 * broker) and the committer, behind the same consumer side as the
 * single-partition Reader's.
 *
 * Commits: `readMessage` commits each message before it returns it (at once
 * with commitInterval 0, else at the next interval); `fetchMessage` leaves
 * committing to `commitMessages`. Through the stream (`for await`,
 * `pipeTo`), a message counts as consumed once the next one is asked for;
 * consumed messages are committed at each interval, or with commitInterval
 * 0 whenever the Reader waits for messages to arrive, and always before the
 * partitions are given up in a rebalance and when the Reader closes. A pipe
 * into a Writer marks batches consumed once acknowledged, and commits them
 * then (`consumedBy`); `commitOffsets` commits given offsets at once;
 * `seek` moves owned partitions.
 *
 * Rebalances: the partitions are revoked in the fetch engine first (nothing
 * prefetched for them comes out after that), then `onPartitionsRevoked` is
 * awaited, then what was consumed is committed, still in the old generation.
 *
 * @module
 */

import { Cluster } from "../../cluster/cluster.ts";
import { FirstOffset, LastOffset } from "../../requests/list_offsets.ts";
import { describeValue, timeOf } from "../../options.ts";
import { describeOffset } from "../fetch_state.ts";
import { clusterOptions } from "../../cluster/transport.ts";
import { readerTelemetry } from "../telemetry.ts";
import { abortReason, messageOf } from "../../connection/errors.ts";
import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import { canRetry, retry } from "../../cluster/retry.ts";
import { coordinatorMoved } from "../../cluster/coordinator.ts";
import type { GroupMetadata, Message, SeekPosition } from "../../message.ts";
import type { FetchedRun } from "../../requests/fetched.ts";
import { OffsetFetch } from "../../protocol/messages/offset_fetch.ts";
import {
  committedOffsets,
  offsetFetchRequest,
} from "../../requests/offsets.ts";
import { FetchEngine } from "../fetch_engine.ts";
import { StreamEngine } from "../stream_engine.ts";
import { DEFAULTS, type ReaderOptions, type ReaderStats } from "../options.ts";
import { inCallbackOf, runAsCallbackOf } from "./callback_scope.ts";
import { ClassicMember } from "./classic_member.ts";
import { OffsetCommitter } from "./commits.ts";
import { PollTimer } from "./poll_timer.ts";
import { ConsumerMember } from "./consumer_member.ts";
import {
  type Assignment,
  describeAssignment,
  type Generation,
  type MemberHooks,
  type Membership,
} from "./membership.ts";
import {
  type GroupSettings,
  groupSettings,
  type TopicPartition,
} from "./options.ts";

/** How a pipe says what was consumed (see `GroupEngine.consumedBy`). */
export interface Consumption {
  /** Everything of the partition up to and with `last.offset` is consumed. */
  consumed(last: { topic: string; partition: number; offset: number }): void;
  /**
   * Whether the member still owns the partition: false from the moment a
   * rebalance starts giving it up.
   */
  owns(topic: string, partition: number): boolean;
  /** The group's metadata for a transaction's offsets, or its id alone. */
  group(): GroupMetadata | string;
  /**
   * Moves the partitions back to the offsets (those the member still owns
   * and has read past): the first messages a pipe that failed did not get
   * settled, so that the Reader, kept open, reads them again. What is
   * marked stays marked.
   */
  rewind(positions: readonly SeekPosition[]): void;
  /** Gives the marking back to the stream's reads. */
  release(): void;
}

/** The consumer side of a group Reader. */
export class GroupEngine extends StreamEngine {
  private readonly options: ReaderOptions;
  private readonly group: GroupSettings;
  private readonly cluster: Cluster;
  private readonly ownsCluster: boolean;
  private readonly fetch: FetchEngine;
  /** The member; a new one after a poll timeout (the old one left). */
  private member: Membership;
  private readonly hooks: MemberHooks;
  /** maxPollInterval: a Reader the application stopped reading leaves. */
  private readonly pollTimer: PollTimer;
  /**
   * Set while the member that left at a poll timeout gives up its
   * partitions and leaves: the next read rejoins once it is done.
   */
  private stalled: Promise<void> | null = null;
  private rejoining = false;
  private readonly committer: OffsetCommitter;
  private started = false;
  /** The partitions of the current generation, "topic\0partition". */
  private owned = new Set<string>();
  /** Those of them a rebalance is giving up. */
  private readonly revoking = new Set<string>();
  /**
   * Seeks of partitions assigned but not fetched yet (made in
   * onPartitionsAssigned): where fetching starts instead of the commit.
   */
  private readonly seeks = new Map<string, number>();
  /** Partitions paused in onPartitionsAssigned, before they are fetched. */
  private readonly pauses = new Set<string>();
  /** Handed out through the stream and maybe still being handled. */
  private inProcess: Message | null = null;
  /** Known consumed (a later one was asked for), not yet marked for commit. */
  private consumed: Message | null = null;
  /**
   * Set while a pipe says what was consumed (what its Writer acknowledged):
   * handing out a message then marks nothing.
   */
  private consumedByCaller = false;
  /**
   * While a pipe marks what was consumed: resolves once what it handed
   * over is acknowledged, so that a rebalance commits it first.
   */
  private drainPipe:
    | ((
      revoked: readonly TopicPartition[],
      giveUp: AbortSignal,
    ) => Promise<void>)
    | null = null;
  private rebalances = 0;
  /** How long a request to the coordinator is retried. */
  private readonly requestTimeout: number;

  constructor(options: ReaderOptions) {
    super();
    this.options = options;
    this.group = groupSettings(options);
    this.ownsCluster = options.cluster === undefined;
    this.cluster = options.cluster ?? new Cluster(
      clusterOptions(options.brokers, options.transport),
    );
    const requestTimeout = this.cluster.options.requestTimeout ?? 30_000;
    this.requestTimeout = requestTimeout;
    const tally = { records: 0, bytes: 0 };
    this.fetch = new FetchEngine({
      cluster: this.cluster,
      tally,
      minBytes: options.minBytes,
      maxBytes: options.fetchMaxBytes ?? DEFAULTS.fetchMaxBytes,
      partitionMaxBytes: options.maxBytes ?? DEFAULTS.maxBytes,
      maxWait: options.maxWait,
      queueCapacity: options.queueCapacity,
      maxAttempts: options.maxAttempts,
      isolationLevel: options.isolationLevel,
      startOffset: options.startOffset,
      offsetOutOfRange: options.offsetOutOfRange,
      readBackoffMin: options.readBackoffMin,
      readBackoffMax: options.readBackoffMax,
      copyValues: options.copyValues,
      checkCrcs: options.checkCrcs,
      logger: options.logger,
      errorLogger: options.errorLogger,
      rack: options.rack,
      onFailure: (error) => this.fail(error),
    });
    this.telemetry = readerTelemetry(this.cluster, options, {
      tally,
      maxLag: () => this.fetch.maxLag(),
      assigned: () => this.fetch.assignedCount,
    });
    this.committer = new OffsetCommitter({
      cluster: this.cluster,
      groupId: this.group.groupId,
      commitInterval: this.group.commitInterval,
      retentionTime: this.group.retentionTime,
      requestTimeout,
      generation: () => this.member.current,
      keepsPartitions: () => this.member.keepsPartitions,
      owns: (topic, partition) => this.owned.has(`${topic}\0${partition}`),
      rejoin: (why) => this.member.rejoin(why),
      errorLogger: options.errorLogger,
    });
    this.hooks = {
      assigned: (added, generation) => this.onAssigned(added, generation),
      revoked: (removed) => this.onRevoked(removed),
      lost: (lost, error) => this.onLost(lost, error),
      failed: (error) => this.fail(error),
    };
    this.member = this.newMember();
    this.pollTimer = new PollTimer(
      this.group.maxPollInterval,
      (idle) => this.pollExpired(idle),
    );
  }

  /** A member of the group under its protocol, not started. */
  private newMember(): Membership {
    const g = this.group;
    const options = this.options;
    const common = {
      cluster: this.cluster,
      groupId: g.groupId,
      groupInstanceId: g.groupInstanceId,
      rack: g.rack,
      rebalanceTimeout: g.rebalanceTimeout,
      joinGroupBackoff: g.joinGroupBackoff,
      requestTimeout: this.requestTimeout,
      logger: options.logger,
      errorLogger: options.errorLogger,
      hooks: this.hooks,
    };
    return g.protocol === "consumer"
      ? new ConsumerMember({
        ...common,
        topics: g.pattern === null ? g.topics : null,
        pattern: g.pattern,
        remoteAssignor: g.remoteAssignor,
      })
      : new ClassicMember({
        ...common,
        topics: g.topics,
        matcher: g.matcher,
        balancers: g.balancers,
        heartbeatInterval: g.heartbeatInterval,
        sessionTimeout: g.sessionTimeout,
        watchPartitionChanges: g.watchPartitionChanges,
        partitionWatchInterval: g.partitionWatchInterval,
      });
  }

  /** Joins the group on first use, and again after a poll timeout. */
  private start(): void {
    if (this.state !== "open") return;
    if (this.started) {
      if (this.stalled !== null) this.rejoinAfterStall();
      return;
    }
    this.started = true;
    if (this.group.retentionTime !== -1) {
      this.logError(
        `retentionTime ${this.group.retentionTime} is ignored by Kafka 2.1 and later, which keep committed offsets for the broker's offsets.retention.minutes after the group empties`,
      );
    }
    this.telemetry?.start();
    this.member.start();
    this.pollTimer.start();
  }

  /**
   * No read for `maxPollInterval` (Java's max.poll.interval.ms): the
   * application stopped reading, or one message takes it that long. The
   * member gives up its partitions as in a rebalance (onPartitionsRevoked,
   * then a commit of what was consumed) and leaves, so that the others
   * read them; the next read joins again.
   */
  private pollExpired(idle: number): void {
    if (this.state !== "open" || this.stalled !== null) return;
    const others = this.group.groupInstanceId === null
      ? "so that others read its partitions"
      : "(a static member: others read its partitions once its session times out)";
    this.logError(
      `no read for about ${idle} ms, more than maxPollInterval (${this.group.maxPollInterval} ms): leaving group ${this.group.groupId} ${others}; the next read joins again. Read more often (a slow handler holds the reads), or raise maxPollInterval`,
    );
    const timeout = Math.min(this.group.rebalanceTimeout, 30_000);
    this.stalled = this.member.close(
      timeout,
      "consumer poll timeout has expired",
    )
      .catch((error) =>
        this.logError(`leaving the group failed: ${messageOf(error)}`)
      );
  }

  /** A read after a poll timeout: a new member joins once the old one left. */
  private rejoinAfterStall(): void {
    if (this.rejoining || this.stalled === null) return;
    this.rejoining = true;
    this.stalled.then(() => {
      this.stalled = null;
      this.rejoining = false;
      if (this.state !== "open") return;
      this.options.logger?.(
        `kafka reader: read again after a poll timeout: joining group ${this.group.groupId}`,
      );
      this.member = this.newMember();
      this.member.start();
      this.pollTimer.start();
    }).catch((error) => this.fail(error as Error));
  }

  // ---- rebalances ----

  /** The member gained `added` (possibly none: a rebalance that moved nothing here). */
  private async onAssigned(
    added: Assignment,
    generation: Generation,
  ): Promise<void> {
    this.rebalances++;
    const partitions = toPartitions(added);
    for (const p of partitions) this.owned.add(`${p.topic}\0${p.partition}`);
    await this.callback("onPartitionsAssigned", partitions);
    if (this.state !== "open") return;
    // Read after the callback, as Java's consumer does: what it committed
    // is where the partitions resume (a seek in it wins over both).
    let offsets: number[];
    try {
      offsets = await this.committedOffsets(partitions);
    } catch (error) {
      // What retrying cannot fix (not authorized to read the group's
      // offsets...) ends the Reader; the rest is the member's to try again.
      if (!canRetry(error) && this.state === "open") this.fail(error as Error);
      throw error;
    }
    if (this.state !== "open") return;
    this.fetch.assign(partitions.map((p, i) => {
      const key = `${p.topic}\0${p.partition}`;
      const sought = this.seeks.get(key);
      this.seeks.delete(key);
      return {
        ...p,
        offset: sought ?? (offsets[i] >= 0 ? offsets[i] : undefined),
      };
    }));
    // Paused in onPartitionsAssigned: paused before anything is fetched.
    const paused = partitions.filter((p) =>
      this.pauses.delete(`${p.topic}\0${p.partition}`)
    );
    if (paused.length > 0) this.fetch.pause(paused);
    if (partitions.length > 0) {
      this.options.logger?.(
        `kafka reader: generation ${generation.generationId} adds ${
          describeAssignment(added)
        }`,
      );
    }
  }

  /**
   * Where each partition resumes: its committed offset, or -1 for none.
   * What passes on its own (the coordinator moving or loading, offsets
   * pending in a transaction) is retried until `requestTimeout`.
   */
  private async committedOffsets(
    partitions: TopicPartition[],
  ): Promise<number[]> {
    if (partitions.length === 0) return [];
    const { groupId } = this.group;
    return await retry(() => this.readCommitted(partitions), {
      backoffMin: 100,
      backoffMax: 1000,
      deadline: Date.now() + this.requestTimeout,
      retriable: (error) => canRetry(error) && this.state === "open",
      onRetry: (error, attempt) => {
        if (coordinatorMoved(error)) {
          this.cluster.invalidateCoordinator(groupId);
        }
        // Waiting for a transaction to end is said once, not every retry.
        const unstable = error instanceof KafkaError &&
          error.code === ErrorCode.UNSTABLE_OFFSET_COMMIT;
        if (unstable && attempt > 1) return;
        this.logError(
          unstable
            ? `waiting for a transaction committing offsets of ${groupId} to end before resuming (UNSTABLE_OFFSET_COMMIT)`
            : `reading the committed offsets failed, attempt ${attempt}, retrying: ${
              messageOf(error)
            }`,
        );
      },
    });
  }

  /** One OffsetFetch for `partitions`; a partition's error is thrown. */
  private async readCommitted(
    partitions: TopicPartition[],
  ): Promise<number[]> {
    const conn = await this.cluster.coordinator(this.group.groupId);
    const { version, body } = offsetFetchRequest(
      this.group.groupId,
      partitions,
      conn.pickVersion(OffsetFetch),
      // Reading committed records, a partition whose offsets a transaction
      // is committing waits for its end (UNSTABLE_OFFSET_COMMIT, retried),
      // as Java's consumer does (KIP-447): resuming from the offset before
      // it would read again what that transaction is about to commit
      // (brokers before 2.5 do not know the flag, and answer at once).
      { requireStable: this.options.isolationLevel === "read_committed" },
    );
    const response = await conn.request(OffsetFetch, body, { version });
    const found = committedOffsets(
      response,
      this.group.groupId,
      partitions,
      conn.address,
    );
    return found.map((c) => {
      if (c.error) throw c.error;
      return c.offset;
    });
  }

  private async onRevoked(removed: Assignment): Promise<void> {
    const partitions = toPartitions(removed);
    for (const p of partitions) this.revoking.add(`${p.topic}\0${p.partition}`);
    // Nothing prefetched for them comes out from here on.
    this.fetch.revoke(partitions);
    await this.callback("onPartitionsRevoked", partitions);
    await this.drainBeforeRevoke(partitions);
    this.noteConsumed();
    await this.committer.flush().catch((error) =>
      this.logError(`commit before the rebalance failed: ${messageOf(error)}`)
    );
    this.forget(partitions);
  }

  /** Drops partitions from what this member owns and handles. */
  private forget(partitions: TopicPartition[]): void {
    const gone = new Set(partitions.map((p) => `${p.topic}\0${p.partition}`));
    for (const key of gone) {
      this.owned.delete(key);
      this.revoking.delete(key);
      this.seeks.delete(key);
      this.pauses.delete(key);
    }
    const held = (m: Message | null) =>
      m !== null && gone.has(`${m.topic}\0${m.partition}`);
    if (held(this.inProcess)) this.inProcess = null;
    if (held(this.consumed)) this.consumed = null;
    this.committer.drop((topic, partition) =>
      this.owned.has(`${topic}\0${partition}`)
    );
  }

  private async onLost(lost: Assignment, error: Error): Promise<void> {
    const partitions = toPartitions(lost);
    const assignment = lost;
    this.fetch.revoke(partitions);
    this.forget(partitions);
    this.logError(
      `lost ${describeAssignment(assignment)}: ${error.message}`,
    );
    await this.callback("onPartitionsLost", partitions);
  }

  private async callback(
    name: "onPartitionsAssigned" | "onPartitionsRevoked" | "onPartitionsLost",
    partitions: TopicPartition[],
  ): Promise<void> {
    const fn = this.options[name];
    if (fn === undefined) return;
    try {
      await runAsCallbackOf(this, () => fn(partitions));
    } catch (error) {
      this.logError(`${name} threw: ${messageOf(error)}`);
    }
  }

  // ---- the consumer side ----

  /** The stream's pull: one message, waiting for one when none is ready. */
  pull(): Promise<void> | undefined {
    this.pollTimer.polls++;
    const message = this.takeForStream();
    if (message !== undefined) {
      this.enqueue(message);
      return;
    }
    return this.waitAndPull();
  }

  private async waitAndPull(): Promise<void> {
    this.start();
    while (this.state === "open") {
      const message = this.takeForStream();
      if (message !== undefined) return this.enqueue(message);
      if (this.failure !== null) return this.fail(this.failure);
      this.pollTimer.waiting++;
      try {
        await this.idle();
      } finally {
        // The wait's end counts as a read: the interval starts here.
        this.pollTimer.waiting--;
        this.pollTimer.polls++;
      }
      if (!this.isLocked()) return;
    }
  }

  /** Waits for messages; commits what was consumed meanwhile (commitInterval 0). */
  private async idle(): Promise<void> {
    this.noteConsumed();
    if (this.group.commitInterval === 0) {
      this.committer.flush().catch((error) =>
        this.logError(`commit failed: ${messageOf(error)}`)
      );
    } else {
      this.committer.commit([]).catch(() => {});
    }
    await this.fetch.ready();
  }

  /**
   * A message for the stream. Asking for it means the one handed out
   * before is consumed (the loop body or the pipe is done with it).
   */
  private takeForStream(): Message | undefined {
    const before = this.inProcess;
    if (before !== null && this.consumedByCaller) {
      this.inProcess = null;
    } else if (before !== null) {
      const consumed = this.consumed;
      if (
        consumed !== null &&
        (consumed.partition !== before.partition ||
          consumed.topic !== before.topic)
      ) {
        this.committer.mark(consumed);
      }
      this.consumed = before;
      this.inProcess = null;
    }
    const message = this.fetch.take();
    if (message !== undefined) this.inProcess = message;
    return message;
  }

  /**
   * A `for await` loop ended by break or return: its body finished with the
   * last message, so that one is consumed too.
   */
  iterationEnded(): void {
    if (this.consumedByCaller) {
      this.inProcess = null;
    } else if (this.inProcess !== null) {
      this.noteConsumed();
      this.consumed = this.inProcess;
      this.inProcess = null;
    }
  }

  /**
   * Hands the marking of consumed messages to the caller (a pipe, which
   * marks what its Writer acknowledged) until `release`: messages handed
   * out from now on count as consumed only once `consumed` says so.
   * `drain` is called when partitions are revoked: it resolves once what
   * the pipe handed over is settled (what was not started of the revoked
   * partitions may be dropped).
   */
  consumedBy(
    drain: (
      revoked: readonly TopicPartition[],
      giveUp: AbortSignal,
    ) => Promise<void>,
  ): Consumption {
    this.noteConsumed();
    this.consumedByCaller = true;
    this.drainPipe = drain;
    return {
      consumed: (last) => {
        this.committer.mark(last);
        this.committer.commitMarked();
      },
      owns: (topic, partition) => {
        const key = `${topic}\0${partition}`;
        return this.owned.has(key) && !this.revoking.has(key);
      },
      group: () => this.groupMetadata() ?? this.group.groupId,
      rewind: (positions) => {
        for (const p of positions) {
          const at = this.fetch.position(p);
          if (at === undefined || at <= p.offset) continue;
          this.fetch.seek(p, p.offset);
          const here = (m: Message | null) =>
            m !== null && m.topic === p.topic && m.partition === p.partition;
          if (here(this.inProcess)) this.inProcess = null;
          if (here(this.consumed)) this.consumed = null;
          this.options.logger?.(
            `kafka reader: the pipe ended with offsets ${p.offset} to ${
              at - 1
            } of partition ${p.partition} of ${p.topic} not written; they are read again`,
          );
        }
      },
      release: () => {
        this.consumedByCaller = false;
        this.drainPipe = null;
      },
    };
  }

  /**
   * How long a pipe into a transactional Writer keeps a transaction open:
   * `commitInterval`, or 100 ms with commitInterval 0 (Kafka Streams'
   * default with exactly-once).
   */
  get transactionInterval(): number {
    return this.group.commitInterval || 100;
  }

  /**
   * Before partitions are given up: waits (at most half the rebalance
   * timeout) for a pipe's Writer to acknowledge what it was handed (or a
   * Processor to finish the handlers running), so that the commit covers
   * it and the next owner does not read it again.
   */
  private async drainBeforeRevoke(
    revoked: readonly TopicPartition[],
  ): Promise<void> {
    const drain = this.drainPipe;
    if (drain === null) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limit = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.group.rebalanceTimeout / 2);
    });
    // Aborted if the wait runs out: a Processor then aborts the signal of
    // the handlers still running on these partitions.
    const giveUp = new AbortController();
    let settled = false;
    try {
      await Promise.race([
        drain(revoked, giveUp.signal).catch(() => {}).finally(() => {
          settled = true;
        }),
        limit,
      ]);
    } finally {
      clearTimeout(timer);
      if (!settled) giveUp.abort();
    }
  }

  /** Marks the latest consumed message for the next commit. */
  private noteConsumed(): void {
    if (this.consumed !== null) this.committer.mark(this.consumed);
    this.consumed = null;
  }

  /** A ready message for readMessage when nobody holds the stream. */
  takeUnlocked(locked: boolean): Message | undefined {
    if (locked || this.state !== "open") return undefined;
    this.pollTimer.polls++;
    this.start();
    return this.fetch.take();
  }

  /** A ready message for `for await` when the stream's own queue is empty. */
  takeQueued(): Message | undefined {
    if (this.state !== "open") return undefined;
    if (this.streamHolds()) return undefined;
    this.pollTimer.polls++;
    this.start();
    return this.takeForStream();
  }

  /**
   * The rest of the chunk the stream's last message came from, for
   * `batches()`: the last of them is the one in process, so it and those
   * before it count as consumed once the next one is asked for.
   */
  takeRest(): FetchedRun | null {
    if (this.state !== "open" || this.inProcess === null) return null;
    this.pollTimer.polls++;
    const rest = this.fetch.takeRest();
    if (rest !== null) this.inProcess = rest.message(rest.length - 1);
    return rest;
  }

  /** The next message for fetchMessage, taken straight from the engine. */
  async next(signal?: AbortSignal): Promise<Message> {
    if (inCallbackOf(this)) {
      // The rebalance waits for the callback, and the read would wait for
      // the rebalance: both would hang, silently.
      throw new TypeError(
        `Cannot read a message inside a rebalance callback of group "${this.group.groupId}" (onPartitionsAssigned, onPartitionsRevoked or onPartitionsLost): the rebalance waits for the callback, and the read would wait for the rebalance. Read once the callback has returned; seek, pause or commit in it`,
      );
    }
    this.pollTimer.polls++;
    this.start();
    while (true) {
      if (signal?.aborted) throw abortReason(signal, "fetchMessage");
      this.checkNotClosed("read a message");
      if (this.failure !== null) throw this.failure;
      const message = this.fetch.take();
      if (message !== undefined) return message;
      this.pollTimer.waiting++;
      try {
        await this.fetch.ready(signal, "fetchMessage");
      } finally {
        this.pollTimer.waiting--;
        this.pollTimer.polls++;
      }
    }
  }

  /**
   * Commits messages: the highest offset per partition wins, and only the
   * partitions this member owns are committed.
   */
  async commitMessages(messages: readonly Message[]): Promise<void> {
    // Commits made in onPartitionsRevoked while close() gives the
    // partitions up are still taken (what was processed is not read again).
    if (!this.leaving) this.checkNotClosed("commit messages");
    await this.committer.commit(messages);
  }

  /**
   * Throws unless `positions` are partitions this member owns now, each
   * with an offset >= 0 (`offsets` "plain"), also FirstOffset or
   * LastOffset ("special"), or none looked at (null): a TypeError or
   * RangeError naming the position.
   */
  private checkPositions(
    what: string,
    positions: readonly (TopicPartition & { offset?: number })[],
    offsets: "plain" | "special" | null,
  ): void {
    const context = `Cannot ${what}`;
    if (!Array.isArray(positions)) {
      throw new TypeError(
        `${context}: expected { topic, partition, offset } arguments, got ${
          describeValue(positions)
        }`,
      );
    }
    // Commits (the "plain" offsets) are taken while close() gives the
    // partitions up, as commitMessages' are.
    if (!(offsets === "plain" && this.leaving)) this.checkOpen(what);
    positions.forEach((p, i) => {
      // Each message shows the bad field's own value: the whole position,
      // cut to fit, could hide it.
      if (Array.isArray(p)) {
        // seek([a, b]) where seek(a, b), or seek(...list), was meant.
        throw new TypeError(
          `${context}: position ${i} is an array; pass the positions as separate arguments (spread a list: ...positions)`,
        );
      }
      if (p === null || typeof p !== "object") {
        throw new TypeError(
          `${context}: position ${i} must be { topic, partition${
            offsets === null ? "" : ", offset"
          } }, got ${describeValue(p)}`,
        );
      }
      if (typeof p.topic !== "string" || p.topic === "") {
        throw new TypeError(
          `${context}: position ${i} needs a topic name, got ${
            describeValue(p.topic)
          }`,
        );
      }
      if (!Number.isInteger(p.partition) || p.partition < 0) {
        throw new TypeError(
          `${context}: position ${i} (topic "${p.topic}") needs a partition number (an integer >= 0), got ${
            describeValue(p.partition)
          }`,
        );
      }
      const special = offsets === "special";
      const offset = p.offset as number;
      const specialOk = special &&
        (offset === FirstOffset || offset === LastOffset);
      if (
        offsets !== null &&
        (!Number.isSafeInteger(offset) || (offset < 0 && !specialOk))
      ) {
        const Kind = typeof offset === "number" ? RangeError : TypeError;
        throw new Kind(
          `${context}: position ${i} (partition ${p.partition} of "${p.topic}") needs an offset >= 0${
            special ? ", FirstOffset (-2) or LastOffset (-1)" : ""
          }, got ${describeValue(p.offset)}`,
        );
      }
      const key = `${p.topic}\0${p.partition}`;
      // A partition being revoked can still be committed (from
      // onPartitionsRevoked), not moved or paused.
      const revoking = this.revoking.has(key) && offsets !== "plain";
      if (!this.owned.has(key) || revoking) {
        const owned = this.assignment().map((o) => `${o.topic}/${o.partition}`)
          .join(", ");
        throw new RangeError(
          revoking
            ? `${context}: partition ${p.partition} of "${p.topic}" is being revoked from this member`
            : `${context}: partition ${p.partition} of "${p.topic}" is not assigned to this member (it has ${
              owned || "none"
            })`,
        );
      }
    });
  }

  /**
   * Commits these next offsets of owned partitions now, whatever
   * `commitInterval` (Java's commitSync with offsets): `offset` is the next
   * message to read, the last one processed + 1. They replace what was
   * marked for those partitions.
   */
  async commitOffsets(offsets: readonly SeekPosition[]): Promise<void> {
    this.checkPositions("commit offsets", offsets, "plain");
    for (const o of offsets) {
      this.committer.unmark(o.topic, o.partition);
      this.committer.mark({
        topic: o.topic,
        partition: o.partition,
        offset: o.offset - 1,
      });
    }
    await this.committer.flush();
  }

  /**
   * Moves owned partitions to offsets, all or none: what was prefetched for
   * them is dropped and the next message handed out is at the offset. What
   * was marked for commit and not sent is forgotten, so the commits follow
   * what is consumed from the new position (after a seek back, the lower
   * offset). Made in onPartitionsAssigned, a seek replaces the committed
   * offset fetching would start from.
   */
  seek(positions: readonly SeekPosition[]): void {
    this.checkPositions("seek", positions, "special");
    for (const p of positions) {
      const key = `${p.topic}\0${p.partition}`;
      if (this.fetch.position(p) === undefined) {
        this.seeks.set(key, p.offset);
      } else {
        this.fetch.seek(p, p.offset);
      }
      this.committer.unmark(p.topic, p.partition);
      const here = (m: Message | null) =>
        m !== null && m.topic === p.topic && m.partition === p.partition;
      if (here(this.inProcess)) this.inProcess = null;
      if (here(this.consumed)) this.consumed = null;
      this.options.logger?.(
        `kafka reader: seeking partition ${p.partition} of ${p.topic} to ${
          describeOffset(p.offset)
        }`,
      );
    }
  }

  /**
   * Seeks owned partitions (all of them when `partitions` is empty) to
   * their first message at or after `time`, or to their end (as it is
   * when looked up) when there is none; a partition given up while its
   * offset was looked up is left out.
   */
  async seekToTime(
    time: Date,
    partitions: readonly TopicPartition[],
    signal?: AbortSignal,
  ): Promise<void> {
    const ms = timeOf("Cannot seek", time);
    const chosen = partitions.length > 0 ? partitions : this.assignment();
    this.checkPositions("seek", chosen, null);
    const offsets = await Promise.all(chosen.map(async (p) => {
      const [at] = await this.fetch.listOffsets(p, [ms], signal);
      if (at >= 0) return at;
      // No message at or after the time: the end as it is now.
      const [end] = await this.fetch.listOffsets(p, [LastOffset], signal);
      return end;
    }));
    const positions = chosen.map((p, i) => ({
      topic: p.topic,
      partition: p.partition,
      offset: offsets[i],
    })).filter((p) => {
      const key = `${p.topic}\0${p.partition}`;
      return this.owned.has(key) && !this.revoking.has(key);
    });
    this.seek(positions);
  }

  /** Stops handing out and fetching the partitions until resumed. */
  pause(partitions: readonly TopicPartition[]): void {
    this.checkPositions("pause partitions", partitions, null);
    for (const p of partitions) {
      // Not fetched yet (paused in onPartitionsAssigned): once it is.
      if (this.fetch.position(p) === undefined) {
        this.pauses.add(`${p.topic}\0${p.partition}`);
      }
    }
    this.fetch.pause(partitions);
  }

  /** Fetches and hands out paused partitions again. */
  resume(partitions: readonly TopicPartition[]): void {
    this.checkPositions("resume partitions", partitions, null);
    for (const p of partitions) {
      this.pauses.delete(`${p.topic}\0${p.partition}`);
    }
    this.fetch.resume(partitions);
  }

  /** The group and the generation's member, or null between generations. */
  groupMetadata(): GroupMetadata | null {
    const generation = this.member.current;
    if (generation === null) return null;
    return { groupId: this.group.groupId, ...generation };
  }

  /** The partitions of the current generation. */
  assignment(): TopicPartition[] {
    return [...this.owned].map((key) => {
      const [topic, partition] = key.split("\0");
      return { topic, partition: Number(partition) };
    });
  }

  // ---- what a group Reader does not have ----

  setOffset(_offset: number): void {
    throw new TypeError(
      `Cannot set the offset of a Reader in group "${this.group.groupId}": the group's committed offsets say where each partition resumes`,
    );
  }

  setOffsetAt(_time: Date): Promise<void> {
    return Promise.reject(
      new TypeError(
        `Cannot set the offset of a Reader in group "${this.group.groupId}": the group's committed offsets say where each partition resumes`,
      ),
    );
  }

  get position(): number {
    return -1;
  }

  get lag(): number {
    return -1;
  }

  readLag(): Promise<number> {
    return Promise.reject(
      new TypeError(
        `Cannot read the lag of a Reader in group "${this.group.groupId}": see stats().partitions for each partition's lag`,
      ),
    );
  }

  stats(): ReaderStats {
    const s = this.fetch.stats();
    const rebalances = this.rebalances;
    this.rebalances = 0;
    return {
      dials: s.dials,
      fetches: s.fetches,
      messages: s.messages,
      bytes: s.bytes,
      rebalances,
      timeouts: s.timeouts,
      errors: s.errors,
      offset: -1,
      lag: -1,
      minBytes: this.options.minBytes ?? 1,
      maxBytes: this.options.maxBytes ?? 1024 * 1024,
      maxWait: this.options.maxWait ?? 10_000,
      queueLength: s.queuedMessages,
      queueCapacity: this.options.queueCapacity ?? Infinity,
      clientId: this.cluster.options.clientId ?? "streamkafka",
      topic: this.group.pattern ?? this.group.topics.join(","),
      partition: -1,
      group: {
        groupId: this.group.groupId,
        ...this.member.info(),
        assignment: this.assignment(),
      },
      partitions: s.partitions.map((p) => ({
        topic: p.topic,
        partition: p.partition,
        offset: p.position,
        lag: p.lag,
      })),
    };
  }

  // ---- ending ----

  /**
   * Closes. Called from a rebalance callback, the close is started and the
   * promise resolves at once: the close waits for the rebalance, which waits
   * for the callback, so awaiting it there would hold both until
   * `rebalanceTimeout`. The close ends after the callback returns.
   */
  override close(): Promise<void> {
    const closing = super.close();
    if (!inCallbackOf(this)) return closing;
    closing.catch((error) =>
      this.logError(`closing failed: ${messageOf(error)}`)
    );
    return Promise.resolve();
  }

  /** While close() gives up the partitions: commits are still taken. */
  private leaving = false;

  protected override failed(error: Error): void {
    this.logError(`the group Reader stopped: ${error.message}`);
  }

  /**
   * Commits what was consumed, leaves the group (so the others rebalance at
   * once) and closes; within about rebalanceTimeout however the group is.
   */
  protected override async release(): Promise<void> {
    const timeout = Math.min(this.group.rebalanceTimeout, 30_000);
    this.pollTimer.stop();
    // A member that left at a poll timeout is done first.
    await this.stalled;
    this.committer.close();
    // The member gives up its partitions (committing them, and what
    // onPartitionsRevoked commits) and leaves.
    this.leaving = true;
    try {
      await this.member.close(timeout).catch((error) =>
        this.logError(`leaving the group failed: ${messageOf(error)}`)
      );
    } finally {
      this.leaving = false;
    }
    await this.fetch.close();
    if (this.ownsCluster) await this.cluster.close();
  }

  private logError(message: string): void {
    this.options.errorLogger?.(`kafka reader: ${message}`);
  }
}

function toPartitions(assignment: Assignment): TopicPartition[] {
  const out: TopicPartition[] = [];
  for (const [topic, partitions] of assignment) {
    for (const partition of partitions) out.push({ topic, partition });
  }
  return out;
}
