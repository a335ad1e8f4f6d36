/**
 * An OAUTHBEARER token provider for OAuth 2.0's client-credentials grant
 * (RFC 6749 section 4.4), as OIDC identity providers (Keycloak, Okta,
 * Microsoft Entra ID, Auth0...) offer it: the client's id and secret buy an
 * access token from the token endpoint, with the platform's `fetch`.
 *
 * @module
 */

import {
  type CachedTokenProvider,
  cachedTokenProvider,
  oauthBearerMessage,
  type OAuthBearerToken,
} from "./sasl_oauth.ts";

/**
 * The options of `oidcClientCredentials`.
 *
 * @example
 * ```ts
 * import type { OidcClientCredentialsOptions } from "./oidc.ts";
 *
 * const options: OidcClientCredentialsOptions = {
 *   tokenEndpoint: "https://idp.example.com/oauth2/token",
 *   clientId: "billing",
 *   clientSecret: "billing-secret",
 *   scope: "kafka",
 * };
 * console.log(options.clientId);
 * ```
 */
export interface OidcClientCredentialsOptions {
  /**
   * The identity provider's token endpoint (`token_endpoint` in its OIDC
   * discovery document): https, or http to localhost or a loopback address
   * only, since every request carries the client secret.
   */
  tokenEndpoint: string | URL;
  /** The client's id. */
  clientId: string;
  /** The client's secret. */
  clientSecret: string;
  /** The scope to ask for: space-separated, or a list (default: none, the provider's default). */
  scope?: string | string[] | undefined;
  /** More form parameters, e.g. `{ audience: "kafka" }` for providers that want one. */
  params?: Record<string, string> | undefined;
  /** SASL extensions to send with every token (see `oauthBearer`). */
  extensions?: Record<string, string> | undefined;
  /**
   * Whether the id and secret are form-encoded before HTTP Basic
   * authentication, as RFC 6749 section 2.3.1 says (default true). Some
   * providers do not decode them: set false for those when the id or
   * secret holds characters other than letters, digits and "-._*" (Java's
   * client does not encode unless `sasl.oauthbearer.header.urlencode`).
   */
  urlencodeCredentials?: boolean | undefined;
  /** Milliseconds a token request may take (default 10 s). */
  timeout?: number | undefined;
  /**
   * Milliseconds before a token expires at which a new one is fetched
   * (default: a fifth of its lifetime, so a token is used for 80% of it).
   */
  refreshBeforeMs?: number | undefined;
  /** The `fetch` to use (default: the platform's), e.g. one with a proxy. */
  fetch?: typeof fetch | undefined;
  /** The clock, in milliseconds since the epoch (default `Date.now`); for tests. */
  now?: (() => number) | undefined;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * A token provider that gets access tokens with OAuth 2.0's
 * client-credentials grant: a form-encoded POST of
 * `grant_type=client_credentials` (and `scope`) to the token endpoint,
 * the client authenticated with HTTP Basic. It reuses a token for about
 * 80% of its lifetime (`expires_in`, else the JWT's `exp`), fetches one at
 * a time, and drops it when the broker rejects it. Failures name the
 * endpoint and the HTTP status or OAuth error (e.g. "invalid_client"),
 * never the secret. Pass it to `oauthBearer`.
 *
 * @example
 * ```ts
 * import { oauthBearer } from "./sasl_oauth.ts";
 * import { oidcClientCredentials } from "./oidc.ts";
 *
 * const sasl = oauthBearer(oidcClientCredentials({
 *   tokenEndpoint: "https://login.example.com/realms/kafka/protocol/openid-connect/token",
 *   clientId: "billing",
 *   clientSecret: "billing-secret",
 *   scope: "kafka",
 * }));
 * // new Writer({ brokers, topic, transport: { sasl, tls: true } })
 * console.log(sasl.mechanism); // OAUTHBEARER
 * ```
 */
export function oidcClientCredentials(
  options: OidcClientCredentialsOptions,
): CachedTokenProvider {
  const checked = checkOptions(options);
  const now = options.now ?? Date.now;
  return cachedTokenProvider(() => requestToken(checked, now), {
    refreshBeforeMs: options.refreshBeforeMs,
    now,
  });
}

interface Checked {
  endpoint: URL;
  shown: string;
  authorization: string;
  body: string;
  extensions?: Record<string, string> | undefined;
  timeout: number;
  fetch: typeof fetch;
}

function fail(message: string): never {
  throw new TypeError(`Cannot use oidcClientCredentials: ${message}`);
}

function checkOptions(options: OidcClientCredentialsOptions): Checked {
  if (options === null || typeof options !== "object") {
    fail(
      `it takes { tokenEndpoint, clientId, clientSecret, scope? }, got ${
        typeName(options)
      }`,
    );
  }
  const {
    tokenEndpoint,
    clientId,
    clientSecret,
    scope,
    params = {},
    extensions,
    urlencodeCredentials = true,
    timeout = DEFAULT_TIMEOUT_MS,
  } = options;
  if (typeof tokenEndpoint !== "string" && !(tokenEndpoint instanceof URL)) {
    fail(
      `"tokenEndpoint" must be the token endpoint's URL, a string or URL, got ${
        typeName(tokenEndpoint)
      }`,
    );
  }
  let endpoint: URL;
  try {
    endpoint = new URL(tokenEndpoint);
  } catch {
    fail(
      `"tokenEndpoint" must be an absolute http(s) URL, got ${
        JSON.stringify(String(tokenEndpoint))
      }`,
    );
  }
  if (endpoint.protocol !== "https:" && endpoint.protocol !== "http:") {
    fail(
      `"tokenEndpoint" must be an http(s) URL, got one with ${endpoint.protocol}`,
    );
  }
  // The secret goes in every request: in clear text only to this machine.
  if (endpoint.protocol === "http:" && !isLoopback(endpoint.hostname)) {
    fail(
      `"tokenEndpoint" must be an https URL, got ${endpoint.protocol}//${endpoint.host}: the client secret would cross the network in clear text (http is taken for localhost and loopback addresses only)`,
    );
  }
  if (typeof clientId !== "string" || clientId === "") {
    fail(`"clientId" must be a non-empty string, got ${typeName(clientId)}`);
  }
  if (typeof clientSecret !== "string" || clientSecret === "") {
    fail(
      `"clientSecret" must be a non-empty string, got ${
        clientSecret === "" ? "an empty string" : typeName(clientSecret)
      }`,
    );
  }
  if (
    scope !== undefined && typeof scope !== "string" &&
    !(Array.isArray(scope) && scope.every((s) => typeof s === "string"))
  ) {
    fail(
      `"scope" must be a space-separated string or an array of strings, got ${
        typeName(scope)
      }`,
    );
  }
  if (
    params === null || typeof params !== "object" || Array.isArray(params) ||
    Object.values(params).some((v) => typeof v !== "string")
  ) {
    fail(`"params" must be an object of strings, got ${typeName(params)}`);
  }
  if (
    extensions !== undefined &&
    (extensions === null || typeof extensions !== "object" ||
      Array.isArray(extensions))
  ) {
    fail(
      `"extensions" must be an object of extension names and values, got ${
        typeName(extensions)
      }`,
    );
  }
  // Checks the names and values now rather than on the first connection.
  if (extensions) oauthBearerMessage("token", extensions);
  if (typeof urlencodeCredentials !== "boolean") {
    fail(
      `"urlencodeCredentials" must be a boolean, got ${
        typeName(urlencodeCredentials)
      }`,
    );
  }
  if (typeof timeout !== "number" || !(timeout > 0)) {
    fail(
      `"timeout" must be a positive number of milliseconds, got ${
        typeof timeout === "number" ? timeout : typeName(timeout)
      }`,
    );
  }
  const fetcher = options.fetch ?? globalThis.fetch;
  if (typeof fetcher !== "function") {
    fail(
      `"fetch" must be a function like the platform's fetch, got ${
        typeName(options.fetch)
      }`,
    );
  }
  if (options.now !== undefined && typeof options.now !== "function") {
    fail(`"now" must be a function, got ${typeName(options.now)}`);
  }
  const encode = (s: string) =>
    urlencodeCredentials ? new URLSearchParams({ s }).toString().slice(2) : s;
  const form = new URLSearchParams({ grant_type: "client_credentials" });
  const scopes = Array.isArray(scope) ? scope.join(" ") : scope;
  if (scopes) form.set("scope", scopes);
  for (const [key, value] of Object.entries(params)) form.set(key, value);
  const shown = new URL(endpoint);
  shown.username = "";
  shown.password = "";
  return {
    endpoint,
    shown: shown.href,
    authorization: `Basic ${
      base64(`${encode(clientId)}:${encode(clientSecret)}`)
    }`,
    body: form.toString(),
    extensions,
    timeout,
    fetch: fetcher,
  };
}

/** One token request. */
async function requestToken(
  options: Checked,
  now: () => number,
): Promise<OAuthBearerToken> {
  const where = `Cannot get an OAuth token from ${options.shown}`;
  const started = now();
  let status: number;
  let statusText: string;
  let body: string;
  try {
    const response = await options.fetch(options.endpoint, {
      method: "POST",
      headers: {
        "authorization": options.authorization,
        "content-type": "application/x-www-form-urlencoded",
        "accept": "application/json",
      },
      body: options.body,
      signal: AbortSignal.timeout(options.timeout),
    });
    status = response.status;
    statusText = response.statusText;
    body = await response.text();
  } catch (error) {
    const timedOut = error instanceof Error &&
      (error.name === "TimeoutError" || error.name === "AbortError");
    throw new Error(
      `${where}: ${
        timedOut
          ? `no answer within ${options.timeout} ms`
          : error instanceof Error
          ? error.message
          : String(error)
      }`,
      { cause: error },
    );
  }
  let json: Record<string, unknown> | null = null;
  try {
    const parsed = JSON.parse(body);
    if (parsed !== null && typeof parsed === "object") json = parsed;
  } catch {
    // Said below, with the status.
  }
  if (status < 200 || status > 299) {
    throw new Error(
      `${where}: HTTP ${status}${statusText ? ` ${statusText}` : ""}${
        oauthError(json)
      }`,
    );
  }
  if (json === null) {
    throw new Error(
      `${where}: HTTP ${status} but the answer is not a JSON object (starts with ${
        JSON.stringify(body.slice(0, 60))
      })`,
    );
  }
  const accessToken = json.access_token;
  if (typeof accessToken !== "string" || accessToken === "") {
    throw new Error(
      `${where}: the answer has no "access_token"${oauthError(json)}`,
    );
  }
  const expiresIn = Number(json.expires_in);
  const lifetimeMs = json.expires_in !== undefined && expiresIn > 0
    ? started + expiresIn * 1000
    : jwtExpiry(accessToken);
  const token: OAuthBearerToken = { value: accessToken };
  if (lifetimeMs !== undefined) token.lifetimeMs = lifetimeMs;
  if (options.extensions) token.extensions = options.extensions;
  return token;
}

/** RFC 6749 section 5.2's error and its description, when the answer has them. */
function oauthError(json: Record<string, unknown> | null): string {
  if (typeof json?.error !== "string") return "";
  const error = json.error;
  const description = typeof json.error_description === "string"
    ? ` (${JSON.stringify(json.error_description)})`
    : "";
  const hints: Record<string, string> = {
    invalid_client: "check clientId and clientSecret",
    unauthorized_client: "the client may not use the client_credentials grant",
    invalid_scope: `check "scope"`,
    unsupported_grant_type:
      "the endpoint does not offer the client_credentials grant",
  };
  return `, OAuth error "${error}"${description}${
    hints[error] ? `: ${hints[error]}` : ""
  }`;
}

/** The `exp` claim of a JWT, in ms since the epoch; undefined when not a JWT. */
function jwtExpiry(token: string): number | undefined {
  const parts = token.split(".");
  if (parts.length < 2) return undefined;
  try {
    const claims = JSON.parse(
      atob(parts[1].replaceAll("-", "+").replaceAll("_", "/")),
    );
    return typeof claims?.exp === "number" ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

function base64(data: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(data)) {
    binary += String.fromCharCode(byte);
  }
  return btoa(binary);
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}

/** localhost, 127.0.0.0/8 or ::1 (a URL's hostname: IPv6 in brackets). */
function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname.endsWith(".localhost") ||
    /^127\.\d+\.\d+\.\d+$/.test(hostname) || hostname === "[::1]";
}
