/**
 * One member of a consumer group under the classic protocol: it joins
 * (JoinGroup, SyncGroup), computes the assignment when it leads, keeps its
 * membership with heartbeats on a timer of its own, and leaves.
 *
 * The protocol is eager: on every rebalance the member gives up all its
 * partitions before it joins again. The owner (the group Reader) hears of
 * each step through hooks it awaits: `assigned` once a generation starts,
 * `revoked` before the member rejoins (it stops fetching and commits what it
 * consumed, still in the old generation), and `lost` when the generation is
 * gone already (its commits would be refused, so none are made).
 *
 * Heartbeats never wait for the application: however long a message takes
 * to handle, the member answers the coordinator on time.
 *
 * @module
 */

import type { Cluster } from "../../cluster/cluster.ts";
import { backoff, sleep } from "../../cluster/retry.ts";
import type { BrokerConnection } from "../../connection/connection.ts";
import { ClosedError, messageOf } from "../../connection/errors.ts";
import { ByteReader, ByteWriter } from "../../protocol/bytes.ts";
import { ErrorCode, KafkaError, throwIfError } from "../../protocol/errors.ts";
import {
  decodeConsumerProtocolAssignment,
  encodeConsumerProtocolAssignment,
} from "../../protocol/messages/consumer_protocol_assignment.ts";
import {
  decodeConsumerProtocolSubscription,
  encodeConsumerProtocolSubscription,
} from "../../protocol/messages/consumer_protocol_subscription.ts";
import { Heartbeat } from "../../protocol/messages/heartbeat.ts";
import {
  JoinGroup,
  type JoinGroupResponse,
} from "../../protocol/messages/join_group.ts";
import { LeaveGroup } from "../../protocol/messages/leave_group.ts";
import { SyncGroup } from "../../protocol/messages/sync_group.ts";
import type {
  GroupBalancer,
  GroupMember as BalancedMember,
  GroupPartition,
} from "./balancers.ts";

/** Partitions by topic, as a generation assigns them. */
export type Assignment = Map<string, number[]>;

/** What commits must carry to be accepted in a generation. */
export interface Generation {
  generationId: number;
  memberId: string;
}

/** How the group Reader follows the member. */
export interface MemberHooks {
  /** A generation starts with these partitions. */
  assigned(assignment: Assignment, generation: Generation): Promise<void>;
  /** The member rejoins: stop fetching these, commit what was consumed. */
  revoked(assignment: Assignment, generation: Generation): Promise<void>;
  /** The generation is over already: drop these without committing. */
  lost(assignment: Assignment, error: Error): Promise<void>;
  /** Retrying cannot fix this: the Reader ends with it. */
  failed(error: Error): void;
}

/** The member's settings, in kafka-go's ReaderConfig names. */
export interface MemberSettings {
  cluster: Cluster;
  groupId: string;
  topics: readonly string[];
  balancers: readonly GroupBalancer[];
  /** Milliseconds between heartbeats. */
  heartbeatInterval: number;
  /** Milliseconds without a heartbeat before the coordinator drops the member. */
  sessionTimeout: number;
  /** Milliseconds the coordinator waits for members to rejoin. */
  rebalanceTimeout: number;
  /** Milliseconds between attempts to join after a failure. */
  joinGroupBackoff: number;
  /** Whether a change in the topics' partition counts triggers a rebalance. */
  watchPartitionChanges: boolean;
  /** Milliseconds between checks of the partition counts. */
  partitionWatchInterval: number;
  /** Milliseconds a request other than JoinGroup may take. */
  requestTimeout: number;
  logger?: (message: string) => void;
  errorLogger?: (message: string) => void;
  hooks: MemberHooks;
}

/** Why a generation ended. */
type Ending =
  | { kind: "rebalance"; why: string }
  | { kind: "lost"; error: Error }
  | { kind: "closed" };

/** The version our subscription and assignment data are written in. */
const DATA_VERSION = 1;

/** The coordinator's lane: group requests never wait behind a Fetch. */
const LANE = "group";

/** Errors after which the member joins again from scratch. */
const REJOIN = new Set<number>([
  ErrorCode.UNKNOWN_MEMBER_ID,
  ErrorCode.ILLEGAL_GENERATION,
  ErrorCode.REBALANCE_IN_PROGRESS,
  ErrorCode.FENCED_INSTANCE_ID,
]);

/** Errors that mean the coordinator moved or is not ready yet. */
const COORDINATOR_MOVED = new Set<number>([
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
]);

/** One member of a classic consumer group. */
export class GroupMember {
  private readonly settings: MemberSettings;
  private readonly closing = new AbortController();
  private memberId = "";
  private generation: Generation | null = null;
  private assignment: Assignment = new Map();
  /** Resolves the wait between heartbeats early: a rejoin was asked for. */
  private wake: ((why: string) => void) | null = null;
  private rejoinWhy: string | null = null;
  private running: Promise<void> | null = null;
  private closed = false;
  /** Partition counts of the subscribed topics when the generation began. */
  private partitionCounts = new Map<string, number>();

  constructor(settings: MemberSettings) {
    this.settings = settings;
  }

  /** The generation commits must carry, or null between generations. */
  get current(): Generation | null {
    return this.generation;
  }

  /** Starts joining; the hooks tell what follows. */
  start(): void {
    this.running ??= this.run().catch((error) =>
      this.settings.hooks.failed(error as Error)
    );
  }

  /**
   * Asks for a rebalance: the member gives up its partitions and joins
   * again (after a commit was refused because the group moved on, say).
   */
  rejoin(why: string): void {
    this.rejoinWhy ??= why;
    const wake = this.wake;
    this.wake = null;
    wake?.(why);
  }

  /**
   * Leaves the group (LeaveGroup) so the others rebalance at once, after
   * `revoked` ran. Resolves within about `timeout` ms however the
   * coordinator behaves.
   */
  async close(timeout: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort(new ClosedError("The Reader is closed"));
    this.rejoin("closing");
    const running = this.running ?? Promise.resolve();
    const deadline = Date.now() + timeout;
    await within(running, timeout);
    const memberId = this.memberId;
    if (memberId !== "") {
      await within(this.leave(memberId), Math.max(1, deadline - Date.now()))
        .catch((error) =>
          this.logError(`LeaveGroup failed: ${messageOf(error)}`)
        );
    }
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      let ending: Ending;
      try {
        await this.join();
        failures = 0;
        const generation = this.generation!;
        await this.settings.hooks.assigned(this.assignment, generation);
        ending = await this.keepAlive();
      } catch (error) {
        if (this.closed) break;
        if (isFatal(error)) {
          this.settings.hooks.failed(error as Error);
          return;
        }
        failures++;
        this.logError(
          `joining group ${this.settings.groupId} failed, attempt ${failures}: ${
            messageOf(error)
          }`,
        );
        await this.endGeneration({ kind: "lost", error: error as Error });
        await sleep(
          Math.min(
            this.settings.joinGroupBackoff,
            backoff(failures, {
              backoffMin: 100,
              backoffMax: this.settings.joinGroupBackoff,
            }),
          ),
          this.closing.signal,
        ).catch(() => {});
        continue;
      }
      await this.endGeneration(ending);
    }
  }

  /** Tells the owner the generation ended, and forgets it. */
  private async endGeneration(ending: Ending): Promise<void> {
    const generation = this.generation;
    const assignment = this.assignment;
    this.assignment = new Map();
    if (generation === null) return;
    try {
      if (ending.kind === "lost") {
        this.generation = null;
        await this.settings.hooks.lost(assignment, ending.error);
      } else {
        // Still in the old generation: its commits are accepted.
        if (ending.kind === "rebalance") {
          this.log(
            `group ${this.settings.groupId} rebalances (${ending.why}); giving up ${
              describeAssignment(assignment)
            }`,
          );
        }
        await this.settings.hooks.revoked(assignment, generation);
        this.generation = null;
      }
    } catch (error) {
      this.generation = null;
      this.logError(`rebalance callback failed: ${messageOf(error)}`);
    }
  }

  // ---- joining ----

  private async join(): Promise<void> {
    const { groupId } = this.settings;
    this.rejoinWhy = null;
    while (true) {
      if (this.closed) throw new ClosedError("The Reader is closed");
      const conn = await this.coordinator();
      const joined = await this.guard(conn.request(
        JoinGroup,
        {
          groupId,
          sessionTimeoutMs: this.settings.sessionTimeout,
          rebalanceTimeoutMs: this.settings.rebalanceTimeout,
          memberId: this.memberId,
          groupInstanceId: null,
          protocolType: "consumer",
          protocols: this.settings.balancers.map((b) => ({
            name: b.protocolName,
            metadata: this.subscription(b),
          })),
          reason: null,
        },
        this.within(
          this.settings.rebalanceTimeout + this.settings.requestTimeout,
        ),
      ));
      if (joined.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
        // KIP-394: join again at once with the id the coordinator gave.
        this.memberId = joined.memberId;
        continue;
      }
      if (await this.retryable(joined.errorCode)) continue;
      throwIfError(joined.errorCode, { apiName: "JoinGroup" });
      this.memberId = joined.memberId;
      const generation = {
        generationId: joined.generationId,
        memberId: joined.memberId,
      };
      const leader = joined.leader === joined.memberId;
      const assignments = leader ? await this.assign(joined) : [];
      const synced = await this.guard(conn.request(
        SyncGroup,
        {
          groupId,
          generationId: generation.generationId,
          memberId: generation.memberId,
          groupInstanceId: null,
          protocolType: "consumer",
          protocolName: joined.protocolName,
          assignments,
        },
        this.within(
          this.settings.rebalanceTimeout + this.settings.requestTimeout,
        ),
      ));
      if (await this.retryable(synced.errorCode)) continue;
      throwIfError(synced.errorCode, { apiName: "SyncGroup" });
      this.generation = generation;
      this.assignment = this.readAssignment(synced.assignment);
      await this.notePartitionCounts();
      this.log(
        `joined group ${groupId}, generation ${generation.generationId}${
          leader ? " as leader" : ""
        }, member ${generation.memberId}: ${
          describeAssignment(this.assignment)
        }`,
      );
      return;
    }
  }

  /**
   * Handles the errors after which joining starts over; true when it
   * should. The coordinator moving is retried after a short backoff.
   */
  private async retryable(code: number): Promise<boolean> {
    if (code === 0) return false;
    if (code === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = "";
    if (COORDINATOR_MOVED.has(code)) {
      this.settings.cluster.invalidateCoordinator(this.settings.groupId);
      await sleep(200, this.closing.signal);
      return true;
    }
    return REJOIN.has(code) && code !== ErrorCode.FENCED_INSTANCE_ID;
  }

  /** Our subscription, as `balancer`'s protocol metadata. */
  private subscription(balancer: GroupBalancer): Uint8Array {
    const w = new ByteWriter(64);
    w.int16(DATA_VERSION);
    encodeConsumerProtocolSubscription(w, DATA_VERSION, {
      topics: [...this.settings.topics],
      userData: balancer.userData?.(this.settings.topics) ?? null,
      ownedPartitions: [],
    });
    return w.finish();
  }

  /** The leader's work: every member's partitions, by the chosen balancer. */
  private async assign(
    joined: JoinGroupResponse,
  ): Promise<{ memberId: string; assignment: Uint8Array }[]> {
    const balancer = this.settings.balancers.find((b) =>
      b.protocolName === joined.protocolName
    );
    if (!balancer) {
      throw new KafkaError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, {
        apiName: "JoinGroup",
        detail:
          `the group chose protocol "${joined.protocolName}", which this member does not offer`,
      });
    }
    const members: BalancedMember[] = joined.members.map((m) => {
      const r = new ByteReader(m.metadata);
      const version = r.int16();
      const subscription = decodeConsumerProtocolSubscription(r, version);
      return {
        id: m.memberId,
        topics: subscription.topics,
        userData: subscription.userData,
      };
    });
    const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
    const partitions: GroupPartition[] = [];
    for (const topic of topics) {
      try {
        const info = await this.settings.cluster.topic(topic, { maxAge: 0 });
        for (const p of info.partitions) {
          partitions.push({
            topic,
            partition: p.id,
            leader: p.leader,
            leaderRack: this.settings.cluster.rackOf(p.leader),
          });
        }
      } catch (error) {
        // A topic that does not exist yet gets no partitions this time.
        this.logError(
          `no metadata for subscribed topic ${topic}: ${messageOf(error)}`,
        );
      }
    }
    const assigned = balancer.assign(members, partitions);
    return members.map((m) => {
      const byTopic = assigned.get(m.id) ?? new Map<string, number[]>();
      const w = new ByteWriter(64);
      w.int16(DATA_VERSION);
      encodeConsumerProtocolAssignment(w, DATA_VERSION, {
        assignedPartitions: [...byTopic].map(([topic, partitions]) => ({
          topic,
          partitions,
        })),
        userData: null,
      });
      return { memberId: m.id, assignment: w.finish() };
    });
  }

  /** Our partitions out of SyncGroup's answer, limited to our topics. */
  private readAssignment(bytes: Uint8Array): Assignment {
    const assignment: Assignment = new Map();
    if (bytes.length === 0) return assignment;
    const r = new ByteReader(bytes);
    const version = r.int16();
    const data = decodeConsumerProtocolAssignment(r, version);
    for (const { topic, partitions } of data.assignedPartitions) {
      if (!this.settings.topics.includes(topic)) continue;
      const list = assignment.get(topic) ?? [];
      list.push(...partitions);
      assignment.set(topic, list.sort((a, b) => a - b));
    }
    return assignment;
  }

  // ---- keeping the membership ----

  /**
   * Heartbeats until the generation ends. A heartbeat that cannot reach the
   * coordinator is retried until the session timeout has passed since the
   * last one that got through; then the membership is taken as lost.
   */
  private async keepAlive(): Promise<Ending> {
    const { heartbeatInterval, sessionTimeout } = this.settings;
    let lastBeat = Date.now();
    let lastWatch = Date.now();
    while (true) {
      if (this.closed) return { kind: "closed" };
      if (this.rejoinWhy !== null) {
        return { kind: "rebalance", why: this.rejoinWhy };
      }
      const woken = await this.pause(heartbeatInterval);
      if (this.closed) return { kind: "closed" };
      if (woken !== null) return { kind: "rebalance", why: woken };
      if (
        this.settings.watchPartitionChanges &&
        Date.now() - lastWatch >= this.settings.partitionWatchInterval
      ) {
        lastWatch = Date.now();
        const changed = await this.partitionsChanged();
        if (changed) return { kind: "rebalance", why: changed };
      }
      const code = await this.heartbeat().catch((error) => {
        this.logError(`heartbeat failed: ${messageOf(error)}`);
        return -1;
      });
      if (code === 0) {
        lastBeat = Date.now();
        continue;
      }
      if (code === ErrorCode.REBALANCE_IN_PROGRESS) {
        return { kind: "rebalance", why: "the coordinator started one" };
      }
      if (REJOIN.has(code)) {
        if (code === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = "";
        return {
          kind: "lost",
          error: new KafkaError(code, { apiName: "Heartbeat" }),
        };
      }
      if (COORDINATOR_MOVED.has(code)) {
        this.settings.cluster.invalidateCoordinator(this.settings.groupId);
      } else if (code > 0) {
        const error = new KafkaError(code, { apiName: "Heartbeat" });
        if (!error.retriable) throw error;
      }
      if (Date.now() - lastBeat > sessionTimeout) {
        return {
          kind: "lost",
          error: new KafkaError(ErrorCode.UNKNOWN_MEMBER_ID, {
            apiName: "Heartbeat",
            detail: `no heartbeat got through for ${sessionTimeout} ms`,
          }),
        };
      }
    }
  }

  /** Waits `ms`, or until a rejoin is asked for (resolves with why). */
  private pause(ms: number): Promise<string | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve(null);
      }, ms);
      this.wake = (why) => {
        clearTimeout(timer);
        resolve(why);
      };
    });
  }

  private async heartbeat(): Promise<number> {
    const generation = this.generation!;
    const conn = await this.coordinator();
    const response = await this.guard(conn.request(Heartbeat, {
      groupId: this.settings.groupId,
      generationId: generation.generationId,
      memberId: generation.memberId,
      groupInstanceId: null,
    }, {
      timeout: Math.min(
        this.settings.requestTimeout,
        this.settings.sessionTimeout,
      ),
    }));
    return response.errorCode;
  }

  private async notePartitionCounts(): Promise<void> {
    if (!this.settings.watchPartitionChanges) return;
    this.partitionCounts = await this.countPartitions();
  }

  private async countPartitions(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const topic of this.settings.topics) {
      try {
        const info = await this.settings.cluster.topic(topic, { maxAge: 0 });
        counts.set(topic, info.partitions.length);
      } catch {
        counts.set(topic, 0);
      }
    }
    return counts;
  }

  /** What changed in the partition counts since the generation began, if anything. */
  private async partitionsChanged(): Promise<string | null> {
    const now = await this.countPartitions();
    for (const [topic, count] of now) {
      const before = this.partitionCounts.get(topic) ?? 0;
      if (count !== before) {
        return `topic ${topic} has ${count} partitions, ${before} before`;
      }
    }
    return null;
  }

  // ---- leaving ----

  private async leave(memberId: string): Promise<void> {
    const conn = await this.coordinator();
    const response = await conn.request(LeaveGroup, {
      groupId: this.settings.groupId,
      memberId,
      members: [{
        memberId,
        groupInstanceId: null,
        reason: "the Reader closed",
      }],
    }, { timeout: this.settings.requestTimeout });
    throwIfError(response.errorCode, { apiName: "LeaveGroup" });
    this.memberId = "";
    this.log(`left group ${this.settings.groupId}`);
  }

  // ---- plumbing ----

  private coordinator(): Promise<BrokerConnection> {
    return this.settings.cluster.coordinator(this.settings.groupId, LANE);
  }

  /** Awaits a group request; a failed connection sends us to look up the coordinator again. */
  private async guard<T>(request: Promise<T>): Promise<T> {
    try {
      return await request;
    } catch (error) {
      if (!isFatal(error)) {
        this.settings.cluster.invalidateCoordinator(this.settings.groupId);
      }
      throw error;
    }
  }

  /** Options of a group request that may take `timeout` ms. */
  private within(timeout: number) {
    return { timeout, signal: this.closing.signal };
  }

  private log(message: string): void {
    this.settings.logger?.(`kafka reader: ${message}`);
  }

  private logError(message: string): void {
    this.settings.errorLogger?.(`kafka reader: ${message}`);
  }
}

/** Errors that retrying cannot fix: the Reader ends with them. */
function isFatal(error: unknown): boolean {
  if (error instanceof ClosedError) return false;
  if (error instanceof KafkaError) {
    return !error.retriable && !REJOIN.has(error.code) &&
      !COORDINATOR_MOVED.has(error.code) &&
      error.code !== ErrorCode.MEMBER_ID_REQUIRED;
  }
  return (error as { retriable?: unknown })?.retriable === false;
}

/** Waits for `promise`, but no longer than `ms` (the timer does not outlive it). */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  const stop = new AbortController();
  try {
    await Promise.race([promise, sleep(ms, stop.signal).catch(() => {})]);
  } finally {
    stop.abort();
  }
}

/** "t/0,1,2 u/3" */
export function describeAssignment(assignment: Assignment): string {
  if (assignment.size === 0) return "no partitions";
  return [...assignment].map(([topic, partitions]) =>
    `${topic}/${partitions.join(",")}`
  ).join(" ");
}
