/**
 * What client telemetry's pushes say (lib/cluster/telemetry.ts sends them):
 * the connections opened and the request latencies per broker and per
 * request type since the last push, kept from the pool's reports; and the
 * sums as the broker last accepted them, from which each push's deltas and
 * `*.rate` gauges are made, as OTLP metrics (lib/protocol/otlp.ts).
 *
 * A push takes the latencies (`take()`); one that fails gives them back
 * (`giveBack()`), and only an accepted one moves the sums on
 * (`accepted()`). Deltas therefore run from the last accepted push, across
 * new subscriptions and lost brokers; only a change between delta and
 * cumulative sums starts them over.
 *
 * @module
 */

import type { AttributeValue, Metric } from "../protocol/otlp.ts";

/** One value a source reports; names are relative to the source's prefix. */
export interface Sample {
  /** For example "producer.record.send.total" (after "org.apache.kafka."). */
  name: string;
  /** "sum" for counts since the start (cumulative), "gauge" for a value now. */
  type: "sum" | "gauge";
  /** The value. */
  value: number;
  /** Attributes that tell this value apart (topic, partition...). */
  attributes?: Record<string, AttributeValue> | undefined;
  /** What it is. */
  description?: string | undefined;
}

/** Latencies since the last push. */
export interface Window {
  count: number;
  sum: number;
  max: number;
}

/** The latencies a push takes: per broker tag, and per API key. */
export interface Taken {
  nodes: Map<string, Window>;
  byApi: Map<number, Window>;
}

const PREFIX = "org.apache.kafka.";

/** The ledger of one client instance's telemetry. */
export class TelemetryLedger {
  private readonly startedAt = nowNanos();
  /** When the last accepted push was taken (ns): the start of the next delta. */
  private lastPushAt = this.startedAt;
  /** The sums as last accepted, by name and attributes. */
  private sent = new Map<string, number>();
  /** Whether the last subscription asked for deltas. */
  private delta: boolean | null = null;
  private connections = 0;
  private nodes = new Map<string, Window>();
  private byApi = new Map<number, Window>();
  /** Java's node tag ("node-1") of each pool node key. */
  private readonly tags = new Map<string, string>();
  private readonly kind: "producer" | "consumer";
  private readonly latencies: Readonly<Record<number, string>>;

  /**
   * For a source of `kind` whose request types in `latencies` (API key to
   * metric name) get latency metrics of their own.
   */
  constructor(
    kind: "producer" | "consumer",
    latencies: Readonly<Record<number, string>> = {},
  ) {
    this.kind = kind;
    this.latencies = latencies;
  }

  /** The pool opened a connection. */
  connected(): void {
    this.connections++;
  }

  /** A request to pool node `node` was answered after `ms`. */
  answered(node: string, apiKey: number, ms: number): void {
    record(this.nodes, this.tag(node), ms);
    if (this.latencies[apiKey] !== undefined) record(this.byApi, apiKey, ms);
  }

  /** A subscription came: deltas start over only if temporality changed. */
  subscribed(delta: boolean): void {
    if (this.delta !== null && this.delta !== delta) {
      this.sent.clear();
      this.lastPushAt = nowNanos();
    }
    this.delta = delta;
  }

  /** The latencies since the last push, for a push to carry. */
  take(): Taken {
    const taken = { nodes: this.nodes, byApi: this.byApi };
    this.nodes = new Map();
    this.byApi = new Map();
    return taken;
  }

  /** What a push that failed took, back for the next one. */
  giveBack(taken: Taken): void {
    merge(this.nodes, taken.nodes);
    merge(this.byApi, taken.byApi);
  }

  /** The push of `sums` taken at `now` was accepted. */
  accepted(sums: Map<string, number>, now: bigint): void {
    this.sent = sums;
    this.lastPushAt = now;
  }

  /** Java's tag of a node: "node-1"; its bootstrap nodes have negative ids. */
  private tag(node: string): string {
    let tag = this.tags.get(node);
    if (tag === undefined) {
      tag = node.startsWith("bootstrap:") ? "node--1" : `node-${node}`;
      this.tags.set(node, tag);
    }
    return tag;
  }

  /**
   * The metrics of a push at `now`: the source's `samples`, the connection
   * count and the latencies `taken` (per broker only with `perBroker`),
   * those whose names start with one of `prefixes` ("" or "*": all), sums
   * as deltas when `delta`; and the sums as the push would leave them.
   */
  collect(
    { prefixes, delta }: { prefixes: readonly string[]; delta: boolean },
    now: bigint,
    source: readonly Sample[],
    taken: Taken,
    perBroker: boolean,
  ): { metrics: Metric[]; sums: Map<string, number> } {
    const kind = this.kind;
    const seconds = Math.max(1e-3, Number(now - this.lastPushAt) / 1e9);
    const samples: Sample[] = [
      ...source,
      {
        name: `${kind}.connection.creation.total`,
        type: "sum",
        value: this.connections,
        description: "Connections opened",
      },
    ];
    for (const [node, w] of perBroker ? taken.nodes : []) {
      samples.push(...windowSamples(`${kind}.node.request.latency`, w, {
        node_id: node,
      }));
    }
    for (const [apiKey, w] of taken.byApi) {
      const name = this.latencies[apiKey];
      samples.push(...windowSamples(name, w));
    }
    const wanted = (name: string) =>
      prefixes.some((p) => p === "" || p === "*" || name.startsWith(p));
    const metrics: Metric[] = [];
    const sums = new Map<string, number>();
    for (const sample of samples) {
      const name = PREFIX + sample.name;
      const key = `${name} ${JSON.stringify(sample.attributes ?? {})}`;
      if (sample.type === "sum") {
        sums.set(key, sample.value);
        const before = this.sent.get(key) ?? 0;
        const rate = `${name.slice(0, -".total".length)}.rate`;
        if (name.endsWith(".total") && wanted(rate)) {
          metrics.push({
            name: rate,
            type: "gauge",
            description: sample.description &&
              `${sample.description}, per second`,
            points: [{
              attributes: sample.attributes,
              timeUnixNano: now,
              value: Math.max(0, sample.value - before) / seconds,
            }],
          });
        }
        if (!wanted(name)) continue;
        metrics.push({
          name,
          type: "sum",
          description: sample.description,
          temporality: delta ? "delta" : "cumulative",
          monotonic: true,
          points: [{
            attributes: sample.attributes,
            startTimeUnixNano: delta ? this.lastPushAt : this.startedAt,
            timeUnixNano: now,
            value: delta ? Math.max(0, sample.value - before) : sample.value,
            integer: true,
          }],
        });
      } else if (wanted(name)) {
        metrics.push({
          name,
          type: "gauge",
          description: sample.description,
          points: [{
            attributes: sample.attributes,
            timeUnixNano: now,
            value: sample.value,
          }],
        });
      }
    }
    return { metrics, sums };
  }
}

/** Adds the latencies of `from` into `into`. */
function merge<K>(into: Map<K, Window>, from: Map<K, Window>): void {
  for (const [key, w] of from) {
    const now = into.get(key);
    if (now === undefined) {
      into.set(key, w);
    } else {
      now.count += w.count;
      now.sum += w.sum;
      now.max = Math.max(now.max, w.max);
    }
  }
}

function record<K>(windows: Map<K, Window>, key: K, ms: number): void {
  const w = windows.get(key);
  if (w === undefined) {
    windows.set(key, { count: 1, sum: ms, max: ms });
    return;
  }
  w.count++;
  w.sum += ms;
  if (ms > w.max) w.max = ms;
}

/** The `.avg` and `.max` gauges of a latency window. */
function windowSamples(
  name: string,
  w: Window,
  attributes?: Record<string, AttributeValue>,
): Sample[] {
  return [
    {
      name: `${name}.avg`,
      type: "gauge",
      value: w.sum / w.count,
      attributes,
      description: "Average request latency in ms since the last push",
    },
    {
      name: `${name}.max`,
      type: "gauge",
      value: w.max,
      attributes,
      description: "Largest request latency in ms since the last push",
    },
  ];
}

/** Now, in nanoseconds since the epoch. */
export function nowNanos(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}
