/**
 * The consumer-protocol member against scripted coordinators, for what a
 * real broker will not do on demand: lack the protocol (a 3.x broker, or
 * one with it turned off) and fence a member's epoch.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Cluster } from "../../cluster/cluster.ts";
import {
  ClosedError,
  ConnectionError,
  ProtocolError,
  UnsupportedVersionError,
} from "../../connection/errors.ts";
import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import type {
  ConsumerGroupHeartbeatRequest,
  ConsumerGroupHeartbeatResponse,
} from "../../protocol/messages/consumer_group_heartbeat.ts";
import { ConsumerMember } from "./consumer_member.ts";
import type { MemberHooks } from "./membership.ts";
import { recordingHooks, until } from "./recording_hooks.ts";

type Reply = Partial<ConsumerGroupHeartbeatResponse> | Error;

/** A Cluster whose coordinator answers heartbeats from a script. */
function scripted(
  replies: Reply[],
  options: { advertises?: boolean } = {},
): { cluster: Cluster; sent: ConsumerGroupHeartbeatRequest[] } {
  const sent: ConsumerGroupHeartbeatRequest[] = [];
  const conn = {
    address: "fake:9092",
    pickVersion() {
      if (options.advertises === false) {
        throw new UnsupportedVersionError(
          "Broker fake:9092 does not support ConsumerGroupHeartbeat: it offers versions none, this client knows 0..1",
        );
      }
      return 1;
    },
    request(_api: unknown, body: ConsumerGroupHeartbeatRequest) {
      // As a BrokerConnection: the version is picked first.
      try {
        conn.pickVersion();
      } catch (error) {
        return Promise.reject(error);
      }
      sent.push(body);
      const reply = replies.shift() ?? {};
      if (reply instanceof Error) return Promise.reject(reply);
      return Promise.resolve({
        throttleTimeMs: 0,
        errorCode: 0,
        errorMessage: null,
        memberId: body.memberId,
        memberEpoch: body.memberEpoch < 0 ? body.memberEpoch : 1,
        heartbeatIntervalMs: 20,
        assignment: null,
        ...reply,
      });
    },
  };
  const cluster = {
    coordinator: () => Promise.resolve(conn),
    invalidateCoordinator() {},
    topicNames: (ids: string[]) =>
      Promise.resolve(new Map(ids.map((id) => [id, `topic-${id}`]))),
    cachedTopic: () => undefined,
  } as unknown as Cluster;
  return { cluster, sent };
}

function member(
  cluster: Cluster,
  events: string[],
  edit: (hooks: MemberHooks) => MemberHooks = (hooks) => hooks,
) {
  const recorded = recordingHooks(events, { generations: true });
  const { failure } = recorded;
  const hooks = edit(recorded.hooks);
  const m = new ConsumerMember({
    cluster,
    groupId: "g",
    topics: ["t"],
    pattern: null,
    remoteAssignor: null,
    groupInstanceId: null,
    rack: null,
    rebalanceTimeout: 1000,
    requestTimeout: 1000,
    joinGroupBackoff: 100,
    hooks,
  });
  return { m, failure };
}

describe("ConsumerMember with a scripted coordinator", () => {
  test("a broker that does not advertise ConsumerGroupHeartbeat: a clear error saying to use classic", async () => {
    const { cluster } = scripted([], { advertises: false });
    const { m, failure } = member(cluster, []);
    m.start();
    const error = await failure;
    assert.match(
      error.message,
      /groupProtocol "consumer" needs the consumer group protocol \(KIP-848\): Kafka 4\.0 or later .*does not support ConsumerGroupHeartbeat.*Use groupProtocol: "classic"/,
    );
    await m.close(100);
  });

  test("a broker with the protocol turned off (UNSUPPORTED_VERSION): the same error", async () => {
    const { cluster } = scripted([{
      errorCode: ErrorCode.UNSUPPORTED_VERSION,
      errorMessage: "The new group coordinator is not enabled",
    }]);
    const { m, failure } = member(cluster, []);
    m.start();
    const error = await failure;
    assert.match(error.message, /Use groupProtocol: "classic"/);
    assert.match(error.message, /not enabled/);
    await m.close(100);
  });

  test("a fenced epoch: the partitions are lost and the member rejoins at epoch 0 with its id", async () => {
    const { cluster, sent } = scripted([
      {
        memberEpoch: 3,
        assignment: { topicPartitions: [{ topicId: "A", partitions: [1, 0] }] },
      },
      { memberEpoch: 3 },
      { errorCode: ErrorCode.FENCED_MEMBER_EPOCH },
      {
        memberEpoch: 5,
        assignment: { topicPartitions: [{ topicId: "A", partitions: [2] }] },
      },
    ]);
    const events: string[] = [];
    const { m } = member(cluster, events);
    m.start();
    await until(() => events.length >= 3);
    assert.deepEqual(events, [
      "assigned topic-A/0,1 @3",
      "lost topic-A/0,1: FENCED_MEMBER_EPOCH",
      "assigned topic-A/2 @5",
    ]);
    const epochs = sent.map((s) => s.memberEpoch);
    assert.deepEqual(epochs.slice(0, 4), [0, 3, 3, 0]);
    assert.equal(new Set(sent.map((s) => s.memberId)).size, 1);
    assert.equal(sent[0].memberId.length, 22);
    // Joining sends the whole state; the owned partitions by topic id.
    assert.deepEqual(sent[0].subscribedTopicNames, ["t"]);
    assert.deepEqual(sent[1].topicPartitions, [
      { topicId: "A", partitions: [0, 1] },
    ]);
    await m.close(500);
    // Closing revokes what it owns and leaves with epoch -1.
    assert.equal(events.at(-1), "revoked topic-A/2");
    assert.equal(sent.at(-1)!.memberEpoch, -1);
  });

  // An error without a `retriable` flag is not known to be transient: it
  // fails the member as it fails a Writer, never a heartbeat loop forever.
  for (
    const error of [
      new ProtocolError(
        "Cannot read response from fake:9092: an HTTP server answered",
      ),
      new TypeError('Cannot use SASL: "sasl" must be { mechanism, ... }'),
      new ConnectionError("Cannot connect to fake:9092 with TLS", {
        retriable: false,
      }),
    ]
  ) {
    test(`a heartbeat failing with a ${error.name} that retrying cannot fix fails the member at once`, async () => {
      const { cluster, sent } = scripted([error]);
      const { m, failure } = member(cluster, []);
      m.start();
      assert.equal(await failure, error);
      assert.equal(sent.length, 1);
      await m.close(100);
    });
  }

  test("partitions whose assignment failed (their offsets unread) are not owned, and are taken up after the next heartbeat", async () => {
    const { cluster, sent } = scripted([
      {
        memberEpoch: 2,
        assignment: { topicPartitions: [{ topicId: "A", partitions: [0, 1] }] },
      },
      // The coordinator does not send an unchanged target again.
    ]);
    const events: string[] = [];
    let refusals = 1;
    const { m } = member(cluster, events, (hooks) => ({
      ...hooks,
      assigned(added, generation) {
        if (refusals-- > 0) {
          events.push("assigning failed");
          return Promise.reject(
            new KafkaError(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS),
          );
        }
        return hooks.assigned(added, generation);
      },
    }));
    m.start();
    await until(() => events.length >= 2);
    assert.deepEqual(events, ["assigning failed", "assigned topic-A/0,1 @1"]);
    // What the member said it owns: nothing until they were taken up.
    const owned = sent.map((s) => JSON.stringify(s.topicPartitions));
    assert.ok(
      owned.includes(JSON.stringify([{ topicId: "A", partitions: [0, 1] }])),
      owned.join("\n"),
    );
    await m.close(500);
  });

  test("a connection lost or closed under a heartbeat is retried", async () => {
    const { cluster, sent } = scripted([
      new ConnectionError("Connection to fake:9092 lost"),
      new ClosedError("BrokerConnection to fake:9092 is closed"),
      {
        memberEpoch: 1,
        assignment: { topicPartitions: [{ topicId: "A", partitions: [0] }] },
      },
    ]);
    const events: string[] = [];
    const { m, failure } = member(cluster, events);
    let failed: Error | null = null;
    failure.then((e) => failed = e);
    m.start();
    await until(() => events.length >= 1);
    assert.deepEqual(events, ["assigned topic-A/0 @1"]);
    assert.equal(failed, null);
    assert.ok(sent.length >= 3);
    await m.close(500);
  });
});
