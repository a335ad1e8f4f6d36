/** The Writer against the real broker. */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  Client,
  Cluster,
  type Conn,
  CRC32Balancer,
  dial,
  Hash,
  KafkaError,
  LeastBytes,
  type MessageInput,
  Murmur2Balancer,
  Reader,
  ReferenceHash,
  RoundRobin,
  WriteErrors,
  Writer,
} from "../mod.ts";
import { bulkSinkOf } from "../lib/bulk_sink.ts";
import {
  BROKER,
  noUnhandledRejections,
  readPartition,
  sleep,
  uniqueTopic,
} from "./_helpers.ts";

const text = new TextDecoder();
const utf8 = new TextEncoder();

describe("Writer", () => {
  let admin: Conn;
  before(async () => {
    admin = await dial(BROKER);
  });
  after(() => admin.close());

  async function topicWith(partitions: number): Promise<string> {
    const topic = uniqueTopic("writer");
    await admin.createTopics({
      topic,
      numPartitions: partitions,
      replicationFactor: 1,
    });
    return topic;
  }

  test("Symbol.asyncDispose (await using) closes a Writer after delivering, a Client and a Cluster", async () => {
    // What `await using` does at the end of its block, spelled out: Node 22
    // cannot parse `await using`.
    const topic = uniqueTopic("dispose");
    const writer = new Writer({
      brokers: [BROKER],
      topic,
      allowAutoTopicCreation: true,
      async: true,
    });
    await writer.writeMessages({ value: "delivered" });
    await writer[Symbol.asyncDispose]();
    await assert.rejects(
      writer.writeMessages({ value: "late" }),
      /the Writer is (closing|closed)/,
    );
    const values = (await readPartition(topic, 0)).map((m) =>
      new TextDecoder().decode(m.value!)
    );
    assert.deepEqual(values, ["delivered"]);
    const client = new Client({ brokers: [BROKER] });
    await client.describeCluster();
    await client[Symbol.asyncDispose]();
    await assert.rejects(
      client.describeCluster(),
      /^ClosedError: Cannot make the call: the Client is closed$/,
    );
    const cluster = new Cluster({ brokers: [BROKER] });
    await cluster[Symbol.asyncDispose]();
    assert.equal(cluster.isClosed, true);
  });

  test("writes keyed messages with headers and reads them back", async () => {
    const topic = await topicWith(1);
    const w = new Writer({ brokers: [BROKER], topic });
    await w.writeMessages(
      {
        key: "Key-A",
        value: "Hello World!",
        headers: [{ key: "h", value: "1" }],
      },
      { key: "Key-B", value: "One!" },
      { key: null, value: null },
    );
    await w.close();
    const got = await readPartition(topic, 0);
    assert.deepEqual(got.map((m) => m.key && text.decode(m.key)), [
      "Key-A",
      "Key-B",
      null,
    ]);
    assert.deepEqual(got.map((m) => m.value && text.decode(m.value)), [
      "Hello World!",
      "One!",
      null,
    ]);
    assert.deepEqual(got[0].headers, [{ key: "h", value: utf8.encode("1") }]);
  });

  for (
    const [name, balancer] of [
      ["RoundRobin", new RoundRobin()],
      ["LeastBytes", new LeastBytes()],
      ["Hash", new Hash()],
      ["ReferenceHash", new ReferenceHash()],
      ["CRC32Balancer", new CRC32Balancer()],
      ["Murmur2Balancer", new Murmur2Balancer()],
    ] as const
  ) {
    test(`${name}: messages land on the partitions the balancer chose`, async () => {
      const topic = await topicWith(4);
      const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`);
      const w = new Writer({ brokers: [BROKER], topic, balancer });
      await w.writeMessages(...keys.map((key) => ({ key, value: key })));
      await w.close();
      const partitions = [0, 1, 2, 3];
      const seen = new Map<string, number>();
      for (const p of partitions) {
        for (const m of await readPartition(topic, p)) {
          seen.set(text.decode(m.key!), p);
        }
      }
      assert.equal(seen.size, keys.length);
      if (name === "RoundRobin" || name === "LeastBytes") {
        // Stateful balancers: every partition gets an even share.
        const counts = partitions.map((p) =>
          [...seen.values()].filter((x) => x === p).length
        );
        assert.deepEqual(counts, [10, 10, 10, 10]);
        return;
      }
      // Hash balancers are pure: the same key goes where a fresh one sends it.
      for (const key of keys) {
        const expected: number = balancer.balance({
          key: utf8.encode(key),
          value: null,
        }, partitions);
        assert.equal(seen.get(key), expected, `key ${key}`);
      }
    });
  }

  test("a message's partition is where it is written, whatever the balancer, whether the Writer knows the topic's partitions yet or not", async () => {
    const topic = await topicWith(3);
    for (const own of [true, false]) {
      const w = new Writer({
        brokers: [BROKER],
        topic: own ? topic : undefined,
        balancer: new Hash(),
      });
      // The first call waits for metadata; the second is routed at once.
      for (const call of [0, 1]) {
        const messages = Array.from({ length: 12 }, (_, i) => ({
          topic: own ? undefined : topic,
          key: `key-${i}`,
          value: `${own}-${call}-${i}`,
          partition: i % 4 === 3 ? undefined : i % 3,
        }));
        await w.writeMessages(...messages);
      }
      await w.close();
    }
    const hash = new Hash();
    for (const p of [0, 1, 2]) {
      for (const m of await readPartition(topic, p)) {
        const i = Number(text.decode(m.value!).split("-")[2]);
        const expected = i % 4 === 3
          ? hash.balance({ key: m.key }, [0, 1, 2])
          : i % 3;
        assert.equal(p, expected, `message ${text.decode(m.value!)}`);
      }
    }
    let total = 0;
    for (const p of [0, 1, 2]) total += (await readPartition(topic, p)).length;
    assert.equal(total, 48);
  });

  test("a partition the topic does not have fails the whole write, after a fresh look at the metadata; the Writer goes on", async () => {
    const topic = await topicWith(3);
    const w = new Writer({ brokers: [BROKER], topic });
    try {
      await w.writeMessages({ value: "first", partition: 1 });
      // Every message of the write fails with the same RangeError.
      await assert.rejects(
        w.writeMessages({ value: "lost", partition: 0 }, {
          value: "lost",
          partition: 7,
        }),
        (error: Error) =>
          error instanceof WriteErrors &&
          error.errors.length === 2 &&
          error.errors.every((e) =>
            e instanceof RangeError &&
            e.message ===
              `Cannot write message 1: topic "${topic}" has no partition 7 (it has 3: 0 to 2)`
          ),
      );
      await w.writeMessages({ value: "last", partition: 0 });
    } finally {
      await w.close();
    }
    assert.deepEqual(
      (await readPartition(topic, 0)).map((m) => text.decode(m.value!)),
      ["last"],
    );
    assert.equal((await readPartition(topic, 1)).length, 1);
  });

  test("through the stream, a message asking for a partition the topic lacks fails alone: the writes that resolved are delivered", async () => {
    const topic = await topicWith(2);
    const w = new Writer({ brokers: [BROKER], topic });
    const stream = w.getWriter();
    // Each write resolves once taken: the stream's promise is for room.
    await stream.write({ value: "before", partition: 0 });
    await stream.write({ value: "bad", partition: 5 });
    await stream.write({ value: "after", partition: 1 });
    await assert.rejects(stream.close(), (error: Error) => {
      assert.ok(error instanceof WriteErrors, String(error));
      assert.match(
        error.message,
        new RegExp(
          `^1 of 3 messages failed to write: Cannot write message 1: topic "${topic}" has no partition 5 \\(it has 2: 0 to 1\\)$`,
        ),
      );
      return true;
    });
    assert.deepEqual(
      (await readPartition(topic, 0)).map((m) => text.decode(m.value!)),
      ["before"],
    );
    assert.deepEqual(
      (await readPartition(topic, 1)).map((m) => text.decode(m.value!)),
      ["after"],
    );
  });

  test("a partition added after the Writer cached its topic's metadata is written to at once", async () => {
    const topic = await topicWith(1);
    const client = new Client({ brokers: [BROKER] });
    const w = new Writer({ brokers: [BROKER], topic });
    try {
      await w.writeMessages({ value: "before" });
      const [grown] = await client.createPartitions([{ topic, count: 3 }]);
      assert.equal(grown.error, null);
      await w.writeMessages({ value: "new", partition: 2 });
    } finally {
      await w.close();
      await client.close();
    }
    assert.deepEqual(
      (await readPartition(topic, 2)).map((m) => text.decode(m.value!)),
      ["new"],
    );
  });

  test("a bad partition names the message, the value and its type; nothing of the write is sent", async () => {
    const topic = await topicWith(2);
    const w = new Writer({ brokers: [BROKER], topic });
    await w.writeMessages({ value: "cache" });
    const bad: [unknown, string, ErrorConstructor][] = [
      ["1", `"1" (string)`, TypeError],
      [-1, "-1 (number)", RangeError],
      [1.5, "1.5 (number)", RangeError],
      [NaN, "NaN (number)", RangeError],
      [2 ** 31, "2147483648 (number)", RangeError],
      [1n, "1 (bigint)", TypeError],
    ];
    for (const [partition, shown, kind] of bad) {
      await assert.rejects(
        w.writeMessages(
          { value: "ok", partition: 0 },
          { value: "bad", partition } as unknown as MessageInput,
        ),
        (error: Error) =>
          error instanceof kind &&
          error.message ===
            `Cannot write message 1: "partition" must be a whole number from 0 to 2147483647, or undefined to let the balancer choose; got ${shown}`,
      );
    }
    await w.close();
    let total = 0;
    for (const p of [0, 1]) total += (await readPartition(topic, p)).length;
    assert.equal(total, 1);
  });

  test("a message read from Kafka is balanced: its partition says where it came from", async () => {
    const from = await topicWith(3);
    const to = await topicWith(1);
    const w = new Writer({ brokers: [BROKER], topic: from });
    await w.writeMessages({ value: "read", partition: 2 });
    await w.close();
    const [read] = await readPartition(from, 2);
    assert.equal(read.partition, 2);
    const mirror = new Writer({ brokers: [BROKER], topic: to });
    await mirror.writeMessages(read, { ...read, value: utf8.encode("copy") });
    await mirror.close();
    assert.deepEqual(
      (await readPartition(to, 0)).map((m) => text.decode(m.value!)),
      ["read", "copy"],
    );
  });

  test("by default, keyless messages go to one partition a batch at a time, each run one batch", async () => {
    const topic = await topicWith(3);
    // batchSize 10: runs of 10 messages, each partition one run, in turn.
    const w = new Writer({ brokers: [BROKER], topic, batchSize: 10 });
    await w.writeMessages(
      ...Array.from({ length: 30 }, (_, i) => ({ value: `m${i}` })),
    );
    const stats = w.stats();
    await w.close();
    const runs: string[][] = [];
    for (const p of [0, 1, 2]) {
      const got = await readPartition(topic, p);
      runs.push(got.map((m) => text.decode(m.value!)));
    }
    // Whichever partition the first run took, the runs are m0-m9, m10-m19
    // and m20-m29, in order, one per partition.
    const starts = runs.map((values) => values[0]).sort((a, b) =>
      Number(a.slice(1)) - Number(b.slice(1))
    );
    assert.deepEqual(starts, ["m0", "m10", "m20"]);
    for (const values of runs) {
      const from = Number(values[0].slice(1));
      assert.deepEqual(
        values,
        Array.from({ length: 10 }, (_, i) => `m${from + i}`),
      );
    }
    // Three full batches, not thirty messages cut in three per partition.
    assert.equal(stats.batchSize.max, 10);
    assert.equal(stats.batchSize.avg, 10);
    // Partitions follow in the list's order: 0 after 2.
    const order = [0, 1, 2].sort((a, b) =>
      Number(runs[a][0].slice(1)) - Number(runs[b][0].slice(1))
    );
    assert.ok(
      [[0, 1, 2], [1, 2, 0], [2, 0, 1]].some((o) =>
        o.every((p, i) => p === order[i])
      ),
      `runs went to partitions ${order}`,
    );
  });

  test("batches ready together share a request, up to half a MiB; larger ones go at once", async () => {
    const topic = await topicWith(3);
    // The first byte of a value names its partition.
    const byFirstByte = {
      balance: (m: { value?: Uint8Array | null }, parts: readonly number[]) =>
        parts[m.value![0] % parts.length],
    };
    const w = new Writer({
      brokers: [BROKER],
      topic,
      balancer: byFirstByte,
      batchSize: 1000,
      connectionsPerBroker: 1,
    });
    const writes = (count: number, size: number) =>
      [0, 1, 2].map((p) =>
        w.writeMessages(
          Array.from({ length: count }, () => ({
            value: new Uint8Array(size).fill(p),
          })),
        )
      );
    // Metadata first, and a message to each partition: for a moment after
    // a topic is created, the broker may still answer NOT_LEADER_OR_FOLLOWER
    // (1-5 runs in 100 of this test under Bun), and the retry would be a
    // request of its own.
    await Promise.all(writes(1, 1));
    w.stats();
    // Three small batches, ready in the same turn: one request.
    await Promise.all(writes(10, 100));
    const small = w.stats();
    // Three batches of 600 KB: each goes as soon as it is ready.
    await Promise.all(writes(60, 10_000));
    const large = w.stats();
    await w.close();
    assert.equal(small.messages, 30);
    assert.equal(small.requests, 1);
    assert.equal(large.messages, 180);
    assert.equal(large.requests, 3);
    for (const p of [0, 1, 2]) {
      const got = await readPartition(topic, p);
      assert.equal(got.length, 71);
    }
  });

  test("connectionsPerBroker spreads partitions over that many connections, each partition in order", async () => {
    const topic = await topicWith(4);
    const byFirstByte = {
      balance: (m: { value?: Uint8Array | null }, parts: readonly number[]) =>
        parts[m.value![0] % parts.length],
    };
    const lanesOf = (cluster: Cluster) =>
      cluster.connectionKeys().map((k) => k.split("/")[1]).filter((lane) =>
        lane.startsWith("produce")
      ).sort();
    for (
      const [connections, lanes] of [[1, ["produce"]], [2, [
        "produce",
        "produce-1",
      ]], [3, ["produce", "produce-1", "produce-2"]]] as const
    ) {
      const cluster = new Cluster({ brokers: [BROKER] });
      const w = new Writer({
        cluster,
        topic,
        balancer: byFirstByte,
        batchSize: 50,
        ...(connections === 2 ? {} : { connectionsPerBroker: connections }),
      });
      // Four writers' worth of small writes in flight at once, so that
      // every partition has batches waiting behind the one sent.
      const writes: Promise<void>[] = [];
      for (let round = 0; round < 40; round++) {
        for (const p of [0, 1, 2, 3]) {
          writes.push(w.writeMessages(
            Array.from({ length: 30 }, (_, i) => ({
              value: new Uint8Array([p, connections, round, i]),
            })),
          ));
        }
      }
      await Promise.all(writes);
      assert.deepEqual(lanesOf(cluster), lanes);
      await w.close();
      await cluster.close();
    }
    for (const p of [0, 1, 2, 3]) {
      const got = await readPartition(topic, p);
      assert.equal(got.length, 3 * 40 * 30);
      // Per writer, the partition's messages are in the order written.
      for (const connections of [1, 2, 3]) {
        const order = got.map((m) => m.value!).filter((v) =>
          v[1] === connections
        ).map((v) => v[2] * 30 + v[3]);
        assert.equal(order.length, 40 * 30);
        assert.deepEqual(order, order.toSorted((a, b) => a - b));
        assert.ok(got.every((m) => m.value![0] === p));
      }
    }
  });

  test("a malformed message in a pipe fails it naming the message; every message the stream took beside it is written", async () => {
    const topic = await topicWith(1);
    const source = ReadableStream.from<MessageInput>([
      { value: "a" },
      { value: "b" },
      { value: 42 as unknown as string },
      { value: "d" },
    ]);
    const w = new Writer({ brokers: [BROKER], topic });
    // Named by its place in the stream, not in the group it was checked in.
    await assert.rejects(
      source.pipeTo(w),
      /^TypeError: Cannot write message 2 of the stream \(counted from 0\): "value" must be a Uint8Array, a string or null, got 42 \(number\)$/,
    );
    // The Writer closed with its stream, and says why.
    await assert.rejects(
      w.writeMessages({ value: "e" }),
      /^ClosedError: Cannot writeMessages: the Writer is closed: its stream failed with TypeError: Cannot write message 2 of the stream/,
    );
    // "d" was taken (its write resolved) before the bad one was checked:
    // it is delivered, not dropped.
    const messages = await readPartition(topic, 0);
    assert.deepEqual(messages.map((m) => text.decode(m.value!)), [
      "a",
      "b",
      "d",
    ]);
  });

  test("stream writes made before writeMessages are stored before its messages", async () => {
    const topic = await topicWith(1);
    const w = new Writer({ brokers: [BROKER], topic });
    const stream = w.getWriter();
    await stream.write({ value: "first" });
    stream.releaseLock();
    await w.writeMessages({ value: "second" });
    await w.close();
    const messages = await readPartition(topic, 0);
    assert.deepEqual(messages.map((m) => text.decode(m.value!)), [
      "first",
      "second",
    ]);
  });

  test("close() after a pipe's signal aborted the Writer resolves (it rejected with the platform's \"WritableStream is closed\")", async () => {
    const topic = await topicWith(1);
    const w = new Writer({ brokers: [BROKER], topic });
    const stop = new AbortController();
    const source = new ReadableStream<MessageInput>({
      start(controller) {
        controller.enqueue({ value: "a" });
      },
    });
    const piping = source.pipeTo(w, { signal: stop.signal });
    await sleep(100);
    stop.abort(new Error("stopped"));
    await assert.rejects(piping, /stopped/);
    await w.close();
    await w.close();
  });

  test("close() while getWriter() holds the stream delivers what it took; later writes reject with a ClosedError", async () => {
    await noUnhandledRejections(async () => {
      const topic = await topicWith(1);
      const w = new Writer({ brokers: [BROKER], topic });
      const stream = w.getWriter();
      await stream.write({ value: "taken" });
      await w.close();
      await assert.rejects(
        stream.write({ value: "late" }),
        (error: Error) =>
          error.name === "ClosedError" &&
          /closed .*getWriter/.test(error.message),
      );
      await assert.rejects(stream.close());
      stream.releaseLock();
      await w.close(); // again: resolves
      const messages = await readPartition(topic, 0);
      assert.deepEqual(messages.map((m) => text.decode(m.value!)), ["taken"]);
    });
  });

  test("100,000 messages through pipeTo are all there, in order, after close", async () => {
    const topic = await topicWith(3);
    const total = 100_000;
    const source = new ReadableStream<MessageInput>({
      start(controller) {
        for (let i = 0; i < total; i++) {
          controller.enqueue({ key: `k${i % 97}`, value: String(i) });
        }
        controller.close();
      },
    });
    const w = new Writer({ brokers: [BROKER], topic, batchSize: 2000 });
    await source.pipeTo(w);
    let count = 0;
    for (const p of [0, 1, 2]) {
      const messages = await readPartition(topic, p);
      count += messages.length;
      const byKey = new Map<string, number>();
      for (const m of messages) {
        const value = Number(text.decode(m.value!));
        const key = text.decode(m.key!);
        assert.ok(
          (byKey.get(key) ?? -1) < value,
          `order of ${key} in partition ${p}`,
        );
        byKey.set(key, value);
      }
    }
    assert.equal(count, total);
  });

  test("async mode reports every message once through completion", async () => {
    const topic = await topicWith(2);
    const reported: string[] = [];
    let errors = 0;
    const w = new Writer({
      brokers: [BROKER],
      topic,
      async: true,
      completion(messages, error) {
        if (error) errors++;
        for (const m of messages) reported.push(String(m.value));
      },
    });
    const values = Array.from({ length: 500 }, (_, i) => `v${i}`);
    for (let i = 0; i < values.length; i += 50) {
      const result = w.writeMessages(
        ...values.slice(i, i + 50).map((value) => ({ value })),
      );
      assert.equal(await result, undefined, "returns at once");
    }
    await w.close();
    assert.equal(errors, 0);
    assert.deepEqual(reported.sort(), [...values].sort());
  });

  test("send resolves with where each message was written: topic, partition, offset", async () => {
    const topic = await topicWith(3);
    const w = new Writer({ brokers: [BROKER], topic, balancer: new Hash() });
    const other = await topicWith(1);
    const spread = new Writer({ brokers: [BROKER], async: true });
    const unacked = new Writer({
      brokers: [BROKER],
      topic: other,
      requiredAcks: "none",
    });
    try {
      const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
      const sent = await w.send(keys.map((key) => ({ key, value: key })));
      assert.equal(sent.length, 30);
      // Each message is where its metadata says: its partition, its offset.
      for (const p of [0, 1, 2]) {
        const read = await readPartition(topic, p);
        const here = sent.map((m, i) => ({ ...m, key: keys[i] }))
          .filter((m) => m.partition === p);
        assert.deepEqual(
          here.map((m) => [m.topic, m.offset, m.key]),
          read.map((m) => [topic, m.offset, text.decode(m.key!)]),
        );
      }
      // A second call, the array form with options: offsets go on.
      const more = await w.send([{ key: "k0", value: "again" }], {
        signal: AbortSignal.timeout(10_000),
      });
      const first = sent.filter((m) => m.partition === more[0].partition);
      assert.equal(more[0].offset, first[first.length - 1].offset + 1);
      // send waits for delivery even in async mode; topics per message.
      const both = await spread.send(
        { topic, value: "a", partition: 2 },
        { topic: other, value: "b" },
      );
      assert.deepEqual(both.map((m) => [m.topic, m.partition]), [
        [topic, 2],
        [other, 0],
      ]);
      assert.ok(both.every((m) => m.offset >= 0));
      // No acknowledgement, no offset.
      const blind = await unacked.send({ value: "c" });
      assert.deepEqual(blind, [{ topic: other, partition: 0, offset: -1 }]);
      // A message refused fails alone; the error says where the others went.
      const small = new Writer({ brokers: [BROKER], topic, batchBytes: 1000 });
      try {
        await assert.rejects(
          small.send(
            { value: "fits", partition: 1 },
            { value: new Uint8Array(2000), partition: 1 },
          ),
          (error) => {
            assert.ok(error instanceof WriteErrors, String(error));
            assert.equal(error.errors[0], null);
            assert.match(String(error.errors[1]), /MESSAGE_TOO_LARGE/);
            assert.equal(error.written?.length, 2);
            assert.equal(error.written?.[1], null);
            const fits = error.written?.[0];
            assert.deepEqual([fits?.topic, fits?.partition], [topic, 1]);
            assert.ok((fits?.offset ?? -1) >= 0, String(fits?.offset));
            return true;
          },
        );
        // writeMessages keeps no record of where messages went.
        await assert.rejects(
          small.writeMessages({ value: new Uint8Array(2000) }),
          (error) => error instanceof WriteErrors && error.written === null,
        );
      } finally {
        await small.close();
      }
      const last = (await readPartition(topic, 1)).at(-1);
      assert.equal(text.decode(last!.value!), "fits");
      await assert.rejects(
        w.send({ value: 5 as never }),
        /^TypeError: Cannot write message 0: "value" must be a Uint8Array/,
      );
      await assert.rejects(
        w.send([{ value: "x" }], [{ value: "y" }] as never),
        /^TypeError: Cannot write: send takes one array of messages and its options/,
      );
    } finally {
      await w.close();
      await spread.close();
      await unacked.close();
    }
  });

  test("flush resolves once every message written before it is delivered or failed, and leaves the Writer open", async () => {
    const topic = await topicWith(2);
    const reported: string[] = [];
    const failed: string[] = [];
    const w = new Writer({
      brokers: [BROKER],
      topic,
      async: true,
      batchBytes: 2_000,
      completion(messages, error) {
        for (const m of messages) {
          (error ? failed : reported).push(String(m.value));
        }
      },
    });
    const values = Array.from({ length: 5_000 }, (_, i) => `v${i}`);
    await w.writeMessages(...values.map((value) => ({ value })));
    // One too large: flush does not reject for it, completion reports it.
    await w.writeMessages({ value: "x".repeat(4_000) });
    await w.flush();
    assert.deepEqual(reported.sort(), [...values].sort());
    assert.equal(failed.length, 1);
    // Stream writes gathered for the next turn are flushed too.
    const sw = w.getWriter();
    sw.write({ value: "streamed" });
    sw.releaseLock();
    await w.flush();
    assert.ok(reported.includes("streamed"));
    let count = 0;
    for (const p of [0, 1]) count += (await readPartition(topic, p)).length;
    assert.equal(count, 5_001);
    await w.close();
    await assert.rejects(w.flush(), /Cannot flush: the Writer is closed/);
  });

  test("a cancelled write that was never sent is never delivered", async () => {
    const topic = await topicWith(1);
    const w = new Writer({ brokers: [BROKER], topic });
    await w.writeMessages({ value: "before" });
    const controller = new AbortController();
    // The first write is in flight; the second waits behind it and is cancelled.
    const first = w.writeMessages(
      Array.from({ length: 50 }, (_, i) => ({ value: `kept-${i}` })),
    );
    const second = w.writeMessages([{ value: "cancelled" }], {
      signal: controller.signal,
    });
    const refused = assert.rejects(second, (error) => {
      assert.ok(error instanceof WriteErrors);
      assert.match(String(error.errors[0]), /changed my mind/);
      return true;
    });
    controller.abort(new Error("changed my mind"));
    await first;
    await refused;
    await w.writeMessages({ value: "after" });
    await w.close();
    const values = (await readPartition(topic, 0)).map((m) =>
      text.decode(m.value!)
    );
    assert.ok(
      !values.includes("cancelled"),
      "the cancelled message must not be written",
    );
    assert.equal(values.at(-1), "after");
  });

  test("records the broker names as invalid fail alone; the rest of their batch is sent again as it was", async () => {
    // A compacted topic refuses records without a key (INVALID_RECORD, with
    // the index of each in the batch); the others are re-made from the
    // batch's own bytes, since the Writer keeps no messages without a
    // completion callback.
    const topic = uniqueTopic("writer");
    await admin.createTopics({
      topic,
      numPartitions: 1,
      replicationFactor: 1,
      configEntries: [{ configName: "cleanup.policy", configValue: "compact" }],
    });
    const w = new Writer({ brokers: [BROKER], topic, batchTimeout: 50 });
    const time = new Date(1_700_000_000_000);
    const messages: MessageInput[] = [
      { key: "a", value: "1", headers: [{ key: "h", value: "x" }], time },
      { key: null, value: "no key" },
      { key: "c", value: null, time },
      { value: "no key either" },
      { key: "e", value: "5", headers: [{ key: "h2", value: null }] },
    ];
    await assert.rejects(w.writeMessages(messages), (error) => {
      assert.ok(error instanceof WriteErrors, String(error));
      assert.equal(error.count, 2);
      assert.deepEqual(
        error.errors.map((e) => e === null ? null : (e as KafkaError).name),
        [null, "INVALID_RECORD", null, "INVALID_RECORD", null],
      );
      return true;
    });
    await w.close();
    const got = await readPartition(topic, 0);
    assert.deepEqual(
      got.map((m) => [
        m.key && text.decode(m.key),
        m.value && text.decode(m.value),
        m.headers.map((h) => [h.key, h.value && text.decode(h.value)]),
      ]),
      [
        ["a", "1", [["h", "x"]]],
        ["c", null, []],
        ["e", "5", [["h2", null]]],
      ],
    );
    assert.equal(got[0].time.getTime(), time.getTime());
    assert.equal(got[1].time.getTime(), time.getTime());
  });

  test("messages whose time is out of the topic's bounds fail alone (INVALID_TIMESTAMP, each with the broker's reason); the rest are written", async () => {
    const topic = uniqueTopic("writer");
    const hour = 3_600_000;
    await admin.createTopics({
      topic,
      numPartitions: 1,
      replicationFactor: 1,
      configEntries: [
        {
          configName: "message.timestamp.before.max.ms",
          configValue: `${hour}`,
        },
        {
          configName: "message.timestamp.after.max.ms",
          configValue: `${hour}`,
        },
      ],
    });
    const w = new Writer({ brokers: [BROKER], topic });
    const now = Date.now();
    const messages: MessageInput[] = Array.from({ length: 10 }, (_, i) => ({
      value: `${i}`,
      time: new Date(
        i === 3 ? now - 24 * hour : i === 7 ? now + 24 * hour : now,
      ),
    }));
    try {
      await assert.rejects(w.writeMessages(messages), (error) => {
        assert.ok(error instanceof WriteErrors, String(error));
        assert.equal(error.count, 2);
        for (const [i, e] of error.errors.entries()) {
          if (i !== 3 && i !== 7) {
            assert.equal(e, null, `message ${i}`);
            continue;
          }
          assert.ok(e instanceof KafkaError, String(e));
          assert.equal(e.name, "INVALID_TIMESTAMP");
          // The broker's own words for that record: its time is out of range.
          assert.match(e.message, /out of range|timestamp/i);
        }
        return true;
      });
    } finally {
      await w.close();
    }
    const got = await readPartition(topic, 0);
    assert.deepEqual(
      got.map((m) => text.decode(m.value!)),
      ["0", "1", "2", "4", "5", "6", "8", "9"],
    );
  });

  test("a producer quota's throttle holds the next request until it ends (KIP-219): no timeout, nothing sent twice", async () => {
    // The broker answers a request that goes over the quota at once, with
    // the time it throttles the client, and reads nothing more from the
    // connection until then. A request written meanwhile would wait there
    // past its timeout (writeTimeout + 5 s), be sent again on a new
    // connection (escaping the throttle) and, not idempotent, be written
    // twice.
    const topic = uniqueTopic("writer-quota");
    const clientId = `${topic}-client`;
    const client = new Client({ brokers: [BROKER] });
    const entity = { "client-id": clientId };
    try {
      await admin.createTopics({
        topic,
        numPartitions: 1,
        replicationFactor: 1,
      });
      const [set] = await client.alterClientQuotas([{
        entity,
        ops: [{ key: "producer_byte_rate", value: 40_000 }],
      }]);
      assert.equal(set.error, null);
      // Quotas reach the broker through the metadata log: wait for it.
      for (let i = 0; i < 50; i++) {
        const [described] = await client.describeClientQuotas([
          { entityType: "client-id", name: clientId },
        ], { strict: true });
        if (described?.values.producer_byte_rate === 40_000) break;
        await sleep(100);
      }
      const logged: string[] = [];
      const w = new Writer({
        brokers: [BROKER],
        topic,
        transport: { clientId },
        idempotent: false,
        requiredAcks: 1,
        writeTimeout: 500,
        logger: (m) => logged.push(m),
        errorLogger: (m) => logged.push(m),
      });
      try {
        const value = "q".repeat(100_000);
        // 700 kB: over the 10 s the broker's rate covers at first, 70 kB/s
        // against 40: it throttles for (70 - 40) / 40 x 10 s = 7.5 s.
        await w.writeMessages(
          Array.from({ length: 7 }, (_, i) => ({ value: `${i}${value}` })),
        );
        const started = Date.now();
        await w.writeMessages({ value: "after" });
        const held = Date.now() - started;
        // Held past its own timeout (0.5 s + 5 s) without failing.
        assert.ok(held > 5_500, `the second write took ${held} ms`);
        assert.equal(w.stats().retries, 0, logged.join("\n"));
      } finally {
        await w.close();
      }
      const got = await readPartition(topic, 0);
      assert.deepEqual(
        got.map((m) => text.decode(m.value!).slice(0, 5)),
        [..."0123456"].map((i) => `${i}qqqq`).concat("after"),
      );
    } finally {
      await client.alterClientQuotas([{
        entity,
        ops: [{ key: "producer_byte_rate", remove: true }],
      }]).catch(() => {});
      await client.close();
    }
  });

  test("topic rules: writer topic and message topic are exclusive", async () => {
    const topic = await topicWith(1);
    const withTopic = new Writer({ brokers: [BROKER], topic });
    await assert.rejects(
      withTopic.writeMessages({ topic: "other", value: "x" }),
      /the Writer has topic ".*", so the message must not set one \(it set "other" \(string\)\)/,
    );
    await withTopic.close();
    const without = new Writer({ brokers: [BROKER] });
    await assert.rejects(
      without.writeMessages({ value: "x" }),
      /message 0: it has no topic, and neither does the Writer/,
    );
    // Several topics in one call.
    const other = await topicWith(1);
    await without.writeMessages({ topic, value: "a" }, {
      topic: other,
      value: "b",
    });
    await without.close();
    assert.equal(text.decode((await readPartition(topic, 0))[0].value!), "a");
    assert.equal(text.decode((await readPartition(other, 0))[0].value!), "b");
  });

  test("allowAutoTopicCreation creates a missing topic; without it, it fails", async () => {
    const created = uniqueTopic("auto");
    const w = new Writer({
      brokers: [BROKER],
      topic: created,
      allowAutoTopicCreation: true,
    });
    await w.writeMessages({ value: "hello" });
    await w.close();
    assert.equal((await readPartition(created, 0)).length, 1);

    const missing = uniqueTopic("missing");
    const strict = new Writer({
      brokers: [BROKER],
      topic: missing,
      allowAutoTopicCreation: false,
      maxAttempts: 2,
      writeBackoffMin: 10,
    });
    await assert.rejects(strict.writeMessages({ value: "x" }), (error) => {
      assert.ok(error instanceof WriteErrors);
      const cause = error.errors[0];
      assert.ok(cause instanceof KafkaError, String(cause));
      assert.equal(cause.name, "UNKNOWN_TOPIC_OR_PARTITION");
      return true;
    });
    await strict.close();

    // Out of time, the error says what to check.
    const timed = new Writer({
      brokers: [BROKER],
      topic: missing,
      deliveryTimeout: 1_500,
      writeBackoffMin: 10,
      writeBackoffMax: 100,
    });
    await assert.rejects(timed.writeMessages({ value: "x" }), (error) => {
      assert.ok(error instanceof WriteErrors);
      assert.match(
        String(error.errors[0]?.message),
        /a topic the brokers do not know \(create it, or set allowAutoTopicCreation: true\) within deliveryTimeout/,
      );
      return true;
    });
    await timed.close();
  });

  test("close({ timeout }) gives up writes still waiting for their topic's metadata; a timeout that is not reached changes nothing", async () => {
    const missing = uniqueTopic("close-timeout-missing");
    const w = new Writer({ brokers: [BROKER], topic: missing });
    // The topic does not exist: the write waits (deliveryTimeout, 2 minutes).
    const waiting = w.writeMessages({ value: "x" });
    waiting.catch(() => {});
    await sleep(300);
    const started = Date.now();
    await assert.rejects(
      w.close({ timeout: 400 }),
      /^TimeoutError: The Writer's close\(\) gave up after its timeout of 400 ms/,
    );
    const took = Date.now() - started;
    assert.ok(took >= 350 && took < 3000, `close took ${took} ms`);
    await assert.rejects(waiting, (error) => {
      assert.ok(error instanceof WriteErrors, String(error));
      // Never sent: nothing says it may have been written.
      assert.match(
        String(error.errors[0]),
        /^TimeoutError: The Writer's close\(\) gave up after its timeout of 400 ms, before these messages were acknowledged$/,
      );
      return true;
    });

    const topic = await topicWith(1);
    const calm = new Writer({ brokers: [BROKER], topic });
    await calm.writeMessages({ value: "one" });
    const last = calm.writeMessages({ value: "two" });
    await calm.close({ timeout: 10_000 });
    await last;
    assert.deepEqual(
      (await readPartition(topic, 0)).map((m) => text.decode(m.value!)),
      ["one", "two"],
    );
  });

  test("close() refuses writes made after it, so it ends while others keep writing; every write that resolved is stored", async () => {
    const topic = await topicWith(3);
    const w = new Writer({ brokers: [BROKER], topic });
    let written = 0;
    const refusals: string[] = [];
    const worker = async () => {
      for (;;) {
        try {
          await w.writeMessages({ value: `m${written}` });
          written++;
        } catch (error) {
          refusals.push(String(error));
          return;
        }
      }
    };
    const workers = Array.from({ length: 20 }, worker);
    await sleep(300);
    const started = Date.now();
    await w.close();
    const took = Date.now() - started;
    assert.ok(took < 5000, `close took ${took} ms`);
    await Promise.all(workers);
    assert.equal(refusals.length, 20);
    for (const refusal of refusals) {
      assert.match(
        refusal,
        /^ClosedError: Cannot (writeMessages: the Writer is closing \(close\(\) was called; what was written before it is still delivered\)|write: the Writer is closed)$/,
      );
    }
    let stored = 0;
    for (const p of [0, 1, 2]) stored += (await readPartition(topic, p)).length;
    assert.equal(stored, written);
  });

  test("completion is never called from inside the writeMessages call that failed: a completion that writes again does not nest", async () => {
    const topic = await topicWith(1);
    let inside = false;
    let calls = 0;
    const nested: number[] = [];
    const w = new Writer({
      brokers: [BROKER],
      topic,
      batchBytes: 1000,
      async: true,
      completion: (_messages, error) => {
        if (error === null) return;
        calls++;
        if (inside) nested.push(calls);
        // Write it again, a hundred times: each fails as too large at once.
        if (calls < 100) {
          inside = true;
          w.writeMessages({ value: new Uint8Array(2000) }).catch(() => {});
          inside = false;
        }
      },
    });
    await w.writeMessages({ value: "small" });
    inside = true;
    const first = w.writeMessages({ value: new Uint8Array(2000) });
    inside = false;
    await first;
    await w.flush();
    while (calls < 100) await sleep(10);
    assert.deepEqual(nested, []);
    await w.close();
  });

  test("after a pipe failed the Writer's bulk sink (a transaction call failed), close() rejects with that failure, not the platform's", async () => {
    const topic = await topicWith(1);
    const w = new Writer({ brokers: [BROKER], topic });
    await w.writeMessages({ value: "before" });
    const sink = bulkSinkOf(w);
    assert.ok(sink !== undefined);
    const failure = new TypeError(
      "Cannot commitTransaction: the transaction is already being ended",
    );
    sink.fail(failure);
    await assert.rejects(w.close(), (error) => error === failure);
    await assert.rejects(
      w.writeMessages({ value: "after" }),
      /^ClosedError: Cannot writeMessages: the Writer is closed: its stream failed with TypeError: Cannot commitTransaction/,
    );
  });

  test("a Writer and a Reader sharing a Cluster closed under them fail naming the closed Cluster", async () => {
    const topic = await topicWith(1);
    const cluster = new Cluster({ brokers: [BROKER] });
    const w = new Writer({ cluster, topic });
    const r = new Reader({ cluster, topic, partition: 0, maxWait: 100 });
    try {
      await w.writeMessages({ value: "a" });
      assert.equal((await r.readMessage()).offset, 0);
      await cluster.close();
      const closed =
        /The Cluster is closed \(by cluster\.close\(\), or by close\(\) of the Writer, Reader or Client that made it\)/;
      await assert.rejects(w.writeMessages({ value: "b" }), closed);
      await assert.rejects(
        r.readMessage({ signal: AbortSignal.timeout(10_000) }),
        closed,
      );
    } finally {
      await w.close().catch(() => {});
      await r.close();
    }
  });

  test("a message larger than batchBytes fails alone; the others are sent", async () => {
    const topic = await topicWith(1);
    const w = new Writer({ brokers: [BROKER], topic, batchBytes: 1000 });
    await assert.rejects(
      w.writeMessages({ value: "small" }, { value: new Uint8Array(2000) }, {
        value: "also small",
      }),
      (error) => {
        assert.ok(error instanceof WriteErrors, String(error));
        assert.equal(error.errors[0], null);
        assert.equal(error.errors[2], null);
        const cause = error.errors[1];
        assert.ok(cause instanceof KafkaError, String(cause));
        assert.equal(cause.name, "MESSAGE_TOO_LARGE");
        assert.match(
          cause.message,
          /message 1 takes \d+ bytes, \d+ in a batch of its own: more than batchBytes \(\d+\) allows/,
        );
        return true;
      },
    );
    await w.close();
    const read = await readPartition(topic, 0);
    assert.deepEqual(read.map((m) => text.decode(m.value!)), [
      "small",
      "also small",
    ]);
  });

  test("a lone write on an idle writer does not wait for batchTimeout", async () => {
    const topic = await topicWith(1);
    const w = new Writer({ brokers: [BROKER], topic, batchTimeout: 10_000 });
    await w.writeMessages({ value: "warm-up" });
    const started = Date.now();
    await w.writeMessages({ value: "lone" });
    assert.ok(Date.now() - started < 2000, "resolved without waiting 10 s");
    const stats = w.stats();
    assert.equal(stats.messages, 2);
    assert.equal(stats.errors, 0);
    await w.close();
  });

  test("logger and errorLogger receive the writer's events", async () => {
    const topic = await topicWith(1);
    const logged: string[] = [];
    const errors: string[] = [];
    const w = new Writer({
      brokers: [BROKER],
      topic,
      logger: (m) => logged.push(m),
      errorLogger: (m) => errors.push(m),
    });
    await w.writeMessages({ value: "a" }, { value: "b" });
    await w.close();
    assert.ok(
      logged.some((m) => /idempotent producer id \d+/.test(m)),
      logged.join("\n"),
    );
    assert.ok(logged.some((m) => m.includes(`wrote 2 messages to ${topic}/0`)));
    assert.equal(logged.at(-1), "kafka writer: closed");
    assert.equal(errors.length, 0, errors.join("\n"));

    const missing = new Writer({
      brokers: [BROKER],
      topic: uniqueTopic("nowhere"),
      maxAttempts: 2,
      writeBackoffMin: 1,
      errorLogger: (m) => errors.push(m),
    });
    await assert.rejects(missing.writeMessages({ value: "x" }), WriteErrors);
    await missing.close();
    assert.ok(
      errors.some((m) => /attempt 1: .*UNKNOWN_TOPIC_OR_PARTITION/.test(m)),
      errors.join("\n"),
    );
  });

  test("a bad message names the message and the field; nothing is sent", async () => {
    const topic = await topicWith(1);
    const w = new Writer({ brokers: [BROKER], topic });
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      w.writeMessages({ value: "ok" }, { value: 42 as any }),
      /message 1: "value" must be a Uint8Array, a string or null, got 42 \(number\)/,
    );
    const notBytes = 1 as unknown as Uint8Array;
    await assert.rejects(
      w.writeMessages({
        value: "ok",
        headers: [{ key: "h", value: notBytes }],
      }),
      /message 0: "headers\[0\]\.value" must be a Uint8Array/,
    );
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      w.writeMessages(null as any),
      /message 0: expected an object, got null/,
    );
    // A misspelt value would be written as a tombstone, a misspelt
    // partition would go where the balancer says, a misspelt key or header
    // value would be lost: every message and header is checked.
    await assert.rejects(
      w.writeMessages({ value: "ok" }, { key: "k", valeu: "x" } as never),
      /^TypeError: Cannot write message 1: unknown field "valeu"; did you mean "value"\?$/,
    );
    await assert.rejects(
      w.writeMessages({ value: "ok" }, { value: "a", partiton: 1 } as never),
      /^TypeError: Cannot write message 1: unknown field "partiton"; did you mean "partition"\?$/,
    );
    await assert.rejects(
      w.writeMessages({ value: "b", kye: "k" } as never),
      /^TypeError: Cannot write message 0: unknown field "kye"; did you mean "key"\?$/,
    );
    await assert.rejects(
      w.writeMessages({ value: "c", timestamp: new Date(0) } as never),
      /^TypeError: Cannot write message 0: unknown field "timestamp"; the options are "topic", "key", "value", "headers", "time", /,
    );
    await assert.rejects(
      w.writeMessages({
        value: "d",
        headers: [{ key: "h", vaule: "v" }],
      } as never),
      /^TypeError: Cannot write message 0: "headers\[0\]": unknown field "vaule"; did you mean "value"\?$/,
    );
    await assert.rejects(
      // deno-lint-ignore no-sparse-arrays
      w.writeMessages({
        value: "e",
        headers: [, { key: "a", value: "b" }],
      } as never),
      /^TypeError: Cannot write message 0: "headers\[0\]" must be an object \{ key, value \}, got undefined$/,
    );
    await assert.rejects(
      w.writeMessages({ Value: "x" } as never),
      /^TypeError: Cannot write message 0: unknown field "Value"; did you mean "value"\?$/,
    );
    await w.close();
    assert.equal((await readPartition(topic, 0)).length, 0);
  });

  test("a message without a value is a tombstone: those are checked for misspelt fields, and pass", async () => {
    const topic = await topicWith(1);
    const w = new Writer({ brokers: [BROKER], topic });
    await w.writeMessages({ value: "v" });
    const [read] = await readPartition(topic, 0);
    // A spread of a read message keeps topic, partition, offset and high
    // watermark (its accessors are left out): all fields a message may have.
    await w.writeMessages(
      { key: "k" },
      { key: "k", value: null },
      { key: "k", value: undefined, headers: undefined },
      { ...read, key: "k" },
    );
    await w.close();
    const got = await readPartition(topic, 0);
    assert.equal(got.length, 5);
    for (const m of got.slice(1)) {
      assert.equal(m.value, null);
      assert.equal(text.decode(m.key!), "k");
    }
  });

  test("a Writer that knows its partitions still sends nothing of a call with a bad message or a refusing balancer, and all of the calls beside it", async () => {
    const topic = await topicWith(1);
    const seen: { value?: Uint8Array | null }[] = [];
    const w = new Writer({
      brokers: [BROKER],
      topic,
      balancer: {
        balance: (m, parts) => {
          seen.push(m);
          if (m.value && text.decode(m.value) === "q") {
            throw new Error("the balancer refused q");
          }
          return parts[0];
        },
      },
    });
    // Metadata first: the calls below are routed as they are made.
    await w.writeMessages({ value: "first" });
    // In the same turn, so that all would share one batch.
    const good = w.writeMessages({ value: "a" }, { value: "b" });
    const bad = w.writeMessages(
      { value: "x" },
      { value: "y" },
      // deno-lint-ignore no-explicit-any
      { value: 42 as any },
    );
    const refused = w.writeMessages({ value: "p" }, { value: "q" });
    const after = w.writeMessages({ value: "c" });
    await assert.rejects(bad, /message 2: "value" must be a Uint8Array/);
    await assert.rejects(refused, /the balancer refused q/);
    await Promise.all([good, after]);
    // The refused calls are not pending: flush does not wait for them.
    await w.flush();
    await w.close();
    const got = await readPartition(topic, 0);
    assert.deepEqual(got.map((m) => text.decode(m.value!)), [
      "first",
      "a",
      "b",
      "c",
    ]);
    // A balancer of the user's may keep what it was given.
    assert.deepEqual(seen.map((m) => text.decode(m.value!)), [
      "first",
      "a",
      "b",
      "x",
      "y",
      "p",
      "q",
      "c",
    ]);
  });

  test("a write that waits for metadata sends nothing of itself when the balancer throws on its second topic", async () => {
    const [first, second] = await Promise.all([topicWith(1), topicWith(1)]);
    const w = new Writer({
      brokers: [BROKER],
      balancer: {
        balance: (m, parts) => {
          if (m.value && text.decode(m.value) === "q") {
            throw new Error("the balancer refused q");
          }
          return parts[0];
        },
      },
    });
    // A fresh Writer without a topic knows no partitions: the call waits
    // for the metadata of both topics before anything is placed.
    const refused = w.writeMessages(
      { topic: first, value: "p" },
      { topic: second, value: "r" },
      { topic: second, value: "q" },
    );
    await assert.rejects(refused, /the balancer refused q/);
    await w.writeMessages(
      { topic: first, value: "c" },
      { topic: second, value: "d" },
    );
    assert.equal(w.stats().errors, 3);
    await w.close();
    const values = async (topic: string) =>
      (await readPartition(topic, 0)).map((m) => text.decode(m.value!));
    assert.deepEqual(await values(first), ["c"]);
    assert.deepEqual(await values(second), ["d"]);
  });

  test("bad options fail in the constructor naming the option", () => {
    assert.throws(
      () => new Writer({ brokers: [] }),
      /"brokers" must list at least one/,
    );
    assert.throws(
      () => new Writer({ cluster: {} as Cluster, topic: "t" }),
      /Cannot create Writer: "cluster" must be a Cluster, got \{\} \(object\)/,
    );
    assert.throws(
      () => new Writer({ brokers: [BROKER], batchBytes: -1 }),
      /Cannot create Writer: "batchBytes" must be a positive integer, got -1 \(number\)/,
    );
    assert.throws(
      // deno-lint-ignore no-explicit-any
      () => new Writer({ brokers: [BROKER], batchSize: "100" as any }),
      (error) => {
        assert.ok(error instanceof TypeError);
        assert.match(
          error.message,
          /"batchSize" must be an integer from 1 to 2147483647, got "100" \(string\)/,
        );
        return true;
      },
    );
    for (const bad of [0, 17, 1.5]) {
      assert.throws(
        () => new Writer({ brokers: [BROKER], connectionsPerBroker: bad }),
        (error) => {
          assert.ok(error instanceof RangeError);
          assert.equal(
            error.message,
            `Cannot create Writer: "connectionsPerBroker" must be an integer from 1 to 16, got ${bad} (number)`,
          );
          return true;
        },
      );
    }
    assert.throws(
      () => new Writer({ brokers: [BROKER], deliveryTimeout: 0 }),
      /"deliveryTimeout" must be an integer from 1 to 2147483647, got 0 \(number\)/,
    );
    assert.throws(
      // deno-lint-ignore no-explicit-any
      () => new Writer({ brokers: [BROKER], requiredAcks: "most" as any }),
      /"requiredAcks" must be "none", "one", "all", 0, 1 or -1, got "most"/,
    );
    assert.throws(
      () =>
        new Writer({
          brokers: [BROKER],
          idempotent: true,
          requiredAcks: "one",
        }),
      /"idempotent" needs requiredAcks "all"/,
    );
    assert.throws(
      // deno-lint-ignore no-explicit-any
      () => new Writer({ brokers: [BROKER], compression: "brotli" as any }),
      /^RangeError: Cannot create Writer: "compression" must be one of "none", "gzip", "snappy", "lz4", "zstd", got "brotli"$/,
    );
    // Every boolean is a boolean: async "false" would turn async mode on.
    for (
      const [key, bad, shown] of [
        ["async", "false", '"false" (string)'],
        ["idempotent", "true", '"true" (string)'],
        ["allowAutoTopicCreation", 1, "1 (number)"],
        ["telemetry", null, "null"],
      ] as const
    ) {
      assert.throws(
        () => new Writer({ brokers: [BROKER], [key]: bad } as never),
        {
          name: "TypeError",
          message:
            `Cannot create Writer: "${key}" must be a boolean, got ${shown}`,
        },
      );
    }
    for (const key of ["writeBackoffMin", "writeBackoffMax", "batchTimeout"]) {
      assert.throws(
        () => new Writer({ brokers: [BROKER], [key]: Infinity } as never),
        {
          name: "RangeError",
          message:
            `Cannot create Writer: "${key}" must be a number of milliseconds from 0 to 2147483647, got Infinity (number)`,
        },
      );
    }
    assert.throws(
      () => new Writer({ brokers: [":9092"] }),
      {
        name: "TypeError",
        message:
          'Cannot create Writer: "brokers[0]": Cannot parse broker address: the host is empty in ":9092"; expected "host:port", e.g. "localhost:9092"',
      },
    );
  });

  test("a closed writer refuses writes without unhandled rejections", async () => {
    await noUnhandledRejections(async () => {
      const topic = await topicWith(1);
      const w = new Writer({ brokers: [BROKER], topic });
      await w.close();
      await assert.rejects(
        w.writeMessages({ value: "late" }),
        /the Writer is closed/,
      );
      // Closing again resolves, as the first close did.
      await w.close();
    });
  });

  test("a write with bad options is refused whole, naming the option; two closes at once both resolve", async () => {
    const topic = await topicWith(1);
    const w = new Writer({ brokers: [BROKER], topic });
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      w.writeMessages([{ value: "never" }], { signal: 5 as any }),
      /^TypeError: Cannot write: "signal" must be an AbortSignal, got 5 \(number\)$/,
    );
    await w.writeMessages({ value: "kept" });
    await Promise.all([w.close(), w.close()]);
    const got = await readPartition(topic, 0);
    assert.deepEqual(got.map((m) => text.decode(m.value!)), ["kept"]);
  });
});
