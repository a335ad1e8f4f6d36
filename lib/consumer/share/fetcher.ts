/**
 * The fetching side of a ShareReader: each partition assigned routed to
 * its leader, and per leader a share session with one loop that sends one
 * request at a time (ShareFetch, or ShareAcknowledge when it has only
 * acknowledgements to send), since the session's epoch must follow on
 * exactly. While the consumer works through one response, the next is
 * fetched; no more until it is handed out. Only records inside the ranges
 * the broker says this member acquired are queued; offsets acquired with no
 * record there (transaction markers, compacted records) are acknowledged
 * as gaps.
 *
 * A broken connection or a retriable error routes the broker's partitions
 * again after a backoff; the session is opened anew, and the
 * acknowledgements that waited for it are lost (their records come back
 * when their locks run out). What retrying cannot fix fails the engine.
 *
 * @module
 */

import { decompressWith } from "../../../codecs/mod.ts";
import type { Cluster } from "../../cluster/cluster.ts";
import { backoff, canRetry } from "../../cluster/retry.ts";
import type { BrokerConnection } from "../../connection/connection.ts";
import {
  ClosedError,
  messageOf,
  UnsupportedVersionError,
} from "../../connection/errors.ts";
import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import { ShareAcknowledge } from "../../protocol/messages/share_acknowledge.ts";
import {
  ShareFetch,
  type ShareFetchResponsePartitionData,
} from "../../protocol/messages/share_fetch.ts";
import { readRecordTables } from "../../protocol/read_records.ts";
import { FetchedMessage } from "../../requests/fetched.ts";
import { isServerFault, Notifier } from "../fetch_state.ts";
import { type AckBatch, AckType, countOffsets } from "./acks.ts";
import {
  SHARE_DEFAULTS,
  type ShareMessage,
  type ShareReaderOptions,
} from "./options.ts";
import { SESSION_LOST, type SharePartition, ShareSession } from "./session.ts";

/** A fetched record of a share group. */
export class AcquiredMessage extends FetchedMessage implements ShareMessage {
  deliveryCount: number;

  constructor(
    table: ConstructorParameters<typeof FetchedMessage>[0],
    index: number,
    from: ConstructorParameters<typeof FetchedMessage>[2],
    copy: boolean,
    deliveryCount: number,
  ) {
    super(table, index, from, copy);
    this.deliveryCount = deliveryCount;
  }
}

/** Where a message handed out came from: its acknowledgement goes there. */
export interface Origin {
  p: SharePartition;
  session: ShareSession;
  /** The session's incarnation when it was fetched. */
  incarnation: number;
  /**
   * When the request that acquired it was sent (Date.now()), or when it
   * was last renewed: its lock runs from a little later.
   */
  fetchedAt: number;
  /** When it was first acquired, if it was renewed since (else `fetchedAt`). */
  acquiredAt?: number | undefined;
}

/** A response's messages not handed out yet. */
export interface Held {
  left: number;
  /** When the locks of its records run out (Date.now() time), 0 if unknown. */
  lockedUntil: number;
}

/** What the fetcher needs of the engine it fetches for. */
export interface FetchHub {
  readonly cluster: Cluster;
  readonly options: ShareReaderOptions;
  /** Every partition assigned, or with acknowledgements still to send. */
  readonly partitions: ReadonlyMap<string, SharePartition>;
  readonly memberId: string;
  /** Whether the engine still reads (neither closed nor failed). */
  open(): boolean;
  /** Ends the engine with what retrying cannot fix. */
  fail(error: Error): void;
  /** Queues an acknowledgement for the session that acquired the record. */
  addAck(origin: Origin, offset: number, type: number, last?: number): void;
  /** Reports acknowledgements lost with their session. */
  droppedAcks(p: SharePartition, count: number, why: string): void;
  /** Queues one partition's acquired messages of a response. */
  queue(origin: Origin, messages: AcquiredMessage[], held: Held): void;
  /** A response was taken in. */
  responded(): void;
  /**
   * False while the consumer left records unread until their locks ran
   * out: no more is fetched until it asks for the next message.
   */
  wantsMore(): boolean;
  logError(message: string): void;
}

let fetchers = 0;

/** Routing, share sessions and their loops for one ShareReader. */
export class ShareFetcher {
  private readonly hub: FetchHub;
  private readonly lane = `share-${++fetchers}`;
  private readonly maxRecords: number;
  /** acquireMode "record_limit": at most maxRecords acquired at a time. */
  private readonly recordLimit: boolean;
  private readonly requestTimeout: number;
  /** The partitions by "topicId:partition", as responses name them. */
  private readonly byId = new Map<string, SharePartition>();
  private readonly sessions = new Map<number, ShareSession>();
  private readonly unrouted = new Set<SharePartition>();
  private readonly router = new Notifier();
  private routing: Promise<void> | null = null;
  /** Set once closing began: loops finish their request and stop. */
  private stopping = false;
  /** The sessions' closing, once started (see closeSessions). */
  private closing: Promise<void> | undefined;
  /** The acquisition lock the brokers last reported, in milliseconds. */
  lockTimeout = -1;
  readonly counters = {
    messages: 0,
    fetches: 0,
    acknowledged: 0,
    acknowledgeFailures: 0,
    gaps: 0,
    corrupt: 0,
    renewed: 0,
    expired: 0,
  };

  constructor(hub: FetchHub, requestTimeout: number) {
    this.hub = hub;
    this.maxRecords = hub.options.maxRecords ?? SHARE_DEFAULTS.maxRecords;
    this.recordLimit = hub.options.acquireMode === "record_limit";
    this.requestTimeout = requestTimeout;
  }

  private active(): boolean {
    return this.hub.open() && !this.stopping;
  }

  // ---- routing ----

  /** Routes `p` (assigned, maybe again) to its leader's session. */
  route(p: SharePartition): void {
    if (p.session === null) this.unrouted.add(p);
    this.routing ??= this.routeLoop();
    this.router.notify();
  }

  /**
   * Takes `p` (taken away) off its session: the next request forgets it,
   * and carries what waits to be acknowledged of it.
   */
  remove(p: SharePartition): void {
    this.unrouted.delete(p);
    p.session?.members.delete(p);
    p.session?.signal.notify();
    p.session = null;
  }

  /**
   * Sends the acknowledgements that wait, at once; each promise resolves
   * with the failures of one session's request that carried them. A
   * session whose acknowledgements already went out is waited for too,
   * until the request carrying them is answered.
   */
  flush(): Promise<Error[]>[] {
    const waits: Promise<Error[]>[] = [];
    for (const s of this.sessions.values()) {
      if (s.acksInFlight) waits.push(s.afterRequest(s.ackRequest));
      if (s.withAcks(this.hub.partitions.values()).length > 0) {
        s.flushNow = true;
        waits.push(s.afterRequest());
        s.signal.notify();
      }
    }
    return waits;
  }

  private async routeLoop(): Promise<void> {
    while (this.active()) {
      if (this.unrouted.size === 0) {
        await this.router.wait();
        continue;
      }
      const now = Date.now();
      const due = [...this.unrouted].filter((p) => p.retryAt <= now);
      if (due.length === 0) {
        const next = Math.min(...[...this.unrouted].map((p) => p.retryAt));
        await this.router.waitFor(next - now);
        continue;
      }
      for (const topic of new Set(due.map((p) => p.topic))) {
        const ps = due.filter((p) => p.topic === topic);
        try {
          const meta = await this.hub.cluster.topic(topic);
          if (!this.active()) return;
          for (const p of ps) {
            if (!this.unrouted.has(p)) continue;
            const info = meta.partitions.find((i) => i.id === p.partition);
            if (info === undefined || info.leader < 0) {
              this.hub.cluster.invalidate(topic);
              this.retryLater(
                p,
                new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, {
                  topic,
                  partition: p.partition,
                }),
              );
              continue;
            }
            this.unrouted.delete(p);
            if (p.topicId !== meta.topicId) {
              this.byId.delete(`${p.topicId}:${p.partition}`);
              p.topicId = meta.topicId;
            }
            this.byId.set(`${p.topicId}:${p.partition}`, p);
            const s = this.sessionFor(info.leader);
            p.session = s;
            s.members.add(p);
            s.signal.notify();
          }
        } catch (error) {
          if (!this.active()) return;
          if (!canRetry(error)) return this.hub.fail(error as Error);
          for (const p of ps) this.retryLater(p, error);
        }
      }
    }
  }

  private retryLater(p: SharePartition, error: unknown): void {
    p.failures++;
    p.retryAt = Date.now() + this.backoff(p.failures);
    this.unrouted.add(p);
    this.hub.logError(
      `${p.topic}/${p.partition}: ${
        messageOf(error)
      }; routing again, attempt ${p.failures}`,
    );
    this.router.notify();
  }

  /** Takes `p` off its session, to be routed again after a backoff. */
  private unroute(p: SharePartition, error: unknown): void {
    p.session?.members.delete(p);
    p.session = null;
    if (p.assigned && this.active()) {
      this.hub.cluster.invalidate(p.topic);
      this.retryLater(p, error);
    }
  }

  private backoff(failures: number): number {
    return backoff(failures, {
      backoffMin: this.hub.options.readBackoffMin ??
        SHARE_DEFAULTS.readBackoffMin,
      backoffMax: this.hub.options.readBackoffMax ??
        SHARE_DEFAULTS.readBackoffMax,
    });
  }

  private sessionFor(nodeId: number): ShareSession {
    let s = this.sessions.get(nodeId);
    if (s === undefined) {
      s = new ShareSession(nodeId);
      this.sessions.set(nodeId, s);
      s.running = this.runSession(s);
    }
    return s;
  }

  // ---- the session loops ----

  /** One request at a time to the broker, until closing; never rejects. */
  private async runSession(s: ShareSession): Promise<void> {
    await null;
    let failures = 0;
    let lingerUntil = 0;
    const linger = this.hub.options.acknowledgeLinger ??
      SHARE_DEFAULTS.acknowledgeLinger;
    while (this.active()) {
      // The pool closes a connection idle for `idleTimeout` (this session
      // had no partitions that long): the session on the broker went with
      // it, and the next request goes on a new connection.
      if (s.conn !== null && s.conn.isClosed) {
        if (s.epoch > 0) {
          this.lose(
            s,
            new Error(`its connection to broker ${s.nodeId} closed`),
          );
        }
        s.conn = null;
      }
      // One response in the hands of the consumer, the next on its way;
      // under "record_limit", the next only once the last is handed out
      // and the consumer asks for more (`wantsMore`).
      const fetch = s.members.size > 0 &&
        s.responses <= (this.recordLimit ? 0 : 1) && this.hub.wantsMore();
      const acking = s.epoch > 0
        ? s.withAcks(this.hub.partitions.values())
        : [];
      const forget = s.epoch > 0 &&
        [...s.inSession.values()].some((p) => !s.members.has(p));
      // Renewals go at once, in a ShareAcknowledge: a ShareFetch carrying
      // them may fetch nothing (KIP-1222).
      const renewing = acking.some((p) => p.acks.renewals > 0);
      if (!renewing && !fetch && !forget) {
        if (acking.length === 0) {
          lingerUntil = 0;
          // A commit waits for a request that has nothing left to carry
          // (its acknowledgements moved with a partition, or were dropped
          // with a lost session, and reported as such): none will go, so
          // it learns now rather than never. No request is in flight here.
          s.flushNow = false;
          if (s.awaited) s.settleAll([]);
          await s.signal.wait();
          continue;
        }
        if (!s.flushNow) {
          const now = Date.now();
          if (lingerUntil === 0) lingerUntil = now + linger;
          if (now < lingerUntil) {
            await s.signal.waitFor(lingerUntil - now);
            continue;
          }
        }
      }
      lingerUntil = 0;
      s.flushNow = false;
      const n = ++s.started;
      if (acking.length > 0) s.ackRequest = n;
      try {
        s.conn ??= await this.hub.cluster.connection(s.nodeId, this.lane);
        const errors = (fetch || forget) && !renewing
          ? await this.shareFetch(s, s.conn, acking, fetch)
          : await this.shareAcknowledge(s, s.conn, acking);
        s.settle(n, errors);
        failures = 0;
      } catch (error) {
        s.settle(n, [error as Error]);
        if (!this.active()) break;
        // The policy of every fetch: only an error that says it is
        // transient is retried; one without a say (a peer that is no Kafka
        // broker, bad settings) fails the reader at once. A broker's own
        // unexpected failure is retried too, on a new session (Kafka 4.4
        // fails a request whose acknowledgements name a deleted topic).
        if (!canRetry(error) && !isServerFault(error)) {
          this.hub.fail(error as Error);
          break;
        }
        failures++;
        this.hub.logError(
          `share fetch from broker ${s.nodeId} failed, attempt ${failures}: ${
            messageOf(error)
          }`,
        );
        this.lose(s, error);
        // The wait ends early only for closing, which notifies the loop
        // (other notices, new acknowledgements, must not cut it short).
        const until = Date.now() + this.backoff(failures);
        while (this.active() && Date.now() < until) {
          await s.signal.waitFor(until - Date.now());
        }
      }
    }
    // Closing sends what waits in a last ShareAcknowledge, whose answer
    // settles a commit() waiting meanwhile (closeEachSession).
    if (!this.stopping) {
      s.settleAll([new ClosedError("The ShareReader is closed")]);
    }
  }

  /**
   * The session is gone with its connection: acknowledgements that waited
   * for it are lost, and its partitions are routed again.
   */
  private lose(s: ShareSession, error: unknown): void {
    s.conn?.close();
    s.conn = null;
    s.reset();
    for (const p of this.hub.partitions.values()) {
      if (p.acksFor === s && p.acks.size > 0) {
        const lost = p.acks.take();
        this.hub.droppedAcks(
          p,
          countOffsets(lost),
          "its share session was lost",
        );
      }
    }
    s.settleAll([
      new KafkaError(ErrorCode.SHARE_SESSION_NOT_FOUND, {
        detail: `acknowledgements for broker ${s.nodeId} were lost: ${
          messageOf(error)
        }`,
      }),
    ]);
    for (const p of [...s.members]) this.unroute(p, error);
  }

  /** One ShareFetch; returns the acknowledgement failures it reports. */
  private async shareFetch(
    s: ShareSession,
    conn: BrokerConnection,
    acking: SharePartition[],
    fetch: boolean,
  ): Promise<Error[]> {
    const epoch = s.epoch;
    if (this.recordLimit) checkRecordLimit(conn);
    const parts = s.fetchParts(acking);
    this.counters.fetches++;
    const sentAt = Date.now();
    const response = await conn.request(ShareFetch, {
      groupId: this.hub.options.groupId,
      memberId: this.hub.memberId,
      shareSessionEpoch: epoch,
      maxWaitMs: fetch ? this.hub.options.maxWait ?? SHARE_DEFAULTS.maxWait : 0,
      minBytes: 1,
      maxBytes: this.hub.options.maxBytes ?? SHARE_DEFAULTS.maxBytes,
      // Only forgetting partitions: acquire nothing.
      maxRecords: fetch ? this.maxRecords : 0,
      batchSize: this.maxRecords,
      shareAcquireMode: this.recordLimit ? 1 : 0,
      isRenewAck: false,
      topics: parts.topics,
      forgottenTopicsData: parts.forgottenTopicsData,
    }, {
      timeout: this.requestTimeout +
        (this.hub.options.maxWait ?? SHARE_DEFAULTS.maxWait),
    });
    const lost = this.refused(s, "ShareFetch", response);
    if (lost !== null) return lost;
    const errors: Error[] = [];
    if (response.acquisitionLockTimeoutMs > 0) {
      this.lockTimeout = response.acquisitionLockTimeoutMs;
    }
    const origin = {
      session: s,
      incarnation: s.incarnation,
      fetchedAt: sentAt,
    };
    const lock = response.acquisitionLockTimeoutMs;
    const held: Held = { left: 0, lockedUntil: lock > 0 ? sentAt + lock : 0 };
    for (const t of response.responses) {
      for (const data of t.partitions) {
        const p = this.byId.get(`${t.topicId}:${data.partitionIndex}`);
        if (p === undefined) continue;
        const acked = parts.acked.get(p);
        if (acked !== undefined) {
          const error = this.acksAnswered(
            p,
            acked,
            data.acknowledgeErrorCode,
            data.acknowledgeErrorMessage,
          );
          if (error !== null) errors.push(error);
        }
        if (data.errorCode !== 0) {
          const error = new KafkaError(data.errorCode, {
            apiName: "ShareFetch",
            topic: p.topic,
            partition: p.partition,
            detail: data.errorMessage ?? undefined,
          });
          if (!error.retriable) throw error;
          if (p.session === s) this.unroute(p, error);
          continue;
        }
        if (data.acquiredRecords.length > 0 && data.records !== null) {
          await this.absorb({ ...origin, p }, data, conn.address, held);
        }
      }
    }
    this.hub.responded();
    return errors;
  }

  /**
   * A response's top-level error: the session lost (it is dropped, and
   * the error returned as the request's failure), or thrown; null when
   * none, and the session's epoch moves on.
   */
  private refused(
    s: ShareSession,
    apiName: string,
    response: { errorCode: number; errorMessage: string | null },
  ): Error[] | null {
    if (response.errorCode === 0) {
      s.advance();
      return null;
    }
    const error = new KafkaError(response.errorCode, {
      apiName,
      detail: `${response.errorMessage ?? ""} (broker ${s.nodeId})`,
    });
    if (!SESSION_LOST.has(response.errorCode)) throw error;
    this.lose(s, error);
    return [error];
  }

  /** One ShareAcknowledge; returns the failures it reports. */
  private async shareAcknowledge(
    s: ShareSession,
    conn: BrokerConnection,
    acking: SharePartition[],
    epoch = s.epoch,
  ): Promise<Error[]> {
    const renewals = acking.some((p) => p.acks.renewals > 0);
    const parts = s.acknowledgeParts(acking);
    const response = await conn.request(ShareAcknowledge, {
      groupId: this.hub.options.groupId,
      memberId: this.hub.memberId,
      shareSessionEpoch: epoch,
      isRenewAck: renewals,
      topics: parts.topics,
    }, { timeout: this.requestTimeout });
    const lost = this.refused(s, "ShareAcknowledge", response);
    if (lost !== null) return lost;
    if (response.acquisitionLockTimeoutMs > 0) {
      this.lockTimeout = response.acquisitionLockTimeoutMs;
    }
    const errors: Error[] = [];
    for (const t of response.responses) {
      for (const data of t.partitions) {
        const p = this.byId.get(`${t.topicId}:${data.partitionIndex}`);
        const acked = p === undefined ? undefined : parts.acked.get(p);
        if (acked === undefined) continue;
        const error = this.acksAnswered(
          p!,
          acked,
          data.errorCode,
          data.errorMessage,
        );
        if (error !== null) errors.push(error);
      }
    }
    return errors;
  }

  /** Counts a partition's acknowledgements answered; the error if refused. */
  private acksAnswered(
    p: SharePartition,
    acked: readonly AckBatch[],
    code: number,
    detail: string | null,
  ): Error | null {
    const count = countOffsets(acked);
    if (code === 0) {
      let renewed = 0;
      for (const b of acked) {
        if (b.acknowledgeTypes[0] === AckType.renew) {
          renewed += b.lastOffset - b.firstOffset + 1;
        }
      }
      this.counters.renewed += renewed;
      this.counters.acknowledged += count - renewed;
      return null;
    }
    this.counters.acknowledgeFailures += count;
    const error = new KafkaError(code, {
      apiName: "ShareAcknowledge",
      topic: p.topic,
      partition: p.partition,
      detail: `${count} acknowledgements refused${detail ? `: ${detail}` : ""}`,
    });
    this.hub.logError(error.message);
    return error;
  }

  /**
   * Checks a partition's records and queues those this member acquired;
   * acquired offsets without a record are acknowledged as gaps.
   */
  private async absorb(
    origin: Origin,
    data: ShareFetchResponsePartitionData,
    address: string,
    held: Held,
  ): Promise<void> {
    const p = origin.p;
    const ranges = [...data.acquiredRecords].sort((a, b) =>
      a.firstOffset - b.firstOffset
    );
    // A batch that fails its CRC is rejected, as Java's share consumer
    // does: every member would fail on it until the delivery limit
    // archived it. One that cannot be decompressed (the fault may be this
    // machine's) fails the reader, as it fails a Reader; the records go
    // back to the group when its sessions close.
    const corrupt: [number, number][] = [];
    const found = await readRecordTables(data.records!, {
      fromOffset: ranges[0].firstOffset,
      decompress: decompressWith,
      where: `${p.topic}/${p.partition} from ${address}`,
      checkCrc: this.hub.options.checkCrcs,
      onCorrupt: (batch, error) => {
        // The header failed its CRC too: a negative delta means none.
        const last = batch.baseOffset +
          (batch.magic === 2 ? Math.max(0, batch.lastOffsetDelta) : 0);
        corrupt.push([batch.baseOffset, last]);
        this.hub.logError(
          `${error.message}: rejecting what this member acquired of offsets ${batch.baseOffset}..${last}, so that no member is handed it (a Reader can still read them at those offsets)`,
        );
      },
    }).catch((error) => {
      throw Object.assign(error as Error, { retriable: false });
    });
    const from = { topic: p.topic, partition: p.partition, highWaterMark: -1 };
    const copy = this.hub.options.copyValues === true;
    const messages: AcquiredMessage[] = [];
    let r = 0;
    let expected = ranges[0].firstOffset;
    const gap = (first: number, last: number) => {
      for (const [badFirst, badLast] of corrupt) {
        if (badLast < first || badFirst > last) continue;
        if (badFirst > first) {
          this.counters.gaps += badFirst - first;
          this.hub.addAck(origin, first, AckType.gap, badFirst - 1);
        }
        const end = Math.min(last, badLast);
        const start = Math.max(first, badFirst);
        this.counters.corrupt += end - start + 1;
        this.hub.addAck(origin, start, AckType.reject, end);
        first = end + 1;
        if (first > last) return;
      }
      this.counters.gaps += last - first + 1;
      this.hub.addAck(origin, first, AckType.gap, last);
    };
    const endRange = () => {
      if (expected <= ranges[r].lastOffset) gap(expected, ranges[r].lastOffset);
      r++;
      if (r < ranges.length) expected = ranges[r].firstOffset;
    };
    for (const table of found.tables) {
      for (let i = 0; i < table.count && r < ranges.length; i++) {
        const offset = table.offset(i);
        while (r < ranges.length && ranges[r].lastOffset < offset) endRange();
        if (r === ranges.length || offset < ranges[r].firstOffset) continue;
        if (offset > expected) gap(expected, offset - 1);
        messages.push(
          new AcquiredMessage(table, i, from, copy, ranges[r].deliveryCount),
        );
        expected = offset + 1;
      }
    }
    while (r < ranges.length) endRange();
    if (messages.length === 0) return;
    if (!p.assigned || p.session !== origin.session || !this.active()) {
      // Taken away meanwhile: back to the group.
      for (const m of messages) {
        this.hub.addAck(origin, m.offset, AckType.release);
      }
      return;
    }
    this.counters.messages += messages.length;
    // Counted before the consumer can take any (it may, between two
    // partitions of the response).
    if (held.left === 0) origin.session.responses++;
    held.left += messages.length;
    this.hub.queue(origin, messages, held);
  }

  /**
   * Ends each session with a last ShareAcknowledge (epoch -1) carrying
   * what waits, once its loop finished its request; the broker releases
   * what the member still holds there. Called again (a revocation while
   * closing, then the close itself), it waits for the first call: each
   * session is closed, and a failure logged, once.
   */
  closeSessions(): Promise<void> {
    this.closing ??= this.closeEachSession();
    return this.closing;
  }

  private async closeEachSession(): Promise<void> {
    this.stopping = true;
    this.router.notify();
    for (const s of this.sessions.values()) s.signal.notify();
    await Promise.all([...this.sessions.values()].map((s) => s.running));
    await Promise.all([...this.sessions.values()].map(async (s) => {
      if (s.epoch <= 0 || s.conn === null) {
        s.settleAll([new ClosedError("The ShareReader is closed")]);
        return;
      }
      const acking = s.withAcks(this.hub.partitions.values());
      let errors: Error[];
      try {
        errors = await this.shareAcknowledge(s, s.conn, acking, -1);
      } catch (error) {
        errors = [error as Error];
        this.hub.logError(
          `closing the share session with broker ${s.nodeId} failed: ${
            messageOf(error)
          }`,
        );
      }
      s.epoch = -1;
      // A commit() waiting for acknowledgements learns how they went.
      s.settleAll(errors);
    }));
  }

  /** Wakes every session loop (the consumer wants more again). */
  wake(): void {
    for (const s of this.sessions.values()) s.signal.notify();
  }

  /** Waits for the router, then closes the sessions' connections. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    this.router.notify();
    await this.routing;
    for (const s of this.sessions.values()) {
      // Waiters closeEachSession did not settle (it did not run) learn it.
      s.settleAll([new ClosedError("The ShareReader is closed")]);
      s.conn?.close();
    }
    this.hub.cluster.closeLane(this.lane);
  }
}

/**
 * Acquiring at most maxRecords (KIP-1206) takes ShareFetch v2: a broker
 * without it would acquire whole batches, silently.
 */
function checkRecordLimit(conn: BrokerConnection): void {
  const version = conn.pickVersion(ShareFetch);
  if (version >= 2) return;
  throw new UnsupportedVersionError(
    `Broker ${conn.address} cannot limit what a ShareFetch acquires: acquireMode "record_limit" needs ShareFetch v2 (Kafka 4.2 or later), and the broker serves up to v${version}. Upgrade the broker, or use acquireMode "batch_optimized"`,
  );
}
