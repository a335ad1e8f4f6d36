/**
 * The Produce request, built once for `Conn` and the Writer: acks, the
 * request body for any number of topic-partitions, and each partition's
 * outcome in the response.
 *
 * @module
 */

import { describeValue } from "../options.ts";
import type { Encodable } from "../protocol/api.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import type {
  ProduceRequest,
  ProduceResponse,
} from "../protocol/messages/produce.ts";

/**
 * How many acknowledgements a write waits for: "none" (0), the leader's
 * ("one", 1), or every in-sync replica's ("all", -1).
 *
 * @example
 * ```ts
 * import { acksOf, type RequiredAcks } from "./produce.ts";
 *
 * const acks: RequiredAcks = "all";
 * console.log(acksOf(acks, "Cannot create Writer")); // -1
 * ```
 */
export type RequiredAcks = "none" | "one" | "all" | 0 | 1 | -1;

const ACKS: Record<string, number> = { none: 0, one: 1, all: -1 };

/** The protocol value of `acks`; throws a RangeError naming it otherwise. */
export function acksOf(acks: RequiredAcks, context: string): number {
  const value = typeof acks === "number" ? acks : ACKS[acks];
  if (value !== 0 && value !== 1 && value !== -1) {
    throw new RangeError(
      `${context}: "requiredAcks" must be "none", "one", "all", 0, 1 or -1, got ${
        describeValue(acks)
      }`,
    );
  }
  return value;
}

/** One record batch for one topic-partition. */
export interface ProduceBatch {
  topic: string;
  partition: number;
  records: Uint8Array;
}

/** A Produce request carrying `batches`, grouped by topic in their order. */
export function produceRequest(
  batches: readonly ProduceBatch[],
  acks: number,
  timeoutMs: number,
): Encodable<ProduceRequest> {
  type TopicData = { name: string; partitionData: PartitionData[] };
  type PartitionData = { index: number; records: Uint8Array };
  const topicData: TopicData[] = [];
  const byTopic = new Map<string, TopicData>();
  for (const { topic, partition, records } of batches) {
    let entry = byTopic.get(topic);
    if (entry === undefined) {
      entry = { name: topic, partitionData: [] };
      byTopic.set(topic, entry);
      topicData.push(entry);
    }
    entry.partitionData.push({ index: partition, records });
  }
  return { transactionalId: null, acks, timeoutMs, topicData };
}

/** What the broker said of one partition's batch. */
export type PartitionOutcome =
  ProduceResponse["responses"][number]["partitionResponses"][number];

/** The outcome of each topic-partition in `response`, by topic then partition. */
export function produceOutcomes(
  response: ProduceResponse,
): Map<string, Map<number, PartitionOutcome>> {
  const outcomes = new Map<string, Map<number, PartitionOutcome>>();
  for (const t of response.responses) {
    const byPartition = new Map<number, PartitionOutcome>();
    for (const p of t.partitionResponses) byPartition.set(p.index, p);
    outcomes.set(t.name, byPartition);
  }
  return outcomes;
}

/**
 * The error of a partition's outcome, or null when the batch is written. A
 * duplicate sequence number means an earlier attempt wrote it: success.
 */
export function produceError(
  outcome: PartitionOutcome | undefined,
  topic: string,
  partition: number,
): KafkaError | null {
  if (outcome === undefined) {
    return new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, {
      apiName: "Produce",
      topic,
      partition,
      detail: "the response does not mention this partition",
    });
  }
  const code = outcome.errorCode;
  if (code === 0 || code === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) return null;
  return new KafkaError(code, {
    apiName: "Produce",
    topic,
    partition,
    detail: outcome.errorMessage ??
      outcome.recordErrors?.[0]?.batchIndexErrorMessage ?? undefined,
  });
}
