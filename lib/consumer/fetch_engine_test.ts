/**
 * The fetch engine against the real broker (a 6-partition topic read through
 * one engine with one Fetch per broker per round, revoke, pause and resume,
 * seek, FirstOffset and LastOffset, offset out of range, bounded memory,
 * close during a long poll), and against fake brokers for what a single real
 * broker will not do on demand (leaders moving between brokers, refused
 * partitions, connections failing, a response held in flight).
 */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Cluster, type TopicInfo } from "../cluster/cluster.ts";
import {
  type Conn,
  dial,
  dialLeader,
  FirstOffset,
  LastOffset,
} from "../conn/conn.ts";
import type { BrokerConnection } from "../connection/connection.ts";
import { ConnectionError } from "../connection/errors.ts";
import type { Message } from "../message.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { DeleteRecords } from "../protocol/messages/delete_records.ts";
import { Fetch, type FetchRequest } from "../protocol/messages/fetch.ts";
import {
  ListOffsets,
  type ListOffsetsRequest,
} from "../protocol/messages/list_offsets.ts";
import { RecordBatchBuilder } from "../protocol/records.ts";
import { loadCodec, registerCodec } from "../../codecs/mod.ts";
import { BROKER, sleep, uniqueTopic } from "../../tests/_helpers.ts";
import {
  FetchEngine,
  type FetchEngineOptions,
  type TopicPartition,
} from "./fetch_engine.ts";

const text = new TextDecoder();
const utf8 = new TextEncoder();

/** Takes `count` messages, waiting on `ready()` between; fails after `timeout` ms. */
async function drain(
  engine: FetchEngine,
  count: number,
  timeout = 20_000,
): Promise<Message[]> {
  const out: Message[] = [];
  const deadline = Date.now() + timeout;
  while (out.length < count) {
    const message = engine.take();
    if (message !== undefined) {
      out.push(message);
      continue;
    }
    if (engine.failure !== null) throw engine.failure;
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${out.length} of ${count} messages`);
    }
    await Promise.race([engine.ready(), sleep(50)]);
  }
  return out;
}

/** Whatever the engine hands out within `ms`. */
async function takeFor(engine: FetchEngine, ms: number): Promise<Message[]> {
  const out: Message[] = [];
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    out.push(...engine.takeBatch());
    await Promise.race([engine.ready(), sleep(20)]);
  }
  out.push(...engine.takeBatch());
  return out;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Messages by partition, in the order they came. */
function byPartition(messages: Message[]): Map<number, Message[]> {
  const out = new Map<number, Message[]>();
  for (const m of messages) {
    const list = out.get(m.partition);
    if (list === undefined) out.set(m.partition, [m]);
    else list.push(m);
  }
  return out;
}

function offsets(messages: Message[] | undefined): number[] {
  return (messages ?? []).map((m) => m.offset);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

/** What a spied connection saw of one Fetch request. */
interface SeenFetch {
  address: string;
  partitions: string[];
}

/** A Cluster that watches the engine's Fetch and ListOffsets requests. */
class SpyCluster extends Cluster {
  readonly fetches: SeenFetch[] = [];
  readonly listOffsets: string[][] = [];
  /** Most Fetch requests in flight at once to one broker. */
  maxInFlight = 0;
  private readonly inFlight = new Map<string, number>();
  private readonly spied = new WeakSet<BrokerConnection>();

  constructor() {
    super({ brokers: [BROKER] });
  }

  override async leader(topic: string, partition: number, lane?: string) {
    const found = await super.leader(topic, partition, lane);
    this.spy(found.conn);
    return found;
  }

  private spy(conn: BrokerConnection): void {
    if (this.spied.has(conn)) return;
    this.spied.add(conn);
    const request = conn.request.bind(conn);
    conn.request = ((api, data, options) => {
      if (api === ListOffsets) {
        const body = data as unknown as ListOffsetsRequest;
        this.listOffsets.push(
          body.topics.flatMap((t) =>
            t.partitions.map((p) => `${t.name}/${p.partitionIndex}`)
          ),
        );
      }
      if (api !== Fetch) return request(api, data, options);
      const body = data as unknown as FetchRequest;
      this.fetches.push({
        address: conn.address,
        partitions: body.topics.flatMap((t) =>
          t.partitions.map((p) => `${t.topic}/${p.partition}`)
        ),
      });
      const now = (this.inFlight.get(conn.address) ?? 0) + 1;
      this.inFlight.set(conn.address, now);
      this.maxInFlight = Math.max(this.maxInFlight, now);
      const done = () =>
        this.inFlight.set(
          conn.address,
          this.inFlight.get(conn.address)! - 1,
        );
      const answer = request(api, data, options);
      answer.then(done, done);
      return answer;
    }) as BrokerConnection["request"];
  }
}

describe("FetchEngine against the broker", () => {
  let admin: Conn;
  const clusters: Cluster[] = [];
  const engines: FetchEngine[] = [];

  before(async () => {
    admin = await dial(BROKER);
  });
  after(async () => {
    await Promise.all(engines.map((e) => e.close()));
    await Promise.all(clusters.map((c) => c.close()));
    admin?.close();
  });

  async function topicWith(partitions: number): Promise<string> {
    const topic = uniqueTopic("fetch-engine");
    await admin.createTopics({
      topic,
      numPartitions: partitions,
      replicationFactor: 1,
    });
    return topic;
  }

  /** Writes `count` messages "p<partition>-<n>" to a partition, `perBatch` a batch. */
  async function produce(
    topic: string,
    partition: number,
    count: number,
    { from = 0, perBatch = 100, size = 0 } = {},
  ): Promise<void> {
    const conn = await dialLeader(BROKER, topic, partition);
    try {
      for (let sent = 0; sent < count; sent += perBatch) {
        const n = Math.min(perBatch, count - sent);
        const messages = Array.from({ length: n }, (_, i) => ({
          value: `p${partition}-${from + sent + i}`.padEnd(size, "."),
        }));
        await writeRetrying(conn, messages);
      }
    } finally {
      conn.close();
    }
  }

  /**
   * `conn.writeMessages`, again while the broker answers with an error: a
   * new topic's partitions take a moment to have a leader.
   */
  async function writeRetrying(
    conn: Conn,
    messages: { value: string }[],
  ): Promise<void> {
    for (let attempt = 1;; attempt++) {
      try {
        await conn.writeMessages(...messages);
        return;
      } catch (error) {
        if (!(error instanceof KafkaError) || attempt === 50) throw error;
        await sleep(100);
      }
    }
  }

  function open(
    options: Partial<FetchEngineOptions> = {},
  ): { engine: FetchEngine; cluster: SpyCluster } {
    const cluster = new SpyCluster();
    clusters.push(cluster);
    const engine = new FetchEngine({ cluster, maxWait: 500, ...options });
    engines.push(engine);
    return { engine, cluster };
  }

  function all(topic: string, count: number, offset?: number) {
    return range(0, count).map((partition) => ({ topic, partition, offset }));
  }

  test("reads 6 partitions completely, in order, one Fetch per broker per round", async () => {
    const topic = await topicWith(6);
    const perPartition = 600;
    await Promise.all(range(0, 6).map((p) => produce(topic, p, perPartition)));
    // Small responses, so that reading takes many rounds.
    const { engine, cluster } = open({
      maxBytes: 8 * 1024,
      partitionMaxBytes: 2 * 1024,
    });
    engine.assign(all(topic, 6, FirstOffset));
    const got = await drain(engine, 6 * perPartition);
    // Nothing more comes.
    assert.equal((await takeFor(engine, 300)).length, 0);
    const stats = engine.stats();
    await engine.close();

    const split = byPartition(got);
    for (const p of range(0, 6)) {
      const list = split.get(p)!;
      assert.deepEqual(offsets(list), range(0, perPartition), `partition ${p}`);
      list.forEach((m, i) => {
        assert.equal(m.topic, topic);
        assert.equal(text.decode(m.value!), `p${p}-${i}`);
        assert.equal(m.highWaterMark, perPartition);
      });
    }
    // Partitions took turns: each had started before any had finished.
    const firstIndex = range(0, 6).map((p) =>
      got.findIndex((m) => m.partition === p)
    );
    const lastIndex = range(0, 6).map((p) =>
      got.findLastIndex((m) => m.partition === p)
    );
    assert.ok(
      Math.max(...firstIndex) < Math.min(...lastIndex),
      `first messages at ${firstIndex}, last at ${lastIndex}`,
    );

    // One broker: every Fetch carried all six partitions, one at a time.
    const want = range(0, 6).map((p) => `${topic}/${p}`).sort();
    assert.ok(cluster.fetches.length >= 6, `${cluster.fetches.length} fetches`);
    for (const f of cluster.fetches) {
      assert.deepEqual([...f.partitions].sort(), want);
    }
    assert.equal(cluster.maxInFlight, 1);
    assert.equal(new Set(cluster.fetches.map((f) => f.address)).size, 1);
    // The six FirstOffset lookups went in one ListOffsets request.
    assert.deepEqual(cluster.listOffsets.map((l) => l.length), [6]);
    assert.equal(stats.offsetLookups, 1);
    assert.equal(stats.messages, 6 * perPartition);
    assert.equal(stats.queuedMessages, 0);
    for (const p of stats.partitions) {
      assert.equal(p.position, perPartition);
      assert.equal(p.highWaterMark, perPartition);
      assert.equal(p.lag, 0);
    }
  });

  test("revoke drops prefetched data, and nothing of a revoked partition comes out", async () => {
    const topic = await topicWith(6);
    await Promise.all(range(0, 6).map((p) => produce(topic, p, 300)));
    const { engine } = open({ maxWait: 200 });
    engine.assign(all(topic, 6, FirstOffset));
    // Read a little, until every partition has prefetched data waiting.
    const first = await drain(engine, 10);
    await until(
      () =>
        engine.stats().partitions.every((p) =>
          p.queuedMessages > 0 || p.position === 300
        ),
      "every partition to prefetch",
    );
    const revoked = range(0, 3).map((partition) => ({ topic, partition }));
    const positions = revoked.map((tp) => engine.position(tp));
    engine.revoke(revoked);
    const stats = engine.stats();
    assert.deepEqual(
      stats.partitions.map((p) => p.partition),
      [3, 4, 5],
    );
    assert.equal(engine.position(revoked[0]), undefined);
    // More data arrives on every partition: only 3, 4 and 5 are read.
    await Promise.all(
      range(0, 6).map((p) => produce(topic, p, 50, { from: 300 })),
    );
    const seen = [...first];
    const kept = first.filter((m) => m.partition >= 3).length;
    seen.push(...await drain(engine, 3 * 350 - kept));
    const after = seen.slice(first.length);
    assert.deepEqual(after.filter((m) => m.partition < 3), []);
    assert.deepEqual(await takeFor(engine, 500), []);
    const split = byPartition(seen);
    for (const p of [3, 4, 5]) {
      assert.deepEqual(offsets(split.get(p)), range(0, 350), `partition ${p}`);
    }
    // Assigned again, a partition reads from the offset given.
    engine.assign([{ topic, partition: 0, offset: positions[0]! }]);
    const again = await drain(engine, 350 - positions[0]!);
    assert.deepEqual(offsets(again), range(positions[0]!, 350));
  });

  test("pause keeps a partition out of Fetches and hands out none of it; resume goes on", async () => {
    const topic = await topicWith(2);
    await Promise.all([produce(topic, 0, 100), produce(topic, 1, 100)]);
    const { engine, cluster } = open({ maxWait: 200 });
    const p0 = { topic, partition: 0 };
    const p1 = { topic, partition: 1 };
    engine.assign([
      { ...p0, offset: FirstOffset },
      { ...p1, offset: FirstOffset },
    ]);
    engine.pause([p1]);
    const got = await drain(engine, 100);
    assert.deepEqual(offsets(got), range(0, 100));
    assert.ok(got.every((m) => m.partition === 0));
    assert.deepEqual(await takeFor(engine, 500), []);
    assert.ok(
      cluster.fetches.every((f) => !f.partitions.includes(`${topic}/1`)),
      "a paused partition is not fetched",
    );
    const paused = engine.stats().partitions.find((p) => p.partition === 1)!;
    assert.equal(paused.paused, true);
    assert.equal(paused.queuedMessages, 0);

    // Paused in the middle of a partition, with data prefetched: resumed,
    // it goes on from the next message, nothing lost or repeated.
    engine.resume([p1]);
    const firstHalf = await drain(engine, 40);
    assert.deepEqual(offsets(firstHalf), range(0, 40));
    engine.pause([p1]);
    await produce(topic, 1, 20, { from: 100 });
    assert.deepEqual(await takeFor(engine, 300), []);
    engine.resume([p1]);
    const rest = await drain(engine, 80);
    assert.deepEqual(offsets(rest), range(40, 120));
    assert.equal(text.decode(rest.at(-1)!.value!), "p1-119");
  });

  test("seek, FirstOffset and LastOffset", async () => {
    const topic = await topicWith(2);
    await Promise.all([produce(topic, 0, 20), produce(topic, 1, 20)]);
    const { engine } = open({ maxWait: 200 });
    const p0 = { topic, partition: 0 };
    const p1 = { topic, partition: 1 };
    engine.assign([{ ...p0, offset: LastOffset }, {
      ...p1,
      offset: FirstOffset,
    }]);
    const fromP1 = await drain(engine, 20);
    assert.deepEqual(offsets(fromP1), range(0, 20));
    assert.ok(fromP1.every((m) => m.partition === 1));
    await until(() => engine.position(p0) === 20, "LastOffset to resolve");
    assert.equal(engine.lag(p0), 0);
    await produce(topic, 0, 5, { from: 20 });
    assert.deepEqual(offsets(await drain(engine, 5)), range(20, 25));

    engine.seek(p1, 5);
    assert.equal(engine.position(p1), 5);
    const sought = await drain(engine, 15);
    assert.deepEqual(offsets(sought), range(5, 20));
    assert.ok(sought.every((m) => m.partition === 1));

    // FirstOffset is the log start, after records are deleted.
    const leader = await dialLeader(BROKER, topic, 0);
    try {
      const response = await leader.raw.request(DeleteRecords, {
        topics: [{
          name: topic,
          partitions: [{ partitionIndex: 0, offset: 7 }],
        }],
        timeoutMs: 10_000,
      });
      assert.equal(response.topics[0].partitions[0].errorCode, 0);
    } finally {
      leader.close();
    }
    engine.seek(p0, FirstOffset);
    assert.deepEqual(offsets(await drain(engine, 18)), range(7, 25));
    assert.deepEqual(await takeFor(engine, 300), []);
    assert.throws(
      () => engine.seek({ topic, partition: 9 }, 0),
      /partition 9 of ".*" is not assigned/,
    );
    assert.throws(() => engine.seek(p0, -3), RangeError);
  });

  test("an offset out of range resets to startOffset, or stops the engine", async () => {
    const topic = await topicWith(1);
    await produce(topic, 0, 10);
    const errors: string[] = [];
    const { engine } = open({ errorLogger: (m) => errors.push(m) });
    engine.assign([{ topic, partition: 0, offset: 1000 }]);
    assert.deepEqual(offsets(await drain(engine, 10)), range(0, 10));
    assert.ok(
      errors.some((e) =>
        /offset 1000 is out of range for partition 0 of .*; resetting to the first offset/
          .test(e)
      ),
      errors.join("\n"),
    );

    const toEnd = open({ startOffset: LastOffset }).engine;
    toEnd.assign([{ topic, partition: 0, offset: 55 }]);
    await until(() => toEnd.position({ topic, partition: 0 }) === 10, "reset");
    await produce(topic, 0, 1, { from: 10 });
    assert.deepEqual(offsets(await drain(toEnd, 1)), [10]);

    const failures: Error[] = [];
    const strict = open({
      offsetOutOfRange: "error",
      onFailure: (error) => failures.push(error),
    }).engine;
    strict.assign([{ topic, partition: 0, offset: 1000 }]);
    await strict.ready();
    assert.equal(strict.take(), undefined);
    const failure = strict.failure;
    assert.ok(failure instanceof KafkaError, String(failure));
    assert.equal(failure.code, ErrorCode.OFFSET_OUT_OF_RANGE);
    assert.equal(failure.partition, 0);
    assert.deepEqual(failures, [failure]);
    assert.throws(() => strict.assign([{ topic, partition: 1 }]), /failed/);
    await assert.rejects(strict.messages().next(), failure);
  });

  test("memory stays bounded behind a slow consumer", async () => {
    const topic = await topicWith(6);
    const perPartition = 3000;
    // 100-byte values, 100 to a batch: batches of about 11 KB.
    await Promise.all(
      range(0, 6).map((p) => produce(topic, p, perPartition, { size: 100 })),
    );
    const maxBytes = 64 * 1024;
    const { engine, cluster } = open({
      maxBytes,
      partitionMaxBytes: 16 * 1024,
      maxWait: 10_000,
    });
    engine.assign(all(topic, 6, FirstOffset));
    let peak = 0;
    let fetchedBytes = 0;
    const total = 6 * perPartition;
    const last = new Map<number, number>();
    for (let read = 0; read < total;) {
      const message = engine.take();
      if (message === undefined) {
        await engine.ready();
        continue;
      }
      assert.equal(message.offset, (last.get(message.partition) ?? -1) + 1);
      last.set(message.partition, message.offset);
      read++;
      if (read % 50 === 0) {
        const stats = engine.stats();
        peak = Math.max(peak, stats.queuedBytes);
        fetchedBytes += stats.bytes;
        await sleep(1);
      }
      if (read === total / 2) {
        // A consumer that stops reading stops the fetching.
        const before = cluster.fetches.length;
        await sleep(500);
        assert.ok(
          cluster.fetches.length - before <= 1,
          `${cluster.fetches.length - before} fetches while nobody read`,
        );
        peak = Math.max(peak, engine.stats().queuedBytes);
      }
    }
    assert.ok(peak > 0);
    assert.ok(
      peak <= 2 * maxBytes,
      `queued ${peak} bytes, bound ${2 * maxBytes}`,
    );
    // Far more went through than was ever held.
    assert.ok(fetchedBytes > 10 * maxBytes, `${fetchedBytes} bytes fetched`);
  });

  test("a partition assigned during a long poll is fetched at once", async () => {
    const topic = await topicWith(2);
    await produce(topic, 1, 3);
    const { engine, cluster } = open({ maxWait: 20_000 });
    engine.assign([{ topic, partition: 0 }]);
    await until(() => cluster.fetches.length > 0, "a Fetch");
    await sleep(100);
    const started = Date.now();
    engine.assign([{ topic, partition: 1 }]);
    assert.deepEqual(offsets(await drain(engine, 3)), [0, 1, 2]);
    const took = Date.now() - started;
    assert.ok(took < 5000, `took ${took} ms`);
    assert.equal(engine.stats().interrupts, 1);
    // The next Fetch carries both.
    assert.deepEqual(
      [...cluster.fetches.at(-1)!.partitions].sort(),
      [`${topic}/0`, `${topic}/1`],
    );
  });

  test("the next Fetch goes out before the records of the last one are checked; they come out in order", async () => {
    const topic = await topicWith(1);
    const conn = await dialLeader(BROKER, topic, 0, { compression: "gzip" });
    try {
      for (let b = 0; b < 5; b++) {
        await writeRetrying(
          conn,
          range(b * 20, b * 20 + 20).map((n) => ({ value: `m${n}` })),
        );
      }
    } finally {
      conn.close();
    }
    // Each decompression (the check of one batch) notes how many Fetches
    // had gone out by then.
    const real = await loadCodec(1);
    const sentBefore: number[] = [];
    const { engine, cluster } = open({ partitionMaxBytes: 200 });
    registerCodec({
      id: real.id,
      name: real.name,
      compress: (data, level) => real.compress(data, level),
      decompress: (data) => {
        sentBefore.push(cluster.fetches.length);
        return real.decompress(data);
      },
    });
    try {
      engine.assign([{ topic, partition: 0, offset: FirstOffset }]);
      const messages = await drain(engine, 100);
      assert.deepEqual(
        messages.map((m) => text.decode(m.value!)),
        range(0, 100).map((n) => `m${n}`),
      );
      assert.deepEqual(offsets(messages), range(0, 100));
      // One batch a response (partitionMaxBytes 200), with room for more
      // (maxBytes): the records of Fetch k + 1 are checked once Fetch k + 2
      // is out.
      assert.equal(sentBefore.length, 5);
      sentBefore.forEach((sent, k) =>
        assert.ok(sent >= k + 2, `batch ${k} checked after ${sent} Fetches`)
      );
    } finally {
      registerCodec(real);
    }
  });

  test("records that fail their check stop the engine, unless their partition was revoked meanwhile", async () => {
    const topic = await topicWith(2);
    for (const partition of [0, 1]) {
      const conn = await dialLeader(BROKER, topic, partition, {
        compression: "gzip",
      });
      try {
        await writeRetrying(conn, [{ value: `p${partition}` }]);
      } finally {
        conn.close();
      }
    }
    const real = await loadCodec(1);
    let engine: FetchEngine | undefined;
    let revokeFirst = true;
    registerCodec({
      id: real.id,
      name: real.name,
      compress: (data, level) => real.compress(data, level),
      decompress: () => {
        // Revoked while being checked: its failure no longer counts.
        if (revokeFirst) engine!.revoke([{ topic, partition: 0 }]);
        throw new Error("a corrupt block");
      },
    });
    try {
      engine = open().engine;
      engine.assign([{ topic, partition: 0, offset: FirstOffset }]);
      await until(() => engine!.assigned().length === 0, "the revoke");
      await sleep(200);
      assert.equal(engine.failure, null);
      assert.equal(engine.take(), undefined);

      revokeFirst = false;
      engine.assign([{ topic, partition: 1, offset: FirstOffset }]);
      await until(() => engine!.failure !== null, "the engine's failure");
      assert.match(
        engine.failure!.message,
        /Cannot decompress batch at offset 0 \(.*\/1 from .*\): a corrupt block/,
      );
      assert.equal(engine.take(), undefined);
    } finally {
      registerCodec(real);
    }
  });

  test("close resolves promptly while a Fetch long-polls", async () => {
    const topic = await topicWith(1);
    const { engine, cluster } = open({ maxWait: 30_000 });
    engine.assign([{ topic, partition: 0 }]);
    await until(() => cluster.fetches.length > 0, "a Fetch");
    await sleep(100);
    const ready = engine.ready();
    const started = Date.now();
    await engine.close();
    await ready;
    assert.ok(
      Date.now() - started < 1000,
      `close took ${Date.now() - started} ms`,
    );
    assert.equal(engine.take(), undefined);
    assert.throws(() => engine.assign([{ topic, partition: 0 }]), /closed/);
  });
});

// ---- fake brokers ----

/** A v2 batch of `count` records from `baseOffset`. */
function batch(baseOffset: number, count: number, epoch = -1): Uint8Array {
  const builder = new RecordBatchBuilder();
  for (let i = 0; i < count; i++) {
    builder.append({
      key: null,
      value: utf8.encode(String(baseOffset + i)),
      timestamp: 1_700_000_000_000 + baseOffset + i,
    });
  }
  const bytes = builder.finish();
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  view.setBigInt64(0, BigInt(baseOffset));
  // partitionLeaderEpoch: outside the CRC.
  view.setInt32(12, epoch);
  return bytes;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const TOPIC_ID = "AAAAAAAAAAAAAAAAAAAAAQ";

/** What a fake broker answers for one partition, instead of its log. */
type Override = (broker: number, partition: number, request: FetchRequest) =>
  | {
    errorCode?: number;
    records?: Uint8Array;
    divergingEpoch?: { epoch: number; endOffset: number };
    preferredReadReplica?: number;
  }
  | undefined;

/**
 * Brokers 1 and 2 of a fake cluster with one topic "t": each partition's
 * log holds `size` records in batches of 10, served from the offset asked.
 */
class FakeCluster extends Cluster {
  readonly leaders: number[];
  readonly requests: {
    broker: number;
    partitions: number[];
    lastFetchedEpochs: number[];
    offsets: number[];
    rackId: string;
  }[] = [];
  /** The brokers asked ListOffsets, in order. */
  readonly listOffsetsFrom: number[] = [];
  /** The leader epoch written in every batch of the log. */
  epoch = -1;
  invalidations = 0;
  /** The next Fetch to a broker fails with this error. */
  readonly failNext = new Map<number, Error>();
  override?: Override;
  /** While set, Fetch answers wait for it. */
  hold: Promise<void> | null = null;
  private readonly size: number;
  private readonly conns = new Map<number, BrokerConnection>();

  constructor(leaders: number[], size: number, metadataMaxAge?: number) {
    super({ brokers: ["fake:9092"], metadataMaxAge });
    this.leaders = leaders;
    this.size = size;
    for (const id of [1, 2]) {
      this.conns.set(id, {
        address: `fake-${id}:9092`,
        isClosed: false,
        close: () => {},
        request: (api: unknown, data: unknown, options?: RequestInit) =>
          this.answer(id, api, data, options?.signal ?? undefined),
        pickVersion: (api: { maxVersion: number }) => api.maxVersion,
      } as unknown as BrokerConnection);
    }
  }

  private log(offset: number, maxBytes: number) {
    const parts: Uint8Array[] = [];
    let bytes = 0;
    for (let base = offset - offset % 10; base < this.size; base += 10) {
      const next = batch(base, Math.min(10, this.size - base), this.epoch);
      if (parts.length > 0 && bytes + next.length > maxBytes) break;
      parts.push(next);
      bytes += next.length;
    }
    return concat(parts);
  }

  private async answer(
    broker: number,
    api: unknown,
    data: unknown,
    signal?: AbortSignal,
  ): Promise<unknown> {
    if (api === ListOffsets) {
      this.listOffsetsFrom.push(broker);
      const body = data as unknown as ListOffsetsRequest;
      return {
        topics: body.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            errorCode: 0,
            offset: p.timestamp === -1 ? this.size : 0,
          })),
        })),
      };
    }
    if (api !== Fetch) throw new Error("unexpected request");
    const request = data as FetchRequest;
    const partitions = request.topics[0].partitions;
    this.requests.push({
      broker,
      partitions: partitions.map((p) => p.partition),
      lastFetchedEpochs: partitions.map((p) => p.lastFetchedEpoch),
      offsets: partitions.map((p) => p.fetchOffset),
      rackId: request.rackId,
    });
    const failure = this.failNext.get(broker);
    if (failure !== undefined) {
      this.failNext.delete(broker);
      throw failure;
    }
    const answers = partitions.map((p) => {
      const special = this.override?.(broker, p.partition, request);
      if (special !== undefined) return special;
      if (this.leaders[p.partition] !== broker) {
        return { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER };
      }
      return {
        records: this.log(p.fetchOffset, p.partitionMaxBytes),
      };
    });
    const empty = answers.every((a) => (a.records?.length ?? 0) === 0);
    // A long poll, cut short: nothing to wait for in these tests.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, empty ? 20 : 0);
      signal?.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(signal.reason);
      }, { once: true });
    });
    if (this.hold) await this.hold;
    return {
      errorCode: 0,
      responses: [{
        topic: "",
        topicId: request.topics[0].topicId,
        partitions: partitions.map((p, i) => ({
          partitionIndex: p.partition,
          errorCode: answers[i].errorCode ?? 0,
          highWatermark: this.size,
          lastStableOffset: -1,
          logStartOffset: 0,
          abortedTransactions: null,
          records: answers[i].records ?? new Uint8Array(0),
          divergingEpoch: answers[i].divergingEpoch ??
            { epoch: -1, endOffset: -1 },
          preferredReadReplica: answers[i].preferredReadReplica ?? -1,
        })),
      }],
    };
  }

  override topic(name: string): Promise<TopicInfo> {
    return Promise.resolve({
      name,
      topicId: TOPIC_ID,
      partitions: this.leaders.map((leader, id) => ({
        id,
        leader,
        leaderEpoch: 0,
        errorCode: 0,
      })),
      internal: false,
      fetchedAt: Date.now(),
    });
  }

  override connection(id: number): Promise<BrokerConnection> {
    return Promise.resolve(this.conns.get(id)!);
  }

  override async leader(topic: string, partition: number) {
    const info = (await this.topic(topic)).partitions[partition];
    return { conn: this.conns.get(info.leader)!, info };
  }

  override invalidate(): void {
    this.invalidations++;
  }

  override closeLane(): void {}

  override close(): Promise<void> {
    return Promise.resolve();
  }
}

function fakeEngine(
  cluster: FakeCluster,
  options: Partial<FetchEngineOptions> = {},
): FetchEngine {
  return new FetchEngine({
    cluster,
    readBackoffMin: 1,
    readBackoffMax: 5,
    maxWait: 50,
    ...options,
  });
}

function tps(...partitions: number[]): TopicPartition[] {
  return partitions.map((partition) => ({ topic: "t", partition }));
}

describe("FetchEngine with fake brokers", () => {
  test("one Fetch per broker; partitions regroup when a leader moves", async () => {
    const size = 200;
    const cluster = new FakeCluster([1, 1, 2, 2], size);
    const errors: string[] = [];
    const engine = fakeEngine(cluster, {
      partitionMaxBytes: 300,
      errorLogger: (m) => errors.push(m),
    });
    engine.assign(tps(0, 1, 2, 3));
    const first = await drain(engine, 100);
    for (const r of cluster.requests) {
      assert.deepEqual(
        [...r.partitions].sort(),
        r.broker === 1 ? [0, 1] : [2, 3],
      );
    }
    // Partition 1 moves to broker 2: broker 1 answers NOT_LEADER_OR_FOLLOWER.
    cluster.leaders[1] = 2;
    const moved = cluster.requests.length;
    const rest = await drain(engine, 4 * size - 100);
    const split = byPartition([...first, ...rest]);
    for (const p of [0, 1, 2, 3]) {
      assert.deepEqual(offsets(split.get(p)), range(0, size), `partition ${p}`);
    }
    assert.ok(
      errors.some((e) =>
        /Fetch of partition 1 of t, attempt 1 failed, retrying: NOT_LEADER_OR_FOLLOWER/
          .test(e)
      ),
      errors.join("\n"),
    );
    assert.ok(cluster.invalidations > 0);
    const later = cluster.requests.slice(moved);
    assert.ok(
      later.some((r) => r.broker === 2 && r.partitions.length === 3),
      "broker 2 fetches partitions 1, 2 and 3 together",
    );
    // Once moved, partition 1 is fetched from broker 2 only.
    const lastAtBroker1 = later.findLastIndex((r) =>
      r.broker === 1 && r.partitions.includes(1)
    );
    assert.ok(
      later.slice(lastAtBroker1 + 1).some((r) => r.partitions.includes(1)),
    );
    assert.equal(
      engine.stats().partitions.find((p) => p.partition === 1)!.leader,
      2,
    );
    await engine.close();
  });

  test("with a rack, read from the replica the leader names (KIP-392); back to the leader on its error, and when its time is up", async () => {
    // Broker 2 lags: past offset 40, its first answer is out of range.
    const cluster = new FakeCluster([1], 100, 300);
    let lagging = true;
    cluster.override = (broker, _, request) => {
      const offset = request.topics[0].partitions[0].fetchOffset;
      if (broker === 1 && request.rackId === "zone-b") {
        return { preferredReadReplica: 2 };
      }
      if (broker === 2 && offset >= 40 && lagging) {
        lagging = false;
        return { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE };
      }
      if (broker === 2) return { records: batch(offset, 10) };
      return undefined;
    };
    const errors: string[] = [];
    const events: string[] = [];
    const engine = fakeEngine(cluster, {
      rack: "zone-b",
      errorLogger: (m) => errors.push(m),
      logger: (m) => events.push(m),
    });
    engine.assign(tps(0));
    const first = await drain(engine, 30);
    assert.deepEqual(offsets(first), range(0, 30));
    assert.deepEqual(
      engine.stats().partitions.map((p) => [p.leader, p.replica]),
      [[1, 2]],
    );
    const rest = await drain(engine, 70);
    assert.deepEqual(offsets(rest), range(30, 100), "no reset, no gap");
    assert.ok(cluster.requests.every((r) => r.rackId === "zone-b"));
    const route = cluster.requests.map((r) => r.broker);
    assert.deepEqual(route.slice(0, 2), [1, 2]);
    // Out of range on the replica: the leader again, which names it again.
    const oor = cluster.requests.findIndex((r) =>
      r.broker === 2 && r.offsets[0] >= 40
    );
    assert.deepEqual(route.slice(oor, oor + 3), [2, 1, 2]);
    assert.ok(
      errors.some((e) =>
        e.includes(
          "broker 2, the replica partition 0 of t is read from, answered OFFSET_OUT_OF_RANGE: reading from its leader 1 again",
        )
      ),
      errors.join("\n"),
    );
    assert.ok(
      events.some((e) =>
        e.includes(
          "reading partition 0 of t from broker 2, the replica its leader 1 named for rack zone-b",
        )
      ),
      events.join("\n"),
    );
    // Its time there is up after metadataMaxAge (300 ms): the leader is
    // asked again, and names it again.
    const before = cluster.requests.length;
    await sleep(700);
    const later = cluster.requests.slice(before).map((r) => r.broker);
    assert.ok(later.includes(1) && later.includes(2), later.join(","));
    // Sought to FirstOffset on the replica: its leader looks the offset up.
    await until(
      () => engine.stats().partitions[0].replica === 2,
      "read from the replica",
    );
    engine.seek({ topic: "t", partition: 0 }, FirstOffset);
    assert.deepEqual(offsets(await drain(engine, 100)), range(0, 100));
    // The first lookup was the assignment's (FirstOffset by default).
    assert.deepEqual(cluster.listOffsetsFrom, [1, 1]);
    assert.equal(engine.failure, null);
    await engine.close();
  });

  test("without a rack, nothing changes: the leader serves", async () => {
    const cluster = new FakeCluster([1], 20);
    const engine = fakeEngine(cluster);
    engine.assign(tps(0));
    assert.deepEqual(offsets(await drain(engine, 20)), range(0, 20));
    assert.ok(
      cluster.requests.every((r) => r.broker === 1 && r.rackId === ""),
    );
    assert.deepEqual(
      engine.stats().partitions.map((p) => [p.leader, p.replica]),
      [[1, -1]],
    );
    await engine.close();
  });

  test("failed connections and fenced epochs are retried, and reported", async () => {
    const cluster = new FakeCluster([1, 2], 30);
    const errors: string[] = [];
    let fenced = 2;
    cluster.override = (_, partition) => {
      if (partition !== 1 || fenced === 0) return undefined;
      fenced--;
      return { errorCode: ErrorCode.FENCED_LEADER_EPOCH };
    };
    cluster.failNext.set(1, new ConnectionError("connection reset"));
    const engine = fakeEngine(cluster, { errorLogger: (m) => errors.push(m) });
    engine.assign(tps(0, 1));
    const split = byPartition(await drain(engine, 60));
    assert.deepEqual(offsets(split.get(0)), range(0, 30));
    assert.deepEqual(offsets(split.get(1)), range(0, 30));
    assert.ok(
      errors.some((e) =>
        /Fetch of partition 0 of t, attempt 1 failed, retrying: connection reset .*\(broker 1\)/
          .test(e)
      ),
      errors.join("\n"),
    );
    assert.equal(
      errors.filter((e) => /FENCED_LEADER_EPOCH/.test(e)).length,
      2,
    );
    assert.equal(engine.failure, null);
    await engine.close();
  });

  test("a log truncated below the position is read again from where it parts (KIP-320)", async () => {
    const cluster = new FakeCluster([1], 50);
    cluster.epoch = 3;
    const errors: string[] = [];
    let diverged = false;
    let open = false;
    cluster.override = (_, __, request) => {
      const p = request.topics[0].partitions[0];
      if (diverged || p.fetchOffset < 30) return undefined;
      // Nothing past 30 until the first 30 have been handed out.
      if (!open) return { records: new Uint8Array(0) };
      diverged = true;
      // The new leader's log holds epoch 2 up to offset 20 only.
      return { divergingEpoch: { epoch: 2, endOffset: 20 } };
    };
    // One batch of 10 per Fetch.
    const engine = fakeEngine(cluster, {
      partitionMaxBytes: 50,
      errorLogger: (m) => errors.push(m),
    });
    engine.assign(tps(0));
    const first = await drain(engine, 30);
    assert.deepEqual(offsets(first), range(0, 30));
    open = true;
    const again = await drain(engine, 30);
    assert.deepEqual(offsets(again), range(20, 50));
    assert.ok(diverged);
    assert.ok(
      errors.some((e) =>
        /partition 0 of t: the leader's log was truncated: it ends epoch 2 at offset 20, below offset 30 .*reading again from offset 20/
          .test(e)
      ),
      errors.join("\n"),
    );
    // The batches' epoch goes out as lastFetchedEpoch; after the
    // truncation, the epoch the leader named.
    const sent = cluster.requests.map((r) => r.lastFetchedEpochs[0]);
    assert.equal(sent[0], -1);
    assert.ok(sent.includes(3), sent.join());
    const at = sent.indexOf(3);
    assert.ok(sent.slice(at).includes(2), sent.join());
    assert.equal(engine.failure, null);
    await engine.close();
  });

  test('under offsetOutOfRange: "error", a truncated log stops the engine', async () => {
    const cluster = new FakeCluster([1], 50);
    cluster.epoch = 3;
    cluster.override = (_, __, request) =>
      request.topics[0].partitions[0].fetchOffset >= 30
        ? { divergingEpoch: { epoch: 2, endOffset: 20 } }
        : undefined;
    const engine = fakeEngine(cluster, {
      partitionMaxBytes: 50,
      offsetOutOfRange: "error",
    });
    engine.assign(tps(0));
    await assert.rejects(
      drain(engine, 50),
      /OFFSET_OUT_OF_RANGE.*truncated: it ends epoch 2 at offset 20, below offset 30/,
    );
    await engine.close();
  });

  test("an error retrying cannot fix stops the engine, once", async () => {
    const cluster = new FakeCluster([1, 1], 20);
    // Partition 1 is refused from the second Fetch on.
    cluster.override = (_, partition) =>
      partition === 1 && cluster.requests.length > 1
        ? { errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED }
        : undefined;
    const failures: Error[] = [];
    const engine = fakeEngine(cluster, {
      onFailure: (error) => failures.push(error),
    });
    engine.assign(tps(0, 1));
    const seen: Message[] = [];
    await assert.rejects(async () => {
      for await (const m of engine.messages()) seen.push(m);
    }, (error) => {
      assert.ok(error instanceof KafkaError);
      assert.equal(error.code, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      assert.equal(error.partition, 1);
      return true;
    });
    // What was fetched before the failure was handed out first.
    assert.deepEqual(offsets(byPartition(seen).get(0)), range(0, 20));
    assert.equal(failures.length, 1);
    assert.equal(failures[0], engine.failure);
    await engine.close();

    const refused = new FakeCluster([1], 20);
    refused.failNext.set(
      1,
      new ConnectionError("TLS certificate not trusted", { retriable: false }),
    );
    const stopped = fakeEngine(refused);
    stopped.assign(tps(0));
    await stopped.ready();
    assert.match(String(stopped.failure), /TLS certificate not trusted/);
    await stopped.close();
  });

  test("revoke discards the data of a Fetch in flight", async () => {
    const cluster = new FakeCluster([1, 1], 20);
    let release!: () => void;
    cluster.hold = new Promise((resolve) => (release = resolve));
    const engine = fakeEngine(cluster);
    engine.assign(tps(0, 1));
    await until(() => cluster.requests.length > 0, "a Fetch in flight");
    assert.deepEqual(cluster.requests[0].partitions.sort(), [0, 1]);
    engine.revoke(tps(0));
    cluster.hold = null;
    release();
    const got = await drain(engine, 20);
    assert.ok(got.every((m) => m.partition === 1));
    assert.deepEqual(await takeFor(engine, 100), []);
    const stats = engine.stats();
    assert.deepEqual(stats.partitions.map((p) => p.partition), [1]);
    assert.equal(stats.queuedBytes, 0);
    await engine.close();
  });

  test("a batch cut off where the response ran out is asked for first next time", async () => {
    const cluster = new FakeCluster([1, 1], 30);
    let cut = 0;
    cluster.override = (_, partition, request) => {
      const asked = request.topics[0].partitions;
      // Partition 1 gets only part of a batch unless it comes first.
      if (partition !== 1 || asked[0].partition === 1) return undefined;
      const offset = asked.find((p) => p.partition === 1)!.fetchOffset;
      if (offset >= 30) return undefined;
      cut++;
      const whole = batch(offset - offset % 10, 10);
      return { records: whole.subarray(0, 20) };
    };
    const engine = fakeEngine(cluster);
    engine.assign(tps(0, 1));
    const split = byPartition(await drain(engine, 60));
    assert.deepEqual(offsets(split.get(1)), range(0, 30));
    assert.ok(cut > 0);
    assert.equal(engine.failure, null);
    await engine.close();
  });

  test("assign, seek and options are checked", async () => {
    const cluster = new FakeCluster([1], 10);
    assert.throws(
      () => new FetchEngine({ cluster, maxBytes: 0 }),
      /"maxBytes" must be/,
    );
    assert.throws(
      () => new FetchEngine({ cluster, minBytes: 10, maxBytes: 5 }),
      /"minBytes" \(10\) must not exceed "maxBytes" \(5\)/,
    );
    assert.throws(
      () => new FetchEngine({ cluster, startOffset: 3 as -1 }),
      /"startOffset" must be FirstOffset/,
    );
    assert.throws(
      () => new FetchEngine({ cluster: {} as Cluster }),
      /"cluster" must be a Cluster/,
    );
    const engine = fakeEngine(cluster);
    assert.throws(
      () => engine.assign([{ topic: "", partition: 0 }]),
      TypeError,
    );
    assert.throws(
      () => engine.assign([{ topic: "t", partition: -1 }]),
      RangeError,
    );
    assert.throws(
      () => engine.assign([{ topic: "t", partition: 0, offset: -5 }]),
      RangeError,
    );
    assert.deepEqual(engine.assigned(), []);
    engine.assign(tps(0));
    engine.assign(tps(0)); // already assigned: kept
    assert.deepEqual(engine.assigned(), tps(0));
    assert.equal(engine.lag({ topic: "t", partition: 5 }), -1);
    await engine.close();
    await engine.close();
  });
});
