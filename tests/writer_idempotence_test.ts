/**
 * Idempotence: a Produce whose answer is lost is retried with the same
 * sequence numbers, and the broker keeps one copy. The loss is injected
 * between the real broker and the Writer (the request is sent, the answer is
 * thrown away), which a broker cannot be asked to do.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Cluster, dial, dialLeader, Writer } from "../mod.ts";
import { ConnectionError } from "../lib/connection/errors.ts";
import type { BrokerConnection } from "../lib/connection/connection.ts";
import { Produce } from "../lib/protocol/messages/produce.ts";
import { BROKER, uniqueTopic } from "./_helpers.ts";

/** A cluster whose produce connections lose the answers to the first `n` Produce requests. */
class LossyCluster extends Cluster {
  lost = 0;
  private readonly losses: number;
  constructor(losses: number) {
    super({ brokers: [BROKER] });
    this.losses = losses;
  }

  override async leader(topic: string, partition: number, lane?: string) {
    const found = await super.leader(topic, partition, lane);
    return { ...found, conn: this.lossy(found.conn) };
  }

  private lossy(conn: BrokerConnection): BrokerConnection {
    return new Proxy(conn, {
      get: (target, key) => {
        if (key !== "request") return Reflect.get(target, key, target);
        return async (...args: Parameters<BrokerConnection["request"]>) => {
          const response = await target.request(...args);
          if (args[0] === Produce && this.lost < this.losses) {
            this.lost++;
            throw new ConnectionError("injected: the Produce answer was lost");
          }
          return response;
        };
      },
    });
  }
}

async function values(topic: string): Promise<string[]> {
  const conn = await dialLeader(BROKER, topic, 0);
  try {
    const batch = await conn.readBatch({ maxWait: 500 });
    const out: string[] = [];
    for await (const m of batch) out.push(new TextDecoder().decode(m.value!));
    return out;
  } finally {
    conn.close();
  }
}

async function lossyWrite(
  idempotent: boolean,
): Promise<{ got: string[]; lost: number }> {
  const topic = uniqueTopic(idempotent ? "idem" : "dup");
  const admin = await dial(BROKER);
  await admin.createTopics({ topic, numPartitions: 1, replicationFactor: 1 });
  admin.close();
  const cluster = new LossyCluster(2);
  const w = new Writer({
    cluster,
    topic,
    idempotent,
    requiredAcks: "all",
    writeBackoffMin: 10,
  });
  await w.writeMessages({ value: "a" }, { value: "b" });
  await w.writeMessages({ value: "c" });
  await w.close();
  await cluster.close();
  return { got: await values(topic), lost: cluster.lost };
}

describe("idempotent Writer", () => {
  test("retries after lost answers write each message once, in order", async () => {
    const { got, lost } = await lossyWrite(true);
    assert.equal(lost, 2, "two answers were lost and retried");
    assert.deepEqual(got, ["a", "b", "c"]);
  });

  test("the same losses without idempotence do duplicate (the test bites)", async () => {
    const { got, lost } = await lossyWrite(false);
    assert.equal(lost, 2);
    assert.ok(got.length > 3, `expected duplicates, got ${got.join(",")}`);
  });
});
