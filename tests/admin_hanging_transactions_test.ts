/**
 * Hanging transactions (KIP-664) against the real broker. A transaction
 * hangs when a partition holds it open while its coordinator does not list
 * the partition: the test makes one the way the bug did, by writing a
 * transactional batch without adding the partition, with the broker's
 * `transaction.partition.verification.enable` turned off and Produce v11
 * (from v12 the broker adds the partition itself). findHangingTransactions
 * finds it (and not a live transaction as old), read_committed stops at
 * it, abortTransaction ends it; then aborting by start offset, the
 * refusals (one from a user denied ClusterAction), and bad arguments.
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
import { createTopic, produce } from "./_txn.ts";

const VERIFICATION = "transaction.partition.verification.enable";
const SASL = process.env.KAFKA_SASL_BROKERS ?? "127.0.0.1:9094";

/**
 * Sets the cluster-wide default of the broker's transaction verification
 * (null: back to its static value), and waits until the broker applies it.
 */
async function setVerification(
  client: Client,
  brokerId: number,
  value: "false" | null,
): Promise<void> {
  const [altered] = await client.incrementalAlterConfigs([{
    type: "broker",
    name: "",
    changes: [
      value === null
        ? { name: VERIFICATION, op: "delete" }
        : { name: VERIFICATION, op: "set", value },
    ],
  }]);
  assert.equal(altered.error, null);
  for (let attempt = 0;; attempt++) {
    const [r] = await client.describeConfigs([{
      type: "broker",
      name: String(brokerId),
      configNames: [VERIFICATION],
    }]);
    if (r.configs[0]?.value === (value ?? "true")) return;
    assert.ok(attempt < 100, `${VERIFICATION} not applied after 10 s`);
    await sleep(100);
  }
}

describe("admin Client: hanging transactions", () => {
  const cluster = new Cluster({ brokers: [BROKER] });
  const client = new Client({ cluster, timeout: 20_000 });
  after(() => cluster.close());

  test("a transaction its coordinator does not know is found and aborted; a live one as old is left alone", async () => {
    await noUnhandledRejections(async () => {
      const topic = uniqueTopic("admin-hanging");
      await createTopic(client, topic, 2);
      const brokerId = (await cluster.brokers())[0].id;
      const old = Date.now() - 20 * 60_000;

      // Partition 0: a live transaction, as old by its timestamps.
      const liveId = uniqueTopic("admin-hanging-live");
      const live = {
        transactionalId: liveId,
        ...await client.initProducerId({
          transactionalId: liveId,
          transactionTimeoutMs: 60_000,
        }),
      };
      const [added] = await client.addPartitionsToTxn({
        ...live,
        partitions: [{ topic, partition: 0 }],
      });
      assert.equal(added.error, null);
      const liveStart = await produce(cluster, topic, 0, ["live"], live, 0, {
        timestamp: old,
      });

      // Partition 1: written without adding the partition.
      const lostId = uniqueTopic("admin-hanging-lost");
      const lost = {
        transactionalId: lostId,
        ...await client.initProducerId({ transactionalId: lostId }),
      };
      let lostStart: number;
      await setVerification(client, brokerId, "false");
      try {
        lostStart = await produce(cluster, topic, 1, ["a", "b"], lost, 0, {
          timestamp: old,
          version: 11,
        });
      } finally {
        await setVerification(client, brokerId, null);
      }
      const [lostTxn] = await client.describeTransactions([lostId]);
      assert.equal(lostTxn.state, "Empty", "its coordinator knows nothing");

      // read_committed readers stop at it.
      const stable = async () =>
        (await client.listOffsets([{ topic, partition: 1 }], {
          isolationLevel: "read_committed",
        }))[0].offset;
      assert.equal(await stable(), lostStart);

      const hanging = {
        topic,
        partition: 1,
        producerId: lost.producerId,
        producerEpoch: lost.producerEpoch,
        coordinatorEpoch: -1,
        startOffset: lostStart,
        lastTimestamp: old,
      };
      const found = await client.findHangingTransactions({ topics: [topic] });
      assert.deepEqual(found, { transactions: [hanging], errors: [] });
      const onBroker = await client.findHangingTransactions({
        broker: brokerId,
      });
      assert.deepEqual(
        onBroker.transactions.filter((t) => t.topic === topic),
        [hanging],
      );
      assert.deepEqual(
        await client.findHangingTransactions({
          partitions: [{ topic, partition: 1 }],
        }),
        { transactions: [hanging], errors: [] },
      );
      assert.deepEqual(
        await client.findHangingTransactions({
          topics: [topic],
          maxTransactionTimeout: 3_600_000,
        }),
        { transactions: [], errors: [] },
        "younger than the timeout given",
      );

      // Aborted: the readers go on, nothing hangs any more.
      const { startOffset: _, lastTimestamp: __, ...spec } = hanging;
      assert.deepEqual(await client.abortTransaction(hanging), spec);
      const [end] = await client.listOffsets([{ topic, partition: 1 }]);
      assert.equal(end.offset, lostStart + 3, "two records and the marker");
      assert.equal(await stable(), end.offset);
      assert.deepEqual(
        await client.findHangingTransactions({ topics: [topic] }),
        {
          transactions: [],
          errors: [],
        },
      );

      // The live transaction, by the offset where it begins.
      assert.deepEqual(
        await client.abortTransaction({
          topic,
          partition: 0,
          startOffset: liveStart,
        }),
        {
          topic,
          partition: 0,
          producerId: live.producerId,
          producerEpoch: live.producerEpoch,
          coordinatorEpoch: -1,
        },
      );
      const [p0] = await client.describeProducers([{ topic, partition: 0 }]);
      assert.deepEqual(
        p0.producers.map((p) => p.currentTxnStartOffset),
        [-1],
      );
      await assert.rejects(
        client.abortTransaction({
          topic,
          partition: 0,
          startOffset: liveStart,
        }),
        (e: Error) =>
          e instanceof RangeError &&
          e.message.includes(
            `no open transaction of topic "${topic}" partition 0 begins at offset ${liveStart}; it has none open`,
          ),
      );
      await client.deleteTopics([topic]);
    });
  });

  test("refusals: an older producer epoch, an unknown topic; bad arguments", async () => {
    await noUnhandledRejections(async () => {
      const topic = uniqueTopic("admin-hanging-refused");
      await createTopic(client, topic, 1);
      const transactionalId = uniqueTopic("admin-hanging-epoch");
      await client.initProducerId({ transactionalId });
      const producer = {
        transactionalId,
        ...await client.initProducerId({ transactionalId }),
      };
      assert.ok(producer.producerEpoch >= 1);
      const [added] = await client.addPartitionsToTxn({
        ...producer,
        partitions: [{ topic, partition: 0 }],
      });
      assert.equal(added.error, null);
      const start = await produce(cluster, topic, 0, ["x"], producer);
      await assert.rejects(
        client.abortTransaction({
          topic,
          partition: 0,
          producerId: producer.producerId,
          producerEpoch: producer.producerEpoch - 1,
          coordinatorEpoch: -1,
        }),
        (e: Error) =>
          e instanceof KafkaError &&
          e.code === ErrorCode.INVALID_PRODUCER_EPOCH &&
          e.message.includes("describe its producers again"),
      );
      const [p] = await client.describeProducers([{ topic, partition: 0 }]);
      assert.equal(p.producers[0].currentTxnStartOffset, start, "still open");
      const next = await client.endTxn({ ...producer, committed: false });
      assert.equal(next.producerId, producer.producerId);

      const missing = uniqueTopic("admin-hanging-none");
      const started = Date.now();
      await assert.rejects(
        client.abortTransaction({
          topic: missing,
          partition: 0,
          producerId: 1,
          producerEpoch: 0,
          coordinatorEpoch: -1,
        }),
        (e: Error) =>
          e instanceof KafkaError &&
          e.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      );
      await assert.rejects(
        client.findHangingTransactions({ topics: [missing] }),
        (e: Error) =>
          e instanceof KafkaError &&
          e.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      );
      assert.ok(Date.now() - started < 10_000, "refused at once");

      for (
        const [call, message] of [
          [
            () => client.abortTransaction(null as never),
            /"target" must be \{ topic, partition, producerId, producerEpoch, coordinatorEpoch \} or \{ topic, partition, startOffset \}, got null$/,
          ],
          [
            () =>
              client.abortTransaction({
                topic,
                partition: 0,
                producerId: 1,
                producerEpoch: 1.5,
                coordinatorEpoch: -1,
              }),
            /"target\.producerEpoch" must be a producer epoch \(an integer 0-32767\), got number 1\.5/,
          ],
          [
            () =>
              client.abortTransaction({ topic, partition: 0, startOffset: -1 }),
            /"target\.startOffset" must be an offset/,
          ],
          [
            () => client.abortTransaction({ topic, partition: -1 } as never),
            /"target\.partition" must be a partition number \(an integer >= 0\), got number -1/,
          ],
          [
            () => client.findHangingTransactions({ topics: "t" as never }),
            /"topics" must be an array of topic names/,
          ],
          [
            () => client.findHangingTransactions({ broker: -1 }),
            /"broker" must be a broker id/,
          ],
          [
            () => client.findHangingTransactions({ maxTransactionTimeout: -5 }),
            /"maxTransactionTimeout" must be milliseconds/,
          ],
        ] as const
      ) {
        await assert.rejects(call(), (e: Error) => {
          assert.ok(e instanceof TypeError, `${e}`);
          assert.match(e.message, message);
          return true;
        });
      }
      await client.deleteTopics([topic]);
    });
  });

  test("without ClusterAction permission, refused at once with what to check", async () => {
    await noUnhandledRejections(async () => {
      const topic = uniqueTopic("admin-hanging-denied");
      await createTopic(client, topic, 1);
      const user = uniqueTopic("hanging-denied");
      const password = "denied-secret";
      const principal = `User:${user}`;
      const [upserted] = await client.alterUserScramCredentials([
        { user, mechanism: "SCRAM-SHA-256", password },
      ]);
      assert.equal(upserted.error, null);
      const acl = {
        resourceType: "cluster",
        resourceName: "kafka-cluster",
        principal,
        operation: "clusterAction",
        permission: "deny",
      } as const;
      const [created] = await client.createAcls([acl]);
      assert.equal(created.error, null);
      const denied = new Client({
        brokers: [SASL],
        transport: {
          sasl: { mechanism: "SCRAM-SHA-256", username: user, password },
        },
        timeout: 20_000,
      });
      try {
        // The user and the ACL reach the broker a moment after creation.
        for (let attempt = 0;; attempt++) {
          const error = await denied.abortTransaction({
            topic,
            partition: 0,
            producerId: 1,
            producerEpoch: 0,
            coordinatorEpoch: -1,
          }).then(() => null, (e: Error) => e);
          if (
            error instanceof KafkaError &&
            error.code === ErrorCode.CLUSTER_AUTHORIZATION_FAILED
          ) {
            assert.match(
              error.message,
              /needs ClusterAction permission on the cluster/,
            );
            break;
          }
          assert.ok(attempt < 50, `not refused after 10 s: ${error}`);
          await sleep(200);
        }
      } finally {
        await denied.close();
        await client.deleteAcls([{ principal }]);
        await client.alterUserScramCredentials([], [
          { user, mechanism: "SCRAM-SHA-256" },
        ]);
        // Other tests' principals get the cluster's permissions back (an
        // ACL on the cluster ends "allowed when no ACL is found" for it).
        for (let attempt = 0; attempt < 50; attempt++) {
          if ((await client.describeAcls({ principal })).length === 0) break;
          await sleep(200);
        }
        await client.deleteTopics([topic]);
      }
    });
  });
});
