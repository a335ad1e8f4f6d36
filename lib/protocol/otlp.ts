/**
 * OpenTelemetry metrics in their protobuf form (OTLP `MetricsData`, from
 * opentelemetry/proto/metrics/v1/metrics.proto): what a KIP-714
 * PushTelemetry request carries. Only what client telemetry needs is
 * written: one resource with its attributes, one instrumentation scope, and
 * metrics that are gauges or sums of number points.
 *
 * Protobuf writes a nested message as a length and then its bytes, so each
 * message is encoded into a `Proto` of its own and then copied into its
 * parent. A push holds a few dozen metrics (a few KiB): the copies cost
 * nothing that matters, and the code stays a direct reading of the schema.
 *
 * @module
 */

/** An attribute's value. */
export type AttributeValue = string | number | boolean;

/** One value of a metric, with the attributes that tell it apart. */
export interface MetricPoint {
  /** Attributes such as `node_id` (OTLP's `attributes`). */
  attributes?: Readonly<Record<string, AttributeValue>> | undefined;
  /** Nanoseconds since the epoch when the measured interval began. */
  startTimeUnixNano?: bigint | undefined;
  /** Nanoseconds since the epoch when the value was taken. */
  timeUnixNano: bigint;
  /** The value; written as an integer (`as_int`) when `integer` is true. */
  value: number;
  /** Whether the value is a whole count rather than a measurement. */
  integer?: boolean | undefined;
}

/** A metric: a gauge (a value now) or a sum (a count, cumulative or delta). */
export interface Metric {
  /** The full name, for example `org.apache.kafka.producer.record.send.total`. */
  name: string;
  /** What it measures. */
  description?: string | undefined;
  /** Its unit, UCUM style ("ms", "1", "By"). */
  unit?: string | undefined;
  /** "gauge" or "sum". */
  type: "gauge" | "sum";
  /** For sums: counts since the previous push (delta) or since the start. */
  temporality?: "delta" | "cumulative" | undefined;
  /** For sums: whether it only grows. */
  monotonic?: boolean | undefined;
  /** Its values, one per attribute set. */
  points: readonly MetricPoint[];
}

/** What one push carries. */
export interface MetricsPayload {
  /** Attributes of the resource (the client instance). */
  resource: Readonly<Record<string, AttributeValue>>;
  /** The instrumentation scope: the client library. */
  scope: { name: string; version: string };
  /** The metrics. */
  metrics: readonly Metric[];
}

/** AggregationTemporality of metrics.proto. */
const TEMPORALITY = { delta: 1, cumulative: 2 } as const;

/** Protobuf wire types. */
const VARINT = 0;
const FIXED64 = 1;
const LENGTH = 2;

/** Appends protobuf fields to a growing buffer. */
class Proto {
  private bytes = new Uint8Array(256);
  private view = new DataView(this.bytes.buffer);
  private at = 0;

  /** The fields written so far. */
  finish(): Uint8Array {
    return this.bytes.subarray(0, this.at);
  }

  private reserve(n: number): void {
    if (this.at + n <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.at + n));
    grown.set(this.bytes.subarray(0, this.at));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  /** An unsigned varint of up to 2^53 - 1. */
  private varint(value: number): void {
    this.reserve(10);
    while (value >= 0x80) {
      this.bytes[this.at++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.bytes[this.at++] = value;
  }

  private tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  uint(field: number, value: number): this {
    this.tag(field, VARINT);
    this.varint(value);
    return this;
  }

  bool(field: number, value: boolean): this {
    return this.uint(field, value ? 1 : 0);
  }

  /** A signed 64-bit varint (`int64`): negatives take ten bytes. */
  int64(field: number, value: bigint): this {
    this.tag(field, VARINT);
    let v = BigInt.asUintN(64, value);
    this.reserve(10);
    while (v >= 0x80n) {
      this.bytes[this.at++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.bytes[this.at++] = Number(v);
    return this;
  }

  fixed64(field: number, value: bigint): this {
    this.tag(field, FIXED64);
    this.reserve(8);
    this.view.setBigUint64(this.at, BigInt.asUintN(64, value), true);
    this.at += 8;
    return this;
  }

  double(field: number, value: number): this {
    this.tag(field, FIXED64);
    this.reserve(8);
    this.view.setFloat64(this.at, value, true);
    this.at += 8;
    return this;
  }

  raw(field: number, bytes: Uint8Array): this {
    this.tag(field, LENGTH);
    this.varint(bytes.length);
    this.reserve(bytes.length);
    this.bytes.set(bytes, this.at);
    this.at += bytes.length;
    return this;
  }

  string(field: number, value: string): this {
    return this.raw(field, ENCODER.encode(value));
  }

  message(field: number, fill: (p: Proto) => void): this {
    const nested = new Proto();
    fill(nested);
    return this.raw(field, nested.finish());
  }
}

const ENCODER = new TextEncoder();

/** common.proto KeyValue, its AnyValue by the value's type. */
function keyValue(p: Proto, key: string, value: AttributeValue): void {
  p.string(1, key);
  p.message(2, (any) => {
    if (typeof value === "string") any.string(1, value);
    else if (typeof value === "boolean") any.bool(2, value);
    else if (Number.isInteger(value)) any.int64(3, BigInt(value));
    else any.double(4, value);
  });
}

function attributes(
  p: Proto,
  field: number,
  all: Readonly<Record<string, AttributeValue>> | undefined,
): void {
  for (const [key, value] of Object.entries(all ?? {})) {
    p.message(field, (kv) => keyValue(kv, key, value));
  }
}

/** metrics.proto NumberDataPoint. */
function numberPoint(p: Proto, point: MetricPoint): void {
  attributes(p, 7, point.attributes);
  if (point.startTimeUnixNano !== undefined) {
    p.fixed64(2, point.startTimeUnixNano);
  }
  p.fixed64(3, point.timeUnixNano);
  if (point.integer && Number.isSafeInteger(point.value)) {
    // as_int is sfixed64: eight little-endian bytes, two's complement.
    p.fixed64(6, BigInt(point.value));
  } else {
    p.double(4, point.value);
  }
}

function metric(p: Proto, m: Metric): void {
  p.string(1, m.name);
  if (m.description) p.string(2, m.description);
  if (m.unit) p.string(3, m.unit);
  const points = (q: Proto) => {
    for (const point of m.points) q.message(1, (n) => numberPoint(n, point));
  };
  if (m.type === "gauge") {
    p.message(5, points);
  } else {
    p.message(7, (sum) => {
      points(sum);
      sum.uint(2, TEMPORALITY[m.temporality ?? "cumulative"]);
      sum.bool(3, m.monotonic ?? true);
    });
  }
}

/**
 * Encodes metrics as an OTLP `MetricsData` message: one `ResourceMetrics`
 * with one `ScopeMetrics`.
 *
 * @example
 * ```ts
 * import { encodeMetrics } from "./otlp.ts";
 *
 * const bytes = encodeMetrics({
 *   resource: { client_rack: "eu-west-1a" },
 *   scope: { name: "streamkafka", version: "0.1.0" },
 *   metrics: [{
 *     name: "org.apache.kafka.producer.record.send.total",
 *     type: "sum",
 *     temporality: "delta",
 *     points: [{ timeUnixNano: 1_700_000_000_000_000_000n, value: 42, integer: true }],
 *   }],
 * });
 * console.log(bytes.length > 0); // true
 * ```
 */
export function encodeMetrics(payload: MetricsPayload): Uint8Array {
  return new Proto().message(1, (resourceMetrics) => {
    resourceMetrics.message(1, (r) => attributes(r, 1, payload.resource));
    resourceMetrics.message(2, (scopeMetrics) => {
      scopeMetrics.message(1, (scope) => {
        scope.string(1, payload.scope.name);
        scope.string(2, payload.scope.version);
      });
      for (const m of payload.metrics) {
        scopeMetrics.message(2, (q) => metric(q, m));
      }
    });
  }).finish();
}
