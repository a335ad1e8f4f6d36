import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { checksum, IntegrityError, stringToKey } from "./crypto.ts";
import { concat, Der, integer, kerberosTime } from "./der.ts";
import { unwrap, wrap } from "./gss.ts";
import { readKeytab } from "./keytab.ts";
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
    const entries = readKeytab(bytes);
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
});
