/**
 * A share session (KIP-932): what one member fetches from one broker, which
 * the broker remembers between requests. The first ShareFetch (epoch 0)
 * opens it with every partition; each later ShareFetch or ShareAcknowledge
 * carries the next epoch and only what changed: partitions added, those
 * with acknowledgements, and in `forgottenTopicsData` those removed. Epoch
 * -1 closes it, and the broker releases what the member still holds there.
 *
 * Acknowledgements cannot open a session: when one is lost (a broken
 * connection, SHARE_SESSION_NOT_FOUND, INVALID_SHARE_SESSION_EPOCH), the
 * acknowledgements waiting for that broker are dropped, and their records
 * come back to the group when their acquisition locks run out.
 *
 * @module
 */

import type { BrokerConnection } from "../../connection/connection.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { ShareFetchRequest } from "../../protocol/messages/share_fetch.ts";
import type { ShareAcknowledgeRequest } from "../../protocol/messages/share_acknowledge.ts";
import { Notifier } from "../fetch_state.ts";
import { type AckBatch, PendingAcks } from "./acks.ts";

/** Errors after which the broker no longer knows the session. */
export const SESSION_LOST: ReadonlySet<number> = new Set([
  ErrorCode.SHARE_SESSION_NOT_FOUND,
  ErrorCode.INVALID_SHARE_SESSION_EPOCH,
  ErrorCode.SHARE_SESSION_LIMIT_REACHED,
]);

/** One assigned partition of a share-group member. */
export class SharePartition {
  readonly topic: string;
  readonly partition: number;
  /** "topic\0partition" */
  readonly key: string;
  topicId = "";
  /** The session of its leader, while it is routed there. */
  session: ShareSession | null = null;
  /** Acknowledgements for `acksFor`, the session that acquired the records. */
  readonly acks: PendingAcks = new PendingAcks();
  acksFor: ShareSession | null = null;
  /** Whether the member is assigned it (false: only acknowledgements are left). */
  assigned = true;
  /** Failures in a row, for the backoff before it is routed again. */
  failures = 0;
  retryAt = 0;

  constructor(topic: string, partition: number) {
    this.topic = topic;
    this.partition = partition;
    this.key = `${topic}\0${partition}`;
  }
}

/** The partitions of a request, grouped by topic id. */
type ByTopic<P> = Map<string, P[]>;

/** The session with one broker, and its fetch loop's state. */
export class ShareSession {
  readonly nodeId: number;
  /** 0: the next request opens the session. */
  epoch = 0;
  /** The partitions the broker has in the session, by key. */
  readonly inSession = new Map<string, SharePartition>();
  /** The partitions routed here, to fetch. */
  readonly members = new Set<SharePartition>();
  /** Responses with messages not handed out yet. */
  responses = 0;
  readonly signal = new Notifier();
  running: Promise<void> = Promise.resolve();
  conn: BrokerConnection | null = null;
  /** A request is in flight; it resolves when it is answered. */
  busy: Promise<void> | null = null;
  /** Someone waits for the acknowledgements to go out (`commit`). */
  flushNow = false;
  /** Moves on each time the session is lost: older acknowledgements are void. */
  incarnation = 0;
  /** Requests started, numbered from 1. */
  started = 0;
  /** The highest request number answered (or given up on). */
  settled = 0;
  /** The last request that carried acknowledgements. */
  ackRequest = 0;
  /** Those waiting for the next request to be answered, and its failures. */
  private waiters: { after: number; resolve: (errors: Error[]) => void }[] = [];

  constructor(nodeId: number) {
    this.nodeId = nodeId;
  }

  /** The broker lost the session (or the connection broke): open anew. */
  reset(): void {
    this.epoch = 0;
    this.incarnation++;
    this.inSession.clear();
  }

  /**
   * Resolves with the failures of request `n` (by default the next to
   * start), or of the first after it, once answered.
   */
  afterRequest(n = this.started + 1): Promise<Error[]> {
    return new Promise((resolve) =>
      this.waiters.push({ after: n - 1, resolve })
    );
  }

  /** Whether a request that carried acknowledgements awaits its answer. */
  get acksInFlight(): boolean {
    return this.ackRequest > this.settled;
  }

  /** Request `n` was answered, with these failures. */
  settle(n: number, errors: Error[]): void {
    if (n > this.settled) this.settled = n;
    if (this.waiters.length === 0) return;
    this.waiters = this.waiters.filter((w) => {
      if (w.after >= n) return true;
      w.resolve(errors);
      return false;
    });
  }

  /** Whether a commit waits for a request of this session. */
  get awaited(): boolean {
    return this.waiters.length > 0;
  }

  /** Every waiter learns these failures (the session is gone). */
  settleAll(errors: Error[]): void {
    this.settled = this.started;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.resolve(errors);
  }

  /** The epoch after a request was answered: +1, wrapping to 1. */
  advance(): void {
    if (this.epoch >= 0) {
      this.epoch = this.epoch === 0x7fffffff ? 1 : this.epoch + 1;
    }
  }

  /** The partitions whose acknowledgements wait for this session. */
  withAcks(all: Iterable<SharePartition>): SharePartition[] {
    const out: SharePartition[] = [];
    for (const p of all) {
      if (p.acksFor === this && p.acks.size > 0) out.push(p);
    }
    return out;
  }

  /**
   * The topics and forgotten partitions of the next ShareFetch, taking the
   * acknowledgements of `acking` out (none at epoch 0, which cannot carry
   * any). `inSession` becomes what the broker will have.
   */
  fetchParts(acking: readonly SharePartition[]): {
    topics: ShareFetchRequest["topics"];
    forgottenTopicsData: ShareFetchRequest["forgottenTopicsData"];
    acked: Map<SharePartition, AckBatch[]>;
  } {
    const topics: ByTopic<
      ShareFetchRequest["topics"][number]["partitions"][number]
    > = new Map();
    const acked = new Map<SharePartition, AckBatch[]>();
    const put = (p: SharePartition, batches: AckBatch[]) => {
      let list = topics.get(p.topicId);
      if (list === undefined) topics.set(p.topicId, list = []);
      list.push({
        partitionIndex: p.partition,
        partitionMaxBytes: 0,
        acknowledgementBatches: batches,
      });
    };
    const forgotten: ByTopic<number> = new Map();
    if (this.epoch === 0) {
      for (const p of this.members) put(p, []);
    } else {
      for (const p of acking) {
        const batches = p.acks.take();
        acked.set(p, batches);
        put(p, batches);
      }
      for (const p of this.members) {
        if (!this.inSession.has(p.key) && !acked.has(p)) put(p, []);
      }
      for (const [key, p] of this.inSession) {
        if (this.members.has(p)) continue;
        this.inSession.delete(key);
        let list = forgotten.get(p.topicId);
        if (list === undefined) forgotten.set(p.topicId, list = []);
        list.push(p.partition);
      }
    }
    for (const p of this.members) this.inSession.set(p.key, p);
    return {
      topics: [...topics].map(([topicId, partitions]) => ({
        topicId,
        partitions,
      })),
      forgottenTopicsData: [...forgotten].map(([topicId, partitions]) => ({
        topicId,
        partitions,
      })),
      acked,
    };
  }

  /** The topics of a ShareAcknowledge, taking the acknowledgements out. */
  acknowledgeParts(acking: readonly SharePartition[]): {
    topics: ShareAcknowledgeRequest["topics"];
    acked: Map<SharePartition, AckBatch[]>;
  } {
    const topics: ByTopic<
      ShareAcknowledgeRequest["topics"][number]["partitions"][number]
    > = new Map();
    const acked = new Map<SharePartition, AckBatch[]>();
    for (const p of acking) {
      const batches = p.acks.take();
      acked.set(p, batches);
      let list = topics.get(p.topicId);
      if (list === undefined) topics.set(p.topicId, list = []);
      list.push({
        partitionIndex: p.partition,
        acknowledgementBatches: batches,
      });
    }
    return {
      topics: [...topics].map(([topicId, partitions]) => ({
        topicId,
        partitions,
      })),
      acked,
    };
  }
}
