/**
 * The three-broker cluster under faults (tools/cluster.ts): a partition
 * leader killed with kill -9, or shut down cleanly, in the middle of an
 * idempotent acks=all produce; a node back on an empty disk; a Reader and a
 * consumer group reading across a leader kill; transactions across a kill
 * of their coordinator and of a partition leader; an exactly-once pipe
 * across kills of its transaction and group coordinators; share-group
 * members across kills of a partition leader and of their group's
 * coordinator; a consumer group piping into a Processor (with retried
 * handlers) across the same two kills; a Reader fetching from the follower in its rack (KIP-392)
 * across a kill of that follower. Every acknowledged
 * message is counted: none lost, none twice, each partition in order; every
 * committed transaction is read once and whole, no aborted one.
 *
 * Not part of `deno task test` (three more JVMs and a million messages):
 * run it with `deno task test:cluster` (CLUSTER_MESSAGES sets the count).
 */

import assert from "node:assert/strict";
import process from "node:process";
import { after, before, describe, test } from "node:test";
import {
  type Balancer,
  Client,
  FirstOffset,
  Processor,
  Reader,
  ShareReader,
  Writer,
} from "../mod.ts";
import {
  activeController,
  CLUSTER_BROKERS,
  clusterDown,
  clusterUp,
  killNode,
  leaders,
  NODES,
  startNode,
  stopNode,
  viaDeno,
  waitServing,
} from "../tools/cluster.ts";
import { sleep, uniqueTopic } from "./_helpers.ts";

const COUNT = Number(process.env.CLUSTER_MESSAGES ?? 1_000_000);
/** Messages per transaction of the transaction test, and its transactions. */
const PER_TXN = 1000;
const TXNS = Math.max(30, Math.round(COUNT / 10 / PER_TXN));
const text = new TextDecoder();
const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";

/** Cluster commands, run in this process under Deno, else through Deno. */
const cluster = {
  up: () => isDeno ? clusterUp() : viaDeno(["up"]).then(() => {}),
  down: () => isDeno ? clusterDown() : viaDeno(["down"]).then(() => {}),
  kill: (id: number) =>
    isDeno ? killNode(id) : viaDeno(["kill", `${id}`]).then(() => {}),
  stop: (id: number) =>
    isDeno ? stopNode(id) : viaDeno(["stop", `${id}`]).then(() => {}),
  start: async (id: number, empty = false) => {
    if (isDeno) await startNode(id, { empty });
    else await viaDeno(["start", `${id}`, ...(empty ? ["--empty"] : [])]);
    await waitServing(NODES.length);
  },
};

/** Waits until every partition of `topic` has all three replicas in sync. */
async function fullIsr(client: Client, topic: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { topics } = await client.metadata([topic]);
    if (topics[0].partitions.every((p) => p.isr.length === 3)) return;
    if (Date.now() > deadline) throw new Error(`${topic}: ISR not full`);
    await sleep(250);
  }
}

/**
 * Creates a topic of 3 partitions with 3 replicas each (a name from
 * `prefix`) and waits until every replica is in sync.
 */
async function replicatedTopic(
  client: Client,
  prefix: string,
): Promise<string> {
  const topic = uniqueTopic(prefix);
  const [created] = await client.createTopics([
    { topic, numPartitions: 3, replicationFactor: 3 },
  ]);
  assert.equal(created.error, null);
  await fullIsr(client, topic);
  return topic;
}

/**
 * Writes COUNT messages ("0".."COUNT-1", key = value) in chunks with an
 * idempotent acks=all Writer, running `fault` once a third is acknowledged;
 * every writeMessages call must resolve.
 */
async function produceThrough(
  topic: string,
  fault: () => Promise<void>,
): Promise<void> {
  const writer = new Writer({
    brokers: CLUSTER_BROKERS,
    topic,
    requiredAcks: "all",
    batchSize: 10_000,
    batchTimeout: 5,
  });
  let faulted: Promise<void> | undefined;
  try {
    const chunk = 20_000;
    for (let from = 0; from < COUNT; from += chunk) {
      const messages = [];
      for (let i = from; i < Math.min(COUNT, from + chunk); i++) {
        messages.push({ key: `${i}`, value: `${i}` });
      }
      await writer.writeMessages(messages);
      if (faulted === undefined && from >= COUNT / 3) faulted = fault();
    }
  } finally {
    await writer.close();
  }
  await faulted;
}

/** Reads every partition to its end; checks each value once, in order. */
async function checkAll(client: Client, topic: string): Promise<void> {
  const { topics } = await client.metadata([topic]);
  const partitions = topics[0].partitions.map((p) => p.partition);
  const ends = await client.listOffsets(
    partitions.map((partition) => ({ topic, partition })),
  );
  const seen = new Uint8Array(COUNT);
  let total = 0;
  for (const p of partitions) {
    const end = ends[p].offset;
    const reader = new Reader({
      brokers: CLUSTER_BROKERS,
      topic,
      partition: p,
      maxBytes: 8 << 20,
    });
    let last = -1;
    try {
      while (reader.offset < end) {
        const m = await reader.readMessage();
        const value = Number(text.decode(m.value!));
        assert.ok(value > last, `partition ${p}: ${value} after ${last}`);
        last = value;
        assert.equal(seen[value], 0, `${value} read twice`);
        seen[value] = 1;
        total++;
      }
    } finally {
      await reader.close();
    }
  }
  assert.equal(total, COUNT, "every acknowledged message is there once");
}

describe("a three-broker cluster under faults", { timeout: 900_000 }, () => {
  let client: Client;
  before(async () => {
    await cluster.up();
    client = new Client({ brokers: CLUSTER_BROKERS, timeout: 60_000 });
  });
  after(async () => {
    await client?.close();
    await cluster.down();
  });

  test(`kill -9 of a partition leader during ${COUNT} idempotent acks=all writes; its node back on an empty disk`, async () => {
    const topic = await replicatedTopic(client, "cluster-kill");
    const [victim] = await leaders(topic);
    await produceThrough(topic, () => cluster.kill(victim));
    assert.notEqual((await leaders(topic))[0], victim, "the leader moved");
    // Back with nothing on disk: its replicas are copied from the others.
    await cluster.start(victim, true);
    await fullIsr(client, topic);
    // The rebuilt replica must now serve: stop another node.
    const other = NODES.find((n) => n !== victim)!;
    await cluster.kill(other);
    await checkAll(client, topic);
    await cluster.start(other);
  });

  test(`a controlled shutdown of a leader during ${COUNT} writes`, async () => {
    const topic = await replicatedTopic(client, "cluster-stop");
    const [victim] = await leaders(topic);
    await produceThrough(topic, () => cluster.stop(victim));
    await checkAll(client, topic);
    await cluster.start(victim);
  });

  test(`kill -9 of the active controller during ${COUNT} writes`, async () => {
    const topic = await replicatedTopic(client, "cluster-controller");
    const controller = isDeno
      ? await activeController()
      : Number(await viaDeno(["controller"]));
    await produceThrough(topic, () => cluster.kill(controller));
    assert.notEqual(
      isDeno ? await activeController() : Number(await viaDeno(["controller"])),
      controller,
      "another node took the quorum over",
    );
    await checkAll(client, topic);
    await cluster.start(controller);
  });

  test(`kill -9 of the transaction coordinator, then of a partition leader, during ${TXNS} transactions: each committed once, none of the aborted`, async () => {
    const topic = await replicatedTopic(client, "cluster-txn");
    const transactionalId = uniqueTopic("cluster-txn-id");
    const spread: Balancer = {
      // Message j of a transaction goes to partition j % 3.
      balance: (m, partitions) =>
        partitions[Number(text.decode(m.key!)) % partitions.length],
    };
    const newWriter = () =>
      new Writer({
        brokers: CLUSTER_BROKERS,
        topic,
        transactionalId,
        balancer: spread,
      });
    let writer = newWriter();
    /** Attempts "t.a" by outcome; the unknown ones ended with a failed abort. */
    const committed: string[] = [];
    const aborted: string[] = [];
    const unknown: string[] = [];
    const failures: string[] = [];
    let fault: Promise<void> | undefined;
    let killed: number | undefined;
    try {
      for (let t = 0; t < TXNS; t++) {
        if (t === Math.floor(TXNS / 3)) {
          const [coordinator] = await client.findCoordinator(
            [transactionalId],
            {
              type: "transaction",
            },
          );
          fault = cluster.kill(coordinator.nodeId).then(() =>
            cluster.start(coordinator.nodeId)
          );
        }
        if (t === Math.floor((2 * TXNS) / 3)) {
          await fault;
          fault = leaders(topic).then(async ([leader]) => {
            await cluster.kill(leader);
            killed = leader;
          });
        }
        for (let a = 0;; a++) {
          assert.ok(a < 5, `transaction ${t}: 5 attempts failed: ${failures}`);
          const attempt = `${t}.${a}`;
          try {
            await writer.beginTransaction();
            await writer.writeMessages(
              Array.from({ length: PER_TXN }, (_, j) => ({
                key: `${j}`,
                value: `${attempt}:${j}`,
              })),
            );
            await writer.commitTransaction();
            committed.push(attempt);
            break;
          } catch (error) {
            failures.push(`${attempt}: ${(error as Error).message}`);
            try {
              await writer.abortTransaction();
              aborted.push(attempt);
            } catch {
              unknown.push(attempt);
              await writer.close().catch(() => {});
              writer = newWriter();
            }
          }
        }
      }
    } finally {
      await writer.close();
      await fault;
      // The next tests need all three nodes.
      if (killed !== undefined) await cluster.start(killed);
    }
    console.error(
      `[cluster] ${TXNS} transactions: ${aborted.length} aborted, ${unknown.length} unknown; failures: ${
        failures.slice(0, 5).join(" | ")
      }`,
    );
    // What read_committed Readers see: each transaction once, whole.
    const ends = await client.listOffsets(
      [0, 1, 2].map((partition) => ({ topic, partition })),
    );
    const seen = new Map<string, number>();
    for (const p of [0, 1, 2]) {
      const reader = new Reader({
        brokers: CLUSTER_BROKERS,
        topic,
        partition: p,
        isolationLevel: "read_committed",
        maxBytes: 8 << 20,
      });
      // The last record of each partition is the last commit's marker.
      let offset = -1;
      let last = [-1, -1];
      try {
        while (offset < ends[p].offset - 2) {
          const m = await reader.readMessage();
          offset = m.offset;
          const [attempt, j] = text.decode(m.value!).split(":");
          seen.set(attempt, (seen.get(attempt) ?? 0) + 1);
          const order = [Number(attempt.split(".")[0]), Number(j)];
          assert.ok(
            order[0] > last[0] || (order[0] === last[0] && order[1] > last[1]),
            `partition ${p}: ${order} after ${last}`,
          );
          last = order;
        }
      } finally {
        await reader.close();
      }
    }
    for (const attempt of committed) {
      assert.equal(seen.get(attempt), PER_TXN, `committed ${attempt} whole`);
    }
    for (const attempt of aborted) {
      assert.equal(seen.get(attempt), undefined, `aborted ${attempt} unseen`);
    }
    for (const attempt of unknown) {
      assert.ok([undefined, PER_TXN].includes(seen.get(attempt)), attempt);
    }
    const perTxn = new Map<string, number>();
    for (const attempt of seen.keys()) {
      const t = attempt.split(".")[0];
      perTxn.set(t, (perTxn.get(t) ?? 0) + 1);
    }
    assert.equal(perTxn.size, TXNS, "every transaction is there");
    assert.ok([...perTxn.values()].every((n) => n === 1), "each once");
  });

  test("an exactly-once pipe across kill -9 of its transaction coordinator, then of its group coordinator: each message once in the copy", async () => {
    const source = await replicatedTopic(client, "cluster-eos-in");
    const target = await replicatedTopic(client, "cluster-eos-out");
    const groupId = uniqueTopic("cluster-eos-group");
    const transactionalId = uniqueTopic("cluster-eos-id");
    const total = Math.max(60_000, Math.round(COUNT / 5));
    const chunk = total / 20;
    const stop = new AbortController();
    /** Why pipes failed and were replaced, as a supervisor would. */
    const restarts: string[] = [];
    const supervising = (async () => {
      while (!stop.signal.aborted) {
        const reader = new Reader({
          brokers: CLUSTER_BROKERS,
          groupId,
          groupTopics: [source],
          startOffset: FirstOffset,
          sessionTimeout: 10_000,
          heartbeatInterval: 1000,
        });
        const writer = new Writer({
          brokers: CLUSTER_BROKERS,
          topic: target,
          transactionalId,
        });
        try {
          await reader.pipeTo(writer, {
            signal: stop.signal,
            preventAbort: true,
          });
        } catch (error) {
          if (!stop.signal.aborted) restarts.push((error as Error).message);
        } finally {
          await Promise.all([
            reader.close().catch(() => {}),
            writer.close().catch(() => {}),
          ]);
        }
      }
    })();
    const producing = (async () => {
      const writer = new Writer({ brokers: CLUSTER_BROKERS, topic: source });
      try {
        for (let from = 0; from < total; from += chunk) {
          await writer.writeMessages(
            Array.from({ length: chunk }, (_, i) => ({
              key: `${from + i}`,
              value: `${from + i}`,
            })),
          );
          await sleep(100);
        }
      } finally {
        await writer.close();
      }
    })();
    const list = [0, 1, 2].map((partition) => ({ topic: source, partition }));
    const progress = async () => {
      const offsets = await client.offsetFetch(groupId, list, {
        requireStable: true,
      }).catch(() => []);
      return offsets.reduce((sum, o) => sum + Math.max(0, o.offset), 0);
    };
    const reach = async (count: number) => {
      const deadline = Date.now() + 300_000;
      while (await progress() < count) {
        assert.ok(Date.now() < deadline, `${count} committed within 300 s`);
        await sleep(50);
      }
    };
    const killedAt: number[] = [];
    try {
      for (const [share, type] of [[1, "transaction"], [2, "group"]] as const) {
        await reach(Math.round(total * share / 3));
        const id = type === "transaction" ? transactionalId : groupId;
        const [coordinator] = await client.findCoordinator([id], { type });
        killedAt.push(await progress());
        await cluster.kill(coordinator.nodeId);
        await cluster.start(coordinator.nodeId);
      }
      await producing;
      await reach(total);
    } finally {
      stop.abort();
      await supervising;
      await producing.catch(() => {});
    }
    console.error(
      `[cluster] exactly-once pipe: killed at ${killedAt} of ${total} committed; ${restarts.length} pipes replaced: ${
        restarts.slice(0, 3).join(" | ")
      }`,
    );
    assert.ok(killedAt.every((n) => n < total), `killed at ${killedAt}`);
    // What read_committed readers of the copy see: each message once.
    const check = new Reader({
      brokers: CLUSTER_BROKERS,
      groupId: uniqueTopic("cluster-eos-check"),
      groupTopics: [target],
      startOffset: FirstOffset,
      isolationLevel: "read_committed",
    });
    const seen = new Uint8Array(total);
    let read = 0;
    try {
      const signal = AbortSignal.timeout(120_000);
      while (read < total) {
        const m = await check.fetchMessage({ signal });
        const value = Number(text.decode(m.value!));
        assert.equal(seen[value], 0, `${value} twice in the copy`);
        seen[value] = 1;
        read++;
      }
      const extra = await check.fetchMessage({
        signal: AbortSignal.timeout(1000),
      }).catch(() => null);
      assert.equal(extra, null, "nothing more in the copy");
    } finally {
      await check.close();
    }
  });

  test("a Reader and a consumer group read across a leader kill, no gap", async () => {
    const topic = await replicatedTopic(client, "cluster-read");
    const total = 30_000;
    const writer = new Writer({ brokers: CLUSTER_BROKERS, topic });
    const group = new Reader({
      brokers: CLUSTER_BROKERS,
      topic,
      groupId: uniqueTopic("cluster-group"),
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
    });
    const single = new Reader({
      brokers: CLUSTER_BROKERS,
      topic,
      partition: 0,
    });
    const groupSeen = new Set<string>();
    const singleSeen: number[] = [];
    const groupLoop = (async () => {
      while (groupSeen.size < total) {
        const m = await group.readMessage();
        groupSeen.add(text.decode(m.value!));
      }
    })();
    let partition0 = 0;
    let killed = -1;
    try {
      for (let i = 0; i < total; i += 1000) {
        const batch = Array.from({ length: 1000 }, (_, k) => ({
          key: `${i + k}`,
          value: `${i + k}`,
        }));
        await writer.writeMessages(batch);
        if (i === total / 2) {
          killed = (await leaders(topic))[0];
          await cluster.kill(killed);
        }
      }
      partition0 = (await client.listOffsets([{ topic, partition: 0 }]))[0]
        .offset;
      while (singleSeen.length < partition0) {
        const m = await single.readMessage();
        assert.equal(m.offset, singleSeen.length, "no gap, no repeat");
        singleSeen.push(m.offset);
      }
      await groupLoop;
      assert.equal(groupSeen.size, total);
    } finally {
      await writer.close();
      await single.close();
      await group.close();
      // The next test needs all three nodes.
      if (killed >= 0) await cluster.start(killed);
    }
  });

  test("a Reader reads from the follower in its rack (KIP-392), then from the leader once that follower is killed: no gap", async () => {
    const topic = await replicatedTopic(client, "cluster-rack");
    const total = 20_000;
    const writer = new Writer({
      brokers: CLUSTER_BROKERS,
      topic,
      balancer: { balance: () => 0 } as Balancer,
      requiredAcks: "all",
    });
    for (let i = 0; i < total; i += 1000) {
      await writer.writeMessages(
        Array.from({ length: 1000 }, (_, k) => ({ value: `${i + k}` })),
      );
    }
    await writer.close();
    const leader = (await leaders(topic))[0];
    const follower = NODES.find((n) => n !== leader)!;
    const events: string[] = [];
    const reader = new Reader({
      brokers: CLUSTER_BROKERS,
      topic,
      partition: 0,
      rack: `rack-${follower}`,
      logger: (m) => events.push(m),
      errorLogger: (m) => events.push(m),
    });
    let killed = false;
    try {
      for (let i = 0; i < total; i++) {
        const m = await reader.readMessage();
        assert.equal(m.offset, i, "no gap, no repeat");
        assert.equal(text.decode(m.value!), `${i}`);
        if (i === total / 2) {
          assert.ok(
            events.some((e) =>
              e.includes(
                `from broker ${follower}, the replica its leader ${leader} named for rack rack-${follower}`,
              )
            ),
            events.join("\n"),
          );
          await cluster.kill(follower);
          killed = true;
        }
      }
    } finally {
      await reader.close();
      // The next test needs all three nodes.
      if (killed) await cluster.start(follower);
    }
    // The fetches from the dead follower failed, and the leader served
    // the rest.
    assert.ok(
      events.some((e) => e.includes(`(broker ${follower})`)),
      events.join("\n"),
    );
  });

  test("two share-group members read across kill -9 of a partition leader, then of the group coordinator: nothing lost, nothing left", async () => {
    const topic = await replicatedTopic(client, "cluster-share");
    const total = 30_000;
    const writer = new Writer({ brokers: CLUSTER_BROKERS, topic });
    await writer.writeMessages(
      Array.from({ length: total }, (_, i) => ({ value: `${i}` })),
    );
    await writer.close();
    const groupId = uniqueTopic("cluster-share-group");
    const [configured] = await client.incrementalAlterConfigs([{
      type: "group",
      name: groupId,
      changes: [
        { name: "share.auto.offset.reset", op: "set", value: "earliest" },
        { name: "share.heartbeat.interval.ms", op: "set", value: "500" },
        { name: "share.session.timeout.ms", op: "set", value: "10000" },
        { name: "share.record.lock.duration.ms", op: "set", value: "3000" },
      ],
    }]);
    assert.equal(configured.error, null);
    const errors: string[] = [];
    const member = () =>
      new ShareReader({
        brokers: CLUSTER_BROKERS,
        groupId,
        topics: [topic],
        maxWait: 200,
        maxRecords: 100,
        errorLogger: (m) => errors.push(m),
      });
    const members = [member(), member()];
    const seen = new Map<string, number>();
    let deliveries = 0;
    const reading = members.map(async (reader) => {
      for await (const m of reader) {
        const value = text.decode(m.value!);
        seen.set(value, (seen.get(value) ?? 0) + 1);
        // Slow enough for the kills to land mid-way.
        if (++deliveries % 100 === 0) await sleep(10);
      }
    });
    for (const r of reading) r.catch(() => {});
    const waitFor = async (n: number) => {
      const deadline = Date.now() + 180_000;
      while (seen.size < n) {
        if (Date.now() > deadline) {
          throw new Error(`read ${seen.size} of ${n}: ${errors.slice(-3)}`);
        }
        await sleep(20);
      }
    };
    try {
      await waitFor(total / 3);
      const leader = (await leaders(topic))[0];
      await cluster.kill(leader);
      await waitFor((2 * total) / 3);
      await cluster.start(leader);
      const [{ nodeId }] = await client.findCoordinator([groupId]);
      await cluster.kill(nodeId);
      await waitFor(total);
      await cluster.start(nodeId);
      // Acknowledgements lost with a session come back after their locks.
      await sleep(4000);
      await Promise.all(members.map((r) => r.close()));
      await Promise.all(reading);
      const twice = [...seen.values()].filter((n) => n > 1).length;
      console.log(
        `share across kills: ${total} messages, ${deliveries} deliveries, ${twice} read more than once, ${errors.length} errors logged`,
      );
      const late = member();
      const left: string[] = [];
      const draining = (async () => {
        for await (const m of late) left.push(text.decode(m.value!));
      })();
      await sleep(3000);
      await late.close();
      await draining;
      assert.deepEqual(left, [], "every message was accepted");
    } finally {
      await Promise.allSettled(members.map((r) => r.close()));
    }
  });
  test("a consumer group pipes into a Processor across kill -9 of a partition leader, then of the group coordinator: each message processed once, in order, all committed", async () => {
    const topic = await replicatedTopic(client, "cluster-processor");
    const total = 30_000;
    const writer = new Writer({
      brokers: CLUSTER_BROKERS,
      topic,
      requiredAcks: "all",
    });
    await writer.writeMessages(
      Array.from({ length: total }, (_, i) => ({ key: `${i}`, value: `${i}` })),
    );
    await writer.close();
    const groupId = uniqueTopic("cluster-processor-group");
    const errors: string[] = [];
    const reader = new Reader({
      brokers: CLUSTER_BROKERS,
      groupId,
      groupTopics: [topic],
      startOffset: FirstOffset,
      heartbeatInterval: 500,
      // Longer than a coordinator's move: the member keeps its partitions.
      sessionTimeout: 45_000,
      maxWait: 500,
      errorLogger: (m) => errors.push(m),
    });
    const seen = new Map<string, number>();
    const order: number[][] = [[], [], []];
    const failedOnce = new Set<string>();
    const processor = new Processor(async (m) => {
      const value = text.decode(m.value!);
      // Every 1,000th message fails once, and is tried again in its place.
      if (Number(value) % 1000 === 7 && !failedOnce.has(value)) {
        failedOnce.add(value);
        throw new Error(`${value} failed once`);
      }
      // Slow enough for the kills to land mid-way.
      if (m.offset % 100 === 0) await sleep(10);
      seen.set(value, (seen.get(value) ?? 0) + 1);
      order[m.partition].push(m.offset);
    }, { concurrency: 3, retryTimeout: 60_000, retryBackoff: 50 });
    const stop = new AbortController();
    const piped = reader.pipeTo(processor, {
      signal: stop.signal,
      preventAbort: true,
    }).then(() => null, (error) => error);
    const waitFor = async (n: number) => {
      const deadline = Date.now() + 180_000;
      while (seen.size < n) {
        if (Date.now() > deadline) {
          throw new Error(
            `processed ${seen.size} of ${n}: ${errors.slice(-3)}`,
          );
        }
        await sleep(20);
      }
    };
    const restart: number[] = [];
    try {
      await waitFor(total / 3);
      const leader = (await leaders(topic))[0];
      await cluster.kill(leader);
      restart.push(leader);
      await waitFor((2 * total) / 3);
      await cluster.start(restart.pop()!);
      const [{ nodeId }] = await client.findCoordinator([groupId]);
      await cluster.kill(nodeId);
      restart.push(nodeId);
      await waitFor(total);
      stop.abort();
      assert.equal((await piped as Error)?.name, "AbortError");
      const twice = [...seen.values()].filter((n) => n > 1).length;
      const stats = processor.stats();
      console.log(
        `processor across kills: ${total} messages, ${twice} processed twice, ${stats.retries} retries, ${errors.length} errors logged`,
      );
      assert.equal(twice, 0, "messages processed twice");
      assert.ok(stats.retries >= failedOnce.size, "the failures were retried");
      assert.equal(stats.deadLettered, 0);
      for (const offsets of order) {
        for (let i = 1; i < offsets.length; i++) {
          assert.equal(offsets[i], offsets[i - 1] + 1, "in offset order");
        }
      }
      // Closing commits what was processed: every partition's end.
      await reader.close();
      const partitions = [0, 1, 2].map((partition) => ({ topic, partition }));
      const ends = await client.listOffsets(partitions);
      const commits = await client.offsetFetch(groupId, partitions);
      assert.deepEqual(
        commits.map((c) => c.offset),
        ends.map((e) => e.offset),
      );
    } finally {
      stop.abort();
      await reader.close();
      for (const id of restart) await cluster.start(id);
    }
  });
});
