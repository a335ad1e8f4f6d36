/**
 * Kafka's protocol error codes and the one error class that carries them.
 *
 * The table below lists every code a broker can return, from -1 to the newest
 * one in Kafka 4.x. Names match Kafka's `Errors` enum. A code is retriable
 * exactly when the exception Kafka maps it to extends `RetriableException`
 * (directly or through `InvalidMetadataException`/`RefreshRetriableException`),
 * which is also what the "Retriable" column of the protocol guide shows. The
 * descriptions are ours.
 *
 * Callers test errors with
 * `err instanceof KafkaError && err.code === ErrorCode.LEADER_NOT_AVAILABLE`.
 *
 * @module
 */

/** What the table records about one error code. */
export interface ErrorInfo {
  /** Kafka's name for the code, e.g. "NOT_LEADER_OR_FOLLOWER". */
  readonly name: string;
  /** True when Kafka's own client treats the error as transient. */
  readonly retriable: boolean;
  /** One line on what went wrong. */
  readonly description: string;
}

// One row per code: [code, name, retriable, description]. Kept as a literal
// `as const` table so `ErrorCode` below gets exact keys and values from it.
// deno-fmt-ignore
const TABLE = [
  [-1, "UNKNOWN_SERVER_ERROR",                  false, "The broker failed with an unexpected error while handling the request"],
  [0,  "NONE",                                  false, "No error"],
  [1,  "OFFSET_OUT_OF_RANGE",                   false, "The requested offset lies outside the range the broker holds for the partition"],
  [2,  "CORRUPT_MESSAGE",                       true,  "A record failed its CRC check, has an invalid size, has a null key on a compacted topic, or is otherwise damaged"],
  [3,  "UNKNOWN_TOPIC_OR_PARTITION",            true,  "This broker does not host the topic-partition (it may not exist yet, or the metadata is stale)"],
  [4,  "INVALID_FETCH_SIZE",                    false, "The fetch size in the request is not valid"],
  [5,  "LEADER_NOT_AVAILABLE",                  true,  "The partition has no leader right now, usually because an election is under way"],
  [6,  "NOT_LEADER_OR_FOLLOWER",                true,  "The broker is not the partition leader (or, for requests any replica may serve, not a replica of the partition)"],
  [7,  "REQUEST_TIMED_OUT",                     true,  "The broker did not complete the request in time"],
  [8,  "BROKER_NOT_AVAILABLE",                  false, "The broker is not available"],
  [9,  "REPLICA_NOT_AVAILABLE",                 true,  "A replica of the partition is not available, for example during a reassignment"],
  [10, "MESSAGE_TOO_LARGE",                     false, "A record or batch is larger than the broker accepts: the topic's max.message.bytes (by default the broker's message.max.bytes)"],
  [11, "STALE_CONTROLLER_EPOCH",                false, "The request came from a controller that has since moved to another broker"],
  [12, "OFFSET_METADATA_TOO_LARGE",             false, "The metadata string attached to the committed offset is too long"],
  [13, "NETWORK_EXCEPTION",                     true,  "The connection closed before the response arrived"],
  [14, "COORDINATOR_LOAD_IN_PROGRESS",          true,  "The coordinator is still loading its state and cannot serve requests yet"],
  [15, "COORDINATOR_NOT_AVAILABLE",             true,  "The coordinator is not available"],
  [16, "NOT_COORDINATOR",                       true,  "This broker is not the coordinator for the group or transactional id"],
  [17, "INVALID_TOPIC_EXCEPTION",               false, "The topic name is not valid, or the operation is not allowed on this topic"],
  [18, "RECORD_LIST_TOO_LARGE",                 false, "The batch is larger than the broker's configured segment size"],
  [19, "NOT_ENOUGH_REPLICAS",                   true,  "Rejected because fewer replicas are in sync than min.insync.replicas requires"],
  [20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND",      true,  "Written to the leader's log, but fewer in-sync replicas than required confirmed it"],
  [21, "INVALID_REQUIRED_ACKS",                 false, "The produce request asked for an acks value the broker does not support"],
  [22, "ILLEGAL_GENERATION",                    false, "The group generation id in the request is not the current one"],
  [23, "INCONSISTENT_GROUP_PROTOCOL",           false, "The member's protocols do not match the group's, or its protocol type or list is empty"],
  [24, "INVALID_GROUP_ID",                      false, "The group id is not valid"],
  [25, "UNKNOWN_MEMBER_ID",                     false, "The coordinator does not know this member id"],
  [26, "INVALID_SESSION_TIMEOUT",               false, "The session timeout is outside the broker's group.min/max.session.timeout.ms range"],
  [27, "REBALANCE_IN_PROGRESS",                 false, "The group is rebalancing and the member has to rejoin"],
  [28, "INVALID_COMMIT_OFFSET_SIZE",            false, "The size of the offset commit data is not valid"],
  [29, "TOPIC_AUTHORIZATION_FAILED",            false, "Not authorized to access the topic"],
  [30, "GROUP_AUTHORIZATION_FAILED",            false, "Not authorized to access the group"],
  [31, "CLUSTER_AUTHORIZATION_FAILED",          false, "Not authorized for this cluster operation"],
  [32, "INVALID_TIMESTAMP",                     false, "A record timestamp is outside the range the broker accepts"],
  [33, "UNSUPPORTED_SASL_MECHANISM",            false, "The broker does not offer the requested SASL mechanism"],
  [34, "ILLEGAL_SASL_STATE",                    false, "The request is not allowed at this point of the SASL exchange"],
  [35, "UNSUPPORTED_VERSION",                   false, "The broker does not support this API version"],
  [36, "TOPIC_ALREADY_EXISTS",                  false, "A topic with this name already exists"],
  [37, "INVALID_PARTITIONS",                    false, "The partition count is not valid (for example below 1)"],
  [38, "INVALID_REPLICATION_FACTOR",            false, "The replication factor is below 1 or larger than the number of available brokers"],
  [39, "INVALID_REPLICA_ASSIGNMENT",            false, "The replica assignment is not valid"],
  [40, "INVALID_CONFIG",                        false, "The configuration is not valid"],
  [41, "NOT_CONTROLLER",                        true,  "This broker is not the active controller"],
  [42, "INVALID_REQUEST",                       false, "The broker refused the request as invalid (its reason follows when it gave one; else see the broker log)"],
  [43, "UNSUPPORTED_FOR_MESSAGE_FORMAT",        false, "The broker's message format version does not support this request"],
  [44, "POLICY_VIOLATION",                      false, "The request breaks a policy configured on the broker"],
  [45, "OUT_OF_ORDER_SEQUENCE_NUMBER",          false, "The broker received a producer sequence number out of order"],
  [46, "DUPLICATE_SEQUENCE_NUMBER",             false, "The broker received a producer sequence number it has already seen"],
  [47, "INVALID_PRODUCER_EPOCH",                false, "The producer used an epoch older than the current one"],
  [48, "INVALID_TXN_STATE",                     false, "The transactional operation is not allowed in the transaction's current state"],
  [49, "INVALID_PRODUCER_ID_MAPPING",           false, "The producer id is not currently assigned to this transactional id"],
  [50, "INVALID_TRANSACTION_TIMEOUT",           false, "The transaction timeout exceeds the broker's transaction.max.timeout.ms"],
  [51, "CONCURRENT_TRANSACTIONS",               true,  "Another operation on the same transaction is still in progress"],
  [52, "TRANSACTION_COORDINATOR_FENCED",        false, "The transaction coordinator that sent the marker is no longer the current one for this producer"],
  [53, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", false, "Not authorized to use the transactional id"],
  [54, "SECURITY_DISABLED",                     false, "Security features are disabled on the broker"],
  [55, "OPERATION_NOT_ATTEMPTED",               false, "The broker skipped this operation because another one in the same batch failed"],
  [56, "KAFKA_STORAGE_ERROR",                   true,  "The broker hit a disk error while accessing the log"],
  [57, "LOG_DIR_NOT_FOUND",                     false, "The requested log directory is not in the broker's configuration"],
  [58, "SASL_AUTHENTICATION_FAILED",            false, "SASL authentication failed"],
  [59, "UNKNOWN_PRODUCER_ID",                   false, "The broker holds no state for this producer id, for example after retention removed all its records"],
  [60, "REASSIGNMENT_IN_PROGRESS",              false, "A partition reassignment is in progress"],
  [61, "DELEGATION_TOKEN_AUTH_DISABLED",        false, "Delegation tokens are not enabled"],
  [62, "DELEGATION_TOKEN_NOT_FOUND",            false, "The delegation token does not exist on the broker"],
  [63, "DELEGATION_TOKEN_OWNER_MISMATCH",       false, "The principal is neither the owner nor a renewer of the token"],
  [64, "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED",  false, "Delegation token requests are refused on plaintext or one-way TLS connections and on token-authenticated ones"],
  [65, "DELEGATION_TOKEN_AUTHORIZATION_FAILED", false, "Not authorized for this delegation token operation"],
  [66, "DELEGATION_TOKEN_EXPIRED",              false, "The delegation token has expired"],
  [67, "INVALID_PRINCIPAL_TYPE",                false, "The principal type is not supported"],
  [68, "NON_EMPTY_GROUP",                       false, "The group still has members"],
  [69, "GROUP_ID_NOT_FOUND",                    false, "The group does not exist"],
  [70, "FETCH_SESSION_ID_NOT_FOUND",            true,  "The broker has no fetch session with this id"],
  [71, "INVALID_FETCH_SESSION_EPOCH",           true,  "The fetch session epoch is not the one the broker expects"],
  [72, "LISTENER_NOT_FOUND",                    true,  "The partition leader has no listener matching the one the metadata request arrived on"],
  [73, "TOPIC_DELETION_DISABLED",               false, "Topic deletion is disabled on the cluster"],
  [74, "FENCED_LEADER_EPOCH",                   true,  "The leader epoch in the request is older than the broker's"],
  [75, "UNKNOWN_LEADER_EPOCH",                  true,  "The leader epoch in the request is newer than the broker's"],
  [76, "UNSUPPORTED_COMPRESSION_TYPE",          false, "The client does not support the compression type used by the partition"],
  [77, "STALE_BROKER_EPOCH",                    false, "The broker epoch has changed"],
  [78, "OFFSET_NOT_AVAILABLE",                  true,  "The new leader's high watermark has not caught up yet, so the offset cannot be served"],
  [79, "MEMBER_ID_REQUIRED",                    false, "The member must join again using the member id the coordinator assigned"],
  [80, "PREFERRED_LEADER_NOT_AVAILABLE",        true,  "The preferred leader is not available"],
  [81, "GROUP_MAX_SIZE_REACHED",                false, "The group already has its maximum number of members"],
  [82, "FENCED_INSTANCE_ID",                    false, "Another member with the same group.instance.id has taken over this static membership"],
  [83, "ELIGIBLE_LEADERS_NOT_AVAILABLE",        true,  "No eligible leader is available for the partition"],
  [84, "ELECTION_NOT_NEEDED",                   true,  "The partition already has the leader the election asked for"],
  [85, "NO_REASSIGNMENT_IN_PROGRESS",           false, "There is no partition reassignment to cancel"],
  [86, "GROUP_SUBSCRIBED_TO_TOPIC",             false, "A topic's offsets cannot be deleted while the group is subscribed to it"],
  [87, "INVALID_RECORD",                        false, "The broker rejected a record that failed its validation"],
  [88, "UNSTABLE_OFFSET_COMMIT",                true,  "Pending transactional offset commits must settle before offsets can be fetched"],
  [89, "THROTTLING_QUOTA_EXCEEDED",             true,  "The request exceeds the throttling quota"],
  [90, "PRODUCER_FENCED",                       false, "A newer producer with the same transactional.id has fenced this one"],
  [91, "RESOURCE_NOT_FOUND",                    false, "The request refers to a resource that does not exist"],
  [92, "DUPLICATE_RESOURCE",                    false, "The request refers to the same resource twice"],
  [93, "UNACCEPTABLE_CREDENTIAL",               false, "The credential does not meet the broker's requirements"],
  [94, "INCONSISTENT_VOTER_SET",                false, "The sender or receiver of a voter-only request is not one of the expected voters"],
  [95, "INVALID_UPDATE_VERSION",                false, "The update version is not valid"],
  [96, "FEATURE_UPDATE_FAILED",                 false, "The finalized features could not be updated because of an unexpected server error"],
  [97, "PRINCIPAL_DESERIALIZATION_FAILURE",     false, "The principal of a forwarded request could not be deserialized (a cluster security setup problem)"],
  [98, "SNAPSHOT_NOT_FOUND",                    false, "The requested snapshot does not exist"],
  [99, "POSITION_OUT_OF_RANGE",                 false, "The requested position is negative or beyond the end of the snapshot"],
  [100, "UNKNOWN_TOPIC_ID",                     true,  "This broker does not host a topic with this id"],
  [101, "DUPLICATE_BROKER_REGISTRATION",        false, "This broker id is already registered"],
  [102, "BROKER_ID_NOT_REGISTERED",             false, "This broker id is not registered"],
  [103, "INCONSISTENT_TOPIC_ID",                true,  "The topic id in the request does not match the one in the log"],
  [104, "INCONSISTENT_CLUSTER_ID",              false, "The cluster id in the request does not match the server's"],
  [105, "TRANSACTIONAL_ID_NOT_FOUND",           false, "The transactional id does not exist"],
  [106, "FETCH_SESSION_TOPIC_ID_ERROR",         true,  "The fetch session used topic ids inconsistently"],
  [107, "INELIGIBLE_REPLICA",                   false, "The proposed in-sync replica set contains a replica that is not eligible"],
  [108, "NEW_LEADER_ELECTED",                   false, "The partition state was updated, but the leader changed meanwhile"],
  [109, "OFFSET_MOVED_TO_TIERED_STORAGE",       false, "The requested offset now lives in tiered storage"],
  [110, "FENCED_MEMBER_EPOCH",                  false, "The member epoch was fenced; the member must give up its partitions and rejoin"],
  [111, "UNRELEASED_INSTANCE_ID",               false, "Another member still uses this instance id and must leave first"],
  [112, "UNSUPPORTED_ASSIGNOR",                 false, "The group does not support this assignor or assignor version"],
  [113, "STALE_MEMBER_EPOCH",                   false, "The member epoch is out of date; retry once the heartbeat returns the current one"],
  [114, "MISMATCHED_ENDPOINT_TYPE",             false, "The request went to the wrong kind of endpoint"],
  [115, "UNSUPPORTED_ENDPOINT_TYPE",            false, "This endpoint type is not supported yet"],
  [116, "UNKNOWN_CONTROLLER_ID",                false, "The controller id is not known"],
  [117, "UNKNOWN_SUBSCRIPTION_ID",              false, "The telemetry push used an unknown or outdated subscription id"],
  [118, "TELEMETRY_TOO_LARGE",                  false, "The telemetry push is larger than the broker accepts"],
  [119, "INVALID_REGISTRATION",                 false, "The controller considers the broker registration invalid"],
  [120, "TRANSACTION_ABORTABLE",                false, "The transaction hit an error; abort it to keep using this transactional id"],
  [121, "INVALID_RECORD_STATE",                 false, "The record is not in a state that allows this acknowledgement"],
  [122, "SHARE_SESSION_NOT_FOUND",              true,  "The share session does not exist"],
  [123, "INVALID_SHARE_SESSION_EPOCH",          true,  "The share session epoch is not the one the broker expects"],
  [124, "FENCED_STATE_EPOCH",                   false, "The share coordinator rejected the request because the share-group state epoch does not match"],
  [125, "INVALID_VOTER_KEY",                    false, "The voter key does not match the receiving replica's key"],
  [126, "DUPLICATE_VOTER",                      false, "The voter is already in the voter set"],
  [127, "VOTER_NOT_FOUND",                      false, "The voter is not in the voter set"],
  [128, "INVALID_REGULAR_EXPRESSION",           false, "The regular expression is not valid"],
  [129, "REBOOTSTRAP_REQUIRED",                 false, "The client's metadata is stale; it has to bootstrap again from the configured servers"],
  [130, "STREAMS_INVALID_TOPOLOGY",             false, "The Streams topology is not valid"],
  [131, "STREAMS_INVALID_TOPOLOGY_EPOCH",       false, "The Streams topology epoch is not valid"],
  [132, "STREAMS_TOPOLOGY_FENCED",              false, "The Streams topology epoch is out of date"],
  [133, "SHARE_SESSION_LIMIT_REACHED",          true,  "The broker has reached its limit of share sessions"],
] as const;

/**
 * @internal One row of the table. Internal because it is derived from the
 * table itself: the public types built from it (`ErrorCodes`, `ErrorName`)
 * name their exact keys and codes.
 */
type Row = (typeof TABLE)[number];

/** Kafka's name for one of the known error codes. */
export type ErrorName = Row[1];

/** Every known code, keyed by code. Includes 0 (NONE). */
export const ERRORS: ReadonlyMap<number, ErrorInfo> = new Map(
  TABLE.map(([code, name, retriable, description]) => [
    code,
    Object.freeze({ name, retriable, description }),
  ]),
);

/** Each known name mapped to its exact code, as a type. */
export type ErrorCodes = { readonly [R in Row as R[1]]: R[0] };

/**
 * Error codes by name, e.g. `ErrorCode.NOT_LEADER_OR_FOLLOWER === 6`. Built
 * from the table, so each key is typed with its exact code.
 *
 * @example Tell one broker error from the others
 * ```ts
 * import { dialLeader, ErrorCode, KafkaError } from "jsr:@streamkafka/client";
 *
 * const conn = await dialLeader("localhost:9092", "docs-error-code", 0);
 * try {
 *   await conn.seek(1_000_000);
 * } catch (error) {
 *   if (!(error instanceof KafkaError)) throw error;
 *   console.log(error.code === ErrorCode.OFFSET_OUT_OF_RANGE); // true
 * } finally {
 *   conn.close();
 * }
 * ```
 */
export const ErrorCode: ErrorCodes = Object.freeze(
  Object.fromEntries(TABLE.map(([code, name]) => [name, code])),
) as ErrorCodes;

/**
 * Kafka's name for `code`, or "UNKNOWN_ERROR_<code>" for codes newer than
 * this table.
 *
 * @example
 * ```ts
 * import { errorName } from "jsr:@streamkafka/client/protocol";
 *
 * console.log(errorName(6)); // NOT_LEADER_OR_FOLLOWER
 * console.log(errorName(9999)); // UNKNOWN_ERROR_9999
 * ```
 */
export function errorName(code: number): string {
  return ERRORS.get(code)?.name ?? `UNKNOWN_ERROR_${code}`;
}

/**
 * Whether Kafka treats `code` as transient. Unknown codes are not retriable.
 *
 * @example
 * ```ts
 * import { ErrorCode, isRetriable } from "jsr:@streamkafka/client/protocol";
 *
 * console.log(isRetriable(ErrorCode.LEADER_NOT_AVAILABLE)); // true
 * console.log(isRetriable(ErrorCode.TOPIC_AUTHORIZATION_FAILED)); // false
 * ```
 */
export function isRetriable(code: number): boolean {
  return ERRORS.get(code)?.retriable ?? false;
}

/** Where and how an error code was met; every field is optional. */
export interface KafkaErrorContext {
  /** The request that returned the code, e.g. "Produce". */
  apiName?: string | undefined;
  /** The topic the code is about. */
  topic?: string | undefined;
  /** The partition the code is about. */
  partition?: number | undefined;
  /** Extra text, such as the error message the broker sent with the code. */
  detail?: string | undefined;
  /** The underlying error, if there is one. */
  cause?: unknown;
}

/**
 * An error code returned by a broker. `name` is Kafka's name for the code so
 * stack traces read like "NOT_LEADER_OR_FOLLOWER: ...".
 *
 * @example
 * ```ts
 * import { ErrorCode, KafkaError } from "jsr:@streamkafka/client";
 *
 * const error = new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, {
 *   apiName: "Produce",
 *   topic: "orders",
 *   partition: 0,
 * });
 * console.log(error.name, error.code, error.retriable);
 * // LEADER_NOT_AVAILABLE 5 true
 * ```
 */
export class KafkaError extends Error {
  /** The protocol error code. */
  readonly code: number;
  /** Whether Kafka treats the code as transient (see `isRetriable`). */
  readonly retriable: boolean;
  /** The request that returned the code, e.g. "Produce". */
  readonly apiName?: string | undefined;
  /** The topic the code is about, if any. */
  readonly topic?: string | undefined;
  /** The partition the code is about, if any. */
  readonly partition?: number | undefined;
  /** Extra text, such as the message the broker sent with the code. */
  readonly detail?: string | undefined;

  /** The error of `code`, with where it was met in `context`. */
  constructor(code: number, context: KafkaErrorContext = {}) {
    super(
      describe(code, context),
      "cause" in context ? { cause: context.cause } : undefined,
    );
    this.name = errorName(code);
    this.code = code;
    this.retriable = isRetriable(code);
    this.apiName = context.apiName;
    this.topic = context.topic;
    this.partition = context.partition;
    this.detail = context.detail;
  }
}

/**
 * Throws the `KafkaError` of `code`, unless it is 0 (no error): the one
 * place where a response's error code becomes an error.
 *
 * @example
 * ```ts
 * import { ErrorCode, throwIfError } from "./errors.ts";
 *
 * throwIfError(0, { apiName: "Metadata" }); // no error: returns
 * try {
 *   throwIfError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, { topic: "t" });
 * } catch (error) {
 *   console.log((error as Error).name); // UNKNOWN_TOPIC_OR_PARTITION
 * }
 * ```
 */
export function throwIfError(code: number, context?: KafkaErrorContext): void {
  if (code !== 0) throw new KafkaError(code, context);
}

/** "NAME (code): description [api, topic "t" partition p]: detail" */
function describe(code: number, context: KafkaErrorContext): string {
  const description = ERRORS.get(code)?.description ??
    "The broker returned an error code this client does not know";
  let message = `${errorName(code)} (${code}): ${description}`;
  const where = place(context);
  if (where) message += ` [${where}]`;
  if (context.detail) message += `: ${context.detail}`;
  return message;
}

/** The request and topic-partition of the context, or "" when it names none. */
function place({ apiName, topic, partition }: KafkaErrorContext): string {
  const location = [
    topic === undefined ? "" : `topic ${JSON.stringify(topic)}`,
    partition === undefined ? "" : `partition ${partition}`,
  ].filter(Boolean).join(" ");
  return [apiName ?? "", location].filter(Boolean).join(", ");
}
