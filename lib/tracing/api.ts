/**
 * Tracing with OpenTelemetry: the part of OpenTelemetry's API this library
 * uses (the application passes its own `@opentelemetry/api`), the trace
 * context a message carries in its headers, and what the Writer's spans
 * (`writer.ts`) and the Reader's (`reader.ts`) have in common.
 *
 * The library depends on no OpenTelemetry package: the application passes
 * the OpenTelemetry API it uses (`import * as api from
 * "@opentelemetry/api"`) as the `tracing` option, and spans go to whatever
 * tracer provider and propagator it registered there. The spans follow
 * OpenTelemetry's semantic conventions for messaging (Kafka).
 *
 * @module
 */

import type { Header, Message } from "../message.ts";
import { describeValue } from "../options.ts";

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
  /**
   * `api.context`; `with` (optional here) runs a Processor's handler in its
   * message's span.
   */
  context: {
    active(): TracingContext;
    with?(context: TracingContext, fn: () => unknown): unknown;
  };
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

export const SETTER: TracingSetter = {
  set(carrier, key, value) {
    carrier.push({ key, value: encoder.encode(value) });
  },
};

export const GETTER: TracingGetter = {
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

/** The contexts of the spans traced Readers made for their messages. */
export const spanContexts = new WeakMap<object, unknown>();

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
  if (
    typeof api?.context?.active !== "function" ||
    typeof api.propagation?.extract !== "function"
  ) {
    throw new TypeError(
      `messageTraceContext: "api" must be OpenTelemetry's API ({ context, propagation }: import * as api from "@opentelemetry/api"), got ${
        describeValue(api)
      }`,
    );
  }
  const traced = spanContexts.get(message);
  if (traced !== undefined) return traced as C;
  return api.propagation.extract(
    api.context.active(),
    message.headers,
    GETTER,
  );
}

/** The library's name on its tracers. */
const TRACER = "streamkafka";

/** What the spans of a Writer or a Reader have in common. */
export interface TracingTarget {
  api: TracingApi;
  clientId: string;
  /** Told the first time the tracing API throws (messages go on untraced). */
  errorLogger?: ((message: string) => void) | undefined;
}

/** A span that records nothing: where tracing failed, or a non-message. */
export const NO_SPAN: TracingSpan = {
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
export function contained<T>(
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

/**
 * The target's tracer, named after the library at `version`; null if the
 * tracing API throws (then said once to the errorLogger).
 */
export function tracerOf(
  target: TracingTarget & { failed?: boolean },
  who: string,
  version: string,
): ReturnType<TracingApi["trace"]["getTracer"]> | null {
  return contained(
    target,
    who,
    () => target.api.trace.getTracer(TRACER, version),
    null,
  );
}

/** Ends a span, with `error` recorded and the status ERROR if there is one. */
export function endSpan(
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
