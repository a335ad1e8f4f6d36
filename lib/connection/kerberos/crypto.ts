/**
 * Kerberos encryption for the AES types, aes128-cts-hmac-sha1-96 (17) and
 * aes256-cts-hmac-sha1-96 (18), as RFC 3961 and RFC 3962 define them, on
 * WebCrypto: keys from passwords (PBKDF2), keys derived per use (n-fold and
 * DK), encryption with a confounder and an HMAC-SHA1-96, checksums.
 *
 * WebCrypto has AES only as CBC with padding, so single blocks and
 * ciphertext stealing are built from it: CBC's output without the padding
 * block, and decryption given a last block that decrypts to valid padding.
 *
 * @module
 */

/** An encryption type this client speaks. */
export type EncryptionType = 17 | 18;

/** The types offered to a KDC, strongest first. */
export const ENCRYPTION_TYPES: readonly EncryptionType[] = [18, 17];

/** A Kerberos key: its type and bytes. */
export interface EncryptionKey {
  /** 17 (AES-128) or 18 (AES-256). */
  readonly type: number;
  /** 16 or 32 bytes. */
  readonly value: Uint8Array;
}

/** The names of encryption types (RFC 3961, 3962, 4757, 8009), for messages. */
const TYPE_NAMES: Record<number, string> = {
  16: "des3-cbc-sha1",
  17: "aes128-cts-hmac-sha1-96",
  18: "aes256-cts-hmac-sha1-96",
  19: "aes128-cts-hmac-sha256-128",
  20: "aes256-cts-hmac-sha384-192",
  23: "rc4-hmac",
  25: "camellia128-cts-cmac",
  26: "camellia256-cts-cmac",
};

/** The name of encryption type `type`, e.g. "aes256-cts-hmac-sha1-96". */
export function encryptionTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `encryption type ${type}`;
}

/** Whether this client can use a key of `type`. */
export function isSupported(type: number): type is EncryptionType {
  return type === 17 || type === 18;
}

/** The key length of `type` in bytes. */
function keyBytes(type: EncryptionType): number {
  return type === 17 ? 16 : 32;
}

/** The checksum type that goes with an encryption type (RFC 3962). */
export function checksumType(type: EncryptionType): number {
  return type === 17 ? 15 : 16;
}

const BLOCK = 16;
const MAC = 12;
const ZERO_IV = new Uint8Array(BLOCK);
const subtle = globalThis.crypto.subtle;

/** A ciphertext that failed its integrity check, or is too short. */
export class IntegrityError extends Error {
  /** An error with `message`. */
  constructor(message: string) {
    super(message);
    this.name = "IntegrityError";
  }
}

// ---------------------------------------------------------------------------
// n-fold (RFC 3961 section 5.1)

/**
 * Stretches or folds `input` to `size` bytes: copies of it, each rotated 13
 * bits further right, laid end to end up to the least common multiple of
 * both lengths, then added in `size`-byte pieces with end-around carry.
 */
export function nfold(input: Uint8Array, size: number): Uint8Array {
  const k = input.length;
  const lcm = (size * k) / gcd(size, k);
  const bits = k * 8;
  const sum = new Array<number>(size).fill(0);
  for (let i = 0; i < lcm; i++) {
    // Byte i of the stream: byte (i % k) of copy floor(i / k), which is the
    // input rotated right by 13 bits per copy before it.
    const copy = Math.floor(i / k);
    const rotation = (13 * copy) % bits;
    const bit = ((i % k) * 8 - rotation + bits) % bits; // first source bit
    let byte = 0;
    for (let b = 0; b < 8; b++) {
      const source = (bit + b) % bits;
      const value = (input[source >> 3] >> (7 - (source & 7))) & 1;
      byte |= value << (7 - b);
    }
    sum[i % size] += byte;
  }
  // The pieces were added bytewise; now carry, with end-around carry, from
  // the last byte to the first until nothing is left over.
  let carry = 0;
  do {
    for (let i = size - 1; i >= 0; i--) {
      const v = sum[i] + carry;
      sum[i] = v & 0xff;
      carry = v >> 8;
    }
  } while (carry > 0);
  return new Uint8Array(sum);
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

// ---------------------------------------------------------------------------
// AES through WebCrypto

function aesKey(raw: Uint8Array): Promise<CryptoKey> {
  return subtle.importKey(
    "raw",
    raw as Uint8Array<ArrayBuffer>,
    { name: "AES-CBC" },
    false,
    ["encrypt", "decrypt"],
  );
}

/** CBC over whole blocks, without WebCrypto's padding block. */
async function cbcEncrypt(
  key: CryptoKey,
  data: Uint8Array,
  iv: Uint8Array = ZERO_IV,
): Promise<Uint8Array> {
  const out = new Uint8Array(
    await subtle.encrypt(
      { name: "AES-CBC", iv: iv as Uint8Array<ArrayBuffer> },
      key,
      data as Uint8Array<ArrayBuffer>,
    ),
  );
  return out.subarray(0, data.length);
}

/**
 * CBC decryption of whole blocks. WebCrypto wants padding at the end, so a
 * block is appended that decrypts to a full padding block: the encryption
 * of the last ciphertext block XOR sixteen 0x10 bytes.
 */
async function cbcDecrypt(
  key: CryptoKey,
  data: Uint8Array,
  iv: Uint8Array = ZERO_IV,
): Promise<Uint8Array> {
  const last = data.subarray(data.length - BLOCK);
  const padded = new Uint8Array(BLOCK);
  for (let i = 0; i < BLOCK; i++) padded[i] = last[i] ^ BLOCK;
  const extra = await cbcEncrypt(key, padded);
  const input = new Uint8Array(data.length + BLOCK);
  input.set(data);
  input.set(extra, data.length);
  return new Uint8Array(
    await subtle.decrypt(
      { name: "AES-CBC", iv: iv as Uint8Array<ArrayBuffer> },
      key,
      input,
    ),
  );
}

/**
 * AES-CTS (CBC-CS3, RFC 3962): CBC over the input padded with zeros to
 * whole blocks, then the last two blocks swapped and the result cut to the
 * input's length. The input is at least one block.
 */
export async function ctsEncrypt(
  raw: Uint8Array,
  plain: Uint8Array,
): Promise<Uint8Array> {
  const key = await aesKey(raw);
  const n = Math.ceil(plain.length / BLOCK);
  const padded = new Uint8Array(n * BLOCK);
  padded.set(plain);
  const c = await cbcEncrypt(key, padded);
  if (n === 1) return c;
  const out = new Uint8Array(plain.length);
  out.set(c.subarray(0, (n - 2) * BLOCK));
  out.set(c.subarray((n - 1) * BLOCK), (n - 2) * BLOCK);
  out.set(
    c.subarray(
      (n - 2) * BLOCK,
      (n - 2) * BLOCK + plain.length - (n - 1) * BLOCK,
    ),
    (n - 1) * BLOCK,
  );
  return out;
}

/** The inverse of `ctsEncrypt`. */
export async function ctsDecrypt(
  raw: Uint8Array,
  cipher: Uint8Array,
): Promise<Uint8Array> {
  const key = await aesKey(raw);
  if (cipher.length === BLOCK) return await cbcDecrypt(key, cipher);
  const n = Math.ceil(cipher.length / BLOCK);
  const d = cipher.length - (n - 1) * BLOCK; // bytes of the last block
  const before = cipher.subarray(0, (n - 2) * BLOCK);
  const lastFull = cipher.subarray((n - 2) * BLOCK, (n - 1) * BLOCK);
  const tail = cipher.subarray((n - 1) * BLOCK);
  // lastFull is the encryption of (the true next-to-last block XOR the
  // zero-padded last plaintext): its decryption gives both back.
  const mixed = await cbcDecrypt(key, lastFull);
  const nextToLast = new Uint8Array(BLOCK);
  nextToLast.set(tail);
  nextToLast.set(mixed.subarray(d), d);
  const chain = new Uint8Array((n - 1) * BLOCK);
  chain.set(before);
  chain.set(nextToLast, (n - 2) * BLOCK);
  const head = await cbcDecrypt(key, chain);
  const out = new Uint8Array(cipher.length);
  out.set(head);
  for (let i = 0; i < d; i++) out[(n - 1) * BLOCK + i] = mixed[i] ^ tail[i];
  return out;
}

// ---------------------------------------------------------------------------
// Keys (RFC 3961 section 5.1, RFC 3962 section 4)

/** DK(key, constant): the key derived from `key` for `constant`. */
export async function deriveKey(
  raw: Uint8Array,
  constant: Uint8Array,
): Promise<Uint8Array> {
  const key = await aesKey(raw);
  const out = new Uint8Array(raw.length);
  let block = nfold(constant, BLOCK);
  for (let at = 0; at < out.length; at += BLOCK) {
    block = await cbcEncrypt(key, block);
    out.set(block.subarray(0, Math.min(BLOCK, out.length - at)), at);
  }
  return out;
}

/**
 * The key of a password: PBKDF2-HMAC-SHA1 of the password and salt (by
 * default the realm then the name's parts, no separators), then
 * DK(that, "kerberos"). `iterations` comes from the KDC's s2kparams
 * (4096 when it gives none).
 */
export async function stringToKey(
  type: EncryptionType,
  password: string,
  salt: string,
  iterations = 4096,
): Promise<EncryptionKey> {
  const base = await subtle.importKey(
    "raw",
    new TextEncoder().encode(password),
    "PBKDF2",
    false,
    ["deriveBits"],
  );
  const bits = await subtle.deriveBits(
    {
      name: "PBKDF2",
      hash: "SHA-1",
      salt: new TextEncoder().encode(salt),
      iterations,
    },
    base,
    keyBytes(type) * 8,
  );
  const value = await deriveKey(
    new Uint8Array(bits),
    new TextEncoder().encode("kerberos"),
  );
  return { type, value };
}

/** The constant of a derived key: the usage number, then its kind. */
function usageConstant(usage: number, kind: 0x99 | 0xaa | 0x55): Uint8Array {
  return new Uint8Array([
    (usage >>> 24) & 0xff,
    (usage >>> 16) & 0xff,
    (usage >>> 8) & 0xff,
    usage & 0xff,
    kind,
  ]);
}

async function hmacSha1(
  raw: Uint8Array,
  data: Uint8Array,
): Promise<Uint8Array> {
  const key = await subtle.importKey(
    "raw",
    raw as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash: "SHA-1" },
    false,
    ["sign"],
  );
  return new Uint8Array(
    await subtle.sign("HMAC", key, data as Uint8Array<ArrayBuffer>),
  );
}

// ---------------------------------------------------------------------------
// Encryption and checksums (RFC 3961 section 5.3, simplified profile)

/**
 * Encrypts `plain` for `usage`: a random confounder block before it, AES-CTS
 * with the usage's encryption key, then an HMAC-SHA1-96 of confounder and
 * plaintext with its integrity key.
 */
export async function encrypt(
  key: EncryptionKey,
  usage: number,
  plain: Uint8Array,
): Promise<Uint8Array> {
  const ke = await deriveKey(key.value, usageConstant(usage, 0xaa));
  const ki = await deriveKey(key.value, usageConstant(usage, 0x55));
  const data = new Uint8Array(BLOCK + plain.length);
  globalThis.crypto.getRandomValues(data.subarray(0, BLOCK));
  data.set(plain, BLOCK);
  const cipher = await ctsEncrypt(ke, data);
  const mac = (await hmacSha1(ki, data)).subarray(0, MAC);
  const out = new Uint8Array(cipher.length + MAC);
  out.set(cipher);
  out.set(mac, cipher.length);
  return out;
}

/** The inverse of `encrypt`; throws an IntegrityError on a wrong key or a changed byte. */
export async function decrypt(
  key: EncryptionKey,
  usage: number,
  cipher: Uint8Array,
): Promise<Uint8Array> {
  if (cipher.length < BLOCK + MAC) {
    throw new IntegrityError(
      `ciphertext of ${cipher.length} bytes is too short`,
    );
  }
  const ke = await deriveKey(key.value, usageConstant(usage, 0xaa));
  const ki = await deriveKey(key.value, usageConstant(usage, 0x55));
  const body = cipher.subarray(0, cipher.length - MAC);
  const data = await ctsDecrypt(ke, body);
  const mac = (await hmacSha1(ki, data)).subarray(0, MAC);
  const given = cipher.subarray(cipher.length - MAC);
  let diff = 0;
  for (let i = 0; i < MAC; i++) diff |= mac[i] ^ given[i];
  if (diff !== 0) {
    throw new IntegrityError(
      "the integrity check failed (wrong key, or the data was changed)",
    );
  }
  return data.subarray(BLOCK);
}

/** The HMAC-SHA1-96 checksum of `data` for `usage` (types 15 and 16). */
export async function checksum(
  key: EncryptionKey,
  usage: number,
  data: Uint8Array,
): Promise<Uint8Array> {
  const kc = await deriveKey(key.value, usageConstant(usage, 0x99));
  return (await hmacSha1(kc, data)).subarray(0, MAC);
}

/** Random key bytes of `type`. */
export function randomKey(type: EncryptionType): EncryptionKey {
  const value = new Uint8Array(keyBytes(type));
  globalThis.crypto.getRandomValues(value);
  return { type, value };
}
