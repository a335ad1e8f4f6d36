/**
 * One Produce request per broker: the batches that partitions send at the
 * same moment to the same leader connection travel in one request, and
 * each batch gets its own partition's outcome back.
 *
 * A partition sends its next batch when its previous one is answered, and
 * the partitions a response answered all do so in the same turn of the
 * event loop. So the sender waits until a few microtask hops pass with no
 * new batch, then sends what gathered: no timer, no added latency.
 *
 * @module
 */

import type { BrokerConnection } from "../connection/connection.ts";
import { Produce } from "../protocol/messages/produce.ts";
import {
  type PartitionOutcome,
  type ProduceBatch,
  produceOutcomes,
  produceRequest,
} from "../requests/produce.ts";

/** Most record bytes in one request; more go in further requests. */
const MAX_REQUEST_RECORDS = 16 * 1024 * 1024;

/** Microtask hops with no new batch before the gathered ones go out. */
const IDLE_HOPS = 3;

interface Waiting {
  batch: ProduceBatch;
  /** Milliseconds the request may take, for this batch. */
  timeout: number;
  resolve(outcome: PartitionOutcome | undefined): void;
  reject(error: unknown): void;
}

/** Gathers batches per connection into shared Produce requests. */
export class ProduceSender {
  private readonly acks: number;
  private readonly timeoutMs: number;
  private waiting = new Map<BrokerConnection, Waiting[]>();
  private count = 0;
  private scheduled = false;
  private requests = 0;

  /** `timeoutMs` is the broker's wait for acknowledgements. */
  constructor(acks: number, timeoutMs: number) {
    this.acks = acks;
    this.timeoutMs = timeoutMs;
  }

  /**
   * Sends a batch in the next request to `conn`. Resolves with its
   * partition's outcome (undefined with acks 0, or if the broker left the
   * partition out); rejects when the request failed as a whole.
   */
  send(
    conn: BrokerConnection,
    batch: ProduceBatch,
    timeout: number,
  ): Promise<PartitionOutcome | undefined> {
    return new Promise((resolve, reject) => {
      let list = this.waiting.get(conn);
      if (list === undefined) {
        list = [];
        this.waiting.set(conn, list);
      }
      list.push({ batch, timeout, resolve, reject });
      this.count++;
      if (!this.scheduled) {
        this.scheduled = true;
        this.afterQuiet();
      }
    });
  }

  /** Produce requests sent since the last call. */
  takeRequests(): number {
    const requests = this.requests;
    this.requests = 0;
    return requests;
  }

  private afterQuiet(): void {
    let seen = -1;
    let idle = 0;
    const hop = () => {
      if (this.count !== seen) {
        seen = this.count;
        idle = 0;
      } else if (++idle >= IDLE_HOPS) {
        return this.flush();
      }
      queueMicrotask(hop);
    };
    queueMicrotask(hop);
  }

  private flush(): void {
    this.scheduled = false;
    const all = this.waiting;
    this.waiting = new Map();
    this.count = 0;
    for (const [conn, list] of all) {
      let start = 0;
      let bytes = 0;
      for (let i = 0; i < list.length; i++) {
        const size = list[i].batch.records.length;
        if (i > start && bytes + size > MAX_REQUEST_RECORDS) {
          this.request(conn, list.slice(start, i));
          start = i;
          bytes = 0;
        }
        bytes += size;
      }
      this.request(conn, start === 0 ? list : list.slice(start));
    }
  }

  /** Sends one request; settles every batch in it, never rejects. */
  private async request(
    conn: BrokerConnection,
    list: Waiting[],
  ): Promise<void> {
    this.requests++;
    const request = produceRequest(
      list.map((w) => w.batch),
      this.acks,
      this.timeoutMs,
    );
    try {
      if (this.acks === 0) {
        await conn.requestNoResponse(Produce, request);
        for (const w of list) w.resolve(undefined);
        return;
      }
      let timeout = 0;
      for (const w of list) timeout = Math.max(timeout, w.timeout);
      const response = await conn.request(Produce, request, { timeout });
      const outcomes = produceOutcomes(response);
      for (const w of list) {
        w.resolve(outcomes.get(w.batch.topic)?.get(w.batch.partition));
      }
    } catch (error) {
      for (const w of list) w.reject(error);
    }
  }
}
