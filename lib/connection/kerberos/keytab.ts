/**
 * Keytab files (the MIT format, version 0x502, that `kadmin ktadd`,
 * `ktutil` and Java's tools write): a principal's long-term keys, so a
 * service or a batch job authenticates without a password.
 *
 * @module
 */

import type { EncryptionKey } from "./crypto.ts";

/** One key of a keytab. */
export interface KeytabEntry {
  /** The principal, "alice@EXAMPLE.COM" or "kafka/host@EXAMPLE.COM". */
  readonly principal: string;
  /** The key version number. */
  readonly kvno: number;
  /** The key. */
  readonly key: EncryptionKey;
}

const text = new TextDecoder();

/**
 * Reads the entries of a keytab. Throws a TypeError naming what is wrong
 * when `bytes` is not a version 0x502 keytab.
 */
export function readKeytab(bytes: Uint8Array): KeytabEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (bytes.length < 2 || bytes[0] !== 5 || bytes[1] !== 2) {
    throw new TypeError(
      `Cannot read the keytab: it must start with 0x0502 (an MIT keytab, version 2), got ${
        bytes.length < 2
          ? `${bytes.length} bytes`
          : `0x${(bytes[0] << 8 | bytes[1]).toString(16).padStart(4, "0")}`
      }`,
    );
  }
  const entries: KeytabEntry[] = [];
  let at = 2;
  const need = (n: number, end: number) => {
    if (at + n > end) {
      throw new TypeError(
        `Cannot read the keytab: the entry at byte ${at} is truncated`,
      );
    }
  };
  while (at + 4 <= bytes.length) {
    const size = view.getInt32(at);
    at += 4;
    // MIT's writer ends the file with a zero length (and may leave zeros
    // after it).
    if (size === 0) break;
    if (size < 0) {
      at += -size; // a hole left by a deleted entry
      continue;
    }
    const end = at + size;
    if (end > bytes.length) need(size, bytes.length);
    const counted = () => {
      need(2, end);
      const n = view.getUint16(at);
      at += 2;
      need(n, end);
      const s = text.decode(bytes.subarray(at, at + n));
      at += n;
      return s;
    };
    need(2, end);
    const components = view.getUint16(at);
    at += 2;
    const realm = counted();
    const parts: string[] = [];
    for (let i = 0; i < components; i++) parts.push(counted());
    need(4 + 4 + 1 + 2 + 2, end);
    at += 4; // name type
    at += 4; // timestamp
    let kvno = bytes[at];
    at += 1;
    const type = view.getUint16(at);
    at += 2;
    const length = view.getUint16(at);
    at += 2;
    need(length, end);
    const value = bytes.slice(at, at + length);
    at += length;
    // A 32-bit key version follows in newer files; it wins over the byte,
    // unless it is 0 (as MIT reads it).
    if (end - at >= 4 && view.getUint32(at) !== 0) kvno = view.getUint32(at);
    at = end;
    entries.push({
      principal: `${parts.join("/")}@${realm}`,
      kvno,
      key: { type, value },
    });
  }
  return entries;
}
