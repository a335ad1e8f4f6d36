/**
 * The admin Client's transaction calls against the real broker: a
 * transaction run by hand (findCoordinator, initProducerId,
 * addPartitionsToTxn, transactional Produce, addOffsetsToTxn,
 * txnOffsetCommit, endTxn) and watched from outside (describeTransactions,
 * listTransactions, describeProducers); what read_committed readers and the
 * group's offsets see after a commit and an abort; per-item errors;
 * argument checks.
 */

import assert from "node:assert/strict";
import process from "node:process";
import { after, describe, test } from "node:test";
import { Client, Cluster, ErrorCode, KafkaError } from "../mod.ts";
import {
  BROKER,
  noUnhandledRejections,
  sleep,
  uniqueTopic,
} from "./_helpers.ts";
import { createTopic, groupOffsets, produce, readUntil } from "./_txn.ts";

/** Describes `transactionalId` until its state is `state` (or 10 s pass). */
async function waitForState(
  client: Client,
  transactionalId: string,
  state: string,
) {
  for (let attempt = 0;; attempt++) {
    const [d] = await client.describeTransactions([transactionalId]);
    if (d.state === state || attempt >= 100) return d;
    await sleep(100);
  }
}

describe("admin Client: transactions", () => {
  const cluster = new Cluster({ brokers: [BROKER] });
  const client = new Client({ cluster, timeout: 20_000 });
  after(() => cluster.close());

  test("findCoordinator: a transactional id's and groups' coordinators, batched", async () => {
    const brokers = await cluster.brokers();
    const transactionalId = uniqueTopic("admin-txn-find");
    const [txn] = await client.findCoordinator([transactionalId], {
      type: "transaction",
    });
    assert.equal(txn.key, transactionalId);
    assert.equal(txn.error, null);
    const broker = brokers.find((b) => b.id === txn.nodeId);
    assert.ok(broker, `coordinator ${txn.nodeId} is a broker`);
    assert.equal(txn.host, broker.host);
    assert.equal(txn.port, broker.port);
    const groups = [uniqueTopic("admin-txn-g1"), uniqueTopic("admin-txn-g2")];
    const found = await client.findCoordinator([...groups, groups[0]]);
    assert.deepEqual(found.map((c) => c.key), [...groups, groups[0]]);
    for (const c of found) {
      assert.equal(c.error, null);
      assert.ok(brokers.some((b) => b.id === c.nodeId));
    }
  });

  test("a committed transaction: described, listed, its producer seen, then read_committed and its group offsets", async () => {
    await noUnhandledRejections(async () => {
      const topic = uniqueTopic("admin-txn-commit");
      const transactionalId = uniqueTopic("admin-txn-id");
      const groupId = uniqueTopic("admin-txn-group");
      const p0 = { topic, partition: 0 };
      const p1 = { topic, partition: 1 };
      await createTopic(client, topic, 2);

      const producer = await client.initProducerId({
        transactionalId,
        transactionTimeoutMs: 60_000,
      });
      assert.ok(producer.producerId >= 0);
      assert.ok(producer.producerEpoch >= 0);
      const txn = { transactionalId, ...producer };

      const added = await client.addPartitionsToTxn({
        ...txn,
        partitions: [p0, p1],
      });
      assert.deepEqual(added, [
        { ...p0, error: null },
        { ...p1, error: null },
      ]);
      for (const p of [0, 1]) {
        const base = await produce(cluster, topic, p, [
          `p${p}-a`,
          `p${p}-b`,
          `p${p}-c`,
        ], txn);
        assert.equal(base, 0);
      }

      // Described by its coordinator; an unknown id fails alone.
      const unknownId = uniqueTopic("admin-txn-unknown");
      const [d, unknown] = await client.describeTransactions([
        transactionalId,
        unknownId,
      ]);
      assert.equal(d.error, null);
      assert.equal(d.transactionalId, transactionalId);
      assert.equal(d.state, "Ongoing");
      assert.equal(d.timeoutMs, 60_000);
      assert.ok(
        d.startTimeMs > Date.now() - 60_000 && d.startTimeMs <= Date.now(),
      );
      assert.equal(d.producerId, producer.producerId);
      assert.equal(d.producerEpoch, producer.producerEpoch);
      assert.deepEqual(d.partitions, [p0, p1]);
      assert.equal(unknown.transactionalId, unknownId);
      assert.ok(unknown.error instanceof KafkaError);
      assert.equal(unknown.error.code, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
      assert.equal(unknown.state, "");

      // Listed by every broker; filters apply.
      const all = await client.listTransactions();
      assert.deepEqual(all.errors, []);
      const listed = all.transactions.find((t) =>
        t.transactionalId === transactionalId
      );
      assert.ok(listed, "the transaction is listed");
      assert.equal(listed.producerId, producer.producerId);
      assert.equal(listed.state, "Ongoing");
      assert.ok(listed.coordinatorId >= 0);
      const committedOnly = await client.listTransactions({
        states: ["CompleteCommit", "CompleteAbort"],
      });
      assert.ok(
        !committedOnly.transactions.some((t) =>
          t.transactionalId === transactionalId
        ),
      );
      assert.ok(
        committedOnly.transactions.every((t) =>
          t.state === "CompleteCommit" || t.state === "CompleteAbort"
        ),
      );
      const byProducer = await client.listTransactions({
        producerIds: [producer.producerId],
        states: ["Ongoing"],
      });
      assert.deepEqual(
        byProducer.transactions.map((t) => t.transactionalId),
        [transactionalId],
      );
      const byPattern = await client.listTransactions({
        transactionalIdPattern: `${transactionalId}|nothing-else`,
      });
      if (process.env.KAFKA_VERSION?.startsWith("3.")) {
        // ListTransactions v2 (the pattern) came with Kafka 4.
        assert.ok(byPattern.errors.length > 0);
        for (const e of byPattern.errors) {
          assert.equal(e.error.code, ErrorCode.UNSUPPORTED_VERSION);
        }
      } else {
        assert.deepEqual(
          byPattern.transactions.map((t) => t.transactionalId),
          [transactionalId],
        );
      }
      const longRunning = await client.listTransactions({
        durationFilterMs: 3_600_000,
      });
      assert.ok(
        !longRunning.transactions.some((t) =>
          t.transactionalId === transactionalId
        ),
      );
      const typo = await client.listTransactions({ states: ["Ongoin"] });
      assert.deepEqual(typo.unknownStates, ["Ongoin"]);
      // A known state in another case is the state.
      const lower = await client.listTransactions({
        states: ["ongoing", "preparecommit", "completecommit"],
      });
      assert.deepEqual(lower.unknownStates, []);
      assert.ok(
        lower.transactions.some((t) => t.transactionalId === transactionalId),
        JSON.stringify(lower),
      );

      // Its producer, seen by both leaders; an unknown topic fails alone.
      const missing = { topic: uniqueTopic("admin-txn-none"), partition: 0 };
      const producers = await client.describeProducers([p0, missing, p1]);
      assert.deepEqual(producers.map((p) => [p.topic, p.partition]), [
        [topic, 0],
        [missing.topic, 0],
        [topic, 1],
      ]);
      for (const p of [producers[0], producers[2]]) {
        assert.equal(p.error, null);
        const mine = p.producers.find((x) =>
          x.producerId === producer.producerId
        );
        assert.ok(mine, `producer ${producer.producerId} on ${p.partition}`);
        assert.equal(mine.producerEpoch, producer.producerEpoch);
        assert.equal(mine.lastSequence, 2);
        assert.equal(mine.currentTxnStartOffset, 0);
        assert.ok(mine.lastTimestamp > 0);
      }
      assert.equal(
        producers[1].error?.code,
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      );
      assert.deepEqual(producers[1].producers, []);
      const [brokerView] = await client.describeProducers([p0], {
        broker: listed.coordinatorId,
      });
      assert.equal(brokerView.error, null);
      assert.ok(
        brokerView.producers.some((x) => x.producerId === producer.producerId),
      );

      // The group's offsets go in the transaction.
      await client.addOffsetsToTxn({ ...txn, groupId });
      const offsets = await client.txnOffsetCommit({
        ...txn,
        groupId,
        offsets: [{ ...p0, offset: 3 }, {
          ...p1,
          offset: 2,
          metadata: "txn",
        }],
      });
      assert.deepEqual(offsets, [
        { ...p0, error: null },
        { ...p1, error: null },
      ]);

      const next = await client.endTxn({ ...txn, committed: true });
      assert.equal(next.producerId, producer.producerId);
      assert.ok(next.producerEpoch >= producer.producerEpoch);
      const done = await waitForState(
        client,
        transactionalId,
        "CompleteCommit",
      );
      assert.equal(done.state, "CompleteCommit");
      assert.deepEqual(done.partitions, []);
      assert.equal(done.producerEpoch, next.producerEpoch);
      const [after0] = await client.describeProducers([p0]);
      assert.equal(
        after0.producers.find((x) => x.producerId === producer.producerId)
          ?.currentTxnStartOffset,
        -1,
      );

      // Committed: read_committed readers see the records, and the group
      // its offsets.
      assert.deepEqual(await readUntil(topic, 0, "p0-c"), [
        "p0-a",
        "p0-b",
        "p0-c",
      ]);
      assert.deepEqual(await readUntil(topic, 1, "p1-c"), [
        "p1-a",
        "p1-b",
        "p1-c",
      ]);
      assert.deepEqual(await groupOffsets(cluster, groupId, [p0, p1]), [3, 2]);
      await client.deleteTopics([topic]);
    });
  });

  test("an aborted transaction: read_committed skips its records, its offsets are dropped", async () => {
    await noUnhandledRejections(async () => {
      const topic = uniqueTopic("admin-txn-abort");
      const transactionalId = uniqueTopic("admin-txn-abort-id");
      const groupId = uniqueTopic("admin-txn-abort-group");
      const p0 = { topic, partition: 0 };
      await createTopic(client, topic, 1);
      const first = await client.initProducerId({ transactionalId });

      // A committed transaction, then an aborted one with the epoch the
      // commit returned (the sequence restarts with a new epoch).
      let txn = { transactionalId, ...first };
      await client.addPartitionsToTxn({ ...txn, partitions: [p0] });
      await produce(cluster, topic, 0, ["kept-1", "kept-2"], txn);
      const second = await client.endTxn({ ...txn, committed: true });
      const sequence = second.producerEpoch === first.producerEpoch ? 2 : 0;
      txn = { transactionalId, ...second };
      const [added] = await client.addPartitionsToTxn({
        ...txn,
        partitions: [p0],
      });
      assert.equal(added.error, null);
      await produce(
        cluster,
        topic,
        0,
        ["aborted-1", "aborted-2"],
        txn,
        sequence,
      );
      await client.addOffsetsToTxn({ ...txn, groupId });
      const [committed] = await client.txnOffsetCommit({
        ...txn,
        groupId,
        offsets: [{ ...p0, offset: 4 }],
      });
      assert.equal(committed.error, null);
      const [ongoing] = await client.describeTransactions([transactionalId]);
      assert.equal(ongoing.state, "Ongoing");
      const third = await client.endTxn({ ...txn, committed: false });
      assert.equal(third.producerId, first.producerId);
      assert.ok(third.producerEpoch >= second.producerEpoch);
      const done = await waitForState(client, transactionalId, "CompleteAbort");
      assert.equal(done.state, "CompleteAbort");
      await produce(cluster, topic, 0, ["plain"], null);

      assert.deepEqual(await readUntil(topic, 0, "plain"), [
        "kept-1",
        "kept-2",
        "plain",
      ]);
      // read_uncommitted still sees the aborted records in the log.
      const everything = await readUntil(
        topic,
        0,
        "plain",
        "read_uncommitted",
      );
      assert.deepEqual(everything, [
        "kept-1",
        "kept-2",
        "aborted-1",
        "aborted-2",
        "plain",
      ]);
      assert.deepEqual(await groupOffsets(cluster, groupId, [p0]), [-1]);
      await client.deleteTopics([topic]);
    });
  });

  test("per-item and request errors: an unknown topic, a fenced epoch, no transaction to end", async () => {
    const topic = uniqueTopic("admin-txn-errors");
    await createTopic(client, topic, 1);
    const transactionalId = uniqueTopic("admin-txn-errors-id");
    const old = await client.initProducerId({ transactionalId });
    const txn = { transactionalId, ...old };

    // One partition of an unknown topic fails; the others are not tried.
    const missing = uniqueTopic("admin-txn-none");
    const results = await client.addPartitionsToTxn({
      ...txn,
      partitions: [{ topic, partition: 0 }, { topic: missing, partition: 0 }],
    });
    assert.equal(results[0].error?.code, ErrorCode.OPERATION_NOT_ATTEMPTED);
    assert.equal(results[1].topic, missing);
    assert.equal(results[1].error?.code, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);

    // Nothing was added: there is no transaction to commit.
    await assert.rejects(
      () => client.endTxn({ ...txn, committed: true }),
      (e: unknown) =>
        e instanceof KafkaError && e.code === ErrorCode.INVALID_TXN_STATE,
    );

    // A second initProducerId fences the first epoch.
    const fresh = await client.initProducerId({ transactionalId });
    assert.equal(fresh.producerId, old.producerId);
    assert.ok(fresh.producerEpoch > old.producerEpoch);
    await assert.rejects(
      () => client.addOffsetsToTxn({ ...txn, groupId: "g" }),
      (e: unknown) =>
        e instanceof KafkaError &&
        (e.code === ErrorCode.PRODUCER_FENCED ||
          e.code === ErrorCode.INVALID_PRODUCER_EPOCH),
    );

    // An idempotent producer's id comes from any broker.
    const idempotent = await client.initProducerId();
    assert.ok(idempotent.producerId >= 0);
    assert.notEqual(idempotent.producerId, old.producerId);
    assert.equal(idempotent.producerEpoch, 0);
    await client.deleteTopics([topic]);
  });

  test("an aborted signal rejects each call with its reason", async () => {
    const signal = AbortSignal.abort(new Error("stopped by the test"));
    const calls = [
      () => client.findCoordinator(["g"], { signal }),
      () => client.initProducerId({ transactionalId: "t" }, { signal }),
      () => client.describeTransactions(["t"], { signal }),
      () =>
        client.describeProducers([{ topic: "t", partition: 0 }], { signal }),
      () => client.listTransactions({ signal }),
    ];
    for (const call of calls) {
      await assert.rejects(call, /stopped by the test/);
    }
  });

  test("bad arguments are refused with the argument, value and what was expected", async () => {
    const txn = { transactionalId: "t", producerId: 1, producerEpoch: 0 };
    await assert.rejects(
      () => client.findCoordinator(["g"], { type: "share" as "group" }),
      /Client\.findCoordinator: "type" must be "group" or "transaction", got string "share"/,
    );
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      () => client.findCoordinator("g" as any),
      /"keys" must be an array of group or transactional ids, got string "g"/,
    );
    await assert.rejects(
      () => client.initProducerId({ transactionalId: "" }),
      /Client\.initProducerId: "transactionalId" must be a transactional id \(a non-empty string\), got string ""/,
    );
    await assert.rejects(
      () => client.initProducerId({ transactionTimeoutMs: 0 }),
      /"transactionTimeoutMs" must be a positive integer number of milliseconds, got number 0/,
    );
    await assert.rejects(
      () => client.initProducerId({ producerId: 5 }),
      /"producerEpoch" must be given together with producerId/,
    );
    await assert.rejects(
      () =>
        client.addPartitionsToTxn({
          ...txn,
          partitions: [{ topic: "x", partition: -1 }],
        }),
      /Client\.addPartitionsToTxn: "partitions\[0\]\.partition" must be a partition number \(an integer >= 0\), got number -1/,
    );
    await assert.rejects(
      () =>
        client.addPartitionsToTxn({
          ...txn,
          producerEpoch: 40_000,
          partitions: [],
        }),
      /"producerEpoch" must be an epoch from initProducerId \(an integer from 0 to 32767\), got number 40000/,
    );
    await assert.rejects(
      () => client.addOffsetsToTxn({ ...txn, groupId: "" }),
      /Client\.addOffsetsToTxn: "groupId" must be a group id/,
    );
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      () => client.endTxn({ ...txn, committed: "yes" as any }),
      /Client\.endTxn: "committed" must be true \(commit\) or false \(abort\), got string "yes"/,
    );
    await assert.rejects(
      () =>
        client.txnOffsetCommit({
          ...txn,
          groupId: "g",
          offsets: [{ topic: "x", partition: 0, offset: -5 }],
        }),
      /"offsets\[0\]\.offset" must be an offset \(an integer >= 0\), got number -5/,
    );
    await assert.rejects(
      () => client.describeProducers([{ topic: "", partition: 0 }]),
      /Client\.describeProducers: "partitions\[0\]\.topic" must be a topic name, got string ""/,
    );
    await assert.rejects(
      () => client.listTransactions({ producerIds: [-1] }),
      /Client\.listTransactions: "producerIds" must be an array of producer ids/,
    );
    await assert.rejects(
      () => client.listTransactions({ durationFilterMs: 1.5 }),
      /"durationFilterMs" must be a number of milliseconds \(an integer >= 0\), got number 1.5/,
    );
    await assert.rejects(
      () => client.describeTransactions([""]),
      /Client\.describeTransactions: "transactionalIds" must be an array of transactional ids, got object \[""\]/,
    );
    // Empty lists ask nothing.
    assert.deepEqual(await client.describeTransactions([]), []);
    assert.deepEqual(await client.describeProducers([]), []);
    assert.deepEqual(await client.findCoordinator([]), []);
  });
});
