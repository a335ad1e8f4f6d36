/**
 * SASL as a pluggable interface and re-authentication (KIP-368), against
 * the broker's REAUTH listener, whose sessions last REAUTH_MS: a Writer and
 * a Reader keep their connections for several lifetimes, authenticating
 * again between requests, through a mechanism the test itself defines.
 */

import assert from "node:assert/strict";
import process from "node:process";
import { after, describe, test } from "node:test";
import {
  Client,
  Cluster,
  dial,
  ErrorCode,
  KafkaError,
  Reader,
  type SaslAuthenticator,
  scram,
  Writer,
} from "../mod.ts";
import type { BrokerConnection } from "../lib/connection/connection.ts";
import { REAUTH_MS, SASL_PASSWORD, SASL_USERNAME } from "../tools/kafka.ts";
import { BROKER, sleep, uniqueTopic } from "./_helpers.ts";

const REAUTH = process.env.KAFKA_REAUTH_BROKERS ?? "127.0.0.1:9098";
const SASL = process.env.KAFKA_SASL_BROKERS ?? "127.0.0.1:9094";
const text = new TextDecoder();

/** A mechanism defined here: SCRAM-SHA-512 that counts its exchanges. */
function counting(): SaslAuthenticator & { first: number; again: number } {
  const inner = scram("SCRAM-SHA-512", SASL_USERNAME, SASL_PASSWORD);
  const auth = {
    mechanism: inner.mechanism,
    first: 0,
    again: 0,
    begin(context: Parameters<SaslAuthenticator["begin"]>[0]) {
      if (context.reauthentication) auth.again++;
      else auth.first++;
      return inner.begin(context);
    },
  };
  return auth;
}

/** The open connections of a Cluster, by key. */
async function connections(
  cluster: Cluster,
): Promise<Map<string, BrokerConnection>> {
  const found = new Map<string, BrokerConnection>();
  for (const key of cluster.connectionKeys()) {
    const [node, lane] = key.split("/");
    if (!/^\d+$/.test(node)) continue;
    found.set(key, await cluster.connection(Number(node), lane));
  }
  return found;
}

describe("SASL mechanisms and re-authentication", () => {
  const admin = new Client({ brokers: [BROKER] });
  after(() => admin.close());

  test("a mechanism defined by the caller authenticates a Writer and a Reader", async () => {
    const topic = uniqueTopic("sasl-custom");
    await admin.createTopics([{ topic }]);
    let exchanges = 0;
    const encoder = new TextEncoder();
    const custom: SaslAuthenticator = {
      mechanism: "PLAIN",
      begin: () => {
        exchanges++;
        return {
          start: () =>
            encoder.encode(`\u0000${SASL_USERNAME}\u0000${SASL_PASSWORD}`),
          next: (answer) => {
            assert.equal(answer.length, 0);
            return null;
          },
        };
      },
    };
    const writer = new Writer({
      brokers: [SASL],
      topic,
      transport: { sasl: custom },
    });
    await writer.writeMessages({ value: "custom" });
    await writer.close();
    const reader = new Reader({
      brokers: [SASL],
      topic,
      partition: 0,
      transport: { sasl: custom },
    });
    try {
      const m = await reader.readMessage();
      assert.equal(text.decode(m.value!), "custom");
    } finally {
      await reader.close();
    }
    assert.ok(exchanges >= 2, `${exchanges} exchanges`);
  });

  test("failures name the mechanism: one the listener does not enable lists those it does", async () => {
    const unknown: SaslAuthenticator = {
      mechanism: "GSSAPI",
      begin: () => {
        throw new Error("not reached");
      },
    };
    const error = await dial(SASL, { sasl: unknown }).then(
      (conn) => {
        conn.close();
        return null;
      },
      (e) => e,
    );
    assert.ok(error instanceof KafkaError, String(error));
    assert.equal(error.code, ErrorCode.UNSUPPORTED_SASL_MECHANISM);
    assert.match(
      error.message,
      /enables .*PLAIN.*SCRAM-SHA-512.* on this listener, not GSSAPI/,
    );
    const wrong = await dial(SASL, {
      sasl: {
        mechanism: "SCRAM-SHA-256",
        username: SASL_USERNAME,
        password: "wrong",
      },
    }).then((conn) => {
      conn.close();
      return null;
    }, (e) => e);
    assert.ok(wrong instanceof Error);
    assert.match(wrong.message, /SCRAM-SHA-256/);
    assert.match(wrong.message, /SASL_AUTHENTICATION_FAILED|refused/);
    const failing: SaslAuthenticator = {
      mechanism: "PLAIN",
      begin: () => ({
        start: () => {
          throw new Error("the vault is sealed");
        },
        next: () => null,
      }),
    };
    const own = await dial(SASL, { sasl: failing }).then((conn) => {
      conn.close();
      return null;
    }, (e) => e);
    assert.ok(own instanceof KafkaError);
    assert.match(own.message, /127\.0\.0\.1:9094, PLAIN: the vault is sealed/);
  });

  test(`a Writer and a Reader run for several ${REAUTH_MS} ms sessions without a reconnect`, async () => {
    const topic = uniqueTopic("sasl-reauth");
    await admin.createTopics([{ topic }]);
    const sasl = counting();
    const cluster = new Cluster({ brokers: [REAUTH], sasl });
    const writer = new Writer({ cluster, topic });
    const reader = new Reader({ cluster, topic, partition: 0, maxWait: 500 });
    const read: string[] = [];
    // readMessage, not `for await`: leaving that loop would close the
    // Reader's fetch connection, which is what the test watches.
    const reading = (async () => {
      while (read.length < 60) {
        read.push(text.decode((await reader.readMessage()).value!));
      }
    })();
    try {
      await writer.writeMessages({ value: "m0" });
      while (read.length === 0) await sleep(20);
      const before = await connections(cluster);
      const dialled = sasl.first;
      assert.ok(before.size >= 2, `connections: ${[...before.keys()]}`);
      // Four lifetimes and more: 60 writes, one every 80 ms.
      for (let i = 1; i < 60; i++) {
        await writer.writeMessages({ value: `m${i}` });
        await sleep(Math.ceil((REAUTH_MS * 4.5) / 60));
      }
      await reading;
      const later = await connections(cluster);
      for (const [key, conn] of before) {
        assert.equal(later.get(key), conn, `${key} was not replaced`);
        assert.equal(conn.isClosed, false);
        assert.ok(
          conn.reauthentications >= 3,
          `${key}: ${conn.reauthentications} re-authentications`,
        );
      }
      assert.deepEqual(read, Array.from({ length: 60 }, (_, i) => `m${i}`));
      assert.ok(sasl.again >= 3 * before.size, `${sasl.again} again`);
      assert.equal(sasl.first, dialled, "no connection was dialled again");
    } finally {
      await writer.close();
      await reader.close();
      await cluster.close();
    }
  });
});
