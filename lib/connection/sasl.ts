/**
 * SASL authentication as one pluggable interface: a mechanism (a
 * `SaslAuthenticator`) starts an exchange per connection, answers the
 * broker's challenges, and says when it is done. PLAIN and SCRAM
 * (sasl_scram.ts), OAUTHBEARER (sasl_oauth.ts) and AWS_MSK_IAM
 * (sasl_aws.ts) are built on it; users add their own the same way.
 *
 * `authenticate` runs one exchange through SaslHandshake v1 and
 * SaslAuthenticate, on a new connection or again on an open one
 * (re-authentication, KIP-368), and gives the session lifetime the broker
 * announced.
 *
 * @module
 */

import { checkOptionNames, describeValue, optionNames } from "../options.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import {
  SaslAuthenticate,
  type SaslAuthenticateResponse,
} from "../protocol/messages/sasl_authenticate.ts";
import { SaslHandshake } from "../protocol/messages/sasl_handshake.ts";
import type { BrokerConnection, RequestOptions } from "./connection.ts";
import { ConnectionError, TimeoutError, withinDeadline } from "./errors.ts";
import { plain, scram } from "./sasl_scram.ts";

export {
  delegationToken,
  type DelegationTokenCredentials,
  plain,
  plainMessage,
  saltedPassword,
  scram,
} from "./sasl_scram.ts";

/** The password mechanisms the `SaslOptions` shorthand names. */
export type SaslMechanism = "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512";

/**
 * SASL credentials for a password mechanism, used on every new connection
 * (a shorthand for `plain(...)` and `scram(...)`).
 *
 * @example
 * ```ts
 * import { dial, type SaslOptions } from "jsr:@streamkafka/client";
 *
 * const sasl: SaslOptions = {
 *   mechanism: "SCRAM-SHA-512",
 *   username: "alice",
 *   password: "alice-secret",
 * };
 * const conn = await dial("127.0.0.1:9094", { sasl });
 * conn.close();
 * ```
 */
export interface SaslOptions {
  /** How the password is proven: sent as is (PLAIN, use TLS) or SCRAM. */
  mechanism: SaslMechanism;
  /** The user name. */
  username: string;
  /** The password. */
  password: string;
}

/**
 * One authentication exchange on one connection: the first message, then
 * an answer to each of the broker's, until the mechanism says it is done.
 *
 * @example PLAIN as an exchange
 * ```ts
 * import type { SaslExchange } from "./sasl.ts";
 *
 * const exchange: SaslExchange = {
 *   start: () => new TextEncoder().encode("\u0000alice\u0000alice-secret"),
 *   next: () => null, // the broker's (empty) answer ends it
 * };
 * console.log((await exchange.start()).length);
 * ```
 */
export interface SaslExchange {
  /** The first message to the broker. */
  start(): Uint8Array | Promise<Uint8Array>;
  /**
   * Takes the broker's answer to the last message and returns the next
   * message, or null when authentication is complete. Throws (with a
   * message saying why) when the answer shows it failed.
   */
  next(answer: Uint8Array): Uint8Array | null | Promise<Uint8Array | null>;
  /**
   * Called when the broker refuses the exchange (a SaslAuthenticate error),
   * so the mechanism can drop what it cached for this broker (a Kerberos
   * ticket) before the next attempt.
   */
  refused?(): void;
}

/**
 * Where an exchange runs: the broker, and whether the connection is
 * authenticating again (KIP-368) rather than for the first time.
 *
 * @example
 * ```ts
 * import type { SaslContext } from "./sasl.ts";
 *
 * const context: SaslContext = { host: "localhost", port: 9094, reauthentication: false };
 * console.log(context.port);
 * ```
 */
export interface SaslContext {
  /** The broker's host. */
  host: string;
  /** The broker's port. */
  port: number;
  /** True when an open connection authenticates again. */
  reauthentication: boolean;
}

/**
 * A SASL mechanism: its name as brokers list it in
 * `sasl.enabled.mechanisms`, and a new exchange for each connection and
 * each re-authentication. Pass one as the `sasl` option.
 *
 * @example A custom mechanism (here PLAIN again, by hand)
 * ```ts
 * import { dial, type SaslAuthenticator } from "jsr:@streamkafka/client";
 *
 * const custom: SaslAuthenticator = {
 *   mechanism: "PLAIN",
 *   begin: () => ({
 *     start: () => new TextEncoder().encode("\u0000alice\u0000alice-secret"),
 *     next: () => null,
 *   }),
 * };
 * const conn = await dial("127.0.0.1:9094", { sasl: custom });
 * conn.close();
 * ```
 */
export interface SaslAuthenticator {
  /** The mechanism's name, e.g. "OAUTHBEARER". */
  readonly mechanism: string;
  /** A new exchange for one connection (or re-authentication). */
  begin(context: SaslContext): SaslExchange | Promise<SaslExchange>;
  /**
   * What to check when a broker refuses it, for the error (default: the
   * "sasl" option's credentials).
   */
  readonly whenRefused?: string | undefined;
}

/** What the `sasl` option takes: a password shorthand or a mechanism. */
export type SaslSetting = SaslOptions | SaslAuthenticator;

/** The result of an authentication: the session's lifetime. */
export interface SaslSession {
  /** The mechanism used. */
  mechanism: string;
  /**
   * Milliseconds the broker keeps the session (KIP-368), 0 when it does
   * not expire; the connection must authenticate again before then.
   */
  lifetimeMs: number;
}

const PASSWORD_MECHANISMS: readonly string[] = [
  "PLAIN",
  "SCRAM-SHA-256",
  "SCRAM-SHA-512",
];

/** The fields of the `SaslOptions` shorthand. */
const SASL_FIELDS = optionNames<SaslOptions>()(
  "mechanism",
  "username",
  "password",
);

/** True when `sasl` is a mechanism object rather than the shorthand. */
function isAuthenticator(sasl: SaslSetting): sasl is SaslAuthenticator {
  return typeof (sasl as SaslAuthenticator).begin === "function";
}

/** Checks SASL options up front, so a typo fails before any socket opens. */
export function validateSasl(sasl: SaslSetting): void {
  if (sasl === null || typeof sasl !== "object") {
    throw new TypeError(
      `Cannot use SASL: "sasl" must be { mechanism, username, password } or a SaslAuthenticator, got ${
        sasl === null ? "null" : typeof sasl
      }`,
    );
  }
  if (isAuthenticator(sasl)) {
    if (typeof sasl.mechanism !== "string" || sasl.mechanism === "") {
      throw new TypeError(
        `Cannot use SASL: the authenticator's "mechanism" must name the mechanism (e.g. "OAUTHBEARER"), got ${
          describeValue(sasl.mechanism)
        }`,
      );
    }
    return;
  }
  if (!PASSWORD_MECHANISMS.includes(sasl.mechanism)) {
    throw new TypeError(
      `Cannot use SASL: "mechanism" must be one of ${
        PASSWORD_MECHANISMS.join(", ")
      }, got ${
        describeValue(sasl.mechanism)
      } (other mechanisms are passed as a SaslAuthenticator, e.g. oauthBearer(...))`,
    );
  }
  // `{ user }` would otherwise fail as a missing username, and a name no
  // mechanism takes (`iterations`) would be ignored.
  checkOptionNames("Cannot use SASL", sasl, SASL_FIELDS, {}, "field");
  if (typeof sasl.username !== "string" || sasl.username === "") {
    throw new TypeError(
      `Cannot use SASL: "username" must be a non-empty string`,
    );
  }
  if (typeof sasl.password !== "string") {
    throw new TypeError(`Cannot use SASL: "password" must be a string`);
  }
}

/** The mechanism object of a `sasl` setting. */
export function authenticatorOf(sasl: SaslSetting): SaslAuthenticator {
  validateSasl(sasl);
  if (isAuthenticator(sasl)) return sasl;
  return sasl.mechanism === "PLAIN"
    ? plain(sasl.username, sasl.password)
    : scram(sasl.mechanism, sasl.username, sasl.password);
}

/**
 * Runs the handshake and the mechanism's exchange; throws on rejection,
 * naming the broker and the mechanism. `options` go with every request
 * (a re-authentication passes the connection's internal flag).
 */
export async function authenticate(
  conn: BrokerConnection,
  sasl: SaslSetting,
  timeout: number,
  reauthentication = false,
  options: RequestOptions = {},
): Promise<SaslSession> {
  const auth = authenticatorOf(sasl);
  const mechanism = auth.mechanism;
  // `timeout` bounds the whole exchange, the mechanism's own steps too (a
  // token provider that never answers), not each request.
  const deadline = Date.now() + timeout;
  const left = () => Math.max(1, deadline - Date.now());
  const what = `SASL ${mechanism} with ${conn.address}`;
  const step = <T>(value: T | Promise<T>) =>
    withinDeadline(Promise.resolve(value), deadline, options.signal, what);
  const handshake = await conn.request(SaslHandshake, { mechanism }, {
    ...options,
    version: 1,
    timeout: left(),
  });
  if (handshake.errorCode !== 0) {
    throw new KafkaError(handshake.errorCode, {
      apiName: "SaslHandshake",
      detail: `broker ${conn.address} enables ${
        handshake.mechanisms.join(", ") || "no mechanism"
      } on this listener, not ${mechanism}`,
    });
  }
  let lifetimeMs = 0;
  try {
    const exchange = await step(auth.begin({
      host: conn.host,
      port: conn.port,
      reauthentication,
    }));
    let message: Uint8Array | null = await step(exchange.start());
    while (message !== null) {
      const response: SaslAuthenticateResponse = await conn.request(
        SaslAuthenticate,
        {
          authBytes: message,
        },
        { ...options, timeout: left() },
      );
      if (response.errorCode !== 0) {
        exchange.refused?.();
        throw new KafkaError(response.errorCode, {
          apiName: "SaslAuthenticate",
          detail: `broker ${conn.address} refused ${mechanism}: ${
            response.errorMessage ?? "authentication failed"
          }. ${
            auth.whenRefused ??
              `Check the "sasl" option's credentials for ${mechanism}`
          }`,
        });
      }
      lifetimeMs = Number(response.sessionLifetimeMs ?? 0);
      message = await step<Uint8Array | null>(
        exchange.next(response.authBytes),
      );
    }
  } catch (error) {
    if (error instanceof KafkaError || !(error instanceof Error)) throw error;
    // A server the mechanism needs (a Kerberos KDC) out of reach: retried
    // like an unreachable broker.
    if (
      (error instanceof ConnectionError || error instanceof TimeoutError) &&
      error.retriable
    ) {
      throw error;
    }
    // The mechanism's own checks (a nonce, a signature, a token provider)
    // do not know the broker.
    throw new KafkaError(ErrorCode.SASL_AUTHENTICATION_FAILED, {
      apiName: "SaslAuthenticate",
      detail: `broker ${conn.address}, ${mechanism}: ${error.message}`,
      cause: error,
    });
  }
  return { mechanism, lifetimeMs };
}
