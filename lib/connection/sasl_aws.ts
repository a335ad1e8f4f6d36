/**
 * AWS_MSK_IAM: Amazon MSK's SASL mechanism for IAM access control. The
 * client sends one JSON message, the parameters of a SigV4-presigned
 * `GET /` on the broker's host (service "kafka-cluster", action
 * "kafka-cluster:Connect"); the broker checks the signature and the
 * caller's IAM policy, and answers with JSON of its own (a version and a
 * request id). The signing is sigv4.ts on WebCrypto.
 *
 * The message's form is the one of Amazon's aws-msk-iam-auth (Java) and
 * kafka-go's sasl/aws_msk_iam_v2: version "2020_10_22", the keys in lower
 * case.
 *
 * @module
 */

import type { SaslAuthenticator, SaslContext, SaslExchange } from "./sasl.ts";
import { type AwsCredentials, presignRequest } from "./sigv4.ts";
import { describeValue } from "../options.ts";

export type { AwsCredentials } from "./sigv4.ts";

const utf8 = new TextEncoder();
const text = new TextDecoder();

/**
 * The payload version AWS_MSK_IAM speaks, in both directions.
 *
 * @example
 * ```ts
 * import { MSK_IAM_VERSION } from "./sasl_aws.ts";
 *
 * console.log(MSK_IAM_VERSION); // 2020_10_22
 * ```
 */
export const MSK_IAM_VERSION = "2020_10_22";

/** The action the payload asks for. */
const ACTION = "kafka-cluster:Connect";

/** The service name MSK signs for. */
const SERVICE = "kafka-cluster";

/** Seconds the signed payload is valid, as aws-msk-iam-auth signs it. */
const DEFAULT_EXPIRES = 900;

/** The `user-agent` sent when none is given. */
const DEFAULT_USER_AGENT = "streamkafka";

/**
 * Credentials, or a function that gives them: called on every
 * authentication (each new connection and each re-authentication), so
 * rotated temporary credentials are picked up.
 *
 * @example
 * ```ts
 * import type { AwsCredentialsSource } from "./sasl_aws.ts";
 *
 * const fixed: AwsCredentialsSource = { accessKeyId: "AKID", secretAccessKey: "secret" };
 * const fresh: AwsCredentialsSource = () =>
 *   Promise.resolve({ accessKeyId: "ASIA...", secretAccessKey: "secret", sessionToken: "token" });
 * console.log(typeof fixed, typeof fresh);
 * ```
 */
export type AwsCredentialsSource =
  | AwsCredentials
  | (() => AwsCredentials | Promise<AwsCredentials>);

/**
 * The options of `awsMskIam`.
 *
 * @example
 * ```ts
 * import type { AwsMskIamOptions } from "./sasl_aws.ts";
 *
 * const options: AwsMskIamOptions = {
 *   region: "us-east-1",
 *   credentials: { accessKeyId: "AKID", secretAccessKey: "secret" },
 * };
 * console.log(options.region);
 * ```
 */
export interface AwsMskIamOptions {
  /** The cluster's region, e.g. "us-east-1" (the credential scope's). */
  region: string;
  /** The credentials, or a function called on every authentication. */
  credentials: AwsCredentialsSource;
  /** The `user-agent` the broker logs (default "streamkafka"). */
  userAgent?: string | undefined;
  /**
   * Seconds the signed payload stays valid, 1 to 900 (default 900, as
   * aws-msk-iam-auth signs it). It is used at once; only clock skew
   * between client and broker needs it.
   */
  expiresIn?: number | undefined;
}

/**
 * What the payload is signed from: the broker's host, the region, the
 * credentials and the signing time.
 *
 * @example
 * ```ts
 * import type { MskIamPayloadInput } from "./sasl_aws.ts";
 *
 * const input: MskIamPayloadInput = {
 *   host: "b-1.demo.abc123.c2.kafka.us-east-1.amazonaws.com",
 *   region: "us-east-1",
 *   credentials: { accessKeyId: "AKID", secretAccessKey: "secret" },
 *   date: new Date("2021-10-14T13:05:00Z"),
 * };
 * console.log(input.host);
 * ```
 */
export interface MskIamPayloadInput {
  /** The broker's host name (no port), signed as the `host` header. */
  host: string;
  /** The cluster's region. */
  region: string;
  /** The credentials that sign. */
  credentials: AwsCredentials;
  /** The signing time. */
  date: Date;
  /** The `user-agent` value (default "streamkafka"). */
  userAgent?: string | undefined;
  /** Seconds the signature is valid (default 900). */
  expiresIn?: number | undefined;
}

/**
 * The AWS_MSK_IAM authentication message, as JSON keys and values.
 *
 * @example
 * ```ts
 * import { mskIamPayload, type MskIamPayload } from "./sasl_aws.ts";
 *
 * const payload: MskIamPayload = await mskIamPayload({
 *   host: "localhost",
 *   region: "us-east-1",
 *   credentials: { accessKeyId: "ACCESS_KEY", secretAccessKey: "SECRET_KEY" },
 *   date: new Date("2021-10-14T13:05:00Z"),
 * });
 * console.log(payload["x-amz-credential"]);
 * // ACCESS_KEY/20211014/us-east-1/kafka-cluster/aws4_request
 * ```
 */
export interface MskIamPayload {
  /** The action asked for: "kafka-cluster:Connect". */
  readonly action: string;
  /** The broker's host, as signed. */
  readonly host: string;
  /** Who the client is, for the broker's logs. */
  readonly "user-agent": string;
  /** The payload version: "2020_10_22". */
  readonly version: string;
  /** "AWS4-HMAC-SHA256". */
  readonly "x-amz-algorithm": string;
  /** `<access key id>/<yyyyMMdd>/<region>/kafka-cluster/aws4_request`. */
  readonly "x-amz-credential": string;
  /** The signing time, `yyyyMMddTHHmmssZ`. */
  readonly "x-amz-date": string;
  /** Seconds the signature is valid. */
  readonly "x-amz-expires": string;
  /** The session token of temporary credentials (absent otherwise). */
  readonly "x-amz-security-token"?: string | undefined;
  /** The SigV4 signature, hex. */
  readonly "x-amz-signature": string;
  /** The signed headers: "host". */
  readonly "x-amz-signedheaders": string;
}

/**
 * The broker's answer to a successful authentication.
 *
 * @example
 * ```ts
 * import { parseMskIamAnswer } from "./sasl_aws.ts";
 *
 * const answer = parseMskIamAnswer(
 *   new TextEncoder().encode('{"version":"2020_10_22","request-id":"d2e3..."}'),
 * );
 * console.log(answer.requestId); // d2e3...
 * ```
 */
export interface MskIamAnswer {
  /** The answer's version: "2020_10_22". */
  version: string;
  /** The broker's id for this authentication (for AWS support), if sent. */
  requestId?: string | undefined;
}

/**
 * The AWS_MSK_IAM payload for one broker at one time: a SigV4 presign of
 * `GET /?Action=kafka-cluster%3AConnect` on `host` for the service
 * "kafka-cluster", its query parameters as lower-case JSON keys, with
 * the version, host and user agent. Deterministic (no clock), so it can be
 * checked; the keys come in sorted order.
 *
 * @example
 * ```ts
 * import { mskIamPayload } from "./sasl_aws.ts";
 *
 * const payload = await mskIamPayload({
 *   host: "localhost",
 *   region: "us-east-1",
 *   credentials: { accessKeyId: "ACCESS_KEY", secretAccessKey: "SECRET_KEY" },
 *   date: new Date("2021-10-14T13:05:00Z"),
 *   expiresIn: 300,
 * });
 * console.log(payload["x-amz-signature"]);
 * // 6b8d25f9b45b9c7db9da855a49112d80379224153a27fd279c305a5b7940d1a7
 * ```
 */
export async function mskIamPayload(
  input: MskIamPayloadInput,
): Promise<MskIamPayload> {
  const presigned = await presignRequest(
    {
      method: "GET",
      host: input.host,
      path: "/",
      query: [["Action", ACTION]],
    },
    {
      credentials: input.credentials,
      region: input.region,
      service: SERVICE,
      date: input.date,
      expiresIn: input.expiresIn ?? DEFAULT_EXPIRES,
    },
  );
  const fields: Record<string, string> = {
    host: input.host,
    "user-agent": input.userAgent ?? DEFAULT_USER_AGENT,
    version: MSK_IAM_VERSION,
  };
  for (const [name, value] of presigned.query) {
    fields[name.toLowerCase()] = value;
  }
  const sorted: Record<string, string> = {};
  for (const key of Object.keys(fields).sort()) sorted[key] = fields[key];
  return sorted as unknown as MskIamPayload;
}

/**
 * Reads the broker's answer to an AWS_MSK_IAM payload: JSON with the
 * version "2020_10_22" and a request id. Throws, saying what came, when it
 * is not that.
 *
 * @example
 * ```ts
 * import { parseMskIamAnswer } from "./sasl_aws.ts";
 *
 * const answer = parseMskIamAnswer(
 *   new TextEncoder().encode('{"version":"2020_10_22","request-id":"abc"}'),
 * );
 * console.log(answer.version); // 2020_10_22
 * ```
 */
export function parseMskIamAnswer(answer: Uint8Array): MskIamAnswer {
  if (!(answer instanceof Uint8Array)) {
    throw new TypeError(
      `parseMskIamAnswer: "answer" must be the broker's answer as bytes (a Uint8Array), got ${
        describeValue(answer)
      }`,
    );
  }
  const body = text.decode(answer);
  if (body.trim() === "") {
    throw new Error(
      `AWS_MSK_IAM: the broker's answer is empty; a broker that accepts the payload answers with JSON ({"version":"${MSK_IAM_VERSION}","request-id":...})`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new Error(
      `AWS_MSK_IAM: the broker's answer is not JSON: ${
        JSON.stringify(clip(body))
      }; is this listener MSK's IAM listener (port 9098, or 9198 public)?`,
    );
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new Error(
      `AWS_MSK_IAM: the broker's answer is JSON but not an object: ${
        JSON.stringify(clip(body))
      }`,
    );
  }
  const fields = parsed as Record<string, unknown>;
  if (fields.version !== MSK_IAM_VERSION) {
    throw new Error(
      `AWS_MSK_IAM: the broker answered version ${
        JSON.stringify(fields.version)
      }, this client speaks "${MSK_IAM_VERSION}"`,
    );
  }
  const requestId = fields["request-id"];
  return typeof requestId === "string"
    ? { version: MSK_IAM_VERSION, requestId }
    : { version: MSK_IAM_VERSION };
}

/**
 * SASL AWS_MSK_IAM for Amazon MSK with IAM access control: each
 * authentication signs a fresh payload for the broker's host with the
 * credentials (a provider function is called each time), sends it, and
 * reads the broker's JSON answer. Use it with TLS (MSK's IAM listeners
 * are TLS only).
 *
 * @example
 * ```ts
 * import { awsMskIam } from "./sasl_aws.ts";
 *
 * const sasl = awsMskIam({
 *   region: "us-east-1",
 *   credentials: { accessKeyId: "AKID", secretAccessKey: "secret" },
 * });
 * console.log(sasl.mechanism); // AWS_MSK_IAM
 * // new Writer({ brokers, topic, transport: { tls: true, sasl } })
 * ```
 */
export function awsMskIam(options: AwsMskIamOptions): SaslAuthenticator {
  checkOptions(options);
  const { region, credentials, userAgent, expiresIn } = options;
  return {
    mechanism: "AWS_MSK_IAM",
    begin: async (context: SaslContext): Promise<SaslExchange> => {
      const current = typeof credentials === "function"
        ? await credentials()
        : credentials;
      checkCredentials(current, "the credentials provider's result");
      const payload = await mskIamPayload({
        host: context.host,
        region,
        credentials: current,
        date: new Date(),
        userAgent,
        expiresIn,
      });
      const message = utf8.encode(JSON.stringify(payload));
      return {
        start: () => message,
        next(answer) {
          parseMskIamAnswer(answer);
          return null;
        },
      };
    },
  };
}

function checkOptions(options: AwsMskIamOptions): void {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `awsMskIam: the options must be an object { region, credentials, userAgent? }, got ${
        kind(options)
      }`,
    );
  }
  if (typeof options.region !== "string" || options.region === "") {
    throw new TypeError(
      `awsMskIam: "region" must be the cluster's AWS region, a string such as "us-east-1", got ${
        typeof options.region === "string" ? '""' : kind(options.region)
      }`,
    );
  }
  if (!/^[a-z0-9-]+$/.test(options.region)) {
    throw new TypeError(
      `awsMskIam: "region" must be an AWS region name such as "us-east-1" (lower-case letters, digits and dashes), got ${
        JSON.stringify(options.region)
      }`,
    );
  }
  if (typeof options.credentials !== "function") {
    checkCredentials(options.credentials, `"credentials"`);
  }
  if (
    options.userAgent !== undefined && typeof options.userAgent !== "string"
  ) {
    throw new TypeError(
      `awsMskIam: "userAgent" must be a string, got ${kind(options.userAgent)}`,
    );
  }
  const expiresIn = options.expiresIn;
  if (
    expiresIn !== undefined &&
    (!Number.isInteger(expiresIn) || expiresIn < 1 ||
      expiresIn > DEFAULT_EXPIRES)
  ) {
    throw new TypeError(
      `awsMskIam: "expiresIn" must be a whole number of seconds from 1 to ${DEFAULT_EXPIRES}, got ${
        typeof expiresIn === "number" ? String(expiresIn) : kind(expiresIn)
      }`,
    );
  }
}

/** Checks credentials, naming only types, never a value. */
function checkCredentials(credentials: unknown, what: string): void {
  const expected =
    "{ accessKeyId, secretAccessKey, sessionToken? } with non-empty strings";
  if (credentials === null || typeof credentials !== "object") {
    throw new TypeError(
      `awsMskIam: ${what} must be ${expected}${
        what === `"credentials"` ? " or a function returning them" : ""
      }, got ${kind(credentials)}`,
    );
  }
  const c = credentials as Record<string, unknown>;
  for (const field of ["accessKeyId", "secretAccessKey"]) {
    if (typeof c[field] !== "string" || c[field] === "") {
      throw new TypeError(
        `awsMskIam: ${what}: "${field}" must be a non-empty string, got ${
          c[field] === "" ? "an empty string" : kind(c[field])
        }`,
      );
    }
  }
  if (c.sessionToken !== undefined && typeof c.sessionToken !== "string") {
    throw new TypeError(
      `awsMskIam: ${what}: "sessionToken" must be a string when given, got ${
        kind(c.sessionToken)
      }`,
    );
  }
}

function kind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}

function clip(body: string): string {
  return body.length > 120 ? `${body.slice(0, 120)}...` : body;
}
