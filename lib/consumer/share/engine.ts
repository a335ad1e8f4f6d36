/**
 * The source of a ShareReader's stream: a share-group member (KIP-932),
 * the fetcher (`fetcher.ts`: a share session and a loop per leader), and
 * the records they acquired, handed out one at a time.
 *
 * **Acknowledging.** Implicitly, a message is accepted when the next one is
 * asked for, or when the `for await` loop that read it ends; explicitly,
 * by `acknowledge`; in a pipe, once the Writer took it. Acknowledgements go
 * out with the next ShareFetch to the broker that handed the records out,
 * or after `acknowledgeLinger` in a ShareAcknowledge, or at once on
 * `commit`. Records fetched but not handed out when their partition is
 * taken away, and every record not acknowledged when the reader closes,
 * are released: the group hands them out again.
 *
 * @module
 */

import { Cluster } from "../../cluster/cluster.ts";
import { clusterOptions } from "../../cluster/transport.ts";
import { messageOf, UnsupportedVersionError } from "../../connection/errors.ts";
import { unrefTimer } from "../../connection/socket.ts";
import { ShareAcknowledge } from "../../protocol/messages/share_acknowledge.ts";
import type { TopicPartition } from "../../message.ts";
import { describeValue } from "../../options.ts";
import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import { Notifier } from "../fetch_state.ts";
import type { Assignment } from "../group/membership.ts";
import { StreamEngine } from "../stream_engine.ts";
import { ACK_CODES, type AcknowledgeType, AckType } from "./acks.ts";
import {
  type AcquiredMessage,
  type Held,
  type Origin,
  ShareFetcher,
} from "./fetcher.ts";
import { ShareMember } from "./member.ts";
import { shareReaderTelemetry } from "./telemetry.ts";
import {
  SHARE_DEFAULTS,
  type ShareMessage,
  type ShareReaderOptions,
} from "./options.ts";
import { SharePartition, type ShareSession } from "./session.ts";

/** Messages of one partition from one response, handed out in order. */
interface Chunk extends Origin {
  messages: AcquiredMessage[];
  at: number;
  response: Held;
}

/** The share-group engine behind a ShareReader. */
export class ShareEngine extends StreamEngine {
  readonly cluster: Cluster;
  readonly member: ShareMember;
  private readonly options: ShareReaderOptions;
  private readonly ownsCluster: boolean;
  private readonly explicit: boolean;
  /** acquireMode "record_limit": fetch only while the consumer waits. */
  private readonly recordLimit: boolean;
  /** The consumer asked for a message and none is ready. */
  private waiting = false;
  private readonly fetcher: ShareFetcher;
  private readonly requestTimeout: number;
  /** Every partition assigned, or with acknowledgements still to send. */
  private readonly partitions = new Map<string, SharePartition>();
  private readonly chunks: Chunk[] = [];
  /** Handed out, not acknowledged yet. */
  private readonly origins = new Map<ShareMessage, Origin>();
  /** Acknowledgements dropped since the last `commit()`, by partition. */
  private readonly unreported = new Map<
    SharePartition,
    { count: number; why: string }
  >();
  /** Partitions whose drops were logged, until acknowledgements flow again. */
  private readonly droppedLogged = new Set<SharePartition>();
  /** Implicit mode: the message the consumer is processing. */
  private inProcess: ShareMessage | null = null;
  /** Where `inProcess` came from: kept apart from `origins`, a map entry less per message. */
  private inProcessOrigin: Origin | null = null;
  /** Implicit mode: the batch the consumer is processing (`batches()`). */
  private inProcessBatch: ShareMessage[] | null = null;
  /** A pipe acknowledges what its destination took: nothing implicitly. */
  private piping = false;
  private readonly arrived = new Notifier();
  private started = false;
  /**
   * Records waited past their locks: fetch no more until the consumer asks
   * for the next message, or a paused consumer's records would be acquired
   * and dropped again each lock period, up to the delivery limit.
   */
  private slow = false;
  /** Wakes when the locks of the oldest records not handed out run out. */
  private expiry: ReturnType<typeof setTimeout> | undefined;
  /** `autoRenew`: renews the locks of what was handed out, now and then. */
  private renewer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: ShareReaderOptions) {
    super();
    this.options = options;
    this.explicit = options.acknowledgements === "explicit";
    this.recordLimit = options.acquireMode === "record_limit";
    this.ownsCluster = options.cluster === undefined;
    this.cluster = options.cluster ??
      new Cluster(clusterOptions(options.brokers, options.transport));
    const requestTimeout = this.cluster.options.requestTimeout ?? 30_000;
    this.requestTimeout = requestTimeout;
    this.member = new ShareMember({
      cluster: this.cluster,
      groupId: options.groupId,
      topics: [...options.topics],
      rack: options.rack ?? null,
      requestTimeout,
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
    this.fetcher = new ShareFetcher({
      cluster: this.cluster,
      options,
      partitions: this.partitions,
      memberId: this.member.memberId,
      open: () => this.state === "open",
      fail: (error) => this.fail(error),
      addAck: (origin, offset, type, last) =>
        this.addAck(origin, offset, type, last),
      droppedAcks: (p, count, why) => this.droppedAcks(p, count, why),
      queue: (origin, messages, held) => {
        this.chunks.push({ ...origin, messages, at: 0, response: held });
        this.arrived.notify();
        this.watchExpiry();
      },
      wantsMore: () => !this.slow && (!this.recordLimit || this.waiting),
      responded: () => {
        if (this.explicit) this.forgetExpired();
      },
      logError: (message) => this.logError(message),
    }, requestTimeout);
    this.telemetry = shareReaderTelemetry(
      this.cluster,
      options,
      this.fetcher.counters,
    );
  }

  /** What the reader has done so far. */
  get counters(): ShareFetcher["counters"] {
    return this.fetcher.counters;
  }

  /** The acquisition lock the brokers last reported (ms), -1 before any. */
  get lockTimeout(): number {
    return this.fetcher.lockTimeout;
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
      this.telemetry?.start();
      this.scheduleRenewals();
    }
    while (this.state === "open") {
      const message = this.take();
      if (message !== undefined) return this.enqueue(message);
      this.waiting = true;
      if (this.recordLimit) this.fetcher.wake();
      try {
        await this.arrived.wait();
      } finally {
        this.waiting = false;
      }
      if (!this.isLocked()) return;
    }
  }

  /** The next message; asking for it accepts the one before (implicit mode). */
  private take(): ShareMessage | undefined {
    this.finishInProcess();
    if (this.slow) {
      this.slow = false;
      this.fetcher.wake();
    }
    while (this.chunks.length > 0) {
      const chunk = this.chunks[0];
      if (chunk.at === chunk.messages.length) {
        this.chunks.shift();
        continue;
      }
      const message = chunk.messages[chunk.at++];
      const s = chunk.session;
      if (--chunk.response.left === 0) this.handedOut(s);
      if (!this.explicit && !this.piping) {
        this.inProcess = message;
        this.inProcessOrigin = chunk;
      } else this.origins.set(message, chunk);
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
      this.origins.set(first, this.inProcessOrigin!);
      this.inProcess = this.inProcessOrigin = null;
      this.inProcessBatch = out;
    }
    return out;
  }

  /** Implicit mode: the message or batch in process is done with. */
  private finishInProcess(): void {
    if (this.inProcess !== null) {
      const message = this.inProcess;
      const origin = this.inProcessOrigin!;
      this.inProcess = this.inProcessOrigin = null;
      this.addAck(origin, message.offset, AckType.accept);
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
  pipeAcknowledge(
    messages: readonly ShareMessage[],
    taken: boolean,
    from: number,
    to: number,
  ): void {
    const type = taken ? AckType.accept : AckType.release;
    for (let i = from; i < to; i++) this.settle(messages[i], type);
  }

  /** Acknowledges a message handed out (see `ShareReader.acknowledge`). */
  acknowledge(message: ShareMessage, type: AcknowledgeType): void {
    this.checkNotClosed("acknowledge");
    const origin = this.heldOrigin(message, "acknowledge");
    if (message === this.inProcess) {
      this.inProcess = this.inProcessOrigin = null;
    } else this.origins.delete(message);
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
    const flushed = (await Promise.all(this.fetcher.flush())).flat();
    // What was dropped since the last commit, during its wait included,
    // failed as surely as what a broker refuses.
    const dropped = [...this.unreported].map(([p, d]) =>
      new KafkaError(ErrorCode.SHARE_SESSION_NOT_FOUND, {
        topic: p.topic,
        partition: p.partition,
        detail:
          `${d.count} acknowledgements of ${p.topic}/${p.partition} were dropped (${d.why}): their records come back when their locks run out`,
      })
    );
    this.unreported.clear();
    const errors = [...dropped, ...flushed];
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) {
      throw new AggregateError(
        errors,
        `Acknowledgements failed: ${errors.map(messageOf).join("; ")}`,
      );
    }
  }

  /**
   * Restarts the acquisition locks of messages handed out and not
   * acknowledged (see `ShareReader.renew`); resolves once the brokers did.
   */
  async renew(messages: readonly ShareMessage[]): Promise<void> {
    this.checkOpen("renew");
    const at = Date.now();
    const renewing = new Map<ShareMessage, Origin>();
    for (const message of messages) {
      const origin = this.heldOrigin(message, "renew");
      const { session, p } = origin;
      if (session.incarnation !== origin.incarnation || session.conn === null) {
        throw new KafkaError(ErrorCode.INVALID_RECORD_STATE, {
          apiName: "ShareAcknowledge",
          topic: p.topic,
          partition: p.partition,
          detail:
            `cannot renew offset ${message.offset}: the share session that acquired it was lost, and the record went back to the group`,
        });
      }
      if (p.acksFor !== session && p.acks.size > 0) {
        throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, {
          apiName: "ShareAcknowledge",
          topic: p.topic,
          partition: p.partition,
          detail:
            `cannot renew offset ${message.offset}: the partition's leader moved, and the old one's lock cannot be renewed on the new one`,
        });
      }
      const version = session.conn.pickVersion(ShareAcknowledge);
      if (version < 2) {
        throw new UnsupportedVersionError(
          `Broker ${session.conn.address} cannot renew acquisition locks: renewing needs ShareAcknowledge v2 (Kafka 4.2 or later, KIP-1222), and the broker serves up to v${version}`,
        );
      }
      renewing.set(message, origin);
    }
    if (renewing.size === 0) return;
    for (const [message, origin] of renewing) {
      this.addAck(origin, message.offset, AckType.renew);
    }
    const errors = (await Promise.all(this.fetcher.flush())).flat()
      .filter((error) => {
        const { topic, partition } = error as KafkaError;
        if (topic === undefined) return true;
        for (const { p } of renewing.values()) {
          if (p.topic === topic && p.partition === partition) return true;
        }
        return false;
      });
    if (errors.length === 0) {
      // Their locks run anew from about now.
      for (const [message, origin] of renewing) {
        const renewed: Origin = {
          ...origin,
          fetchedAt: at,
          acquiredAt: origin.acquiredAt ?? origin.fetchedAt,
        };
        if (this.inProcess === message) this.inProcessOrigin = renewed;
        else if (this.origins.get(message) === origin) {
          this.origins.set(message, renewed);
        }
      }
      return;
    }
    if (errors.length === 1) throw errors[0];
    throw new AggregateError(
      errors,
      `Renewing failed: ${errors.map(messageOf).join("; ")}`,
    );
  }

  /**
   * `autoRenew`: every quarter lock, renews the locks of the messages
   * handed out and not acknowledged whose locks are half gone, while they
   * were acquired less than `autoRenew` ago.
   */
  private scheduleRenewals(): void {
    const limit = this.options.autoRenew ?? SHARE_DEFAULTS.autoRenew;
    if (limit <= 0 || this.state !== "open") return;
    const lock = this.lockTimeout > 0 ? this.lockTimeout : 1000;
    this.renewer = setTimeout(() => {
      this.renewDue(limit).catch(() => {}).then(() => this.scheduleRenewals());
    }, Math.max(50, lock / 4));
    unrefTimer(this.renewer);
  }

  /** Renews the locks `scheduleRenewals` finds due; failures are logged. */
  private async renewDue(limit: number): Promise<void> {
    const lock = this.lockTimeout;
    if (lock <= 0) return;
    const now = Date.now();
    const due: ShareMessage[] = [];
    const check = (message: ShareMessage, origin: Origin) => {
      if (now - origin.fetchedAt < lock / 2) return;
      if (now - (origin.acquiredAt ?? origin.fetchedAt) >= limit) return;
      const s = origin.session;
      if (s.incarnation !== origin.incarnation || s.conn === null) return;
      due.push(message);
    };
    if (this.inProcess !== null) check(this.inProcess, this.inProcessOrigin!);
    for (const [message, origin] of this.origins) check(message, origin);
    if (due.length === 0 || this.state !== "open") return;
    try {
      await this.renew(due);
    } catch (error) {
      this.logError(
        `renewing the locks of ${due.length} messages failed: ${
          messageOf(error)
        }`,
      );
    }
  }

  /** Where a message handed out and not acknowledged came from; or throws. */
  private heldOrigin(message: ShareMessage, what: string): Origin {
    if (message === this.inProcess && message !== null) {
      return this.inProcessOrigin!;
    }
    const origin = this.origins.get(message);
    if (origin !== undefined) return origin;
    const which = message !== null && typeof message === "object"
      ? `${message.topic}/${message.partition} offset ${message.offset}`
      : describeValue(message);
    throw new RangeError(
      `Cannot ${what} ${which}: this ShareReader did not hand it out (pass the very message object it gave, not a copy), or it was acknowledged already, or its acquisition lock ran out long ago`,
    );
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
    if (this.droppedLogged.size > 0) this.droppedLogged.delete(p);
    session.signal.notify();
  }

  /**
   * Counts acknowledgements that cannot be sent, for the next `commit()` to
   * report. Logged once a partition until its acknowledgements are taken
   * again: after a lost session each acknowledge() is dropped, and one
   * line each made a thousand lines of one fault.
   */
  private droppedAcks(p: SharePartition, count: number, why: string): void {
    this.counters.acknowledgeFailures += count;
    const d = this.unreported.get(p);
    if (d === undefined) this.unreported.set(p, { count, why });
    else d.count += count;
    if (this.droppedLogged.has(p)) return;
    this.droppedLogged.add(p);
    this.logError(
      `${count} acknowledgements of ${p.topic}/${p.partition} dropped (${why}): their records come back when their locks run out; more dropped until its acknowledgements go out again are counted in stats() and reported by commit()`,
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
        this.fetcher.route(p);
      }
    }
  }

  private async onRevoked(removed: Assignment): Promise<void> {
    for (const [topic, list] of removed) {
      for (const partition of list) {
        const p = this.partitions.get(`${topic}\0${partition}`);
        if (p === undefined) continue;
        p.assigned = false;
        this.releaseBuffered(p);
        this.fetcher.remove(p);
      }
    }
    if (this.state !== "open") await this.fetcher.closeSessions();
  }

  /** Releases what was fetched of `p` (all when null) and not handed out. */
  private releaseBuffered(p: SharePartition | null): void {
    for (const chunk of this.discard((c) => p === null || c.p === p)) {
      for (let j = chunk.at; j < chunk.messages.length; j++) {
        this.addAck(chunk, chunk.messages[j].offset, AckType.release);
      }
    }
  }

  /**
   * Takes the chunks `which` picks out of the queue, their messages no
   * longer to be handed out (their responses count as handed out); returns
   * them, with `at` where handing out stopped.
   */
  private discard(which: (chunk: Chunk) => boolean): Chunk[] {
    const out: Chunk[] = [];
    for (let i = this.chunks.length - 1; i >= 0; i--) {
      const chunk = this.chunks[i];
      if (!which(chunk)) continue;
      this.chunks.splice(i, 1);
      const left = chunk.messages.length - chunk.at;
      chunk.response.left -= left;
      if (left > 0 && chunk.response.left === 0) this.handedOut(chunk.session);
      out.push(chunk);
    }
    return out;
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

  /**
   * Arms the timer for the earliest lock among the records fetched and not
   * handed out yet.
   */
  private watchExpiry(): void {
    if (this.expiry !== undefined) return;
    let next = Infinity;
    for (const chunk of this.chunks) {
      const until = chunk.response.lockedUntil;
      if (chunk.at < chunk.messages.length && until > 0 && until < next) {
        next = until;
      }
    }
    if (next === Infinity) return;
    this.expiry = setTimeout(() => {
      this.expiry = undefined;
      this.dropExpired();
      this.watchExpiry();
    }, Math.max(0, next - Date.now()));
    unrefTimer(this.expiry);
  }

  /**
   * Records whose locks ran out before they were handed out went back to
   * the group (another member may have them now): they are dropped, not
   * handed out late.
   */
  private dropExpired(): void {
    if (this.state !== "open") return;
    const now = Date.now();
    let dropped = 0;
    for (
      const chunk of this.discard((c) => {
        const until = c.response.lockedUntil;
        return until !== 0 && until <= now;
      })
    ) dropped += chunk.messages.length - chunk.at;
    if (dropped === 0) return;
    this.slow = true;
    this.counters.expired += dropped;
    this.logError(
      `${dropped} messages waited for the consumer past their acquisition lock (${this.lockTimeout} ms) and went back to the group: dropped. Lower maxRecords, set acquireMode "record_limit", or process faster`,
    );
  }

  /** A response of `s` was handed out: the next may be fetched. */
  private handedOut(s: ShareSession): void {
    s.responses--;
    s.signal.notify();
  }

  // ---- closing ----

  protected override failed(): void {
    this.arrived.notify();
  }

  protected async release(): Promise<void> {
    this.arrived.notify();
    clearTimeout(this.expiry);
    clearTimeout(this.renewer);
    // Implicitly or not, what was handed out and not acknowledged goes
    // back to the group, as does what was fetched and not handed out.
    if (this.inProcess !== null) {
      this.addAck(
        this.inProcessOrigin!,
        this.inProcess.offset,
        AckType.release,
      );
      this.inProcess = this.inProcessOrigin = null;
    }
    this.inProcessBatch = null;
    for (const [message, origin] of this.origins) {
      this.addAck(origin, message.offset, AckType.release);
    }
    this.origins.clear();
    this.releaseBuffered(null);
    // Never rejects: a failed reader releases with nobody awaiting it. Each
    // step runs whatever became of the one before, so that the connections
    // are closed in the end.
    const steps: [string, () => Promise<void>][] = [
      ["leaving the group", async () => {
        if (this.started) await this.member.close(this.requestTimeout);
      }],
      ["closing the share sessions", () => this.fetcher.closeSessions()],
      ["stopping the fetches", () => this.fetcher.shutdown()],
      ["closing the connections", async () => {
        if (this.ownsCluster) await this.cluster.close();
      }],
    ];
    for (const [what, step] of steps) {
      try {
        await step();
      } catch (error) {
        this.logError(`closing failed, ${what}: ${messageOf(error)}`);
      }
    }
  }

  private logError(message: string): void {
    this.options.errorLogger?.(`kafka share reader: ${message}`);
  }
}
