import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ctsDecrypt,
  ctsEncrypt,
  decrypt,
  encrypt,
  IntegrityError,
  nfold,
  stringToKey,
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
});
