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
  /** Consume workloads read one of the pre-filled topics. */
  source?: "consume1" | "consume6";
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
    messages: Math.round(base / 20),
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

/** Messages per array-API call: a full batch, capped by batchBytes. */
export function chunkOf(workload: Workload): number {
  const byBytes = Math.floor(SETTINGS.batchBytes / workload.valueSize);
  return Math.max(1, Math.min(SETTINGS.batchMessages, byBytes));
}

/** One line describing a workload's settings, for tables and records. */
export function describe(workload: Workload): string {
  const parts = [
    `${workload.messages.toLocaleString("en-US")} x ${workload.valueSize} B`,
    `${workload.partitions} partition${workload.partitions > 1 ? "s" : ""}`,
  ];
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
    parts.push(`batch ${SETTINGS.batchMessages} msgs/${SETTINGS.batchBytes} B`);
  }
  if (workload.kind === "produce") {
    parts.push(
      `array calls of ${chunkOf(workload)} msgs, ${SETTINGS.window} in flight`,
    );
  }
  return parts.join(", ");
}
