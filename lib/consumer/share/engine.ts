/**
 * The source of a ShareReader's stream: a share-group member (KIP-932), a
 * share session and a fetch loop per leader broker, and the records they
 * acquired, handed out one at a time.
 *
 * **Fetching.** Each partition assigned is routed to its leader; that
 * broker's loop sends one request at a time (ShareFetch, or
 * ShareAcknowledge when it has only acknowledgements to send), since the
 * session's epoch must follow on exactly. While the consumer works through
 * one response, the next is fetched; no more until it is handed out. Only records inside the ranges the broker says this member
 * acquired are handed out; offsets acquired with no record there
 * (transaction markers, compacted records) are acknowledged as gaps.
 *
 * **Acknowledging.** Implicitly, a message is accepted when the next one is
 * asked for, or when the `for await` loop that read it ends; explicitly,
 * by `acknowledge`. Acknowledgements go out with the next ShareFetch to the
 * broker that handed the records out, or after `acknowledgeLinger` in a
 * ShareAcknowledge, or at once on `commit`. Records fetched but not handed
 * out when their partition is taken away, and every record not acknowledged
 * when the reader closes, are released: the group hands them out again.
 *
 * **Failures.** A broken connection or a retriable error routes the
 * broker's partitions again after a backoff; the session is opened anew,
 * and the acknowledgements that waited for it are lost (their records come
 * back when their locks run out, with a higher delivery count). What
 * retrying cannot fix ends the stream.
 *
 * @module
 */

import { loadCodec } from "../../../codecs/mod.ts";
import { Cluster } from "../../cluster/cluster.ts";
import { backoff, sleep } from "../../cluster/retry.ts";
import { clusterOptions } from "../../cluster/transport.ts";
import type { BrokerConnection } from "../../connection/connection.ts";
import { ClosedError, messageOf } from "../../connection/errors.ts";
import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import { ShareAcknowledge } from "../../protocol/messages/share_acknowledge.ts";
import {
  ShareFetch,
  type ShareFetchResponsePartitionData,
} from "../../protocol/messages/share_fetch.ts";
import { readRecordTables } from "../../protocol/read_records.ts";
import { FetchedMessage } from "../../requests/fetched.ts";
import type { TopicPartition } from "../../message.ts";
import { Notifier } from "../fetch_state.ts";
import type { Assignment } from "../group/membership.ts";
import { StreamEngine } from "../stream_engine.ts";
import {
  ACK_CODES,
  type AcknowledgeType,
  AckType,
  countOffsets,
} from "./acks.ts";
import { ShareMember } from "./member.ts";
import {
  SHARE_DEFAULTS,
  type ShareMessage,
  type ShareReaderOptions,
} from "./options.ts";
import { SESSION_LOST, SharePartition, ShareSession } from "./session.ts";

/** A fetched record of a share group. */
class AcquiredMessage extends FetchedMessage implements ShareMessage {
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
interface Origin {
  p: SharePartition;
  session: ShareSession;
  /** The session's incarnation when it was fetched. */
  incarnation: number;
  /** When it was fetched (Date.now()): its lock runs from about then. */
  fetchedAt: number;
}

/** Messages of one partition from one response, handed out in order. */
interface Chunk extends Origin {
  messages: AcquiredMessage[];
  at: number;
  response: Held;
}

/** A response's messages not handed out yet. */
interface Held {
  left: number;
}

let engines = 0;

/** The share-group engine behind a ShareReader. */
export class ShareEngine extends StreamEngine {
  readonly cluster: Cluster;
  readonly member: ShareMember;
  private readonly options: ShareReaderOptions;
  private readonly ownsCluster: boolean;
  private readonly explicit: boolean;
  private readonly lane = `share-${++engines}`;
  private readonly maxRecords: number;
  private readonly requestTimeout: number;
  /** Every partition assigned, or with acknowledgements still to send. */
  private readonly partitions = new Map<string, SharePartition>();
  /** The same, by "topicId:partition", as responses name them. */
  private readonly byId = new Map<string, SharePartition>();
  private readonly sessions = new Map<number, ShareSession>();
  private readonly unrouted = new Set<SharePartition>();
  private readonly router = new Notifier();
  private routing: Promise<void> | null = null;
  private readonly chunks: Chunk[] = [];
  /** Handed out, not acknowledged yet. */
  private readonly origins = new Map<ShareMessage, Origin>();
  /** Implicit mode: the message the consumer is processing. */
  private inProcess: ShareMessage | null = null;
  /** Implicit mode: the batch the consumer is processing (`batches()`). */
  private inProcessBatch: ShareMessage[] | null = null;
  /** A pipe acknowledges what its destination took: nothing implicitly. */
  private piping = false;
  private readonly arrived = new Notifier();
  private started = false;
  /** Set once closing began: loops finish their request and stop. */
  private stopping = false;
  /** The acquisition lock the brokers last reported, in milliseconds. */
  lockTimeout = -1;
  readonly counters = {
    messages: 0,
    fetches: 0,
    acknowledged: 0,
    acknowledgeFailures: 0,
    gaps: 0,
  };

  constructor(options: ShareReaderOptions) {
    super();
    this.options = options;
    this.explicit = options.acknowledgements === "explicit";
    this.maxRecords = options.maxRecords ?? SHARE_DEFAULTS.maxRecords;
    this.ownsCluster = options.cluster === undefined;
    this.cluster = options.cluster ??
      new Cluster(clusterOptions(options.brokers, options.transport));
    this.requestTimeout = this.cluster.options.requestTimeout ?? 30_000;
    this.member = new ShareMember({
      cluster: this.cluster,
      groupId: options.groupId,
      topics: [...options.topics],
      rack: options.rack ?? null,
      requestTimeout: this.requestTimeout,
      joinGroupBackoff: options.joinGroupBackoff ??
        SHARE_DEFAULTS.joinGroupBackoff,
      logger: options.logger,
      errorLogger: options.errorLogger,
      hooks: {
        assigned: (added) => Promise.resolve(this.onAssigned(added)),
        revoked: (removed) => this.onRevoked(removed),
        lost: (lost) => this.onRevoked(lost),
        failed: (error) => this.fail(error),
      },
    });
  }

  private active(): boolean {
    return this.state === "open" && !this.stopping;
  }

  /** The partitions this member is assigned now. */
  assignment(): TopicPartition[] {
    const out: TopicPartition[] = [];
    for (const p of this.partitions.values()) {
      if (p.assigned) out.push({ topic: p.topic, partition: p.partition });
    }
    return out;
  }

  // ---- the consumer side ----

  /** The stream's pull: one message, waiting for one when none is ready. */
  pull(): Promise<void> | undefined {
    const message = this.take();
    if (message !== undefined) {
      this.enqueue(message);
      return;
    }
    return this.waitAndPull();
  }

  private async waitAndPull(): Promise<void> {
    if (!this.started) {
      this.started = true;
      this.member.start();
    }
    while (this.state === "open") {
      const message = this.take();
      if (message !== undefined) return this.enqueue(message);
      await this.arrived.wait();
      if (!this.isLocked()) return;
    }
  }

  /** The next message; asking for it accepts the one before (implicit mode). */
  private take(): ShareMessage | undefined {
    this.finishInProcess();
    while (this.chunks.length > 0) {
      const chunk = this.chunks[0];
      if (chunk.at === chunk.messages.length) {
        this.chunks.shift();
        continue;
      }
      const message = chunk.messages[chunk.at++];
      const s = chunk.session;
      if (--chunk.response.left === 0) this.handedOut(s);
      this.origins.set(message, chunk);
      if (!this.explicit && !this.piping) this.inProcess = message;
      return message;
    }
    return undefined;
  }

  /**
   * The rest of `first`'s response for its partition, after it: with it,
   * what `batches()` hands out as one batch.
   */
  takeRest(first: ShareMessage): ShareMessage[] {
    const out = [first];
    const chunk = this.chunks[0];
    if (
      chunk !== undefined && chunk.at > 0 &&
      chunk.messages[chunk.at - 1] === first && chunk.at < chunk.messages.length
    ) {
      for (let i = chunk.at; i < chunk.messages.length; i++) {
        const message = chunk.messages[i];
        this.origins.set(message, chunk);
        out.push(message);
      }
      chunk.response.left -= chunk.messages.length - chunk.at;
      chunk.at = chunk.messages.length;
      if (chunk.response.left === 0) this.handedOut(chunk.session);
    }
    if (this.inProcess === first) {
      this.inProcess = null;
      this.inProcessBatch = out;
    }
    return out;
  }

  /** Implicit mode: the message or batch in process is done with. */
  private finishInProcess(): void {
    if (this.inProcess !== null) {
      const message = this.inProcess;
      this.inProcess = null;
      this.settle(message, AckType.accept);
    } else if (this.inProcessBatch !== null) {
      const batch = this.inProcessBatch;
      this.inProcessBatch = null;
      for (const message of batch) this.settle(message, AckType.accept);
    }
  }

  /** Acknowledges `message` with wire type `type`, unless it was already. */
  private settle(message: ShareMessage, type: number): void {
    const origin = this.origins.get(message);
    if (origin === undefined) return;
    this.origins.delete(message);
    this.addAck(origin, message.offset, type);
  }

  /** A `for await` loop ended: its body finished with the last message. */
  iterationEnded(): void {
    this.finishInProcess();
  }

  /**
   * A pipe acknowledges what it hands over itself (`pipeAcknowledge`) until
   * the returned function is called.
   */
  pipeTakesOver(): () => void {
    this.finishInProcess();
    this.piping = true;
    return () => {
      this.piping = false;
    };
  }

  /** A pipe's destination took these (accept) or failed them (release). */
  pipeAcknowledge(messages: readonly ShareMessage[], taken: boolean): void {
    const type = taken ? AckType.accept : AckType.release;
    for (const message of messages) this.settle(message, type);
  }

  /** Acknowledges a message handed out (see `ShareReader.acknowledge`). */
  acknowledge(message: ShareMessage, type: AcknowledgeType): void {
    this.checkNotClosed("acknowledge");
    const origin = this.origins.get(message);
    if (origin === undefined) {
      const what = message !== null && typeof message === "object"
        ? `${message.topic}/${message.partition} offset ${message.offset}`
        : String(message);
      throw new RangeError(
        `Cannot acknowledge ${what}: this ShareReader did not hand it out, or it was acknowledged already, or its acquisition lock ran out long ago`,
      );
    }
    this.origins.delete(message);
    if (this.inProcess === message) this.inProcess = null;
    this.addAck(origin, message.offset, ACK_CODES[type]);
    // In a batch in process, the others are still accepted at the next read.
  }

  /**
   * Sends the acknowledgements made so far, and resolves once the brokers
   * answered; rejects with their failures (an AggregateError for several).
   */
  async commit(): Promise<void> {
    this.checkOpen("commit");
    this.finishInProcess();
    const waits: Promise<Error[]>[] = [];
    for (const s of this.sessions.values()) {
      if (s.withAcks(this.partitions.values()).length === 0) continue;
      s.flushNow = true;
      waits.push(s.afterNext());
      s.signal.notify();
    }
    const errors = (await Promise.all(waits)).flat();
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) {
      throw new AggregateError(
        errors,
        `Acknowledgements failed: ${errors.map(messageOf).join("; ")}`,
      );
    }
  }

  /** Queues an acknowledgement for the session that acquired the record. */
  private addAck(
    origin: Origin,
    offset: number,
    type: number,
    last = offset,
  ): void {
    const { p, session } = origin;
    if (session.incarnation !== origin.incarnation) {
      this.droppedAcks(p, last - offset + 1, "its share session was lost");
      return;
    }
    if (p.acksFor !== session) {
      if (p.acks.size > 0) {
        this.droppedAcks(p, last - offset + 1, "its leader moved");
        return;
      }
      p.acksFor = session;
    }
    p.acks.add(offset, type, last);
    session.signal.notify();
  }

  private droppedAcks(p: SharePartition, count: number, why: string): void {
    this.counters.acknowledgeFailures += count;
    this.logError(
      `${count} acknowledgements of ${p.topic}/${p.partition} dropped (${why}): their records come back when their locks run out`,
    );
  }

  // ---- the member's hooks ----

  private onAssigned(added: Assignment): void {
    for (const [topic, list] of added) {
      for (const partition of list) {
        const key = `${topic}\0${partition}`;
        let p = this.partitions.get(key);
        if (p === undefined) {
          p = new SharePartition(topic, partition);
          this.partitions.set(key, p);
        }
        p.assigned = true;
        p.failures = 0;
        p.retryAt = 0;
        if (p.session === null) this.unrouted.add(p);
      }
    }
    this.routing ??= this.routeLoop();
    this.router.notify();
  }

  private async onRevoked(removed: Assignment): Promise<void> {
    for (const [topic, list] of removed) {
      for (const partition of list) {
        const p = this.partitions.get(`${topic}\0${partition}`);
        if (p === undefined) continue;
        p.assigned = false;
        this.unrouted.delete(p);
        this.releaseBuffered(p);
        p.session?.members.delete(p);
        p.session?.signal.notify();
        p.session = null;
      }
    }
    if (!this.active()) await this.closeSessions();
  }

  /** Releases what was fetched of `p` (all when null) and not handed out. */
  private releaseBuffered(p: SharePartition | null): void {
    for (let i = this.chunks.length - 1; i >= 0; i--) {
      const chunk = this.chunks[i];
      if (p !== null && chunk.p !== p) continue;
      this.chunks.splice(i, 1);
      const left = chunk.messages.length - chunk.at;
      chunk.response.left -= left;
      if (left > 0 && chunk.response.left === 0) this.handedOut(chunk.session);
      for (let j = chunk.at; j < chunk.messages.length; j++) {
        this.addAck(chunk, chunk.messages[j].offset, AckType.release);
      }
    }
  }

  /**
   * Explicit mode: forgets messages handed out and never acknowledged whose
   * locks ran out a lock's time ago (they went back to the group then), so
   * they do not pile up.
   */
  private forgetExpired(): void {
    if (this.origins.size === 0 || this.lockTimeout <= 0) return;
    const before = Date.now() - 2 * this.lockTimeout;
    for (const [message, origin] of this.origins) {
      if (origin.fetchedAt < before) this.origins.delete(message);
    }
  }

  /** A response of `s` was handed out: the next may be fetched. */
  private handedOut(s: ShareSession): void {
    s.responses--;
    s.signal.notify();
  }

  // ---- routing ----

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
          const meta = await this.cluster.topic(topic);
          if (!this.active()) return;
          for (const p of ps) {
            if (!this.unrouted.has(p)) continue;
            const info = meta.partitions.find((i) => i.id === p.partition);
            if (info === undefined || info.leader < 0) {
              this.cluster.invalidate(topic);
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
          if ((error as { retriable?: unknown })?.retriable === false) {
            return this.fail(error as Error);
          }
          for (const p of ps) this.retryLater(p, error);
        }
      }
    }
  }

  private retryLater(p: SharePartition, error: unknown): void {
    p.failures++;
    p.retryAt = Date.now() + this.backoff(p.failures);
    this.unrouted.add(p);
    this.logError(
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
      this.cluster.invalidate(p.topic);
      this.retryLater(p, error);
    }
  }

  private backoff(failures: number): number {
    return backoff(failures, {
      backoffMin: this.options.readBackoffMin ?? SHARE_DEFAULTS.readBackoffMin,
      backoffMax: this.options.readBackoffMax ?? SHARE_DEFAULTS.readBackoffMax,
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
    const linger = this.options.acknowledgeLinger ??
      SHARE_DEFAULTS.acknowledgeLinger;
    while (this.active()) {
      // One response in the hands of the consumer, the next on its way.
      const fetch = s.members.size > 0 && s.responses <= 1;
      const acking = s.epoch > 0 ? s.withAcks(this.partitions.values()) : [];
      const forget = s.epoch > 0 &&
        [...s.inSession.values()].some((p) => !s.members.has(p));
      if (!fetch && !forget) {
        if (acking.length === 0) {
          lingerUntil = 0;
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
      try {
        s.conn ??= await this.cluster.connection(s.nodeId, this.lane);
        const errors = fetch || forget
          ? await this.shareFetch(s, s.conn, acking, fetch)
          : await this.shareAcknowledge(s, s.conn, acking);
        s.settle(n, errors);
        failures = 0;
      } catch (error) {
        s.settle(n, [error as Error]);
        if (!this.active()) break;
        if ((error as { retriable?: unknown })?.retriable === false) {
          this.fail(error as Error);
          break;
        }
        failures++;
        this.logError(
          `share fetch from broker ${s.nodeId} failed, attempt ${failures}: ${
            messageOf(error)
          }`,
        );
        this.lose(s, error);
        await sleep(this.backoff(failures)).catch(() => {});
      }
    }
    s.settleAll([new ClosedError("The ShareReader is closed")]);
  }

  /**
   * The session is gone with its connection: acknowledgements that waited
   * for it are lost, and its partitions are routed again.
   */
  private lose(s: ShareSession, error: unknown): void {
    s.conn?.close();
    s.conn = null;
    s.reset();
    for (const p of this.partitions.values()) {
      if (p.acksFor === s && p.acks.size > 0) {
        const lost = p.acks.take();
        this.droppedAcks(p, countOffsets(lost), "its share session was lost");
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
    const parts = s.fetchParts(acking);
    this.counters.fetches++;
    const response = await conn.request(ShareFetch, {
      groupId: this.options.groupId,
      memberId: this.member.memberId,
      shareSessionEpoch: epoch,
      maxWaitMs: fetch ? this.options.maxWait ?? SHARE_DEFAULTS.maxWait : 0,
      minBytes: 1,
      maxBytes: this.options.maxBytes ?? SHARE_DEFAULTS.maxBytes,
      maxRecords: this.maxRecords,
      batchSize: this.maxRecords,
      topics: parts.topics,
      forgottenTopicsData: parts.forgottenTopicsData,
    }, {
      timeout: this.requestTimeout +
        (this.options.maxWait ?? SHARE_DEFAULTS.maxWait),
    });
    const errors: Error[] = [];
    if (response.errorCode !== 0) {
      const error = new KafkaError(response.errorCode, {
        apiName: "ShareFetch",
        detail: `${response.errorMessage ?? ""} (broker ${s.nodeId})`,
      });
      if (SESSION_LOST.has(response.errorCode)) {
        this.lose(s, error);
        return [error];
      }
      throw error;
    }
    s.advance();
    if (response.acquisitionLockTimeoutMs > 0) {
      this.lockTimeout = response.acquisitionLockTimeoutMs;
    }
    const origin = {
      session: s,
      incarnation: s.incarnation,
      fetchedAt: Date.now(),
    };
    const held: Held = { left: 0 };
    for (const t of response.responses) {
      for (const data of t.partitions) {
        const p = this.byId.get(`${t.topicId}:${data.partitionIndex}`);
        if (p === undefined) continue;
        if (parts.acked.has(p)) {
          const count = countOffsets(parts.acked.get(p)!);
          if (data.acknowledgeErrorCode !== 0) {
            errors.push(
              this.ackFailed(
                p,
                count,
                data.acknowledgeErrorCode,
                data.acknowledgeErrorMessage,
              ),
            );
          } else this.counters.acknowledged += count;
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
    if (held.left > 0) s.responses++;
    if (this.explicit) this.forgetExpired();
    return errors;
  }

  /** One ShareAcknowledge; returns the failures it reports. */
  private async shareAcknowledge(
    s: ShareSession,
    conn: BrokerConnection,
    acking: SharePartition[],
    epoch = s.epoch,
  ): Promise<Error[]> {
    const parts = s.acknowledgeParts(acking);
    const response = await conn.request(ShareAcknowledge, {
      groupId: this.options.groupId,
      memberId: this.member.memberId,
      shareSessionEpoch: epoch,
      topics: parts.topics,
    }, { timeout: this.requestTimeout });
    if (response.errorCode !== 0) {
      const error = new KafkaError(response.errorCode, {
        apiName: "ShareAcknowledge",
        detail: `${response.errorMessage ?? ""} (broker ${s.nodeId})`,
      });
      if (SESSION_LOST.has(response.errorCode)) {
        this.lose(s, error);
        return [error];
      }
      throw error;
    }
    s.advance();
    const errors: Error[] = [];
    for (const t of response.responses) {
      for (const data of t.partitions) {
        const p = this.byId.get(`${t.topicId}:${data.partitionIndex}`);
        const acked = p === undefined ? undefined : parts.acked.get(p);
        if (acked === undefined) continue;
        const count = countOffsets(acked);
        if (data.errorCode !== 0) {
          errors.push(
            this.ackFailed(p!, count, data.errorCode, data.errorMessage),
          );
        } else this.counters.acknowledged += count;
      }
    }
    return errors;
  }

  private ackFailed(
    p: SharePartition,
    count: number,
    code: number,
    detail: string | null,
  ): Error {
    this.counters.acknowledgeFailures += count;
    const error = new KafkaError(code, {
      apiName: "ShareAcknowledge",
      topic: p.topic,
      partition: p.partition,
      detail: `${count} acknowledgements refused${detail ? `: ${detail}` : ""}`,
    });
    this.logError(error.message);
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
    const found = await readRecordTables(data.records!, {
      fromOffset: ranges[0].firstOffset,
      decompress: async (id, input) => (await loadCodec(id)).decompress(input),
      where: `${p.topic}/${p.partition} from ${address}`,
      checkCrc: this.options.checkCrcs,
    });
    const from = { topic: p.topic, partition: p.partition, highWaterMark: -1 };
    const copy = this.options.copyValues === true;
    const messages: AcquiredMessage[] = [];
    let r = 0;
    let expected = ranges[0].firstOffset;
    const gap = (first: number, last: number) => {
      this.counters.gaps += last - first + 1;
      this.addAck(origin, first, AckType.gap, last);
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
      for (const m of messages) this.addAck(origin, m.offset, AckType.release);
      return;
    }
    this.counters.messages += messages.length;
    held.left += messages.length;
    this.chunks.push({ ...origin, messages, at: 0, response: held });
    this.arrived.notify();
  }

  // ---- closing ----

  /**
   * Ends each session with a last ShareAcknowledge (epoch -1) carrying
   * what waits, once its loop finished its request; the broker releases
   * what the member still holds there.
   */
  private async closeSessions(): Promise<void> {
    this.stopping = true;
    this.router.notify();
    for (const s of this.sessions.values()) s.signal.notify();
    await Promise.all([...this.sessions.values()].map((s) => s.running));
    await Promise.all([...this.sessions.values()].map(async (s) => {
      if (s.epoch <= 0 || s.conn === null) return;
      const acking = s.withAcks(this.partitions.values());
      try {
        await this.shareAcknowledge(s, s.conn, acking, -1);
      } catch (error) {
        this.logError(
          `closing the share session with broker ${s.nodeId} failed: ${
            messageOf(error)
          }`,
        );
      }
      s.epoch = -1;
    }));
  }

  protected override failed(): void {
    this.arrived.notify();
  }

  protected async release(): Promise<void> {
    this.arrived.notify();
    // Implicitly or not, what was handed out and not acknowledged goes
    // back to the group, as does what was fetched and not handed out.
    this.inProcess = null;
    this.inProcessBatch = null;
    for (const [message, origin] of this.origins) {
      this.addAck(origin, message.offset, AckType.release);
    }
    this.origins.clear();
    this.releaseBuffered(null);
    if (this.started) {
      await this.member.close(this.requestTimeout);
    }
    await this.closeSessions();
    await this.routing;
    for (const s of this.sessions.values()) s.conn?.close();
    this.cluster.closeLane(this.lane);
    if (this.ownsCluster) await this.cluster.close();
  }

  private logError(message: string): void {
    this.options.errorLogger?.(`kafka share reader: ${message}`);
  }
}
