import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { formatAddress, parseAddress } from "./address.ts";

describe("parseAddress", () => {
  test("host, host:port, [v6]:port and a scheme", () => {
    assert.deepEqual(parseAddress("kafka:9093"), { host: "kafka", port: 9093 });
    assert.deepEqual(parseAddress("kafka"), { host: "kafka", port: 9092 });
    assert.deepEqual(parseAddress("[::1]:9094"), { host: "::1", port: 9094 });
    assert.deepEqual(parseAddress("::1"), { host: "::1", port: 9092 });
    assert.deepEqual(parseAddress(" kafka://b1:9095 "), {
      host: "b1",
      port: 9095,
    });
    assert.equal(formatAddress({ host: "::1", port: 9092 }), "[::1]:9092");
  });

  test("an empty host is refused, naming the address", () => {
    for (const address of [":9092", " :9092", "kafka://:9092", "kafka://"]) {
      assert.throws(() => parseAddress(address), {
        name: "TypeError",
        message: `Cannot parse broker address: the host is empty in ${
          JSON.stringify(address)
        }; expected "host:port", e.g. "localhost:9092"`,
      });
    }
  });

  test("credentials in the address are refused without being repeated", () => {
    assert.throws(() => parseAddress("alice:s3cret@127.0.0.1:9094"), {
      name: "TypeError",
      message:
        'Cannot parse broker address: expected "host:port", got "…@127.0.0.1:9094": credentials do not go in the address; give them as the "sasl" option',
    });
    assert.throws(
      () => parseAddress("kafka://alice:s3cret@b1:9094"),
      /got "…@b1:9094"/,
    );
  });

  test("a bad port or no text is refused", () => {
    assert.throws(() => parseAddress("kafka:"), /port must be 1\.\.65535/);
    assert.throws(() => parseAddress("kafka:0"), /port must be 1\.\.65535/);
    assert.throws(() => parseAddress(""), /expected "host:port", got ""/);
  });
});
