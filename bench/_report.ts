/**
 * From the rounds' samples to what people read: one record per client,
 * runtime and workload (median and spread over the rounds), a table on the
 * terminal, and `bench/results/latest.json`.
 *
 * @module
 */

import type { Workload } from "./_workloads.ts";

/** One client's run of one workload in one round. */
export interface Sample {
  client: string;
  runtime: string;
  workload: string;
  round: number;
  error?: string;
  /** The client cannot run this workload at all (not a failure). */
  skipped?: boolean;
  msgs_per_s?: number;
  mb_per_s?: number;
  p50_ms?: number;
  p99_ms?: number;
  peak_rss_mb?: number;
  /** The client process's CPU time (user + system). */
  cpu_s?: number;
  /** The broker's CPU time (user + system) during the client's run. */
  broker_cpu_s?: number;
  /** Cores other processes kept busy during the run (see _spawn.ts). */
  foreign_cores?: number;
  notes?: Record<string, string | number | boolean>;
}

/** One line of latest.json. */
export interface ResultRecord {
  client: string;
  runtime: string;
  workload: string;
  msgs_per_s: number | null;
  mb_per_s: number | null;
  p50_ms: number | null;
  p99_ms: number | null;
  peak_rss_mb: number | null;
  date: string;
  client_version: string;
  runtime_version: string;
  settings: string;
  rounds: number;
  rounds_ok: number;
  msgs_per_s_min: number | null;
  msgs_per_s_max: number | null;
  p50_ms_min: number | null;
  p50_ms_max: number | null;
  peak_rss_mb_min: number | null;
  peak_rss_mb_max: number | null;
  /** Median CPU seconds of the client process per run. */
  cpu_s: number | null;
  /**
   * Median client CPU per message, in whole nanoseconds: the process's user
   * and system CPU time (start-up and closing included) over the messages of
   * the run. Not given for latency runs, whose writes are few and awaited
   * one by one. The kernel counts CPU time in 10 ms ticks, so a run's figure
   * is good to 10 ms over its messages (100 ns per message at 100,000).
   */
  cpu_ns_per_msg: number | null;
  /**
   * Median broker CPU per message during the client's run, in whole
   * nanoseconds: what this client's requests (their size, count and batch
   * shape) cost the broker, which shares the machine's cores.
   */
  broker_cpu_ns_per_msg: number | null;
  /** cpu_ns_per_msg / streamkafka on Deno's, in the same run: lower is better. */
  cpu_ratio_to_streamkafka_deno: number | null;
  /** cpu_ns_per_msg / kcat's (librdkafka), in the same run: lower is better. */
  cpu_ratio_to_kcat: number | null;
  /** The most cores other processes used during any of these runs. */
  foreign_cores_max: number | null;
  /**
   * Against streamkafka on Deno in the same run: msgs/s ratio for throughput
   * workloads, p50 ratio for latency (peer / streamkafka either way).
   */
  ratio_to_streamkafka_deno: number | null;
  /** msgs/s / kcat's (librdkafka), in the same run: higher is better. */
  ratio_to_kcat: number | null;
  error: string | null;
  notes: Record<string, string | number | boolean> | null;
}

export const BASELINE = { client: "streamkafka", runtime: "deno" };
/** The native reference that every record is also compared with. */
export const KCAT = { client: "kcat", runtime: "native" };

export function aggregate(
  samples: Sample[],
  workloads: Workload[],
  peers: {
    client: string;
    runtime: string;
    clientVersion: string;
    runtimeVersion: string;
  }[],
  date: string,
  describe: (w: Workload) => string,
): ResultRecord[] {
  const records: ResultRecord[] = [];
  for (const workload of workloads) {
    for (const peer of peers) {
      const mine = samples.filter((s) =>
        s.workload === workload.id && s.client === peer.client &&
        s.runtime === peer.runtime
      );
      if (mine.length === 0) continue;
      const ok = mine.filter((s) => s.error === undefined);
      const stat = (pick: (s: Sample) => number | undefined) => {
        const values = ok.map(pick).filter((v): v is number =>
          typeof v === "number" && Number.isFinite(v)
        );
        if (values.length === 0) return { median: null, min: null, max: null };
        return {
          median: median(values),
          min: Math.min(...values),
          max: Math.max(...values),
        };
      };
      const rate = stat((s) => s.msgs_per_s);
      const p50 = stat((s) => s.p50_ms);
      const rss = stat((s) => s.peak_rss_mb);
      // Median CPU seconds over the messages, in whole nanoseconds; none
      // for latency runs, whose writes are few and awaited one by one.
      const nsPerMessage = (seconds: (s: Sample) => number | undefined) =>
        isLatency(workload.id) ? null : round(
          stat((s) => {
            const value = seconds(s);
            return value === undefined
              ? undefined
              : (value * 1e9) / workload.messages;
          }).median,
          0,
        );
      const errors = [...new Set(mine.map((s) => s.error).filter(Boolean))];
      records.push({
        client: peer.client,
        runtime: peer.runtime,
        workload: workload.id,
        msgs_per_s: round(rate.median, 0),
        mb_per_s: round(stat((s) => s.mb_per_s).median, 2),
        p50_ms: round(p50.median, 3),
        p99_ms: round(stat((s) => s.p99_ms).median, 3),
        peak_rss_mb: round(rss.median, 1),
        date,
        client_version: peer.clientVersion,
        runtime_version: peer.runtimeVersion,
        settings: describe(workload),
        rounds: mine.length,
        rounds_ok: ok.length,
        msgs_per_s_min: round(rate.min, 0),
        msgs_per_s_max: round(rate.max, 0),
        p50_ms_min: round(p50.min, 3),
        p50_ms_max: round(p50.max, 3),
        peak_rss_mb_min: round(rss.min, 1),
        peak_rss_mb_max: round(rss.max, 1),
        cpu_s: round(stat((s) => s.cpu_s).median, 2),
        cpu_ns_per_msg: nsPerMessage((s) => s.cpu_s),
        broker_cpu_ns_per_msg: nsPerMessage((s) => s.broker_cpu_s),
        cpu_ratio_to_streamkafka_deno: null,
        cpu_ratio_to_kcat: null,
        foreign_cores_max: round(
          Math.max(0, ...mine.map((s) => s.foreign_cores ?? 0)),
          2,
        ),
        ratio_to_streamkafka_deno: null,
        ratio_to_kcat: null,
        error: errors.length ? errors.join("; ") : null,
        notes: ok.at(-1)?.notes ?? mine.at(-1)?.notes ?? null,
      });
    }
  }
  for (const record of records) {
    const base = records.find((r) =>
      r.workload === record.workload && r.client === BASELINE.client &&
      r.runtime === BASELINE.runtime
    );
    const latency = isLatency(record.workload);
    // Whole milliseconds (Java's tool) say nothing next to 0.1 ms figures.
    if (latency && record.notes?.resolution) continue;
    const mine = latency ? record.p50_ms : record.msgs_per_s;
    const theirs = latency ? base?.p50_ms : base?.msgs_per_s;
    record.ratio_to_streamkafka_deno = mine !== null && theirs
      ? round(mine / theirs, 3)
      : null;
    record.cpu_ratio_to_streamkafka_deno = cpuRatio(record, base);
    // kcat times no single writes: no latency ratio.
    const kcat = latency
      ? undefined
      : records.find((r) =>
        r.workload === record.workload && r.client === KCAT.client &&
        r.runtime === KCAT.runtime
      );
    record.ratio_to_kcat = record.msgs_per_s !== null && kcat?.msgs_per_s
      ? round(record.msgs_per_s / kcat.msgs_per_s, 3)
      : null;
    record.cpu_ratio_to_kcat = cpuRatio(record, kcat);
  }
  return records;
}

/** mine / theirs CPU per message, when both are known. */
function cpuRatio(
  mine: ResultRecord,
  theirs: ResultRecord | undefined,
): number | null {
  const cpu = theirs?.cpu_ns_per_msg;
  return mine.cpu_ns_per_msg !== null && cpu
    ? round(mine.cpu_ns_per_msg / cpu, 3)
    : null;
}

export function isLatency(workloadId: string): boolean {
  return workloadId === "latency";
}

/** The terminal table: one block per workload, then a ratio matrix. */
export function table(
  records: ResultRecord[],
  workloads: Workload[],
  describe: (w: Workload) => string,
): string {
  const lines: string[] = [];
  const ratio = (value: number | null, width: number) =>
    lpad(value === null ? "-" : `${value.toFixed(2)}x`, width);
  for (const workload of workloads) {
    const rows = records.filter((r) => r.workload === workload.id);
    if (rows.length === 0) continue;
    const latency = workload.kind === "latency";
    lines.push("", `${workload.label}  (${describe(workload)})`);
    lines.push(
      "  " + [
        pad("client", 20),
        pad("runtime", 16),
        lpad("msgs/s", 10),
        lpad("min-max", 17),
        lpad("MB/s", 8),
        lpad("p50 ms", 8),
        lpad("p99 ms", 8),
        lpad("RSS MiB", 8),
        lpad(latency ? "p50 vs ours" : "vs ours", 11),
        lpad("vs kcat", 8),
        lpad("CPU ns/msg", 10),
        lpad("CPU vs ours", 11),
        lpad("CPU vs kcat", 11),
        lpad("broker ns", 9),
      ].join(" "),
    );
    for (const r of rows) {
      const cells = r.rounds_ok === 0
        ? [`${r.error ?? "no result"}`.slice(0, 90)]
        : [
          lpad(kilo(r.msgs_per_s), 10),
          lpad(
            r.msgs_per_s_min === null
              ? "-"
              : `${kilo(r.msgs_per_s_min)}-${kilo(r.msgs_per_s_max)}`,
            17,
          ),
          lpad(fixed(r.mb_per_s, 1), 8),
          lpad(fixed(r.p50_ms, 2), 8),
          lpad(fixed(r.p99_ms, 2), 8),
          lpad(fixed(r.peak_rss_mb, 0), 8),
          ratio(r.ratio_to_streamkafka_deno, 11),
          ratio(r.ratio_to_kcat, 8),
          lpad(fixed(r.cpu_ns_per_msg, 0), 10),
          ratio(r.cpu_ratio_to_streamkafka_deno, 11),
          ratio(r.cpu_ratio_to_kcat, 11),
          lpad(fixed(r.broker_cpu_ns_per_msg, 0), 9),
        ];
      const partial = r.rounds_ok > 0 && r.error
        ? `  (${r.rounds - r.rounds_ok} failed: ${r.error.slice(0, 60)})`
        : "";
      lines.push(
        "  " +
          [pad(r.client, 20), pad(r.runtime_version, 16), ...cells].join(" ") +
          partial,
      );
    }
  }
  return lines.join("\n");
}

/**
 * Workloads down, clients across, four blocks: msgs/s (for latency, p50)
 * and CPU per message, each as a ratio to streamkafka on Deno and to kcat.
 */
export function ratioMatrix(
  records: ResultRecord[],
  workloads: Workload[],
  keys: string[],
): string {
  const width = 13;
  const block = (
    title: string,
    pick: (r: ResultRecord) => number | null,
    skip: (w: Workload) => boolean,
    footnote: string,
  ): string[] => {
    const head = [pad(title, 26)]
      .concat(keys.map((k) => lpad(shortKey(k), width)));
    const lines = ["", head.join(" ")];
    for (const workload of workloads) {
      if (skip(workload)) continue;
      const cells = keys.map((key) => {
        const r = records.find((x) =>
          x.workload === workload.id && `${x.client}/${x.runtime}` === key
        );
        if (!r) return lpad("", width);
        const value = pick(r);
        if (value === null) return lpad(r.error ? "error" : "-", width);
        return lpad(`${value.toFixed(2)}x`, width);
      });
      lines.push([pad(workload.id, 26), ...cells].join(" "));
    }
    lines.push(footnote);
    return lines;
  };
  const kcat = keys.includes(`${KCAT.client}/${KCAT.runtime}`);
  return [
    ...block(
      "ratio to streamkafka/deno",
      (r) => r.ratio_to_streamkafka_deno,
      () => false,
      "(msgs/s of the client / msgs/s of streamkafka on Deno; for latency, p50 / p50: lower is better)",
    ),
    ...block(
      "CPU/msg ratio to ours",
      (r) => r.cpu_ratio_to_streamkafka_deno,
      (w) => isLatency(w.id),
      "(client CPU time per message / streamkafka on Deno's, start-up and closing included: lower is better)",
    ),
    ...(kcat
      ? [
        ...block(
          "msgs/s ratio to kcat",
          (r) => r.ratio_to_kcat,
          (w) => isLatency(w.id),
          "(msgs/s of the client / msgs/s of kcat (librdkafka): higher is better)",
        ),
        ...block(
          "CPU/msg ratio to kcat",
          (r) => r.cpu_ratio_to_kcat,
          (w) => isLatency(w.id),
          "(client CPU time per message / kcat's: lower is better)",
        ),
      ]
      : []),
  ].join("\n");
}

export function shortKey(key: string): string {
  return key.replace("@platformatic/kafka", "platformatic")
    .replace("@kafkats/client", "kafkats")
    .replace("/native", "").replace("/jvm", "").replace("/go", "")
    .replace("/node", "");
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? sorted[middle]
    : (sorted[middle - 1] + sorted[middle]) / 2;
}

function round(value: number | null, digits: number): number | null {
  if (value === null) return null;
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function kilo(value: number | null): string {
  if (value === null) return "-";
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return value.toFixed(0);
}

function fixed(value: number | null, digits: number): string {
  return value === null ? "-" : value.toFixed(digits);
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + " ".repeat(width - text.length);
}

function lpad(text: string, width: number): string {
  return text.length >= width ? text : " ".repeat(width - text.length) + text;
}
