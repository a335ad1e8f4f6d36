/**
 * The Reader against a fake partition leader: the cases a real broker will
 * not produce on demand (a cut-off batch, a leader that moved, control
 * batches) and an exact count of how far prefetching runs ahead.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Cluster, type TopicInfo } from "../cluster/cluster.ts";
import type { BrokerConnection } from "../connection/connection.ts";
import { crc32c } from "../protocol/crc32c.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { Fetch, type FetchRequest } from "../protocol/messages/fetch.ts";
import { ListOffsets } from "../protocol/messages/list_offsets.ts";
import { RecordBatchBuilder } from "../protocol/records.ts";
import type { Message } from "../message.ts";
import { Reader } from "./reader.ts";

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** A v2 batch of `count` records from `baseOffset`, values padded to `valueSize`. */
function batch(
  baseOffset: number,
  count: number,
  valueSize = 1,
  control = false,
): Uint8Array {
  const builder = new RecordBatchBuilder();
  for (let i = 0; i < count; i++) {
    builder.append({
      key: null,
      value: utf8.encode(String(baseOffset + i).padEnd(valueSize, ".")),
      timestamp: 1_700_000_000_000 + baseOffset + i,
    });
  }
  const bytes = builder.finish();
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  // The base offset lies outside the CRC; the attributes lie inside it.
  view.setBigInt64(0, BigInt(baseOffset));
  if (control) {
    view.setInt16(21, view.getInt16(21) | 0x20);
    view.setUint32(17, crc32c(bytes.subarray(21)));
  }
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** What the fake leader answers to a Fetch at `offset`. */
type Serve = (
  offset: number,
  maxBytes: number,
  lastFetchedEpoch?: number,
) => {
  errorCode?: number;
  records?: Uint8Array;
  divergingEpoch?: { epoch: number; endOffset: number };
};

/** A cluster whose partition 0 is served by `serve`. */
class FakeCluster extends Cluster {
  readonly fetchOffsets: number[] = [];
  invalidations = 0;
  /** How many leader lookups fail with NOT_LEADER_OR_FOLLOWER first. */
  leaderFailures = 0;
  private readonly serve: Serve;
  private readonly fake: BrokerConnection;

  constructor(serve: Serve) {
    super({ brokers: ["fake:9092"] });
    this.serve = serve;
    this.fake = {
      address: "fake:9092",
      close: () => {},
      request: (api: unknown, data: unknown) => this.answer(api, data),
      pickVersion: (api: { maxVersion: number }) => api.maxVersion,
    } as unknown as BrokerConnection;
  }

  private answer(api: unknown, data: unknown): Promise<unknown> {
    if (api === ListOffsets) {
      return Promise.resolve({
        topics: [{
          name: "t",
          partitions: [{ partitionIndex: 0, errorCode: 0, offset: 0 }],
        }],
      });
    }
    if (api !== Fetch) return Promise.reject(new Error("unexpected request"));
    const request = data as FetchRequest;
    const { fetchOffset: offset, lastFetchedEpoch } =
      request.topics[0].partitions[0];
    this.fetchOffsets.push(offset);
    const answer = this.serve(offset, request.maxBytes, lastFetchedEpoch);
    return later({
      errorCode: 0,
      responses: [{
        topic: "t",
        topicId: request.topics[0].topicId,
        partitions: [{
          partitionIndex: 0,
          errorCode: answer.errorCode ?? 0,
          highWatermark: 1_000_000,
          lastStableOffset: -1,
          logStartOffset: 0,
          abortedTransactions: null,
          records: answer.records ?? new Uint8Array(0),
          divergingEpoch: answer.divergingEpoch ?? { epoch: -1, endOffset: -1 },
        }],
      }],
    });
  }

  override topic(name: string): Promise<TopicInfo> {
    return Promise.resolve({
      name,
      topicId: "00000000-0000-0000-0000-000000000000",
      partitions: [{ id: 0, leader: 1, leaderEpoch: 0, errorCode: 0 }],
      internal: false,
      fetchedAt: Date.now(),
    });
  }

  override leader(topic: string, partition: number) {
    if (this.leaderFailures > 0) {
      this.leaderFailures--;
      return Promise.reject(
        new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, { topic, partition }),
      );
    }
    return Promise.resolve({
      conn: this.fake,
      info: { id: 0, leader: 1, leaderEpoch: 0, errorCode: 0 },
    });
  }

  override invalidate(): void {
    this.invalidations++;
  }

  override close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * An endless partition in batches of `perBatch` records: each answer starts
 * at the batch holding the offset and fills maxBytes with whole batches (the
 * first always goes out whole, as with Fetch v3+).
 */
function endless(perBatch: number, valueSize: number): Serve {
  return (offset, maxBytes) => {
    const parts: Uint8Array[] = [];
    let size = 0;
    for (let base = offset - offset % perBatch;; base += perBatch) {
      const next = batch(base, perBatch, valueSize);
      if (parts.length > 0 && size + next.length > maxBytes) break;
      parts.push(next);
      size += next.length;
    }
    return { records: concat(...parts) };
  };
}

/** `value` on a later turn of the event loop, as a network answer comes. */
function later<T>(value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), 0));
}

function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

describe("Reader with a fake leader", () => {
  test("fetches ahead by at most one response beyond the one being read", async () => {
    const maxBytes = 64 * 1024;
    const queueCapacity = 100;
    const perBatch = 50;
    const batchBytes = batch(0, perBatch, 100).length;
    const perResponse = perBatch * Math.floor(maxBytes / batchBytes);
    const cluster = new FakeCluster(endless(perBatch, 100));
    const reader = new Reader({ cluster, topic: "t", maxBytes, queueCapacity });
    let peakAhead = 0;
    let peakQueue = 0;
    const total = 20_000;
    for (let read = 1; read <= total; read++) {
      const m = await reader.readMessage();
      assert.equal(m.offset, read - 1);
      // Let the fetch loop run as far as it would.
      if (read % 97 === 0) await tick();
      const fetchedTo = cluster.fetchOffsets.at(-1)! + perResponse;
      peakAhead = Math.max(peakAhead, fetchedTo - read);
      peakQueue = Math.max(peakQueue, reader.stats().queueLength);
    }
    await reader.close();
    // One response being read (or up to queueCapacity messages) plus one.
    const bound = Math.max(queueCapacity, perResponse) + perResponse;
    assert.ok(peakAhead <= bound, `fetched ${peakAhead} ahead, bound ${bound}`);
    assert.ok(peakQueue <= bound, `queue peaked at ${peakQueue}`);
    assert.ok(
      cluster.fetchOffsets.length <= Math.ceil(total / perResponse) + 1,
      `${cluster.fetchOffsets.length} fetches`,
    );
  });

  test("trims a batch that starts before the offset", async () => {
    const reader = new Reader({
      cluster: new FakeCluster(endless(10, 1)),
      topic: "t",
    });
    reader.setOffset(7);
    const offsets = [];
    for (let i = 0; i < 5; i++) {
      offsets.push((await reader.readMessage()).offset);
    }
    await reader.close();
    assert.deepEqual(offsets, [7, 8, 9, 10, 11]);
  });

  test("steps over control batches and moves the offset past them", async () => {
    const log = concat(batch(0, 3), batch(3, 1, 1, true), batch(4, 2));
    const cluster = new FakeCluster((offset) =>
      offset === 0 ? { records: log } : {}
    );
    const reader = new Reader({ cluster, topic: "t" });
    const values = [];
    for (let i = 0; i < 5; i++) {
      values.push(text.decode((await reader.readMessage()).value!));
    }
    assert.deepEqual(values, ["0", "1", "2", "4", "5"]);
    await reader.close();

    // A fetch that returns only a control batch still moves the reader on.
    const onlyControl = new FakeCluster((offset) =>
      offset === 0 ? { records: batch(0, 1, 1, true) } : {}
    );
    const idle = new Reader({ cluster: onlyControl, topic: "t", maxWait: 10 });
    const pending = idle.readMessage().catch((e) => e);
    // The second Fetch (from offset 1) goes out before the first answer's
    // records are checked; the offset moves once they are, before the third.
    while (onlyControl.fetchOffsets.length < 3) await tick();
    assert.deepEqual(onlyControl.fetchOffsets.slice(0, 2), [0, 1]);
    assert.equal(idle.offset, 1);
    assert.equal(idle.lag, 1_000_000 - 1);
    await idle.close();
    assert.equal((await pending).name, "ClosedError");
  });

  test("a message the stream holds for a released reader is read first", async () => {
    let ready = false;
    const serve = endless(10, 1);
    const cluster = new FakeCluster((offset, maxBytes) =>
      ready ? serve(offset, maxBytes) : {}
    );
    const reader = new Reader({ cluster, topic: "t" });
    const first = reader.getReader();
    const pending = first.read();
    await tick();
    first.releaseLock();
    await assert.rejects(pending, TypeError);
    // A second reader takes the lock but never reads: the pull still in
    // progress leaves message 0 in the stream's own queue.
    const second = reader.getReader();
    ready = true;
    while (reader.offset !== 1) await tick();
    second.releaseLock();
    const offsets = [];
    for (let i = 0; i < 3; i++) {
      offsets.push((await reader.readMessage()).offset);
    }
    assert.deepEqual(offsets, [0, 1, 2]);
    await reader.close();
  });

  test("a response holding only part of a batch fails with MESSAGE_TOO_LARGE", async () => {
    const whole = batch(0, 20, 100);
    const cluster = new FakeCluster(() => ({
      records: whole.subarray(0, whole.length - 10),
    }));
    const reader = new Reader({ cluster, topic: "t", maxBytes: 1000 });
    await assert.rejects(reader.readMessage(), (error) => {
      assert.ok(error instanceof KafkaError);
      assert.equal(error.code, ErrorCode.MESSAGE_TOO_LARGE);
      assert.match(error.message, /batch at offset 0 .* raise "maxBytes"/);
      return true;
    });
    // Once: the reader did not spin on the same answer.
    assert.equal(cluster.fetchOffsets.length, 1);
    await reader.close();
  });

  test("a moved leader is looked up again, up to maxAttempts", async () => {
    const errors: string[] = [];
    const cluster = new FakeCluster(endless(10, 1));
    cluster.leaderFailures = 2;
    const reader = new Reader({
      cluster,
      topic: "t",
      maxAttempts: 3,
      readBackoffMin: 1,
      readBackoffMax: 2,
      errorLogger: (message) => errors.push(message),
    });
    assert.equal((await reader.readMessage()).offset, 0);
    assert.equal(cluster.invalidations, 2);
    assert.equal(errors.length, 2);
    assert.match(
      errors[0],
      /Fetch of partition 0 of t, attempt 1 of 3 failed, retrying: NOT_LEADER_OR_FOLLOWER/,
    );
    assert.equal(reader.stats().errors, 2);
    await reader.close();

    const failing = new FakeCluster(endless(10, 1));
    failing.leaderFailures = 3;
    const gaveUp = new Reader({
      cluster: failing,
      topic: "t",
      maxAttempts: 3,
      readBackoffMin: 1,
      readBackoffMax: 2,
    });
    await assert.rejects(gaveUp.readMessage(), /NOT_LEADER_OR_FOLLOWER/);
    await gaveUp.close();
  });

  test("a fenced leader epoch in the Fetch answer is retried", async () => {
    let first = true;
    const serve = endless(10, 1);
    const cluster = new FakeCluster((offset, maxBytes) => {
      if (!first) return serve(offset, maxBytes);
      first = false;
      return { errorCode: ErrorCode.FENCED_LEADER_EPOCH };
    });
    const reader = new Reader({
      cluster,
      topic: "t",
      readBackoffMin: 1,
      readBackoffMax: 2,
    });
    assert.equal((await reader.readMessage()).offset, 0);
    assert.equal(cluster.invalidations, 1);
    await reader.close();
  });

  test("a batch whose CRC does not match fails the Reader, unless checkCrcs is false", async () => {
    // The stored CRC of every batch is off by one.
    const damaged: Serve = (offset) => {
      const records = batch(offset - offset % 10, 10);
      const view = new DataView(records.buffer, records.byteOffset);
      view.setUint32(17, view.getUint32(17) ^ 1);
      return { records };
    };
    const checking = new Reader({
      cluster: new FakeCluster(damaged),
      topic: "t",
    });
    await assert.rejects(
      checking.readMessage(),
      /CRC32C is 0x[0-9a-f]+, the batch says/,
    );
    await checking.close();
    const trusting = new Reader({
      cluster: new FakeCluster(damaged),
      topic: "t",
      checkCrcs: false,
    });
    assert.equal((await trusting.readMessage()).offset, 0);
    await trusting.close();
    assert.throws(
      () =>
        new Reader({
          cluster: new FakeCluster(damaged),
          topic: "t",
          checkCrcs: "no" as unknown as boolean,
        }),
      /"checkCrcs" must be a boolean, got "no" \(string\)/,
    );
  });

  test("a setOffset before anyone saw a failure starts over from there", async () => {
    let refuse = true;
    const serve = endless(10, 1);
    const cluster = new FakeCluster((offset, maxBytes) =>
      offset >= 10 && refuse
        ? { errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED }
        : serve(offset, maxBytes)
    );
    const errors: string[] = [];
    const reader = new Reader({
      cluster,
      topic: "t",
      errorLogger: (m) => errors.push(m),
    });
    assert.equal((await reader.readMessage()).offset, 0);
    // The prefetch of offset 10 fails while nobody reads.
    while (!errors.some((e) => /TOPIC_AUTHORIZATION_FAILED/.test(e))) {
      await tick();
    }
    refuse = false;
    reader.setOffset(5);
    const offsets = [];
    for (let i = 0; i < 10; i++) {
      offsets.push((await reader.readMessage()).offset);
    }
    assert.deepEqual(offsets, [5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    assert.ok(reader.stats().errors >= 1);
    await reader.close();
  });

  test("a log truncated below the position is read again from where it parts (KIP-320)", async () => {
    // One batch of 10 per Fetch, written in leader epoch 3; nothing past
    // offset 30 until the first 30 are read; then the leader's log is found
    // to end epoch 2 at offset 20 (a new leader, epoch 4, wrote from there).
    let open = false;
    const epochs: number[] = [];
    const cluster = new FakeCluster((offset, _, lastFetchedEpoch) => {
      epochs.push(lastFetchedEpoch ?? -1);
      if (offset >= 30 && !open) return {};
      if (offset >= 30 && lastFetchedEpoch === 3) {
        return { divergingEpoch: { epoch: 2, endOffset: 20 } };
      }
      const base = offset - offset % 10;
      const records = batch(base, 10);
      // The new leader wrote from offset 20 on in its epoch, 4.
      const epoch = open && base >= 20 ? 4 : 3;
      new DataView(records.buffer, records.byteOffset).setInt32(12, epoch);
      return { records };
    });
    const errors: string[] = [];
    const reader = new Reader({
      cluster,
      topic: "t",
      readBackoffMin: 1,
      readBackoffMax: 2,
      errorLogger: (m: string) => errors.push(m),
    });
    for (let i = 0; i < 30; i++) {
      assert.equal((await reader.readMessage()).offset, i);
    }
    open = true;
    for (let i = 20; i < 40; i++) {
      assert.equal((await reader.readMessage()).offset, i);
    }
    assert.equal(epochs[0], -1);
    assert.ok(epochs.includes(3) && epochs.includes(2), epochs.join());
    assert.ok(
      errors.some((e) =>
        /it ends epoch 2 at offset 20, below offset 30 .*reading again from offset 20/
          .test(e)
      ),
      errors.join("\n"),
    );
    await reader.close();
  });

  test("commitMessages refuses what is not a message read, naming the field and value, before anything is committed", async () => {
    // Nothing is sent: the broker is never dialled.
    const reader = new Reader({
      brokers: ["127.0.0.1:1"],
      groupId: "never-joined",
      topic: "t",
    });
    const base = { topic: "t", partition: 0, offset: 1 } as Message;
    const cases: [unknown, RegExp][] = [
      [null, /message 0 must be a message read from this Reader, got null/],
      [
        { ...base, offset: "1" },
        /"offset" "1" \(string\): expected a whole number >= 0/,
      ],
      [{ ...base, offset: -5 }, /"offset" -5 \(number\)/],
      [{ ...base, offset: 2.5 }, /"offset" 2.5 \(number\)/],
      [{ ...base, offset: 1n }, /"offset" 1 \(bigint\)/],
      [{ ...base, partition: -1 }, /"partition" -1 \(number\)/],
      [{ ...base, topic: 5 }, /"topic" 5 \(number\): expected a topic name/],
    ];
    for (const [m, error] of cases) {
      await assert.rejects(
        reader.commitMessages(base, m as Message),
        (e: Error) => {
          assert.match(e.message, /^Cannot commit messages: message 1 /);
          assert.match(e.message.replace("message 1", "message 0"), error);
          return true;
        },
      );
    }
    await reader.close();
  });
});
