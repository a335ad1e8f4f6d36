/**
 * Checks of Conn's arguments: topic names, partitions, topic configs and
 * fetch sizes.
 *
 * @module
 */

import type { ConfigEntry, ReplicaAssignment, TopicConfig } from "./types.ts";
import {
  checkNumber,
  checkOptionNames,
  describeValue,
  MAX_TIMEOUT,
  optionNames,
} from "../options.ts";

/** The names of `TopicConfig`. */
const TOPIC_CONFIG_FIELDS = optionNames<TopicConfig>()(
  "topic",
  "numPartitions",
  "replicationFactor",
  "replicaAssignments",
  "configEntries",
);
const ASSIGNMENT_FIELDS = optionNames<ReplicaAssignment>()(
  "partition",
  "replicas",
);
const CONFIG_ENTRY_FIELDS = optionNames<ConfigEntry>()(
  "configName",
  "configValue",
);

/** Kafka's int32 ceiling. */
const INT32_MAX = 2 ** 31 - 1;

/** Throws a TypeError unless `topic` is a valid Kafka topic name. */
export function checkTopic(topic: unknown): void {
  if (typeof topic !== "string" || topic.length === 0 || topic.length > 249) {
    throw new TypeError(
      `Invalid topic: expected a name of 1 to 249 characters, got ${
        describeValue(topic)
      }`,
    );
  }
  if (!/^[a-zA-Z0-9._-]+$/.test(topic) || topic === "." || topic === "..") {
    throw new TypeError(
      `Invalid topic "${topic}": names use only letters, digits, ".", "_" and "-"`,
    );
  }
}

/**
 * Throws unless `topic` is a topic name and `partition` a partition number:
 * a TypeError for a partition that is no number ("0"), a RangeError for
 * one that is not a whole number from 0.
 */
export function checkTopicPartition(topic: string, partition: number): void {
  checkTopic(topic);
  if (!Number.isInteger(partition) || partition < 0) {
    const Failure = typeof partition === "number" ? RangeError : TypeError;
    throw new Failure(
      `Invalid partition: expected an integer >= 0, got ${
        describeValue(partition)
      }`,
    );
  }
}

export function validateTopicConfig(config: TopicConfig, index: number): void {
  if (config === null || typeof config !== "object") {
    throw new TypeError(`Invalid topic config ${index}: expected an object`);
  }
  checkTopic(config.topic);
  const context = `Invalid topic config "${config.topic}"`;
  // A misspelt "numPartitions" would create the broker's default count.
  checkOptionNames(context, config, TOPIC_CONFIG_FIELDS, {}, "field");
  const { replicaAssignments, configEntries } = config;
  if (replicaAssignments !== undefined) {
    // By index: a hole is a missing element, not one to skip.
    const list = listOf(context, "replicaAssignments", replicaAssignments);
    for (let i = 0; i < list.length; i++) {
      const a = list[i];
      const at = `replicaAssignments[${i}]`;
      objectOf(context, at, a, "{ partition, replicas }");
      checkOptionNames(`${context}: "${at}"`, a, ASSIGNMENT_FIELDS);
      checkNumber(context, `${at}.partition`, a.partition, {
        min: 0,
        max: INT32_MAX,
        required: true,
      });
      const replicas = listOf(context, `${at}.replicas`, a.replicas);
      for (let j = 0; j < replicas.length; j++) {
        checkNumber(context, `${at}.replicas[${j}]`, replicas[j], {
          min: 0,
          max: INT32_MAX,
          required: true,
        });
      }
    }
  }
  if (configEntries !== undefined) {
    const list = listOf(context, "configEntries", configEntries);
    for (let i = 0; i < list.length; i++) {
      const e = list[i];
      const at = `configEntries[${i}]`;
      objectOf(context, at, e, "{ configName, configValue }");
      checkOptionNames(`${context}: "${at}"`, e, CONFIG_ENTRY_FIELDS);
      if (typeof e.configName !== "string" || e.configName === "") {
        throw new TypeError(
          `${context}: "${at}.configName" must be a config's name, got ${
            describeValue(e.configName)
          }`,
        );
      }
      // Kafka's configs are text: a number would be sent as its digits
      // here and refused by the admin Client's alterConfigs.
      if (typeof e.configValue !== "string") {
        throw new TypeError(
          `${context}: "${at}.configValue" must be a string (a config's value as text, e.g. "604800000"), got ${
            describeValue(e.configValue)
          }`,
        );
      }
    }
  }
  for (const key of ["numPartitions", "replicationFactor"] as const) {
    const value = config[key];
    // The request's numPartitions is an int32, replicationFactor an int16.
    const max = key === "numPartitions" ? INT32_MAX : 0x7fff;
    if (
      value !== undefined &&
      (!Number.isInteger(value) || (value < 1 && value !== -1) || value > max)
    ) {
      throw new RangeError(
        `Invalid topic config "${config.topic}": "${key}" must be a positive integer up to ${max}, or -1, got ${
          describeValue(value)
        }`,
      );
    }
  }
}

/** `value` as an array, each element present; else a TypeError naming `key`. */
function listOf<T>(context: string, key: string, value: T[]): T[] {
  if (!Array.isArray(value)) {
    throw new TypeError(
      `${context}: "${key}" must be an array, got ${describeValue(value)}`,
    );
  }
  return value;
}

/** Throws a TypeError unless `value` is an object (holes included). */
function objectOf(
  context: string,
  key: string,
  value: unknown,
  shape: string,
): asserts value is object {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(
      `${context}: "${key}" must be an object ${shape}, got ${
        describeValue(value)
      }`,
    );
  }
}

export function validateFetch(
  minBytes: number,
  maxBytes: number,
  maxWait: number,
): void {
  // Kafka's Fetch takes int32s; maxWait also sets the request's timer,
  // which waits at most 2^31 - 1 ms.
  const context = "Cannot read a batch";
  checkNumber(context, "minBytes", minBytes, { min: 0, max: INT32_MAX });
  checkNumber(context, "maxBytes", maxBytes, { min: 1, max: INT32_MAX });
  checkNumber(context, "maxWait", maxWait, { min: 0, max: MAX_TIMEOUT });
  if (minBytes > maxBytes) {
    throw new RangeError(
      `Cannot read a batch: "minBytes" (${minBytes}) must not exceed "maxBytes" (${maxBytes})`,
    );
  }
}
