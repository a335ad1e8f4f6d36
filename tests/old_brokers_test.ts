/**
 * Features that older brokers lack fail at once and say which version they
 * need, instead of being dropped from the request without a word; requests
 * that have two shapes (an old and a new) are sent in the shape of the
 * version negotiated (the codecs refuse a set field the version lacks).
 *
 * The broker is the real one, behind the fault proxy of `_proxy.ts`, which
 * lowers the highest versions its ApiVersions answer offers: the client then
 * speaks to it as to the older broker, and the broker still serves those
 * versions. Each case was first seen against a real broker of that age
 * (Kafka 2.0 to 2.8; see the README's "Older brokers").
 */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  Client,
  dial,
  ErrorCode,
  KafkaError,
  Reader,
  UnsupportedVersionError,
  WriteErrors,
  Writer,
} from "../mod.ts";
import { type FaultProxy, startProxy } from "./_proxy.ts";
import { BROKER, uniqueTopic } from "./_helpers.ts";

const API_VERSIONS = 18;
const PRODUCE = 0;
const LIST_OFFSETS = 2;
const OFFSET_FETCH = 9;
const JOIN_GROUP = 11;
const CREATE_TOPICS = 19;
const TXN_OFFSET_COMMIT = 28;
const LEAVE_GROUP = 13;
const DESCRIBE_GROUPS = 15;
const LIST_GROUPS = 16;
const INIT_PRODUCER_ID = 22;
const ALTER_PARTITION_REASSIGNMENTS = 45;
const ELECT_LEADERS = 43;
const UPDATE_FEATURES = 57;
const FETCH = 1;
const DELETE_TOPICS = 20;
const DESCRIBE_CONFIGS = 32;

/** Asserts `error` is an UnsupportedVersionError whose message matches. */
function unsupported(pattern: RegExp): (error: Error) => boolean {
  return (error) => {
    assert.ok(error instanceof UnsupportedVersionError, String(error));
    assert.match(error.message, pattern);
    return true;
  };
}

/**
 * Lowers the highest version of each API in `caps` in an ApiVersions
 * answer (v3 and later: compact arrays; its header has no tagged fields),
 * in place: the sizes do not change.
 */
function capVersions(
  frame: Uint8Array,
  caps: ReadonlyMap<number, number>,
): Uint8Array {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.length);
  // Length, correlation id, error code.
  let at = 4 + 4 + 2;
  const uvarint = () => {
    let value = 0;
    for (let shift = 0;; shift += 7) {
      const b = frame[at++];
      value |= (b & 0x7f) << shift;
      if (b < 0x80) return value;
    }
  };
  const count = uvarint() - 1;
  assert.ok(count > 0, "an ApiVersions answer of v3 or later");
  for (let i = 0; i < count; i++) {
    const key = view.getInt16(at);
    const cap = caps.get(key);
    if (cap !== undefined && view.getInt16(at + 4) > cap) {
      view.setInt16(at + 4, cap);
    }
    at += 6;
    for (let tags = uvarint(); tags > 0; tags--) {
      uvarint();
      at += uvarint();
    }
  }
  return frame;
}

describe("older brokers (the broker offering fewer versions)", () => {
  let proxy: FaultProxy;
  let client: Client;
  const caps = new Map<number, number>();

  before(async () => {
    proxy = await startProxy({ target: BROKER });
    proxy.tamper(API_VERSIONS, (frame) => capVersions(frame, caps));
  });

  after(async () => {
    await client?.close();
    await proxy.close();
  });

  /** A Client through the proxy, with the versions capped as given. */
  async function olderClient(
    limits: Record<number, number>,
  ): Promise<Client> {
    await client?.close();
    caps.clear();
    for (const [key, max] of Object.entries(limits)) caps.set(+key, max);
    // Connections opened before would keep the versions they negotiated.
    proxy.dropAll();
    client = new Client({ brokers: [proxy.address] });
    return client;
  }

  test("Kafka before 2.4 (CreateTopics v3): topics without partitions or replication factor are refused, naming what to give; with them, created, without a topic id", async () => {
    const admin = await olderClient({ [CREATE_TOPICS]: 3 });
    const topic = uniqueTopic("old-create");
    await assert.rejects(
      admin.createTopics([{ topic }]),
      (error: Error) => {
        assert.ok(error instanceof UnsupportedVersionError, String(error));
        assert.match(
          error.message,
          /CreateTopics v4, Kafka 2\.4 or later.*offers CreateTopics up to v3; give topic ".*" a numPartitions and a replicationFactor/,
        );
        return true;
      },
    );
    // The Conn too (kafka-go's CreateTopics).
    const conn = await dial(proxy.address);
    try {
      await assert.rejects(
        conn.createTopics({ topic, numPartitions: 2 }),
        /CreateTopics v4, Kafka 2\.4 or later.*give topic ".*" a numPartitions and a replicationFactor/,
      );
    } finally {
      conn.close();
    }
    const [created] = await admin.createTopics([
      { topic, numPartitions: 2, replicationFactor: 1 },
    ]);
    assert.equal(created.error, null);
    assert.equal(created.numPartitions, 2);
    // Before v7 the answer carries no topic id (it decoded as all zeros).
    assert.equal(created.topicId, "");
  });

  test("Kafka before 3.0 (ListOffsets v6): listOffsets maxTimestamp is refused (it was taken for a timestamp: offset 0); latest still works", async () => {
    const admin = await olderClient({ [LIST_OFFSETS]: 6 });
    const topic = uniqueTopic("old-list-offsets");
    await admin.createTopics([
      { topic, numPartitions: 1, replicationFactor: 1 },
    ]);
    const w = new Writer({ brokers: [BROKER], topic });
    await w.writeMessages(
      Array.from({ length: 5 }, (_, i) => ({ value: `${i}` })),
    );
    await w.close();
    // Each query answers for itself, as for any partition's error.
    const [max] = await admin.listOffsets([
      { topic, partition: 0, at: "maxTimestamp" },
    ]);
    assert.ok(max.error instanceof KafkaError, String(max.error));
    assert.equal(max.error.code, ErrorCode.UNSUPPORTED_VERSION);
    assert.match(
      max.error.message,
      /does not support listOffsets "maxTimestamp" \(ListOffsets v7, Kafka 3\.0 or later, KIP-734\): it offers ListOffsets up to v6/,
    );
    assert.equal(max.offset, -1);
    const [latest] = await admin.listOffsets([
      { topic, partition: 0, at: "latest" },
    ]);
    assert.equal(latest.offset, 5);
  });

  test("Kafka before 2.5 (OffsetFetch v6): offsetFetch requireStable is refused; without it, answered", async () => {
    const admin = await olderClient({ [OFFSET_FETCH]: 6 });
    const groupId = uniqueTopic("old-offset-fetch");
    const partitions = [{ topic: uniqueTopic("none"), partition: 0 }];
    await assert.rejects(
      admin.offsetFetch(groupId, partitions, { requireStable: true }),
      (error: Error) => {
        assert.ok(error instanceof UnsupportedVersionError, String(error));
        assert.match(
          error.message,
          /offsetFetch "requireStable" \(OffsetFetch v7, Kafka 2\.5 or later, KIP-447\): it offers OffsetFetch up to v6/,
        );
        return true;
      },
    );
    const [none] = await admin.offsetFetch(groupId, partitions);
    assert.equal(none.offset, -1);
  });

  test("Kafka before 2.5 (TxnOffsetCommit v2): txnOffsetCommit with the group's generation and member is refused (it would not be fenced)", async () => {
    const admin = await olderClient({ [TXN_OFFSET_COMMIT]: 2 });
    await assert.rejects(
      admin.txnOffsetCommit({
        transactionalId: uniqueTopic("old-txn"),
        producerId: 1,
        producerEpoch: 0,
        groupId: uniqueTopic("old-txn-group"),
        generationId: 3,
        memberId: "member-1",
        offsets: [{ topic: "t", partition: 0, offset: 1 }],
      }),
      (error: Error) => {
        assert.ok(error instanceof UnsupportedVersionError, String(error));
        assert.match(
          error.message,
          /with the group's generation and member \(TxnOffsetCommit v3, Kafka 2\.5 or later, KIP-447\): it offers TxnOffsetCommit up to v2/,
        );
        return true;
      },
    );
  });

  test("Kafka before 2.1 (Produce v6): zstd batches fail alone with UNSUPPORTED_COMPRESSION_TYPE, naming the version; gzip is written", async () => {
    await olderClient({ [PRODUCE]: 6 });
    const topic = uniqueTopic("old-zstd");
    await client.createTopics([
      { topic, numPartitions: 1, replicationFactor: 1 },
    ]);
    const zstd = new Writer({
      brokers: [proxy.address],
      topic,
      compression: "zstd",
    });
    try {
      await assert.rejects(
        zstd.writeMessages([{ value: "a" }, { value: "b" }]),
        (error: Error) => {
          assert.ok(error instanceof WriteErrors, String(error));
          const first = error.errors[0];
          assert.ok(first instanceof KafkaError, String(first));
          assert.equal(first.code, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
          assert.match(
            first.message,
            /compression "zstd" needs Produce v7, Kafka 2\.1 or later \(KIP-110\); broker .* offers Produce up to v6/,
          );
          return true;
        },
      );
    } finally {
      await zstd.close();
    }
    const gzip = new Writer({
      brokers: [proxy.address],
      topic,
      compression: "gzip",
    });
    try {
      await gzip.writeMessages([{ value: "c" }]);
    } finally {
      await gzip.close();
    }
    const [latest] = await client.listOffsets([
      { topic, partition: 0, at: "latest" },
    ]);
    assert.equal(latest.offset, 1);
  });

  test("admin calls whose options an older broker would ignore are refused, naming the version; without them, answered", async () => {
    const admin = await olderClient({
      [LIST_GROUPS]: 3,
      [ELECT_LEADERS]: 0,
      [LEAVE_GROUP]: 2,
      [INIT_PRODUCER_ID]: 2,
      [DESCRIBE_GROUPS]: 2,
      [ALTER_PARTITION_REASSIGNMENTS]: 0,
      [UPDATE_FEATURES]: 0,
      [DESCRIBE_CONFIGS]: 2,
    });
    // ListGroups v3 (Kafka 2.5) would list every group, unfiltered.
    const listed = await admin.listGroups({ states: ["Stable"] });
    assert.ok(listed.errors.length > 0);
    for (const { error } of listed.errors) {
      assert.match(
        error.message,
        /does not support listGroups "states" \(ListGroups v4, Kafka 2\.6 or later, KIP-518\): it offers ListGroups up to v3/,
      );
    }
    assert.deepEqual((await admin.listGroups()).errors, []);
    // ElectLeaders v0 (Kafka 2.2, 2.3) would run a preferred election.
    await assert.rejects(
      admin.electLeaders("unclean", [{ topic: "t", partition: 0 }]),
      unsupported(
        /electLeaders "unclean" \(ElectLeaders v1, Kafka 2\.4 or later, KIP-460\): it offers ElectLeaders up to v0/,
      ),
    );
    // LeaveGroup v2 names only its sender: nobody would be removed.
    await assert.rejects(
      admin.removeMembersFromConsumerGroup(uniqueTopic("old-group"), [
        { groupInstanceId: "static-1" },
      ]),
      unsupported(
        /removeMembersFromConsumerGroup \(LeaveGroup v3, Kafka 2\.4 or later, KIP-345\): it offers LeaveGroup up to v2/,
      ),
    );
    // InitProducerId v2 would not check the epoch (KIP-360).
    await assert.rejects(
      admin.initProducerId({
        transactionalId: uniqueTopic("old-init"),
        producerId: 7,
        producerEpoch: 3,
      }),
      unsupported(
        /initProducerId with a producer id and epoch \(InitProducerId v3, Kafka 2\.5 or later, KIP-360\): it offers InitProducerId up to v2/,
      ),
    );
    const fresh = await admin.initProducerId();
    assert.ok(fresh.producerId >= 0);
    // Replication factor changes would be allowed.
    await assert.rejects(
      admin.alterPartitionReassignments(
        [{ topic: "t", partition: 0, replicas: [1] }],
        { allowReplicationFactorChange: false },
      ),
      unsupported(
        /alterPartitionReassignments "allowReplicationFactorChange: false" \(AlterPartitionReassignments v1, KIP-860\): it offers AlterPartitionReassignments up to v0/,
      ),
    );
    // A dry run would update.
    await assert.rejects(
      admin.updateFeatures([{ feature: "group.version", level: 1 }], {
        validateOnly: true,
      }),
      unsupported(
        /updateFeatures "validateOnly" \(UpdateFeatures v1, Kafka 3\.3 or later\): it offers UpdateFeatures up to v0/,
      ),
    );
    // DescribeConfigs v2 (Kafka 2.5) has no documentation: left out
    // quietly, null in the answer.
    const [configs] = await admin.describeConfigs([
      { type: "broker", name: "", configNames: ["log.retention.ms"] },
    ], { includeDocumentation: true });
    assert.equal(configs.error, null);
    for (const c of configs.configs) assert.equal(c.documentation, null);
    // DescribeGroups v2 has no operations: null, not INT32_MIN.
    const [group] = await admin.describeGroups([uniqueTopic("old-none")], {
      includeAuthorizedOperations: true,
    });
    assert.equal(group.error, null);
    assert.equal(group.authorizedOperations, null);
  });

  test("Kafka before 2.4 (LeaveGroup v2, OffsetFetch v7, Fetch v11): a group Reader reads, commits and leaves, each request in the shape of its version", async () => {
    await olderClient({ [FETCH]: 11, [OFFSET_FETCH]: 7, [LEAVE_GROUP]: 2 });
    const topic = uniqueTopic("old-group-read");
    const groupId = uniqueTopic("old-group-read-group");
    await client.createTopics([
      { topic, numPartitions: 1, replicationFactor: 1 },
    ]);
    const writer = new Writer({ brokers: [proxy.address], topic });
    const errors: string[] = [];
    const reader = new Reader({
      brokers: [proxy.address],
      topic,
      groupId,
      errorLogger: (m: string) => errors.push(m),
    });
    try {
      await writer.writeMessages([{ value: "a" }, { value: "b" }]);
      for (const want of ["a", "b"]) {
        const m = await reader.readMessage({
          signal: AbortSignal.timeout(20_000),
        });
        assert.equal(new TextDecoder().decode(m.value!), want);
      }
      // The next Fetch carries the epoch of what was read from v12 on only
      // (below, the encoder would refuse it).
      await writer.writeMessages([{ value: "c" }]);
      const m = await reader.readMessage({
        signal: AbortSignal.timeout(20_000),
      });
      assert.equal(new TextDecoder().decode(m.value!), "c");
    } finally {
      await reader.close();
      await writer.close();
    }
    // LeaveGroup v2 names the member itself, not a list.
    assert.deepEqual(errors, []);
    const [committed] = await client.offsetFetch(groupId, [
      { topic, partition: 0 },
    ]);
    assert.equal(committed.offset, 3);
  });

  test("Kafka before 2.8 (DeleteTopics v5): topics are deleted by a list of names, by the Client and the Conn", async () => {
    const admin = await olderClient({ [DELETE_TOPICS]: 5 });
    const topics = [uniqueTopic("old-delete"), uniqueTopic("old-delete")];
    await admin.createTopics(
      topics.map((topic) => ({
        topic,
        numPartitions: 1,
        replicationFactor: 1,
      })),
    );
    const [deleted] = await admin.deleteTopics([topics[0]]);
    assert.equal(deleted.error, null);
    const conn = await dial(proxy.address);
    try {
      await conn.deleteTopics(topics[1]);
    } finally {
      conn.close();
    }
  });

  test("Kafka before 3.3 (UpdateFeatures v0): a safe downgrade is refused, naming the version (v0 has only an unsafe one)", async () => {
    const admin = await olderClient({ [UPDATE_FEATURES]: 0 });
    await assert.rejects(
      admin.updateFeatures([
        { feature: "group.version", level: 0, upgradeType: "safe-downgrade" },
      ]),
      unsupported(
        /updateFeatures "safe-downgrade" \(UpdateFeatures v1, Kafka 3\.3 or later, KIP-778\): it offers UpdateFeatures up to v0/,
      ),
    );
  });

  test("Kafka before 2.3 (JoinGroup v4): a Reader with groupInstanceId fails, naming static membership (it joined as a dynamic member)", async () => {
    await olderClient({ [JOIN_GROUP]: 4 });
    const topic = uniqueTopic("old-static");
    await client.createTopics([
      { topic, numPartitions: 1, replicationFactor: 1 },
    ]);
    const reader = new Reader({
      brokers: [proxy.address],
      topic,
      groupId: uniqueTopic("old-static-group"),
      groupInstanceId: "static-1",
    });
    try {
      await assert.rejects(
        reader.readMessage({ signal: AbortSignal.timeout(20_000) }),
        (error: Error) => {
          assert.ok(error instanceof KafkaError, String(error));
          assert.equal(error.code, ErrorCode.UNSUPPORTED_VERSION);
          assert.match(
            error.message,
            /groupInstanceId \(static membership, KIP-345\) needs JoinGroup v5, Kafka 2\.3 or later; the coordinator at .* offers JoinGroup up to v4/,
          );
          return true;
        },
      );
    } finally {
      await reader.close();
    }
  });
});
