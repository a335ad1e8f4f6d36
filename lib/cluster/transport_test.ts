import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { checkConnectionSettings, checkTransport } from "./transport.ts";
import { Writer } from "../producer/writer.ts";
import { Reader } from "../consumer/reader.ts";
import { Client } from "../admin/client.ts";
import { Cluster } from "./cluster.ts";
import { validateShareReader } from "../consumer/share/options.ts";

// Nothing here connects: the constructors check their options first.
const brokers = ["127.0.0.1:1"];
const context = 'Cannot create Writer: "transport"';

/** The message `new Writer({ brokers, transport })` throws, and its type. */
function writerError(transport: unknown): Error {
  try {
    new Writer({ brokers, transport } as never);
  } catch (error) {
    return error as Error;
  }
  assert.fail(`accepted transport ${JSON.stringify(transport)}`);
}

describe("transport values", () => {
  test("clientId is a string: a number failed at the first write before", () => {
    const error = writerError({ clientId: 5 });
    assert.ok(error instanceof TypeError);
    assert.equal(
      error.message,
      `${context}: "clientId" must be a string, got 5 (number)`,
    );
    assert.match(
      writerError({ clientId: "é".repeat(20_000) }).message,
      /"clientId" must be at most 32767 bytes \(UTF-8\), got 40000$/,
    );
  });

  test("dialTimeout: positive milliseconds up to 2^31 - 1", () => {
    const cases: [unknown, string, string][] = [
      ["5", "TypeError", '"5" (string)'],
      [NaN, "RangeError", "NaN (number)"],
      [-1, "RangeError", "-1 (number)"],
      [0, "RangeError", "0 (number)"],
    ];
    for (const [bad, name, shown] of cases) {
      const error = writerError({ dialTimeout: bad });
      assert.equal(error.name, name, String(bad));
      assert.equal(
        error.message,
        `${context}: "dialTimeout" must be a positive number of milliseconds, got ${shown}`,
      );
    }
    const error = writerError({ dialTimeout: 2 ** 31 });
    assert.ok(error instanceof RangeError);
    assert.match(
      error.message,
      /"dialTimeout" must be a positive number of milliseconds up to 2147483647 .*, got 2147483648 \(number\)$/,
    );
  });

  test("metadataTTL and idleTimeout: milliseconds from 0 to 2^31 - 1 (idleTimeout Infinity too, as on a Cluster)", () => {
    assert.doesNotThrow(() =>
      new Writer({ brokers: ["b:9092"], transport: { idleTimeout: Infinity } })
    );
    for (const key of ["metadataTTL", "idleTimeout"]) {
      const bads = key === "idleTimeout"
        ? [NaN, -1, 2 ** 31]
        : [NaN, -1, Infinity, 2 ** 31];
      for (const bad of bads) {
        const error = writerError({ [key]: bad });
        assert.ok(error instanceof RangeError, `${key} ${bad}`);
        assert.equal(
          error.message,
          `${context}: "${key}" must be a number of milliseconds from 0 to 2147483647, got ${bad} (number)`,
        );
      }
      assert.ok(writerError({ [key]: "60000" }) instanceof TypeError);
    }
  });

  test("tls: a boolean or TLS options", () => {
    // Their values are not shown: TLS and SASL settings may hold secrets.
    for (
      const [bad, shown] of [["yes", "a string of 3 characters"], [
        5,
        "a number",
      ]]
    ) {
      const error = writerError({ tls: bad });
      assert.ok(error instanceof TypeError);
      assert.equal(
        error.message,
        `${context}: "tls" must be true, false or the TLS options { ca, cert, key, servername }, got ${shown}`,
      );
    }
    assert.match(writerError({ tls: null }).message, /"tls" must be .* null$/);
    assert.match(writerError({ tls: ["a"] }).message, /got an array of 1$/);
    assert.equal(
      writerError({ tls: { cafile: "x.pem" } }).message,
      `${context}: "tls": unknown option "cafile"; the options are "ca", "cert", "key", "servername"`,
    );
    assert.equal(
      writerError({ tls: { ca: 5 } }).message,
      `${context}: "tls.ca" must be PEM text or a list of PEM texts, got a number`,
    );
    assert.match(
      writerError({ tls: { ca: ["pem", 1] } }).message,
      /"tls\.ca" must be PEM text or a list of PEM texts, got an array of 2$/,
    );
    assert.match(
      writerError({ tls: { cert: new Uint8Array(1), key: "k" } }).message,
      /"tls\.cert" must be a PEM string, got a Uint8Array of 1 bytes: read the file as text/,
    );
    assert.match(
      writerError({ tls: { cert: "c" } }).message,
      /"tls\.key" is missing: "tls\.cert" is set/,
    );
    assert.match(
      writerError({ tls: { key: "k" } }).message,
      /"tls\.cert" is missing: "tls\.key" is set/,
    );
    assert.match(
      writerError({ tls: { servername: 1 } }).message,
      /"tls\.servername" must be a host name \(a string\), got a number$/,
    );
  });

  test("sasl: checked at construction, not at the first connection", () => {
    assert.equal(
      writerError({ sasl: "plain" }).message,
      `${context}: "sasl" must be { mechanism, username, password } or a SaslAuthenticator, got a string of 5 characters`,
    );
    const unknown = writerError({ sasl: { mechanism: "x" } });
    assert.ok(unknown instanceof TypeError);
    assert.match(
      unknown.message,
      /^Cannot create Writer: "transport": "sasl": "mechanism" must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, got "x"/,
    );
    assert.equal(
      writerError({ sasl: { mechanism: "PLAIN" } }).message,
      `${context}: "sasl": "username" must be a non-empty string`,
    );
  });

  test("good values pass", async () => {
    checkTransport("Cannot do it", {
      clientId: "",
      tls: { ca: ["a", "b"], cert: "c", key: "k", servername: "kafka" },
      sasl: { mechanism: "PLAIN", username: "u", password: "" },
      metadataTTL: 0,
      dialTimeout: 0.5,
      idleTimeout: 2 ** 31 - 1,
    });
    checkConnectionSettings("Cannot do it", { tls: false });
    checkConnectionSettings("Cannot do it", { tls: true, clientId: "c" });
    const writer = new Writer({
      brokers,
      transport: { tls: { ca: "pem" }, idleTimeout: 0, metadataTTL: 1000 },
    });
    await writer.close();
  });

  test("the Reader, the Client and the ShareReader check them too", () => {
    assert.throws(
      () =>
        new Reader({
          brokers,
          topic: "t",
          transport: { tls: 5 as never },
        }),
      {
        name: "TypeError",
        message: /^Cannot create Reader: "transport": "tls" must be true/,
      },
    );
    assert.throws(
      () => new Client({ brokers, transport: { idleTimeout: -1 } }),
      {
        name: "RangeError",
        message:
          'Cannot create Client: "transport": "idleTimeout" must be a number of milliseconds from 0 to 2147483647, got -1 (number)',
      },
    );
    assert.throws(
      () =>
        validateShareReader({
          brokers,
          groupId: "g",
          topics: ["t"],
          transport: { clientId: {} as never },
        } as never),
      {
        name: "TypeError",
        message:
          'Cannot create ShareReader: "transport": "clientId" must be a string, got {} (object)',
      },
    );
  });
});

describe("new Cluster(options)", () => {
  const fails = (options: unknown, name: string, message: string | RegExp) =>
    assert.throws(() => new Cluster(options as never), { name, message });
  const at = "Cannot create Cluster";

  test("names: a misspelt option is refused, with what was meant", () => {
    fails(
      { brokers, conectTimeout: 1000 },
      "TypeError",
      `${at}: unknown option "conectTimeout"; did you mean "connectTimeout"?`,
    );
    fails(
      { brokers, metadataTTL: 1000 },
      "TypeError",
      /^Cannot create Cluster: unknown option "metadataTTL"; the options are "brokers", "metadataMaxAge"/,
    );
  });

  test("brokers: a non-empty list of strings", () => {
    for (
      const [bad, shown] of [
        [undefined, "undefined"],
        [[], "[] (array)"],
        ["localhost:9092", '"localhost:9092" (string)'],
      ] as const
    ) {
      fails(
        { brokers: bad },
        "TypeError",
        `${at}: "brokers" must list at least one "host:port", got ${shown}`,
      );
    }
    // Each element is named: a hole or an empty string would otherwise
    // fail only at the first request.
    fails(
      { brokers: [9092] },
      "TypeError",
      `${at}: "brokers[0]" must be "host:port", got 9092 (number)`,
    );
    fails(
      // deno-lint-ignore no-sparse-arrays
      { brokers: ["localhost:9092", , "b:1"] },
      "TypeError",
      `${at}: "brokers[1]" must be "host:port", got undefined`,
    );
    fails(
      { brokers: ["localhost:9092", "a:x"] },
      "TypeError",
      /^Cannot create Cluster: "brokers\[1\]": Cannot parse broker address/,
    );
    fails(null, "TypeError", `${at}: the options must be an object, got null`);
  });

  test("values: connection settings, milliseconds, sizes", () => {
    fails(
      { brokers, clientId: 5 },
      "TypeError",
      `${at}: "clientId" must be a string, got 5 (number)`,
    );
    fails(
      { brokers, tls: "yes" },
      "TypeError",
      /^Cannot create Cluster: "tls"/,
    );
    fails(
      { brokers, sasl: { mechanism: "PLAIN" } },
      "TypeError",
      /^Cannot create Cluster: "sasl": /,
    );
    for (const key of ["connectTimeout", "requestTimeout"]) {
      fails(
        { brokers, [key]: 0 },
        "RangeError",
        `${at}: "${key}" must be a positive number of milliseconds, got 0 (number)`,
      );
    }
    for (
      const key of ["metadataMaxAge", "reconnectBackoffMin", "idleTimeout"]
    ) {
      fails(
        { brokers, [key]: -1 },
        "RangeError",
        `${at}: "${key}" must be a number of milliseconds from 0 to 2147483647, got -1 (number)`,
      );
    }
    fails(
      { brokers, reconnectBackoffMin: 500, reconnectBackoffMax: 100 },
      "RangeError",
      `${at}: "reconnectBackoffMin" (500) must not exceed "reconnectBackoffMax" (100)`,
    );
    fails(
      { brokers, maxResponseSize: 0.5 },
      "RangeError",
      `${at}: "maxResponseSize" must be a whole number of bytes from 1 to 2147483647, got 0.5 (number)`,
    );
  });

  test("good options pass; idleTimeout may be Infinity, as documented", async () => {
    const cluster = new Cluster({
      brokers,
      clientId: "c",
      tls: false,
      connectTimeout: 1000,
      requestTimeout: 2 ** 31 - 1,
      metadataMaxAge: 0,
      reconnectBackoffMin: 10,
      reconnectBackoffMax: 10,
      idleTimeout: Infinity,
      maxResponseSize: 1 << 20,
      sasl: undefined,
    });
    assert.equal(cluster.metadataMaxAge, 0);
    await cluster.close();
  });
});
