/**
 * Client telemetry against a scripted broker, for the answers a real one
 * does not give on demand: refusals, a small `telemetryMaxBytes`, a push
 * whose answer is lost, a changed subscription between two counts. The
 * real broker's side is in tests/telemetry_test.ts.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { BrokerConnection } from "../connection/connection.ts";
import { ConnectionError } from "../connection/errors.ts";
import { ErrorCode } from "../protocol/errors.ts";
import {
  GetTelemetrySubscriptions,
  type GetTelemetrySubscriptionsResponse,
} from "../protocol/messages/get_telemetry_subscriptions.ts";
import {
  PushTelemetry,
  type PushTelemetryRequest,
} from "../protocol/messages/push_telemetry.ts";
import { Cluster } from "./cluster.ts";
import { ClientTelemetry, type Sample } from "./telemetry.ts";

/** A metric as a push carried it: name, type and each point's value. */
interface Decoded {
  name: string;
  type: "gauge" | "sum";
  values: number[];
}

/** Length-delimited fields by number (enough to walk MetricsData). */
function fields(bytes: Uint8Array): Map<number, Uint8Array[]> {
  const out = new Map<number, Uint8Array[]>();
  let at = 0;
  const varint = () => {
    let v = 0;
    for (let scale = 1;; scale *= 128) {
      const b = bytes[at++];
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
    }
  };
  while (at < bytes.length) {
    const tag = varint();
    const wire = tag & 7;
    let value: Uint8Array;
    if (wire === 0) {
      const from = at;
      varint();
      value = bytes.subarray(from, at);
    } else if (wire === 1) {
      value = bytes.subarray(at, at + 8);
      at += 8;
    } else {
      const length = varint();
      value = bytes.subarray(at, at + length);
      at += length;
    }
    const field = Math.floor(tag / 8);
    out.set(field, [...(out.get(field) ?? []), value]);
  }
  return out;
}

function decode(bytes: Uint8Array): Decoded[] {
  const resource = fields(fields(bytes).get(1)![0]);
  const scope = fields(resource.get(2)![0]);
  return (scope.get(2) ?? []).map((m) => {
    const metric = fields(m);
    const name = new TextDecoder().decode(metric.get(1)![0]);
    const gauge = metric.get(5)?.[0];
    const data = fields(gauge ?? metric.get(7)![0]);
    const values = (data.get(1) ?? []).map((p) => {
      const point = fields(p);
      const asInt = point.get(6)?.[0];
      const view = (b: Uint8Array) =>
        new DataView(b.buffer, b.byteOffset, b.length);
      return asInt !== undefined
        ? Number(view(asInt).getBigInt64(0, true))
        : view(point.get(4)![0]).getFloat64(0, true);
    });
    return { name, type: gauge ? "gauge" : "sum", values };
  });
}

/** How the scripted broker answers the next request of each kind. */
type Answer<T> = Partial<T> | Error;

/** A Cluster whose one connection answers the telemetry requests as scripted. */
class ScriptedBroker extends Cluster {
  readonly gets: Answer<GetTelemetrySubscriptionsResponse>[] = [];
  readonly pushCodes: (number | Error)[] = [];
  readonly pushes: PushTelemetryRequest[] = [];
  getCount = 0;
  offers = true;
  private answered: ((node: string, apiKey: number, ms: number) => void)[] = [];

  constructor() {
    super({ brokers: ["fake:9092"] });
  }

  override listen(listener: {
    connected(node: string): void;
    answered(node: string, apiKey: number, ms: number): void;
  }): () => void {
    this.answered.push(listener.answered);
    return () => {
      this.answered = this.answered.filter((a) => a !== listener.answered);
    };
  }

  /** A request to broker 1 answered after `ms`, as the pool would tell. */
  latency(ms: number): void {
    for (const a of this.answered) a("1", 3, ms);
  }

  get listeners(): number {
    return this.answered.length;
  }

  override anyConnection(): Promise<BrokerConnection> {
    const keys = this.offers ? [71, 72] : [];
    return Promise.resolve({
      isClosed: false,
      apiVersions: () =>
        keys.map((apiKey) => ({ apiKey, minVersion: 0, maxVersion: 0 })),
      request: (api: unknown, data: unknown) => {
        if (api === GetTelemetrySubscriptions) {
          this.getCount++;
          const next = this.gets.shift() ?? {};
          if (next instanceof Error) return Promise.reject(next);
          return Promise.resolve({
            throttleTimeMs: 0,
            errorCode: 0,
            clientInstanceId: "AAAAAAAAAAAAAAAAAAAAAQ",
            subscriptionId: 7,
            acceptedCompressionTypes: [],
            pushIntervalMs: 100,
            telemetryMaxBytes: 1 << 20,
            deltaTemporality: true,
            requestedMetrics: [""],
            ...next,
          });
        }
        assert.equal(api, PushTelemetry);
        this.pushes.push(data as PushTelemetryRequest);
        const code = this.pushCodes.shift() ?? 0;
        if (code instanceof Error) return Promise.reject(code);
        return Promise.resolve({ throttleTimeMs: 0, errorCode: code });
      },
    } as unknown as BrokerConnection);
  }
}

/** A producer source whose record count the test sets. */
function source(count: { sent: number }) {
  return {
    kind: "producer" as const,
    sample: (): Sample[] => [{
      name: "producer.record.send.total",
      type: "sum",
      value: count.sent,
    }],
  };
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function sendTotals(broker: ScriptedBroker): number[] {
  return broker.pushes.map((p) =>
    decode(p.metrics).find((m) =>
      m.name === "org.apache.kafka.producer.record.send.total"
    )?.values[0] ?? -1
  );
}

describe("ClientTelemetry with a scripted broker", () => {
  test("deltas run from the last accepted push, through a new subscription and a lost answer", async () => {
    const broker = new ScriptedBroker();
    const count = { sent: 10 };
    const t = new ClientTelemetry({
      cluster: broker,
      source: source(count),
      retryMs: 50,
    });
    broker.pushCodes.push(
      0, // 10 accepted
      ErrorCode.UNKNOWN_SUBSCRIPTION_ID, // 15 refused: subscribe again
      new ConnectionError("cut"), // 15 lost: subscribe again
      0, // 15 accepted
    );
    t.start();
    await until("the first push", () => broker.pushes.length === 1);
    count.sent = 25;
    await until("four pushes", () => broker.pushes.length === 4);
    count.sent = 26;
    await until("five pushes", () => broker.pushes.length === 5);
    await t.close();
    assert.deepEqual(sendTotals(broker).slice(0, 5), [10, 15, 15, 15, 1]);
    assert.equal(broker.getCount, 3, "subscribed again twice");
    assert.equal(broker.pushes.at(-1)!.terminating, true);
  });

  test("a failed push keeps its latencies for the next", async () => {
    const broker = new ScriptedBroker();
    const t = new ClientTelemetry({
      cluster: broker,
      source: source({ sent: 0 }),
    });
    broker.latency(4);
    broker.latency(8);
    broker.pushCodes.push(ErrorCode.THROTTLING_QUOTA_EXCEEDED, 0);
    t.start();
    await until("two pushes", () => broker.pushes.length === 2);
    broker.latency(30);
    await t.close();
    const latency = (i: number) =>
      decode(broker.pushes[i].metrics).filter((m) =>
        m.name.startsWith("org.apache.kafka.producer.node.request.latency")
      ).map((m) => `${m.name.split(".").at(-1)}=${m.values[0]}`);
    assert.deepEqual(latency(0), ["avg=6", "max=8"]);
    assert.deepEqual(latency(1), ["avg=6", "max=8"], "the same, sent again");
    assert.deepEqual(latency(2), ["avg=30", "max=30"]);
  });

  test("a push past telemetryMaxBytes leaves the per-broker latencies out, or is not sent", async () => {
    const broker = new ScriptedBroker();
    const logged: string[] = [];
    broker.gets.push({ telemetryMaxBytes: 550 });
    const t = new ClientTelemetry({
      cluster: broker,
      source: source({ sent: 3 }),
      logger: (m) => logged.push(m),
    });
    broker.latency(5);
    t.start();
    await until("a push", () => broker.pushes.length === 1);
    await t.close();
    const first = decode(broker.pushes[0].metrics).map((m) => m.name);
    assert.ok(first.includes("org.apache.kafka.producer.record.send.total"));
    assert.ok(!first.some((n) => n.includes("node.request")), `${first}`);
    assert.ok(broker.pushes.every((p) => p.metrics.length <= 550));

    const tiny = new ScriptedBroker();
    tiny.gets.push({ telemetryMaxBytes: 10 });
    const t2 = new ClientTelemetry({
      cluster: tiny,
      source: source({ sent: 3 }),
      logger: (m) => logged.push(m),
    });
    t2.start();
    await until(
      "the refusal",
      () => logged.some((m) => /more than the broker's 10 bytes/.test(m)),
    );
    await t2.close();
    assert.equal(tiny.pushes.length, 0);
  });

  test("a push the broker calls invalid stops telemetry, with one line to errorLogger", async () => {
    const broker = new ScriptedBroker();
    const errors: string[] = [];
    broker.pushCodes.push(ErrorCode.INVALID_RECORD);
    const t = new ClientTelemetry({
      cluster: broker,
      source: source({ sent: 1 }),
      errorLogger: (m) => errors.push(m),
    });
    t.start();
    await until("the refusal", () => errors.length === 1);
    assert.equal(broker.listeners, 0, "stopped listening");
    await new Promise((resolve) => setTimeout(resolve, 300));
    await t.close();
    assert.equal(broker.pushes.length, 1, "no push after, none on close");
    assert.match(errors[0], /off for instance .*INVALID_RECORD/);
  });

  test("a broker without a receiver gets nothing, and the listener goes", async () => {
    const broker = new ScriptedBroker();
    broker.offers = false;
    const t = new ClientTelemetry({
      cluster: broker,
      source: source({ sent: 1 }),
    });
    t.start();
    await until("the listener to go", () => broker.listeners === 0);
    await t.close();
    assert.equal(broker.getCount, 0);
    assert.equal(broker.pushes.length, 0);
  });

  test("loggers that throw stop nothing, and close() still resolves", async () => {
    const broker = new ScriptedBroker();
    broker.pushCodes.push(ErrorCode.TELEMETRY_TOO_LARGE, 0);
    const boom = () => {
      throw new Error("logger failed");
    };
    const t = new ClientTelemetry({
      cluster: broker,
      source: source({ sent: 1 }),
      logger: boom,
      errorLogger: boom,
    });
    t.start();
    await until("two pushes", () => broker.pushes.length === 2);
    await t.close();
    assert.equal(broker.pushes.at(-1)!.terminating, true);
  });
});
