/**
 * `deno task fuzz`: mutates valid response frames and feeds them to every
 * generated response decoder, the consumer-protocol data decoders, the
 * record-batch reader (magic 0, 1 and 2, compressed or not) and every
 * codec's decompressor, and counts per target the frames, the decoder's
 * typed errors, the successes, the crashes (any other error), the decodes
 * over the time budget, the hangs and the largest allocation.
 *
 * Seeded and reproducible: frame `i` of a target depends on the seed, the
 * target's name and `i` only, so
 * `deno task fuzz --seed=S --target=T --from=I --count=1 --verbose` replays
 * one finding and prints its bytes and the error's stack.
 *
 * The targets run in a worker; the main thread watches a frame counter in
 * shared memory and ends the worker when one decode takes longer than
 * `--hang` seconds (a hang), reports the frame, and goes on from the next
 * one in a fresh worker.
 *
 * Usage:
 *   deno task fuzz [--seed=1] [--count=1000000] [--from=0]
 *     [--target=name[,name...]] [--budget=250] [--hang=10] [--list]
 *     [--verbose] [--json=path]
 *
 * Exits with 1 when any target crashed, hung or allocated more than its
 * frame allows.
 *
 * @example
 * ```sh
 * deno task fuzz --seed=7 --count=20000 --target=Fetch,records.v2
 * ```
 *
 * @module
 */

import { emptyStats, type TargetStats } from "./fuzz/engine.ts";
import type { Job, Reply } from "./fuzz/worker.ts";

/** The command line, parsed. *
 * @example
 * ```ts
 * import { type FuzzArgs, parseArgs } from "./fuzz.ts";
 *
 * const args: FuzzArgs = parseArgs(["--target=Fetch,Metadata"]);
 * console.log(args.targets); // [ "Fetch", "Metadata" ]
 * ```
 */
export interface FuzzArgs {
  /** The run's seed. */
  seed: number;
  /** Frames per target. */
  count: number;
  /** The first frame's index. */
  from: number;
  /** Target names (all when empty). */
  targets: string[];
  /** The time budget of one decode, in ms. */
  budgetMs: number;
  /** Seconds without progress that make a hang. */
  hangSeconds: number;
  /** Only list the targets. */
  list: boolean;
  /** Print every finding in full. */
  verbose: boolean;
  /** Where to write the results as JSON, if anywhere. */
  json: string | undefined;
}

/**
 * Parses `--name=value` flags.
 *
 * @example
 * ```ts
 * import { parseArgs } from "./fuzz.ts";
 *
 * console.log(parseArgs(["--seed=3", "--count=10"]).count); // 10
 * ```
 */
export function parseArgs(argv: readonly string[]): FuzzArgs {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const m = /^--([a-z]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new Error(`fuzz: unknown argument ${arg}`);
    flags.set(m[1], m[2] ?? "true");
  }
  const known = [
    "seed",
    "count",
    "from",
    "target",
    "budget",
    "hang",
    "list",
    "verbose",
    "json",
  ];
  for (const name of flags.keys()) {
    if (!known.includes(name)) throw new Error(`fuzz: unknown flag --${name}`);
  }
  const num = (name: string, def: number) => {
    const text = flags.get(name);
    if (text === undefined) return def;
    const n = Number(text.replaceAll("_", ""));
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new Error(`fuzz: --${name} must be a whole number, got ${text}`);
    }
    return n;
  };
  return {
    seed: num("seed", 1),
    count: num("count", 1_000_000),
    from: num("from", 0),
    targets: flags.get("target")?.split(",").filter(Boolean) ?? [],
    budgetMs: num("budget", 250),
    hangSeconds: num("hang", 10),
    list: flags.has("list"),
    verbose: flags.has("verbose"),
    json: flags.get("json"),
  };
}

/** A target's counts with the hangs the main thread saw. */
interface Row extends TargetStats {
  hangs: number[];
  seconds: number;
}

class Runner {
  private worker: Worker | undefined;
  private readonly progress = new Int32Array(new SharedArrayBuffer(8));
  private pending: ((reply: Reply) => void) | undefined;
  private readonly seed: number;

  constructor(seed: number) {
    this.seed = seed;
  }

  /** A fresh worker, its targets loaded; returns their names. */
  async start(): Promise<string[]> {
    this.worker?.terminate();
    const worker = new Worker(new URL("./fuzz/worker.ts", import.meta.url), {
      type: "module",
    });
    worker.onmessage = (e: MessageEvent<Reply>) => this.pending?.(e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      this.pending?.({ kind: "error", message: e.message });
    };
    this.worker = worker;
    const reply = await this.ask({
      init: { seed: this.seed, progress: this.progress.buffer },
    }, Infinity);
    if (reply.kind !== "ready") throw new Error(describeReply(reply));
    return reply.targets;
  }

  /**
   * Runs a job; resolves with its stats, or with "hang" and the frame's
   * index when a decode made no progress for `hangMs`.
   */
  run(
    job: Job,
    hangMs: number,
  ): Promise<Reply | { kind: "hang"; index: number }> {
    return this.ask({ job }, hangMs);
  }

  private ask(
    message: unknown,
    hangMs: number,
  ): Promise<Reply | { kind: "hang"; index: number }> {
    return new Promise((resolve) => {
      let last = Atomics.load(this.progress, 1);
      let since = Date.now();
      const timer = setInterval(() => {
        const tick = Atomics.load(this.progress, 1);
        if (tick !== last) {
          last = tick;
          since = Date.now();
        } else if (Date.now() - since > hangMs) {
          clearInterval(timer);
          this.pending = undefined;
          this.worker?.terminate();
          this.worker = undefined;
          resolve({ kind: "hang", index: Atomics.load(this.progress, 0) });
        }
      }, 200);
      this.pending = (reply) => {
        clearInterval(timer);
        this.pending = undefined;
        resolve(reply);
      };
      this.worker!.postMessage(message);
    });
  }

  stop(): void {
    this.worker?.terminate();
  }
}

function describeReply(reply: Reply | { kind: "hang"; index: number }): string {
  if (reply.kind === "error") return reply.message;
  return `unexpected reply ${reply.kind}`;
}

function merge(a: Row, b: TargetStats): void {
  a.frames += b.frames;
  a.typed += b.typed;
  a.ok += b.ok;
  a.crashes += b.crashes;
  a.slow += b.slow;
  a.overAlloc += b.overAlloc;
  if (b.slowestMs > a.slowestMs) {
    a.slowestMs = b.slowestMs;
    a.slowestIndex = b.slowestIndex;
  }
  if (b.largestAlloc > a.largestAlloc) {
    a.largestAlloc = b.largestAlloc;
    a.largestAllocFrame = b.largestAllocFrame;
  }
  a.findings.push(...b.findings.slice(0, Math.max(0, 20 - a.findings.length)));
}

function emptyRow(target: string): Row {
  return { ...emptyStats(target), hangs: [], seconds: 0 };
}

async function main(args: FuzzArgs): Promise<number> {
  const runner = new Runner(args.seed);
  const all = await runner.start();
  if (args.list) {
    console.log(all.join("\n"));
    runner.stop();
    return 0;
  }
  for (const name of args.targets) {
    if (!all.includes(name)) {
      runner.stop();
      throw new Error(`fuzz: no target ${name} (see --list)`);
    }
  }
  const names = args.targets.length ? args.targets : all;
  console.log(
    `fuzz: seed ${args.seed}, frames ${args.from}..${
      args.from + args.count - 1
    } of ${names.length} targets, budget ${args.budgetMs} ms, hang after ${args.hangSeconds} s`,
  );
  console.log(
    "target                                   frames      typed         ok crash  slow hang  alloc(frame)     slowest ms@index  frames/s",
  );
  const rows: Row[] = [];
  const started = Date.now();
  let failed = false;
  for (const name of names) {
    const row = emptyRow(name);
    const t0 = Date.now();
    let from = args.from;
    const end = args.from + args.count;
    while (from < end) {
      const reply = await runner.run({
        target: name,
        seed: args.seed,
        from,
        count: end - from,
        budgetMs: args.budgetMs,
      }, args.hangSeconds * 1000);
      if (reply.kind === "done") {
        merge(row, reply.stats);
        break;
      }
      if (reply.kind === "hang") {
        // Count the frames before the hung one as run: their outcomes died
        // with the worker, so run them again for the counts, then skip it.
        row.hangs.push(reply.index);
        console.log(
          `  HANG ${name} seed ${args.seed} index ${reply.index}: replay with --seed=${args.seed} --target=${name} --from=${reply.index} --count=1`,
        );
        await runner.start();
        if (reply.index > from) {
          const again = await runner.run({
            target: name,
            seed: args.seed,
            from,
            count: reply.index - from,
            budgetMs: args.budgetMs,
          }, args.hangSeconds * 1000);
          if (again.kind === "done") merge(row, again.stats);
        }
        row.frames++;
        from = reply.index + 1;
        continue;
      }
      throw new Error(describeReply(reply));
    }
    row.seconds = (Date.now() - t0) / 1000;
    rows.push(row);
    print(row, args);
    if (row.crashes || row.hangs.length || row.overAlloc) failed = true;
  }
  runner.stop();
  const total = rows.reduce((n, r) => n + r.frames, 0);
  const sum = (k: "crashes" | "slow" | "overAlloc") =>
    rows.reduce((n, r) => n + r[k], 0);
  const hangs = rows.reduce((n, r) => n + r.hangs.length, 0);
  console.log(
    `fuzz: ${total} frames in ${
      ((Date.now() - started) / 1000).toFixed(0)
    } s: ${sum("crashes")} crashes, ${hangs} hangs, ${
      sum("slow")
    } over the budget, ${
      sum("overAlloc")
    } over-allocations (seed ${args.seed})`,
  );
  if (args.json) {
    await Deno.writeTextFile(
      args.json,
      JSON.stringify({ ...args, rows }, null, 1) + "\n",
    );
  }
  return failed ? 1 : 0;
}

function print(row: Row, args: FuzzArgs): void {
  const pad = (v: string | number, n: number) => String(v).padStart(n);
  console.log(
    `${row.target.padEnd(38)} ${pad(row.frames, 8)} ${pad(row.typed, 10)} ${
      pad(row.ok, 10)
    } ${pad(row.crashes, 5)} ${pad(row.slow, 5)} ${pad(row.hangs.length, 4)} ${
      pad(`${row.largestAlloc}(${row.largestAllocFrame})`, 14)
    } ${pad(`${row.slowestMs.toFixed(1)}@${row.slowestIndex}`, 20)} ${
      pad((row.frames / Math.max(row.seconds, 0.001)).toFixed(0), 9)
    }`,
  );
  for (const f of row.findings.slice(0, args.verbose ? 20 : 3)) {
    console.log(
      `  ${f.kind.toUpperCase()} ${row.target} seed ${args.seed} index ${f.index}: ${
        args.verbose ? f.detail : f.detail.slice(0, 240)
      }`,
    );
    if (args.verbose) console.log(`    bytes: ${f.hex}`);
  }
}

if (import.meta.main) {
  try {
    Deno.exit(await main(parseArgs(Deno.args)));
  } catch (error) {
    console.error((error as Error).message);
    Deno.exit(2);
  }
}
