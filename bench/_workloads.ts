/**
 * The workloads and the settings every client gets. One table, so what the
 * harness prints at the start is what the clients were told.
 *
 * @module
 */

import type { Compression, Job } from "./clients/_common.ts";

export const BROKER = "127.0.0.1:9092";

/** The settings shared by every client where the client has the knob. */
export const SETTINGS = {
  /** linger.ms (Java, librdkafka), BatchTimeout (kafka-go), batchTimeout (ours). */
  lingerMs: 5,
  /** batch.num.messages (librdkafka), BatchSize (kafka-go), batchSize (ours). */
  batchMessages: 10_000,
  /** batch.size (Java, librdkafka), BatchBytes (kafka-go), batchBytes (ours). */
  batchBytes: 1_000_000,
  /** Calls of an array API (writeMessages, send) outstanding at once. */
  window: 5,
  /** Per partition: max.partition.fetch.bytes, MaxBytes, maxBytes. */
  fetchMaxBytes: 1_048_576,
  fetchMinBytes: 1,
  fetchMaxWaitMs: 500,
  /** Latency: unmeasured writes before the measured ones. */
  warmup: 500,
  /** Latency: ProducerPerformance's throttle, so each send finds it idle. */
  javaLatencyRate: 200,
} as const;

export type Kind = Job["kind"];

export interface Workload {
  id: string;
  /** A short label for tables and the chart. */
  label: string;
  kind: Kind;
  messages: number;
  valueSize: number;
  /** "random" values barely compress; "json" ones compress like real data. */
  values: "random" | "json";
  partitions: number;
  acks: 1 | -1;
  idempotent: boolean;
  compression: Compression;
  lingerMs: number;
  /**
   * Consume workloads read one of the pre-filled topics, named by this key
   * (one topic per key, filled once per run with the workload's messages).
   */
  source?: string;
  /** Producer batch bytes, when the messages outgrow SETTINGS.batchBytes. */
  batchBytes?: number;
  /** Topic configs that differ from the broker's defaults. */
  topicConfigs?: Record<string, string>;
  /** A point of a curve (`--curves`): which curve, and its x. */
  curve?: { name: "partitions" | "sizes"; x: number };
}

/**
 * Message counts scale with `base` (1,000,000 by default): 1 KiB and 10 KiB
 * values keep the bytes of the same order, codecs run on 1 KiB JSON-like
 * values, and latency takes `latencyWrites` single writes.
 */
export function workloads(base: number, latencyWrites: number): Workload[] {
  const produce = {
    kind: "produce" as const,
    partitions: 6,
    acks: 1 as const,
    idempotent: false,
    compression: "none" as const,
    lingerMs: SETTINGS.lingerMs,
    values: "random" as const,
  };
  const codec = (compression: Compression): Workload => ({
    ...produce,
    id: `produce-${compression}`,
    label: `produce 1 KiB JSON, ${compression}`,
    // As many as produce-1kib: at base / 20 a run took a quarter of a
    // second, which measured start-up (JIT, WASM, first metadata) more than
    // compression.
    messages: Math.round(base / 5),
    valueSize: 1024,
    values: "json",
    compression,
  });
  const consume = (partitions: 1 | 6): Workload => ({
    ...produce,
    id: `consume-${partitions}p`,
    label: `consume 100 B, ${partitions} partition${partitions > 1 ? "s" : ""}`,
    kind: "consume",
    messages: base,
    valueSize: 100,
    partitions,
    source: partitions === 1 ? "consume1" : "consume6",
  });
  return [
    {
      ...produce,
      id: "produce-100b-acks1",
      label: "produce 100 B, acks=1",
      messages: base,
      valueSize: 100,
    },
    {
      ...produce,
      id: "produce-100b-acksall",
      label: "produce 100 B, acks=all",
      messages: base,
      valueSize: 100,
      acks: -1,
      idempotent: true,
    },
    {
      ...produce,
      id: "produce-1kib",
      label: "produce 1 KiB, acks=1",
      messages: Math.round(base / 5),
      valueSize: 1024,
    },
    {
      ...produce,
      id: "produce-10kib",
      label: "produce 10 KiB, acks=1",
      messages: Math.round(base / 50),
      valueSize: 10240,
    },
    codec("gzip"),
    codec("snappy"),
    codec("lz4"),
    codec("zstd"),
    {
      ...produce,
      id: "latency",
      label: "single write, acks=all",
      kind: "latency",
      messages: latencyWrites,
      valueSize: 100,
      partitions: 1,
      acks: -1,
      idempotent: true,
      lingerMs: 0,
    },
    consume(1),
    consume(6),
    {
      ...consume(6),
      id: "group-6p",
      label: "group consume 100 B, 6 partitions, 1 member",
      kind: "group",
    },
    {
      ...consume(6),
      id: "mirror-6p",
      label: "mirror 100 B, 6 partitions to 6",
      kind: "mirror",
    },
  ];
}

/** Whether the workload reads one of the pre-filled topics. */
export function isConsume(workload: Pick<Workload, "kind">): boolean {
  return workload.kind === "consume" || workload.kind === "group" ||
    workload.kind === "mirror";
}

/** The curves' partition counts (100 B messages). */
export const CURVE_PARTITIONS = [1, 8, 64, 256, 1024];
/** The curves' value sizes (6 partitions). */
export const CURVE_SIZES = [10, 100, 1024, 10240, 102400, 1048576];

/**
 * The curves of `--curves`: produce and consume of 100 B messages over 1 to
 * 1024 partitions (`base` messages each), and of 10 B to 1 MiB values over 6
 * partitions, each size moving about `base` x 100 bytes (100 MB by default)
 * in at most 2 x `base` messages and at least `floor`. Values over half
 * SETTINGS.batchBytes get batches of two values; every topic accepts
 * batches of twice the batch bytes (max.message.bytes).
 */
export function curveWorkloads(base: number, floor: number): Workload[] {
  const common = {
    acks: 1 as const,
    idempotent: false,
    compression: "none" as const,
    lingerMs: SETTINGS.lingerMs,
    values: "random" as const,
  };
  const point = (
    name: "partitions" | "sizes",
    kind: "produce" | "consume",
    partitions: number,
    valueSize: number,
    messages: number,
  ): Workload => {
    const x = name === "partitions" ? partitions : valueSize;
    const size = valueSize >= 1024
      ? `${valueSize / 1024} KiB`.replace("1024 KiB", "1 MiB")
      : `${valueSize} B`;
    const big = 2 * valueSize > SETTINGS.batchBytes;
    const batchBytes = big ? 2 * valueSize + 4096 : undefined;
    return {
      ...common,
      id: `curve-${name}-${kind}-${x}`,
      label: `${kind} ${size}, ${partitions} partition${
        partitions > 1 ? "s" : ""
      }`,
      kind,
      messages,
      valueSize,
      partitions,
      ...(kind === "consume" ? { source: `c${partitions}p-${valueSize}` } : {}),
      ...(batchBytes ? { batchBytes } : {}),
      // Room for a whole array call in one batch, which the peers without
      // batching of their own send to a single partition as one (10,000
      // x 100 B is over the broker's default 1 MiB), and for two 1 MiB values.
      topicConfigs: {
        "max.message.bytes": String(2 * (batchBytes ?? SETTINGS.batchBytes)),
      },
      curve: { name, x },
    };
  };
  const out: Workload[] = [];
  for (const kind of ["produce", "consume"] as const) {
    for (const partitions of CURVE_PARTITIONS) {
      out.push(point("partitions", kind, partitions, 100, base));
    }
    for (const size of CURVE_SIZES) {
      const messages = Math.max(
        floor,
        Math.min(2 * base, Math.round((base * 100) / size)),
      );
      out.push(point("sizes", kind, 6, size, messages));
    }
  }
  return out;
}

/** Producer batch bytes of a workload. */
export function batchBytesOf(workload: Workload): number {
  return workload.batchBytes ?? SETTINGS.batchBytes;
}

/** Messages per array-API call: a full batch, capped by batchBytes. */
export function chunkOf(workload: Workload): number {
  const byBytes = Math.floor(batchBytesOf(workload) / workload.valueSize);
  return Math.max(1, Math.min(SETTINGS.batchMessages, byBytes));
}

/** One line describing a workload's settings, for tables and records. */
export function describe(workload: Workload): string {
  const parts = [
    `${workload.messages.toLocaleString("en-US")} x ${workload.valueSize} B`,
    `${workload.partitions} partition${workload.partitions > 1 ? "s" : ""}`,
  ];
  if (workload.topicConfigs) {
    parts.push(
      Object.entries(workload.topicConfigs).map(([k, v]) => `${k}=${v}`)
        .join(" "),
    );
  }
  if (isConsume(workload)) {
    parts.push(
      `fetch max ${SETTINGS.fetchMaxBytes} B/partition`,
      `min ${SETTINGS.fetchMinBytes} B`,
      `max wait ${SETTINGS.fetchMaxWaitMs} ms`,
    );
    if (workload.kind === "group") {
      parts.push("one member of a fresh group, committing as by default");
    }
    if (workload.kind !== "mirror") return parts.join(", ");
    parts.push(
      "one member of a fresh group, committing as by default",
      `written to a fresh ${workload.partitions}-partition topic`,
    );
  }
  parts.push(
    `acks=${workload.acks === 1 ? "1" : "all"}`,
    workload.idempotent ? "idempotent" : "not idempotent",
    `compression=${workload.compression}`,
    `linger=${workload.lingerMs} ms`,
  );
  if (workload.kind === "produce" || workload.kind === "mirror") {
    parts.push(
      `batch ${SETTINGS.batchMessages} msgs/${batchBytesOf(workload)} B`,
    );
  }
  if (workload.kind === "produce") {
    parts.push(
      `array calls of ${chunkOf(workload)} msgs, ${SETTINGS.window} in flight`,
    );
  }
  return parts.join(", ");
}
