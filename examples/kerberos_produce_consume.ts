/**
 * Kerberos (SASL GSSAPI): the client logs in at its KDC with a keytab (or a
 * password), gets a ticket for the broker, and authenticates with it; the
 * broker maps the principal to a Kafka user (alice@STREAMKAFKA.TEST is
 * User:alice). Writes a few messages and reads them back.
 *
 * Run: deno run -A examples/kerberos_produce_consume.ts [topic]
 *  or: bun run examples/kerberos_produce_consume.ts [topic]
 *
 * Environment: KAFKA_GSSAPI_BROKERS (default 127.0.0.1:9099), KAFKA_KDC
 * (default 127.0.0.1:9089), KAFKA_PRINCIPAL (default
 * alice@STREAMKAFKA.TEST) and KAFKA_KEYTAB (default
 * .kafka/kerberos/alice.keytab, as tools/kafka.ts writes it).
 *
 * @module
 */

import process from "node:process";
import {
  gssapi,
  type GssapiOptions,
  type Message,
  Reader,
  Writer,
} from "../mod.ts";

const env = process.env;

/** Who logs in, and where: from the environment, or the test KDC's. */
export const DEFAULT_LOGIN: GssapiOptions = {
  principal: env.KAFKA_PRINCIPAL ?? "alice@STREAMKAFKA.TEST",
  keytab: env.KAFKA_KEYTAB ?? ".kafka/kerberos/alice.keytab",
  kdc: env.KAFKA_KDC ?? "127.0.0.1:9089",
};

/**
 * Writes three messages to `topic` as the Kerberos principal of `login`,
 * reads them back from partition 0 and returns them.
 *
 * @example
 * ```ts
 * import { main } from "./kerberos_produce_consume.ts";
 *
 * const messages = await main("127.0.0.1:9099", "kerberos-example");
 * console.log(messages.map((m) => new TextDecoder().decode(m.value!)));
 * ```
 */
export async function main(
  broker = env.KAFKA_GSSAPI_BROKERS?.split(",")[0] ?? "127.0.0.1:9099",
  topic = "kerberos-topic",
  login: GssapiOptions = DEFAULT_LOGIN,
): Promise<Message[]> {
  // One mechanism for both: one login and one ticket per broker, shared.
  const transport = { sasl: gssapi(login) };

  const writer = new Writer({
    brokers: [broker],
    topic,
    allowAutoTopicCreation: true,
    transport,
  });
  try {
    await writer.writeMessages(
      { key: "1", value: "first, with a ticket" },
      { key: "2", value: "second, with a ticket" },
      { key: "3", value: "third, with a ticket" },
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
