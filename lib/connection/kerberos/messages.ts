/**
 * The Kerberos V5 messages (RFC 4120) a client sends and reads: AS-REQ and
 * TGS-REQ to the KDC, AS-REP, TGS-REP and KRB-ERROR from it, AP-REQ to a
 * service and AP-REP back, with the parts encrypted inside them.
 *
 * @module
 */

import {
  application,
  Der,
  field,
  flags,
  generalString,
  integer,
  KerberosFormatError,
  kerberosTime,
  octets,
  sequence,
} from "./der.ts";
import type { EncryptionKey } from "./crypto.ts";

/** Message types (msg-type). */
export const MessageType = {
  AS_REQ: 10,
  AS_REP: 11,
  TGS_REQ: 12,
  TGS_REP: 13,
  AP_REQ: 14,
  AP_REP: 15,
  KRB_ERROR: 30,
} as const;

/** Key usage numbers (RFC 4120 section 7.5.1). */
export const KeyUsage = {
  PA_ENC_TIMESTAMP: 1,
  AS_REP_ENC_PART: 3,
  TGS_REQ_AUTH_CHECKSUM: 6,
  TGS_REQ_AUTHENTICATOR: 7,
  TGS_REP_ENC_PART: 8,
  AP_REQ_AUTHENTICATOR: 11,
  AP_REP_ENC_PART: 12,
} as const;

/** Pre-authentication data types. */
export const PaType = {
  TGS_REQ: 1,
  ENC_TIMESTAMP: 2,
  ETYPE_INFO2: 19,
} as const;

/** Principal name types. */
export const NameType = { PRINCIPAL: 1, SRV_INST: 2, SRV_HST: 3 } as const;

/** A principal's name within its realm. */
export interface PrincipalName {
  /** NT-PRINCIPAL (1) for users, NT-SRV-INST (2) for services. */
  readonly type: number;
  /** Its parts: ["alice"], ["kafka", "broker1.example.com"]. */
  readonly parts: readonly string[];
}

/** "kafka/host" for the parts. */
export function nameText(name: PrincipalName): string {
  return name.parts.join("/");
}

/** An encrypted part: its type, key version and ciphertext. */
export interface EncryptedData {
  readonly etype: number;
  readonly kvno?: number | undefined;
  readonly cipher: Uint8Array;
}

/** PA-DATA: a type and its value. */
export interface PaData {
  readonly type: number;
  readonly value: Uint8Array;
}

// ---------------------------------------------------------------------------
// Pieces

function principalName(name: PrincipalName): Uint8Array {
  return sequence(
    field(0, integer(name.type)),
    field(1, sequence(...name.parts.map(generalString))),
  );
}

function readPrincipalName(node: Der, what: string): PrincipalName {
  return {
    type: node.field(0, what).integer(),
    parts: node.field(1, what).items(what).map((p) => p.string()),
  };
}

/** EncryptedData. */
export function encryptedData(data: EncryptedData): Uint8Array {
  return sequence(
    field(0, integer(data.etype)),
    field(1, data.kvno === undefined ? undefined : integer(data.kvno)),
    field(2, octets(data.cipher)),
  );
}

function readEncryptedData(node: Der, what: string): EncryptedData {
  return {
    etype: node.field(0, what).integer(),
    kvno: node.optional(1, what)?.integer(),
    cipher: node.field(2, what).content,
  };
}

function readEncryptionKey(node: Der, what: string): EncryptionKey {
  return {
    type: node.field(0, what).integer(),
    value: node.field(1, what).content.slice(),
  };
}

function paData(pa: PaData): Uint8Array {
  return sequence(field(1, integer(pa.type)), field(2, octets(pa.value)));
}

function readPaData(node: Der | undefined, what: string): PaData[] {
  if (node === undefined) return [];
  return node.items(what).map((item) => ({
    type: item.field(1, what).integer(),
    value: item.field(2, what).content,
  }));
}

// ---------------------------------------------------------------------------
// KDC requests

/** What an AS-REQ or TGS-REQ body holds. */
export interface KdcRequestBody {
  /** The client (AS-REQ only). */
  readonly client?: PrincipalName | undefined;
  /** The realm of the server (and of the client, in an AS-REQ). */
  readonly realm: string;
  /** The service asked for: krbtgt/REALM, or kafka/host. */
  readonly server: PrincipalName;
  /** The latest end time wanted. */
  readonly till: Date;
  /** A random number the reply's encrypted part must repeat. */
  readonly nonce: number;
  /** The encryption types the client takes, in preference order. */
  readonly etypes: readonly number[];
}

/** KDCOptions: none beyond the defaults (no forwarding, no renewal). */
const NO_KDC_OPTIONS = 0;

/** KDC-REQ-BODY, on its own: a TGS-REQ checksums it. */
export function kdcRequestBody(body: KdcRequestBody): Uint8Array {
  return sequence(
    field(0, flags(NO_KDC_OPTIONS)),
    field(1, body.client && principalName(body.client)),
    field(2, generalString(body.realm)),
    field(3, principalName(body.server)),
    field(5, kerberosTime(body.till)),
    field(7, integer(body.nonce)),
    field(8, sequence(...body.etypes.map(integer))),
  );
}

/** AS-REQ or TGS-REQ, around an encoded body. */
export function kdcRequest(
  type: typeof MessageType.AS_REQ | typeof MessageType.TGS_REQ,
  padata: readonly PaData[],
  body: Uint8Array,
): Uint8Array {
  return application(
    type,
    field(1, integer(5)),
    field(2, integer(type)),
    ...(padata.length > 0 ? [field(3, sequence(...padata.map(paData)))] : []),
    field(4, body),
  );
}

/** A client time as Kerberos sends it: to the second, and microseconds. */
export interface ClientTime {
  /** The time, whole seconds and below. */
  readonly time: Date;
  /** Microseconds within the second (cusec), 0 to 999,999. */
  readonly usec: number;
}

let lastMs = 0;
let sameMs = 0;

/**
 * Now, with microseconds unique within this process (the milliseconds and
 * a counter): services that remember authenticators to refuse replays
 * (older MIT, Heimdal, Active Directory) key them on the client's time, and
 * a burst of connections with one ticket must not look like replays.
 */
export function clientTime(): ClientTime {
  const now = Date.now();
  sameMs = now === lastMs ? (sameMs + 1) % 1000 : 0;
  lastMs = now;
  return { time: new Date(now), usec: (now % 1000) * 1000 + sameMs };
}

/** PA-ENC-TS-ENC: the client's time, to be encrypted with its key. */
export function paEncTimestamp(now: ClientTime): Uint8Array {
  return sequence(
    field(0, kerberosTime(now.time)),
    field(1, integer(now.usec)),
  );
}

// ---------------------------------------------------------------------------
// KDC replies

/** An AS-REP or TGS-REP, its encrypted part not yet opened. */
export interface KdcReply {
  readonly type: number;
  readonly padata: readonly PaData[];
  readonly clientRealm: string;
  readonly client: PrincipalName;
  /** The ticket, as the KDC encoded it, to be sent on unchanged. */
  readonly ticket: Uint8Array;
  readonly encPart: EncryptedData;
}

/** What the encrypted part of a KDC reply says. */
export interface KdcReplyPart {
  /** The session key for the ticket. */
  readonly key: EncryptionKey;
  /** The request's nonce. */
  readonly nonce: number;
  readonly authTime: Date;
  readonly endTime: Date;
  readonly serverRealm: string;
  readonly server: PrincipalName;
}

/** A KRB-ERROR. */
export interface KrbError {
  readonly code: number;
  readonly text?: string | undefined;
  readonly data?: Uint8Array | undefined;
  readonly serverTime: Date;
}

/** What a KDC answered: a reply, or an error. */
export type KdcAnswer =
  | { readonly reply: KdcReply; readonly error?: undefined }
  | { readonly error: KrbError; readonly reply?: undefined };

/** Reads an AS-REP, TGS-REP or KRB-ERROR. */
export function readKdcAnswer(bytes: Uint8Array): KdcAnswer {
  const top = Der.read(bytes, "KDC answer");
  const tag = top.tag & 0x1f;
  if (tag === MessageType.KRB_ERROR) return { error: readKrbError(top) };
  if (tag !== MessageType.AS_REP && tag !== MessageType.TGS_REP) {
    throw new KerberosFormatError(
      `the KDC answered with message type ${tag}, not a reply or an error`,
    );
  }
  const what = tag === MessageType.AS_REP ? "AS-REP" : "TGS-REP";
  const rep = top.application(tag, what);
  return {
    reply: {
      type: tag,
      padata: readPaData(rep.optional(2, what), what),
      clientRealm: rep.field(3, what).string(),
      client: readPrincipalName(rep.field(4, what), what),
      ticket: rep.field(5, what).whole,
      encPart: readEncryptedData(rep.field(6, what), what),
    },
  };
}

/** Reads a KRB-ERROR (also what a service may answer an AP-REQ with). */
export function readKrbError(top: Der): KrbError {
  const what = "KRB-ERROR";
  const e = top.application(MessageType.KRB_ERROR, what);
  return {
    code: e.field(6, what).integer(),
    text: e.optional(11, what)?.string(),
    data: e.optional(12, what)?.content,
    serverTime: e.field(4, what).time(),
  };
}

/**
 * The decrypted EncASRepPart or EncTGSRepPart (some KDCs tag an AS reply's
 * part as a TGS one: either is taken).
 */
export function readKdcReplyPart(bytes: Uint8Array): KdcReplyPart {
  const what = "the KDC reply's encrypted part";
  const top = Der.read(bytes, what);
  const part = top.application(top.tag & 0x1f, what);
  if ((top.tag & 0x1f) !== 25 && (top.tag & 0x1f) !== 26) {
    throw new KerberosFormatError(`${what}: unexpected tag`);
  }
  return {
    key: readEncryptionKey(part.field(0, what), what),
    nonce: part.field(2, what).integer(),
    authTime: part.field(5, what).time(),
    endTime: part.field(7, what).time(),
    serverRealm: part.field(9, what).string(),
    server: readPrincipalName(part.field(10, what), what),
  };
}

/** An entry of PA-ETYPE-INFO2: how the KDC salts a password for a type. */
export interface EtypeInfo {
  readonly etype: number;
  readonly salt?: string | undefined;
  /** PBKDF2 iterations, from s2kparams. */
  readonly iterations?: number | undefined;
}

/** The PA-ETYPE-INFO2 entries in METHOD-DATA (a KRB-ERROR's e-data) or padata. */
export function readEtypeInfo(padata: readonly PaData[]): EtypeInfo[] {
  const out: EtypeInfo[] = [];
  for (const pa of padata) {
    if (pa.type !== PaType.ETYPE_INFO2) continue;
    const what = "PA-ETYPE-INFO2";
    for (const entry of Der.read(pa.value, what).items(what)) {
      const params = entry.optional(2, what)?.content;
      out.push({
        etype: entry.field(0, what).integer(),
        salt: entry.optional(1, what)?.string(),
        iterations: params?.length === 4
          ? new DataView(params.buffer, params.byteOffset, 4).getUint32(0)
          : undefined,
      });
    }
  }
  return out;
}

/** METHOD-DATA (a sequence of PA-DATA), as a KRB-ERROR's e-data holds it. */
export function readMethodData(bytes: Uint8Array): PaData[] {
  return readPaData(Der.read(bytes, "METHOD-DATA"), "METHOD-DATA");
}

// ---------------------------------------------------------------------------
// AP exchange

/** A checksum: its type and bytes. */
export interface Checksum {
  readonly type: number;
  readonly value: Uint8Array;
}

/** What an Authenticator says. */
export interface AuthenticatorFields {
  readonly realm: string;
  readonly client: PrincipalName;
  readonly checksum?: Checksum | undefined;
  readonly time: ClientTime;
  readonly sequenceNumber?: number | undefined;
}

/** Authenticator, to be encrypted with the ticket's session key. */
export function authenticator(a: AuthenticatorFields): Uint8Array {
  return application(
    2,
    field(0, integer(5)),
    field(1, generalString(a.realm)),
    field(2, principalName(a.client)),
    ...(a.checksum
      ? [
        field(
          3,
          sequence(
            field(0, integer(a.checksum.type)),
            field(1, octets(a.checksum.value)),
          ),
        ),
      ]
      : []),
    field(4, integer(a.time.usec)),
    field(5, kerberosTime(a.time.time)),
    ...(a.sequenceNumber === undefined
      ? []
      : [field(7, integer(a.sequenceNumber))]),
  );
}

/** AP-OPTIONS bit: the service must prove itself with an AP-REP. */
export const MUTUAL_REQUIRED = 0x20000000;

/** AP-REQ: the ticket (as the KDC encoded it) and the encrypted authenticator. */
export function apRequest(
  ticket: Uint8Array,
  encrypted: EncryptedData,
  options = 0,
): Uint8Array {
  return application(
    MessageType.AP_REQ,
    field(0, integer(5)),
    field(1, integer(MessageType.AP_REQ)),
    field(2, flags(options)),
    field(3, ticket),
    field(4, encryptedData(encrypted)),
  );
}

/** The encrypted part of an AP-REP. */
export function readApReply(top: Der): EncryptedData {
  const what = "AP-REP";
  return readEncryptedData(
    top.application(MessageType.AP_REP, what).field(2, what),
    what,
  );
}

/** What the service's AP-REP says, decrypted. */
export interface ApReplyPart {
  readonly time: Date;
  readonly microseconds: number;
  readonly subkey?: EncryptionKey | undefined;
  readonly sequenceNumber?: number | undefined;
}

/** Reads EncAPRepPart. */
export function readApReplyPart(bytes: Uint8Array): ApReplyPart {
  const what = "EncAPRepPart";
  const part = Der.read(bytes, what).application(27, what);
  const subkey = part.optional(2, what);
  const seq = part.optional(3, what);
  return {
    time: part.field(0, what).time(),
    microseconds: part.field(1, what).integer(),
    subkey: subkey && readEncryptionKey(subkey, what),
    sequenceNumber: seq === undefined ? undefined : seq.integer() >>> 0,
  };
}
