/** SCRAM's exchange against what a server may send in its first message. */

import assert from "node:assert/strict";
import { test } from "node:test";
import { scram } from "./sasl_scram.ts";

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** The client's nonce from its first message. */
async function nonceOf(first: Uint8Array | null | Promise<Uint8Array | null>) {
  const message = text.decode((await first)!);
  return /r=([^,]+)/.exec(message)![1];
}

test("a server asking for more PBKDF2 iterations than any Kafka broker uses is refused at once", async () => {
  const exchange = await scram("SCRAM-SHA-256", "alice", "secret").begin({
    host: "127.0.0.1",
    port: 9094,
    reauthentication: false,
  });
  const nonce = await nonceOf(exchange.start());
  const started = Date.now();
  await assert.rejects(
    async () =>
      await exchange.next(
        utf8.encode(`r=${nonce}xyz,s=c2FsdA==,i=2147483647`),
      ),
    /SCRAM authentication failed: the server asks for 2147483647 PBKDF2 iterations; more than 1000000 are refused \(Kafka uses at most 16384\)/,
  );
  assert.ok(Date.now() - started < 1000);
  // A count Kafka uses goes on to the proof.
  const again = await scram("SCRAM-SHA-256", "alice", "secret").begin({
    host: "127.0.0.1",
    port: 9094,
    reauthentication: false,
  });
  const n = await nonceOf(again.start());
  // Fewer than 4096 would make the proof cheap to guess from.
  const low = await scram("SCRAM-SHA-256", "alice", "secret").begin({
    host: "127.0.0.1",
    port: 9094,
    reauthentication: false,
  });
  const lowNonce = await nonceOf(low.start());
  await assert.rejects(
    async () => await low.next(utf8.encode(`r=${lowNonce}xyz,s=c2FsdA==,i=1`)),
    new Error(
      "SCRAM authentication failed: the server asks for 1 PBKDF2 iterations; fewer than 4096 are refused (Kafka uses 4096 to 16384), and no proof was sent: check that the address is your broker's",
    ),
  );
  const final = await again.next(utf8.encode(`r=${n}xyz,s=c2FsdA==,i=4096`));
  assert.match(text.decode(final!), /^c=biws,r=.*xyz,p=/);
});
