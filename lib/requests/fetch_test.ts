/**
 * Sizing a partition's next Fetch from how its last answer ended: the batch
 * cut off at the end (its size from its header) and the batches before it.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeRecordBatch } from "../protocol/records.ts";
import { scanRecords } from "../protocol/read_records.ts";
import { ByteWriter } from "../protocol/bytes.ts";
import { Fetch } from "../protocol/messages/fetch.ts";
import { fetchRequest, fitNextFetch } from "./fetch.ts";

const LIMIT = 1 << 20;

/** A batch of `count` records of 100 B, from `baseOffset`. */
function batch(count: number, baseOffset: number): Uint8Array {
  const value = new Uint8Array(100);
  const bytes = encodeRecordBatch(
    Array.from({ length: count }, () => ({ key: null, value, timestamp: 0 })),
  );
  // The base offset is outside the CRC: the broker sets it when appending.
  new DataView(bytes.buffer, bytes.byteOffset).setBigInt64(
    0,
    BigInt(baseOffset),
  );
  return bytes;
}

function joined(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), at += p.length);
  return out;
}

test("a scan tells the size of the batch cut off at the end, and of the largest whole one", () => {
  const a = batch(50, 0);
  const b = batch(20, 50);
  const c = batch(30, 70);
  const whole = scanRecords(joined(a, b, c), 0);
  assert.equal(whole.cutBatchBytes, 0);
  assert.equal(whole.largestBatch, a.length);
  assert.equal(whole.nextOffset, 100);
  for (const kept of [12, 13, 61, c.length - 1]) {
    const cut = scanRecords(joined(a, b, c.subarray(0, kept)), 0);
    assert.equal(cut.cutBatchBytes, c.length, `${kept} bytes of it`);
    assert.equal(cut.largestBatch, a.length);
    assert.equal(cut.nextOffset, 70);
  }
  // Too little of its header to know its size.
  const short = scanRecords(joined(a, c.subarray(0, 11)), 0);
  assert.equal(short.cutBatchBytes, 0);
  // Only part of one batch: nothing whole.
  const alone = scanRecords(c.subarray(0, 100), 70);
  assert.equal(alone.truncated, true);
  assert.equal(alone.cutBatchBytes, c.length);
  assert.equal(alone.largestBatch, 0);
});

test("the cut-off batch is asked for alone only when it and one more would not fit", () => {
  // 940 KB then 160 KB: the small one and another large one do not fit.
  assert.equal(fitNextFetch(160_000, 940_000, LIMIT, 1), 160_000);
  // The large one cut off after small ones: it and one more of them fit.
  assert.equal(fitNextFetch(900_000, 50_000, LIMIT, 1), 0);
  // Batches alike of 600 KB: the next answer holds one whole at most.
  assert.equal(fitNextFetch(600_000, 600_000, LIMIT, 1), 600_000);
  // Small batches: many more fit.
  assert.equal(fitNextFetch(100_000, 100_000, LIMIT, 1), 0);
  // Nothing cut off, or a batch over the limit (the broker's rules apply).
  assert.equal(fitNextFetch(0, 940_000, LIMIT, 1), 0);
  assert.equal(fitNextFetch(LIMIT + 1, 0, LIMIT, 1), 0);
  // minBytes above the batch would hold the answer until maxWait.
  assert.equal(fitNextFetch(160_000, 940_000, LIMIT, 200_000), 0);
  assert.equal(fitNextFetch(160_000, 940_000, LIMIT, 160_000), 160_000);
});

test("fetchRequest sends lastFetchedEpoch from Fetch v12 on: below, the leader could not use it and the encoder would refuse it", () => {
  const partition = {
    topic: "t",
    topicId: "AAAAAAAAAAAAAAAAAAAAAA",
    partition: 0,
    fetchOffset: 10,
    leaderEpoch: 3,
    lastFetchedEpoch: 2,
    maxBytes: 1024,
  };
  const settings = {
    minBytes: 1,
    maxBytes: 1024,
    maxWait: 100,
    isolationLevel: 0,
  };
  const epochOf = (version: number) => {
    const body = fetchRequest([partition], settings, version);
    Fetch.encodeRequest(new ByteWriter(64), version, body);
    return body.topics?.[0].partitions?.[0].lastFetchedEpoch;
  };
  assert.equal(epochOf(11), -1);
  assert.equal(epochOf(12), 2);
});
