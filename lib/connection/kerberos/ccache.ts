/**
 * Credential caches in the MIT file format (versions 3 and 4, what `kinit`
 * writes to /tmp/krb5cc_<uid> or the file KRB5CCNAME names): the default
 * principal and the tickets, each with its session key, so a client can use
 * the ticket-granting ticket of a `kinit` session instead of a password or
 * keytab.
 *
 * @module
 */

import type { EncryptionKey } from "./crypto.ts";

/** A principal as a cache records it. */
export interface CachePrincipal {
  readonly realm: string;
  readonly parts: readonly string[];
}

/** One ticket of a cache. */
export interface CacheCredential {
  readonly client: CachePrincipal;
  readonly server: CachePrincipal;
  readonly key: EncryptionKey;
  readonly authTime: Date;
  /** When it became valid (authTime when the cache says 0). */
  readonly startTime: Date;
  readonly endTime: Date;
  /** The ticket, as the KDC encoded it. */
  readonly ticket: Uint8Array;
}

/** What a cache holds. */
export interface CredentialCache {
  readonly principal: CachePrincipal;
  readonly credentials: readonly CacheCredential[];
}

const text = new TextDecoder();

/** "alice@EXAMPLE.COM". */
export function principalText(p: CachePrincipal): string {
  return `${p.parts.join("/")}@${p.realm}`;
}

/**
 * Reads a credential cache file's bytes. Throws a TypeError saying what is
 * wrong when they are not a version 3 or 4 cache. Configuration entries
 * (server realm "X-CACHECONF:") are left out.
 */
export function readCredentialCache(bytes: Uint8Array): CredentialCache {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let at = 0;
  const need = (n: number) => {
    if (at + n > bytes.length) {
      throw new TypeError(
        `Cannot read the credential cache: it ends at byte ${bytes.length}, inside an entry`,
      );
    }
  };
  const u8 = () => (need(1), bytes[at++]);
  const u16 = () => (need(2), at += 2, view.getUint16(at - 2));
  const u32 = () => (need(4), at += 4, view.getUint32(at - 4));
  const data = () => {
    const n = u32();
    need(n);
    at += n;
    return bytes.subarray(at - n, at);
  };
  const principal = (): CachePrincipal => {
    u32(); // name type
    const count = u32();
    const realm = text.decode(data());
    const parts: string[] = [];
    for (let i = 0; i < count; i++) parts.push(text.decode(data()));
    return { realm, parts };
  };
  const version = bytes.length >= 2 ? view.getUint16(0) : 0;
  if (version !== 0x0503 && version !== 0x0504) {
    throw new TypeError(
      `Cannot read the credential cache: it must start with 0x0503 or 0x0504 (an MIT file cache, version 3 or 4), got ${
        bytes.length < 2
          ? `${bytes.length} bytes`
          : `0x${version.toString(16).padStart(4, "0")}`
      }`,
    );
  }
  at = 2;
  if (version === 0x0504) {
    const headerLength = u16();
    need(headerLength);
    at += headerLength; // tags, such as the KDC time offset
  }
  const cachePrincipal = principal();
  const credentials: CacheCredential[] = [];
  while (at < bytes.length) {
    const client = principal();
    const server = principal();
    const keyType = u16();
    if (version === 0x0503) u16(); // the type, written twice in version 3
    const key = { type: keyType, value: data().slice() };
    const seconds = () => new Date(u32() * 1000);
    const authTime = seconds();
    const startTime = seconds();
    const endTime = seconds();
    seconds(); // renew till
    u8(); // is_skey
    u32(); // ticket flags
    for (let n = u32(), i = 0; i < n; i++) (u16(), data()); // addresses
    for (let n = u32(), i = 0; i < n; i++) (u16(), data()); // authorization data
    const ticket = data().slice();
    data(); // second ticket
    if (server.realm === "X-CACHECONF:") continue;
    credentials.push({
      client,
      server,
      key,
      authTime,
      startTime: startTime.getTime() === 0 ? authTime : startTime,
      endTime,
      ticket,
    });
  }
  return { principal: cachePrincipal, credentials };
}
