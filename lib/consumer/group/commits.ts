/**
 * The group Reader's commits: the highest offset read per partition wins,
 * the committed value is that offset + 1, every commit carries the member's
 * generation, and nothing is committed for a partition the member no longer
 * owns.
 *
 * Errors that mean the group moved on (a rebalance started, the generation
 * or member is gone) are not the application's: the commit is dropped, the
 * member rejoins, and the partition's new owner reads those messages again
 * (at least once). Other failures are retried until `requestTimeout`
 * (closing, too); what retrying cannot fix (authorization, say) rejects
 * the commit.
 *
 * @module
 */

import { messageOf } from "../../connection/errors.ts";
import type { Cluster } from "../../cluster/cluster.ts";
import { coordinatorMoved } from "../../cluster/coordinator.ts";
import { backoff, canRetry, sleep } from "../../cluster/retry.ts";
import type { Message } from "../../message.ts";
import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import { OffsetCommit } from "../../protocol/messages/offset_commit.ts";
import {
  commitOutcomes,
  offsetCommitRequest,
  type OffsetToCommit,
} from "../../requests/offsets.ts";
import type { Generation } from "./membership.ts";

/** What the committer needs from its group Reader. */
export interface CommitterSettings {
  cluster: Cluster;
  groupId: string;
  /** Milliseconds between background commits; 0 commits at once. */
  commitInterval: number;
  /** Milliseconds the broker keeps the offsets of an empty group; -1 its default. */
  retentionTime: number;
  /** Milliseconds one commit may take, retries included. */
  requestTimeout: number;
  /** The generation to commit in, or null between generations. */
  generation(): Generation | null;
  /**
   * Whether the member keeps its partitions through a rebalance
   * (cooperative, or the consumer protocol): then a commit refused with
   * REBALANCE_IN_PROGRESS or STALE_MEMBER_EPOCH is retried in the next
   * generation instead of dropped.
   */
  keepsPartitions(): boolean;
  /** Whether this member owns the partition now. */
  owns(topic: string, partition: number): boolean;
  /** The group moved on: the member should rejoin. */
  rejoin(why: string): void;
  errorLogger?: ((message: string) => void) | undefined;
}

/** Errors saying the group moved on: the commit is dropped, the member rejoins. */
const MOVED_ON = new Set<number>([
  ErrorCode.REBALANCE_IN_PROGRESS,
  ErrorCode.ILLEGAL_GENERATION,
  ErrorCode.UNKNOWN_MEMBER_ID,
  ErrorCode.FENCED_INSTANCE_ID,
  ErrorCode.STALE_MEMBER_EPOCH,
]);

/** Refusals that pass once the rebalance is over, for a member that keeps its partitions. */
const RETRY_WHEN_KEPT = new Set<number>([
  ErrorCode.REBALANCE_IN_PROGRESS,
  ErrorCode.STALE_MEMBER_EPOCH,
]);

/** Commits a group member's progress. */
export class OffsetCommitter {
  private readonly settings: CommitterSettings;
  /** The offset to commit per partition ("topic\0partition"), not yet sent. */
  private pending = new Map<string, OffsetToCommit>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The flush in progress; the next waits for it (one at a time, in order). */
  private flushing: Promise<void> = Promise.resolve();
  /** A flush of `commitMarked` waits for its turn. */
  private flushQueued = false;
  private closed = false;

  constructor(settings: CommitterSettings) {
    this.settings = settings;
  }

  /**
   * Notes `messages` as read; commits them now (commitInterval 0) or at the
   * next interval. Messages of partitions this member does not own are
   * ignored: their new owner reads them again.
   */
  async commit(messages: readonly Message[]): Promise<void> {
    for (const m of messages) this.mark(m);
    if (this.settings.commitInterval === 0) {
      await this.flush();
      return;
    }
    if (this.closed || this.pending.size === 0) return;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flush().catch((error) =>
        this.logError(`background commit failed: ${messageOf(error)}`)
      );
    }, this.settings.commitInterval);
  }

  /**
   * Commits what is marked without waiting for it: at once with
   * commitInterval 0 (one flush queued at a time, which takes everything
   * marked until it starts), else at the next interval. A failure is logged
   * and the offsets stay pending.
   */
  commitMarked(): void {
    if (this.closed) return;
    if (this.settings.commitInterval !== 0) {
      this.commit([]).catch(() => {});
      return;
    }
    if (this.flushQueued) return;
    this.flushQueued = true;
    const run = this.flushing.then(() => {
      this.flushQueued = false;
      return this.send();
    });
    this.flushing = run.catch((error) =>
      this.logError(`commit failed: ${messageOf(error)}`)
    );
  }

  /** Notes `m` as read, for the next commit; the highest offset per partition wins. */
  mark(m: Pick<Message, "topic" | "partition" | "offset">): void {
    if (!this.settings.owns(m.topic, m.partition)) return;
    const key = `${m.topic}\0${m.partition}`;
    const offset = m.offset + 1;
    const known = this.pending.get(key);
    if (known !== undefined && known.offset >= offset) return;
    this.pending.set(key, {
      topic: m.topic,
      partition: m.partition,
      offset,
    });
  }

  /** Forgets what is marked and not sent for one partition (a seek). */
  unmark(topic: string, partition: number): void {
    this.pending.delete(`${topic}\0${partition}`);
  }

  /** Forgets what is pending for partitions the member lost. */
  drop(owned: (topic: string, partition: number) => boolean): void {
    for (const [key, c] of this.pending) {
      if (!owned(c.topic, c.partition)) this.pending.delete(key);
    }
  }

  /** Sends what is pending, after any flush in progress. */
  flush(): Promise<void> {
    const run = this.flushing.then(() => this.send());
    this.flushing = run.catch(() => {});
    return run;
  }

  /** Stops the interval timer; pending offsets are flushed by the caller. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async send(): Promise<void> {
    const deadline = Date.now() + this.settings.requestTimeout;
    for (let attempt = 1;; attempt++) {
      const commits = [...this.pending.values()].filter((c) =>
        this.settings.owns(c.topic, c.partition)
      );
      const generation = this.settings.generation();
      if (commits.length === 0) return;
      if (generation === null) {
        // Between two generations (a member that keeps its partitions is
        // rejoining): commit once the next one starts, within the deadline;
        // past it the offsets stay pending for the next flush.
        if (Date.now() >= deadline || this.closed) return;
        await sleep(50);
        attempt--;
        continue;
      }
      for (const c of commits) {
        this.pending.delete(`${c.topic}\0${c.partition}`);
      }
      let retry: Error | null = null;
      try {
        retry = await this.request(commits, generation);
      } catch (error) {
        if (!canRetry(error)) {
          this.restore(commits);
          throw error;
        }
        retry = error as Error;
      }
      if (retry === null) return;
      this.restore(commits);
      // Closing too: a coordinator still loading after a restart answers
      // within seconds; retrying stops at the deadline, not at a count.
      if (Date.now() >= deadline) throw retry;
      if (coordinatorMoved(retry)) {
        this.settings.cluster.invalidateCoordinator(this.settings.groupId);
      }
      this.logError(
        `commit failed, attempt ${attempt}, retrying: ${messageOf(retry)}`,
      );
      await sleep(
        Math.min(
          backoff(attempt, { backoffMin: 100, backoffMax: 1000 }),
          Math.max(0, deadline - Date.now()),
        ),
      );
    }
  }

  /**
   * One OffsetCommit. Resolves null when done (or dropped because the
   * group moved on), or with a retriable error to try again.
   */
  private async request(
    commits: OffsetToCommit[],
    generation: Generation,
  ): Promise<Error | null> {
    const { cluster, groupId } = this.settings;
    const conn = await cluster.coordinator(groupId);
    const { version, body } = offsetCommitRequest(commits, {
      groupId,
      generationId: generation.generationId,
      memberId: generation.memberId,
      groupInstanceId: generation.groupInstanceId,
      retentionTimeMs: this.settings.retentionTime,
    }, conn.pickVersion(OffsetCommit));
    const response = await conn.request(OffsetCommit, body, { version });
    let retriable: Error | null = null;
    for (const outcome of commitOutcomes(response, commits, conn.address)) {
      const error = outcome.error;
      if (error === null) continue;
      if (
        error instanceof KafkaError &&
        (MOVED_ON.has(error.code) || RETRY_WHEN_KEPT.has(error.code))
      ) {
        // Rejoin only when the member is still in the generation the
        // commit carried: one that has moved on already knows (and a rejoin
        // from every member on every stale commit would never end).
        const now = this.settings.generation();
        const same = now !== null &&
          now.generationId === generation.generationId &&
          now.memberId === generation.memberId;
        if (this.settings.keepsPartitions()) {
          // The member keeps its partitions: commit them again in the
          // generation (or member epoch) it is in next.
          const c = commits.find((x) =>
            x.topic === outcome.topic && x.partition === outcome.partition
          )!;
          this.restore([c]);
          retriable ??= error;
          if (same && !RETRY_WHEN_KEPT.has(error.code)) {
            this.settings.rejoin(`a commit was refused: ${error.name}`);
          }
          continue;
        }
        this.logError(
          `commit of ${outcome.topic}/${outcome.partition} at ${outcome.offset} dropped: ${error.message}; the partition's next owner reads from the last commit`,
        );
        if (same) this.settings.rejoin(`a commit was refused: ${error.name}`);
        continue;
      }
      if (!canRetry(error)) throw error;
      // Retried with what is pending then, which may have moved on.
      const c = commits.find((x) =>
        x.topic === outcome.topic && x.partition === outcome.partition
      )!;
      this.restore([c]);
      retriable ??= error;
    }
    if (retriable) {
      // Only the failed partitions are pending again; restore() in send()
      // must not bring back the ones that succeeded.
      commits.length = 0;
    }
    return retriable;
  }

  /** Puts offsets back as pending unless a later offset came meanwhile. */
  private restore(commits: readonly OffsetToCommit[]): void {
    for (const c of commits) {
      const key = `${c.topic}\0${c.partition}`;
      const now = this.pending.get(key);
      if (now === undefined || now.offset < c.offset) this.pending.set(key, c);
    }
  }

  private logError(message: string): void {
    this.settings.errorLogger?.(`kafka reader: ${message}`);
  }
}
