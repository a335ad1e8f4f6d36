/**
 * Kerberos encryption for the AES types on WebCrypto:
 * aes128-cts-hmac-sha1-96 (17) and aes256-cts-hmac-sha1-96 (18) as RFC 3961
 * and RFC 3962 define them (keys derived with n-fold and DK, HMAC-SHA1-96),
 * and aes128-cts-hmac-sha256-128 (19) and aes256-cts-hmac-sha384-192 (20)
 * from RFC 8009 (keys derived with HMAC-SHA2, the MAC over the ciphertext):
 * keys from passwords (PBKDF2), keys per use, encryption with a confounder,
 * checksums.
 *
 * WebCrypto has AES only as CBC with padding, so single blocks and
 * ciphertext stealing are built from it: CBC's output without the padding
 * block, and decryption given a last block that decrypts to valid padding.
 *
 * @module
 */

/** An encryption type this client speaks. */
export type EncryptionType = 17 | 18 | 19 | 20;

/**
 * The types offered to a KDC, in preference order: the SHA-1 ones first,
 * which every KDC and broker of the last twenty years has, then RFC 8009's
 * (FreeIPA and FIPS-mode realms may have only those).
 */
export const ENCRYPTION_TYPES: readonly EncryptionType[] = [18, 17, 20, 19];

/** A Kerberos key: its type and bytes. */
export interface EncryptionKey {
  /** 17 to 20. */
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

/** The types this client speaks, by name, for messages. */
export const SUPPORTED_NAMES: string = ENCRYPTION_TYPES.map(encryptionTypeName)
  .join(", ");

/** Whether this client can use a key of `type`. */
export function isSupported(type: number): type is EncryptionType {
  return type === 17 || type === 18 || type === 19 || type === 20;
}

/** What differs between the four types. */
interface Profile {
  /** Key bytes. */
  readonly keyBytes: 16 | 32;
  /** MAC and checksum bytes. */
  readonly macBytes: 12 | 16 | 24;
  /** The hash of PBKDF2 and HMAC. */
  readonly hash: "SHA-1" | "SHA-256" | "SHA-384";
  /** RFC 8009 (KDF-HMAC-SHA2, MAC over the ciphertext) or RFC 3962. */
  readonly sha2: boolean;
  /** The checksum type that goes with it. */
  readonly checksumType: number;
  /** PBKDF2 iterations when the KDC names none. */
  readonly iterations: number;
}

const PROFILES: Record<EncryptionType, Profile> = {
  17: {
    keyBytes: 16,
    macBytes: 12,
    hash: "SHA-1",
    sha2: false,
    checksumType: 15,
    iterations: 4096,
  },
  18: {
    keyBytes: 32,
    macBytes: 12,
    hash: "SHA-1",
    sha2: false,
    checksumType: 16,
    iterations: 4096,
  },
  19: {
    keyBytes: 16,
    macBytes: 16,
    hash: "SHA-256",
    sha2: true,
    checksumType: 19,
    iterations: 32768,
  },
  20: {
    keyBytes: 32,
    macBytes: 24,
    hash: "SHA-384",
    sha2: true,
    checksumType: 20,
    iterations: 32768,
  },
};

function profile(type: number): Profile {
  if (!isSupported(type)) {
    throw new TypeError(
      `Kerberos: ${
        encryptionTypeName(type)
      } is not supported (this client speaks ${SUPPORTED_NAMES})`,
    );
  }
  return PROFILES[type];
}

/** The checksum type that goes with an encryption type (RFC 3962, 8009). */
export function checksumType(type: number): number {
  return profile(type).checksumType;
}

/** The bytes of a checksum or MAC made with a key of `type`. */
export function macLength(type: number): number {
  return profile(type).macBytes;
}

const BLOCK = 16;
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
 * KDF-HMAC-SHA2(key, label, k) of RFC 8009: the first `bits` bits of
 * HMAC(key, 00000001 | label | 00 | bits as 32 bits).
 */
export async function kdfHmacSha2(
  hash: "SHA-256" | "SHA-384",
  raw: Uint8Array,
  label: Uint8Array,
  bits: number,
): Promise<Uint8Array> {
  const input = new Uint8Array(4 + label.length + 1 + 4);
  const view = new DataView(input.buffer);
  view.setUint32(0, 1);
  input.set(label, 4);
  view.setUint32(4 + label.length + 1, bits);
  return (await hmac(hash, raw, input)).slice(0, bits / 8);
}

/**
 * The key of a password. RFC 3962: PBKDF2-HMAC-SHA1 of the password and
 * salt (by default the realm then the name's parts, no separators), then
 * DK(that, "kerberos"). RFC 8009: PBKDF2 with SHA-256 or SHA-384 over the
 * type's name, a zero byte and the salt, then KDF-HMAC-SHA2(that,
 * "kerberos"). `iterations` comes from the KDC's s2kparams (4096 and
 * 32768 when it gives none).
 */
export async function stringToKey(
  type: EncryptionType,
  password: string,
  salt: string | Uint8Array,
  iterations?: number,
): Promise<EncryptionKey> {
  const p = profile(type);
  const utf8 = new TextEncoder();
  const saltBytes = typeof salt === "string" ? utf8.encode(salt) : salt;
  const base = await subtle.importKey(
    "raw",
    utf8.encode(password),
    "PBKDF2",
    false,
    ["deriveBits"],
  );
  let saltp = saltBytes;
  if (p.sha2) {
    const name = utf8.encode(encryptionTypeName(type));
    saltp = new Uint8Array(name.length + 1 + saltBytes.length);
    saltp.set(name);
    saltp.set(saltBytes, name.length + 1);
  }
  const bits = new Uint8Array(
    await subtle.deriveBits(
      {
        name: "PBKDF2",
        hash: p.hash,
        salt: saltp as Uint8Array<ArrayBuffer>,
        iterations: iterations ?? p.iterations,
      },
      base,
      p.keyBytes * 8,
    ),
  );
  const kerberos = utf8.encode("kerberos");
  const value = p.sha2
    ? await kdfHmacSha2(
      p.hash as "SHA-256" | "SHA-384",
      bits,
      kerberos,
      p.keyBytes * 8,
    )
    : await deriveKey(bits, kerberos);
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

/**
 * The key of `key` for `usage` and `kind`: encryption (0xaa), integrity
 * (0x55) or checksum (0x99).
 */
export async function usageKey(
  key: EncryptionKey,
  usage: number,
  kind: 0x99 | 0xaa | 0x55,
): Promise<Uint8Array> {
  const p = profile(key.type);
  if (key.value.length !== p.keyBytes) {
    throw new IntegrityError(
      `a ${
        encryptionTypeName(key.type)
      } key has ${p.keyBytes} bytes, not ${key.value.length}`,
    );
  }
  const constant = usageConstant(usage, kind);
  if (!p.sha2) return await deriveKey(key.value, constant);
  const bits = kind === 0xaa ? p.keyBytes * 8 : p.macBytes * 8;
  return await kdfHmacSha2(
    p.hash as "SHA-256" | "SHA-384",
    key.value,
    constant,
    bits,
  );
}

async function hmac(
  hash: "SHA-1" | "SHA-256" | "SHA-384",
  raw: Uint8Array,
  data: Uint8Array,
): Promise<Uint8Array> {
  const key = await subtle.importKey(
    "raw",
    raw as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash },
    false,
    ["sign"],
  );
  return new Uint8Array(
    await subtle.sign("HMAC", key, data as Uint8Array<ArrayBuffer>),
  );
}

// ---------------------------------------------------------------------------
// Encryption and checksums (RFC 3961 section 5.3, RFC 8009 section 5)

/**
 * Encrypts `plain` for `usage`: a random confounder block before it,
 * AES-CTS with the usage's encryption key, then a MAC with its integrity
 * key: over confounder and plaintext (RFC 3962), or over a zero IV and the
 * ciphertext (RFC 8009).
 */
export async function encrypt(
  key: EncryptionKey,
  usage: number,
  plain: Uint8Array,
  confounder?: Uint8Array,
): Promise<Uint8Array> {
  const p = profile(key.type);
  const ke = await usageKey(key, usage, 0xaa);
  const ki = await usageKey(key, usage, 0x55);
  const data = new Uint8Array(BLOCK + plain.length);
  if (confounder) data.set(confounder);
  else globalThis.crypto.getRandomValues(data.subarray(0, BLOCK));
  data.set(plain, BLOCK);
  const cipher = await ctsEncrypt(ke, data);
  const macInput = p.sha2 ? withZeroIv(cipher) : data;
  const mac = (await hmac(p.hash, ki, macInput)).subarray(0, p.macBytes);
  const out = new Uint8Array(cipher.length + p.macBytes);
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
  const p = profile(key.type);
  if (cipher.length < BLOCK + p.macBytes) {
    throw new IntegrityError(
      `ciphertext of ${cipher.length} bytes is too short`,
    );
  }
  const ke = await usageKey(key, usage, 0xaa);
  const ki = await usageKey(key, usage, 0x55);
  const body = cipher.subarray(0, cipher.length - p.macBytes);
  const given = cipher.subarray(cipher.length - p.macBytes);
  let data: Uint8Array | undefined;
  if (p.sha2) {
    // Encrypt-then-MAC: checked before anything is decrypted.
    const mac = await hmac(p.hash, ki, withZeroIv(body));
    if (!sameMac(mac, given)) throw integrityFailed();
    data = await ctsDecrypt(ke, body);
  } else {
    data = await ctsDecrypt(ke, body);
    if (!sameMac(await hmac(p.hash, ki, data), given)) throw integrityFailed();
  }
  return data.subarray(BLOCK);
}

/** The checksum of `data` for `usage` with `key` (types 15, 16, 19, 20). */
export async function checksum(
  key: EncryptionKey,
  usage: number,
  data: Uint8Array,
): Promise<Uint8Array> {
  const p = profile(key.type);
  const kc = await usageKey(key, usage, 0x99);
  return (await hmac(p.hash, kc, data)).subarray(0, p.macBytes);
}

/** A zero IV block, then `cipher`: what RFC 8009's MAC covers. */
function withZeroIv(cipher: Uint8Array): Uint8Array {
  const out = new Uint8Array(BLOCK + cipher.length);
  out.set(cipher, BLOCK);
  return out;
}

/** Whether `mac` starts with `given` (compared in constant time). */
function sameMac(mac: Uint8Array, given: Uint8Array): boolean {
  let diff = 0;
  for (let i = 0; i < given.length; i++) diff |= mac[i] ^ given[i];
  return diff === 0;
}

function integrityFailed(): IntegrityError {
  return new IntegrityError(
    "the integrity check failed (wrong key, or the data was changed)",
  );
}

/** Random key bytes of `type`. */
export function randomKey(type: EncryptionType): EncryptionKey {
  const value = new Uint8Array(profile(type).keyBytes);
  globalThis.crypto.getRandomValues(value);
  return { type, value };
}
