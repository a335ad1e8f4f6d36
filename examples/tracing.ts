/**
 * Tracing with OpenTelemetry: a Writer and a Reader given the OpenTelemetry
 * API (`tracing: api`) trace each message, and the message's headers carry
 * the trace from the one to the other. Here OpenTelemetry's SDK keeps the
 * spans in memory and the example prints them as a tree: the request, the
 * "send" span of each message under it, and the Reader's "process" span
 * under each "send", with the application's own span inside.
 *
 * It needs the OpenTelemetry packages (npm): @opentelemetry/api,
 * @opentelemetry/sdk-trace-base, @opentelemetry/core and
 * @opentelemetry/context-async-hooks.
 *
 * Run: deno run -A examples/tracing.ts [topic]
 *  or: bun run examples/tracing.ts [topic]
 */

import process from "node:process";
import * as api from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { messageTraceContext, Reader, Writer } from "../mod.ts";

/**
 * Writes three messages inside a "checkout" span, reads them back, and
 * resolves with the finished spans (printed as a tree).
 */
export async function main(
  broker = process.env.KAFKA_BROKERS?.split(",")[0] ?? "localhost:9092",
  topic = "traced-orders",
): Promise<ReadableSpan[]> {
  // What an application does once at start (an SDK package does it too).
  const exporter = new InMemorySpanExporter();
  const contextManager = new AsyncLocalStorageContextManager().enable();
  api.context.setGlobalContextManager(contextManager);
  api.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  api.trace.setGlobalTracerProvider(
    new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    }),
  );
  const tracer = api.trace.getTracer("example");
  try {
    const writer = new Writer({
      brokers: [broker],
      topic,
      allowAutoTopicCreation: true,
      tracing: api,
    });
    await tracer.startActiveSpan("checkout", async (span) => {
      await writer.writeMessages(
        { key: "order-1", value: "2 books" },
        { key: "order-2", value: "1 lamp" },
        { key: "order-3", value: "3 mugs" },
      );
      span.end();
    });
    await writer.close();

    const reader = new Reader({
      brokers: [broker],
      topic,
      maxWait: 500,
      tracing: api,
    });
    let read = 0;
    for await (const m of reader) {
      // Work done for a message, under the span that sent it.
      api.context.with(messageTraceContext(m, api), () => {
        const work = tracer.startSpan(
          `bill ${new TextDecoder().decode(m.key!)}`,
        );
        work.end();
      });
      if (++read === 3) break;
    }
    const spans = exporter.getFinishedSpans();
    printTree(spans);
    return spans;
  } finally {
    api.trace.disable();
    api.propagation.disable();
    api.context.disable();
  }
}

/** Prints the spans indented under their parents. */
function printTree(spans: ReadableSpan[]): void {
  const children = new Map<string | undefined, ReadableSpan[]>();
  for (const s of spans) {
    const parent = s.parentSpanContext?.spanId;
    const known = spans.some((p) => p.spanContext().spanId === parent);
    const key = known ? parent : undefined;
    children.set(key, [...(children.get(key) ?? []), s]);
  }
  const print = (parent: string | undefined, depth: number) => {
    for (const s of children.get(parent) ?? []) {
      console.log(`${"  ".repeat(depth)}${s.name}`);
      print(s.spanContext().spanId, depth + 1);
    }
  };
  print(undefined, 0);
}

if (import.meta.main) {
  await main(undefined, process.argv[2]);
}
