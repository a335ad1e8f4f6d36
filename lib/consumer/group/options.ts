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
  groupId?: string;
  /** The topics the group reads, when more than `topic`. */
  groupTopics?: readonly string[];
  /**
   * The group protocol: "classic" (the default; JoinGroup, SyncGroup and
   * heartbeats, which every broker and client speaks).
   */
  groupProtocol?: "classic";
  /**
   * How the partitions are shared, in order of preference (default Range
   * then RoundRobin). The group uses the first that every member offers.
   */
  groupBalancers?: readonly GroupBalancer[];
  /** Milliseconds between heartbeats (default 3 s). */
  heartbeatInterval?: number;
  /** Milliseconds without heartbeats before the group drops a member (default 30 s). */
  sessionTimeout?: number;
  /** Milliseconds the group waits for its members to rejoin (default 30 s). */
  rebalanceTimeout?: number;
  /** Milliseconds between attempts to join after a failure (default 5 s). */
  joinGroupBackoff?: number;
  /**
   * Milliseconds the broker keeps the group's committed offsets after the
   * group empties (default -1: the broker's `offsets.retention.minutes`).
   */
  retentionTime?: number;
  /**
   * Milliseconds between commits of what was read (default 0: each
   * `commitMessages` and each `readMessage` commits before it returns).
   */
  commitInterval?: number;
  /** Whether new partitions of the topics rebalance the group (default false). */
  watchPartitionChanges?: boolean;
  /** Milliseconds between checks for new partitions (default 5 s). */
  partitionWatchInterval?: number;
  /** Called with the partitions of each new generation, before reading them. */
  onPartitionsAssigned?: RebalanceCallback;
  /**
   * Called before the member gives up its partitions to rejoin, and awaited:
   * commit or flush here. Commits are still accepted.
   */
  onPartitionsRevoked?: RebalanceCallback;
  /**
   * Called when the member learns its generation is over already (it was
   * dropped from the group): the partitions belong to others now, and
   * commits for them would be refused.
   */
  onPartitionsLost?: RebalanceCallback;
}

/** The group defaults, as kafka-go has them. */
export const GROUP_DEFAULTS = {
  heartbeatInterval: 3000,
  sessionTimeout: 30_000,
  rebalanceTimeout: 30_000,
  joinGroupBackoff: 5000,
  retentionTime: -1,
  commitInterval: 0,
  partitionWatchInterval: 5000,
};

/** The group settings with their defaults filled in. */
export interface GroupSettings extends Required<typeof GROUP_DEFAULTS> {
  groupId: string;
  topics: string[];
  balancers: GroupBalancer[];
  watchPartitionChanges: boolean;
}

const INT32_MAX = 2 ** 31 - 1;

/**
 * Checks the group options of a Reader with `groupId` set and fills in
 * defaults; `topic` is the Reader's own topic option.
 */
export function groupSettings(
  options: GroupOptions & { topic?: string; partition?: number },
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
  if (
    options.groupProtocol !== undefined && options.groupProtocol !== "classic"
  ) {
    throw new RangeError(
      `${context}: "groupProtocol" must be "classic", got ${
        describeValue(options.groupProtocol)
      }`,
    );
  }
  if (options.partition !== undefined) {
    fail(
      `"partition" cannot be set with "groupId" (got ${options.partition}): the group assigns partitions`,
    );
  }
  const topics: string[] = [];
  if (options.topic !== undefined) topics.push(options.topic);
  if (options.groupTopics !== undefined) {
    if (!Array.isArray(options.groupTopics)) {
      fail(
        `"groupTopics" must be an array of topic names, got ${
          describeValue(options.groupTopics)
        }`,
      );
    }
    for (const topic of options.groupTopics) {
      if (!topics.includes(topic)) topics.push(topic);
    }
  }
  if (topics.length === 0) {
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
    topics,
    balancers: [...balancers],
    watchPartitionChanges: options.watchPartitionChanges ?? false,
  };
}
