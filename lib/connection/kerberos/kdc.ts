/**
 * A Kerberos client: logs a principal in at its KDC (the AS exchange, with
 * encrypted-timestamp pre-authentication, from a password or a keytab) and
 * gets tickets for services with the resulting ticket-granting ticket (the
 * TGS exchange). Tickets are kept until shortly before they expire, so
 * connections after the first cost no KDC round trip; one request at a
 * time per ticket, however many connections ask at once.
 *
 * The KDC is spoken to over TCP (transport.ts); refusals become
 * KerberosErrors (errors.ts).
 *
 * @module
 */

import { ConnectionError } from "../errors.ts";
import { KerberosError, krbErrorText } from "./errors.ts";
import { kdcRoundTrip, notKdc } from "./transport.ts";
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
  clientTime,
  encryptedData,
  type KdcAnswer,
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

/** Tickets are renewed once less than this share of their life is left. */
const RENEW_SHARE = 0.1;
/** ...or less than this many milliseconds. */
const RENEW_MS = 60_000;
/** What a ticket is asked to last; the KDC's policy cuts it down. */
const WANTED_LIFETIME_MS = 24 * 3_600_000;
const DEFAULT_TIMEOUT = 10_000;
/**
 * The most PBKDF2 iterations a KDC may ask for (MIT's limit): the count
 * comes unauthenticated, and each login would spend that much CPU.
 */
const MAX_ITERATIONS = 0x1000000;
/**
 * TGS refusals that mean the ticket-granting ticket itself is no good
 * (revoked, expired, or the KDC's key changed): the client logs
 * in again once.
 */
const TGT_REFUSED = new Set([20, 31, 32, 41]);

/** A ticket as kept: whose it is (as the KDC named the client), and since when. */
interface Held extends Ticket {
  /** The client's name as the KDC's reply gave it. */
  readonly client: PrincipalName;
  /** The client's realm as the KDC's reply gave it. */
  readonly realm: string;
  /** When it was got (or became valid), for its share of life left. */
  readonly start: number;
}

/** A ticket being got, or got, or that could not be got. */
interface Entry {
  readonly promise: Promise<Held>;
  value?: Held | undefined;
  failed: boolean;
}

function track(promise: Promise<Held>): Entry {
  const entry: Entry = { promise, failed: false };
  promise.then((value) => {
    entry.value = value;
  }, () => {
    entry.failed = true;
  });
  return entry;
}

/**
 * Whether an entry can be used as it is: while being got (everyone waits
 * for the one request, and shares its failure), or got with time left.
 */
function usable(entry: Entry | undefined): entry is Entry {
  if (entry === undefined || entry.failed) return false;
  const held = entry.value;
  if (held === undefined) return true;
  const end = held.endTime.getTime();
  const left = end - Date.now();
  return left >= RENEW_MS && left >= (end - held.start) * RENEW_SHARE;
}

/** A principal at its KDC, with its tickets. */
export class KerberosClient {
  readonly #options: KerberosClientOptions;
  /** The ticket-granting ticket. */
  #tgt: Entry | undefined;
  /** Service tickets, by service name. */
  readonly #tickets = new Map<string, Entry>();
  /** The KDC that answered last, asked first. */
  #kdc = 0;

  /** A client for `options.client` in `options.realm`. */
  constructor(options: KerberosClientOptions) {
    this.#options = options;
  }

  /** "alice@EXAMPLE.COM", as configured. */
  get principal(): string {
    return `${nameText(this.#options.client)}@${this.#options.realm}`;
  }

  /**
   * A ticket for `service` ("kafka/broker1.example.com" as parts), from
   * memory while it has time left, else from the KDC, within `timeout`
   * milliseconds. It names the client as the KDC did (an authenticator
   * must name the client the same way).
   */
  ticket(
    service: PrincipalName,
    timeout = DEFAULT_TIMEOUT,
  ): Promise<Ticket & { client: PrincipalName; realm: string }> {
    const name = nameText(service);
    let entry = this.#tickets.get(name);
    if (!usable(entry)) {
      entry = track(this.#serviceTicket(service, Date.now() + timeout));
      this.#tickets.set(name, entry);
    }
    return entry.promise;
  }

  /** Forgets the ticket for `service` (its service refused it). */
  forgetTicket(service: PrincipalName): void {
    this.#tickets.delete(nameText(service));
  }

  #grantingTicket(deadline: number): Promise<Held> {
    let entry = this.#tgt;
    if (!usable(entry)) {
      const read = this.#options.secret.ticketCache;
      entry = track(read ? this.#fromCache(read) : this.#login(deadline));
      this.#tgt = entry;
    }
    return entry.promise;
  }

  /** The AS exchange: a ticket-granting ticket for the client's secret. */
  async #login(deadline: number): Promise<Held> {
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
    let answer = await this.#ask(
      kdcRequest(MessageType.AS_REQ, [], bodyOf(nonce)),
      deadline,
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
        paEncTimestamp(clientTime()),
      );
      const preauth: PaData = {
        type: PaType.ENC_TIMESTAMP,
        value: encryptedData({ etype: key.type, cipher: timestamp }),
      };
      nonce = randomNonce();
      answer = await this.#ask(
        kdcRequest(MessageType.AS_REQ, [preauth], bodyOf(nonce)),
        deadline,
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
      server,
      realm,
    );
    return {
      ticket: answer.reply.ticket,
      key: part.key,
      endTime: part.endTime,
      start,
      client: answer.reply.client,
      realm: answer.reply.clientRealm,
    };
  }

  /** The ticket-granting ticket of a `kinit` session, from its cache. */
  async #fromCache(read: () => Promise<CredentialCache>): Promise<Held> {
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
      client: { type: NameType.PRINCIPAL, parts: found.client.parts },
      realm: found.client.realm,
    };
  }

  /**
   * The TGS exchange: a ticket for `service`. A refusal that says the
   * ticket-granting ticket is no good drops it and logs in again, once.
   */
  async #serviceTicket(
    service: PrincipalName,
    deadline: number,
    again = false,
  ): Promise<Held> {
    const tgtEntry = this.#tgt;
    const tgt = await this.#grantingTicket(deadline);
    const realm = tgt.realm;
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
      client: tgt.client,
      checksum: {
        type: checksumType(type),
        value: await checksum(tgt.key, KeyUsage.TGS_REQ_AUTH_CHECKSUM, body),
      },
      time: clientTime(),
    });
    const apReq = apRequest(tgt.ticket, {
      etype: type,
      cipher: await encrypt(tgt.key, KeyUsage.TGS_REQ_AUTHENTICATOR, auth),
    });
    const answer = await this.#ask(
      kdcRequest(
        MessageType.TGS_REQ,
        [{ type: PaType.TGS_REQ, value: apReq }],
        body,
      ),
      deadline,
    );
    if (answer.error) {
      if (!again && TGT_REFUSED.has(answer.error.code)) {
        // The ticket-granting ticket used, unless another caller already
        // replaced it.
        if (this.#tgt === tgtEntry || this.#tgt?.value === tgt) {
          this.#tgt = undefined;
        }
        return await this.#serviceTicket(service, deadline, true);
      }
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
      service,
      realm,
    );
    return {
      ticket: answer.reply.ticket,
      key: part.key,
      endTime: part.endTime,
      start,
      client: tgt.client,
      realm: tgt.realm,
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
   * The client's key for the type the KDC chose (`etype`) or offers first:
   * from the keytab, or from the password with the KDC's salt and
   * iterations (RFC 4120's default salt, the realm then the name's parts,
   * when it gives none). A KDC that names no type at all gets the first
   * type offered (with a keytab, the first it holds), as MIT's client does.
   */
  async #clientKey(
    padata: readonly PaData[],
    etype?: number,
  ): Promise<EncryptionKey> {
    const { client, realm, secret } = this.#options;
    const offered = readEtypeInfo(padata);
    const held = secret.keytab === undefined
      ? undefined
      : new Set(this.#keytabKeys().map((e) => e.key.type));
    const infos = offered.filter((i) => isSupported(i.etype));
    const info = etype !== undefined
      ? infos.find((i) => i.etype === etype) ?? { etype }
      : offered.length === 0
      ? { etype: this.#etypes()[0] }
      : infos.find((i) => held?.has(i.etype) ?? true) ?? infos[0];
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
    const iterations = info.iterations;
    if (
      iterations !== undefined &&
      (iterations === 0 || iterations >= MAX_ITERATIONS)
    ) {
      // 0 stands for 2^32 (RFC 3962).
      throw new KerberosError(
        0,
        `Kerberos: the KDC asks ${this.principal} to derive its ${
          encryptionTypeName(info.etype)
        } key with ${
          iterations === 0 ? "2^32" : iterations
        } PBKDF2 iterations; more than ${MAX_ITERATIONS} are refused (it would take minutes of CPU, and the count is not authenticated)`,
      );
    }
    const salt = info.salt ?? realm + client.parts.join("");
    return await stringToKey(
      info.etype,
      secret.password ?? "",
      salt,
      iterations,
    );
  }

  /**
   * Decrypts and checks a KDC reply's encrypted part: the request's nonce,
   * and the service and realm asked for.
   */
  async #open(
    reply: KdcReply,
    key: EncryptionKey,
    usage: number,
    nonce: number,
    server: PrincipalName,
    realm: string,
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
    // Names compare without case: KDCs (Active Directory) may answer in
    // another case than asked.
    const asked = `${nameText(server)}@${realm}`.toLowerCase();
    const got = `${nameText(part.server)}@${part.serverRealm}`;
    if (got.toLowerCase() !== asked) {
      throw new KerberosError(
        60,
        `Kerberos: the KDC's reply is a ticket for ${got}, not ${
          nameText(server)
        }@${realm} as asked (cross-realm referrals are not supported)`,
      );
    }
    return part;
  }

  /** The error for a KRB-ERROR from the KDC, while trying to `doing`. */
  #refused(error: KrbError, doing: string): KerberosError {
    const [name, meaning] = krbErrorText(error.code);
    const check = error.code === 7
      ? `; check the service name and the broker's host name: Kerberos names the broker "<serviceName>/<host it is dialled by>" (and in the client's realm: cross-realm is not supported)`
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

  /**
   * Sends a request to the KDCs, the one that answered last first, until
   * one answers (a KDC that says it is unavailable counts as not
   * answering), all within `deadline`. Fails with a ConnectionError naming
   * each KDC's failure, retriable unless every KDC refused for good.
   */
  async #ask(request: Uint8Array, deadline: number): Promise<KdcAnswer> {
    const kdcs = this.#options.kdcs;
    const failures: string[] = [];
    let retriable = false;
    let last: unknown;
    for (let i = 0; i < kdcs.length; i++) {
      const at = (this.#kdc + i) % kdcs.length;
      const { host, port } = kdcs[at];
      const left = deadline - Date.now();
      if (left <= 0) {
        failures.push(`no time left for KDC ${host}:${port}`);
        retriable = true;
        break;
      }
      try {
        const bytes = await kdcRoundTrip(host, port, request, left);
        let answer: KdcAnswer;
        try {
          answer = readKdcAnswer(bytes);
        } catch (error) {
          throw notKdc(host, port, error);
        }
        if (answer.error?.code === 29) {
          failures.push(
            `KDC ${host}:${port} is unavailable (KDC_ERR_SVC_UNAVAILABLE)`,
          );
          retriable = true;
          continue;
        }
        this.#kdc = at;
        return answer;
      } catch (error) {
        last = error;
        failures.push(error instanceof Error ? error.message : String(error));
        retriable ||= (error as { retriable?: boolean }).retriable !== false;
      }
    }
    throw new ConnectionError(
      `Kerberos: no KDC of ${this.#options.realm} answered: ${
        failures.join("; ")
      }`,
      { cause: last, retriable },
    );
  }
}

function randomNonce(): number {
  return globalThis.crypto.getRandomValues(new Uint32Array(1))[0] >>> 1;
}
