/**
 * Metadata responses as a Conn reports them: brokers, partitions and
 * their leaders.
 *
 * @module
 */

import type { Broker, Partition } from "./types.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import type { MetadataResponse } from "../protocol/messages/metadata.ts";
import { partitionsText } from "../message.ts";

export type MetadataBroker = MetadataResponse["brokers"][number];
export type MetadataPartition =
  MetadataResponse["topics"][number]["partitions"][number];

export function toBroker(b: MetadataBroker): Broker {
  return { id: b.nodeId, host: b.host, port: b.port, rack: b.rack };
}

export function toPartition(
  response: MetadataResponse,
  topic: string,
  p: MetadataPartition,
): Partition {
  const byId = new Map(response.brokers.map((b) => [b.nodeId, toBroker(b)]));
  const broker = (id: number): Broker =>
    byId.get(id) ?? { id, host: "", port: -1, rack: null };
  return {
    topic,
    id: p.partitionIndex,
    leader: broker(p.leaderId),
    replicas: p.replicaNodes.map(broker),
    isr: p.isrNodes.map(broker),
    offlineReplicas: p.offlineReplicas.map(broker),
    error: p.errorCode === 0 ? null : new KafkaError(p.errorCode, {
      apiName: "Metadata",
      topic,
      partition: p.partitionIndex,
    }),
  };
}

export function findPartition(
  response: MetadataResponse,
  topic: string,
  partition: number,
): Partition | KafkaError | RangeError {
  const t = response.topics.find((x) => x.name === topic);
  if (!t) {
    return new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, {
      topic,
      partition,
    });
  }
  if (t.errorCode !== 0) {
    return new KafkaError(t.errorCode, {
      apiName: "Metadata",
      topic,
      partition,
    });
  }
  const p = t.partitions.find((x) => x.partitionIndex === partition);
  if (!p) {
    // The topic is there with fewer partitions: waiting will not add one.
    const count = t.partitions.length;
    if (count === 0) {
      return new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, {
        apiName: "Metadata",
        topic,
        partition,
      });
    }
    return new RangeError(
      `Topic "${topic}" has no partition ${partition} ${partitionsText(count)}`,
    );
  }
  if (p.errorCode !== 0 || p.leaderId < 0) {
    return new KafkaError(p.errorCode || ErrorCode.LEADER_NOT_AVAILABLE, {
      apiName: "Metadata",
      topic,
      partition,
    });
  }
  return toPartition(response, topic, p);
}

export function hasLeaders(response: MetadataResponse, topic: string): boolean {
  const t = response.topics.find((x) => x.name === topic);
  return t !== undefined && t.errorCode === 0 && t.partitions.length > 0 &&
    t.partitions.every((p) => p.leaderId >= 0 && p.errorCode === 0);
}
