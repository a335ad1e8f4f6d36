/**
 * What the codec modules share: the cap on decompressed sizes and the way a
 * library's error gets the codec's name.
 *
 * @module
 */

/**
 * No batch decompresses to more than this. Kafka batches are a few MiB at
 * most, so a larger result means a broken or hostile payload, and a length
 * read from one must never size an allocation.
 */
export const MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;

/** An Error that names the codec, keeping the library's error as the cause. */
export function codecError(codec: string, error: unknown): Error {
  if (error instanceof Error && error.message.startsWith(`${codec}: `)) {
    return error;
  }
  const message = error instanceof Error ? error.message : String(error);
  return new Error(`${codec}: ${message}`, { cause: error });
}

/** A plain Uint8Array view of a Node.js Buffer (whose `slice` shares memory). */
export function plainBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Promisifies a `node:zlib` callback call into plain bytes. */
export function zlibAsync(
  call: (callback: (error: Error | null, result: Uint8Array) => void) => void,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    call((error, result) => {
      if (error) reject(error);
      else resolve(plainBytes(result));
    });
  });
}

/** `parts` (of `total` bytes in all) as one array; a lone part as it is. */
export function concatBytes(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let pos = 0;
  for (const part of parts) {
    out.set(part, pos);
    pos += part.length;
  }
  return out;
}
