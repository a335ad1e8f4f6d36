/**
 * The password mechanisms: PLAIN (RFC 4616) and SCRAM-SHA-256/512
 * (RFC 5802), as SaslAuthenticators. Hashing uses WebCrypto.
 *
 * @module
 */

import { describeValue } from "../options.ts";
import type { SaslAuthenticator, SaslExchange } from "./sasl.ts";

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** The bytes of a PLAIN message: authorization id (none), user, password. */
export function plainMessage(username: string, password: string): Uint8Array {
  return utf8.encode(`\u0000${username}\u0000${password}`);
}

/**
 * Throws a TypeError naming the argument of `factory` unless `username` is
 * a non-empty string and `password` a string: anything else would be sent
 * as text ("undefined") and refused by the broker as bad credentials.
 */
function checkCredentials(
  factory: string,
  username: unknown,
  password: unknown,
): void {
  if (typeof username !== "string" || username === "") {
    throw new TypeError(
      `Cannot use SASL: ${factory}()'s "username" must be a non-empty string, got ${
        describeValue(username)
      }`,
    );
  }
  if (typeof password !== "string") {
    throw new TypeError(
      `Cannot use SASL: ${factory}()'s "password" must be a string, got ${
        password === undefined || password === null
          ? String(password)
          : typeof password
      }`,
    );
  }
}

/**
 * SASL PLAIN: the user name and password, sent as they are (use TLS).
 *
 * @example
 * ```ts
 * import { plain } from "./sasl_scram.ts";
 *
 * const sasl = plain("alice", "alice-secret");
 * console.log(sasl.mechanism); // PLAIN
 * ```
 */
export function plain(username: string, password: string): SaslAuthenticator {
  checkCredentials("plain", username, password);
  return {
    mechanism: "PLAIN",
    begin: () => ({
      start: () => plainMessage(username, password),
      next: () => null,
    }),
  };
}

/**
 * SASL SCRAM-SHA-256 or SCRAM-SHA-512: the password is proven without
 * being sent, and the broker proves it knows it too.
 *
 * @example
 * ```ts
 * import { scram } from "./sasl_scram.ts";
 *
 * const sasl = scram("SCRAM-SHA-512", "alice", "alice-secret");
 * console.log(sasl.mechanism); // SCRAM-SHA-512
 * ```
 */
export function scram(
  mechanism: "SCRAM-SHA-256" | "SCRAM-SHA-512",
  username: string,
  password: string,
): SaslAuthenticator {
  if (mechanism !== "SCRAM-SHA-256" && mechanism !== "SCRAM-SHA-512") {
    throw new TypeError(
      `Cannot use SASL: scram(mechanism, ...) takes "SCRAM-SHA-256" or "SCRAM-SHA-512", got ${
        describeValue(mechanism)
      }`,
    );
  }
  checkCredentials("scram", username, password);
  return {
    mechanism,
    begin: () => scramExchange(mechanism, username, password, ""),
  };
}

/**
 * A delegation token (KIP-48), as `Client.createDelegationToken` gives it,
 * or its id and HMAC from wherever they were handed over.
 */
export interface DelegationTokenCredentials {
  /** The token's id: the SCRAM user name. */
  tokenId: string;
  /** The token's HMAC: its base64 is the SCRAM password. */
  hmac: Uint8Array;
}

/**
 * SASL SCRAM with a delegation token (KIP-48) instead of a user's password:
 * the token's id as the user, its HMAC (base64) as the password, and the
 * `tokenauth=true` extension, so the broker checks it against its tokens.
 * The connection acts as the token's owner. Works with either SCRAM
 * mechanism the broker enables (SCRAM-SHA-256 by default, as in Kafka's
 * documentation).
 *
 * @example
 * ```ts
 * import { delegationToken } from "./sasl_scram.ts";
 *
 * const sasl = delegationToken({ tokenId: "Yh3k...", hmac: new Uint8Array(64) });
 * console.log(sasl.mechanism); // SCRAM-SHA-256
 * ```
 */
export function delegationToken(
  token: DelegationTokenCredentials,
  mechanism: "SCRAM-SHA-256" | "SCRAM-SHA-512" = "SCRAM-SHA-256",
): SaslAuthenticator {
  if (
    token === null || typeof token !== "object" ||
    typeof token.tokenId !== "string" || token.tokenId === "" ||
    !(token.hmac instanceof Uint8Array) || token.hmac.length === 0
  ) {
    throw new TypeError(
      `Cannot use a delegation token: "token" must be { tokenId, hmac } (a non-empty string and Uint8Array), as createDelegationToken gives it, got ${
        token === null || typeof token !== "object"
          ? String(token)
          : `{ tokenId: ${typeof token.tokenId}, hmac: ${
            token.hmac?.constructor?.name ?? typeof token.hmac
          } }`
      }`,
    );
  }
  if (mechanism !== "SCRAM-SHA-256" && mechanism !== "SCRAM-SHA-512") {
    throw new TypeError(
      `Cannot use a delegation token: "mechanism" must be "SCRAM-SHA-256" or "SCRAM-SHA-512", got ${
        JSON.stringify(mechanism)
      }`,
    );
  }
  const password = base64(token.hmac);
  return {
    mechanism,
    begin: () =>
      scramExchange(mechanism, token.tokenId, password, ",tokenauth=true"),
    whenRefused:
      `Check delegation token ${token.tokenId}: it may have expired or been expired (describeDelegationTokens lists the live ones), or belong to another cluster`,
  };
}

/**
 * One SCRAM exchange: client-first, client-final, then the server's proof.
 * `extensions` ("" or ",name=value...") close the client-first message
 * (RFC 5802's extensions, which Kafka reads after the nonce).
 */
function scramExchange(
  mechanism: "SCRAM-SHA-256" | "SCRAM-SHA-512",
  username: string,
  password: string,
  extensions: string,
): SaslExchange {
  const hash = mechanism === "SCRAM-SHA-512" ? "SHA-512" : "SHA-256";
  const clientNonce = randomNonce();
  const clientFirstBare = `n=${
    saslName(username)
  },r=${clientNonce}${extensions}`;
  let serverSignature: string | null = null;
  return {
    start: () => utf8.encode(`n,,${clientFirstBare}`),
    async next(answer) {
      if (serverSignature !== null) {
        checkServerFinal(text.decode(answer), serverSignature);
        return null;
      }
      const serverFirst = text.decode(answer);
      const { nonce, salt, iterations } = parseServerFirst(
        serverFirst,
        clientNonce,
      );
      const proof = await scramProof({
        hash,
        password,
        salt,
        iterations,
        authMessage: `${clientFirstBare},${serverFirst},c=biws,r=${nonce}`,
      });
      serverSignature = proof.serverSignature;
      return utf8.encode(`c=biws,r=${nonce},p=${proof.clientProof}`);
    },
  };
}

function saslName(name: string): string {
  return name.replaceAll("=", "=3D").replaceAll(",", "=2C");
}

function randomNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return base64(bytes).replaceAll("=", "");
}

function parseServerFirst(
  message: string,
  clientNonce: string,
): { nonce: string; salt: Uint8Array; iterations: number } {
  const fields = parseFields(message);
  const nonce = fields.get("r") ?? "";
  const iterations = Number(fields.get("i"));
  if (!nonce.startsWith(clientNonce) || nonce === clientNonce) {
    throw new Error(
      `SCRAM authentication failed: the server's nonce does not extend ours`,
    );
  }
  if (!fields.has("s") || !Number.isInteger(iterations) || iterations < 1) {
    throw new Error(
      `SCRAM authentication failed: malformed server-first message "${message}"`,
    );
  }
  // Kafka's brokers use 4096 to 16384. Fewer would make the proof sent
  // next cheap to guess the password from offline (a peer posing as a
  // broker asks for 1), as Java's client refuses them too.
  if (iterations < MIN_ITERATIONS) {
    throw new Error(
      `SCRAM authentication failed: the server asks for ${iterations} PBKDF2 iterations; fewer than ${MIN_ITERATIONS} are refused (Kafka uses 4096 to 16384), and no proof was sent: check that the address is your broker's`,
    );
  }
  // A count far above that is a peer making the client spend minutes of
  // CPU that no timeout can stop.
  if (iterations > MAX_ITERATIONS) {
    throw new Error(
      `SCRAM authentication failed: the server asks for ${iterations} PBKDF2 iterations; more than ${MAX_ITERATIONS} are refused (Kafka uses at most 16384)`,
    );
  }
  return { nonce, salt: fromBase64(fields.get("s")!), iterations };
}

/** The fewest PBKDF2 iterations a server may ask for (Kafka's and Java's). */
const MIN_ITERATIONS = 4096;

/** The most PBKDF2 iterations a server may ask for (Kafka's limit is 16384). */
const MAX_ITERATIONS = 1_000_000;

function parseFields(message: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const part of message.split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return fields;
}

interface ProofInput {
  hash: "SHA-256" | "SHA-512";
  password: string;
  salt: Uint8Array;
  iterations: number;
  authMessage: string;
}

/**
 * RFC 5802's SaltedPassword, Hi(Normalize(password), salt, i): PBKDF2 with
 * HMAC-`hash`, as the broker stores it (AlterUserScramCredentials).
 */
export async function saltedPassword(
  hash: "SHA-256" | "SHA-512",
  password: string,
  salt: Uint8Array,
  iterations: number,
): Promise<Uint8Array> {
  const passwordKey = await crypto.subtle.importKey(
    "raw",
    utf8.encode(password.normalize("NFKC")),
    "PBKDF2",
    false,
    ["deriveBits"],
  );
  return new Uint8Array(
    await crypto.subtle.deriveBits(
      {
        name: "PBKDF2",
        hash,
        salt: salt as Uint8Array<ArrayBuffer>,
        iterations,
      },
      passwordKey,
      hash === "SHA-512" ? 512 : 256,
    ),
  );
}

/** RFC 5802 section 3: the client proof and the expected server signature. */
export async function scramProof(
  input: ProofInput,
): Promise<{ clientProof: string; serverSignature: string }> {
  const salted = await saltedPassword(
    input.hash,
    input.password,
    input.salt,
    input.iterations,
  );
  const clientKey = await hmac(input.hash, salted, "Client Key");
  const storedKey = new Uint8Array(
    await crypto.subtle.digest(
      input.hash,
      clientKey as Uint8Array<ArrayBuffer>,
    ),
  );
  const clientSignature = await hmac(input.hash, storedKey, input.authMessage);
  const proof = clientKey.map((byte, i) => byte ^ clientSignature[i]);
  const serverKey = await hmac(input.hash, salted, "Server Key");
  const serverSignature = await hmac(input.hash, serverKey, input.authMessage);
  return {
    clientProof: base64(proof),
    serverSignature: base64(serverSignature),
  };
}

async function hmac(
  hash: string,
  key: Uint8Array,
  message: string,
): Promise<Uint8Array> {
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    key as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash },
    false,
    ["sign"],
  );
  return new Uint8Array(
    await crypto.subtle.sign("HMAC", cryptoKey, utf8.encode(message)),
  );
}

function checkServerFinal(message: string, expected: string): void {
  const fields = parseFields(message);
  if (fields.has("e")) {
    throw new Error(`SCRAM authentication failed: ${fields.get("e")}`);
  }
  if (fields.get("v") !== expected) {
    throw new Error(
      `SCRAM authentication failed: the server's signature does not match; the broker may not know this password`,
    );
  }
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function fromBase64(encoded: string): Uint8Array {
  const binary = atob(encoded);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
