/**
 * Checks of user options shared by the Writer, the Reader and Conn: every
 * message names the option, the value and its type, and what was expected.
 *
 * @module
 */

/** A value as an error message shows it: `"100" (string)`, `-1`, `null`. */
export function describeValue(value: unknown): string {
  if (typeof value === "number" || typeof value === "bigint") {
    return `${value} (${typeof value})`;
  }
  if (value === null || value === undefined) return String(value);
  if (typeof value === "function") return "a function";
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  if (text.length > 60) text = `${text.slice(0, 57)}...`;
  const type = Array.isArray(value) ? "array" : typeof value;
  return `${text} (${type})`;
}

/** Bounds of a numeric option. */
export interface NumberRule {
  /** Smallest allowed value. */
  min: number;
  /** Largest allowed value (default: none). */
  max?: number;
  /** Whether fractions are refused (default true). */
  integer?: boolean;
}

/**
 * Throws unless `value` is undefined or a number within `rule`: a TypeError
 * for a value of another type, a RangeError for a number out of bounds,
 * both starting with `context` (e.g. "Cannot create Writer").
 */
export function checkNumber(
  context: string,
  key: string,
  value: unknown,
  rule: NumberRule,
): void {
  if (value === undefined) return;
  const integer = rule.integer ?? true;
  const max = rule.max ?? Infinity;
  const kind = integer ? "integer" : "number";
  const expected = max !== Infinity
    ? `${integer ? "an integer" : "a number"} from ${rule.min} to ${max}`
    : rule.min === 1 && integer
    ? "a positive integer"
    : rule.min === 0
    ? `zero or a positive ${kind}`
    : `${integer ? "an integer" : "a number"} of at least ${rule.min}`;
  const message = `${context}: "${key}" must be ${expected}, got ${
    describeValue(value)
  }`;
  if (typeof value !== "number") throw new TypeError(message);
  if (
    Number.isNaN(value) || (integer && !Number.isInteger(value)) ||
    value < rule.min || value > max
  ) {
    throw new RangeError(message);
  }
}

/**
 * Milliseconds since the epoch of `time`; throws a TypeError starting with
 * `context` unless it is a valid Date at or after 1970.
 */
export function timeOf(context: string, time: unknown): number {
  const ms = time instanceof Date ? time.getTime() : NaN;
  if (!Number.isFinite(ms) || ms < 0) {
    throw new TypeError(
      `${context}: "time" must be a valid Date after 1970, got ${
        describeValue(time)
      }`,
    );
  }
  return ms;
}
