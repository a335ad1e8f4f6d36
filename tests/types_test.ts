/**
 * Types a user meets. Deno type-checks this file before running it, so an
 * `@ts-expect-error` below fails the run when the call it marks compiles;
 * the calls that should compile also run against the broker.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type HeaderInput,
  type Message,
  type MessageInput,
  type Reader,
  type ReaderPipeOptions,
  type ShareReader,
  Writer,
} from "../mod.ts";
import { BROKER, readPartition, uniqueTopic } from "./_helpers.ts";

test("writeMessages and send take readonly arrays, and headers typed as HeaderInput", async () => {
  const topic = uniqueTopic("types");
  const writer = new Writer({
    brokers: [BROKER],
    topic,
    allowAutoTopicCreation: true,
  });
  const headers: HeaderInput[] = [{ key: "content-type", value: "text" }];
  const batch: readonly MessageInput[] = [{ value: "a", headers }];
  try {
    await writer.writeMessages(batch);
    await writer.writeMessages(batch, {});
    const [sent] = await writer.send(...batch);
    assert.equal(sent.offset, 2);
  } finally {
    await writer.close();
  }
  const read = await readPartition(topic, 0);
  assert.deepEqual(
    read.map((m) => new TextDecoder().decode(m.headers[0].value!)),
    ["text", "text", "text"],
  );
});

/** Never called: what the compiler must refuse, and accept. */
export function pipeTypes(reader: Reader, writer: Writer, share: ShareReader) {
  // @ts-expect-error an offset is not a message
  reader.pipeTo(writer, { map: (m) => m.offset });
  // @ts-expect-error "valeu" is no field of a message
  reader.pipeTo(writer, { map: () => ({ valeu: "x" }) });
  const strings: ReaderPipeOptions<string> = { map: (m) => String(m.offset) };
  // @ts-expect-error strings into a Writer
  reader.pipeTo(writer, strings);
  const inputs: ReaderPipeOptions<MessageInput> = {
    map: (m: Message) => ({ value: m.value }),
  };
  reader.pipeTo(writer, inputs);
  reader.pipeTo(writer, { map: (m) => (m.value === null ? null : [m]) });
  reader.pipeTo(writer, { preventAbort: true });
  // A ShareReader's batches hold ShareMessages, which it acknowledges.
  (async () => {
    for await (const b of share.batches()) {
      for (const m of b.messages) share.acknowledge(m, "release");
    }
  })();
}
