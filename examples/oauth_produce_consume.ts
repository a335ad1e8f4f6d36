/**
 * SASL OAUTHBEARER: a Writer and a Reader authenticate with a bearer token
 * from a token provider. Against the local test broker the token is an
 * unsecured JWT (its OAUTHBEARER listeners accept those: development only);
 * against a real cluster it comes from your identity provider, as in the
 * comment below.
 *
 * Run: deno run -A examples/oauth_produce_consume.ts [topic]
 *  or: bun run examples/oauth_produce_consume.ts [topic]
 */

import process from "node:process";
import {
  cachedTokenProvider,
  type Message,
  oauthBearer,
  Reader,
  unsecuredJwt,
  Writer,
} from "../mod.ts";

const text = new TextDecoder();

export async function main(
  broker = process.env.KAFKA_SASL_BROKERS?.split(",")[0] ?? "127.0.0.1:9094",
  topic = "oauth-topic-A",
): Promise<Message[]> {
  // The token provider is called for every connection and every
  // re-authentication; cachedTokenProvider reuses a token for 80% of its
  // lifetime. An unsecured JWT: NOT for production.
  const sasl = oauthBearer(cachedTokenProvider(() => {
    const lifetimeMs = 15 * 60_000;
    return Promise.resolve({
      value: unsecuredJwt({ sub: "alice", lifetimeMs }),
      lifetimeMs: Date.now() + lifetimeMs,
    });
  }));
  // With a real identity provider (OAuth 2.0 client credentials), over TLS:
  //
  //   import { oidcClientCredentials } from "jsr:@streamkafka/client";
  //   const sasl = oauthBearer(oidcClientCredentials({
  //     tokenEndpoint: "https://idp.example.com/oauth2/token",
  //     clientId: process.env.KAFKA_CLIENT_ID!,
  //     clientSecret: process.env.KAFKA_CLIENT_SECRET!,
  //     scope: "kafka",
  //   }));
  //   transport: { sasl, tls: true }

  const writer = new Writer({
    brokers: [broker],
    topic,
    allowAutoTopicCreation: true,
    transport: { sasl },
  });
  try {
    await writer.writeMessages(
      { key: "a", value: "one" },
      { key: "b", value: "two" },
      { key: "c", value: "three" },
    );
  } finally {
    await writer.close();
  }

  const reader = new Reader({
    brokers: [broker],
    topic,
    partition: 0,
    maxWait: 500,
    transport: { sasl },
  });
  const messages: Message[] = [];
  try {
    while (true) {
      const m = await reader.readMessage();
      console.log(`offset ${m.offset}: ${text.decode(m.value!)}`);
      messages.push(m);
      if (m.offset + 1 >= m.highWaterMark) break;
    }
  } finally {
    await reader.close();
  }
  return messages;
}

if (import.meta.main) await main(undefined, process.argv[2]);
