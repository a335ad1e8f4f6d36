/**
 * Checks of Conn's arguments: topic names, partitions, topic configs and
 * fetch sizes.
 *
 * @module
 */

import type { TopicConfig } from "./types.ts";
import { checkNumber, describeValue, MAX_TIMEOUT } from "../options.ts";

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

export function checkTopicPartition(topic: string, partition: number): void {
  checkTopic(topic);
  if (!Number.isInteger(partition) || partition < 0) {
    throw new RangeError(
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
