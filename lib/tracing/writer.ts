/**
 * The PRODUCER spans of a Writer: a span "send <topic>" per message, a
 * child of the context active when the message was written (or, with no
 * span active, of the span a traced Reader made for the message, or of the
 * context the message carries, if any). The span's context is written into
 * the message's headers (`traceparent` with the W3C propagator), in place
 * of any it carried; the span ends when the write settles, with the error
 * if the message failed.
 *
 * @module
 */

import type { Header, MessageInput } from "../message.ts";
import {
  contained,
  endSpan,
  GETTER,
  NO_SPAN,
  SETTER,
  spanContexts,
  tracerOf,
  type TracingSpan,
  type TracingTarget,
} from "./api.ts";

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
    this.tracer = tracerOf(target, "writer", version);
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
