/**
 * Checks of user options shared by the Writer, the Reader and Conn: every
 * message names the option, the value and its type, and what was expected.
 *
 * @module
 */

/** The options every call takes. */
export const CALL_OPTIONS: ReadonlySet<string> = new Set(["signal", "timeout"]);

/**
 * The call options that are flags, wherever they appear: a value other than
 * true or false (`dryRun: 0`, `validateOnly: "yes"`) is refused.
 */
const FLAGS = [
  "validateOnly",
  "dryRun",
  "autoCreate",
  "includeAuthorizedOperations",
  "requireStable",
  "strict",
  "includeSynonyms",
  "includeDocumentation",
  "allowReplicationFactorChange",
] as const;

/** The options of a call that takes only a signal. */
export const SIGNAL_OPTION: ReadonlySet<string> = new Set(["signal"]);

/** The one option of calls that take only `{ timeout }`. */
export const TIMEOUT_OPTION: ReadonlySet<string> = new Set(["timeout"]);

/**
 * Checks the options of one call (`{ signal, timeout }`): undefined, or an
 * object (not an array) whose `signal`, if set, is an AbortSignal and whose
 * `timeout`, if set, is a positive number of milliseconds up to
 * `MAX_TIMEOUT` (see `checkTimeout`); else a TypeError (a RangeError for a
 * number out of range) naming it. With `known`, a name it lacks is refused
 * too (see `checkOptionNames`).
 */
export function checkCallOptions(
  context: string,
  options: unknown,
  known?: ReadonlySet<string>,
): void {
  if (options === undefined) return;
  if (
    options === null || typeof options !== "object" || Array.isArray(options)
  ) {
    throw new TypeError(
      `${context}: the options must be an object, got ${
        describeValue(options)
      }`,
    );
  }
  if (known !== undefined) checkOptionNames(context, options, known);
  for (const name of FLAGS) {
    const flag = (options as Record<string, unknown>)[name];
    if (flag !== undefined && typeof flag !== "boolean") {
      // `dryRun: 0` would otherwise count as false, and the call take effect.
      throw new TypeError(
        `${context}: "${name}" must be true or false, got ${
          describeValue(flag)
        }`,
      );
    }
  }
  const { signal, timeout } = options as {
    signal?: unknown;
    timeout?: unknown;
  };
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(
      `${context}: "signal" must be an AbortSignal, got ${
        describeValue(signal)
      }`,
    );
  }
  checkTimeout(context, "timeout", timeout);
}

/** The option of `values()`, `batches()` and async iteration. */
const STREAM_OPTIONS: ReadonlySet<string> = new Set(["preventCancel"]);

/** The options of a Reader's `pipeTo` and `pipeThrough`. */
const PIPE_OPTIONS: ReadonlySet<string> = new Set([
  "preventClose",
  "preventAbort",
  "preventCancel",
  "signal",
  "map",
]);

/**
 * Checks the options of `values()`, `batches()` or a pipe (`pipe`): an
 * object (undefined passes) with only their names, flags that are booleans,
 * a signal that is an AbortSignal, a `map` that is a function. Throws a
 * TypeError starting with `context`.
 */
export function checkStreamOptions(
  context: string,
  options: unknown,
  pipe = false,
): void {
  if (options === undefined) return;
  const known = pipe ? PIPE_OPTIONS : STREAM_OPTIONS;
  checkCallOptions(context, options, known);
  const o = options as Record<string, unknown>;
  for (const key of known) {
    const value = o[key];
    if (value === undefined || key === "signal") continue;
    const ok = key === "map"
      ? typeof value === "function"
      : typeof value === "boolean";
    if (!ok) {
      throw new TypeError(
        `${context}: "${key}" must be ${
          key === "map" ? "a function" : "a boolean"
        }, got ${describeValue(value)}`,
      );
    }
  }
}

/**
 * The longest delay a timer takes: 2^31 - 1 ms, about 24.8 days. setTimeout
 * fires a longer one at once, so no millisecond option may exceed it.
 */
export const MAX_TIMEOUT = 2 ** 31 - 1;

/**
 * Throws unless `value` is undefined or a positive number of milliseconds no
 * longer than `MAX_TIMEOUT`: a TypeError for another type, a RangeError for
 * NaN, a number not above 0 or a longer one; both start with `context` and
 * name `key`.
 */
export function checkTimeout(
  context: string,
  key: string,
  value: unknown,
): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !(value > 0)) {
    const message =
      `${context}: "${key}" must be a positive number of milliseconds, got ${
        describeValue(value)
      }`;
    throw typeof value === "number"
      ? new RangeError(message)
      : new TypeError(message);
  }
  if (value > MAX_TIMEOUT) {
    throw new RangeError(
      `${context}: "${key}" must be a positive number of milliseconds up to ${MAX_TIMEOUT} (about 24.8 days, the longest a timer waits), got ${
        describeValue(value)
      }`,
    );
  }
}

/**
 * Throws unless `value` is undefined or a number of milliseconds from `min`
 * (default 0) to `MAX_TIMEOUT`, fractions allowed: see `checkNumber`.
 */
export function checkDuration(
  context: string,
  key: string,
  value: unknown,
  min = 0,
): void {
  checkNumber(context, key, value, {
    min,
    max: MAX_TIMEOUT,
    integer: false,
    unit: "milliseconds",
  });
}

/** A value as an error message shows it: `"100" (string)`, `-1`, `null`. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === "function") return "a function";
  if (value instanceof Date) {
    const ms = value.getTime();
    return Number.isNaN(ms)
      ? "an invalid Date"
      : `${value.toISOString()} (Date)`;
  }
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    // Its JSON says nothing ("{}" or a list of indexes).
    return `${className(value) ?? "binary data"} of ${value.byteLength} bytes`;
  }
  const type = Array.isArray(value)
    ? "array"
    : typeof value === "object"
    ? className(value) ?? "object"
    : typeof value;
  return `${valueText(value)} (${type})`;
}

/**
 * What `value` is without what it holds, for values that may hold secrets
 * (SASL and TLS settings): "a string of 27 characters", "an array of 2",
 * "a number".
 */
export function describeType(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === "string") {
    return `a string of ${value.length} characters`;
  }
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    return `${className(value) ?? "binary data"} of ${value.byteLength} bytes`;
  }
  if (typeof value === "object") return className(value) ?? "an object";
  return `${/^[aeiou]/.test(typeof value) ? "an" : "a"} ${typeof value}`;
}

/** The class of an object made by one, "Map" or "Reader"; undefined for a plain object. */
function className(value: object): string | undefined {
  const proto = Object.getPrototypeOf(value);
  if (proto === null || proto === Object.prototype) return undefined;
  const name = (proto as { constructor?: { name?: unknown } }).constructor
    ?.name;
  if (typeof name !== "string" || name === "") return undefined;
  return `${/^[AEIO]/.test(name) ? "an" : "a"} ${name}`;
}

/**
 * A value's text for an error message, at most 60 characters: numbers as
 * `String` shows them (NaN, Infinity), strings and objects as JSON, with
 * bigints and symbols inside shown rather than failing.
 */
export function valueText(value: unknown): string {
  if (typeof value !== "object" && typeof value !== "string") {
    return String(value);
  }
  let text: string;
  try {
    text = JSON.stringify(value, jsonSafe) ?? String(value);
  } catch {
    // A cycle, or a toJSON that throws.
    text = Object.prototype.toString.call(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "symbol" || typeof value === "function") {
    return String(value);
  }
  return value;
}

/** Bounds of a numeric option. */
export interface NumberRule {
  /** Smallest allowed value. */
  min: number;
  /** Largest allowed value (default: none). */
  max?: number | undefined;
  /** Whether fractions are refused (default true). */
  integer?: boolean | undefined;
  /** What the number counts, for the message (e.g. "milliseconds"). */
  unit?: string | undefined;
  /** Whether undefined is refused too (default false: it passes). */
  required?: boolean | undefined;
}

/**
 * Throws unless `value` is a number within `rule` (or undefined, unless
 * `rule.required`): a TypeError
 * for a value of another type, a RangeError for a number out of bounds,
 * both starting with `context` (e.g. "Cannot create Writer").
 */
export function checkNumber(
  context: string,
  key: string,
  value: unknown,
  rule: NumberRule,
): void {
  if (value === undefined && rule.required !== true) return;
  const integer = rule.integer ?? true;
  const max = rule.max ?? Infinity;
  const kind = integer ? "integer" : "number";
  const a = rule.unit === undefined
    ? integer ? "an integer" : "a number"
    : `${integer ? "a whole number" : "a number"} of ${rule.unit}`;
  const expected = max !== Infinity
    ? `${a} from ${rule.min} to ${max}`
    : rule.min === 1 && integer
    ? "a positive integer"
    : rule.min === 0 && rule.unit === undefined
    ? `zero or a positive ${kind}`
    : `${a} of at least ${rule.min}`;
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
 * Throws unless `value` is undefined or one of `allowed`: a RangeError for
 * another value of their type, a TypeError for another type, starting with
 * `context` and naming `key` and the choices (as `names` shows them, if
 * given).
 *
 * @example
 * ```ts
 * import { checkChoice } from "./options.ts";
 *
 * checkChoice("Cannot read", "isolationLevel", "read_committed", [
 *   "read_uncommitted",
 *   "read_committed",
 * ]); // passes
 * ```
 */
export function checkChoice(
  context: string,
  key: string,
  value: unknown,
  allowed: readonly (string | number)[],
  names: readonly string[] = allowed.map((a) => JSON.stringify(a)),
): void {
  if (value === undefined || allowed.includes(value as string)) return;
  const Failure = typeof value === typeof allowed[0] ? RangeError : TypeError;
  throw new Failure(
    `${context}: "${key}" must be ${names.join(" or ")}, got ${
      describeValue(value)
    }`,
  );
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

/**
 * The option names of `T`, listed once: `optionNames<WriterOptions>()("brokers",
 * ...)`. The compiler refuses the list while it lacks a name of `T` (the
 * error names it under `missing`), so a new option cannot be forgotten here.
 */
export function optionNames<T>() {
  return <const K extends readonly (keyof T & string)[]>(
    ...names:
      & K
      & ([Exclude<keyof T, K[number]>] extends [never] ? unknown
        : { missing: Exclude<keyof T, K[number]> })
  ): ReadonlySet<string> => new Set(names);
}

/** Names other clients use, and what they are here. */
const FOREIGN_NAMES: Record<string, string> = {
  ssl: `TLS goes in "transport": { tls: true } (or { tls: { ca, cert, key } })`,
  connectionTimeout: `it is "transport": { dialTimeout } here`,
  requestTimeout:
    `it is "timeout" on the admin Client, "writeTimeout" and "readTimeout" on a Writer, "maxWait" on a Reader`,
  timeout:
    `this call takes no timeout: pass "signal": AbortSignal.timeout(ms) to give up after ms milliseconds`,
  acks: `it is "requiredAcks" here: "all", "one" or "none"`,
  linger:
    `a Writer does not linger (Java's linger.ms): an idle partition's write goes at once, and new messages gather while one is in flight ("batchTimeout", kafka-go's name, is accepted and has no effect)`,
  lingerMs:
    `a Writer does not linger (Java's linger.ms): an idle partition's write goes at once, and new messages gather while one is in flight ("batchTimeout", kafka-go's name, is accepted and has no effect)`,
  autoOffsetReset:
    `it is "startOffset" here: FirstOffset (earliest) or LastOffset (latest)`,
  fromBeginning:
    `it is "startOffset" here: FirstOffset reads from the beginning`,
};

/**
 * Throws a TypeError starting with `context` for an option `known` does not
 * name (those set to undefined pass), saying what was probably meant: the
 * option spelt another way, an option of a nested object given beside it
 * (`nested` names them: `{ transport: ... }` makes `"tls"` → `"transport":
 * { tls }`), or another client's name for it. `noun` is what the names are
 * ("option", or "field" for a message's).
 */
export function checkOptionNames(
  context: string,
  options: object,
  known: ReadonlySet<string>,
  nested: Readonly<Record<string, ReadonlySet<string>>> = {},
  noun = "option",
): void {
  for (const [name, value] of Object.entries(options)) {
    if (known.has(name) || value === undefined) continue;
    throw new TypeError(
      `${context}: unknown ${noun} "${name}"; ${
        meant(name, known, nested, context.startsWith("Cannot create"))
      }`,
    );
  }
}

function meant(
  name: string,
  known: ReadonlySet<string>,
  nested: Readonly<Record<string, ReadonlySet<string>>>,
  constructing: boolean,
): string {
  const lower = name.toLowerCase();
  // The name in other case first ("maxbytes" is "maxBytes", not "minBytes"),
  // then another client's name for an option ("linger" is not "logger"),
  // else the nearest within two edits (the first listed of equals).
  let near = [...known].find((k) => k.toLowerCase() === lower);
  if (near === undefined && Object.hasOwn(FOREIGN_NAMES, name)) {
    // A constructor's timeouts have names of their own.
    if (name === "timeout" && constructing) return FOREIGN_NAMES.requestTimeout;
    return FOREIGN_NAMES[name];
  }
  let nearest = 3;
  for (const k of near === undefined ? known : []) {
    const distance = editDistance(k.toLowerCase(), lower);
    if (distance < nearest) [near, nearest] = [k, distance];
  }
  if (near !== undefined) return `did you mean "${near}"?`;
  for (const [where, names] of Object.entries(nested)) {
    if (names.has(name)) return `it goes in "${where}": { ${name} }`;
  }
  return `the options are ${[...known].map((k) => `"${k}"`).join(", ")}`;
}

/** Levenshtein distance, for short option names. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        previous[j] + 1,
        row[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = row;
  }
  return previous[b.length];
}

/**
 * Handles a callback's result when it is a promise (an async callback where
 * a function returning nothing is asked for): its rejection goes to
 * `onRejected` instead of being unhandled.
 */
function settled(result: unknown, onRejected: (error: unknown) => void) {
  if (typeof (result as PromiseLike<unknown>)?.then === "function") {
    (result as PromiseLike<unknown>).then(undefined, onRejected);
  }
}

/** The callbacks of a Writer's, Reader's or ShareReader's options. */
interface Callbacks {
  logger?: ((message: string) => void) | undefined;
  errorLogger?: ((message: string) => void) | undefined;
}

/**
 * `options` with its `logger`, `errorLogger` and `completion` wrapped so that
 * one that throws, or returns a promise that rejects, cannot break the work
 * that called it (most run in the background, where the throw would be an
 * unhandled rejection, which ends a Deno process): what `logger` or
 * `completion` throws goes to `errorLogger`
 * (named with `context`, "kafka writer"...); what `errorLogger` throws is
 * dropped, as there is nothing left to tell. The same object when it has
 * none of them.
 *
 * @example
 * ```ts
 * import { guardCallbacks } from "./options.ts";
 *
 * const seen: string[] = [];
 * const options = guardCallbacks({
 *   logger: (_message: string) => {
 *     throw new Error("disk full");
 *   },
 *   errorLogger: (message: string) => seen.push(message),
 * }, "kafka writer");
 * options.logger?.("hello"); // does not throw
 * console.log(seen); // ["kafka writer: the logger threw: disk full"]
 * ```
 */
export function guardCallbacks<T extends Callbacks>(
  options: T,
  context: string,
): T {
  const { logger, errorLogger } = options;
  const completion = (options as { completion?: unknown }).completion;
  if (
    logger === undefined && errorLogger === undefined &&
    typeof completion !== "function"
  ) {
    return options;
  }
  const tell = (message: string) => {
    try {
      settled(errorLogger?.(message), () => {});
    } catch {
      // The errorLogger failed: nothing is left to tell it with.
    }
  };
  const threw = (what: string, error: unknown) =>
    tell(
      `${context}: ${what} threw: ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
  const guarded: T & { completion?: unknown } = { ...options };
  if (errorLogger !== undefined) guarded.errorLogger = tell;
  if (logger !== undefined) {
    guarded.logger = (message) => {
      try {
        settled(logger(message), (error) => threw("the logger", error));
      } catch (error) {
        threw("the logger", error);
      }
    };
  }
  if (typeof completion === "function") {
    guarded.completion = (...args: unknown[]) => {
      try {
        settled(completion(...args), (error) => threw("completion", error));
      } catch (error) {
        threw("completion", error);
      }
    };
  }
  return guarded;
}
