/**
 * A mixed consumer group: our Readers, Kafka's Java client
 * (tests/java/GroupMember.java, a KafkaConsumer run by Java 17+ from the
 * broker's jars) and, where it is on the PATH, kcat (librdkafka, `kcat -G`)
 * in ONE group over a 6-partition topic. Eager strategies (range,
 * roundrobin) on the classic protocol with all three; cooperative-sticky
 * (classic, KIP-429) and the consumer protocol (KIP-848) with our Readers
 * and two Java consumers, where the members' callbacks must also show that
 * no partition a member kept was ever revoked.
 *
 * Each scenario: the first member joins alone (the first to join leads the
 * group, so its client computes the assignments) and reads a first batch
 * of messages. The others join while more messages come in small batches,
 * so partitions move between clients mid-stream and each new owner must
 * resume where the last one committed. Once the coordinator reports the
 * group stable with every member holding some partitions (and with the
 * protocol the scenario expects), a last batch is produced, and every
 * member must read some of it. Across all members every message is read
 * once (none twice, none missing), the group's committed offsets reach the
 * end of every partition, and when all close the group is empty at once
 * (they left; nobody waited for a session to expire).
 *
 * The group picks a protocol that every member offers: our Readers and kcat
 * offer "range" then "roundrobin" (their defaults), the Java member only the
 * scenario's strategy, so the group uses that one.
 */

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import {
  ClosedError,
  Cluster,
  CooperativeStickyGroupBalancer,
  dial,
  type Message,
  Reader,
  RoundRobin,
  Writer,
} from "../mod.ts";
import { ByteReader } from "../lib/protocol/bytes.ts";
import { throwIfError } from "../lib/protocol/errors.ts";
import { decodeConsumerProtocolAssignment } from "../lib/protocol/messages/consumer_protocol_assignment.ts";
import { ConsumerGroupDescribe } from "../lib/protocol/messages/consumer_group_describe.ts";
import { DescribeGroups } from "../lib/protocol/messages/describe_groups.ts";
import { ensureJars } from "../tools/kafka.ts";
import { BROKER, onPath, sleep, uniqueTopic } from "./_helpers.ts";
import { committed, duplicates, endOffsets, setGroupConfig } from "./_group.ts";

const PARTITIONS = 6;
/**
 * Messages read by the first member alone, and by the whole group at the
 * end (more come in small batches while the others join).
 */
const FIRST = 300;
const LAST = 600;
/** Our Readers' group timings: quick rebalances for a test. */
const FAST = {
  sessionTimeout: 10_000,
  heartbeatInterval: 500,
  rebalanceTimeout: 15_000,
  maxWait: 200,
};
const HAS_KCAT = onPath("kcat");
const text = new TextDecoder();

type Strategy = "range" | "roundrobin" | "cooperative-sticky" | "consumer";
type Kind = "ours" | "java" | "kcat";

/** One message as a member read it. */
interface Read {
  partition: number;
  offset: number;
  value: string;
}

/** A member of the mixed group, whatever its client. */
interface Member {
  name: string;
  /** The client id it sends, to find it among the group's members. */
  clientId: string;
  /** What it read, in order. */
  reads: Read[];
  /** Its partitions, as it last reported them. */
  partitions(): number[];
  /** Every partition revoked from it so far, in order. */
  revoked: number[];
  /** True when everything it read is committed or will be on close. */
  settled(): boolean;
  /** Leaves the group; rejects when the member did not end cleanly. */
  close(): Promise<void>;
  /** Ends it at once (cleanup after a failure). */
  kill(): void;
  /** What it holds and read, and how it failed, for a failure message. */
  status(): string;
}

interface Scenario {
  strategy: Strategy;
  /** The member that joins first, and so leads the group. */
  first: Kind;
}

const ONLY = process.env.INTEROP_ONLY;
const SCENARIOS: Scenario[] = [
  { strategy: "range", first: "ours" },
  { strategy: "roundrobin", first: "java" },
  { strategy: "cooperative-sticky", first: "ours" },
  { strategy: "cooperative-sticky", first: "java" },
  { strategy: "consumer", first: "ours" },
  { strategy: "consumer", first: "java" },
];
if (HAS_KCAT) SCENARIOS.push({ strategy: "range", first: "kcat" });

describe(
  `a mixed group: our Readers, the Java client${
    HAS_KCAT ? " and kcat (librdkafka)" : ""
  }`,
  () => {
    for (
      const { strategy, first } of SCENARIOS.filter((s) =>
        ONLY === undefined || `${s.strategy}/${s.first}` === ONLY
      )
    ) {
      const what = strategy === "consumer"
        ? `the consumer protocol (KIP-848), first ${first}`
        : `${strategy}, led by ${first}`;
      test(
        `${what}: the partitions split among all, every message read once${
          incremental(strategy) ? ", no kept partition revoked" : ""
        }, all commit and leave`,
        async () => {
          await mixedGroup(strategy, first);
        },
      );
    }
  },
);

async function mixedGroup(strategy: Strategy, first: Kind): Promise<void> {
  const topic = uniqueTopic("group-interop");
  const groupId = uniqueTopic("mixed");
  const admin = await dial(BROKER);
  const cluster = new Cluster({ brokers: [BROKER] });
  const members: Member[] = [];
  try {
    await admin.createTopics({
      topic,
      numPartitions: PARTITIONS,
      replicationFactor: 1,
    });
    await produce(topic, 0, FIRST);
    if (strategy === "consumer") {
      await setGroupConfig(groupId, {
        "consumer.session.timeout.ms": String(FAST.sessionTimeout),
        "consumer.heartbeat.interval.ms": String(FAST.heartbeatInterval),
      });
    }

    const start = (kind: Kind, n: number): Promise<Member> =>
      kind === "java"
        ? javaMember(topic, groupId, strategy, n)
        : kind === "kcat"
        ? Promise.resolve(kcatMember(topic, groupId))
        : Promise.resolve(
          ourMember(
            topic,
            groupId,
            strategy,
            n === 0 ? "for await" : "fetch+commit",
          ),
        );
    const kinds: Kind[] = incremental(strategy)
      ? ["ours", "ours", "java", "java"]
      : ["ours", "ours", "java"];
    if (HAS_KCAT && !incremental(strategy)) kinds.push("kcat");
    const leader = kinds.indexOf(first);
    const order = [kinds[leader], ...kinds.filter((_, i) => i !== leader)];
    const counts = { ours: 0, java: 0, kcat: 0 };

    // The leader alone: every partition, and the first batch.
    members.push(await start(order[0], counts[order[0]]++));
    await until(
      `${members[0].name} reads the first ${FIRST} messages alone`,
      () => members[0].reads.length >= FIRST,
      30_000,
      () => statuses(members),
    );

    // The others join while messages keep coming; each must get
    // partitions, and start from the commits of their last owner.
    const flow = steadily(topic, FIRST);
    for (const kind of order.slice(1)) {
      members.push(await start(kind, counts[kind]++));
    }
    await until(
      "a stable group where every member has partitions",
      () =>
        members.every((m) => m.partitions().length > 0) &&
        sameSet(members.flatMap((m) => m.partitions()), range(PARTITIONS)),
      30_000,
      () => statuses(members),
    );
    const group = await stableGroup(cluster, groupId, members, strategy);
    assert.equal(
      group.protocol,
      strategy === "consumer" ? "uniform" : strategy,
      "the protocol (or broker assignor) the group chose",
    );
    const second = await flow.stop();

    // The whole group reads the last batch.
    await produce(topic, second, LAST);
    const total = second + LAST;
    await until(
      `all ${total} messages read`,
      () =>
        new Set(members.flatMap((m) => m.reads.map((r) => r.value))).size >=
          total &&
        members.every((m) => m.settled()),
      30_000,
      () => statuses(members),
    );

    // Cooperative: partitions moved, but none that a member kept.
    if (incremental(strategy)) {
      for (const m of members) {
        const kept = m.partitions().filter((p) => m.revoked.includes(p));
        assert.deepEqual(
          kept,
          [],
          `${m.name} keeps [${m.partitions()}] but had [${m.revoked}] revoked`,
        );
      }
    }

    // Everyone leaves at once.
    const closing = Date.now();
    await Promise.all(members.map((m) => m.close()));
    const closeMs = Date.now() - closing;

    const all = members.flatMap((m) => m.reads.map((r) => r.value));
    assert.deepEqual(duplicates(all), [], "no message read twice");
    assert.deepEqual([...all].sort(), expected(total), "none missing");
    for (const m of members) {
      const last = m.reads.filter((r) => number(r.value) >= second);
      const { partitions } = group.members.find((gm) =>
        gm.clientId === m.clientId
      )!;
      assert.ok(
        last.length > 0,
        `${m.name} read some of the last batch (partitions ${partitions})`,
      );
    }
    assert.deepEqual(
      await committed(groupId, topic, PARTITIONS),
      await endOffsets(topic, PARTITIONS),
      `the committed offsets reach the end of every partition (owners: ${
        JSON.stringify(group.members)
      })`,
    );
    const after = await describeGroup(cluster, groupId, strategy);
    assert.deepEqual(
      { state: after.state.toLowerCase(), members: after.members.length },
      { state: "empty", members: 0 },
      "every member left the group",
    );
    assert.ok(closeMs < FAST.sessionTimeout, `closing took ${closeMs} ms`);
  } finally {
    for (const m of members) m.kill();
    await cluster.close();
    await admin.deleteTopics(topic).catch(() => {});
    admin.close();
  }
}

/**
 * Waits until the coordinator sees the group stable with exactly these
 * members, each holding the partitions it reports, and returns it.
 */
async function stableGroup(
  cluster: Cluster,
  groupId: string,
  members: Member[],
  strategy: Strategy,
): Promise<GroupState> {
  let group: GroupState | undefined;
  const matches = (g: GroupState) =>
    g.state.toLowerCase() === "stable" &&
    g.members.length === members.length &&
    members.every((m) =>
      g.members.some((gm) =>
        gm.clientId === m.clientId && sameSet(gm.partitions, m.partitions())
      )
    );
  await until(
    "the coordinator sees the same assignment",
    async () => {
      group = await describeGroup(cluster, groupId, strategy);
      return matches(group);
    },
    30_000,
    () => JSON.stringify(group),
  );
  return group!;
}

// ---------------------------------------------------------------------------
// The members.

let ourCount = 0;

/**
 * One of our Readers: "for await" commits what it reads automatically,
 * "fetch+commit" commits each message explicitly with commitMessages.
 */
function ourMember(
  topic: string,
  groupId: string,
  strategy: Strategy,
  mode: "for await" | "fetch+commit",
): Member {
  const clientId = `streamkafka-${ourCount++}`;
  const revoked: number[] = [];
  const reader = new Reader({
    brokers: [BROKER],
    topic,
    groupId,
    transport: { clientId },
    errorLogger: process.env.INTEROP_DEBUG
      ? (m) => console.error(`${Date.now() % 100000} ${clientId} ${m}`)
      : undefined,
    logger: process.env.INTEROP_DEBUG
      ? (m) => console.error(`${Date.now() % 100000} ${clientId} ${m}`)
      : undefined,
    ...(strategy === "consumer"
      ? {
        groupProtocol: "consumer",
        rebalanceTimeout: FAST.rebalanceTimeout,
        maxWait: FAST.maxWait,
      }
      : FAST),
    ...(strategy === "cooperative-sticky"
      ? { groupBalancers: [new CooperativeStickyGroupBalancer()] }
      : {}),
    onPartitionsRevoked: (p) => {
      // Closing revokes everything: only rebalances count.
      if (!closing) revoked.push(...p.map((x) => x.partition));
    },
  });
  let closing = false;
  const reads: Read[] = [];
  let committedReads = 0;
  const loop = (async () => {
    if (mode === "for await") {
      for await (const m of reader) reads.push(readOf(m));
      return;
    }
    while (true) {
      try {
        const m = await reader.fetchMessage();
        reads.push(readOf(m));
        await reader.commitMessages(m);
        committedReads++;
      } catch (error) {
        if (error instanceof ClosedError) return;
        throw error;
      }
    }
  })();
  let failure: unknown = null;
  loop.catch((error) => failure = error); // and awaited in close()
  return {
    name: `our Reader (${mode}, ${clientId})`,
    clientId,
    reads,
    revoked,
    partitions: () =>
      reader.assignment().map((p) => p.partition).sort(byNumber),
    settled: () => mode === "for await" || committedReads === reads.length,
    status: () => status(reads, failure === null ? "" : String(failure)),
    async close() {
      closing = true;
      await reader.close();
      await loop;
    },
    kill: () => void reader.close().catch(() => {}),
  };
}

/** tests/java/GroupMember.java in its own JVM. */
async function javaMember(
  topic: string,
  groupId: string,
  strategy: Strategy,
  n: number,
): Promise<Member> {
  const clientId = `java-group-member-${n}`;
  const libs = await ensureJars();
  const home = process.env.JAVA_HOME;
  const java = home ? join(home, "bin", "java") : "java";
  const script = fileURLToPath(
    new URL("./java/GroupMember.java", import.meta.url),
  );
  const child = spawn(java, [
    // A short-lived JVM: quick start matters more than peak speed.
    "-XX:TieredStopAtLevel=1",
    "-XX:+UseSerialGC",
    "-cp",
    join(libs, "*"),
    script,
    BROKER,
    topic,
    groupId,
    strategy,
    `--client-id=${clientId}`,
  ], { stdio: ["pipe", "pipe", "pipe"] });
  child.stdin!.on("error", () => {});
  const reads: Read[] = [];
  const revoked: number[] = [];
  let partitions: number[] = [];
  let committedReads = 0;
  let closed = false;
  let closing = false;
  // Cooperative and KIP-848 listeners hear only what is added or removed.
  const adds = incremental(strategy);
  let stderr = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => stderr += chunk);
  createInterface({ input: child.stdout! }).on("line", (line) => {
    const [tag, event, ...rest] = line.split("\t");
    if (tag !== "member") return; // a log line
    if (event === "read") {
      reads.push({
        partition: Number(rest[0]),
        offset: Number(rest[1]),
        value: rest[2],
      });
    } else if (event === "assigned") {
      const list = parseList(rest[0]);
      partitions = adds
        ? [...new Set([...partitions, ...list])].sort(byNumber)
        : list;
    } else if (event === "revoked" || event === "lost") {
      const list = parseList(rest[0]);
      if (!closing) revoked.push(...list);
      partitions = adds ? partitions.filter((p) => !list.includes(p)) : [];
    } else if (event === "committed") {
      committedReads += Number(rest[0]);
    } else if (event === "closed") {
      closed = true;
    }
  });
  const exited = exitOf(child, "java");
  exited.catch(() => {}); // awaited in close()
  await new Promise<void>((resolve, reject) => {
    child.on("spawn", resolve);
    child.on("error", (error: Error) => {
      reject(new Error(`Cannot run ${java} (Java 17+ is needed): ${error}`));
    });
  });
  return {
    name: `the Java client (KafkaConsumer, ${
      strategy === "consumer" ? "consumer protocol" : `classic, ${strategy}`
    }, ${clientId})`,
    clientId,
    reads,
    revoked,
    partitions: () => partitions,
    settled: () => committedReads === reads.length,
    async close() {
      closing = true;
      child.stdin!.end(); // GroupMember.java stops, commits and closes
      const { code } = await withTimeout(exited, 20_000, () => child.kill());
      assert.equal(code, 0, `GroupMember.java exited with ${code}: ${stderr}`);
      assert.ok(closed, "GroupMember.java closed its consumer");
    },
    kill: () => void child.kill("SIGKILL"),
    status: () => status(reads, ended(child, stderr)),
  };
}

/** `kcat -G`: librdkafka's consumer, committing automatically. */
function kcatMember(topic: string, groupId: string): Member {
  const clientId = "kcat-group-member";
  const child = spawn("kcat", [
    "-b",
    BROKER,
    "-G",
    groupId,
    "-u",
    "-J",
    "-X",
    `client.id=${clientId}`,
    "-X",
    "auto.offset.reset=earliest",
    "-X",
    "session.timeout.ms=10000",
    "-X",
    "heartbeat.interval.ms=500",
    "-X",
    "max.poll.interval.ms=30000",
    topic,
  ], { stdio: ["ignore", "pipe", "pipe"] });
  const reads: Read[] = [];
  let partitions: number[] = [];
  let lastEvent = "";
  let stderr = "";
  createInterface({ input: child.stdout! }).on("line", (line) => {
    if (!line.startsWith("{")) return;
    const m: { partition: number; offset: number; payload: string } = JSON
      .parse(line);
    reads.push({ partition: m.partition, offset: m.offset, value: m.payload });
  });
  // "% Group <g> rebalanced (memberid <id>): assigned: <t> [0], <t> [3]"
  createInterface({ input: child.stderr! }).on("line", (line) => {
    stderr += line + "\n";
    const event = /rebalanced \(memberid [^)]*\): (\w+)/.exec(line);
    if (event) lastEvent = event[1];
    if (event?.[1] === "assigned") {
      partitions = [...line.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1]))
        .sort(byNumber);
    } else if (event) {
      partitions = [];
    }
  });
  const exited = exitOf(child, "kcat");
  exited.catch(() => {}); // awaited in close()
  return {
    name: "kcat (librdkafka)",
    clientId,
    reads,
    revoked: [],
    partitions: () => partitions,
    settled: () => true, // it commits on close
    async close() {
      // kcat stops on SIGTERM: it closes the consumer, which commits the
      // offsets it stored and leaves the group.
      child.kill("SIGTERM");
      const { code, signal } = await withTimeout(
        exited,
        20_000,
        () => child.kill("SIGKILL"),
      );
      // Deno's node:child_process reports a child it sent a signal to as
      // killed by that signal even when the child handled it and exited 0
      // (Node and Bun report the 0). There, the last rebalance event (the
      // revocation that closing the consumer makes) tells a clean close.
      const clean = code === 0 ||
        ("Deno" in globalThis && !("Bun" in globalThis) &&
          signal === "SIGTERM" && lastEvent === "revoked");
      assert.ok(clean, `kcat ended with ${code ?? signal}: ${stderr}`);
    },
    kill: () => void child.kill("SIGKILL"),
    status: () => status(reads, ended(child, stderr)),
  };
}

// ---------------------------------------------------------------------------
// What the coordinator says.

interface GroupState {
  state: string;
  protocol: string;
  members: { clientId: string; partitions: number[] }[];
}

/**
 * The group's state, protocol (the broker's assignor under the consumer
 * protocol) and each member's partitions: DescribeGroups, or
 * ConsumerGroupDescribe for a consumer-protocol group.
 */
async function describeGroup(
  cluster: Cluster,
  groupId: string,
  strategy: Strategy,
): Promise<GroupState> {
  const conn = await cluster.coordinator(groupId);
  if (strategy === "consumer") {
    const response = await conn.request(ConsumerGroupDescribe, {
      groupIds: [groupId],
      includeAuthorizedOperations: false,
    });
    const group = response.groups[0];
    throwIfError(group.errorCode, {
      apiName: "ConsumerGroupDescribe",
      detail: group.errorMessage ?? groupId,
    });
    return {
      state: group.groupState,
      protocol: group.assignorName,
      members: group.members.map((m) => ({
        clientId: m.clientId,
        partitions: m.assignment.topicPartitions.flatMap((t) => t.partitions)
          .sort(byNumber),
      })),
    };
  }
  const version = conn.pickVersion(DescribeGroups);
  const response = await conn.request(DescribeGroups, {
    groups: [groupId],
    includeAuthorizedOperations: false,
  }, { version });
  const group = response.groups[0];
  throwIfError(group.errorCode, {
    apiName: "DescribeGroups",
    detail: group.errorMessage ?? groupId,
  });
  return {
    state: group.groupState,
    protocol: group.protocolData,
    members: group.members.map((m) => ({
      clientId: m.clientId,
      partitions: assignedPartitions(m.memberAssignment),
    })),
  };
}

/** The partitions in a member's ConsumerProtocolAssignment bytes. */
function assignedPartitions(bytes: Uint8Array): number[] {
  if (bytes.length === 0) return [];
  const r = new ByteReader(bytes);
  const version = r.int16();
  return decodeConsumerProtocolAssignment(r, version).assignedPartitions
    .flatMap((t) => t.partitions).sort(byNumber);
}

// ---------------------------------------------------------------------------
// Small helpers.

/** Messages m<from> .. m<from+count-1>, spread evenly over the partitions. */
async function produce(topic: string, from: number, count: number) {
  const w = new Writer({
    brokers: [BROKER],
    topic,
    balancer: new RoundRobin(),
  });
  await w.writeMessages(
    Array.from({ length: count }, (_, i) => ({
      key: `k${from + i}`,
      value: `m${from + i}`,
    })),
  );
  await w.close();
}

/**
 * Writes m<from>, m<from+1>, ... in small batches, one every 20 ms, until
 * stopped; `stop` resolves with the index after the last one written.
 */
function steadily(topic: string, from: number): { stop(): Promise<number> } {
  const w = new Writer({
    brokers: [BROKER],
    topic,
    balancer: new RoundRobin(),
  });
  let next = from;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await w.writeMessages(
        range(PARTITIONS).map(() => ({ value: `m${next++}` })),
      );
      await sleep(20);
    }
  })();
  return {
    async stop() {
      stopped = true;
      try {
        await loop;
      } finally {
        await w.close();
      }
      return next;
    },
  };
}

/** Each member's status, one per line. */
function statuses(members: Member[]): string {
  return "\n" +
    members.map((m) =>
      `  ${m.name}: partitions [${m.partitions()}], ${m.status()}`
    ).join("\n");
}

/** "read N messages", and what went wrong if anything. */
function status(reads: Read[], problem: string): string {
  return `read ${reads.length} messages${problem ? `; ${problem}` : ""}`;
}

/** How a child process ended, if it has, with the end of its stderr. */
function ended(child: ChildProcess, stderr: string): string {
  if (child.exitCode === null && child.signalCode === null) return "";
  return `exited with ${child.exitCode ?? child.signalCode}: ${
    stderr.slice(-2000)
  }`;
}

function readOf(m: Message): Read {
  return {
    partition: m.partition,
    offset: m.offset,
    value: text.decode(m.value!),
  };
}

function number(value: string): number {
  return Number(value.slice(1));
}

function expected(count: number): string[] {
  return range(count).map((i) => `m${i}`).sort();
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function parseList(list: string): number[] {
  return list === "" ? [] : list.split(",").map(Number).sort(byNumber);
}

function byNumber(a: number, b: number): number {
  return a - b;
}

function sameSet(a: number[], b: number[]): boolean {
  const x = [...a].sort(byNumber);
  const y = [...b].sort(byNumber);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** How a child process ended. */
interface Exit {
  code: number | null;
  signal: string | null;
}

/** Resolves once the child has exited. */
function exitOf(child: ChildProcess, name: string): Promise<Exit> {
  return new Promise((resolve, reject) => {
    child.on(
      "error",
      (error: Error) =>
        reject(new Error(`Cannot run ${name}: ${error.message}`)),
    );
    child.on(
      "close",
      (code: number | null, signal: string | null) => resolve({ code, signal }),
    );
  });
}

/** `promise`, or a rejection after `ms` (calling `onTimeout` first). */
async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  onTimeout: () => void,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`timed out after ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `ok` until it holds, or fails naming `what` (and `state()`). */
async function until(
  what: string,
  ok: () => boolean | Promise<boolean>,
  ms = 30_000,
  state: () => string = () => "",
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting: ${what} ${state()}`);
    }
    await sleep(100);
  }
}

/** Whether members hand over only what moves (they keep the rest). */
function incremental(strategy: Strategy): boolean {
  return strategy === "cooperative-sticky" || strategy === "consumer";
}
