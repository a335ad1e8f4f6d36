/**
 * The fuzzer's engine, runtime-neutral so that the short seeded pass
 * (lib/protocol/fuzz_test.ts) runs it under Deno, Bun and Node alike:
 * valid frames to start from (every client API's response at every version,
 * the consumer-protocol data, record batches of magic 0 to 2, each codec's
 * compressed data), mutations driven by a seeded PRNG, and a loop that
 * decodes every mutated frame and sorts the outcome into success, the
 * decoder's typed error, or a crash.
 *
 * Every frame has its own PRNG, seeded from the run's seed, the target's
 * name and the frame's index, so one frame reproduces alone:
 * `deno task fuzz --seed=S --target=T --from=I --count=1`.
 *
 * @module
 */

import {
  ByteReader,
  ByteWriter,
  ProtocolError,
} from "../../lib/protocol/bytes.ts";
import * as messages from "../../lib/protocol/messages/mod.ts";
import * as testing from "../../lib/protocol/testing/mod.ts";
import { crc32, crc32c } from "../../lib/protocol/crc32c.ts";
import { encodeLegacyMessage } from "../../lib/protocol/legacy_messages.ts";
import {
  encodeRecordBatch,
  type RecordInput,
} from "../../lib/protocol/records.ts";
import { readRecords } from "../../lib/protocol/read_records.ts";
import { type Codec, loadCodec } from "../../codecs/mod.ts";
import { compressFrame } from "../../codecs/lz4.ts";
import {
  FRAME_UPFRONT,
  FrameReader,
  FrameSplitter,
} from "../../lib/connection/framing.ts";
import {
  defaultValue,
  ensureSpecDir,
  type FieldSpec,
  isClientApi,
  loadApis,
  loadData,
  type MessageSpec,
  nullableIn,
  presentIn,
  type StructSpec,
  taggedIn,
  type TypeSpec,
} from "../gen/spec.ts";

// ---------------------------------------------------------------------------
// PRNG
// ---------------------------------------------------------------------------

/** A source of uniform 32-bit unsigned integers. *
 * @example
 * ```ts
 * import { type Rng, sfc32 } from "./engine.ts";
 *
 * const rng: Rng = sfc32(1, 2, 3, 4);
 * console.log(rng() < 2 ** 32); // true
 * ```
 */
export type Rng = () => number;

/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator), warmed up.
 *
 * @example
 * ```ts
 * import { sfc32 } from "./engine.ts";
 *
 * const rng = sfc32(1, 2, 3, 4);
 * console.log(rng() === sfc32(1, 2, 3, 4)()); // true
 * ```
 */
export function sfc32(a: number, b: number, c: number, d: number): Rng {
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

/**
 * FNV-1a of a string: how a target's name enters its frames' seeds.
 *
 * @example
 * ```ts
 * import { fnv1a } from "./engine.ts";
 *
 * console.log(fnv1a("Fetch") === fnv1a("Fetch")); // true
 * ```
 */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  }
  return h >>> 0;
}

/**
 * The PRNG of one frame: a function of the run's seed, the target and the
 * frame's index only.
 *
 * @example
 * ```ts
 * import { frameRng } from "./engine.ts";
 *
 * console.log(frameRng(1, "Fetch", 7)() === frameRng(1, "Fetch", 7)()); // true
 * ```
 */
export function frameRng(seed: number, target: string, index: number): Rng {
  return sfc32(
    seed >>> 0,
    fnv1a(target),
    index >>> 0,
    Math.floor(index / 4294967296) ^ 0x5eed,
  );
}

function below(rng: Rng, n: number): number {
  return n <= 0 ? 0 : rng() % n;
}

function pick<T>(rng: Rng, list: readonly T[]): T {
  return list[below(rng, list.length)];
}

function randomBytes(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng() & 0xff;
  return out;
}

// ---------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------

/** Values that break lengths and counts: huge, negative, off by one. */
const INT32S = [
  0x7fffffff,
  0x80000000,
  0xffffffff,
  0xfffffffe,
  0x7ffffffe,
  0x40000000,
  0x10000000,
  0x01000000,
  0x00010000,
  0x0000ffff,
  0x00008000,
  0,
  1,
];
const INT16S = [0x7fff, 0x8000, 0xffff, 0xfffe, 0x0100, 0x00ff, 0, 1];
const VARINTS = [
  [0xff, 0xff, 0xff, 0xff, 0x0f], // 2^32 - 1: a compact length of 4 GiB
  [0xff, 0xff, 0xff, 0xff, 0x07], // 2^31 - 1
  [0xfe, 0xff, 0xff, 0xff, 0x0f], // zigzag: -2^31 + ...
  [0x80, 0x80, 0x80, 0x80, 0x80, 0x01], // too long for 32 bits
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // varlong max
  [0x80, 0x80, 0x80, 0x80, 0x08], // 2^31
  [0x80, 0x80, 0x04], // 65536
  [0xff, 0x7f], // 16383
  [0x01], // zigzag -1
  [0x03], // zigzag -2
  [0x00],
  [0x7f],
  [0x80], // a continuation with nothing after it
];
const BYTES = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];

/** The mutation kinds, by name (see `mutate`). *
 * @example
 * ```ts
 * import { MUTATIONS } from "./engine.ts";
 *
 * console.log(MUTATIONS.includes("varint")); // true
 * ```
 */
export const MUTATIONS = [
  "bitflip",
  "byte",
  "truncate",
  "extend",
  "int32",
  "int16",
  "varint",
  "splice",
  "insert",
  "delete",
  "duplicate",
] as const;

/**
 * Applies one to four random mutations to a copy of `input`: bit flips, byte
 * replacements, truncation, extension, int32/int16/varint fields set to huge
 * or negative values, splicing in bytes of `donor`, insertion, deletion and
 * duplication of ranges.
 *
 * @example
 * ```ts
 * import { frameRng, mutate } from "./engine.ts";
 *
 * const input = new Uint8Array([0, 0, 0, 1, 0, 2]);
 * const a = mutate(input, input, frameRng(1, "x", 0));
 * const b = mutate(input, input, frameRng(1, "x", 0));
 * console.log(a.join() === b.join()); // true
 * ```
 */
export function mutate(
  input: Uint8Array,
  donor: Uint8Array,
  rng: Rng,
): Uint8Array {
  let buf: Uint8Array = input.slice();
  const rounds = 1 + (below(rng, 8) === 0 ? below(rng, 4) : below(rng, 2));
  for (let i = 0; i < rounds; i++) buf = mutateOnce(buf, donor, rng);
  return buf;
}

function mutateOnce(buf: Uint8Array, donor: Uint8Array, rng: Rng): Uint8Array {
  const n = buf.length;
  const at = below(rng, n + 1);
  switch (pick(rng, MUTATIONS)) {
    case "bitflip":
      if (n > 0) buf[below(rng, n)] ^= 1 << below(rng, 8);
      return buf;
    case "byte":
      if (n > 0) {
        buf[below(rng, n)] = below(rng, 2) ? pick(rng, BYTES) : rng() & 0xff;
      }
      return buf;
    case "truncate":
      return buf.slice(0, below(rng, n));
    case "extend":
      return concat(buf, randomBytes(rng, 1 + below(rng, 16)));
    case "int32": {
      const v = below(rng, 4) === 0
        ? (n + below(rng, 64) - 8) >>> 0
        : below(rng, 4) === 0
        ? rng()
        : pick(rng, INT32S);
      return overwrite(
        buf,
        at,
        [v >>> 24, v >>> 16, v >>> 8, v].map((b) => b & 0xff),
      );
    }
    case "int16": {
      const v = below(rng, 4) === 0 ? rng() & 0xffff : pick(rng, INT16S);
      return overwrite(buf, at, [(v >>> 8) & 0xff, v & 0xff]);
    }
    case "varint": {
      const bytes = pick(rng, VARINTS);
      // Over the bytes there, or in their place (a varint changes length).
      return below(rng, 2)
        ? overwrite(buf, at, bytes)
        : splice(buf, at, below(rng, 3), Uint8Array.from(bytes));
    }
    case "splice": {
      if (donor.length === 0) return buf;
      const from = below(rng, donor.length);
      const len = 1 + below(rng, Math.min(64, donor.length - from));
      const piece = donor.subarray(from, from + len);
      return below(rng, 2)
        ? overwrite(buf, at, piece)
        : splice(buf, at, 0, piece);
    }
    case "insert":
      return splice(buf, at, 0, randomBytes(rng, 1 + below(rng, 8)));
    case "delete":
      return splice(buf, at, 1 + below(rng, 8), new Uint8Array(0));
    case "duplicate": {
      const len = 1 + below(rng, Math.min(32, Math.max(1, n - at)));
      return splice(buf, at, 0, buf.slice(at, at + len));
    }
  }
}

function overwrite(
  buf: Uint8Array,
  at: number,
  bytes: ArrayLike<number>,
): Uint8Array {
  const out = at + bytes.length > buf.length
    ? concat(buf, new Uint8Array(at + bytes.length - buf.length))
    : buf;
  out.set(bytes, at);
  return out;
}

function splice(
  buf: Uint8Array,
  at: number,
  remove: number,
  insert: Uint8Array,
): Uint8Array {
  const end = Math.min(buf.length, at + remove);
  const out = new Uint8Array(at + insert.length + buf.length - end);
  out.set(buf.subarray(0, at));
  out.set(insert, at);
  out.set(buf.subarray(end), at + insert.length);
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

// ---------------------------------------------------------------------------
// Allocation tracking
// ---------------------------------------------------------------------------

/**
 * The largest allocation seen since `reset`: typed arrays and ArrayBuffers
 * in bytes, JavaScript arrays in elements. Only what JavaScript code
 * constructs through the globals is seen; allocations inside the runtime
 * (node:zlib's output buffers, WASM memory) are not.
 *
 * @example
 * ```ts
 * import { type AllocTracker, trackAllocations } from "./engine.ts";
 *
 * const tracker: AllocTracker = trackAllocations();
 * tracker.reset();
 * new Array(10);
 * tracker.uninstall();
 * console.log(tracker.largest); // 10
 * ```
 */
export interface AllocTracker {
  /** The largest allocation since the last reset. */
  largest: number;
  /** Forgets the largest allocation so far. */
  reset(): void;
  /** Puts the original constructors back. */
  uninstall(): void;
}

const TRACKED = [
  "Array",
  "ArrayBuffer",
  "Uint8Array",
  "Int8Array",
  "Uint16Array",
  "Int16Array",
  "Uint32Array",
  "Int32Array",
  "Float64Array",
  "BigInt64Array",
] as const;

/**
 * Replaces the global array constructors with proxies that note the size of
 * every allocation, until `uninstall`.
 *
 * @example
 * ```ts
 * import { trackAllocations } from "./engine.ts";
 *
 * const tracker = trackAllocations();
 * new Uint8Array(1000);
 * tracker.uninstall();
 * console.log(tracker.largest >= 1000); // true
 * ```
 */
export function trackAllocations(): AllocTracker {
  const g = globalThis as unknown as Record<string, unknown>;
  const originals = new Map<string, unknown>();
  const tracker: AllocTracker = {
    largest: 0,
    reset() {
      tracker.largest = 0;
    },
    uninstall() {
      for (const [name, ctor] of originals) g[name] = ctor;
    },
  };
  const note = (size: number) => {
    if (size > tracker.largest) tracker.largest = size;
  };
  for (const name of TRACKED) {
    const ctor = g[name] as
      & (new (...args: unknown[]) => object)
      & ((...args: unknown[]) => unknown)
      & { BYTES_PER_ELEMENT?: number };
    originals.set(name, ctor);
    const unit = ctor.BYTES_PER_ELEMENT ?? 1;
    const measure = (args: unknown[]) => {
      const first = args[0];
      if (typeof first === "number") {
        if (name !== "Array" || args.length === 1) note(first * unit);
      } else if (name === "Array") {
        note(args.length);
      } else if (
        first !== null && typeof first === "object" && !(first instanceof
          (originals.get("ArrayBuffer") as typeof ArrayBuffer))
      ) {
        const length = (first as { length?: unknown }).length;
        if (typeof length === "number") note(length * unit);
      }
    };
    g[name] = new Proxy(ctor, {
      construct(target, args, newTarget) {
        measure(args);
        return Reflect.construct(target, args, newTarget);
      },
      apply(target, self, args) {
        if (name === "Array") measure(args);
        return Reflect.apply(target, self, args);
      },
    });
  }
  return tracker;
}

// ---------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------

/** A valid frame to mutate, and what its decoder needs besides the bytes. *
 * @example
 * ```ts
 * import type { Seed } from "./engine.ts";
 *
 * const seed: Seed = { bytes: new Uint8Array([0, 0]), version: 0 };
 * console.log(seed.bytes.length); // 2
 * ```
 */
export interface Seed {
  /** The frame. */
  bytes: Uint8Array;
  /** The version it was written at (APIs and data), or 0. */
  version: number;
}

/** One decoder under fuzz. *
 * @example
 * ```ts ignore
 * import { loadTargets, type Target } from "./engine.ts";
 *
 * const fetch: Target | undefined = (await loadTargets(1))
 *   .find((t) => t.name === "Fetch");
 * console.log(fetch?.seeds.length);
 * ```
 */
export interface Target {
  /** Its name for `--target`, e.g. "Fetch", "records.v2", "codec.lz4". */
  readonly name: string;
  /** Valid frames to start from. */
  readonly seeds: readonly Seed[];
  /** Decodes one (mutated) frame; throws what the decoder throws. */
  decode(bytes: Uint8Array, seed: Seed, rng: Rng): unknown;
  /** True for the decoder's own typed errors. */
  typed(error: unknown): boolean;
  /**
   * The largest allocation allowed for a frame of `length` bytes: the length
   * itself, or for decompression the codec's bound on its output.
   */
  allocLimit(length: number): number;
}

function isProtocolError(error: unknown): boolean {
  return error instanceof ProtocolError;
}

// --- the generated decoders ---

type Value = unknown;
type Obj = Record<string, Value>;
type Mode = "full" | "nulls" | "random";

const CHARS = [..."abcXYZ019-._ é✓😀"];

function sampleString(rng: Rng): string {
  let s = "";
  const n = below(rng, 8);
  for (let i = 0; i < n; i++) s += pick(rng, CHARS);
  return s;
}

function samplePrimitive(name: string, rng: Rng): Value {
  const r = rng();
  switch (name) {
    case "bool":
      return (r & 1) === 1;
    case "int8":
      return (r << 24) >> 24;
    case "int16":
      return (r << 16) >> 16;
    case "uint16":
      return r & 0xffff;
    case "int32":
      return r | 0;
    case "uint32":
      return r;
    case "int64":
      return below(rng, 2) ? (r | 0) : (r | 0) * 65536 + (rng() & 0xffff);
    case "float64":
      return ((r | 0) / 7) * 1.5;
    case "string":
      return sampleString(rng);
    case "uuid": {
      const b = randomBytes(rng, 16);
      const w = new ByteWriter(16).raw(b);
      return new ByteReader(w.finish()).uuid();
    }
    case "bytes":
    case "records":
      return randomBytes(rng, below(rng, 12));
  }
  throw new Error(`unknown primitive ${name}`);
}

function sampleValue(
  f: FieldSpec,
  t: TypeSpec,
  v: number,
  rng: Rng,
  mode: Mode,
): Value {
  switch (t.kind) {
    case "primitive": {
      const value = samplePrimitive(t.name, rng);
      return mode === "full" && value === defaultValue(f) &&
          typeof value === "number"
        ? value + 1
        : value;
    }
    case "struct":
      return sampleStruct(t.struct, v, rng, mode);
    case "array": {
      const n = mode === "random" ? below(rng, 4) : 1 + below(rng, 2);
      const a: Value[] = [];
      for (let i = 0; i < n; i++) {
        a.push(sampleValue(f, t.element, v, rng, mode));
      }
      return a;
    }
  }
}

/** A value of `struct` for `version`: every field set, null or random. */
function sampleStruct(
  struct: StructSpec,
  version: number,
  rng: Rng,
  mode: Mode,
): Obj {
  const out: Obj = {};
  for (const f of struct.fields) {
    if (!presentIn(f, version)) continue;
    const nullable = nullableIn(f, version);
    if (mode === "nulls" && nullable) {
      out[f.prop] = null;
      continue;
    }
    if (mode === "random") {
      if (below(rng, 10) < (taggedIn(f, version) ? 3 : 1)) continue;
      if (nullable && below(rng, 4) === 0) {
        out[f.prop] = null;
        continue;
      }
    }
    out[f.prop] = sampleValue(f, f.type, version, rng, mode);
  }
  return out;
}

const MODES: readonly Mode[] = ["full", "nulls", "random", "random", "random"];

function samples(
  message: MessageSpec,
  lo: number,
  hi: number,
  rng: Rng,
  encode: (w: ByteWriter, version: number, value: Obj) => void,
  prefix = false,
): Seed[] {
  const seeds: Seed[] = [];
  for (let version = lo; version <= hi; version++) {
    for (
      const value of [
        {},
        ...MODES.map((m) => sampleStruct(message.root, version, rng, m)),
      ]
    ) {
      const w = new ByteWriter(64);
      if (prefix) w.int16(version);
      encode(w, version, value);
      seeds.push({ bytes: w.finish().slice(), version });
    }
  }
  return seeds;
}

function apiTargets(specDir: string, seed: number): Target[] {
  const targets: Target[] = [];
  for (const spec of loadApis(specDir).filter(isClientApi)) {
    const api = messages.API_BY_KEY.get(spec.key);
    const full = testing.API_BY_KEY.get(spec.key);
    if (!api || !full) continue;
    const rng = frameRng(seed, `seeds:${spec.name}`, 0);
    const seeds = samples(
      spec.response,
      full.minVersion,
      full.maxVersion,
      rng,
      (w, v, value) => full.encodeResponse(w, v, value),
    );
    targets.push({
      name: spec.name,
      seeds,
      decode(bytes, seed, rng) {
        // Now and then the wrong version: a broker that answered another.
        const version = below(rng, 16) === 0
          ? api.minVersion + below(rng, api.maxVersion - api.minVersion + 1)
          : seed.version;
        return api.decodeResponse(new ByteReader(bytes), version);
      },
      typed: isProtocolError,
      allocLimit: (length) => length,
    });
  }
  return targets;
}

/** The consumer protocol's data, as the group code reads it: version first. */
function dataTargets(specDir: string, seed: number): Target[] {
  const fns = messages as unknown as Record<string, unknown>;
  return loadData(specDir).map((m) => {
    const encode = fns[`encode${m.name}`] as (
      w: ByteWriter,
      v: number,
      d: Obj,
    ) => void;
    const decode = fns[`decode${m.name}`] as (
      r: ByteReader,
      v: number,
    ) => unknown;
    const rng = frameRng(seed, `seeds:${m.name}`, 0);
    return {
      name: m.name,
      seeds: samples(
        m,
        m.validVersions.lo,
        m.validVersions.hi,
        rng,
        encode,
        true,
      ),
      decode(bytes: Uint8Array) {
        const r = new ByteReader(bytes);
        const version = r.int16();
        return decode(r, version);
      },
      typed: isProtocolError,
      allocLimit: (length: number) => length,
    };
  });
}

// --- record batches ---

/** The most a codec's output may be, per input byte (see codecs/). */
const RATIOS: Record<number, number> = {
  1: 1032, // gzip
  2: 22, // snappy
  3: 255, // lz4
  4: 128 * 1024 / 3, // zstd: an RLE block of 4 bytes yields a 128 KiB block
};

function sampleRecords(rng: Rng): RecordInput[] {
  const n = below(rng, 5) + (below(rng, 4) === 0 ? 0 : 1);
  const records: RecordInput[] = [];
  for (let i = 0; i < n; i++) {
    const headers = [];
    for (let h = below(rng, 3); h > 0; h--) {
      headers.push({
        key: sampleString(rng),
        value: below(rng, 4) === 0 ? null : randomBytes(rng, below(rng, 6)),
      });
    }
    records.push({
      key: below(rng, 3) === 0 ? null : randomBytes(rng, below(rng, 8)),
      value: below(rng, 5) === 0 ? null : textBytes(rng),
      timestamp: 1_700_000_000_000 + below(rng, 100000),
      headers,
    });
  }
  return records;
}

function textBytes(rng: Rng): Uint8Array {
  let s = "";
  for (let n = below(rng, 6); n >= 0; n--) {
    s += `{"id":${below(rng, 1000)},"v":"${sampleString(rng)}"}`;
  }
  return new TextEncoder().encode(s);
}

function batchSeeds(
  magic: number,
  codecs: Map<number, Codec>,
  seed: number,
): Seed[] {
  const rng = frameRng(seed, `seeds:records.v${magic}`, 0);
  const seeds: Seed[] = [];
  for (let i = 0; i < 60; i++) {
    const compression = i % 6 === 5 ? 0 : i % 6;
    const codec = codecs.get(compression);
    const compress = codec ? (b: Uint8Array) => codec.compress(b) : undefined;
    const parts: Uint8Array[] = [];
    let offset = below(rng, 1000);
    for (let b = 1 + below(rng, 3); b > 0; b--) {
      const records = sampleRecords(rng);
      if (magic === 2) {
        const transactional = below(rng, 4) === 0;
        const bytes = encodeRecordBatch(records, {
          compression,
          producerId: transactional ? 7 : -1,
          producerEpoch: transactional ? 0 : -1,
          baseSequence: transactional ? 0 : -1,
          transactional,
        }, compress).slice();
        new DataView(bytes.buffer).setUint32(4, offset);
        if (below(rng, 6) === 0) bytes[22] |= 0x08; // log append time
        fixBatch(bytes);
        parts.push(bytes);
      } else {
        const legacy: Uint8Array[] = records.map((r, k) =>
          encodeLegacyMessage(magic as 0 | 1, magic === 1 ? k : offset + k, {
            key: r.key,
            value: r.value,
            timestamp: r.timestamp,
          }).slice()
        );
        if (compress && legacy.length > 0) {
          const inner = legacy.reduce(concat);
          parts.push(
            encodeLegacyMessage(magic as 0 | 1, offset + legacy.length - 1, {
              key: null,
              value: compress(inner),
              timestamp: 1_700_000_000_000,
              attributes: compression | (below(rng, 4) === 0 ? 0x08 : 0),
            }).slice(),
          );
        } else {
          parts.push(...legacy);
        }
      }
      offset += records.length;
    }
    seeds.push({
      bytes: parts.reduce(concat, new Uint8Array(0)),
      version: magic,
    });
  }
  return seeds;
}

/**
 * Recomputes the CRC of every batch or message whose length fits, so that a
 * mutation reaches past the CRC check. Used on a copy of a mutated frame.
 *
 * @example
 * ```ts
 * import { fixBatch } from "./engine.ts";
 *
 * const empty = new Uint8Array(0);
 * fixBatch(empty); // nothing to fix
 * ```
 */
export function fixBatch(bytes: Uint8Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let pos = 0; bytes.length - pos >= 17;) {
    const length = view.getInt32(pos + 8);
    const end = pos + 12 + length;
    if (length < 5 || end > bytes.length) return;
    const magic = bytes[pos + 16];
    if (magic === 2 && length >= 9) {
      view.setUint32(pos + 17, crc32c(bytes.subarray(pos + 21, end)));
    } else if (magic < 2) {
      view.setUint32(pos + 12, crc32(bytes.subarray(pos + 16, end)));
    }
    pos = end;
  }
}

function recordTargets(codecs: Map<number, Codec>, seed: number): Target[] {
  const decompress = (id: number, data: Uint8Array) => {
    const codec = codecs.get(id);
    if (!codec) throw new RangeError(`Unknown compression codec id ${id}`);
    return codec.decompress(data);
  };
  return [0, 1, 2].map((magic) => ({
    name: `records.v${magic}`,
    seeds: batchSeeds(magic, codecs, seed),
    decode(bytes: Uint8Array, _seed: Seed, rng: Rng) {
      // Mostly with the CRCs made right again, to reach what is behind them.
      const fix = below(rng, 4) !== 0;
      if (fix) fixBatch(bytes);
      return readRecords(bytes, {
        fromOffset: below(rng, 4) === 0 ? below(rng, 1200) : 0,
        decompress,
        abortedTransactions: below(rng, 4) === 0
          ? [{ producerId: 7, firstOffset: below(rng, 1000) }]
          : null,
        where: "fuzz",
        checkCrc: fix || below(rng, 2) === 0,
      });
    },
    typed: isProtocolError,
    allocLimit: (length: number) => length * RATIOS[1],
  }));
}

// --- codecs ---

function codecSeeds(codec: Codec, seed: number): Seed[] {
  const rng = frameRng(seed, `seeds:codec.${codec.name}`, 0);
  const inputs: Uint8Array[] = [new Uint8Array(0), new Uint8Array(1000)];
  for (let i = 0; i < 14; i++) {
    const size = [1, 10, 100, 1000, 5000][i % 5];
    inputs.push(
      i % 3 === 0
        ? randomBytes(rng, size)
        : i % 3 === 1
        ? textBytes(rng).subarray(0, size)
        : new Uint8Array(size).fill(i),
    );
  }
  const seeds: Seed[] = [];
  for (const input of inputs) {
    seeds.push({ bytes: codec.compress(input).slice(), version: 0 });
    if (codec.id === 3) {
      // The frame options other clients write.
      seeds.push({
        bytes: compressFrame(input, {
          blockChecksum: true,
          contentSize: true,
          contentChecksum: true,
        }).slice(),
        version: 0,
      });
    }
  }
  if (codec.id === 2) {
    // A bare raw block (what some clients write) from the xerial chunk.
    const framed = seeds[seeds.length - 1].bytes;
    seeds.push({ bytes: framed.slice(20), version: 0 });
  }
  if (codec.id === 4) {
    // Two frames back to back, and a skippable frame first.
    const a = seeds[2].bytes;
    const b = seeds[3].bytes;
    seeds.push({ bytes: concat(a, b), version: 0 });
    const skip = Uint8Array.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    seeds.push({ bytes: concat(skip, a), version: 0 });
  }
  return seeds;
}

function codecTargets(codecs: Map<number, Codec>, seed: number): Target[] {
  return [...codecs.values()].map((codec) => ({
    name: `codec.${codec.name}`,
    seeds: codecSeeds(codec, seed),
    decode: (bytes: Uint8Array) => codec.decompress(bytes),
    typed: (error: unknown) => codecTyped(codec.name, error),
    allocLimit: (length: number) => Math.max(1024, length * RATIOS[codec.id]),
  }));
}

/**
 * A codec's typed error: an Error named after the codec ("lz4: ..."), and
 * not one the runtime throws for a bug (a TypeError, or a RangeError without
 * an error code; node:zlib's output limit is a RangeError with a code).
 */
function codecTyped(name: string, error: unknown): boolean {
  if (!(error instanceof Error) || !error.message.startsWith(`${name}: `)) {
    return false;
  }
  if (error.constructor !== Error) return false;
  const cause = error.cause;
  if (cause instanceof TypeError) return false;
  if (cause instanceof RangeError) {
    return typeof (cause as { code?: unknown }).code === "string";
  }
  return !(cause instanceof Error && cause.name === "RuntimeError");
}

// --- the connection's frame readers ---

/** The largest frame the framing target accepts (its maxResponseSize). */
const FRAMING_MAX = 64 * 1024 * 1024;
/** What a frame's buffer may start at before its bytes arrive. */
const FRAMING_UPFRONT = FRAME_UPFRONT;

/**
 * Size-prefixed frames, as a socket delivers them, cut into random chunks,
 * through both frame readers of lib/connection/framing.ts.
 */
function framingTarget(seed: number): Target {
  const rng = frameRng(seed, "seeds:framing", 0);
  const seeds: Seed[] = [];
  for (let i = 0; i < 40; i++) {
    const w = new ByteWriter(64);
    for (let n = 1 + below(rng, 4); n > 0; n--) {
      const body = randomBytes(rng, [0, 1, 8, 100, 3000][below(rng, 5)]);
      w.int32(body.length).raw(body);
    }
    seeds.push({ bytes: w.finish().slice(), version: 0 });
  }
  const chunks = (bytes: Uint8Array, rng: Rng) => {
    const most = 1 + below(rng, 2) * below(rng, 200) + below(rng, 8);
    const out: Uint8Array[] = [];
    for (let at = 0; at < bytes.length;) {
      const n = 1 + below(rng, most);
      out.push(bytes.subarray(at, at + n));
      at += n;
    }
    return out;
  };
  return {
    name: "framing",
    seeds,
    async decode(bytes, _seed, rng) {
      const pieces = chunks(bytes, rng);
      const splitter = new FrameSplitter(FRAMING_MAX);
      for (const piece of pieces) splitter.push(piece, () => {});
      let i = 0;
      const reader = new FrameReader(
        (into) => {
          const piece = pieces[i++];
          if (piece === undefined) return Promise.resolve(null);
          // A piece larger than the room is cut: the rest comes next time.
          if (piece.length > into.length) {
            pieces.splice(i, 0, piece.subarray(into.length));
          }
          const n = Math.min(piece.length, into.length);
          into.set(piece.subarray(0, n));
          return Promise.resolve(n);
        },
        FRAMING_MAX,
        256,
      );
      while (await reader.next() !== null);
    },
    typed: isProtocolError,
    allocLimit: (length) => Math.max(FRAMING_UPFRONT, length),
  };
}

/**
 * Every target: one per client API's response decoder, the consumer
 * protocol's data, record batches of magic 0, 1 and 2, one per codec, and
 * the connection's frame readers.
 * Needs Kafka's message specs (see tools/gen/spec.ts).
 *
 * @example
 * ```ts ignore
 * import { loadTargets } from "./engine.ts";
 *
 * const targets = await loadTargets(1);
 * console.log(targets.map((t) => t.name).includes("Fetch")); // true
 * ```
 */
export async function loadTargets(seed: number): Promise<Target[]> {
  const dir = await ensureSpecDir();
  const codecs = new Map<number, Codec>();
  for (const id of [1, 2, 3, 4]) codecs.set(id, await loadCodec(id));
  return [
    ...apiTargets(dir, seed),
    ...dataTargets(dir, seed),
    ...recordTargets(codecs, seed),
    ...codecTargets(codecs, seed),
    framingTarget(seed),
  ];
}

// ---------------------------------------------------------------------------
// The loop
// ---------------------------------------------------------------------------

/** A frame the decoder did not handle as it should. *
 * @example
 * ```ts ignore
 * import { fuzzTarget, loadTargets } from "./engine.ts";
 *
 * const [target] = await loadTargets(1);
 * const { findings } = await fuzzTarget(target, { seed: 1, count: 10 });
 * for (const f of findings) console.log(f.kind, f.index, f.detail);
 * ```
 */
export interface Finding {
  /** "crash" (an untyped error), "slow" (over the time budget) or "alloc". */
  kind: "crash" | "slow" | "alloc";
  /** The frame's index: `--from=<index> --count=1` reproduces it. */
  index: number;
  /** What happened. */
  detail: string;
  /** The mutated frame, hex. */
  hex: string;
}

/** The counts of one target's run. *
 * @example
 * ```ts ignore
 * import { fuzzTarget, loadTargets } from "./engine.ts";
 *
 * const [target] = await loadTargets(1);
 * const stats = await fuzzTarget(target, { seed: 1, count: 10 });
 * console.log(stats.frames, stats.typed, stats.ok, stats.crashes);
 * ```
 */
export interface TargetStats {
  /** The target's name. */
  target: string;
  /** Frames decoded. */
  frames: number;
  /** Frames that failed with the decoder's typed error. */
  typed: number;
  /** Frames that decoded. */
  ok: number;
  /** Frames that failed otherwise. */
  crashes: number;
  /** Frames over the time budget. */
  slow: number;
  /** Frames that allocated more than their limit. */
  overAlloc: number;
  /** The slowest decode, in ms, and its index. */
  slowestMs: number;
  /** The index of the slowest decode. */
  slowestIndex: number;
  /** The largest allocation (bytes or elements) and its frame's length. */
  largestAlloc: number;
  /** The length of the frame that allocated the most. */
  largestAllocFrame: number;
  /** The first findings (at most 20). */
  findings: Finding[];
}

/** Options of `fuzzTarget`. *
 * @example
 * ```ts
 * import { type FuzzOptions, trackAllocations } from "./engine.ts";
 *
 * const options: FuzzOptions = {
 *   seed: 1,
 *   from: 1000,
 *   count: 10,
 *   tracker: trackAllocations(),
 * };
 * console.log(options.count); // 10
 * options.tracker?.uninstall();
 * ```
 */
export interface FuzzOptions {
  /** The run's seed. */
  seed: number;
  /** The first frame's index (default 0). */
  from?: number;
  /** How many frames. */
  count: number;
  /**
   * A decode slower than this many ms, also when decoded twice more, is a
   * finding (default 250).
   */
  budgetMs?: number;
  /** Allocation tracking, from `trackAllocations` (none by default). */
  tracker?: AllocTracker;
  /** Called with the index of each frame before it is decoded. */
  onFrame?: (index: number) => void;
}

function toHex(bytes: Uint8Array): string {
  let s = "";
  const n = Math.min(bytes.length, 4096);
  for (let i = 0; i < n; i++) s += bytes[i].toString(16).padStart(2, "0");
  return n < bytes.length ? `${s}...` : s;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return `non-Error thrown: ${String(error)}`;
  const where =
    error.stack?.split("\n").slice(1, 4).map((l) => l.trim()).join(" < ") ?? "";
  const cause = error.cause instanceof Error
    ? ` (cause: ${error.cause.name}: ${error.cause.message})`
    : "";
  return `${error.name}: ${error.message}${cause} at ${where}`;
}

/**
 * The mutated frame number `index` of a target: the same bytes on every run
 * with the same seed.
 *
 * @example
 * ```ts ignore
 * import { frameAt, loadTargets } from "./engine.ts";
 *
 * const [target] = await loadTargets(1);
 * console.log(frameAt(target, 1, 42).bytes.length > 0);
 * ```
 */
export function frameAt(
  target: Target,
  seed: number,
  index: number,
): { bytes: Uint8Array; seed: Seed; rng: Rng } {
  const rng = frameRng(seed, target.name, index);
  const base = pick(rng, target.seeds);
  const donor = pick(rng, target.seeds);
  return { bytes: mutate(base.bytes, donor.bytes, rng), seed: base, rng };
}

/** A target's stats before its first frame. */
export function emptyStats(target: string): TargetStats {
  return {
    target,
    frames: 0,
    typed: 0,
    ok: 0,
    crashes: 0,
    slow: 0,
    overAlloc: 0,
    slowestMs: 0,
    slowestIndex: -1,
    largestAlloc: 0,
    largestAllocFrame: 0,
    findings: [],
  };
}

/**
 * Decodes `count` mutated frames of `target` and counts the outcomes.
 *
 * @example
 * ```ts ignore
 * import { fuzzTarget, loadTargets } from "./engine.ts";
 *
 * const [target] = await loadTargets(1);
 * const stats = await fuzzTarget(target, { seed: 1, count: 100 });
 * console.log(stats.crashes); // 0
 * ```
 */
export async function fuzzTarget(
  target: Target,
  options: FuzzOptions,
): Promise<TargetStats> {
  const budget = options.budgetMs ?? 250;
  const tracker = options.tracker;
  const stats = emptyStats(target.name);
  const note = (f: Finding) => {
    if (stats.findings.length < 20) stats.findings.push(f);
  };
  const from = options.from ?? 0;
  for (let index = from; index < from + options.count; index++) {
    // node:zlib's synchronous calls free their native memory only after a
    // turn of the event loop: without one, a million gunzips hold gigabytes.
    if ((index - from) % 1024 === 1023) {
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    options.onFrame?.(index);
    const { bytes, seed, rng } = frameAt(target, options.seed, index);
    const original = bytes.slice();
    tracker?.reset();
    const started = performance.now();
    let error: unknown = undefined;
    let failed = false;
    try {
      const result = target.decode(bytes, seed, rng);
      if (result instanceof Promise) await result;
    } catch (e) {
      failed = true;
      error = e;
    }
    let ms = performance.now() - started;
    // A pause of the collector or of a loaded machine is not the decoder's:
    // a slow frame counts only if it stays slow when decoded again.
    for (let again = 0; again < 2 && ms > budget; again++) {
      const frame = frameAt(target, options.seed, index);
      const t0 = performance.now();
      try {
        const result = target.decode(frame.bytes, frame.seed, frame.rng);
        if (result instanceof Promise) await result;
      } catch {
        // counted above
      }
      ms = Math.min(ms, performance.now() - t0);
    }
    stats.frames++;
    if (!failed) stats.ok++;
    else if (target.typed(error)) stats.typed++;
    else {
      stats.crashes++;
      note({
        kind: "crash",
        index,
        detail: describe(error),
        hex: toHex(original),
      });
    }
    if (ms > stats.slowestMs) {
      stats.slowestMs = ms;
      stats.slowestIndex = index;
    }
    if (ms > budget) {
      stats.slow++;
      note({
        kind: "slow",
        index,
        detail: `${ms.toFixed(1)} ms`,
        hex: toHex(original),
      });
    }
    if (tracker) {
      const largest = tracker.largest;
      if (largest > stats.largestAlloc) {
        stats.largestAlloc = largest;
        stats.largestAllocFrame = original.length;
      }
      if (largest > target.allocLimit(original.length)) {
        stats.overAlloc++;
        note({
          kind: "alloc",
          index,
          detail:
            `allocated ${largest} for a frame of ${original.length} bytes`,
          hex: toHex(original),
        });
      }
    }
  }
  return stats;
}
