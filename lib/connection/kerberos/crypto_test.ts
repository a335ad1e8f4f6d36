import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  checksum,
  ctsDecrypt,
  ctsEncrypt,
  decrypt,
  encrypt,
  IntegrityError,
  nfold,
  stringToKey,
  usageKey,
} from "./crypto.ts";

const ascii = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) =>
  Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) =>
  new Uint8Array(s.match(/../g)!.map((h) => parseInt(h, 16)));

describe("Kerberos AES crypto", () => {
  // RFC 3961 appendix A.1.
  test("n-fold matches RFC 3961's vectors", () => {
    const cases: [string, number, string][] = [
      ["012345", 64, "be072631276b1955"],
      ["password", 56, "78a07b6caf85fa"],
      ["Rough Consensus, and Running Code", 64, "bb6ed30870b7f0e0"],
      ["password", 168, "59e4a8ca7c0385c3c37b3f6d2000247cb6e6bd5b3e"],
      [
        "MASSACHVSETTS INSTITVTE OF TECHNOLOGY",
        192,
        "db3b0d8f0b061e603282b308a50841229ad798fab9540c1b",
      ],
      ["Q", 168, "518a54a215a8452a518a54a215a8452a518a54a215"],
      ["ba", 168, "fb25d531ae8974499f52fd92ea9857c4ba24cf297e"],
      ["kerberos", 64, "6b65726265726f73"],
      ["kerberos", 128, "6b65726265726f737b9b5b2b93132b93"],
    ];
    for (const [input, bits, expected] of cases) {
      assert.equal(hex(nfold(ascii(input), bits / 8)), expected, input);
    }
  });

  // RFC 3962 appendix B: key "chicken teriyaki", IV zero.
  test("AES-CTS matches RFC 3962's vectors and decrypts back", async () => {
    const key = ascii("chicken teriyaki");
    const cases: [string, string][] = [
      [
        "4920776f756c64206c696b652074686520",
        "c6353568f2bf8cb4d8a580362da7ff7f97",
      ],
      [
        "4920776f756c64206c696b65207468652047656e6572616c20476175277320",
        "fc00783e0efdb2c1d445d4c8eff7ed2297687268d6ecccc0c07b25e25ecfe5",
      ],
      [
        "4920776f756c64206c696b65207468652047656e6572616c2047617527732043",
        "39312523a78662d5be7fcbcc98ebf5a897687268d6ecccc0c07b25e25ecfe584",
      ],
    ];
    for (const [plain, cipher] of cases) {
      assert.equal(hex(await ctsEncrypt(key, unhex(plain))), cipher);
      assert.equal(hex(await ctsDecrypt(key, unhex(cipher))), plain);
    }
    // Every length from one block to four, both ways.
    for (let n = 16; n <= 64; n++) {
      const plain = new Uint8Array(n).map((_, i) => i * 7);
      const cipher = await ctsEncrypt(key, plain);
      assert.equal(cipher.length, n);
      assert.deepEqual(await ctsDecrypt(key, cipher), plain, `length ${n}`);
    }
  });

  // RFC 3962 appendix B: "password", salt "ATHENA.MIT.EDUraeburn".
  test("string-to-key matches RFC 3962's vectors", async () => {
    const salt = "ATHENA.MIT.EDUraeburn";
    assert.equal(
      hex((await stringToKey(17, "password", salt, 1)).value),
      "42263c6e89f4fc28b8df68ee09799f15",
    );
    assert.equal(
      hex((await stringToKey(18, "password", salt, 1)).value),
      "fe697b52bc0d3ce14432ba036a92e65bbb52280990a2fa27883998d72af30161",
    );
    assert.equal(
      hex((await stringToKey(17, "password", salt, 2)).value),
      "c651bf29e2300ac27fa469d693bdda13",
    );
  });

  test("encrypt and decrypt round trip; a changed byte or key is refused", async () => {
    const key = await stringToKey(18, "alice-secret", "EXAMPLE.COMalice");
    for (const n of [0, 1, 15, 16, 17, 100]) {
      const plain = new Uint8Array(n).map((_, i) => i);
      const cipher = await encrypt(key, 11, plain);
      assert.equal(cipher.length, 16 + n + 12);
      assert.deepEqual(await decrypt(key, 11, cipher), plain);
      cipher[cipher.length - 13] ^= 1;
      await assert.rejects(decrypt(key, 11, cipher), IntegrityError);
    }
    const cipher = await encrypt(key, 3, ascii("ticket"));
    await assert.rejects(decrypt(key, 4, cipher), IntegrityError);
  });

  // RFC 8009 appendix A: aes128-cts-hmac-sha256-128 and
  // aes256-cts-hmac-sha384-192.
  const rfc8009 = {
    19: {
      key: "3705d96080c17728a0e800eab6e0d23c",
      ke: "9b197dd1e8c5609d6e67c3e37c62c72e",
      ki: "9fda0e56ab2d85e1569a688696c26a6c",
      kc: "b31a018a48f54776f403e9a396325dc3",
      s2k: "089bca48b105ea6ea77ca5d2f39dc5e7",
      checksum: "d78367186643d67b411cba9139fc1dee",
      encrypted: [
        [
          "",
          "7e5895eaf2672435bad817f545a37148",
          "ef85fb890bb8472f4dab20394dca781dad877eda39d50c870c0d5a0a8e48c718",
        ],
        [
          "000102030405",
          "7bca285e2fd4130fb55b1a5c83bc5b24",
          "84d7f30754ed987bab0bf3506beb09cfb55402cef7e6877ce99e247e52d16ed4421dfdf8976c",
        ],
        [
          "000102030405060708090a0b0c0d0e0f",
          "56ab21713ff62c0a1457200f6fa9948f",
          "3517d640f50ddc8ad3628722b3569d2ae07493fa8263254080ea65c1008e8fc295fb4852e7d83e1e7c48c37eebe6b0d3",
        ],
        [
          "000102030405060708090a0b0c0d0e0f1011121314",
          "a7a4e29a4728ce10664fb64e49ad3fac",
          "720f73b18d9859cd6ccb4346115cd336c70f58edc0c4437c5573544c31c813bce1e6d072c186b39a413c2f92ca9b8334a287ffcbfc",
        ],
      ],
    },
    20: {
      key: "6d404d37faf79f9df0d33568d320669800eb4836472ea8a026d16b7182460c52",
      ke: "56ab22bee63d82d7bc5227f6773f8ea7a5eb1c825160c38312980c442e5c7e49",
      ki: "69b16514e3cd8e56b82010d5c73012b622c4d00ffc23ed1f",
      kc: "ef5718be86cc84963d8bbb5031e9f5c4ba41f28faf69e73d",
      s2k: "45bd806dbf6a833a9cffc1c94589a222367a79bc21c413718906e9f578a78467",
      checksum: "45ee791567eefca37f4ac1e0222de80d43c3bfa06699672a",
      encrypted: [
        [
          "",
          "f764e9fa15c276478b2c7d0c4e5f58e4",
          "41f53fa5bfe7026d91faf9be959195a058707273a96a40f0a01960621ac612748b9bbfbe7eb4ce3c",
        ],
        [
          "000102030405",
          "b80d3251c1f6471494256ffe712d0b9a",
          "4ed7b37c2bcac8f74f23c1cf07e62bc7b75fb3f637b9f559c7f664f69eab7b6092237526ea0d1f61cb20d69d10f2",
        ],
        [
          "000102030405060708090a0b0c0d0e0f",
          "53bf8a0d105265d4e276428624ce5e63",
          "bc47ffec7998eb91e8115cf8d19dac4bbbe2e163e87dd37f49beca92027764f68cf51f14d798c2273f35df574d1f932e40c4ff255b36a266",
        ],
        [
          "000102030405060708090a0b0c0d0e0f1011121314",
          "763e65367e864f02f55153c7e3b58af1",
          "40013e2df58e8751957d2878bcd2d6fe101ccfd556cb1eae79db3c3ee86429f2b2a602ac86fef6ecb647d6295fae077a1feb517508d2c16b4192e01f62",
        ],
      ],
    },
  } as const;

  test("RFC 8009's key derivation, string-to-key, encryption and checksum vectors", async () => {
    const salt = new Uint8Array([
      ...unhex("10df9dd783e5bc8acea1730e74355f61"),
      ...ascii("ATHENA.MIT.EDUraeburn"),
    ]);
    for (const type of [19, 20] as const) {
      const v = rfc8009[type];
      const key = { type, value: unhex(v.key) };
      assert.equal(hex(await usageKey(key, 2, 0xaa)), v.ke, `Ke of ${type}`);
      assert.equal(hex(await usageKey(key, 2, 0x55)), v.ki, `Ki of ${type}`);
      assert.equal(hex(await usageKey(key, 2, 0x99)), v.kc, `Kc of ${type}`);
      assert.equal(
        hex((await stringToKey(type, "password", salt, 32768)).value),
        v.s2k,
      );
      assert.equal(
        hex(
          await checksum(
            key,
            2,
            unhex("000102030405060708090a0b0c0d0e0f1011121314"),
          ),
        ),
        v.checksum,
      );
      for (const [plain, confounder, cipher] of v.encrypted) {
        const p = plain === "" ? new Uint8Array(0) : unhex(plain);
        assert.equal(hex(await encrypt(key, 2, p, unhex(confounder))), cipher);
        assert.deepEqual(await decrypt(key, 2, unhex(cipher)), p);
        const changed = unhex(cipher);
        changed[0] ^= 1;
        await assert.rejects(decrypt(key, 2, changed), IntegrityError);
      }
    }
  });
});
