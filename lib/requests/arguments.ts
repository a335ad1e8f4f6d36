/**
 * Checks of the arguments the admin Client's methods and the requests they
 * share take: each failure is a TypeError naming the method, the argument,
 * the value it holds and what was expected.
 *
 * @module
 */

import type { TopicPartition } from "../message.ts";
import { checkOptionNames, valueText } from "../options.ts";

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

/**
 * Throws the TypeError of `badArgument` unless `value` is an array without
 * holes (`[, x]` would be read as undefined, or skipped by `forEach`).
 */
export function checkList(
  method: string,
  argument: string,
  value: unknown,
  expected: string,
): void {
  if (!isList(value)) throw badArgument(method, argument, value, expected);
  const list = value as readonly unknown[];
  for (let i = 0; i < list.length; i++) {
    if (!(i in list)) {
      throw new TypeError(
        `Client.${method}: "${argument}" has a hole at index ${i} (an element left out between commas); expected ${expected}`,
      );
    }
  }
}

/** A TypeError naming the argument, what it holds and what was expected. */
export function badArgument(
  method: string,
  argument: string,
  value: unknown,
  expected: string,
): TypeError {
  const shown = value === undefined || value === null
    ? String(value)
    : value instanceof Date
    ? `Date ${
      Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString()
    }`
    : `${typeof value} ${valueText(value)}`;
  return new TypeError(
    `Client.${method}: "${argument}" must be ${expected}, got ${shown}`,
  );
}

/**
 * Throws unless `list` holds topic-partitions; `each`, when given, checks
 * each one further (`at` names it, as `partitions[2]`). With `fields`, an
 * item with a field it does not name is refused (a misspelt optional field
 * would otherwise be ignored).
 */
export function checkPartitions<T extends TopicPartition>(
  method: string,
  argument: string,
  list: readonly T[],
  each: (item: T, at: string) => void = () => {},
  fields?: ReadonlySet<string>,
): void {
  checkList(method, argument, list, "an array of { topic, partition }");
  list.forEach((item, i) => {
    const at = `${argument}[${i}]`;
    if (fields !== undefined && isObject(item)) {
      checkFields(method, at, item, fields);
    }
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

/**
 * Throws a TypeError naming a field of `value` (the argument `argument` of
 * `method`) that `fields` lacks, with what was probably meant: a misspelt
 * optional field would otherwise be ignored, and the call do more than
 * meant.
 */
export function checkFields(
  method: string,
  argument: string,
  value: object,
  fields: ReadonlySet<string>,
): void {
  checkOptionNames(
    `Client.${method}: "${argument}"`,
    value,
    fields,
    {},
    "field",
  );
}
