/**
 * The project's performance targets, checked against one run's records:
 *
 * - 100 B produce and consume: at least 1.5x @platformatic/kafka's and 2x
 *   kafkajs's msgs/s, and within 1.25x of librdkafka (kcat) and Java;
 * - single-write p50 at most one broker round trip + 1 ms, the round trip
 *   being a bare `Conn.writeMessages` of the same message (acks=all);
 * - peak memory no higher than any JavaScript peer's, workload by workload.
 *
 * @module
 */

import type { ResultRecord } from "./_report.ts";

const THROUGHPUT = [
  "produce-100b-acks1",
  "produce-100b-acksall",
  "consume-1p",
  "consume-6p",
];

/** [client/runtime, ratio ours/theirs must reach]. */
const FLOORS: [string, number][] = [
  ["@platformatic/kafka/node", 1.5],
  ["kafkajs/node", 2],
  ["kcat/native", 1 / 1.25],
  ["java/jvm", 1 / 1.25],
];

const JS_PEERS = [
  "kafkajs/node",
  "@platformatic/kafka/node",
  "@kafkats/client/node",
];

export function targets(records: ResultRecord[]): string {
  const find = (key: string, workload: string) =>
    records.find((r) =>
      `${r.client}/${r.runtime}` === key && r.workload === workload
    );
  const lines = ["", "targets (PASS / MISS / ---- when a figure is missing):"];
  const line = (ok: boolean | undefined, text: string) =>
    lines.push(
      `  ${ok === undefined ? "----" : ok ? "PASS" : "MISS"}  ${text}`,
    );
  for (const runtime of ["deno", "bun"]) {
    const ours = `streamkafka/${runtime}`;
    if (!records.some((r) => `${r.client}/${r.runtime}` === ours)) continue;
    for (const workload of THROUGHPUT) {
      if (!find(ours, workload)) continue;
      const mine = find(ours, workload)?.msgs_per_s ?? null;
      for (const [peer, floor] of FLOORS) {
        const record = find(peer, workload);
        if (!record) continue;
        const theirs = record.msgs_per_s;
        const ratio = mine !== null && theirs ? mine / theirs : undefined;
        line(
          ratio === undefined ? undefined : ratio >= floor,
          `${ours} ${workload}: ${
            ratio === undefined ? "?" : ratio.toFixed(2)
          }x ${peer} (target >= ${floor.toFixed(2)}x)`,
        );
      }
    }
    const latency = find(ours, "latency");
    if (latency) {
      const roundTrip = Number(latency.notes?.conn_p50_ms ?? NaN);
      const p50 = latency.p50_ms;
      line(
        p50 === null || !Number.isFinite(roundTrip)
          ? undefined
          : p50 <= roundTrip + 1,
        `${ours} single write p50 ${p50?.toFixed(3) ?? "?"} ms; ` +
          `Conn round trip p50 ${
            Number.isFinite(roundTrip) ? roundTrip.toFixed(3) : "?"
          } ms (target <= round trip + 1 ms)`,
      );
    }
    const workloads = [...new Set(records.map((r) => r.workload))];
    for (const workload of workloads) {
      const mine = find(ours, workload)?.peak_rss_mb ?? null;
      const theirs = JS_PEERS
        .map((peer) => find(peer, workload)?.peak_rss_mb ?? null)
        .filter((v): v is number => v !== null);
      if (mine === null || theirs.length === 0) continue;
      const lowest = Math.min(...theirs);
      line(
        mine <= lowest,
        `${ours} ${workload} peak RSS ${mine.toFixed(0)} MiB; ` +
          `lowest JS peer ${lowest.toFixed(0)} MiB`,
      );
    }
  }
  return lines.join("\n");
}
