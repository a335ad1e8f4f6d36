/**
 * AWS Signature Version 4 on WebCrypto: the canonical request, the string
 * to sign, the signing key and the signature, and the two ways a request
 * carries them (an `Authorization` header, or query parameters in a
 * presigned URL). Every step is an exported function of its inputs, so each
 * can be checked against AWS's published test vectors; no dependency, no
 * clock (the signing time is an argument).
 *
 * AWS_MSK_IAM (sasl_aws.ts) builds its authentication payload from a
 * presigned request.
 *
 * @module
 */

const utf8 = new TextEncoder();

/**
 * The signing algorithm's name, as it appears in every signature.
 *
 * @example
 * ```ts
 * import { SIGV4_ALGORITHM } from "./sigv4.ts";
 *
 * console.log(SIGV4_ALGORITHM); // AWS4-HMAC-SHA256
 * ```
 */
export const SIGV4_ALGORITHM = "AWS4-HMAC-SHA256";

/**
 * The longest a presigned request may stay valid: 7 days, in seconds.
 *
 * @example
 * ```ts
 * import { SIGV4_MAX_EXPIRES } from "./sigv4.ts";
 *
 * console.log(SIGV4_MAX_EXPIRES / 86400); // 7
 * ```
 */
export const SIGV4_MAX_EXPIRES = 604800;

/**
 * AWS credentials: an access key, its secret, and the session token of
 * temporary credentials (STS, an assumed role, an instance profile).
 *
 * @example
 * ```ts
 * import type { AwsCredentials } from "./sigv4.ts";
 *
 * const credentials: AwsCredentials = {
 *   accessKeyId: "AKIDEXAMPLE",
 *   secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
 * };
 * console.log(credentials.accessKeyId);
 * ```
 */
export interface AwsCredentials {
  /** The access key id, e.g. "AKIA..." or "ASIA..." (temporary). */
  readonly accessKeyId: string;
  /** The secret access key; never sent, only used to sign. */
  readonly secretAccessKey: string;
  /** The session token of temporary credentials; sent with the request. */
  readonly sessionToken?: string | undefined;
}

/**
 * Query parameters or headers: a record (a name with one value or several)
 * or a list of name/value pairs, which keeps repeated names in order.
 * Names and values are plain text; the signer encodes them.
 *
 * @example
 * ```ts
 * import type { SigV4Params } from "./sigv4.ts";
 *
 * const query: SigV4Params = { Action: "ListUsers", Version: "2010-05-08" };
 * const headers: SigV4Params = [["My-Header1", "value2"], ["My-Header1", "value1"]];
 * console.log(Object.keys(query).length, headers.length);
 * ```
 */
export type SigV4Params =
  | Readonly<Record<string, string | readonly string[]>>
  | readonly (readonly [string, string])[];

/**
 * What the canonical request is made of. `headers` are all the signed
 * headers, `host` included; `path` is the unencoded path.
 *
 * @example
 * ```ts
 * import type { CanonicalRequestInput } from "./sigv4.ts";
 *
 * const input: CanonicalRequestInput = {
 *   method: "GET",
 *   path: "/",
 *   headers: { host: "example.amazonaws.com" },
 *   payloadHash: "UNSIGNED-PAYLOAD",
 * };
 * console.log(input.method);
 * ```
 */
export interface CanonicalRequestInput {
  /** The HTTP method, e.g. "GET". */
  method: string;
  /** The path, not percent-encoded (default "/"). */
  path?: string | undefined;
  /** The query parameters (default none). */
  query?: SigV4Params | undefined;
  /** The headers to sign, `host` included. */
  headers: SigV4Params;
  /** The hex SHA-256 of the body, or e.g. "UNSIGNED-PAYLOAD". */
  payloadHash: string;
  /**
   * Removes "." and ".." segments and empty segments from the path, as
   * every service but S3 expects (default true).
   */
  normalizePath?: boolean | undefined;
}

/**
 * A request to sign. The `host` is signed as the `host` header; `path`
 * and the query are plain text (the signer encodes them).
 *
 * @example
 * ```ts
 * import type { SigV4Request } from "./sigv4.ts";
 *
 * const request: SigV4Request = {
 *   method: "GET",
 *   host: "example.amazonaws.com",
 *   path: "/",
 *   query: { Param1: "value1" },
 * };
 * console.log(request.host);
 * ```
 */
export interface SigV4Request {
  /** The HTTP method, e.g. "GET". */
  method: string;
  /** The host (with the port when it is not the scheme's default). */
  host: string;
  /** The path, not percent-encoded (default "/"). */
  path?: string | undefined;
  /** The query parameters (default none). */
  query?: SigV4Params | undefined;
  /** Further headers to sign; not `host`, which comes from `host`. */
  headers?: SigV4Params | undefined;
  /** The body, hashed into the signature (default empty). */
  body?: string | Uint8Array | undefined;
  /** The payload hash to sign instead of the body's, e.g. "UNSIGNED-PAYLOAD". */
  payloadHash?: string | undefined;
}

/**
 * Who signs, where and when: the credentials, the region and service of
 * the credential scope, and the signing time.
 *
 * @example
 * ```ts
 * import type { SigV4Options } from "./sigv4.ts";
 *
 * const options: SigV4Options = {
 *   credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
 *   region: "us-east-1",
 *   service: "service",
 *   date: new Date("2015-08-30T12:36:00Z"),
 * };
 * console.log(options.service);
 * ```
 */
export interface SigV4Options {
  /** The credentials that sign. */
  credentials: AwsCredentials;
  /** The region, e.g. "us-east-1". */
  region: string;
  /** The service's signing name, e.g. "kafka-cluster", "s3". */
  service: string;
  /** The signing time. */
  date: Date;
  /** See `CanonicalRequestInput.normalizePath` (default true; false for S3). */
  normalizePath?: boolean | undefined;
}

/**
 * Options of a header-signed request: `SigV4Options`, and whether to send
 * and sign the body's hash as `x-amz-content-sha256` (S3 requires it).
 *
 * @example
 * ```ts
 * import type { SigV4SignOptions } from "./sigv4.ts";
 *
 * const options: SigV4SignOptions = {
 *   credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
 *   region: "us-east-1",
 *   service: "s3",
 *   date: new Date(),
 *   normalizePath: false,
 *   contentSha256Header: true,
 * };
 * console.log(options.contentSha256Header);
 * ```
 */
export interface SigV4SignOptions extends SigV4Options {
  /** Adds the signed `x-amz-content-sha256` header (default false). */
  contentSha256Header?: boolean | undefined;
}

/**
 * Options of a presigned request: `SigV4Options` and how many seconds the
 * request stays valid after `date`.
 *
 * @example
 * ```ts
 * import type { SigV4PresignOptions } from "./sigv4.ts";
 *
 * const options: SigV4PresignOptions = {
 *   credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
 *   region: "us-east-1",
 *   service: "kafka-cluster",
 *   date: new Date(),
 *   expiresIn: 900,
 * };
 * console.log(options.expiresIn);
 * ```
 */
export interface SigV4PresignOptions extends SigV4Options {
  /** Seconds the request stays valid, 1 to 604800 (7 days). */
  expiresIn: number;
}

/**
 * The steps of a signature, kept for inspection and tests.
 *
 * @example
 * ```ts
 * import { signRequest, type SigV4Signature } from "./sigv4.ts";
 *
 * const steps: SigV4Signature = await signRequest(
 *   { method: "GET", host: "example.amazonaws.com" },
 *   {
 *     credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
 *     region: "us-east-1",
 *     service: "service",
 *     date: new Date("2015-08-30T12:36:00Z"),
 *   },
 * );
 * console.log(steps.stringToSign.split("\n")[0]); // AWS4-HMAC-SHA256
 * ```
 */
export interface SigV4Signature {
  /** The canonical request that was hashed. */
  canonicalRequest: string;
  /** The string that was signed. */
  stringToSign: string;
  /** The signature, 64 lowercase hex digits. */
  signature: string;
}

/**
 * A request signed in its headers.
 *
 * @example
 * ```ts
 * import { signRequest, type SignedRequest } from "./sigv4.ts";
 *
 * const signed: SignedRequest = await signRequest(
 *   { method: "GET", host: "example.amazonaws.com" },
 *   {
 *     credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
 *     region: "us-east-1",
 *     service: "service",
 *     date: new Date("2015-08-30T12:36:00Z"),
 *   },
 * );
 * console.log(signed.headers.map(([name]) => name).join(", "));
 * ```
 */
export interface SignedRequest extends SigV4Signature {
  /** The `Authorization` header's value. */
  authorization: string;
  /**
   * The headers to send besides the request's own: `x-amz-date`,
   * `x-amz-security-token` (with a session token), `x-amz-content-sha256`
   * (when asked for) and `authorization`.
   */
  headers: [string, string][];
}

/**
 * A request signed in its query string (a presigned URL).
 *
 * @example
 * ```ts
 * import { presignRequest, type PresignedRequest } from "./sigv4.ts";
 *
 * const presigned: PresignedRequest = await presignRequest(
 *   { method: "GET", host: "example.amazonaws.com" },
 *   {
 *     credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
 *     region: "us-east-1",
 *     service: "service",
 *     date: new Date("2015-08-30T12:36:00Z"),
 *     expiresIn: 3600,
 *   },
 * );
 * console.log(new URL(presigned.url).searchParams.get("X-Amz-Expires")); // 3600
 * ```
 */
export interface PresignedRequest extends SigV4Signature {
  /**
   * Every query parameter, plain text: the request's own, then the
   * signature's (`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`,
   * `X-Amz-Expires`, `X-Amz-Security-Token` with a session token,
   * `X-Amz-SignedHeaders`, and last `X-Amz-Signature`).
   */
  query: [string, string][];
  /** The presigned URL (https). */
  url: string;
}

/**
 * The signing time as SigV4 writes it (`X-Amz-Date`): `yyyyMMddTHHmmssZ`,
 * in UTC. Milliseconds are dropped.
 *
 * @example
 * ```ts
 * import { amzDate } from "./sigv4.ts";
 *
 * console.log(amzDate(new Date("2015-08-30T12:36:00.250Z"))); // 20150830T123600Z
 * ```
 */
export function amzDate(date: Date): string {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new TypeError(
      `SigV4: the signing date must be a valid Date, got ${describe(date)}`,
    );
  }
  return date.toISOString().replace(/\.\d{3}Z$/, "Z").replace(/[-:]/g, "");
}

/**
 * The credential scope: `yyyyMMdd/region/service/aws4_request`.
 *
 * @example
 * ```ts
 * import { credentialScope } from "./sigv4.ts";
 *
 * const scope = credentialScope(new Date("2015-08-30T12:36:00Z"), "us-east-1", "service");
 * console.log(scope); // 20150830/us-east-1/service/aws4_request
 * ```
 */
export function credentialScope(
  date: Date,
  region: string,
  service: string,
): string {
  return `${amzDate(date).slice(0, 8)}/${region}/${service}/aws4_request`;
}

/**
 * SigV4's URI encoding: every byte of the UTF-8 text but the unreserved
 * characters (A-Z a-z 0-9 - . _ ~) as `%XX` in upper case; `/` too unless
 * `encodeSlash` is false (paths).
 *
 * @example
 * ```ts
 * import { uriEncode } from "./sigv4.ts";
 *
 * console.log(uriEncode("a b/ሴ*")); // a%20b%2F%E1%88%B4%2A
 * console.log(uriEncode("/a b/", false)); // /a%20b/
 * ```
 */
export function uriEncode(value: string, encodeSlash = true): string {
  let out = "";
  for (const byte of utf8.encode(value)) {
    if (
      (byte >= 0x41 && byte <= 0x5a) || // A-Z
      (byte >= 0x61 && byte <= 0x7a) || // a-z
      (byte >= 0x30 && byte <= 0x39) || // 0-9
      byte === 0x2d || byte === 0x2e || byte === 0x5f || byte === 0x7e || // - . _ ~
      (byte === 0x2f && !encodeSlash)
    ) {
      out += String.fromCharCode(byte);
    } else {
      out += "%" + byte.toString(16).toUpperCase().padStart(2, "0");
    }
  }
  return out;
}

/**
 * The canonical URI of a path: URI-encoded (slashes kept) and, when
 * `normalize` (the default), without "." / ".." and empty segments; a
 * trailing slash stays. An empty path is "/".
 *
 * @example
 * ```ts
 * import { canonicalUri } from "./sigv4.ts";
 *
 * console.log(canonicalUri("//example//")); // /example/
 * console.log(canonicalUri("/example1/example2/../..")); // /
 * console.log(canonicalUri("/./example space", false)); // /./example%20space
 * ```
 */
export function canonicalUri(path = "/", normalize = true): string {
  if (path === "") return "/";
  if (!normalize) return uriEncode(path, false);
  const segments: string[] = [];
  const parts = path.split("/");
  for (const part of parts) {
    if (part === "" || part === ".") continue;
    if (part === "..") segments.pop();
    else segments.push(part);
  }
  const last = parts[parts.length - 1];
  const trailing = segments.length > 0 &&
    (last === "" || last === "." || last === "..");
  return uriEncode(`/${segments.join("/")}${trailing ? "/" : ""}`, false);
}

/**
 * The canonical query string: each name and value URI-encoded, sorted by
 * name then value, `name=value` joined by `&`.
 *
 * @example
 * ```ts
 * import { canonicalQueryString } from "./sigv4.ts";
 *
 * console.log(canonicalQueryString({ Param2: "value2", Param1: "value 1" }));
 * // Param1=value%201&Param2=value2
 * ```
 */
export function canonicalQueryString(query: SigV4Params = []): string {
  return pairsOf(query, "query")
    .map(([name, value]) => [uriEncode(name), uriEncode(value)])
    .sort(([a, x], [b, y]) => compare(a, b) || compare(x, y))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
}

/**
 * The canonical headers (one `name:value` line each, names in lower case
 * and sorted, values trimmed with inner runs of whitespace made one space,
 * a repeated name's values joined by commas in their order) and the signed
 * headers (the names joined by `;`).
 *
 * @example
 * ```ts
 * import { canonicalHeaders } from "./sigv4.ts";
 *
 * const { canonical, signed } = canonicalHeaders({
 *   Host: "example.amazonaws.com",
 *   "My-Header2": ' "a   b   c" ',
 * });
 * console.log(canonical); // host:example.amazonaws.com\nmy-header2:"a b c"\n
 * console.log(signed); // host;my-header2
 * ```
 */
export function canonicalHeaders(
  headers: SigV4Params,
): { canonical: string; signed: string } {
  const byName = new Map<string, string[]>();
  for (const [name, value] of pairsOf(headers, "headers")) {
    const key = name.toLowerCase().trim();
    const values = byName.get(key) ?? [];
    values.push(value.trim().replace(/\s+/g, " "));
    byName.set(key, values);
  }
  const names = [...byName.keys()].sort(compare);
  return {
    canonical: names.map((name) => `${name}:${byName.get(name)!.join(",")}\n`)
      .join(""),
    signed: names.join(";"),
  };
}

/**
 * The canonical request: method, canonical URI, canonical query string,
 * canonical headers, signed headers and payload hash, one per line.
 *
 * @example
 * ```ts
 * import { canonicalRequest } from "./sigv4.ts";
 *
 * console.log(canonicalRequest({
 *   method: "GET",
 *   path: "/",
 *   query: { Param2: "value2", Param1: "value1" },
 *   headers: { host: "example.amazonaws.com", "x-amz-date": "20150830T123600Z" },
 *   payloadHash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
 * }));
 * ```
 */
export function canonicalRequest(input: CanonicalRequestInput): string {
  const { canonical, signed } = canonicalHeaders(input.headers);
  return [
    input.method.toUpperCase(),
    canonicalUri(input.path, input.normalizePath ?? true),
    canonicalQueryString(input.query),
    canonical,
    signed,
    input.payloadHash,
  ].join("\n");
}

/**
 * The hex SHA-256 of a text (as UTF-8) or of bytes.
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./sigv4.ts";
 *
 * console.log(await sha256Hex(""));
 * // e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
 * ```
 */
export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === "string" ? utf8.encode(data) : data;
  return hex(
    new Uint8Array(
      await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
    ),
  );
}

/**
 * The string to sign: the algorithm, the signing time, the credential
 * scope and the hex SHA-256 of the canonical request, one per line.
 *
 * @example
 * ```ts
 * import { stringToSign } from "./sigv4.ts";
 *
 * const text = await stringToSign(
 *   new Date("2015-08-30T12:36:00Z"),
 *   "20150830/us-east-1/service/aws4_request",
 *   "GET\n/\n\nhost:example.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD",
 * );
 * console.log(text.split("\n").length); // 4
 * ```
 */
export async function stringToSign(
  date: Date,
  scope: string,
  canonical: string,
): Promise<string> {
  return [SIGV4_ALGORITHM, amzDate(date), scope, await sha256Hex(canonical)]
    .join("\n");
}

/**
 * The signing key: HMAC-SHA256 chained from `"AWS4" + secret` over the
 * date (`yyyyMMdd`), the region, the service and `"aws4_request"`.
 *
 * @example AWS's published example (the IAM docs)
 * ```ts
 * import { signingKey } from "./sigv4.ts";
 *
 * const key = await signingKey(
 *   "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
 *   new Date("2012-02-15T00:00:00Z"),
 *   "us-east-1",
 *   "iam",
 * );
 * console.log(Array.from(key, (b) => b.toString(16).padStart(2, "0")).join(""));
 * // f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d
 * ```
 */
export async function signingKey(
  secretAccessKey: string,
  date: Date,
  region: string,
  service: string,
): Promise<Uint8Array> {
  let key = await hmac(
    utf8.encode(`AWS4${secretAccessKey}`),
    amzDate(date).slice(0, 8),
  );
  for (const part of [region, service, "aws4_request"]) {
    key = await hmac(key, part);
  }
  return key;
}

/**
 * The signature: the hex HMAC-SHA256 of the string to sign under the
 * signing key.
 *
 * @example
 * ```ts
 * import { signature, signingKey } from "./sigv4.ts";
 *
 * const key = await signingKey("secret", new Date(), "us-east-1", "service");
 * console.log((await signature(key, "string to sign")).length); // 64
 * ```
 */
export async function signature(
  key: Uint8Array,
  toSign: string,
): Promise<string> {
  return hex(await hmac(key, toSign));
}

/**
 * Signs a request in its headers: adds `x-amz-date` (and
 * `x-amz-security-token` with a session token, `x-amz-content-sha256`
 * when asked for), signs them with `host` and the request's headers, and
 * gives the `Authorization` header.
 *
 * @example The suite's get-vanilla case
 * ```ts
 * import { signRequest } from "./sigv4.ts";
 *
 * const signed = await signRequest(
 *   { method: "GET", host: "example.amazonaws.com", path: "/" },
 *   {
 *     credentials: {
 *       accessKeyId: "AKIDEXAMPLE",
 *       secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
 *     },
 *     region: "us-east-1",
 *     service: "service",
 *     date: new Date("2015-08-30T12:36:00Z"),
 *   },
 * );
 * console.log(signed.signature);
 * // 5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31
 * ```
 */
export async function signRequest(
  request: SigV4Request,
  options: SigV4SignOptions,
): Promise<SignedRequest> {
  checkSigning(request, options);
  const { credentials, region, service, date } = options;
  const payloadHash = request.payloadHash ??
    await sha256Hex(request.body ?? "");
  const added: [string, string][] = [["x-amz-date", amzDate(date)]];
  if (credentials.sessionToken) {
    added.push(["x-amz-security-token", credentials.sessionToken]);
  }
  if (options.contentSha256Header) {
    added.push(["x-amz-content-sha256", payloadHash]);
  }
  const headers = [
    ["host", request.host] as [string, string],
    ...pairsOf(request.headers ?? [], "headers"),
    ...added,
  ];
  const scope = credentialScope(date, region, service);
  const steps = await signSteps(
    {
      method: request.method,
      path: request.path,
      query: request.query,
      headers,
      payloadHash,
      normalizePath: options.normalizePath,
    },
    options,
    scope,
  );
  const authorization =
    `${SIGV4_ALGORITHM} Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${
      canonicalHeaders(headers).signed
    }, Signature=${steps.signature}`;
  return {
    ...steps,
    authorization,
    headers: [...added, ["authorization", authorization]],
  };
}

/**
 * Presigns a request (query-string authentication): the signature's
 * parameters go into the query, `X-Amz-Signature` last, and the signed
 * headers are `host` and the request's headers. The session token, when
 * there is one, is signed as `X-Amz-Security-Token`.
 *
 * @example The suite's get-vanilla case, presigned
 * ```ts
 * import { presignRequest } from "./sigv4.ts";
 *
 * const presigned = await presignRequest(
 *   { method: "GET", host: "example.amazonaws.com", path: "/" },
 *   {
 *     credentials: {
 *       accessKeyId: "AKIDEXAMPLE",
 *       secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
 *     },
 *     region: "us-east-1",
 *     service: "service",
 *     date: new Date("2015-08-30T12:36:00Z"),
 *     expiresIn: 3600,
 *   },
 * );
 * console.log(presigned.signature);
 * // e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d
 * ```
 */
export async function presignRequest(
  request: SigV4Request,
  options: SigV4PresignOptions,
): Promise<PresignedRequest> {
  checkSigning(request, options);
  const { credentials, region, service, date, expiresIn } = options;
  if (
    !Number.isInteger(expiresIn) || expiresIn < 1 ||
    expiresIn > SIGV4_MAX_EXPIRES
  ) {
    throw new TypeError(
      `SigV4: "expiresIn" must be a whole number of seconds from 1 to ${SIGV4_MAX_EXPIRES} (7 days), got ${
        describe(expiresIn)
      }`,
    );
  }
  const payloadHash = request.payloadHash ??
    await sha256Hex(request.body ?? "");
  const headers = [
    ["host", request.host] as [string, string],
    ...pairsOf(request.headers ?? [], "headers"),
  ];
  const scope = credentialScope(date, region, service);
  const query: [string, string][] = [
    ...pairsOf(request.query ?? [], "query"),
    ["X-Amz-Algorithm", SIGV4_ALGORITHM],
    ["X-Amz-Credential", `${credentials.accessKeyId}/${scope}`],
    ["X-Amz-Date", amzDate(date)],
    ["X-Amz-Expires", String(expiresIn)],
  ];
  if (credentials.sessionToken) {
    query.push(["X-Amz-Security-Token", credentials.sessionToken]);
  }
  query.push(["X-Amz-SignedHeaders", canonicalHeaders(headers).signed]);
  const steps = await signSteps(
    {
      method: request.method,
      path: request.path,
      query,
      headers,
      payloadHash,
      normalizePath: options.normalizePath,
    },
    options,
    scope,
  );
  // The signed query in canonical order, then the signature, as AWS
  // writes presigned URLs.
  const url = `https://${request.host}${canonicalUri(request.path, false)}?${
    canonicalQueryString(query)
  }&X-Amz-Signature=${steps.signature}`;
  query.push(["X-Amz-Signature", steps.signature]);
  return { ...steps, query, url };
}

async function signSteps(
  input: CanonicalRequestInput,
  options: SigV4Options,
  scope: string,
): Promise<SigV4Signature> {
  const canonical = canonicalRequest(input);
  const toSign = await stringToSign(options.date, scope, canonical);
  const key = await signingKey(
    options.credentials.secretAccessKey,
    options.date,
    options.region,
    options.service,
  );
  return {
    canonicalRequest: canonical,
    stringToSign: toSign,
    signature: await signature(key, toSign),
  };
}

function checkSigning(request: SigV4Request, options: SigV4Options): void {
  if (typeof request?.method !== "string" || request.method === "") {
    throw new TypeError(
      `SigV4: the request's "method" must be an HTTP method such as "GET", got ${
        describe(request?.method)
      }`,
    );
  }
  if (typeof request.host !== "string" || request.host === "") {
    throw new TypeError(
      `SigV4: the request's "host" must be a non-empty string, got ${
        describe(request.host)
      }`,
    );
  }
  for (const [name] of pairsOf(request.headers ?? [], "headers")) {
    if (name.trim().toLowerCase() === "host") {
      throw new TypeError(
        `SigV4: the request's "headers" must not hold "host": it is signed from the request's "host"`,
      );
    }
  }
  for (const field of ["region", "service"] as const) {
    if (typeof options?.[field] !== "string" || options[field] === "") {
      throw new TypeError(
        `SigV4: "${field}" must be a non-empty string, got ${
          describe(options?.[field])
        }`,
      );
    }
  }
  const credentials = options.credentials;
  for (const field of ["accessKeyId", "secretAccessKey"] as const) {
    if (typeof credentials?.[field] !== "string" || credentials[field] === "") {
      throw new TypeError(
        `SigV4: "credentials.${field}" must be a non-empty string, got ${typeof credentials
          ?.[field]}`,
      );
    }
  }
  amzDate(options.date);
}

function pairsOf(
  params: SigV4Params,
  what: string,
): [string, string][] {
  const pairs: [string, string][] = [];
  const entries = Array.isArray(params)
    ? params as readonly (readonly [string, string])[]
    : Object.entries(params);
  for (const [name, value] of entries) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (typeof name !== "string" || typeof one !== "string") {
        throw new TypeError(
          `SigV4: ${what} names and values must be strings, got a ${typeof name} name with a ${typeof one} value`,
        );
      }
      pairs.push([name, one]);
    }
  }
  return pairs;
}

/** Orders by UTF-16 code unit, which is byte order for encoded (ASCII) text. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function hmac(key: Uint8Array, message: string): Promise<Uint8Array> {
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    key as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(
    await crypto.subtle.sign("HMAC", cryptoKey, utf8.encode(message)),
  );
}

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (value instanceof Date) return "an invalid Date";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") return String(value);
  return typeof value;
}
