/**
 * xxHash32, which the LZ4 frame format uses for its header checksum and its
 * optional block and content checksums. Written from the xxHash specification
 * (github.com/Cyan4973/xxHash, doc/xxhash_spec.md).
 *
 * @module
 */

const PRIME1 = 0x9e3779b1;
const PRIME2 = 0x85ebca77;
const PRIME3 = 0xc2b2ae3d;
const PRIME4 = 0x27d4eb2f;
const PRIME5 = 0x165667b1;

/** The xxHash32 of `data[start, end)` as an unsigned 32-bit number. */
export function xxhash32(
  data: Uint8Array,
  seed = 0,
  start = 0,
  end = data.length,
): number {
  let pos = start;
  let acc: number;
  if (end - start >= 16) {
    let v1 = (seed + PRIME1 + PRIME2) | 0;
    let v2 = (seed + PRIME2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - PRIME1) | 0;
    const limit = end - 16;
    while (pos <= limit) {
      v1 = round(v1, read32(data, pos));
      v2 = round(v2, read32(data, pos + 4));
      v3 = round(v3, read32(data, pos + 8));
      v4 = round(v4, read32(data, pos + 12));
      pos += 16;
    }
    acc = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
  } else {
    acc = seed + PRIME5;
  }
  acc = (acc + (end - start)) | 0;
  while (pos + 4 <= end) {
    acc = Math.imul(
      rotl(acc + Math.imul(read32(data, pos), PRIME3), 17),
      PRIME4,
    );
    pos += 4;
  }
  while (pos < end) {
    acc = Math.imul(rotl(acc + Math.imul(data[pos], PRIME5), 11), PRIME1);
    pos++;
  }
  acc ^= acc >>> 15;
  acc = Math.imul(acc, PRIME2);
  acc ^= acc >>> 13;
  acc = Math.imul(acc, PRIME3);
  acc ^= acc >>> 16;
  return acc >>> 0;
}

function round(acc: number, lane: number): number {
  return Math.imul(rotl(acc + Math.imul(lane, PRIME2), 13), PRIME1);
}

function rotl(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}

function read32(data: Uint8Array, pos: number): number {
  return data[pos] | (data[pos + 1] << 8) | (data[pos + 2] << 16) |
    (data[pos + 3] << 24);
}
