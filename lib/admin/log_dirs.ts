/**
 * Log directories: where each broker keeps its replicas, how big each
 * replica is, how full each volume is (DescribeLogDirs, asked of every
 * broker or some), and moving replicas between a broker's directories
 * (AlterReplicaLogDirs, asked of the broker that holds them).
 *
 * @module
 */

import {
  type CallOptions,
  itemError,
  itemFailure,
  type Router,
} from "../cluster/route.ts";
import type { TopicPartition } from "../message.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { AlterReplicaLogDirs } from "../protocol/messages/alter_replica_log_dirs.ts";
import { DescribeLogDirs } from "../protocol/messages/describe_log_dirs.ts";
import {
  badArgument,
  checkList,
  checkPartitions,
} from "../requests/arguments.ts";
import { brokerIds, checkBrokerId, notListed } from "./brokers.ts";

/**
 * One replica in a log directory.
 *
 * @example
 * ```ts
 * import type { ReplicaInfo } from "./log_dirs.ts";
 *
 * const r: ReplicaInfo = { topic: "a", partition: 0, size: 1024, offsetLag: 0, isFuture: false };
 * console.log(r.size);
 * ```
 */
export interface ReplicaInfo {
  /** The replica's topic. */
  topic: string;
  /** The replica's partition. */
  partition: number;
  /** Bytes of its log segments. */
  size: number;
  /**
   * How far its log end is behind the partition's high watermark (a
   * current replica), or behind the current replica's log end (a future
   * one, being moved here).
   */
  offsetLag: number;
  /** A replica being moved into this directory (`alterReplicaLogDirs`). */
  isFuture: boolean;
}

/**
 * One log directory of a broker.
 *
 * @example
 * ```ts
 * import type { LogDirInfo } from "./log_dirs.ts";
 *
 * const d: LogDirInfo = {
 *   path: "/var/kafka", error: null, totalBytes: 100, usableBytes: 40,
 *   isCordoned: false, replicas: [],
 * };
 * console.log(d.usableBytes / d.totalBytes);
 * ```
 */
export interface LogDirInfo {
  /** The directory's absolute path on the broker. */
  path: string;
  /** Why it cannot be used (KAFKA_STORAGE_ERROR for an offline directory), or null. */
  error: KafkaError | null;
  /** Bytes of the volume it is on, -1 when the broker does not say (before Kafka 3.3). */
  totalBytes: number;
  /** Bytes free for it on that volume, -1 when the broker does not say. */
  usableBytes: number;
  /** Whether it takes no new replicas (KIP-1066, Kafka 4.2 on). */
  isCordoned: boolean;
  /** Its replicas, of the topics asked about. */
  replicas: ReplicaInfo[];
}

/**
 * The log directories of one broker, or why it could not tell.
 *
 * @example
 * ```ts
 * import type { BrokerLogDirs } from "./log_dirs.ts";
 *
 * const b: BrokerLogDirs = { broker: 1, error: null, logDirs: [] };
 * console.log(b.broker);
 * ```
 */
export interface BrokerLogDirs {
  /** The broker's node id. */
  broker: number;
  /** Why the broker did not answer (it is down, or refused), or null. */
  error: KafkaError | null;
  /** Its log directories (empty when `error`). */
  logDirs: LogDirInfo[];
}

/**
 * Options of `describeLogDirs`.
 *
 * @example
 * ```ts
 * import type { DescribeLogDirsOptions } from "./log_dirs.ts";
 *
 * const options: DescribeLogDirsOptions = { brokers: [1], topics: ["orders"] };
 * console.log(options.topics);
 * ```
 */
export interface DescribeLogDirsOptions extends CallOptions {
  /** The brokers to ask, by node id (default: every broker). */
  brokers?: readonly number[] | undefined;
  /** Only these topics' replicas (default: every topic). */
  topics?: readonly string[] | undefined;
}

/**
 * A replica to move to another log directory of its broker.
 *
 * @example
 * ```ts
 * import type { ReplicaMove } from "./log_dirs.ts";
 *
 * const move: ReplicaMove = { topic: "orders", partition: 0, broker: 1, path: "/data2/kafka" };
 * console.log(move.path);
 * ```
 */
export interface ReplicaMove extends TopicPartition {
  /** The broker holding the replica. */
  broker: number;
  /** The absolute path of the directory to move it to, as the broker knows it. */
  path: string;
}

/**
 * The outcome of one replica's move.
 *
 * @example
 * ```ts
 * import type { ReplicaMoveResult } from "./log_dirs.ts";
 *
 * const r: ReplicaMoveResult = { topic: "orders", partition: 0, broker: 1, error: null };
 * console.log(r.error === null);
 * ```
 */
export interface ReplicaMoveResult extends TopicPartition {
  /** The broker holding the replica. */
  broker: number;
  /**
   * Why it was refused (LOG_DIR_NOT_FOUND, KAFKA_STORAGE_ERROR,
   * REPLICA_NOT_AVAILABLE...), or null: the broker moves it in the
   * background (`describeLogDirs` shows it as a future replica meanwhile).
   */
  error: KafkaError | null;
}

const DESCRIBE = "describeLogDirs";
const ALTER = "alterReplicaLogDirs";

/** Asks brokers (all by default) about their log directories. */
export async function describeLogDirs(
  router: Router,
  options: DescribeLogDirsOptions = {},
): Promise<BrokerLogDirs[]> {
  const { brokers, topics } = options;
  if (brokers !== undefined) {
    checkList(DESCRIBE, "brokers", brokers, "an array of broker ids");
    brokers.forEach((id, i) => checkBrokerId(DESCRIBE, `brokers[${i}]`, id));
  }
  if (topics !== undefined) {
    checkList(DESCRIBE, "topics", topics, "an array of topic names");
    topics.forEach((t, i) => {
      if (typeof t !== "string" || t === "") {
        throw badArgument(DESCRIBE, `topics[${i}]`, t, "a topic name");
      }
    });
  }
  const call = router.call(options);
  // Asking for a topic's replicas means naming its partitions.
  let body: { topics: { topic: string; partitions: number[] }[] | null } = {
    topics: null,
  };
  if (topics !== undefined) {
    body = {
      topics: await Promise.all([...new Set(topics)].map(async (topic) => {
        try {
          const info = await router.retry(
            call,
            () =>
              router.within(
                call,
                `Looking up topic ${topic}`,
                router.cluster.topic(topic),
              ),
          );
          return { topic, partitions: info.partitions.map((p) => p.id) };
        } catch (error) {
          if (
            error instanceof KafkaError &&
            error.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          ) return { topic, partitions: [] };
          throw error;
        }
      })),
    };
  }
  const known = await brokerIds(router, call);
  const ids = brokers !== undefined ? [...new Set(brokers)] : known;
  return await Promise.all(ids.map(async (broker): Promise<BrokerLogDirs> => {
    const missing = notListed(broker, known, "DescribeLogDirs");
    if (missing) return { broker, error: missing, logDirs: [] };
    try {
      const r = await router.broker(broker, DescribeLogDirs, body, call);
      const error = itemError(r.errorCode, null, {
        apiName: "DescribeLogDirs",
      });
      if (error) return { broker, error, logDirs: [] };
      return {
        broker,
        error: null,
        logDirs: r.results.map((d) => ({
          path: d.logDir,
          error: itemError(d.errorCode, null, { apiName: "DescribeLogDirs" }),
          totalBytes: d.totalBytes,
          usableBytes: d.usableBytes,
          isCordoned: d.isCordoned,
          replicas: d.topics.flatMap((t) =>
            t.partitions.map((p) => ({
              topic: t.name,
              partition: p.partitionIndex,
              size: p.partitionSize,
              offsetLag: p.offsetLag,
              isFuture: p.isFutureKey,
            }))
          ),
        })),
      };
    } catch (error) {
      return {
        broker,
        error: itemFailure(error, call, {
          apiName: "DescribeLogDirs",
          detail: `broker ${broker}`,
        }),
        logDirs: [],
      };
    }
  }));
}

/**
 * Moves replicas to other log directories of their brokers; one result per
 * move, in order. Each broker is asked about its own replicas.
 */
export async function alterReplicaLogDirs(
  router: Router,
  moves: readonly ReplicaMove[],
  options: CallOptions = {},
): Promise<ReplicaMoveResult[]> {
  checkPartitions(ALTER, "moves", moves, (move, at) => {
    checkBrokerId(ALTER, `${at}.broker`, move.broker);
    if (typeof move.path !== "string" || !move.path.startsWith("/")) {
      throw badArgument(
        ALTER,
        `${at}.path`,
        move.path,
        "the absolute path of a log directory",
      );
    }
  });
  const call = router.call(options);
  const byBroker = new Map<number, ReplicaMove[]>();
  for (const move of moves) {
    const list = byBroker.get(move.broker) ?? [];
    list.push(move);
    byBroker.set(move.broker, list);
  }
  const errors = new Map<ReplicaMove, KafkaError | null>();
  const known = await brokerIds(router, call);
  await Promise.all([...byBroker].map(async ([broker, list]) => {
    const missing = notListed(broker, known, "AlterReplicaLogDirs");
    if (missing) {
      for (const m of list) errors.set(m, missing);
      return;
    }
    const dirs = new Map<string, Map<string, number[]>>();
    for (const m of list) {
      const topics = dirs.get(m.path) ?? new Map<string, number[]>();
      topics.set(m.topic, [...(topics.get(m.topic) ?? []), m.partition]);
      dirs.set(m.path, topics);
    }
    try {
      const r = await router.broker(broker, AlterReplicaLogDirs, {
        dirs: [...dirs].map(([path, topics]) => ({
          path,
          topics: [...topics].map(([name, partitions]) => ({
            name,
            partitions,
          })),
        })),
      }, call);
      for (const m of list) {
        const found = r.results.find((t) => t.topicName === m.topic)
          ?.partitions.find((p) => p.partitionIndex === m.partition);
        errors.set(
          m,
          itemError(
            found?.errorCode ?? -1,
            found ? null : `broker ${broker}'s answer left it out`,
            {
              apiName: "AlterReplicaLogDirs",
              topic: m.topic,
              partition: m.partition,
            },
          ),
        );
      }
    } catch (error) {
      for (const m of list) {
        errors.set(
          m,
          itemFailure(error, call, {
            apiName: "AlterReplicaLogDirs",
            topic: m.topic,
            partition: m.partition,
            detail: `broker ${broker}`,
          }),
        );
      }
    }
  }));
  return moves.map((m) => ({
    topic: m.topic,
    partition: m.partition,
    broker: m.broker,
    error: errors.get(m) ?? null,
  }));
}
