/**
 * Topics and the cluster: creating, deleting and growing topics, metadata,
 * the cluster's brokers and API versions.
 *
 * @module
 */

import { requireTopicDefaults } from "../requests/versions.ts";
import type { BrokerInfo } from "../cluster/cluster.ts";
import { ApiVersions } from "../protocol/messages/api_versions.ts";
import { CreatePartitions } from "../protocol/messages/create_partitions.ts";
import { CreateTopics } from "../protocol/messages/create_topics.ts";
import { DeleteTopics } from "../protocol/messages/delete_topics.ts";
import { DescribeCluster } from "../protocol/messages/describe_cluster.ts";
import { Metadata } from "../protocol/messages/metadata.ts";
import type { KafkaError } from "../protocol/errors.ts";
import { ZERO_UUID } from "../protocol/bytes.ts";
import { leaderOffsets } from "./offsets.ts";
import {
  answerError,
  type Call,
  type CallOptions,
  itemError,
  type Router,
} from "../cluster/route.ts";
import {
  badArgument,
  checkList,
  isList,
  isObject,
} from "../requests/arguments.ts";
import { checkOptionNames } from "../options.ts";
import { requireListed } from "./brokers.ts";
import { abortReason } from "../connection/errors.ts";
import { sleep } from "../cluster/retry.ts";

/**
 * A topic to create.
 *
 * @example
 * ```ts
 * import type { NewTopic } from "./topics.ts";
 *
 * const topic: NewTopic = {
 *   topic: "orders",
 *   numPartitions: 6,
 *   replicationFactor: 1,
 *   configs: { "retention.ms": "86400000" },
 * };
 * console.log(topic.topic);
 * ```
 */
export interface NewTopic {
  /** The topic's name. */
  topic: string;
  /** Partitions (default: the broker's `num.partitions`). */
  numPartitions?: number | undefined;
  /** Replicas per partition (default: `default.replication.factor`). */
  replicationFactor?: number | undefined;
  /**
   * Brokers of each partition, by partition; when given, `numPartitions`
   * and `replicationFactor` are left out.
   */
  replicaAssignment?: readonly (readonly number[])[] | undefined;
  /** Topic configs, e.g. `{ "cleanup.policy": "compact" }`. */
  configs?: Readonly<Record<string, string>> | undefined;
}

/**
 * Options of `createTopics`.
 *
 * @example
 * ```ts
 * import type { CreateTopicsOptions } from "./topics.ts";
 *
 * const options: CreateTopicsOptions = { validateOnly: true };
 * console.log(options.validateOnly);
 * ```
 */
export interface CreateTopicsOptions extends CallOptions {
  /** Only check that the topics could be created (default false). */
  validateOnly?: boolean | undefined;
}

/**
 * What became of one topic of `createTopics`: its error, or its id and
 * settings.
 *
 * @example
 * ```ts
 * import type { CreatedTopic } from "./topics.ts";
 *
 * const created: CreatedTopic = {
 *   topic: "orders", topicId: "", numPartitions: 6, replicationFactor: 1,
 *   configs: {}, error: null,
 * };
 * console.log(created.error === null);
 * ```
 */
export interface CreatedTopic {
  /** The topic's name. */
  topic: string;
  /** The new topic's id (base64url), "" on error or before v7. */
  topicId: string;
  /** Its partitions (before v5: as asked), -1 when unknown. */
  numPartitions: number;
  /** Its replication factor (before v5: as asked), -1 when unknown. */
  replicationFactor: number;
  /** Its configs, as the broker reports them (v5+). */
  configs: Record<string, string | null>;
  /** Why it was not created (e.g. TOPIC_ALREADY_EXISTS), or null. */
  error: KafkaError | null;
}

/**
 * What became of one topic of `deleteTopics`.
 *
 * @example
 * ```ts
 * import type { DeletedTopic } from "./topics.ts";
 *
 * const deleted: DeletedTopic = { topic: "orders", topicId: "", error: null };
 * console.log(deleted.topic);
 * ```
 */
export interface DeletedTopic {
  /** The topic's name. */
  topic: string;
  /** Its id, when the broker says (v6+). */
  topicId: string;
  /** Why it was not deleted (e.g. UNKNOWN_TOPIC_OR_PARTITION), or null. */
  error: KafkaError | null;
}

/**
 * New partitions for a topic: its new total count.
 *
 * @example
 * ```ts
 * import type { PartitionIncrease } from "./topics.ts";
 *
 * const grow: PartitionIncrease = { topic: "orders", count: 12 };
 * console.log(grow.count);
 * ```
 */
export interface PartitionIncrease {
  /** The topic. */
  topic: string;
  /** The total number of partitions it should have. */
  count: number;
  /** Brokers of each new partition, by new partition (default: the broker's choice). */
  assignments?: readonly (readonly number[])[] | undefined;
}

/**
 * What became of one topic of `createPartitions`.
 *
 * @example
 * ```ts
 * import type { PartitionIncreaseResult } from "./topics.ts";
 *
 * const result: PartitionIncreaseResult = { topic: "orders", error: null };
 * console.log(result.error);
 * ```
 */
export interface PartitionIncreaseResult {
  /** The topic. */
  topic: string;
  /** Why the partitions were not added (e.g. INVALID_PARTITIONS), or null. */
  error: KafkaError | null;
}

/**
 * The cluster as DescribeCluster tells it.
 *
 * @example
 * ```ts
 * import type { ClusterDescription } from "./topics.ts";
 *
 * const cluster: ClusterDescription = {
 *   clusterId: "x", controllerId: 1, brokers: [], authorizedOperations: null,
 * };
 * console.log(cluster.controllerId);
 * ```
 */
export interface ClusterDescription {
  /** The cluster's id. */
  clusterId: string;
  /** The node id the brokers name as controller, -1 if none. */
  controllerId: number;
  /** The brokers, sorted by id. */
  brokers: (BrokerInfo & { isFenced: boolean })[];
  /** Bit field of operations the caller may do on the cluster, if asked. */
  authorizedOperations: number | null;
}

/**
 * One broker's API versions and features.
 *
 * @example
 * ```ts
 * import type { BrokerApiVersions } from "./topics.ts";
 *
 * const versions: BrokerApiVersions = { broker: "localhost:9092", apis: [], features: {} };
 * console.log(versions.broker);
 * ```
 */
export interface BrokerApiVersions {
  /** "host:port" of the broker that answered. */
  broker: string;
  /** Each API the broker serves, with its versions. */
  apis: { apiKey: number; minVersion: number; maxVersion: number }[];
  /** Finalized feature levels, e.g. `{ "metadata.version": 27 }`. */
  features: Record<string, number>;
}

/**
 * One partition in `metadata`'s answer.
 *
 * @example
 * ```ts
 * import type { PartitionMetadata } from "./topics.ts";
 *
 * const p: PartitionMetadata = {
 *   partition: 0, leader: 1, leaderEpoch: 0, replicas: [1], isr: [1],
 *   offlineReplicas: [], error: null,
 * };
 * console.log(p.leader);
 * ```
 */
export interface PartitionMetadata {
  /** The partition number. */
  partition: number;
  /** The leader's node id, -1 while there is none. */
  leader: number;
  /** The leader's epoch, -1 if unknown. */
  leaderEpoch: number;
  /** Node ids of its replicas. */
  replicas: number[];
  /** Node ids of its in-sync replicas. */
  isr: number[];
  /** Node ids of its offline replicas. */
  offlineReplicas: number[];
  /** The partition's error (e.g. LEADER_NOT_AVAILABLE), or null. */
  error: KafkaError | null;
}

/**
 * One topic in `metadata`'s answer.
 *
 * @example
 * ```ts
 * import type { TopicMetadata } from "./topics.ts";
 *
 * const t: TopicMetadata = {
 *   topic: "orders", topicId: "", isInternal: false, partitions: [], error: null,
 * };
 * console.log(t.partitions.length);
 * ```
 */
export interface TopicMetadata {
  /** The topic's name. */
  topic: string;
  /** Its id (base64url). */
  topicId: string;
  /** True for Kafka's own topics (__consumer_offsets...). */
  isInternal: boolean;
  /** Its partitions, sorted by number. */
  partitions: PartitionMetadata[];
  /** The topic's error (e.g. UNKNOWN_TOPIC_OR_PARTITION), or null. */
  error: KafkaError | null;
}

/**
 * The answer of `metadata`: brokers, controller and topics.
 *
 * @example
 * ```ts
 * import type { ClusterMetadata } from "./topics.ts";
 *
 * const m: ClusterMetadata = { clusterId: null, controllerId: 1, brokers: [], topics: [] };
 * console.log(m.controllerId);
 * ```
 */
export interface ClusterMetadata {
  /** The cluster's id. */
  clusterId: string | null;
  /** The node id the brokers name as controller. */
  controllerId: number;
  /** The brokers, sorted by id. */
  brokers: BrokerInfo[];
  /** The topics asked for (all when none were named), sorted by name. */
  topics: TopicMetadata[];
}

/** Metadata of some topics, or of all when `topics` is null or left out. */
export async function metadata(
  router: Router,
  topics: readonly string[] | null = null,
  options: CallOptions & { autoCreate?: boolean } = {},
): Promise<ClusterMetadata> {
  if (topics !== null) checkNames("metadata", "topics", topics);
  const call = router.call(options);
  const r = await router.any(Metadata, {
    topics: topics === null ? null : topics.map((name) => ({ name })),
    allowAutoTopicCreation: options.autoCreate ?? false,
  }, call);
  return {
    clusterId: r.clusterId,
    controllerId: r.controllerId,
    brokers: r.brokers
      .map((b) => ({ id: b.nodeId, host: b.host, port: b.port, rack: b.rack }))
      .sort((a, b) => a.id - b.id),
    topics: r.topics
      .map((t) => {
        const topic = t.name ?? "";
        return {
          topic,
          topicId: t.topicId,
          isInternal: t.isInternal,
          partitions: t.partitions
            .map((p) => partitionMetadata(p, topic, "Metadata"))
            .sort((a, b) => a.partition - b.partition),
          error: itemError(t.errorCode, null, { apiName: "Metadata", topic }),
        };
      })
      .sort((a, b) => a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0),
  };
}

/** A partition as Metadata and DescribeTopicPartitions describe it. */
export interface PartitionFields {
  partitionIndex: number;
  leaderId: number;
  leaderEpoch: number;
  replicaNodes: number[];
  isrNodes: number[];
  offlineReplicas: number[];
  errorCode: number;
}

/** A partition of `topic` in a Metadata or DescribeTopicPartitions answer. */
export function partitionMetadata(
  p: PartitionFields,
  topic: string,
  apiName: string,
): PartitionMetadata {
  return {
    partition: p.partitionIndex,
    leader: p.leaderId,
    leaderEpoch: p.leaderEpoch,
    replicas: p.replicaNodes,
    isr: p.isrNodes,
    offlineReplicas: p.offlineReplicas,
    error: itemError(p.errorCode, null, {
      apiName,
      topic,
      partition: p.partitionIndex,
    }),
  };
}

const NONE: readonly (readonly number[])[] = [];
const NO_CONFIGS: Readonly<Record<string, string>> = {};

/**
 * Throws a TypeError unless `assignment` (the argument `at` of `method`)
 * lists, for each partition in order, the ids of its replicas' brokers: at
 * least one, each an integer from 0.
 */
function checkAssignment(
  method: string,
  at: string,
  assignment: unknown,
): void {
  const expected =
    "an array with, per partition, an array of broker ids (integers >= 0)";
  if (!isList(assignment) || (assignment as unknown[]).length === 0) {
    throw badArgument(method, at, assignment, expected);
  }
  (assignment as unknown[]).forEach((ids, p) => {
    if (
      !isList(ids) || (ids as unknown[]).length === 0 ||
      !(ids as unknown[]).every((id) =>
        Number.isInteger(id) && (id as number) >= 0 &&
        (id as number) <= 0x7fffffff
      )
    ) {
      throw badArgument(method, `${at}[${p}]`, ids, expected);
    }
  });
}

/** Throws unless `value` is an array of strings that are not empty. */
function checkNames(method: string, argument: string, value: unknown): void {
  if (
    !Array.isArray(value) ||
    value.some((v) => typeof v !== "string" || v === "")
  ) {
    throw badArgument(method, argument, value, "an array of topic names");
  }
}

/** The fields of a NewTopic. */
const NEW_TOPIC_FIELDS: ReadonlySet<string> = new Set([
  "topic",
  "numPartitions",
  "replicationFactor",
  "replicaAssignment",
  "configs",
]);

/** Creates topics on the controller; one result per topic, in order. */
export async function createTopics(
  router: Router,
  topics: readonly NewTopic[],
  options: CreateTopicsOptions = {},
): Promise<CreatedTopic[]> {
  checkList("createTopics", "topics", topics, "an array of topics");
  topics.forEach((t, i) => {
    if (typeof t?.topic !== "string" || t.topic === "") {
      throw badArgument(
        "createTopics",
        `topics[${i}].topic`,
        t?.topic,
        "a topic name",
      );
    }
    // A misspelt field would otherwise create the topic with defaults.
    checkOptionNames(
      `Client.createTopics: "topics[${i}]"`,
      t,
      NEW_TOPIC_FIELDS,
    );
    for (const key of ["numPartitions", "replicationFactor"] as const) {
      const v = t[key];
      // The request's numPartitions is an int32, replicationFactor an int16.
      const max = key === "numPartitions" ? 0x7fffffff : 0x7fff;
      if (
        v !== undefined &&
        (!Number.isInteger(v) || (v < 1 && v !== -1) || v > max)
      ) {
        throw badArgument(
          "createTopics",
          `topics[${i}].${key}`,
          v,
          `a positive integer up to ${max} (or -1: the broker's default)`,
        );
      }
    }
    const configs: unknown = t.configs;
    if (
      configs !== undefined &&
      (!isObject(configs) ||
        Object.values(configs as object).some((v) => typeof v !== "string"))
    ) {
      // A number would be sent as its digits, an object as
      // "[object Object]"; alterConfigs refuses both too.
      throw badArgument(
        "createTopics",
        `topics[${i}].configs`,
        configs,
        'an object of string values, e.g. { "retention.ms": "3600000" }',
      );
    }
    const assignment: unknown = t.replicaAssignment;
    if (assignment !== undefined) {
      checkAssignment(
        "createTopics",
        `topics[${i}].replicaAssignment`,
        assignment,
      );
      // The broker refuses both; the count would otherwise be ignored.
      for (const key of ["numPartitions", "replicationFactor"] as const) {
        if (t[key] !== undefined && t[key] !== -1) {
          throw new TypeError(
            `Client.createTopics: "topics[${i}]" sets both "replicaAssignment" and "${key}" (${
              t[key]
            }); the assignment gives the partitions and their replicas: leave "${key}" out`,
          );
        }
      }
    }
  });
  if (topics.length === 0) return [];
  const call = router.call(options);
  const response = await router.waiting.controller(
    CreateTopics,
    (conn) => {
      // -1, the broker's default, is only understood from v4 (Kafka 2.4,
      // KIP-464); an older broker answers "Number of partitions must be
      // larger than 0", naming nothing the caller set.
      const defaulted = topics.find((t) =>
        !t.replicaAssignment &&
        ((t.numPartitions ?? -1) === -1 || (t.replicationFactor ?? -1) === -1)
      );
      if (defaulted) requireTopicDefaults(conn, defaulted.topic);
      return ({
        timeoutMs: router.brokerWait(call),
        validateOnly: options.validateOnly ?? false,
        topics: topics.map((t) => ({
          name: t.topic,
          numPartitions: t.replicaAssignment ? -1 : t.numPartitions ?? -1,
          replicationFactor: t.replicaAssignment
            ? -1
            : t.replicationFactor ?? -1,
          assignments: (t.replicaAssignment ?? NONE).map((brokerIds, i) => ({
            partitionIndex: i,
            brokerIds: [...brokerIds],
          })),
          configs: Object.entries(t.configs ?? NO_CONFIGS).map((
            [name, value],
          ) => ({
            name,
            value,
          })),
        })),
      });
    },
    call,
    (r) => r.topics.map((t) => t.errorCode),
  );
  if (!options.validateOnly) {
    const made = response.topics.filter((t) => t.errorCode === 0);
    await untilServed(
      router,
      call,
      new Map(made.map((t) => [t.name, t.numPartitions])),
    );
  }
  return topics.map((t) => {
    const r = response.topics.find((x) => x.name === t.topic);
    if (!r) {
      return {
        topic: t.topic,
        topicId: "",
        numPartitions: -1,
        replicationFactor: -1,
        configs: {},
        error: itemError(-1, "the broker's answer left the topic out", {
          apiName: "CreateTopics",
          topic: t.topic,
        }),
      };
    }
    const configs: Record<string, string | null> = {};
    for (const c of r.configs ?? []) configs[c.name] = c.value;
    return {
      topic: t.topic,
      // Before v7 (Kafka 2.8) the field is absent and decodes as the zero UUID.
      topicId: r.errorCode === 0 && r.topicId !== ZERO_UUID ? r.topicId : "",
      // Before v5 (Kafka 2.4) the answer has neither: the topic was
      // created as asked.
      numPartitions: r.numPartitions !== -1 || r.errorCode !== 0
        ? r.numPartitions
        : t.replicaAssignment?.length ?? t.numPartitions ?? -1,
      replicationFactor: r.replicationFactor !== -1 || r.errorCode !== 0
        ? r.replicationFactor
        : t.replicaAssignment?.[0]?.length ?? t.replicationFactor ?? -1,
      configs,
      error: itemError(r.errorCode, r.errorMessage, {
        apiName: "CreateTopics",
        topic: t.topic,
      }),
    };
  });
}

/**
 * Waits, within the call's deadline but at most 5 s, until each topic's
 * partitions are served: until the brokers' metadata shows them with their
 * leaders (the controller answers before the brokers know, and a request
 * right after would meet UNKNOWN_TOPIC_OR_PARTITION), and each leader
 * answers ListOffsets for them: a broker names itself leader in its
 * metadata a moment before it acts as one. Without that second check, a
 * produce right after met NOT_LEADER_OR_FOLLOWER on some partition of a
 * new 3-partition topic in 60-67 of 100 runs, and a writer's retry waits
 * 100 ms.
 */
async function untilServed(
  router: Router,
  call: Call,
  partitions: Map<string, number>,
): Promise<void> {
  if (partitions.size === 0) return;
  // Its requests too: one the broker leaves unanswered (seen after a kill
  // of the controller) would otherwise hold the call to its deadline.
  const wait: Call = {
    deadline: Math.min(call.deadline, Date.now() + 5000),
    signal: call.signal,
  };
  const names = [...partitions.keys()];
  const aborted = () => {
    if (call.signal?.aborted) throw abortReason(call.signal, "Admin call");
  };
  while (Date.now() < wait.deadline) {
    aborted();
    const r = await router.any(Metadata, {
      topics: names.map((name) => ({ name })),
      allowAutoTopicCreation: false,
    }, wait).catch(() => null);
    const served = r !== null && names.every((name) => {
      const t = r.topics.find((x) => x.name === name);
      const want = partitions.get(name)!;
      return t !== undefined && t.errorCode === 0 &&
        (want < 0 || t.partitions.length >= want) &&
        t.partitions.every((p) => p.leaderId >= 0);
    });
    if (served) {
      const queries = r.topics.filter((t) => partitions.has(t.name!))
        .flatMap((t) =>
          t.partitions.map((p) => ({
            topic: t.name!,
            partition: p.partitionIndex,
            at: "latest" as const,
          }))
        );
      const listed = await leaderOffsets(router, wait, queries, false, true)
        .catch(() => null);
      const waiting = listed?.filter((o) => o.error !== null);
      if (waiting?.length === 0) return;
      for (const o of waiting ?? []) router.cluster.invalidate(o.topic);
    }
    aborted();
    await sleep(20, call.signal);
  }
}

/** Deletes topics by name; one result per topic, in order. */
export async function deleteTopics(
  router: Router,
  topics: readonly string[],
  options: CallOptions = {},
): Promise<DeletedTopic[]> {
  checkNames("deleteTopics", "topics", topics);
  if (topics.length === 0) return [];
  const call = router.call(options);
  const response = await router.waiting.controller(
    DeleteTopics,
    // v0-5 name the topics in a list of strings, v6+ in structs (KIP-516).
    (conn) =>
      conn.pickVersion(DeleteTopics) < 6
        ? { timeoutMs: router.brokerWait(call), topicNames: [...topics] }
        : {
          timeoutMs: router.brokerWait(call),
          topics: topics.map((name) => ({ name })),
        },
    call,
    (r) => r.responses.map((t) => t.errorCode),
  );
  for (const name of topics) router.cluster.invalidate(name);
  return topics.map((topic) => {
    const r = response.responses.find((x) => x.name === topic);
    return {
      topic,
      // Before v6 (Kafka 2.8) the field is absent and decodes as the zero
      // UUID: no id, as CreateTopics gives before v7.
      topicId: r && r.topicId !== ZERO_UUID ? r.topicId : "",
      error: answerError(r, "topic", { apiName: "DeleteTopics", topic }),
    };
  });
}

/** Raises topics' partition counts; one result per topic, in order. */
export async function createPartitions(
  router: Router,
  increases: readonly PartitionIncrease[],
  options: CreateTopicsOptions = {},
): Promise<PartitionIncreaseResult[]> {
  checkList(
    "createPartitions",
    "increases",
    increases,
    "an array of { topic, count }",
  );
  increases.forEach((p, i) => {
    if (typeof p?.topic !== "string" || p.topic === "") {
      throw badArgument(
        "createPartitions",
        `increases[${i}].topic`,
        p?.topic,
        "a topic name",
      );
    }
    if (!Number.isInteger(p.count) || p.count < 1 || p.count > 0x7fffffff) {
      throw badArgument(
        "createPartitions",
        `increases[${i}].count`,
        p.count,
        "the new total number of partitions, a positive integer up to 2147483647",
      );
    }
    if (p.assignments !== undefined && p.assignments !== null) {
      checkAssignment(
        "createPartitions",
        `increases[${i}].assignments`,
        p.assignments,
      );
    }
  });
  if (increases.length === 0) return [];
  const call = router.call(options);
  const response = await router.waiting.controller(
    CreatePartitions,
    () => ({
      timeoutMs: router.brokerWait(call),
      validateOnly: options.validateOnly ?? false,
      topics: increases.map((p) => ({
        name: p.topic,
        count: p.count,
        assignments: p.assignments
          ? p.assignments.map((ids: readonly number[]) => ({
            brokerIds: [...ids],
          }))
          : null,
      })),
    }),
    call,
    (r) => r.results.map((t) => t.errorCode),
  );
  for (const p of increases) router.cluster.invalidate(p.topic);
  if (!options.validateOnly) {
    const grown = increases.filter((p) =>
      response.results.find((x) => x.name === p.topic)?.errorCode === 0
    );
    await untilServed(
      router,
      call,
      new Map(grown.map((p) => [p.topic, p.count])),
    );
  }
  return increases.map(({ topic }) => {
    const r = response.results.find((x) => x.name === topic);
    return {
      topic,
      error: answerError(r, "topic", { apiName: "CreatePartitions", topic }),
    };
  });
}

/** The cluster's id, controller and brokers, from DescribeCluster. */
export async function describeCluster(
  router: Router,
  options: CallOptions & { includeAuthorizedOperations?: boolean } = {},
): Promise<ClusterDescription> {
  const call = router.call(options);
  const r = await router.any(DescribeCluster, {
    includeClusterAuthorizedOperations: options.includeAuthorizedOperations ??
      false,
  }, call);
  const error = itemError(r.errorCode, r.errorMessage, {
    apiName: "DescribeCluster",
  });
  if (error) throw error;
  return {
    clusterId: r.clusterId,
    controllerId: r.controllerId,
    brokers: r.brokers
      .map((b) => ({
        id: b.brokerId,
        host: b.host,
        port: b.port,
        rack: b.rack,
        isFenced: b.isFenced,
      }))
      .sort((a, b) => a.id - b.id),
    authorizedOperations: options.includeAuthorizedOperations &&
        r.clusterAuthorizedOperations !== -2147483648
      ? r.clusterAuthorizedOperations
      : null,
  };
}

/** Asks a broker (any, or one by id) which API versions it serves. */
export async function apiVersions(
  router: Router,
  options: CallOptions & { broker?: number } = {},
): Promise<BrokerApiVersions> {
  const call = router.call(options);
  if (options.broker !== undefined) {
    await requireListed(
      router,
      call,
      "apiVersions",
      options.broker,
      "ApiVersions",
    );
  }
  let address = "";
  const body = (conn: { address: string }) => {
    address = conn.address;
    return {
      clientSoftwareName: "streamkafka",
      clientSoftwareVersion: "0.1.0",
    };
  };
  const r = options.broker === undefined
    ? await router.any(ApiVersions, body, call)
    : await router.broker(options.broker, ApiVersions, body, call);
  const error = itemError(r.errorCode, null, { apiName: "ApiVersions" });
  if (error) throw error;
  const features: Record<string, number> = {};
  for (const f of r.finalizedFeatures) features[f.name] = f.maxVersionLevel;
  return {
    broker: address,
    apis: r.apiKeys.map((k) => ({
      apiKey: k.apiKey,
      minVersion: k.minVersion,
      maxVersion: k.maxVersion,
    })),
    features,
  };
}
