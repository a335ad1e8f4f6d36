/**
 * Compression codecs behind one small interface. The id is the one stored in
 * the low bits of a record batch's attributes.
 *
 * @module
 */

/** A compression codec in Kafka's framing for its id. */
export interface Codec {
  readonly id: number;
  readonly name: CompressionName;
  compress(data: Uint8Array): Uint8Array;
  decompress(data: Uint8Array): Uint8Array;
}

export type CompressionName = "none" | "gzip" | "snappy" | "lz4" | "zstd";

const NAMES: readonly CompressionName[] = [
  "none",
  "gzip",
  "snappy",
  "lz4",
  "zstd",
];

const loaded = new Map<number, Codec>();

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
      `Unknown compression: expected one of ${NAMES.join(", ")}, got ${
        JSON.stringify(name)
      }`,
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
  const name = NAMES[id];
  if (name === undefined || name === "none") {
    throw new RangeError(`Unknown compression codec id ${id}`);
  }
  throw new Error(`Compression codec "${name}" is not supported yet`);
}

/** The codec for an id if it is already loaded (sync hot paths). */
export function loadedCodec(id: number): Codec | undefined {
  return loaded.get(id);
}
