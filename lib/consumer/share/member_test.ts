/**
 * The share-group member against a scripted coordinator, for what a real
 * broker will not do on demand: lack share groups (3.x, or 4.x with the
 * feature off), and fence the member. Its heartbeats: the subscription when
 * joining and after an error only, the epoch the coordinator gave.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Cluster } from "../../cluster/cluster.ts";
import { UnsupportedVersionError } from "../../connection/errors.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type {
  ShareGroupHeartbeatRequest,
  ShareGroupHeartbeatResponse,
} from "../../protocol/messages/share_group_heartbeat.ts";
import { ShareMember } from "./member.ts";
import { recordingHooks, until } from "../group/recording_hooks.ts";

type Reply = Partial<ShareGroupHeartbeatResponse> | Error;

function scripted(replies: Reply[]) {
  const sent: ShareGroupHeartbeatRequest[] = [];
  const conn = {
    address: "fake:9092",
    request(_api: unknown, body: ShareGroupHeartbeatRequest) {
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
  } as unknown as Cluster;
  return { cluster, sent };
}

function member(cluster: Cluster, events: string[]) {
  const { hooks, failure } = recordingHooks(events);
  const m = new ShareMember({
    cluster,
    groupId: "g",
    topics: ["t"],
    rack: null,
    requestTimeout: 1000,
    joinGroupBackoff: 100,
    hooks,
  });
  return { m, failure };
}

describe("ShareMember with a scripted coordinator", () => {
  test("a broker without share groups fails the reader at once, saying so", async () => {
    const { cluster } = scripted([
      new UnsupportedVersionError(
        "Broker fake:9092 does not support ShareGroupHeartbeat",
      ),
    ]);
    const { m, failure } = member(cluster, []);
    m.start();
    const error = await failure;
    assert.ok(error instanceof UnsupportedVersionError);
    assert.match(
      error.message,
      /a ShareReader needs share groups \(KIP-932\): Kafka 4\.1 or later .*share\.version.*does not support ShareGroupHeartbeat/,
    );
    await m.close(100);
  });

  test("joins with its subscription, takes the assignment, is fenced and rejoins, leaves with -1", async () => {
    const events: string[] = [];
    const { cluster, sent } = scripted([
      { memberEpoch: 1 },
      {
        memberEpoch: 2,
        assignment: { topicPartitions: [{ topicId: "a", partitions: [1, 0] }] },
      },
      { errorCode: ErrorCode.FENCED_MEMBER_EPOCH },
      {
        memberEpoch: 4,
        assignment: { topicPartitions: [{ topicId: "a", partitions: [0] }] },
      },
    ]);
    const { m } = member(cluster, events);
    m.start();
    await until(() => events.length >= 3);
    await m.close(1000);
    assert.deepEqual(events.slice(0, 3), [
      "assigned topic-a/0,1",
      "lost topic-a/0,1: FENCED_MEMBER_EPOCH",
      "assigned topic-a/0",
    ]);
    assert.equal(events[3], "revoked topic-a/0");
    const epochs = sent.map((r) => r.memberEpoch);
    assert.deepEqual(epochs.slice(0, 4), [0, 1, 2, 0]);
    assert.equal(epochs.at(-1), -1);
    assert.ok(sent.every((r) => r.memberId === sent[0].memberId));
    assert.equal(sent[0].memberId.length, 22);
    assert.deepEqual(sent[0].subscribedTopicNames, ["t"]);
    assert.equal(sent[1].subscribedTopicNames, null, "only when it changes");
    assert.deepEqual(
      sent[3].subscribedTopicNames,
      ["t"],
      "again after an error",
    );
  });
});
