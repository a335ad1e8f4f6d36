/**
 * What a Reader reports through client telemetry (KIP-714,
 * lib/cluster/telemetry.ts), named as Java's consumer names the same
 * measures: records and bytes fetched (with their rates), the largest lag,
 * the partitions assigned, and the latency of Fetch and OffsetCommit
 * requests. The connection counts and the request latencies per broker
 * come from the telemetry itself.
 *
 * `records.consumed` counts records fetched and queued for the reader,
 * where Java counts them as `poll()` returns them: the two differ by what
 * waits in the queue (at most `queueCapacity` and about 2 × `maxBytes`).
 *
 * @module
 */

import type { Cluster } from "../cluster/cluster.ts";
import {
  type ClientTelemetry,
  clientTelemetry,
  type Sample,
} from "../cluster/telemetry.ts";
import { Fetch } from "../protocol/messages/fetch.ts";
import { OffsetCommit } from "../protocol/messages/offset_commit.ts";
import type { AttributeValue } from "../protocol/otlp.ts";
import type { FetchTally } from "./fetch_options.ts";
import type { ReaderOptions } from "./options.ts";

/** What the Reader's engine shows its telemetry. */
export interface ReaderMeasures {
  /** Records and bytes fetched, from the start. */
  readonly tally: FetchTally;
  /** The largest lag of a partition read; -1 when unknown. */
  maxLag(): number;
  /** In a group: the partitions assigned now. */
  assigned?(): number;
}

/** The Reader's telemetry, or null with `telemetry: false`. */
export function readerTelemetry(
  cluster: Cluster,
  options: ReaderOptions,
  measures: ReaderMeasures,
): ClientTelemetry | null {
  return clientTelemetry(cluster, options, {
    kind: "consumer",
    latencies: {
      [Fetch.key]: "consumer.fetch.manager.fetch.latency",
      [OffsetCommit.key]: "consumer.coordinator.commit.latency",
    },
    sample: () => {
      const samples: Sample[] = [
        {
          name: "consumer.fetch.manager.records.consumed.total",
          type: "sum",
          value: measures.tally.records,
          description: "Records fetched for the reader",
        },
        {
          name: "consumer.fetch.manager.bytes.consumed.total",
          type: "sum",
          value: measures.tally.bytes,
          description: "Key and value bytes fetched for the reader",
        },
      ];
      const lag = measures.maxLag();
      if (lag >= 0) {
        samples.push({
          name: "consumer.fetch.manager.records.lag.max",
          type: "gauge",
          value: lag,
          description: "The largest lag, in records, of a partition read",
        });
      }
      if (measures.assigned !== undefined) {
        samples.push({
          name: "consumer.coordinator.assigned.partitions",
          type: "gauge",
          value: measures.assigned(),
          description: "Partitions assigned to this member",
        });
      }
      return samples;
    },
    attributes: () => {
      const all: Record<string, AttributeValue> = {};
      if (options.groupId !== undefined) all.group_id = options.groupId;
      if (options.groupInstanceId !== undefined) {
        all.group_instance_id = options.groupInstanceId;
      }
      if (options.rack !== undefined) all.client_rack = options.rack;
      return all;
    },
  });
}
