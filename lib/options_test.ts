import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { checkOptionNames, optionNames } from "./options.ts";
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
