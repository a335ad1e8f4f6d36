/**
 * Rebalance time: how long a consumer group of two members takes to hand
 * the partitions of one member to the other, for this client and for
 * Kafka's Java client, measured in the same run.
 *
 *   deno run -A bench/rebalance.ts                  5 rounds, Deno and Java
 *   deno run -A bench/rebalance.ts --quick          1 round
 *   deno run -A bench/rebalance.ts --clients=streamkafka/deno,streamkafka/bun,java/jvm
 *   deno run -A bench/rebalance.ts --clients=java/jvm --protocol=consumer
 *
 * Each measurement: a fresh group of two members (two processes of the same
 * client: bench/clients/group_member.ts for this client,
 * tests/java/GroupMember.java for Java) reads a 6-partition topic into
 * which this script writes about 600 messages a second throughout. Once
 * both members own three partitions each and have read from all of them,
 * member A goes away:
 *
 * - clean: A is told to close (our `Reader.close()`, Java's
 *   `KafkaConsumer.close()`: a last commit, then LeaveGroup); the clock
 *   starts when A calls close (ours) or when this script closes A's stdin,
 *   which GroupMember.java takes as the request to close (Java);
 * - dead: A is killed with SIGKILL, so the group notices only when its
 *   session times out (6 s); the clock starts just before the kill.
 *
 * Two figures, from the survivor B's event lines (wall-clock milliseconds;
 * ours stamp their own lines, the Java member's are stamped by this script
 * as they arrive): when B owned all six partitions, and when it had
 * received a message of every partition that A had owned. Both members use
 * a 6 s session timeout and 500 ms heartbeats; otherwise each client's
 * defaults (ours: Range then RoundRobin, commitInterval 0; Java:
 * auto-commit every 5 s and on close, fetch.max.wait.ms 500).
 *
 * `--protocol` picks how the group rebalances (Java's GroupMember.java
 * modes in brackets):
 *
 * - eager (default; what this benchmark always measured): the classic
 *   protocol, RangeAssignor [range] (ours: its default groupBalancers,
 *   Range then RoundRobin); on every rebalance each member gives up all its
 *   partitions and gets the new set;
 * - cooperative: the classic protocol, CooperativeStickyAssignor
 *   [cooperative-sticky] (ours: `groupBalancers: [new
 *   CooperativeStickyGroupBalancer()]`); only the partitions that move are
 *   revoked;
 * - consumer: KIP-848's consumer protocol [consumer] (ours: `groupProtocol:
 *   "consumer"`, without sessionTimeout, heartbeatInterval and
 *   groupBalancers, which the Reader refuses then); the broker assigns,
 *   and the session timeout and heartbeat interval are the group's
 *   (consumer.session.timeout.ms, consumer.heartbeat.interval.ms), set for
 *   each measurement's group with IncrementalAlterConfigs. The broker
 *   refuses values below its group.consumer.min.session.timeout.ms and
 *   group.consumer.min.heartbeat.interval.ms (45 s and 5 s by default):
 *   then the group keeps the broker's defaults (45 s sessions, 5 s
 *   heartbeats), which the run says and records.
 *
 * With cooperative and consumer the survivor gives nothing up when A goes,
 * so there is no "B notices" figure (nor "rejoin"); "all 6 assigned" is
 * when A's partitions were added to B's three. Both clients' hooks are
 * incremental then (an assignment lists what it adds, a revocation what
 * it takes), and `Member` adds them up.
 *
 * Both members print every message they read (partition and offset), so a
 * measurement also says how many of A's messages B read again ("re-read":
 * A read them but its commit had not landed) or neither read ("skipped"),
 * which partitions B gave up after A went (none, but with eager
 * rebalances), how many messages B read twice itself, and what the members
 * logged on stderr (ours: the Reader's errorLogger).
 *
 * Commits matter to the dead case: the broker counts an OffsetCommit as a
 * sign of life, so a member that commits whenever it idles (ours with
 * commitInterval 0) is dropped 6 s after its last commit rather than its
 * last heartbeat, at a random point of the survivor's heartbeat cycle; with
 * commits every few seconds (Java's auto-commit) it is dropped 6 s after its
 * last heartbeat, which members of one generation send in step, and the
 * survivor learns of it within tens of milliseconds (as measured here).
 * `--commit-interval=5000` runs ours as Java commits.
 *
 * The machine may be shared: before each measurement the script waits for
 * test suites (tools/test.ts, deno test, bun test, node --test) to finish,
 * and measures again (up to twice) when one ran meanwhile or the broker
 * restarted (or runs another version); each measurement gets a fresh topic.
 * Results: a table here and `bench/results/rebalance.json` (eager),
 * `rebalance-cooperative.json` or `rebalance-consumer.json`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { DEFAULT_KAFKA_VERSION, ensureBroker } from "../tools/kafka.ts";
import { Cluster, Writer } from "../mod.ts";
import { DescribeConfigs } from "../lib/protocol/messages/describe_configs.ts";
import { IncrementalAlterConfigs } from "../lib/protocol/messages/incremental_alter_configs.ts";
import type { MemberSettings } from "./clients/group_member.ts";
import { BENCH } from "./_peers.ts";
import { median } from "./_report.ts";
import { capture } from "./_spawn.ts";
import { createTopic, deleteTopics } from "./_topics.ts";
import {
  brokerProcess,
  waitForBroker,
  waitForQuiet,
  watchDisturbance,
} from "./_quiet.ts";
import { BROKER } from "./_workloads.ts";

const ROOT = join(BENCH, "..");
const PARTITIONS = 6;
const SESSION_TIMEOUT_MS = 6000;
const HEARTBEAT_MS = 500;
/** Also Java's default fetch.max.wait.ms, which GroupMember.java keeps. */
const MAX_WAIT_MS = 500;
/** The Java member's auto-commit interval (its default, 5000). */
const JAVA_AUTO_COMMIT_MS = 5000;
/** Messages written per tick, and ticks per second: about 600 msg/s. */
const PER_TICK = 12;
const TICK_MS = 20;
/** Both members reading steadily for this long (plus 0-2 heartbeats) before A goes. */
const SETTLE_MS = 1500;
const STEADY_TIMEOUT_MS = 90_000;
const HANDOVER_TIMEOUT_MS = 60_000;
const QUIET_WAIT_MS = 600_000;
const KAFKA_VERSION = Deno.env.get("KAFKA_VERSION") || DEFAULT_KAFKA_VERSION;
const CLIENTS = ["streamkafka/deno", "streamkafka/bun", "java/jvm"] as const;
const SCENARIOS = ["clean", "dead"] as const;
const PROTOCOLS = ["eager", "cooperative", "consumer"] as const;
type Client = typeof CLIENTS[number];
type Scenario = typeof SCENARIOS[number];
type Protocol = typeof PROTOCOLS[number];

/** tests/java/GroupMember.java's mode for each protocol. */
const JAVA_MODES: Record<Protocol, string> = {
  eager: "range",
  cooperative: "cooperative-sticky",
  consumer: "consumer",
};
/** How our Reader joins for each protocol (bench/clients/group_member.ts). */
const OUR_MODES: Record<Protocol, string> = {
  eager: "classic, Range/RoundRobin",
  cooperative: "classic, CooperativeStickyGroupBalancer",
  consumer: 'groupProtocol "consumer"',
};
/** The GROUP resource type of DescribeConfigs and IncrementalAlterConfigs. */
const GROUP_RESOURCE = 32;

const USAGE = `usage: deno run -A bench/rebalance.ts [--quick] [--rounds=N]
       [--clients=a,b] [--scenarios=clean,dead] [--protocol=P] [--out=DIR]

  --quick      1 round
  --rounds     rounds (env BENCH_ROUNDS, default 5)
  --clients    of ${CLIENTS.join(", ")} (default streamkafka/deno,java/jvm)
  --scenarios  clean (close, LeaveGroup) and/or dead (SIGKILL); default both
  --protocol   eager (default), cooperative or consumer: the classic
               protocol with eager (range) or cooperative
               (cooperative-sticky) rebalances, or KIP-848's consumer
               protocol
  --commit-interval  our members' commitInterval in ms (default 0, the
               Reader's default; Java auto-commits every 5000)
  --out        where rebalance.json goes (default bench/results;
               rebalance-<protocol>.json for cooperative and consumer)`;

interface Options {
  protocol: Protocol;
  /** Our Reader's commitInterval (0, its default, commits whenever it idles). */
  commitInterval: number;
  rounds: number;
  clients: Client[];
  scenarios: Scenario[];
  out: string;
}

function options(args: string[]): Options | undefined {
  const parsed = parseArgs({
    args,
    options: {
      quick: { type: "boolean" },
      rounds: { type: "string" },
      clients: { type: "string" },
      scenarios: { type: "string" },
      "commit-interval": { type: "string" },
      protocol: { type: "string" },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (parsed.values.help) return undefined;
  const rawRounds = parsed.values.rounds ?? Deno.env.get("BENCH_ROUNDS");
  const rounds = rawRounds ? Number(rawRounds) : parsed.values.quick ? 1 : 5;
  if (!Number.isInteger(rounds) || rounds <= 0) {
    throw new RangeError(
      `Cannot run the benchmark: rounds must be a positive integer, got "${rawRounds}"`,
    );
  }
  const rawInterval = parsed.values["commit-interval"] ?? "0";
  const commitInterval = Number(rawInterval);
  if (!Number.isInteger(commitInterval) || commitInterval < 0) {
    throw new RangeError(
      `Cannot run the benchmark: --commit-interval must be milliseconds, got "${rawInterval}"`,
    );
  }
  const list = <T extends string>(
    raw: string | undefined,
    allowed: readonly T[],
    fallback: T[],
    what: string,
  ): T[] => {
    if (!raw) return fallback;
    const items = raw.split(",").map((s) => s.trim()).filter(Boolean);
    for (const item of items) {
      if (!allowed.includes(item as T)) {
        throw new RangeError(
          `Cannot run the benchmark: unknown ${what} "${item}" (one of ${
            allowed.join(", ")
          })`,
        );
      }
    }
    return items as T[];
  };
  const protocol = (parsed.values.protocol ?? "eager") as Protocol;
  if (!PROTOCOLS.includes(protocol)) {
    throw new RangeError(
      `Cannot run the benchmark: unknown --protocol "${protocol}" (one of ${
        PROTOCOLS.join(", ")
      })`,
    );
  }
  return {
    protocol,
    rounds,
    clients: list(parsed.values.clients, CLIENTS, [
      "streamkafka/deno",
      "java/jvm",
    ], "client"),
    scenarios: list(parsed.values.scenarios, SCENARIOS, [
      ...SCENARIOS,
    ], "scenario"),
    out: parsed.values.out ?? join(BENCH, "results"),
    commitInterval,
  };
}

function log(message: string): void {
  console.error(message);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------
// Members

/**
 * One event of a member: assigned, revoked, lost, first (its first message
 * of a partition since that was assigned), dup (a message it had read
 * already), closing, closed.
 */
interface MemberEvent {
  kind: string;
  at: number;
  /**
   * assigned: every partition the member owns now; revoked, lost: those
   * taken; first, dup: the one partition.
   */
  partitions: number[];
  /**
   * assigned: the partitions this assignment added (all of them with eager
   * rebalances; none when a rebalance moved nothing to this member).
   */
  added?: number[];
  /** first, dup: the message's offset. */
  offset?: number;
}

/**
 * How a member reports: "lines" as bench/clients/group_member.ts (each
 * line `<kind> <ms> <p,p,...|->` or `read <ms> <p> <offset>`, stamped by
 * the member), "group-member" as tests/java/GroupMember.java
 * (`member<TAB>...`, no clock: stamped here on arrival). Both print a line
 * for every message read, and assignments and revocations as the clients'
 * hooks get them: under the cooperative and consumer protocols those are
 * increments (only what moved), which `account` adds up.
 */
type Format = "lines" | "group-member";

/** A member process and the events it printed so far. */
class Member {
  readonly events: MemberEvent[] = [];
  readonly exited: Promise<Deno.CommandStatus>;
  /** Resolves once its stdout and stderr have ended. */
  readonly drained: Promise<void>;
  stderr = "";
  /** Its stderr lines (errors its client logged), the first 50. */
  readonly logged: string[] = [];
  private readonly child: Deno.ChildProcess;
  private readonly stdin: WritableStreamDefaultWriter<Uint8Array>;
  private changed: () => void = () => {};
  readonly name: string;
  readonly format: Format;
  /** What it owns, and the partitions read since each was assigned. */
  private readonly owned = new Set<number>();
  private readonly seen = new Set<number>();
  /** The highest offset it read of each partition, ever. */
  readonly lastRead = new Map<number, number>();

  constructor(name: string, command: string, args: string[], format: Format) {
    this.name = name;
    this.format = format;
    this.child = new Deno.Command(command, {
      args,
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.stdin = this.child.stdin.getWriter();
    this.exited = this.child.status;
    this.drained = Promise.all([
      this.readLines(
        this.child.stdout,
        (line) => format === "lines" ? this.onLine(line) : this.onEvent(line),
      ),
      this.readLines(this.child.stderr, (line) => {
        this.stderr = (this.stderr + line + "\n").slice(-4000);
        if (line.trim() && this.logged.length < 50) this.logged.push(line);
      }),
    ]).then(() => {});
    this.exited.then(() => this.changed());
  }

  private async readLines(
    stream: ReadableStream<Uint8Array>,
    each: (line: string) => void,
  ): Promise<void> {
    let buffer = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      const lines = buffer.split("\n");
      buffer = lines.pop()!;
      for (const line of lines) each(line);
    }
  }

  /** A group_member.ts line, stamped by the member. */
  private onLine(line: string): void {
    const [kind, at, list, offset] = line.trim().split(" ");
    const time = Number(at);
    if (!kind || !Number.isFinite(time)) return;
    if (kind === "read") {
      this.read(time, Number(list), Number(offset));
      return;
    }
    const partitions = !list || list === "-" ? [] : list.split(",").map(Number);
    this.account(kind, time, partitions);
  }

  /** A GroupMember.java line, stamped now. */
  private onEvent(line: string): void {
    const [tag, kind, list, offset] = line.split("\t");
    if (tag !== "member") return; // a log line
    const at = Date.now();
    if (kind === "read") {
      this.read(at, Number(list), Number(offset));
      return;
    }
    this.account(kind, at, list ? list.split(",").map(Number) : []);
  }

  /** A message read: "first" once per partition and assignment, "dup" again. */
  private read(at: number, partition: number, offset: number): void {
    const last = this.lastRead.get(partition);
    if (last !== undefined && offset <= last) {
      this.push({ kind: "dup", at, partitions: [partition], offset });
    } else {
      this.lastRead.set(partition, offset);
    }
    if (this.seen.has(partition)) return;
    this.seen.add(partition);
    this.push({ kind: "first", at, partitions: [partition], offset });
  }

  /**
   * An assignment, revocation or loss, as an increment: `partitions` are
   * what was added or taken (eager: all of them each time).
   */
  private account(kind: string, at: number, partitions: number[]): void {
    for (const p of partitions) this.seen.delete(p);
    if (kind === "assigned") {
      for (const p of partitions) this.owned.add(p);
      const owned = [...this.owned].sort((a, b) => a - b);
      this.push({ kind, at, partitions: owned, added: partitions });
    } else if (kind === "revoked" || kind === "lost") {
      for (const p of partitions) this.owned.delete(p);
      this.push({ kind, at, partitions });
    } else if (kind === "closing" || kind === "closed") {
      this.push({ kind, at, partitions: [] });
    }
  }

  private push(event: MemberEvent): void {
    this.events.push(event);
    this.changed();
  }

  /**
   * The latest assignment, what the member owns now, and the partitions it
   * read from since each was assigned.
   */
  state(): {
    assigned: MemberEvent | undefined;
    owned: number[];
    read: Set<number>;
  } {
    let assigned: MemberEvent | undefined;
    let owned: number[] = [];
    const read = new Set<number>();
    for (const event of this.events) {
      if (event.kind === "assigned") {
        assigned = event;
        owned = event.partitions;
        for (const p of event.added ?? event.partitions) read.delete(p);
        for (const p of read) if (!owned.includes(p)) read.delete(p);
      } else if (event.kind === "revoked" || event.kind === "lost") {
        owned = owned.filter((p) => !event.partitions.includes(p));
        for (const p of event.partitions) read.delete(p);
      } else if (event.kind === "first") {
        read.add(event.partitions[0]);
      }
    }
    return { assigned, owned, read };
  }

  /** Resolves once `ready()` holds; rejects on exit or after `ms`. */
  async until<T>(
    what: string,
    ready: () => T | undefined,
    ms: number,
  ): Promise<T> {
    const deadline = Date.now() + ms;
    let exited = false;
    this.exited.then(() => exited = true);
    while (true) {
      const value = ready();
      if (value !== undefined) return value;
      if (exited) {
        throw new Error(
          `${this.name} exited while waiting for ${what}: ${
            this.stderr.trim().split("\n").slice(-3).join(" | ")
          }`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`${this.name}: timed out waiting: ${what}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.changed = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /**
   * Asks the member to close: a line "close" ("lines"), the end of its
   * stdin ("group-member").
   */
  async close(): Promise<void> {
    if (this.format === "lines") {
      await this.stdin.write(new TextEncoder().encode("close\n"));
    } else {
      await this.stdin.close();
    }
  }

  kill(): void {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }

  /** Closes cleanly; kills when that takes longer than `ms`. */
  async stop(ms = 35_000): Promise<void> {
    await this.close().catch(() => {});
    const timer = setTimeout(() => this.kill(), ms);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
      await this.stdin.close().catch(() => {});
    }
  }
}

interface Launcher {
  client: Client;
  version: string;
  start(name: string, groupId: string, topic: string): Member;
}

async function launcher(
  client: Client,
  commitInterval: number,
  protocol: Protocol,
): Promise<Launcher> {
  const script = join(BENCH, "clients", "group_member.ts");
  // The consumer protocol's session timeout and heartbeat interval are the
  // group's (see `prepareGroup`): the Reader refuses them, as it refuses
  // groupBalancers (group_member.ts picks those from `protocol`).
  const classicTimeouts = protocol === "consumer" ? {} : {
    sessionTimeout: SESSION_TIMEOUT_MS,
    heartbeatInterval: HEARTBEAT_MS,
  };
  const settings = (groupId: string, topic: string): string =>
    JSON.stringify(
      {
        brokers: [BROKER],
        topic,
        groupId,
        protocol,
        ...classicTimeouts,
        maxWait: MAX_WAIT_MS,
        commitInterval,
      } satisfies MemberSettings,
    );
  if (client === "streamkafka/deno") {
    return {
      client,
      version: `Deno ${Deno.version.deno} (${OUR_MODES[protocol]})`,
      start: (name, groupId, topic) =>
        new Member(name, Deno.execPath(), [
          "run",
          "-A",
          script,
          settings(groupId, topic),
        ], "lines"),
    };
  }
  if (client === "streamkafka/bun") {
    const bun = await findBun();
    const version = (await capture(bun, ["--version"])).trim();
    return {
      client,
      version: `Bun ${version} (${OUR_MODES[protocol]})`,
      start: (name, groupId, topic) =>
        new Member(
          name,
          bun,
          ["run", script, settings(groupId, topic)],
          "lines",
        ),
    };
  }
  const kafkaVersion = Deno.env.get("KAFKA_VERSION") || DEFAULT_KAFKA_VERSION;
  const home = join(ROOT, ".kafka", kafkaVersion);
  const java = /version "([^"]+)"/.exec(
    await capture("java", ["-version"]),
  )?.[1] ?? "?";
  const source = join(ROOT, "tests", "java", "GroupMember.java");
  const mode = JAVA_MODES[protocol];
  // As for ours: the Java client refuses them under the consumer protocol.
  const timeouts = protocol === "consumer" ? [] : [
    `--session-timeout=${SESSION_TIMEOUT_MS}`,
    `--heartbeat-interval=${HEARTBEAT_MS}`,
  ];
  return {
    client,
    version:
      `kafka-clients ${kafkaVersion} on Java ${java} (GroupMember.java ${mode})`,
    start: (name, groupId, topic) =>
      new Member(name, "java", [
        "-Xmx256M",
        `-Dlog4j2.configurationFile=${join(home, "tools-log4j2.properties")}`,
        "-cp",
        join(home, "libs", "*"),
        source,
        BROKER,
        topic,
        groupId,
        mode,
        `--auto-commit=${JAVA_AUTO_COMMIT_MS}`,
        ...timeouts,
      ], "group-member"),
  };
}

async function findBun(): Promise<string> {
  for (const candidate of ["bun", join(ROOT, ".tools/node_modules/.bin/bun")]) {
    const runs = await capture(candidate, ["--version"]).then(
      () => true,
      () => false,
    );
    if (runs) return candidate;
  }
  throw new Error("bun not found on PATH or in .tools/node_modules/.bin");
}

// ---------------------------------------------------------------------------
// One measurement

interface Sample {
  client: Client;
  scenario: Scenario;
  round: number;
  /** From the clock's start to the survivor giving up its partitions to rejoin. */
  noticed_ms?: number;
  /** From then to the survivor owning all six partitions (JoinGroup, SyncGroup). */
  rejoin_ms?: number;
  /** From the clock's start to the survivor owning all six partitions. */
  assigned_ms?: number;
  /** ... to the survivor having read a message of each of A's partitions. */
  messages_ms?: number;
  /** clean: how long A's close took (last commit, LeaveGroup, shutdown). */
  close_ms?: number;
  /** The group's session timeout and heartbeat interval (see `prepareGroup`). */
  session_timeout_ms?: number;
  heartbeat_interval_ms?: number;
  moved?: number[];
  /**
   * Messages of A's partitions read by both: A's last offset + 1 minus
   * where B started, summed over A's partitions, when positive (what A
   * read but had not committed yet).
   */
  reread?: number;
  /** ... when negative: messages of A's partitions that neither read. */
  skipped?: number;
  /**
   * Partitions B gave up (revoked or lost) after A went: all three of its
   * own with eager rebalances, none otherwise.
   */
  b_revoked?: number[];
  /** Messages B read a second time after A went (B's own duplicates). */
  b_duplicates?: number;
  /** What the members printed on stderr (ours: the Reader's errorLogger). */
  logged?: string[];
  disturbed?: string;
  error?: string;
}

/**
 * A fresh 6-partition topic with about 600 msg/s written into it until
 * `stop()`, which deletes it. Fresh for each measurement: the test suites
 * sharing the machine restart the broker, sometimes on another version's
 * data.
 */
async function flowing(topic: string): Promise<{ stop(): Promise<void> }> {
  live.add(topic);
  await createTopic(BROKER, topic, PARTITIONS);
  const writer = new Writer({ brokers: [BROKER], topic, batchTimeout: 5 });
  let writing = true;
  const value = new Uint8Array(100);
  const produce = (async () => {
    while (writing) {
      const tick = sleep(TICK_MS);
      await writer.writeMessages(
        Array.from({ length: PER_TICK }, () => ({ value })),
      ).catch((error) => log(`  producer: ${error.message}`));
      await tick;
    }
  })();
  return {
    async stop() {
      writing = false;
      await produce;
      await writer.close().catch(() => {});
      await deleteTopics(BROKER, topic).catch(() => {});
      live.delete(topic);
    },
  };
}

/** Topics to delete when interrupted. */
const live = new Set<string>();

/** A group's session timeout and heartbeat interval. */
interface GroupTiming {
  sessionTimeout: number;
  heartbeatInterval: number;
}

/** The members' own timeouts, as the classic protocol lets them choose. */
const CLASSIC_TIMING: GroupTiming = {
  sessionTimeout: SESSION_TIMEOUT_MS,
  heartbeatInterval: HEARTBEAT_MS,
};

/** Said once per run: the broker refused short consumer-protocol sessions. */
let refusalLogged = false;

/**
 * Under the consumer protocol the session timeout and heartbeat interval
 * are the group's: sets SESSION_TIMEOUT_MS and HEARTBEAT_MS on the group
 * (IncrementalAlterConfigs on the GROUP resource, before any member joins).
 * The broker refuses values below its group.consumer.min.session.timeout.ms
 * and group.consumer.min.heartbeat.interval.ms (45 s and 5 s unless its
 * server.properties lowers them); the group then keeps the broker's
 * defaults, which this returns (DescribeConfigs), as it returns what the
 * group has in any case.
 */
async function prepareGroup(
  groupId: string,
  protocol: Protocol,
): Promise<GroupTiming> {
  if (protocol !== "consumer") return CLASSIC_TIMING;
  const session = "consumer.session.timeout.ms";
  const heartbeat = "consumer.heartbeat.interval.ms";
  const cluster = new Cluster({ brokers: [BROKER] });
  try {
    const conn = await cluster.anyConnection();
    const altered = await conn.request(IncrementalAlterConfigs, {
      resources: [{
        resourceType: GROUP_RESOURCE,
        resourceName: groupId,
        configs: [
          [session, SESSION_TIMEOUT_MS],
          [heartbeat, HEARTBEAT_MS],
        ].map(([name, value]) => ({
          name: String(name),
          configOperation: 0, // SET
          value: String(value),
        })),
      }],
      validateOnly: false,
    });
    const refusal = altered.responses[0];
    if (refusal.errorCode !== 0 && !refusalLogged) {
      refusalLogged = true;
      log(
        `  the broker refuses a ${SESSION_TIMEOUT_MS} ms session and ${HEARTBEAT_MS} ms heartbeats ` +
          `for consumer-protocol groups (${refusal.errorMessage}); its server.properties needs ` +
          `group.consumer.min.session.timeout.ms <= ${SESSION_TIMEOUT_MS} and ` +
          `group.consumer.min.heartbeat.interval.ms <= ${HEARTBEAT_MS}. Measuring with the group's defaults.`,
      );
    }
    const described = await conn.request(DescribeConfigs, {
      resources: [{
        resourceType: GROUP_RESOURCE,
        resourceName: groupId,
        configurationKeys: [session, heartbeat],
      }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    const result = described.results[0];
    const value = (name: string) =>
      Number(result.configs.find((c) => c.name === name)?.value);
    const timing = {
      sessionTimeout: value(session),
      heartbeatInterval: value(heartbeat),
    };
    if (
      result.errorCode !== 0 || !(timing.sessionTimeout > 0) ||
      !(timing.heartbeatInterval > 0)
    ) {
      throw new Error(
        `Cannot read the configs of group ${groupId}: ${
          result.errorMessage ?? result.errorCode
        }`,
      );
    }
    return timing;
  } finally {
    await cluster.close();
  }
}

async function measure(
  starter: Launcher,
  scenario: Scenario,
  round: number,
  topic: string,
  groupId: string,
  timing: GroupTiming,
): Promise<Sample> {
  const sample: Sample = {
    client: starter.client,
    scenario,
    round,
    session_timeout_ms: timing.sessionTimeout,
    heartbeat_interval_ms: timing.heartbeatInterval,
  };
  const a = starter.start("member A", groupId, topic);
  const b = starter.start("member B", groupId, topic);
  try {
    // Both members in one generation, each reading all it owns.
    const steady = () => {
      const sa = a.state();
      const sb = b.state();
      if (!sa.assigned || !sb.assigned) return undefined;
      const pa = sa.owned;
      const pb = sb.owned;
      if (pa.length === 0 || pb.length === 0) return undefined;
      if (new Set([...pa, ...pb]).size !== PARTITIONS) return undefined;
      if (pa.length + pb.length !== PARTITIONS) return undefined;
      if (!pa.every((p) => sa.read.has(p))) return undefined;
      if (!pb.every((p) => sb.read.has(p))) return undefined;
      return { pa, assignedA: sa.assigned, assignedB: sb.assigned };
    };
    await b.until("a steady group of two", steady, STEADY_TIMEOUT_MS);
    // The members' heartbeat timers start when they join, as the harness's
    // wait did: a random wait puts A's exit at a random point of their
    // heartbeat cycle, as in life, instead of the same point every round.
    await sleep(SETTLE_MS + Math.random() * 2 * timing.heartbeatInterval);
    const settled = steady();
    if (!settled) throw new Error("the group rebalanced again while settling");
    const moved = settled.pa;
    sample.moved = moved;
    const afterB = b.events.length;

    let start: number;
    if (scenario === "clean" && a.format === "group-member") {
      // GroupMember.java has no clock: it closes once its stdin ends.
      start = Date.now();
      await a.close();
    } else if (scenario === "clean") {
      await a.close();
      const closing = await a.until(
        "A closing",
        () => a.events.find((e) => e.kind === "closing"),
        10_000,
      );
      start = closing.at;
    } else {
      start = Date.now();
      a.kill();
    }

    const handover = await b.until(
      "B owning every partition and reading A's",
      () => {
        const later = b.events.slice(afterB);
        const index = later.findIndex((e) =>
          e.kind === "assigned" && e.partitions.length === PARTITIONS
        );
        if (index < 0) return undefined;
        const assigned = later[index];
        const revoked = later.slice(0, index).find((e) =>
          e.kind === "revoked" || e.kind === "lost"
        );
        // B's first message of each partition since it was (last) assigned:
        // A's may come in more than one increment, so from the assignment
        // that added each, until B's partitions change again after owning
        // all six (an incremental assignment that adds nothing changes
        // nothing).
        const firsts = new Map<number, MemberEvent>();
        for (const [i, e] of later.entries()) {
          const taken = e.kind === "revoked" || e.kind === "lost";
          const added = e.kind === "assigned" ? e.added ?? e.partitions : [];
          if (i > index && (taken || added.length)) break;
          for (const p of taken ? e.partitions : added) firsts.delete(p);
          if (e.kind === "first" && !firsts.has(e.partitions[0])) {
            firsts.set(e.partitions[0], e);
          }
        }
        if (!moved.every((p) => firsts.has(p))) return undefined;
        return {
          revoked: revoked?.at,
          assigned: assigned.at,
          messages: Math.max(...moved.map((p) => firsts.get(p)!.at)),
          from: new Map(moved.map((p) => [p, firsts.get(p)!.offset!])),
        };
      },
      Math.max(HANDOVER_TIMEOUT_MS, timing.sessionTimeout + 30_000),
    );
    if (handover.revoked !== undefined) {
      sample.noticed_ms = handover.revoked - start;
      sample.rejoin_ms = handover.assigned - handover.revoked;
    }
    sample.assigned_ms = handover.assigned - start;
    sample.messages_ms = handover.messages - start;
    if (scenario === "clean") {
      await a.until(
        "A closed",
        () => a.events.find((e) => e.kind === "closed"),
        35_000,
      ).then((closed) => sample.close_ms = closed.at - start).catch(() => {});
    }
    // Once A's every line is in: what B read again of A's, or neither read.
    a.kill();
    await a.drained;
    let reread = 0;
    let skipped = 0;
    for (const [p, from] of handover.from) {
      const gap = from - ((a.lastRead.get(p) ?? -1) + 1);
      if (gap < 0) reread -= gap;
      else skipped += gap;
    }
    sample.reread = reread;
    sample.skipped = skipped;
    const after = b.events.slice(afterB);
    sample.b_revoked = [
      ...new Set(
        after.filter((e) => e.kind === "revoked" || e.kind === "lost")
          .flatMap((e) => e.partitions),
      ),
    ].sort((x, y) => x - y);
    sample.b_duplicates = after.filter((e) => e.kind === "dup").length;
  } catch (error) {
    sample.error = error instanceof Error ? error.message : String(error);
  } finally {
    a.kill();
    await Promise.all([b.stop(), a.exited]);
    await Promise.all([a.drained, b.drained]);
    const logged = [
      ...a.logged.map((line) => `A: ${line}`),
      ...b.logged.map((line) => `B: ${line}`),
    ];
    if (logged.length) sample.logged = logged;
  }
  return sample;
}

/** Measures after waiting for quiet, again (twice at most) when disturbed. */
async function measureQuietly(
  starter: Launcher,
  scenario: Scenario,
  round: number,
  runId: string,
  protocol: Protocol,
): Promise<Sample> {
  let sample: Sample | undefined;
  for (let attempt = 1; attempt <= 3; attempt++) {
    await waitForQuiet(QUIET_WAIT_MS, log);
    await waitForBroker(KAFKA_VERSION, QUIET_WAIT_MS, log);
    if (!await brokerProcess()) await ensureBroker();
    const name = `${runId}-${
      starter.client.replace("/", "-")
    }-${scenario}-r${round}${attempt > 1 ? `-a${attempt}` : ""}`;
    const watch = watchDisturbance();
    let flow: { stop(): Promise<void> } | undefined;
    try {
      const timing = await prepareGroup(name, protocol);
      flow = await flowing(`${name}-t`);
      sample = await measure(
        starter,
        scenario,
        round,
        `${name}-t`,
        name,
        timing,
      );
    } catch (error) {
      sample = {
        client: starter.client,
        scenario,
        round,
        error: error instanceof Error ? error.message : String(error),
      };
    } finally {
      await flow?.stop();
    }
    const reason = await watch.stop();
    if (!reason && !sample.error) return sample;
    sample.disturbed = reason;
    if (attempt < 3) {
      log(
        `  ${starter.client} ${scenario}: ${
          reason ?? sample.error?.slice(0, 160)
        }; measuring again`,
      );
    }
  }
  return sample!;
}

// ---------------------------------------------------------------------------
// The run

interface Summary {
  client: Client;
  version: string;
  scenario: Scenario;
  rounds: number;
  rounds_ok: number;
  assigned_ms: number | null;
  assigned_ms_min: number | null;
  assigned_ms_max: number | null;
  messages_ms: number | null;
  messages_ms_min: number | null;
  messages_ms_max: number | null;
  close_ms: number | null;
  noticed_ms: number | null;
  rejoin_ms: number | null;
  /** The group's session timeout (the consumer protocol's may be 45 s). */
  session_timeout_ms: number | null;
  heartbeat_interval_ms: number | null;
  /** Messages of A's partitions read by both A and B: median, max. */
  reread: number | null;
  reread_max: number | null;
  /** Messages of A's partitions read by neither, at most (0: none lost). */
  skipped_max: number | null;
  /** Rounds in which B gave up partitions after A went (eager: all). */
  b_revoked_rounds: number;
  /** Messages B read twice after A went, over all rounds. */
  b_duplicates: number;
  /** What the members logged on stderr, each line once (timestamps cut). */
  logged: string[];
  errors: string[];
  disturbed: number;
}

function summarize(samples: Sample[], launchers: Launcher[]): Summary[] {
  const out: Summary[] = [];
  for (const scenario of SCENARIOS) {
    for (const starter of launchers) {
      const mine = samples.filter((s) =>
        s.client === starter.client && s.scenario === scenario
      );
      if (mine.length === 0) continue;
      const ok = mine.filter((s) => s.error === undefined);
      const pick = (f: (s: Sample) => number | undefined) =>
        ok.map(f).filter((v): v is number => v !== undefined);
      const assigned = pick((s) => s.assigned_ms);
      const messages = pick((s) => s.messages_ms);
      const close = pick((s) => s.close_ms);
      const noticed = pick((s) => s.noticed_ms);
      const rejoin = pick((s) => s.rejoin_ms);
      const session = pick((s) => s.session_timeout_ms);
      const heartbeat = pick((s) => s.heartbeat_interval_ms);
      const reread = pick((s) => s.reread);
      const skipped = pick((s) => s.skipped);
      const logged = [
        ...new Set(
          mine.flatMap((s) => s.logged ?? []).map((line) =>
            line.replace(/^([AB]: )\[[^\]]*\] /, "$1").slice(0, 300)
          ),
        ),
      ];
      out.push({
        client: starter.client,
        version: starter.version,
        scenario,
        rounds: mine.length,
        rounds_ok: ok.length,
        assigned_ms: assigned.length ? median(assigned) : null,
        assigned_ms_min: assigned.length ? Math.min(...assigned) : null,
        assigned_ms_max: assigned.length ? Math.max(...assigned) : null,
        messages_ms: messages.length ? median(messages) : null,
        messages_ms_min: messages.length ? Math.min(...messages) : null,
        messages_ms_max: messages.length ? Math.max(...messages) : null,
        close_ms: close.length ? median(close) : null,
        noticed_ms: noticed.length ? median(noticed) : null,
        rejoin_ms: rejoin.length ? median(rejoin) : null,
        session_timeout_ms: session.length ? Math.max(...session) : null,
        heartbeat_interval_ms: heartbeat.length ? Math.max(...heartbeat) : null,
        reread: reread.length ? median(reread) : null,
        reread_max: reread.length ? Math.max(...reread) : null,
        skipped_max: skipped.length ? Math.max(...skipped) : null,
        b_revoked_rounds: ok.filter((s) => s.b_revoked?.length).length,
        b_duplicates: pick((s) => s.b_duplicates).reduce((x, y) => x + y, 0),
        logged: logged.slice(0, 20),
        errors: [...new Set(mine.flatMap((s) => s.error ? [s.error] : []))],
        disturbed: mine.filter((s) => s.disturbed).length,
      });
    }
  }
  return out;
}

function table(summaries: Summary[], protocol: Protocol): string {
  const ms = (v: number | null) => v === null ? "-" : `${Math.round(v)}`;
  const range = (lo: number | null, hi: number | null) =>
    lo === null ? "-" : `${Math.round(lo)}-${Math.round(hi!)}`;
  const widths = [8, 16, 14, 13, 14, 13, 9, 7, 9, 8, 6];
  const row = (cells: string[]) =>
    "  " +
    cells.map((cell, i) =>
      i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])
    ).join(" ");
  const lines = [
    "",
    `rebalance time (${protocol}), ms from A's close (clean) or SIGKILL (dead): medians, min-max`,
    row([
      "scenario",
      "client",
      "all 6 assigned",
      "min-max",
      "A's msgs read",
      "min-max",
      "B notices",
      "rejoin",
      "A's close",
      "re-read",
      "rounds",
    ]),
  ];
  for (const s of summaries) {
    lines.push(
      row([
        s.scenario,
        s.client,
        ms(s.assigned_ms),
        range(s.assigned_ms_min, s.assigned_ms_max),
        ms(s.messages_ms),
        range(s.messages_ms_min, s.messages_ms_max),
        ms(s.noticed_ms),
        ms(s.rejoin_ms),
        ms(s.close_ms),
        ms(s.reread),
        `${s.rounds_ok}/${s.rounds}`,
      ]) +
        (s.skipped_max ? `  skipped up to ${s.skipped_max} msgs` : "") +
        (protocol !== "eager" && s.b_revoked_rounds
          ? `  B revoked partitions in ${s.b_revoked_rounds} round(s)`
          : "") +
        (s.b_duplicates ? `  B read ${s.b_duplicates} msgs twice` : "") +
        (s.logged.length ? `  ${s.logged.length} line(s) logged` : "") +
        (s.errors.length
          ? `  errors: ${s.errors.join("; ").slice(0, 100)}`
          : "") +
        (s.disturbed ? `  (${s.disturbed} disturbed)` : ""),
    );
  }
  const sessions = [
    ...new Set(
      summaries.map((s) => s.session_timeout_ms ?? SESSION_TIMEOUT_MS),
    ),
  ].join(" or ");
  const heartbeats = [
    ...new Set(summaries.map((s) => s.heartbeat_interval_ms ?? HEARTBEAT_MS)),
  ].join(" or ");
  lines.push(
    "(re-read: messages of A's partitions that B read again, A having read them: median over the",
    " rounds, the sum over A's three partitions.)",
  );
  if (protocol === "eager") {
    lines.push(
      "(B notices: until the survivor gives up its partitions to rejoin, which its next heartbeat",
      ` after the leave tells it; dead: the group drops A only after the ${sessions} ms session`,
      " timeout. rejoin: from then to owning all six, JoinGroup and SyncGroup.)",
    );
  } else {
    lines.push(
      `(${protocol}: the survivor keeps its partitions and is given A's, so it notices nothing`,
      ` to time; dead: the group drops A only after the ${sessions} ms session timeout; heartbeats`,
      ` every ${heartbeats} ms.)`,
    );
  }
  for (const s of summaries) {
    if (!s.logged.length) continue;
    lines.push(`logged by ${s.client} (${s.scenario}):`);
    for (const line of s.logged) lines.push(`  ${line.slice(0, 200)}`);
  }
  return lines.join("\n");
}

async function main(): Promise<number> {
  const opts = options(Deno.args);
  if (!opts) {
    console.log(USAGE);
    return 0;
  }
  const started = new Date();
  const runId = `rebalance-${
    started.toISOString().replace(/[-:]/g, "").slice(0, 15)
  }-${crypto.randomUUID().slice(0, 4)}`;
  log(
    `rebalance benchmark (--protocol=${opts.protocol}): ${opts.rounds} round(s) of ${
      opts.scenarios.join(" and ")
    }, ${opts.clients.join(", ")}; ${navigator.hardwareConcurrency} cores, ` +
      `broker ${BROKER} (Kafka ${
        Deno.env.get("KAFKA_VERSION") || DEFAULT_KAFKA_VERSION
      })`,
  );
  log(
    `  two members, ${PARTITIONS} partitions, ~${
      (PER_TICK * 1000) / TICK_MS
    } msg/s written throughout; session timeout ${SESSION_TIMEOUT_MS} ms, ` +
      `heartbeats every ${HEARTBEAT_MS} ms, fetch max wait ${MAX_WAIT_MS} ms; ` +
      `ours commitInterval ${opts.commitInterval} ms, Java auto-commit every ${JAVA_AUTO_COMMIT_MS} ms` +
      (opts.protocol === "consumer"
        ? "; the consumer protocol's session and heartbeats set on each group"
        : ""),
  );
  await ensureBroker();
  const launchers: Launcher[] = [];
  for (const client of opts.clients) {
    const starter = await launcher(client, opts.commitInterval, opts.protocol);
    log(`  ${client.padEnd(18)} ${starter.version}`);
    launchers.push(starter);
  }

  const onInterrupt = () => {
    log("\ninterrupted: deleting the topics");
    deleteTopics(BROKER, ...live).finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onInterrupt);

  const samples: Sample[] = [];
  try {
    const total = opts.rounds * opts.scenarios.length * launchers.length;
    for (let round = 1; round <= opts.rounds; round++) {
      for (const scenario of opts.scenarios) {
        const shift = (round - 1) % launchers.length;
        const order = [...launchers.slice(shift), ...launchers.slice(0, shift)];
        for (const starter of order) {
          const sample = await measureQuietly(
            starter,
            scenario,
            round,
            runId,
            opts.protocol,
          );
          samples.push(sample);
          log(
            `[${String(samples.length).padStart(2)}/${total}] r${round} ` +
              `${scenario.padEnd(5)} ${starter.client.padEnd(18)} ` +
              (sample.error
                ? `ERROR: ${sample.error.slice(0, 160)}`
                : `all assigned ${sample.assigned_ms} ms, A's messages ${sample.messages_ms} ms` +
                  ` (noticed ${sample.noticed_ms ?? "?"} ms, rejoin ${
                    sample.rejoin_ms ?? "?"
                  } ms)` +
                  (sample.close_ms === undefined
                    ? ""
                    : `, A's close ${sample.close_ms} ms`) +
                  `; re-read ${sample.reread}` +
                  (sample.skipped ? `, skipped ${sample.skipped}` : "") +
                  (sample.b_revoked?.length
                    ? `, B gave up ${sample.b_revoked.join(",")}`
                    : "") +
                  (sample.b_duplicates
                    ? `, B read ${sample.b_duplicates} twice`
                    : "")) +
              (sample.logged ? `  [${sample.logged.length} logged]` : "") +
              (sample.disturbed ? `  (disturbed: ${sample.disturbed})` : ""),
          );
        }
      }
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
  }

  const summaries = summarize(samples, launchers);
  console.log(table(summaries, opts.protocol));
  await Deno.mkdir(opts.out, { recursive: true });
  // Eager results stay where they always went.
  const file = join(
    opts.out,
    opts.protocol === "eager"
      ? "rebalance.json"
      : `rebalance-${opts.protocol}.json`,
  );
  await Deno.writeTextFile(
    file,
    JSON.stringify(
      {
        date: started.toISOString(),
        kafka: Deno.env.get("KAFKA_VERSION") || DEFAULT_KAFKA_VERSION,
        cores: navigator.hardwareConcurrency,
        settings: {
          protocol: opts.protocol,
          partitions: PARTITIONS,
          members: 2,
          // Asked for; under the consumer protocol the broker may refuse
          // them (each summary and sample has what the group had).
          session_timeout_ms: SESSION_TIMEOUT_MS,
          heartbeat_interval_ms: HEARTBEAT_MS,
          fetch_max_wait_ms: MAX_WAIT_MS,
          produce_msgs_per_s: (PER_TICK * 1000) / TICK_MS,
          streamkafka_commit_interval_ms: opts.commitInterval,
          java_member: `tests/java/GroupMember.java ${
            JAVA_MODES[opts.protocol]
          }`,
          java_auto_commit_interval_ms: JAVA_AUTO_COMMIT_MS,
        },
        summaries,
        samples,
      },
      null,
      2,
    ) + "\n",
  );
  log(
    `\ndone in ${
      ((Date.now() - started.getTime()) / 60_000).toFixed(1)
    } min; results in ${file}`,
  );
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exitCode = await main();
  } catch (error) {
    log(
      error instanceof Error ? (error.stack ?? error.message) : String(error),
    );
    Deno.exitCode = 1;
  }
}
