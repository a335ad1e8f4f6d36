import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { dial, Dialer, dialLeader, dialPartition } from "./dialer.ts";
import { validateFetch } from "./checks.ts";

// Nothing here connects: the options are checked before any socket opens.
const nowhere = "127.0.0.1:1";

describe("Dialer options", () => {
  test("a misspelt option is refused, naming the option meant", async () => {
    assert.throws(() => new Dialer({ timout: 5000 } as never), {
      name: "TypeError",
      message:
        'Cannot create Dialer: unknown option "timout"; did you mean "timeout"?',
    });
    await assert.rejects(dial(nowhere, { clientid: "c" } as never), {
      name: "TypeError",
      message:
        'Cannot create Dialer: unknown option "clientid"; did you mean "clientId"?',
    });
    await assert.rejects(
      dialLeader(nowhere, "t", 0, { requestTimeOut: 1 } as never),
      /unknown option "requestTimeOut"; did you mean "requestTimeout"\?/,
    );
  });

  test("the connection settings are checked as a transport's", () => {
    assert.throws(() => new Dialer({ clientId: 5 as never }), {
      name: "TypeError",
      message:
        'Cannot create Dialer: "clientId" must be a string, got 5 (number)',
    });
    assert.throws(() => new Dialer({ tls: "yes" as never }), {
      name: "TypeError",
      message:
        'Cannot create Dialer: "tls" must be true, false or the TLS options { ca, cert, key, servername }, got a string of 3 characters',
    });
    assert.throws(() => new Dialer({ sasl: { mechanism: "x" } as never }), {
      name: "TypeError",
      message: /^Cannot create Dialer: "sasl": "mechanism" must be one of/,
    });
  });

  test("timeouts: positive milliseconds up to 2^31 - 1", () => {
    for (const key of ["timeout", "requestTimeout"]) {
      assert.throws(() => new Dialer({ [key]: 2 ** 40 }), {
        name: "RangeError",
        message: new RegExp(
          `^Cannot create Dialer: "${key}" must be a positive number of milliseconds up to 2147483647 .*, got 1099511627776 \\(number\\)$`,
        ),
      });
      assert.throws(() => new Dialer({ [key]: "5" as never }), {
        name: "TypeError",
        message:
          `Cannot create Dialer: "${key}" must be a positive number of milliseconds, got "5" (string)`,
      });
      assert.throws(() => new Dialer({ [key]: -1 }), { name: "RangeError" });
    }
    assert.throws(() => new Dialer({ maxResponseSize: 0 }), {
      name: "RangeError",
      message:
        'Cannot create Dialer: "maxResponseSize" must be an integer from 1 to 2147483647, got 0 (number)',
    });
    new Dialer({ timeout: 2 ** 31 - 1, requestTimeout: 1, clientId: "" });
  });

  test("a dial's own options: only the signal", async () => {
    const dialer = new Dialer();
    await assert.rejects(dialer.dial(nowhere, { timeout: 5 } as never), {
      name: "TypeError",
      message:
        'Cannot dial: unknown option "timeout"; this call takes no timeout: pass "signal": AbortSignal.timeout(ms) to give up after ms milliseconds',
    });
    await assert.rejects(dialer.dial(nowhere, { signal: 5 } as never), {
      name: "TypeError",
      message: 'Cannot dial: "signal" must be an AbortSignal, got 5 (number)',
    });
    await assert.rejects(
      dialPartition(
        {
          topic: "t",
          id: 0,
          leader: { host: "127.0.0.1", port: 1 },
        } as never,
        { signal: "s" } as never,
      ),
      /^TypeError: Cannot dial: "signal" must be an AbortSignal/,
    );
    await assert.rejects(dialPartition(null as never), {
      name: "TypeError",
      message:
        'Cannot dial: "partition" must be a partition as metadata gives it ({ topic, id, leader }), got null',
    });
  });

  test("an empty host is refused before dialing", async () => {
    await assert.rejects(dial(":9092"), {
      name: "TypeError",
      message: /the host is empty in ":9092"/,
    });
  });
});

describe("validateFetch", () => {
  test("maxWait is at most 2^31 - 1 ms, the longest a timer waits", () => {
    validateFetch(0, 1, 2 ** 31 - 1);
    assert.throws(() => validateFetch(1, 1024, 2 ** 40), {
      name: "RangeError",
      message:
        'Cannot read a batch: "maxWait" must be an integer from 0 to 2147483647, got 1099511627776 (number)',
    });
    assert.throws(() => validateFetch(1, 1024, "10" as never), {
      name: "TypeError",
      message:
        'Cannot read a batch: "maxWait" must be an integer from 0 to 2147483647, got "10" (string)',
    });
    assert.throws(() => validateFetch(-1, 1024, 10), {
      name: "RangeError",
      message: /"minBytes" must be an integer from 0 to 2147483647, got -1/,
    });
    assert.throws(() => validateFetch(1, 2 ** 31, 10), /"maxBytes"/);
    assert.throws(
      () => validateFetch(10, 5, 10),
      /"minBytes" \(10\) must not exceed "maxBytes" \(5\)/,
    );
  });
});
