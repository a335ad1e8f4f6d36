/**
 * The curves of `deno task bench --curves`: each client's figures along the
 * partition count (100 B messages) and along the value size, as
 * `results/curves.json` and two SVG charts drawn by hand in the style of
 * `_chart.ts`: per chart, a row for produce and one for consume, and panels
 * for throughput (msgs/s along partitions, MB/s along sizes), client CPU per
 * message and peak RSS, log scales on both axes.
 *
 * @module
 */

import { COLORS, escape, f, text } from "./_chart.ts";
import { BASELINE, type ResultRecord, shortKey } from "./_report.ts";
import type { Workload } from "./_workloads.ts";

/** One point of a curve: a result record and where it sits. */
export interface CurvePoint extends ResultRecord {
  curve: "partitions" | "sizes";
  /** Partitions, or value bytes. */
  x: number;
  kind: "produce" | "consume";
  messages: number;
  value_bytes: number;
  partitions: number;
}

/** The records of the curves' workloads, with their place on the curve. */
export function curvesRecords(
  records: ResultRecord[],
  workloads: Workload[],
): CurvePoint[] {
  const points: CurvePoint[] = [];
  for (const record of records) {
    const workload = workloads.find((w) => w.id === record.workload);
    if (!workload?.curve) continue;
    points.push({
      curve: workload.curve.name,
      x: workload.curve.x,
      kind: workload.kind === "produce" ? "produce" : "consume",
      messages: workload.messages,
      value_bytes: workload.valueSize,
      partitions: workload.partitions,
      ...record,
    });
  }
  return points;
}

const BASE_COLOR = "#222";
const WIDTH = 1080;
const LEFT = 16;
const PANEL_W = 280;
const PANEL_H = 190;
const PANEL_GAP = 80;
const PLOT_LEFT = 70;

interface Metric {
  title: string;
  value: (p: CurvePoint) => number | null;
  format: (v: number) => string;
}

const SI = (v: number) =>
  v >= 1e6
    ? `${+(v / 1e6).toPrecision(3)}M`
    : v >= 1e3
    ? `${+(v / 1e3).toPrecision(3)}k`
    : `${+v.toPrecision(3)}`;

function metrics(curve: "partitions" | "sizes"): Metric[] {
  const throughput: Metric = curve === "partitions"
    ? { title: "msgs/s", value: (p) => p.msgs_per_s, format: SI }
    : { title: "MB/s (values)", value: (p) => p.mb_per_s, format: SI };
  return [
    throughput,
    {
      title: "client CPU ns per message",
      value: (p) => p.cpu_ns_per_msg,
      format: SI,
    },
    { title: "peak RSS, MiB", value: (p) => p.peak_rss_mb, format: SI },
  ];
}

function xLabel(curve: "partitions" | "sizes", x: number): string {
  if (curve === "partitions") return String(x);
  if (x >= 1048576) return `${x / 1048576} MiB`;
  if (x >= 1024) return `${x / 1024} KiB`;
  return `${x} B`;
}

/**
 * One curve's chart: rows produce and consume, a panel per metric, a line
 * per client, and below them the points where a client failed.
 */
export function curvesChart(
  points: CurvePoint[],
  curve: "partitions" | "sizes",
  keys: string[],
  subtitle: string,
  base: number,
): string {
  const mine = points.filter((p) => p.curve === curve);
  const xs = [...new Set(mine.map((p) => p.x))].sort((a, b) => a - b);
  const baseKey = `${BASELINE.client}/${BASELINE.runtime}`;
  const color = (key: string) =>
    key === baseKey ? BASE_COLOR : COLORS[key] ?? "#999";
  const parts: string[] = [];
  const top = 90;
  const rows = ["produce", "consume"] as const;
  const xAt = (x: number) => {
    const lo = Math.log(xs[0]), hi = Math.log(xs.at(-1)!);
    return PLOT_LEFT + (hi === lo ? 0.5 : (Math.log(x) - lo) / (hi - lo)) *
        (PANEL_W - 20);
  };
  rows.forEach((kind, row) => {
    const rowTop = top + row * (PANEL_H + 70);
    metrics(curve).forEach((metric, column) => {
      const ox = LEFT + column * (PANEL_W + PANEL_GAP);
      const oy = rowTop + 20;
      const values = mine.filter((p) => p.kind === kind)
        .map(metric.value).filter((v): v is number => v !== null && v > 0);
      parts.push(
        text(ox, rowTop + 8, `${kind}: ${metric.title}`, "font-weight:600"),
      );
      if (values.length === 0) return;
      const lo = Math.floor(Math.log10(Math.min(...values)));
      const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...values))));
      const yAt = (v: number) =>
        oy + PANEL_H - ((Math.log10(v) - lo) / (hi - lo)) * PANEL_H;
      // Grid: decades, and 2 and 5 within them when few decades.
      for (let d = lo; d <= hi; d++) {
        for (const m of hi - lo <= 3 ? [1, 2, 5] : [1]) {
          const v = m * 10 ** d;
          if (Math.log10(v) > hi + 1e-9) continue;
          const y = yAt(v);
          parts.push(
            `<line x1="${f(ox + PLOT_LEFT)}" y1="${f(y)}" x2="${
              f(ox + PLOT_LEFT + PANEL_W - 20)
            }" y2="${f(y)}" stroke="${m === 1 ? "#ccc" : "#eee"}"/>`,
            text(
              ox + PLOT_LEFT - 6,
              y + 4,
              metric.format(v),
              "font-size:10px;text-anchor:end;fill:#555",
            ),
          );
        }
      }
      for (const x of xs) {
        const gx = ox + xAt(x);
        parts.push(
          `<line x1="${f(gx)}" y1="${oy}" x2="${f(gx)}" y2="${
            oy + PANEL_H
          }" stroke="#eee"/>`,
          text(
            gx,
            oy + PANEL_H + 14,
            xLabel(curve, x),
            "font-size:10px;text-anchor:middle;fill:#555",
          ),
        );
      }
      for (const key of keys) {
        const line = xs.map((x) =>
          mine.find((p) =>
            p.kind === kind && p.x === x && `${p.client}/${p.runtime}` === key
          )
        ).filter((p): p is CurvePoint =>
          p !== undefined && (metric.value(p) ?? 0) > 0
        );
        if (line.length === 0) continue;
        const coords = line.map((p) =>
          `${f(ox + xAt(p.x))},${f(yAt(metric.value(p)!))}`
        );
        const width = key === baseKey ? 2.5 : 1.5;
        parts.push(
          `<polyline points="${coords.join(" ")}" fill="none" stroke="${
            color(key)
          }" stroke-width="${width}"/>`,
          ...line.map((p, i) => {
            const [cx, cy] = coords[i].split(",");
            return `<circle cx="${cx}" cy="${cy}" r="2.5" fill="${
              color(key)
            }"><title>${
              escape(
                `${shortKey(key)} ${kind} ${xLabel(curve, p.x)}: ${
                  metric.format(metric.value(p)!)
                }`,
              )
            }</title></circle>`;
          }),
        );
      }
    });
  });
  const legend = keys.map((key, i) => {
    const lx = LEFT + i * 150;
    return `<rect x="${lx}" y="52" width="12" height="12" fill="${
      color(key)
    }"/>` + text(lx + 16, 62, shortKey(key), "font-size:12px");
  });
  const notes = [
    curve === "partitions"
      ? `${base.toLocaleString("en-US")} messages of 100 B per point, over ` +
        "a fresh topic (produce) or one filled beforehand (consume); x: partitions."
      : "6 partitions; about " +
        `${
          (base * 100 / 1e6).toLocaleString("en-US")
        } MB of values per point ` +
        "(fewer bytes at 10 B, more at 1 MiB: counts in curves.json); x: value size.",
    "CPU: the client process's user + system time (start-up included) over the messages.",
    ...mine.filter((p) => p.error && p.rounds_ok === 0).map((p) =>
      `failed: ${shortKey(`${p.client}/${p.runtime}`)} ${p.kind} ${
        xLabel(curve, p.x)
      }: ${p.error!.slice(0, 110)}`
    ),
  ];
  const foot = top + rows.length * (PANEL_H + 70) + 6;
  const height = foot + 16 * notes.length + 4;
  const title = curve === "partitions"
    ? "Produce and consume of 100 B messages by partition count (log scales)"
    : "Produce and consume by message size (log scales)";
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    text(LEFT, 22, title, "font-size:15px;font-weight:600"),
    text(LEFT, 40, subtitle, "font-size:11px;fill:#555"),
    ...legend,
    ...parts,
    ...notes.map((line, i) =>
      text(LEFT, foot + 16 * i, line, "font-size:11px;fill:#555")
    ),
    `</svg>`,
    "",
  ].join("\n");
}
