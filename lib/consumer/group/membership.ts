/**
 * What both group protocols' members share: the assignment they hold, the
 * generation commits carry, the hooks through which the group Reader
 * follows them, and the changes between two assignments.
 *
 * A member tells its owner only what changes: `revoked` with the partitions
 * it gives up (the owner stops fetching them and commits what it consumed,
 * still accepted), `assigned` with the partitions it gains, and `lost` when
 * the membership is gone already (commits would be refused). An eager
 * member revokes everything before it rejoins; a cooperative one (KIP-429)
 * and a member of the consumer protocol (KIP-848) give up only what moves.
 *
 * @module
 */

import { canRetry, sleep } from "../../cluster/retry.ts";
import { ClosedError } from "../../connection/errors.ts";
import { ErrorCode, KafkaError } from "../../protocol/errors.ts";

/** Partitions by topic, as a generation assigns them. */
export type Assignment = Map<string, number[]>;

/** What commits must carry to be accepted. */
export interface Generation {
  /** The classic generation id, or the member epoch of the consumer protocol. */
  generationId: number;
  memberId: string;
  /** The static member's instance id (KIP-345), or null. */
  groupInstanceId: string | null;
}

/** How the group Reader follows the member. */
export interface MemberHooks {
  /** The member now owns these partitions too. */
  assigned(added: Assignment, generation: Generation): Promise<void>;
  /** The member gives these up: stop fetching them, commit what was consumed. */
  revoked(removed: Assignment, generation: Generation): Promise<void>;
  /** The membership is over already: drop these without committing. */
  lost(lost: Assignment, error: Error): Promise<void>;
  /** Retrying cannot fix this: the Reader ends with it. */
  failed(error: Error): void;
}

/** The group protocol in use, and how a member hands partitions over. */
export interface MembershipInfo {
  /** "classic" (JoinGroup, SyncGroup) or "consumer" (KIP-848). */
  protocol: "classic" | "consumer";
  /**
   * "eager": every partition is given up on each rebalance; "cooperative":
   * only those that move (KIP-429, and always under the consumer protocol).
   */
  rebalance: "eager" | "cooperative";
  /** The member id, "" before the first join. */
  memberId: string;
  /** The classic generation id or the consumer protocol's member epoch; -1 when none. */
  generationId: number;
  /** The static member's instance id, or null. */
  groupInstanceId: string | null;
  /** The assignor that assigned the partitions (classic: the chosen protocol name). */
  assignor: string | null;
}

/** A member of a group, under either protocol. */
export interface Membership {
  /** The generation commits must carry, or null between generations. */
  readonly current: Generation | null;
  /** Whether a commit refused with REBALANCE_IN_PROGRESS or STALE_MEMBER_EPOCH should be retried (the member keeps its partitions). */
  readonly keepsPartitions: boolean;
  /** Starts joining; the hooks tell what follows. */
  start(): void;
  /** Asks for a rebalance (a commit said the group moved on, say). */
  rejoin(why: string): void;
  /**
   * Gives up the partitions (after `revoked`) and leaves, within about
   * `timeout` ms; `reason` goes with the classic LeaveGroup (KIP-800).
   */
  close(timeout: number, reason?: string): Promise<void>;
  info(): MembershipInfo;
}

/** The coordinator's lane: group requests never wait behind a Fetch. */
export const GROUP_LANE = "group";

/**
 * A classic member's LeaveGroup when its JoinGroup or SyncGroup is held by
 * the coordinator: the broker answers a connection's requests in order, so
 * one sent behind it would wait as long.
 */
export const LEAVE_LANE = "group-leave";

/** Errors that mean the coordinator moved or is not ready yet. */
export const COORDINATOR_MOVED = new Set<number>([
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
]);

/** What `to` has that `from` has not, and the other way round. */
export function diffAssignment(
  from: Assignment,
  to: Assignment,
): { added: Assignment; removed: Assignment } {
  return { added: minus(to, from), removed: minus(from, to) };
}

function minus(a: Assignment, b: Assignment): Assignment {
  const out: Assignment = new Map();
  for (const [topic, partitions] of a) {
    const other = new Set(b.get(topic) ?? []);
    const left = partitions.filter((p) => !other.has(p));
    if (left.length > 0) out.set(topic, left);
  }
  return out;
}

/** The number of partitions in `assignment`. */
export function countPartitions(assignment: Assignment): number {
  let n = 0;
  for (const partitions of assignment.values()) n += partitions.length;
  return n;
}

/** "t/0,1,2 u/3" */
export function describeAssignment(assignment: Assignment): string {
  if (countPartitions(assignment) === 0) return "no partitions";
  return [...assignment].filter(([, p]) => p.length > 0).map((
    [topic, partitions],
  ) => `${topic}/${partitions.join(",")}`).join(" ");
}

/**
 * Errors that retrying cannot fix: the Reader ends with them. Besides the
 * Kafka codes a member answers by rejoining, this is the policy every layer
 * retries by (`canRetry`): only an error that says it is transient is
 * retried. An error without a `retriable` flag (a ProtocolError from a peer
 * that is no Kafka broker, a TypeError or RangeError from bad settings) is
 * fatal, as it is for a Writer or a partition Reader. A ClosedError is not:
 * the member's own closing is checked before, so it is a connection closed
 * under a request, and the next attempt opens another.
 */
export function isFatal(error: unknown, rejoin: ReadonlySet<number>): boolean {
  if (error instanceof ClosedError) return false;
  if (error instanceof KafkaError) {
    return !error.retriable && !rejoin.has(error.code) &&
      !COORDINATOR_MOVED.has(error.code) &&
      error.code !== ErrorCode.MEMBER_ID_REQUIRED;
  }
  return !canRetry(error);
}

/** Waits for `promise`, but no longer than `ms` (the timer does not outlive it). */
export async function within(
  promise: Promise<unknown>,
  ms: number,
): Promise<void> {
  const stop = new AbortController();
  try {
    await Promise.race([promise, sleep(ms, stop.signal).catch(() => {})]);
  } finally {
    stop.abort();
  }
}

/** Waits `ms`, or until the returned `wake` is called (resolves with its reason). */
export class Pause {
  private wakeUp: ((why: string) => void) | null = null;

  /** Resolves with null after `ms`, or with the reason given to `wake`. */
  wait(ms: number): Promise<string | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = null;
        resolve(null);
      }, ms);
      this.wakeUp = (why) => {
        this.wakeUp = null;
        clearTimeout(timer);
        resolve(why);
      };
    });
  }

  /** Ends the current wait early; false when nobody waits. */
  wake(why: string): boolean {
    const wakeUp = this.wakeUp;
    wakeUp?.(why);
    return wakeUp !== null;
  }
}
