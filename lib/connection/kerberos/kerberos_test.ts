import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { checksum, IntegrityError, stringToKey } from "./crypto.ts";
import { concat, Der, integer, kerberosTime } from "./der.ts";
import { unwrap, wrap } from "./gss.ts";
import { readKeytab } from "./keytab.ts";
import { principalText, readCredentialCache } from "./ccache.ts";
import { KerberosError } from "./errors.ts";
import { KerberosClient } from "./kdc.ts";
import { parseRealmKdcs } from "./krb5_conf.ts";

describe("Kerberos pieces", () => {
  test("DER integers and times read back as written", () => {
    for (
      const v of [
        0,
        1,
        127,
        128,
        255,
        256,
        -1,
        -128,
        -129,
        2 ** 31 - 1,
        2 ** 32 - 1,
        -(2 ** 31),
      ]
    ) {
      assert.equal(Der.read(integer(v), "int").integer(), v, String(v));
    }
    assert.deepEqual([...integer(128)], [2, 2, 0, 128]);
    assert.deepEqual([...integer(-129)], [2, 2, 0xff, 0x7f]);
    const t = new Date(Date.UTC(2026, 11, 5, 21, 30, 7));
    assert.equal(
      new TextDecoder().decode(Der.read(kerberosTime(t), "time").content),
      "20261205213007Z",
    );
    assert.deepEqual(Der.read(kerberosTime(t), "time").time(), t);
  });

  test("krb5.conf: the realm's kdc lines, not another realm's or a nested block's", () => {
    const conf = `
[libdefaults]
  default_realm = EXAMPLE.COM   # a comment
  kdc = not-this
[realms]
  EXAMPLE.COM = {
    kdc = kdc1.example.com:88
    kdc = kdc2.example.com
    admin_server = admin.example.com
    auth_to_local = {
      kdc = not-this-either
    }
  }
  OTHER.ORG = {
    kdc = kdc.other.org
  }
[domain_realm]
  .example.com = EXAMPLE.COM
`;
    assert.deepEqual(parseRealmKdcs(conf, "EXAMPLE.COM"), [
      "kdc1.example.com:88",
      "kdc2.example.com",
    ]);
    assert.deepEqual(parseRealmKdcs(conf, "OTHER.ORG"), ["kdc.other.org"]);
    assert.deepEqual(parseRealmKdcs(conf, "NONE"), []);
  });

  test("keytabs: entries, holes and 32-bit key versions; refusals say why", () => {
    const entry = (
      parts: string[],
      realm: string,
      kvno8: number,
      type: number,
      key: number[],
      kvno32?: number,
    ) => {
      const enc = new TextEncoder();
      const counted = (s: string) => {
        const b = enc.encode(s);
        return concat(new Uint8Array([b.length >> 8, b.length & 0xff]), b);
      };
      const body = concat(
        new Uint8Array([0, parts.length]),
        counted(realm),
        ...parts.map(counted),
        new Uint8Array([0, 0, 0, 1, 0, 0, 0, 0, kvno8, 0, type, 0, key.length]),
        new Uint8Array(key),
        kvno32 === undefined
          ? new Uint8Array(0)
          : new Uint8Array([0, 0, kvno32 >> 8, kvno32 & 0xff]),
      );
      const size = new Uint8Array(4);
      new DataView(size.buffer).setInt32(0, body.length);
      return concat(size, body);
    };
    const hole = new Uint8Array([0xff, 0xff, 0xff, 0xfc, 9, 9, 9, 9]); // -4
    const bytes = concat(
      new Uint8Array([5, 2]),
      entry(["alice"], "EXAMPLE.COM", 3, 18, Array(32).fill(1)),
      hole,
      entry(
        ["kafka", "b1.example.com"],
        "EXAMPLE.COM",
        255,
        17,
        Array(16).fill(2),
        300,
      ),
    );
    // MIT ends a keytab with a zero length, zeros after it.
    const entries = readKeytab(concat(bytes, new Uint8Array(8)));
    assert.deepEqual(
      entries.map((e) => [e.principal, e.kvno, e.key.type, e.key.value.length]),
      [
        ["alice@EXAMPLE.COM", 3, 18, 32],
        ["kafka/b1.example.com@EXAMPLE.COM", 300, 17, 16],
      ],
    );
    assert.throws(
      () => readKeytab(new Uint8Array([5, 1])),
      /must start with 0x0502.*got 0x0501/,
    );
    assert.throws(() => readKeytab(bytes.subarray(0, 30)), /truncated/);
  });

  test("Wrap tokens: ours have RFC 4121's header; the acceptor's are checked and rotated back", async () => {
    const key = await stringToKey(18, "k", "EXAMPLE.COMk");
    const context = { key, acceptorSubkey: true };
    const ours = await wrap(context, 7, new Uint8Array([1, 0, 0, 0]));
    assert.deepEqual([...ours.subarray(0, 8)], [5, 4, 4, 0xff, 0, 12, 0, 0]);
    assert.deepEqual([...ours.subarray(12, 20)], [0, 0, 0, 7, 1, 0, 0, 0]);
    // Ours is not the acceptor's: refused if fed back.
    await assert.rejects(unwrap(context, ours), /not sent by the acceptor/);

    // An acceptor's token, built as RFC 4121 says, rotated by RRC 5.
    const message = new Uint8Array([7, 0, 16, 0]);
    const header = new Uint8Array([
      5,
      4,
      1 | 4,
      0xff,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      9,
    ]);
    const mac = await checksum(key, 22, concat(message, header));
    header[5] = 12;
    header[7] = 5;
    const body = concat(message, mac);
    const rotated = concat(
      body.subarray(body.length - 5),
      body.subarray(0, body.length - 5),
    );
    assert.deepEqual(await unwrap(context, concat(header, rotated)), message);
    const bad = concat(header, rotated);
    bad[bad.length - 1] ^= 1;
    await assert.rejects(unwrap(context, bad), IntegrityError);
  });

  test("credential caches (versions 3 and 4): tickets with their keys, configuration entries left out", () => {
    const enc = new TextEncoder();
    const u16 = (v: number) => new Uint8Array([v >> 8, v & 0xff]);
    const u32 = (v: number) => {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, v);
      return b;
    };
    const data = (b: Uint8Array) => concat(u32(b.length), b);
    const principal = (realm: string, ...parts: string[]) =>
      concat(
        u32(1),
        u32(parts.length),
        data(enc.encode(realm)),
        ...parts.map((p) => data(enc.encode(p))),
      );
    const credential = (v3: boolean, server: Uint8Array, end: number) =>
      concat(
        principal("EXAMPLE.COM", "alice"),
        server,
        u16(18),
        v3 ? u16(18) : new Uint8Array(0),
        data(new Uint8Array(32).fill(7)),
        u32(1_800_000_000), // auth time
        u32(0), // start time: none
        u32(end),
        u32(0), // renew till
        new Uint8Array([0]),
        u32(0x40e10000),
        u32(0), // addresses
        u32(0), // authorization data
        data(new Uint8Array([0x61, 3, 1, 2, 3])), // the ticket
        data(new Uint8Array(0)),
      );
    for (const v3 of [false, true]) {
      const bytes = concat(
        u16(v3 ? 0x0503 : 0x0504),
        v3
          ? new Uint8Array(0)
          : concat(u16(12), u16(1), u16(8), new Uint8Array(8)),
        principal("EXAMPLE.COM", "alice"),
        credential(
          v3,
          principal("X-CACHECONF:", "krb5_ccache_conf_data", "pa_type"),
          0,
        ),
        credential(
          v3,
          principal("EXAMPLE.COM", "krbtgt", "EXAMPLE.COM"),
          1_800_086_400,
        ),
      );
      const cache = readCredentialCache(bytes);
      assert.equal(principalText(cache.principal), "alice@EXAMPLE.COM");
      assert.equal(cache.credentials.length, 1);
      const [c] = cache.credentials;
      assert.equal(principalText(c.server), "krbtgt/EXAMPLE.COM@EXAMPLE.COM");
      assert.deepEqual([c.key.type, c.key.value.length], [18, 32]);
      assert.deepEqual(c.startTime, new Date(1_800_000_000_000));
      assert.deepEqual(c.endTime, new Date(1_800_086_400_000));
      assert.deepEqual([...c.ticket], [0x61, 3, 1, 2, 3]);
      assert.throws(
        () => readCredentialCache(bytes.subarray(0, bytes.length - 3)),
        /ends at byte/,
      );
    }
    assert.throws(
      () => readCredentialCache(new Uint8Array([5, 2, 0])),
      /0x0503 or 0x0504.*got 0x0502/,
    );
  });

  test("a cached ticket-granting ticket that expired, or is missing, says to run kinit", async () => {
    const tgt = {
      client: { realm: "EXAMPLE.COM", parts: ["alice"] },
      server: { realm: "EXAMPLE.COM", parts: ["krbtgt", "EXAMPLE.COM"] },
      key: { type: 18, value: new Uint8Array(32) },
      authTime: new Date(Date.now() - 7_200_000),
      startTime: new Date(Date.now() - 7_200_000),
      endTime: new Date(Date.now() - 60_000),
      ticket: new Uint8Array([1]),
    };
    const client = (credentials: typeof tgt[]) =>
      new KerberosClient({
        client: { type: 1, parts: ["alice"] },
        realm: "EXAMPLE.COM",
        secret: {
          ticketCache: () =>
            Promise.resolve({ principal: tgt.client, credentials }),
        },
        kdcs: [],
      });
    const service = { type: 3, parts: ["kafka", "b1"] };
    await assert.rejects(
      client([tgt]).ticket(service),
      (e) =>
        e instanceof KerberosError && e.code === 32 &&
        /ticket-granting ticket for alice@EXAMPLE\.COM expired at .*: run kinit alice@EXAMPLE\.COM again/
          .test(e.message),
    );
    await assert.rejects(
      client([]).ticket(service),
      /holds no ticket-granting ticket \(krbtgt\/EXAMPLE\.COM@EXAMPLE\.COM\) for alice@EXAMPLE\.COM: run kinit/,
    );
  });
});
