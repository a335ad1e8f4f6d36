/**
 * Checks of Conn's arguments: topic names, partitions, topic configs and
 * fetch sizes.
 *
 * @module
 */

import type { TopicConfig } from "./types.ts";

/** Throws a TypeError unless `topic` is a valid Kafka topic name. */
export function checkTopic(topic: unknown): void {
  if (typeof topic !== "string" || topic.length === 0 || topic.length > 249) {
    throw new TypeError(
      `Invalid topic: expected a name of 1 to 249 characters, got ${
        JSON.stringify(topic)
      }`,
    );
  }
  if (!/^[a-zA-Z0-9._-]+$/.test(topic) || topic === "." || topic === "..") {
    throw new TypeError(
      `Invalid topic "${topic}": names use only letters, digits, ".", "_" and "-"`,
    );
  }
}

export function checkTopicPartition(topic: string, partition: number): void {
  checkTopic(topic);
  if (!Number.isInteger(partition) || partition < 0) {
    throw new RangeError(
      `Invalid partition: expected an integer >= 0, got ${
        JSON.stringify(partition)
      }`,
    );
  }
}

export function validateTopicConfig(config: TopicConfig, index: number): void {
  if (config === null || typeof config !== "object") {
    throw new TypeError(`Invalid topic config ${index}: expected an object`);
  }
  checkTopic(config.topic);
  for (const key of ["numPartitions", "replicationFactor"] as const) {
    const value = config[key];
    if (
      value !== undefined &&
      (!Number.isInteger(value) || (value < 1 && value !== -1))
    ) {
      throw new RangeError(
        `Invalid topic config "${config.topic}": "${key}" must be a positive integer or -1, got ${value}`,
      );
    }
  }
}

export function validateFetch(
  minBytes: number,
  maxBytes: number,
  maxWait: number,
): void {
  const check = (name: string, value: number, min: number) => {
    if (!Number.isInteger(value) || value < min) {
      throw new RangeError(
        `Cannot read a batch: "${name}" must be an integer >= ${min}, got ${value}`,
      );
    }
  };
  check("minBytes", minBytes, 0);
  check("maxBytes", maxBytes, 1);
  check("maxWait", maxWait, 0);
  if (minBytes > maxBytes) {
    throw new RangeError(
      `Cannot read a batch: "minBytes" (${minBytes}) must not exceed "maxBytes" (${maxBytes})`,
    );
  }
}
