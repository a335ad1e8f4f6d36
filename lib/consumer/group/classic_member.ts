/**
 * One member of a consumer group under the classic protocol: it joins
 * (JoinGroup, SyncGroup), computes the assignment when it leads, keeps its
 * membership with heartbeats on a timer of its own, and leaves.
 *
 * Eager (the default balancers): on every rebalance the member gives up all
 * its partitions before it joins again. Cooperative (KIP-429, when every
 * balancer offered is cooperative, such as cooperative-sticky): the member
 * keeps reading through the rebalance, tells the leader what it owns, and
 * gives up only the partitions the new assignment moves away; the leader
 * holds those back until a second rebalance, which the members that gave
 * some up start at once.
 *
 * Subscribed by pattern (`matcher`), the member lists the cluster's topics
 * before it joins and every `partitionWatchInterval`, subscribes to those
 * that match, and rejoins when they or their partition counts change.
 *
 * Static membership (KIP-345, `groupInstanceId`): the member does not leave
 * when it closes, so when it comes back within the session timeout the
 * coordinator hands it its partitions again without a rebalance.
 *
 * Heartbeats never wait for the application: however long a message takes
 * to handle, the member answers the coordinator on time.
 *
 * @module
 */

import type { Cluster } from "../../cluster/cluster.ts";
import { backoff, sleep } from "../../cluster/retry.ts";
import type { BrokerConnection } from "../../connection/connection.ts";
import {
  ClosedError,
  messageOf,
  TimeoutError,
} from "../../connection/errors.ts";
import { ErrorCode, KafkaError, throwIfError } from "../../protocol/errors.ts";
import { Heartbeat } from "../../protocol/messages/heartbeat.ts";
import { JoinGroup } from "../../protocol/messages/join_group.ts";
import { LeaveGroup } from "../../protocol/messages/leave_group.ts";
import { SyncGroup } from "../../protocol/messages/sync_group.ts";
import type { GroupBalancer } from "./balancers.ts";
import {
  decodeAssignment,
  encodeSubscription,
  leaderAssignments,
} from "./consumer_data.ts";
import {
  type Assignment,
  COORDINATOR_MOVED,
  describeAssignment,
  diffAssignment,
  type Generation,
  GROUP_LANE,
  isFatal,
  LEAVE_LANE,
  type MemberHooks,
  type Membership,
  type MembershipInfo,
  Pause,
  within,
} from "./membership.ts";

/** The classic member's settings, in kafka-go's ReaderConfig names. */
export interface ClassicSettings {
  cluster: Cluster;
  groupId: string;
  /** The topics subscribed to by name; empty with `matcher`. */
  topics: readonly string[];
  /** A subscription by pattern: what a topic's whole name must match. */
  matcher: RegExp | null;
  balancers: readonly GroupBalancer[];
  /** The static member's instance id (KIP-345), or null. */
  groupInstanceId: string | null;
  /** The member's rack, sent in its subscription (v3), or null. */
  rack: string | null;
  /** Milliseconds between heartbeats. */
  heartbeatInterval: number;
  /** Milliseconds without a heartbeat before the coordinator drops the member. */
  sessionTimeout: number;
  /** Milliseconds the coordinator waits for members to rejoin. */
  rebalanceTimeout: number;
  /** Milliseconds between attempts to join after a failure. */
  joinGroupBackoff: number;
  /**
   * Whether a change in the topics' partition counts triggers a rebalance
   * (always so with `matcher`).
   */
  watchPartitionChanges: boolean;
  /** Milliseconds between checks of the partition counts (and matches). */
  partitionWatchInterval: number;
  /** Milliseconds a request other than JoinGroup may take. */
  requestTimeout: number;
  logger?: ((message: string) => void) | undefined;
  errorLogger?: ((message: string) => void) | undefined;
  hooks: MemberHooks;
}

/** Why a generation ended. */
type Ending =
  | { kind: "rebalance"; why: string }
  | { kind: "lost"; error: Error }
  | { kind: "closed" };

/** Errors after which the member joins again from scratch. */
const REJOIN = new Set<number>([
  ErrorCode.UNKNOWN_MEMBER_ID,
  ErrorCode.ILLEGAL_GENERATION,
  ErrorCode.REBALANCE_IN_PROGRESS,
]);

/** One member of a classic consumer group. */
export class ClassicMember implements Membership {
  private readonly settings: ClassicSettings;
  private readonly closing = new AbortController();
  /** Cooperative (KIP-429): every balancer offered is. */
  readonly keepsPartitions: boolean;
  private memberId = "";
  private generation: Generation | null = null;
  /** The generation the owned partitions were assigned in, for the leader's stickiness. */
  private ownedGeneration = -1;
  /** The partitions the member owns now. */
  private owned: Assignment = new Map();
  private protocolName: string | null = null;
  /** The last generation joined, for revoking while between two. */
  private lastGeneration: Generation = {
    generationId: -1,
    memberId: "",
    groupInstanceId: null,
  };
  private readonly pause = new Pause();
  private rejoinWhy: string | null = null;
  private running: Promise<void> | null = null;
  private closed = false;
  /** A JoinGroup or SyncGroup is in flight. */
  private joining = false;
  /** The topics subscribed to: by pattern, those that matched last. */
  private topics: readonly string[];
  /**
   * Partition counts of the subscribed topics when the generation began;
   * null when they could not be had (the next check notes them).
   */
  private partitionCounts: Map<string, number> | null = null;
  /** Whether topics were ever matched against the pattern. */
  private matched = false;

  constructor(settings: ClassicSettings) {
    this.settings = settings;
    this.topics = settings.topics;
    this.keepsPartitions = settings.balancers.every((b) =>
      b.rebalanceProtocol === "cooperative"
    );
  }

  get current(): Generation | null {
    return this.generation;
  }

  info(): MembershipInfo {
    return {
      protocol: "classic",
      rebalance: this.keepsPartitions ? "cooperative" : "eager",
      memberId: this.memberId,
      generationId: this.generation?.generationId ?? -1,
      groupInstanceId: this.settings.groupInstanceId,
      assignor: this.protocolName,
    };
  }

  start(): void {
    this.running ??= this.run().catch((error) =>
      this.settings.hooks.failed(error as Error)
    );
  }

  /**
   * Asks for a rebalance: an eager member gives up its partitions and
   * joins again; a cooperative one joins again keeping them.
   */
  rejoin(why: string): void {
    this.rejoinWhy ??= why;
    this.pause.wake(why);
  }

  /**
   * Gives up the partitions (after `revoked` ran) and leaves the group
   * (LeaveGroup) so the others rebalance at once; a static member does not
   * leave, so that it gets its partitions back when it returns within the
   * session timeout. Resolves within about `timeout` ms however the
   * coordinator behaves.
   */
  async close(timeout: number, reason = "the Reader closed"): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A JoinGroup or SyncGroup the coordinator holds (until the others
    // rejoin) keeps its connection from answering anything after it: the
    // LeaveGroup goes over another one.
    const held = this.joining;
    this.closing.abort(new ClosedError("The Reader is closed"));
    this.rejoin("closing");
    const running = this.running ?? Promise.resolve();
    const deadline = Date.now() + timeout;
    await within(running, timeout);
    const memberId = this.memberId;
    if (memberId !== "" && this.settings.groupInstanceId === null) {
      await within(
        this.leave(memberId, held ? LEAVE_LANE : GROUP_LANE, reason),
        Math.max(1, deadline - Date.now()),
      )
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
        this.joining = true;
        const { assignment, generation } = await this.join().finally(() => {
          this.joining = false;
        });
        failures = 0;
        const { added, removed } = diffAssignment(this.owned, assignment);
        if (removed.size > 0) {
          // Cooperative: what moved away is given up now, in the new
          // generation; a second rebalance lets the leader hand it over.
          await this.settings.hooks.revoked(removed, generation);
          this.rejoinWhy ??= `gave up ${describeAssignment(removed)}`;
        }
        this.owned = assignment;
        this.ownedGeneration = generation.generationId;
        await this.settings.hooks.assigned(added, generation);
        ending = await this.keepAlive();
      } catch (error) {
        if (this.closed) break;
        if (isFatal(error, REJOIN)) {
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
    if (this.owned.size > 0) await this.endGeneration({ kind: "closed" });
  }

  /**
   * Tells the owner what a generation's end means for its partitions: all
   * lost, all revoked (eager, or closing), or none yet (cooperative: they
   * are kept while the member rejoins).
   */
  private async endGeneration(ending: Ending): Promise<void> {
    const generation = this.generation;
    const owned = this.owned;
    if (ending.kind === "rebalance") {
      this.log(
        `group ${this.settings.groupId} rebalances (${ending.why})${
          this.keepsPartitions ? "" : `; giving up ${describeAssignment(owned)}`
        }`,
      );
      if (this.keepsPartitions) return;
    }
    this.owned = new Map();
    this.ownedGeneration = -1;
    if (owned.size === 0 && generation === null) return;
    try {
      if (ending.kind === "lost") {
        this.generation = null;
        await this.settings.hooks.lost(owned, ending.error);
      } else {
        // Still in the old generation: its commits are accepted. (Between
        // JoinGroup and SyncGroup there is none, and nothing is committed.)
        await this.settings.hooks.revoked(
          owned,
          generation ?? this.lastGeneration,
        );
        this.generation = null;
      }
    } catch (error) {
      this.generation = null;
      this.logError(`rebalance callback failed: ${messageOf(error)}`);
    }
  }

  // ---- joining ----

  private async join(): Promise<
    { assignment: Assignment; generation: Generation }
  > {
    const { groupId, groupInstanceId } = this.settings;
    const reason = this.rejoinWhy;
    this.rejoinWhy = null;
    if (this.settings.matcher !== null) {
      // Subscribe to what matches now (the counts come with it); if the
      // cluster cannot say, to what matched last.
      try {
        const now = await this.lookUpTopics();
        this.topics = now.topics;
        this.partitionCounts = now.counts;
        this.matched = true;
      } catch (error) {
        if (!this.matched) throw error;
        this.partitionCounts = null;
        this.logError(
          `listing the topics failed, joining with those that matched last: ${
            messageOf(error)
          }`,
        );
      }
    }
    while (true) {
      if (this.closed) throw new ClosedError("The Reader is closed");
      const conn = await this.coordinator();
      // JoinGroup before v5 (Kafka 2.3, KIP-345) has no group.instance.id:
      // the codec would drop it, and the Reader would silently join as a
      // dynamic member (a rebalance on every restart).
      if (groupInstanceId !== null && conn.pickVersion(JoinGroup) < 5) {
        throw new KafkaError(ErrorCode.UNSUPPORTED_VERSION, {
          apiName: "JoinGroup",
          detail: `groupInstanceId (static membership, KIP-345) needs ` +
            `JoinGroup v5, Kafka 2.3 or later; the coordinator at ` +
            `${conn.address} offers JoinGroup up to v${
              conn.pickVersion(JoinGroup)
            }`,
        });
      }
      const joined = await this.guard(conn.request(
        JoinGroup,
        {
          groupId,
          sessionTimeoutMs: this.settings.sessionTimeout,
          rebalanceTimeoutMs: this.settings.rebalanceTimeout,
          memberId: this.memberId,
          groupInstanceId,
          protocolType: "consumer",
          protocols: this.settings.balancers.map((b) => ({
            name: b.protocolName,
            metadata: encodeSubscription(b, {
              topics: this.topics,
              cooperative: this.keepsPartitions,
              owned: this.owned,
              generation: this.ownedGeneration,
              rack: this.settings.rack,
            }),
          })),
          reason,
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
      // The old generation ends here: commits now carry the new one.
      this.generation = null;
      const generation: Generation = {
        generationId: joined.generationId,
        memberId: joined.memberId,
        groupInstanceId,
      };
      const leader = joined.leader === joined.memberId;
      // KIP-814: a static leader that merely came back must not reassign.
      const assignments = leader && !joined.skipAssignment
        ? await leaderAssignments(
          this.settings.cluster,
          this.settings.balancers,
          joined,
          (m) => this.logError(m),
        )
        : [];
      const synced = await this.guard(conn.request(
        SyncGroup,
        {
          groupId,
          generationId: generation.generationId,
          memberId: generation.memberId,
          groupInstanceId,
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
      this.lastGeneration = generation;
      this.protocolName = joined.protocolName;
      const assignment = decodeAssignment(synced.assignment, this.topics);
      if (this.settings.matcher === null) await this.notePartitionCounts();
      this.log(
        `joined group ${groupId}, generation ${generation.generationId}${
          leader ? " as leader" : ""
        }, member ${generation.memberId}: ${describeAssignment(assignment)}`,
      );
      return { assignment, generation };
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
    return REJOIN.has(code);
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
      const woken = await this.pause.wait(heartbeatInterval);
      if (this.closed) return { kind: "closed" };
      if (woken !== null) return { kind: "rebalance", why: woken };
      if (
        (this.settings.watchPartitionChanges ||
          this.settings.matcher !== null) &&
        Date.now() - lastWatch >= this.settings.partitionWatchInterval
      ) {
        lastWatch = Date.now();
        const changed = await this.topicsChanged();
        if (changed) return { kind: "rebalance", why: changed };
      }
      const code = await this.heartbeat().catch((error) => {
        // What retrying cannot fix ends the Reader now, not after the
        // session timeout and a rejoin that fails the same way.
        if (isFatal(error, REJOIN)) throw error;
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

  private async heartbeat(): Promise<number> {
    const generation = this.generation!;
    const conn = await this.coordinator();
    const response = await this.guard(conn.request(Heartbeat, {
      groupId: this.settings.groupId,
      generationId: generation.generationId,
      memberId: generation.memberId,
      groupInstanceId: this.settings.groupInstanceId,
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
    this.partitionCounts = await this.lookUpTopics().then(
      (now) => now.counts,
      () => null,
    );
  }

  /**
   * The topics subscribed to and their partition counts, as the cluster has
   * them now: by pattern, every topic that matches (internal ones never
   * do); by name, each topic's count, 0 for one that does not exist.
   * Throws when the metadata cannot be had.
   */
  private async lookUpTopics(): Promise<
    { topics: readonly string[]; counts: Map<string, number> }
  > {
    const { cluster, matcher } = this.settings;
    const counts = new Map<string, number>();
    if (matcher !== null) {
      for (const t of await cluster.allTopics()) {
        if (!t.internal && matcher.test(t.name)) {
          counts.set(t.name, t.partitions.length);
        }
      }
      return { topics: [...counts.keys()], counts };
    }
    for (const topic of this.topics) {
      try {
        const info = await cluster.topic(topic, { maxAge: 0 });
        counts.set(topic, info.partitions.length);
      } catch (error) {
        const gone = error instanceof KafkaError &&
          error.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        if (!gone) throw error;
        counts.set(topic, 0);
      }
    }
    return { topics: this.topics, counts };
  }

  /**
   * What changed since the generation began, if anything: the topics that
   * match the pattern, or a topic's partition count. A lookup that fails
   * is logged and changes nothing (the next check tries again).
   */
  private async topicsChanged(): Promise<string | null> {
    let now;
    // Checked between heartbeats: a slow lookup must not cost the
    // membership, so it gets a third of the session timeout at most.
    const limit = Math.max(
      1,
      Math.min(
        this.settings.requestTimeout,
        Math.floor(this.settings.sessionTimeout / 3),
      ),
    );
    const stop = new AbortController();
    try {
      const lookup = this.lookUpTopics();
      lookup.catch(() => {}); // a late failure, after the limit, is moot
      const late = sleep(limit, stop.signal).then(() => {
        throw new TimeoutError(`listing the topics took over ${limit} ms`);
      });
      late.catch(() => {}); // aborted below once the lookup answered
      now = await Promise.race([lookup, late]);
    } catch (error) {
      this.logError(`checking the group's topics failed: ${messageOf(error)}`);
      return null;
    } finally {
      stop.abort();
    }
    if (this.settings.matcher !== null) {
      const before = new Set(this.topics);
      const after = new Set(now.topics);
      const added = now.topics.filter((t) => !before.has(t));
      const removed = this.topics.filter((t) => !after.has(t));
      if (added.length > 0 || removed.length > 0) {
        // What the member rejoins with, should the next listing fail.
        this.topics = now.topics;
        this.partitionCounts = now.counts;
        const change = [
          ...added.map((t) => `+${t}`),
          ...removed.map((t) => `-${t}`),
        ];
        return `the topics matching ${this.settings.matcher} changed: ${
          change.join(", ")
        }`;
      }
    }
    if (this.partitionCounts === null) {
      this.partitionCounts = now.counts;
      return null;
    }
    for (const [topic, count] of now.counts) {
      const was = this.partitionCounts.get(topic) ?? 0;
      if (count !== was) {
        return `topic ${topic} has ${count} partitions, ${was} before`;
      }
    }
    return null;
  }

  // ---- leaving ----

  private async leave(
    memberId: string,
    lane: string,
    reason: string,
  ): Promise<void> {
    const conn = await this.coordinator(lane);
    // Before v3 (Kafka 2.4, KIP-345) the sender names itself; from v3 on it
    // lists the members that leave.
    const version = conn.pickVersion(LeaveGroup);
    const response = await conn.request(
      LeaveGroup,
      version < 3 ? { groupId: this.settings.groupId, memberId } : {
        groupId: this.settings.groupId,
        members: [{
          memberId,
          groupInstanceId: null,
          reason,
        }],
      },
      { version, timeout: this.settings.requestTimeout },
    );
    throwIfError(response.errorCode, { apiName: "LeaveGroup" });
    this.memberId = "";
    this.log(`left group ${this.settings.groupId}`);
  }

  // ---- plumbing ----

  /**
   * The coordinator's connection. A lookup made while open ends when the
   * Reader closes (a coordinator nobody reaches would hold close() for the
   * lookup's whole timeout); the LeaveGroup's, made after, does not.
   */
  private coordinator(lane = GROUP_LANE): Promise<BrokerConnection> {
    return this.settings.cluster.coordinator(
      this.settings.groupId,
      lane,
      this.closed ? {} : { signal: this.closing.signal },
    );
  }

  /** Awaits a group request; a failed connection sends us to look up the coordinator again. */
  private async guard<T>(request: Promise<T>): Promise<T> {
    try {
      return await request;
    } catch (error) {
      if (!isFatal(error, REJOIN)) {
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
