/**
 * What every JavaScript benchmark client shares, whichever runtime runs it
 * (Deno, Bun or Node 22+ with type stripping): the job the harness hands
 * over, the values to write, the feeding loop, percentiles, the process's own
 * peak memory and the one JSON line it prints.
 *
 * No runtime imports: under Deno, `node:fs`, `node:process` and `node:buffer` load
 * its Node.js compatibility layer, which cost about 30 ms of CPU at start-up
 * (measured: a script importing the three took 57 ms of CPU against 26 for
 * an empty one), charged to the client's CPU per message like its own work,
 * though no client needs them there. So this file reads files, arguments and
 * the environment through `Deno` under Deno, and through Node's globals
 * (`process`, `Buffer`) under Bun and Node.
 *
 * @module
 */

// Types only: erased, nothing loads.
import type { Buffer } from "node:buffer";

interface DenoHost {
  args: string[];
  env: { get(name: string): string | undefined };
  readFileSync(path: string): Uint8Array;
  readTextFileSync(path: string): string;
  stdout: { writeSync(bytes: Uint8Array): number };
  exit(code: number): never;
}

interface NodeHost {
  argv: string[];
  env: Record<string, string | undefined>;
  stdout: { write(text: string, done: () => void): void };
  exit(code: number): never;
  getBuiltinModule(id: "node:fs"): {
    readFileSync(path: string): Uint8Array;
    readFileSync(path: string, encoding: "utf8"): string;
  };
}

interface BufferClass {
  from(buffer: ArrayBufferLike, offset: number, length: number): Buffer;
}

const deno = (globalThis as { Deno?: DenoHost }).Deno;
// Not even looked up under Deno: its `process` global is a getter that loads
// the compatibility layer (a script reading it took 46 ms of CPU against 27).
const node = deno ? undefined : (globalThis as { process?: NodeHost }).process;

/** The environment variable `name`. */
export function env(name: string): string | undefined {
  return deno ? deno.env.get(name) : node!.env[name];
}

function readFile(path: string): Uint8Array {
  return deno
    ? deno.readFileSync(path)
    : node!.getBuiltinModule("node:fs").readFileSync(path);
}

function readText(path: string): string {
  return deno
    ? deno.readTextFileSync(path)
    : node!.getBuiltinModule("node:fs").readFileSync(path, "utf8");
}

/** Writes `line` and a newline to stdout, then exits with `code`. */
function printAndExit(line: string, code: number): void {
  if (deno) {
    const bytes = new TextEncoder().encode(`${line}\n`);
    for (let at = 0; at < bytes.length;) {
      at += deno.stdout.writeSync(bytes.subarray(at));
    }
    deno.exit(code);
  }
  node!.stdout.write(`${line}\n`, () => node!.exit(code));
}

export type Compression = "none" | "gzip" | "snappy" | "lz4" | "zstd";

/** One run of one workload, as `bench/main.ts` describes it in argv[2]. */
export interface Job {
  /**
   * "consume" reads the topic without committing (through a group only
   * where the client needs one); "group" reads it as the one member of a
   * fresh consumer group that commits as the client does by default;
   * "mirror" reads `messages` from `topic` that way and writes them to
   * `target`, done when the last write is acknowledged.
   */
  kind: "produce" | "latency" | "consume" | "group" | "mirror";
  brokers: string[];
  topic: string;
  /** Partitions of the topic (produce spreads over them, consume reads all). */
  partitions: number;
  /** Messages to write, or to read in total. */
  messages: number;
  valueSize: number;
  /** Distinct values, one per line, each `valueSize` bytes; used in turn. */
  valuesFile: string;
  acks: 1 | -1;
  idempotent: boolean;
  compression: Compression;
  lingerMs: number;
  batchMessages: number;
  batchBytes: number;
  /** Messages per call for APIs that take an array (writeMessages, send). */
  chunk: number;
  /** Calls of `chunk` messages outstanding at once. */
  window: number;
  /** Latency: writes before the measured ones. */
  warmup: number;
  fetchMinBytes: number;
  /** Per partition. */
  fetchMaxBytes: number;
  fetchMaxWaitMs: number;
  /**
   * A fresh consumer group id: for "group" runs, and for peers that can only
   * consume through a group.
   */
  group: string;
  /** Mirror: the topic to write what was read to ("" otherwise). */
  target: string;
  /**
   * A point of `--curves`: a consume there reads as a user reading many
   * partitions would (ours: a group Reader, not a Reader per partition).
   */
  curve?: boolean;
  /**
   * Produce: this client only, when it fills the consume workloads' topics:
   * keyless messages one by one over the partitions (RoundRobin) instead of
   * the default balancer's runs of a batch, so that every partition holds
   * its share.
   */
  spread?: boolean;
}

/** The line a client prints; the harness adds rates from it. */
export interface Outcome {
  messages: number;
  seconds: number;
  p50_ms?: number;
  p99_ms?: number;
  peak_rss_mb: number;
  /** How the client did it (API used, extra figures). */
  notes?: Record<string, string | number | boolean>;
}

export function readJob(): Job {
  const arg = deno ? deno.args[0] : node!.argv[2];
  if (!arg) throw new TypeError("Missing the job: pass it as JSON in argv[2]");
  return JSON.parse(arg) as Job;
}

/** The distinct values of the job, split out of one file without copies. */
export function readValues(job: Job): Uint8Array[] {
  const file = readFile(job.valuesFile);
  const bytes = new Uint8Array(file.buffer, file.byteOffset, file.byteLength);
  const values: Uint8Array[] = [];
  const line = job.valueSize + 1;
  for (let at = 0; at + job.valueSize <= bytes.length; at += line) {
    values.push(bytes.subarray(at, at + job.valueSize));
  }
  if (values.length === 0) {
    throw new RangeError(
      `No ${job.valueSize}-byte values in ${job.valuesFile}`,
    );
  }
  return values;
}

/**
 * The job's values as Node Buffers (views of the same bytes), for the
 * clients whose APIs take them.
 */
export function readBuffers(job: Job): Buffer[] {
  const { Buffer } = globalThis as unknown as { Buffer: BufferClass };
  return readValues(job).map((value) =>
    Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  );
}

/**
 * Calls `send` over [0, job.messages) in slices of `job.chunk`, keeping at
 * most `job.window` calls unsettled: the application-side pipelining that
 * array APIs (writeMessages, send) need to keep a producer busy.
 */
export async function feed(
  job: Job,
  send: (from: number, to: number) => Promise<unknown>,
  window = job.window,
): Promise<void> {
  const pending = new Set<Promise<unknown>>();
  let failure: unknown;
  for (let from = 0; from < job.messages; from += job.chunk) {
    const call: Promise<unknown> = send(
      from,
      Math.min(job.messages, from + job.chunk),
    ).then(
      () => pending.delete(call),
      (error) => {
        failure ??= error;
        pending.delete(call);
      },
    );
    pending.add(call);
    if (pending.size >= window) await Promise.race(pending);
    if (failure !== undefined) throw failure;
  }
  await Promise.all(pending);
  if (failure !== undefined) throw failure;
}

/** Times `count` awaited single writes after `warmup` unmeasured ones. */
export async function timeWrites(
  count: number,
  warmup: number,
  write: (index: number) => Promise<unknown>,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await write(i);
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await write(warmup + i);
    samples.push(performance.now() - start);
  }
  return samples;
}

/**
 * The outcome of a latency run: p50 and p99 of the samples (ms), and as a
 * rate the writes per second of the measured writes back to back.
 */
export function latencyOutcome(
  samples: number[],
  notes: Record<string, string | number | boolean>,
): Omit<Outcome, "peak_rss_mb"> {
  const total = samples.reduce((a, b) => a + b, 0);
  return {
    messages: samples.length,
    seconds: total / 1000,
    p50_ms: percentile(samples, 50),
    p99_ms: percentile(samples, 99),
    notes,
  };
}

/** Nearest-rank percentile, in the samples' unit. */
export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** This process's peak resident set (VmHWM) in MiB; 0 off Linux. */
export function peakRssMb(): number {
  try {
    const status = readText("/proc/self/status");
    const kb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
    return kb / 1024;
  } catch {
    return 0;
  }
}

/** Prints the outcome as one JSON line, then exits (open sockets or not). */
export function finish(outcome: Omit<Outcome, "peak_rss_mb">): void {
  const line = JSON.stringify({ ...outcome, peak_rss_mb: peakRssMb() });
  printAndExit(line, 0);
}

/** Runs a client's main: any error becomes `{"error": ...}` and exit code 1. */
export function run(main: (job: Job) => Promise<void>): void {
  let job: Job;
  try {
    job = readJob();
  } catch (error) {
    fail(error);
    return;
  }
  main(job).catch(fail);
}

function fail(error: unknown): void {
  const message = error instanceof Error
    ? `${error.name}: ${error.message}`
    : String(error);
  const line = JSON.stringify({ error: message, peak_rss_mb: peakRssMb() });
  printAndExit(line, 1);
}
