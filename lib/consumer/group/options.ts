/**
 * The consumer-group options of the Reader, in kafka-go's ReaderConfig
 * names, their defaults and their checks.
 *
 * @module
 */

import { checkNumber, describeValue } from "../../options.ts";
import type { TopicPartition } from "../fetch_engine.ts";
import {
  type GroupBalancer,
  RangeGroupBalancer,
  RoundRobinGroupBalancer,
} from "./balancers.ts";

export type { TopicPartition };

/**
 * A rebalance callback; the Reader awaits what it returns.
 *
 * @example
 * ```ts
 * import type { RebalanceCallback } from "./options.ts";
 *
 * const onPartitionsRevoked: RebalanceCallback = (partitions) => {
 *   console.log(`giving up ${partitions.length} partitions`);
 * };
 * onPartitionsRevoked([{ topic: "t", partition: 0 }]);
 * ```
 */
export type RebalanceCallback = (
  partitions: TopicPartition[],
) => void | Promise<void>;

/** Options of a Reader in a consumer group (set `groupId`). */
export interface GroupOptions {
  /** The consumer group to join; its members share the topics' partitions. */
  groupId?: string | undefined;
  /**
   * The topics the group reads, when more than `topic`; or a regular
   * expression matched against every topic's whole name (as if anchored
   * with ^ and $), now and as topics are created or deleted.
   *
   * With `groupProtocol: "consumer"` the broker matches it, in RE2/J
   * syntax: lookarounds and backreferences are refused here, and the flags
   * i, m and s become (?i), (?m) and (?s). With "classic" each member
   * matches it (as JavaScript) against the cluster's topics when it joins
   * and every `partitionWatchInterval`, and rejoins when the matching
   * topics or their partition counts change, as Java's consumer does;
   * internal topics (`__consumer_offsets`...) never match then, while the
   * broker's matching includes them.
   */
  groupTopics?: readonly string[] | RegExp | undefined;
  /**
   * The group protocol: "classic" (the default; JoinGroup, SyncGroup and
   * heartbeats, which every broker and client speaks), or "consumer"
   * (KIP-848, Kafka 4.0 on: the broker assigns, members reconcile on their
   * own heartbeats, and nobody stops for a rebalance; the session timeout
   * and heartbeat interval are then the broker's group settings,
   * `group.consumer.session.timeout.ms` and
   * `group.consumer.heartbeat.interval.ms`).
   */
  groupProtocol?: "classic" | "consumer" | undefined;
  /**
   * With `groupProtocol: "consumer"`: the broker's assignor, "uniform" or
   * "range" (default: the broker's first, `group.consumer.assignors`).
   */
  groupRemoteAssignor?: string | undefined;
  /**
   * A static member's id, unique in the group and stable across restarts
   * (KIP-345): a Reader that closes and comes back with the same id within
   * the session timeout gets its partitions back, and the others do not
   * rebalance. A static member does not leave the group when it closes
   * (classic), or leaves as one that will return (consumer protocol).
   */
  groupInstanceId?: string | undefined;
  /**
   * The rack (zone) this Reader runs in (Java's `client.rack`). Sent with
   * each Fetch: a broker whose `replica.selector.class` is
   * `org.apache.kafka.common.replica.RackAwareReplicaSelector` names a
   * replica in this rack, and the partition is read from it (KIP-392),
   * which saves cross-zone traffic. In a group, rack-aware assignors read
   * it too: it is sent in the subscription (classic, v3) or heartbeat.
   */
  rack?: string | undefined;
  /**
   * Classic protocol: how the partitions are shared, in order of preference
   * (default Range then RoundRobin). The group uses the first that every
   * member offers. With only cooperative balancers
   * (CooperativeStickyGroupBalancer) rebalances are incremental (KIP-429).
   */
  groupBalancers?: readonly GroupBalancer[] | undefined;
  /** Classic protocol: milliseconds between heartbeats (default 3 s). */
  heartbeatInterval?: number | undefined;
  /** Classic protocol: milliseconds without heartbeats before the group drops a member (default 30 s). */
  sessionTimeout?: number | undefined;
  /** Milliseconds the group waits for its members to rejoin (default 30 s). */
  rebalanceTimeout?: number | undefined;
  /**
   * Milliseconds the application may go without reading before the Reader
   * leaves the group (default 300,000: Java's `max.poll.interval.ms`). The
   * member heartbeats on its own, so without this a Reader that is no
   * longer read, but not closed, would keep its partitions unread forever.
   * A read counts when it is made (`readMessage`, `fetchMessage`, a `for
   * await` step, a batch, a pipe's or Processor's pull), and a read waiting
   * for messages keeps counting; a handler or loop body slower than this
   * lets the partitions go. On leaving, the partitions are given up as in a
   * rebalance (`onPartitionsRevoked`, then what was consumed is committed);
   * the next read joins again.
   */
  maxPollInterval?: number | undefined;
  /**
   * Longest wait between attempts to join after failures, in milliseconds
   * (default 5 s): the wait starts at 100 ms and doubles up to it. Under
   * the consumer protocol it is at most 5 s (a member silent longer risks
   * its session).
   */
  joinGroupBackoff?: number | undefined;
  /**
   * Milliseconds the broker should keep the group's committed offsets
   * (default -1: the broker's `offsets.retention.minutes`). Kept for
   * kafka-go compatibility: only OffsetCommit v2-v4 carry it, which brokers
   * older than Kafka 2.1 speak; later ones are sent later versions and keep
   * the offsets for `offsets.retention.minutes` after the group empties.
   * A value other than -1 is logged as ignored through `errorLogger`.
   */
  retentionTime?: number | undefined;
  /**
   * Milliseconds between commits of what was read (default 0: each
   * `commitMessages` and each `readMessage` commits before it returns).
   */
  commitInterval?: number | undefined;
  /**
   * Whether new partitions of the topics rebalance the group (default
   * false; always so with `groupTopics` as a RegExp).
   */
  watchPartitionChanges?: boolean | undefined;
  /**
   * Milliseconds between checks for new partitions, and (classic, with
   * `groupTopics` as a RegExp) for topics that match (default 5 s). Each
   * check of a pattern is a Metadata request for every topic.
   */
  partitionWatchInterval?: number | undefined;
  /** Called with the partitions of each new generation, before reading them. */
  onPartitionsAssigned?: RebalanceCallback | undefined;
  /**
   * Called before the member gives up its partitions to rejoin, and awaited:
   * commit or flush here. Commits are still accepted.
   */
  onPartitionsRevoked?: RebalanceCallback | undefined;
  /**
   * Called when the member learns its generation is over already (it was
   * dropped from the group): the partitions belong to others now, and
   * commits for them would be refused.
   */
  onPartitionsLost?: RebalanceCallback | undefined;
}

/** The group defaults (kafka-go's, but `retentionTime`: 24 h there). */
export const GROUP_DEFAULTS = {
  heartbeatInterval: 3000,
  sessionTimeout: 30_000,
  rebalanceTimeout: 30_000,
  maxPollInterval: 300_000,
  joinGroupBackoff: 5000,
  retentionTime: -1,
  commitInterval: 0,
  partitionWatchInterval: 5000,
};

/** The group settings with their defaults filled in. */
export interface GroupSettings extends Required<typeof GROUP_DEFAULTS> {
  groupId: string;
  protocol: "classic" | "consumer";
  /** The topics subscribed to by name; empty with `pattern`. */
  topics: string[];
  /**
   * A subscription by pattern as `stats()` shows it, or null: under the
   * consumer protocol, the RE2/J expression the broker matches.
   */
  pattern: string | null;
  /** Classic, by pattern: what a topic's whole name must match. */
  matcher: RegExp | null;
  remoteAssignor: string | null;
  groupInstanceId: string | null;
  rack: string | null;
  balancers: GroupBalancer[];
  watchPartitionChanges: boolean;
}

/** Options the broker decides under the consumer protocol. */
const CLASSIC_ONLY = [
  "groupBalancers",
  "heartbeatInterval",
  "sessionTimeout",
  "watchPartitionChanges",
  "partitionWatchInterval",
] as const;

const INT32_MAX = 2 ** 31 - 1;

/**
 * Checks the group options of a Reader with `groupId` set and fills in
 * defaults; `topic` is the Reader's own topic option.
 */
export function groupSettings(
  options: GroupOptions & {
    topic?: string | undefined;
    partition?: number | undefined;
    readLagInterval?: number | undefined;
  },
): GroupSettings {
  const context = "Cannot create Reader";
  const fail = (message: string): never => {
    throw new TypeError(`${context}: ${message}`);
  };
  if (typeof options.groupId !== "string" || options.groupId === "") {
    fail(
      `"groupId" must be a non-empty string, got ${
        describeValue(options.groupId)
      }`,
    );
  }
  const protocol = options.groupProtocol ?? "classic";
  if (protocol !== "classic" && protocol !== "consumer") {
    throw new RangeError(
      `${context}: "groupProtocol" must be "classic" or "consumer", got ${
        describeValue(options.groupProtocol)
      }`,
    );
  }
  if (protocol === "consumer") {
    for (const key of CLASSIC_ONLY) {
      if (options[key] !== undefined) {
        fail(
          `"${key}" cannot be set with groupProtocol "consumer" (got ${
            describeValue(options[key])
          }): the broker assigns partitions and sets session timeouts and heartbeat intervals (group.consumer.* configs)`,
        );
      }
    }
  }
  for (const key of ["groupInstanceId", "rack"] as const) {
    const value = options[key];
    if (value !== undefined && (typeof value !== "string" || value === "")) {
      fail(
        `"${key}" must be a non-empty string, got ${describeValue(value)}`,
      );
    }
  }
  const remoteAssignor = options.groupRemoteAssignor;
  if (remoteAssignor !== undefined) {
    if (protocol !== "consumer") {
      fail(
        `"groupRemoteAssignor" needs groupProtocol "consumer" (got ${
          describeValue(options.groupProtocol)
        }); with "classic", choose groupBalancers`,
      );
    }
    if (typeof remoteAssignor !== "string" || remoteAssignor === "") {
      fail(
        `"groupRemoteAssignor" must be an assignor name such as "uniform" or "range", got ${
          describeValue(remoteAssignor)
        }`,
      );
    }
  }
  if (options.partition !== undefined) {
    fail(
      `"partition" cannot be set with "groupId" (got ${options.partition}): the group assigns partitions`,
    );
  }
  if (options.readLagInterval !== undefined) {
    fail(
      `"readLagInterval" is not used in a group (got ${
        describeValue(options.readLagInterval)
      }): each partition's lag comes with its fetches (stats().partitions)`,
    );
  }
  const topics: string[] = [];
  let pattern: string | null = null;
  let matcher: RegExp | null = null;
  if (options.groupTopics instanceof RegExp) {
    if (options.topic !== undefined) {
      fail(
        `"topic" (${options.topic}) cannot be set with "groupTopics" as a RegExp: the pattern names the topics`,
      );
    }
    if (protocol === "consumer") {
      pattern = toRe2(options.groupTopics, fail);
    } else {
      pattern = options.groupTopics.source;
      matcher = wholeName(options.groupTopics);
    }
  } else if (options.topic !== undefined) topics.push(options.topic);
  if (options.groupTopics !== undefined && pattern === null) {
    if (!Array.isArray(options.groupTopics)) {
      fail(
        `"groupTopics" must be an array of topic names, got ${
          describeValue(options.groupTopics)
        }`,
      );
    }
    for (const topic of options.groupTopics as readonly string[]) {
      if (!topics.includes(topic)) topics.push(topic);
    }
  }
  if (topics.length === 0 && pattern === null) {
    fail(`a group Reader needs "topic" or "groupTopics"`);
  }
  for (const topic of topics) {
    if (typeof topic !== "string" || topic === "") {
      fail(
        `topic names must be non-empty strings, got ${describeValue(topic)}`,
      );
    }
  }
  const balancers = options.groupBalancers ??
    [new RangeGroupBalancer(), new RoundRobinGroupBalancer()];
  if (!Array.isArray(balancers) || balancers.length === 0) {
    fail(
      `"groupBalancers" must list at least one balancer, got ${
        describeValue(balancers)
      }`,
    );
  }
  for (const b of balancers) {
    if (
      typeof b?.protocolName !== "string" || typeof b.assign !== "function"
    ) {
      fail(
        `each of "groupBalancers" needs a protocolName and an assign(members, partitions) method`,
      );
    }
  }
  const settings = { ...GROUP_DEFAULTS };
  for (
    const key of Object.keys(GROUP_DEFAULTS) as (keyof typeof GROUP_DEFAULTS)[]
  ) {
    const value = options[key];
    const min = key === "retentionTime" ? -1 : key === "commitInterval" ? 0 : 1;
    checkNumber(context, key, value, { min, max: INT32_MAX });
    if (value !== undefined) settings[key] = value;
  }
  if (settings.heartbeatInterval >= settings.sessionTimeout) {
    throw new RangeError(
      `${context}: "heartbeatInterval" (${settings.heartbeatInterval}) must be less than "sessionTimeout" (${settings.sessionTimeout})`,
    );
  }
  for (
    const key of [
      "onPartitionsAssigned",
      "onPartitionsRevoked",
      "onPartitionsLost",
    ] as const
  ) {
    if (options[key] !== undefined && typeof options[key] !== "function") {
      fail(`"${key}" must be a function, got ${describeValue(options[key])}`);
    }
  }
  if (
    options.watchPartitionChanges !== undefined &&
    typeof options.watchPartitionChanges !== "boolean"
  ) {
    fail(
      `"watchPartitionChanges" must be a boolean, got ${
        describeValue(options.watchPartitionChanges)
      }`,
    );
  }
  return {
    ...settings,
    groupId: options.groupId!,
    protocol,
    topics,
    pattern,
    matcher,
    remoteAssignor: remoteAssignor ?? null,
    groupInstanceId: options.groupInstanceId ?? null,
    rack: options.rack ?? null,
    balancers: [...balancers],
    watchPartitionChanges: options.watchPartitionChanges ?? false,
  };
}

/**
 * `regex` matching whole names only, as Java's `Pattern.matches` and the
 * broker do; without the g and y flags, whose `test()` keeps state.
 */
function wholeName(regex: RegExp): RegExp {
  return new RegExp(`^(?:${regex.source})$`, regex.flags.replace(/[gy]/g, ""));
}

/**
 * A JavaScript RegExp as the RE2/J expression the broker evaluates. What
 * RE2 cannot do (lookarounds, backreferences) is refused, naming the part.
 */
function toRe2(regex: RegExp, fail: (message: string) => never): string {
  const source = regex.source;
  const unsupported: [RegExp, string][] = [
    [/\(\?<?[=!]/, "lookarounds ((?=, (?!, (?<=, (?<!)"],
    [/\\[1-9]|\\k</, "backreferences (\\1, \\k<name>)"],
  ];
  for (const [test, what] of unsupported) {
    if (test.test(source)) {
      fail(
        `"groupTopics" ${regex} uses ${what}, which the broker's RE2/J syntax does not have`,
      );
    }
  }
  let flags = "";
  for (const flag of regex.flags) {
    if (flag === "i" || flag === "m" || flag === "s") flags += flag;
  }
  return flags === "" ? source : `(?${flags})${source}`;
}
