/**
 * The benchmark: this client (on Deno and on Bun) against kafkajs,
 * @platformatic/kafka, @kafkats/client, kcat (librdkafka), the Java client's
 * perf tools and kafka-go, on the local broker, with the same settings for
 * all.
 *
 *   deno task bench                 3 rounds, 1,000,000 messages (~20 min)
 *   deno task bench --quick         1 round, 100,000 messages (~3 min)
 *   deno task bench --clients=kcat,streamkafka --workloads=consume
 *   deno task bench --workloads=group --wait   (after running test suites)
 *   deno task bench --curves [--quick]   partition-count and message-size curves
 *
 * Environment: BENCH_ROUNDS, BENCH_MESSAGES (the 100 B count; the others
 * scale with it), BENCH_LATENCY_WRITES, BENCH_GROUP_COMMIT_INTERVAL and
 * BENCH_KAFKAGO_COMMIT_INTERVAL (the group workload's commits),
 * BENCH_PREFAULT_MB (memory touched before the runs when the broker's data
 * is on a tmpfs, default 3072, 0 for none: see _prefault.ts). Each run of
 * each client is its own process printing one JSON line (see
 * bench/clients/_common.ts); the workloads interleave over the rounds, the
 * client order rotating each round, and each produce run gets a fresh
 * topic, deleted afterwards.
 * Results: a table here, bench/results/latest.json and chart.svg; with
 * --curves, bench/results/curves.json, curves-partitions.svg and
 * curves-sizes.svg instead.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import {
  brokerDataDir,
  DEFAULT_KAFKA_VERSION,
  ensureBroker,
} from "../tools/kafka.ts";
import type { Job } from "./clients/_common.ts";
import { chart } from "./_chart.ts";
import { type CurvePoint, curvesChart, curvesRecords } from "./_curves.ts";
import { feedFile, valuesFile } from "./_data.ts";
import {
  BENCH,
  type Files,
  type Peer,
  PEER_KEYS,
  peerKey,
  preparePeers,
} from "./_peers.ts";
import {
  aggregate,
  ratioMatrix,
  type ResultRecord,
  type Sample,
  table,
} from "./_report.ts";
import { spawn } from "./_spawn.ts";
import { targets } from "./_targets.ts";
import { countMessages, createTopic, deleteTopics } from "./_topics.ts";
import { touchMemory } from "./_prefault.ts";
import {
  brokerIdentity,
  brokerProcess,
  waitForBroker,
  waitForIdleBroker,
  waitForQuiet,
} from "./_quiet.ts";
import {
  batchBytesOf,
  BROKER,
  chunkOf,
  curveWorkloads,
  describe,
  SETTINGS,
  type Workload,
  workloads as allWorkloads,
} from "./_workloads.ts";

const RUN_TIMEOUT_MS = 240_000;
/** Other processes' load above which a measurement is taken again. */
const BUSY_CORES = 0.3;
/** Measurements of one client, workload and round, at most. */
const ATTEMPTS = 3;
/** How long to wait for other test suites to finish before measuring. */
const QUIET_WAIT_MS = 600_000;
const KAFKA_VERSION = Deno.env.get("KAFKA_VERSION") || DEFAULT_KAFKA_VERSION;

const USAGE =
  `usage: deno run -A bench/main.ts [--quick] [--rounds=N] [--messages=N]
       [--clients=a,b] [--workloads=a,b] [--out=DIR] [--wait] [--curves]

  --quick        1 round of 100,000 messages, 200 latency writes
  --rounds       rounds (env BENCH_ROUNDS, default 3)
  --messages     100 B messages per workload (env BENCH_MESSAGES, default 1000000)
  --clients      only clients whose key contains one of these (${
    PEER_KEYS.join(", ")
  })
  --workloads    only workloads whose id contains one of these
  --out          where latest.json and chart.svg go (default bench/results)
  --wait         before each measurement, wait for running test suites
                 (tools/test.ts, deno test, bun test, node --test) to finish
  --curves       instead of the workloads: produce and consume of 100 B over
                 1-1024 partitions (--messages each) and of 10 B-1 MiB values
                 (about --messages x 100 bytes each); by default only
                 streamkafka/deno, kafkajs, platformatic, kafkats and kcat;
                 writes curves.json, curves-partitions.svg, curves-sizes.svg`;

interface Options {
  rounds: number;
  messages: number;
  latencyWrites: number;
  clients: string[];
  workloads: string[];
  out: string;
  wait: boolean;
  curves: boolean;
  /** MiB written and deleted on the broker's tmpfs before the runs. */
  prefaultMb: number;
}

function options(args: string[]): Options | undefined {
  const parsed = parseArgs({
    args,
    options: {
      quick: { type: "boolean" },
      rounds: { type: "string" },
      messages: { type: "string" },
      clients: { type: "string" },
      workloads: { type: "string" },
      out: { type: "string" },
      wait: { type: "boolean" },
      curves: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (parsed.values.help) return undefined;
  const quick = parsed.values.quick ?? false;
  const number = (flag: string | undefined, env: string, fallback: number) => {
    const raw = flag ?? Deno.env.get(env);
    if (raw === undefined || raw === "") return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value <= 0) {
      throw new RangeError(
        `Cannot run the benchmark: ${env} must be a positive integer, got "${raw}"`,
      );
    }
    return value;
  };
  const list = (raw: string | undefined) =>
    raw ? raw.split(",").map((s) => s.trim()).filter(Boolean) : [];
  return {
    rounds: number(parsed.values.rounds, "BENCH_ROUNDS", quick ? 1 : 3),
    messages: number(
      parsed.values.messages,
      "BENCH_MESSAGES",
      quick ? 100_000 : 1_000_000,
    ),
    latencyWrites: number(
      undefined,
      "BENCH_LATENCY_WRITES",
      quick ? 200 : 1000,
    ),
    clients: list(parsed.values.clients),
    workloads: list(parsed.values.workloads),
    out: parsed.values.out ?? join(BENCH, "results"),
    wait: parsed.values.wait ?? false,
    curves: parsed.values.curves ?? false,
    prefaultMb: prefaultMb(),
  };
}

/** BENCH_PREFAULT_MB: a whole number of MiB, 0 for none; default 3072. */
function prefaultMb(): number {
  const raw = Deno.env.get("BENCH_PREFAULT_MB");
  if (raw === undefined || raw === "") return 3072;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(
      `Cannot run the benchmark: BENCH_PREFAULT_MB must be a whole number of MiB (0 for none), got "${raw}"`,
    );
  }
  return value;
}

function matches(filters: string[], name: string): boolean {
  return filters.length === 0 || filters.some((f) => name.includes(f));
}

function log(message: string): void {
  console.error(message);
}

async function main(): Promise<number> {
  const opts = options(Deno.args);
  if (!opts) {
    console.log(USAGE);
    return 0;
  }
  const started = new Date();
  const date = started.toISOString();
  const runId = `bench-${date.replace(/[-:]/g, "").slice(0, 15)}-${
    crypto.randomUUID().slice(0, 4)
  }`;
  const workloads =
    (opts.curves
      ? curveWorkloads(opts.messages, curveFloor(opts.messages))
      : allWorkloads(opts.messages, opts.latencyWrites))
      .filter((w) => matches(opts.workloads, w.id));
  // The curves' default peers: the JavaScript ones and kcat.
  const clients = opts.curves && opts.clients.length === 0
    ? CURVE_CLIENTS
    : opts.clients;
  printSettings(opts, workloads);

  await ensureBroker();
  const { place: dataPlace, mount } = await brokerDataPlace();
  log(`broker data: ${dataPlace}`);
  if (dataPlace.startsWith("tmpfs") && opts.prefaultMb > 0) {
    // Fresh memory is slow to touch on some VMs: not within a client's run.
    log(
      `  memory for it touched first: ${await touchMemory(
        mount,
        opts.prefaultMb,
      )}`,
    );
  }
  if (!dataPlace.startsWith("tmpfs")) {
    log(
      "  (on a disk, writeback of the gigabytes a run writes can stall the broker at random: " +
        "for steady figures start it with KAFKA_DATA_DIR on a tmpfs, see bench/README.md, Method)",
    );
  }
  // Each record says where the broker's data was.
  const settingsOf = (w: Workload) =>
    `${describe(w)}; broker data on ${dataPlace.split(" ")[0]}`;
  log("\npeers:");
  const { peers, problems } = await preparePeers(
    (key) => matches(clients, key),
    (line) => log(`  ${line}`),
  );
  if (peers.length === 0) {
    log("no client to run");
    return 1;
  }

  const created = new Set<string>();
  const cleanup = async () => {
    await deleteTopics(BROKER, ...created).catch(() => {});
    created.clear();
  };
  const onInterrupt = () => {
    log("\ninterrupted: deleting this run's topics");
    cleanup().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onInterrupt);

  const samples: Sample[] = [];
  try {
    log("\npreparing data and topics ...");
    const feeds = await prepareData(workloads, peers);
    const sources = await prepareSources(runId, workloads, created);
    const total = opts.rounds * workloads.length * peers.length;
    let done = 0;
    for (let round = 1; round <= opts.rounds; round++) {
      for (const workload of workloads) {
        // Rotate who goes first, so no client always follows the same one,
        // by a share of the list each round: over the rounds each client
        // runs early, in the middle and late (a shift of one a round put the
        // first client last and next to last in rounds 2 and 3, where a
        // produce run found the broker spending twice the CPU a message).
        const shift = Math.round((round - 1) * peers.length / opts.rounds) %
          peers.length;
        const order = [...peers.slice(shift), ...peers.slice(0, shift)];
        for (const peer of order) {
          const sample = await runOne({
            peer,
            workload,
            round,
            runId,
            feed: feeds.get(workload.id) ?? "",
            source: workload.source ? sources[workload.source] : undefined,
            created,
            ownPids: [],
          }, opts.wait);
          samples.push(sample);
          done++;
          log(
            progress(done, total, round, opts.rounds, workload, peer, sample),
          );
        }
      }
    }
  } finally {
    await cleanup();
    Deno.removeSignalListener("SIGINT", onInterrupt);
  }

  const records = aggregate(samples, workloads, peers, date, settingsOf);
  for (const problem of problems) {
    const [client, runtime] = splitKey(problem.key);
    for (const workload of workloads) {
      records.push(
        unavailable(client, runtime, workload, date, problem.error, settingsOf),
      );
    }
  }
  const keys = PEER_KEYS.filter((k) =>
    records.some((r) => `${r.client}/${r.runtime}` === k)
  );
  console.log(table(records, workloads, describe));
  console.log(ratioMatrix(records, workloads, keys));
  if (!opts.curves) console.log(targets(records));
  await (opts.curves ? writeCurves : writeResults)(
    records,
    workloads,
    keys,
    opts,
    started,
  );
  const minutes = ((Date.now() - started.getTime()) / 60_000).toFixed(1);
  log(
    `\ndone in ${minutes} min; results in ${opts.out}/${
      opts.curves
        ? "curves.json, curves-partitions.svg and curves-sizes.svg"
        : "latest.json and chart.svg"
    }`,
  );
  return 0;
}

function printSettings(opts: Options, workloads: Workload[]): void {
  log(
    `streamkafka benchmark: ${opts.rounds} round(s), ` +
      `${opts.messages.toLocaleString("en-US")} messages of 100 B, ` +
      `${navigator.hardwareConcurrency} cores, broker ${BROKER} ` +
      `(Kafka ${Deno.env.get("KAFKA_VERSION") || DEFAULT_KAFKA_VERSION})`,
  );
  log("settings for every client (where the client has the knob):");
  log(
    `  linger ${SETTINGS.lingerMs} ms; batch ${SETTINGS.batchMessages} messages / ` +
      `${SETTINGS.batchBytes} bytes per partition; array APIs (writeMessages, send) ` +
      `get a full batch per call, ${SETTINGS.window} calls in flight`,
  );
  log(
    `  fetch: min ${SETTINGS.fetchMinBytes} B, max ${SETTINGS.fetchMaxBytes} B per ` +
      `partition, max wait ${SETTINGS.fetchMaxWaitMs} ms; consumers that need a group ` +
      `(kafkajs, platformatic, Java) join a fresh one`,
  );
  if (workloads.some((w) => w.kind === "group")) {
    log(
      `  group: one member of a fresh group reads the 6-partition topic and commits ` +
        `as the client does by default (ours: for await, commitInterval ` +
        `${Deno.env.get("BENCH_GROUP_COMMIT_INTERVAL") || 0}; kafka-go: ` +
        `ReadMessage, CommitInterval ${
          Deno.env.get("BENCH_KAFKAGO_COMMIT_INTERVAL") || 1000
        } ms)`,
    );
  }
  if (workloads.some((w) => w.kind === "mirror")) {
    log(
      `  mirror: one member of a fresh group reads the 6-partition topic as in ` +
        `group and writes each message to a fresh 6-partition topic (acks=1, ` +
        `linger and batch as above), timed to the last acknowledgement (ours: ` +
        `Reader piped into a Writer; kcat: kcat -G | kcat -P; Java, kafka-go: not run)`,
    );
  }
  log(
    `  latency: ${opts.latencyWrites} awaited single writes after ${SETTINGS.warmup} ` +
      `warm-up ones, linger 0; Java's ProducerPerformance is throttled to ` +
      `${SETTINGS.javaLatencyRate} msg/s instead (it cannot await)`,
  );
  log("workloads:");
  for (const w of workloads) log(`  ${w.id.padEnd(22)} ${describe(w)}`);
}

/** Values for every workload; kcat's stdin files when kcat runs. */
async function prepareData(
  workloads: Workload[],
  peers: Peer[],
): Promise<Map<string, string>> {
  const feeds = new Map<string, string>();
  const kcat = peers.some((p) => p.client === "kcat");
  for (const workload of workloads) {
    await valuesFile(workload.values, workload.valueSize);
    if (kcat && workload.kind === "produce") {
      feeds.set(
        workload.id,
        await feedFile(workload.values, workload.valueSize, workload.messages),
      );
    }
  }
  return feeds;
}

/**
 * The topics the consume workloads read, filled once by this client on Deno
 * and checked by offsets. The fill spreads the messages one by one over the
 * partitions (`spread`: a RoundRobin balancer), so that every partition
 * holds its share: the default balancer's runs of a batch each would leave
 * most of 1024 partitions empty.
 */
async function prepareSources(
  runId: string,
  workloads: Workload[],
  created: Set<string>,
): Promise<Record<string, string>> {
  const sources: Record<string, string> = {};
  for (const workload of workloads) {
    if (!workload.source || sources[workload.source]) continue;
    let topic = "";
    let counts: number[] = [];
    let total = 0;
    // A fill that comes up short (a write error) is done again into a fresh
    // topic, twice at most, saying why.
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      topic = `${runId}-${workload.source}${attempt > 1 ? `-f${attempt}` : ""}`;
      created.add(topic);
      await createTopic(
        BROKER,
        topic,
        workload.partitions,
        workload.topicConfigs,
      );
      const job = baseJob(workload, topic, "");
      const fill: Job = { ...job, kind: "produce", spread: true };
      const run = await spawn(
        Deno.execPath(),
        [
          "run",
          "-A",
          join(BENCH, "clients", "streamkafka.ts"),
          JSON.stringify(fill),
        ],
        { cwd: join(BENCH, ".."), timeoutMs: RUN_TIMEOUT_MS },
      );
      counts = await countMessages(BROKER, topic, workload.partitions);
      total = counts.reduce((a, b) => a + b, 0);
      if (total === workload.messages) break;
      const why =
        `Filling ${topic} left ${total} messages, expected ${workload.messages}: ${run.stdout}${run.stderr}`;
      if (attempt === ATTEMPTS) throw new Error(why);
      log(`  ${why.trim()}; filling a fresh topic`);
      await deleteTopics(BROKER, topic).catch(() => {});
      created.delete(topic);
    }
    log(
      `  ${topic}: ${
        counts.length > 12
          ? `${total} over ${counts.length} partitions (${
            Math.min(...counts)
          }-${Math.max(...counts)} each)`
          : counts.join(" + ")
      } messages`,
    );
    sources[workload.source] = topic;
  }
  return sources;
}

function baseJob(workload: Workload, topic: string, group: string): Job {
  return {
    kind: workload.kind,
    brokers: [BROKER],
    topic,
    partitions: workload.partitions,
    messages: workload.messages,
    valueSize: workload.valueSize,
    valuesFile: join(
      BENCH,
      ".data",
      `values-${workload.values}-${workload.valueSize}.txt`,
    ),
    acks: workload.acks,
    idempotent: workload.idempotent,
    compression: workload.compression,
    lingerMs: workload.lingerMs,
    batchMessages: SETTINGS.batchMessages,
    batchBytes: batchBytesOf(workload),
    chunk: chunkOf(workload),
    window: SETTINGS.window,
    warmup: SETTINGS.warmup,
    fetchMinBytes: SETTINGS.fetchMinBytes,
    fetchMaxBytes: SETTINGS.fetchMaxBytes,
    fetchMaxWaitMs: SETTINGS.fetchMaxWaitMs,
    group,
    target: "",
    curve: workload.curve !== undefined,
  };
}

interface RunSpec {
  peer: Peer;
  workload: Workload;
  round: number;
  runId: string;
  feed: string;
  source: string | undefined;
  created: Set<string>;
  /** The broker's pid, whose CPU is part of the measurement (runOne sets it). */
  ownPids: number[];
}

/**
 * Measures, and again (twice at most) when other processes kept more than
 * BUSY_CORES busy meanwhile or the broker restarted (other engineers' test
 * suites restart it): the last figure stands either way. With --wait, every
 * measurement first waits for running test suites to finish. Every one
 * waits for the broker to be idle (at most 10 s).
 */
async function runOne(spec: RunSpec, wait: boolean): Promise<Sample> {
  let sample: Sample | undefined;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    if (attempt > 1) await new Promise((r) => setTimeout(r, 3000));
    if (wait || attempt > 1) await waitForQuiet(QUIET_WAIT_MS, log);
    // Test suites run other versions too, and may leave the broker down.
    await waitForBroker(KAFKA_VERSION, QUIET_WAIT_MS, log);
    if (attempt > 1 && sample?.error) await ensureBroker();
    const broker = await brokerProcess();
    const identity = await brokerIdentity();
    if (broker) {
      const waited = await waitForIdleBroker(broker.pid);
      if (waited >= 1000) {
        log(`  the broker was busy: waited ${(waited / 1000).toFixed(1)} s`);
      }
    }
    sample = await measure(
      { ...spec, ownPids: broker ? [broker.pid] : [] },
      attempt,
    );
    const restarted = (await brokerIdentity()) !== identity;
    const busy = (sample.foreign_cores ?? 0) > BUSY_CORES;
    if (!restarted && !busy) return sample;
    if (attempt < ATTEMPTS) {
      log(
        `  ${
          restarted
            ? "the broker restarted"
            : `other processes used ${sample.foreign_cores?.toFixed(2)} cores`
        }: measuring ${peerKey(spec.peer)} again`,
      );
    }
  }
  return sample!;
}

async function measure(spec: RunSpec, attempt: number): Promise<Sample> {
  const { peer, workload, round } = spec;
  const sample: Sample = {
    client: peer.client,
    runtime: peer.runtime,
    workload: workload.id,
    round,
  };
  const skip = peer.skip(workload);
  if (skip) return { ...sample, error: skip, skipped: true };
  const name = `${spec.runId}-${workload.id}-${slug(peerKey(peer))}-r${round}${
    attempt > 1 ? `-a${attempt}` : ""
  }`;
  const topic = spec.source ?? name;
  // The mirror's destination: a fresh topic, like a produce run's.
  const target = workload.kind === "mirror" ? `${name}-to` : undefined;
  try {
    for (const fresh of [spec.source ? undefined : topic, target]) {
      if (fresh === undefined) continue;
      spec.created.add(fresh);
      await createTopic(
        BROKER,
        fresh,
        workload.partitions,
        workload.topicConfigs,
      );
    }
    const job = { ...baseJob(workload, topic, name), target: target ?? "" };
    const files: Files = { feed: spec.feed };
    const command = peer.command(job, workload, files);
    const run = await spawn(command.command, command.args, {
      cwd: command.cwd,
      timeoutMs: RUN_TIMEOUT_MS,
      ownPids: spec.ownPids,
    });
    sample.cpu_s = run.cpuSeconds;
    if (spec.ownPids.length > 0) sample.broker_cpu_s = run.ownCpuSeconds;
    sample.foreign_cores = run.foreignCores;
    const measured = peer.parse(run, job, workload);
    const written = workload.kind === "produce" ? topic : target;
    if (written !== undefined) {
      const counts = await countMessages(BROKER, written, workload.partitions);
      const total = counts.reduce((a, b) => a + b, 0);
      if (total !== job.messages) {
        throw new Error(
          `the ${
            target ? "destination " : ""
          }topic holds ${total} messages, expected ${job.messages}`,
        );
      }
    }
    const rate = measured.seconds === undefined
      ? undefined
      : measured.messages / measured.seconds;
    return {
      ...sample,
      msgs_per_s: rate,
      mb_per_s: rate === undefined
        ? undefined
        : (rate * workload.valueSize) / 1e6,
      p50_ms: measured.p50_ms,
      p99_ms: measured.p99_ms,
      // 0: a run too short for any poll, and no figure of its own.
      peak_rss_mb: Math.max(measured.peak_rss_mb ?? 0, run.polledRssMb) ||
        undefined,
      notes: measured.notes,
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ...sample, error: message.replaceAll("\n", " | ") };
  } finally {
    for (const fresh of [spec.source ? undefined : topic, target]) {
      if (fresh === undefined) continue;
      await deleteTopics(BROKER, fresh).catch(() => {});
      spec.created.delete(fresh);
    }
  }
}

function progress(
  done: number,
  total: number,
  round: number,
  rounds: number,
  workload: Workload,
  peer: Peer,
  sample: Sample,
): string {
  const head = `[${String(done).padStart(3)}/${total}] r${round}/${rounds} ` +
    `${workload.id.padEnd(22)} ${peerKey(peer).padEnd(26)}`;
  if (sample.error) {
    return `${head} ${sample.skipped ? "skipped" : "ERROR"}: ${
      sample.error.slice(0, 120)
    }`;
  }
  const rate = sample.msgs_per_s === undefined
    ? "-"
    : Math.round(sample.msgs_per_s).toLocaleString("en-US");
  const latency = sample.p50_ms === undefined
    ? ""
    : `  p50 ${sample.p50_ms.toFixed(2)} ms  p99 ${
      sample.p99_ms?.toFixed(2)
    } ms`;
  const busy = (sample.foreign_cores ?? 0) > BUSY_CORES
    ? `  (others busy: ${sample.foreign_cores?.toFixed(2)} cores)`
    : "";
  return `${head} ${rate.padStart(10)} msg/s ${
    (sample.mb_per_s ?? 0).toFixed(1).padStart(7)
  } MB/s  rss ${
    (sample.peak_rss_mb ?? 0).toFixed(0).padStart(4)
  } MiB${latency}${busy}`;
}

function slug(text: string): string {
  return text.replace(/[^a-zA-Z0-9._-]+/g, "-").replace(/^-|-$/g, "");
}

function splitKey(key: string): [string, string] {
  const at = key.lastIndexOf("/");
  return [key.slice(0, at), key.slice(at + 1)];
}

function unavailable(
  client: string,
  runtime: string,
  workload: Workload,
  date: string,
  error: string,
  settingsOf: (w: Workload) => string,
): ResultRecord {
  return {
    client,
    runtime,
    workload: workload.id,
    msgs_per_s: null,
    mb_per_s: null,
    p50_ms: null,
    p99_ms: null,
    peak_rss_mb: null,
    date,
    client_version: "",
    runtime_version: "",
    settings: settingsOf(workload),
    rounds: 0,
    rounds_ok: 0,
    msgs_per_s_min: null,
    msgs_per_s_max: null,
    p50_ms_min: null,
    p50_ms_max: null,
    peak_rss_mb_min: null,
    peak_rss_mb_max: null,
    cpu_s: null,
    cpu_ns_per_msg: null,
    broker_cpu_ns_per_msg: null,
    cpu_ratio_to_streamkafka_deno: null,
    cpu_ratio_to_kcat: null,
    foreign_cores_max: null,
    ratio_to_streamkafka_deno: null,
    ratio_to_kcat: null,
    error: `not installed: ${error.split("\n")[0]}`,
    notes: null,
  };
}

async function writeResults(
  records: ResultRecord[],
  workloads: Workload[],
  keys: string[],
  opts: Options,
  started: Date,
): Promise<void> {
  await Deno.mkdir(opts.out, { recursive: true });
  const subtitle =
    `${started.toISOString().slice(0, 16).replace("T", " ")} UTC · ` +
    `median of ${opts.rounds} round(s) · ${navigator.hardwareConcurrency} cores, ` +
    `client and Kafka ${
      Deno.env.get("KAFKA_VERSION") || DEFAULT_KAFKA_VERSION
    } broker on one machine (loopback) · ` +
    `${opts.messages.toLocaleString("en-US")} messages of 100 B`;
  await writeAtomic(
    join(opts.out, "latest.json"),
    JSON.stringify(records, null, 2) + "\n",
  );
  await writeAtomic(
    join(opts.out, "chart.svg"),
    chart(records, workloads, keys, subtitle),
  );
}

/** --curves: curves.json and the two charts. */
async function writeCurves(
  records: ResultRecord[],
  workloads: Workload[],
  keys: string[],
  opts: Options,
  started: Date,
): Promise<void> {
  await Deno.mkdir(opts.out, { recursive: true });
  const fresh = curvesRecords(records, workloads);
  // A partial run (--workloads=partitions, --clients=...) keeps the points
  // it did not measure again from the previous curves.json.
  const ran = new Set(fresh.map((p) => p.curve));
  const id = (p: CurvePoint) => `${p.workload} ${p.client}/${p.runtime}`;
  const measured = new Set(fresh.map(id));
  const kept = await Deno.readTextFile(join(opts.out, "curves.json"))
    .then((text) => JSON.parse(text) as CurvePoint[])
    .catch(() => [] as CurvePoint[]);
  const points = [...kept.filter((p) => !measured.has(id(p))), ...fresh];
  const subtitle =
    `${started.toISOString().slice(0, 16).replace("T", " ")} UTC · ` +
    `${
      opts.rounds === 1 ? "one pass" : `median of ${opts.rounds} rounds`
    }, --messages=${opts.messages} · ${navigator.hardwareConcurrency} cores, client and Kafka ${
      Deno.env.get("KAFKA_VERSION") || DEFAULT_KAFKA_VERSION
    } broker on one machine (loopback)`;
  await writeAtomic(
    join(opts.out, "curves.json"),
    JSON.stringify(points, null, 2) + "\n",
  );
  for (const curve of ["partitions", "sizes"] as const) {
    if (!ran.has(curve)) continue;
    await writeAtomic(
      join(opts.out, `curves-${curve}.svg`),
      curvesChart(points, curve, keys, subtitle, opts.messages),
    );
  }
}

/** The curves' default clients (keys matched as --clients does). */
const CURVE_CLIENTS = [
  "streamkafka/deno",
  "kafkajs",
  "platformatic",
  "kafkats",
  "kcat",
];

/** The fewest messages at a size point: 300, 100 under 300,000 (--quick). */
function curveFloor(messages: number): number {
  return messages >= 300_000 ? 300 : 100;
}

async function writeAtomic(path: string, content: string): Promise<void> {
  const temporary = `${path}.tmp`;
  await Deno.writeTextFile(temporary, content);
  await Deno.rename(temporary, path);
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

/**
 * The file system and folder of the broker's data, as "tmpfs (/dev/shm/...)",
 * and the mount point that holds it: the longest of /proc/mounts that holds
 * the folder.
 */
async function brokerDataPlace(): Promise<{ place: string; mount: string }> {
  const version = Deno.env.get("KAFKA_VERSION") || DEFAULT_KAFKA_VERSION;
  const dir = brokerDataDir(version);
  const real = await Deno.realPath(dir).catch(() => dir);
  const mounts = await Deno.readTextFile("/proc/mounts").catch(() => "");
  let point = "";
  let type = "unknown";
  for (const line of mounts.split("\n")) {
    const [, at, fs] = line.split(" ");
    if (at === undefined || fs === undefined) continue;
    const holds = real === at || real.startsWith(at === "/" ? at : `${at}/`);
    if (holds && at.length >= point.length) {
      point = at;
      type = fs;
    }
  }
  return { place: `${type} (${real})`, mount: point };
}
