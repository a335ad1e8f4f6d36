/** examples/mtls_produce_consume.ts against the broker's MTLS listener. */

import assert from "node:assert/strict";
import process from "node:process";
import { describe, test } from "node:test";
import { main } from "../examples/mtls_produce_consume.ts";
import {
  CA_PEM,
  CLIENT_CERT_PEM,
  CLIENT_KEY_PEM,
  PORTS,
} from "../tools/kafka.ts";
import { noUnhandledRejections, uniqueTopic } from "./_helpers.ts";

const env = process.env;
const MTLS = env.KAFKA_MTLS_BROKERS?.split(",")[0] ??
  `127.0.0.1:${PORTS.MTLS}`;

describe("mutual TLS example", () => {
  test("writes and reads back three messages over mutual TLS", async () => {
    await noUnhandledRejections(async () => {
      const topic = uniqueTopic("mtls-example");
      const messages = await main(MTLS, topic, {
        ca: env.KAFKA_CA_PEM ?? CA_PEM,
        cert: env.KAFKA_CLIENT_CERT_PEM ?? CLIENT_CERT_PEM,
        key: env.KAFKA_CLIENT_KEY_PEM ?? CLIENT_KEY_PEM,
      });
      const text = new TextDecoder();
      assert.deepEqual(
        messages.map((m) => [text.decode(m.key!), text.decode(m.value!)]),
        [["1", "first, signed"], ["2", "second, signed"], [
          "3",
          "third, signed",
        ]],
      );
      assert.deepEqual(messages.map((m) => m.offset), [0, 1, 2]);
      assert.ok(messages.every((m) => m.topic === topic && m.partition === 0));
    });
  });
});
