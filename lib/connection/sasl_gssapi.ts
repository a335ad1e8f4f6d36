/**
 * SASL GSSAPI (RFC 4752) with Kerberos V5: the mechanism Kafka calls
 * GSSAPI, for clusters that authenticate with Kerberos (Active Directory,
 * MIT or Heimdal KDCs). Written from the RFCs on WebCrypto, with no native
 * library and no krb5 installation needed: the client logs in at the KDC
 * with a password or a keytab, gets a ticket for `kafka/<broker host>`,
 * and proves itself to each broker with it; the broker proves itself back
 * (mutual authentication). No security layer is negotiated (Kafka uses
 * none: put TLS under it for privacy).
 *
 * @module
 */

import { ConnectionError } from "./errors.ts";
import { decrypt, encrypt, IntegrityError } from "./kerberos/crypto.ts";
import {
  GSS_CHECKSUM_TYPE,
  gssChecksum,
  GssFlag,
  initialToken,
  readInitialToken,
  TokenId,
  unwrap,
  wrap,
  type WrapContext,
} from "./kerberos/gss.ts";
import { KerberosError, krbErrorText } from "./kerberos/errors.ts";
import { KerberosClient, type KerberosSecret } from "./kerberos/kdc.ts";
import { principalText, readCredentialCache } from "./kerberos/ccache.ts";
import { type KeytabEntry, readKeytab } from "./kerberos/keytab.ts";
import { kdcsOfRealm } from "./kerberos/krb5_conf.ts";
import {
  apRequest,
  authenticator,
  clientTime,
  KeyUsage,
  MUTUAL_REQUIRED,
  NameType,
  readApReply,
  readApReplyPart,
  readKrbError,
} from "./kerberos/messages.ts";
import type { SaslAuthenticator, SaslContext, SaslExchange } from "./sasl.ts";

export { KerberosError } from "./kerberos/errors.ts";

/**
 * Options of {@link gssapi}: who the client is, its secret, and where its
 * KDC is.
 *
 * @example
 * ```ts
 * import type { GssapiOptions } from "jsr:@streamkafka/client";
 *
 * const options: GssapiOptions = {
 *   principal: "alice@EXAMPLE.COM",
 *   keytab: "/etc/security/keytabs/alice.keytab",
 *   kdc: "kdc.example.com:88",
 * };
 * console.log(options.principal);
 * ```
 */
export interface GssapiOptions {
  /**
   * The client's principal, "alice@EXAMPLE.COM" (or "alice" with `realm`,
   * or "etl/host1@EXAMPLE.COM" for a service identity); with `ticketCache`,
   * by default the cache's. The broker maps it
   * to a Kafka user with `sasl.kerberos.principal.to.local.rules` (by
   * default the first part: User:alice).
   */
  principal?: string | undefined;
  /** The principal's password; or give `keytab` or `ticketCache`. */
  password?: string | undefined;
  /**
   * The principal's keys: a keytab's bytes, or the path of a keytab file
   * (read on first use); or give `password` or `ticketCache`.
   */
  keytab?: Uint8Array | string | undefined;
  /**
   * Use the ticket-granting ticket of a `kinit` session: the path of its
   * credential cache (MIT file format), or true for the default one
   * (`KRB5CCNAME` when it names a file, else /tmp/krb5cc_<uid>). Read
   * again when the ticket runs out, so a `kinit` renews it; `principal`
   * defaults to the cache's. Or give `password` or `keytab`.
   */
  ticketCache?: string | true | undefined;
  /** The realm, when `principal` does not name one. */
  realm?: string | undefined;
  /**
   * The realm's KDCs, "host" or "host:port" (port 88 by default), tried in
   * order. By default those `krb5.conf` lists for the realm (the file
   * `KRB5_CONFIG` names, else /etc/krb5.conf).
   */
  kdc?: string | string[] | undefined;
  /**
   * The first part of the brokers' principals, Kafka's
   * `sasl.kerberos.service.name` (default "kafka").
   */
  serviceName?: string | undefined;
  /**
   * The host part of a broker's principal, from the host the client dials
   * (default: that host, lowercased). For brokers whose principals name
   * another host than the one they advertise; it may be async, e.g. a
   * reverse DNS lookup for brokers advertised by IP address.
   */
  serviceHost?: ((host: string) => string | Promise<string>) | undefined;
  /** Milliseconds to wait for a KDC's answer (default 10,000). */
  kdcTimeout?: number | undefined;
}

/**
 * SASL GSSAPI with Kerberos V5, as a `sasl` option: logs `principal` in at
 * its KDC once (password or keytab), gets a ticket per broker
 * (`kafka/<host>@REALM`), and keeps the tickets until shortly before they
 * expire. Connections, re-authentications (KIP-368) and brokers share
 * them. A refusal names the principal, the Kerberos error and what to
 * check; an unreachable KDC is retried like an unreachable broker.
 *
 * @example
 * ```ts
 * import { gssapi, Writer } from "jsr:@streamkafka/client";
 *
 * const writer = new Writer({
 *   brokers: ["broker1.example.com:9092"],
 *   topic: "orders",
 *   transport: {
 *     sasl: gssapi({
 *       principal: "alice@EXAMPLE.COM",
 *       keytab: "/etc/security/keytabs/alice.keytab",
 *       kdc: "kdc.example.com",
 *     }),
 *   },
 * });
 * await writer.close();
 * ```
 */
export function gssapi(options: GssapiOptions): SaslAuthenticator {
  const settings = checkOptions(options);
  let client: Promise<KerberosClient> | undefined;
  const kerberos = () => {
    if (client === undefined) {
      const made = makeClient(settings);
      client = made;
      // A failed setup (an unreadable keytab, no KDC) is tried again.
      made.catch(() => {
        if (client === made) client = undefined;
      });
    }
    return client;
  };
  return {
    mechanism: "GSSAPI",
    whenRefused: `Check the "gssapi" principal (${
      settings.principal ?? "the ticket cache's"
    }) and its password, keytab or ticket cache, the broker's service principal ("${settings.serviceName}/<host>") and the broker's principal.to.local rules and ACLs`,
    begin: async (context) => {
      const made = kerberos();
      try {
        return await exchange(await made, settings, context);
      } catch (error) {
        // A refused key: a keytab given by path is read again next time
        // (it may have been rotated since).
        if (
          error instanceof KerberosError &&
          (error.code === 24 || error.code === 31) && client === made
        ) {
          client = undefined;
        }
        throw error;
      }
    },
  };
}

interface Settings {
  /** Undefined until read from the ticket cache. */
  principal?: string | undefined;
  parts?: string[] | undefined;
  realm?: string | undefined;
  password?: string | undefined;
  keytab?: Uint8Array | string | undefined;
  ticketCache?: string | true | undefined;
  kdc?: { host: string; port: number }[] | undefined;
  serviceName: string;
  serviceHost: (host: string) => string | Promise<string>;
  kdcTimeout: number;
}

function checkOptions(options: GssapiOptions): Settings {
  const where = "Cannot use GSSAPI";
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `${where}: gssapi() takes an options object, got ${
        options === null ? "null" : typeof options
      }`,
    );
  }
  const { principal, password, keytab, ticketCache, realm, kdc } = options;
  const secrets = [
    password !== undefined && "password",
    keytab !== undefined && "keytab",
    ticketCache !== undefined && "ticketCache",
  ].filter((s) => s !== false);
  if (secrets.length !== 1) {
    throw new TypeError(
      `${where}: give exactly one of "password", "keytab" and "ticketCache"${
        principal === undefined ? "" : ` for ${principal}`
      }, got ${secrets.length === 0 ? "none" : secrets.join(" and ")}`,
    );
  }
  if (
    ticketCache !== undefined && ticketCache !== true &&
    (typeof ticketCache !== "string" || ticketCache === "")
  ) {
    throw new TypeError(
      `${where}: "ticketCache" must be a credential cache's path or true (the default cache), got ${
        JSON.stringify(ticketCache)
      }`,
    );
  }
  let name: string | undefined;
  let ownRealm: string | undefined;
  if (principal !== undefined || ticketCache === undefined) {
    if (typeof principal !== "string" || principal === "") {
      throw new TypeError(
        `${where}: "principal" must be a non-empty string such as "alice@EXAMPLE.COM", got ${
          JSON.stringify(principal)
        }`,
      );
    }
    const at = principal.lastIndexOf("@");
    name = at < 0 ? principal : principal.slice(0, at);
    ownRealm = at < 0 ? realm : principal.slice(at + 1);
    if (typeof ownRealm !== "string" || ownRealm === "") {
      throw new TypeError(
        `${where}: "principal" ${
          JSON.stringify(principal)
        } names no realm: write it as "${principal}@EXAMPLE.COM" or give "realm"`,
      );
    }
    if (at >= 0 && realm !== undefined && realm !== ownRealm) {
      throw new TypeError(
        `${where}: "principal" ${
          JSON.stringify(principal)
        } names realm ${ownRealm}, but "realm" is ${JSON.stringify(realm)}`,
      );
    }
    if (name.split("/").some((part) => part === "")) {
      throw new TypeError(
        `${where}: "principal" ${
          JSON.stringify(principal)
        } has an empty name part (expected "name@REALM" or "service/host@REALM")`,
      );
    }
  }
  if (password !== undefined && typeof password !== "string") {
    throw new TypeError(
      `${where}: "password" must be a string, got ${typeof password}`,
    );
  }
  if (
    keytab !== undefined && typeof keytab !== "string" &&
    !(keytab instanceof Uint8Array)
  ) {
    throw new TypeError(
      `${where}: "keytab" must be a file path or a Uint8Array of the file, got ${typeof keytab}`,
    );
  }
  const kdcs = kdc === undefined ? undefined : Array.isArray(kdc) ? kdc : [kdc];
  if (
    kdcs !== undefined &&
    (kdcs.length === 0 || kdcs.some((k) => typeof k !== "string" || k === ""))
  ) {
    throw new TypeError(
      `${where}: "kdc" must be "host[:port]" or a non-empty array of them, got ${
        JSON.stringify(kdc)
      }`,
    );
  }
  const kdcAddresses = kdcs?.map((k) => parseKdc(k, `"kdc"`));
  const serviceName = options.serviceName ?? "kafka";
  if (typeof serviceName !== "string" || serviceName === "") {
    throw new TypeError(
      `${where}: "serviceName" must be a non-empty string, got ${
        JSON.stringify(options.serviceName)
      }`,
    );
  }
  if (
    options.serviceHost !== undefined &&
    typeof options.serviceHost !== "function"
  ) {
    throw new TypeError(
      `${where}: "serviceHost" must be a function from the dialled host to the principal's host, got ${typeof options
        .serviceHost}`,
    );
  }
  const kdcTimeout = options.kdcTimeout ?? 10_000;
  if (
    typeof kdcTimeout !== "number" || !(kdcTimeout > 0) ||
    kdcTimeout > MAX_TIMER_MS
  ) {
    const Failure = typeof kdcTimeout === "number" ? RangeError : TypeError;
    throw new Failure(
      `${where}: "kdcTimeout" must be a positive number of milliseconds up to ${MAX_TIMER_MS}, got ${
        JSON.stringify(options.kdcTimeout)
      }`,
    );
  }
  if (keytab instanceof Uint8Array) {
    // Read now, so a bad file fails here rather than at the first
    // connection.
    checkKeytab(readKeytab(keytab), `${name}@${ownRealm}`);
  }
  return {
    principal: name === undefined ? undefined : `${name}@${ownRealm}`,
    parts: name?.split("/"),
    realm: ownRealm,
    password,
    keytab,
    ticketCache,
    kdc: kdcAddresses,
    serviceName,
    serviceHost: options.serviceHost ?? ((host) => host.toLowerCase()),
    kdcTimeout,
  };
}

async function makeClient(settings: Settings): Promise<KerberosClient> {
  const { readFile } = await import("node:fs/promises");
  const read = async (path: string, what: string) => {
    try {
      return new Uint8Array(await readFile(path));
    } catch (error) {
      throw new TypeError(
        `Cannot use GSSAPI: cannot read the ${what} "${path}": ${
          error instanceof Error ? error.message : error
        }`,
        { cause: error },
      );
    }
  };
  let secret: KerberosSecret;
  let { principal, parts, realm } = settings;
  if (settings.ticketCache !== undefined) {
    const path = await cachePath(settings.ticketCache);
    const cache = async () =>
      readCredentialCache(await read(path, "credential cache"));
    if (principal === undefined) {
      const own = (await cache()).principal;
      principal = principalText(own);
      parts = [...own.parts];
      realm = own.realm;
    }
    secret = { ticketCache: cache };
  } else if (settings.keytab !== undefined) {
    const entries = readKeytab(
      typeof settings.keytab === "string"
        ? await read(settings.keytab, "keytab")
        : settings.keytab,
    );
    checkKeytab(entries, principal!);
    secret = { keytab: entries };
  } else {
    secret = { password: settings.password! };
  }
  const kdcs = settings.kdc ??
    (await kdcsOfRealm(realm!)).map((k) => parseKdc(k, "krb5.conf's kdc"));
  return new KerberosClient({
    client: { type: NameType.PRINCIPAL, parts: parts! },
    realm: realm!,
    secret,
    kdcs,
  });
}

/**
 * The file of the credential cache `ticketCache` names: its path, or for
 * true, KRB5CCNAME (a FILE: cache) or /tmp/krb5cc_<uid>.
 */
async function cachePath(ticketCache: string | true): Promise<string> {
  if (ticketCache !== true) return ticketCache;
  const process = await import("node:process");
  const named = process.env.KRB5CCNAME;
  if (named !== undefined && named !== "") {
    const type = /^([A-Za-z]+):/.exec(named)?.[1];
    if (type === undefined || type === "FILE") {
      return named.replace(/^FILE:/, "");
    }
    throw new TypeError(
      `Cannot use GSSAPI: KRB5CCNAME is a ${type}: cache ("${named}"); only FILE: caches can be read: run kinit with KRB5CCNAME=FILE:/tmp/krb5cc_$(id -u), or pass "ticketCache" a file's path`,
    );
  }
  const uid = process.getuid?.();
  if (uid === undefined) {
    throw new TypeError(
      `Cannot use GSSAPI: this platform has no default credential cache: pass "ticketCache" the cache file's path`,
    );
  }
  return `/tmp/krb5cc_${uid}`;
}

/** Throws a TypeError when `entries` hold no key of `principal`. */
function checkKeytab(entries: readonly KeytabEntry[], principal: string): void {
  if (!entries.some((e) => e.principal === principal)) {
    const held = [...new Set(entries.map((e) => e.principal))];
    throw new TypeError(
      `Cannot use GSSAPI: the keytab holds no key for ${principal}; it holds ${
        held.join(", ") || "no key"
      }`,
    );
  }
}

/** The longest timer every runtime keeps (Node.js fires longer ones at once). */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * A KDC address: "host", "host:port", "[v6]:port", a bare IPv6 address, or
 * krb5.conf's "tcp/host:port" (port 88 by default). Only TCP is spoken:
 * "udp/" is refused where `what` is the option, and taken as TCP where it
 * comes from krb5.conf.
 */
function parseKdc(
  address: string,
  what: string,
): { host: string; port: number } {
  let text = address.trim();
  const bad = (why: string) =>
    new TypeError(
      `Cannot use GSSAPI: ${what} ${JSON.stringify(address)} ${why}`,
    );
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    throw bad(
      'is a URL; give "host" or "host:port" (KDCs over HTTPS, MS-KKDCP, are not supported)',
    );
  }
  if (/^udp\//i.test(text)) {
    if (what === `"kdc"`) {
      throw bad("asks for UDP; this client speaks to KDCs over TCP only");
    }
    text = text.slice(4);
  }
  text = text.replace(/^tcp\//i, "");
  let host: string;
  let port = 88;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1];
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if ((text.match(/:/g) ?? []).length > 1) {
    host = text; // a bare IPv6 address
  } else {
    const [h, p] = text.split(":");
    host = h;
    if (p !== undefined) {
      if (!/^\d+$/.test(p)) throw bad("has a port that is not a number");
      port = Number(p);
    }
  }
  if (host === "" || /\s|\//.test(host)) {
    throw bad('is not "host" or "host:port"');
  }
  if (!(port > 0 && port < 65536)) throw bad("has a port outside 1-65535");
  return { host, port };
}

/** One authentication: AP-REQ, the broker's AP-REP, the security layer. */
async function exchange(
  kerberos: KerberosClient,
  settings: Settings,
  context: SaslContext,
): Promise<SaslExchange> {
  const host = await settings.serviceHost(context.host);
  if (typeof host !== "string" || host === "") {
    throw new TypeError(
      `Cannot use GSSAPI: "serviceHost" returned ${
        JSON.stringify(host)
      } for ${context.host}; it must return the host part of the broker's principal`,
    );
  }
  const service = {
    type: NameType.SRV_HST,
    parts: [settings.serviceName, host],
  };
  const ticket = await kerberos.ticket(service, settings.kdcTimeout).catch(
    (error) => {
      throw kdcFailure(error, `${settings.serviceName}/${host}`);
    },
  );
  const spn = `${settings.serviceName}/${host}@${ticket.realm}`;
  const time = clientTime();
  const sequenceNumber =
    globalThis.crypto.getRandomValues(new Uint32Array(1))[0] >>> 1;
  const auth = authenticator({
    realm: ticket.realm,
    client: ticket.client,
    checksum: {
      type: GSS_CHECKSUM_TYPE,
      value: gssChecksum(GssFlag.MUTUAL | GssFlag.CONF | GssFlag.INTEG),
    },
    time,
    sequenceNumber,
  });
  const apReq = apRequest(
    ticket.ticket,
    {
      etype: ticket.key.type,
      cipher: await encrypt(ticket.key, KeyUsage.AP_REQ_AUTHENTICATOR, auth),
    },
    MUTUAL_REQUIRED,
  );
  let step: "ap-rep" | "layers" | "done" = "ap-rep";
  let wrapContext: WrapContext = { key: ticket.key, acceptorSubkey: false };
  return {
    start: () => initialToken(TokenId.AP_REQ, apReq),
    // Kafka reports a ticket it could not accept as a SaslAuthenticate
    // error: the next connection asks the KDC for a new one (the broker's
    // key may have changed).
    refused: () => kerberos.forgetTicket(service),
    next: async (answer) => {
      if (step === "ap-rep") {
        step = "layers";
        // Without mutual authentication the broker answers with nothing;
        // it was asked for, so an AP-REP must come.
        if (answer.length === 0) {
          throw new Error(
            `the broker did not prove itself as ${spn} (no AP-REP)`,
          );
        }
        const { id, message } = readInitialToken(answer);
        if (id === TokenId.ERROR) {
          kerberos.forgetTicket(service);
          const error = readKrbError(message);
          const [name, meaning] = krbErrorText(error.code);
          throw new KerberosError(
            error.code,
            `the broker refused the ticket for ${spn}: ${name}, ${meaning}${
              error.code === 31 || error.code === 41
                ? ` (the broker's keytab for ${spn} does not hold the key the KDC has)`
                : ""
            }`,
          );
        }
        if (id !== TokenId.AP_REP) {
          throw new Error(
            `the broker sent GSS-API token 0x${id.toString(16)}, not an AP-REP`,
          );
        }
        let part;
        try {
          part = readApReplyPart(
            await decrypt(
              ticket.key,
              KeyUsage.AP_REP_ENC_PART,
              readApReply(message).cipher,
            ),
          );
        } catch (error) {
          if (!(error instanceof IntegrityError)) throw error;
          throw new Error(
            `the broker's AP-REP does not decrypt with the session key: it is not ${spn}`,
          );
        }
        if (
          Math.floor(part.time.getTime() / 1000) !==
            Math.floor(time.time.getTime() / 1000) ||
          part.microseconds !== time.usec
        ) {
          throw new Error(
            `the broker's AP-REP does not repeat the authenticator's time: it is not ${spn}`,
          );
        }
        if (part.subkey) {
          wrapContext = { key: part.subkey, acceptorSubkey: true };
        }
        return new Uint8Array(0);
      }
      if (step === "layers") {
        step = "done";
        const offer = await unwrap(wrapContext, answer);
        if (offer.length !== 4) {
          throw new Error(
            `the broker offered security layers in ${offer.length} bytes, not 4`,
          );
        }
        if (!(offer[0] & 1)) {
          throw new Error(
            `the broker requires a SASL security layer (offered 0x${
              offer[0].toString(16)
            }); this client supports none (Kafka brokers never ask for one)`,
          );
        }
        // No security layer, no maximum message size, no authorization id.
        return await wrap(
          wrapContext,
          sequenceNumber,
          new Uint8Array([1, 0, 0, 0]),
        );
      }
      return null;
    },
  };
}

/** A KDC failure as the SASL exchange reports it. */
function kdcFailure(error: unknown, spn: string): unknown {
  if (error instanceof ConnectionError) {
    return new ConnectionError(
      `Cannot get a Kerberos ticket for ${spn}: ${error.message}`,
      { cause: error, retriable: error.retriable },
    );
  }
  return error;
}
