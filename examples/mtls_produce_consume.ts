/**
 * Mutual TLS: the client proves who it is with a certificate and its key
 * (PEM), and the broker (a listener with `ssl.client.auth=required`) takes
 * the client's principal from the certificate. Writes a few messages and
 * reads them back.
 *
 * Run: deno run -A examples/mtls_produce_consume.ts [topic]
 *  or: bun run examples/mtls_produce_consume.ts [topic]
 *
 * Environment: KAFKA_MTLS_BROKERS (default 127.0.0.1:9097), and the PEM
 * files KAFKA_CA_PEM, KAFKA_CLIENT_CERT_PEM, KAFKA_CLIENT_KEY_PEM (default
 * .kafka/certs/ca.pem, client.pem and client-key.pem, as tools/kafka.ts
 * writes them).
 *
 * @module
 */

import { readFile } from "node:fs/promises";
import process from "node:process";
import { type Message, Reader, Writer } from "../mod.ts";

/** Where the PEM files of mutual TLS are. */
export interface MtlsFiles {
  /** The certificate authority that signed the broker's certificate. */
  ca: string;
  /** The client's certificate (chain). */
  cert: string;
  /** The client certificate's private key. */
  key: string;
}

const env = process.env;

/** The files from the environment, or where tools/kafka.ts writes them. */
export const DEFAULT_FILES: MtlsFiles = {
  ca: env.KAFKA_CA_PEM ?? ".kafka/certs/ca.pem",
  cert: env.KAFKA_CLIENT_CERT_PEM ?? ".kafka/certs/client.pem",
  key: env.KAFKA_CLIENT_KEY_PEM ?? ".kafka/certs/client-key.pem",
};

/**
 * Writes three messages to `topic` over mutual TLS, reads them back from
 * partition 0 and returns them.
 *
 * @example
 * ```ts
 * import { main } from "./mtls_produce_consume.ts";
 *
 * const messages = await main("127.0.0.1:9097", "mtls-example");
 * console.log(messages.map((m) => new TextDecoder().decode(m.value!)));
 * ```
 */
export async function main(
  broker = env.KAFKA_MTLS_BROKERS?.split(",")[0] ?? "127.0.0.1:9097",
  topic = "mtls-topic",
  files: MtlsFiles = DEFAULT_FILES,
): Promise<Message[]> {
  const [ca, cert, key] = await Promise.all(
    [files.ca, files.cert, files.key].map((path) => readFile(path, "utf8")),
  );
  const transport = { tls: { ca, cert, key } };

  const writer = new Writer({
    brokers: [broker],
    topic,
    allowAutoTopicCreation: true,
    transport,
  });
  try {
    await writer.writeMessages(
      { key: "1", value: "first, signed" },
      { key: "2", value: "second, signed" },
      { key: "3", value: "third, signed" },
    );
  } finally {
    await writer.close();
  }

  const reader = new Reader({
    brokers: [broker],
    topic,
    partition: 0,
    maxWait: 500,
    transport,
  });
  const messages: Message[] = [];
  try {
    while (messages.length < 3) messages.push(await reader.readMessage());
  } finally {
    await reader.close();
  }
  return messages;
}

if (import.meta.main) {
  const topic = process.argv[2];
  for (const m of await main(undefined, topic)) {
    console.log(`${m.offset}: ${new TextDecoder().decode(m.value!)}`);
  }
}
