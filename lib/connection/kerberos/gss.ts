/**
 * The Kerberos GSS-API mechanism's tokens (RFC 1964 framing, RFC 4121
 * per-message tokens) as SASL GSSAPI (RFC 4752) uses them: the initial
 * context token around an AP-REQ, the acceptor's AP-REP or KRB-ERROR, and
 * Wrap tokens for the security-layer negotiation that ends the exchange.
 *
 * @module
 */

import {
  checksum as keyedChecksum,
  decrypt,
  type EncryptionKey,
  IntegrityError,
  macLength,
} from "./crypto.ts";
import {
  concat,
  Der,
  KerberosFormatError,
  objectIdentifier,
  tlv,
} from "./der.ts";

/** The Kerberos V5 GSS-API mechanism. */
const KRB5_OID = objectIdentifier("1.2.840.113554.1.2.2");

/** Token ids of the initial context tokens. */
export const TokenId = {
  AP_REQ: 0x0100,
  AP_REP: 0x0200,
  ERROR: 0x0300,
} as const;

/** The checksum type of the GSS authenticator checksum (RFC 4121 4.1.1). */
export const GSS_CHECKSUM_TYPE = 0x8003;

/** Context flags the initiator asks for. */
export const GssFlag = {
  MUTUAL: 2,
  REPLAY: 4,
  SEQUENCE: 8,
  CONF: 16,
  INTEG: 32,
} as const;

/** Key usages of Wrap tokens (RFC 4121 section 2). */
const ACCEPTOR_SEAL = 22;
const INITIATOR_SEAL = 24;

/** Wrap token flags. */
const SENT_BY_ACCEPTOR = 0x01;
const SEALED = 0x02;
const ACCEPTOR_SUBKEY = 0x04;

const HEADER = 16;

/**
 * The authenticator checksum's bytes: the length of the channel bindings
 * hash (16), that hash (zeros: no channel bindings), and the flags, the
 * numbers little-endian.
 */
export function gssChecksum(flags: number): Uint8Array {
  const out = new Uint8Array(24);
  const view = new DataView(out.buffer);
  view.setUint32(0, 16, true);
  view.setUint32(20, flags, true);
  return out;
}

/** The initial context token: the mechanism, a token id, a Kerberos message. */
export function initialToken(id: number, message: Uint8Array): Uint8Array {
  return tlv(
    0x60,
    concat(KRB5_OID, new Uint8Array([id >> 8, id & 0xff]), message),
  );
}

/** The token id and message of an initial context token. */
export function readInitialToken(
  bytes: Uint8Array,
): { id: number; message: Der } {
  const what = "the broker's GSS-API token";
  const top = Der.read(bytes, what);
  if (top.tag !== 0x60) {
    throw new KerberosFormatError(`${what}: not an initial context token`);
  }
  const oid = Der.read(top.content, what);
  if (!sameBytes(oid.whole, KRB5_OID)) {
    throw new KerberosFormatError(
      `${what}: not for the Kerberos V5 mechanism (1.2.840.113554.1.2.2)`,
    );
  }
  const rest = top.content.subarray(oid.whole.length);
  if (rest.length < 2) throw new KerberosFormatError(`${what}: truncated`);
  return {
    id: (rest[0] << 8) | rest[1],
    message: Der.read(rest.subarray(2), what),
  };
}

/** What a Wrap token is made with: the context's key and its side. */
export interface WrapContext {
  /** The acceptor's subkey when it sent one, else the session key. */
  readonly key: EncryptionKey;
  /** Whether `key` is the acceptor's subkey (a flag of every token). */
  readonly acceptorSubkey: boolean;
}

/**
 * A Wrap token from the initiator without confidentiality: the header,
 * the message, and a checksum over both (taken with EC and RRC zero).
 */
export async function wrap(
  context: WrapContext,
  sequenceNumber: number,
  message: Uint8Array,
): Promise<Uint8Array> {
  const header = new Uint8Array(HEADER);
  const view = new DataView(header.buffer);
  view.setUint16(0, 0x0504);
  header[2] = context.acceptorSubkey ? ACCEPTOR_SUBKEY : 0;
  header[3] = 0xff;
  view.setUint32(12, sequenceNumber >>> 0);
  const mac = await keyedChecksum(
    context.key,
    INITIATOR_SEAL,
    concat(message, header),
  );
  view.setUint16(4, mac.length); // EC: the checksum's length
  return concat(header, message, mac);
}

/** The message inside a Wrap token from the acceptor, checked. */
export async function unwrap(
  context: WrapContext,
  token: Uint8Array,
): Promise<Uint8Array> {
  const what = "the broker's Wrap token";
  if (token.length < HEADER || token[0] !== 0x05 || token[1] !== 0x04) {
    throw new KerberosFormatError(`${what}: not an RFC 4121 Wrap token`);
  }
  const flags = token[2];
  if (!(flags & SENT_BY_ACCEPTOR)) {
    throw new KerberosFormatError(`${what}: not sent by the acceptor`);
  }
  if (token[3] !== 0xff) {
    throw new KerberosFormatError(`${what}: its filler byte is not 0xFF`);
  }
  if (Boolean(flags & ACCEPTOR_SUBKEY) !== context.acceptorSubkey) {
    throw new KerberosFormatError(
      `${what}: its AcceptorSubkey flag does not match the key the broker chose`,
    );
  }
  const view = new DataView(token.buffer, token.byteOffset, token.length);
  const ec = view.getUint16(4);
  const rrc = view.getUint16(6);
  const body = rotateLeft(token.subarray(HEADER), rrc);
  const header = token.slice(0, HEADER);
  header[6] = header[7] = 0; // RRC is zero in what is protected
  if (flags & SEALED) {
    // Encrypted: message, EC filler bytes, then a copy of the header.
    const plain = await decrypt(context.key, ACCEPTOR_SEAL, body);
    const end = plain.length - HEADER - ec;
    if (end < 0 || !sameBytes(plain.subarray(plain.length - HEADER), header)) {
      throw new IntegrityError(`${what}: its header does not match`);
    }
    return plain.subarray(0, end);
  }
  // Without confidentiality, EC is the checksum's length.
  if (ec !== macLength(context.key.type) || ec > body.length) {
    throw new KerberosFormatError(
      `${what}: its checksum length (EC ${ec}) is not the key type's`,
    );
  }
  const message = body.subarray(0, body.length - ec);
  header[4] = header[5] = 0; // EC too, without confidentiality
  const mac = await keyedChecksum(
    context.key,
    ACCEPTOR_SEAL,
    concat(message, header),
  );
  if (!sameBytes(mac, body.subarray(body.length - ec))) {
    throw new IntegrityError(`${what}: its checksum is wrong`);
  }
  return message.slice();
}

function rotateLeft(bytes: Uint8Array, count: number): Uint8Array {
  if (bytes.length === 0) return bytes;
  const n = count % bytes.length;
  return n === 0 ? bytes : concat(bytes.subarray(n), bytes.subarray(0, n));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
