/**
 * The metadata cache against a fake broker whose answers are scripted: a
 * broker can answer with metadata older than what the client already knows,
 * which a real single broker will not do on demand.
 */

import assert from "node:assert/strict";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { describe, test } from "node:test";
import type { BrokerConnection } from "../connection/connection.ts";
import {
  Metadata,
  type MetadataResponse,
} from "../protocol/messages/metadata.ts";
import { Cluster } from "./cluster.ts";

const ID_A = "AAAAAAAAAAAAAAAAAAAAAA";
const ID_B = "BBBBBBBBBBBBBBBBBBBBBB";

/** One topic "t" with one partition led by `leader` in `epoch`. */
function answer(topicId: string, leader: number, epoch: number) {
  return {
    throttleTimeMs: 0,
    brokers: [1, 2, 3].map((nodeId) => ({
      nodeId,
      host: "127.0.0.1",
      port: 9000 + nodeId,
      rack: null,
    })),
    clusterId: "fake",
    controllerId: 1,
    topics: [{
      errorCode: 0,
      name: "t",
      topicId,
      isInternal: false,
      partitions: [{
        errorCode: 0,
        partitionIndex: 0,
        leaderId: leader,
        leaderEpoch: epoch,
        replicaNodes: [1, 2, 3],
        isrNodes: [1, 2, 3],
        offlineReplicas: [],
      }],
      topicAuthorizedOperations: 0,
    }],
    clusterAuthorizedOperations: 0,
    errorCode: 0,
  } satisfies MetadataResponse;
}

/** A Cluster whose Metadata requests get the scripted answers in turn. */
class ScriptedCluster extends Cluster {
  readonly answers: MetadataResponse[] = [];

  constructor() {
    super({ brokers: ["fake:9092"] });
  }

  override anyConnection(): Promise<BrokerConnection> {
    return Promise.resolve({
      address: "fake:9092",
      isClosed: false,
      close: () => {},
      request: (api: unknown) => {
        assert.equal(api, Metadata);
        const next = this.answers.shift();
        assert.ok(next, "an answer is scripted");
        return Promise.resolve(next);
      },
    } as unknown as BrokerConnection);
  }
}

describe("Cluster metadata cache", () => {
  test("keeps a newer leader when a lagging broker names an older one (KIP-320)", async () => {
    const cluster = new ScriptedCluster();
    cluster.answers.push(
      answer(ID_A, 1, 5),
      answer(ID_A, 2, 4), // stale: epoch 4 < 5
      answer(ID_A, 3, 6), // newer: taken
    );
    const first = await cluster.topic("t", { maxAge: 0 });
    assert.deepEqual(
      [first.partitions[0].leader, first.partitions[0].leaderEpoch],
      [1, 5],
    );
    const stale = await cluster.topic("t", { maxAge: 0 });
    assert.deepEqual(
      [stale.partitions[0].leader, stale.partitions[0].leaderEpoch],
      [1, 5],
    );
    const newer = await cluster.topic("t", { maxAge: 0 });
    assert.deepEqual(
      [newer.partitions[0].leader, newer.partitions[0].leaderEpoch],
      [3, 6],
    );
    assert.equal(cluster.answers.length, 0);
    await cluster.close();
  });

  test("invalidate makes the next lookup ask, and keeps the epochs it knew", async () => {
    const cluster = new ScriptedCluster();
    cluster.answers.push(answer(ID_A, 1, 5), answer(ID_A, 2, 4));
    await cluster.topic("t");
    // Cached: no request.
    await cluster.topic("t");
    assert.equal(cluster.answers.length, 1);
    cluster.invalidate("t");
    assert.equal(cluster.cachedTopic("t")?.partitions.length, 1);
    const after = await cluster.topic("t");
    assert.equal(cluster.answers.length, 0, "asked again");
    assert.deepEqual(
      [after.partitions[0].leader, after.partitions[0].leaderEpoch],
      [1, 5],
    );
    await cluster.close();
  });

  test("a topic deleted and created again starts its epochs over", async () => {
    const cluster = new ScriptedCluster();
    cluster.answers.push(answer(ID_A, 1, 7), answer(ID_B, 2, 0));
    await cluster.topic("t", { maxAge: 0 });
    const recreated = await cluster.topic("t", { maxAge: 0 });
    assert.equal(recreated.topicId, ID_B);
    assert.deepEqual(
      [recreated.partitions[0].leader, recreated.partitions[0].leaderEpoch],
      [2, 0],
    );
    await cluster.close();
  });
});

describe("Cluster close", () => {
  test("gives up a dial in progress instead of waiting out connectTimeout", async () => {
    // Accepts connections and never answers, as a stalled broker would.
    const sockets = new Set<Socket>();
    const server = createServer((s) => {
      sockets.add(s);
      s.on("error", () => {});
    });
    await new Promise<void>((resolve) =>
      server.listen(0, "127.0.0.1", resolve)
    );
    const { port } = server.address() as AddressInfo;
    try {
      const cluster = new Cluster({
        brokers: [`127.0.0.1:${port}`],
        connectTimeout: 20_000,
      });
      const dialing = cluster.anyConnection();
      const failed = dialing.then(() => null, (error: Error) => error);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = Date.now();
      await cluster.close();
      const error = await failed;
      assert.ok(Date.now() - started < 2000, "close() did not wait 20 s");
      assert.ok(error instanceof Error, "the dial failed");
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
