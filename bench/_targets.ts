/**
 * The project's performance targets (issue 18's), checked against one run's
 * records, and over several runs by `bench/goals.ts`:
 *
 * - every produce and consume workload: msgs/s at least 1.5x
 *   @platformatic/kafka's and @kafkats/client's, 2x kafkajs's, and 0.8x
 *   librdkafka's (kcat) and the Java perf tools';
 * - client CPU per message at most 1.2x kcat's for 100 B consume and 1.0x
 *   for 100 B produce;
 * - single-write p50 at most one broker round trip + 1 ms, the round trip
 *   being a bare `Conn.writeMessages` of the same message (acks=all);
 * - peak memory no higher than any JavaScript peer's, workload by workload.
 *
 * The last of issue 18's goals, `reader.batches()` at half the CPU a
 * message of `for await`, is measured by `bench/consume_cpu.ts`, not here,
 * and the least any consumer spends by `bench/consume_floor.ts`.
 *
 * @module
 */

import type { ResultRecord } from "./_report.ts";

/** The workloads whose msgs/s the floors apply to. */
export function isThroughput(workload: string): boolean {
  return workload.startsWith("produce-") || workload.startsWith("consume-");
}

/** [client/runtime, short name, ratio ours/theirs must reach]. */
export const FLOORS: readonly [string, string, number][] = [
  ["@platformatic/kafka/node", "platformatic", 1.5],
  ["@kafkats/client/node", "kafkats", 1.5],
  ["kafkajs/node", "kafkajs", 2],
  ["kcat/native", "kcat", 0.8],
  ["java/jvm", "Java", 0.8],
];

/** [workload, CPU a message ours ÷ kcat's must not exceed]. */
export const CPU_CEILINGS: readonly [string, number][] = [
  ["produce-100b-acks1", 1],
  ["produce-100b-acksall", 1],
  ["consume-1p", 1.2],
  ["consume-6p", 1.2],
];

const JS_PEERS = [
  "kafkajs/node",
  "@platformatic/kafka/node",
  "@kafkats/client/node",
];

/** One target checked against one run. */
export interface Check {
  /** Stable across runs, e.g. "produce-lz4 ÷ kcat" or "consume-1p CPU". */
  key: string;
  /** The figure compared (a ratio, a latency in ms or a peak RSS in MiB). */
  value: number;
  /** What it must reach (`atLeast`) or not exceed. */
  limit: number;
  atLeast: boolean;
  ok: boolean;
}

/** Every target that `records` has the figures for, for one runtime of ours. */
export function checks(records: ResultRecord[], runtime = "deno"): Check[] {
  const find = (key: string, workload: string) =>
    records.find((r) =>
      `${r.client}/${r.runtime}` === key && r.workload === workload
    );
  const ours = `streamkafka/${runtime}`;
  const out: Check[] = [];
  const add = (key: string, value: number, limit: number, atLeast: boolean) =>
    out.push({
      key,
      value,
      limit,
      atLeast,
      ok: atLeast ? value >= limit : value <= limit,
    });
  const workloads = [...new Set(records.map((r) => r.workload))];
  for (const workload of workloads.filter(isThroughput)) {
    const mine = find(ours, workload)?.msgs_per_s;
    if (!mine) continue;
    for (const [peer, name, floor] of FLOORS) {
      const theirs = find(peer, workload)?.msgs_per_s;
      if (theirs) add(`${workload} ÷ ${name}`, mine / theirs, floor, true);
    }
  }
  for (const [workload, ceiling] of CPU_CEILINGS) {
    const mine = find(ours, workload)?.cpu_ns_per_msg;
    const kcat = find("kcat/native", workload)?.cpu_ns_per_msg;
    if (mine && kcat) {
      add(`${workload} CPU ÷ kcat`, mine / kcat, ceiling, false);
    }
  }
  const latency = find(ours, "latency");
  const roundTrip = Number(latency?.notes?.conn_p50_ms ?? NaN);
  if (latency?.p50_ms != null && Number.isFinite(roundTrip)) {
    add("latency p50 (ms)", latency.p50_ms, roundTrip + 1, false);
  }
  for (const workload of workloads) {
    const mine = find(ours, workload)?.peak_rss_mb;
    const theirs = JS_PEERS
      .map((peer) => find(peer, workload)?.peak_rss_mb)
      .filter((v): v is number => typeof v === "number");
    if (typeof mine !== "number" || theirs.length === 0) continue;
    add(`${workload} peak RSS (MiB)`, mine, Math.min(...theirs), false);
  }
  return out;
}

/** The checks as lines for the terminal, misses marked. */
export function targets(records: ResultRecord[]): string {
  const lines = [
    "",
    "targets (issue 18; see bench/goals.ts for several runs):",
  ];
  for (const runtime of ["deno", "bun"]) {
    const found = checks(records, runtime);
    if (found.length === 0) continue;
    const misses = found.filter((c) => !c.ok);
    lines.push(
      `  streamkafka/${runtime}: ${
        found.length - misses.length
      } of ${found.length} met`,
    );
    for (const c of misses) {
      lines.push(
        `    MISS  ${c.key}: ${c.value.toFixed(2)} (${
          c.atLeast ? ">=" : "<="
        } ${c.limit.toFixed(2)})`,
      );
    }
  }
  return lines.join("\n");
}
