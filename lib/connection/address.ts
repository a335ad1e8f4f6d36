/** Parsing "host:port" broker addresses. @module */

import { describeValue } from "../options.ts";

/** A broker's host and port. */
export interface Address {
  host: string;
  port: number;
}

/** The port of an address that names none. */
export const DEFAULT_PORT = 9092;

/** Parses "host", "host:port", "[v6]:port"; throws a TypeError naming the input. */
export function parseAddress(address: string): Address {
  if (typeof address !== "string" || address.trim() === "") {
    throw new TypeError(
      `Cannot parse broker address: expected "host:port", got ${
        describeValue(address)
      }`,
    );
  }
  const text = address.trim().replace(/^[a-z]+:\/\//i, "");
  // "user:password@host:port" (a URL's credentials): refused without
  // repeating what comes before the "@".
  const at = text.lastIndexOf("@");
  if (at >= 0) {
    throw new TypeError(
      `Cannot parse broker address: expected "host:port", got "…@${
        text.slice(at + 1)
      }": credentials do not go in the address; give them as the "sasl" option`,
    );
  }
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracket) return { host: bracket[1], port: toPort(bracket[2], address) };
  const colon = text.lastIndexOf(":");
  if (colon < 0 || text.indexOf(":") !== colon) {
    return { host: checkHost(text, address), port: DEFAULT_PORT };
  }
  return {
    host: checkHost(text.slice(0, colon), address),
    port: toPort(text.slice(colon + 1), address),
  };
}

/** `host`, unless it is empty: a TypeError naming the address then. */
function checkHost(host: string, address: string): string {
  if (host === "") {
    throw new TypeError(
      `Cannot parse broker address: the host is empty in ${
        JSON.stringify(address)
      }; expected "host:port", e.g. "localhost:9092"`,
    );
  }
  return host;
}

function toPort(text: string | undefined, address: string): number {
  if (text === undefined) return DEFAULT_PORT;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) {
    throw new TypeError(
      `Cannot parse broker address: port must be 1..65535, got "${address}"`,
    );
  }
  return port;
}

/**
 * "host:port" of a broker, with an IPv6 host in brackets: the form `dial`
 * takes.
 *
 * @example Dial the controller
 * ```ts
 * import { dial, formatAddress } from "jsr:@streamkafka/client";
 *
 * const conn = await dial("localhost:9092");
 * const controller = await conn.controller();
 * console.log(formatAddress(controller)); // e.g. "127.0.0.1:9092"
 * conn.close();
 * ```
 */
export function formatAddress(
  address: { host: string; port: number },
): string {
  const { host, port } = (address ?? {}) as Partial<typeof address>;
  if (
    typeof host !== "string" || host === "" || !Number.isInteger(port) ||
    port! < 0 || port! > 65535
  ) {
    throw new TypeError(
      `formatAddress: expected { host, port } with a host name and a port from 0 to 65535, got ${
        describeValue(address)
      }`,
    );
  }
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
