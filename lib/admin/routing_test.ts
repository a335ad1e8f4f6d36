/**
 * The Router's retries, against the real broker with faults injected into
 * its answers (a broker will not say NOT_CONTROLLER or NOT_COORDINATOR on
 * demand): each routing error sends the request again, to a node looked
 * up anew where the error says it moved, only for the items that failed,
 * and until the call's deadline, after which the error is the item's.
 */

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { Cluster } from "../cluster/cluster.ts";
import type { LookupOptions } from "../cluster/coordinator.ts";
import type { BrokerConnection } from "../connection/connection.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { BROKER, uniqueTopic } from "../../tests/_helpers.ts";
import { describeGroups } from "./groups.ts";
import { listOffsets, offsetCommit, offsetFetch } from "./offsets.ts";
import { Router } from "../cluster/route.ts";
import { createTopics, deleteTopics } from "./topics.ts";

/** A fault: rewrites one response of an API, then is used up. */
type Fault = (response: Record<string, unknown>) => void;

/** A Cluster whose answers get the queued faults, and that counts lookups. */
class FaultyCluster extends Cluster {
  readonly faults = new Map<string, Fault[]>();
  /** Requests sent per API, with their bodies. */
  readonly sent: { api: string; body: unknown }[] = [];
  controllerLookups = 0;
  coordinatorInvalidations = 0;
  topicInvalidations = 0;
  private readonly wrapped = new WeakSet<BrokerConnection>();

  inject(api: string, ...faults: Fault[]): void {
    this.faults.set(api, [...(this.faults.get(api) ?? []), ...faults]);
  }

  private wrap(conn: BrokerConnection): BrokerConnection {
    if (this.wrapped.has(conn)) return conn;
    this.wrapped.add(conn);
    const request = conn.request.bind(conn);
    conn.request = (async (api, data, options) => {
      this.sent.push({ api: api.name, body: data });
      const response = await request(api, data, options);
      const fault = this.faults.get(api.name)?.shift();
      fault?.(response as Record<string, unknown>);
      return response;
    }) as BrokerConnection["request"];
    return conn;
  }

  override async controller(lane?: string): Promise<BrokerConnection> {
    this.controllerLookups++;
    return this.wrap(await super.controller(lane));
  }

  override invalidateCoordinator(groupId: string): void {
    this.coordinatorInvalidations++;
    super.invalidateCoordinator(groupId);
  }

  override invalidate(topic: string): void {
    this.topicInvalidations++;
    super.invalidate(topic);
  }

  override async coordinator(
    groupId: string,
    lane?: string,
    options?: LookupOptions,
  ): Promise<BrokerConnection> {
    return this.wrap(await super.coordinator(groupId, lane, options));
  }

  override async connection(
    brokerId: number,
    lane?: string,
  ): Promise<BrokerConnection> {
    return this.wrap(await super.connection(brokerId, lane));
  }

  override async leader(topic: string, partition: number, lane?: string) {
    const found = await super.leader(topic, partition, lane);
    return { ...found, conn: this.wrap(found.conn) };
  }
}

/** Sets `code` on every item of `list` under `key`. */
function everyItem(key: string, code: number): Fault {
  return (response) => {
    for (const item of response[key] as { errorCode: number }[]) {
      item.errorCode = code;
    }
  };
}

describe("Router retries", () => {
  const cluster = new FaultyCluster({ brokers: [BROKER] });
  const router = new Router(cluster, 20_000);
  after(() => cluster.close());

  test("NOT_CONTROLLER: the controller is looked up again and the request resent", async () => {
    const topic = uniqueTopic("route-controller");
    cluster.inject(
      "CreateTopics",
      everyItem("topics", ErrorCode.NOT_CONTROLLER),
    );
    const before = cluster.controllerLookups;
    // Only validated: the faulty answer follows a real one, and a topic
    // created by the first request would make the second fail.
    const [created] = await createTopics(router, [{ topic }], {
      validateOnly: true,
    });
    assert.equal(created.error, null);
    assert.equal(cluster.controllerLookups - before, 2);
  });

  test("NOT_COORDINATOR: the group's coordinator is looked up again", async () => {
    const group = uniqueTopic("route-coordinator");
    const topic = uniqueTopic("route-coordinator-topic");
    await createTopics(router, [{ topic }]);
    await offsetCommit(router, group, [{ topic, partition: 0, offset: 1 }]);
    cluster.inject(
      "DescribeGroups",
      everyItem("groups", ErrorCode.NOT_COORDINATOR),
    );
    const before = cluster.coordinatorInvalidations;
    const [described] = await describeGroups(router, [group]);
    assert.equal(described.error, null);
    assert.equal(described.state, "Empty");
    assert.equal(cluster.coordinatorInvalidations - before, 1);
    await deleteTopics(router, [topic]);
  });

  test("COORDINATOR_LOAD_IN_PROGRESS: the same coordinator is asked again", async () => {
    const topic = uniqueTopic("route-loading");
    const group = uniqueTopic("route-loading-group");
    await createTopics(router, [{ topic }]);
    await offsetCommit(router, group, [{ topic, partition: 0, offset: 3 }]);
    const loading: (r: Record<string, unknown>) => void = (r) => {
      for (const g of r.groups as { errorCode: number }[]) {
        g.errorCode = ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
      }
    };
    cluster.inject("OffsetFetch", loading, loading);
    const invalidations = cluster.coordinatorInvalidations;
    const sent = cluster.sent.filter((s) => s.api === "OffsetFetch").length;
    const [committed] = await offsetFetch(router, group, [
      { topic, partition: 0 },
    ]);
    assert.equal(committed.offset, 3);
    assert.equal(
      cluster.sent.filter((s) => s.api === "OffsetFetch").length - sent,
      3,
    );
    assert.equal(cluster.coordinatorInvalidations, invalidations);
    await deleteTopics(router, [topic]);
  });

  test("a leader change on one partition resends only that partition", async () => {
    const topic = uniqueTopic("route-leader");
    await createTopics(router, [{ topic, numPartitions: 2 }]);
    // Until both partitions have a leader that answers, a new topic's first
    // requests may be retried for reasons of their own.
    const queries = [0, 1].map((partition) => ({ topic, partition }));
    for (let i = 0; i < 50; i++) {
      const ready = await listOffsets(router, queries);
      if (ready.every((r) => r.error === null)) break;
    }
    cluster.inject("ListOffsets", (r) => {
      const topics = r.topics as {
        partitions: { partitionIndex: number; errorCode: number }[];
      }[];
      for (const p of topics[0].partitions) {
        if (p.partitionIndex === 1) {
          p.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
        }
      }
    });
    const from = cluster.sent.length;
    const invalidations = cluster.topicInvalidations;
    const results = await listOffsets(router, [
      { topic, partition: 0, at: "earliest" },
      { topic, partition: 1, at: "earliest" },
    ]);
    assert.deepEqual(results.map((r) => [r.offset, r.error]), [
      [0, null],
      [0, null],
    ]);
    const requests = cluster.sent.slice(from)
      .filter((s) => s.api === "ListOffsets")
      .map((s) =>
        (s.body as {
          topics: { partitions: { partitionIndex: number }[] }[];
        }).topics[0].partitions.map((p) => p.partitionIndex)
      );
    assert.deepEqual(requests, [[0, 1], [1]]);
    assert.equal(cluster.topicInvalidations - invalidations, 1);
    await deleteTopics(router, [topic]);
  });

  test("an error that lasts past the deadline becomes the item's error, or the call's", async () => {
    const group = uniqueTopic("route-deadline");
    const notCoordinator = everyItem("groups", ErrorCode.NOT_COORDINATOR);
    cluster.inject(
      "DescribeGroups",
      ...Array.from({ length: 50 }, () => notCoordinator),
    );
    const started = Date.now();
    const [described] = await describeGroups(router, [group], {
      timeout: 800,
    });
    const took = Date.now() - started;
    cluster.faults.delete("DescribeGroups");
    assert.ok(described.error instanceof KafkaError);
    assert.equal(described.error.code, ErrorCode.NOT_COORDINATOR);
    assert.ok(took >= 400 && took < 5000, `took ${took} ms`);

    const notController = everyItem("topics", ErrorCode.NOT_CONTROLLER);
    cluster.inject(
      "CreateTopics",
      ...Array.from({ length: 50 }, () => notController),
    );
    const failed = await createTopics(
      router,
      [{ topic: uniqueTopic("route-never") }],
      { timeout: 600 },
    ).catch((e) => e);
    cluster.faults.delete("CreateTopics");
    assert.ok(failed instanceof KafkaError);
    assert.equal(failed.code, ErrorCode.NOT_CONTROLLER);
  });

  test("an aborted signal ends the call with its reason", async () => {
    const controller = new AbortController();
    controller.abort(new Error("operator gave up"));
    await assert.rejects(
      () =>
        describeGroups(router, [uniqueTopic("route-abort")], {
          signal: controller.signal,
        }),
      /operator gave up/,
    );
  });
});
