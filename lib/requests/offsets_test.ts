/**
 * OffsetCommit and OffsetFetch: committed and read back on the real broker
 * through the group's coordinator at the negotiated versions (topics named
 * by id where the broker serves v10, by name otherwise), per-partition
 * errors, and the bodies round-tripped through the broker side's decoders
 * at every version.
 */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BROKER, uniqueTopic } from "../../tests/_helpers.ts";
import { dial } from "../../mod.ts";
import { Cluster, type TopicInfo } from "../cluster/cluster.ts";
import { coordinatorMoved } from "../cluster/coordinator.ts";
import type { BrokerConnection } from "../connection/connection.ts";
import { UnsupportedVersionError } from "../protocol/api.ts";
import { ByteReader, ByteWriter, ProtocolError } from "../protocol/bytes.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { OffsetCommit } from "../protocol/messages/offset_commit.ts";
import { OffsetFetch } from "../protocol/messages/offset_fetch.ts";
import { OffsetCommit as FullOffsetCommit } from "../protocol/testing/offset_commit.ts";
import { OffsetFetch as FullOffsetFetch } from "../protocol/testing/offset_fetch.ts";
import {
  type CommitOutcome,
  commitOutcomes,
  type CommittedOffset,
  committedOffsets,
  type Committer,
  offsetCommitRequest,
  offsetFetchRequest,
  type OffsetPartition,
  type OffsetToCommit,
} from "./offsets.ts";

/** A simple group: offsets without membership. */
function simpleGroup(groupId: string): Committer {
  return { groupId, generationId: -1, memberId: "" };
}

/** Commits on the group's coordinator at the version the builder picks. */
async function commit(
  conn: BrokerConnection,
  committer: Committer,
  commits: OffsetToCommit[],
): Promise<{ version: number; outcomes: CommitOutcome[] }> {
  const { version, body } = offsetCommitRequest(
    commits,
    committer,
    conn.pickVersion(OffsetCommit),
  );
  const response = await conn.request(OffsetCommit, body, { version });
  return { version, outcomes: commitOutcomes(response, commits, conn.address) };
}

/** Reads the group's committed offsets back. */
async function fetchOffsets(
  conn: BrokerConnection,
  groupId: string,
  partitions: OffsetPartition[] | null,
): Promise<{ version: number; offsets: CommittedOffset[] }> {
  const { version, body } = offsetFetchRequest(
    groupId,
    partitions,
    conn.pickVersion(OffsetFetch),
    { requireStable: true },
  );
  const response = await conn.request(OffsetFetch, body, { version });
  return {
    version,
    offsets: committedOffsets(response, groupId, partitions, conn.address),
  };
}

/** A topic id no topic has. */
const UNKNOWN_ID = "KJ9yJ0xrR9e3Ck4cNLjp4A";

describe("OffsetCommit and OffsetFetch on a live broker", () => {
  const topic = uniqueTopic("offsets");
  let cluster: Cluster;
  let info: TopicInfo;

  before(async () => {
    const admin = await dial(BROKER);
    try {
      await admin.createTopics({
        topic,
        numPartitions: 3,
        replicationFactor: 1,
      });
    } finally {
      admin.close();
    }
    cluster = new Cluster({ brokers: [BROKER] });
    info = await cluster.topic(topic);
  });

  after(async () => {
    await cluster?.close();
    const admin = await dial(BROKER);
    await admin.deleteTopics(topic).catch(() => {});
    admin.close();
  });

  const partitions = (withIds: boolean): OffsetPartition[] =>
    [0, 1, 2].map((partition) => ({
      topic,
      topicId: withIds ? info.topicId : undefined,
      partition,
    }));

  for (const withIds of [true, false]) {
    test(
      `a simple group commits and reads back per partition, -1 where none (${
        withIds ? "topic ids" : "topic names"
      })`,
      async () => {
        const group = uniqueTopic("offsets-group");
        const conn = await cluster.coordinator(group);
        const topicId = withIds ? info.topicId : undefined;
        const committed = await commit(conn, simpleGroup(group), [
          { topic, topicId, partition: 0, offset: 42, metadata: "zero" },
          { topic, topicId, partition: 2, offset: 7 },
        ]);
        const negotiated = conn.pickVersion(OffsetCommit);
        assert.equal(
          committed.version,
          withIds ? negotiated : Math.min(negotiated, 9),
        );
        assert.deepEqual(
          committed.outcomes.map((o) => [o.partition, o.offset, o.error]),
          [[0, 42, null], [2, 7, null]],
        );

        const read = await fetchOffsets(conn, group, partitions(withIds));
        const fetchNegotiated = conn.pickVersion(OffsetFetch);
        assert.equal(
          read.version,
          withIds ? fetchNegotiated : Math.min(fetchNegotiated, 9),
        );
        assert.deepEqual(
          read.offsets.map((o) => [o.topic, o.partition, o.offset, o.error]),
          [[topic, 0, 42, null], [topic, 1, -1, null], [topic, 2, 7, null]],
        );
        assert.equal(read.offsets[0].metadata, "zero");
        assert.equal(read.offsets[0].leaderEpoch, -1);
      },
    );
  }

  test("OffsetFetch of all topics lists every committed partition", async () => {
    const group = uniqueTopic("offsets-all");
    const conn = await cluster.coordinator(group);
    await commit(conn, simpleGroup(group), [
      { topic, topicId: info.topicId, partition: 1, offset: 5 },
      { topic, topicId: info.topicId, partition: 2, offset: 9 },
    ]);
    const read = await fetchOffsets(conn, group, null);
    assert.ok(read.version <= 9, "all topics: named by name");
    assert.deepEqual(
      read.offsets.map((o) => [o.topic, o.partition, o.offset, o.error])
        .sort((a, b) => (a[1] as number) - (b[1] as number)),
      [[topic, 1, 5, null], [topic, 2, 9, null]],
    );
  });

  test("a later commit replaces the earlier one", async () => {
    const group = uniqueTopic("offsets-again");
    const conn = await cluster.coordinator(group);
    const at = (offset: number) => [
      { topic, topicId: info.topicId, partition: 0, offset },
    ];
    await commit(conn, simpleGroup(group), at(3));
    await commit(conn, simpleGroup(group), at(11));
    const read = await fetchOffsets(conn, group, partitions(true).slice(0, 1));
    assert.equal(read.offsets[0].offset, 11);
  });

  test("a commit for a nonexistent topic fails for its partition; the others commit", async () => {
    const group = uniqueTopic("offsets-missing");
    const conn = await cluster.coordinator(group);
    const missing = uniqueTopic("offsets-nonexistent");
    const { version, outcomes } = await commit(conn, simpleGroup(group), [
      { topic: missing, partition: 0, offset: 1 },
      { topic, topicId: info.topicId, partition: 1, offset: 4 },
    ]);
    assert.ok(version <= 9, "a topic without id: named by name");
    const error = outcomes[0].error;
    assert.ok(error instanceof KafkaError, String(error));
    assert.equal(error.code, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(error.topic, missing);
    assert.equal(error.partition, 0);
    assert.match(error.message, /OffsetCommit/);
    assert.equal(outcomes[1].error, null);
    const read = await fetchOffsets(conn, group, partitions(true));
    assert.deepEqual(read.offsets.map((o) => o.offset), [-1, 4, -1]);
  });

  test("a commit naming an unknown topic id fails with UNKNOWN_TOPIC_ID (v10)", async (t) => {
    const group = uniqueTopic("offsets-unknown-id");
    const conn = await cluster.coordinator(group);
    if (conn.pickVersion(OffsetCommit) < 10) {
      t.skip("the broker names topics by name only (OffsetCommit < v10)");
      return;
    }
    const { version, outcomes } = await commit(conn, simpleGroup(group), [
      { topic: "gone", topicId: UNKNOWN_ID, partition: 0, offset: 1 },
    ]);
    assert.equal(version, 10);
    assert.ok(outcomes[0].error instanceof KafkaError);
    assert.equal(
      (outcomes[0].error as KafkaError).code,
      ErrorCode.UNKNOWN_TOPIC_ID,
    );
  });

  test("a commit from a member the group does not have is refused", async () => {
    const group = uniqueTopic("offsets-stranger");
    const conn = await cluster.coordinator(group);
    const at = [{ topic, topicId: info.topicId, partition: 0, offset: 1 }];
    await commit(conn, simpleGroup(group), at);
    const { outcomes } = await commit(conn, {
      groupId: group,
      generationId: 4,
      memberId: "stranger",
    }, at);
    const error = outcomes[0].error;
    assert.ok(error instanceof KafkaError, String(error));
    assert.ok(
      [ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.ILLEGAL_GENERATION].includes(
        error.code as 25 | 22,
      ),
      error.message,
    );
  });
});

describe("OffsetCommit and OffsetFetch bodies", () => {
  const id = "Kmysb41MR9ioG1JMjzrgUA";
  const committer: Committer = {
    groupId: "g",
    generationId: 3,
    memberId: "m-1",
    groupInstanceId: "instance",
    retentionTimeMs: 86_400_000,
  };
  const commits: OffsetToCommit[] = [
    { topic: "a", topicId: id, partition: 0, offset: 10, metadata: "x" },
    { topic: "b", topicId: UNKNOWN_ID, partition: 1, offset: 20 },
    { topic: "a", topicId: id, partition: 2, offset: 30, leaderEpoch: 5 },
  ];

  test("OffsetCommit round-trips at every version, by name up to v9 and by id from v10", () => {
    for (let v = OffsetCommit.minVersion; v <= OffsetCommit.maxVersion; v++) {
      // A static member's instance id needs v7 (Kafka 2.3, as its JoinGroup
      // v5 does): below, the encoder refuses it rather than drop it.
      if (v < 7) {
        const { body } = offsetCommitRequest(commits, committer, v);
        assert.throws(
          () => OffsetCommit.encodeRequest(new ByteWriter(64), v, body),
          (e: Error) =>
            e instanceof UnsupportedVersionError &&
            e.message ===
              `Cannot encode OffsetCommit v${v}: "groupInstanceId" is set (not its default), which needs OffsetCommit v7+`,
        );
      }
      const { version, body } = offsetCommitRequest(
        commits,
        v >= 7 ? committer : { ...committer, groupInstanceId: null },
        v,
      );
      assert.equal(version, v);
      const w = new ByteWriter(64);
      OffsetCommit.encodeRequest(w, version, body);
      const decoded = FullOffsetCommit.decodeRequest(
        new ByteReader(w.finish()),
        version,
      );
      assert.equal(decoded.groupId, "g");
      assert.equal(decoded.generationIdOrMemberEpoch, 3);
      assert.equal(decoded.memberId, "m-1");
      if (v >= 7) assert.equal(decoded.groupInstanceId, "instance");
      if (v <= 4) assert.equal(decoded.retentionTimeMs, 86_400_000);
      assert.deepEqual(
        decoded.topics.map((t) => v >= 10 ? t.topicId : t.name),
        v >= 10 ? [id, UNKNOWN_ID] : ["a", "b"],
      );
      assert.deepEqual(
        decoded.topics.flatMap((t) =>
          t.partitions.map((p) => [
            p.partitionIndex,
            p.committedOffset,
            p.committedMetadata,
            p.committedLeaderEpoch,
          ])
        ),
        // Leader epochs from v6 on.
        [[0, 10, "x", -1], [2, 30, "", v >= 6 ? 5 : -1], [1, 20, "", -1]],
      );
    }
  });

  test("OffsetCommit stays at v9 when a topic's id is unknown", () => {
    const named = [{ topic: "c", partition: 0, offset: 1 }, commits[0]];
    assert.equal(offsetCommitRequest(named, committer, 10).version, 9);
    assert.equal(offsetCommitRequest(named, committer, 8).version, 8);
    assert.equal(offsetCommitRequest(commits, committer, 10).version, 10);
  });

  test("OffsetFetch round-trips at every version, one group up to v7 and a list from v8", () => {
    const wanted: OffsetPartition[] = [
      { topic: "a", topicId: id, partition: 0 },
      { topic: "a", topicId: id, partition: 2 },
      { topic: "b", topicId: UNKNOWN_ID, partition: 1 },
    ];
    for (let v = OffsetFetch.minVersion; v <= OffsetFetch.maxVersion; v++) {
      if (v < 7) {
        // requireStable needs v7: refused below, not dropped (the Client
        // says so first, naming the version: lib/requests/versions.ts).
        const { body } = offsetFetchRequest("g", wanted, v, {
          requireStable: true,
        });
        assert.throws(
          () => OffsetFetch.encodeRequest(new ByteWriter(64), v, body),
          /Cannot encode OffsetFetch v\d: "requireStable" is set \(not its default\), which needs OffsetFetch v7\+/,
        );
      }
      const { version, body } = offsetFetchRequest("g", wanted, v, {
        requireStable: v >= 7,
      });
      assert.equal(version, v);
      const w = new ByteWriter(64);
      OffsetFetch.encodeRequest(w, version, body);
      const decoded = FullOffsetFetch.decodeRequest(
        new ByteReader(w.finish()),
        version,
      );
      if (v >= 7) assert.equal(decoded.requireStable, true);
      const topics = v >= 8
        ? decoded.groups[0].topics!.map((t) => ({
          key: v >= 10 ? t.topicId : t.name,
          partitions: t.partitionIndexes,
        }))
        : decoded.topics!.map((t) => ({
          key: t.name,
          partitions: t.partitionIndexes,
        }));
      if (v >= 8) {
        assert.equal(decoded.groups.length, 1);
        assert.equal(decoded.groups[0].groupId, "g");
      } else {
        assert.equal(decoded.groupId, "g");
      }
      assert.deepEqual(topics, [
        { key: v >= 10 ? id : "a", partitions: [0, 2] },
        { key: v >= 10 ? UNKNOWN_ID : "b", partitions: [1] },
      ]);
    }
  });

  test("OffsetFetch of all topics, or without a topic's id, stays at v9", () => {
    assert.equal(offsetFetchRequest("g", null, 10).version, 9);
    assert.equal(
      offsetFetchRequest("g", [{ topic: "a", partition: 0 }], 10).version,
      9,
    );
    for (const v of [2, 7, 8, 9]) {
      const { version, body } = offsetFetchRequest("g", null, v);
      const w = new ByteWriter(64);
      OffsetFetch.encodeRequest(w, version, body);
      const decoded = FullOffsetFetch.decodeRequest(
        new ByteReader(w.finish()),
        version,
      );
      assert.equal(v >= 8 ? decoded.groups[0].topics : decoded.topics, null);
    }
  });

  test("commit outcomes match topics by id (v10) or name, in the order committed", () => {
    const outcomes = commitOutcomes(
      {
        throttleTimeMs: 0,
        topics: [
          {
            name: "",
            topicId: UNKNOWN_ID,
            partitions: [{
              partitionIndex: 1,
              errorCode: ErrorCode.UNKNOWN_TOPIC_ID,
            }],
          },
          {
            name: "",
            topicId: id,
            partitions: [
              { partitionIndex: 2, errorCode: 0 },
              { partitionIndex: 0, errorCode: ErrorCode.NOT_COORDINATOR },
            ],
          },
        ],
      },
      commits,
      "fake:9092",
    );
    assert.deepEqual(outcomes.map((o) => [o.topic, o.partition, o.offset]), [
      ["a", 0, 10],
      ["b", 1, 20],
      ["a", 2, 30],
    ]);
    assert.ok(coordinatorMoved(outcomes[0].error));
    assert.equal((outcomes[1].error as KafkaError).code, 100);
    assert.equal(outcomes[2].error, null);

    const byName = commitOutcomes(
      {
        throttleTimeMs: 0,
        topics: [{
          name: "a",
          topicId: "AAAAAAAAAAAAAAAAAAAAAA",
          partitions: [{ partitionIndex: 0, errorCode: 0 }],
        }],
      },
      commits,
      "fake:9092",
    );
    assert.equal(byName[0].error, null);
    assert.ok(byName[1].error instanceof ProtocolError);
    assert.match(byName[2].error!.message, /fake:9092.*a\/2/);
  });

  test("committed offsets: the group's error is thrown, v7 answers read like v8+", () => {
    const wanted: OffsetPartition[] = [
      { topic: "a", partition: 0 },
      { topic: "a", partition: 1 },
    ];
    const partition = (partitionIndex: number, committedOffset: number) => ({
      partitionIndex,
      committedOffset,
      committedLeaderEpoch: -1,
      metadata: "",
      errorCode: 0,
    });
    const v7 = committedOffsets(
      {
        throttleTimeMs: 0,
        errorCode: 0,
        groups: [],
        topics: [{
          name: "a",
          partitions: [partition(1, 8), partition(0, -1)],
        }],
      },
      "g",
      wanted,
      "fake:9092",
    );
    assert.deepEqual(v7.map((o) => [o.partition, o.offset, o.error]), [
      [0, -1, null],
      [1, 8, null],
    ]);
    assert.throws(
      () =>
        committedOffsets(
          {
            throttleTimeMs: 0,
            errorCode: 0,
            topics: [],
            groups: [{
              groupId: "g",
              topics: [],
              errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
            }],
          },
          "g",
          wanted,
          "fake:9092",
        ),
      (error) =>
        error instanceof KafkaError &&
        error.code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS &&
        /OffsetFetch.*"g"/.test(error.message),
    );
    assert.throws(
      () =>
        committedOffsets(
          {
            throttleTimeMs: 0,
            errorCode: ErrorCode.NOT_COORDINATOR,
            topics: [],
            groups: [],
          },
          "g",
          wanted,
          "fake:9092",
        ),
      (error) => coordinatorMoved(error),
    );
    assert.throws(
      () =>
        committedOffsets(
          {
            throttleTimeMs: 0,
            errorCode: 0,
            topics: [],
            groups: [{ groupId: "other", topics: [], errorCode: 0 }],
          },
          "g",
          wanted,
          "fake:9092",
        ),
      ProtocolError,
    );
  });
});
