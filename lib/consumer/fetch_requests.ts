/**
 * The fetch engine's requests and what their answers do: Metadata for a
 * partition's leader, ListOffsets for FirstOffset, LastOffset and times,
 * and one Fetch for a broker loop's partitions, whose answer is read
 * partition by partition: records queued for handing out, errors grouped
 * for a retry, OFFSET_OUT_OF_RANGE reset to `startOffset` (or the engine's
 * failure), a log that parts from what was read (KIP-320) read again from
 * where it parts.
 *
 * An answer counts only while it still applies: a partition revoked,
 * paused or sought since its request was sent ignores it.
 *
 * A partition's next Fetch starts where the answer's batch headers end, so
 * the loop sends it before checking the records (CRC, decompression): the
 * broker works on it while they are checked. The checks run one after
 * another, in the order the answers came.
 *
 * @module
 */

import type { TopicInfo } from "../cluster/cluster.ts";
import { backoff, retry } from "../cluster/retry.ts";
import { LastOffset } from "../requests/list_offsets.ts";
import type { BrokerConnection } from "../connection/connection.ts";
import { ClosedError, messageOf, untilAborted } from "../connection/errors.ts";
import type { TopicPartition } from "../message.ts";
import {
  ErrorCode,
  errorName,
  KafkaError,
  throwIfError,
} from "../protocol/errors.ts";
import {
  Fetch,
  type FetchResponse,
  type FetchResponsePartitionData,
} from "../protocol/messages/fetch.ts";
import { ListOffsets } from "../protocol/messages/list_offsets.ts";
import {
  checkRecords,
  type RecordsScan,
  scanRecords,
} from "../protocol/read_records.ts";
import {
  type Divergence,
  divergence,
  type FetchPartition,
  fetchRequest,
  fitNextFetch,
  rewind,
  truncationDetail,
  truncationError,
} from "../requests/fetch.ts";
import { FetchedMessages } from "../requests/fetched.ts";
import { listedOffset, listOffsetsRequest } from "../requests/list_offsets.ts";
import { decompressWith } from "../../codecs/mod.ts";
import { checkPartition } from "./fetch_options.ts";
import {
  type BrokerLoop,
  describeOffset,
  describePartitions,
  type EngineHub,
  type Entry,
  type HeldResponse,
  isTimeout,
  keyOf,
  type PartitionState,
} from "./fetch_state.ts";

const EMPTY = new Uint8Array(0);

/** Partition errors of one answer, reported once per kind of error. */
export class Failures {
  private readonly byKind = new Map<string, [unknown, PartitionState[]]>();
  /**
   * Partitions to route again at once (or at their `retryAt`), without a
   * failure: their leader named a replica to read from, their time on one
   * is up, or the replica could not serve them.
   */
  readonly moved: PartitionState[] = [];

  add(p: PartitionState, error: unknown): void {
    const kind = error instanceof KafkaError
      ? `code ${error.code}`
      : `${(error as Error)?.name}: ${messageOf(error)}`;
    const group = this.byKind.get(kind);
    if (group === undefined) this.byKind.set(kind, [error, [p]]);
    else group[1].push(p);
  }

  /** Each kind of error once, with the partitions that met it. */
  get groups(): Iterable<[unknown, PartitionState[]]> {
    return this.byKind.values();
  }
}

/** A partition's records that arrived, to be checked and queued. */
interface Arrived {
  state: PartitionState;
  /** The partition's generation when they were asked for. */
  generation: number;
  /** The offset they were fetched from. */
  from: number;
  /** The offset after them, where the next Fetch starts. */
  next: number;
  scan: RecordsScan;
  data: FetchResponsePartitionData;
  bytes: number;
}

/** The requests of the engine's loops and lookups, and their answers read. */
export class FetchRequests {
  private readonly hub: EngineHub;

  constructor(hub: EngineHub) {
    this.hub = hub;
  }

  /** The topic's metadata, fetched afresh when it lacks one of `ps`. */
  async metadata(
    topic: string,
    ps: readonly { partition: number }[],
  ): Promise<TopicInfo> {
    const has = (meta: TopicInfo) =>
      ps.every((p) => meta.partitions.some((i) => i.id === p.partition));
    const { cluster, lifetime } = this.hub;
    const cached = await untilAborted(
      cluster.topic(topic),
      lifetime,
      "Metadata lookup",
    );
    if (has(cached)) return cached;
    // The cache may predate partitions added since.
    return await untilAborted(
      cluster.topic(topic, { maxAge: 0 }),
      lifetime,
      "Metadata lookup",
    );
  }

  /** The error for a partition the topic lacks: retried, unless `unknownPartition` is "error". */
  unknownPartition(meta: TopicInfo, partition: number): Error {
    const count = meta.partitions.length;
    const has = `the topic has ${count} partition${count === 1 ? "" : "s"}`;
    if (this.hub.options.unknownPartition === "error") {
      return new RangeError(
        `Cannot read partition ${partition} of topic "${meta.name}": ${has}`,
      );
    }
    return new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, {
      apiName: "Metadata",
      topic: meta.name,
      detail: has,
    });
  }

  /**
   * `FetchEngine.listOffsets`: offsets of a partition for timestamps (or
   * FirstOffset, LastOffset), from its leader, retried with the engine's
   * backoff up to `maxAttempts`.
   */
  async listOffsets(
    partition: TopicPartition,
    timestamps: readonly number[],
    signal?: AbortSignal,
  ): Promise<number[]> {
    checkPartition("Cannot list offsets", partition);
    const hub = this.hub;
    // A lookup, not fetching: it works after a failure too.
    if (hub.closed()) {
      throw new ClosedError("Cannot list offsets: the fetch engine is closed");
    }
    const { topic, partition: id } = partition;
    const { maxAttempts, readBackoffMin, readBackoffMax } = hub.limits;
    const found = await retry(async () => {
      const meta = await this.metadata(topic, [partition]);
      if (!meta.partitions.some((i) => i.id === id)) {
        throw this.unknownPartition(meta, id);
      }
      // Not the fetch lane: a long poll there would hold these up.
      const { conn } = await hub.cluster.leader(topic, id, "reader");
      return await Promise.all(timestamps.map(async (timestamp) => {
        const response = await conn.request(
          ListOffsets,
          listOffsetsRequest(
            [{ topic, partition: id, timestamp }],
            hub.isolation,
          ),
          { signal },
        );
        return listedOffset(response, topic, id, conn.address);
      }));
    }, {
      maxAttempts,
      backoffMin: readBackoffMin,
      backoffMax: readBackoffMax,
      signal,
      onRetry: (error, attempt) => {
        hub.counters.errors++;
        if (isTimeout(error)) hub.counters.timeouts++;
        const of = maxAttempts === Infinity ? "" : ` of ${maxAttempts}`;
        hub.logError(
          `kafka reader: ListOffsets of partition ${id} of ${topic}, attempt ${attempt}${of} failed, retrying: ${
            messageOf(error)
          }`,
        );
        hub.cluster.invalidate(topic);
      },
    });
    const last = timestamps.indexOf(LastOffset);
    const p = hub.byKey.get(keyOf(topic, id));
    if (last >= 0 && p !== undefined) p.end = Math.max(p.end, found[last]);
    return found;
  }

  /** Looks up FirstOffset and LastOffset of `ps` in one ListOffsets request. */
  async resolveOffsets(
    conn: BrokerConnection,
    ps: PartitionState[],
    signal: AbortSignal,
  ): Promise<Failures> {
    const entries: Entry[] = ps.map((p) => ({
      state: p,
      generation: p.generation,
      fetchOffset: p.fetchOffset,
    }));
    const response = await conn.request(
      ListOffsets,
      listOffsetsRequest(
        ps.map((p) => ({
          topic: p.topic,
          partition: p.partition,
          timestamp: p.fetchOffset,
        })),
        this.hub.isolation,
      ),
      { signal },
    );
    this.hub.counters.offsetLookups++;
    const failed = new Failures();
    for (const e of entries) {
      if (!this.isCurrent(e)) continue;
      const p = e.state;
      try {
        const offset = listedOffset(
          response,
          p.topic,
          p.partition,
          conn.address,
        );
        if (offset < 0) {
          throw new KafkaError(ErrorCode.OFFSET_NOT_AVAILABLE, {
            apiName: "ListOffsets",
            topic: p.topic,
            partition: p.partition,
          });
        }
        p.fetchOffset = offset;
        if (p.chunks.length === 0) p.position = offset;
      } catch (error) {
        failed.add(p, error);
      }
    }
    return failed;
  }

  /** One Fetch for `batch`, its answer queued partition by partition. */
  async fetch(
    loop: BrokerLoop,
    conn: BrokerConnection,
    batch: PartitionState[],
    signal: AbortSignal,
  ): Promise<Failures> {
    const hub = this.hub;
    const { minBytes, maxBytes, maxWait, partitionMaxBytes } = hub.limits;
    const entries: Entry[] = [];
    const parts: FetchPartition[] = [];
    for (const p of batch) {
      entries.push({
        state: p,
        generation: p.generation,
        fetchOffset: p.fetchOffset,
      });
      parts.push({
        topic: p.topic,
        topicId: p.topicId,
        partition: p.partition,
        fetchOffset: p.fetchOffset,
        leaderEpoch: p.leaderEpoch,
        lastFetchedEpoch: p.lastEpoch,
        maxBytes: p.fitOffset === p.fetchOffset && p.fitBytes > 0
          ? p.fitBytes
          : partitionMaxBytes,
      });
      p.inFlight = true;
    }
    const version = conn.pickVersion(Fetch);
    const request = fetchRequest(parts, {
      minBytes,
      maxBytes,
      maxWait,
      isolationLevel: hub.isolation,
      rackId: hub.options.rack,
    }, version);
    loop.fetching = true;
    let response: FetchResponse;
    try {
      response = await conn.request(Fetch, request, {
        version,
        timeout: maxWait + (hub.cluster.options.requestTimeout ?? 30_000),
        signal,
        // The records of the response before are checked while the broker
        // works on this one.
        onSent: () => loop.startChecks(),
      });
    } finally {
      loop.fetching = false;
      for (const p of batch) p.inFlight = false;
    }
    hub.counters.fetches++;
    throwIfError(response.errorCode, { apiName: "Fetch" });
    const found = matchResponse(entries, response);
    let bytes = 0;
    let withRecords = 0;
    for (const data of found) {
      const size = data?.records?.length ?? 0;
      bytes += size;
      if (size > 0) withRecords++;
    }
    const held: HeldResponse = { loop, bytes, chunks: 0 };
    const failed = new Failures();
    const arrived: Arrived[] = [];
    for (let i = 0; i < entries.length && hub.active(); i++) {
      const e = entries[i];
      const data = found[i];
      if (data === undefined || !this.isCurrent(e)) continue;
      if (this.readElsewhere(loop, e.state, data, failed)) continue;
      if (data.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
        this.outOfRange(e, data);
        continue;
      }
      const diverged = data.errorCode === 0 ? divergence(data) : null;
      if (diverged !== null) {
        this.diverged(e, diverged);
        continue;
      }
      try {
        throwIfError(data.errorCode, {
          apiName: "Fetch",
          topic: e.state.topic,
          partition: e.state.partition,
        });
        const a = this.advance(e, data, withRecords > 1);
        if (a !== null) arrived.push(a);
      } catch (error) {
        if (this.isCurrent(e)) failed.add(e.state, error);
      }
    }
    if (arrived.length > 0) {
      hub.handOut.hold(held);
      loop.deferCheck(() => this.check(arrived, held, conn.address));
    }
    return failed;
  }

  /**
   * Fetching from the closest replica (KIP-392): true when the partition
   * is to be read from another broker, the leader having named a replica,
   * or the replica it is read from having failed (any error: it may lag,
   * or no longer hold the partition; the leader is asked again, after the
   * backoff of a failure). A replica's time is up after the cluster's
   * `metadataMaxAge`: then, after this response, the leader is asked
   * again, and names the replica that is right now.
   */
  private readElsewhere(
    loop: BrokerLoop,
    p: PartitionState,
    data: FetchResponsePartitionData,
    failed: Failures,
  ): boolean {
    const named = data.preferredReadReplica ?? -1;
    if (named >= 0 && named !== loop.id) {
      p.readReplica = named;
      p.readReplicaUntil = Date.now() + this.hub.cluster.metadataMaxAge;
      failed.moved.push(p);
      return true;
    }
    if (p.readReplica !== loop.id) return false;
    if (data.errorCode !== 0) {
      this.hub.logError(
        `kafka reader: broker ${loop.id}, the replica ${
          describePartitions([p])
        } is read from, answered ${
          errorName(data.errorCode)
        }: reading from its leader ${p.leaderId} again`,
      );
      // A failure as any other, but not one to stop the engine for.
      const { readBackoffMin, readBackoffMax } = this.hub.limits;
      this.hub.counters.errors++;
      this.hub.cluster.invalidate(p.topic);
      p.readReplica = -1;
      p.retryAt = Date.now() +
        backoff(++p.failures, {
          backoffMin: readBackoffMin,
          backoffMax: readBackoffMax,
        });
      failed.moved.push(p);
      return true;
    }
    if (Date.now() >= p.readReplicaUntil) {
      p.readReplica = -1;
      failed.moved.push(p);
    }
    return false;
  }

  /**
   * What a partition's batch headers tell at once: where its next Fetch
   * starts, so that it can be sent before these records are checked. Null
   * when there is nothing to check.
   */
  private advance(
    e: Entry,
    data: FetchResponsePartitionData,
    crowded: boolean,
  ): Arrived | null {
    const hub = this.hub;
    const p = e.state;
    const bytes = data.records ?? EMPTY;
    p.failures = 0;
    p.highWaterMark = data.highWatermark;
    p.end = hub.isolation === 1 && data.lastStableOffset >= 0
      ? data.lastStableOffset
      : data.highWatermark;
    if (bytes.length === 0) return null;
    const scan = scanRecords(bytes, e.fetchOffset);
    // Bytes but no step forward: the batch at the offset was cut off.
    if (scan.truncated || scan.nextOffset <= e.fetchOffset) {
      // Other partitions used up the response: the broker returns a batch
      // whole only to the first partition with data, so ask for this one
      // first next time.
      if (crowded) {
        p.first = true;
        return null;
      }
      const { maxBytes, partitionMaxBytes } = hub.limits;
      const limits = maxBytes === partitionMaxBytes
        ? `maxBytes ${maxBytes}); raise "maxBytes"`
        : `maxBytes ${maxBytes}, partitionMaxBytes ${partitionMaxBytes}); raise them`;
      throw new KafkaError(ErrorCode.MESSAGE_TOO_LARGE, {
        apiName: "Fetch",
        topic: p.topic,
        partition: p.partition,
        detail:
          `the batch at offset ${e.fetchOffset} does not fit in the ${bytes.length} bytes the broker returned (${limits}`,
      });
    }
    const arrived: Arrived = {
      state: p,
      generation: e.generation,
      from: e.fetchOffset,
      next: scan.nextOffset,
      scan,
      data,
      bytes: bytes.length,
    };
    p.fetchOffset = scan.nextOffset;
    p.fitOffset = scan.nextOffset;
    p.fitBytes = fitNextFetch(
      scan.cutBatchBytes,
      scan.largestBatch,
      hub.limits.partitionMaxBytes,
      hub.limits.minBytes,
    );
    if (scan.lastEpoch >= 0) p.lastEpoch = scan.lastEpoch;
    // Served: the others come before it in the next request.
    if (p.loop !== null) {
      p.loop.members.delete(p);
      p.loop.members.add(p);
    }
    return arrived;
  }

  /**
   * Checks a response's records (CRC, decompression, structure) and queues
   * them. Records that fail stop the engine, as retrying cannot fix them,
   * and nothing fetched after them comes out. Never rejects.
   */
  private async check(
    arrived: Arrived[],
    held: HeldResponse,
    address: string,
  ): Promise<void> {
    try {
      for (const a of arrived) {
        if (!this.stillCurrent(a)) continue;
        try {
          await this.absorb(a, held, address);
        } catch (error) {
          // Records of a partition revoked, paused or sought meanwhile no
          // longer count, nor does their failure.
          if (this.stillCurrent(a)) throw error;
        }
      }
    } catch (error) {
      this.hub.failWith(error);
    } finally {
      this.hub.handOut.unhold(held);
    }
  }

  /** Queues one partition's checked records from a response. */
  private async absorb(
    a: Arrived,
    held: HeldResponse,
    address: string,
  ): Promise<void> {
    const hub = this.hub;
    const p = a.state;
    const found = await checkRecords(a.scan, {
      fromOffset: a.from,
      decompress: decompressWith,
      abortedTransactions: a.data.abortedTransactions,
      where: `${p.topic}/${p.partition} from ${address}`,
      checkCrc: hub.options.checkCrcs,
    });
    // Revoked, paused or sought while the records were checked.
    if (!this.stillCurrent(a)) return;
    if (found.count > 0) {
      if (p.position < 0) p.position = a.from;
      const messages = new FetchedMessages(found, {
        topic: p.topic,
        partition: p.partition,
        highWaterMark: a.data.highWatermark,
        copyValues: hub.options.copyValues,
      });
      hub.handOut.queue(p, {
        messages,
        count: found.count,
        bytes: a.bytes,
        held,
      });
      hub.counters.messages += found.count;
      hub.counters.bytes += found.payloadBytes;
      const tally = hub.options.tally;
      if (tally !== undefined) {
        tally.records += found.count;
        tally.bytes += found.payloadBytes;
      }
    } else if (p.chunks.length === 0) {
      // Control records or aborted transactions were stepped over.
      p.position = a.next;
    }
  }

  /** OFFSET_OUT_OF_RANGE: back to startOffset, or the engine's failure. */
  private outOfRange(e: Entry, data: FetchResponsePartitionData): void {
    const hub = this.hub;
    const p = e.state;
    // Brokers may leave the bounds out (-1).
    const detail = data.logStartOffset >= 0 && data.highWatermark >= 0
      ? `offset ${e.fetchOffset} is outside ${data.logStartOffset}..${data.highWatermark}`
      : `offset ${e.fetchOffset} is out of range`;
    if (hub.options.offsetOutOfRange === "error") {
      hub.failWith(
        new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, {
          apiName: "Fetch",
          topic: p.topic,
          partition: p.partition,
          detail,
        }),
      );
      return;
    }
    hub.counters.errors++;
    hub.logError(
      `kafka reader: offset ${e.fetchOffset} is out of range for partition ${p.partition} of ${p.topic}; resetting to ${
        describeOffset(hub.startOffset)
      }`,
    );
    p.fetchOffset = hub.startOffset;
    p.lastEpoch = -1;
  }

  /**
   * The leader's log parts from what was read (KIP-320): below the fetch
   * offset, the records read past that point are gone (an unclean leader
   * election), so reading goes back to where the logs part, or stops under
   * `offsetOutOfRange: "error"`; at or past it, only the epoch is corrected.
   */
  private diverged(e: Entry, d: Divergence): void {
    const hub = this.hub;
    const p = e.state;
    const back = rewind(e.fetchOffset, p.position, d);
    if (back === null) {
      p.lastEpoch = d.epoch;
      return;
    }
    if (hub.options.offsetOutOfRange === "error") {
      hub.failWith(truncationError(p, e.fetchOffset, d));
      return;
    }
    hub.counters.errors++;
    hub.logError(
      `kafka reader: partition ${p.partition} of ${p.topic}: ${
        truncationDetail(e.fetchOffset, d)
      }; reading again from offset ${back.to}`,
    );
    hub.moveTo(p, back.to);
    p.lastEpoch = back.lastEpoch;
  }

  /** Whether records that arrived still apply (no seek, pause or revoke since). */
  private stillCurrent(a: Arrived): boolean {
    const p = a.state;
    return this.hub.active() && this.hub.byKey.get(p.key) === p &&
      p.generation === a.generation;
  }

  /** Whether an answer to a request for `e` still applies. */
  private isCurrent(e: Entry): boolean {
    const p = e.state;
    return this.hub.active() && this.hub.byKey.get(p.key) === p &&
      p.generation === e.generation && p.fetchOffset === e.fetchOffset;
  }
}

/** The response's data for each entry, matched by topic name or id. */
function matchResponse(
  entries: Entry[],
  response: FetchResponse,
): (FetchResponsePartitionData | undefined)[] {
  const index = new Map<string, Map<number, number>>();
  const nameOfId = new Map<string, string>();
  entries.forEach((e, i) => {
    const { topic, topicId, partition } = e.state;
    let byPartition = index.get(topic);
    if (byPartition === undefined) {
      byPartition = new Map();
      index.set(topic, byPartition);
      if (topicId !== "") nameOfId.set(topicId, topic);
    }
    byPartition.set(partition, i);
  });
  const found: (FetchResponsePartitionData | undefined)[] = new Array(
    entries.length,
  );
  for (const t of response.responses) {
    const name = index.has(t.topic) ? t.topic : nameOfId.get(t.topicId);
    const byPartition = name === undefined ? undefined : index.get(name);
    if (byPartition === undefined) continue;
    for (const data of t.partitions) {
      const i = byPartition.get(data.partitionIndex);
      if (i !== undefined) found[i] = data;
    }
  }
  return found;
}
