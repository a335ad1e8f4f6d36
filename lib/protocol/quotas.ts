/**
 * Quotas as the protocol carries them: from which version of each API a
 * broker answers a request over a quota at once and then throttles the
 * client, which must itself wait `throttleTimeMs` (KIP-219, Kafka 2.0).
 * Before that version the broker delayed its answer by the throttle
 * instead, and the client must not wait again.
 *
 * @module
 */

/**
 * The first version of each API whose throttle the client keeps to, for
 * the APIs older than KIP-219: from the "Starting in version N, on quota
 * violation, brokers send out responses before throttling" notes of
 * Kafka's message specs, and Produce from v6 (Java's
 * `ProduceResponse.shouldClientThrottle`), OffsetForLeaderEpoch from v2,
 * its first with a throttle time. The APIs not listed came after: every
 * version.
 */
const FIRST_CLIENT_THROTTLED: ReadonlyMap<number, number> = new Map([
  [0, 6], // Produce
  [1, 8], // Fetch
  [2, 3], // ListOffsets
  [3, 6], // Metadata
  [8, 4], // OffsetCommit
  [9, 4], // OffsetFetch
  [10, 2], // FindCoordinator
  [11, 3], // JoinGroup
  [12, 2], // Heartbeat
  [13, 2], // LeaveGroup
  [14, 2], // SyncGroup
  [15, 2], // DescribeGroups
  [16, 2], // ListGroups
  [18, 2], // ApiVersions
  [19, 3], // CreateTopics
  [20, 2], // DeleteTopics
  [21, 1], // DeleteRecords
  [22, 1], // InitProducerId
  [23, 2], // OffsetForLeaderEpoch
  [24, 1], // AddPartitionsToTxn
  [25, 1], // AddOffsetsToTxn
  [26, 1], // EndTxn
  [28, 1], // TxnOffsetCommit
  [29, 1], // DescribeAcls
  [30, 1], // CreateAcls
  [31, 1], // DeleteAcls
  [32, 2], // DescribeConfigs
  [33, 1], // AlterConfigs
  [34, 1], // AlterReplicaLogDirs
  [35, 1], // DescribeLogDirs
  [37, 1], // CreatePartitions
  [38, 1], // CreateDelegationToken
  [39, 1], // RenewDelegationToken
  [40, 1], // ExpireDelegationToken
  [41, 1], // DescribeDelegationToken
  [42, 1], // DeleteGroups
]);

/**
 * Whether the client waits out the throttle a response of `apiKey` at
 * `version` reports: the broker answered first and throttles afterwards.
 */
export function clientThrottles(apiKey: number, version: number): boolean {
  return version >= (FIRST_CLIENT_THROTTLED.get(apiKey) ?? 0);
}

/**
 * The longest throttle the client keeps to, in milliseconds: a broker's is
 * at most its quota window (`quota.window.num` x `quota.window.size.seconds`,
 * 11 s by default); a longer one from a peer is cut to this.
 */
export const MAX_THROTTLE_MS = 5 * 60_000;
