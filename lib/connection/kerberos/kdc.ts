/**
 * A Kerberos client: logs a principal in at its KDC (the AS exchange, with
 * encrypted-timestamp pre-authentication, from a password or a keytab) and
 * gets tickets for services with the resulting ticket-granting ticket (the
 * TGS exchange). Tickets are kept until shortly before they expire, so
 * connections after the first cost no KDC round trip; one request at a
 * time per ticket, however many connections ask at once.
 *
 * The KDC is spoken to over TCP (RFC 4120 section 7.2.2: each message
 * after its 4-byte length).
 *
 * @module
 */

import { ConnectionError, TimeoutError } from "../errors.ts";
import { openSocket, type Socket } from "../socket.ts";
import {
  checksum,
  checksumType,
  decrypt,
  encrypt,
  ENCRYPTION_TYPES,
  type EncryptionKey,
  encryptionTypeName,
  IntegrityError,
  isSupported,
  stringToKey,
  SUPPORTED_NAMES,
} from "./crypto.ts";
import { type CredentialCache, principalText } from "./ccache.ts";
import type { KeytabEntry } from "./keytab.ts";
import {
  apRequest,
  authenticator,
  encryptedData,
  type KdcReply,
  type KdcReplyPart,
  kdcRequest,
  kdcRequestBody,
  KeyUsage,
  type KrbError,
  MessageType,
  nameText,
  NameType,
  type PaData,
  paEncTimestamp,
  PaType,
  type PrincipalName,
  readEtypeInfo,
  readKdcAnswer,
  readKdcReplyPart,
  readMethodData,
} from "./messages.ts";

/**
 * How a principal proves itself to its KDC: a password, a keytab's keys,
 * or a credential cache (`kinit`'s) holding its ticket-granting ticket,
 * read again whenever the one in memory runs out.
 */
export type KerberosSecret =
  | {
    readonly password: string;
    readonly keytab?: never;
    readonly ticketCache?: never;
  }
  | {
    readonly keytab: readonly KeytabEntry[];
    readonly password?: never;
    readonly ticketCache?: never;
  }
  | {
    readonly ticketCache: () => Promise<CredentialCache>;
    readonly password?: never;
    readonly keytab?: never;
  };

/** What a KerberosClient needs. */
export interface KerberosClientOptions {
  /** The client's name within its realm. */
  readonly client: PrincipalName;
  /** The client's realm (also the services'). */
  readonly realm: string;
  /** The secret. */
  readonly secret: KerberosSecret;
  /** The KDCs, "host:port", tried in order. */
  readonly kdcs: readonly { host: string; port: number }[];
}

/** A ticket for a service and its session key. */
export interface Ticket {
  /** The ticket as the KDC encoded it. */
  readonly ticket: Uint8Array;
  /** The session key the service will find inside it. */
  readonly key: EncryptionKey;
  /** When it expires. */
  readonly endTime: Date;
}

/**
 * The KDC (or a broker) refused: the RFC 4120 error code (0 when the
 * problem is local, such as a ticket cache without a ticket-granting
 * ticket), and a message naming the principal and what to check. Reaches the caller as the
 * `cause` of a SASL_AUTHENTICATION_FAILED KafkaError.
 *
 * @example
 * ```ts
 * import { KerberosError } from "jsr:@streamkafka/client";
 *
 * const error = new KerberosError(24, "wrong password or keytab key");
 * console.log(error.name, error.code, error.retriable); // KerberosError 24 false
 * ```
 */
export class KerberosError extends Error {
  /** The Kerberos error code, e.g. 24 (KDC_ERR_PREAUTH_FAILED). */
  readonly code: number;
  /** Always false: the same request would be refused again. */
  readonly retriable = false;

  /** An error with `message` for Kerberos error `code`. */
  constructor(code: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "KerberosError";
    this.code = code;
  }
}

/** The Kerberos error codes this client explains. */
const ERRORS: Record<number, [string, string]> = {
  6: ["KDC_ERR_C_PRINCIPAL_UNKNOWN", "the KDC does not know the client"],
  7: ["KDC_ERR_S_PRINCIPAL_UNKNOWN", "the KDC does not know the service"],
  14: [
    "KDC_ERR_ETYPE_NOSUPP",
    `no encryption type in common (this client speaks ${SUPPORTED_NAMES})`,
  ],
  18: ["KDC_ERR_CLIENT_REVOKED", "the client's account is locked or disabled"],
  23: ["KDC_ERR_KEY_EXPIRED", "the client's password has expired"],
  24: ["KDC_ERR_PREAUTH_FAILED", "wrong password or keytab key"],
  31: ["KRB_AP_ERR_BAD_INTEGRITY", "wrong password or keytab key"],
  32: ["KRB_AP_ERR_TKT_EXPIRED", "the ticket has expired"],
  37: [
    "KRB_AP_ERR_SKEW",
    "this machine's clock and the KDC's differ by more than the KDC allows (5 minutes by default)",
  ],
  41: ["KRB_AP_ERR_MODIFIED", "the service could not decrypt the ticket"],
  60: ["KRB_ERR_GENERIC", "the KDC refused the request"],
  68: ["KDC_ERR_WRONG_REALM", "the KDC does not serve this realm"],
};

/** "KDC_ERR_PREAUTH_FAILED (24)" and its explanation. */
export function krbErrorText(code: number): [string, string] {
  const known = ERRORS[code];
  return known
    ? [`${known[0]} (${code})`, known[1]]
    : [`Kerberos error ${code}`, "refused"];
}

/** Tickets are renewed once less than this share of their life is left. */
const RENEW_SHARE = 0.1;
/** ...or less than this many milliseconds. */
const RENEW_MS = 60_000;
/** What a ticket is asked to last; the KDC's policy cuts it down. */
const WANTED_LIFETIME_MS = 24 * 3_600_000;
const DEFAULT_TIMEOUT = 10_000;

/** A principal at its KDC, with its tickets. */
export class KerberosClient {
  readonly #options: KerberosClientOptions;
  /** The ticket-granting ticket, being got or got. */
  #tgt?: { promise: Promise<Ticket & { start: number }> };
  readonly #tickets = new Map<
    string,
    { promise: Promise<Ticket & { start: number }> }
  >();

  /** A client for `options.client` in `options.realm`. */
  constructor(options: KerberosClientOptions) {
    this.#options = options;
  }

  /** "alice@EXAMPLE.COM". */
  get principal(): string {
    return `${nameText(this.#options.client)}@${this.#options.realm}`;
  }

  /** The client's name (for authenticators). */
  get client(): PrincipalName {
    return this.#options.client;
  }

  /** The client's realm. */
  get realm(): string {
    return this.#options.realm;
  }

  /**
   * A ticket for `service` ("kafka/broker1.example.com" as parts), from the
   * cache while it has time left, else from the KDC.
   */
  async ticket(
    service: PrincipalName,
    timeout = DEFAULT_TIMEOUT,
  ): Promise<Ticket> {
    const name = nameText(service);
    let entry = this.#tickets.get(name);
    if (entry === undefined || await stale(entry.promise)) {
      const promise = this.#serviceTicket(service, timeout);
      entry = { promise };
      this.#tickets.set(name, entry);
      const mine = entry;
      // A failure is not kept: the next connection asks again.
      promise.catch(() => {
        if (this.#tickets.get(name) === mine) this.#tickets.delete(name);
      });
    }
    return await entry.promise;
  }

  /** Forgets every ticket (after a service refused one, say). */
  forget(): void {
    this.#tgt = undefined;
    this.#tickets.clear();
  }

  async #grantingTicket(timeout: number): Promise<Ticket> {
    let entry = this.#tgt;
    if (entry === undefined || await stale(entry.promise)) {
      const read = this.#options.secret.ticketCache;
      const promise = read ? this.#fromCache(read) : this.#login(timeout);
      entry = { promise };
      this.#tgt = entry;
      const mine = entry;
      promise.catch(() => {
        if (this.#tgt === mine) this.#tgt = undefined;
      });
    }
    return await entry.promise;
  }

  /** The AS exchange: a ticket-granting ticket for the client's secret. */
  async #login(timeout: number): Promise<Ticket & { start: number }> {
    const { client, realm } = this.#options;
    const start = Date.now();
    const server = { type: NameType.SRV_INST, parts: ["krbtgt", realm] };
    const bodyOf = (nonce: number) =>
      kdcRequestBody({
        client,
        realm,
        server,
        till: new Date(start + WANTED_LIFETIME_MS),
        nonce,
        etypes: this.#etypes(),
      });
    // First without pre-authentication: the KDC answers with the salt and
    // iterations it used for the client's keys (or, with pre-authentication
    // off, with the ticket).
    let nonce = randomNonce();
    let answer = readKdcAnswer(
      await this.#exchange(
        kdcRequest(MessageType.AS_REQ, [], bodyOf(nonce)),
        timeout,
      ),
    );
    let key: EncryptionKey;
    if (answer.error) {
      if (answer.error.code !== 25) throw this.#refused(answer.error, "log in");
      const methods = answer.error.data
        ? readMethodData(answer.error.data)
        : [];
      key = await this.#clientKey(methods);
      const timestamp = await encrypt(
        key,
        KeyUsage.PA_ENC_TIMESTAMP,
        paEncTimestamp(new Date()),
      );
      const preauth: PaData = {
        type: PaType.ENC_TIMESTAMP,
        value: encryptedData({ etype: key.type, cipher: timestamp }),
      };
      nonce = randomNonce();
      answer = readKdcAnswer(
        await this.#exchange(
          kdcRequest(MessageType.AS_REQ, [preauth], bodyOf(nonce)),
          timeout,
        ),
      );
      if (answer.error) throw this.#refused(answer.error, "log in");
      // The reply key is normally the one pre-authenticated with; a KDC
      // may use another of the client's types (its reply says which).
      const etype = answer.reply.encPart.etype;
      if (etype !== key.type) {
        key = await this.#clientKey(
          [...methods, ...answer.reply.padata],
          etype,
        );
      }
    } else {
      key = await this.#clientKey(
        answer.reply.padata,
        answer.reply.encPart.etype,
      );
    }
    const part = await this.#open(
      answer.reply,
      key,
      KeyUsage.AS_REP_ENC_PART,
      nonce,
    );
    return {
      ticket: answer.reply.ticket,
      key: part.key,
      endTime: part.endTime,
      start,
    };
  }

  /** The ticket-granting ticket of a `kinit` session, from its cache. */
  async #fromCache(
    read: () => Promise<CredentialCache>,
  ): Promise<Ticket & { start: number }> {
    const { realm } = this.#options;
    const me = this.principal;
    const tgs = `krbtgt/${realm}@${realm}`;
    const found = (await read()).credentials
      .filter((c) =>
        principalText(c.client) === me && principalText(c.server) === tgs
      )
      .sort((a, b) => b.endTime.getTime() - a.endTime.getTime())[0];
    if (found === undefined) {
      throw new KerberosError(
        0,
        `Kerberos: the ticket cache holds no ticket-granting ticket (${tgs}) for ${me}: run kinit ${me}`,
      );
    }
    if (!isSupported(found.key.type)) {
      throw new KerberosError(
        14,
        `Kerberos: the ticket cache's ticket-granting ticket for ${me} has a ${
          encryptionTypeName(found.key.type)
        } session key; this client speaks ${SUPPORTED_NAMES}`,
      );
    }
    if (found.endTime.getTime() <= Date.now()) {
      throw new KerberosError(
        32,
        `Kerberos: the ticket cache's ticket-granting ticket for ${me} expired at ${found.endTime.toISOString()}: run kinit ${me} again`,
      );
    }
    return {
      ticket: found.ticket,
      key: found.key,
      endTime: found.endTime,
      start: found.startTime.getTime(),
    };
  }

  /** The TGS exchange: a ticket for `service`. */
  async #serviceTicket(
    service: PrincipalName,
    timeout: number,
  ): Promise<Ticket & { start: number }> {
    const tgt = await this.#grantingTicket(timeout);
    const { client, realm } = this.#options;
    const start = Date.now();
    const nonce = randomNonce();
    const body = kdcRequestBody({
      realm,
      server: service,
      till: new Date(start + WANTED_LIFETIME_MS),
      nonce,
      etypes: this.#etypes(),
    });
    const type = tgt.key.type;
    const auth = authenticator({
      realm,
      client,
      checksum: {
        type: checksumType(type),
        value: await checksum(tgt.key, KeyUsage.TGS_REQ_AUTH_CHECKSUM, body),
      },
      time: new Date(),
    });
    const apReq = apRequest(tgt.ticket, {
      etype: type,
      cipher: await encrypt(tgt.key, KeyUsage.TGS_REQ_AUTHENTICATOR, auth),
    });
    const answer = readKdcAnswer(
      await this.#exchange(
        kdcRequest(
          MessageType.TGS_REQ,
          [{ type: PaType.TGS_REQ, value: apReq }],
          body,
        ),
        timeout,
      ),
    );
    if (answer.error) {
      throw this.#refused(
        answer.error,
        `get a ticket for ${nameText(service)}@${realm}`,
      );
    }
    const part = await this.#open(
      answer.reply,
      tgt.key,
      KeyUsage.TGS_REP_ENC_PART,
      nonce,
    );
    return {
      ticket: answer.reply.ticket,
      key: part.key,
      endTime: part.endTime,
      start,
    };
  }

  /**
   * The encryption types to offer, in preference order; with a keytab, the
   * types it holds first, so the KDC answers with a key the client has.
   * All are offered, for the session key: a KDC picks it among the types
   * the client offers that the service (krbtgt, for a login) has keys of,
   * and MIT's krbtgt may lack the types of a principal's own keys.
   */
  #etypes(): number[] {
    const { secret } = this.#options;
    if (secret.keytab === undefined) return [...ENCRYPTION_TYPES];
    const held = new Set(this.#keytabKeys().map((e) => e.key.type));
    return [
      ...ENCRYPTION_TYPES.filter((t) => held.has(t)),
      ...ENCRYPTION_TYPES.filter((t) => !held.has(t)),
    ];
  }

  /** The keytab's keys of this principal, newest version first. */
  #keytabKeys(): KeytabEntry[] {
    const keytab = this.#options.secret.keytab ?? [];
    return keytab
      .filter((e) => e.principal === this.principal && isSupported(e.key.type))
      .sort((a, b) => b.kvno - a.kvno);
  }

  /**
   * The client's key for the type the KDC chose: from the keytab, or from
   * the password with the KDC's salt and iterations (RFC 4120's default
   * salt, the realm then the name's parts, when it gives none).
   */
  async #clientKey(
    padata: readonly PaData[],
    etype?: number,
  ): Promise<EncryptionKey> {
    const { client, realm, secret } = this.#options;
    const offered = readEtypeInfo(padata);
    const infos = offered.filter((i) => isSupported(i.etype));
    const info = etype === undefined
      ? infos[0]
      : infos.find((i) => i.etype === etype) ?? { etype };
    if (info === undefined || !isSupported(info.etype)) {
      throw new KerberosError(
        14,
        `Kerberos: the KDC offers no key of ${this.principal} in an encryption type this client speaks (${SUPPORTED_NAMES})${
          offered.length > 0
            ? `; it offers ${
              offered.map((i) => encryptionTypeName(i.etype)).join(", ")
            }`
            : ""
        }`,
      );
    }
    if (secret.keytab !== undefined) {
      const entry = this.#keytabKeys().find((e) => e.key.type === info.etype);
      if (entry === undefined) {
        throw new KerberosError(
          14,
          `Kerberos: the keytab has no ${
            encryptionTypeName(info.etype)
          } key for ${this.principal}, the type the KDC uses for it; it holds ${
            this.#keytabKeys().map((e) => encryptionTypeName(e.key.type)).join(
              ", ",
            ) ||
            "no key for this principal"
          }`,
        );
      }
      return entry.key;
    }
    const salt = info.salt ?? realm + client.parts.join("");
    return await stringToKey(
      info.etype,
      secret.password ?? "",
      salt,
      info.iterations,
    );
  }

  /** Decrypts and checks a KDC reply's encrypted part. */
  async #open(
    reply: KdcReply,
    key: EncryptionKey,
    usage: number,
    nonce: number,
  ): Promise<KdcReplyPart> {
    let plain: Uint8Array;
    try {
      plain = await decrypt(key, usage, reply.encPart.cipher);
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
      throw new KerberosError(
        31,
        `Kerberos: the KDC's reply for ${this.principal} does not decrypt with the client's key: wrong password or keytab key`,
        { cause: error },
      );
    }
    const part = readKdcReplyPart(plain);
    if ((part.nonce >>> 0) !== nonce) {
      throw new KerberosError(
        60,
        `Kerberos: the KDC's reply does not repeat the request's nonce`,
      );
    }
    return part;
  }

  /** The error for a KRB-ERROR from the KDC, while trying to `doing`. */
  #refused(error: KrbError, doing: string): KerberosError {
    const [name, meaning] = krbErrorText(error.code);
    const check = error.code === 7
      ? `; check the service name and the broker's host name: Kerberos names the broker "<serviceName>/<host it is dialled by>"`
      : error.code === 6
      ? `; check the principal's name and realm`
      : error.code === 24 || error.code === 31
      ? `; check the password or keytab`
      : "";
    return new KerberosError(
      error.code,
      `Kerberos: ${this.principal} could not ${doing}: ${name}, ${meaning}${
        error.text ? ` ("${error.text}")` : ""
      }${check}`,
    );
  }

  /** Sends a request to the first KDC that answers, and reads its answer. */
  async #exchange(request: Uint8Array, timeout: number): Promise<Uint8Array> {
    const failures: string[] = [];
    let last: unknown;
    for (const kdc of this.#options.kdcs) {
      try {
        return await kdcRoundTrip(kdc.host, kdc.port, request, timeout);
      } catch (error) {
        last = error;
        failures.push(error instanceof Error ? error.message : String(error));
      }
    }
    throw new ConnectionError(
      `Kerberos: no KDC of ${this.#options.realm} answered: ${
        failures.join("; ")
      }`,
      { cause: last },
    );
  }
}

/** Whether a ticket (once got) should be replaced. */
async function stale(
  promise: Promise<Ticket & { start: number }>,
): Promise<boolean> {
  let ticket: Ticket & { start: number };
  try {
    ticket = await promise;
  } catch {
    return true;
  }
  const end = ticket.endTime.getTime();
  const left = end - Date.now();
  return left < RENEW_MS || left < (end - ticket.start) * RENEW_SHARE;
}

function randomNonce(): number {
  return globalThis.crypto.getRandomValues(new Uint32Array(1))[0] >>> 1;
}

/** One request and its answer over a fresh TCP connection to a KDC. */
async function kdcRoundTrip(
  host: string,
  port: number,
  request: Uint8Array,
  timeout: number,
): Promise<Uint8Array> {
  const where = `KDC ${host}:${port}`;
  const socket = await openSocket({ host, port, timeout });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, request.length);
    const answer = readFrame(socket, where);
    // Awaited below unless the write fails first.
    answer.catch(() => {});
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new TimeoutError(`${where} did not answer in ${timeout} ms`)),
        timeout,
      );
    });
    await Promise.race([socket.write([length, request]), late]);
    return await Promise.race([answer, late]);
  } finally {
    clearTimeout(timer);
    socket.close();
  }
}

/** Reads one length-prefixed message. */
async function readFrame(socket: Socket, where: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let have = 0;
  let want = -1;
  const reader = socket.read ? undefined : socket.readable!.getReader();
  try {
    for (;;) {
      if (want < 0 && have >= 4) {
        const head = joined(chunks, have);
        want = 4 + new DataView(head.buffer, head.byteOffset).getUint32(0);
        if (want > 1 << 24) {
          throw new ConnectionError(
            `${where} sent a ${want}-byte message: not a KDC`,
            {
              retriable: false,
            },
          );
        }
      }
      if (want >= 0 && have >= want) return joined(chunks, have).slice(4, want);
      let chunk: Uint8Array | null;
      if (reader) {
        const r = await reader.read();
        chunk = r.done ? null : r.value;
      } else {
        const into = new Uint8Array(65536);
        const n = await socket.read!(into);
        chunk = n === null ? null : into.subarray(0, n);
      }
      if (chunk === null) {
        throw new ConnectionError(
          `${where} closed the connection before answering`,
        );
      }
      chunks.push(chunk);
      have += chunk.length;
    }
  } finally {
    reader?.releaseLock();
  }
}

function joined(chunks: Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  chunks.length = 0;
  chunks.push(out);
  return out;
}
