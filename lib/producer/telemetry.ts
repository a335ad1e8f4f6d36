/**
 * What a Writer reports through client telemetry (KIP-714,
 * lib/cluster/telemetry.ts), named as Java's producer names the same
 * measures: records sent and failed (with their rates), and the send
 * buffer's size and free bytes. The connection counts and the request
 * latencies per broker come from the telemetry itself.
 *
 * @module
 */

import type { Cluster } from "../cluster/cluster.ts";
import { type ClientTelemetry, clientTelemetry } from "../cluster/telemetry.ts";
import type { AttributeValue } from "../protocol/otlp.ts";
import type { WriterOptions } from "./options.ts";

/** What the Writer's engine shows its telemetry. */
export interface WriterMeasures {
  /** Messages acknowledged and messages failed, from the start. */
  totals(): { messages: number; errors: number };
  /** Bytes buffered now. */
  buffered(): number;
  /** The `maxBufferedBytes` limit. */
  readonly bufferLimit: number;
}

/** The Writer's telemetry, or null with `telemetry: false`. */
export function writerTelemetry(
  cluster: Cluster,
  options: WriterOptions,
  measures: WriterMeasures,
): ClientTelemetry | null {
  return clientTelemetry(cluster, options, {
    kind: "producer",
    sample: () => {
      const { messages, errors } = measures.totals();
      const buffered = measures.buffered();
      return [
        {
          name: "producer.record.send.total",
          type: "sum",
          value: messages,
          description: "Records sent and acknowledged",
        },
        {
          name: "producer.record.error.total",
          type: "sum",
          value: errors,
          description: "Records that failed",
        },
        {
          name: "producer.buffer.total.bytes",
          type: "gauge",
          value: measures.bufferLimit,
          description: "Bytes the Writer may buffer (maxBufferedBytes)",
        },
        {
          name: "producer.buffer.available.bytes",
          type: "gauge",
          value: Math.max(0, measures.bufferLimit - buffered),
          description: "Bytes of the buffer not in use",
        },
      ];
    },
    attributes: () => {
      const id = options.transactionalId;
      const all: Record<string, AttributeValue> = {};
      if (id !== undefined) all.transactional_id = id;
      return all;
    },
  });
}
