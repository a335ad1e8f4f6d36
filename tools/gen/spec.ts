/**
 * Reads Apache Kafka's JSON message specs (`common/message/*.json` in the
 * kafka-clients jar) into a typed model shared by the generator and the
 * protocol tests.
 *
 * Only `node:` built-ins are used so the module loads under Deno and Bun.
 *
 * @module
 */

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { ensureSpecs, specsDir } from "../kafka.ts";

/** The repository root (two levels above this file). */
export const REPO_ROOT: string = resolve(
  fileURLToPath(new URL("../../", import.meta.url)),
);

/**
 * The spec folder: `$KAFKA_PROTOCOL_DIR` (relative to the working directory),
 * else the specs tools/kafka.ts extracts from the kafka-clients jar of the
 * broker version the tests run against (`.kafka/<version>/message-specs`).
 */
export function specDir(): string {
  const env = process.env.KAFKA_PROTOCOL_DIR;
  if (env) return resolve(process.cwd(), env);
  return specsDir();
}

/**
 * `specDir()`, extracting the specs first (and fetching the jars with Maven)
 * when they are the jar's and not there yet.
 */
export async function ensureSpecDir(): Promise<string> {
  if (process.env.KAFKA_PROTOCOL_DIR) return specDir();
  return await ensureSpecs();
}

/**
 * The newest version generated of an API whose next version the hand-written
 * client cannot fill yet; the specs' later versions are left out. Produce v13
 * (Kafka 4.1, KIP-516) names topics by id only, while the Writer and Conn
 * send names: raise the cap once they send topic ids.
 */
export const MAX_VERSIONS: Readonly<Record<string, number>> = { Produce: 12 };

/** An inclusive version interval; empty when `lo > hi`; `hi` may be Infinity. */
export interface Versions {
  readonly lo: number;
  readonly hi: number;
}

/** The empty interval. */
export const NO_VERSIONS: Versions = { lo: 0, hi: -1 };

/** Parses "3+", "0-7", "5", "none" (and an absent attribute as none). */
export function parseVersions(text: string | undefined): Versions {
  if (text === undefined) return NO_VERSIONS;
  const s = text.trim();
  if (s === "none" || s === "") return NO_VERSIONS;
  let m = /^(\d+)\+$/.exec(s);
  if (m) return { lo: Number(m[1]), hi: Infinity };
  m = /^(\d+)-(\d+)$/.exec(s);
  if (m) return { lo: Number(m[1]), hi: Number(m[2]) };
  m = /^(\d+)$/.exec(s);
  if (m) return { lo: Number(m[1]), hi: Number(m[1]) };
  throw new Error(`Invalid version range "${text}"`);
}

/** True when the interval holds no version. */
export function isEmpty(v: Versions): boolean {
  return v.lo > v.hi;
}

/** True when `version` is in the interval. */
export function contains(v: Versions, version: number): boolean {
  return version >= v.lo && version <= v.hi;
}

/** The versions in both intervals (NO_VERSIONS when none). */
export function intersect(a: Versions, b: Versions): Versions {
  const lo = Math.max(a.lo, b.lo);
  const hi = Math.min(a.hi, b.hi);
  return lo > hi ? NO_VERSIONS : { lo, hi };
}

/** The smallest interval holding both. */
export function hull(a: Versions, b: Versions): Versions {
  if (isEmpty(a)) return b;
  if (isEmpty(b)) return a;
  return { lo: Math.min(a.lo, b.lo), hi: Math.max(a.hi, b.hi) };
}

/** True when every version of `inner` is in `outer` (empty inner: true). */
export function covers(outer: Versions, inner: Versions): boolean {
  return isEmpty(inner) || (inner.lo >= outer.lo && inner.hi <= outer.hi);
}

/** The spec notation: "none", "3+", "0-7" or "5". */
export function formatVersions(v: Versions): string {
  if (isEmpty(v)) return "none";
  if (v.hi === Infinity) return `${v.lo}+`;
  return v.lo === v.hi ? `${v.lo}` : `${v.lo}-${v.hi}`;
}

export type PrimitiveName =
  | "bool"
  | "int8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "int64"
  | "float64"
  | "string"
  | "uuid"
  | "bytes"
  | "records";

const PRIMITIVES = new Set<string>([
  "bool",
  "int8",
  "int16",
  "uint16",
  "int32",
  "uint32",
  "int64",
  "float64",
  "string",
  "uuid",
  "bytes",
  "records",
]);

export type TypeSpec =
  | { readonly kind: "primitive"; readonly name: PrimitiveName }
  | { readonly kind: "array"; readonly element: TypeSpec }
  | { readonly kind: "struct"; readonly struct: StructSpec };

export interface FieldSpec {
  /** The spec name, e.g. "ErrorCode". */
  readonly name: string;
  /** The TypeScript property name: the spec name, first letter lowered. */
  readonly prop: string;
  readonly type: TypeSpec;
  readonly versions: Versions;
  readonly nullableVersions: Versions;
  readonly taggedVersions: Versions;
  readonly tag: number | undefined;
  /** A field-level override of the message's flexible versions. */
  readonly flexibleVersions: Versions | undefined;
  /** The raw "default" attribute, if any. */
  readonly default: string | undefined;
  /**
   * The spec's "ignorable": a non-default value may be dropped at a version
   * without the field. Otherwise the encoder refuses it there, as Kafka's
   * generated Java code does (UnsupportedVersionException).
   */
  readonly ignorable: boolean;
  readonly about: string;
}

export interface StructSpec {
  /** The spec name, e.g. "FetchTopic". */
  readonly name: string;
  /** The TypeScript interface name, e.g. "FetchRequestFetchTopic". */
  readonly tsName: string;
  readonly fields: FieldSpec[];
  /** Every version in which some instance of the struct can be written. */
  versions: Versions;
}

export interface MessageSpec {
  /** e.g. "FetchRequest", or "ConsumerProtocolSubscription" for data. */
  readonly name: string;
  readonly type: "request" | "response" | "data";
  /** The API key; -1 for data. */
  readonly apiKey: number;
  /**
   * Where a request is served ("broker", "controller"; "zkBroker" in specs
   * before Kafka 4.0); empty for responses, data and specs without it.
   */
  readonly listeners: readonly string[];
  readonly validVersions: Versions;
  readonly flexibleVersions: Versions;
  /** The file the spec came from, e.g. "FetchRequest.json". */
  readonly file: string;
  /** The message body as a struct named after the message. */
  readonly root: StructSpec;
  /** Every struct, root first, then in order of first definition. */
  readonly structs: StructSpec[];
}

export interface ApiSpec {
  readonly key: number;
  /** e.g. "Fetch". */
  readonly name: string;
  /** e.g. "fetch" (the generated file's base name). */
  readonly fileName: string;
  readonly request: MessageSpec;
  readonly response: MessageSpec;
}

/** Removes `//` comments (outside of string literals). */
export function stripComments(text: string): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === "\\") {
        out += text[++i] ?? "";
      } else if (c === '"') {
        inString = false;
      }
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else {
      out += c;
    }
  }
  return out;
}

/** "ErrorCode" -> "errorCode"; "timeoutMs" stays. */
export function propName(specName: string): string {
  return specName[0].toLowerCase() + specName.slice(1);
}

/** "ApiVersions" -> "api_versions". */
export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .toLowerCase();
}

// deno-lint-ignore no-explicit-any
type Json = any;

/** Parses one spec file's text (comments allowed); null for headers. */
export function parseMessage(text: string, file: string): MessageSpec | null {
  const json: Json = JSON.parse(stripComments(text));
  if (!["request", "response", "data"].includes(json.type)) return null;
  const name: string = json.name;
  const cap = MAX_VERSIONS[name.replace(/(Request|Response)$/, "")];
  const validVersions = intersect(
    parseVersions(json.validVersions),
    { lo: 0, hi: cap ?? Infinity },
  );
  const structs = new Map<string, StructSpec>();
  const order: StructSpec[] = [];
  const pending: Array<() => void> = [];

  const structName = (n: string) => n.startsWith(name) ? n : name + n;

  const defineStruct = (specName: string, fieldsJson: Json[]): StructSpec => {
    if (structs.has(specName)) {
      throw new Error(`${file}: struct ${specName} defined more than once`);
    }
    const struct: StructSpec = {
      name: specName,
      tsName: structName(specName),
      fields: [],
      versions: NO_VERSIONS,
    };
    structs.set(specName, struct);
    order.push(struct);
    for (const f of fieldsJson) struct.fields.push(parseField(f));
    return struct;
  };

  const parseType = (field: Json): TypeSpec => {
    const t: string = field.type;
    if (t.startsWith("[]")) {
      const inner = t.slice(2);
      if (PRIMITIVES.has(inner)) {
        return {
          kind: "array",
          element: { kind: "primitive", name: inner as PrimitiveName },
        };
      }
      return { kind: "array", element: structType(inner, field) };
    }
    if (PRIMITIVES.has(t)) {
      return { kind: "primitive", name: t as PrimitiveName };
    }
    return structType(t, field);
  };

  const structType = (specName: string, field: Json): TypeSpec => {
    if (Array.isArray(field.fields)) {
      return { kind: "struct", struct: defineStruct(specName, field.fields) };
    }
    // A reference to a common struct: resolved once all are defined.
    const ref = {
      kind: "struct" as const,
      struct: undefined as unknown as StructSpec,
    };
    pending.push(() => {
      const s = structs.get(specName);
      if (!s) throw new Error(`${file}: unknown struct type ${specName}`);
      ref.struct = s;
    });
    return ref;
  };

  const parseField = (f: Json): FieldSpec => {
    const versions = parseVersions(f.versions);
    const tagged = f.tag !== undefined && f.tag !== null;
    return {
      name: f.name,
      prop: propName(f.name),
      type: parseType(f),
      versions,
      nullableVersions: intersect(parseVersions(f.nullableVersions), versions),
      taggedVersions: tagged
        ? intersect(parseVersions(f.taggedVersions), versions)
        : NO_VERSIONS,
      tag: tagged ? Number(f.tag) : undefined,
      flexibleVersions: f.flexibleVersions === undefined
        ? undefined
        : parseVersions(f.flexibleVersions),
      default: f.default === undefined ? undefined : String(f.default),
      ignorable: f.ignorable === true,
      about: typeof f.about === "string" ? f.about : "",
    };
  };

  const root: StructSpec = {
    name,
    tsName: name,
    fields: [],
    versions: validVersions,
  };
  order.push(root);
  // Kafka keeps the specs of removed APIs, without fields.
  for (const f of json.fields ?? []) root.fields.push(parseField(f));
  for (const c of json.commonStructs ?? []) defineStruct(c.name, c.fields);
  for (const fix of pending) fix();

  const message: MessageSpec = {
    name,
    type: json.type,
    apiKey: json.type === "data" ? -1 : Number(json.apiKey),
    listeners: Array.isArray(json.listeners) ? json.listeners.map(String) : [],
    validVersions,
    flexibleVersions: parseVersions(json.flexibleVersions),
    file,
    root,
    structs: order,
  };
  // Every version in which each struct can occur (hull over its uses).
  const visit = (struct: StructSpec, range: Versions) => {
    for (const field of struct.fields) {
      const inner = intersect(range, field.versions);
      if (isEmpty(inner)) continue;
      const s = structOf(field.type);
      if (s) {
        s.versions = hull(s.versions, inner);
        visit(s, inner);
      }
    }
  };
  visit(root, root.versions);
  return message;
}

/** The struct a field holds (directly or as array elements), if any. */
export function structOf(type: TypeSpec): StructSpec | undefined {
  if (type.kind === "struct") return type.struct;
  if (type.kind === "array" && type.element.kind === "struct") {
    return type.element.struct;
  }
  return undefined;
}

function checkDir(dir: string): void {
  if (!existsSync(dir)) {
    throw new Error(
      `Kafka protocol specs not found at ${dir}: set KAFKA_PROTOCOL_DIR to ` +
        `the folder holding FetchRequest.json and friends`,
    );
  }
}

/**
 * Loads every API that has both a request and a response spec, clients' or
 * not (`isClientApi` tells).
 */
export function loadApis(dir: string = specDir()): ApiSpec[] {
  checkDir(dir);
  const requests = new Map<number, MessageSpec>();
  const responses = new Map<number, MessageSpec>();
  const files = readdirSync(dir)
    .filter((f) => /(Request|Response)\.json$/.test(f))
    .sort();
  for (const file of files) {
    const msg = parseMessage(readFileSync(join(dir, file), "utf8"), file);
    if (!msg || msg.type === "data") continue;
    const map = msg.type === "request" ? requests : responses;
    if (map.has(msg.apiKey)) {
      throw new Error(`${file}: duplicate ${msg.type} for key ${msg.apiKey}`);
    }
    map.set(msg.apiKey, msg);
  }
  const apis: ApiSpec[] = [];
  for (const [key, request] of [...requests].sort((a, b) => a[0] - b[0])) {
    const response = responses.get(key);
    // Removed APIs keep their specs, with "validVersions": "none".
    if (!response || isEmpty(request.validVersions)) continue;
    const name = request.name.replace(/Request$/, "");
    if (response.name !== name + "Response") {
      throw new Error(`${response.file}: expected ${name}Response`);
    }
    apis.push({ key, name, fileName: snakeCase(name), request, response });
  }
  return apis;
}

/**
 * APIs served on the broker listener that only brokers send: the share
 * coordinator's state RPCs (KIP-932), sent by share-partition leaders.
 * (WriteTxnMarkers, the transaction coordinator's markers to partition
 * leaders, is also an admin's: aborting a hanging transaction, KIP-664.)
 */
export const BROKER_TO_BROKER: ReadonlySet<string> = new Set([
  "InitializeShareGroupState",
  "ReadShareGroupState",
  "WriteShareGroupState",
  "DeleteShareGroupState",
  "ReadShareGroupStateSummary",
]);

/**
 * True for an API a client sends to a broker: served on the "broker"
 * listener and not broker-to-broker. Controller-only APIs (KRaft: Vote,
 * BrokerHeartbeat, AlterPartition, Envelope, ...) and the ZooKeeper-era
 * inter-broker ones ("zkBroker" only) are not.
 */
export function isClientApi(api: ApiSpec): boolean {
  return api.request.listeners.includes("broker") &&
    !BROKER_TO_BROKER.has(api.name);
}

/**
 * The data specs (neither request nor response) that clients encode and
 * decode themselves: a consumer group's member subscriptions (JoinGroup
 * metadata) and assignments (SyncGroup), in `common/message` of the jar.
 */
export const DATA_SPECS: readonly string[] = [
  "ConsumerProtocolSubscription",
  "ConsumerProtocolAssignment",
];

/** Loads the `DATA_SPECS`, in that order. */
export function loadData(dir: string = specDir()): MessageSpec[] {
  checkDir(dir);
  return DATA_SPECS.map((name) => {
    const file = `${name}.json`;
    const msg = parseMessage(readFileSync(join(dir, file), "utf8"), file);
    if (msg?.type !== "data") throw new Error(`${file}: not a data spec`);
    return msg;
  });
}

/** True when the field is written at `version` (inline or tagged). */
export function presentIn(field: FieldSpec, version: number): boolean {
  return contains(field.versions, version);
}

/** True when the field goes in the tagged-field section at `version`. */
export function taggedIn(field: FieldSpec, version: number): boolean {
  return field.tag !== undefined && contains(field.taggedVersions, version);
}

/** True when the field may hold null at `version`. */
export function nullableIn(field: FieldSpec, version: number): boolean {
  return contains(field.nullableVersions, version);
}

/** The versions in which the field is written inline (not tagged). */
export function inlineVersions(field: FieldSpec): Versions {
  if (field.tag === undefined || isEmpty(field.taggedVersions)) {
    return field.versions;
  }
  // Tagged versions are open-ended, so what remains is a prefix.
  return intersect(field.versions, { lo: 0, hi: field.taggedVersions.lo - 1 });
}

/** The field's flexible versions (its override, else the message's). */
export function fieldFlexible(
  field: FieldSpec,
  message: MessageSpec,
): Versions {
  return field.flexibleVersions ?? message.flexibleVersions;
}

/** A field's default when absent: a JS value as decoders produce it. */
export type DefaultValue =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | DefaultValue[]
  | { [key: string]: DefaultValue };

/** True when the field's default is null ("default": "null"). */
export function defaultsToNull(field: FieldSpec): boolean {
  if (field.type.kind === "primitive" && field.type.name === "records") {
    return field.default === "null" || field.default === undefined &&
        covers(field.nullableVersions, field.versions) &&
        !isEmpty(field.nullableVersions);
  }
  return field.default === "null";
}

/** Parses an integer default: decimal, 0x hex, or 0-prefixed octal. */
export function parseIntDefault(text: string): number {
  const s = text.trim();
  const neg = s.startsWith("-");
  const body = neg ? s.slice(1) : s;
  let n: number;
  if (/^0x[0-9a-f]+$/i.test(body)) n = parseInt(body.slice(2), 16);
  else if (/^0[0-7]+$/.test(body)) n = parseInt(body.slice(1), 8);
  else if (/^\d+$/.test(body)) n = Number(body);
  else throw new Error(`Invalid integer default "${text}"`);
  return neg ? -n : n;
}

/** The default value of a field, as decoded objects hold it. */
export function defaultValue(field: FieldSpec): DefaultValue {
  if (defaultsToNull(field)) return null;
  const t = field.type;
  if (t.kind === "array") return [];
  if (t.kind === "struct") return structDefault(t.struct);
  const d = field.default;
  switch (t.name) {
    case "bool":
      return d === "true";
    case "int8":
    case "int16":
    case "uint16":
    case "int32":
    case "uint32":
    case "int64":
      return d === undefined ? 0 : parseIntDefault(d);
    case "float64":
      return d === undefined ? 0 : Number(d);
    case "string":
      return d ?? "";
    case "uuid":
      return "AAAAAAAAAAAAAAAAAAAAAA";
    case "bytes":
    case "records":
      return new Uint8Array(0);
  }
}

/** A struct with every field at its default. */
export function structDefault(
  struct: StructSpec,
): { [key: string]: DefaultValue } {
  const out: { [key: string]: DefaultValue } = {};
  for (const f of struct.fields) out[f.prop] = defaultValue(f);
  return out;
}
