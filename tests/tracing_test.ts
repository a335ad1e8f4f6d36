/**
 * Tracing with OpenTelemetry's own SDK against the real broker: a Writer's
 * "send" spans, the trace context its messages carry in their headers, and
 * a Reader's "process" and "receive" spans, children of the senders', and
 * a ShareReader's, and a mirror (`reader.pipeTo(writer)`) that keeps
 * messages in their traces.
 */

import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import * as api from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import {
  FirstOffset,
  type Message,
  messageTraceContext,
  Processor,
  Reader,
  Writer,
} from "../mod.ts";
import { BROKER, uniqueTopic } from "./_helpers.ts";
import { topicWith } from "./_group.ts";
import { newShareGroup, shareReader } from "./_share.ts";

const exporter = new InMemorySpanExporter();
const text = new TextDecoder();

/** The span's parent span id (sdk-trace-base 2.x names it so). */
function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

function spansNamed(name: string): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((s) => s.name === name);
}

/** A Reader's messages from the start of partition 0 until `count`. */
async function readAll(topic: string, count: number) {
  const reader = new Reader({ brokers: [BROKER], topic, maxWait: 200 });
  const out = [];
  for await (const m of reader) {
    out.push(m);
    if (out.length === count) break;
  }
  return out;
}

describe("tracing with OpenTelemetry", () => {
  let contextManager: AsyncLocalStorageContextManager;

  before(() => {
    contextManager = new AsyncLocalStorageContextManager().enable();
    api.context.setGlobalContextManager(contextManager);
    api.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    api.trace.setGlobalTracerProvider(
      new BasicTracerProvider({
        spanProcessors: [new SimpleSpanProcessor(exporter)],
      }),
    );
  });

  after(() => {
    api.trace.disable();
    api.propagation.disable();
    api.context.disable();
  });

  beforeEach(() => exporter.reset());

  test("a Writer's send spans are children of the active span and travel in the headers to the Reader's process spans", async () => {
    const topic = await topicWith(1);
    const tracer = api.trace.getTracer("test");
    const writer = new Writer({ brokers: [BROKER], topic, tracing: api });
    let request!: api.SpanContext;
    await tracer.startActiveSpan("request", async (span) => {
      request = span.spanContext();
      await writer.writeMessages(
        { key: "k1", value: "one" },
        // A context carried in already gives way to the send span's.
        {
          value: "two",
          headers: [
            {
              key: "traceparent",
              value: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            },
            { key: "app", value: "kept" },
          ],
        },
        { key: new Uint8Array([1]), value: null },
      );
      span.end();
    });
    await writer.close();

    const sends = spansNamed(`send ${topic}`);
    assert.equal(sends.length, 3);
    for (const s of sends) {
      assert.equal(s.kind, api.SpanKind.PRODUCER);
      assert.equal(s.spanContext().traceId, request.traceId);
      assert.equal(parentOf(s), request.spanId);
      assert.equal(s.status.code, api.SpanStatusCode.UNSET);
      assert.equal(s.instrumentationScope.name, "streamkafka");
      assert.equal(s.attributes["messaging.system"], "kafka");
      assert.equal(s.attributes["messaging.operation.name"], "send");
      assert.equal(s.attributes["messaging.operation.type"], "send");
      assert.equal(s.attributes["messaging.destination.name"], topic);
      assert.equal(s.attributes["messaging.client.id"], "streamkafka");
    }
    const byStart = [...sends].sort((a, b) =>
      a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]
    );
    assert.equal(byStart[0].attributes["messaging.kafka.message.key"], "k1");
    assert.equal(
      sends.filter((s) => s.attributes["messaging.kafka.message.tombstone"])
        .length,
      1,
    );

    // Each message carries its own send span's context, and one only.
    const read = await readAll(topic, 3);
    const sendIds = new Set(sends.map((s) => s.spanContext().spanId));
    const carried = read.map((m) => {
      const parents = m.headers.filter((h) => h.key === "traceparent");
      assert.equal(parents.length, 1, `offset ${m.offset}`);
      const [version, traceId, spanId, flags] = text.decode(parents[0].value!)
        .split("-");
      assert.deepEqual([version, traceId, flags], [
        "00",
        request.traceId,
        "01",
      ]);
      return spanId;
    });
    assert.deepEqual(new Set(carried), sendIds);
    assert.deepEqual(
      read[1].headers.filter((h) => h.key === "app").map((h) =>
        text.decode(h.value!)
      ),
      ["kept"],
    );
    // messageTraceContext gives the sender's context to work under.
    const context = messageTraceContext(read[0], api);
    assert.equal(api.trace.getSpanContext(context)?.spanId, carried[0]);

    // A Reader's process spans: children of the send spans, one at a time.
    exporter.reset();
    const reader = new Reader({
      brokers: [BROKER],
      topic,
      maxWait: 200,
      tracing: api,
    });
    const ended: number[] = [];
    const workIn: string[] = [];
    for await (const m of reader) {
      // The span of the message before ended when this one was asked for.
      ended.push(spansNamed(`process ${topic}`).length);
      // Work for a message is done in its process span.
      workIn.push(
        api.trace.getSpanContext(messageTraceContext(m, api))!.spanId,
      );
      if (m.offset === 2) break;
    }
    const processes = spansNamed(`process ${topic}`);
    assert.deepEqual(ended, [0, 1, 2]);
    assert.deepEqual(workIn, processes.map((s) => s.spanContext().spanId));
    assert.equal(processes.length, 3, "the last ended when the loop did");
    for (const [i, s] of processes.entries()) {
      assert.equal(s.kind, api.SpanKind.CONSUMER);
      assert.equal(s.spanContext().traceId, request.traceId);
      assert.equal(parentOf(s), carried[i]);
      assert.equal(s.attributes["messaging.operation.name"], "process");
      assert.equal(s.attributes["messaging.destination.name"], topic);
      assert.equal(s.attributes["messaging.destination.partition.id"], "0");
      assert.equal(s.attributes["messaging.kafka.offset"], i);
      assert.equal(s.attributes["messaging.consumer.group.name"], undefined);
    }
    assert.equal(processes[0].attributes["messaging.message.body.size"], 3);
    assert.equal(
      processes[2].attributes["messaging.kafka.message.tombstone"],
      true,
    );
  });

  test("a mirror (reader.pipeTo(writer)) keeps each message in the trace it came with", async () => {
    const [from, to] = await Promise.all([topicWith(1), topicWith(1)]);
    const tracer = api.trace.getTracer("test");
    const writer = new Writer({ brokers: [BROKER], topic: from, tracing: api });
    let request!: api.SpanContext;
    await tracer.startActiveSpan("request", async (span) => {
      request = span.spanContext();
      await writer.writeMessages(
        { key: "ka", value: "a" },
        { value: "b" },
        { value: "c" },
      );
      span.end();
    });
    await writer.close();
    const first = new Set(
      spansNamed(`send ${from}`).map((s) => s.spanContext().spanId),
    );
    assert.equal(first.size, 3);

    const reader = new Reader({ brokers: [BROKER], topic: from, maxWait: 200 });
    const mirror = new Writer({ brokers: [BROKER], topic: to, tracing: api });
    const stop = new AbortController();
    const piping = reader.pipeTo(mirror, { signal: stop.signal }).catch(
      () => {},
    );
    const deadline = Date.now() + 30_000;
    while (spansNamed(`send ${to}`).length < 3 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    stop.abort();
    await piping;
    await Promise.allSettled([mirror.close(), reader.close()]);
    const second = spansNamed(`send ${to}`);
    assert.equal(second.length, 3);
    for (const s of second) {
      assert.equal(s.spanContext().traceId, request.traceId);
      assert.ok(first.has(parentOf(s)!), `parent ${parentOf(s)}`);
    }
    // What the mirror wrote is what it read (key, value, time), carrying
    // the mirror's send spans.
    const copied = await readAll(to, 3);
    const originals = await readAll(from, 3);
    const shown = (m: Message) => [
      m.key === null ? null : text.decode(m.key),
      text.decode(m.value!),
      m.time.getTime(),
    ];
    assert.deepEqual(copied.map(shown), originals.map(shown));
    assert.deepEqual(
      new Set(copied.map((m) => {
        const parents = m.headers.filter((h) => h.key === "traceparent");
        assert.equal(parents.length, 1);
        return text.decode(parents[0].value!).split("-")[2];
      })),
      new Set(second.map((s) => s.spanContext().spanId)),
    );
  });

  test("a traced Reader piped into a Processor: each handler runs in its message's process span; a failure marks it", async () => {
    const topic = await topicWith(1);
    const tracer = api.trace.getTracer("test");
    const writer = new Writer({ brokers: [BROKER], topic, tracing: api });
    await tracer.startActiveSpan("request", async (span) => {
      await writer.writeMessages({ value: "a" }, { value: "b" }, {
        value: "c",
      });
      span.end();
    });
    await writer.close();
    const sendOf = new Map(
      spansNamed(`send ${topic}`).map((s) => [
        s.spanContext().spanId,
        s,
      ]),
    );
    exporter.reset();

    const reader = new Reader({
      brokers: [BROKER],
      topic,
      maxWait: 200,
      tracing: api,
    });
    const processor = new Processor(async (m) => {
      // Work started in the handler nests under its process span.
      await tracer.startActiveSpan(`charge ${m.offset}`, async (span) => {
        await new Promise((r) => setTimeout(r, 5));
        span.end();
      });
      if (m.offset === 2) throw new Error("card declined");
    }, { concurrency: 1 });
    await assert.rejects(reader.pipeTo(processor), /card declined/);
    await reader.close();

    // One process span per message (none per batch), each a child of the
    // send span its message carried.
    const processes = spansNamed(`process ${topic}`);
    assert.equal(processes.length, 3);
    const byOffset = new Map(
      processes.map((s) => [s.attributes["messaging.kafka.offset"], s]),
    );
    for (const offset of [0, 1, 2]) {
      const process = byOffset.get(offset)!;
      assert.equal(process.kind, api.SpanKind.CONSUMER);
      assert.ok(sendOf.has(parentOf(process)!), `offset ${offset}`);
      const [charge] = spansNamed(`charge ${offset}`);
      assert.equal(parentOf(charge), process.spanContext().spanId);
      assert.equal(
        process.status.code,
        offset === 2 ? api.SpanStatusCode.ERROR : api.SpanStatusCode.UNSET,
      );
    }
    assert.equal(byOffset.get(2)!.status.message, "card declined");
  });

  test("batches() makes a process span per batch, linked to its messages' send spans", async () => {
    const topic = await topicWith(1);
    const writer = new Writer({ brokers: [BROKER], topic, tracing: api });
    await writer.writeMessages(
      Array.from({ length: 5 }, (_, i) => ({ value: `m${i}` })),
    );
    await writer.close();
    const sends = new Set(
      spansNamed(`send ${topic}`).map((s) => s.spanContext().spanId),
    );
    const reader = new Reader({
      brokers: [BROKER],
      topic,
      maxWait: 200,
      tracing: api,
    });
    const sizes: number[] = [];
    const endedBefore: number[] = [];
    for await (const batch of reader.batches()) {
      endedBefore.push(spansNamed(`process ${topic}`).length);
      sizes.push(batch.length);
      if (batch.lastOffset === 4) break;
    }
    const spans = spansNamed(`process ${topic}`);
    assert.equal(spans.length, sizes.length, "each batch's span ended");
    assert.deepEqual(endedBefore, sizes.map((_, i) => i));
    const linked: string[] = [];
    for (const [i, s] of spans.entries()) {
      assert.equal(s.kind, api.SpanKind.CONSUMER);
      assert.equal(s.attributes["messaging.batch.message_count"], sizes[i]);
      assert.equal(s.attributes["messaging.destination.partition.id"], "0");
      assert.equal(parentOf(s), undefined, "in the active (root) context");
      linked.push(...s.links.map((l) => l.context.spanId));
    }
    assert.deepEqual(new Set(linked), sends);
    assert.equal(linked.length, 5);
  });

  test("a ShareReader's process spans are children of the send spans", async () => {
    const topic = await topicWith(1);
    const writer = new Writer({ brokers: [BROKER], topic, tracing: api });
    await writer.writeMessages({ value: "x" }, { value: "y" }, { value: "z" });
    await writer.close();
    const sends = new Set(
      spansNamed(`send ${topic}`).map((s) => s.spanContext().spanId),
    );
    const groupId = await newShareGroup();
    const reader = shareReader(groupId, topic, { tracing: api });
    const ended: number[] = [];
    let n = 0;
    for await (const _ of reader) {
      ended.push(spansNamed(`process ${topic}`).length);
      if (++n === 3) break;
    }
    const spans = spansNamed(`process ${topic}`);
    assert.deepEqual(ended, [0, 1, 2]);
    assert.equal(spans.length, 3);
    assert.deepEqual(new Set(spans.map(parentOf)), sends);
    for (const s of spans) {
      assert.equal(s.kind, api.SpanKind.CONSUMER);
      assert.equal(s.attributes["messaging.consumer.group.name"], groupId);
    }
  });

  test("readMessage makes receive spans, with the group's name", async () => {
    const topic = await topicWith(1);
    const writer = new Writer({ brokers: [BROKER], topic, tracing: api });
    await writer.writeMessages({ value: "a" }, { value: "b" });
    await writer.close();
    const sends = spansNamed(`send ${topic}`);
    const groupId = uniqueTopic("tracing-group");
    const reader = new Reader({
      brokers: [BROKER],
      topic,
      groupId,
      startOffset: FirstOffset,
      maxWait: 200,
      transport: { clientId: "traced-reader" },
      tracing: api,
    });
    try {
      const first = await reader.readMessage();
      const second = await reader.fetchMessage();
      assert.deepEqual([first.offset, second.offset], [0, 1]);
    } finally {
      await reader.close();
    }
    const receives = spansNamed(`receive ${topic}`);
    assert.equal(receives.length, 2);
    for (const s of receives) {
      assert.equal(s.kind, api.SpanKind.CONSUMER);
      assert.equal(s.attributes["messaging.operation.type"], "receive");
      assert.equal(s.attributes["messaging.consumer.group.name"], groupId);
      assert.equal(s.attributes["messaging.client.id"], "traced-reader");
    }
    assert.deepEqual(
      new Set(receives.map(parentOf)),
      new Set(sends.map((s) => s.spanContext().spanId)),
    );
  });

  test("a message that fails ends its span with the error; a Writer without tracing adds no header", async () => {
    const writer = new Writer({
      brokers: [BROKER],
      topic: uniqueTopic("tracing-nowhere"),
      maxAttempts: 1,
      tracing: api,
    });
    await assert.rejects(writer.writeMessages({ value: "lost" }));
    await writer.close();
    const [send] = exporter.getFinishedSpans();
    assert.equal(send.status.code, api.SpanStatusCode.ERROR);
    assert.match(send.status.message!, /UNKNOWN_TOPIC_OR_PARTITION/);
    assert.equal(send.attributes["error.type"], "UNKNOWN_TOPIC_OR_PARTITION");
    assert.equal(send.events[0].name, "exception");

    const topic = await topicWith(1);
    const plain = new Writer({ brokers: [BROKER], topic });
    await plain.writeMessages({ value: "untraced" });
    await plain.close();
    const [m] = await readAll(topic, 1);
    assert.deepEqual(m.headers, []);
  });

  test("a tracer that throws stops no message: they go on untraced, and errorLogger hears it once", async () => {
    const broken = {
      trace: {
        getTracer: () => ({
          startSpan: (): never => {
            throw new Error("the tracer is broken");
          },
        }),
        setSpan: api.trace.setSpan.bind(api.trace),
        getSpan: api.trace.getSpan.bind(api.trace),
        getSpanContext: api.trace.getSpanContext.bind(api.trace),
      },
      context: api.context,
      propagation: api.propagation,
      SpanKind: api.SpanKind,
      SpanStatusCode: api.SpanStatusCode,
    };
    const topic = await topicWith(1);
    const errors: string[] = [];
    const writer = new Writer({
      brokers: [BROKER],
      topic,
      tracing: broken,
      errorLogger: (m) => errors.push(m),
    });
    await writer.writeMessages({ value: "a" }, { value: "b" });
    await writer.writeMessages({ value: "c" });
    await writer.close();
    const reader = new Reader({
      brokers: [BROKER],
      topic,
      maxWait: 200,
      tracing: broken,
      errorLogger: (m) => errors.push(m),
    });
    const values: string[] = [];
    for await (const m of reader) {
      values.push(text.decode(m.value!));
      assert.deepEqual(m.headers, [], "sent untraced");
      if (values.length === 3) break;
    }
    assert.deepEqual(values, ["a", "b", "c"]);
    assert.deepEqual(errors, [
      "kafka writer: tracing failed, the messages go on untraced where it does: the tracer is broken",
      "kafka reader: tracing failed, the messages go on untraced where it does: the tracer is broken",
    ]);
  });

  test("a bad tracing option is a TypeError naming what is missing", () => {
    assert.throws(
      // deno-lint-ignore no-explicit-any
      () => new Writer({ brokers: [BROKER], tracing: {} as any }),
      /Cannot create Writer: "tracing" must be the OpenTelemetry API \(import \* as api from "@opentelemetry\/api"\), got object without trace\.getTracer, trace\.setSpan, trace\.getSpan, trace\.getSpanContext, context\.active, propagation\.inject, propagation\.extract, propagation\.fields, SpanKind and SpanStatusCode/,
    );
    assert.throws(
      // deno-lint-ignore no-explicit-any
      () => new Reader({ brokers: [BROKER], topic: "t", tracing: null as any }),
      /Cannot create Reader: "tracing" must be the OpenTelemetry API .*got null/,
    );
  });
});
