/**
 * Tracing with OpenTelemetry: the spans of a Writer's and a Reader's
 * messages, and the trace context a message carries in its headers.
 *
 * The library depends on no OpenTelemetry package: the application passes
 * the OpenTelemetry API it uses (`import * as api from
 * "@opentelemetry/api"`) as the `tracing` option, and spans go to whatever
 * tracer provider and propagator it registered there. The spans follow
 * OpenTelemetry's semantic conventions for messaging (Kafka):
 *
 * - a Writer makes a PRODUCER span "send <topic>" per message, a child of
 *   the context active when the message was written (or, with no span
 *   active, of the span a traced Reader made for the message, or of the
 *   context the message carries, if any), and writes that
 *   span's context into the message's headers (`traceparent` with the W3C
 *   propagator), in place of any it carried; the span ends when the write
 *   settles, with the error if the message failed;
 * - a Reader makes a CONSUMER span per message it hands out, a child of the
 *   context in the message's headers: "process <topic>" through `for await`,
 *   from when the message is handed out until the next one is asked for (or
 *   the loop ends); "receive <topic>", ended at once, through `readMessage`
 *   and `fetchMessage`; through `batches()`, one "process <topic>" span per
 *   batch, in the active context, linked to each message's context, until
 *   the next batch is asked for.
 *
 * @module
 */

import { SOFTWARE_NAME, SOFTWARE_VERSION } from "./connection/connection.ts";
import type { Header, Message, MessageInput } from "./message.ts";
import type { BatchTaker, MessageBatch } from "./consumer/message_batch.ts";

/** An OpenTelemetry span, as far as this library uses one. */
export interface TracingSpan {
  /** Sets one attribute. */
  setAttribute(key: string, value: string | number | boolean): unknown;
  /** Records an exception as a span event. */
  recordException(exception: Error): void;
  /** Sets the span's status. */
  setStatus(status: { code: number; message?: string }): unknown;
  /** Ends the span. */
  end(): void;
}

/** What identifies a span (OpenTelemetry's `SpanContext`). */
export interface TracingSpanContext {
  /** The trace's id, 32 hex digits. */
  traceId: string;
  /** The span's id, 16 hex digits. */
  spanId: string;
  /** The trace flags (1: sampled). */
  traceFlags: number;
}

/** An OpenTelemetry context: opaque here. */
export type TracingContext = unknown;

/** How a propagator writes a header (OpenTelemetry's `TextMapSetter`). */
export interface TracingSetter {
  /** Appends the header `key` with the UTF-8 of `value`. */
  set(carrier: Header[], key: string, value: string): void;
}

/** How a propagator reads headers (OpenTelemetry's `TextMapGetter`). */
export interface TracingGetter {
  /** The names of the headers. */
  keys(carrier: readonly Header[]): string[];
  /** The last header named `key`, decoded, or undefined. */
  get(carrier: readonly Header[], key: string): string | undefined;
}

/**
 * The part of the OpenTelemetry API (`@opentelemetry/api`, 1.x) the
 * `tracing` option takes: pass the module itself.
 *
 * @example Trace a Writer's and a Reader's messages
 * ```ts ignore
 * import * as api from "@opentelemetry/api";
 * import { Reader, Writer } from "jsr:@streamkafka/client";
 *
 * // With a tracer provider and the W3C propagator registered (an
 * // OpenTelemetry SDK does both), each message gets a "send" span, and its
 * // headers carry it to the Reader's "process" span.
 * const brokers = ["localhost:9092"];
 * const writer = new Writer({ brokers, topic: "orders", tracing: api });
 * await writer.writeMessages({ value: "one" });
 * await writer.close();
 * const reader = new Reader({ brokers, topic: "orders", tracing: api });
 * for await (const m of reader) {
 *   console.log(m.offset); // inside the span "process orders"
 *   break;
 * }
 * ```
 */
export interface TracingApi {
  /** `api.trace`. */
  trace: {
    getTracer(name: string, version?: string): {
      startSpan(
        name: string,
        options?: {
          kind?: number;
          attributes?: Record<string, string | number | boolean>;
          links?: { context: TracingSpanContext }[];
        },
        context?: TracingContext,
      ): TracingSpan;
    };
    setSpan(context: TracingContext, span: TracingSpan): TracingContext;
    getSpan(context: TracingContext): unknown;
    getSpanContext(context: TracingContext): TracingSpanContext | undefined;
  };
  /** `api.context`. */
  context: { active(): TracingContext };
  /** `api.propagation`. */
  propagation: {
    inject(
      context: TracingContext,
      carrier: Header[],
      setter: TracingSetter,
    ): void;
    extract(
      context: TracingContext,
      carrier: readonly Header[],
      getter: TracingGetter,
    ): TracingContext;
    fields(): string[];
  };
  /** `api.SpanKind`. */
  SpanKind: { PRODUCER: number; CONSUMER: number };
  /** `api.SpanStatusCode`. */
  SpanStatusCode: { ERROR: number };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const SETTER: TracingSetter = {
  set(carrier, key, value) {
    carrier.push({ key, value: encoder.encode(value) });
  },
};

const GETTER: TracingGetter = {
  keys: (carrier) => carrier.map((h) => h.key),
  get(carrier, key) {
    // The last header of that name, as Java's `lastHeader`.
    for (let i = carrier.length - 1; i >= 0; i--) {
      const h = carrier[i];
      if (h.key !== key) continue;
      // A MessageInput's header value may be a string.
      const value = h.value as Uint8Array | string | null;
      return value === null
        ? ""
        : typeof value === "string"
        ? value
        : decoder.decode(value);
    }
    return undefined;
  },
};

/**
 * A copy of `m` with `headers`. Not a spread: a message read from Kafka
 * keeps its key, value and time in getters, which a spread leaves out; and
 * it keeps its offset and partition, which tell the Writer it was read
 * (so a Writer with a topic of its own takes it).
 */
function traced(m: MessageInput, headers: Header[]): MessageInput {
  const copy: MessageInput & { partition?: number; offset?: number } = {
    topic: m.topic,
    key: m.key,
    value: m.value,
    time: m.time,
    headers,
  };
  const read = m as { partition?: unknown; offset?: unknown };
  if (typeof read.offset === "number") {
    copy.offset = read.offset;
    copy.partition = read.partition as number;
  }
  return copy;
}

/** The contexts of the spans traced Readers made for their messages. */
const spanContexts = new WeakMap<object, unknown>();

/**
 * The trace context to do a message's work in: that of the span a Reader
 * with `tracing` made for it ("process" or "receive"); for a message read
 * without, the context its headers carry (what the Writer that wrote it put
 * there), on top of the active context. Spans started in it are children
 * of that span.
 *
 * @example
 * ```ts ignore
 * import * as api from "@opentelemetry/api";
 * import { messageTraceContext, Reader } from "jsr:@streamkafka/client";
 *
 * const reader = new Reader({
 *   brokers: ["localhost:9092"],
 *   topic: "orders",
 *   tracing: api,
 * });
 * for await (const m of reader) {
 *   await api.context.with(messageTraceContext(m, api), async () => {
 *     // spans started here are children of "process orders"
 *   });
 * }
 * ```
 */
export function messageTraceContext<C>(
  message: Pick<Message, "headers">,
  api: {
    context: { active(): C };
    propagation: {
      extract(context: C, carrier: readonly Header[], getter: TracingGetter): C;
    };
  },
): C {
  const traced = spanContexts.get(message);
  if (traced !== undefined) return traced as C;
  return api.propagation.extract(
    api.context.active(),
    message.headers,
    GETTER,
  );
}

/** The library's name and version on its tracer. */
const TRACER = "streamkafka";

/** What the spans of a Writer or a Reader have in common. */
export interface TracingTarget {
  api: TracingApi;
  clientId: string;
  /** Told the first time the tracing API throws (messages go on untraced). */
  errorLogger?: (message: string) => void;
}

/** A span that records nothing: where tracing failed, or a non-message. */
const NO_SPAN: TracingSpan = {
  setAttribute: () => NO_SPAN,
  recordException: () => {},
  setStatus: () => NO_SPAN,
  end: () => {},
};

/**
 * Runs `f`, the tracing API's work; if it throws, says so to the target's
 * errorLogger (once per Writer or Reader) and returns `fallback`: a tracer
 * that fails never stops a message.
 */
function contained<T>(
  target: TracingTarget & { failed?: boolean },
  who: string,
  f: () => T,
  fallback: T,
): T {
  try {
    return f();
  } catch (error) {
    if (target.failed !== true) {
      target.failed = true;
      try {
        target.errorLogger?.(
          `kafka ${who}: tracing failed, the messages go on untraced where it does: ${
            (error as Error)?.message ?? String(error)
          }`,
        );
      } catch {
        // A logger that throws changes nothing.
      }
    }
    return fallback;
  }
}

/** The spans of one write, ended when it settles. */
export interface TracedWrite {
  /** The messages to write: with the trace context in their headers. */
  messages: MessageInput[];
  /** Ends the spans: `errors[i]` is message i's error, or null. */
  end(errors: readonly (Error | null)[] | Error | null): void;
}

/** Makes the PRODUCER spans of a Writer's messages. */
export class WriterTracing {
  private readonly target: TracingTarget;
  private readonly tracer;
  private readonly fields: Set<string>;

  constructor(target: TracingTarget, version: string) {
    this.target = target;
    this.tracer = contained(
      target,
      "writer",
      () => target.api.trace.getTracer(TRACER, version),
      null,
    );
    this.fields = new Set(
      contained(target, "writer", () => target.api.propagation.fields(), []),
    );
  }

  /**
   * A span per message of a write to `writerTopic` (the Writer's own, which
   * a message read from Kafka is written to too), else to the message's
   * topic; each a child of the active context (see the module doc), and
   * copies of the messages carrying its context.
   */
  send(
    messages: readonly MessageInput[],
    writerTopic: string | undefined,
  ): TracedWrite {
    const spans: TracingSpan[] = [];
    if (this.tracer === null) return { messages: [...messages], end: () => {} };
    return contained(this.target, "writer", () => {
      const traced = this.trace(messages, writerTopic, spans);
      return {
        messages: traced,
        end: (errors: readonly (Error | null)[] | Error | null) =>
          contained(this.target, "writer", () => {
            for (let i = 0; i < spans.length; i++) {
              const error = errors === null || errors instanceof Error
                ? errors
                : errors[i];
              endSpan(this.target.api, spans[i], error);
            }
          }, undefined),
      };
    }, {
      // Untraced: what was started ends here, unfinished.
      messages: messages as MessageInput[],
      end: () => {
        for (const span of spans) {
          contained(this.target, "writer", () => span.end(), undefined);
        }
      },
    });
  }

  /** Starts the spans (into `spans`) and returns the traced copies. */
  private trace(
    messages: readonly MessageInput[],
    writerTopic: string | undefined,
    spans: TracingSpan[],
  ): MessageInput[] {
    const { api, clientId } = this.target;
    const active = api.context.active();
    // No span active (a pipe, a loop of its own): a message that carries
    // a context (one read and written on) is sent in that context's trace.
    const inSpan = api.trace.getSpan(active) !== undefined;
    const out: MessageInput[] = new Array(messages.length);
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i];
      if (m === null || typeof m !== "object") {
        // Not a message: the Writer refuses it, naming it.
        spans.push(NO_SPAN);
        out[i] = m;
        continue;
      }
      const topic = writerTopic ?? m.topic ?? "";
      const attributes: Record<string, string | number | boolean> = {
        "messaging.system": "kafka",
        "messaging.operation.name": "send",
        "messaging.operation.type": "send",
        "messaging.destination.name": topic,
        "messaging.client.id": clientId,
      };
      if (typeof m.key === "string") {
        attributes["messaging.kafka.message.key"] = m.key;
      }
      if (m.value === null || m.value === undefined) {
        attributes["messaging.kafka.message.tombstone"] = true;
      }
      const headers = (m.headers ?? []) as Header[];
      const carries = headers.some((h) => this.fields.has(h.key));
      const parent = inSpan ? active : spanContexts.get(m) ??
        (carries ? api.propagation.extract(active, headers, GETTER) : active);
      const span = this.tracer!.startSpan(`send ${topic}`, {
        kind: api.SpanKind.PRODUCER,
        attributes,
      }, parent);
      spans.push(span);
      // The context the message carried gives way to this span's.
      const carrier = carries
        ? headers.filter((h) => !this.fields.has(h.key))
        : [...headers];
      api.propagation.inject(api.trace.setSpan(parent, span), carrier, SETTER);
      out[i] = traced(m, carrier);
    }
    return out;
  }
}

/** Makes the CONSUMER spans of a Reader's messages. */
export class ReaderTracing {
  private readonly target: TracingTarget;
  private readonly tracer;
  private readonly groupId: string | undefined;

  constructor(
    target: TracingTarget,
    version: string,
    groupId: string | undefined,
  ) {
    this.target = target;
    this.tracer = contained(
      target,
      "reader",
      () => target.api.trace.getTracer(TRACER, version),
      null,
    );
    this.groupId = groupId;
  }

  /**
   * A span for `message`: "process" (ended by the caller when the next
   * message is asked for) or "receive" (ended here), a child of the
   * context in its headers.
   */
  start(message: Message, operation: "process" | "receive"): TracingSpan {
    if (this.tracer === null) return NO_SPAN;
    return contained(
      this.target,
      "reader",
      () => this.startSpan(message, operation),
      NO_SPAN,
    );
  }

  /** What every consumer span of `from`'s partition says. */
  private attributes(
    operation: "process" | "receive",
    from: { topic: string; partition: number },
  ): Record<string, string | number | boolean> {
    const attributes: Record<string, string | number | boolean> = {
      "messaging.system": "kafka",
      "messaging.operation.name": operation,
      "messaging.operation.type": operation,
      "messaging.destination.name": from.topic,
      "messaging.destination.partition.id": String(from.partition),
      "messaging.client.id": this.target.clientId,
    };
    if (this.groupId !== undefined) {
      attributes["messaging.consumer.group.name"] = this.groupId;
    }
    return attributes;
  }

  private startSpan(
    message: Message,
    operation: "process" | "receive",
  ): TracingSpan {
    const { api } = this.target;
    const attributes = this.attributes(operation, message);
    attributes["messaging.kafka.offset"] = message.offset;
    if (message.value === null) {
      attributes["messaging.kafka.message.tombstone"] = true;
    } else {
      attributes["messaging.message.body.size"] = message.value.length;
    }
    const parent = messageTraceContext(message, api);
    const span = this.tracer!.startSpan(`${operation} ${message.topic}`, {
      kind: api.SpanKind.CONSUMER,
      attributes,
    }, parent);
    spanContexts.set(message, api.trace.setSpan(parent, span));
    if (operation === "receive") span.end();
    return span;
  }

  /**
   * `iterator` (which it changes and returns) with a "process" span around
   * each message it hands out: from then until the next one is asked for,
   * or the loop ends.
   */
  iterate<M extends Message, I extends AsyncIterator<M>>(iterator: I): I {
    let span: TracingSpan | null = null;
    const processed = () => {
      const ending = span;
      span = null;
      if (ending !== null) {
        contained(this.target, "reader", () => ending.end(), undefined);
      }
    };
    const next = iterator.next.bind(iterator);
    const end = iterator.return?.bind(iterator);
    return Object.assign(iterator, {
      next: (): Promise<IteratorResult<M>> => {
        processed();
        return next().then((result) => {
          if (result.done !== true) span = this.start(result.value, "process");
          return result;
        });
      },
      return: (value?: unknown): Promise<IteratorResult<M>> => {
        processed();
        return end !== undefined
          ? end(value)
          : Promise.resolve({ value: undefined, done: true });
      },
    });
  }

  /**
   * `taker` with a "process" span around each batch, from when it is handed
   * out until the next one is asked for, or the loop ends.
   */
  takeBatches<M extends Message>(taker: BatchTaker<M>): BatchTaker<M> {
    let span: TracingSpan | null = null;
    const processed = () => {
      const ending = span;
      span = null;
      if (ending !== null) {
        contained(this.target, "reader", () => ending.end(), undefined);
      }
    };
    return {
      queued: () => taker.queued(),
      batch: (first) => {
        const batch = taker.batch(first);
        if (this.tracer === null) return batch;
        span = contained(
          this.target,
          "reader",
          () => this.startBatch(batch),
          NO_SPAN,
        );
        return batch;
      },
      asked: () => {
        processed();
        taker.asked?.();
      },
      ended: () => {
        processed();
        taker.ended();
      },
    };
  }

  /**
   * The "process" span of a batch, ended by the caller when the next batch
   * is asked for: in the active context, linked to the context each of its
   * messages carries.
   */
  private startBatch(batch: MessageBatch): TracingSpan {
    const { api } = this.target;
    const attributes = this.attributes("process", batch);
    attributes["messaging.batch.message_count"] = batch.length;
    const active = api.context.active();
    const links: { context: TracingSpanContext }[] = [];
    for (let i = 0; i < batch.length; i++) {
      const headers = batch.headers(i);
      if (headers.length === 0) continue;
      const carried = api.trace.getSpanContext(
        api.propagation.extract(active, headers, GETTER),
      );
      if (carried !== undefined) links.push({ context: carried });
    }
    return this.tracer!.startSpan(`process ${batch.topic}`, {
      kind: api.SpanKind.CONSUMER,
      attributes,
      links,
    }, active);
  }
}

/**
 * The tracing of a Reader or a ShareReader, from its options: null without
 * `tracing`.
 */
export function readerTracing(options: {
  tracing?: TracingApi;
  errorLogger?: (message: string) => void;
  cluster?: { options: { clientId?: string } };
  transport?: { clientId?: string };
  groupId?: string;
}): ReaderTracing | null {
  if (options.tracing === undefined) return null;
  return new ReaderTracing(
    {
      api: options.tracing,
      clientId: options.cluster?.options.clientId ??
        options.transport?.clientId ?? SOFTWARE_NAME,
      errorLogger: options.errorLogger,
    },
    SOFTWARE_VERSION,
    options.groupId,
  );
}

/** Ends a span, with `error` recorded and the status ERROR if there is one. */
function endSpan(
  api: TracingApi,
  span: TracingSpan,
  error: Error | null | undefined,
): void {
  if (error) {
    span.recordException(error);
    span.setAttribute("error.type", error.name);
    span.setStatus({ code: api.SpanStatusCode.ERROR, message: error.message });
  }
  span.end();
}

/**
 * Checks a `tracing` option: undefined, or an object with the parts of the
 * OpenTelemetry API used here; a TypeError names what is missing.
 */
export function checkTracing(
  context: string,
  tracing: unknown,
): TracingApi | undefined {
  if (tracing === undefined) return undefined;
  const api = tracing as Partial<TracingApi> | null;
  const missing = [
    ["trace.getTracer", api?.trace?.getTracer],
    ["trace.setSpan", api?.trace?.setSpan],
    ["trace.getSpan", api?.trace?.getSpan],
    ["trace.getSpanContext", api?.trace?.getSpanContext],
    ["context.active", api?.context?.active],
    ["propagation.inject", api?.propagation?.inject],
    ["propagation.extract", api?.propagation?.extract],
    ["propagation.fields", api?.propagation?.fields],
  ].filter(([, f]) => typeof f !== "function").map(([name]) => name);
  if (
    typeof api?.SpanKind?.PRODUCER !== "number" ||
    typeof api?.SpanStatusCode?.ERROR !== "number"
  ) missing.push("SpanKind and SpanStatusCode");
  if (missing.length > 0) {
    throw new TypeError(
      `${context}: "tracing" must be the OpenTelemetry API (import * as api from "@opentelemetry/api"), got ${
        tracing === null ? "null" : typeof tracing
      } without ${missing.join(", ")}`,
    );
  }
  return api as TracingApi;
}
