import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import {
  cachedTokenProvider,
  oauthBearer,
  oauthBearerMessage,
  type OAuthBearerToken,
  unsecuredJwt,
} from "./sasl_oauth.ts";
import { oidcClientCredentials } from "./oidc.ts";
import { authenticate, type SaslContext } from "./sasl.ts";
import type { BrokerConnection } from "./connection.ts";
import { KafkaError } from "../protocol/errors.ts";

const text = new TextDecoder();
const utf8 = new TextEncoder();
const context: SaslContext = {
  host: "127.0.0.1",
  port: 9094,
  reauthentication: false,
};

/** The client-first message of an oauthBearer exchange, as text. */
async function firstMessage(
  sasl: ReturnType<typeof oauthBearer>,
): Promise<string> {
  const exchange = await sasl.begin(context);
  return text.decode(await exchange.start());
}

/** An error's message and its causes', joined. */
function messages(error: unknown): string {
  const out: string[] = [];
  for (let e = error; e instanceof Error; e = e.cause) out.push(e.message);
  return out.join(" <- ");
}

/** Decodes one base64url part of a JWT. */
function part(jwt: string, index: number): Record<string, unknown> {
  const b64 = jwt.split(".")[index].replaceAll("-", "+").replaceAll("_", "/");
  return JSON.parse(atob(b64));
}

/**
 * A connection that answers SaslHandshake with OAUTHBEARER enabled and each
 * SaslAuthenticate with the next of `answers`.
 */
function fakeConnection(
  answers: Array<{ errorCode?: number; authBytes?: string; error?: string }>,
  sent: string[],
): BrokerConnection {
  return {
    address: "127.0.0.1:9094",
    host: "127.0.0.1",
    port: 9094,
    request(api: { name: string }, data: { authBytes?: Uint8Array }) {
      if (api.name === "SaslHandshake") {
        return Promise.resolve({
          errorCode: 0,
          mechanisms: ["PLAIN", "OAUTHBEARER"],
        });
      }
      sent.push(text.decode(data.authBytes));
      const answer = answers.shift()!;
      return Promise.resolve({
        errorCode: answer.errorCode ?? 0,
        errorMessage: answer.error ?? null,
        authBytes: utf8.encode(answer.authBytes ?? ""),
        sessionLifetimeMs: 0n,
      });
    },
  } as unknown as BrokerConnection;
}

describe("OAUTHBEARER messages", () => {
  test("the client-first message without extensions", () => {
    assert.deepEqual(
      oauthBearerMessage("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0."),
      utf8.encode(
        "n,,\x01auth=Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.\x01\x01",
      ),
    );
  });

  test("the client-first message with extensions, each followed by \\x01", () => {
    const bytes = oauthBearerMessage("abc", { traceId: "42", zone: "eu w" });
    assert.equal(
      text.decode(bytes),
      "n,,\x01auth=Bearer abc\x01traceId=42\x01zone=eu w\x01\x01",
    );
    assert.deepEqual([...bytes.slice(0, 4)], [0x6e, 0x2c, 0x2c, 0x01]);
    assert.deepEqual([...bytes.slice(-2)], [0x01, 0x01]);
  });

  test("RFC 6750 token characters, padding included, are accepted", () => {
    const token = "aZ09-._~+/==";
    assert.ok(
      text.decode(oauthBearerMessage(token)).includes(`Bearer ${token}\x01`),
    );
  });

  test("a token that is not a bearer token is refused without printing it", () => {
    for (const token of ["secret token", "secret\x01x", "sécret", "a=b"]) {
      assert.throws(() => oauthBearerMessage(token), (error) => {
        assert.ok(error instanceof TypeError);
        assert.match(error.message, /is not a bearer token \(RFC 6750/);
        assert.match(
          error.message,
          /character \d+ of \d+ is not allowed there$/,
        );
        assert.ok(!error.message.includes("secret"), error.message);
        assert.ok(!error.message.includes("sécret"), error.message);
        return true;
      });
    }
  });

  test("extension names are letters only, never auth", () => {
    for (const name of ["trace_id", "k1", "", "zoné"]) {
      assert.throws(
        () => oauthBearerMessage("t", { [name]: "v" }),
        new RegExp(
          `"extensions" has an invalid name ${
            JSON.stringify(JSON.stringify(name)).slice(1, -1)
          }: extension names are letters only`,
        ),
      );
    }
    assert.throws(
      () =>
        oauthBearer({
          token: () => Promise.resolve({ value: "t" }),
          extensions: { auth: "x" },
        }),
      /may not name an extension "auth"/,
    );
  });

  test("extension values: printable ASCII, space, tab, CR, LF; not \\x01, not empty", () => {
    oauthBearerMessage("t", { a: "x y\tz\r\n~!" });
    for (const value of ["a\x01b", "é", "\x00"]) {
      assert.throws(
        () => oauthBearerMessage("t", { zone: value }),
        (error) => {
          assert.ok(error instanceof TypeError);
          assert.match(
            error.message,
            /extension "zone" of "extensions" has an invalid value: it may only hold printable ASCII, space, tab, CR and LF \(RFC 7628\)/,
          );
          return true;
        },
      );
    }
    assert.throws(
      () => oauthBearerMessage("t", { zone: "" }),
      /extension "zone" of "extensions" has an invalid value: it is empty/,
    );
    assert.throws(
      () => oauthBearerMessage("t", { zone: 4 as unknown as string }),
      /extension "zone" of "extensions" must be a string, got number/,
    );
  });
});

describe("oauthBearer", () => {
  test("bad options are TypeErrors naming the option and the type", () => {
    const cases: Array<[unknown, RegExp]> = [
      [undefined, /oauthBearer\(\) takes a token provider .* got undefined/],
      [null, /got null/],
      ["tok", /got string/],
      [{}, /"token" must be a token provider, .* got undefined/],
      [
        { token: "my-secret-token" },
        /"token" must be a token provider, .* got string \(to send a fixed token, pass token: \(\) => Promise.resolve\(\{ value: myToken \}\)\)/,
      ],
      [
        { token: () => Promise.resolve({ value: "t" }), extensions: "a=b" },
        /"extensions" must be an object of extension names and string values, got string/,
      ],
      [
        { token: () => Promise.resolve({ value: "t" }), extensions: [] },
        /got an array/,
      ],
    ];
    for (const [options, pattern] of cases) {
      assert.throws(
        () => oauthBearer(options as Parameters<typeof oauthBearer>[0]),
        (error) => {
          assert.ok(error instanceof TypeError);
          assert.match(error.message, /^Cannot use OAUTHBEARER: /);
          assert.match(error.message, pattern);
          assert.ok(!error.message.includes("my-secret-token"));
          return true;
        },
      );
    }
  });

  test("calls the provider on every begin and sends its token", async () => {
    let calls = 0;
    const sasl = oauthBearer(() => Promise.resolve({ value: `t${++calls}` }));
    assert.equal(sasl.mechanism, "OAUTHBEARER");
    assert.equal(await firstMessage(sasl), "n,,\x01auth=Bearer t1\x01\x01");
    assert.equal(await firstMessage(sasl), "n,,\x01auth=Bearer t2\x01\x01");
  });

  test("the token's extensions add to and override the option's", async () => {
    const sasl = oauthBearer({
      token: () =>
        Promise.resolve({ value: "t", extensions: { b: "token", c: "3" } }),
      extensions: { a: "1", b: "option" },
    });
    assert.equal(
      await firstMessage(sasl),
      "n,,\x01auth=Bearer t\x01a=1\x01b=token\x01c=3\x01\x01",
    );
  });

  test("an empty answer ends the exchange", async () => {
    const exchange = await oauthBearer(() => Promise.resolve({ value: "t" }))
      .begin(
        context,
      );
    await exchange.start();
    assert.equal(await exchange.next(new Uint8Array()), null);
  });

  test("what the provider gives is checked, and its failure is wrapped", async () => {
    const cases: Array<[() => Promise<unknown>, RegExp]> = [
      [
        () => Promise.reject(new Error("IdP down")),
        /: the token provider failed: IdP down$/,
      ],
      [() => Promise.resolve(null), /must resolve to \{ value, .* got null/],
      [() => Promise.resolve("tok"), /got string/],
      [
        () => Promise.resolve({}),
        /"value" must be the token, .* got undefined/,
      ],
      [() => Promise.resolve({ value: "" }), /got an empty string/],
      [
        () => Promise.resolve({ value: "t", lifetimeMs: "soon" }),
        /"lifetimeMs" must be the token's expiry in milliseconds since the epoch, got string/,
      ],
      [
        () => Promise.resolve({ value: "t", extensions: { "a-b": "1" } }),
        /the token's "extensions" has an invalid name "a-b"/,
      ],
    ];
    for (const [provider, pattern] of cases) {
      const sasl = oauthBearer(provider as () => Promise<OAuthBearerToken>);
      await assert.rejects(async () => await sasl.begin(context), pattern);
    }
  });

  test("a JSON error challenge: the token was rejected, with status and scope", async () => {
    let invalidated = 0;
    const provider = Object.assign(
      () => Promise.resolve({ value: "t", lifetimeMs: Date.now() - 1000 }),
      { invalidate: () => invalidated++ },
    );
    const exchange = await oauthBearer(provider).begin(context);
    await exchange.start();
    await assert.rejects(
      async () =>
        await exchange.next(
          utf8.encode(
            '{"status":"insufficient_scope", "scope":"kafka write", "openid-configuration":"https://idp/.well-known/openid-configuration"}',
          ),
        ),
      (error) => {
        const message = (error as Error).message;
        assert.match(
          message,
          /^the broker rejected the token \(status "insufficient_scope", scope "kafka write", openid-configuration "https:\/\/idp\/\.well-known\/openid-configuration"\): it expired at \d{4}-\d\d-\d\dT[\d:.]+Z, says its provider's "lifetimeMs"$/,
        );
        return true;
      },
    );
    assert.equal(invalidated, 1);
  });

  test("an answer that is not JSON is shown, escaped", async () => {
    const exchange = await oauthBearer(() => Promise.resolve({ value: "t" }))
      .begin(
        context,
      );
    await assert.rejects(
      async () => await exchange.next(utf8.encode("nope\x01")),
      /: the broker rejected the token \(answer "nope\\u0001"\)\. The token may have expired/,
    );
  });

  test("through authenticate(): SASL_AUTHENTICATION_FAILED naming broker, mechanism, status", async () => {
    const sent: string[] = [];
    const conn = fakeConnection(
      [{ authBytes: '{"status":"invalid_token"}' }],
      sent,
    );
    const sasl = oauthBearer(() => Promise.resolve({ value: "abc" }));
    await assert.rejects(authenticate(conn, sasl, 1000), (error) => {
      assert.ok(error instanceof KafkaError);
      assert.equal(error.code, 58);
      assert.match(
        error.message,
        /^SASL_AUTHENTICATION_FAILED \(58\): .*broker 127\.0\.0\.1:9094, OAUTHBEARER: the broker rejected the token \(status "invalid_token"\)\. The token may have expired/,
      );
      return true;
    });
    assert.deepEqual(sent, ["n,,\x01auth=Bearer abc\x01\x01"]);
  });

  test("through authenticate(): an accepted token", async () => {
    const sent: string[] = [];
    const conn = fakeConnection([{}], sent);
    const session = await authenticate(
      conn,
      oauthBearer({
        token: () => Promise.resolve({ value: "abc" }),
        extensions: { x: "1" },
      }),
      1000,
    );
    assert.equal(session.mechanism, "OAUTHBEARER");
    assert.deepEqual(sent, ["n,,\x01auth=Bearer abc\x01x=1\x01\x01"]);
  });

  test("through authenticate(): a failing provider names the broker", async () => {
    const conn = fakeConnection([], []);
    const sasl = oauthBearer(() => Promise.reject(new Error("IdP down")));
    await assert.rejects(authenticate(conn, sasl, 1000), (error) => {
      assert.ok(error instanceof KafkaError);
      assert.match(
        error.message,
        /broker 127\.0\.0\.1:9094, OAUTHBEARER: the token provider failed: IdP down/,
      );
      return true;
    });
  });
});

describe("cachedTokenProvider", () => {
  /** A fetcher counting its calls, with tokens lasting `lifetime` ms on `clock`. */
  function counting(clock: { now: number }, lifetime: number | undefined) {
    const state = { calls: 0 };
    const fetch = () => {
      state.calls++;
      const token: OAuthBearerToken = { value: `t${state.calls}` };
      if (lifetime !== undefined) token.lifetimeMs = clock.now + lifetime;
      return Promise.resolve(token);
    };
    return { state, fetch };
  }

  test("reuses a token until 80% of its lifetime by default", async () => {
    const clock = { now: 1_000_000 };
    const { state, fetch } = counting(clock, 10_000);
    const provider = cachedTokenProvider(fetch, { now: () => clock.now });
    assert.equal((await provider()).value, "t1");
    clock.now += 7_999;
    assert.equal((await provider()).value, "t1");
    clock.now += 1;
    assert.equal((await provider()).value, "t2");
    assert.equal(state.calls, 2);
  });

  test("refreshBeforeMs sets how long before expiry it refreshes", async () => {
    const clock = { now: 0 };
    const { fetch } = counting(clock, 10_000);
    const provider = cachedTokenProvider(fetch, {
      refreshBeforeMs: 1_000,
      now: () => clock.now,
    });
    await provider();
    clock.now = 8_999;
    assert.equal((await provider()).value, "t1");
    clock.now = 9_000;
    assert.equal((await provider()).value, "t2");
  });

  test("concurrent calls share one fetch", async () => {
    const clock = { now: 0 };
    const { state, fetch } = counting(clock, 10_000);
    const provider = cachedTokenProvider(fetch, { now: () => clock.now });
    const tokens = await Promise.all([provider(), provider(), provider()]);
    assert.deepEqual(tokens.map((t) => t.value), ["t1", "t1", "t1"]);
    assert.equal(state.calls, 1);
  });

  test("tokens without lifetimeMs, or already expired, are not reused", async () => {
    const clock = { now: 0 };
    const a = counting(clock, undefined);
    const noLifetime = cachedTokenProvider(a.fetch, { now: () => clock.now });
    await noLifetime();
    await noLifetime();
    assert.equal(a.state.calls, 2);
    const b = counting(clock, -1);
    const expired = cachedTokenProvider(b.fetch, { now: () => clock.now });
    await expired();
    await expired();
    assert.equal(b.state.calls, 2);
  });

  test("invalidate() drops the token", async () => {
    const clock = { now: 0 };
    const { fetch } = counting(clock, 10_000);
    const provider = cachedTokenProvider(fetch, { now: () => clock.now });
    await provider();
    provider.invalidate();
    assert.equal((await provider()).value, "t2");
  });

  test("a failed refresh keeps the old token while it lasts, then fails", async () => {
    const clock = { now: 0 };
    let fail = false;
    let calls = 0;
    const provider = cachedTokenProvider(() => {
      calls++;
      if (fail) return Promise.reject(new Error("IdP down"));
      return Promise.resolve({ value: "t", lifetimeMs: clock.now + 10_000 });
    }, { now: () => clock.now });
    await provider();
    fail = true;
    clock.now = 9_000;
    assert.equal((await provider()).value, "t");
    clock.now = 10_000;
    await assert.rejects(provider(), /IdP down/);
    fail = false;
    assert.equal((await provider()).value, "t");
    assert.equal(calls, 4);
  });

  test("a provider that throws synchronously rejects", async () => {
    const provider = cachedTokenProvider(
      (() => {
        throw new Error("sync");
      }) as unknown as () => Promise<OAuthBearerToken>,
    );
    await assert.rejects(provider(), /sync/);
  });

  test("bad arguments are TypeErrors", () => {
    assert.throws(
      () =>
        cachedTokenProvider("x" as unknown as () => Promise<OAuthBearerToken>),
      /cachedTokenProvider\(\) takes a token provider, .* got string/,
    );
    assert.throws(
      () =>
        cachedTokenProvider(() => Promise.resolve({ value: "t" }), {
          refreshBeforeMs: -1,
        }),
      /"refreshBeforeMs" must be a number of milliseconds, 0 or more, got -1/,
    );
    assert.throws(
      () =>
        cachedTokenProvider(() => Promise.resolve({ value: "t" }), {
          refreshBeforeMs: "1" as unknown as number,
        }),
      /got string/,
    );
  });
});

describe("unsecuredJwt", () => {
  test("alg none, sub, iat and exp in seconds, scope, no signature", () => {
    const issuedAt = 1_700_000_000_500;
    const jwt = unsecuredJwt({
      sub: "alice",
      lifetimeMs: 3_600_000,
      scope: "kafka write",
      issuedAt,
    });
    assert.match(jwt, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.$/);
    assert.deepEqual(part(jwt, 0), { alg: "none" });
    assert.deepEqual(part(jwt, 1), {
      sub: "alice",
      iat: 1_700_000_000,
      exp: 1_700_003_600,
      scope: "kafka write",
    });
    assert.equal(jwt.split(".")[0], "eyJhbGciOiJub25lIn0");
  });

  test("the base64url alphabet, no padding; scope lists and extra claims", () => {
    const jwt = unsecuredJwt({
      sub: "??>>~~ünï",
      lifetimeMs: 1000,
      scope: ["a", "b"],
      claims: { aud: "kafka" },
    });
    assert.ok(!/[+/=]/.test(jwt), jwt);
    const claims = part(jwt, 1);
    assert.equal(claims.scope !== undefined, true);
    assert.deepEqual(claims.scope, ["a", "b"]);
    assert.equal(claims.aud, "kafka");
    assert.equal(
      new TextDecoder().decode(
        Uint8Array.from(
          atob(jwt.split(".")[1].replaceAll("-", "+").replaceAll("_", "/")),
          (c) => c.charCodeAt(0),
        ),
      ).includes('"sub":"??>>~~ünï"'),
      true,
    );
  });

  test("bad options are TypeErrors", () => {
    assert.throws(
      () => unsecuredJwt({ sub: "", lifetimeMs: 1 }),
      /"sub" must be the principal's name, a non-blank string/,
    );
    assert.throws(
      () => unsecuredJwt({ sub: "a", lifetimeMs: "1" as unknown as number }),
      /"lifetimeMs" must be a number of milliseconds, got string/,
    );
    assert.throws(
      () =>
        unsecuredJwt({
          sub: "a",
          lifetimeMs: 1,
          scope: 3 as unknown as string,
        }),
      /"scope" must be a string or an array of strings, got number/,
    );
    assert.throws(
      () =>
        unsecuredJwt(
          undefined as unknown as { sub: string; lifetimeMs: number },
        ),
      /unsecuredJwt\(\) takes \{ sub, lifetimeMs, scope\? \}, got undefined/,
    );
  });
});

interface Seen {
  method?: string;
  authorization?: string;
  contentType?: string;
  body: string;
}

/**
 * Runs `fn` with a local token endpoint whose answers `respond` decides
 * from the request; every request is recorded in `seen`.
 */
async function withTokenEndpoint(
  respond: (request: IncomingMessage, body: string) => {
    status: number;
    body: string;
    contentType?: string;
  } | null,
  fn: (url: string, seen: Seen[]) => Promise<void>,
): Promise<void> {
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => body += chunk);
    request.on("end", () => {
      seen.push({
        method: request.method,
        authorization: request.headers.authorization,
        contentType: request.headers["content-type"],
        body,
      });
      const answer = respond(request, body);
      if (answer === null) return; // never answers
      response.writeHead(answer.status, {
        "content-type": answer.contentType ?? "application/json",
      });
      response.end(answer.body);
    });
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  try {
    await fn(`http://127.0.0.1:${port}/oauth2/token`, seen);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function basic(authorization: string | undefined): string {
  assert.ok(authorization?.startsWith("Basic "), String(authorization));
  return new TextDecoder().decode(
    Uint8Array.from(atob(authorization!.slice(6)), (c) => c.charCodeAt(0)),
  );
}

describe("oidcClientCredentials", () => {
  test("POSTs the grant with Basic auth and reuses the token", async () => {
    await withTokenEndpoint(
      () => ({
        status: 200,
        body: JSON.stringify({
          access_token: "at-1",
          token_type: "Bearer",
          expires_in: 300,
        }),
      }),
      async (url, seen) => {
        const clock = { now: 5_000_000 };
        const provider = oidcClientCredentials({
          tokenEndpoint: url,
          clientId: "billing app",
          clientSecret: "s3cr:t/+&=é",
          scope: ["kafka", "write"],
          params: { audience: "kafka" },
          extensions: { logicalCluster: "lkc-1" },
          now: () => clock.now,
        });
        const token = await provider();
        assert.deepEqual(token, {
          value: "at-1",
          lifetimeMs: 5_000_000 + 300_000,
          extensions: { logicalCluster: "lkc-1" },
        });
        assert.equal(seen.length, 1);
        assert.equal(seen[0].method, "POST");
        assert.equal(seen[0].contentType, "application/x-www-form-urlencoded");
        // RFC 6749 2.3.1: form-encoded, then Basic.
        assert.equal(
          basic(seen[0].authorization),
          "billing+app:s3cr%3At%2F%2B%26%3D%C3%A9",
        );
        const form = new URLSearchParams(seen[0].body);
        assert.equal(form.get("grant_type"), "client_credentials");
        assert.equal(form.get("scope"), "kafka write");
        assert.equal(form.get("audience"), "kafka");
        assert.equal(form.get("client_secret"), null);

        clock.now += 239_999; // just before 80% of 300 s
        assert.equal((await provider()).value, "at-1");
        assert.equal(seen.length, 1);
        clock.now += 1;
        await provider();
        assert.equal(seen.length, 2);
        provider.invalidate();
        await provider();
        assert.equal(seen.length, 3);
      },
    );
  });

  test("urlencodeCredentials: false sends the id and secret as they are", async () => {
    await withTokenEndpoint(
      () => ({ status: 200, body: '{"access_token":"at","expires_in":60}' }),
      async (url, seen) => {
        await oidcClientCredentials({
          tokenEndpoint: new URL(url),
          clientId: "a b",
          clientSecret: "c:d",
          urlencodeCredentials: false,
        })();
        assert.equal(basic(seen[0].authorization), "a b:c:d");
        assert.equal(new URLSearchParams(seen[0].body).has("scope"), false);
      },
    );
  });

  test("without expires_in, a JWT's exp gives the lifetime", async () => {
    const jwt = unsecuredJwt({
      sub: "svc",
      lifetimeMs: 60_000,
      issuedAt: 1_000_000_000,
    });
    await withTokenEndpoint(
      () => ({ status: 200, body: JSON.stringify({ access_token: jwt }) }),
      async (url) => {
        const token = await oidcClientCredentials({
          tokenEndpoint: url,
          clientId: "a",
          clientSecret: "b",
        })();
        assert.equal(token.value, jwt);
        assert.equal(token.lifetimeMs, 1_000_060_000);
      },
    );
  });

  test("an OAuth error names the endpoint, the status and the error, not the secret", async () => {
    await withTokenEndpoint(
      () => ({
        status: 401,
        body: JSON.stringify({
          error: "invalid_client",
          error_description: "Client authentication failed",
        }),
      }),
      async (url) => {
        const provider = oidcClientCredentials({
          tokenEndpoint: url,
          clientId: "billing",
          clientSecret: "very-secret-value",
        });
        await assert.rejects(provider(), (error) => {
          const message = (error as Error).message;
          assert.equal(
            message,
            `Cannot get an OAuth token from ${url}: HTTP 401 Unauthorized, OAuth error "invalid_client" ("Client authentication failed"): check clientId and clientSecret`,
          );
          assert.ok(!message.includes("very-secret-value"));
          return true;
        });
      },
    );
  });

  test("through oauthBearer and authenticate(): the failure names broker and endpoint", async () => {
    await withTokenEndpoint(
      () => ({ status: 400, body: '{"error":"invalid_scope"}' }),
      async (url) => {
        const sasl = oauthBearer(oidcClientCredentials({
          tokenEndpoint: url,
          clientId: "a",
          clientSecret: "b",
          scope: "nope",
        }));
        await assert.rejects(
          authenticate(fakeConnection([], []), sasl, 1000),
          (error) => {
            assert.ok(error instanceof KafkaError);
            assert.match(
              messages(error),
              new RegExp(
                `broker 127\\.0\\.0\\.1:9094, OAUTHBEARER: the token provider failed: Cannot get an OAuth token from ${url}: HTTP 400 Bad Request, OAuth error "invalid_scope": check "scope"`,
              ),
            );
            return true;
          },
        );
      },
    );
  });

  test("answers that are not tokens", async () => {
    const answers = [
      {
        status: 502,
        body: "<html>bad gateway</html>",
        contentType: "text/html",
        want: /: HTTP 502 Bad Gateway$/,
      },
      {
        status: 200,
        body: "<html>login</html>",
        contentType: "text/html",
        want:
          /: HTTP 200 but the answer is not a JSON object \(starts with "<html>login<\/html>"\)$/,
      },
      {
        status: 200,
        body: '{"token_type":"Bearer"}',
        want: /: the answer has no "access_token"$/,
      },
    ];
    for (const answer of answers) {
      await withTokenEndpoint(() => answer, async (url) => {
        await assert.rejects(
          oidcClientCredentials({
            tokenEndpoint: url,
            clientId: "a",
            clientSecret: "b",
          })(),
          (error) => {
            assert.match(
              (error as Error).message,
              new RegExp(`^Cannot get an OAuth token from ${url}`),
            );
            assert.match((error as Error).message, answer.want);
            return true;
          },
        );
      });
    }
  });

  test("an endpoint that does not answer in time", async () => {
    await withTokenEndpoint(() => null, async (url) => {
      await assert.rejects(
        oidcClientCredentials({
          tokenEndpoint: url,
          clientId: "a",
          clientSecret: "b",
          timeout: 200,
        })(),
        new RegExp(
          `^Error: Cannot get an OAuth token from ${url}: no answer within 200 ms$`,
        ),
      );
    });
  });

  test("a custom fetch, and an endpoint that cannot be reached", async () => {
    let called = 0;
    const token = await oidcClientCredentials({
      tokenEndpoint: "https://idp.invalid/token",
      clientId: "a",
      clientSecret: "b",
      fetch: (() => {
        called++;
        return Promise.resolve(
          new Response('{"access_token":"x","expires_in":10}'),
        );
      }) as typeof fetch,
    })();
    assert.equal(token.value, "x");
    assert.equal(called, 1);
    await assert.rejects(
      oidcClientCredentials({
        tokenEndpoint: "https://user:pw@idp.invalid/token",
        clientId: "a",
        clientSecret: "b",
        fetch: (() =>
          Promise.reject(new TypeError("connection refused"))) as typeof fetch,
      })(),
      /^TypeError: Cannot get an OAuth token from https:\/\/idp\.invalid\/token: connection refused$|^Error: Cannot get an OAuth token from https:\/\/idp\.invalid\/token: connection refused$/,
    );
  });

  test("bad options are TypeErrors naming the option", () => {
    const good = {
      tokenEndpoint: "https://idp/token",
      clientId: "a",
      clientSecret: "b",
    };
    const cases: Array<[unknown, RegExp]> = [
      [
        undefined,
        /takes \{ tokenEndpoint, clientId, clientSecret, scope\? \}, got undefined/,
      ],
      [
        { ...good, tokenEndpoint: 3 },
        /"tokenEndpoint" must be the token endpoint's URL, a string or URL, got number/,
      ],
      [
        { ...good, tokenEndpoint: "idp/token" },
        /"tokenEndpoint" must be an absolute http\(s\) URL, got "idp\/token"/,
      ],
      [
        { ...good, tokenEndpoint: "ftp://idp/token" },
        /must be an http\(s\) URL, got one with ftp:/,
      ],
      [
        { ...good, tokenEndpoint: "http://idp.example.com:8080/token" },
        /"tokenEndpoint" must be an https URL, got http:\/\/idp\.example\.com:8080: the client secret would cross the network in clear text \(http is taken for localhost and loopback addresses only\)$/,
      ],
      [
        { ...good, tokenEndpoint: new URL("http://10.0.0.5/token") },
        /must be an https URL, got http:\/\/10\.0\.0\.5:/,
      ],
      [
        { ...good, clientId: undefined },
        /"clientId" must be a non-empty string, got undefined/,
      ],
      [
        { ...good, clientSecret: 42 },
        /"clientSecret" must be a non-empty string, got number/,
      ],
      [
        { ...good, scope: 1 },
        /"scope" must be a space-separated string or an array of strings, got number/,
      ],
      [{ ...good, params: { a: 1 } }, /"params" must be an object of strings/],
      [
        { ...good, extensions: { auth: "x" } },
        /may not name an extension "auth"/,
      ],
      [
        { ...good, timeout: 0 },
        /"timeout" must be a positive number of milliseconds, got 0/,
      ],
      [
        { ...good, fetch: "curl" },
        /"fetch" must be a function like the platform's fetch, got string/,
      ],
      [
        { ...good, urlencodeCredentials: "yes" },
        /"urlencodeCredentials" must be a boolean, got string/,
      ],
    ];
    for (const [options, pattern] of cases) {
      assert.throws(
        () =>
          oidcClientCredentials(
            options as Parameters<typeof oidcClientCredentials>[0],
          ),
        (error) => {
          assert.ok(error instanceof TypeError, String(error));
          assert.match(error.message, pattern);
          return true;
        },
      );
    }
    // http to this machine is taken (a local token helper, tests).
    for (
      const tokenEndpoint of [
        "http://localhost:8080/token",
        "http://127.0.0.1/token",
        "http://[::1]:9000/token",
      ]
    ) {
      oidcClientCredentials({ ...good, tokenEndpoint });
    }
  });
});
