/**
 * The Fetch request, built once for `Conn` and the Reader: the request for
 * any number of topic-partitions, and one partition's data in the response.
 *
 * @module
 */

import type { Encodable } from "../protocol/api.ts";
import { ProtocolError } from "../protocol/bytes.ts";
import { ErrorCode, KafkaError, throwIfError } from "../protocol/errors.ts";
import type {
  FetchRequest,
  FetchResponse,
  FetchResponsePartitionData,
} from "../protocol/messages/fetch.ts";

/** One partition to fetch, and where from. */
export interface FetchPartition {
  topic: string;
  /** The topic's id (Fetch v13+ names topics by id only). */
  topicId: string;
  partition: number;
  fetchOffset: number;
  /** The leader epoch the client knows, -1 for none. */
  leaderEpoch: number;
  /**
   * The leader epoch of the last batch read before `fetchOffset`, -1 for
   * none; with it the leader answers a `divergingEpoch` when its log no
   * longer holds what was read (KIP-320).
   */
  lastFetchedEpoch?: number | undefined;
  /** Most bytes of this partition (a larger first batch still comes whole). */
  maxBytes: number;
}

/** The settings of one Fetch request. */
export interface FetchSettings {
  /** Bytes the broker gathers before it answers. */
  minBytes: number;
  /** Most bytes of the whole response. */
  maxBytes: number;
  /** Milliseconds the broker may wait for minBytes. */
  maxWait: number;
  /** 0: read_uncommitted, 1: read_committed. */
  isolationLevel: number;
  /**
   * The client's rack (KIP-392): a broker with a rack-aware replica
   * selector answers with the replica to read from. Default "".
   */
  rackId?: string | undefined;
}

/**
 * Bytes to ask of a partition whose last answer ended in part of a batch of
 * `cutBatchBytes` (the batch its next Fetch starts with), after complete
 * batches of at most `largestBatch`; 0 to ask for `limit`.
 *
 * The broker fills a partition's answer up to the limit, so an answer ends
 * in part of a batch, which is fetched again whole next time. When that
 * batch and one more like those before it would not fit in the limit, a
 * request for the limit brings the batch and part of the next: bytes read
 * off the socket for nothing (half of all bytes fetched when batches
 * alternate between 940 KB and 160 KB under a 1 MiB limit). Asking for just
 * the batch brings the same records, whole. `minBytes` above the batch
 * would hold the answer back until `maxWait`, so it is never asked for
 * alone then.
 *
 * @example
 * ```ts
 * import { fitNextFetch } from "./fetch.ts";
 *
 * fitNextFetch(160_000, 940_000, 1 << 20, 1); // 160000
 * fitNextFetch(100_000, 100_000, 1 << 20, 1); // 0: ten more fit
 * ```
 */
export function fitNextFetch(
  cutBatchBytes: number,
  largestBatch: number,
  limit: number,
  minBytes: number,
): number {
  if (cutBatchBytes <= 0 || cutBatchBytes > limit) return 0;
  if (cutBatchBytes < minBytes) return 0;
  const another = largestBatch > 0 ? largestBatch : cutBatchBytes;
  return cutBatchBytes + another > limit ? cutBatchBytes : 0;
}

/**
 * A Fetch request for `partitions`, grouped by topic in their order, to send
 * at `version` (`conn.pickVersion(Fetch)`): below v12 (Kafka 2.7) it carries
 * no `lastFetchedEpoch`, and the leader detects no divergence.
 */
export function fetchRequest(
  partitions: readonly FetchPartition[],
  settings: FetchSettings,
  version: number,
): Encodable<FetchRequest> {
  const epochs = version >= 12;
  type Topic = {
    topic: string;
    topicId: string;
    partitions: Encodable<
      FetchRequest["topics"][number]["partitions"]
    >[number][];
  };
  const topics: Topic[] = [];
  const byTopic = new Map<string, Topic>();
  for (const p of partitions) {
    let entry = byTopic.get(p.topic);
    if (entry === undefined) {
      entry = { topic: p.topic, topicId: p.topicId, partitions: [] };
      byTopic.set(p.topic, entry);
      topics.push(entry);
    }
    entry.partitions.push({
      partition: p.partition,
      fetchOffset: p.fetchOffset,
      partitionMaxBytes: p.maxBytes,
      currentLeaderEpoch: p.leaderEpoch,
      lastFetchedEpoch: epochs ? p.lastFetchedEpoch ?? -1 : -1,
      logStartOffset: -1,
    });
  }
  return {
    replicaId: -1,
    maxWaitMs: settings.maxWait,
    minBytes: settings.minBytes,
    maxBytes: settings.maxBytes,
    isolationLevel: settings.isolationLevel,
    sessionId: 0,
    sessionEpoch: -1,
    topics,
    forgottenTopicsData: [],
    rackId: settings.rackId ?? "",
  };
}

/**
 * One partition's data in a Fetch response. Throws the response's own error
 * code, or a ProtocolError naming `address` when the partition is missing;
 * the partition's error code is left to the caller.
 */
export function fetchedPartition(
  response: FetchResponse,
  want: Pick<FetchPartition, "topic" | "topicId" | "partition">,
  address: string,
): FetchResponsePartitionData {
  const { topic, topicId, partition } = want;
  throwIfError(response.errorCode, { apiName: "Fetch", topic, partition });
  for (const t of response.responses) {
    if (t.topic !== topic && t.topicId !== topicId) continue;
    const data = t.partitions.find((p) => p.partitionIndex === partition);
    if (data) return data;
  }
  throw new ProtocolError(
    `Fetch response from ${address} has no entry for ${topic}/${partition}`,
  );
}

/** Where a leader's log parted from what the client read (KIP-320). */
export interface Divergence {
  /** The largest epoch of the leader's log at or below `lastFetchedEpoch`. */
  epoch: number;
  /** Where that epoch ends in the leader's log. */
  endOffset: number;
}

/**
 * The divergence a Fetch response reports for one partition, or null: the
 * leader answers one when the `lastFetchedEpoch` sent does not end where
 * the client's `fetchOffset` says, as after an unclean leader election.
 */
export function divergence(
  data: FetchResponsePartitionData,
): Divergence | null {
  const d = data.divergingEpoch;
  if (d === undefined || d.epoch < 0 || d.endOffset < 0) return null;
  return { epoch: d.epoch, endOffset: d.endOffset };
}

/**
 * The error for a log truncated below the position, when the reader was told
 * to fail rather than move (`offsetOutOfRange: "error"`): Kafka's Java
 * client's LogTruncationException is an OffsetOutOfRangeException too.
 */
export function truncationError(
  where: { topic: string; partition: number },
  fetchOffset: number,
  d: Divergence,
): KafkaError {
  return new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, {
    apiName: "Fetch",
    topic: where.topic,
    partition: where.partition,
    detail: truncationDetail(fetchOffset, d),
  });
}

/**
 * Where reading goes after a divergence, and the epoch to send next: null
 * when the leader's log holds everything read (only the epoch was stale).
 * Messages still queued below the truncation (`position`, the next one to
 * hand out, -1 for none) are fetched again rather than skipped.
 */
export function rewind(
  fetchOffset: number,
  position: number,
  d: Divergence,
): { to: number; lastEpoch: number } | null {
  if (d.endOffset >= fetchOffset) return null;
  const to = position >= 0 ? Math.min(position, d.endOffset) : d.endOffset;
  return { to, lastEpoch: to === d.endOffset ? d.epoch : -1 };
}

/** Says what a divergence means, for logs and errors. */
export function truncationDetail(fetchOffset: number, d: Divergence): string {
  return `the leader's log was truncated: it ends epoch ${d.epoch} at offset ${d.endOffset}, below offset ${fetchOffset} already read (an unclean leader election lost records)`;
}
