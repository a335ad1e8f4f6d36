/**
 * A three-node Kafka cluster (KRaft; each node broker and controller, a
 * quorum of three) on its own ports, for fault tests: kill -9, stop or
 * restart one node, restart one with an empty disk, and say which node leads
 * which partition. The single broker of tools/kafka.ts is left alone.
 *
 *   deno run -A tools/cluster.ts up              start (or reuse) the cluster
 *   deno run -A tools/cluster.ts down [--wipe]   stop every node
 *   deno run -A tools/cluster.ts kill N          SIGKILL node N (1-3)
 *   deno run -A tools/cluster.ts stop N          stop node N cleanly (controlled shutdown)
 *   deno run -A tools/cluster.ts start N [--empty]  start node N (on an empty disk)
 *   deno run -A tools/cluster.ts status          each node and its port
 *   deno run -A tools/cluster.ts leaders TOPIC   the leader of each partition
 *   deno run -A tools/cluster.ts controller      the active controller's node id
 *
 * KAFKA_VERSION picks the version (as for tools/kafka.ts); after a run of
 * another version, `down --wipe` first. Also `deno task kafka:up --brokers=3`. Nodes listen on 127.0.0.1:19092-19094
 * (controllers 19192-19194); data and logs live in `.kafka/cluster/node-N/`.
 * Topics default to replication factor 3 and `min.insync.replicas` 2.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "../lib/admin/client.ts";
import { Cluster } from "../lib/cluster/cluster.ts";
import { DescribeQuorum } from "../lib/protocol/messages/describe_quorum.ts";
import { DEFAULT_KAFKA_VERSION, ensureJars } from "./kafka.ts";
import {
  jdkTool,
  run,
  spawnDetached,
  viaDeno as runWithDeno,
  waitPortFree,
} from "./kafka/system.ts";

/** Node ids of the cluster. */
export const NODES = [1, 2, 3] as const;
/** The client port of node `id`. */
export function clientPort(id: number): number {
  return 19091 + id;
}
/** The controller port of node `id`. */
function controllerPort(id: number): number {
  return 19191 + id;
}
/** "host:port" of every node, for clients' `brokers`. */
export const CLUSTER_BROKERS: string[] = NODES.map((id) =>
  `127.0.0.1:${clientPort(id)}`
);

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const HOME = join(ROOT, ".kafka", "cluster");
const START_TIMEOUT_MS = 120_000;

function nodeDir(id: number): string {
  return join(HOME, `node-${id}`);
}

function log(message: string): void {
  console.error(`[cluster] ${message}`);
}

function serverProperties(id: number): string {
  const voters = NODES.map((n) => `${n}@127.0.0.1:${controllerPort(n)}`);
  return [
    "# Written by tools/cluster.ts on every start.",
    "process.roles=broker,controller",
    `node.id=${id}`,
    `controller.quorum.voters=${voters.join(",")}`,
    "controller.listener.names=CONTROLLER",
    `listeners=PLAINTEXT://127.0.0.1:${clientPort(id)},CONTROLLER://127.0.0.1:${
      controllerPort(id)
    }`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${clientPort(id)}`,
    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "inter.broker.listener.name=PLAINTEXT",
    `log.dirs=${join(nodeDir(id), "data")}`,
    "num.partitions=3",
    "default.replication.factor=3",
    "min.insync.replicas=2",
    "offsets.topic.replication.factor=3",
    "offsets.topic.num.partitions=3",
    "transaction.state.log.replication.factor=3",
    "transaction.state.log.min.isr=2",
    "transaction.state.log.num.partitions=3",
    "unclean.leader.election.enable=false",
    "auto.create.topics.enable=true",
    "group.initial.rebalance.delay.ms=0",
    // A killed node is fenced, and its partitions move, within seconds.
    "broker.heartbeat.interval.ms=500",
    "broker.session.timeout.ms=3000",
    "replica.lag.time.max.ms=5000",
    "share.coordinator.state.topic.replication.factor=3",
    "share.coordinator.state.topic.min.isr=2",
    // Share groups may set quick heartbeats and short record locks.
    "group.share.min.heartbeat.interval.ms=100",
    "group.share.min.session.timeout.ms=1000",
    "group.share.min.record.lock.duration.ms=1000",
    // Each node in a rack of its own, and readers sent to the replica in
    // theirs (KIP-392).
    `broker.rack=rack-${id}`,
    "replica.selector.class=org.apache.kafka.common.replica.RackAwareReplicaSelector",
    "",
  ].join("\n");
}

/** One JVM per node, detached, its pid in node-N/pid. */
async function spawnNode(id: number, version: string): Promise<number> {
  const libs = await ensureJars(version);
  const dir = nodeDir(id);
  await Deno.mkdir(join(dir, "logs"), { recursive: true });
  const java = [
    jdkTool("java"),
    "-Xms256m",
    "-Xmx512m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Djava.awt.headless=true",
    `-Dkafka.logs.dir=${join(dir, "logs")}`,
    `-Dlog4j2.configurationFile=${join(dir, "log4j2.properties")}`,
    "-cp",
    join(libs, "*"),
    "kafka.Kafka",
    join(dir, "server.properties"),
  ];
  const pid = await spawnDetached(java, join(dir, "logs", "stdout.log"), dir);
  await Deno.writeTextFile(join(dir, "pid"), `${pid}\n`);
  return pid;
}

async function readPid(id: number): Promise<number | undefined> {
  try {
    const pid = Number(
      (await Deno.readTextFile(join(nodeDir(id), "pid"))).trim(),
    );
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // State Z (zombie) or X (dead) counts as gone.
    const state = stat.slice(
      stat.lastIndexOf(")") + 2,
      stat.lastIndexOf(")") + 3,
    );
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Writes configs and formats every node's storage with one cluster id. */
async function prepare(version: string): Promise<void> {
  const libs = await ensureJars(version);
  let clusterId: string | undefined;
  for (const id of NODES) {
    const dir = nodeDir(id);
    await Deno.mkdir(join(dir, "data"), { recursive: true });
    await Deno.writeTextFile(
      join(dir, "server.properties"),
      serverProperties(id),
    );
    await Deno.writeTextFile(
      join(dir, "log4j2.properties"),
      [
        "rootLogger.level=INFO",
        "rootLogger.appenderRef.file.ref=file",
        "appender.file.type=File",
        "appender.file.name=file",
        `appender.file.fileName=${join(dir, "logs", "server.log")}`,
        "appender.file.layout.type=PatternLayout",
        "appender.file.layout.pattern=[%d] %p %m (%c)%n",
        "",
      ].join("\n"),
    );
    if (await hasMetaProperties(id)) continue;
    clusterId ??= await clusterIdOf() ??
      (await run(jdkTool("java"), [
        "-cp",
        join(libs, "*"),
        "kafka.tools.StorageTool",
        "random-uuid",
      ])).trim().split("\n").pop()!.trim();
    await Deno.writeTextFile(join(HOME, "cluster.id"), clusterId);
    await run(jdkTool("java"), [
      "-cp",
      join(libs, "*"),
      "kafka.tools.StorageTool",
      "format",
      "--cluster-id",
      clusterId,
      "--config",
      join(dir, "server.properties"),
      "--ignore-formatted",
    ]);
  }
}

async function hasMetaProperties(id: number): Promise<boolean> {
  try {
    await Deno.stat(join(nodeDir(id), "data", "meta.properties"));
    return true;
  } catch {
    return false;
  }
}

async function clusterIdOf(): Promise<string | undefined> {
  try {
    return (await Deno.readTextFile(join(HOME, "cluster.id"))).trim();
  } catch {
    return undefined;
  }
}

/** Starts node `id` unless it runs; with `empty`, on a wiped disk. */
export async function startNode(
  id: number,
  options: { empty?: boolean; version?: string } = {},
): Promise<void> {
  const version = options.version ?? DEFAULT_KAFKA_VERSION;
  const pid = await readPid(id);
  if (pid !== undefined && alive(pid)) return;
  await waitPortFree(clientPort(id), `node ${id}`);
  await waitPortFree(controllerPort(id), `node ${id}`);
  if (options.empty) {
    await Deno.remove(join(nodeDir(id), "data"), { recursive: true }).catch(
      () => {},
    );
  }
  await prepare(version);
  log(`starting node ${id}${options.empty ? " on an empty disk" : ""}`);
  await spawnNode(id, version);
}

/** Starts (or reuses) every node and waits until the cluster serves. */
export async function clusterUp(
  version = DEFAULT_KAFKA_VERSION,
): Promise<void> {
  const started = Date.now();
  await prepare(version);
  for (const id of NODES) await startNode(id, { version });
  await waitServing(NODES.length, started);
  log(`cluster ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** Waits until `count` brokers are registered and unfenced. */
export async function waitServing(
  count = NODES.length,
  started = Date.now(),
): Promise<void> {
  for (;;) {
    const client = new Client({ brokers: CLUSTER_BROKERS, timeout: 3000 });
    try {
      const d = await client.describeCluster();
      if (d.brokers.filter((b) => !b.isFenced).length >= count) return;
    } catch {
      // Not up yet.
    } finally {
      await client.close();
    }
    if (Date.now() - started > START_TIMEOUT_MS) {
      throw new Error(
        `the cluster has not ${count} live brokers after ${START_TIMEOUT_MS} ms; see ${HOME}/node-*/logs`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** SIGKILLs node `id` (as a crash would); resolves once it is gone. */
export async function killNode(id: number): Promise<void> {
  await signalNode(id, "SIGKILL");
}

/** Stops node `id` with SIGTERM: a controlled shutdown moves its leaders first. */
export async function stopNode(id: number): Promise<void> {
  await signalNode(id, "SIGTERM");
}

async function signalNode(id: number, signal: Deno.Signal): Promise<void> {
  const pid = await readPid(id);
  if (pid === undefined || !alive(pid)) return;
  Deno.kill(pid, signal);
  const deadline = Date.now() + 60_000;
  while (alive(pid)) {
    if (Date.now() > deadline) {
      Deno.kill(pid, "SIGKILL");
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Stops every node; `wipe` also removes their data. */
export async function clusterDown(wipe = false): Promise<void> {
  await Promise.all(NODES.map((id) => stopNode(id)));
  if (wipe) await Deno.remove(HOME, { recursive: true }).catch(() => {});
}

/** The leader's node id of each partition of `topic` (-1: none). */
export async function leaders(topic: string): Promise<number[]> {
  const client = new Client({ brokers: CLUSTER_BROKERS, timeout: 10_000 });
  try {
    const { topics } = await client.metadata([topic]);
    if (topics[0].error) throw topics[0].error;
    return topics[0].partitions.map((p) => p.leader);
  } finally {
    await client.close();
  }
}

/**
 * The node id of the active controller (the leader of the KRaft quorum),
 * asked of any broker, which forwards DescribeQuorum to the controllers.
 */
export async function activeController(): Promise<number> {
  const cluster = new Cluster({ brokers: CLUSTER_BROKERS });
  try {
    const conn = await cluster.anyConnection();
    const r = await conn.request(DescribeQuorum, {
      topics: [{
        topicName: "__cluster_metadata",
        partitions: [{ partitionIndex: 0 }],
      }],
    });
    const leader = r.topics[0]?.partitions[0]?.leaderId ?? -1;
    if (r.errorCode !== 0 || leader < 0) {
      throw new Error(
        `DescribeQuorum answered error ${r.errorCode}, leader ${leader}`,
      );
    }
    return leader;
  } finally {
    await cluster.close();
  }
}

/** Which nodes run now. */
export async function status(): Promise<Map<number, boolean>> {
  const running = new Map<number, boolean>();
  for (const id of NODES) {
    const pid = await readPid(id);
    running.set(id, pid !== undefined && alive(pid));
  }
  return running;
}

/** Runs this script's command under Deno from another runtime. */
export function viaDeno(args: string[]): Promise<string> {
  return runWithDeno(new URL(import.meta.url), args);
}

const USAGE = "usage: deno run -A tools/cluster.ts up | down [--wipe] | " +
  "kill N | stop N | start N [--empty] | status | leaders TOPIC | controller";

function nodeArg(value: string | undefined): number {
  const id = Number(value);
  if (!NODES.includes(id as 1 | 2 | 3)) {
    throw new Error(`expected a node id (1, 2 or 3), got ${value}`);
  }
  return id;
}

/** The command line. */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case "up":
      await clusterUp(Deno.env.get("KAFKA_VERSION") || DEFAULT_KAFKA_VERSION);
      return 0;
    case "down":
      await clusterDown(rest.includes("--wipe"));
      return 0;
    case "kill":
      await killNode(nodeArg(rest[0]));
      return 0;
    case "stop":
      await stopNode(nodeArg(rest[0]));
      return 0;
    case "start":
      await startNode(nodeArg(rest[0]), {
        empty: rest.includes("--empty"),
        version: Deno.env.get("KAFKA_VERSION") || DEFAULT_KAFKA_VERSION,
      });
      return 0;
    case "status":
      for (const [id, up] of await status()) {
        console.log(
          `node ${id} 127.0.0.1:${clientPort(id)} ${
            up ? "running" : "stopped"
          }`,
        );
      }
      return 0;
    case "leaders":
      console.log((await leaders(rest[0])).join(" "));
      return 0;
    case "controller":
      console.log(await activeController());
      return 0;
    default:
      console.error(USAGE);
      return 2;
  }
}

if (import.meta.main) {
  try {
    Deno.exitCode = await main(Deno.args);
  } catch (error) {
    log(error instanceof Error ? error.message : String(error));
    Deno.exitCode = 1;
  }
}
