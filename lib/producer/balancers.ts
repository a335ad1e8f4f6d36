/**
 * Balancers: how a Writer picks the partition of each message, with kafka-go's
 * set of them (RoundRobin, LeastBytes, Hash, ReferenceHash, CRC32Balancer,
 * Murmur2Balancer) and the product's default, {@link JavaDefault}.
 *
 * The key-hashing balancers exist to agree with other clients, so that a
 * topic written by several of them keeps each key on one partition. Each one
 * names the client it agrees with, and how that client treats a null key
 * (no key at all) and an empty key (zero bytes), which are not the same.
 *
 * A balancer may keep state (a counter, byte totals), so use one per topic:
 * sharing one between topics with different partition lists skews its spread.
 *
 * @example Route keyed messages the way the Java client does
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const balancer = defaultBalancer();
 * const key = new TextEncoder().encode("user-42");
 * const partition = balancer.balance({ key }, [0, 1, 2, 3]);
 * assert.equal(balancer.balance({ key }, [0, 1, 2, 3]), partition);
 * ```
 *
 * @module
 */

import { crc32 } from "../protocol/crc32c.ts";
import { checkCallOptions } from "../options.ts";

/** What a balancer may look at: a `Message` or `MessageInput` after encoding. */
export interface BalancerMessage {
  /** Null means no key, which the hashing balancers treat apart from empty. */
  key: Uint8Array | null;
  /** Counted by `LeastBytes`; the others ignore it. */
  value?: Uint8Array | null | undefined;
}

/**
 * Picks the partition of a message. Implement it to route messages yourself.
 *
 * @example A balancer that sends everything to the last partition
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const last: Balancer = {
 *   balance: (_message, partitions) => partitions[partitions.length - 1],
 * };
 * assert.equal(last.balance({ key: null }, [0, 1, 2]), 2);
 * ```
 */
export interface Balancer {
  /**
   * Returns one of `partitions`, which the Writer passes sorted ascending and
   * never empty (the built-in balancers throw a RangeError if it is).
   */
  balance(message: BalancerMessage, partitions: readonly number[]): number;
}

/** Options of {@link RoundRobin}. */
export interface RoundRobinOptions {
  /**
   * How many consecutive messages go to one partition before moving to the
   * next: larger chunks make larger batches. A positive integer; default 1.
   */
  chunkSize?: number | undefined;
}

/**
 * Spreads messages evenly, `chunkSize` consecutive messages per partition, as
 * kafka-go's `RoundRobin`. Keys are ignored.
 *
 * The position is kept as a count of whole chunks, and taken modulo the
 * length of the partition list it is given, so a list that grows or shrinks
 * carries on from the same count, as in kafka-go.
 *
 * @example Two messages per partition
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const balancer = new RoundRobin({ chunkSize: 2 });
 * const picks = [1, 2, 3, 4, 5].map(() =>
 *   balancer.balance({ key: null }, [0, 1, 2])
 * );
 * assert.deepEqual(picks, [0, 0, 1, 1, 2]);
 * ```
 */
export class RoundRobin implements Balancer {
  readonly #chunkSize: number;
  /** Chunks completed so far; selects the partition. */
  #chunk = 0;
  /** Messages sent within the current chunk. */
  #sent = 0;

  /** Throws unless `chunkSize` is a positive integer. */
  constructor(options: RoundRobinOptions = {}) {
    checkCallOptions("Cannot create RoundRobin", options, CHUNK_SIZE);
    this.#chunkSize = positiveInteger(
      "RoundRobin",
      "chunkSize",
      options.chunkSize ?? 1,
    );
  }

  balance(_message: BalancerMessage, partitions: readonly number[]): number {
    requirePartitions(partitions);
    const partition = partitions[this.#chunk % partitions.length];
    this.#sent++;
    if (this.#sent === this.#chunkSize) {
      this.#sent = 0;
      this.#chunk++;
    }
    return partition;
  }
}

/**
 * Sends each message to the partition that has received the fewest bytes
 * (key plus value; a null one counts as 0) from this balancer, as kafka-go's
 * `LeastBytes`; a tie goes to the partition listed first, the lowest one.
 *
 * The totals belong to one partition list: when the list changes they all
 * restart from zero, as kafka-go does when partitions are added or lost, so a
 * new partition is not flooded to catch up with the old ones' history.
 * Nothing is shared between producers, so the balance is per Writer.
 *
 * @example The smaller partition gets the next message
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const balancer = new LeastBytes();
 * const big = { key: null, value: new Uint8Array(100) };
 * const small = { key: null, value: new Uint8Array(10) };
 * assert.equal(balancer.balance(big, [0, 1]), 0);
 * assert.equal(balancer.balance(small, [0, 1]), 1);
 * assert.equal(balancer.balance(small, [0, 1]), 1);
 * ```
 */
export class LeastBytes implements Balancer {
  /** The list the totals belong to, copied so callers may reuse theirs. */
  #partitions: number[] = [];
  /** Bytes sent per entry of `#partitions`; doubles stay exact to 2^53. */
  #bytes = new Float64Array(0);

  balance(message: BalancerMessage, partitions: readonly number[]): number {
    requirePartitions(partitions);
    if (!sameList(this.#partitions, partitions)) this.#restart(partitions);
    const bytes = this.#bytes;
    let least = 0;
    for (let i = 1; i < bytes.length; i++) {
      if (bytes[i] < bytes[least]) least = i;
    }
    bytes[least] += byteLength(message.key) + byteLength(message.value);
    return this.#partitions[least];
  }

  #restart(partitions: readonly number[]): void {
    this.#partitions = partitions.slice();
    this.#bytes = new Float64Array(partitions.length);
  }
}

/**
 * Hashes the key with FNV-1a (32 bits) and picks `|int32(hash) % n|`, as
 * sarama's `NewHashPartitioner` and kafka-go's `Hash` do, so kafka-go, sarama
 * and librdkafka's `fnv1a` partitioner agree on every key.
 *
 * Keys: a null key goes round robin (kafka-go; sarama picks at random); an
 * empty key is a key like any other and always lands on the same partition.
 *
 * The absolute value is taken after the remainder. Sarama meant to make the
 * hash positive the way the Java client does (clear the sign bit first),
 * which picks another partition for keys whose hash has the sign bit set;
 * both behaviours are in use, so both are here: {@link ReferenceHash} is the
 * other one.
 *
 * @example The same key, the same partition
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const balancer = new Hash();
 * const key = new TextEncoder().encode("blah");
 * assert.equal(balancer.balance({ key }, [0, 1, 2]), 1);
 * ```
 */
export class Hash implements Balancer {
  readonly #unkeyed = new RoundRobin();

  balance(message: BalancerMessage, partitions: readonly number[]): number {
    requirePartitions(partitions);
    const key = message.key;
    if (!key) return this.#unkeyed.balance(message, partitions);
    // `| 0` reads the hash as a signed int32, as sarama's int32 conversion;
    // `%` truncates toward zero like Go's, so the sign survives to `abs`.
    const index = Math.abs((fnv1a32(key) | 0) % partitions.length);
    return partitions[index];
  }
}

/**
 * Hashes the key with FNV-1a (32 bits) and picks `(hash & 0x7fffffff) % n`,
 * as sarama's `NewReferenceHashPartitioner` and kafka-go's `ReferenceHash`:
 * the sign bit is cleared before the remainder, the way the Java client
 * makes a hash positive, where {@link Hash} takes the absolute value after.
 *
 * Keys: a null key gets a random partition (sarama and kafka-go alike); an
 * empty key is hashed like any other.
 *
 * @example A key whose FNV-1a hash has the sign bit set
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const key = new TextEncoder().encode("20");
 * const sixteen = Array.from({ length: 16 }, (_, i) => i);
 * assert.equal(new ReferenceHash().balance({ key }, sixteen), 15);
 * assert.equal(new Hash().balance({ key }, sixteen), 1);
 * ```
 */
export class ReferenceHash implements Balancer {
  balance(message: BalancerMessage, partitions: readonly number[]): number {
    requirePartitions(partitions);
    const key = message.key;
    if (!key) return randomPartition(partitions);
    return partitions[(fnv1a32(key) & 0x7fffffff) % partitions.length];
  }
}

/** Options of {@link CRC32Balancer}. */
export interface CRC32BalancerOptions {
  /**
   * Hash null and empty keys too (librdkafka's `consistent`), sending all of
   * them to one partition, instead of picking a random partition for them
   * (`consistent_random`, the default). Leave it off unless every message
   * has a key, or that one partition runs hot.
   */
  consistent?: boolean | undefined;
}

/**
 * Picks `crc32(key) % n` with the IEEE CRC-32, as librdkafka's `consistent`
 * and `consistent_random` partitioners (the default of librdkafka and the
 * clients built on it, such as confluent-kafka-go) and kafka-go's
 * `CRC32Balancer`.
 *
 * Keys: librdkafka does not tell a null key from an empty one. By default both
 * get a random partition; with `consistent: true` both hash, as zero bytes, to
 * the first partition (the CRC-32 of nothing is 0).
 *
 * @example Agreeing with a librdkafka producer
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const key = new TextEncoder().encode("SheetJS");
 * const hundred = Array.from({ length: 100 }, (_, i) => i);
 * assert.equal(new CRC32Balancer().balance({ key }, hundred), 26);
 * ```
 */
export class CRC32Balancer implements Balancer {
  readonly #consistent: boolean;

  /** Throws a TypeError unless `consistent` is a boolean or unset. */
  constructor(options: CRC32BalancerOptions = {}) {
    checkCallOptions("Cannot create CRC32Balancer", options, CONSISTENT);
    this.#consistent = flag("CRC32Balancer", "consistent", options.consistent);
  }

  balance(message: BalancerMessage, partitions: readonly number[]): number {
    requirePartitions(partitions);
    const key = message.key ?? EMPTY;
    if (key.length === 0 && !this.#consistent) {
      return randomPartition(partitions);
    }
    return partitions[crc32(key) % partitions.length];
  }
}

/** Options of {@link Murmur2Balancer}. */
export interface Murmur2BalancerOptions {
  /**
   * Hash null keys as if they were empty (librdkafka's `murmur2`), sending all
   * of them to one partition, instead of picking a random partition for them
   * (`murmur2_random`, the default). Empty keys hash either way.
   */
  consistent?: boolean | undefined;
}

/**
 * Picks `toPositive(murmur2(key)) % n`, the Java client's partition for a
 * keyed message, as librdkafka's `murmur2` / `murmur2_random` partitioners
 * and kafka-go's `Murmur2Balancer`.
 *
 * Keys: an empty key hashes like any other (Java and librdkafka both hash
 * zero bytes). A null key gets a random partition by default, as kafka-go and
 * librdkafka's `murmur2_random`; with `consistent: true` it hashes as an empty
 * key. The Java client instead spreads null keys in sticky batches; for that
 * flavour use {@link JavaDefault}.
 *
 * @example Agreeing with the Java client on a keyed message
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const key = new TextEncoder().encode("abc");
 * const thousand = Array.from({ length: 1000 }, (_, i) => i);
 * assert.equal(new Murmur2Balancer().balance({ key }, thousand), 107);
 * ```
 */
export class Murmur2Balancer implements Balancer {
  readonly #consistent: boolean;

  /** Throws a TypeError unless `consistent` is a boolean or unset. */
  constructor(options: Murmur2BalancerOptions = {}) {
    checkCallOptions("Cannot create Murmur2Balancer", options, CONSISTENT);
    this.#consistent = flag(
      "Murmur2Balancer",
      "consistent",
      options.consistent,
    );
  }

  balance(message: BalancerMessage, partitions: readonly number[]): number {
    requirePartitions(partitions);
    const key = message.key;
    if (!key && !this.#consistent) return randomPartition(partitions);
    return partitions[javaKeyIndex(key ?? EMPTY, partitions.length)];
  }
}

/** Options of {@link JavaDefault}. */
export interface JavaDefaultOptions {
  /**
   * Most null-key messages in a row on one partition before the next one
   * takes over: a positive integer, default 100 (a Writer's default
   * `batchSize`; a Writer's own default balancer takes its `batchSize`).
   */
  chunkSize?: number | undefined;
  /**
   * Most bytes of null-key messages in a row on one partition (each counts
   * its value's length and 20 more, about its record's framing): a positive
   * integer, default 1 MiB (a Writer's default `batchBytes`; a Writer's own
   * default balancer takes its `batchBytes`).
   */
  chunkBytes?: number | undefined;
}

/**
 * What a null-key message counts for {@link JavaDefault}'s `chunkBytes`
 * beyond its value: about what a record's framing takes (length, attributes,
 * timestamp and offset deltas, key and value lengths, header count).
 */
const STICKY_RECORD_OVERHEAD = 20;

/**
 * The default balancer, the Java client's: keyed messages go to
 * `toPositive(murmur2(key)) % n`, and messages without a key stick to one
 * partition for a batch's worth, then move on to the next partition.
 *
 * Why not kafka-go's default (`RoundRobin` for everything)? Keys are how
 * applications ask for per-key order, and most Kafka producers in a mixed
 * deployment are the Java client or follow it (librdkafka's `murmur2_random`
 * is documented as Java-compatible), so agreeing with it keeps a key on one
 * partition whichever client wrote it.
 *
 * Keys: any non-null key is hashed, the empty one included, as the Java
 * client does for any serialized key bytes.
 *
 * Null keys: the Java client's sticky partitioning (KIP-480, KIP-794).
 * Spreading them one by one would cut every write into one small batch per
 * partition: 1,000 messages over 1,024 partitions make a thousand batches of
 * one, and the broker's cost is per batch. Instead a run of null-key messages
 * stays on one partition until it holds `chunkSize` messages or the next
 * would take it past `chunkBytes`, which a Writer sets to its batch limits,
 * so each run fills a batch; then the next partition in the list takes the
 * next run. Over time the partitions get the same share. The first run
 * starts on a random partition, so that Writers started together do not all
 * begin on the first one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const balancer = new JavaDefault({ chunkSize: 2 });
 * const partitions = [0, 1, 2];
 * const first = balancer.balance({ key: null }, partitions);
 * assert.equal(balancer.balance({ key: null }, partitions), first);
 * assert.equal(
 *   balancer.balance({ key: null }, partitions),
 *   (first + 1) % 3,
 * );
 * ```
 */
export class JavaDefault implements Balancer {
  readonly #chunkSize: number;
  readonly #chunkBytes: number;
  /** Runs begun so far, from a random start; selects the partition. */
  #run = -1;
  /** Messages and bytes of the current run. */
  #count = 0;
  #bytes = 0;

  /** Throws unless `chunkSize` and `chunkBytes` are positive integers. */
  constructor(options: JavaDefaultOptions = {}) {
    checkCallOptions("Cannot create JavaDefault", options, CHUNKS);
    this.#chunkSize = positiveInteger(
      "JavaDefault",
      "chunkSize",
      options.chunkSize ?? 100,
    );
    this.#chunkBytes = positiveInteger(
      "JavaDefault",
      "chunkBytes",
      options.chunkBytes ?? 1024 * 1024,
    );
  }

  balance(message: BalancerMessage, partitions: readonly number[]): number {
    requirePartitions(partitions);
    const key = message.key;
    if (key) return partitions[javaKeyIndex(key, partitions.length)];
    const size = byteLength(message.value) + STICKY_RECORD_OVERHEAD;
    if (this.#run < 0) {
      this.#run = Math.floor(Math.random() * partitions.length);
    } else if (
      this.#count >= this.#chunkSize ||
      this.#bytes + size > this.#chunkBytes
    ) {
      this.#run++;
      this.#count = 0;
      this.#bytes = 0;
    }
    this.#count++;
    this.#bytes += size;
    return partitions[this.#run % partitions.length];
  }
}

/**
 * A new instance of the default balancer, {@link JavaDefault}. A new one each
 * call, since a balancer keeps per-topic state.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.ok(defaultBalancer() instanceof JavaDefault);
 * ```
 */
export function defaultBalancer(): Balancer {
  return new JavaDefault();
}

/**
 * The 32-bit FNV-1a hash of `data`, unsigned, as Go's `hash/fnv` `New32a`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(fnv1a32(new Uint8Array(0)), 0x811c9dc5);
 * ```
 */
export function fnv1a32(data: Uint8Array): number {
  let hash = FNV_OFFSET_BASIS;
  for (let i = 0; i < data.length; i++) {
    hash = Math.imul(hash ^ data[i], FNV_PRIME);
  }
  return hash >>> 0;
}

/**
 * The Java client's `Utils.murmur2` of `data`, as an unsigned 32-bit number;
 * `murmur2(data) | 0` is the `int` Java returns.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(murmur2(new TextEncoder().encode("21")) | 0, -973932308);
 * ```
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  // Java works in `int`: Math.imul is its wrapping multiply, `>>>` its
  // unsigned shift, and the bitwise operators keep values in int32.
  let hash = MURMUR2_SEED ^ length;
  const tail = length & ~3;
  for (let i = 0; i < tail; i += 4) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) |
      (data[i + 3] << 24);
    k = Math.imul(k, MURMUR2_M);
    k ^= k >>> 24;
    k = Math.imul(k, MURMUR2_M);
    hash = Math.imul(hash, MURMUR2_M) ^ k;
  }
  // Java's switch falls through: three trailing bytes take all three steps.
  const extra = length & 3;
  if (extra === 3) hash ^= data[tail + 2] << 16;
  if (extra >= 2) hash ^= data[tail + 1] << 8;
  if (extra >= 1) hash = Math.imul(hash ^ data[tail], MURMUR2_M);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, MURMUR2_M);
  hash ^= hash >>> 15;
  return hash >>> 0;
}

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const MURMUR2_SEED = 0x9747b28c;
const MURMUR2_M = 0x5bd1e995;

/** Shared stand-in for a null key that must be hashed as zero bytes. */
const EMPTY = new Uint8Array(0);

/** Java's `BuiltInPartitioner.partitionForKey`: `toPositive` clears the sign. */
function javaKeyIndex(key: Uint8Array, count: number): number {
  return (murmur2(key) & 0x7fffffff) % count;
}

function randomPartition(partitions: readonly number[]): number {
  return partitions[Math.floor(Math.random() * partitions.length)];
}

function byteLength(bytes: Uint8Array | null | undefined): number {
  return bytes ? bytes.length : 0;
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return false;
  }
  return true;
}

function requirePartitions(partitions: readonly number[]): void {
  if (partitions.length === 0) {
    throw new RangeError(
      "Cannot balance message: the partition list is empty",
    );
  }
}

function positiveInteger(owner: string, name: string, value: unknown): number {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot create ${owner}: "${name}" must be a number, got ${show(value)}`,
    );
  }
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot create ${owner}: "${name}" must be a positive integer, got ${value}`,
    );
  }
  return value;
}

function flag(owner: string, name: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean") {
    throw new TypeError(
      `Cannot create ${owner}: "${name}" must be a boolean, got ${show(value)}`,
    );
  }
  return value;
}

const CHUNK_SIZE: ReadonlySet<string> = new Set(["chunkSize"]);
const CONSISTENT: ReadonlySet<string> = new Set(["consistent"]);
const CHUNKS: ReadonlySet<string> = new Set(["chunkSize", "chunkBytes"]);

/** Strings quoted, so `"1"` and `1` read differently in a message. */
function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}
