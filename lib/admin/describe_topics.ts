/**
 * Describing topics with DescribeTopicPartitions (KIP-966, Kafka 3.8): the
 * partitions' leaders, replicas and in-sync replicas as Metadata gives
 * them, plus the eligible leader replicas (ELR: replicas that left the ISR
 * but hold every committed record, which may still be elected) and the
 * last known ELR, and the caller's authorized operations. Topics with many
 * partitions come in pages (`partitionLimit` partitions per response),
 * followed to the end. Brokers older than 3.8 are asked for Metadata
 * instead (no ELR then).
 *
 * @module
 */

import { type CallOptions, itemError, type Router } from "../cluster/route.ts";
import { UnsupportedVersionError } from "../connection/errors.ts";
import {
  DescribeTopicPartitions,
  type DescribeTopicPartitionsResponse,
} from "../protocol/messages/describe_topic_partitions.ts";
import { badArgument } from "../requests/arguments.ts";
import {
  metadata,
  type PartitionMetadata,
  partitionMetadata,
} from "./topics.ts";
import type { KafkaError } from "../protocol/errors.ts";

/**
 * A partition as `describeTopics` gives it.
 *
 * @example
 * ```ts
 * import type { DescribedPartition } from "./describe_topics.ts";
 *
 * const p: DescribedPartition = {
 *   partition: 0, leader: 1, leaderEpoch: 4, replicas: [1, 2, 3], isr: [1, 2],
 *   offlineReplicas: [], eligibleLeaderReplicas: [3], lastKnownElr: [],
 *   error: null,
 * };
 * console.log(p.eligibleLeaderReplicas);
 * ```
 */
export interface DescribedPartition extends PartitionMetadata {
  /**
   * Replicas out of the ISR that hold every committed record and may
   * still be elected leader (KIP-966); null where the broker does not say
   * (ELR off, or a broker before 3.8).
   */
  eligibleLeaderReplicas: number[] | null;
  /** The ELR members last known when the partition lost its leader; null where not said. */
  lastKnownElr: number[] | null;
}

/**
 * A topic as `describeTopics` gives it.
 *
 * @example
 * ```ts
 * import type { DescribedTopic } from "./describe_topics.ts";
 *
 * const t: DescribedTopic = {
 *   topic: "orders", topicId: "", isInternal: false, partitions: [],
 *   authorizedOperations: null, error: null,
 * };
 * console.log(t.topic);
 * ```
 */
export interface DescribedTopic {
  /** The topic's name. */
  topic: string;
  /** Its id (base64url). */
  topicId: string;
  /** True for Kafka's own topics. */
  isInternal: boolean;
  /** Its partitions, sorted by number. */
  partitions: DescribedPartition[];
  /**
   * Bit field of the ACL operations the caller may do on the topic
   * (Java's `AclOperation` codes as bits), or null where not said.
   */
  authorizedOperations: number | null;
  /** The topic's error (e.g. UNKNOWN_TOPIC_OR_PARTITION), or null. */
  error: KafkaError | null;
}

/** Options of `describeTopics`. */
export interface DescribeTopicsOptions extends CallOptions {
  /** Partitions per response, 1 to 2,000 (the broker's cap; default 2,000). */
  partitionLimit?: number | undefined;
}

/** What a response says of operations when it says nothing. */
const NOT_PROVIDED = -2147483648;

/**
 * The topics named (every topic the caller may see when `topics` is null),
 * sorted by name, each with all its partitions.
 */
export async function describeTopics(
  router: Router,
  topics: readonly string[] | null = null,
  options: DescribeTopicsOptions = {},
): Promise<DescribedTopic[]> {
  const m = "describeTopics";
  if (
    topics !== null &&
    (!Array.isArray(topics) ||
      topics.some((t) => typeof t !== "string" || t === ""))
  ) {
    throw badArgument(m, "topics", topics, "an array of topic names, or null");
  }
  const limit = options.partitionLimit ?? 2000;
  if (!Number.isInteger(limit) || limit < 1 || limit > 2000) {
    throw badArgument(m, "partitionLimit", limit, "an integer from 1 to 2000");
  }
  const call = router.call(options);
  const byName = new Map<string, DescribedTopic>();
  let cursor: DescribeTopicPartitionsResponse["nextCursor"] = null;
  const names = topics === null ? [] : [...new Set(topics)];
  do {
    let r: DescribeTopicPartitionsResponse;
    try {
      r = await router.any(DescribeTopicPartitions, {
        topics: names.map((name) => ({ name })),
        responsePartitionLimit: limit,
        cursor,
      }, call);
    } catch (error) {
      if (!(error instanceof UnsupportedVersionError) || byName.size > 0) {
        throw error;
      }
      return await fromMetadata(router, topics, {
        signal: call.signal,
        timeout: router.left(call),
      });
    }
    for (const t of r.topics) {
      const topic = t.name ?? "";
      let described = byName.get(topic);
      if (described === undefined) {
        described = {
          topic,
          topicId: t.topicId,
          isInternal: t.isInternal,
          partitions: [],
          authorizedOperations: t.topicAuthorizedOperations === NOT_PROVIDED
            ? null
            : t.topicAuthorizedOperations,
          error: itemError(t.errorCode, null, {
            apiName: "DescribeTopicPartitions",
            topic,
          }),
        };
        byName.set(topic, described);
      }
      for (const p of t.partitions) {
        described.partitions.push({
          ...partitionMetadata(p, topic, "DescribeTopicPartitions"),
          eligibleLeaderReplicas: p.eligibleLeaderReplicas,
          lastKnownElr: p.lastKnownElr,
        });
      }
    }
    cursor = r.nextCursor;
  } while (cursor !== null);
  for (const t of byName.values()) {
    t.partitions.sort((a, b) => a.partition - b.partition);
  }
  return [...byName.values()].sort((a, b) =>
    a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0
  );
}

/** The same from Metadata, for brokers before 3.8: no ELR, no operations. */
async function fromMetadata(
  router: Router,
  topics: readonly string[] | null,
  options: CallOptions,
): Promise<DescribedTopic[]> {
  const m = await metadata(router, topics, options);
  return m.topics.map((t) => ({
    ...t,
    partitions: t.partitions.map((p) => ({
      ...p,
      eligibleLeaderReplicas: null,
      lastKnownElr: null,
    })),
    authorizedOperations: null,
  }));
}
