/**
 * Run as its own process by tests/failures_test.ts: a Writer's stream
 * interface failing in every way an application meets, each failure
 * handled by the application. Under Deno's default policy an unhandled
 * rejection would end the process with "Uncaught (in promise)" and exit
 * code 1; this script must print "ok" and exit 0.
 *
 * Usage: <runtime> tests/scripts/stream_failures.ts <broker> <topic>
 * (the topic refuses messages over 1,000 bytes)
 */

import process from "node:process";
import { WriteErrors, Writer } from "../../mod.ts";

const [broker, topic] = process.argv.slice(2);
const tooLarge = { value: new Uint8Array(5000) };

function expect(condition: boolean, what: string): void {
  if (!condition) throw new Error(`stream_failures: ${what}`);
}

async function rejects(what: string, promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error(`stream_failures: ${what} resolved, expected a rejection`);
}

// 1. writer.getWriter().write(m): write() resolves once the message is
// queued, so the broker's refusal rejects the next write, and close().
{
  const w = new Writer({ brokers: [broker], topic });
  const sink = w.getWriter();
  await sink.write(tooLarge).catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, 500));
  const error = await rejects("write", sink.write({ value: "next" }));
  expect(error instanceof WriteErrors, `write: ${error}`);
  // The stream's own close() of an errored stream rejects with a TypeError.
  await rejects("close after failure", sink.close());
  const closed = await rejects("closed", sink.closed);
  expect(closed instanceof WriteErrors, `closed: ${closed}`);
}

// 2. readable.pipeTo(writer).
{
  const w = new Writer({ brokers: [broker], topic });
  const source = ReadableStream.from([{ value: "fine" }, tooLarge, {
    value: "never",
  }]);
  const error = await rejects("pipeTo", source.pipeTo(w));
  expect(error instanceof WriteErrors, `pipeTo: ${error}`);
  const closing = await rejects("close of an errored stream", w.close());
  expect(closing instanceof WriteErrors, `Writer.close: ${closing}`);
}

// 3. abort() with writes in flight, and a write after it.
{
  const w = new Writer({ brokers: [broker], topic });
  const sink = w.getWriter();
  const first = sink.write({ value: "in flight" }).catch((e) => e);
  await sink.abort(new Error("stop"));
  await first;
  await rejects("write after abort", sink.write({ value: "late" }));
}

// 4. a failure on a write whose promise the application dropped: it
// surfaces at close().
{
  const w = new Writer({ brokers: [broker], topic });
  const sink = w.getWriter();
  sink.write(tooLarge).catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, 500));
  const error = await rejects("close", sink.close());
  expect(error instanceof WriteErrors, `close: ${error}`);
  sink.releaseLock();
  const again = await rejects("Writer.close", w.close());
  expect(again instanceof WriteErrors, `Writer.close: ${again}`);
}

// Stray rejections surface on later turns: give them time.
await new Promise((resolve) => setTimeout(resolve, 500));
console.log("ok");
