/**
 * SASL authentication on a fresh connection: PLAIN and SCRAM-SHA-256/512
 * (RFC 5802), through SaslHandshake v1 and SaslAuthenticate. Hashing uses
 * WebCrypto, which Deno and Bun both provide.
 *
 * @module
 */

import { throwIfError } from "../protocol/errors.ts";
import { SaslAuthenticate } from "../protocol/messages/sasl_authenticate.ts";
import { SaslHandshake } from "../protocol/messages/sasl_handshake.ts";
import type { BrokerConnection } from "./connection.ts";

/** The SASL mechanisms this client speaks. */
export type SaslMechanism = "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512";

/**
 * SASL credentials, used on every new connection.
 *
 * @example
 * ```ts
 * import { dial, type SaslOptions } from "jsr:@streamkafka/client";
 *
 * const sasl: SaslOptions = {
 *   mechanism: "SCRAM-SHA-512",
 *   username: "alice",
 *   password: "alice-secret",
 * };
 * const conn = await dial("127.0.0.1:9094", { sasl });
 * conn.close();
 * ```
 */
export interface SaslOptions {
  /** How the password is proven: sent as is (PLAIN, use TLS) or SCRAM. */
  mechanism: SaslMechanism;
  /** The user name. */
  username: string;
  /** The password. */
  password: string;
}

const MECHANISMS: readonly string[] = [
  "PLAIN",
  "SCRAM-SHA-256",
  "SCRAM-SHA-512",
];

/** Checks SASL options up front, so a typo fails before any socket opens. */
export function validateSasl(sasl: SaslOptions): void {
  if (!MECHANISMS.includes(sasl.mechanism)) {
    throw new TypeError(
      `Cannot use SASL: "mechanism" must be one of ${
        MECHANISMS.join(", ")
      }, got "${sasl.mechanism}"`,
    );
  }
  if (typeof sasl.username !== "string" || sasl.username === "") {
    throw new TypeError(
      `Cannot use SASL: "username" must be a non-empty string`,
    );
  }
  if (typeof sasl.password !== "string") {
    throw new TypeError(`Cannot use SASL: "password" must be a string`);
  }
}

/** Runs the handshake and the mechanism's exchange; throws on rejection. */
export async function authenticate(
  conn: BrokerConnection,
  sasl: SaslOptions,
  timeout: number,
): Promise<void> {
  validateSasl(sasl);
  const handshake = await conn.request(SaslHandshake, {
    mechanism: sasl.mechanism,
  }, { version: 1, timeout });
  throwIfError(handshake.errorCode, {
    apiName: "SaslHandshake",
    detail: `broker ${conn.address} offers ${
      handshake.mechanisms.join(", ") || "no mechanism"
    }, asked for ${sasl.mechanism}`,
  });
  const exchange = (bytes: Uint8Array) => saslRound(conn, bytes, timeout);
  if (sasl.mechanism === "PLAIN") {
    await exchange(plainMessage(sasl.username, sasl.password));
    return;
  }
  try {
    await scram(sasl, exchange);
  } catch (error) {
    // The exchange's own checks (nonce, signature) do not know the broker.
    if (error instanceof Error && error.message.startsWith("SCRAM")) {
      throw new Error(`Broker ${conn.address}: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }
}

async function saslRound(
  conn: BrokerConnection,
  authBytes: Uint8Array,
  timeout: number,
): Promise<Uint8Array> {
  const response = await conn.request(SaslAuthenticate, { authBytes }, {
    timeout,
  });
  throwIfError(response.errorCode, {
    apiName: "SaslAuthenticate",
    detail: `broker ${conn.address}: ${
      response.errorMessage ?? "authentication failed"
    }. Check the "sasl" option's username, password and mechanism`,
  });
  return response.authBytes;
}

const utf8 = new TextEncoder();
const text = new TextDecoder();

export function plainMessage(username: string, password: string): Uint8Array {
  return utf8.encode(`\u0000${username}\u0000${password}`);
}

type Exchange = (bytes: Uint8Array) => Promise<Uint8Array>;

async function scram(sasl: SaslOptions, exchange: Exchange): Promise<void> {
  const hash = sasl.mechanism === "SCRAM-SHA-512" ? "SHA-512" : "SHA-256";
  const clientNonce = randomNonce();
  const clientFirstBare = `n=${saslName(sasl.username)},r=${clientNonce}`;
  const serverFirst = text.decode(
    await exchange(utf8.encode(`n,,${clientFirstBare}`)),
  );
  const { nonce, salt, iterations } = parseServerFirst(
    serverFirst,
    clientNonce,
  );
  const proof = await scramProof({
    hash,
    password: sasl.password,
    salt,
    iterations,
    authMessage: `${clientFirstBare},${serverFirst},c=biws,r=${nonce}`,
  });
  const serverFinal = text.decode(
    await exchange(utf8.encode(`c=biws,r=${nonce},p=${proof.clientProof}`)),
  );
  checkServerFinal(serverFinal, proof.serverSignature);
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
  return { nonce, salt: fromBase64(fields.get("s")!), iterations };
}

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
