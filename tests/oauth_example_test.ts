/** examples/oauth_produce_consume.ts, run against the broker's SASL_PLAINTEXT listener. */

import assert from "node:assert/strict";
import process from "node:process";
import { describe, test } from "node:test";
import { main } from "../examples/oauth_produce_consume.ts";
import { noUnhandledRejections, uniqueTopic } from "./_helpers.ts";

const SASL = process.env.KAFKA_SASL_BROKERS?.split(",")[0] ??
  "127.0.0.1:9094";
const text = new TextDecoder();

describe("OAUTHBEARER example", () => {
  test("writes and reads three messages with a bearer token", async () => {
    await noUnhandledRejections(async () => {
      const messages = await main(SASL, uniqueTopic("oauth-example"));
      assert.deepEqual(messages.map((m) => text.decode(m.value!)), [
        "one",
        "two",
        "three",
      ]);
      assert.deepEqual(messages.map((m) => m.offset), [0, 1, 2]);
    });
  });
});
