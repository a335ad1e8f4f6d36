/**
 * The shape every generated Kafka API module implements, and the small
 * runtime helpers the generated encoders and decoders call.
 *
 * @module
 */

import type { ByteReader, ByteWriter } from "./bytes.ts";
import { ProtocolError } from "./bytes.ts";

/**
 * What an encoder accepts: the decoded shape with every field optional, all
 * the way down. A missing field is written as its spec default.
 */
export type Encodable<T> = T extends
  Uint8Array | string | number | boolean | null | undefined ? T
  : T extends readonly (infer E)[] ? readonly Encodable<E>[]
  : { [K in keyof T]?: Encodable<T[K]> };

/**
 * One Kafka API as a client uses it: its key, versions, request encoder and
 * response decoder for every version. (The broker side, request decoder and
 * response encoder, is generated for tests only: lib/protocol/testing.)
 */
export interface Api<Req, Res> {
  /** The API key. */
  readonly key: number;
  /** The API name, e.g. "Fetch". */
  readonly name: string;
  /** The lowest version of the request's validVersions. */
  readonly minVersion: number;
  /** The highest version of the request's validVersions. */
  readonly maxVersion: number;
  /** The first flexible version; Infinity if none. */
  readonly flexibleMin: number;
  /** Encodes a request body; a missing field is written as its default. */
  encodeRequest(w: ByteWriter, version: number, data: Encodable<Req>): void;
  /** Decodes a response body. */
  decodeResponse(r: ByteReader, version: number): Res;
  /** 2 when the version is flexible, else 1. */
  requestHeaderVersion(version: number): number;
  /** 1 when the version is flexible, else 0 (ApiVersions: always 0). */
  responseHeaderVersion(version: number): number;
}

// ---------------------------------------------------------------------------
// Runtime helpers for the generated code (lib/protocol/messages). Not part of
// the public API: the generated modules are their only intended callers.
// ---------------------------------------------------------------------------

/** An empty byte array, the default of `bytes` fields (never written to). */
export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

/** @internal What encoders use for a missing array field. */
export const EMPTY_ARRAY: readonly never[] = Object.freeze([]);

/** @internal What encoders use for a missing struct field. */
export const EMPTY_OBJECT: Readonly<Record<string, never>> = Object.freeze({});

/**
 * The broker supports no version of an API that this client also knows, or
 * not the version a request needs: a request sets a field that the
 * negotiated version of its API does not have, as Kafka's
 * `UnsupportedVersionException`.
 *
 * @example
 * ```ts
 * import { UnsupportedVersionError } from "jsr:@streamkafka/client";
 *
 * const error = new UnsupportedVersionError("Broker does not support Fetch");
 * console.log(error.name, error.retriable); // UnsupportedVersionError false
 * ```
 */
export class UnsupportedVersionError extends Error {
  /** Always false: the same broker gives the same answer. */
  readonly retriable = false;

  /** An error with `message`. */
  constructor(message: string) {
    super(message);
    this.name = "UnsupportedVersionError";
  }
}

/**
 * Thrown deep inside an encoder about one field; the path grows as it
 * unwinds (`atPath`) and `encodeError` turns it into the error callers see.
 * @internal
 */
export class FieldError extends Error {
  path: string;
  constructor(path: string, message: string) {
    super(message);
    this.path = path;
  }
}

/**
 * A non-nullable field holds null; `encodeError` makes it a TypeError.
 * @internal
 */
export class NullFieldError extends FieldError {
  constructor(path: string) {
    super(path, `"${path}" must not be null`);
  }
}

/**
 * A field that the version being written lacks holds a value other than its
 * default, and the spec does not mark it ignorable: writing would drop it
 * without a word, so the encoder refuses, as Kafka's generated Java code
 * does. `encodeError` makes it an UnsupportedVersionError.
 * @internal
 */
export class AbsentFieldError extends FieldError {
  /** The versions that have the field, e.g. "12+" or "0-3". */
  readonly versions: string;
  constructor(path: string, versions: string) {
    super(path, `"${path}" is set but only versions ${versions} have it`);
    this.versions = versions;
  }
}

/** @internal The error for a set field the version lacks (`versions`: "12+"). */
export function absentField(field: string, versions: string): AbsentFieldError {
  return new AbsentFieldError(field, versions);
}

/** @internal A field value: undefined -> default, null -> error. */
export function req<T>(v: T | null | undefined, def: T, field: string): T {
  if (v === undefined) return def;
  if (v === null) throw new NullFieldError(field);
  return v;
}

/** @internal A nullable field value: undefined -> default. */
export function opt<T>(v: T | undefined, def: T): T {
  return v === undefined ? def : v;
}

/**
 * @internal A field nullable in some versions: undefined -> default, null ->
 * error unless `nullable`.
 */
export function val<T>(
  v: T | null | undefined,
  def: T,
  nullable: boolean,
  field: string,
): T | null {
  if (v === undefined) return def;
  if (v === null && !nullable) throw new NullFieldError(field);
  return v;
}

/** @internal Prefixes a field error's path with `field` or `field[index]`. */
export function atPath(e: unknown, field: string, index?: number): unknown {
  if (e instanceof FieldError) {
    const head = index === undefined ? field : `${field}[${index}]`;
    e.path = e.path.startsWith("[") ? head + e.path : `${head}.${e.path}`;
  }
  return e;
}

/** @internal The error an API's encode method throws. */
export function encodeError(e: unknown, api: string, version: number): unknown {
  if (e instanceof NullFieldError) {
    return new TypeError(
      `Cannot encode ${api} v${version}: "${e.path}" must not be null`,
    );
  }
  if (e instanceof AbsentFieldError) {
    return new UnsupportedVersionError(
      `Cannot encode ${api} v${version}: "${e.path}" is set (not its default), which needs ${api} v${e.versions}`,
    );
  }
  return e;
}

/** @internal The error for a version outside an API's validVersions. */
export function badVersion(
  what: string,
  api: string,
  version: number,
  min: number,
  max: number,
): RangeError {
  return new RangeError(
    `Cannot ${what} ${api} v${version}: supported versions are ${min}-${max}`,
  );
}

/**
 * @internal The error for data (a consumer-protocol subscription or
 * assignment) that says it was written at a version below the oldest: the
 * version came from a peer, so the bytes are corrupt.
 */
export function badDataVersion(
  what: string,
  name: string,
  version: number,
  min: number,
  max: number,
): ProtocolError {
  return new ProtocolError(
    `Cannot ${what} ${name} v${version}: supported versions are ${min}-${max}`,
  );
}

/**
 * @internal Reserves one byte for a tagged field's size; `endTagged` fills
 * it in, moving the value when the size needs a longer varint.
 */
export function beginTagged(w: ByteWriter): number {
  w.int8(0);
  return w.pos;
}

/** @internal Back-fills the size of a tagged field begun at `start`. */
export function endTagged(w: ByteWriter, start: number): void {
  const size = w.pos - start;
  if (size < 0x80) {
    w.buf[start - 1] = size;
    return;
  }
  let extra = 0;
  for (let s = size >>> 7; s !== 0; s >>>= 7) extra++;
  w.ensure(extra);
  const end = w.pos + extra;
  w.buf.copyWithin(start + extra, start, w.pos);
  w.pos = start - 1;
  w.uvarint(size);
  w.pos = end;
}

/** @internal Reads a tagged-field section, skipping every field. */
export function skipTagged(r: ByteReader): void {
  const n = r.uvarint();
  for (let i = 0; i < n && !r.short; i++) {
    r.uvarint();
    r.skip(r.uvarint());
  }
}

/** @internal True when a set value differs from the default. */
export function isSet<T>(v: T | undefined, def: T): boolean {
  return v !== undefined && v !== def;
}

/** @internal True when a bytes/array value differs from an empty default. */
export function nonEmpty(
  v: { readonly length: number } | null | undefined,
): boolean {
  return v !== undefined && (v === null || v.length !== 0);
}

/** @internal A string, compact in flexible versions. */
export function writeString(
  w: ByteWriter,
  v: string | null,
  compact: boolean,
): void {
  if (compact) w.compactString(v);
  else w.string(v);
}

/** @internal */
export function readString(r: ByteReader, compact: boolean): string | null {
  return compact ? r.compactString() : r.string();
}

/** @internal Bytes (or records), compact in flexible versions. */
export function writeBytes(
  w: ByteWriter,
  v: Uint8Array | null,
  compact: boolean,
): void {
  if (compact) w.compactBytes(v);
  else w.bytes(v);
}

/** @internal */
export function readBytes(r: ByteReader, compact: boolean): Uint8Array | null {
  return compact ? r.compactBytes() : r.bytes();
}

// Arrays of primitives. Writers take null for a null array; readers return
// null for one. Strings, bytes and uuids name the field when an element is
// null. One loop serves every element type; the named helpers below only
// pick the element's reader and writer.

type Put<T> = (w: ByteWriter, v: T, compact: boolean) => void;
type Get<T> = (r: ByteReader, compact: boolean) => T;

function writeArray<T>(
  w: ByteWriter,
  a: readonly T[] | null,
  compact: boolean,
  put: Put<T>,
  field?: string,
): void {
  if (a === null) {
    w.arrayLength(null, compact);
    return;
  }
  w.arrayLength(a.length, compact);
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (v === null && field !== undefined) {
      throw new NullFieldError(`${field}[${i}]`);
    }
    put(w, v, compact);
  }
}

function readArray<T>(
  r: ByteReader,
  compact: boolean,
  get: Get<T>,
): T[] | null {
  const n = r.arrayLength(compact);
  if (n === null) return null;
  const a: T[] = [];
  for (let i = 0; i < n; i++) a.push(get(r, compact));
  return a;
}

type Writes<T> = (
  w: ByteWriter,
  a: readonly T[] | null,
  compact: boolean,
) => void;
type NamedWrites<T> = (
  w: ByteWriter,
  a: readonly T[] | null,
  compact: boolean,
  field: string,
) => void;
type Reads<T> = (r: ByteReader, compact: boolean) => T[] | null;

function writes<T>(put: Put<T>): Writes<T> {
  return (w, a, compact) => writeArray(w, a, compact, put);
}

function namedWrites<T>(put: Put<T>): NamedWrites<T> {
  return (w, a, compact, field) => writeArray(w, a, compact, put, field);
}

function reads<T>(get: Get<T>): Reads<T> {
  return (r, compact) => readArray(r, compact, get);
}

/** @internal */
export const writeBools: Writes<boolean> = writes((w, v) => w.bool(v));
/** @internal */
export const readBools: Reads<boolean> = reads((r) => r.bool());
/** @internal */
export const writeInt8s: Writes<number> = writes((w, v) => w.int8(v));
/** @internal */
export const readInt8s: Reads<number> = reads((r) => r.int8());
/** @internal */
export const writeInt16s: Writes<number> = writes((w, v) => w.int16(v));
/** @internal */
export const readInt16s: Reads<number> = reads((r) => r.int16());
/** @internal */
export const writeUint16s: Writes<number> = writes((w, v) => w.uint16(v));
/** @internal */
export const readUint16s: Reads<number> = reads((r) => r.uint16());
/** @internal */
export const writeInt32s: Writes<number> = writes((w, v) => w.int32(v));
/** @internal */
export const readInt32s: Reads<number> = reads((r) => r.int32());
/** @internal */
export const writeUint32s: Writes<number> = writes((w, v) => w.uint32(v));
/** @internal */
export const readUint32s: Reads<number> = reads((r) => r.uint32());
/** @internal */
export const writeInt64s: Writes<number> = writes((w, v) => w.int64(v));
/** @internal */
export const readInt64s: Reads<number> = reads((r) => r.int64());
/** @internal */
export const writeFloat64s: Writes<number> = writes((w, v) => w.float64(v));
/** @internal */
export const readFloat64s: Reads<number> = reads((r) => r.float64());
/** @internal */
export const writeUuids: NamedWrites<string> = namedWrites((w, v) => w.uuid(v));
/** @internal */
export const readUuids: Reads<string> = reads((r) => r.uuid());
/** @internal */
export const writeStrings: NamedWrites<string> = namedWrites(writeString);
/** @internal */
export const readStrings: Reads<string> = reads((r, compact) =>
  readString(r, compact) ?? ""
);
/** @internal */
export const writeBytesArray: NamedWrites<Uint8Array> = namedWrites(writeBytes);
/** @internal */
export const readBytesArray: Reads<Uint8Array> = reads((r, compact) =>
  readBytes(r, compact) ?? EMPTY_BYTES
);
