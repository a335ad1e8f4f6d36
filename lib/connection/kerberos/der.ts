/**
 * The part of ASN.1 DER that Kerberos (RFC 4120) messages use: building
 * them from tagged pieces, and reading them back as a tree of
 * tag-length-value nodes whose context-tagged fields are looked up by
 * number.
 *
 * @module
 */

/** Universal tags. */
export const INTEGER = 0x02;
const BIT_STRING = 0x03;
const OCTET_STRING = 0x04;
const OBJECT_IDENTIFIER = 0x06;
const GENERALIZED_TIME = 0x18;
const GENERAL_STRING = 0x1b;
const SEQUENCE = 0x30;

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** A Kerberos message that does not parse. */
export class KerberosFormatError extends Error {
  /** An error with `message`. */
  constructor(message: string) {
    super(message);
    this.name = "KerberosFormatError";
  }
}

// ---------------------------------------------------------------------------
// Building

/** A node: its tag byte, then its length, then `content`. */
export function tlv(tag: number, content: Uint8Array): Uint8Array {
  const n = content.length;
  const head = n < 0x80
    ? [tag, n]
    : n < 0x100
    ? [tag, 0x81, n]
    : n < 0x10000
    ? [tag, 0x82, n >> 8, n & 0xff]
    : n < 0x1000000
    ? [tag, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]
    : [tag, 0x84, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  const out = new Uint8Array(head.length + n);
  out.set(head);
  out.set(content, head.length);
  return out;
}

/** The pieces one after the other. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** SEQUENCE of the pieces (undefined ones, absent OPTIONAL fields, skipped). */
export function sequence(...parts: (Uint8Array | undefined)[]): Uint8Array {
  return tlv(SEQUENCE, concat(...parts.filter((p) => p !== undefined)));
}

/** `[APPLICATION n]` around a SEQUENCE, as Kerberos messages are tagged. */
export function application(n: number, ...parts: Uint8Array[]): Uint8Array {
  return tlv(0x60 | n, sequence(...parts));
}

/** An explicit `[n]` field, or nothing when `value` is undefined. */
export function field(n: number, value: Uint8Array): Uint8Array;
export function field(
  n: number,
  value: Uint8Array | undefined,
): Uint8Array | undefined;
export function field(
  n: number,
  value: Uint8Array | undefined,
): Uint8Array | undefined {
  return value === undefined ? undefined : tlv(0xa0 | n, value);
}

/** INTEGER, from -2^31 to 2^32 - 1 (Int32 and UInt32 in RFC 4120). */
export function integer(value: number): Uint8Array {
  const bytes: number[] = [];
  let v = value;
  // Little-endian bytes of the two's complement, then trimmed.
  for (let i = 0; i < 5; i++) {
    bytes.push(((v % 256) + 256) % 256);
    v = Math.floor(v / 256);
  }
  bytes.reverse();
  while (
    bytes.length > 1 &&
    ((bytes[0] === 0 && bytes[1] < 0x80) ||
      (bytes[0] === 0xff && bytes[1] >= 0x80))
  ) {
    bytes.shift();
  }
  return tlv(INTEGER, new Uint8Array(bytes));
}

/** OCTET STRING. */
export function octets(value: Uint8Array): Uint8Array {
  return tlv(OCTET_STRING, value);
}

/** KerberosString (GeneralString holding IA5 text). */
export function generalString(value: string): Uint8Array {
  return tlv(GENERAL_STRING, utf8.encode(value));
}

/** KerberosTime: GeneralizedTime to the second, in UTC ("YYYYMMDDHHMMSSZ"). */
export function kerberosTime(time: Date): Uint8Array {
  const iso = time.toISOString(); // 2026-12-05T21:30:00.000Z
  const digits = iso.slice(0, 19).replace(/[-T:]/g, "") + "Z";
  return tlv(GENERALIZED_TIME, utf8.encode(digits));
}

/** KerberosFlags: a 32-bit BIT STRING, bit 0 the most significant. */
export function flags(bits: number): Uint8Array {
  return tlv(
    BIT_STRING,
    new Uint8Array([
      0,
      (bits >>> 24) & 0xff,
      (bits >>> 16) & 0xff,
      (bits >>> 8) & 0xff,
      bits & 0xff,
    ]),
  );
}

/** OBJECT IDENTIFIER from its dotted form. */
export function objectIdentifier(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map(Number);
  const bytes = [40 * arcs[0] + arcs[1]];
  for (const arc of arcs.slice(2)) {
    const groups = [arc & 0x7f];
    for (let v = arc >>> 7; v > 0; v >>>= 7) groups.unshift(0x80 | (v & 0x7f));
    bytes.push(...groups);
  }
  return tlv(OBJECT_IDENTIFIER, new Uint8Array(bytes));
}

// ---------------------------------------------------------------------------
// Reading

/** One node of a parsed message. */
export class Der {
  /** The tag byte. */
  readonly tag: number;
  /** The content, a view into the message. */
  readonly content: Uint8Array;
  /** The whole node, tag and length included (e.g. a Ticket to send back). */
  readonly whole: Uint8Array;

  private constructor(tag: number, content: Uint8Array, whole: Uint8Array) {
    this.tag = tag;
    this.content = content;
    this.whole = whole;
  }

  /** The node at the start of `bytes`; `what` names it in errors. */
  static read(bytes: Uint8Array, what: string): Der {
    return Der.at(bytes, 0, what);
  }

  /** The node starting at `at`. */
  private static at(bytes: Uint8Array, at: number, what: string): Der {
    if (at + 2 > bytes.length) throw truncated(what);
    const tag = bytes[at];
    if ((tag & 0x1f) === 0x1f) {
      throw new KerberosFormatError(`${what}: multi-byte tags are not used`);
    }
    let length = bytes[at + 1];
    let start = at + 2;
    if (length & 0x80) {
      const count = length & 0x7f;
      if (count === 0 || count > 4 || start + count > bytes.length) {
        throw new KerberosFormatError(`${what}: bad length`);
      }
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + bytes[start + i];
      start += count;
    }
    const end = start + length;
    if (end > bytes.length) throw truncated(what);
    return new Der(tag, bytes.subarray(start, end), bytes.subarray(at, end));
  }

  /** The nodes inside a constructed node. */
  children(what = "message"): Der[] {
    const out: Der[] = [];
    for (let at = 0; at < this.content.length;) {
      const child = Der.at(this.content, at, what);
      out.push(child);
      at += child.whole.length;
    }
    return out;
  }

  /** The node inside `[APPLICATION n]`, checked. */
  application(n: number, what: string): Der {
    if (this.tag !== (0x60 | n)) {
      throw new KerberosFormatError(
        `${what}: expected [APPLICATION ${n}], got tag 0x${
          this.tag.toString(16)
        }`,
      );
    }
    return Der.at(this.content, 0, what);
  }

  /** The value of explicit field `[n]` of this SEQUENCE, or undefined. */
  optional(n: number, what = "message"): Der | undefined {
    for (const child of this.children(what)) {
      if (child.tag === (0xa0 | n)) return Der.at(child.content, 0, what);
    }
    return undefined;
  }

  /** The value of explicit field `[n]`, which must be there. */
  field(n: number, what: string): Der {
    const value = this.optional(n, what);
    if (value === undefined) {
      throw new KerberosFormatError(`${what}: field [${n}] is missing`);
    }
    return value;
  }

  /** An INTEGER's value (up to 48 bits). */
  integer(): number {
    const c = this.content;
    let v = 0;
    for (const byte of c) v = v * 256 + byte;
    // Two's complement: a leading 1 bit makes it negative.
    return c.length > 0 && c[0] & 0x80 ? v - 256 ** c.length : v;
  }

  /** A string's text. */
  string(): string {
    return text.decode(this.content);
  }

  /** A KerberosTime. */
  time(): Date {
    const s = this.string();
    const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z$/.exec(s);
    if (!m) throw new KerberosFormatError(`bad KerberosTime "${s}"`);
    return new Date(
      Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]),
    );
  }

  /** The items of a SEQUENCE OF. */
  items(what = "message"): Der[] {
    return this.children(what);
  }
}

function truncated(what: string): KerberosFormatError {
  return new KerberosFormatError(`${what}: truncated`);
}
