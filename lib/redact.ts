/**
 * How objects that hold credentials print: `console.log`, `util.inspect`,
 * `Deno.inspect`, `Bun.inspect` and `JSON.stringify` show a summary (the
 * brokers, the client id, whether TLS is on, the SASL mechanism and user)
 * instead of their fields, which hold the SASL password and the TLS key.
 *
 * @module
 */

import type { TlsOptions } from "./connection/socket.ts";

type Inspect = (value: unknown, options?: unknown) => string;

/**
 * Makes instances of `type` print as its name and `summary(instance)`, and
 * serialise to JSON as the summary alone.
 */
export function printAs<T extends object>(
  type: { prototype: T; name: string },
  summary: (self: T) => Record<string, unknown>,
): void {
  const show = (self: T, inspect: Inspect | undefined, options: unknown) =>
    `${type.name} ${
      inspect === undefined
        ? JSON.stringify(summary(self))
        : inspect(summary(self), options)
    }`;
  Object.defineProperties(type.prototype, {
    // Node.js and Bun: (depth, options, inspect).
    [Symbol.for("nodejs.util.inspect.custom")]: {
      value(this: T, _depth: number, options: unknown, inspect?: Inspect) {
        return show(this, inspect, options);
      },
    },
    // Deno: (inspect, options).
    [Symbol.for("Deno.customInspect")]: {
      value(this: T, inspect: Inspect, options: unknown) {
        return show(this, inspect, options);
      },
    },
    toJSON: {
      value(this: T) {
        return summary(this);
      },
    },
  });
}

/** "SCRAM-SHA-512 as alice", "OAUTHBEARER", or undefined without SASL. */
export function describeSasl(sasl: unknown): string | undefined {
  if (sasl === undefined || sasl === null || typeof sasl !== "object") {
    return undefined;
  }
  const { mechanism, username } = sasl as {
    mechanism?: unknown;
    username?: unknown;
  };
  const name = typeof mechanism === "string" ? mechanism : "custom";
  return typeof username === "string" ? `${name} as ${username}` : name;
}

/** "off", "on", "on, own CA", "mutual (client certificate), own CA"... */
export function describeTls(tls: TlsOptions | boolean | undefined): string {
  if (tls === undefined || tls === false) return "off";
  if (tls === true) return "on";
  const parts = [tls.cert === undefined ? "on" : "mutual"];
  if (tls.ca !== undefined) parts.push("own CA");
  if (tls.servername !== undefined) parts.push(`servername ${tls.servername}`);
  return parts.join(", ");
}
