/**
 * The admin and request Client (kafka-go's Client): typed calls of Kafka's
 * request API, each sent to the node that must answer it, and the helpers
 * built on them (group lag, offset resets).
 *
 * The calls themselves live by subject in this folder (topics.ts,
 * offsets.ts, groups.ts, group_members.ts, share_groups.ts, lag.ts,
 * configs.ts, partitions.ts, log_dirs.ts, features.ts, quorum.ts, acls.ts,
 * quotas.ts, scram.ts, delegation_tokens.ts, transactions.ts,
 * fence_producers.ts, hanging_transactions.ts); routing and retries in
 * `../cluster/route.ts`; the transaction requests a transactional Writer
 * shares in `../requests/transactions.ts`.
 *
 * @module
 */

import { Cluster } from "../cluster/cluster.ts";
import {
  checkBrokers,
  checkNames,
  clusterOptions,
  type TransportOptions,
} from "../cluster/transport.ts";
import {
  CALL_OPTIONS,
  checkCallOptions,
  checkTimeout,
  describeValue,
  optionNames,
} from "../options.ts";
import { type CallOptions, Router } from "../cluster/route.ts";
import type * as acls from "./acls.ts";
import type * as configs from "./configs.ts";
import type * as configResources from "./config_resources.ts";
import type * as describedTopics from "./describe_topics.ts";
import type * as tokens from "./delegation_tokens.ts";
import type * as features from "./features.ts";
import type * as fencing from "./fence_producers.ts";
import type * as groupMembers from "./group_members.ts";
import type * as hanging from "./hanging_transactions.ts";
import type * as logDirs from "./log_dirs.ts";
import type * as quorum from "./quorum.ts";
import type * as groups from "./groups.ts";
import type * as lag from "./lag.ts";
import type * as offsets from "./offsets.ts";
import type * as partitions from "./partitions.ts";
import type * as quotas from "./quotas.ts";
import type * as scram from "./scram.ts";
import type * as shareGroups from "./share_groups.ts";
import type * as streamsGroups from "./streams_groups.ts";
import type * as topics from "./topics.ts";
import type * as transactions from "./transactions.ts";
import type * as txn from "../requests/transactions.ts";
import type { TopicPartition } from "../message.ts";
import { printAs } from "../redact.ts";

/**
 * The calls' modules, each loaded on its first use: a program that imports
 * `mod.ts` only to produce or consume does not compile them (importing
 * `mod.ts` in Deno took 57.7 ms of CPU against 63.0 with them loaded at
 * once, medians of 30 alternating runs).
 */
const load = {
  acls: () => import("./acls.ts"),
  configs: () => import("./configs.ts"),
  configResources: () => import("./config_resources.ts"),
  describeTopics: () => import("./describe_topics.ts"),
  tokens: () => import("./delegation_tokens.ts"),
  features: () => import("./features.ts"),
  fencing: () => import("./fence_producers.ts"),
  groupMembers: () => import("./group_members.ts"),
  hanging: () => import("./hanging_transactions.ts"),
  logDirs: () => import("./log_dirs.ts"),
  quorum: () => import("./quorum.ts"),
  groups: () => import("./groups.ts"),
  lag: () => import("./lag.ts"),
  offsets: () => import("./offsets.ts"),
  partitions: () => import("./partitions.ts"),
  quotas: () => import("./quotas.ts"),
  scram: () => import("./scram.ts"),
  shareGroups: () => import("./share_groups.ts"),
  streamsGroups: () => import("./streams_groups.ts"),
  topics: () => import("./topics.ts"),
  transactions: () => import("./transactions.ts"),
  txn: () => import("../requests/transactions.ts"),
};

/**
 * Options every Client method takes: its `timeout` and `signal`.
 *
 * @example
 * ```ts
 * import type { AdminOptions } from "./client.ts";
 *
 * const options: AdminOptions = { timeout: 5000 };
 * console.log(options.timeout);
 * ```
 */
export type AdminOptions = CallOptions;

/**
 * Options of a Client.
 *
 * @example
 * ```ts
 * import type { ClientOptions } from "./client.ts";
 *
 * const options: ClientOptions = {
 *   brokers: ["localhost:9092"],
 *   timeout: 10_000,
 *   transport: { clientId: "ops-script" },
 * };
 * console.log(options.timeout);
 * ```
 */
export interface ClientOptions {
  /** Bootstrap brokers, "host:port". Required unless `cluster` is given. */
  brokers?: readonly string[] | undefined;
  /**
   * Milliseconds each call may take, its retries included (default 30 s);
   * a call's own `{ timeout }` overrides it.
   */
  timeout?: number | undefined;
  /** Client id, TLS, SASL, metadata TTL, idle timeout; refused with `cluster`, which has its own. */
  transport?: TransportOptions | undefined;
  /**
   * A Cluster shared with Writers and Readers (kafka-go's shared
   * Transport): its connections and metadata cache serve them all. The
   * Client then leaves it open on close; its owner closes it.
   */
  cluster?: Cluster | undefined;
}

/** The names of `ClientOptions`. */
const CLIENT_OPTIONS = optionNames<ClientOptions>()(
  "brokers",
  "timeout",
  "transport",
  "cluster",
);

/**
 * The options each method takes besides `signal` and `timeout`: any other
 * name is refused, as a misspelt `validateOnly` or `dryRun` would otherwise
 * be ignored and the call take effect.
 */
const METHOD_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  createTopics: ["validateOnly"],
  createPartitions: ["validateOnly"],
  metadata: ["autoCreate"],
  describeTopics: ["partitionLimit"],
  describeCluster: ["includeAuthorizedOperations"],
  apiVersions: ["broker"],
  listOffsets: ["isolationLevel"],
  offsetFetch: ["requireStable"],
  offsetCommit: ["generationId", "memberId", "groupInstanceId"],
  listGroups: ["states", "types"],
  describeGroups: ["includeAuthorizedOperations"],
  describeConsumerGroups: ["includeAuthorizedOperations"],
  describeShareGroups: ["includeAuthorizedOperations"],
  describeStreamsGroups: ["includeAuthorizedOperations"],
  shareGroupOffsets: ["topics"],
  groupLag: ["isolationLevel"],
  resetGroupOffsets: ["to", "topics", "partitions", "dryRun"],
  removeMembersFromConsumerGroup: ["reason"],
  describeLogDirs: ["brokers", "topics"],
  updateFeatures: ["validateOnly"],
  describeClientQuotas: ["strict"],
  alterClientQuotas: ["validateOnly"],
  describeConfigs: ["includeSynonyms", "includeDocumentation"],
  alterConfigs: ["validateOnly"],
  incrementalAlterConfigs: ["validateOnly"],
  alterPartitionReassignments: ["allowReplicationFactorChange"],
  createDelegationToken: ["renewers", "maxLifetime", "owner"],
  renewDelegationToken: ["renewPeriod"],
  expireDelegationToken: ["expiryTimePeriod"],
  describeDelegationTokens: ["owners"],
  findCoordinator: ["type"],
  describeProducers: ["broker"],
  listTransactions: [
    "states",
    "producerIds",
    "durationFilterMs",
    "transactionalIdPattern",
  ],
  findHangingTransactions: [
    "topics",
    "partitions",
    "broker",
    "maxTransactionTimeout",
  ],
};

const optionSets = new Map<string, ReadonlySet<string>>();

/** The option names `method` takes. */
function optionsOf(method: string): ReadonlySet<string> {
  let names = optionSets.get(method);
  if (names === undefined) {
    names = new Set([...CALL_OPTIONS, ...(METHOD_OPTIONS[method] ?? [])]);
    optionSets.set(method, names);
  }
  return names;
}

/**
 * Kafka's request API, typed: topics, offsets, groups and their lag,
 * configs, ACLs, quotas, SCRAM users, reassignments, transactions. Each
 * call goes to the node that must answer it (controller, coordinator,
 * partition leader, any or every broker), split per node and merged back
 * when it spans several, and retried on NOT_CONTROLLER, NOT_COORDINATOR,
 * COORDINATOR_LOAD_IN_PROGRESS and leader changes until its timeout. Where
 * the broker answers per item (a topic, a partition, a group), the result
 * carries each item's `error` instead of failing the whole call.
 *
 * @example Create a topic, list its partitions, delete it
 * ```ts
 * import { Client } from "jsr:@streamkafka/client";
 *
 * const client = new Client({ brokers: ["localhost:9092"] });
 * const [created] = await client.createTopics([
 *   { topic: "docs-client", numPartitions: 3 },
 * ]);
 * console.log(created.error?.name ?? "created"); // created, or TOPIC_ALREADY_EXISTS
 * const { topics } = await client.metadata(["docs-client"]);
 * console.log(topics[0].partitions.map((p) => `${p.partition}@${p.leader}`));
 * await client.deleteTopics(["docs-client"]);
 * await client.close();
 * ```
 */
export class Client {
  /** The cluster the Client's requests go through. */
  readonly cluster: Cluster;
  private readonly router: Router;
  private readonly ownsCluster: boolean;

  /** Throws a TypeError for missing brokers or a bad timeout; connects lazily. */
  constructor(options: ClientOptions) {
    if (options === null || typeof options !== "object") {
      throw new TypeError(
        `Cannot create Client: options must be an object, got ${
          describeValue(options)
        }`,
      );
    }
    checkNames("Cannot create Client", options, CLIENT_OPTIONS);
    checkTimeout("Cannot create Client", "timeout", options.timeout);
    const timeout = options.timeout ?? 30_000;
    if (options.cluster !== undefined) {
      if (!(options.cluster instanceof Cluster)) {
        throw new TypeError(
          `Cannot create Client: "cluster" must be a Cluster, got ${
            describeValue(options.cluster)
          }`,
        );
      }
      this.cluster = options.cluster;
      this.ownsCluster = false;
    } else {
      checkBrokers("Cannot create Client", options.brokers);
      this.cluster = new Cluster(
        clusterOptions(options.brokers, options.transport),
      );
      this.ownsCluster = true;
    }
    this.router = new Router(this.cluster, timeout);
  }

  /**
   * Closes the Client's connections (not those of a shared `cluster`);
   * later calls reject with a ClosedError, whether the cluster was its
   * own or shared.
   */
  async close(): Promise<void> {
    this.router.close();
    if (this.ownsCluster) await this.cluster.close();
  }

  /** Closes the Client at the end of an `await using` block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // --- Topics and the cluster ----------------------------------------------

  /**
   * Creates topics; each result carries its own error (TOPIC_ALREADY_EXISTS,
   * INVALID_REPLICATION_FACTOR...), so one bad topic fails only itself.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * const results = await client.createTopics([
   *   { topic: "docs-create-a", numPartitions: 2 },
   *   { topic: "docs-create-b", configs: { "cleanup.policy": "compact" } },
   * ]);
   * for (const r of results) console.log(r.topic, r.error?.name ?? "ok");
   * await client.deleteTopics(["docs-create-a", "docs-create-b"]);
   * await client.close();
   * ```
   */
  async createTopics(
    newTopics: readonly topics.NewTopic[],
    options?: topics.CreateTopicsOptions,
  ): Promise<topics.CreatedTopic[]> {
    checkCallOptions(`Client.createTopics`, options, optionsOf("createTopics"));
    return (await load.topics()).createTopics(this.router, newTopics, options);
  }

  /** Deletes topics by name; each result carries its own error. */
  async deleteTopics(
    names: readonly string[],
    options?: CallOptions,
  ): Promise<topics.DeletedTopic[]> {
    checkCallOptions(`Client.deleteTopics`, options, optionsOf("deleteTopics"));
    return (await load.topics()).deleteTopics(this.router, names, options);
  }

  /** Raises topics' partition counts; each result carries its own error. */
  async createPartitions(
    increases: readonly topics.PartitionIncrease[],
    options?: topics.CreateTopicsOptions,
  ): Promise<topics.PartitionIncreaseResult[]> {
    checkCallOptions(
      `Client.createPartitions`,
      options,
      optionsOf("createPartitions"),
    );
    return (await load.topics()).createPartitions(
      this.router,
      increases,
      options,
    );
  }

  /**
   * Brokers, controller and topics with their partitions, leaders and
   * replicas: of the topics named, or of all when `names` is null or left
   * out.
   */
  async metadata(
    names: readonly string[] | null = null,
    options?: CallOptions & { autoCreate?: boolean },
  ): Promise<topics.ClusterMetadata> {
    checkCallOptions(`Client.metadata`, options, optionsOf("metadata"));
    return (await load.topics()).metadata(this.router, names, options);
  }

  /**
   * Topics with every partition's leader, replicas, ISR and eligible
   * leader replicas (ELR, KIP-966), and the caller's authorized operations:
   * of the topics named, or of every topic the caller may see when `topics`
   * is null or left out. Uses DescribeTopicPartitions (Kafka 3.8), paged
   * (`partitionLimit` partitions per response) and followed to the end;
   * older brokers are asked for Metadata (ELR null). Sorted by name.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * await client.createTopics([{ topic: "docs-describe-topics", numPartitions: 3 }]);
   * const [t] = await client.describeTopics(["docs-describe-topics"]);
   * for (const p of t.partitions) console.log(p.partition, p.leader, p.isr, p.eligibleLeaderReplicas);
   * await client.close();
   * ```
   */
  async describeTopics(
    topics?: readonly string[] | null,
    options?: describedTopics.DescribeTopicsOptions,
  ): Promise<describedTopics.DescribedTopic[]> {
    checkCallOptions(
      `Client.describeTopics`,
      options,
      optionsOf("describeTopics"),
    );
    return (await load.describeTopics()).describeTopics(
      this.router,
      topics ?? null,
      options,
    );
  }

  /** The cluster's id, controller and brokers (fenced ones marked). */
  async describeCluster(
    options?: CallOptions & { includeAuthorizedOperations?: boolean },
  ): Promise<topics.ClusterDescription> {
    checkCallOptions(
      `Client.describeCluster`,
      options,
      optionsOf("describeCluster"),
    );
    return (await load.topics()).describeCluster(this.router, options);
  }

  /** The API versions and finalized features of a broker (any by default). */
  async apiVersions(
    options?: CallOptions & { broker?: number },
  ): Promise<topics.BrokerApiVersions> {
    checkCallOptions(`Client.apiVersions`, options, optionsOf("apiVersions"));
    return (await load.topics()).apiVersions(this.router, options);
  }
  // --- Offsets ---------------------------------------------------------------

  /**
   * Offsets of partitions, asked of each partition's leader: the earliest,
   * the latest (the next to be written), the one with the largest
   * timestamp, or the first at or after a time. Each result carries its own
   * error.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * await client.createTopics([{ topic: "docs-list-offsets" }]);
   * const [first, next] = await client.listOffsets([
   *   { topic: "docs-list-offsets", partition: 0, at: "earliest" },
   *   { topic: "docs-list-offsets", partition: 0, at: "latest" },
   * ]);
   * console.log(next.offset - first.offset); // messages in the partition
   * await client.deleteTopics(["docs-list-offsets"]);
   * await client.close();
   * ```
   */
  async listOffsets(
    queries: readonly offsets.OffsetQuery[],
    options?: offsets.ListOffsetsOptions,
  ): Promise<offsets.ListedOffset[]> {
    checkCallOptions(`Client.listOffsets`, options, optionsOf("listOffsets"));
    return (await load.offsets()).listOffsets(this.router, queries, options);
  }

  /**
   * The offsets a group committed, for some partitions or (null) for all it
   * committed; a partition without a commit has offset -1.
   */
  async offsetFetch(
    groupId: string,
    partitions: readonly offsets.TopicPartition[] | null = null,
    options?: CallOptions & { requireStable?: boolean },
  ): Promise<offsets.CommittedOffset[]> {
    checkCallOptions(`Client.offsetFetch`, options, optionsOf("offsetFetch"));
    return (await load.offsets()).offsetFetch(
      this.router,
      groupId,
      partitions,
      options,
    );
  }

  /**
   * Commits offsets for a group, by default from outside it (accepted while
   * the group has no members); each outcome carries its own error.
   */
  async offsetCommit(
    groupId: string,
    commits: readonly offsets.OffsetToCommit[],
    options?: offsets.OffsetCommitOptions,
  ): Promise<offsets.CommitOutcome[]> {
    checkCallOptions(`Client.offsetCommit`, options, optionsOf("offsetCommit"));
    return (await load.offsets()).offsetCommit(
      this.router,
      groupId,
      commits,
      options,
    );
  }

  /**
   * Deletes a group's committed offsets of partitions; a partition of a
   * topic its members still read keeps its offset (GROUP_SUBSCRIBED_TO_TOPIC).
   */
  async offsetDelete(
    groupId: string,
    partitions: readonly offsets.TopicPartition[],
    options?: CallOptions,
  ): Promise<offsets.OffsetDeleteResult[]> {
    checkCallOptions(`Client.offsetDelete`, options, optionsOf("offsetDelete"));
    return (await load.offsets()).offsetDelete(
      this.router,
      groupId,
      partitions,
      options,
    );
  }

  // --- Groups ----------------------------------------------------------------

  /**
   * The groups of every broker, filtered by state or type ("classic",
   * "consumer", "share", "streams"); brokers that fail are listed apart.
   */
  async listGroups(
    options?: groups.ListGroupsOptions,
  ): Promise<groups.ListGroupsResult> {
    checkCallOptions(`Client.listGroups`, options, optionsOf("listGroups"));
    return (await load.groups()).listGroups(this.router, options);
  }

  /** Describes classic groups: state, protocol, members and assignments. */
  async describeGroups(
    groupIds: readonly string[],
    options?: CallOptions & { includeAuthorizedOperations?: boolean },
  ): Promise<groups.ClassicGroupDescription[]> {
    checkCallOptions(
      `Client.describeGroups`,
      options,
      optionsOf("describeGroups"),
    );
    return (await load.groups()).describeGroups(this.router, groupIds, options);
  }

  /**
   * Describes KIP-848 consumer groups: epochs, assignor, members with their
   * current and target assignments. A classic or unknown group gets
   * GROUP_ID_NOT_FOUND as its error.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * const [group] = await client.describeConsumerGroups(["docs-no-such-group"]);
   * console.log(group.error?.name); // GROUP_ID_NOT_FOUND
   * await client.close();
   * ```
   */
  async describeConsumerGroups(
    groupIds: readonly string[],
    options?: CallOptions & { includeAuthorizedOperations?: boolean },
  ): Promise<groups.ConsumerGroupDescription[]> {
    checkCallOptions(
      `Client.describeConsumerGroups`,
      options,
      optionsOf("describeConsumerGroups"),
    );
    return (await load.groups()).describeConsumerGroups(
      this.router,
      groupIds,
      options,
    );
  }

  /** Deletes groups that have no members; each result carries its own error. */
  async deleteGroups(
    groupIds: readonly string[],
    options?: CallOptions,
  ): Promise<groups.DeletedGroup[]> {
    checkCallOptions(`Client.deleteGroups`, options, optionsOf("deleteGroups"));
    return (await load.groups()).deleteGroups(this.router, groupIds, options);
  }

  /**
   * Describes share groups (KIP-932): state, epochs, members and the
   * partitions each reads. A group that is not a share group, or does not
   * exist, gets GROUP_ID_NOT_FOUND as its error.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * const [group] = await client.describeShareGroups(["docs-no-such-share-group"]);
   * console.log(group.error?.name); // GROUP_ID_NOT_FOUND
   * await client.close();
   * ```
   */
  async describeShareGroups(
    groupIds: readonly string[],
    options?: CallOptions & { includeAuthorizedOperations?: boolean },
  ): Promise<shareGroups.ShareGroupDescription[]> {
    checkCallOptions(
      `Client.describeShareGroups`,
      options,
      optionsOf("describeShareGroups"),
    );
    return (await load.shareGroups()).describeShareGroups(
      this.router,
      groupIds,
      options,
    );
  }

  /**
   * Describes streams groups (KIP-1071, Kafka Streams' rebalance protocol;
   * Kafka 4.1 on): state, epochs, the topology's subtopologies, and each
   * member's process, endpoint, tasks (active, standby, warm-up) and
   * changelog offsets. A group that is not a streams group, or does not
   * exist, gets GROUP_ID_NOT_FOUND as its error. Their committed offsets,
   * listing and deletion go through `offsetFetch`, `listGroups` (type
   * "streams") and `deleteGroups`.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * const [group] = await client.describeStreamsGroups(["docs-no-such-app"]);
   * console.log(group.error?.name); // GROUP_ID_NOT_FOUND
   * await client.close();
   * ```
   */
  async describeStreamsGroups(
    groupIds: readonly string[],
    options?: CallOptions & { includeAuthorizedOperations?: boolean },
  ): Promise<streamsGroups.StreamsGroupDescription[]> {
    checkCallOptions(
      `Client.describeStreamsGroups`,
      options,
      optionsOf("describeStreamsGroups"),
    );
    return (await load.streamsGroups()).describeStreamsGroups(
      this.router,
      groupIds,
      options,
    );
  }

  /**
   * A share group's start offset and lag per partition (Java's
   * `listShareGroupOffsets`): of `options.topics`, or of every topic the
   * group read. Records before the start offset are done; `lag` counts
   * those after it not done yet. Throws the group's error.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * await client.createTopics([{ topic: "docs-share-offsets" }]);
   * const offsets = await client.shareGroupOffsets("docs-share-offsets-group", {
   *   topics: ["docs-share-offsets"],
   * });
   * console.log(offsets[0].startOffset); // -1: the group never read it
   * await client.close();
   * ```
   */
  async shareGroupOffsets(
    groupId: string,
    options?: CallOptions & { topics?: readonly string[] },
  ): Promise<shareGroups.ShareGroupOffset[]> {
    checkCallOptions(
      `Client.shareGroupOffsets`,
      options,
      optionsOf("shareGroupOffsets"),
    );
    return (await load.shareGroups()).shareGroupOffsets(
      this.router,
      groupId,
      options,
    );
  }

  /**
   * Moves a share group's start offsets, while it has no members: its
   * members then read each partition from `offset`. One result per
   * partition; throws the group's error (NON_EMPTY_GROUP while members
   * are in it, GROUP_ID_NOT_FOUND).
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * await client.alterShareGroupOffsets("docs-idle-share-group", [
   *   { topic: "docs-jobs", partition: 0, offset: 0 },
   * ]).catch((error) => console.log(error.name)); // unless the group exists
   * await client.close();
   * ```
   */
  async alterShareGroupOffsets(
    groupId: string,
    offsets: readonly (TopicPartition & { offset: number })[],
    options?: CallOptions,
  ): Promise<shareGroups.ShareOffsetChange[]> {
    checkCallOptions(
      `Client.alterShareGroupOffsets`,
      options,
      optionsOf("alterShareGroupOffsets"),
    );
    return (await load.shareGroups()).alterShareGroupOffsets(
      this.router,
      groupId,
      offsets,
      options,
    );
  }

  /**
   * Forgets a share group's state of whole topics, while it has no
   * members: it reads them anew as `share.auto.offset.reset` says. One
   * result per topic (partition -1); throws the group's error.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * await client.deleteShareGroupOffsets("docs-idle-share-group", ["docs-jobs"])
   *   .catch((error) => console.log(error.name)); // unless the group exists
   * await client.close();
   * ```
   */
  async deleteShareGroupOffsets(
    groupId: string,
    topics: readonly string[],
    options?: CallOptions,
  ): Promise<shareGroups.ShareOffsetChange[]> {
    checkCallOptions(
      `Client.deleteShareGroupOffsets`,
      options,
      optionsOf("deleteShareGroupOffsets"),
    );
    return (await load.shareGroups()).deleteShareGroupOffsets(
      this.router,
      groupId,
      topics,
      options,
    );
  }

  /**
   * A group's lag per partition, as `kafka-consumer-groups --describe`
   * prints it: committed offset, end offset, lag and owner, for every
   * partition the group committed or owns, classic or consumer protocol.
   * A group that does not exist (no members, no committed offsets: a
   * misspelt id) rejects with GROUP_ID_NOT_FOUND rather than show no lag.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * await client.createTopics([{ topic: "docs-lag", numPartitions: 1 }]);
   * // A group with a committed offset (or members) has a lag to tell.
   * await client.offsetCommit("docs-lag-group", [
   *   { topic: "docs-lag", partition: 0, offset: 0 },
   * ]);
   * const lag = await client.groupLag("docs-lag-group");
   * for (const p of lag.partitions) {
   *   console.log(p.topic, p.partition, p.committed, p.endOffset, p.lag);
   * }
   * console.log(lag.state, lag.totalLag);
   * await client.close();
   * ```
   */
  async groupLag(
    groupId: string,
    options?: lag.GroupLagOptions,
  ): Promise<lag.GroupLag> {
    checkCallOptions(`Client.groupLag`, options, optionsOf("groupLag"));
    return (await load.lag()).groupLag(this.router, groupId, options);
  }

  /**
   * Moves a group's committed offsets to "earliest", "latest", the first
   * offsets at or after a Date, each committed offset moved by
   * `{ shiftBy }`, one `{ offset }` for all, or given offsets (shifted and
   * given ones kept within each log); of the partitions it committed, or
   * of `topics` or `partitions`. Refuses with NON_EMPTY_GROUP
   * while the group has members. `dryRun` only works out the offsets.
   *
   * @example Replay the last hour
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * await client.createTopics([{ topic: "docs-reset" }]);
   * const moved = await client.resetGroupOffsets("docs-reset-group", {
   *   to: new Date(Date.now() - 3_600_000),
   *   topics: ["docs-reset"],
   * });
   * for (const m of moved) console.log(m.topic, m.partition, m.offset, m.error);
   * await client.deleteGroups(["docs-reset-group"]);
   * await client.deleteTopics(["docs-reset"]);
   * await client.close();
   * ```
   */
  async resetGroupOffsets(
    groupId: string,
    options: lag.ResetOffsetsOptions,
  ): Promise<offsets.CommitOutcome[]> {
    checkCallOptions(
      `Client.resetGroupOffsets`,
      options,
      optionsOf("resetGroupOffsets"),
    );
    return (await load.lag()).resetGroupOffsets(this.router, groupId, options);
  }

  /**
   * Removes members from a classic consumer group, from outside: static
   * members by `groupInstanceId` (a worker gone for good, which the group
   * would otherwise wait for until its session timed out), dynamic ones by
   * `memberId`, or "all" of them. The group rebalances without them at once.
   * One result per member; the group's own error is thrown.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * const [gone] = await client.removeMembersFromConsumerGroup(
   *   "docs-static-group",
   *   [{ groupInstanceId: "worker-3" }],
   * );
   * console.log(gone.error?.name); // UNKNOWN_MEMBER_ID when not a member
   * await client.close();
   * ```
   */
  async removeMembersFromConsumerGroup(
    groupId: string,
    members: readonly groupMembers.MemberToRemove[] | "all",
    options?: CallOptions & { reason?: string },
  ): Promise<groupMembers.RemovedMember[]> {
    checkCallOptions(
      `Client.removeMembersFromConsumerGroup`,
      options,
      optionsOf("removeMembersFromConsumerGroup"),
    );
    return (await load.groupMembers()).removeMembersFromConsumerGroup(
      this.router,
      groupId,
      members,
      options,
    );
  }

  // --- Brokers: log directories, features, the metadata quorum -------------

  /**
   * Each broker's log directories (all brokers, or `brokers`): the volume's
   * total and free bytes, and each replica's size and lag, of every topic
   * or of `topics`. A broker that cannot answer has its `error`.
   *
   * @example Bytes of a topic on disk, all replicas
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * await client.createTopics([{ topic: "docs-log-dirs" }]);
   * let bytes = 0;
   * for (const broker of await client.describeLogDirs({ topics: ["docs-log-dirs"] })) {
   *   for (const dir of broker.logDirs) {
   *     for (const r of dir.replicas) bytes += r.size;
   *     console.log(broker.broker, dir.path, dir.usableBytes, "bytes free");
   *   }
   * }
   * console.log(bytes);
   * await client.deleteTopics(["docs-log-dirs"]);
   * await client.close();
   * ```
   */
  async describeLogDirs(
    options?: logDirs.DescribeLogDirsOptions,
  ): Promise<logDirs.BrokerLogDirs[]> {
    checkCallOptions(
      `Client.describeLogDirs`,
      options,
      optionsOf("describeLogDirs"),
    );
    return (await load.logDirs()).describeLogDirs(this.router, options);
  }

  /**
   * Moves replicas to other log directories of their brokers (a directory
   * the broker has in `log.dirs`); the broker copies each in the background
   * and `describeLogDirs` shows it as a future replica until then. One
   * result per move, in order: LOG_DIR_NOT_FOUND for a directory the broker
   * does not have.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * await client.createTopics([{ topic: "docs-move-replica" }]);
   * const [{ broker }] = await client.describeLogDirs();
   * const [result] = await client.alterReplicaLogDirs([
   *   { topic: "docs-move-replica", partition: 0, broker, path: "/no/such/dir" },
   * ]);
   * console.log(result.error?.name); // LOG_DIR_NOT_FOUND
   * await client.deleteTopics(["docs-move-replica"]);
   * await client.close();
   * ```
   */
  async alterReplicaLogDirs(
    moves: readonly logDirs.ReplicaMove[],
    options?: CallOptions,
  ): Promise<logDirs.ReplicaMoveResult[]> {
    checkCallOptions(
      `Client.alterReplicaLogDirs`,
      options,
      optionsOf("alterReplicaLogDirs"),
    );
    return (await load.logDirs()).alterReplicaLogDirs(
      this.router,
      moves,
      options,
    );
  }

  /**
   * The cluster's feature levels (`metadata.version`, `share.version`...)
   * and the ranges a broker supports: `kafka-features.sh describe`.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * const { finalized, supported } = await client.describeFeatures();
   * console.log(finalized["metadata.version"], supported["share.version"]);
   * await client.close();
   * ```
   */
  async describeFeatures(
    options?: CallOptions,
  ): Promise<features.FeatureDescription> {
    checkCallOptions(
      `Client.describeFeatures`,
      options,
      optionsOf("describeFeatures"),
    );
    return (await load.features()).describeFeatures(this.router, options);
  }

  /**
   * Moves features to other levels, e.g. `share.version` to 1 to turn share
   * groups on in Kafka 4.1: `kafka-features.sh upgrade`. With `validateOnly`
   * the controller only checks. One result per update; the request's own
   * error is thrown (from Kafka 3.8 on, one refused update fails them all,
   * e.g. INVALID_UPDATE_VERSION).
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * const { finalized } = await client.describeFeatures();
   * const [check] = await client.updateFeatures(
   *   [{ feature: "group.version", level: finalized["group.version"] ?? 1 }],
   *   { validateOnly: true },
   * );
   * console.log(check.error); // null
   * await client.close();
   * ```
   */
  async updateFeatures(
    updates: readonly features.FeatureUpdate[],
    options?: CallOptions & { validateOnly?: boolean },
  ): Promise<features.FeatureUpdateResult[]> {
    checkCallOptions(
      `Client.updateFeatures`,
      options,
      optionsOf("updateFeatures"),
    );
    return (await load.features()).updateFeatures(
      this.router,
      updates,
      options,
    );
  }

  /**
   * The KRaft metadata quorum: its leader and epoch, the high watermark of
   * the metadata log, and each voter's and observer's log end and last
   * fetch: `kafka-metadata-quorum.sh describe --status --replication`.
   *
   * @example How far behind each broker's metadata is
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * const quorum = await client.describeMetadataQuorum();
   * for (const r of [...quorum.voters, ...quorum.observers]) {
   *   console.log(r.replicaId, quorum.highWatermark - r.logEndOffset);
   * }
   * await client.close();
   * ```
   */
  async describeMetadataQuorum(
    options?: CallOptions,
  ): Promise<quorum.QuorumInfo> {
    checkCallOptions(
      `Client.describeMetadataQuorum`,
      options,
      optionsOf("describeMetadataQuorum"),
    );
    return (await load.quorum()).describeMetadataQuorum(this.router, options);
  }

  /**
   * Removes the registration of a broker decommissioned for good (its
   * registration would keep holding feature upgrades back). Throws the
   * refusal, e.g. BROKER_ID_NOT_REGISTERED.
   *
   * @example
   * ```ts
   * import { Client, KafkaError } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * try {
   *   await client.unregisterBroker(4242);
   * } catch (error) {
   *   console.log((error as KafkaError).name); // BROKER_ID_NOT_REGISTERED
   * }
   * await client.close();
   * ```
   */
  async unregisterBroker(
    brokerId: number,
    options?: CallOptions,
  ): Promise<void> {
    checkCallOptions(
      `Client.unregisterBroker`,
      options,
      optionsOf("unregisterBroker"),
    );
    return (await load.quorum()).unregisterBroker(
      this.router,
      brokerId,
      options,
    );
  }

  // --- ACLs ----------------------------------------------------------------

  /**
   * The ACLs matching a filter, all of them when it is left out: a field
   * left out or null matches anything, `patternType: "match"` finds every
   * ACL that applies to `resourceName` (literal, "*" and prefixes). The
   * broker's error is thrown, e.g. SECURITY_DISABLED when it runs no
   * authorizer.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * const found = await client.describeAcls({ resourceType: "topic" });
   * for (const a of found) {
   *   console.log(a.principal, a.permission, a.operation, a.resourceName);
   * }
   * await client.close();
   * ```
   */
  async describeAcls(
    filter?: acls.AclFilter,
    options?: CallOptions,
  ): Promise<acls.AclBinding[]> {
    checkCallOptions(`Client.describeAcls`, options, optionsOf("describeAcls"));
    return (await load.acls()).describeAcls(this.router, filter, options);
  }

  /**
   * Creates ACLs (pattern type "literal" and host "*" unless given); each
   * result carries its own error, e.g. INVALID_REQUEST for a principal
   * without its "User:" type, so one bad ACL fails only itself. Filter-only
   * values ("any", "match") and unknown names are refused with a TypeError
   * before anything is sent.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * const results = await client.createAcls([
   *   {
   *     resourceType: "topic", resourceName: "docs-acl-", patternType: "prefixed",
   *     principal: "User:docs-acl-reader", operation: "read", permission: "allow",
   *   },
   * ]);
   * console.log(results[0].error?.name ?? "created");
   * await client.deleteAcls([{ principal: "User:docs-acl-reader" }]);
   * await client.close();
   * ```
   */
  async createAcls(
    newAcls: readonly acls.NewAcl[],
    options?: CallOptions,
  ): Promise<acls.CreatedAcl[]> {
    checkCallOptions(`Client.createAcls`, options, optionsOf("createAcls"));
    return (await load.acls()).createAcls(this.router, newAcls, options);
  }

  /**
   * Deletes the ACLs matching each filter; one result per filter, listing
   * the ACLs it deleted (each with its own error) and the filter's error.
   * Careful: a filter leaving every field out matches, and deletes, every
   * ACL of the cluster.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * await client.createAcls([{
   *   resourceType: "group", resourceName: "docs-acl-group",
   *   principal: "User:docs-acl-member", operation: "read", permission: "allow",
   * }]);
   * const [result] = await client.deleteAcls([
   *   { principal: "User:docs-acl-member", resourceType: "group" },
   * ]);
   * console.log(result.deleted.map((d) => d.acl.resourceName)); // ["docs-acl-group"]
   * await client.close();
   * ```
   */
  async deleteAcls(
    filters: readonly acls.AclFilter[],
    options?: CallOptions,
  ): Promise<acls.AclFilterDeletion[]> {
    checkCallOptions(`Client.deleteAcls`, options, optionsOf("deleteAcls"));
    return (await load.acls()).deleteAcls(this.router, filters, options);
  }

  // --- Client quotas ---------------------------------------------------------

  /**
   * The quotas of the entities (users, client ids, IPs) matching every
   * component of the filter, of all entities with quotas when it is empty:
   * `{ entityType, name }` matches that name, `name: null` the type's
   * default entity, no `name` any named entity. With `strict`, entities
   * with other entity types are left out. The broker's error is thrown.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * const quotas = await client.describeClientQuotas([{ entityType: "client-id" }]);
   * for (const q of quotas) console.log(q.entity["client-id"], q.values);
   * await client.close();
   * ```
   */
  async describeClientQuotas(
    components?: readonly quotas.QuotaFilterComponent[],
    options?: quotas.DescribeClientQuotasOptions,
  ): Promise<quotas.ClientQuota[]> {
    checkCallOptions(
      `Client.describeClientQuotas`,
      options,
      optionsOf("describeClientQuotas"),
    );
    return (await load.quotas()).describeClientQuotas(
      this.router,
      components,
      options,
    );
  }

  /**
   * Sets (`{ key, value }`) and removes (`{ key, remove: true }`) quotas of
   * entities such as `{ "client-id": "app" }` or `{ user: "alice" }` (null
   * names the type's default entity); one result per entity, each with its
   * own error (e.g. INVALID_REQUEST for an unknown key), so one bad entity
   * fails only itself. `validateOnly` only checks.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * const entity = { "client-id": "docs-quota-app" };
   * const [set] = await client.alterClientQuotas([
   *   { entity, ops: [{ key: "producer_byte_rate", value: 1048576 }] },
   * ]);
   * console.log(set.error?.name ?? "set");
   * await client.alterClientQuotas([
   *   { entity, ops: [{ key: "producer_byte_rate", remove: true }] },
   * ]);
   * await client.close();
   * ```
   */
  async alterClientQuotas(
    entries: readonly quotas.QuotaAlteration[],
    options?: quotas.AlterClientQuotasOptions,
  ): Promise<quotas.QuotaAlterationResult[]> {
    checkCallOptions(
      `Client.alterClientQuotas`,
      options,
      optionsOf("alterClientQuotas"),
    );
    return (await load.quotas()).alterClientQuotas(
      this.router,
      entries,
      options,
    );
  }

  // --- SCRAM users -------------------------------------------------------------

  /**
   * The SCRAM credentials (mechanisms and iterations, never secrets) of
   * the users named, one result per user in order, or of every user that
   * has one when `users` is null or left out. A user without credentials
   * gets RESOURCE_NOT_FOUND as its own error; a message-level error is
   * thrown.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * for (const u of await client.describeUserScramCredentials()) {
   *   console.log(u.user, u.credentials.map((c) => `${c.mechanism}/${c.iterations}`));
   * }
   * await client.close();
   * ```
   */
  async describeUserScramCredentials(
    users: readonly string[] | null = null,
    options?: CallOptions,
  ): Promise<scram.ScramUserDescription[]> {
    checkCallOptions(
      `Client.describeUserScramCredentials`,
      options,
      optionsOf("describeUserScramCredentials"),
    );
    return (await load.scram()).describeUserScramCredentials(
      this.router,
      users,
      options,
    );
  }

  /**
   * Creates or replaces SCRAM credentials (`upsertions`) and deletes some
   * (`deletions`), through the controller. The password never leaves the
   * client: it sends a random salt and the salted password it computes
   * (4096 iterations unless given; Kafka accepts 4096 to 16384). One result
   * per user, in the order users first appear; a user's alterations succeed
   * or fail together (UNACCEPTABLE_CREDENTIAL, RESOURCE_NOT_FOUND,
   * DUPLICATE_RESOURCE), without failing other users'.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * const [created] = await client.alterUserScramCredentials([
   *   { user: "docs-scram-user", mechanism: "SCRAM-SHA-256", password: "docs-secret" },
   * ]);
   * console.log(created.error?.name ?? "created");
   * await client.alterUserScramCredentials([], [
   *   { user: "docs-scram-user", mechanism: "SCRAM-SHA-256" },
   * ]);
   * await client.close();
   * ```
   */
  async alterUserScramCredentials(
    upsertions: readonly scram.ScramUpsertion[],
    deletions: readonly scram.ScramDeletion[] = [],
    options?: CallOptions,
  ): Promise<scram.ScramAlterationResult[]> {
    checkCallOptions(
      `Client.alterUserScramCredentials`,
      options,
      optionsOf("alterUserScramCredentials"),
    );
    return (await load.scram()).alterUserScramCredentials(
      this.router,
      upsertions,
      deletions,
      options,
    );
  }

  /**
   * The configs of topics, brokers (by id as a string, or "" for the
   * cluster-wide default), broker loggers, groups and client metrics
   * subscriptions, optionally only some by name, with synonyms and
   * documentation on request. A broker's or broker logger's resources go
   * to that broker, the others to any broker. One result per resource, in
   * order, each with its `configs` or its `error` (e.g.
   * UNKNOWN_TOPIC_OR_PARTITION for a topic that does not exist).
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * await client.createTopics([{ topic: "docs-describe-configs" }]);
   * const [broker] = (await client.describeCluster()).brokers;
   * const [topic, node] = await client.describeConfigs([
   *   { type: "topic", name: "docs-describe-configs", configNames: ["retention.ms"] },
   *   { type: "broker", name: String(broker.id), configNames: ["num.io.threads"] },
   * ], { includeSynonyms: true });
   * for (const c of [...topic.configs, ...node.configs]) {
   *   console.log(c.name, c.value, c.source); // retention.ms 604800000 DEFAULT_CONFIG...
   * }
   * await client.deleteTopics(["docs-describe-configs"]);
   * await client.close();
   * ```
   */
  async describeConfigs(
    resources: readonly configs.ConfigResource[],
    options?: configs.DescribeConfigsOptions,
  ): Promise<configs.ConfigResourceResult[]> {
    checkCallOptions(
      `Client.describeConfigs`,
      options,
      optionsOf("describeConfigs"),
    );
    return (await load.configs()).describeConfigs(
      this.router,
      resources,
      options,
    );
  }

  /**
   * Replaces resources' whole sets of dynamic configs with the legacy
   * AlterConfigs request: every config left out goes back to its default,
   * so prefer `incrementalAlterConfigs`. A broker's resources go to that
   * broker, the others to any broker. One result per resource, in order,
   * each with its `error` (e.g. INVALID_CONFIG); `validateOnly` only checks.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * await client.createTopics([{ topic: "docs-alter-configs" }]);
   * const [result] = await client.alterConfigs([{
   *   type: "topic",
   *   name: "docs-alter-configs",
   *   configs: { "retention.ms": "3600000", "cleanup.policy": "compact" },
   * }]);
   * console.log(result.error); // null
   * await client.deleteTopics(["docs-alter-configs"]);
   * await client.close();
   * ```
   */
  async alterConfigs(
    resources: readonly configs.ConfigReplacement[],
    options?: configs.AlterConfigsOptions,
  ): Promise<configs.AlteredConfigs[]> {
    checkCallOptions(`Client.alterConfigs`, options, optionsOf("alterConfigs"));
    return (await load.configs()).alterConfigs(this.router, resources, options);
  }

  /**
   * Changes configs key by key: "set" a value, "delete" it (back to its
   * default), or "append" to / "subtract" from a list config. A resource's
   * changes apply together or not at all. A broker's or broker logger's
   * resources go to that broker, the others to any broker. One result per
   * resource, in order, each with its `error` (e.g. INVALID_CONFIG for a
   * bad value, UNKNOWN_TOPIC_OR_PARTITION); `validateOnly` only checks.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * await client.createTopics([{ topic: "docs-incremental-configs" }]);
   * const [result] = await client.incrementalAlterConfigs([{
   *   type: "topic",
   *   name: "docs-incremental-configs",
   *   changes: [
   *     { name: "retention.ms", op: "set", value: "3600000" },
   *     { name: "cleanup.policy", op: "append", value: "compact" },
   *   ],
   * }]);
   * console.log(result.error); // null
   * const [topic] = await client.describeConfigs([
   *   { type: "topic", name: "docs-incremental-configs", configNames: ["retention.ms"] },
   * ]);
   * console.log(topic.configs[0].value, topic.configs[0].source); // 3600000 DYNAMIC_TOPIC_CONFIG
   * await client.deleteTopics(["docs-incremental-configs"]);
   * await client.close();
   * ```
   */
  async incrementalAlterConfigs(
    resources: readonly configs.ConfigChanges[],
    options?: configs.AlterConfigsOptions,
  ): Promise<configs.AlteredConfigs[]> {
    checkCallOptions(
      `Client.incrementalAlterConfigs`,
      options,
      optionsOf("incrementalAlterConfigs"),
    );
    return (await load.configs()).incrementalAlterConfigs(
      this.router,
      resources,
      options,
    );
  }

  /**
   * The resources that have configs, of the given types or of every type
   * the broker lists (KIP-1142, Kafka 4.1): topics, brokers, groups and
   * client-metrics subscriptions, sorted by type then name; each can go to
   * `describeConfigs`. Kafka 3.7 to 4.0 list client-metrics subscriptions
   * only: asking them for another type fails with UnsupportedVersionError.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * for (const r of await client.listConfigResources(["clientMetrics"])) {
   *   console.log(r.name); // a subscription made with incrementalAlterConfigs
   * }
   * await client.close();
   * ```
   */
  async listConfigResources(
    types?: readonly configs.ConfigResourceType[],
    options?: AdminOptions,
  ): Promise<configResources.ListedConfigResource[]> {
    checkCallOptions(
      `Client.listConfigResources`,
      options,
      optionsOf("listConfigResources"),
    );
    return (await load.configResources()).listConfigResources(
      this.router,
      types,
      options,
    );
  }

  /**
   * Deletes the records of partitions before given offsets ("highWatermark":
   * all written so far), at each partition's leader, retried where
   * leadership moved until the timeout. One result per partition, in
   * order, with its new `lowWatermark` or its `error` (e.g.
   * OFFSET_OUT_OF_RANGE past the end, UNKNOWN_TOPIC_OR_PARTITION).
   *
   * @example
   * ```ts
   * import { Client, Writer } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * await client.createTopics([{ topic: "docs-delete-records", numPartitions: 1 }]);
   * const writer = new Writer({ brokers: ["localhost:9092"], topic: "docs-delete-records" });
   * await writer.writeMessages({ value: "a" }, { value: "b" }, { value: "c" });
   * await writer.close();
   * const [deleted] = await client.deleteRecords([
   *   { topic: "docs-delete-records", partition: 0, before: 2 },
   * ]);
   * console.log(deleted.lowWatermark, deleted.error); // 2 null
   * await client.deleteTopics(["docs-delete-records"]);
   * await client.close();
   * ```
   */
  async deleteRecords(
    records: readonly partitions.RecordsToDelete[],
    options?: CallOptions,
  ): Promise<partitions.DeletedRecords[]> {
    checkCallOptions(
      `Client.deleteRecords`,
      options,
      optionsOf("deleteRecords"),
    );
    return (await load.partitions()).deleteRecords(
      this.router,
      records,
      options,
    );
  }

  /**
   * Elects partitions' leaders at the controller: the "preferred" replica,
   * or for "unclean" any live replica where none is in sync (records may
   * be lost). With `topicPartitions` null (the default), every partition
   * that needs it. One result per partition (in order when given, else
   * sorted), each with its `error` (ELECTION_NOT_NEEDED where the leader
   * is already the one asked for).
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * await client.createTopics([{ topic: "docs-elect-leaders", numPartitions: 2 }]);
   * const results = await client.electLeaders("preferred", [
   *   { topic: "docs-elect-leaders", partition: 0 },
   *   { topic: "docs-elect-leaders", partition: 1 },
   * ]);
   * for (const r of results) {
   *   console.log(r.partition, r.error?.name ?? "elected"); // 0 ELECTION_NOT_NEEDED...
   * }
   * await client.deleteTopics(["docs-elect-leaders"]);
   * await client.close();
   * ```
   */
  async electLeaders(
    election: partitions.ElectionType,
    topicPartitions?: readonly partitions.TopicPartition[] | null,
    options?: CallOptions,
  ): Promise<partitions.ElectionResult[]> {
    checkCallOptions(`Client.electLeaders`, options, optionsOf("electLeaders"));
    return (await load.partitions()).electLeaders(
      this.router,
      election,
      topicPartitions,
      options,
    );
  }

  /**
   * Moves partitions' replicas to other brokers (preferred leader first),
   * or with `replicas` null cancels a move in progress, at the controller.
   * The data moves in the background; `listPartitionReassignments` shows
   * it until done. One result per partition, in order, each with its
   * `error` (e.g. INVALID_REPLICA_ASSIGNMENT for a broker that does not
   * exist, NO_REASSIGNMENT_IN_PROGRESS for a cancel of nothing).
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * await client.createTopics([{ topic: "docs-reassign", numPartitions: 2 }]);
   * const { brokers } = await client.describeCluster();
   * const [moved, cancelled] = await client.alterPartitionReassignments([
   *   { topic: "docs-reassign", partition: 0, replicas: brokers.map((b) => b.id).slice(0, 1) },
   *   { topic: "docs-reassign", partition: 1, replicas: null },
   * ]);
   * console.log(moved.error, cancelled.error?.name); // null NO_REASSIGNMENT_IN_PROGRESS
   * await client.deleteTopics(["docs-reassign"]);
   * await client.close();
   * ```
   */
  async alterPartitionReassignments(
    reassignments: readonly partitions.PartitionReassignment[],
    options?: partitions.AlterPartitionReassignmentsOptions,
  ): Promise<partitions.ReassignmentResult[]> {
    checkCallOptions(
      `Client.alterPartitionReassignments`,
      options,
      optionsOf("alterPartitionReassignments"),
    );
    return (await load.partitions()).alterPartitionReassignments(
      this.router,
      reassignments,
      options,
    );
  }

  /**
   * The partition reassignments in progress, of every partition
   * (`topicPartitions` null, the default) or of the given ones, sorted by
   * topic and partition: each partition's replicas, and those being added
   * and removed.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * for (const r of await client.listPartitionReassignments()) {
   *   console.log(`${r.topic}/${r.partition}: +[${r.addingReplicas}] -[${r.removingReplicas}]`);
   * }
   * await client.close();
   * ```
   */
  async listPartitionReassignments(
    topicPartitions?: readonly partitions.TopicPartition[] | null,
    options?: CallOptions,
  ): Promise<partitions.OngoingReassignment[]> {
    checkCallOptions(
      `Client.listPartitionReassignments`,
      options,
      optionsOf("listPartitionReassignments"),
    );
    return (await load.partitions()).listPartitionReassignments(
      this.router,
      topicPartitions,
      options,
    );
  }

  // --- Delegation tokens -----------------------------------------------------

  /**
   * Creates a delegation token (KIP-48): credentials that authenticate as
   * this Client's principal (or `owner`), for workers or jobs to use with
   * `sasl: delegationToken(token)` instead of a password. The Client must
   * be connected over SASL (the broker refuses token requests on plaintext
   * and one-way TLS connections, and from token-authenticated ones), and
   * the broker needs `delegation.token.secret.key`.
   *
   * @example Hand a worker a token instead of the password
   * ```ts
   * import { Client, delegationToken, Writer } from "jsr:@streamkafka/client";
   *
   * const admin = new Client({
   *   brokers: ["localhost:9094"],
   *   transport: {
   *     sasl: { mechanism: "SCRAM-SHA-256", username: "alice", password: "alice-secret" },
   *   },
   * });
   * const token = await admin.createDelegationToken({ maxLifetime: 3_600_000 });
   * await admin.createTopics([{ topic: "docs-token-writes" }]);
   * const writer = new Writer({
   *   brokers: ["localhost:9094"],
   *   topic: "docs-token-writes",
   *   transport: { sasl: delegationToken(token) }, // authenticates as User:alice
   * });
   * await writer.writeMessages({ value: "written with a token" });
   * await writer.close();
   * await admin.expireDelegationToken(token.hmac);
   * await admin.deleteTopics(["docs-token-writes"]);
   * await admin.close();
   * ```
   */
  async createDelegationToken(
    options?: tokens.CreateDelegationTokenOptions,
  ): Promise<tokens.DelegationToken> {
    checkCallOptions(
      `Client.createDelegationToken`,
      options,
      optionsOf("createDelegationToken"),
    );
    return (await load.tokens()).createDelegationToken(this.router, options);
  }

  /**
   * Renews a token, by its HMAC, for `renewPeriod` ms from now (default:
   * the broker's `delegation.token.expiry.time.ms`), never past its max
   * lifetime; resolves with the new expiry time (ms since epoch), once every
   * broker has learnt it. Its owner and its renewers may renew it.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({
   *   brokers: ["localhost:9094"],
   *   transport: {
   *     sasl: { mechanism: "SCRAM-SHA-256", username: "alice", password: "alice-secret" },
   *   },
   * });
   * const token = await client.createDelegationToken();
   * const expiry = await client.renewDelegationToken(token.hmac, {
   *   renewPeriod: 3_600_000,
   * });
   * console.log(new Date(expiry));
   * await client.expireDelegationToken(token.hmac);
   * await client.close();
   * ```
   */
  async renewDelegationToken(
    hmac: Uint8Array,
    options?: CallOptions & { renewPeriod?: number },
  ): Promise<number> {
    checkCallOptions(
      `Client.renewDelegationToken`,
      options,
      optionsOf("renewDelegationToken"),
    );
    return (await load.tokens()).renewDelegationToken(
      this.router,
      hmac,
      options,
    );
  }

  /**
   * Expires a token, by its HMAC, at once (or `expiryTimePeriod` ms from
   * now): new connections with it are refused from then on. Resolves with
   * its expiry time, once every broker has learnt it (until then a broker
   * would still accept the token).
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({
   *   brokers: ["localhost:9094"],
   *   transport: {
   *     sasl: { mechanism: "SCRAM-SHA-256", username: "alice", password: "alice-secret" },
   *   },
   * });
   * const token = await client.createDelegationToken();
   * await client.expireDelegationToken(token.hmac);
   * await client.close();
   * ```
   */
  async expireDelegationToken(
    hmac: Uint8Array,
    options?: CallOptions & { expiryTimePeriod?: number },
  ): Promise<number> {
    checkCallOptions(
      `Client.expireDelegationToken`,
      options,
      optionsOf("expireDelegationToken"),
    );
    return (await load.tokens()).expireDelegationToken(
      this.router,
      hmac,
      options,
    );
  }

  /**
   * The delegation tokens of `owners` ("User:name"), or all the caller may
   * see: its own, those it may renew, every one with the DescribeTokens
   * permission.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({
   *   brokers: ["localhost:9094"],
   *   transport: {
   *     sasl: { mechanism: "SCRAM-SHA-256", username: "alice", password: "alice-secret" },
   *   },
   * });
   * for (const t of await client.describeDelegationTokens({ owners: ["User:alice"] })) {
   *   console.log(t.tokenId, t.owner, new Date(t.expiryTimestamp));
   * }
   * await client.close();
   * ```
   */
  async describeDelegationTokens(
    options?: CallOptions & { owners?: readonly string[] },
  ): Promise<tokens.DelegationToken[]> {
    checkCallOptions(
      `Client.describeDelegationTokens`,
      options,
      optionsOf("describeDelegationTokens"),
    );
    return (await load.tokens()).describeDelegationTokens(this.router, options);
  }

  // --- Transactions ----------------------------------------------------------

  /**
   * The coordinator of each key: group ids, or transactional ids with
   * `{ type: "transaction" }`. One request to any broker carries all the
   * keys (FindCoordinator v4+); each result has the coordinator's node id,
   * host and port or its own error, in the keys' order, and a coordinator
   * not available yet is asked for again until the call's timeout.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * const [txn] = await client.findCoordinator(["docs-txn-id"], {
   *   type: "transaction",
   * });
   * const [group] = await client.findCoordinator(["docs-group"]);
   * console.log(txn.nodeId, group.host, group.port);
   * await client.close();
   * ```
   */
  async findCoordinator(
    keys: readonly string[],
    options?: transactions.FindCoordinatorOptions,
  ): Promise<transactions.CoordinatorInfo[]> {
    checkCallOptions(
      `Client.findCoordinator`,
      options,
      optionsOf("findCoordinator"),
    );
    return (await load.transactions()).findCoordinator(
      this.router,
      keys,
      options,
    );
  }

  /**
   * Gets a producer id and epoch (InitProducerId). With a
   * `transactionalId`, its transaction coordinator fences any older
   * producer of the id, aborting its open transaction, and returns the
   * id's producer id with a higher epoch; without one, any broker gives an
   * idempotent producer a new id. Retried while the coordinator moves,
   * loads, or finishes an earlier transaction (CONCURRENT_TRANSACTIONS);
   * another error rejects with its KafkaError.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * const producer = await client.initProducerId({
   *   transactionalId: "docs-client-init",
   *   transactionTimeoutMs: 60_000,
   * });
   * console.log(producer.producerId, producer.producerEpoch);
   * await client.close();
   * ```
   */
  async initProducerId(
    request?: txn.ProducerIdRequest,
    options?: CallOptions,
  ): Promise<txn.ProducerIdAndEpoch> {
    checkCallOptions(
      `Client.initProducerId`,
      options,
      optionsOf("initProducerId"),
    );
    return (await load.txn()).initProducerId(this.router, request, options);
  }

  /**
   * Adds partitions to the producer's transaction before records are
   * produced to them (AddPartitionsToTxn v3, the clients' version); the
   * first call of a transaction begins it. Each result carries its
   * partition's error: one that fails (UNKNOWN_TOPIC_OR_PARTITION...) makes
   * the others OPERATION_NOT_ATTEMPTED. On Kafka 4 brokers with
   * `transaction.version` 2, a transactional Produce (v12+) adds its
   * partition by itself.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * await client.createTopics([{ topic: "docs-client-txn-add", numPartitions: 2 }]);
   * const transactionalId = "docs-client-txn-add";
   * const producer = await client.initProducerId({ transactionalId });
   * const added = await client.addPartitionsToTxn({
   *   transactionalId,
   *   ...producer,
   *   partitions: [
   *     { topic: "docs-client-txn-add", partition: 0 },
   *     { topic: "docs-client-txn-add", partition: 1 },
   *   ],
   * });
   * console.log(added.map((r) => r.error?.name ?? "added"));
   * await client.endTxn({ transactionalId, ...producer, committed: false });
   * await client.deleteTopics(["docs-client-txn-add"]);
   * await client.close();
   * ```
   */
  async addPartitionsToTxn(
    request: txn.TxnPartitions,
    options?: CallOptions,
  ): Promise<txn.TxnPartitionResult[]> {
    checkCallOptions(
      `Client.addPartitionsToTxn`,
      options,
      optionsOf("addPartitionsToTxn"),
    );
    return (await load.txn()).addPartitionsToTxn(this.router, request, options);
  }

  /**
   * Adds a consumer group to the producer's transaction (AddOffsetsToTxn),
   * so that `txnOffsetCommit` can commit the group's offsets atomically
   * with the transaction's records. Retried while the coordinator moves,
   * loads or finishes an earlier transaction; another error
   * (PRODUCER_FENCED, INVALID_TXN_STATE...) rejects with its KafkaError.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * const transactionalId = "docs-client-txn-offsets";
   * const producer = await client.initProducerId({ transactionalId });
   * await client.addOffsetsToTxn({
   *   transactionalId,
   *   ...producer,
   *   groupId: "docs-client-txn-group",
   * });
   * await client.endTxn({ transactionalId, ...producer, committed: false });
   * await client.close();
   * ```
   */
  async addOffsetsToTxn(
    request: txn.TxnGroup,
    options?: CallOptions,
  ): Promise<void> {
    checkCallOptions(
      `Client.addOffsetsToTxn`,
      options,
      optionsOf("addOffsetsToTxn"),
    );
    return (await load.txn()).addOffsetsToTxn(this.router, request, options);
  }

  /**
   * Commits a group's offsets within the producer's transaction
   * (TxnOffsetCommit, at the group's coordinator, after
   * `addOffsetsToTxn`): they become the group's committed offsets when the
   * transaction commits, and are dropped if it aborts. Give the group's
   * `generationId` and `memberId` to have a zombie member fenced. Each
   * result carries its partition's error, in the offsets' order.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * await client.createTopics([{ topic: "docs-client-txn-commit" }]);
   * const transactionalId = "docs-client-txn-commit";
   * const groupId = "docs-client-txn-commit-group";
   * const producer = await client.initProducerId({ transactionalId });
   * await client.addOffsetsToTxn({ transactionalId, ...producer, groupId });
   * const [result] = await client.txnOffsetCommit({
   *   transactionalId,
   *   ...producer,
   *   groupId,
   *   offsets: [{ topic: "docs-client-txn-commit", partition: 0, offset: 0 }],
   * });
   * console.log(result.error?.name ?? "committed with the transaction");
   * await client.endTxn({ transactionalId, ...producer, committed: true });
   * await client.deleteTopics(["docs-client-txn-commit"]);
   * await client.close();
   * ```
   */
  async txnOffsetCommit(
    request: txn.TxnOffsets,
    options?: CallOptions,
  ): Promise<txn.TxnPartitionResult[]> {
    checkCallOptions(
      `Client.txnOffsetCommit`,
      options,
      optionsOf("txnOffsetCommit"),
    );
    return (await load.txn()).txnOffsetCommit(this.router, request, options);
  }

  /**
   * Commits (`committed: true`) or aborts the producer's transaction
   * (EndTxn): its records and offsets become visible to read_committed
   * readers, or are hidden for good. Resolves with the producer id and
   * epoch the next transaction must use: Kafka 4 brokers with
   * `transaction.version` 2 (KIP-890) bump the epoch at every end, older
   * ones keep it. An error (INVALID_TXN_STATE when no transaction is open,
   * PRODUCER_FENCED...) rejects with its KafkaError.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * const transactionalId = "docs-client-txn-end";
   * const producer = await client.initProducerId({ transactionalId });
   * await client.addOffsetsToTxn({
   *   transactionalId,
   *   ...producer,
   *   groupId: "docs-client-txn-end",
   * });
   * const next = await client.endTxn({
   *   transactionalId,
   *   ...producer,
   *   committed: true,
   * });
   * console.log(`epoch ${producer.producerEpoch} -> ${next.producerEpoch}`);
   * await client.close();
   * ```
   */
  async endTxn(
    request: txn.TxnEnd,
    options?: CallOptions,
  ): Promise<txn.ProducerIdAndEpoch> {
    checkCallOptions(`Client.endTxn`, options, optionsOf("endTxn"));
    return (await load.txn()).endTxn(this.router, request, options);
  }

  /**
   * The producers writing to each partition, asked of its leader (or of
   * `options.broker`): producer id, epoch, last sequence and timestamp,
   * and the first offset of an open transaction (-1 when none), which is
   * how a transaction holding back read_committed readers is found. Each
   * result carries its partition's error, in the partitions' order.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * await client.createTopics([{ topic: "docs-client-producers" }]);
   * const [p] = await client.describeProducers([
   *   { topic: "docs-client-producers", partition: 0 },
   * ]);
   * for (const x of p.producers) {
   *   console.log(x.producerId, x.producerEpoch, x.currentTxnStartOffset);
   * }
   * await client.deleteTopics(["docs-client-producers"]);
   * await client.close();
   * ```
   */
  async describeProducers(
    partitions: readonly TopicPartition[],
    options?: transactions.DescribeProducersOptions,
  ): Promise<transactions.PartitionProducers[]> {
    checkCallOptions(
      `Client.describeProducers`,
      options,
      optionsOf("describeProducers"),
    );
    return (await load.transactions()).describeProducers(
      this.router,
      partitions,
      options,
    );
  }

  /**
   * The transactions the coordinators know, asked of every broker and
   * merged (sorted by transactional id), filtered by `states`,
   * `producerIds`, `durationFilterMs` (open longer than) or
   * `transactionalIdPattern`. A broker that fails leaves its transactions
   * out and its error in `errors`; `unknownStates` names filter states the
   * brokers do not know.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * const { transactions, errors } = await client.listTransactions({
   *   states: ["Ongoing"],
   *   durationFilterMs: 60_000,
   * });
   * for (const t of transactions) console.log(t.transactionalId, t.producerId);
   * if (errors.length > 0) console.log("incomplete:", errors);
   * await client.close();
   * ```
   */
  async listTransactions(
    options?: transactions.ListTransactionsOptions,
  ): Promise<transactions.TransactionList> {
    checkCallOptions(
      `Client.listTransactions`,
      options,
      optionsOf("listTransactions"),
    );
    return (await load.transactions()).listTransactions(this.router, options);
  }

  /**
   * Transactions by transactional id, asked of each id's coordinator:
   * state ("Ongoing", "CompleteCommit"...), timeout, start time, producer
   * id and epoch, and the partitions of the open transaction. Each result
   * carries its own error, in the ids' order: an unknown id fails alone
   * with TRANSACTIONAL_ID_NOT_FOUND.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * const transactionalId = "docs-client-txn-describe";
   * await client.initProducerId({ transactionalId });
   * const [known, unknown] = await client.describeTransactions([
   *   transactionalId,
   *   "docs-client-txn-never-used",
   * ]);
   * console.log(known.state, known.producerId); // Empty 1234
   * console.log(unknown.error?.name); // TRANSACTIONAL_ID_NOT_FOUND
   * await client.close();
   * ```
   */
  async describeTransactions(
    transactionalIds: readonly string[],
    options?: CallOptions,
  ): Promise<transactions.TransactionDescription[]> {
    checkCallOptions(
      `Client.describeTransactions`,
      options,
      optionsOf("describeTransactions"),
    );
    return (await load.transactions()).describeTransactions(
      this.router,
      transactionalIds,
      options,
    );
  }

  /**
   * Fences the producers of transactional ids (Java's `fenceProducers`):
   * each id's epoch goes up, so the producer using it now fails its next
   * request with PRODUCER_FENCED and its open transaction is aborted. For
   * taking over an id whose owner hangs. One result per id, in order.
   *
   * @example
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * const [fenced] = await client.fenceProducers(["docs-fence-txn"]);
   * console.log(fenced.producerId, fenced.producerEpoch, fenced.error);
   * await client.close();
   * ```
   */
  async fenceProducers(
    transactionalIds: readonly string[],
    options?: CallOptions,
  ): Promise<fencing.FencedProducer[]> {
    checkCallOptions(
      `Client.fenceProducers`,
      options,
      optionsOf("fenceProducers"),
    );
    return (await load.fencing()).fenceProducers(
      this.router,
      transactionalIds,
      options,
    );
  }

  /**
   * Finds hanging transactions (KIP-664; `kafka-transactions.sh
   * find-hanging`): open on a partition for longer than
   * `maxTransactionTimeout` (default 15 minutes), while their coordinator
   * does not list the partition in a transaction, so no marker will ever
   * close them. Such a transaction stops `read_committed` readers at its
   * first offset. Looks at `topics`, `partitions`, the partitions on
   * `broker`, or every topic; a partition whose producers could not be
   * listed is in `errors`. Abort what it finds with `abortTransaction`.
   *
   * @example Find and abort the hanging transactions of a topic
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * await client.createTopics([{ topic: "docs-hanging" }]);
   * const { transactions, errors } = await client.findHangingTransactions({
   *   topics: ["docs-hanging"],
   * });
   * for (const t of transactions) {
   *   console.log(`${t.topic}-${t.partition} hangs at offset ${t.startOffset}`);
   *   await client.abortTransaction(t);
   * }
   * console.log(errors); // []
   * await client.deleteTopics(["docs-hanging"]);
   * await client.close();
   * ```
   */
  async findHangingTransactions(
    options?: hanging.FindHangingTransactionsOptions,
  ): Promise<hanging.HangingTransactions> {
    checkCallOptions(
      `Client.findHangingTransactions`,
      options,
      optionsOf("findHangingTransactions"),
    );
    return (await load.hanging()).findHangingTransactions(
      this.router,
      options,
    );
  }

  /**
   * Aborts a partition's open transaction by writing its abort marker to
   * the partition's leader (Java's `abortTransaction`): for a hanging
   * transaction, which its coordinator will never close. Give the producer
   * (`{ topic, partition, producerId, producerEpoch, coordinatorEpoch }`,
   * from `findHangingTransactions` or `describeProducers`) or the offset
   * where the transaction begins (`{ topic, partition, startOffset }`).
   * Needs ClusterAction permission on the cluster. Aborting a live
   * transaction loses its records on that partition: its producer commits
   * the rest.
   *
   * @example Abort the transaction that holds `read_committed` readers at an offset
   * ```ts
   * import { Client } from "jsr:@streamkafka/client";
   *
   * const client = new Client({ brokers: ["localhost:9092"] });
   * await client.createTopics([{ topic: "docs-abort" }]);
   * await client.abortTransaction({ topic: "docs-abort", partition: 0, startOffset: 0 })
   *   .catch((e) => console.log(e.message)); // no open transaction ... begins at offset 0
   * await client.deleteTopics(["docs-abort"]);
   * await client.close();
   * ```
   */
  async abortTransaction(
    target: hanging.AbortTransactionSpec | hanging.TransactionAtOffset,
    options?: CallOptions,
  ): Promise<hanging.AbortTransactionSpec> {
    checkCallOptions(
      `Client.abortTransaction`,
      options,
      optionsOf("abortTransaction"),
    );
    return (await load.hanging()).abortTransaction(
      this.router,
      target,
      options,
    );
  }
}

// Printed, a Client shows its Cluster's summary, not its credentials.
printAs(Client, (client) => ({ cluster: client.cluster }));
