/**
 * The OTLP encoding read back field by field with a minimal protobuf
 * reader (the broker's Java receiver decodes real pushes in
 * tests/telemetry_test.ts).
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeMetrics } from "./otlp.ts";

type Fields = Map<number, (bigint | Uint8Array)[]>;

/** Fields by number: varints and fixed64 as bigint, length-delimited as bytes. */
function fields(bytes: Uint8Array): Fields {
  const out: Fields = new Map();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let at = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n;; shift += 7n) {
      const b = bytes[at++];
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
    }
  };
  while (at < bytes.length) {
    const tag = Number(varint());
    const field = tag >> 3;
    let value: bigint | Uint8Array;
    switch (tag & 7) {
      case 0:
        value = varint();
        break;
      case 1:
        value = view.getBigUint64(at, true);
        at += 8;
        break;
      case 2: {
        const length = Number(varint());
        value = bytes.subarray(at, at + length);
        at += length;
        break;
      }
      default:
        throw new Error(`wire type ${tag & 7}`);
    }
    out.set(field, [...(out.get(field) ?? []), value]);
  }
  assert.equal(at, bytes.length);
  return out;
}

const one = (f: Fields, n: number) => {
  const all = f.get(n) ?? [];
  assert.equal(all.length, 1, `field ${n}`);
  return all[0];
};
const nested = (f: Fields, n: number) => fields(one(f, n) as Uint8Array);
const text = (v: bigint | Uint8Array) =>
  new TextDecoder().decode(v as Uint8Array);
const double = (v: bigint | Uint8Array) => {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, v as bigint, true);
  return view.getFloat64(0, true);
};

test("encodeMetrics writes MetricsData: resource, scope, a delta sum and a gauge", () => {
  const bytes = encodeMetrics({
    resource: { group_id: "g", flag: true, count: -3 },
    scope: { name: "streamkafka", version: "1.2.3" },
    metrics: [
      {
        name: "org.apache.kafka.producer.record.send.total",
        type: "sum",
        temporality: "delta",
        points: [{
          startTimeUnixNano: 5n,
          timeUnixNano: 7n,
          value: -2,
          integer: true,
        }],
      },
      {
        name: "org.apache.kafka.producer.node.request.latency.avg",
        description: "latency",
        type: "gauge",
        points: [{
          attributes: { node_id: "1" },
          timeUnixNano: 9n,
          value: 2.5,
        }],
      },
    ],
  });
  const resourceMetrics = nested(fields(bytes), 1);
  const resource = nested(resourceMetrics, 1);
  const attributes = (resource.get(1) ?? []).map((kv) => {
    const f = fields(kv as Uint8Array);
    return [text(one(f, 1)), fields(one(f, 2) as Uint8Array)] as const;
  });
  assert.deepEqual(attributes.map(([k]) => k), ["group_id", "flag", "count"]);
  assert.equal(text(one(attributes[0][1], 1)), "g"); // string_value
  assert.equal(one(attributes[1][1], 2), 1n); // bool_value
  // int_value: int64, so -3 is its two's complement as a 10-byte varint.
  assert.equal(BigInt.asIntN(64, one(attributes[2][1], 3) as bigint), -3n);

  const scopeMetrics = nested(resourceMetrics, 2);
  const scope = nested(scopeMetrics, 1);
  assert.equal(text(one(scope, 1)), "streamkafka");
  assert.equal(text(one(scope, 2)), "1.2.3");
  const [sum, gauge] = (scopeMetrics.get(2) ?? []).map((m) =>
    fields(m as Uint8Array)
  );

  assert.equal(
    text(one(sum, 1)),
    "org.apache.kafka.producer.record.send.total",
  );
  const sumData = nested(sum, 7);
  assert.equal(one(sumData, 2), 1n, "AGGREGATION_TEMPORALITY_DELTA");
  assert.equal(one(sumData, 3), 1n, "is_monotonic");
  const sumPoint = nested(sumData, 1);
  assert.equal(one(sumPoint, 2), 5n, "start_time_unix_nano");
  assert.equal(one(sumPoint, 3), 7n, "time_unix_nano");
  assert.equal(BigInt.asIntN(64, one(sumPoint, 6) as bigint), -2n, "as_int");

  assert.equal(text(one(gauge, 2)), "latency");
  const gaugePoint = nested(nested(gauge, 5), 1);
  assert.equal(gaugePoint.has(2), false, "no start time");
  assert.equal(double(one(gaugePoint, 4)), 2.5, "as_double");
  const kv = fields(one(gaugePoint, 7) as Uint8Array);
  assert.equal(text(one(kv, 1)), "node_id");
  assert.equal(text(one(fields(one(kv, 2) as Uint8Array), 1)), "1");
});

test("encodeMetrics grows its buffer past 256 bytes and writes long varint lengths", () => {
  const name = "x".repeat(300);
  const bytes = encodeMetrics({
    resource: {},
    scope: { name: "s", version: "v" },
    metrics: [{
      name,
      type: "gauge",
      points: [{ timeUnixNano: 1n, value: 1 }],
    }],
  });
  const metric = nested(nested(nested(fields(bytes), 1), 2), 2);
  assert.equal(text(one(metric, 1)), name);
});
