/**
 * The fetch engine's loops: routing each partition to its leader broker,
 * and one fetch loop per broker.
 *
 * **Routing.** Each assigned partition is routed to its leader broker from
 * the cluster's metadata, and each broker has one fetch loop on a connection
 * (a lane) of its own per engine, since a Fetch long-polls. A loop sends ONE
 * Fetch at a time, carrying every partition routed to it that is not paused,
 * those that got records last time at the end: the broker fills a response
 * in request order, so each partition gets its turn at the front.
 * Partitions whose offset is FirstOffset or LastOffset are resolved first,
 * with one ListOffsets request per broker for all of them. A partition
 * assigned, resumed or sought while its loop long-polls cuts that Fetch
 * short, so that it joins at once.
 *
 * **Failures.** A failed request (a broken connection, a timeout, a broker
 * going away) or a partition's retriable error (NOT_LEADER_OR_FOLLOWER,
 * FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, UNKNOWN_TOPIC_OR_PARTITION, ...)
 * is reported to `errorLogger`; the partitions concerned drop their cached
 * metadata and are routed again after a backoff (`readBackoffMin` doubling
 * to `readBackoffMax`), to wherever their leader now is, until they fail
 * `maxAttempts` times in a row (by default never). What retrying cannot
 * fix stops the engine.
 *
 * @module
 */

import type { PartitionInfo, TopicInfo } from "../cluster/cluster.ts";
import { backoff, canRetry } from "../cluster/retry.ts";
import type { BrokerConnection } from "../connection/connection.ts";
import {
  ClosedError,
  messageOf,
  TimeoutError,
  untilAborted,
} from "../connection/errors.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { FirstOffset } from "../requests/list_offsets.ts";
import { FetchRequests } from "./fetch_requests.ts";
import {
  BrokerLoop,
  describePartitions,
  type EngineHub,
  isServerFault,
  isTimeout,
  Notifier,
  type PartitionState,
} from "./fetch_state.ts";

/** The router and the broker loops of one engine. */
export class BrokerLoops {
  private readonly hub: EngineHub;
  readonly requests: FetchRequests;
  private readonly loops = new Map<number, BrokerLoop>();
  /** Assigned partitions with no leader yet. */
  private readonly unrouted = new Set<PartitionState>();
  private readonly router = new Notifier();
  private routing: Promise<void> | null = null;

  constructor(hub: EngineHub) {
    this.hub = hub;
    this.requests = new FetchRequests(hub);
  }

  /** Routes newly assigned partitions; the router starts on first use. */
  add(ps: readonly PartitionState[]): void {
    for (const p of ps) this.unrouted.add(p);
    this.routing ??= this.routeLoop();
    this.router.notify();
  }

  /** Takes a revoked partition off its loop, or out of routing. */
  remove(p: PartitionState): void {
    p.loop?.members.delete(p);
    p.loop = null;
    this.unrouted.delete(p);
  }

  /** Bytes of the responses every loop holds. */
  heldBytes(): number {
    let bytes = 0;
    for (const loop of this.loops.values()) bytes += loop.heldBytes;
    return bytes;
  }

  /**
   * A partition joined the loop, or was resumed or sought: the next Fetch
   * must carry it. A Fetch already in flight (maybe a long poll that would
   * keep it waiting for maxWait) is cut short, with its connection, since
   * the broker answers a connection's requests in order.
   */
  poke(loop: BrokerLoop): void {
    loop.stale = true;
    if (loop.fetching && loop.round !== null) {
      this.hub.counters.interrupts++;
      loop.round.abort(
        new DOMException("The fetch was interrupted", "AbortError"),
      );
      this.dropConnection(loop);
    }
    loop.signal.notify();
  }

  /** Ends the fetches in flight and wakes the loops and the router, which then end. */
  stop(): void {
    this.unrouted.clear();
    for (const loop of this.loops.values()) {
      loop.round?.abort(new ClosedError("The fetch engine stopped"));
      if (loop.fetching) this.dropConnection(loop);
      // They find the engine stopped and drop their records.
      loop.startChecks();
      loop.signal.notify();
    }
    this.router.notify();
  }

  /** Waits for the router and the loops to end, then closes their connections. */
  async shutdown(): Promise<void> {
    const loops = [...this.loops.values()];
    await Promise.all([
      this.routing,
      ...loops.map((loop) => loop.running),
      ...loops.map((loop) => loop.checks),
    ]);
    for (const loop of loops) this.dropConnection(loop);
    this.hub.cluster.closeLane(this.hub.lane);
  }

  // ---- routing ----

  /** Routes partitions to their leaders' loops; retries after backoff. */
  private async routeLoop(): Promise<void> {
    // Let the caller finish assigning first.
    await null;
    while (this.hub.active()) {
      if (this.unrouted.size === 0) {
        await this.router.wait();
        continue;
      }
      const now = Date.now();
      const due: PartitionState[] = [];
      let next = Infinity;
      for (const p of this.unrouted) {
        if (p.retryAt <= now) due.push(p);
        else next = Math.min(next, p.retryAt);
      }
      if (due.length === 0) {
        await this.router.waitFor(next - now);
        continue;
      }
      try {
        await this.route(due);
      } catch (error) {
        this.hub.failWith(error);
      }
    }
  }

  /** Looks up the leaders of `due`, a metadata lookup per topic, and routes them. */
  private async route(due: PartitionState[]): Promise<void> {
    const byTopic = new Map<string, PartitionState[]>();
    for (const p of due) {
      const list = byTopic.get(p.topic);
      if (list === undefined) byTopic.set(p.topic, [p]);
      else list.push(p);
    }
    type Lookup = {
      topic: string;
      ps: PartitionState[];
      meta?: TopicInfo;
      error?: unknown;
    };
    const found = await Promise.all(
      [...byTopic].map(async ([topic, ps]): Promise<Lookup> => {
        try {
          return { topic, ps, meta: await this.requests.metadata(topic, ps) };
        } catch (error) {
          return { topic, ps, error };
        }
      }),
    );
    if (!this.hub.active()) return;
    // Every lookup is in: route them all at once, so that a loop's first
    // Fetch carries all its partitions.
    const touched = new Set<BrokerLoop>();
    for (const { topic, ps, meta, error } of found) {
      const waiting = ps.filter((p) => this.unrouted.has(p));
      if (meta === undefined) {
        this.retryLater(waiting, error, "Metadata");
        continue;
      }
      const missing: PartitionState[] = [];
      const leaderless: PartitionState[] = [];
      for (const p of waiting) {
        const info = meta.partitions.find((i) => i.id === p.partition);
        if (info === undefined) missing.push(p);
        else if (info.leader < 0) leaderless.push(p);
        else {
          if (recreated(p.topicId, meta.topicId)) {
            // The offsets read so far are the old topic's: kept, they would
            // skip the new topic's first records, or pass for a truncated
            // log. Nothing of the new topic was read: read it all.
            this.hub.counters.errors++;
            this.hub.logError(
              `kafka reader: ${
                describePartitions([p])
              }: the topic was deleted and created again (its id changed from ${p.topicId} to ${meta.topicId}); reading the new topic from its first offset`,
            );
            this.hub.moveTo(p, FirstOffset);
          }
          p.topicId = meta.topicId;
          p.leaderEpoch = info.leaderEpoch;
          p.leaderId = info.leader;
          this.unrouted.delete(p);
          const loop = this.loopFor(readFrom(p));
          p.loop = loop;
          loop.members.add(p);
          if (!p.paused) touched.add(loop);
        }
      }
      if (!this.hub.active()) return;
      if (missing.length > 0) {
        this.retryLater(
          missing,
          this.requests.unknownPartition(meta, missing[0].partition),
          "Metadata",
        );
      }
      if (leaderless.length > 0) {
        this.retryLater(
          leaderless,
          new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, {
            apiName: "Metadata",
            topic,
          }),
          "Metadata",
        );
      }
    }
    for (const loop of touched) this.poke(loop);
  }

  /** The broker's fetch loop, started on first use. */
  private loopFor(id: number): BrokerLoop {
    let loop = this.loops.get(id);
    if (loop === undefined) {
      loop = new BrokerLoop(id);
      this.loops.set(id, loop);
      loop.running = this.runLoop(loop);
    }
    return loop;
  }

  /**
   * The partition's leader named another replica to read from, or its
   * time there is up: routed again at once, without a failure.
   */
  reroute(p: PartitionState): void {
    if (p.loop === null) return;
    this.hub.log(
      p.readReplica >= 0
        ? `kafka reader: reading ${
          describePartitions([p])
        } from broker ${p.readReplica}, the replica its leader ${p.leaderId} named for rack ${this.hub.options.rack}`
        : `kafka reader: reading ${
          describePartitions([p])
        } from its leader again`,
    );
    this.unroute(p);
  }

  /** Takes a partition off its loop until the router finds its leader again. */
  private unroute(p: PartitionState): void {
    p.loop?.members.delete(p);
    p.loop = null;
    this.unrouted.add(p);
    this.router.notify();
  }

  /** Closes the loop's connection; the next round dials a new one. */
  private dropConnection(loop: BrokerLoop): void {
    loop.conn?.close();
    loop.conn = null;
  }

  // ---- the fetch loops ----

  /** Fetches until closed or failed; never rejects. */
  private async runLoop(loop: BrokerLoop): Promise<void> {
    // Let the router finish routing first.
    await null;
    while (this.hub.active()) {
      try {
        await this.round(loop);
      } catch (error) {
        this.hub.failWith(error);
      }
    }
  }

  /** One ListOffsets (when needed) and one Fetch for the loop's partitions. */
  private async round(loop: BrokerLoop): Promise<void> {
    const hub = this.hub;
    loop.stale = false;
    if (!hub.handOut.hasRoom(loop)) {
      loop.startChecks();
      await hub.handOut.waitForRoom(loop);
      return;
    }
    const batch = this.collect(loop);
    if (batch.length === 0) {
      loop.startChecks();
      await loop.signal.wait();
      return;
    }
    // One controller for the loop's rounds, until one is cut short.
    if (loop.round === null || loop.round.signal.aborted) {
      loop.round = new AbortController();
    }
    const round = loop.round;
    const assigned = (p: PartitionState) =>
      p.loop === loop && hub.byKey.get(p.key) === p;
    try {
      const conn = await this.connect(loop, batch[0], round.signal);
      if (conn === null || loop.stale) return;
      // Only leaders answer a consumer's ListOffsets: a partition sought
      // to FirstOffset or LastOffset on a follower goes back to its leader.
      for (const p of batch) {
        if (p.fetchOffset < 0 && p.readReplica === loop.id) {
          p.readReplica = -1;
          this.reroute(p);
        }
      }
      const unresolved = batch.filter((p) => p.fetchOffset < 0 && assigned(p));
      if (unresolved.length > 0) {
        const failed = await this.requests.resolveOffsets(
          conn,
          unresolved,
          round.signal,
        );
        for (const [error, ps] of failed.groups) {
          this.retryLater(ps, error, "ListOffsets");
        }
        // Partitions may have come and gone meanwhile: collect again (the
        // offsets found are kept).
        if (loop.stale) return;
      }
      const ready = batch.filter((p) =>
        p.fetchOffset >= 0 && !p.paused && assigned(p)
      );
      if (ready.length === 0 || !hub.active()) return;
      const failed = await this.requests.fetch(
        loop,
        conn,
        ready,
        round.signal,
      );
      for (const [error, ps] of failed.groups) {
        this.retryLater(ps, error, "Fetch");
      }
      for (const p of failed.moved) this.reroute(p);
    } catch (error) {
      loop.startChecks();
      // Closed, failed or interrupted: not a failure of the request.
      if (!hub.active() || round.signal.aborted) return;
      if (error instanceof TimeoutError) {
        // The broker may still hold the long poll, and would answer the
        // next Fetch on this connection only after it.
        this.dropConnection(loop);
      }
      this.retryLater(batch.filter(assigned), error, "Fetch", loop.id);
    }
  }

  /**
   * The loop's partitions for the next Fetch, not paused, in the loop's
   * order (those that got records last go to its end), with those whose
   * batch did not fit last time first.
   */
  private collect(loop: BrokerLoop): PartitionState[] {
    const first: PartitionState[] = [];
    const rest: PartitionState[] = [];
    for (const p of loop.members) {
      if (p.paused || p.inFlight) continue;
      if (p.first) {
        p.first = false;
        first.push(p);
      } else {
        rest.push(p);
      }
    }
    return first.length === 0 ? rest : first.concat(rest);
  }

  /**
   * The loop's connection, through the leader of its first partition (or
   * straight to the broker, when the partition is read from a follower).
   */
  private async connect(
    loop: BrokerLoop,
    first: PartitionState,
    signal: AbortSignal,
  ): Promise<BrokerConnection | null> {
    const hub = this.hub;
    const follower = first.readReplica === loop.id;
    const pending: Promise<
      { conn: BrokerConnection; info: PartitionInfo | null }
    > = follower
      ? hub.cluster.connection(loop.id, hub.lane).then((conn) => ({
        conn,
        info: null,
      }))
      : hub.cluster.leader(first.topic, first.partition, hub.lane);
    // A dial that ends after close must not leave its connection open.
    pending.then(({ conn }) => {
      if (hub.closed()) conn.close();
    }, ignore);
    const { conn, info } = await untilAborted(pending, signal, "Leader lookup");
    if (info !== null && info.leader !== loop.id) {
      // The metadata moved on since routing: route it again.
      this.unroute(first);
      return null;
    }
    if (conn !== loop.conn) {
      loop.conn = conn;
      hub.counters.dials++;
    }
    return conn;
  }

  // ---- failures ----

  /**
   * Partitions that failed `what` with `error`: routed again after their
   * backoff, from fresh metadata. An error retrying cannot fix, or the
   * `maxAttempts`-th failure in a row, stops the engine instead.
   */
  private retryLater(
    ps: PartitionState[],
    error: unknown,
    what: string,
    broker?: number,
  ): void {
    const hub = this.hub;
    if (!hub.active()) return;
    let failures = 0;
    for (const p of ps) {
      failures = Math.max(failures, ++p.failures);
      // Whatever failed, the leader is asked next, and names a replica
      // again if one is still right.
      p.readReplica = -1;
    }
    const { maxAttempts, readBackoffMin, readBackoffMax } = hub.limits;
    if (
      !(canRetry(error) || isServerFault(error)) || failures >= maxAttempts
    ) {
      if (isTimeout(error)) hub.counters.timeouts++;
      hub.failWith(error);
      return;
    }
    hub.counters.errors++;
    if (isTimeout(error)) hub.counters.timeouts++;
    if (ps.length === 0) return;
    const of = maxAttempts === Infinity ? "" : ` of ${maxAttempts}`;
    const from = broker === undefined ? "" : ` (broker ${broker})`;
    hub.logError(
      `kafka reader: ${what} of ${
        describePartitions(ps)
      }, attempt ${failures}${of} failed, retrying: ${messageOf(error)}${from}`,
    );
    // One wait for all of them, so that they are retried together.
    const retryAt = Date.now() + backoff(failures, {
      backoffMin: readBackoffMin,
      backoffMax: readBackoffMax,
    });
    const topics = new Set<string>();
    for (const p of ps) {
      p.retryAt = retryAt;
      topics.add(p.topic);
      this.unroute(p);
    }
    // A moved leader, a fenced epoch and a broken connection all call for
    // fresh metadata; the cluster replaces closed connections by itself.
    for (const topic of topics) hub.cluster.invalidate(topic);
  }
}

function ignore(): void {}

/**
 * The broker to fetch `p` from: a follower its leader named, or the
 * leader. (A follower's time is checked on its answers, so that one just
 * named is asked at least once, however short `metadataMaxAge` is.)
 */
function readFrom(p: PartitionState): number {
  return p.readReplica >= 0 ? p.readReplica : p.leaderId;
}

/** Kafka's id for "no id" (a broker without topic ids), as metadata gives it. */
const NO_TOPIC_ID = "AAAAAAAAAAAAAAAAAAAAAA";

/**
 * Whether a partition routed before under topic id `was` now has topic id
 * `now`: the topic was deleted and created again under its name.
 */
export function recreated(was: string, now: string): boolean {
  return was !== "" && now !== "" && was !== NO_TOPIC_ID &&
    now !== NO_TOPIC_ID && was !== now;
}
