/**
 * SASL OAUTHBEARER (RFC 7628, Kafka's KIP-255) as a SaslAuthenticator: the
 * client presents a bearer token that a token provider of the user's
 * supplies, with optional SASL extensions. `cachedTokenProvider` keeps a
 * token until shortly before it expires, and `unsecuredJwt` makes the
 * unsigned tokens Kafka's development validator accepts.
 *
 * The exchange: the client-first message carries the token; the broker
 * answers with nothing when it accepts it, or with a JSON error
 * (`{"status":"invalid_token"}`), which ends the exchange with an error
 * saying the token was rejected, with the broker's status and scope.
 *
 * @module
 */

import type { SaslAuthenticator, SaslExchange } from "./sasl.ts";
import { checkOptionNames, optionNames } from "../options.ts";

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** The names of `OAuthBearerOptions`. */
const OAUTH_OPTIONS = optionNames<OAuthBearerOptions>()("token", "extensions");
/** The names of `UnsecuredJwtOptions`. */
const JWT_OPTIONS = optionNames<UnsecuredJwtOptions>()(
  "sub",
  "lifetimeMs",
  "scope",
  "issuedAt",
  "claims",
);

/** RFC 7628's separator between the message's key/value pairs. */
const KVSEP = "\u0001";

/**
 * A bearer token as a token provider returns it.
 *
 * @example
 * ```ts
 * import type { OAuthBearerToken } from "./sasl_oauth.ts";
 *
 * const token: OAuthBearerToken = {
 *   value: "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.",
 *   lifetimeMs: Date.now() + 3_600_000, // expires in an hour
 * };
 * console.log(token.lifetimeMs! > Date.now());
 * ```
 */
export interface OAuthBearerToken {
  /** The token itself (for instance a JWT), sent as `auth=Bearer <value>`. */
  value: string;
  /**
   * When the token expires, in milliseconds since the epoch (as Java's
   * `OAuthBearerToken.lifetimeMs()`); `cachedTokenProvider` reuses the
   * token until shortly before then. Unknown when absent.
   */
  lifetimeMs?: number | undefined;
  /**
   * SASL extensions sent with this token (added to, and overriding, the
   * `extensions` option of `oauthBearer`), e.g. Confluent Cloud's
   * `logicalCluster` and `identityPoolId`.
   */
  extensions?: Record<string, string> | undefined;
}

/**
 * Supplies the token for each authentication: every new connection and
 * every re-authentication calls it, so it should be cheap (wrap a costly
 * one in `cachedTokenProvider`).
 *
 * @example
 * ```ts
 * import type { OAuthBearerTokenProvider } from "./sasl_oauth.ts";
 *
 * const provider: OAuthBearerTokenProvider = () =>
 *   Promise.resolve({ value: "my-token" });
 * console.log((await provider()).value);
 * ```
 */
export type OAuthBearerTokenProvider = () => Promise<OAuthBearerToken>;

/**
 * The options of `oauthBearer`.
 *
 * @example
 * ```ts
 * import { type OAuthBearerOptions, unsecuredJwt } from "./sasl_oauth.ts";
 *
 * const options: OAuthBearerOptions = {
 *   token: () => Promise.resolve({ value: unsecuredJwt({ sub: "alice", lifetimeMs: 60_000 }) }),
 *   extensions: { traceId: "abc" },
 * };
 * console.log(Object.keys(options.extensions!));
 * ```
 */
export interface OAuthBearerOptions {
  /** The token provider, called for every authentication. */
  token: OAuthBearerTokenProvider;
  /**
   * SASL extensions sent with every token (RFC 7628 section 3.1): names
   * of letters only, not "auth"; values of printable ASCII, space, tab,
   * CR or LF. A token's own `extensions` override these.
   */
  extensions?: Record<string, string> | undefined;
}

/**
 * A token provider that reuses its token; see `cachedTokenProvider`.
 *
 * @example
 * ```ts
 * import { type CachedTokenProvider, cachedTokenProvider } from "./sasl_oauth.ts";
 *
 * const provider: CachedTokenProvider = cachedTokenProvider(() =>
 *   Promise.resolve({ value: "t", lifetimeMs: Date.now() + 60_000 })
 * );
 * await provider();
 * provider.invalidate(); // the next call fetches a new token
 * ```
 */
export interface CachedTokenProvider extends OAuthBearerTokenProvider {
  /**
   * Drops the cached token, so that the next call fetches a new one.
   * `oauthBearer` calls it when the broker rejects a token.
   */
  invalidate(): void;
}

/**
 * The options of `cachedTokenProvider`.
 *
 * @example
 * ```ts
 * import type { CachedTokenProviderOptions } from "./sasl_oauth.ts";
 *
 * const options: CachedTokenProviderOptions = { refreshBeforeMs: 60_000 };
 * console.log(options.refreshBeforeMs);
 * ```
 */
export interface CachedTokenProviderOptions {
  /**
   * Milliseconds before a token expires at which a new one is fetched
   * (default: a fifth of its lifetime as seen when it was fetched, so a
   * token is used for about 80% of it).
   */
  refreshBeforeMs?: number | undefined;
  /** The clock, in milliseconds since the epoch (default `Date.now`); for tests. */
  now?: (() => number) | undefined;
}

/**
 * SASL OAUTHBEARER: authenticates with a bearer token from `provider`
 * (called for each connection and each re-authentication), or with
 * `{ token: provider, extensions }`. The broker must enable OAUTHBEARER
 * and validate the tokens (`sasl.enabled.mechanisms`, and e.g.
 * `sasl.oauthbearer.jwks.endpoint.url`). A rejected token fails with a
 * `KafkaError` SASL_AUTHENTICATION_FAILED saying so, and drops the token
 * from a `cachedTokenProvider`.
 *
 * @example With an OIDC identity provider (see `oidcClientCredentials`)
 * ```ts
 * import { oauthBearer } from "./sasl_oauth.ts";
 * import { oidcClientCredentials } from "./oidc.ts";
 *
 * const sasl = oauthBearer(oidcClientCredentials({
 *   tokenEndpoint: "https://idp.example.com/oauth2/token",
 *   clientId: "billing",
 *   clientSecret: "billing-secret",
 * }));
 * console.log(sasl.mechanism); // OAUTHBEARER
 * ```
 *
 * @example With a provider of your own and extensions
 * ```ts
 * import { oauthBearer, unsecuredJwt } from "./sasl_oauth.ts";
 *
 * const sasl = oauthBearer({
 *   token: async () => ({ value: unsecuredJwt({ sub: "alice", lifetimeMs: 60_000 }) }),
 *   extensions: { logicalCluster: "lkc-123" },
 * });
 * console.log(sasl.mechanism); // OAUTHBEARER
 * ```
 */
export function oauthBearer(
  options: OAuthBearerTokenProvider | OAuthBearerOptions,
): SaslAuthenticator {
  const { provider, extensions } = checkOptions(options);
  return {
    mechanism: "OAUTHBEARER",
    begin: () =>
      beginExchange(provider, extensions).then((token) =>
        oauthExchange(token, () => {
          (provider as Partial<CachedTokenProvider>).invalidate?.();
        })
      ),
  };
}

interface CheckedOptions {
  provider: OAuthBearerTokenProvider;
  extensions: Record<string, string>;
}

function checkOptions(
  options: OAuthBearerTokenProvider | OAuthBearerOptions,
): CheckedOptions {
  if (typeof options === "function") {
    return { provider: options, extensions: {} };
  }
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot use OAUTHBEARER: oauthBearer() takes a token provider (a function returning a Promise of { value, lifetimeMs? }) or { token: provider, extensions? }, got ${
        typeName(options)
      }`,
    );
  }
  if (typeof options.token !== "function") {
    throw new TypeError(
      `Cannot use OAUTHBEARER: "token" must be a token provider, a function returning a Promise of { value, lifetimeMs? }, got ${
        typeName(options.token)
      }${
        typeof options.token === "string"
          ? ` (to send a fixed token, pass token: () => Promise.resolve({ value: myToken }))`
          : ""
      }`,
    );
  }
  // A misspelt "extensions" would drop them without a word.
  checkOptionNames("Cannot use OAUTHBEARER", options, OAUTH_OPTIONS);
  const extensions = options.extensions ?? {};
  checkExtensions(extensions, `"extensions"`);
  return { provider: options.token, extensions: { ...extensions } };
}

/** Calls the provider and checks what it returned. */
async function beginExchange(
  provider: OAuthBearerTokenProvider,
  extensions: Record<string, string>,
): Promise<ExchangeToken> {
  let token: OAuthBearerToken;
  try {
    token = await provider();
  } catch (error) {
    throw new Error(
      `the token provider failed: ${
        error instanceof Error ? error.message : String(error)
      }`,
      { cause: error },
    );
  }
  if (token === null || typeof token !== "object") {
    throw new TypeError(
      `the token provider must resolve to { value, lifetimeMs?, extensions? }, got ${
        typeName(token)
      }`,
    );
  }
  checkTokenValue(token.value);
  if (
    token.lifetimeMs !== undefined &&
    (typeof token.lifetimeMs !== "number" || !Number.isFinite(token.lifetimeMs))
  ) {
    throw new TypeError(
      `the token provider's "lifetimeMs" must be the token's expiry in milliseconds since the epoch, got ${
        typeName(token.lifetimeMs)
      }`,
    );
  }
  const own = token.extensions ?? {};
  checkExtensions(own, `the token's "extensions"`);
  return {
    value: token.value,
    lifetimeMs: token.lifetimeMs,
    extensions: { ...extensions, ...own },
  };
}

interface ExchangeToken {
  value: string;
  lifetimeMs?: number | undefined;
  extensions: Record<string, string>;
}

/** RFC 6750's b64token, as Kafka's broker accepts it. */
const B64TOKEN = /^[-._~+/A-Za-z0-9]+=*$/;

function checkTokenValue(value: unknown): asserts value is string {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(
      `the token provider's "value" must be the token, a non-empty string, got ${
        value === "" ? "an empty string" : typeName(value)
      }`,
    );
  }
  if (!B64TOKEN.test(value)) {
    // Never print the token: say where it goes wrong.
    const chars = [...value];
    let at = chars.findIndex((c) => !/[-._~+/A-Za-z0-9=]/.test(c));
    if (at < 0) {
      at = chars.findIndex((c, i) =>
        c === "=" && chars[i + 1] !== "=" && i < chars.length - 1
      );
    }
    throw new TypeError(
      `the token provider's "value" is not a bearer token (RFC 6750: letters, digits, "-._~+/", then "=" padding): character ${
        at + 1
      } of ${chars.length} is not allowed there`,
    );
  }
}

/** RFC 7628 section 3.1 (and Kafka): key = 1*ALPHA; "auth" is reserved. */
const EXTENSION_KEY = /^[A-Za-z]+$/;
/** RFC 7628: value = *(VCHAR / SP / HTAB / CR / LF); Kafka wants one at least. */
const EXTENSION_VALUE = /^[\x21-\x7E \t\r\n]+$/;

function checkExtensions(
  extensions: unknown,
  what: string,
): asserts extensions is Record<string, string> {
  if (
    extensions === null || typeof extensions !== "object" ||
    Array.isArray(extensions)
  ) {
    throw new TypeError(
      `Cannot use OAUTHBEARER: ${what} must be an object of extension names and string values, got ${
        typeName(extensions)
      }`,
    );
  }
  for (const [key, value] of Object.entries(extensions)) {
    if (!EXTENSION_KEY.test(key)) {
      throw new TypeError(
        `Cannot use OAUTHBEARER: ${what} has an invalid name ${
          JSON.stringify(key)
        }: extension names are letters only (RFC 7628)`,
      );
    }
    if (key === "auth") {
      throw new TypeError(
        `Cannot use OAUTHBEARER: ${what} may not name an extension "auth": it is the token's key (RFC 7628)`,
      );
    }
    if (typeof value !== "string") {
      throw new TypeError(
        `Cannot use OAUTHBEARER: extension "${key}" of ${what} must be a string, got ${
          typeName(value)
        }`,
      );
    }
    if (!EXTENSION_VALUE.test(value)) {
      throw new TypeError(
        `Cannot use OAUTHBEARER: extension "${key}" of ${what} has an invalid value: ${
          value === ""
            ? "it is empty"
            : "it may only hold printable ASCII, space, tab, CR and LF (RFC 7628)"
        }`,
      );
    }
  }
}

/**
 * The OAUTHBEARER client-first message (RFC 7628 section 3.1): the GS2
 * header "n,,", then `auth=Bearer <token>` and each extension as
 * `key=value`, each followed by \x01, and one more \x01 at the end.
 * Checks the token and the extensions.
 *
 * @example
 * ```ts
 * import { oauthBearerMessage } from "./sasl_oauth.ts";
 *
 * const bytes = oauthBearerMessage("abc", { traceId: "42" });
 * console.log(JSON.stringify(new TextDecoder().decode(bytes)));
 * // "n,,\u0001auth=Bearer abc\u0001traceId=42\u0001\u0001"
 * ```
 */
export function oauthBearerMessage(
  token: string,
  extensions: Record<string, string> = {},
): Uint8Array {
  checkTokenValue(token);
  checkExtensions(extensions, `"extensions"`);
  let message = `n,,${KVSEP}auth=Bearer ${token}${KVSEP}`;
  for (const [key, value] of Object.entries(extensions)) {
    message += `${key}=${value}${KVSEP}`;
  }
  return utf8.encode(message + KVSEP);
}

/**
 * One exchange: the client-first message; an empty answer accepts it, a
 * JSON error rejects the token.
 */
function oauthExchange(
  token: ExchangeToken,
  onRejected: () => void,
): SaslExchange {
  return {
    start: () => oauthBearerMessage(token.value, token.extensions),
    next(answer) {
      if (answer.length === 0) return null;
      onRejected();
      throw new Error(rejection(text.decode(answer), token.lifetimeMs));
    },
  };
}

/**
 * Says that the broker rejected the token, with what its error challenge
 * (RFC 7628 section 3.2.2) holds. The exchange ends here rather than
 * answering the challenge with \x01: the broker would then only fail the
 * authentication with the same JSON, and the connection closes anyway.
 */
function rejection(challenge: string, lifetimeMs: number | undefined): string {
  let fields = "";
  try {
    const error = JSON.parse(challenge) as Record<string, unknown>;
    const parts = ["status", "scope", "openid-configuration"]
      .filter((key) => typeof error?.[key] === "string")
      .map((key) => `${key} ${JSON.stringify(error[key])}`);
    fields = parts.length > 0 ? parts.join(", ") : printable(challenge);
  } catch {
    fields = printable(challenge);
  }
  if (lifetimeMs !== undefined && lifetimeMs <= Date.now()) {
    return `the broker rejected the token (${fields}): it expired at ${
      new Date(lifetimeMs).toISOString()
    }, says its provider's "lifetimeMs"`;
  }
  return `the broker rejected the token (${fields}). The token may have expired, lack a scope or claim the broker requires, or not be signed by a key the broker trusts; the broker's log says which`;
}

/** The broker's answer, shortened and with control characters escaped. */
function printable(answer: string): string {
  const short = answer.length > 200 ? answer.slice(0, 200) + "..." : answer;
  return `answer ${JSON.stringify(short)}`;
}

/**
 * Wraps a token provider so that it reuses its token until
 * `refreshBeforeMs` before the token's `lifetimeMs` (by default until 80%
 * of the lifetime it had when fetched). Concurrent calls share one fetch;
 * a failed fetch is not cached, but while the old token has not expired it
 * is returned instead. Tokens without `lifetimeMs` are not reused.
 *
 * @example
 * ```ts
 * import { cachedTokenProvider, oauthBearer } from "./sasl_oauth.ts";
 *
 * let fetches = 0;
 * const provider = cachedTokenProvider(async () => {
 *   fetches++;
 *   return { value: `token-${fetches}`, lifetimeMs: Date.now() + 3_600_000 };
 * });
 * await provider();
 * await provider();
 * console.log(fetches); // 1
 * const sasl = oauthBearer(provider);
 * console.log(sasl.mechanism);
 * ```
 */
export function cachedTokenProvider(
  fetchToken: OAuthBearerTokenProvider,
  options: CachedTokenProviderOptions = {},
): CachedTokenProvider {
  if (typeof fetchToken !== "function") {
    throw new TypeError(
      `cachedTokenProvider() takes a token provider, a function returning a Promise of { value, lifetimeMs? }, got ${
        typeName(fetchToken)
      }`,
    );
  }
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `cachedTokenProvider()'s options must be an object, got ${
        typeName(options)
      }`,
    );
  }
  const { refreshBeforeMs, now = Date.now } = options;
  if (
    refreshBeforeMs !== undefined &&
    (typeof refreshBeforeMs !== "number" || !(refreshBeforeMs >= 0) ||
      !Number.isFinite(refreshBeforeMs))
  ) {
    throw new TypeError(
      `cachedTokenProvider(): "refreshBeforeMs" must be a number of milliseconds, 0 or more, got ${
        typeof refreshBeforeMs === "number"
          ? refreshBeforeMs
          : typeName(refreshBeforeMs)
      }`,
    );
  }
  if (typeof now !== "function") {
    throw new TypeError(
      `cachedTokenProvider(): "now" must be a function returning milliseconds since the epoch, got ${
        typeName(now)
      }`,
    );
  }
  let cached: { token: OAuthBearerToken; refreshAt: number } | null = null;
  let fetching: Promise<OAuthBearerToken> | null = null;

  const refresh = (): Promise<OAuthBearerToken> => {
    const started = now();
    const stale = cached;
    const running: Promise<OAuthBearerToken> = new Promise<
      OAuthBearerToken
    >((resolve) => resolve(fetchToken())).then((token) => {
      const expiry = token?.lifetimeMs;
      if (fetching === running) {
        cached = typeof expiry === "number" && Number.isFinite(expiry) &&
            expiry > started
          ? {
            token,
            refreshAt: expiry - (refreshBeforeMs ?? (expiry - started) / 5),
          }
          : null;
      }
      return token;
    }, (error) => {
      // Better the old token while it lasts than no connection.
      const expiry = stale?.token.lifetimeMs;
      if (
        fetching === running && stale === cached && stale &&
        expiry !== undefined && now() < expiry
      ) {
        return stale.token;
      }
      throw error;
    }).finally(() => {
      if (fetching === running) fetching = null;
    });
    return running;
  };

  const provider = (): Promise<OAuthBearerToken> => {
    if (cached && now() < cached.refreshAt) {
      return Promise.resolve(cached.token);
    }
    fetching ??= refresh();
    return fetching;
  };
  return Object.assign(provider, {
    invalidate(): void {
      cached = null;
      fetching = null;
    },
  });
}

/**
 * The options of `unsecuredJwt`.
 *
 * @example
 * ```ts
 * import type { UnsecuredJwtOptions } from "./sasl_oauth.ts";
 *
 * const options: UnsecuredJwtOptions = { sub: "alice", lifetimeMs: 60_000 };
 * console.log(options.sub);
 * ```
 */
export interface UnsecuredJwtOptions {
  /** The principal (the "sub" claim); the broker's principal is User:<sub>. */
  sub: string;
  /** Milliseconds the token is valid for, from `issuedAt`. */
  lifetimeMs: number;
  /** The "scope" claim: space-separated, or a list. */
  scope?: string | string[] | undefined;
  /** When the token was issued, ms since the epoch (default: now). */
  issuedAt?: number | undefined;
  /** More claims to add. */
  claims?: Record<string, unknown> | undefined;
}

/**
 * An unsecured JWT (RFC 7519 with `"alg":"none"` and no signature) for
 * tests and development: `base64url({"alg":"none"}).base64url(claims).`
 * with the claims `sub`, `iat` and `exp` (seconds since the epoch) and
 * optionally `scope`. Kafka accepts these only where the broker uses its
 * unsecured validator (the OAUTHBEARER default when no validator is
 * configured).
 *
 * NOT FOR PRODUCTION: anyone can make such a token for any principal.
 *
 * @example
 * ```ts
 * import { oauthBearer, unsecuredJwt } from "./sasl_oauth.ts";
 *
 * const lifetimeMs = 3_600_000;
 * const sasl = oauthBearer(async () => ({
 *   value: unsecuredJwt({ sub: "alice", lifetimeMs }),
 *   lifetimeMs: Date.now() + lifetimeMs,
 * }));
 * console.log(unsecuredJwt({ sub: "alice", lifetimeMs }).split(".").length); // 3
 * console.log(sasl.mechanism);
 * ```
 */
export function unsecuredJwt(options: UnsecuredJwtOptions): string {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `unsecuredJwt() takes { sub, lifetimeMs, scope? }, got ${
        typeName(options)
      }`,
    );
  }
  checkOptionNames("unsecuredJwt()", options, JWT_OPTIONS);
  const { sub, lifetimeMs, scope, issuedAt = Date.now(), claims = {} } =
    options;
  if (typeof sub !== "string" || sub.trim() === "") {
    throw new TypeError(
      `unsecuredJwt(): "sub" must be the principal's name, a non-blank string, got ${
        typeName(sub)
      }`,
    );
  }
  for (
    const [name, value] of [["lifetimeMs", lifetimeMs], [
      "issuedAt",
      issuedAt,
    ]] as const
  ) {
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new TypeError(
        `unsecuredJwt(): "${name}" must be a number of milliseconds, got ${
          typeName(value)
        }`,
      );
    }
  }
  if (lifetimeMs <= 0) {
    // A token that expires as it is made: every broker refuses it.
    throw new RangeError(
      `unsecuredJwt(): "lifetimeMs" must be above 0, got ${lifetimeMs}`,
    );
  }
  if (claims === null || typeof claims !== "object" || Array.isArray(claims)) {
    throw new TypeError(
      `unsecuredJwt(): "claims" must be an object of JSON values, got ${
        typeName(claims)
      }`,
    );
  }
  if (
    scope !== undefined && typeof scope !== "string" &&
    !(Array.isArray(scope) && scope.every((s) => typeof s === "string"))
  ) {
    throw new TypeError(
      `unsecuredJwt(): "scope" must be a string or an array of strings, got ${
        typeName(scope)
      }`,
    );
  }
  const payload: Record<string, unknown> = {
    ...claims,
    sub,
    iat: Math.floor(issuedAt / 1000),
    exp: Math.floor((issuedAt + lifetimeMs) / 1000),
  };
  if (scope !== undefined) payload.scope = scope;
  let json: string;
  try {
    json = JSON.stringify(payload);
  } catch (error) {
    // A bigint or a cycle among the claims.
    throw new TypeError(
      `unsecuredJwt(): "claims" must hold JSON values only: ${
        error instanceof Error ? error.message : String(error)
      }`,
      { cause: error },
    );
  }
  return `${base64url(JSON.stringify({ alg: "none" }))}.${base64url(json)}.`;
}

/** Base64url without padding (RFC 4648 section 5) of a string's UTF-8. */
function base64url(data: string): string {
  let binary = "";
  for (const byte of utf8.encode(data)) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(
    /=+$/,
    "",
  );
}

/** What a value is, for error messages (never the value: it may be secret). */
function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}
