/**
 * The seed's TLS example for the Writer: the transport carries the TLS
 * settings (here the test broker's CA), optionally with SASL.
 *
 * Run: deno run -A examples/writer_tls.ts [topic]
 */

import { readFile } from "node:fs/promises";
import { Writer } from "../mod.ts";

export async function main(
  brokers = (Deno.env.get("KAFKA_SSL_BROKERS") ?? "localhost:9095").split(","),
  topic = "topic-A",
  caPem = Deno.env.get("KAFKA_CA_PEM") ?? ".kafka/certs/ca.pem",
): Promise<void> {
  const ca = await readFile(caPem, "utf8");
  const w = new Writer({
    brokers,
    topic,
    allowAutoTopicCreation: true,
    transport: { tls: { ca } },
  });
  try {
    await w.writeMessages({ key: "Key-A", value: "sent over TLS" });
  } finally {
    await w.close();
  }
}

if (import.meta.main) await main(undefined, Deno.args[0]);
