/**
 * An Apache Kafka client for Deno, Bun and Node, built on Web Streams, with
 * the capabilities of the Go client kafka-go.
 *
 * @example Produce to and read from one partition
 * ```ts
 * import { dialLeader, SeekEnd } from "jsr:@streamkafka/client";
 *
 * const conn = await dialLeader("localhost:9092", "my-topic", 0);
 * await conn.writeMessages({ value: "one!" }, { value: "two!" });
 * await conn.seek(-2, SeekEnd);
 * const batch = await conn.readBatch({ maxBytes: 1e6 });
 * for await (const message of batch) {
 *   console.log(message.offset, new TextDecoder().decode(message.value!));
 * }
 * conn.close();
 * ```
 *
 * @module
 */

export {
  Batch,
  type Broker,
  type ConfigEntry,
  Conn,
  dial,
  Dialer,
  type DialerOptions,
  dialLeader,
  type DialOptions,
  dialPartition,
  FirstOffset,
  formatAddress,
  LastOffset,
  type Partition,
  type ReadBatchOptions,
  type ReplicaAssignment,
  type RequiredAcks,
  SeekAbsolute,
  SeekCurrent,
  SeekDontCheck,
  SeekEnd,
  SeekStart,
  type TopicConfig,
} from "./lib/conn/conn.ts";
export type {
  Header,
  HeaderInput,
  Message,
  MessageInput,
  SeekPosition,
} from "./lib/message.ts";
export {
  type MessageHandler,
  Processor,
  type ProcessorOptions,
  type ProcessorStats,
} from "./lib/consumer/processor.ts";
export {
  messageTraceContext,
  type TracingApi,
  type TracingContext,
  type TracingGetter,
  type TracingSetter,
  type TracingSpan,
  type TracingSpanContext,
} from "./lib/tracing/api.ts";
export {
  delegationToken,
  type DelegationTokenCredentials,
  plain,
  type SaslAuthenticator,
  type SaslContext,
  type SaslExchange,
  type SaslMechanism,
  type SaslOptions,
  type SaslSession,
  type SaslSetting,
  scram,
} from "./lib/connection/sasl.ts";
export type { TlsOptions } from "./lib/connection/socket.ts";
export type {
  ApiVersionRange,
  BrokerConnection,
  ConnectionOptions,
  RequestOptions,
} from "./lib/connection/connection.ts";
// The types of BrokerConnection.request; the APIs themselves are in
// "./protocol".
export type { Api, Encodable } from "./lib/protocol/api.ts";
export type { ByteReader, ByteWriter } from "./lib/protocol/bytes.ts";
export {
  ClosedError,
  ConnectionError,
  type ConnectionErrorOptions,
  ProtocolError,
  ThrottledError,
  TimeoutError,
  UnsupportedVersionError,
} from "./lib/connection/errors.ts";
export {
  ErrorCode,
  type ErrorCodes,
  KafkaError,
  type KafkaErrorContext,
} from "./lib/protocol/errors.ts";
export type { CompressionName } from "./codecs/mod.ts";
export {
  type Balancer,
  type BalancerMessage,
  CRC32Balancer,
  type CRC32BalancerOptions,
  defaultBalancer,
  Hash,
  JavaDefault,
  type JavaDefaultOptions,
  LeastBytes,
  Murmur2Balancer,
  type Murmur2BalancerOptions,
  ReferenceHash,
  RoundRobin,
  type RoundRobinOptions,
} from "./lib/producer/balancers.ts";
export {
  type GroupMetadata,
  type Logger,
  type RecordMetadata,
  type TransactionOffset,
  type TransportOptions,
  WriteErrors,
  type WriteOptions,
  Writer,
  type WriterOptions,
  type WriterStats,
} from "./lib/producer/writer.ts";
export {
  type BrokerInfo,
  Cluster,
  type ClusterOptions,
  type PartitionInfo,
  type TopicInfo,
} from "./lib/cluster/cluster.ts";
export type { LookupOptions } from "./lib/cluster/coordinator.ts";
export type { PoolOptions } from "./lib/cluster/pool.ts";
export {
  type GroupStats,
  type IsolationLevel,
  type MessageBatch,
  type PipeMap,
  Reader,
  type ReaderOptions,
  type ReaderPipeOptions,
  type ReaderStats,
  type ReadOptions,
} from "./lib/consumer/reader.ts";
export {
  type AcknowledgeType,
  type ShareMessage,
  ShareReader,
  type ShareReaderOptions,
  type ShareReaderStats,
} from "./lib/consumer/share/reader.ts";
export type {
  GroupOptions,
  RebalanceCallback,
  TopicPartition,
} from "./lib/consumer/group/options.ts";
export {
  type GroupAssignments,
  type GroupBalancer,
  type GroupMember,
  type GroupPartition,
  RackAffinityGroupBalancer,
  type RackAffinityGroupBalancerOptions,
  RangeGroupBalancer,
  RoundRobinGroupBalancer,
} from "./lib/consumer/group/balancers.ts";
export { CooperativeStickyGroupBalancer } from "./lib/consumer/group/sticky.ts";
export {
  type AdminOptions,
  Client,
  type ClientOptions,
} from "./lib/admin/client.ts";
export type { CallOptions } from "./lib/cluster/route.ts";
export type {
  BrokerApiVersions,
  ClusterDescription,
  ClusterMetadata,
  CreatedTopic,
  CreateTopicsOptions,
  DeletedTopic,
  NewTopic,
  PartitionIncrease,
  PartitionIncreaseResult,
  PartitionMetadata,
  TopicMetadata,
} from "./lib/admin/topics.ts";
export type {
  CommitOutcome,
  CommittedOffset,
  ListedOffset,
  ListOffsetsOptions,
  OffsetCommitOptions,
  OffsetDeleteResult,
  OffsetQuery,
  OffsetSpec,
  OffsetToCommit,
} from "./lib/admin/offsets.ts";
export type { OffsetPartition } from "./lib/requests/offsets.ts";
export type {
  ClassicGroupDescription,
  ClassicGroupMember,
  ConsumerGroupDescription,
  ConsumerGroupMember,
  DeletedGroup,
  ListedGroup,
  ListGroupsOptions,
  ListGroupsResult,
} from "./lib/admin/groups.ts";
export type {
  ShareGroupDescription,
  ShareGroupMember,
  ShareGroupOffset,
  ShareOffsetChange,
} from "./lib/admin/share_groups.ts";
export type {
  StreamsGroupDescription,
  StreamsGroupMember,
  StreamsInternalTopic,
  StreamsSubtopology,
  StreamsTaskOffset,
  StreamsTasks,
} from "./lib/admin/streams_groups.ts";
export type {
  MemberToRemove,
  RemovedMember,
} from "./lib/admin/group_members.ts";
export type {
  BrokerLogDirs,
  DescribeLogDirsOptions,
  LogDirInfo,
  ReplicaInfo,
  ReplicaMove,
  ReplicaMoveResult,
} from "./lib/admin/log_dirs.ts";
export type {
  FeatureDescription,
  FeatureUpdate,
  FeatureUpdateResult,
} from "./lib/admin/features.ts";
export type { QuorumInfo, QuorumReplica } from "./lib/admin/quorum.ts";
export type { FencedProducer } from "./lib/admin/fence_producers.ts";
export type {
  AbortTransactionSpec,
  FindHangingTransactionsOptions,
  HangingTransaction,
  HangingTransactions,
  TransactionAtOffset,
} from "./lib/admin/hanging_transactions.ts";
export type {
  CreateDelegationTokenOptions,
  DelegationToken,
} from "./lib/admin/delegation_tokens.ts";
export type {
  GroupLag,
  GroupLagOptions,
  PartitionLag,
  ResetOffsetsOptions,
  ResetTarget,
} from "./lib/admin/lag.ts";
export type {
  AclBinding,
  AclFilter,
  AclFilterDeletion,
  AclOperation,
  AclPatternType,
  AclPermission,
  AclResourceType,
  CreatedAcl,
  DeletedAcl,
  NewAcl,
} from "./lib/admin/acls.ts";
export type {
  AlterClientQuotasOptions,
  ClientQuota,
  DescribeClientQuotasOptions,
  QuotaAlteration,
  QuotaAlterationResult,
  QuotaEntity,
  QuotaEntityType,
  QuotaFilterComponent,
  QuotaOp,
} from "./lib/admin/quotas.ts";
export type {
  ScramAlterationResult,
  ScramDeletion,
  ScramMechanism,
  ScramUpsertion,
  ScramUserDescription,
} from "./lib/admin/scram.ts";
export {
  type AlterConfigsOptions,
  type AlteredConfigs,
  type ConfigChange,
  type ConfigChanges,
  type ConfigOperation,
  type ConfigReplacement,
  type ConfigResource,
  type ConfigResourceResult,
  type ConfigResourceType,
  ConfigResourceTypeIds,
  type ConfigSource,
  type ConfigSynonym,
  type ConfigType,
  type DescribeConfigsOptions,
  type DescribedConfig,
} from "./lib/admin/configs.ts";
export type { ListedConfigResource } from "./lib/admin/config_resources.ts";
export type {
  DescribedPartition,
  DescribedTopic,
  DescribeTopicsOptions,
} from "./lib/admin/describe_topics.ts";
export type {
  AlterPartitionReassignmentsOptions,
  DeletedRecords,
  ElectionResult,
  ElectionType,
  OngoingReassignment,
  PartitionReassignment,
  ReassignmentResult,
  RecordsToDelete,
} from "./lib/admin/partitions.ts";
export type {
  ActiveProducer,
  CoordinatorInfo,
  CoordinatorType,
  DescribeProducersOptions,
  FindCoordinatorOptions,
  ListTransactionsOptions,
  PartitionProducers,
  TransactionDescription,
  TransactionList,
  TransactionListing,
  TransactionState,
} from "./lib/admin/transactions.ts";
export type {
  ProducerIdAndEpoch,
  ProducerIdRequest,
  TransactionalProducer,
  TxnEnd,
  TxnGroup,
  TxnOffset,
  TxnOffsets,
  TxnPartitionResult,
  TxnPartitions,
} from "./lib/requests/transactions.ts";
export {
  type AwsCredentials,
  type AwsCredentialsSource,
  awsMskIam,
  type AwsMskIamOptions,
  MSK_IAM_VERSION,
  type MskIamAnswer,
  type MskIamPayload,
  mskIamPayload,
  type MskIamPayloadInput,
  parseMskIamAnswer,
} from "./lib/connection/sasl_aws.ts";
export {
  type CachedTokenProvider,
  cachedTokenProvider,
  type CachedTokenProviderOptions,
  oauthBearer,
  oauthBearerMessage,
  type OAuthBearerOptions,
  type OAuthBearerToken,
  type OAuthBearerTokenProvider,
  unsecuredJwt,
  type UnsecuredJwtOptions,
} from "./lib/connection/sasl_oauth.ts";
export {
  gssapi,
  type GssapiOptions,
  KerberosError,
} from "./lib/connection/sasl_gssapi.ts";
export {
  oidcClientCredentials,
  type OidcClientCredentialsOptions,
} from "./lib/connection/oidc.ts";
