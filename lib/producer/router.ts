/**
 * Where a Writer's messages go: each message checked and turned into an
 * entry (its record fields, topic and size), balanced to a partition, and
 * appended to that partition's queue, whose open batch encodes it at once.
 *
 * A write whose partitions the metadata cache knows is routed within the
 * call, through one entry filled for each message in turn (`routeNow`).
 * Otherwise each message gets an entry of its own (`entries`), and the
 * engine places them once it has the partitions (`place`). Either way a
 * write is all or nothing: a malformed message or a balancer that throws
 * leaves nothing of the write in a queue.
 *
 * @module
 */

import {
  type BatchSettings,
  type Entry,
  PartitionQueue,
  PendingWrite,
} from "./batches.ts";
import {
  type Balancer,
  CRC32Balancer,
  Hash,
  JavaDefault,
  LeastBytes,
  Murmur2Balancer,
  ReferenceHash,
  RoundRobin,
} from "./balancers.ts";
import {
  askedPartition,
  checkFields,
  checkMessage,
  type MessageInput,
  partitionsText,
  toBytes,
  toHeaders,
  toTimestamp,
  wasRead,
} from "../message.ts";
import { FetchedMessage } from "../requests/fetched.ts";
import { describeValue } from "../options.ts";
import { BATCH_HEADER_SIZE, recordSizeBound } from "../protocol/records.ts";

/** A write's placeholder in the scratch entry between writes. */
const NO_WRITE = new PendingWrite([], 0, Infinity, false);

/** Prototypes of the balancers that keep nothing of a message. */
const BUILT_IN_BALANCERS = new Set<unknown>([
  RoundRobin.prototype,
  LeastBytes.prototype,
  Hash.prototype,
  ReferenceHash.prototype,
  CRC32Balancer.prototype,
  Murmur2Balancer.prototype,
  JavaDefault.prototype,
]);

/** A new entry with every field, so that all entries share one shape. */
function newEntry(write: PendingWrite): Entry {
  return {
    key: null,
    value: null,
    headers: undefined,
    timestamp: 0,
    topic: "",
    partition: -1,
    size: 0,
    write,
    index: 0,
    state: "routing",
  };
}

/**
 * A partition a message asked for that its topic does not have (per the
 * metadata the Writer routed with).
 */
export class MissingPartitionError extends RangeError {
  /** The message's topic. */
  readonly topic: string;
  /** The partition it asked for. */
  readonly partition: number;

  constructor(entry: Entry, partitions: readonly number[]) {
    const count = partitions.length;
    super(
      `Cannot write message ${entry.index}: topic "${entry.topic}" has no partition ${entry.partition} ${
        partitionsText(count)
      }`,
    );
    this.topic = entry.topic;
    this.partition = entry.partition;
  }
}

/** Whether a message of `entries` asks for a partition not in `partitions`. */
export function asksMissing(
  entries: readonly Entry[],
  partitions: readonly number[],
): boolean {
  for (const entry of entries) {
    const p = entry.partition;
    if (p >= 0 && partitions[p] !== p && !partitions.includes(p)) return true;
  }
  return false;
}

/** The partition `entry` asked for, when `partitions` has it. */
function chosenPartition(entry: Entry, partitions: readonly number[]): number {
  const p = entry.partition;
  if (partitions[p] === p || partitions.includes(p)) return p;
  throw new MissingPartitionError(entry, partitions);
}

/** What a write's messages came to, for the engine's byte bound. */
export interface Admitted {
  /** The size bounds of all its messages, the too large ones included. */
  bytes: number;
  /** Messages no batch can hold: each fails alone, the others go out. */
  tooLarge: Entry[] | undefined;
}

/** A write routed within the call. */
export interface Routed extends Admitted {
  /** The queues it appended to, each once. */
  queues: PartitionQueue[];
}

/** A write waiting for its partitions, an entry per message. */
export interface Prepared extends Admitted {
  /** The entries to place, the too large ones left out. */
  entries: Entry[];
}

/** A message taken back out of a queue, for the engine to settle. */
export type Unsent = Pick<Entry, "write" | "index" | "size" | "state">;

/** The Writer's partition queues, and how messages get into them. */
export class Router {
  /** Every queue made so far, for flushing, cancelling and aborting. */
  readonly queues = new Set<PartitionQueue>();
  private readonly byTopic = new Map<string, PartitionQueue[]>();
  private readonly topic: string | undefined;
  private readonly balancer: Balancer;
  /** Whether the balancer is the user's own, which may keep its entries. */
  private readonly custom: boolean;
  private readonly settings: BatchSettings;
  private readonly scratch = newEntry(NO_WRITE);
  /** Counts placements; a queue stamped with the current one was touched. */
  private placement = 0;

  constructor(
    topic: string | undefined,
    balancer: Balancer,
    settings: BatchSettings,
  ) {
    this.topic = topic;
    this.balancer = balancer;
    this.custom = !BUILT_IN_BALANCERS.has(Object.getPrototypeOf(balancer));
    this.settings = settings;
  }

  /**
   * Routes and encodes the messages of a write at once, through the one
   * scratch entry (the other path makes an object per message, for the
   * collector). Throws on a malformed message or a throwing balancer, with
   * the messages already queued taken out again.
   */
  routeNow(
    messages: MessageInput[],
    write: PendingWrite,
    now: number,
    partitions: readonly number[],
  ): Routed {
    const entry = this.scratch;
    entry.write = write;
    const queues: PartitionQueue[] = [];
    const stamp = ++this.placement;
    let tooLarge: Entry[] | undefined;
    let queue: PartitionQueue | undefined;
    let bytes = 0;
    try {
      for (let index = 0; index < messages.length; index++) {
        this.fill(entry, messages[index], index, now);
        bytes += entry.size;
        if (!this.fits(entry)) {
          (tooLarge ??= []).push({ ...entry });
          continue;
        }
        queue = this.append(entry, partitions, queue, queues, stamp);
      }
    } catch (error) {
      for (const q of queues) q.remove(write);
      throw error;
    } finally {
      // Let go of the last message's buffers and of the write.
      entry.write = NO_WRITE;
      entry.key = entry.value = null;
      entry.headers = undefined;
    }
    return { queues, bytes, tooLarge };
  }

  /**
   * An entry per message of a write whose partitions are not known yet.
   * Every message is checked before any is queued: one malformed message
   * throws, and nothing of the call is sent.
   */
  entries(
    messages: MessageInput[],
    write: PendingWrite,
    now: number,
  ): Prepared {
    const entries: Entry[] = [];
    let tooLarge: Entry[] | undefined;
    let bytes = 0;
    for (let index = 0; index < messages.length; index++) {
      const entry = newEntry(write);
      this.fill(entry, messages[index], index, now);
      bytes += entry.size;
      if (this.fits(entry)) entries.push(entry);
      else (tooLarge ??= []).push(entry);
    }
    return { entries, bytes, tooLarge };
  }

  /**
   * Appends the entries of one write, grouped with their topic's
   * partitions; skips entries settled meanwhile (cancelled). Throws when
   * the balancer does, with the write's messages taken out again.
   */
  place(
    write: PendingWrite,
    groups: readonly [Entry[], readonly number[]][],
    missing: [Entry, MissingPartitionError][],
  ): PartitionQueue[] {
    const queues: PartitionQueue[] = [];
    const stamp = ++this.placement;
    try {
      for (const [entries, partitions] of groups) {
        let queue: PartitionQueue | undefined;
        for (const entry of entries) {
          if (entry.state !== "routing") continue;
          // A message that stands alone fails alone (the caller fails it).
          if (write.alone && asksMissing([entry], partitions)) {
            missing.push([entry, new MissingPartitionError(entry, partitions)]);
            continue;
          }
          entry.state = "queued";
          queue = this.append(entry, partitions, queue, queues, stamp);
        }
      }
    } catch (error) {
      for (const q of queues) q.remove(write);
      throw error;
    }
    return queues;
  }

  /** Takes the waiting messages of `write` out of every queue. */
  remove(write: PendingWrite): Unsent[] {
    const removed: Unsent[] = [];
    for (const queue of this.queues) {
      for (const { index, size } of queue.remove(write)) {
        removed.push({ write, index, size, state: "queued" });
      }
    }
    return removed;
  }

  /**
   * Balances one entry and appends it to its partition's queue. `last` is
   * the queue the entry before went to: runs of one partition look nothing
   * up. A queue first touched in this placement joins `queues`.
   */
  private append(
    entry: Entry,
    partitions: readonly number[],
    last: PartitionQueue | undefined,
    queues: PartitionQueue[],
    stamp: number,
  ): PartitionQueue {
    // A balancer of the user's may keep what it is given: a copy of the
    // scratch entry, which the next message overwrites.
    const partition = entry.partition >= 0
      ? chosenPartition(entry, partitions)
      : this.custom
      ? this.balanceCustom(entry, partitions)
      : this.balancer.balance(entry, partitions);
    let queue = last;
    if (queue?.partition !== partition || queue.topic !== entry.topic) {
      queue = this.queue(entry.topic, partition);
      if (queue.placement !== stamp) {
        queue.placement = stamp;
        queues.push(queue);
      }
    }
    queue.append(entry);
    return queue;
  }

  /**
   * The partition a balancer of the user's picks, which must be one of
   * `partitions`: anything else would be retried until the delivery
   * timeout, as a partition the metadata does not know yet.
   */
  private balanceCustom(entry: Entry, partitions: readonly number[]): number {
    // It may keep what it is given: a copy of the scratch entry, which the
    // next message overwrites.
    const partition: unknown = this.balancer.balance(
      entry === this.scratch ? { ...entry } : entry,
      partitions,
    );
    if (
      typeof partition === "number" &&
      (partitions[partition] === partition || partitions.includes(partition))
    ) {
      return partition;
    }
    const count = partitions.length;
    throw new RangeError(
      `Cannot write message ${entry.index}: the balancer returned ${
        describeValue(partition)
      }, not a partition of topic "${entry.topic}" ${partitionsText(count)}`,
    );
  }

  private fits(entry: Entry): boolean {
    return entry.size + BATCH_HEADER_SIZE <= this.settings.batchBytes;
  }

  /** Checks a message; puts its record fields, topic and size in `entry`. */
  private fill(
    entry: Entry,
    message: MessageInput,
    index: number,
    now: number,
  ): void {
    checkMessage(message, index);
    checkFields(message, index);
    const topic = this.topicOf(message, index);
    // A message read from Kafka (a mirror) hands over its record's time and
    // headers as they are: no Date, no header lists for records without.
    const fetched = message instanceof FetchedMessage;
    const headers = fetched ? FetchedMessage.headersOf(message) : null;
    entry.key = toBytes(message.key, "key", index);
    const value = message.value;
    entry.value = toBytes(value, "value", index);
    entry.headers = headers !== null
      ? headers
      : toHeaders(message.headers, index);
    entry.timestamp = fetched
      ? FetchedMessage.timestampOf(message)
      : toTimestamp(message.time, now, index);
    entry.topic = topic;
    // Where a message read from Kafka was is no place to write it to.
    const partition = message.partition;
    entry.partition = partition === undefined || wasRead(message)
      ? -1
      : askedPartition(partition, index);
    entry.index = index;
    entry.size = recordSizeBound(entry);
  }

  private topicOf(message: MessageInput, index: number): string {
    const own = this.topic;
    const given = message?.topic;
    // A message read from Kafka (it has an offset) names where it came from,
    // not where to go: a Writer with a topic takes it, so that
    // `reader.pipeTo(writer)` mirrors a topic.
    if (own !== undefined && given !== undefined && !wasRead(message)) {
      throw new TypeError(
        `Cannot write message ${index}: the Writer has topic "${own}", so the message must not set one (it set ${
          describeValue(given)
        })`,
      );
    }
    const topic = own ?? given;
    if (typeof topic !== "string" || topic === "") {
      throw new TypeError(
        given === undefined
          ? `Cannot write message ${index}: it has no topic, and neither does the Writer`
          : `Cannot write message ${index}: "topic" must be a non-empty string, got ${
            describeValue(given)
          }`,
      );
    }
    return topic;
  }

  /** The queue of a topic-partition; looked up per message, so no string keys. */
  private queue(topic: string, partition: number): PartitionQueue {
    let byPartition = this.byTopic.get(topic);
    if (!byPartition) {
      byPartition = [];
      this.byTopic.set(topic, byPartition);
    }
    let queue = byPartition[partition];
    if (!queue) {
      queue = new PartitionQueue(topic, partition, this.settings);
      byPartition[partition] = queue;
      this.queues.add(queue);
    }
    return queue;
  }
}
