/**
 * SASL OAUTHBEARER against the broker, whose OAUTHBEARER listeners use
 * Kafka's unsecured-JWT validator: a Writer and a Reader over
 * SASL_PLAINTEXT and SASL_SSL, SASL extensions, rejected tokens (expired,
 * signed, not a JWT) failing with a message saying so, re-authentication
 * with fresh tokens on the REAUTH listener, and the OIDC client-credentials
 * provider end to end with a local token endpoint issuing unsecured JWTs.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import process from "node:process";
import { after, before, describe, test } from "node:test";
import {
  dial,
  ErrorCode,
  KafkaError,
  Reader,
  type SaslAuthenticator,
  Writer,
} from "../mod.ts";
import {
  cachedTokenProvider,
  oauthBearer,
  type OAuthBearerToken,
  unsecuredJwt,
} from "../lib/connection/sasl_oauth.ts";
import { oidcClientCredentials } from "../lib/connection/oidc.ts";
import { CA_PEM, REAUTH_MS, SASL_USERNAME } from "../tools/kafka.ts";
import {
  noUnhandledRejections,
  roundTrip,
  sleep,
  uniqueTopic,
} from "./_helpers.ts";

const env = process.env;
const SASL = env.KAFKA_SASL_BROKERS?.split(",")[0] ?? "127.0.0.1:9094";
const SASL_SSL = env.KAFKA_SASL_SSL_BROKERS?.split(",")[0] ??
  "127.0.0.1:9096";
const REAUTH = env.KAFKA_REAUTH_BROKERS?.split(",")[0] ?? "127.0.0.1:9098";
const text = new TextDecoder();

/** The broker's super user, so that no ACL another test makes gets in the way. */
const SUB = SASL_USERNAME;

/** A provider of fresh unsecured JWTs for SUB lasting `lifetimeMs`. */
function jwtProvider(lifetimeMs = 600_000): () => Promise<OAuthBearerToken> {
  return () => {
    const issuedAt = Date.now();
    return Promise.resolve({
      value: unsecuredJwt({ sub: SUB, issuedAt, lifetimeMs }),
      // The JWT's exp, in whole seconds.
      lifetimeMs: Math.floor((issuedAt + lifetimeMs) / 1000) * 1000,
    });
  };
}

function base64url(json: unknown): string {
  return btoa(JSON.stringify(json)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** The KafkaError somewhere in `error`'s per-message errors or causes. */
function kafkaErrorIn(error: unknown): KafkaError | undefined {
  const seen = new Set<unknown>();
  const queue = [error];
  while (queue.length > 0) {
    const next = queue.shift();
    if (next === null || next === undefined || seen.has(next)) continue;
    seen.add(next);
    if (next instanceof KafkaError) return next;
    const { errors, cause } = next as { errors?: unknown[]; cause?: unknown };
    if (Array.isArray(errors)) queue.push(...errors);
    queue.push(cause);
  }
  return undefined;
}

const REJECTED =
  /broker 127\.0\.0\.1:\d+, OAUTHBEARER: the broker rejected the token \(status "invalid_token"\)/;

/** The CA that signed the broker's certificate, read on first use. */
let caText: string | undefined;
function caPem(): string {
  return caText ??= readFileSync(env.KAFKA_CA_PEM ?? CA_PEM, "utf8");
}

describe("OAUTHBEARER against the broker", () => {
  test("dial over SASL_PLAINTEXT and SASL_SSL, with extensions", async () => {
    await noUnhandledRejections(async () => {
      const sasl = oauthBearer({
        token: jwtProvider(),
        extensions: { traceId: "abc 123", zone: "eu" },
      });
      for (
        const [address, tls] of [[SASL, undefined], [SASL_SSL, {
          ca: caPem(),
        }]] as const
      ) {
        const conn = await dial(address, { sasl, tls });
        try {
          assert.ok((await conn.brokers()).length >= 1);
        } finally {
          conn.close();
        }
      }
    });
  });

  test("a token provider that never answers fails the dial within its timeout, naming the mechanism", async () => {
    await noUnhandledRejections(async () => {
      const sasl = oauthBearer({ token: () => new Promise<never>(() => {}) });
      const started = Date.now();
      await assert.rejects(
        dial(SASL, { sasl, timeout: 1500 }),
        (error) =>
          error instanceof Error && error.name === "TimeoutError" &&
          /^SASL OAUTHBEARER with 127\.0\.0\.1:\d+ did not finish in the time allowed$/
            .test(error.message),
      );
      const took = Date.now() - started;
      assert.ok(took >= 1000 && took < 4000, `failed after ${took} ms`);
    });
  });

  test("a Writer and a Reader over SASL_PLAINTEXT", async () => {
    await noUnhandledRejections(async () => {
      const sasl = oauthBearer(cachedTokenProvider(jwtProvider()));
      assert.deepEqual(await roundTrip(SASL, { sasl }), [
        "one",
        "two",
        "three",
      ]);
    });
  });

  test("a Writer and a Reader over SASL_SSL", async () => {
    await noUnhandledRejections(async () => {
      const sasl = oauthBearer(cachedTokenProvider(jwtProvider()));
      assert.deepEqual(
        await roundTrip(SASL_SSL, { sasl, tls: { ca: caPem() } }),
        [
          "one",
          "two",
          "three",
        ],
      );
    });
  });

  test("rejected tokens fail saying the broker rejected the token", async () => {
    const now = Date.now();
    const expired = unsecuredJwt({
      sub: SUB,
      issuedAt: now - 120_000,
      lifetimeMs: 60_000,
    });
    const signed = `${base64url({ alg: "HS256", typ: "JWT" })}.${
      base64url({
        sub: SUB,
        iat: Math.floor(now / 1000),
        exp: Math.floor(now / 1000) + 600,
      })
    }.c2lnbmF0dXJl`;
    const noSubject = `${base64url({ alg: "none" })}.${
      base64url({
        iat: Math.floor(now / 1000),
        exp: Math.floor(now / 1000) + 600,
      })
    }.`;
    const cases: Array<[string, OAuthBearerToken, RegExp?]> = [
      [
        "expired",
        { value: expired, lifetimeMs: now - 60_000 },
        /: it expired at \d{4}-.*, says its provider's "lifetimeMs"/,
      ],
      ["signed (alg HS256)", { value: signed }],
      ["without a sub", { value: noSubject }],
      ["not a JWT", { value: "not-a-jwt" }],
    ];
    await noUnhandledRejections(async () => {
      for (const [name, token, also] of cases) {
        let provided = 0;
        const sasl = oauthBearer(() => {
          provided++;
          return Promise.resolve(token);
        });
        for (
          const [address, tls] of [[SASL, undefined], [SASL_SSL, {
            ca: caPem(),
          }]] as const
        ) {
          await assert.rejects(dial(address, { sasl, tls }), (error) => {
            assert.ok(error instanceof KafkaError, `${name}: ${error}`);
            assert.equal(error.code, ErrorCode.SASL_AUTHENTICATION_FAILED);
            assert.match(error.message, REJECTED, name);
            if (also) assert.match(error.message, also, name);
            assert.ok(
              !error.message.includes(token.value),
              `${name}: the message shows the token`,
            );
            return true;
          }, name);
        }
        assert.equal(provided, 2, name);
      }
    });
  });

  test("a Writer with a rejected token fails saying so, and drops the cached token", async () => {
    await noUnhandledRejections(async () => {
      let fetched = 0;
      const provider = cachedTokenProvider(() => {
        fetched++;
        // Issued "in an hour": the broker refuses a token from the future.
        return Promise.resolve({
          value: unsecuredJwt({
            sub: SUB,
            issuedAt: Date.now() + 3_600_000,
            lifetimeMs: 600_000,
          }),
          lifetimeMs: Date.now() + 4_200_000,
        });
      });
      const writer = new Writer({
        brokers: [SASL],
        topic: uniqueTopic("oauth-rejected"),
        allowAutoTopicCreation: true,
        maxAttempts: 1,
        transport: { sasl: oauthBearer(provider), dialTimeout: 5000 },
      });
      try {
        await assert.rejects(
          writer.writeMessages({ value: "never" }),
          (error) => {
            const kafka = kafkaErrorIn(error);
            assert.ok(kafka, String(error));
            assert.equal(kafka.code, ErrorCode.SASL_AUTHENTICATION_FAILED);
            assert.match(kafka.message, REJECTED);
            assert.match(
              String((error as Error).message),
              /rejected the token/,
            );
            return true;
          },
        );
      } finally {
        await writer.close();
      }
      // Each rejection dropped the token: every attempt fetched a new one.
      assert.ok(fetched >= 1);
      const fetchedBefore = fetched;
      await provider();
      assert.equal(fetched, fetchedBefore + 1);
    });
  });

  test(
    "connections re-authenticate with the provider's token (REAUTH listener)",
    {
      timeout: 60_000,
    },
    async () => {
      await noUnhandledRejections(async () => {
        let first = 0;
        let again = 0;
        let tokens = 0;
        const inner = oauthBearer(cachedTokenProvider(() => {
          tokens++;
          return jwtProvider(2 * REAUTH_MS)();
        }));
        const sasl: SaslAuthenticator = {
          mechanism: inner.mechanism,
          begin(context) {
            if (context.reauthentication) again++;
            else first++;
            return inner.begin(context);
          },
        };
        const topic = uniqueTopic("oauth-reauth");
        const writer = new Writer({
          brokers: [REAUTH],
          topic,
          allowAutoTopicCreation: true,
          transport: { sasl },
        });
        try {
          await writer.writeMessages({ value: "first" });
          // Sessions last REAUTH_MS, and tokens twice that: the connections
          // authenticate again, with new tokens once 80% of one has passed.
          await sleep(REAUTH_MS * 2 + 500);
          await writer.writeMessages({ value: "second" });
        } finally {
          await writer.close();
        }
        assert.ok(first >= 1, `first authentications: ${first}`);
        assert.ok(again >= 1, `re-authentications: ${again}`);
        assert.ok(tokens >= 2, `tokens fetched: ${tokens}`);
        const reader = new Reader({
          brokers: [REAUTH],
          topic,
          partition: 0,
          maxWait: 500,
          transport: { sasl },
        });
        try {
          const values = [];
          while (values.length < 2) {
            values.push(text.decode((await reader.readMessage()).value!));
          }
          assert.deepEqual(values, ["first", "second"]);
        } finally {
          await reader.close();
        }
      });
    },
  );
});

describe("OIDC client credentials against the broker", () => {
  const CLIENT_ID = "streamkafka-test";
  const CLIENT_SECRET = "test-secret:with/odd+chars";
  let server: Server;
  let endpoint: string;
  let requests = 0;
  const sockets = new Set<Socket>();

  before(async () => {
    const expected = `Basic ${
      btoa(
        `${encodeURIComponent(CLIENT_ID)}:${
          new URLSearchParams({ s: CLIENT_SECRET }).toString().slice(2)
        }`,
      )
    }`;
    server = createServer((request, response) => {
      let body = "";
      request.setEncoding("utf8");
      request.on("data", (chunk: string) => body += chunk);
      request.on("end", () => {
        requests++;
        const form = new URLSearchParams(body);
        const reply = (status: number, json: unknown) => {
          response.writeHead(status, { "content-type": "application/json" });
          response.end(JSON.stringify(json));
        };
        if (request.method !== "POST") {
          return reply(405, { error: "invalid_request" });
        }
        if (request.headers.authorization !== expected) {
          return reply(401, {
            error: "invalid_client",
            error_description: "Client authentication failed",
          });
        }
        if (form.get("grant_type") !== "client_credentials") {
          return reply(400, { error: "unsupported_grant_type" });
        }
        const expiresIn = 300;
        reply(200, {
          access_token: unsecuredJwt({
            sub: SUB,
            lifetimeMs: expiresIn * 1000,
            scope: form.get("scope") ?? undefined,
          }),
          token_type: "Bearer",
          expires_in: expiresIn,
        });
      });
    });
    server.on("connection", (socket: Socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) =>
      server.listen(0, "127.0.0.1", resolve)
    );
    endpoint = `http://127.0.0.1:${
      (server.address() as AddressInfo).port
    }/realms/kafka/token`;
  });

  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test("a Writer and a Reader with tokens from the token endpoint", async () => {
    await noUnhandledRejections(async () => {
      requests = 0;
      const sasl = oauthBearer(oidcClientCredentials({
        tokenEndpoint: endpoint,
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        scope: "kafka",
      }));
      assert.deepEqual(await roundTrip(SASL, { sasl }), [
        "one",
        "two",
        "three",
      ]);
      assert.deepEqual(
        await roundTrip(SASL_SSL, { sasl, tls: { ca: caPem() } }),
        [
          "one",
          "two",
          "three",
        ],
      );
      // Every connection of both used the one cached token.
      assert.equal(requests, 1);
    });
  });

  test("a wrong client secret fails naming the endpoint and invalid_client", async () => {
    await noUnhandledRejections(async () => {
      const sasl = oauthBearer(oidcClientCredentials({
        tokenEndpoint: endpoint,
        clientId: CLIENT_ID,
        clientSecret: "wrong-secret",
      }));
      await assert.rejects(dial(SASL, { sasl }), (error) => {
        assert.ok(error instanceof KafkaError, String(error));
        assert.equal(error.code, ErrorCode.SASL_AUTHENTICATION_FAILED);
        assert.ok(
          error.message.includes(
            `broker ${SASL}, OAUTHBEARER: the token provider failed: Cannot get an OAuth token from ${endpoint}: HTTP 401 Unauthorized, OAuth error "invalid_client"`,
          ),
          error.message,
        );
        assert.ok(!error.message.includes("wrong-secret"));
        return true;
      });
    });
  });
});
