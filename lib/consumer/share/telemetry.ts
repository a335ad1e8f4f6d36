/**
 * What a ShareReader reports through client telemetry (KIP-714,
 * lib/cluster/telemetry.ts), named as Java's share consumer names the same
 * measures: records fetched, ShareFetch requests and their latency, and
 * acknowledgements sent and failed. The connection counts and the request
 * latencies per broker come from the telemetry itself.
 *
 * `records.consumed` counts records acquired and queued for the reader,
 * where Java counts them as `poll()` returns them.
 *
 * @module
 */

import type { Cluster } from "../../cluster/cluster.ts";
import {
  type ClientTelemetry,
  clientTelemetry,
} from "../../cluster/telemetry.ts";
import { ShareFetch } from "../../protocol/messages/share_fetch.ts";
import type { AttributeValue } from "../../protocol/otlp.ts";
import type { ShareFetcher } from "./fetcher.ts";
import type { ShareReaderOptions } from "./options.ts";

/** The ShareReader's telemetry, or null with `telemetry: false`. */
export function shareReaderTelemetry(
  cluster: Cluster,
  options: ShareReaderOptions,
  counters: ShareFetcher["counters"],
): ClientTelemetry | null {
  const prefix = "consumer.share.fetch.manager";
  return clientTelemetry(cluster, options, {
    kind: "consumer",
    latencies: { [ShareFetch.key]: `${prefix}.fetch.latency` },
    sample: () => [
      {
        name: `${prefix}.records.consumed.total`,
        type: "sum",
        value: counters.messages,
        description: "Records acquired for the reader",
      },
      {
        name: `${prefix}.fetch.total`,
        type: "sum",
        value: counters.fetches,
        description: "ShareFetch requests sent",
      },
      {
        name: `${prefix}.acknowledgements.send.total`,
        type: "sum",
        value: counters.acknowledged,
        description: "Acknowledgements the brokers took",
      },
      {
        name: `${prefix}.acknowledgements.error.total`,
        type: "sum",
        value: counters.acknowledgeFailures,
        description: "Acknowledgements refused or lost with a session",
      },
    ],
    attributes: () => {
      const all: Record<string, AttributeValue> = { group_id: options.groupId };
      if (options.rack !== undefined) all.client_rack = options.rack;
      return all;
    },
  });
}
