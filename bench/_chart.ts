/**
 * `bench/results/chart.svg`, written by hand: for each workload, one bar per
 * client showing how it compares with streamkafka on Deno, on a log scale
 * centred on 1x. Right of 1x means faster than streamkafka on Deno (higher
 * msgs/s, or for the latency workload a lower p50).
 *
 * @module
 */

import { BASELINE, isLatency, type ResultRecord, shortKey } from "./_report.ts";
import type { Workload } from "./_workloads.ts";

/** Each client's colour, in this chart and the curves' charts. */
export const COLORS: Record<string, string> = {
  "streamkafka/bun": "#f28e2b",
  "kafkajs/node": "#59a14f",
  "@platformatic/kafka/node": "#b07aa1",
  "@kafkats/client/node": "#edc948",
  "kcat/native": "#4e79a7",
  "java/jvm": "#e15759",
  "kafka-go/go": "#76b7b2",
};

const FOOTNOTES = [
  "Latency: Java's ProducerPerformance reports whole milliseconds; kcat cannot time awaited writes.",
  "Consume: kafkajs, platformatic and Java include joining a consumer group.",
  "Group: every client joins a fresh group as its one member and commits as it does by default.",
  "Mirror: read as in group, written to a fresh topic, timed to the last acknowledgement; kcat is kcat -G | kcat -P.",
];

const WIDTH = 960;
const LABEL_X = 16;
const PLOT_LEFT = 140;
const PLOT_RIGHT = 880;
const BAR = 13;
/** Width a ratio label such as "0.13x" needs beside its bar. */
const LABEL_ROOM = 36;
const GAP = 3;
/** log2 of the ends of the scale: 1/8x to 8x; longer bars end in an arrow. */
const SPAN = 3;

export function chart(
  records: ResultRecord[],
  workloads: Workload[],
  keys: string[],
  subtitle: string,
): string {
  const peers = keys.filter((k) =>
    k !== `${BASELINE.client}/${BASELINE.runtime}`
  );
  const x = (ratio: number) => {
    const clamped = Math.max(-SPAN, Math.min(SPAN, Math.log2(ratio)));
    return PLOT_LEFT +
      ((clamped + SPAN) / (2 * SPAN)) * (PLOT_RIGHT - PLOT_LEFT);
  };
  const parts: string[] = [];
  /** Where bars are drawn, so grid lines stay off the labels. */
  const segments: [number, number][] = [];
  let y = 96;
  const top = y - 10;
  for (const workload of workloads) {
    if (!records.some((r) => r.workload === workload.id)) continue;
    const base = records.find((r) =>
      r.workload === workload.id && r.client === BASELINE.client &&
      r.runtime === BASELINE.runtime
    );
    const reference = !base || base.rounds_ok === 0
      ? "streamkafka/deno: no result"
      : isLatency(workload.id)
      ? `streamkafka/deno p50 ${base.p50_ms?.toFixed(2)} ms`
      : `streamkafka/deno ${
        Math.round(base.msgs_per_s ?? 0).toLocaleString("en-US")
      } msg/s`;
    parts.push(
      `<text x="${LABEL_X}" y="${y + 11}"><tspan style="font-weight:600">${
        escape(workload.label)
      }</tspan><tspan dx="10" style="fill:#666;font-size:11px">${
        escape(reference)
      }</tspan></text>`,
    );
    y += 18;
    const bars = y - GAP;
    for (const key of peers) {
      const record = records.find((r) =>
        r.workload === workload.id && `${r.client}/${r.runtime}` === key
      );
      if (!record) continue;
      parts.push(
        text(
          PLOT_LEFT - 8,
          y + BAR - 2,
          shortKey(key),
          "font-size:11px;text-anchor:end;fill:#333",
        ),
      );
      const ratio = record.ratio_to_streamkafka_deno;
      const color = COLORS[key] ?? "#999";
      if (ratio === null || ratio <= 0) {
        parts.push(
          text(x(1) + 4, y + BAR - 2, why(record), "fill:#999;font-size:11px"),
        );
      } else {
        // Latency ratios are p50 over p50: invert so right means faster.
        const speed = isLatency(workload.id) ? 1 / ratio : ratio;
        const from = Math.min(x(1), x(speed));
        const width = Math.max(1, Math.abs(x(speed) - x(1)));
        parts.push(
          `<rect x="${f(from)}" y="${y}" width="${
            f(width)
          }" height="${BAR}" fill="${color}"><title>${
            escape(`${key}: ${speed.toFixed(2)}x`)
          }</title></rect>`,
        );
        // No room beside the bar (off the scale, or against the client
        // names): the label goes inside it, in white.
        const end = x(speed);
        const inside = speed < 1
          ? end - LABEL_ROOM < PLOT_LEFT
          : end + LABEL_ROOM > WIDTH;
        const right = speed >= 1 !== inside;
        parts.push(
          text(
            right ? x(speed) + 4 : x(speed) - 4,
            y + BAR - 2,
            `${speed.toFixed(2)}x`,
            `font-size:11px${right ? "" : ";text-anchor:end"}${
              inside ? ";fill:#fff" : ""
            }`,
          ),
        );
      }
      y += BAR + GAP;
    }
    segments.push([bars, y]);
    y += 14;
  }
  const bottom = y - 10;
  const grid: string[] = [];
  for (let power = -SPAN; power <= SPAN; power++) {
    const gx = f(x(2 ** power));
    const label = power < 0 ? `1/${2 ** -power}x` : `${2 ** power}x`;
    const stroke = power === 0
      ? `stroke="#333" stroke-width="1.5"`
      : `stroke="#ddd" stroke-width="1"`;
    for (const [from, to] of segments) {
      grid.push(
        `<line x1="${gx}" y1="${from}" x2="${gx}" y2="${to}" ${stroke}/>`,
      );
    }
    for (const ty of [top - 4, bottom + 14]) {
      grid.push(
        text(
          x(2 ** power),
          ty,
          label,
          "font-size:11px;text-anchor:middle;fill:#555",
        ),
      );
    }
  }
  const legend = peers.map((key, i) => {
    const lx = LABEL_X + i * 130;
    return `<rect x="${lx}" y="52" width="12" height="12" fill="${
      COLORS[key] ?? "#999"
    }"/>` + text(lx + 16, 62, shortKey(key), "font-size:12px");
  });
  const footnote = bottom + 34;
  const height = footnote + 16 * FOOTNOTES.length;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    text(
      LABEL_X,
      22,
      "Each client compared with streamkafka on Deno (log scale; right of 1x = faster)",
      "font-size:15px;font-weight:600",
    ),
    text(LABEL_X, 40, subtitle, "font-size:11px;fill:#555"),
    ...legend,
    ...grid,
    ...parts,
    ...FOOTNOTES.map((line, i) =>
      text(LABEL_X, footnote + 16 * i, line, "font-size:11px;fill:#555")
    ),
    `</svg>`,
    "",
  ].join("\n");
}

/** Why a bar is missing: not applicable, unsupported, or an error. */
function why(record: ResultRecord): string {
  const error = record.error ?? "";
  if (record.notes?.resolution) {
    return `p50 ${record.p50_ms} ms in ${record.notes.resolution} steps`;
  }
  if (/^not (measured|written)/.test(error)) return "n/a";
  if (error.startsWith("not installed")) return "not installed";
  if (/not implemented|unsupported/i.test(error)) return "unsupported";
  return "error";
}

/** An SVG `<text>` element at (x, y), its content escaped. */
export function text(
  x: number,
  y: number,
  content: string,
  style = "",
): string {
  const styled = style ? ` style="${style}"` : "";
  return `<text x="${f(x)}" y="${f(y)}"${styled}>${escape(content)}</text>`;
}

/** Text escaped for SVG content. */
export function escape(content: string): string {
  return content.replaceAll("&", "&amp;").replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;");
}

/** A coordinate, to one decimal. */
export function f(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}
