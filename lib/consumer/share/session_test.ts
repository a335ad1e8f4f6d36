/**
 * Share sessions and pending acknowledgements, without a broker: what each
 * request carries (the whole session at epoch 0, then only changes and
 * acknowledgements), epochs, and ranges of acknowledgements merged in order,
 * renewals included.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AckType, countOffsets, PendingAcks } from "./acks.ts";
import { SharePartition, ShareSession } from "./session.ts";

function partition(topic: string, n: number): SharePartition {
  const p = new SharePartition(topic, n);
  p.topicId = `${topic}-id`;
  return p;
}

describe("PendingAcks", () => {
  test("offsets in order extend one range per type", () => {
    const acks = new PendingAcks();
    for (let o = 10; o < 20; o++) acks.add(o, AckType.accept);
    acks.add(20, AckType.gap, 21);
    acks.add(22, AckType.accept);
    acks.add(24, AckType.accept);
    assert.equal(acks.size, 4);
    const taken = acks.take();
    assert.deepEqual(taken, [
      { firstOffset: 10, lastOffset: 19, acknowledgeTypes: [1] },
      { firstOffset: 20, lastOffset: 21, acknowledgeTypes: [0] },
      { firstOffset: 22, lastOffset: 22, acknowledgeTypes: [1] },
      { firstOffset: 24, lastOffset: 24, acknowledgeTypes: [1] },
    ]);
    assert.equal(countOffsets(taken), 14);
    assert.equal(acks.size, 0);
    assert.deepEqual(acks.take(), []);
  });

  test("renewals: counted, merged in order, and replaced by a final acknowledgement not sent yet", () => {
    const acks = new PendingAcks();
    acks.add(3, AckType.renew);
    acks.add(4, AckType.renew);
    acks.add(7, AckType.renew, 9);
    assert.equal(acks.renewals, 2);
    acks.add(4, AckType.accept);
    acks.add(8, AckType.reject);
    assert.equal(acks.renewals, 3, "3, 7 and 9 are still to renew");
    assert.deepEqual(acks.take(), [
      { firstOffset: 3, lastOffset: 3, acknowledgeTypes: [4] },
      { firstOffset: 4, lastOffset: 4, acknowledgeTypes: [1] },
      { firstOffset: 7, lastOffset: 7, acknowledgeTypes: [4] },
      { firstOffset: 8, lastOffset: 8, acknowledgeTypes: [3] },
      { firstOffset: 9, lastOffset: 9, acknowledgeTypes: [4] },
    ]);
    assert.equal(acks.renewals, 0);
    acks.add(1, AckType.renew);
    acks.add(1, AckType.release);
    assert.equal(acks.renewals, 0);
    assert.deepEqual(acks.take(), [
      { firstOffset: 1, lastOffset: 1, acknowledgeTypes: [2] },
    ]);
  });

  test("offsets out of order are sorted, and adjacent ranges of a type merged", () => {
    const acks = new PendingAcks();
    acks.add(5, AckType.release);
    acks.add(3, AckType.accept);
    acks.add(4, AckType.accept);
    acks.add(2, AckType.accept);
    acks.add(6, AckType.release);
    assert.deepEqual(acks.take(), [
      { firstOffset: 2, lastOffset: 4, acknowledgeTypes: [1] },
      { firstOffset: 5, lastOffset: 6, acknowledgeTypes: [2] },
    ]);
  });
});

describe("ShareSession", () => {
  test("epoch 0 opens with every partition and no acknowledgements; then only changes", () => {
    const s = new ShareSession(1);
    const [a, b, c] = [partition("t", 0), partition("t", 1), partition("u", 0)];
    s.members.add(a);
    s.members.add(b);
    a.acksFor = s;
    a.acks.add(7, AckType.accept);
    const first = s.fetchParts(s.withAcks([a, b]));
    assert.deepEqual(first.topics, [{
      topicId: "t-id",
      partitions: [
        { partitionIndex: 0, partitionMaxBytes: 0, acknowledgementBatches: [] },
        { partitionIndex: 1, partitionMaxBytes: 0, acknowledgementBatches: [] },
      ],
    }]);
    assert.equal(first.acked.size, 0, "epoch 0 carries no acknowledgements");
    s.advance();
    assert.equal(s.epoch, 1);
    // b leaves, c joins, a has its acknowledgement.
    s.members.delete(b);
    s.members.add(c);
    const next = s.fetchParts(s.withAcks([a, b, c]));
    assert.deepEqual(next.topics, [
      {
        topicId: "t-id",
        partitions: [{
          partitionIndex: 0,
          partitionMaxBytes: 0,
          acknowledgementBatches: [
            { firstOffset: 7, lastOffset: 7, acknowledgeTypes: [1] },
          ],
        }],
      },
      {
        topicId: "u-id",
        partitions: [
          {
            partitionIndex: 0,
            partitionMaxBytes: 0,
            acknowledgementBatches: [],
          },
        ],
      },
    ]);
    assert.deepEqual(next.forgottenTopicsData, [
      { topicId: "t-id", partitions: [1] },
    ]);
    assert.equal(a.acks.size, 0);
    s.advance();
    const quiet = s.fetchParts([]);
    assert.deepEqual(quiet.topics, []);
    assert.deepEqual(quiet.forgottenTopicsData, []);
  });

  test("epochs wrap to 1; a reset opens anew and voids what was acquired before", () => {
    const s = new ShareSession(1);
    s.epoch = 0x7fffffff;
    s.advance();
    assert.equal(s.epoch, 1);
    const before = s.incarnation;
    s.inSession.set("x", partition("t", 0));
    s.reset();
    assert.equal(s.epoch, 0);
    assert.equal(s.inSession.size, 0);
    assert.equal(s.incarnation, before + 1);
  });

  test("commit waiters learn the failures of the next request to start", async () => {
    const s = new ShareSession(1);
    const n1 = ++s.started; // in flight before the wait
    const waiting = s.afterRequest();
    s.settle(n1, [new Error("not mine")]);
    const n2 = ++s.started;
    const failure = new Error("refused");
    s.settle(n2, [failure]);
    assert.deepEqual(await waiting, [failure]);
    const lost = s.afterRequest();
    s.settleAll([failure]);
    assert.deepEqual(await lost, [failure]);
  });

  test("acknowledgements in flight are waited for: commit() learns the failures of the request that carried them", async () => {
    const s = new ShareSession(1);
    assert.equal(s.acksInFlight, false);
    const n1 = ++s.started;
    s.ackRequest = n1; // it carries acknowledgements
    const n2 = ++s.started; // a later one, without
    assert.equal(s.acksInFlight, true);
    const carried = s.afterRequest(s.ackRequest);
    const refused = new Error("INVALID_RECORD_STATE");
    s.settle(n1, [refused]);
    assert.deepEqual(await carried, [refused]);
    assert.equal(s.acksInFlight, false);
    s.settle(n2, []);
    assert.equal(s.settled, n2);
  });
});
