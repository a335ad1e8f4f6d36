/**
 * Coordinator lookup: against the real broker (a new group's coordinator is
 * found, concurrent lookups share one FindCoordinator request, lookups are
 * cached until invalidated) and against fake brokers for what a real one
 * will not do on demand (loading coordinators, old versions, refusals).
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { BrokerConnection } from "../connection/connection.ts";
import { ProtocolError } from "../protocol/bytes.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import {
  FindCoordinator,
  type FindCoordinatorRequest,
  type FindCoordinatorResponse,
} from "../protocol/messages/find_coordinator.ts";
import type { Encodable } from "../protocol/api.ts";
import { BROKER, uniqueTopic } from "../../tests/_helpers.ts";
import { Cluster } from "./cluster.ts";
import {
  CoordinatorLookup,
  coordinatorMoved,
  type CoordinatorNode,
} from "./coordinator.ts";

/** A group id no other test (or earlier run) uses. */
const uniqueGroup = uniqueTopic;

/** A Cluster that records the keys of every FindCoordinator request it sends. */
class SpyCluster extends Cluster {
  readonly findCoordinatorKeys: string[][] = [];
  private readonly spied = new WeakSet<BrokerConnection>();

  override async anyConnection(lane?: string): Promise<BrokerConnection> {
    const conn = await super.anyConnection(lane);
    if (!this.spied.has(conn)) {
      this.spied.add(conn);
      const request = conn.request.bind(conn);
      conn.request = ((api, data, options) => {
        if (api === FindCoordinator) {
          const body = data as Encodable<FindCoordinatorRequest>;
          this.findCoordinatorKeys.push(
            body.coordinatorKeys ? [...body.coordinatorKeys] : [body.key!],
          );
        }
        return request(api, data, options);
      }) as BrokerConnection["request"];
    }
    return conn;
  }
}

describe("Cluster.coordinator on a live broker", () => {
  test("finds the coordinator of a new group id", async () => {
    const cluster = new Cluster({ brokers: [BROKER] });
    try {
      const conn = await cluster.coordinator(uniqueGroup("coord-new"));
      // One broker: it is the coordinator of every group.
      assert.equal(conn.address, BROKER);
      assert.equal(conn.isClosed, false);
    } finally {
      await cluster.close();
    }
  });

  test("two concurrent lookups for different groups send one FindCoordinator request", async () => {
    const cluster = new SpyCluster({ brokers: [BROKER] });
    try {
      const a = uniqueGroup("coord-a");
      const b = uniqueGroup("coord-b");
      const [connA, connB] = await Promise.all([
        cluster.coordinator(a),
        cluster.coordinator(b),
      ]);
      assert.equal(connA.address, BROKER);
      // Same broker, same lane: the same connection.
      assert.equal(connA, connB);
      // A coordinator still loading is asked again, so there may be more
      // requests; the first carries both keys.
      assert.deepEqual(cluster.findCoordinatorKeys[0], [a, b]);
      assert.ok(
        cluster.findCoordinatorKeys.every((keys) => keys.length >= 1),
      );
    } finally {
      await cluster.close();
    }
  });

  test("a found coordinator is cached until invalidated", async () => {
    const cluster = new SpyCluster({ brokers: [BROKER] });
    try {
      const group = uniqueGroup("coord-cache");
      await cluster.coordinator(group);
      const sent = cluster.findCoordinatorKeys.length;
      await cluster.coordinator(group);
      assert.equal(cluster.findCoordinatorKeys.length, sent, "cached");
      cluster.invalidateCoordinator(group);
      const conn = await cluster.coordinator(group);
      assert.ok(cluster.findCoordinatorKeys.length > sent, "asked again");
      assert.deepEqual(cluster.findCoordinatorKeys.at(-1), [group]);
      assert.equal(conn.address, BROKER);
    } finally {
      await cluster.close();
    }
  });

  test("the coordinator's lane is its own connection", async () => {
    const cluster = new Cluster({ brokers: [BROKER] });
    try {
      const group = uniqueGroup("coord-lane");
      const groupLane = await cluster.coordinator(group);
      const other = await cluster.coordinator(group, "commits");
      assert.notEqual(groupLane, other);
      assert.equal(other.address, groupLane.address);
    } finally {
      await cluster.close();
    }
  });

  test("a closed Cluster rejects lookups", async () => {
    const cluster = new Cluster({ brokers: [BROKER] });
    await cluster.close();
    await assert.rejects(
      cluster.coordinator(uniqueGroup("coord-closed")),
      (error: Error) => error.name === "ClosedError",
    );
  });
});

/** What a fake broker answers for one key. */
type Answer = { errorCode?: number; nodeId?: number; errorMessage?: string };

/** A fake broker answering FindCoordinator at `version` with `answer(key)`. */
function fakeBroker(version: number, answer: (key: string) => Answer) {
  const requests: string[][] = [];
  const node = (key: string) => {
    const a = answer(key);
    const failed = (a.errorCode ?? 0) !== 0;
    return {
      key,
      nodeId: failed ? -1 : a.nodeId ?? 1,
      host: failed ? "" : "fake",
      port: failed ? -1 : 9092,
      errorCode: a.errorCode ?? 0,
      errorMessage: a.errorMessage ?? null,
    };
  };
  const conn = {
    address: "fake:9092",
    pickVersion: () => version,
    request(api: unknown, data: Encodable<FindCoordinatorRequest>) {
      if (api !== FindCoordinator) throw new Error("unexpected request");
      const keys = version >= 4 ? [...data.coordinatorKeys!] : [data.key!];
      requests.push(keys);
      const nodes = keys.map(node);
      const response: FindCoordinatorResponse = version >= 4
        ? {
          throttleTimeMs: 0,
          errorCode: 0,
          errorMessage: null,
          nodeId: 0,
          host: "",
          port: 0,
          coordinators: nodes,
        }
        : { throttleTimeMs: 0, ...nodes[0], coordinators: [] };
      return new Promise((resolve) => setTimeout(() => resolve(response), 1));
    },
  } as unknown as BrokerConnection;
  return { requests, connection: () => Promise.resolve(conn) };
}

const fast = { backoffMin: 5, backoffMax: 20 };

describe("CoordinatorLookup against fake brokers", () => {
  test("retries COORDINATOR_LOAD_IN_PROGRESS, NOT_AVAILABLE and NOT_COORDINATOR with backoff", async () => {
    const codes = [
      ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
      ErrorCode.COORDINATOR_NOT_AVAILABLE,
      ErrorCode.NOT_COORDINATOR,
    ];
    const broker = fakeBroker(6, () => ({ errorCode: codes.shift() ?? 0 }));
    const lookup = new CoordinatorLookup({ ...broker, ...fast });
    const node = await lookup.lookup("g");
    assert.deepEqual(node, { id: 1, host: "fake", port: 9092 });
    assert.equal(broker.requests.length, 4);
    assert.deepEqual(lookup.cached("g"), node);
  });

  test("fails at once with what retrying cannot fix, naming the key", async () => {
    const broker = fakeBroker(6, () => ({
      errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
      errorMessage: "denied",
    }));
    const lookup = new CoordinatorLookup({ ...broker, ...fast });
    await assert.rejects(lookup.lookup("secret"), (error) => {
      assert.ok(error instanceof KafkaError);
      assert.equal(error.code, ErrorCode.GROUP_AUTHORIZATION_FAILED);
      assert.match(error.message, /FindCoordinator.*"secret": denied/);
      return true;
    });
    assert.equal(broker.requests.length, 1);
    assert.equal(lookup.cached("secret"), undefined);
  });

  test("gives up at the deadline with the last error", async () => {
    const broker = fakeBroker(6, () => ({
      errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    }));
    const lookup = new CoordinatorLookup({ ...broker, ...fast });
    const started = Date.now();
    await assert.rejects(
      lookup.lookup("g", { deadline: Date.now() + 150 }),
      (error) =>
        error instanceof KafkaError &&
        error.code === ErrorCode.COORDINATOR_NOT_AVAILABLE,
    );
    assert.ok(Date.now() - started < 1000);
    assert.ok(broker.requests.length > 2, `${broker.requests.length} tries`);
  });

  test("an aborted signal ends a lookup that would retry forever", async () => {
    const broker = fakeBroker(6, () => ({
      errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    }));
    const lookup = new CoordinatorLookup({ ...broker, ...fast });
    const closing = new AbortController();
    const reason = new Error("closing");
    setTimeout(() => closing.abort(reason), 60);
    await assert.rejects(
      lookup.lookup("g", { deadline: Infinity, signal: closing.signal }),
      (error) => error === reason,
    );
  });

  test("concurrent lookups share requests: one per batch of keys, one attempt per key", async () => {
    const broker = fakeBroker(6, (key) => ({ nodeId: key.length }));
    const lookup = new CoordinatorLookup({ ...broker, ...fast });
    const nodes = await Promise.all([
      lookup.lookup("a"),
      lookup.lookup("bb"),
      lookup.lookup("a"),
      lookup.lookup("ccc"),
    ]);
    assert.deepEqual(nodes.map((n) => n.id), [1, 2, 1, 3]);
    assert.deepEqual(broker.requests, [["a", "bb", "ccc"]]);
  });

  test("FindCoordinator before v4 sends one key per request", async () => {
    const broker = fakeBroker(3, (key) => ({ nodeId: key.length }));
    const lookup = new CoordinatorLookup({ ...broker, ...fast });
    const nodes = await Promise.all([lookup.lookup("a"), lookup.lookup("bb")]);
    assert.deepEqual(nodes.map((n) => n.id), [1, 2]);
    assert.deepEqual(broker.requests, [["a"], ["bb"]]);
  });

  test("a response without the key is a ProtocolError", async () => {
    const conn = {
      address: "fake:9092",
      pickVersion: () => 6,
      request: () => Promise.resolve({ throttleTimeMs: 0, coordinators: [] }),
    } as unknown as BrokerConnection;
    const lookup = new CoordinatorLookup({
      ...fast,
      connection: () => Promise.resolve(conn),
    });
    await assert.rejects(lookup.lookup("g"), ProtocolError);
  });

  test("a failed dial invalidates the coordinator and looks it up again", async () => {
    let moved = false;
    const broker = fakeBroker(6, () => ({ nodeId: moved ? 2 : 1 }));
    const lookup = new CoordinatorLookup({ ...broker, ...fast });
    const dialed: number[] = [];
    const conn = await lookup.use("g", (node: CoordinatorNode) => {
      dialed.push(node.id);
      if (node.id === 1) {
        moved = true;
        return Promise.reject(
          new KafkaError(ErrorCode.NOT_COORDINATOR, { apiName: "test" }),
        );
      }
      return Promise.resolve(`node ${node.id}`);
    });
    assert.equal(conn, "node 2");
    assert.deepEqual(dialed, [1, 2]);
    assert.equal(broker.requests.length, 2);
  });

  test("coordinatorMoved names the errors that call for a new lookup", () => {
    assert.ok(coordinatorMoved(new KafkaError(ErrorCode.NOT_COORDINATOR)));
    assert.ok(
      coordinatorMoved(new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE)),
    );
    assert.ok(
      !coordinatorMoved(new KafkaError(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)),
    );
    assert.ok(!coordinatorMoved(new Error("other")));
  });
});
