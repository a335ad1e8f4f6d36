/**
 * The admin Client's calls about brokers and their state, against the real
 * broker: log directories (replica sizes, volume space, moving a replica),
 * features (describe, validate an update, a refused one), the KRaft
 * metadata quorum, unregistering a broker, removing a static member from a
 * classic group so the others rebalance at once, and fencing a
 * transactional producer.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Client, KafkaError, Reader, Writer } from "../mod.ts";
import { BROKER, noUnhandledRejections, uniqueTopic } from "./_helpers.ts";
import {
  consume,
  fast,
  newGroup,
  produce,
  topicWith,
  until,
} from "./_group.ts";

const isKafka = (name: string) => (e: unknown) =>
  e instanceof KafkaError && e.name === name;

async function withClient(fn: (client: Client) => Promise<void>) {
  const client = new Client({ brokers: [BROKER] });
  try {
    await noUnhandledRejections(() => fn(client));
  } finally {
    await client.close();
  }
}

describe("admin Client: brokers, log directories, features, quorum", () => {
  test("describeLogDirs: each replica's size and the volume's space; alterReplicaLogDirs", async () => {
    await withClient(async (client) => {
      const topic = await topicWith(2);
      await produce(topic, 0, 200);
      const [one, ...others] = await client.describeLogDirs({
        topics: [topic, uniqueTopic("never-created")],
      });
      assert.deepEqual(others, [], "one broker");
      assert.equal(one.error, null);
      const [dir] = one.logDirs;
      assert.equal(dir.error, null);
      assert.ok(dir.path.startsWith("/"), dir.path);
      assert.ok(dir.totalBytes > 0 && dir.usableBytes > 0);
      assert.ok(dir.usableBytes <= dir.totalBytes);
      assert.equal(dir.isCordoned, false);
      const replicas = dir.replicas.sort((a, b) => a.partition - b.partition);
      assert.deepEqual(replicas.map((r) => [r.topic, r.partition]), [
        [topic, 0],
        [topic, 1],
      ]);
      for (const r of replicas) {
        assert.ok(r.size > 0, `${r.partition}: ${r.size} bytes`);
        assert.equal(r.isFuture, false);
        assert.equal(r.offsetLag, 0);
      }
      // 200 records of about 6 bytes of key and value each, in batches.
      const total = replicas.reduce((n, r) => n + r.size, 0);
      assert.ok(total > 1200 && total < 200_000, `${total} bytes`);

      const all = await client.describeLogDirs({ brokers: [one.broker] });
      assert.ok(
        all[0].logDirs[0].replicas.some((r) =>
          r.topic === "__consumer_offsets"
        ),
        "without topics: every topic",
      );
      const [missing] = await client.describeLogDirs({ brokers: [4242] });
      assert.equal(missing.broker, 4242);
      assert.ok(
        isKafka("BROKER_NOT_AVAILABLE")(missing.error) &&
          missing.error!.message.includes("broker 4242 is not in the cluster"),
        String(missing.error),
      );
      assert.deepEqual(missing.logDirs, []);

      const moved = await client.alterReplicaLogDirs([
        { topic, partition: 0, broker: one.broker, path: "/no/such/dir" },
        { topic, partition: 1, broker: one.broker, path: dir.path },
      ]);
      assert.deepEqual(moved.map((m) => [m.partition, m.error?.name ?? null]), [
        [0, "LOG_DIR_NOT_FOUND"],
        [1, null], // already there
      ]);
      const [elsewhere] = await client.alterReplicaLogDirs([
        { topic, partition: 0, broker: 4242, path: dir.path },
      ]);
      assert.ok(isKafka("BROKER_NOT_AVAILABLE")(elsewhere.error));
      await assert.rejects(
        client.alterReplicaLogDirs([
          { topic, partition: 0, broker: one.broker, path: "relative/dir" },
        ]),
        (e: Error) =>
          e instanceof TypeError &&
          e.message.includes('"moves[0].path" must be the absolute path'),
      );
      await assert.rejects(
        client.describeLogDirs({ brokers: [-1] }),
        (e: Error) =>
          e instanceof TypeError && e.message.includes('"brokers[0]"'),
      );
    });
  });

  test("describeFeatures, updateFeatures (validated, refused), describeMetadataQuorum, unregisterBroker", async () => {
    await withClient(async (client) => {
      const { finalized, supported, epoch } = await client.describeFeatures();
      assert.ok(finalized["metadata.version"] > 0);
      assert.ok(epoch > 0);
      const group = supported["group.version"];
      assert.ok(group.minVersion <= group.maxVersion);
      const level = finalized["group.version"] ?? 0;
      assert.deepEqual(
        await client.updateFeatures([{ feature: "group.version", level }], {
          validateOnly: true,
        }),
        [{ feature: "group.version", error: null }],
      );
      await assert.rejects(
        client.updateFeatures([{ feature: "no.such.feature", level: 3 }], {
          validateOnly: true,
        }),
        (e: Error) =>
          isKafka("INVALID_UPDATE_VERSION")(e) &&
          e.message.includes("no.such.feature"),
      );
      assert.deepEqual((await client.describeFeatures()).finalized, finalized);
      for (
        const [updates, what] of [
          [[{ feature: "a", level: -1 }], '"updates[0].level"'],
          [
            [{ feature: "a", level: 1 }, { feature: "a", level: 2 }],
            '"updates[1].feature"',
          ],
          [
            [{ feature: "a", level: 1, upgradeType: "sideways" }],
            '"updates[0].upgradeType"',
          ],
        ] as const
      ) {
        await assert.rejects(
          // deno-lint-ignore no-explicit-any
          client.updateFeatures(updates as any),
          (e: Error) => e instanceof TypeError && e.message.includes(what),
        );
      }

      const quorum = await client.describeMetadataQuorum();
      assert.ok(quorum.leaderId >= 0);
      assert.ok(quorum.leaderEpoch > 0);
      assert.equal(quorum.voters.length, 1);
      const [voter] = quorum.voters;
      assert.equal(voter.replicaId, quorum.leaderId);
      assert.ok(voter.logEndOffset >= quorum.highWatermark);
      assert.ok(quorum.highWatermark > 0);
      assert.deepEqual(
        quorum.nodes.map((n) => n.nodeId),
        [quorum.leaderId],
      );
      assert.ok(quorum.nodes[0].endpoints.some((e) => e.port > 0));

      await assert.rejects(
        client.unregisterBroker(4242),
        (e: Error) =>
          isKafka("BROKER_ID_NOT_REGISTERED")(e) && e.message.includes("4242"),
      );
      await assert.rejects(
        client.unregisterBroker(1.5),
        (e: Error) =>
          e instanceof TypeError && e.message.includes('"brokerId"'),
      );
    });
  });

  test("removeMembersFromConsumerGroup: a static member gone for good is removed, and the others take its partitions at once", async () => {
    await withClient(async (client) => {
      const topic = await topicWith(4);
      const groupId = await newGroup("classic");
      const options = {
        brokers: [BROKER],
        topic,
        groupId,
        ...fast("classic"),
        sessionTimeout: 60_000, // the group would wait a minute for it
      };
      const stays = new Reader(options);
      const gone = new Reader({ ...options, groupInstanceId: "worker-3" });
      const seen: string[] = [];
      const loops = [consume(stays, seen), consume(gone, seen)];
      const owned = (r: Reader) => r.stats().group?.assignment.length ?? 0;
      await until(
        "two partitions each",
        () => owned(stays) === 2 && owned(gone) === 2,
      );
      await gone.close(); // a static member does not leave on close
      await loops[1];
      const [member] = (await client.describeGroups([groupId]))[0].members
        .filter((m) => m.groupInstanceId === "worker-3");
      assert.ok(member, "the static member is still in the group");

      const started = Date.now();
      const removed = await client.removeMembersFromConsumerGroup(groupId, [
        { groupInstanceId: "worker-3" },
        { groupInstanceId: "never-joined" },
      ]);
      assert.deepEqual(
        removed.map((r) => [r.groupInstanceId, r.error?.name ?? null]),
        [["worker-3", null], ["never-joined", "UNKNOWN_MEMBER_ID"]],
      );
      await until("all four partitions", () => owned(stays) === 4, 20_000);
      assert.ok(Date.now() - started < 20_000);
      await produce(topic, 0, 100);
      await until("all read", () => seen.length >= 100);

      // "all": every member left, the group is empty.
      const all = await client.removeMembersFromConsumerGroup(groupId, "all", {
        reason: "maintenance",
      });
      assert.equal(all.length, 1);
      assert.equal(all[0].error, null);
      await stays.close();
      await loops[0];
      await assert.rejects(
        client.removeMembersFromConsumerGroup(uniqueTopic("no-group"), "all"),
        isKafka("GROUP_ID_NOT_FOUND"),
      );
      await assert.rejects(
        client.removeMembersFromConsumerGroup(groupId, [
          { groupInstanceId: "a", memberId: "b" },
        ]),
        (e: Error) =>
          e instanceof TypeError && e.message.includes('"members[0]"'),
      );
    });
  });

  test("fenceProducers: the producer using the transactional id is fenced, and its open transaction aborted", async () => {
    await withClient(async (client) => {
      const topic = await topicWith(1);
      const transactionalId = uniqueTopic("fence-tx");
      const writer = new Writer({ brokers: [BROKER], topic, transactionalId });
      try {
        await writer.beginTransaction();
        await writer.writeMessages({ value: "never committed" });
        const [fenced, again] = await client.fenceProducers([
          transactionalId,
          transactionalId + "-unused",
        ]);
        assert.equal(fenced.transactionalId, transactionalId);
        assert.equal(fenced.error, null);
        assert.ok(fenced.producerEpoch >= 1, `epoch ${fenced.producerEpoch}`);
        assert.equal(again.error, null);
        await assert.rejects(
          writer.commitTransaction(),
          (e: Error) =>
            /PRODUCER_FENCED|INVALID_PRODUCER_EPOCH/.test(
              `${e.name} ${e.message}`,
            ),
        );
      } finally {
        await writer.close().catch(() => {});
      }
      const [described] = await client.describeTransactions([transactionalId]);
      assert.notEqual(described.state, "Ongoing");
      // read_committed sees nothing of the aborted transaction.
      await produce(topic, 0, 1);
      const reader = new Reader({
        brokers: [BROKER],
        topic,
        partition: 0,
        isolationLevel: "read_committed",
        maxWait: 200,
      });
      const first = await reader.readMessage();
      assert.equal(new TextDecoder().decode(first.value!), "m0");
      await reader.close();
      await assert.rejects(
        client.fenceProducers([""]),
        (e: Error) =>
          e instanceof TypeError && e.message.includes('"transactionalIds[0]"'),
      );
    });
  });
});
