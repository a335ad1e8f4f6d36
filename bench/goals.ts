/**
 * Issue 18's targets over several full runs: each target's figure in each
 * run, its median over them, and in how many runs it was met. One run on
 * this 2-core VM misses one target or another by a few percent of noise
 * (bench/README.md), so the median over runs is the steadier judge.
 *
 * ```sh
 * deno run -A bench/goals.ts                       # the 7 newest runs
 * deno run -A bench/goals.ts --last=3 --runtime=bun
 * deno run -A bench/goals.ts bench/results/run-2026-12-04-1*.json --markdown
 * deno run -A bench/goals.ts --missed   # only the targets some run missed
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { ResultRecord } from "./_report.ts";
import { type Check, checks } from "./_targets.ts";

const RESULTS = new URL("./results/", import.meta.url).pathname;

/** One target over the runs: its figure in each (undefined when absent). */
export interface Row {
  key: string;
  limit: number;
  atLeast: boolean;
  values: (number | undefined)[];
  median: number;
  met: number;
  runs: number;
}

/** The rows for `runs` (each a run's records), in first-seen order. */
export function rows(runs: ResultRecord[][], runtime: string): Row[] {
  const perRun = runs.map((records) =>
    new Map(checks(records, runtime).map((c) => [c.key, c]))
  );
  const keys = [...new Set(perRun.flatMap((m) => [...m.keys()]))];
  return keys.map((key) => {
    const found = perRun.map((m) => m.get(key));
    const present = found.filter((c): c is Check => c !== undefined);
    const { limit, atLeast } = present[present.length - 1];
    const median = medianOf(present.map((c) => c.value));
    return {
      key,
      limit,
      atLeast,
      values: found.map((c) => c?.value),
      median,
      met: present.filter((c) => c.ok).length,
      runs: present.length,
    };
  });
}

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function meets(row: Row, value: number): boolean {
  return row.atLeast ? value >= row.limit : value <= row.limit;
}

function format(row: Row, value: number | undefined): string {
  if (value === undefined) return "-";
  const digits = row.key.includes("MiB") ? 0 : 2;
  return value.toFixed(digits) + (meets(row, value) ? "" : " ✗");
}

/** The run files: those named, or the `last` newest in bench/results/. */
async function runFiles(named: string[], last: number): Promise<string[]> {
  if (named.length > 0) return named;
  const found: string[] = [];
  for await (const entry of Deno.readDir(RESULTS)) {
    if (/^run-\d{4}-\d\d-\d\d-\d{4}\.json$/.test(entry.name)) {
      found.push(RESULTS + entry.name);
    }
  }
  return found.sort().slice(-last);
}

async function main(): Promise<void> {
  const { values: opts, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      runtime: { type: "string", default: "deno" },
      last: { type: "string", default: "7" },
      markdown: { type: "boolean", default: false },
      missed: { type: "boolean", default: false },
    },
  });
  const last = Number(opts.last);
  if (!Number.isInteger(last) || last < 1) {
    throw new TypeError(
      `--last must be a whole number of runs (1 or more), got ${
        JSON.stringify(opts.last)
      }`,
    );
  }
  const files = await runFiles(positionals, last);
  if (files.length === 0) {
    throw new Error(`No run files: name some, or run the benchmark first`);
  }
  const runs = await Promise.all(
    files.map(async (f) => JSON.parse(await Deno.readTextFile(f))),
  );
  const names = files.map((f) =>
    f.match(/run-(\d{4}-\d\d-\d\d-\d{4})/)?.[1] ?? f
  );
  const table = rows(runs, opts.runtime);
  const header = [
    "target",
    "limit",
    ...names.map((n) => n.slice(5)),
    "median",
    "met",
  ];
  const shown = opts.missed ? table.filter((row) => row.met < row.runs) : table;
  const body = shown.map((row) => [
    row.key,
    (row.atLeast ? "≥ " : "≤ ") +
    row.limit.toFixed(row.key.includes("MiB") ? 0 : 2),
    ...row.values.map((v) => format(row, v)),
    format(row, row.median),
    `${row.met}/${row.runs}`,
  ]);
  const widths = header.map((h, i) =>
    Math.max(h.length, ...body.map((line) => line[i].length))
  );
  const show = (cells: string[]) =>
    opts.markdown
      ? `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`
      : cells.map((c, i) => c.padEnd(widths[i])).join("  ");
  console.log(show(header));
  if (opts.markdown) console.log(show(widths.map((w) => "-".repeat(w))));
  for (const line of body) console.log(show(line));
  const medianMisses = table.filter((row) => !meets(row, row.median));
  const allMet = runs.filter((_, i) =>
    table.every((row) => {
      const v = row.values[i];
      return v === undefined || meets(row, v);
    })
  ).length;
  console.log(
    `\nstreamkafka/${opts.runtime}, ${runs.length} runs: ` +
      `${
        table.length - medianMisses.length
      } of ${table.length} targets met by their median` +
      (medianMisses.length
        ? ` (missed: ${medianMisses.map((r) => r.key).join(", ")})`
        : "") +
      `; ${allMet} of ${runs.length} runs met every target.`,
  );
}

if (import.meta.main) await main();
