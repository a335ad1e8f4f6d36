/**
 * The fetch engine's hand-out queue, and the memory its broker loops may
 * hold.
 *
 * **Handing out.** `take()` hands out one message at a time, in offset order
 * per partition; partitions with data take turns one fetched chunk (one
 * partition's records of one response) at a time. It allocates nothing
 * beyond the message itself. Records are checked when they arrive (CRC,
 * decompression), while the broker serves the next Fetch, but made into
 * messages only as they are taken.
 *
 * **Memory.** Bounded per broker: a loop sends its next Fetch only while at
 * most one of its responses is still being read, or while the responses it
 * holds (those being checked, or with a message not yet taken) add up to
 * fewer than `maxBytes` bytes of records (and fewer than `queueCapacity`
 * messages, when set). A response carries at most `maxBytes` (the broker's
 * limit for the whole response; only a single record batch larger than that
 * comes whole), so at most about 2 × `maxBytes` of fetched records wait per
 * broker. A response is counted whole from its arrival until its last
 * message is taken or dropped, because its partitions' records share its
 * buffer.
 *
 * **Dropping.** `forget()` drops a partition's chunks at once (revoke, pause,
 * seek) and makes the answers already asked for stale: nothing from before
 * comes out after.
 *
 * @module
 */

import type { Message } from "../message.ts";
import type { FetchedRun } from "../requests/fetched.ts";
import type { FetchLimits } from "./fetch_options.ts";
import {
  type BrokerLoop,
  type Chunk,
  type HeldResponse,
  Notifier,
  type PartitionState,
} from "./fetch_state.ts";

/** Partitions with data taking turns, and the responses each loop holds. */
export class HandOut {
  private readonly limits: FetchLimits;
  /** Partitions with data waiting their turn. */
  private ring: PartitionState[] = [];
  /** The partition whose chunk is being handed out. */
  private current: PartitionState | undefined = undefined;
  /** Loops waiting for room that taking a message can make (queueCapacity). */
  private countWaiters = 0;
  private readonly consumer = new Notifier();

  constructor(limits: FetchLimits) {
    this.limits = limits;
  }

  /** The next message, or undefined when none is ready. */
  take(): Message | undefined {
    // Kept small, the rare work in calls of its own: runtimes inline this
    // into the consumer's loop only while the whole chain stays short.
    const p = this.current ?? this.nextTurn();
    if (p === undefined) return undefined;
    // A listed partition always has a chunk with a message left.
    const chunk = p.chunks[0];
    const message = chunk.messages.next()!;
    p.position = message.offset + 1;
    if (chunk.messages.remaining === 0) this.finishChunk(p, chunk);
    else if (this.countWaiters > 0) this.wakeForRoom(chunk.held.loop);
    return message;
  }

  /** The partition whose turn it is next, now the one being handed out. */
  private nextTurn(): PartitionState | undefined {
    const p = this.ring.shift();
    if (p !== undefined) this.current = p;
    return p;
  }

  /** A message was taken from the loop's response: the loop may fetch again. */
  private wakeForRoom(loop: BrokerLoop): void {
    if (loop.waitingForRoom && this.hasRoom(loop)) loop.signal.notify();
  }

  /**
   * The rest of the chunk the last `take()` took from, as a run of records
   * (null when that chunk was finished).
   */
  takeRest(): FetchedRun | null {
    const p = this.current;
    if (p === undefined) return null;
    const chunk = p.chunks[0];
    const run = chunk.messages.takeRun();
    if (run !== null) p.position = run.offset(run.length - 1) + 1;
    this.finishChunk(p, chunk);
    return run;
  }

  /** Whether `take()` has a message to hand out. */
  get hasData(): boolean {
    return this.current !== undefined || this.ring.length > 0;
  }

  /** Resolves when a chunk is queued, or `notify()` is called. */
  waitForData(signal?: AbortSignal, what = "waiting"): Promise<void> {
    return this.consumer.waitOrAbort(signal, what);
  }

  /** Wakes whoever waits for data (the engine failed or closed). */
  notify(): void {
    this.consumer.notify();
  }

  /** Queues a chunk, counts its response, and lists the partition for its turn. */
  queue(p: PartitionState, chunk: Chunk): void {
    p.chunks.push(chunk);
    p.queuedBytes += chunk.bytes;
    const held = chunk.held;
    this.hold(held);
    held.loop.heldMessages += chunk.count;
    if (!p.listed) {
      p.listed = true;
      this.ring.push(p);
      this.consumer.notify();
    }
  }

  /** Drops a partition's data and makes answers already asked for stale. */
  forget(p: PartitionState): void {
    p.generation++;
    for (const chunk of p.chunks) this.release(chunk);
    p.chunks = [];
    p.queuedBytes = 0;
    if (!p.listed) return;
    p.listed = false;
    if (this.current === p) {
      this.current = undefined;
    } else {
      const at = this.ring.indexOf(p);
      if (at >= 0) this.ring.splice(at, 1);
    }
  }

  /** Forgets every partition's turn (their data is forgotten one by one). */
  clear(): void {
    this.ring = [];
    this.current = undefined;
  }

  /** A chunk was taken to its end: the partition's turn is over. */
  private finishChunk(p: PartitionState, chunk: Chunk): void {
    p.chunks.shift();
    p.queuedBytes -= chunk.bytes;
    this.release(chunk);
    this.current = undefined;
    // Its next chunk waits for the other partitions' turns.
    if (p.chunks.length > 0) this.ring.push(p);
    else p.listed = false;
  }

  /** A chunk is done with; its response stops counting with its last chunk. */
  private release(chunk: Chunk): void {
    chunk.held.loop.heldMessages -= chunk.count;
    this.unhold(chunk.held);
  }

  /**
   * Counts a response's bytes against its loop's room, from its arrival
   * until each `hold` is matched by an `unhold` (its check, its chunks).
   */
  hold(held: HeldResponse): void {
    if (held.chunks++ > 0) return;
    held.loop.heldBytes += held.bytes;
    held.loop.heldResponses++;
  }

  /** Matches a `hold`; the response stops counting with the last one. */
  unhold(held: HeldResponse): void {
    if (--held.chunks > 0) return;
    const loop = held.loop;
    loop.heldBytes -= held.bytes;
    loop.heldResponses--;
    if (loop.waitingForRoom && this.hasRoom(loop)) loop.signal.notify();
  }

  /**
   * Whether the loop may send its next Fetch: while at most one of its
   * responses is being read (so fetching overlaps reading), or while the
   * responses it holds add up to fewer than maxBytes and queueCapacity.
   */
  hasRoom(loop: BrokerLoop): boolean {
    return loop.heldResponses <= 1 ||
      (loop.heldBytes < this.limits.maxBytes &&
        this.waitingMessages(loop) < this.limits.queueCapacity);
  }

  /** Waits until taking or dropping messages makes room in the loop (or it is woken). */
  async waitForRoom(loop: BrokerLoop): Promise<void> {
    loop.waitingForRoom = true;
    // Taking messages may make room: take() checks while any loop waits.
    const counted = this.limits.queueCapacity !== Infinity;
    if (counted) this.countWaiters++;
    await loop.signal.wait();
    if (counted) this.countWaiters--;
    loop.waitingForRoom = false;
  }

  /**
   * The loop's messages not yet taken: those of its chunks, less what was
   * taken of the one chunk being handed out (only that one can be partly
   * taken), counted here rather than on every take.
   */
  private waitingMessages(loop: BrokerLoop): number {
    const chunk = this.current?.chunks[0];
    if (chunk === undefined || chunk.held.loop !== loop) {
      return loop.heldMessages;
    }
    return loop.heldMessages - (chunk.count - chunk.messages.remaining);
  }
}
