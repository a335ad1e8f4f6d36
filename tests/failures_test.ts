/**
 * What retrying cannot fix fails at once and says why; what it can fix is
 * retried within a deadline, on one reconnection loop per broker; and a
 * failed stream write never leaves an unhandled rejection behind.
 */

import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import {
  Cluster,
  type Conn,
  ConnectionError,
  dial,
  KafkaError,
  ProtocolError,
  Reader,
  TimeoutError,
  WriteErrors,
  Writer,
} from "../mod.ts";
import {
  BROKER,
  noUnhandledRejections,
  readPartition,
  runScript,
  uniqueTopic,
} from "./_helpers.ts";

const HOST = BROKER.split(":")[0];
const SASL_PLAINTEXT = `${HOST}:9094`;
const SSL = `${HOST}:9095`;
const text = new TextDecoder();

/** Writes one message with `options`; resolves with the error and the seconds it took. */
async function failedWrite(
  options: ConstructorParameters<typeof Writer>[0],
): Promise<{ error: Error; seconds: number }> {
  const started = performance.now();
  const w = new Writer({ topic: "never-created", ...options });
  let failure: Error | undefined;
  await noUnhandledRejections(async () => {
    await w.writeMessages({ value: "x" }).catch((e) => failure = e);
    await w.close();
  });
  assert.ok(failure, "the write failed");
  const error = failure instanceof WriteErrors ? failure.errors[0]! : failure;
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `failed write to ${options.brokers?.join(",")}${
      options.transport?.tls ? " (TLS)" : ""
    }${options.transport?.sasl ? " (SASL)" : ""}: ${
      seconds.toFixed(3)
    } s, ${error.name}`,
  );
  return { error, seconds };
}

describe("failures", () => {
  let admin: Conn;
  before(async () => {
    admin = await dial(BROKER);
  });
  after(() => admin.close());

  async function topicWith(
    partitions: number,
    configs: Record<string, string> = {},
  ): Promise<string> {
    const topic = uniqueTopic("failures");
    await admin.createTopics({
      topic,
      numPartitions: partitions,
      replicationFactor: 1,
      configEntries: Object.entries(configs).map(([k, v]) => ({
        configName: k,
        configValue: v,
      })),
    });
    return topic;
  }

  test("a failed stream write rejects write, pipeTo, abort and close, and nothing else", async () => {
    const topic = await topicWith(1, { "max.message.bytes": "1000" });
    const { code, output } = await runScript("stream_failures.ts", [
      BROKER,
      topic,
    ]);
    assert.equal(code, 0, output);
    assert.match(output, /^ok$/m);
    assert.doesNotMatch(output, /Uncaught|unhandled/i);
  });

  test("callbacks that throw (logger, errorLogger, completion) break nothing: the work goes on, what they threw goes to errorLogger", async () => {
    const topic = await topicWith(1);
    const broke = (what: string) => () => {
      throw new Error(`${what} broke`);
    };
    await noUnhandledRejections(async () => {
      const told: string[] = [];
      const w = new Writer({
        brokers: [BROKER],
        topic,
        batchTimeout: 1,
        completion: broke("completion"),
        logger: broke("logger"),
        errorLogger: (message) => told.push(message),
      });
      await w.writeMessages({ value: "a" }, { value: "b" });
      await w.writeMessages({ value: "c" });
      await w.close();
      assert.ok(
        told.includes("kafka writer: completion threw: completion broke"),
        told.join("\n"),
      );
      const r = new Reader({
        brokers: [BROKER],
        topic,
        partition: 0,
        logger: broke("logger"),
        errorLogger: broke("errorLogger"),
      });
      const values: string[] = [];
      for await (const m of r) {
        values.push(text.decode(m.value!));
        if (values.length === 3) break;
      }
      assert.deepEqual(values, ["a", "b", "c"]);
    });
    // Failures reported to an errorLogger that throws, in the background.
    await noUnhandledRejections(async () => {
      const w = new Writer({
        brokers: ["127.0.0.1:1"],
        topic,
        deliveryTimeout: 1500,
        completion: broke("completion"),
        logger: broke("logger"),
        errorLogger: broke("errorLogger"),
      });
      await assert.rejects(w.writeMessages({ value: "x" }), WriteErrors);
      await w.close();
      const r = new Reader({
        brokers: ["127.0.0.1:1"],
        topic,
        partition: 0,
        logger: broke("logger"),
        errorLogger: broke("errorLogger"),
      });
      await assert.rejects(
        r.readMessage({ signal: AbortSignal.timeout(1500) }),
      );
      await r.close();
    });
  });

  test("an HTTP server fails the write at once, named", async () => {
    const server = http.createServer((_, res) => res.end("hello"));
    await new Promise<void>((resolve) =>
      server.listen(0, "127.0.0.1", resolve)
    );
    const { port } = server.address() as net.AddressInfo;
    try {
      const { error, seconds } = await failedWrite({
        brokers: [`127.0.0.1:${port}`],
      });
      assert.ok(error instanceof ProtocolError, String(error));
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      assert.match(error.message, /an HTTP server answered/);
      assert.ok(seconds < 3, `took ${seconds} s`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test("a TLS certificate from an unknown CA fails at once, naming the option", async () => {
    const { error, seconds } = await failedWrite({
      brokers: [SSL],
      transport: { tls: true },
    });
    assert.ok(error instanceof ConnectionError, String(error));
    assert.equal(error.retriable, false);
    assert.match(error.message, new RegExp(`${SSL}: the TLS handshake failed`));
    assert.match(error.message, /"ca"/);
    assert.ok(seconds < 3, `took ${seconds} s`);
  });

  test("plaintext on a SASL listener fails at once, naming SASL", async () => {
    const { error, seconds } = await failedWrite({ brokers: [SASL_PLAINTEXT] });
    assert.ok(error instanceof ConnectionError, String(error));
    assert.equal(error.retriable, false);
    assert.match(error.message, new RegExp(SASL_PLAINTEXT));
    assert.match(error.message, /requires SASL authentication .*PLAIN/);
    assert.match(error.message, /"sasl" option/);
    assert.ok(seconds < 3, `took ${seconds} s`);
  });

  test("plaintext on a TLS listener fails at once, naming TLS", async () => {
    const { error, seconds } = await failedWrite({ brokers: [SSL] });
    assert.ok(error instanceof ProtocolError, String(error));
    assert.match(error.message, new RegExp(SSL));
    assert.match(error.message, /probably a TLS listener/);
    assert.ok(seconds < 3, `took ${seconds} s`);
  });

  test("TLS on a plaintext listener fails at once, naming it", async () => {
    const { error, seconds } = await failedWrite({
      brokers: [BROKER],
      transport: { tls: true },
    });
    assert.ok(error instanceof ConnectionError, String(error));
    assert.equal(error.retriable, false);
    assert.match(error.message, /PLAINTEXT or SASL_PLAINTEXT listener/);
    assert.ok(seconds < 3, `took ${seconds} s`);
  });

  test("a wrong password fails at once, naming the broker", async () => {
    const { error, seconds } = await failedWrite({
      brokers: [SASL_PLAINTEXT],
      transport: {
        sasl: { mechanism: "SCRAM-SHA-256", username: "alice", password: "no" },
      },
    });
    assert.ok(error instanceof KafkaError, String(error));
    assert.equal(error.name, "SASL_AUTHENTICATION_FAILED");
    assert.match(error.message, new RegExp(SASL_PLAINTEXT));
    assert.ok(seconds < 3, `took ${seconds} s`);
  });

  test("a Reader on a SASL listener without SASL ends its stream with the reason", async () => {
    const errors: string[] = [];
    const reader = new Reader({
      brokers: [SASL_PLAINTEXT],
      topic: "anything",
      errorLogger: (m) => errors.push(m),
    });
    const started = performance.now();
    await assert.rejects(reader.readMessage(), (error) => {
      assert.ok(error instanceof ConnectionError, String(error));
      assert.match(error.message, /requires SASL authentication/);
      return true;
    });
    assert.ok(performance.now() - started < 3000);
    await reader.close();
  });

  test("50 writes against a dead cluster reject together at deliveryTimeout, over one dial at a time", async () => {
    // A peer that takes connections and hangs up: a broker dying over and over.
    let open = 0;
    let most = 0;
    let dials = 0;
    const server = net.createServer((socket) => {
      dials++;
      most = Math.max(most, ++open);
      socket.on("error", () => {});
      socket.on("close", () => open--);
      setTimeout(() => socket.destroy(), 20);
    });
    await new Promise<void>((resolve) =>
      server.listen(0, "127.0.0.1", resolve)
    );
    const { port } = server.address() as net.AddressInfo;
    const deliveryTimeout = 3000;
    const w = new Writer({
      brokers: [`127.0.0.1:${port}`],
      topic: "anything",
      deliveryTimeout,
    });
    const started = performance.now();
    const settledAt: number[] = [];
    try {
      await noUnhandledRejections(async () => {
        const calls = Array.from({ length: 50 }, (_, call) =>
          w.writeMessages(
            Array.from({ length: 100 }, (_, i) => ({ value: `${call}-${i}` })),
          ).then(
            () => assert.fail("a write to a dead cluster resolved"),
            (error) => {
              settledAt.push(performance.now() - started);
              assert.ok(error instanceof WriteErrors, String(error));
              assert.equal(error.count, 100);
              assert.ok(error.errors[0] instanceof TimeoutError);
              assert.match(
                error.errors[0].message,
                /deliveryTimeout \(3000 ms\)/,
              );
            },
          ));
        await Promise.all(calls);
        await w.close();
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    assert.equal(settledAt.length, 50);
    const last = Math.max(...settledAt);
    const first = Math.min(...settledAt);
    console.log(
      `dead cluster: 50 calls of 100 messages rejected between ${
        first.toFixed(0)
      } and ${
        last.toFixed(0)
      } ms (deliveryTimeout ${deliveryTimeout} ms), ${dials} dials, at most ${most} at once`,
    );
    assert.ok(first >= deliveryTimeout - 1100, `first rejected at ${first} ms`);
    assert.ok(last < deliveryTimeout + 1500, `last rejected at ${last} ms`);
    assert.equal(most, 1, "one dial at a time");
    assert.ok(dials < 20, `${dials} dials in ${deliveryTimeout} ms`);
  });

  test("requests for any broker (metadata, coordinators) try a broker whose dial failed last, not first", async () => {
    // A port nothing listens on: a broker killed with kill -9.
    const closed = net.createServer();
    await new Promise<void>((resolve) =>
      closed.listen(0, "127.0.0.1", resolve)
    );
    const dead = `127.0.0.1:${(closed.address() as net.AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    const cluster = new Cluster({
      brokers: [dead, BROKER],
      // A backoff grown long, as after a few seconds of a broker down.
      reconnectBackoffMin: 3000,
      reconnectBackoffMax: 3000,
    });
    try {
      // The first request finds the dead broker out, and goes on.
      await cluster.anyConnection("a");
      const started = performance.now();
      await cluster.anyConnection("b");
      const ms = performance.now() - started;
      // Asked first, the dead broker held each request for its backoff.
      assert.ok(ms < 1500, `the second request waited ${ms.toFixed(0)} ms`);
    } finally {
      await cluster.close();
    }
  });

  test("a batch the broker finds too large is split; only the oversized message fails", async () => {
    const topic = await topicWith(1, { "max.message.bytes": "10000" });
    const w = new Writer({ brokers: [BROKER], topic });
    const messages = Array.from({ length: 40 }, (_, i) => ({
      value: i === 25 ? new Uint8Array(20_000) : `m${i}-${"x".repeat(500)}`,
    }));
    await assert.rejects(w.writeMessages(messages), (error) => {
      assert.ok(error instanceof WriteErrors, String(error));
      assert.equal(error.count, 1);
      const cause = error.errors[25];
      assert.ok(cause instanceof KafkaError, String(cause));
      assert.equal(cause.name, "MESSAGE_TOO_LARGE");
      return true;
    });
    // The others were sent, in order, and the producer's sequence goes on.
    await w.writeMessages({ value: "after" });
    await w.close();
    const read = (await readPartition(topic, 0)).map((m) =>
      text.decode(m.value!).split("-")[0]
    );
    const expected = messages.map((_, i) => `m${i}`).filter((_, i) => i !== 25);
    assert.deepEqual(read, [...expected, "after"]);
  });
});
