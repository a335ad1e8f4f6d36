/**
 * Compression codecs behind one small interface. The id is the one stored in
 * the low bits of a record batch's attributes.
 *
 * @module
 */

/** A compression codec in Kafka's framing for its id. */
export interface Codec {
  /** Its id in a batch's attributes: 1 gzip, 2 snappy, 3 lz4, 4 zstd. */
  readonly id: number;
  /** The codec's name, as the `compression` option spells it. */
  readonly name: CompressionName;
  /**
   * Compresses a batch's records into the codec's Kafka framing, at `level`
   * (see `COMPRESSION_LEVELS`) or the codec's default.
   */
  compress(data: Uint8Array, level?: number): Uint8Array;
  /** Decompresses what `compress` (or another Kafka client) produced. */
  decompress(data: Uint8Array): Uint8Array;
  /**
   * What `compress` does, off the calling thread: present only where the
   * codec can do that work on other threads (gzip: Web Workers in Deno and
   * Bun, `node:zlib`'s thread pool in Node). `data` must not change until it
   * settles.
   */
  compressAsync?(data: Uint8Array, level?: number): Promise<Uint8Array>;
}

/**
 * The compression levels a Writer or Dialer accepts per codec
 * (`compressionLevel`), Kafka's own ranges (KIP-390): zlib's 1 (fastest) to
 * 9 (smallest) for gzip, and zstd's -131072 to 22 (0 is zstd's default, 3).
 * snappy has no levels; nor has lz4 here: Java's levels other than its
 * default choose LZ4 HC, which this client does not implement.
 *
 * `default` is the level a batch without `compressionLevel` gets, or comes
 * closest to: gzip without a level is compressed by the client's own
 * deflate (codecs/wasm/deflate.rs), whose output is about the size of
 * zlib's level 6 (5.68 against 5.62 on the benchmark's JSON batches).
 */
export const COMPRESSION_LEVELS: Readonly<
  Partial<
    Record<CompressionName, { min: number; max: number; default: number }>
  >
> = {
  gzip: { min: 1, max: 9, default: 6 },
  zstd: { min: -131072, max: 22, default: 3 },
};

/**
 * Checks a `compressionLevel` option against the codec chosen by
 * `compression`, throwing a TypeError or RangeError that names both, the
 * value and its type, and what was expected. `context` starts the message
 * ("Cannot create Writer").
 */
export function checkCompressionLevel(
  context: string,
  compression: CompressionName | undefined,
  level: unknown,
): void {
  if (level === undefined) return;
  const name = compression ?? "none";
  const range = COMPRESSION_LEVELS[name];
  if (range === undefined) {
    const leveled = Object.entries(COMPRESSION_LEVELS)
      .map(([codec, r]) => `${codec} (${r.min} to ${r.max})`)
      .join(" and ");
    throw new TypeError(
      `${context}: "compressionLevel" applies to ${leveled}, but "compression" is ${
        JSON.stringify(name)
      }; leave compressionLevel out for ${name}`,
    );
  }
  if (
    typeof level !== "number" || !Number.isInteger(level) ||
    level < range.min || level > range.max
  ) {
    let shown: string;
    try {
      shown = typeof level === "number"
        ? String(level)
        : `${JSON.stringify(level) ?? String(level)} (${typeof level})`;
    } catch {
      shown = `${String(level)} (${typeof level})`; // a bigint
    }
    // Without a level, gzip is the client's own deflate, not zlib's level 6.
    const without = name === "gzip"
      ? "leave it out for the client's own deflate, about as small as level 6"
      : `default ${range.default}`;
    const Kind = typeof level === "number" ? RangeError : TypeError;
    throw new Kind(
      `${context}: "compressionLevel" for ${name} must be an integer from ${range.min} to ${range.max} (${without}), got ${shown}`,
    );
  }
}

/** The compression of record batches: the `compression` option's values. */
export type CompressionName = "none" | "gzip" | "snappy" | "lz4" | "zstd";

const NAMES: readonly CompressionName[] = [
  "none",
  "gzip",
  "snappy",
  "lz4",
  "zstd",
];

const loaded = new Map<number, Codec>();
const loading = new Map<number, Promise<Codec>>();

/**
 * One module per codec, imported on first use: WASM and its compilation cost
 * nothing until a batch needs them.
 */
const IMPORTS: Record<number, () => Promise<Codec>> = {
  1: async () => (await import("./gzip.ts")).gzip,
  2: async () => (await import("./snappy.ts")).loadSnappy(),
  3: async () => (await import("./lz4.ts")).loadLz4(),
  4: async () => (await import("./zstd.ts")).loadZstd(),
};

/** Registers a codec (tests and users may replace one). */
export function registerCodec(codec: Codec): void {
  loaded.set(codec.id, codec);
}

/** The id of a codec name, or a RangeError naming the value. */
export function compressionId(name: CompressionName | number): number {
  if (typeof name === "number" && NAMES[name] !== undefined) return name;
  const id = NAMES.indexOf(name as CompressionName);
  if (id < 0) {
    throw new RangeError(
      `"compression" must be one of ${
        NAMES.map((n) => JSON.stringify(n)).join(", ")
      }, got ${JSON.stringify(name) ?? String(name)}`,
    );
  }
  return id;
}

/**
 * The codec for an id, loading its implementation on first use so that
 * importing the package stays cheap.
 */
export async function loadCodec(id: number): Promise<Codec> {
  const codec = loaded.get(id);
  if (codec) return codec;
  const load = IMPORTS[id];
  if (load === undefined) {
    throw new RangeError(`Unknown compression codec id ${id}`);
  }
  // Concurrent first uses share one load; a failed one may be retried.
  let pending = loading.get(id);
  if (!pending) {
    pending = importCodec(id, load).finally(() => loading.delete(id));
    loading.set(id, pending);
  }
  return await pending;
}

/**
 * Decompresses a batch's records with the codec of `id`, loaded on first
 * use: what reading fetched records needs (`ReadRecordsOptions.decompress`).
 */
export async function decompressWith(
  id: number,
  data: Uint8Array,
): Promise<Uint8Array> {
  return (await loadCodec(id)).decompress(data);
}

async function importCodec(
  id: number,
  load: () => Promise<Codec>,
): Promise<Codec> {
  let codec: Codec;
  try {
    codec = await load();
  } catch (error) {
    throw new Error(
      `Cannot load compression codec "${NAMES[id]}": ${
        (error as Error).message
      }`,
      { cause: error },
    );
  }
  // A codec registered while this one loaded wins.
  if (!loaded.has(id)) loaded.set(id, codec);
  return loaded.get(id)!;
}
