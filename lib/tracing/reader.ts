/**
 * The CONSUMER spans of a Reader or ShareReader: one per message it hands
 * out, a child of the context in the message's headers. "process <topic>"
 * through `for await`, from when the message is handed out until the next
 * one is asked for (or the loop ends); "receive <topic>", ended at once,
 * through `readMessage` and `fetchMessage`; through `batches()`, one
 * "process <topic>" span per batch, in the active context, linked to each
 * message's context, until the next batch is asked for.
 *
 * @module
 */

import { SOFTWARE_NAME, SOFTWARE_VERSION } from "../connection/connection.ts";
import type { Message } from "../message.ts";
import type { BatchTaker, MessageBatch } from "../consumer/message_batch.ts";
import {
  contained,
  endSpan,
  GETTER,
  messageTraceContext,
  NO_SPAN,
  spanContexts,
  tracerOf,
  type TracingApi,
  type TracingSpan,
  type TracingSpanContext,
  type TracingTarget,
} from "./api.ts";

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
    this.tracer = tracerOf(target, "reader", version);
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
   * Runs `run`, the work of `message` (a Processor's handler), in a
   * "process" span: active while it runs where the API has `context.with`,
   * and ended with its outcome (status ERROR if it threw or rejected).
   * Resolves or rejects as `run` does; a tracer that throws only leaves
   * the work untraced.
   */
  async process(message: Message, run: () => unknown): Promise<unknown> {
    const span = this.start(message, "process");
    const { api } = this.target;
    const context = spanContexts.get(message);
    let ran = false;
    let result: unknown;
    let thrown: { error: unknown } | null = null;
    const work = () => {
      if (ran) return; // a context.with that called back late
      ran = true;
      try {
        result = run();
      } catch (error) {
        thrown = { error };
      }
    };
    const within = api.context.with;
    if (context !== undefined && typeof within === "function") {
      contained(
        this.target,
        "reader",
        () => within.call(api.context, context, work),
        undefined,
      );
    }
    if (!ran) work();
    try {
      if (thrown !== null) throw (thrown as { error: unknown }).error;
      const value = await result;
      contained(
        this.target,
        "reader",
        () => endSpan(api, span, null),
        undefined,
      );
      return value;
    } catch (error) {
      contained(
        this.target,
        "reader",
        () =>
          endSpan(
            api,
            span,
            error instanceof Error ? error : new Error(String(error)),
          ),
        undefined,
      );
      throw error;
    }
  }

  /** The span of what is being processed, until `end()` ends it. */
  private current(): { span: TracingSpan | null; end(): void } {
    const target = this.target;
    return {
      span: null,
      end() {
        const ending = this.span;
        this.span = null;
        if (ending !== null) {
          contained(target, "reader", () => ending.end(), undefined);
        }
      },
    };
  }

  /**
   * `iterator` (which it changes and returns) with a "process" span around
   * each message it hands out: from then until the next one is asked for,
   * or the loop ends.
   */
  iterate<M extends Message, I extends AsyncIterator<M>>(iterator: I): I {
    const current = this.current();
    const next = iterator.next.bind(iterator);
    const end = iterator.return?.bind(iterator);
    return Object.assign(iterator, {
      next: (): Promise<IteratorResult<M>> => {
        current.end();
        return next().then((result) => {
          if (result.done !== true) {
            current.span = this.start(result.value, "process");
          }
          return result;
        });
      },
      return: (value?: unknown): Promise<IteratorResult<M>> => {
        current.end();
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
    const current = this.current();
    return {
      queued: () => taker.queued(),
      batch: (first) => {
        const batch = taker.batch(first);
        if (this.tracer === null) return batch;
        current.span = contained(
          this.target,
          "reader",
          () => this.startBatch(batch),
          NO_SPAN,
        );
        return batch;
      },
      asked: () => {
        current.end();
        taker.asked?.();
      },
      ended: () => {
        current.end();
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
  tracing?: TracingApi | undefined;
  errorLogger?: ((message: string) => void) | undefined;
  cluster?: { options: { clientId?: string | undefined } } | undefined;
  transport?: { clientId?: string | undefined } | undefined;
  groupId?: string | undefined;
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
