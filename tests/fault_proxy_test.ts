/**
 * Network faults between the client and the real broker, injected by the
 * fault proxy (tests/_proxy.ts): a stalled response, a connection cut in the
 * middle of a frame, bytes dripped or delayed, refused connections. Each
 * must end in a clear error within its timeout or in the right answer,
 * never in a hang, a half-decoded result or an unhandled rejection; and the
 * next attempt must work on a new connection.
 *
 * The proxy rewrites the broker addresses in Metadata and FindCoordinator
 * answers to its own, so Writers, Readers and Clients stay behind it.
 */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  Client,
  Cluster,
  type Conn,
  dial,
  dialLeader,
  KafkaError,
  Reader,
  ShareReader,
  type ShareReaderOptions,
  WriteErrors,
  Writer,
} from "../mod.ts";
import { BrokerConnection } from "../lib/connection/connection.ts";
import { ConnectionError, TimeoutError } from "../lib/connection/errors.ts";
import { Metadata } from "../lib/protocol/messages/metadata.ts";
import { Produce } from "../lib/protocol/messages/produce.ts";
import { Fetch } from "../lib/protocol/messages/fetch.ts";
import { ShareFetch } from "../lib/protocol/messages/share_fetch.ts";
import { type FaultProxy, startProxy } from "./_proxy.ts";
import { produce } from "./_group.ts";
import { newShareGroup, readN } from "./_share.ts";
import {
  BROKER,
  indexOf,
  noUnhandledRejections,
  readPartition,
  sleep,
  uniqueTopic,
} from "./_helpers.ts";

const BOUND = { timeout: 30_000 };
const text = new TextDecoder();

/** Values of a partition, read straight from the broker. */
async function valuesOf(topic: string): Promise<string[]> {
  return (await readPartition(topic, 0)).map((m) => text.decode(m.value!));
}

/** Opens a low-level connection through the proxy. */
function openVia(
  proxy: FaultProxy,
  requestTimeout = 500,
): Promise<BrokerConnection> {
  return BrokerConnection.open("127.0.0.1", proxy.port, {
    requestTimeout,
    connectTimeout: 3000,
  });
}

describe("through the fault proxy", () => {
  let admin: Conn;
  let proxy: FaultProxy;

  before(async () => {
    admin = await dial(BROKER);
  });
  after(() => admin?.close());

  async function newTopic(prefix: string): Promise<string> {
    const topic = uniqueTopic(prefix);
    await admin.createTopics({ topic, numPartitions: 1, replicationFactor: 1 });
    return topic;
  }

  /**
   * A ShareReader of a new group reading `topic` through the proxy (200 ms
   * polls), logging into `logged`.
   */
  async function shareVia(
    topic: string,
    logged: string[],
    options: Partial<ShareReaderOptions> = {},
  ): Promise<ShareReader> {
    return new ShareReader({
      brokers: [proxy.address],
      groupId: await newShareGroup(),
      topics: [topic],
      maxWait: 200,
      errorLogger: (message) => logged.push(message),
      ...options,
    });
  }

  /** Waits (10 s at most) until a failed share fetch was logged. */
  async function untilFetchFailed(logged: string[]): Promise<void> {
    const until = Date.now() + 10_000;
    while (!logged.some((m) => /share fetch .* attempt 1/.test(m))) {
      assert.ok(Date.now() < until, logged.join("\n"));
      await sleep(20);
    }
  }

  /**
   * Holds back the broker's answers (requests still reach it), then starts
   * writing "held" and gives it 200 ms to go out; its promise is handled.
   */
  async function holdAnswers(
    writer: Writer,
  ): Promise<{ held: Promise<void> }> {
    proxy.stall();
    const held = writer.writeMessages({ value: "held" });
    held.catch(() => {});
    await sleep(200);
    return { held };
  }

  /** Runs `fn` with a fresh proxy, closed afterwards whatever happens. */
  async function withProxy(fn: () => Promise<void>): Promise<void> {
    proxy = await startProxy({ target: BROKER });
    try {
      await noUnhandledRejections(fn);
    } finally {
      await proxy.close();
    }
  }

  test(
    "metadata names the proxy, so the client stays behind it",
    BOUND,
    () =>
      withProxy(async () => {
        const conn = await openVia(proxy);
        try {
          const metadata = await conn.request(Metadata, { topics: [] });
          assert.deepEqual(
            metadata.brokers.map((b) => `${b.host}:${b.port}`),
            [proxy.address],
          );
          assert.equal(proxy.stats.rewritten, 1);
        } finally {
          conn.close();
        }
      }),
  );

  test(
    "a stalled response times out naming broker and request; the next request succeeds on a new connection",
    BOUND,
    () =>
      withProxy(async () => {
        const conn = await openVia(proxy, 1000);
        await conn.request(Metadata, { topics: [] });
        proxy.stall();
        const started = Date.now();
        const first = conn.request(Metadata, { topics: [] });
        // Sent behind the stalled one: it fails with the connection.
        const second = conn.request(Metadata, { topics: [] }, {
          timeout: 5000,
        });
        await assert.rejects(first, (error) => {
          assert.ok(error instanceof TimeoutError, String(error));
          assert.equal(
            (error as Error).message,
            `Metadata request to ${proxy.address} timed out after 1000 ms`,
          );
          return true;
        });
        await assert.rejects(second, (error) => {
          assert.ok(error instanceof ConnectionError, String(error));
          assert.ok(error.retriable);
          assert.match(error.message, new RegExp(proxy.address));
          assert.match(
            error.message,
            /Metadata request timed out after 1000 ms/,
          );
          return true;
        });
        assert.ok(Date.now() - started < 3000, "failed within the timeout");
        assert.ok(conn.isClosed, "a timed-out request closes its connection");
        assert.ok((await conn.closed) instanceof ConnectionError);

        const next = await openVia(proxy, 1000);
        try {
          const metadata = await next.request(Metadata, { topics: [] });
          assert.equal(metadata.brokers.length, 1);
        } finally {
          next.close();
        }
        assert.equal(proxy.stats.accepted, 2);
      }),
  );

  test(
    "a Writer, a Reader and a Client recover from a stalled connection",
    BOUND,
    () =>
      withProxy(async () => {
        const topic = await newTopic("proxy-stall");
        const cluster = new Cluster({
          brokers: [proxy.address],
          requestTimeout: 800,
        });
        const writer = new Writer({
          cluster,
          topic,
          idempotent: true,
          writeTimeout: 500,
          deliveryTimeout: 20_000,
          batchTimeout: 1,
        });
        const reader = new Reader({
          cluster,
          topic,
          partition: 0,
          maxWait: 100,
        });
        const client = new Client({ cluster, timeout: 10_000 });
        try {
          await writer.writeMessages({ value: "m1" });
          assert.equal(text.decode((await reader.readMessage()).value!), "m1");
          assert.deepEqual(
            (await client.metadata([topic])).topics.map((t) => t.topic),
            [topic],
          );
          const before = proxy.stats.accepted;

          proxy.stall();
          await writer.writeMessages({ value: "m2" });
          assert.equal(text.decode((await reader.readMessage()).value!), "m2");
          const metadata = await client.metadata([topic]);
          assert.deepEqual(metadata.topics.map((t) => t.topic), [topic]);
          assert.ok(
            proxy.stats.accepted > before,
            "new connections replaced the stalled ones",
          );
        } finally {
          await reader.close();
          await writer.close();
          await client.close();
          await cluster.close();
        }
        assert.deepEqual(await valuesOf(topic), ["m1", "m2"]);
      }),
  );

  test(
    "a cut in the middle of a frame fails the pending requests, never half-decodes; the next attempt works",
    BOUND,
    () =>
      withProxy(async () => {
        const conn = await openVia(proxy, 3000);
        await conn.request(Metadata, { topics: [] });
        const cut = proxy.cutMidFrame();
        const outcomes = await Promise.allSettled([
          conn.request(Metadata, { topics: [] }),
          conn.request(Metadata, { topics: [] }),
          conn.request(Metadata, { topics: [] }),
        ]);
        await cut;
        assert.equal(proxy.stats.cuts, 1);
        for (const outcome of outcomes) {
          assert.equal(outcome.status, "rejected", "no half-decoded answer");
          const error = (outcome as PromiseRejectedResult).reason;
          assert.ok(error instanceof ConnectionError, String(error));
          assert.ok(error.retriable);
          assert.equal(
            error.message,
            `Broker ${proxy.address} closed the connection in the middle of a response`,
          );
        }
        assert.ok(conn.isClosed);

        const next = await openVia(proxy, 3000);
        try {
          assert.equal(
            (await next.request(Metadata, { topics: [] })).brokers.length,
            1,
          );
        } finally {
          next.close();
        }
      }),
  );

  test(
    "an idempotent Writer delivers once across cuts mid-frame",
    BOUND,
    () =>
      withProxy(async () => {
        const topic = await newTopic("proxy-cut");
        const writer = new Writer({
          brokers: [proxy.address],
          topic,
          idempotent: true,
          deliveryTimeout: 15_000,
          batchTimeout: 1,
          batchSize: 10,
        });
        const expected: string[] = [];
        try {
          await writer.writeMessages({ value: "warm" });
          expected.push("warm");
          for (let round = 0; round < 3; round++) {
            // The answer to a Produce the broker wrote: the Writer sends
            // it again, and idempotence keeps one copy.
            const cut = proxy.cutMidFrame(Produce.key);
            const values = Array.from(
              { length: 10 },
              (_, i) => `r${round}-${i}`,
            );
            expected.push(...values);
            await writer.writeMessages(...values.map((value) => ({ value })));
            await cut;
          }
        } finally {
          await writer.close();
        }
        assert.equal(proxy.stats.cuts, 3);
        assert.deepEqual(await valuesOf(topic), expected);
      }),
  );

  test(
    "bytes dripped one per tick still decode correctly",
    BOUND,
    () =>
      withProxy(async () => {
        const topic = await newTopic("proxy-drip");
        const values = Array.from({ length: 5 }, (_, i) => `drip-${i}`);
        const writer = new Writer({
          brokers: [BROKER],
          topic,
          batchTimeout: 1,
        });
        try {
          await writer.writeMessages(...values.map((value) => ({ value })));
        } finally {
          await writer.close();
        }
        const conn = await dialLeader(proxy.address, topic, 0, {
          timeout: 3000,
          requestTimeout: 20_000,
        });
        try {
          const sent = proxy.stats.bytesToClient;
          for (const [bytes, tick] of [[1, 1], [7, 1]]) {
            proxy.drip(bytes, tick);
            await conn.seek(0);
            const batch = await conn.readBatch({ maxWait: 100 });
            const got: string[] = [];
            for await (const m of batch) got.push(text.decode(m.value!));
            assert.deepEqual(got, values);
          }
          proxy.normal();
          assert.ok(proxy.stats.bytesToClient - sent > 200);
        } finally {
          conn.close();
        }
      }),
  );

  test(
    "a delay within the timeout is waited out; beyond it, it behaves like a stall",
    BOUND,
    () =>
      withProxy(async () => {
        const conn = await openVia(proxy, 1000);
        proxy.delay(150);
        const started = Date.now();
        assert.equal(
          (await conn.request(Metadata, { topics: [] })).brokers.length,
          1,
        );
        assert.ok(Date.now() - started >= 140, "the answer was delayed");

        proxy.delay(3000);
        await assert.rejects(
          conn.request(Metadata, { topics: [] }),
          (error) =>
            error instanceof TimeoutError &&
            error.message ===
              `Metadata request to ${proxy.address} timed out after 1000 ms`,
        );
        assert.ok(conn.isClosed);
        proxy.delay(0);
        const next = await openVia(proxy, 1000);
        try {
          await next.request(Metadata, { topics: [] });
        } finally {
          next.close();
        }
      }),
  );

  test(
    "refused connections fail the dial clearly; a Writer retries until they are accepted, with no loss or duplicate",
    BOUND,
    () =>
      withProxy(async () => {
        await proxy.refuse(true);
        await assert.rejects(
          dial(proxy.address, { timeout: 2000 }),
          (error) => {
            assert.ok(error instanceof ConnectionError, String(error));
            assert.ok(error.retriable);
            assert.match(error.message, new RegExp(proxy.address));
            assert.match(error.message, /refused/i);
            return true;
          },
        );
        await proxy.refuse(false);

        const topic = await newTopic("proxy-refuse");
        const options = {
          brokers: [proxy.address],
          topic,
          idempotent: true,
          batchTimeout: 1,
        };
        const expected = ["before"];
        const impatient = new Writer({ ...options, deliveryTimeout: 1000 });
        try {
          await impatient.writeMessages({ value: "before" });
          await proxy.refuse(true);
          proxy.dropAll();
          // Refused for longer than deliveryTimeout: the write fails, clearly.
          await assert.rejects(
            impatient.writeMessages({ value: "never-sent" }),
            (error) => {
              assert.ok(error instanceof WriteErrors, String(error));
              assert.ok(error.errors[0] instanceof TimeoutError);
              assert.match(error.errors[0].message, /deliveryTimeout/);
              return true;
            },
          );
        } finally {
          await impatient.close();
        }

        // Refused for less than deliveryTimeout: the Writer retries, then
        // delivers every message once.
        const writer = new Writer({ ...options, deliveryTimeout: 8000 });
        try {
          const accepted = proxy.stats.accepted;
          const values = Array.from({ length: 20 }, (_, i) => `after-${i}`);
          expected.push(...values);
          const writing = writer.writeMessages(
            ...values.map((value) => ({ value })),
          );
          await sleep(1000);
          assert.equal(proxy.stats.accepted, accepted, "all refused");
          await proxy.refuse(false);
          await writing;
        } finally {
          await proxy.refuse(false);
          await writer.close();
        }
        assert.deepEqual(await valuesOf(topic), expected);
      }),
  );

  test(
    "dropping every connection: the next calls dial again",
    BOUND,
    () =>
      withProxy(async () => {
        const topic = await newTopic("proxy-drop");
        const writer = new Writer({
          brokers: [proxy.address],
          topic,
          idempotent: true,
          batchTimeout: 1,
          deliveryTimeout: 10_000,
        });
        try {
          await writer.writeMessages({ value: "a" });
          const accepted = proxy.stats.accepted;
          proxy.dropAll();
          assert.equal(proxy.stats.open, 0);
          await writer.writeMessages({ value: "b" });
          assert.ok(proxy.stats.accepted > accepted);
        } finally {
          await writer.close();
        }
        assert.deepEqual(await valuesOf(topic), ["a", "b"]);
      }),
  );
  test(
    "a ShareReader closed while its broker stalls: close ends within its timeouts, and each failure is logged once",
    { timeout: 60_000 },
    () =>
      withProxy(async () => {
        const topic = await newTopic("share-stall");
        await produce(topic, 0, 5);
        const groupId = await newShareGroup();
        const cluster = new Cluster({
          brokers: [proxy.address],
          requestTimeout: 1500,
        });
        const logged: string[] = [];
        const reader = new ShareReader({
          cluster,
          groupId,
          topics: [topic],
          maxWait: 200,
          acknowledgements: "explicit",
          errorLogger: (message) => logged.push(message),
        });
        try {
          const [m] = await readN(reader, 1);
          reader.acknowledge(m);
          proxy.stall();
          const started = Date.now();
          await reader.close();
          const took = Date.now() - started;
          // Leaving the group, then the sessions' last acknowledgement:
          // each bounded by the request timeout.
          assert.ok(took < 15_000, `close took ${took} ms`);
          const closing = logged.filter((line) =>
            line.includes("closing the share session")
          );
          assert.equal(closing.length, 1, logged.join("\n"));
        } finally {
          proxy.resume();
          await cluster.close();
        }
      }),
  );
  test(
    "acknowledgements a lost share session dropped make the next commit() reject, logged once",
    BOUND,
    () =>
      withProxy(async () => {
        const topic = await newTopic("share-dropped");
        await produce(topic, 0, 20);
        const logged: string[] = [];
        const reader = await shareVia(topic, logged, {
          acknowledgements: "explicit",
        });
        try {
          const held = await readN(reader, 20);
          proxy.dropAll();
          await untilFetchFailed(logged);
          // The session that acquired them is gone: each is dropped. The
          // commit resolved before, as if the broker had them.
          for (const m of held) reader.acknowledge(m);
          await assert.rejects(reader.commit(), (error) => {
            assert.ok(error instanceof KafkaError, String(error));
            assert.match(
              error.message,
              /20 acknowledgements of .*\/0 were dropped \(its share session was lost\)/,
            );
            return true;
          });
          assert.equal(
            logged.filter((m) => / dropped \(/.test(m)).length,
            1,
            logged.join("\n"),
          );
          assert.equal(reader.stats().acknowledgeFailures, 20);
          // Reported once: the next commit has nothing to report.
          await reader.commit();
        } finally {
          await reader.close();
        }
      }),
  );
  test(
    "a ShareReader closed while it waits to fetch again after a cut connection closes at once",
    BOUND,
    () =>
      withProxy(async () => {
        const topic = await newTopic("share-backoff");
        await produce(topic, 0, 5);
        const logged: string[] = [];
        // Its waits between failed fetches: long, so that a close that
        // waited one out would show.
        const reader = await shareVia(topic, logged, {
          readBackoffMin: 20_000,
          readBackoffMax: 20_000,
        });
        try {
          await readN(reader, 1);
          await proxy.cutMidFrame(ShareFetch.key);
          await untilFetchFailed(logged);
        } finally {
          const started = Date.now();
          await reader.close();
          const took = Date.now() - started;
          // It waited the rest of its 20 s backoff before.
          assert.ok(took < 3000, `close took ${took} ms`);
        }
      }),
  );
  test(
    "an admin call's timeout bounds its lookups too: a broker that answers nothing in time fails the call when its time is up",
    BOUND,
    () =>
      withProxy(async () => {
        // A new Client knows no broker: the call must first dial one and
        // ask for metadata, each bounded by the cluster's own (longer)
        // timeouts.
        const client = new Client({ brokers: [proxy.address] });
        // Every answer, on every connection, 20 s late.
        proxy.delay(20_000);
        const started = Date.now();
        try {
          await assert.rejects(
            client.describeConfigs([{ type: "broker", name: "1" }], {
              timeout: 1500,
            }),
            (error) =>
              error instanceof TimeoutError &&
              /did not finish in the time allowed/.test(error.message),
          );
          const took = Date.now() - started;
          assert.ok(took < 5000, `the call took ${took} ms`);
        } finally {
          proxy.normal();
          await client.close();
        }
      }),
  );
  test(
    "a write's deliveryTimeout bounds the lookups it waits for: a new Writer whose brokers answer nothing in time fails when its time is up",
    BOUND,
    () =>
      withProxy(async () => {
        const topic = await newTopic("deadline-lookup");
        const writer = new Writer({
          brokers: [proxy.address],
          topic,
          deliveryTimeout: 1500,
        });
        proxy.delay(20_000);
        const started = Date.now();
        try {
          await assert.rejects(
            writer.writeMessages({ value: "late" }),
            (error) =>
              error instanceof WriteErrors &&
              /within deliveryTimeout \(1500 ms\)/.test(error.message),
          );
          const took = Date.now() - started;
          assert.ok(took < 5000, `the write took ${took} ms`);
        } finally {
          proxy.normal();
          await writer.close();
        }
        assert.deepEqual(await valuesOf(topic), []);
      }),
  );

  test(
    "a Reader retries a partition the broker failed unexpectedly (UNKNOWN_SERVER_ERROR), as Java's consumer does, and says so",
    BOUND,
    () =>
      withProxy(async () => {
        const topic = await newTopic("proxy-server-fault");
        await produce(topic, 0, 3);
        // The first Fetch answer's partition says UNKNOWN_SERVER_ERROR. With
        // topic ids (Fetch v13+), one topic and one partition, its code
        // follows the length, header, throttle time, error code, session
        // id, the topics' count, the topic id, the partitions' count and
        // the partition's index.
        let faults = 1;
        proxy.tamper(Fetch.key, (frame) => {
          if (faults === 0) return frame;
          faults--;
          const at = 4 + 4 + 1 + 4 + 2 + 4 + 1 + 16 + 1 + 4;
          assert.deepEqual([...frame.subarray(at - 4, at + 2)], [
            0,
            0,
            0,
            0,
            0,
            0,
          ]);
          const out = frame.slice();
          out[at] = 0xff;
          out[at + 1] = 0xff;
          return out;
        });
        const logged: string[] = [];
        const reader = new Reader({
          brokers: [proxy.address],
          topic,
          partition: 0,
          readBackoffMin: 50,
          errorLogger: (m) => logged.push(m),
        });
        try {
          const values: string[] = [];
          for (let i = 0; i < 3; i++) {
            values.push(text.decode((await reader.readMessage()).value!));
          }
          assert.deepEqual(values, ["m0", "m1", "m2"]);
          assert.equal(faults, 0);
          assert.ok(
            logged.some((m) =>
              /Fetch of partition 0 .* attempt 1 failed, retrying: UNKNOWN_SERVER_ERROR/
                .test(m)
            ),
            logged.join("\n"),
          );
        } finally {
          proxy.tamper(Fetch.key, null);
          await reader.close();
        }
      }),
  );

  test(
    "an admin call aborted while it waits for its brokers rejects with the abort, never a result: listGroups, and createTopics waiting for its new partitions",
    BOUND,
    () =>
      withProxy(async () => {
        const client = new Client({ brokers: [proxy.address] });
        try {
          await client.describeCluster();
          // Every answer comes 400 ms late from here on.
          proxy.delay(400);
          const aborted = (error: unknown) =>
            error instanceof Error &&
            (error.name === "AbortError" || error.name === "TimeoutError") &&
            !(error instanceof KafkaError);
          await assert.rejects(
            client.listGroups({ signal: AbortSignal.timeout(150) }),
            aborted,
          );
          // The topic is created (its answer comes at 400 ms); the abort
          // comes while the call waits for its partitions to be served.
          const topic = uniqueTopic("proxy-abort-wait");
          const started = Date.now();
          await assert.rejects(
            client.createTopics([{ topic, numPartitions: 1 }], {
              signal: AbortSignal.timeout(600),
            }),
            aborted,
          );
          assert.ok(Date.now() - started < 2000);
        } finally {
          proxy.normal();
          await client.close();
        }
      }),
  );

  test(
    "an admin request the broker never answers leaves its call time to try again on a new connection (seen after a kill -9 of the controller)",
    BOUND,
    () =>
      withProxy(async () => {
        const client = new Client({ brokers: [proxy.address] });
        try {
          await client.describeCluster();
          // The open connections answer nothing from now on; new ones do.
          proxy.stall();
          const started = Date.now();
          // 12 s: one request may take half (6 s), then it is sent again.
          // A request that took all of the call's time (as before) failed
          // it at 12 s.
          const cluster = await client.describeCluster({ timeout: 12_000 });
          const took = Date.now() - started;
          assert.equal(cluster.brokers.length, 1);
          assert.ok(took >= 5_500 && took < 10_000, `the call took ${took} ms`);
          assert.ok(proxy.stats.accepted >= 2, "it dialled again");
        } finally {
          proxy.normal();
          await client.close();
        }
      }),
  );
  test(
    "a Conn sends a produce again that the leader refused before appending (a partition a moment old: the metadata names the leader before it serves)",
    BOUND,
    () =>
      withProxy(async () => {
        const topic = await newTopic("proxy-not-leader");
        const conn = await dialLeader(proxy.address, topic, 0, {
          timeout: 3000,
        });
        // A broker cannot be made to lose this race on demand: the proxy
        // turns the first two answers into NOT_LEADER_OR_FOLLOWER. The broker
        // did append those (a real refusal appends nothing), so the
        // partition holds the batch three times.
        const name = new TextEncoder().encode(topic);
        let refused = 0;
        proxy.tamper(Produce.key, (frame) => {
          if (refused === 2) return frame;
          // After the name: the partitions' count (1, as 2), the index
          // (int32), then the error code (int16).
          const at = indexOf(frame, name) + name.length;
          assert.deepEqual([...frame.subarray(at, at + 7)], [
            2,
            0,
            0,
            0,
            0,
            0,
            0,
          ]);
          refused++;
          const out = frame.slice();
          out[at + 6] = 6; // NOT_LEADER_OR_FOLLOWER
          return out;
        });
        try {
          await conn.writeMessages({ value: "once" });
          assert.equal(refused, 2);
          assert.deepEqual(await valuesOf(topic), ["once", "once", "once"]);
          // Refusals that go on fail the call, with the broker's error.
          refused = 0;
          proxy.tamper(Produce.key, (frame) => {
            const at = indexOf(frame, name) + name.length;
            const out = frame.slice();
            out[at + 6] = 6;
            return out;
          });
          const started = Date.now();
          await assert.rejects(
            conn.writeMessages({ value: "refused" }),
            (error) =>
              error instanceof KafkaError &&
              error.code === 6 && error.message.includes(topic),
          );
          const took = Date.now() - started;
          assert.ok(took >= 4_000 && took < 8_000, `gave up after ${took} ms`);
        } finally {
          proxy.tamper(Produce.key, null);
          conn.close();
        }
      }),
  );

  test(
    "close({ timeout }) gives up writes the broker does not answer: they fail saying they may have been written, and close() rejects when its time is up",
    BOUND,
    () =>
      withProxy(async () => {
        const topic = await newTopic("close-timeout");
        const writer = new Writer({ brokers: [proxy.address], topic });
        await writer.writeMessages({ value: "first" });
        const { held } = await holdAnswers(writer);
        const started = Date.now();
        try {
          await assert.rejects(
            writer.close({ timeout: 500 }),
            (error) =>
              error instanceof TimeoutError &&
              /close\(\) gave up after its timeout of 500 ms/.test(
                error.message,
              ),
          );
          const took = Date.now() - started;
          assert.ok(took >= 450 && took < 3000, `close took ${took} ms`);
          await assert.rejects(held, (error) => {
            assert.ok(error instanceof WriteErrors, String(error));
            const cause = error.errors[0];
            assert.ok(cause instanceof TimeoutError, String(cause));
            assert.match(
              cause.message,
              new RegExp(`1 message sent to ${topic}/0 and not acknowledged`),
            );
            return true;
          });
          // A second close() answers as the first did, at once.
          await assert.rejects(writer.close(), TimeoutError);
        } finally {
          proxy.normal();
        }
        // The request had reached the broker: "held" was written.
        assert.deepEqual(await valuesOf(topic), ["first", "held"]);
      }),
  );

  test(
    "close({ timeout }) of a transactional Writer leaves its open transaction to the coordinator when the time is up",
    BOUND,
    () =>
      withProxy(async () => {
        const topic = await newTopic("close-timeout-txn");
        const logged: string[] = [];
        const writer = new Writer({
          brokers: [proxy.address],
          topic,
          transactionalId: uniqueTopic("close-timeout-txn-id"),
          errorLogger: (m) => logged.push(m),
        });
        await writer.beginTransaction();
        await writer.writeMessages({ value: "in the transaction" });
        const { held } = await holdAnswers(writer);
        const started = Date.now();
        try {
          await assert.rejects(writer.close({ timeout: 500 }), TimeoutError);
          const took = Date.now() - started;
          assert.ok(took < 3000, `close took ${took} ms`);
          await assert.rejects(held, WriteErrors);
          assert.ok(
            logged.some((m) =>
              /close\(\) left the transaction of ".*" as it was/.test(m)
            ),
            logged.join("\n"),
          );
        } finally {
          proxy.normal();
        }
      }),
  );

  test(
    "aborting a Writer's stream does not wait for a write the broker does not answer",
    BOUND,
    () =>
      withProxy(async () => {
        const topic = await newTopic("abort-stalled");
        const writer = new Writer({ brokers: [proxy.address], topic });
        await writer.writeMessages({ value: "first" });
        const { held } = await holdAnswers(writer);
        const started = Date.now();
        try {
          await writer.getWriter().abort(new Error("shutting down"));
          const took = Date.now() - started;
          assert.ok(took < 2000, `abort took ${took} ms`);
          await assert.rejects(held, (error) => {
            assert.ok(error instanceof WriteErrors, String(error));
            assert.match(
              String(error.errors[0]?.message),
              /^shutting down; 1 message sent to .* written perhaps$/,
            );
            return true;
          });
        } finally {
          proxy.normal();
        }
      }),
  );

  test(
    "writeMessages waits while maxBufferedBytes are buffered (async mode too), in call order; a signal drops a waiting write",
    BOUND,
    () =>
      withProxy(async () => {
        const topic = await newTopic("buffer-bound");
        const writer = new Writer({
          brokers: [proxy.address],
          topic,
          async: true,
          maxBufferedBytes: 16 * 1024,
        });
        await writer.writeMessages({ value: "warm" });
        await writer.flush();
        proxy.stall();
        const value = (i: number) => `${i}:`.padEnd(1024, "x");
        let queued = 0;
        const writes = Array.from(
          { length: 100 },
          (_, i) =>
            writer.writeMessages({ value: value(i) }).then(() => void queued++),
        );
        const dropped = new AbortController();
        const late = writer.writeMessages([{ value: "dropped" }], {
          signal: dropped.signal,
        });
        await sleep(500);
        // About 16 KiB of 1 KiB messages are taken; the rest wait.
        assert.ok(queued > 0 && queued <= 20, `${queued} writes queued`);
        dropped.abort(new Error("not needed any more"));
        await assert.rejects(late, (error) => {
          assert.ok(error instanceof WriteErrors, String(error));
          assert.equal(error.errors[0]?.message, "not needed any more");
          return true;
        });
        proxy.normal();
        await Promise.all(writes);
        await writer.close();
        const values = await valuesOf(topic);
        assert.deepEqual(values, [
          "warm",
          ...Array.from({ length: 100 }, (_, i) => value(i)),
        ]);
      }),
  );

  test(
    "writes waiting for room that close({ timeout }) gives up fail in a WriteErrors, send's with where nothing went",
    BOUND,
    () =>
      withProxy(async () => {
        const topic = await newTopic("buffer-bound-close");
        const writer = new Writer({
          brokers: [proxy.address],
          topic,
          maxBufferedBytes: 4 * 1024,
        });
        await writer.writeMessages({ value: "warm" });
        proxy.stall();
        const value = "x".repeat(3 * 1024);
        const taken = writer.writeMessages({ value }).catch((e) => e);
        const waiting = writer.writeMessages({ value }, { value })
          .catch((e) => e);
        const sent = writer.send([{ value }]).catch((e) => e);
        await sleep(300);
        try {
          await assert.rejects(writer.close({ timeout: 300 }), TimeoutError);
        } finally {
          proxy.normal();
        }
        for (
          const [name, outcome, count] of [
            ["taken", await taken, 1],
            ["waiting", await waiting, 2],
            ["send", await sent, 1],
          ] as const
        ) {
          assert.ok(outcome instanceof WriteErrors, `${name}: ${outcome}`);
          assert.equal(outcome.errors.length, count, name);
          for (const cause of outcome.errors) {
            assert.ok(cause instanceof TimeoutError, `${name}: ${cause}`);
          }
          assert.deepEqual(
            outcome.written,
            name === "send" ? [null] : null,
            name,
          );
        }
        await assert.rejects(
          writer.send({ value: "late" }),
          /^ClosedError: Cannot send: the Writer is closed$/,
        );
      }),
  );
});
