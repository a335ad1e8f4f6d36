/**
 * The classic member subscribed by pattern, against a scripted coordinator
 * and metadata, for what one real broker will not do on demand: fail to
 * list the cluster's topics while the group coordinator answers.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Cluster, TopicInfo } from "../../cluster/cluster.ts";
import { ConnectionError } from "../../connection/errors.ts";
import { ByteReader, ProtocolError } from "../../protocol/bytes.ts";
import { decodeConsumerProtocolSubscription } from "../../protocol/messages/consumer_protocol_subscription.ts";
import { RangeGroupBalancer } from "./balancers.ts";
import { ClassicMember } from "./classic_member.ts";
import { recordingHooks, until } from "./recording_hooks.ts";

/**
 * The topics the scripted cluster has; an Error makes the listing fail,
 * "hang" makes it never answer.
 */
type Listing = Record<string, number> | Error | "hang";

function info(name: string, partitions: number, internal = false): TopicInfo {
  return {
    name,
    topicId: `id-${name}`,
    internal,
    fetchedAt: Date.now(),
    partitions: Array.from({ length: partitions }, (_, id) => ({
      id,
      leader: 1,
      leaderEpoch: 0,
      errorCode: 0,
    })),
  };
}

/**
 * A one-member group: JoinGroup makes it the leader, SyncGroup hands back
 * what it assigned itself, heartbeats succeed. `listing()` is what the
 * cluster's topics are at each call. Each JoinGroup's subscribed topics
 * are recorded in `joins`.
 */
function scripted(listing: () => Listing) {
  const joins: string[][] = [];
  let generation = 0;
  let current: Record<string, number> = {};
  const conn = {
    address: "fake:9092",
    pickVersion: (api: { maxVersion: number }) => api.maxVersion,
    request(api: { name: string }, body: Record<string, unknown>) {
      if (api.name === "JoinGroup") {
        const protocols = body.protocols as {
          name: string;
          metadata: Uint8Array;
        }[];
        const r = new ByteReader(protocols[0].metadata);
        const s = decodeConsumerProtocolSubscription(r, r.int16());
        joins.push(s.topics);
        generation++;
        return Promise.resolve({
          throttleTimeMs: 0,
          errorCode: 0,
          generationId: generation,
          protocolType: "consumer",
          protocolName: protocols[0].name,
          leader: "m1",
          skipAssignment: false,
          memberId: "m1",
          members: [{
            memberId: "m1",
            groupInstanceId: null,
            metadata: protocols[0].metadata,
          }],
        });
      }
      if (api.name === "SyncGroup") {
        const assignments = body.assignments as {
          memberId: string;
          assignment: Uint8Array;
        }[];
        return Promise.resolve({
          throttleTimeMs: 0,
          errorCode: 0,
          protocolType: "consumer",
          protocolName: body.protocolName,
          assignment: assignments[0].assignment,
        });
      }
      if (api.name === "Heartbeat") {
        return Promise.resolve({ throttleTimeMs: 0, errorCode: 0 });
      }
      return Promise.resolve({ throttleTimeMs: 0, errorCode: 0 });
    },
  };
  const cluster = {
    coordinator: () => Promise.resolve(conn),
    invalidateCoordinator() {},
    rackOf: () => null,
    allTopics: () => {
      const now = listing();
      if (now === "hang") return new Promise(() => {});
      if (now instanceof Error) return Promise.reject(now);
      current = now;
      return Promise.resolve(
        Object.entries(now).map(([name, n]) =>
          info(name, n, name.startsWith("__"))
        ),
      );
    },
    // What the leader reads for the subscribed topics' partitions.
    topic: (name: string) => Promise.resolve(info(name, current[name] ?? 0)),
  } as unknown as Cluster;
  return { cluster, joins };
}

function member(cluster: Cluster, events: string[], errors: string[]) {
  const { hooks, failure } = recordingHooks(events, { generations: true });
  const m = new ClassicMember({
    cluster,
    groupId: "g",
    topics: [],
    matcher: /^(?:orders\..*|__consumer_offsets)$/,
    balancers: [new RangeGroupBalancer()],
    groupInstanceId: null,
    rack: null,
    heartbeatInterval: 10,
    sessionTimeout: 1000,
    rebalanceTimeout: 1000,
    joinGroupBackoff: 20,
    watchPartitionChanges: false,
    partitionWatchInterval: 20,
    requestTimeout: 1000,
    errorLogger: (message) => errors.push(message),
    hooks,
  });
  return { m, failure };
}

/**
 * A member started on a cluster whose listings follow `script` (its last
 * entry over and over).
 */
function started(script: Listing[]) {
  let at = 0;
  const { cluster, joins } = scripted(() =>
    script[Math.min(at++, script.length - 1)]
  );
  const events: string[] = [];
  const errors: string[] = [];
  const { m } = member(cluster, events, errors);
  m.start();
  return { m, joins, events, errors };
}

const lost = () => new ConnectionError("Connection to fake:9092 lost");

describe("ClassicMember subscribed by pattern, with scripted metadata", () => {
  test("topics that come to match, or grow partitions, rejoin; failed listings change nothing and are logged", async () => {
    const script: Listing[] = [
      { "orders.a": 2, "__consumer_offsets": 50, "other": 1 },
      lost(),
      lost(),
      { "orders.a": 2, "orders.b": 1, "__consumer_offsets": 50 },
      lost(),
      // The counts the rejoin could not note are noted here.
      { "orders.a": 2, "orders.b": 1 },
      { "orders.a": 3, "orders.b": 1 },
    ];
    const { m, joins, events, errors } = started(script);
    await until(() => joins.length >= 3);
    await m.close(500);
    assert.deepEqual(joins, [
      ["orders.a"],
      ["orders.a", "orders.b"],
      ["orders.a", "orders.b"],
    ]);
    // Eager: each rebalance gives up all and takes the new assignment.
    assert.deepEqual(events.slice(0, 5), [
      "assigned orders.a/0,1 @1",
      "revoked orders.a/0,1",
      "assigned orders.a/0,1 orders.b/0 @2",
      "revoked orders.a/0,1 orders.b/0",
      "assigned orders.a/0,1,2 orders.b/0 @3",
    ]);
    // The second join's listing failed: it joined with what matched last.
    // Failed listings lose no partitions; each is logged.
    assert.equal(events.filter((e) => e.startsWith("lost")).length, 0);
    assert.deepEqual(errors, [
      "kafka reader: checking the group's topics failed: Connection to fake:9092 lost",
      "kafka reader: checking the group's topics failed: Connection to fake:9092 lost",
      "kafka reader: listing the topics failed, joining with those that matched last: Connection to fake:9092 lost",
    ]);
  });

  test("a listing that never answers costs no heartbeat: it is given up after a third of the session timeout", async () => {
    const { m, joins, events, errors } = started([
      { "orders.a": 1 },
      "hang",
      { "orders.a": 1, "orders.b": 1 },
    ]);
    await until(() => joins.length >= 2);
    await m.close(500);
    assert.deepEqual(joins, [["orders.a"], ["orders.a", "orders.b"]]);
    assert.equal(events.filter((e) => e.startsWith("lost")).length, 0);
    // sessionTimeout 1000: a third of it.
    assert.deepEqual(errors, [
      "kafka reader: checking the group's topics failed: listing the topics took over 333 ms",
    ]);
  });

  test("a first listing that fails is retried before the member joins", async () => {
    const script: Listing[] = [lost(), lost(), { "orders.x": 1 }];
    const { m, joins, events, errors } = started(script);
    await until(() => events.length >= 1);
    await m.close(500);
    assert.deepEqual(joins[0], ["orders.x"]);
    assert.equal(events[0], "assigned orders.x/0 @1");
    assert.equal(errors.length, 2);
    assert.match(
      errors[0],
      /joining group g failed, attempt 1: Connection to fake:9092 lost/,
    );
  });
});

/**
 * The scripted one-member group of one topic, where each request of the
 * API named `failed` rejects with `error` instead.
 */
function failing(failed: string, error: Error) {
  const { cluster, joins } = scripted(() => ({ "orders.a": 1 }));
  // The scripted coordinator's connection, as the fake it is.
  const coordinator = cluster.coordinator as unknown as () => Promise<{
    request(api: { name: string }, body: unknown): Promise<unknown>;
  }>;
  const failingCluster = {
    ...cluster,
    coordinator: async () => {
      const conn = await coordinator();
      return {
        ...conn,
        request: (api: { name: string }, body: unknown) =>
          api.name === failed ? Promise.reject(error) : conn.request(api, body),
      };
    },
  } as unknown as Cluster;
  const events: string[] = [];
  const errors: string[] = [];
  const { m, failure } = member(failingCluster, events, errors);
  m.start();
  return { m, failure, joins, events, errors };
}

// An error without a `retriable` flag is not known to be transient: it fails
// the member as it fails a Writer, never a join retried forever.
describe("ClassicMember and what retrying cannot fix", () => {
  test("a JoinGroup failing with a TypeError (bad settings) fails the member at once", async () => {
    const error = new TypeError(
      'Cannot use SASL: "sasl" must be { mechanism, ... }',
    );
    const { m, failure, errors } = failing("JoinGroup", error);
    assert.equal(await failure, error);
    // Not retried: no attempt was logged.
    assert.deepEqual(errors, []);
    await m.close(500);
  });

  test("a heartbeat failing with a ProtocolError fails the member, not after the session timeout", async () => {
    const error = new ProtocolError(
      "Cannot read response from fake:9092: an HTTP server answered",
    );
    const started = Date.now();
    const { m, failure, joins, events } = failing("Heartbeat", error);
    assert.equal(await failure, error);
    assert.ok(Date.now() - started < 1000, "within the session timeout");
    assert.deepEqual(events, ["assigned orders.a/0 @1"]);
    assert.equal(joins.length, 1);
    await m.close(500);
  });

  test("a heartbeat failing with a lost connection is retried", async () => {
    const { m, failure, errors } = failing(
      "Heartbeat",
      new ConnectionError("Connection to fake:9092 lost"),
    );
    let failed: Error | null = null;
    failure.then((e) => failed = e);
    await until(() => errors.length >= 3);
    assert.equal(failed, null);
    assert.match(errors[0], /heartbeat failed: Connection to fake:9092 lost/);
    await m.close(500);
  });
});
