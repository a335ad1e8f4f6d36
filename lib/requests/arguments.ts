/**
 * Checks of the arguments the admin Client's methods and the requests they
 * share take: each failure is a TypeError naming the method, the argument,
 * the value it holds and what was expected.
 *
 * @module
 */

import type { TopicPartition } from "../message.ts";

/**
 * `Array.isArray` without its narrowing (which turns a readonly array's
 * items into `any`).
 */
export function isList(value: unknown): boolean {
  return Array.isArray(value);
}

/** True for an object that is not null and not an array. */
export function isObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Throws the TypeError of `badArgument` unless `value` is an array. */
export function checkList(
  method: string,
  argument: string,
  value: unknown,
  expected: string,
): void {
  if (!isList(value)) throw badArgument(method, argument, value, expected);
}

/** A TypeError naming the argument, what it holds and what was expected. */
export function badArgument(
  method: string,
  argument: string,
  value: unknown,
  expected: string,
): TypeError {
  let shown: string;
  try {
    shown = value === undefined || value === null
      ? String(value)
      : value instanceof Date
      ? `Date ${value.toISOString?.() ?? value}`
      : `${typeof value} ${JSON.stringify(value)}`;
  } catch {
    shown = typeof value;
  }
  return new TypeError(
    `Client.${method}: "${argument}" must be ${expected}, got ${shown}`,
  );
}

/**
 * Throws unless `list` holds topic-partitions; `each`, when given, checks
 * each one further (`at` names it, as `partitions[2]`).
 */
export function checkPartitions<T extends TopicPartition>(
  method: string,
  argument: string,
  list: readonly T[],
  each: (item: T, at: string) => void = () => {},
): void {
  checkList(method, argument, list, "an array of { topic, partition }");
  list.forEach((item, i) => {
    const at = `${argument}[${i}]`;
    if (typeof item?.topic !== "string" || item.topic === "") {
      throw badArgument(method, `${at}.topic`, item?.topic, "a topic name");
    }
    if (!Number.isInteger(item.partition) || item.partition < 0) {
      throw badArgument(
        method,
        `${at}.partition`,
        item.partition,
        "a partition number (an integer >= 0)",
      );
    }
    each(item, at);
  });
}
