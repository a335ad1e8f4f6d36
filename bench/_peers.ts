/**
 * The clients under the benchmark: how each one is installed (once, cached
 * in git-ignored folders), how a job becomes its command line, and how its
 * output becomes a measurement.
 *
 *   streamkafka  this package, on Deno and on Bun (bench/clients/streamkafka.ts)
 *   kafkajs, @platformatic/kafka, @kafkats/client  on Node 22+ from the npm
 *     package node-<os>-<arch>
 *   kcat  librdkafka's command-line client (apt package kcat)
 *   java  Apache Kafka's ProducerPerformance and ConsumerPerformance
 *   kafka-go  a small Go program in bench/kafka-go
 *
 * @module
 */

import { join } from "node:path";
import { DEFAULT_KAFKA_VERSION } from "../tools/kafka.ts";
import type { Job } from "./clients/_common.ts";
import { capture, type Spawned } from "./_spawn.ts";
import { isConsume, SETTINGS, type Workload } from "./_workloads.ts";

export const BENCH = new URL(".", import.meta.url).pathname;
const ROOT = join(BENCH, "..");
const NODE_VERSION = "22.23.3";

/** What a client run measured, before the harness adds rates. */
export interface Measured {
  messages: number;
  /** Undefined when the run's pace says nothing (a throttled tool). */
  seconds?: number;
  p50_ms?: number;
  p99_ms?: number;
  peak_rss_mb?: number;
  notes?: Record<string, string | number | boolean>;
}

export interface Command {
  command: string;
  args: string[];
  cwd?: string;
}

export interface Peer {
  /** "streamkafka", "kafkajs", ... as in the results. */
  client: string;
  /** "deno", "bun", "node", "go", "jvm", "native". */
  runtime: string;
  clientVersion: string;
  runtimeVersion: string;
  /** Why this client cannot run a workload at all, if it cannot. */
  skip(workload: Workload): string | undefined;
  command(job: Job, workload: Workload, files: Files): Command;
  parse(run: Spawned, job: Job, workload: Workload): Measured;
}

/** Files some peers read instead of the values file. */
export interface Files {
  /** kcat's stdin: the run's messages, one per line. */
  feed: string;
}

export function peerKey(peer: Pick<Peer, "client" | "runtime">): string {
  return `${peer.client}/${peer.runtime}`;
}

/** Every client key, in the order tables and the chart list them. */
export const PEER_KEYS = [
  "streamkafka/deno",
  "streamkafka/bun",
  "kafkajs/node",
  "@platformatic/kafka/node",
  "@kafkats/client/node",
  "kcat/native",
  "java/jvm",
  "kafka-go/go",
] as const;

/**
 * Installs (when needed) and describes the selected clients. A client that
 * cannot be installed is reported, not fatal: the others still run.
 */
export async function preparePeers(
  selected: (key: string) => boolean,
  log: (message: string) => void,
): Promise<{ peers: Peer[]; problems: { key: string; error: string }[] }> {
  const makers: Record<string, () => Promise<Peer>> = {
    "streamkafka/deno": streamkafkaDeno,
    "streamkafka/bun": streamkafkaBun,
    "kafkajs/node": () => nodePeer("kafkajs", "kafkajs.ts"),
    "@platformatic/kafka/node": () =>
      nodePeer("@platformatic/kafka", "platformatic.ts"),
    "@kafkats/client/node": () => nodePeer("@kafkats/client", "kafkats.ts"),
    "kcat/native": kcat,
    "java/jvm": java,
    "kafka-go/go": kafkaGo,
  };
  const peers: Peer[] = [];
  const problems: { key: string; error: string }[] = [];
  for (const key of PEER_KEYS) {
    if (!selected(key)) continue;
    const started = Date.now();
    try {
      const peer = await makers[key]();
      peers.push(peer);
      const took = Date.now() - started > 1000
        ? ` (${((Date.now() - started) / 1000).toFixed(1)} s)`
        : "";
      log(
        `${
          key.padEnd(26)
        } ${peer.clientVersion} on ${peer.runtimeVersion}${took}`,
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      problems.push({ key, error: message });
      log(`${key.padEnd(26)} UNAVAILABLE: ${message.split("\n")[0]}`);
    }
  }
  return { peers, problems };
}

// ---------------------------------------------------------------------------
// This client

async function packageVersion(): Promise<string> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  return `streamkafka ${config.version ?? "?"}`;
}

/**
 * Extra `deno run` flags for this client's runs, from BENCH_DENO_FLAGS
 * (space-separated), e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile
 * each run.
 */
function denoFlags(): string[] {
  return (Deno.env.get("BENCH_DENO_FLAGS") ?? "").split(" ").filter((f) =>
    f !== ""
  );
}

async function streamkafkaDeno(): Promise<Peer> {
  const client = join(BENCH, "clients", "streamkafka.ts");
  return {
    client: "streamkafka",
    runtime: "deno",
    clientVersion: await packageVersion(),
    runtimeVersion: `Deno ${Deno.version.deno}`,
    skip: () => undefined,
    command: (job) => ({
      command: Deno.execPath(),
      args: ["run", "-A", ...denoFlags(), client, JSON.stringify(job)],
      cwd: ROOT,
    }),
    parse: parseJsonLine,
  };
}

async function streamkafkaBun(): Promise<Peer> {
  const bun = await findTool("bun", [join(ROOT, ".tools/node_modules/.bin")]);
  const version = (await capture(bun, ["--version"])).trim();
  const client = join(BENCH, "clients", "streamkafka.ts");
  return {
    client: "streamkafka",
    runtime: "bun",
    clientVersion: await packageVersion(),
    runtimeVersion: `Bun ${version}`,
    skip: () => undefined,
    command: (job) => ({
      command: bun,
      args: ["run", client, JSON.stringify(job)],
      cwd: ROOT,
    }),
    parse: parseJsonLine,
  };
}

// ---------------------------------------------------------------------------
// Node peers

let nodeReady: Promise<string> | undefined;

/** Node 22+ from npm (node-<os>-<arch>) and the pinned packages, once. */
function installNode(): Promise<string> {
  nodeReady ??= (async () => {
    const arch = { x86_64: "x64", aarch64: "arm64" }[Deno.build.arch];
    const pkg = `node-${Deno.build.os}-${arch}`;
    const prefix = join(BENCH, ".node");
    const node = join(prefix, "node_modules", pkg, "bin", "node");
    const version = await capture(node, ["--version"]).catch(() => "");
    if (version.trim() !== `v${NODE_VERSION}`) {
      await capture("npm", [
        "install",
        "--prefix",
        prefix,
        "--no-save",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        `${pkg}@${NODE_VERSION}`,
      ]);
    }
    await capture(node, ["--version"]);
    const manifest = JSON.parse(
      await Deno.readTextFile(join(BENCH, "package.json")),
    );
    const pins = manifest.dependencies as Record<string, string>;
    for (const [name, pin] of Object.entries(pins)) {
      if ((await installedVersion(name)) !== pin) {
        const lock = await Deno.stat(join(BENCH, "package-lock.json"))
          .then(() => true, () => false);
        await capture("npm", [
          lock ? "ci" : "install",
          "--prefix",
          BENCH,
          "--no-audit",
          "--no-fund",
          "--loglevel=error",
        ]);
        break;
      }
    }
    return node;
  })();
  return nodeReady;
}

async function installedVersion(name: string): Promise<string | undefined> {
  try {
    const path = join(BENCH, "node_modules", name, "package.json");
    return JSON.parse(await Deno.readTextFile(path)).version;
  } catch {
    return undefined;
  }
}

async function nodePeer(name: string, script: string): Promise<Peer> {
  const node = await installNode();
  const client = join(BENCH, "clients", script);
  return {
    client: name,
    runtime: "node",
    clientVersion: `${name} ${await installedVersion(name)}`,
    runtimeVersion: `Node ${(await capture(node, ["--version"])).trim()}`,
    skip: () => undefined,
    command: (job) => ({
      command: node,
      args: ["--no-warnings", client, JSON.stringify(job)],
      cwd: BENCH,
    }),
    parse: parseJsonLine,
  };
}

// ---------------------------------------------------------------------------
// kafka-go

async function kafkaGo(): Promise<Peer> {
  const dir = join(BENCH, "kafka-go");
  const binary = join(dir, "bin", "kafka-go-bench");
  const sources = ["main.go", "go.mod", "go.sum"].map((f) => join(dir, f));
  const built = (await Deno.stat(binary).catch(() => undefined))?.mtime;
  let stale = !built;
  for (const source of sources) {
    const changed = (await Deno.stat(source)).mtime;
    if (built && changed && changed > built) stale = true;
  }
  if (stale) {
    await capture("go", ["build", "-o", binary, "."], { cwd: dir });
  }
  const goMod = await Deno.readTextFile(join(dir, "go.mod"));
  const version = /segmentio\/kafka-go (v\S+)/.exec(goMod)?.[1] ?? "?";
  const go = (await capture("go", ["version"])).split(" ")[2] ?? "?";
  return {
    client: "kafka-go",
    runtime: "go",
    clientVersion: `kafka-go ${version}`,
    runtimeVersion: go.replace(/^go/, "Go "),
    skip: (workload) =>
      workload.kind === "mirror"
        ? "not written: bench/kafka-go has no mirror loop"
        : undefined,
    command: (job) => ({ command: binary, args: [JSON.stringify(job)] }),
    parse: parseJsonLine,
  };
}

// ---------------------------------------------------------------------------
// kcat

async function kcat(): Promise<Peer> {
  let banner = await capture("kcat", ["-V"]).catch(() => "");
  if (!banner) {
    // Debian and Ubuntu package it; elsewhere install it by hand.
    await capture("apt-get", [
      "install",
      "-y",
      "--no-install-recommends",
      "kcat",
    ]);
    banner = await capture("kcat", ["-V"]);
  }
  const version = /Version (\S+)/.exec(banner)?.[1] ?? "?";
  const librdkafka = /librdkafka (\S+)/.exec(banner)?.[1] ?? "?";
  return {
    client: "kcat",
    runtime: "native",
    clientVersion: `kcat ${version}`,
    runtimeVersion: `librdkafka ${librdkafka}`,
    skip: (workload) =>
      workload.kind === "latency"
        ? "not measured: kcat cannot time single awaited writes"
        : undefined,
    command: (job, workload, files) => {
      const common = ["-b", job.brokers.join(","), "-t", job.topic];
      const fetch = [
        "-X",
        `fetch.min.bytes=${job.fetchMinBytes}`,
        "-X",
        `fetch.wait.max.ms=${job.fetchMaxWaitMs}`,
        "-X",
        `fetch.message.max.bytes=${job.fetchMaxBytes}`,
      ];
      const produce = [
        `acks=${job.acks === 1 ? "1" : "all"}`,
        `linger.ms=${job.lingerMs}`,
        `batch.size=${job.batchBytes}`,
        `batch.num.messages=${job.batchMessages}`,
        `compression.codec=${job.compression}`,
        `enable.idempotence=${job.idempotent}`,
        // librdkafka refuses messages over message.max.bytes (1,000,000).
        ...(job.batchBytes > 1_000_000
          ? [`message.max.bytes=${job.batchBytes}`]
          : []),
      ].flatMap((s) => ["-X", s]);
      // The balanced consumer (librdkafka's KafkaConsumer) as one member of
      // the job's group, printing each message as `format` says.
      const member = (format: string) => [
        "-b",
        job.brokers.join(","),
        "-G",
        job.group,
        "-X",
        "auto.offset.reset=earliest",
        "-c",
        String(job.messages),
        "-e",
        "-f",
        format,
        ...fetch,
        job.topic,
      ];
      if (workload.kind === "mirror") {
        // One member of a fresh group prints each value on a line, which a
        // producer reads from the pipe; it exits once it has delivered them.
        // The values hold no newline (they are stored one per line).
        return {
          command: "bash",
          args: [
            "-c",
            'set -o pipefail; c=(); while [ "$1" != -- ]; do c+=("$1"); ' +
            'shift; done; shift; kcat "${c[@]}" | kcat -P "$@"',
            "kcat",
            ...member("%s\\n"),
            "--",
            "-b",
            job.brokers.join(","),
            "-t",
            job.target,
            ...produce,
          ],
        };
      }
      if (workload.kind === "group") {
        // Committing as librdkafka does by default (auto-commit every 5 s
        // and on close).
        return { command: "kcat", args: member("") };
      }
      if (workload.kind === "consume") {
        return {
          command: "kcat",
          args: [
            "-C",
            ...common,
            "-o",
            "beginning",
            // Stop at the count, as the other consumers do, rather than
            // after one more fetch that waits out fetch.wait.max.ms.
            "-c",
            String(job.messages),
            "-e",
            // No output per message: the other consumers print nothing either.
            "-f",
            "",
            ...fetch,
          ],
        };
      }
      return {
        command: "bash",
        // exec: the pid the harness polls is kcat's own.
        args: [
          "-c",
          'feed=$1; shift; exec "$@" < "$feed"',
          "kcat",
          files.feed,
          "kcat",
          "-P",
          ...common,
          ...produce,
        ],
      };
    },
    parse: (run, job, workload) => {
      if (run.code !== 0) throw new Error(failure(run));
      // Every partition at its end before the count: too few messages.
      if (isConsume(workload) && /: exiting/.test(run.stderr)) {
        let read = 0;
        for (
          const m of run.stderr.matchAll(/Reached end of .* at offset (\d+)/g)
        ) {
          read += Number(m[1]);
        }
        throw new Error(`read ${read} messages, expected ${job.messages}`);
      }
      return {
        messages: job.messages,
        seconds: run.wallSeconds,
        ...(workload.kind === "group"
          ? { notes: { api: "-G (balanced consumer, auto-commit)" } }
          : workload.kind === "mirror"
          ? { notes: { api: "kcat -G ... -f '%s\\n' | kcat -P" } }
          : {}),
      };
    },
  };
}

// ---------------------------------------------------------------------------
// Java

async function java(): Promise<Peer> {
  const versionText = await capture("java", ["-version"]);
  const runtime = /version "([^"]+)"/.exec(versionText)?.[1] ?? "?";
  const kafkaVersion = Deno.env.get("KAFKA_VERSION") || DEFAULT_KAFKA_VERSION;
  const home = join(ROOT, ".kafka", kafkaVersion);
  const libs = join(home, "libs");
  const names: string[] = [];
  for await (const entry of Deno.readDir(libs)) names.push(entry.name);
  const tools = names.find((n) => /^kafka-tools-\d.*\.jar$/.test(n));
  if (!tools) {
    throw new Error(`no kafka-tools jar in ${libs}; run tools/kafka.ts up`);
  }
  const logConfig = join(home, "tools-log4j2.properties");
  // What kafka-producer-perf-test.sh and kafka-run-class.sh pass.
  const jvm = [
    "-Xmx512M",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
    `-Dlog4j2.configurationFile=${logConfig}`,
    "-cp",
    join(libs, "*"),
  ];
  return {
    client: "java",
    runtime: "jvm",
    clientVersion: `kafka-clients ${
      tools.replace(/^kafka-tools-|\.jar$/g, "")
    }`,
    runtimeVersion: `Java ${runtime}`,
    skip: (workload) =>
      workload.kind === "mirror"
        ? "not measured: the perf tools have no mirror (MirrorMaker is a Connect cluster)"
        : undefined,
    command: (job, workload) => {
      const bootstrap = ["--bootstrap-server", job.brokers.join(",")];
      if (isConsume(workload)) {
        return {
          command: "java",
          args: [
            ...jvm,
            "org.apache.kafka.tools.ConsumerPerformance",
            ...bootstrap,
            "--topic",
            job.topic,
            "--num-records",
            String(job.messages),
            "--group",
            job.group,
            "--fetch-size",
            String(job.fetchMaxBytes),
            "--timeout",
            "30000",
            "--hide-header",
            "--command-property",
            `fetch.min.bytes=${job.fetchMinBytes}`,
            `fetch.max.wait.ms=${job.fetchMaxWaitMs}`,
          ],
        };
      }
      const latency = workload.kind === "latency";
      const payload = workload.values === "json"
        ? ["--payload-file", job.valuesFile]
        : ["--record-size", String(job.valueSize)];
      return {
        command: "java",
        args: [
          ...jvm,
          "org.apache.kafka.tools.ProducerPerformance",
          ...bootstrap,
          "--topic",
          job.topic,
          "--num-records",
          String(job.messages + (latency ? job.warmup : 0)),
          ...(latency ? ["--warmup-records", String(job.warmup)] : []),
          ...payload,
          "--throughput",
          latency ? String(SETTINGS.javaLatencyRate) : "-1",
          "--command-property",
          `acks=${job.acks === 1 ? "1" : "all"}`,
          `linger.ms=${job.lingerMs}`,
          `batch.size=${job.batchBytes}`,
          `compression.type=${job.compression}`,
          `enable.idempotence=${job.idempotent}`,
        ],
      };
    },
    parse: (run, job, workload) => {
      if (run.code !== 0) throw new Error(failure(run));
      return isConsume(workload)
        ? parseConsumerPerformance(run.stdout, workload)
        : parseProducerPerformance(run.stdout, job, workload);
    },
  };
}

/**
 * The summary line of ProducerPerformance: "N records sent, R records/sec
 * (M MB/sec), A ms avg latency, X ms max latency, P ms 50th, ..., P ms 99th,
 * ...". With warmup records, the "steady state" line that follows it.
 */
function parseProducerPerformance(
  stdout: string,
  job: Job,
  workload: Workload,
): Measured {
  const pattern =
    /^(\d+) (steady state )?records sent, ([\d.]+) records\/sec.* (\d+) ms 50th, \d+ ms 95th, (\d+) ms 99th/gm;
  const lines = [...stdout.matchAll(pattern)];
  const line = lines.find((m) => m[2]) ?? lines.at(-1);
  if (!line) throw new Error(`no summary line in:\n${stdout.slice(-500)}`);
  const sent = Number(line[1]);
  const rate = Number(line[3]);
  if (workload.kind === "latency") {
    return {
      messages: sent,
      p50_ms: Number(line[4]),
      p99_ms: Number(line[5]),
      notes: {
        api: `ProducerPerformance at ${SETTINGS.javaLatencyRate} msg/s`,
        resolution: "1 ms",
      },
    };
  }
  if (sent !== job.messages) {
    throw new Error(`sent ${sent} records, expected ${job.messages}`);
  }
  return { messages: sent, seconds: sent / rate };
}

/**
 * ConsumerPerformance's CSV line: start.time, end.time, data.consumed.in.MB,
 * MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms,
 * fetch.MB.sec, fetch.nMsg.sec.
 */
function parseConsumerPerformance(
  stdout: string,
  workload: Workload,
): Measured {
  const line = stdout.trim().split("\n").filter((l) => /^\d{4}-/.test(l))
    .at(-1);
  const fields = line?.split(",").map((f) => f.trim());
  if (!fields || fields.length < 10) {
    throw new Error(`no result line in:\n${stdout.slice(-500)}`);
  }
  const messages = Number(fields[4]);
  const rate = Number(fields[5]);
  return {
    messages,
    seconds: messages / rate,
    notes: {
      api: workload.kind === "group"
        ? "ConsumerPerformance (group, auto-commit)"
        : "ConsumerPerformance (group)",
      rebalance_ms: Number(fields[6]),
    },
  };
}

// ---------------------------------------------------------------------------
// Shared

/** The last JSON line a client printed; `{"error": ...}` becomes an Error. */
function parseJsonLine(run: Spawned): Measured {
  const line = run.stdout.trim().split("\n").filter((l) => l.startsWith("{"))
    .at(-1);
  if (!line) throw new Error(failure(run));
  const parsed = JSON.parse(line);
  if (parsed.error) throw new Error(parsed.error);
  return parsed as Measured;
}

function failure(run: Spawned): string {
  if (run.timedOut) return "timed out";
  const tail = `${run.stdout}\n${run.stderr}`.trim().split("\n")
    .filter((l) => l.trim() !== "").slice(-6).join(" | ");
  return `exit ${run.code}: ${tail.slice(0, 600)}`;
}

/** `name` when it runs from PATH, else the first fallback folder holding it. */
async function findTool(name: string, fallbacks: string[]): Promise<string> {
  for (const candidate of [name, ...fallbacks.map((d) => join(d, name))]) {
    const runs = await capture(candidate, ["--version"]).then(
      () => true,
      () => false,
    );
    if (runs) return candidate;
  }
  throw new Error(`'${name}' not found on PATH or in ${fallbacks.join(", ")}`);
}
