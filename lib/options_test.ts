import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  checkCallOptions,
  checkDuration,
  checkOptionNames,
  checkTimeout,
  describeValue,
  guardCallbacks,
  MAX_TIMEOUT,
  optionNames,
} from "./options.ts";
import { Writer } from "./producer/writer.ts";
import { Reader } from "./consumer/reader.ts";
import { Client } from "./admin/client.ts";

// Nothing here connects: constructors check their options first, and the
// Writer, Reader and Client connect lazily.
const brokers = ["127.0.0.1:1"];

describe("option names", () => {
  test("a misspelt option is refused, naming the option meant", () => {
    assert.throws(
      () => new Writer({ brokers, batchsize: 5 } as never),
      {
        name: "TypeError",
        message:
          'Cannot create Writer: unknown option "batchsize"; did you mean "batchSize"?',
      },
    );
    assert.throws(
      () => new Reader({ brokers, topic: "t", groupID: "g" } as never),
      {
        message:
          'Cannot create Reader: unknown option "groupID"; did you mean "groupId"?',
      },
    );
  });

  test("a name in other case is that option, before any one a few letters off", () => {
    // "maxbytes" is two edits from "minBytes" too, listed before it.
    assert.throws(
      () => new Reader({ brokers, topic: "t", maxbytes: 5 } as never),
      {
        message:
          'Cannot create Reader: unknown option "maxbytes"; did you mean "maxBytes"?',
      },
    );
    assert.throws(
      () => new Reader({ brokers, topic: "t", MAXWAIT: 5 } as never),
      { message: /unknown option "MAXWAIT"; did you mean "maxWait"\?$/ },
    );
    // Else the nearest: "maxByte" is one edit from "maxBytes", two from
    // "minBytes".
    assert.throws(
      () => new Reader({ brokers, topic: "t", maxByte: 5 } as never),
      { message: /unknown option "maxByte"; did you mean "maxBytes"\?$/ },
    );
    const names = optionNames<{ abcd?: 1; abxy?: 1 }>()("abcd", "abxy");
    assert.throws(
      () => checkOptionNames("Cannot do it", { abxz: 1 }, names),
      { message: 'Cannot do it: unknown option "abxz"; did you mean "abxy"?' },
    );
  });

  test("a transport setting given beside the options says it goes in transport", () => {
    for (const name of ["tls", "sasl", "clientId", "dialTimeout"]) {
      assert.throws(
        () => new Writer({ brokers, [name]: true } as never),
        {
          message:
            `Cannot create Writer: unknown option "${name}"; it goes in "transport": { ${name} }`,
        },
      );
    }
    assert.throws(
      () => new Client({ brokers, tls: true } as never),
      {
        message:
          /^Cannot create Client: unknown option "tls"; it goes in "transport"/,
      },
    );
  });

  test("other clients' names say what they are here", () => {
    assert.throws(
      () => new Reader({ brokers, topic: "t", ssl: true } as never),
      {
        message:
          /unknown option "ssl"; TLS goes in "transport": \{ tls: true \}/,
      },
    );
    assert.throws(
      () =>
        new Writer(
          { brokers, transport: { connectionTimeout: 5000 } } as never,
        ),
      {
        message:
          'Cannot create Writer: "transport": unknown option "connectionTimeout"; it is "transport": { dialTimeout } here',
      },
    );
  });

  test("transport's names are checked, and transport must be an object", () => {
    assert.throws(
      () => new Client({ brokers, transport: { tsl: true } } as never),
      {
        message:
          'Cannot create Client: "transport": unknown option "tsl"; did you mean "tls"?',
      },
    );
    assert.throws(
      () => new Reader({ brokers, topic: "t", transport: "tls" } as never),
      {
        name: "TypeError",
        message:
          'Cannot create Reader: "transport" must be an object, got "tls" (string)',
      },
    );
  });

  test("an unknown name with nothing like it lists the options", () => {
    assert.throws(
      () => new Client({ brokers, retries: 3 } as never),
      {
        message:
          'Cannot create Client: unknown option "retries"; the options are "brokers", "timeout", "transport", "cluster"',
      },
    );
  });

  test("an option set to undefined passes, as do all known ones", async () => {
    const writer = new Writer({
      brokers,
      topic: "t",
      transport: { clientId: "c", tls: undefined, dialTimeout: 1000 },
      extra: undefined,
    } as never);
    await writer.close();
    const client = new Client({ brokers, timeout: 1000, transport: {} });
    await client.close();
  });

  test("checkOptionNames and optionNames", () => {
    interface Options {
      alpha?: number;
      beta?: string;
    }
    const names = optionNames<Options>()("alpha", "beta");
    assert.deepEqual([...names], ["alpha", "beta"]);
    checkOptionNames("Cannot do it", { alpha: 1, beta: "b" }, names);
    assert.throws(
      () => checkOptionNames("Cannot do it", { alpha: 1, gamma: 2 }, names),
      {
        message:
          'Cannot do it: unknown option "gamma"; the options are "alpha", "beta"',
      },
    );
  });
});

describe("millisecond options", () => {
  test("checkTimeout: a positive number of milliseconds a timer can wait", () => {
    checkTimeout("Cannot do it", "timeout", undefined);
    checkTimeout("Cannot do it", "timeout", 0.5);
    checkTimeout("Cannot do it", "timeout", MAX_TIMEOUT);
    assert.equal(MAX_TIMEOUT, 2147483647);
    for (const bad of [MAX_TIMEOUT + 1, 30 * 24 * 3600 * 1000, Infinity]) {
      assert.throws(() => checkTimeout("Cannot do it", "timeout", bad), {
        name: "RangeError",
        message:
          `Cannot do it: "timeout" must be a positive number of milliseconds up to 2147483647 (about 24.8 days, the longest a timer waits), got ${bad} (number)`,
      });
    }
    for (const bad of [0, -1, NaN]) {
      assert.throws(() => checkTimeout("Cannot do it", "timeout", bad), {
        name: "RangeError",
        message:
          `Cannot do it: "timeout" must be a positive number of milliseconds, got ${bad} (number)`,
      });
    }
    assert.throws(() => checkTimeout("Cannot do it", "timeout", "5"), {
      name: "TypeError",
      message:
        'Cannot do it: "timeout" must be a positive number of milliseconds, got "5" (string)',
    });
  });

  test("checkDuration: milliseconds from min to 2^31 - 1", () => {
    checkDuration("Cannot do it", "backoff", 0);
    checkDuration("Cannot do it", "backoff", 1.5);
    checkDuration("Cannot do it", "backoff", MAX_TIMEOUT);
    for (const bad of [-1, NaN, Infinity, MAX_TIMEOUT + 1]) {
      assert.throws(() => checkDuration("Cannot do it", "backoff", bad), {
        name: "RangeError",
        message:
          `Cannot do it: "backoff" must be a number of milliseconds from 0 to 2147483647, got ${bad} (number)`,
      });
    }
    assert.throws(() => checkDuration("Cannot do it", "backoff", null), {
      name: "TypeError",
    });
    assert.throws(() => checkDuration("Cannot do it", "backoff", 0, 1), {
      message: /"backoff" must be a number of milliseconds from 1 to/,
    });
  });

  test("a call's timeout above 2^31 - 1 ms is refused, not fired at once", () => {
    checkCallOptions("Cannot make the call", { timeout: MAX_TIMEOUT });
    assert.throws(
      () => checkCallOptions("Cannot make the call", { timeout: 2 ** 40 }),
      {
        name: "RangeError",
        message:
          /^Cannot make the call: "timeout" must be a positive number of milliseconds up to 2147483647 .*, got 1099511627776 \(number\)$/,
      },
    );
  });

  test("the Client's timeout: positive and at most 2^31 - 1 ms", async () => {
    assert.throws(
      () => new Client({ brokers, timeout: 30 * 24 * 3600 * 1000 }),
      {
        name: "RangeError",
        message:
          /^Cannot create Client: "timeout" must be a positive number of milliseconds up to 2147483647 .*, got 2592000000 \(number\)$/,
      },
    );
    assert.throws(
      () => new Client({ brokers, timeout: "5000" as never }),
      {
        name: "TypeError",
        message:
          'Cannot create Client: "timeout" must be a positive number of milliseconds, got "5000" (string)',
      },
    );
    assert.throws(() => new Client({ brokers, timeout: 0 }), {
      name: "RangeError",
    });
    const client = new Client({ brokers, timeout: MAX_TIMEOUT });
    await client.close();
  });
});

test("describeValue shows a Date as a time, and an invalid one as such", () => {
  assert.equal(
    describeValue(new Date(Date.UTC(2026, 11, 6))),
    "2026-12-06T00:00:00.000Z (Date)",
  );
  assert.equal(describeValue(new Date(NaN)), "an invalid Date");
  assert.equal(describeValue("1"), '"1" (string)');
});

test("guardCallbacks: what logger and completion throw goes to errorLogger; what errorLogger throws is dropped", () => {
  const told: string[] = [];
  const options = guardCallbacks({
    logger: (_message: string) => {
      throw new Error("disk full");
    },
    errorLogger: (message: string) => void told.push(message),
    completion: () => {
      throw "not an Error";
    },
    topic: "t",
  }, "kafka writer");
  assert.equal(options.topic, "t");
  options.logger!("x");
  options.completion!();
  assert.deepEqual(told, [
    "kafka writer: the logger threw: disk full",
    "kafka writer: completion threw: not an Error",
  ]);
  const silent = guardCallbacks({
    errorLogger: (_message: string) => {
      throw new Error("no");
    },
  }, "kafka reader");
  silent.errorLogger!("x");
  const none: { topic: string; logger?: (message: string) => void } = {
    topic: "t",
  };
  assert.equal(guardCallbacks(none, "kafka reader"), none);
});

test("guardCallbacks: an async callback's rejection goes to errorLogger too, never unhandled", async () => {
  const told: string[] = [];
  const options = guardCallbacks({
    logger: async (_message: string) => {
      await null;
      throw new Error("async logger");
    },
    errorLogger: (message: string) => void told.push(message),
    completion: () => Promise.reject(new Error("async completion")),
  }, "kafka writer");
  options.logger!("x");
  options.completion!();
  const silent = guardCallbacks({
    errorLogger: (_message: string) => Promise.reject(new Error("no")),
  }, "kafka reader");
  silent.errorLogger!("x");
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(told.sort(), [
    "kafka writer: completion threw: async completion",
    "kafka writer: the logger threw: async logger",
  ]);
});
