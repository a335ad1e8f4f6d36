import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  type AwsCredentials,
  awsMskIam,
  type AwsMskIamOptions,
  mskIamPayload,
  parseMskIamAnswer,
} from "./sasl_aws.ts";
import {
  credentialScope,
  presignRequest,
  signature,
  signingKey,
  stringToSign,
} from "./sigv4.ts";
import { authenticate, type SaslContext } from "./sasl.ts";
import type { BrokerConnection } from "./connection.ts";
import { KafkaError } from "../protocol/errors.ts";
import { SaslAuthenticate } from "../protocol/messages/sasl_authenticate.ts";
import { SaslHandshake } from "../protocol/messages/sasl_handshake.ts";

const utf8 = new TextEncoder();
const text = new TextDecoder();

const HOST = "b-1.demo.abc123.c2.kafka.us-west-2.amazonaws.com";
const REGION = "us-west-2";
const DATE = new Date("2024-03-05T07:08:09Z");
const STATIC: AwsCredentials = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};
const TEMPORARY: AwsCredentials = {
  accessKeyId: "ASIAEXAMPLE",
  secretAccessKey: "temporary/secret+KEY",
  sessionToken: "IQoJb3JpZ2luX2VjE/session+token==",
};

/**
 * The signature of the payload's presigned request, computed step by step
 * (the canonical request written out here, then sigv4.ts's string to sign,
 * signing key and signature), not through presignRequest.
 */
async function expectedSignature(
  credentials: AwsCredentials,
  expiresIn: number,
): Promise<string> {
  const scope = credentialScope(DATE, REGION, "kafka-cluster");
  const query = [
    "Action=kafka-cluster%3AConnect",
    "X-Amz-Algorithm=AWS4-HMAC-SHA256",
    `X-Amz-Credential=${credentials.accessKeyId}%2F${
      scope.replaceAll("/", "%2F")
    }`,
    "X-Amz-Date=20240305T070809Z",
    `X-Amz-Expires=${expiresIn}`,
    ...(credentials.sessionToken
      ? [`X-Amz-Security-Token=${encodeURIComponent(credentials.sessionToken)}`]
      : []),
    "X-Amz-SignedHeaders=host",
  ].join("&");
  const canonical = [
    "GET",
    "/",
    query,
    `host:${HOST}`,
    "",
    "host",
    // SHA-256 of the empty body
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  ].join("\n");
  const toSign = await stringToSign(DATE, scope, canonical);
  const key = await signingKey(
    credentials.secretAccessKey,
    DATE,
    REGION,
    "kafka-cluster",
  );
  return signature(key, toSign);
}

describe("AWS_MSK_IAM: the payload", () => {
  test("reproduces kafka-go's published payload (sasl/aws_msk_iam_v2 and aws_msk_iam tests)", async () => {
    // kafka-go's msk_iam_test.go: host "localhost", ACCESS_KEY/SECRET_KEY,
    // us-east-1, 2021-10-14T13:05:00Z, a 5-minute expiry; both the
    // aws-sdk-go and aws-sdk-go-v2 signers give this signature. Go's
    // json.Marshal sorts the keys, so the bytes match too.
    const userAgent = "kafka-go/sasl/aws_msk_iam_v2/go1.21.0";
    const payload = await mskIamPayload({
      host: "localhost",
      region: "us-east-1",
      credentials: { accessKeyId: "ACCESS_KEY", secretAccessKey: "SECRET_KEY" },
      date: new Date("2021-10-14T13:05:00Z"),
      expiresIn: 300,
      userAgent,
    });
    assert.equal(
      JSON.stringify(payload),
      JSON.stringify({
        "action": "kafka-cluster:Connect",
        "host": "localhost",
        "user-agent": userAgent,
        "version": "2020_10_22",
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "x-amz-credential":
          "ACCESS_KEY/20211014/us-east-1/kafka-cluster/aws4_request",
        "x-amz-date": "20211014T130500Z",
        "x-amz-expires": "300",
        "x-amz-signature":
          "6b8d25f9b45b9c7db9da855a49112d80379224153a27fd279c305a5b7940d1a7",
        "x-amz-signedheaders": "host",
      }),
    );
  });

  test("every key, with static credentials", async () => {
    const payload = await mskIamPayload({
      host: HOST,
      region: REGION,
      credentials: STATIC,
      date: DATE,
    });
    assert.deepEqual(Object.keys(payload), [
      "action",
      "host",
      "user-agent",
      "version",
      "x-amz-algorithm",
      "x-amz-credential",
      "x-amz-date",
      "x-amz-expires",
      "x-amz-signature",
      "x-amz-signedheaders",
    ]);
    assert.equal(payload.version, "2020_10_22");
    assert.equal(payload.host, HOST);
    assert.equal(payload["user-agent"], "streamkafka");
    assert.equal(payload.action, "kafka-cluster:Connect");
    assert.equal(payload["x-amz-algorithm"], "AWS4-HMAC-SHA256");
    assert.equal(
      payload["x-amz-credential"],
      "AKIDEXAMPLE/20240305/us-west-2/kafka-cluster/aws4_request",
    );
    assert.equal(payload["x-amz-date"], "20240305T070809Z");
    assert.equal(payload["x-amz-expires"], "900");
    assert.equal(payload["x-amz-signedheaders"], "host");
    assert.equal(payload["x-amz-security-token"], undefined);
    assert.match(payload["x-amz-signature"], /^[0-9a-f]{64}$/);
    assert.equal(
      payload["x-amz-signature"],
      await expectedSignature(STATIC, 900),
    );
  });

  test("the signature is presignRequest's for GET /?Action=kafka-cluster:Connect", async () => {
    const payload = await mskIamPayload({
      host: HOST,
      region: REGION,
      credentials: TEMPORARY,
      date: DATE,
    });
    const presigned = await presignRequest(
      {
        method: "GET",
        host: HOST,
        path: "/",
        query: { Action: "kafka-cluster:Connect" },
      },
      {
        credentials: TEMPORARY,
        region: REGION,
        service: "kafka-cluster",
        date: DATE,
        expiresIn: 900,
      },
    );
    const fromQuery = Object.fromEntries(
      presigned.query.map(([name, value]) => [name.toLowerCase(), value]),
    );
    for (const [key, value] of Object.entries(fromQuery)) {
      assert.equal(payload[key as keyof typeof payload], value, key);
    }
  });

  test("temporary credentials: the session token is signed and sent", async () => {
    const payload = await mskIamPayload({
      host: HOST,
      region: REGION,
      credentials: TEMPORARY,
      date: DATE,
      userAgent: "billing-service/1.2",
    });
    assert.equal(payload["x-amz-security-token"], TEMPORARY.sessionToken);
    assert.equal(payload["user-agent"], "billing-service/1.2");
    assert.equal(
      payload["x-amz-credential"],
      "ASIAEXAMPLE/20240305/us-west-2/kafka-cluster/aws4_request",
    );
    assert.equal(
      payload["x-amz-signature"],
      await expectedSignature(TEMPORARY, 900),
    );
    assert.notEqual(
      payload["x-amz-signature"],
      await expectedSignature({ ...TEMPORARY, sessionToken: undefined }, 900),
    );
  });

  test("expiresIn changes x-amz-expires and the signature", async () => {
    const payload = await mskIamPayload({
      host: HOST,
      region: REGION,
      credentials: STATIC,
      date: DATE,
      expiresIn: 60,
    });
    assert.equal(payload["x-amz-expires"], "60");
    assert.equal(
      payload["x-amz-signature"],
      await expectedSignature(STATIC, 60),
    );
  });
});

describe("AWS_MSK_IAM: the broker's answer", () => {
  test("JSON with the version and a request id", () => {
    assert.deepEqual(
      parseMskIamAnswer(
        utf8.encode('{"version":"2020_10_22","request-id":"req-1"}'),
      ),
      { version: "2020_10_22", requestId: "req-1" },
    );
    assert.deepEqual(
      parseMskIamAnswer(utf8.encode('{"version":"2020_10_22"}')),
      { version: "2020_10_22" },
    );
  });

  test("not JSON, empty, not an object, another version", () => {
    assert.throws(
      () => parseMskIamAnswer(utf8.encode("denied")),
      /AWS_MSK_IAM: the broker's answer is not JSON: "denied"/,
    );
    assert.throws(
      () => parseMskIamAnswer(new Uint8Array(0)),
      /the broker's answer is empty/,
    );
    assert.throws(
      () => parseMskIamAnswer(utf8.encode("[1]")),
      /JSON but not an object/,
    );
    assert.throws(
      () => parseMskIamAnswer(utf8.encode('{"version":"2099_01_01"}')),
      /answered version "2099_01_01", this client speaks "2020_10_22"/,
    );
  });
});

/**
 * An in-process fake of MSK's side: it checks the payload's form and its
 * signature with the secret it knows (as MSK does against IAM), then
 * answers like MSK, or refuses.
 */
function fakeMsk(known: AwsCredentials, region: string) {
  const seen: Record<string, string>[] = [];
  return {
    seen,
    async answer(host: string, message: Uint8Array): Promise<Uint8Array> {
      const payload = JSON.parse(text.decode(message));
      seen.push(payload);
      assert.equal(payload.version, "2020_10_22");
      assert.equal(payload.host, host);
      assert.equal(payload.action, "kafka-cluster:Connect");
      const [keyId, day, scopeRegion, service, terminator] =
        payload["x-amz-credential"].split("/");
      assert.equal(keyId, known.accessKeyId);
      assert.equal(scopeRegion, region);
      assert.equal(service, "kafka-cluster");
      assert.equal(terminator, "aws4_request");
      const d = payload["x-amz-date"];
      assert.equal(d.slice(0, 8), day);
      const date = new Date(
        `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${d.slice(9, 11)}:${
          d.slice(11, 13)
        }:${d.slice(13, 15)}Z`,
      );
      assert.ok(Math.abs(Date.now() - date.getTime()) < 60_000, "fresh date");
      const recomputed = await presignRequest(
        {
          method: "GET",
          host,
          path: "/",
          query: { Action: payload.action },
        },
        {
          credentials: {
            ...known,
            sessionToken: payload["x-amz-security-token"],
          },
          region,
          service: "kafka-cluster",
          date,
          expiresIn: Number(payload["x-amz-expires"]),
        },
      );
      if (recomputed.signature !== payload["x-amz-signature"]) {
        return utf8.encode("signature mismatch");
      }
      return utf8.encode(
        JSON.stringify({ version: "2020_10_22", "request-id": "fake-req-1" }),
      );
    },
  };
}

describe("AWS_MSK_IAM: the mechanism", () => {
  const context: SaslContext = {
    host: HOST,
    port: 9098,
    reauthentication: false,
  };

  test("end to end against an in-process fake broker", async () => {
    const broker = fakeMsk(STATIC, REGION);
    const sasl = awsMskIam({ region: REGION, credentials: STATIC });
    assert.equal(sasl.mechanism, "AWS_MSK_IAM");
    const exchange = await sasl.begin(context);
    const first = await exchange.start();
    const answer = await broker.answer(HOST, first);
    assert.equal(await exchange.next(answer), null);
    assert.equal(broker.seen.length, 1);
  });

  test("the message sent is the payload of its own date", async () => {
    const sasl = awsMskIam({
      region: REGION,
      credentials: TEMPORARY,
      userAgent: "ua/1",
    });
    const exchange = await sasl.begin(context);
    const sent = JSON.parse(text.decode(await exchange.start()));
    const d: string = sent["x-amz-date"];
    const date = new Date(
      `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${d.slice(9, 11)}:${
        d.slice(11, 13)
      }:${d.slice(13, 15)}Z`,
    );
    assert.deepEqual(
      sent,
      await mskIamPayload({
        host: HOST,
        region: REGION,
        credentials: TEMPORARY,
        date,
        userAgent: "ua/1",
      }),
    );
  });

  test("a wrong secret: the fake refuses and next throws", async () => {
    const broker = fakeMsk(STATIC, REGION);
    const sasl = awsMskIam({
      region: REGION,
      credentials: { ...STATIC, secretAccessKey: "not-the-secret" },
    });
    const exchange = await sasl.begin(context);
    const answer = await broker.answer(HOST, await exchange.start());
    assert.throws(
      () => exchange.next(answer),
      /not JSON: "signature mismatch"/,
    );
  });

  test("a provider function is called on every authentication", async () => {
    const broker = fakeMsk(
      {
        accessKeyId: "ASIAEXAMPLE",
        secretAccessKey: TEMPORARY.secretAccessKey,
      },
      REGION,
    );
    let calls = 0;
    const sasl = awsMskIam({
      region: REGION,
      credentials: () => {
        calls++;
        return Promise.resolve({
          ...TEMPORARY,
          sessionToken: `token-${calls}`,
        });
      },
    });
    assert.equal(calls, 0, "not called before an authentication");
    for (const reauthentication of [false, true]) {
      const exchange = await sasl.begin({ ...context, reauthentication });
      const answer = await broker.answer(HOST, await exchange.start());
      assert.equal(await exchange.next(answer), null);
    }
    assert.equal(calls, 2);
    assert.deepEqual(
      broker.seen.map((p) => p["x-amz-security-token"]),
      ["token-1", "token-2"],
    );
  });

  test("a provider's failure or bad result fails begin", async () => {
    const failing = awsMskIam({
      region: REGION,
      credentials: () => Promise.reject(new Error("no credentials in env")),
    });
    await assert.rejects(
      async () => await failing.begin(context),
      /no credentials in env/,
    );
    const bad = awsMskIam({
      region: REGION,
      credentials: () =>
        Promise.resolve({ accessKeyId: "AKID" } as unknown as AwsCredentials),
    });
    await assert.rejects(
      async () => await bad.begin(context),
      (error: Error) =>
        error instanceof TypeError &&
        /the credentials provider's result: "secretAccessKey" must be a non-empty string, got undefined/
          .test(error.message),
    );
  });
});

/**
 * A connection whose requests the fake broker answers: SaslHandshake lists
 * AWS_MSK_IAM, SaslAuthenticate goes to `answer`.
 */
function fakeConnection(
  answer: (message: Uint8Array) => Promise<Uint8Array>,
): BrokerConnection {
  const fake = {
    host: HOST,
    port: 9098,
    address: `${HOST}:9098`,
    request(api: unknown, data: { authBytes?: Uint8Array }) {
      if (api === SaslHandshake) {
        return Promise.resolve({ errorCode: 0, mechanisms: ["AWS_MSK_IAM"] });
      }
      assert.equal(api, SaslAuthenticate);
      return answer(data.authBytes!).then((authBytes) => ({
        errorCode: 0,
        errorMessage: null,
        authBytes,
        sessionLifetimeMs: 3_600_000,
      }));
    },
  };
  return fake as unknown as BrokerConnection;
}

describe("AWS_MSK_IAM: through sasl.ts's authenticate", () => {
  test("the handshake, one SaslAuthenticate, the session lifetime", async () => {
    const broker = fakeMsk(STATIC, REGION);
    const session = await authenticate(
      fakeConnection((message) => broker.answer(HOST, message)),
      awsMskIam({ region: REGION, credentials: STATIC }),
      5000,
    );
    assert.deepEqual(session, {
      mechanism: "AWS_MSK_IAM",
      lifetimeMs: 3_600_000,
    });
    assert.equal(broker.seen.length, 1);
  });

  test("an answer that is not JSON fails as SASL_AUTHENTICATION_FAILED", async () => {
    await assert.rejects(
      authenticate(
        fakeConnection(() => Promise.resolve(utf8.encode("<html>"))),
        awsMskIam({ region: REGION, credentials: STATIC }),
        5000,
      ),
      (error: Error) =>
        error instanceof KafkaError &&
        /AWS_MSK_IAM: the broker's answer is not JSON: "<html>"/.test(
          error.message,
        ),
    );
  });
});

describe("AWS_MSK_IAM: bad options", () => {
  const secret = "do-not-print-this-secret";
  const cases: [string, unknown, RegExp][] = [
    ["no options", undefined, /options must be an object/],
    [
      "no region",
      { credentials: STATIC },
      /"region" must be the cluster's AWS region, a string such as "us-east-1", got undefined/,
    ],
    [
      "a numeric region",
      { region: 1, credentials: STATIC },
      /"region" .* got number/,
    ],
    [
      "a region with spaces",
      { region: "US East 1", credentials: STATIC },
      /"region" must be an AWS region name .* got "US East 1"/,
    ],
    [
      "no credentials",
      { region: REGION },
      /"credentials" must be \{ accessKeyId, secretAccessKey, sessionToken\? \}.* or a function returning them, got undefined/,
    ],
    [
      "credentials as a string",
      { region: REGION, credentials: secret },
      /"credentials" must be .* got string/,
    ],
    [
      "an empty access key",
      {
        region: REGION,
        credentials: { accessKeyId: "", secretAccessKey: secret },
      },
      /"accessKeyId" must be a non-empty string, got an empty string/,
    ],
    [
      "a numeric secret",
      {
        region: REGION,
        credentials: { accessKeyId: "AKID", secretAccessKey: 7 },
      },
      /"secretAccessKey" must be a non-empty string, got number/,
    ],
    [
      "a numeric session token",
      {
        region: REGION,
        credentials: {
          accessKeyId: "AKID",
          secretAccessKey: secret,
          sessionToken: 1,
        },
      },
      /"sessionToken" must be a string when given, got number/,
    ],
    [
      "a numeric user agent",
      { region: REGION, credentials: STATIC, userAgent: 5 },
      /"userAgent" must be a string, got number/,
    ],
    [
      "expiresIn too long",
      { region: REGION, credentials: STATIC, expiresIn: 3600 },
      /"expiresIn" must be a whole number of seconds from 1 to 900, got 3600/,
    ],
  ];
  for (const [name, options, message] of cases) {
    test(name, () => {
      assert.throws(
        () => awsMskIam(options as AwsMskIamOptions),
        (error: Error) =>
          error instanceof TypeError && message.test(error.message) &&
          error.message.startsWith("awsMskIam: ") &&
          !error.message.includes(secret),
      );
    });
  }
});
