/**
 * The KRaft metadata quorum: its leader, voters and observers and how far
 * each has replicated the metadata log (DescribeQuorum, which a broker
 * forwards to the controllers; `kafka-metadata-quorum.sh describe`), and
 * removing a broker that is gone for good from the cluster's registrations
 * (UnregisterBroker).
 *
 * @module
 */

import { type CallOptions, itemError, type Router } from "../cluster/route.ts";
import { ZERO_UUID } from "../protocol/bytes.ts";
import { DescribeQuorum } from "../protocol/messages/describe_quorum.ts";
import { UnregisterBroker } from "../protocol/messages/unregister_broker.ts";
import { badArgument } from "../requests/arguments.ts";

/**
 * One replica of the metadata log, as the quorum's leader sees it.
 *
 * @example
 * ```ts
 * import type { QuorumReplica } from "./quorum.ts";
 *
 * const r: QuorumReplica = {
 *   replicaId: 1, directoryId: null, logEndOffset: 120,
 *   lastFetchTimestamp: Date.now(), lastCaughtUpTimestamp: Date.now(),
 * };
 * console.log(r.logEndOffset);
 * ```
 */
export interface QuorumReplica {
  /** Its node id. */
  replicaId: number;
  /** The id of its metadata log directory (KIP-853), null if not known. */
  directoryId: string | null;
  /** The end of its metadata log, -1 if unknown. */
  logEndOffset: number;
  /** When it last fetched from the leader (ms since epoch), -1 if unknown. */
  lastFetchTimestamp: number;
  /** When it last had everything the leader had then, -1 if unknown. */
  lastCaughtUpTimestamp: number;
}

/**
 * The metadata quorum, as `describeMetadataQuorum` tells it.
 *
 * @example
 * ```ts
 * import type { QuorumInfo } from "./quorum.ts";
 *
 * const q: QuorumInfo = {
 *   leaderId: 1, leaderEpoch: 4, highWatermark: 120, voters: [], observers: [], nodes: [],
 * };
 * console.log(q.leaderId);
 * ```
 */
export interface QuorumInfo {
  /** The controller leading the quorum, -1 if none. */
  leaderId: number;
  /** The epoch of that leadership. */
  leaderEpoch: number;
  /** The metadata log's high watermark: what a majority has. */
  highWatermark: number;
  /** The controllers that vote. */
  voters: QuorumReplica[];
  /** The replicas that only follow (brokers, controllers that do not vote). */
  observers: QuorumReplica[];
  /** The voters' endpoints (Kafka 3.9 on; empty before). */
  nodes: {
    nodeId: number;
    endpoints: { name: string; host: string; port: number }[];
  }[];
}

/** Describes the KRaft metadata quorum; throws the broker's refusal. */
export async function describeMetadataQuorum(
  router: Router,
  options: CallOptions = {},
): Promise<QuorumInfo> {
  const call = router.call(options);
  const r = await router.any(DescribeQuorum, {
    topics: [{
      topicName: "__cluster_metadata",
      partitions: [{ partitionIndex: 0 }],
    }],
  }, call);
  const context = { apiName: "DescribeQuorum" };
  const error = itemError(r.errorCode, r.errorMessage, context);
  if (error) throw error;
  const p = r.topics[0]?.partitions[0];
  if (p === undefined) {
    throw itemError(-1, "the answer left the metadata log out", context)!;
  }
  const partitionError = itemError(p.errorCode, p.errorMessage, {
    ...context,
    topic: "__cluster_metadata",
    partition: 0,
  });
  if (partitionError) throw partitionError;
  const replica = (s: (typeof p.currentVoters)[number]): QuorumReplica => ({
    replicaId: s.replicaId,
    directoryId: s.replicaDirectoryId && s.replicaDirectoryId !== ZERO_UUID
      ? s.replicaDirectoryId
      : null,
    logEndOffset: s.logEndOffset,
    lastFetchTimestamp: s.lastFetchTimestamp,
    lastCaughtUpTimestamp: s.lastCaughtUpTimestamp,
  });
  return {
    leaderId: p.leaderId,
    leaderEpoch: p.leaderEpoch,
    highWatermark: p.highWatermark,
    voters: p.currentVoters.map(replica),
    observers: p.observers.map(replica),
    nodes: r.nodes.map((n) => ({
      nodeId: n.nodeId,
      endpoints: n.listeners.map((l) => ({
        name: l.name,
        host: l.host,
        port: l.port,
      })),
    })),
  };
}

/**
 * Removes a broker's registration (a broker decommissioned for good, so
 * that it no longer holds features or metadata back); throws the refusal,
 * e.g. BROKER_ID_NOT_REGISTERED.
 */
export async function unregisterBroker(
  router: Router,
  brokerId: number,
  options: CallOptions = {},
): Promise<void> {
  if (!Number.isInteger(brokerId) || brokerId < 0) {
    throw badArgument(
      "unregisterBroker",
      "brokerId",
      brokerId,
      "a broker id (an integer >= 0)",
    );
  }
  const call = router.call(options);
  const r = await router.controller(
    UnregisterBroker,
    { brokerId },
    call,
    (response) => [response.errorCode],
  );
  const error = itemError(r.errorCode, r.errorMessage, {
    apiName: "UnregisterBroker",
  });
  if (error) throw error;
}
