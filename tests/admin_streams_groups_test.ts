/**
 * The admin Client on streams groups (KIP-1071), against the real broker:
 * a member joined here with StreamsGroupHeartbeat (as Kafka Streams does)
 * is described with its topology, process, endpoint, tags and tasks; the
 * group is listed as "streams", is empty once the member leaves, and is
 * deleted. A group that is not a streams group gets GROUP_ID_NOT_FOUND.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Client } from "../mod.ts";
import { Cluster } from "../lib/cluster/cluster.ts";
import {
  StreamsGroupHeartbeat,
  type StreamsGroupHeartbeatRequest,
  type StreamsGroupHeartbeatResponse,
} from "../lib/protocol/messages/streams_group_heartbeat.ts";
import {
  BROKER,
  noUnhandledRejections,
  sleep,
  uniqueTopic,
} from "./_helpers.ts";
import { topicWith } from "./_group.ts";

/** A streams member of one stateless subtopology reading `topic`. */
function streamsMember(cluster: Cluster, groupId: string, topic: string) {
  const memberId = crypto.randomUUID();
  const processId = crypto.randomUUID();
  let memberEpoch = 0;
  const heartbeat = async (
    fields: Partial<StreamsGroupHeartbeatRequest>,
  ): Promise<StreamsGroupHeartbeatResponse> => {
    const conn = await cluster.coordinator(groupId);
    const response = await conn.request(StreamsGroupHeartbeat, {
      groupId,
      memberId,
      memberEpoch,
      endpointInformationEpoch: 0,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: -1,
      topology: null,
      activeTasks: null,
      standbyTasks: null,
      warmupTasks: null,
      processId: null,
      userEndpoint: null,
      clientTags: null,
      taskOffsets: null,
      taskEndOffsets: null,
      shutdownApplication: false,
      ...fields,
    }, { version: conn.pickVersion(StreamsGroupHeartbeat) });
    if (response.errorCode === 0) memberEpoch = response.memberEpoch;
    return response;
  };
  const ok = (response: StreamsGroupHeartbeatResponse) => {
    assert.equal(response.errorCode, 0, response.errorMessage ?? "");
    return response;
  };
  return {
    memberId,
    processId,
    /** Joins, and heartbeats until it owns the tasks it is given. */
    async join(): Promise<void> {
      const joining = {
        rebalanceTimeoutMs: 30_000,
        topology: {
          epoch: 0,
          subtopologies: [{
            subtopologyId: "0",
            sourceTopics: [topic],
            sourceTopicRegex: [],
            stateChangelogTopics: [],
            repartitionSinkTopics: [],
            repartitionSourceTopics: [],
            copartitionGroups: [],
          }],
        },
        activeTasks: [],
        standbyTasks: [],
        warmupTasks: [],
        processId,
        userEndpoint: { host: "localhost", port: 8080 },
        clientTags: [{ key: "zone", value: "a" }],
        taskOffsets: [],
        taskEndOffsets: [],
      };
      // Kafka 4.4's coordinator fails a member with an endpoint whose
      // source topic is newer than its metadata (UNKNOWN_SERVER_ERROR):
      // join again until it knows the topic.
      let response = await heartbeat(joining);
      for (let i = 0; response.errorCode === -1 && i < 50; i++) {
        await sleep(200);
        response = await heartbeat(joining);
      }
      ok(response);
      // The first assignment waits for the initial rebalance delay.
      const deadline = Date.now() + 30_000;
      while ((response.activeTasks ?? []).length === 0) {
        assert.ok(Date.now() < deadline, "no tasks assigned within 30 s");
        await sleep(300);
        response = ok(await heartbeat({}));
      }
      ok(
        await heartbeat({
          activeTasks: response.activeTasks,
          standbyTasks: [],
          warmupTasks: [],
        }),
      );
    },
    async leave(): Promise<void> {
      memberEpoch = -1;
      ok(await heartbeat({}));
    },
  };
}

describe("admin Client: streams groups", () => {
  test("describe a member's topology, process, endpoint, tags and tasks; list; empty once it leaves; delete", async () => {
    await noUnhandledRejections(async () => {
      const topic = await topicWith(2);
      const groupId = uniqueTopic("admin-streams");
      const cluster = new Cluster({ brokers: [BROKER] });
      const client = new Client({ brokers: [BROKER] });
      try {
        const member = streamsMember(cluster, groupId, topic);
        await member.join();
        const [group] = await client.describeStreamsGroups([groupId], {
          includeAuthorizedOperations: true,
        });
        assert.equal(group.error, null);
        assert.equal(group.groupId, groupId);
        assert.ok(
          ["Stable", "Reconciling"].includes(group.state),
          group.state,
        );
        assert.ok(group.groupEpoch >= 1);
        assert.equal(group.topologyEpoch, 0);
        assert.deepEqual(group.subtopologies, [{
          subtopologyId: "0",
          sourceTopics: [topic],
          repartitionSinkTopics: [],
          stateChangelogTopics: [],
          repartitionSourceTopics: [],
        }]);
        assert.equal(typeof group.assignorName, "string");
        assert.equal(typeof group.authorizedOperations, "number");
        assert.equal(group.members.length, 1);
        const [m] = group.members;
        assert.equal(m.memberId, member.memberId);
        assert.equal(m.processId, member.processId);
        assert.deepEqual(m.userEndpoint, { host: "localhost", port: 8080 });
        assert.deepEqual(m.clientTags, { zone: "a" });
        assert.equal(m.isClassic, false);
        assert.equal(m.instanceId, null);
        assert.deepEqual(m.assignment, {
          active: [{ subtopologyId: "0", partitions: [0, 1] }],
          standby: [],
          warmup: [],
        });
        assert.deepEqual(m.targetAssignment.active, [
          { subtopologyId: "0", partitions: [0, 1] },
        ]);

        const listed = await client.listGroups({ types: ["streams"] });
        const found = listed.groups.find((g) => g.groupId === groupId);
        assert.equal(found?.type, "streams");

        await member.leave();
        const [empty] = await client.describeStreamsGroups([groupId]);
        assert.equal(empty.error, null);
        assert.equal(empty.state, "Empty");
        assert.deepEqual(empty.members, []);
        assert.equal(empty.authorizedOperations, null);

        const [deleted] = await client.deleteGroups([groupId]);
        assert.equal(deleted.error, null);
        const [gone] = await client.describeStreamsGroups([groupId]);
        assert.equal(gone.error?.name, "GROUP_ID_NOT_FOUND");
        assert.deepEqual(gone.members, []);
      } finally {
        await client.close();
        await cluster.close();
      }
    });
  });

  test("a group that is not a streams group, and bad arguments", async () => {
    const client = new Client({ brokers: [BROKER] });
    try {
      const [none] = await client.describeStreamsGroups([
        uniqueTopic("no-streams"),
      ]);
      assert.equal(none.error?.name, "GROUP_ID_NOT_FOUND");
      assert.equal(none.state, "");
      assert.deepEqual(await client.describeStreamsGroups([]), []);
      await assert.rejects(
        // deno-lint-ignore no-explicit-any
        client.describeStreamsGroups("app" as any),
        /^TypeError: Client\.describeStreamsGroups: "groupIds" must be an array of group ids, got string "app"$/,
      );
    } finally {
      await client.close();
    }
  });
});
