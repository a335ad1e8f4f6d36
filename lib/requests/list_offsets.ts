/**
 * The ListOffsets request, built once for `Conn` and the Reader: offsets of
 * partitions at a time, or at their start (-2) or end (-1).
 *
 * @module
 */

import type { Encodable } from "../protocol/api.ts";
import { ProtocolError } from "../protocol/bytes.ts";
import { throwIfError } from "../protocol/errors.ts";
import type {
  ListOffsetsRequest,
  ListOffsetsResponse,
} from "../protocol/messages/list_offsets.ts";

/**
 * The partition's first offset, for Conn and Reader (kafka-go's
 * FirstOffset): ListOffsets' timestamp for it.
 *
 * @example
 * ```ts
 * import { FirstOffset, Reader } from "jsr:@streamkafka/client";
 *
 * const reader = new Reader({
 *   brokers: ["localhost:9092"],
 *   topic: "docs-first-offset",
 *   partition: 0,
 *   startOffset: FirstOffset,
 * });
 * await reader.close();
 * ```
 */
export const FirstOffset: -2 = -2;
/**
 * The partition's end, where the next message goes (kafka-go's
 * LastOffset): ListOffsets' timestamp for it.
 *
 * @example
 * ```ts
 * import { LastOffset, Reader } from "jsr:@streamkafka/client";
 *
 * // Only messages written from now on.
 * const reader = new Reader({
 *   brokers: ["localhost:9092"],
 *   topic: "docs-last-offset",
 *   partition: 0,
 *   startOffset: LastOffset,
 * });
 * await reader.close();
 * ```
 */
export const LastOffset: -1 = -1;

/** One partition's offset to look up. */
export interface OffsetQuery {
  topic: string;
  partition: number;
  /** Milliseconds since the epoch, or -2 (first offset), -1 (last offset). */
  timestamp: number;
}

/** A ListOffsets request for `queries`, grouped by topic in their order. */
export function listOffsetsRequest(
  queries: readonly OffsetQuery[],
  isolationLevel: number,
): Encodable<ListOffsetsRequest> {
  type Topic = {
    name: string;
    partitions: {
      partitionIndex: number;
      timestamp: number;
      currentLeaderEpoch: number;
    }[];
  };
  const topics: Topic[] = [];
  const byTopic = new Map<string, Topic>();
  for (const q of queries) {
    let entry = byTopic.get(q.topic);
    if (entry === undefined) {
      entry = { name: q.topic, partitions: [] };
      byTopic.set(q.topic, entry);
      topics.push(entry);
    }
    entry.partitions.push({
      partitionIndex: q.partition,
      timestamp: q.timestamp,
      currentLeaderEpoch: -1,
    });
  }
  return { replicaId: -1, isolationLevel, topics };
}

/**
 * The offset a ListOffsets response gives a partition. Throws its error
 * code, or a ProtocolError naming `address` when the partition is missing.
 */
export function listedOffset(
  response: ListOffsetsResponse,
  topic: string,
  partition: number,
  address: string,
): number {
  const result = response.topics.find((t) => t.name === topic)?.partitions
    .find((p) => p.partitionIndex === partition);
  if (!result) {
    throw new ProtocolError(
      `ListOffsets response from ${address} has no entry for ${topic}/${partition}`,
    );
  }
  throwIfError(result.errorCode, { apiName: "ListOffsets", topic, partition });
  return result.offset;
}
