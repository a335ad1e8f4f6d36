/**
 * Connection settings that Writers and Readers share (kafka-go's
 * Transport), how they become a cluster's options, and the logger shape.
 *
 * @module
 */

import { parseAddress } from "../connection/address.ts";
import { type SaslSetting, validateSasl } from "../connection/sasl.ts";
import { checkTls, type TlsOptions } from "../connection/socket.ts";
import type { ClusterOptions } from "./cluster.ts";
import {
  checkDuration,
  checkNumber,
  checkOptionNames,
  checkTimeout,
  describeType,
  describeValue,
  optionNames,
} from "../options.ts";

/**
 * A logger in the shape of `console.log`: kafka-go's Logger and ErrorLogger.
 *
 * @example
 * ```ts
 * import type { Logger } from "./transport.ts";
 *
 * const logger: Logger = (message) => console.log(message);
 * logger("kafka writer: closed");
 * ```
 */
export interface Logger {
  (message: string, ...args: unknown[]): void;
}

/**
 * Connection settings shared by writers and readers (kafka-go's Transport).
 *
 * @example
 * ```ts
 * import type { TransportOptions } from "./transport.ts";
 *
 * const transport: TransportOptions = { clientId: "billing", dialTimeout: 5000 };
 * console.log(transport.clientId);
 * ```
 */
export interface TransportOptions {
  /** Sent in every request header; brokers log it and quota by it. */
  clientId?: string | undefined;
  /** TLS settings, or true for TLS with the system's trust store. */
  tls?: TlsOptions | boolean | undefined;
  /** SASL mechanism and credentials. */
  sasl?: SaslSetting | undefined;
  /** Milliseconds before cached metadata is refreshed (default 60 s). */
  metadataTTL?: number | undefined;
  /** Milliseconds to open a connection (default 10 s). */
  dialTimeout?: number | undefined;
  /**
   * Milliseconds a connection may go unused before it is closed (default
   * 540000, Java's `connections.max.idle.ms`; 0 or Infinity keeps them
   * open).
   */
  idleTimeout?: number | undefined;
}

/** The names of `TransportOptions`. */
const TRANSPORT_OPTIONS = optionNames<TransportOptions>()(
  "clientId",
  "tls",
  "sasl",
  "metadataTTL",
  "dialTimeout",
  "idleTimeout",
);

/**
 * Checks the option names of a Writer, Reader or Client (`known`), and their
 * `transport`, which must be an object when set: its option names and each
 * value (see `checkTransport`). A TypeError or RangeError starting with
 * `context` names what is wrong (see `checkOptionNames`).
 */
export function checkNames(
  context: string,
  options: { transport?: unknown; cluster?: unknown; brokers?: unknown },
  known: ReadonlySet<string>,
): void {
  checkOptionNames(context, options, known, { transport: TRANSPORT_OPTIONS });
  // A Cluster brings its own brokers and transport: others given beside it
  // would be ignored.
  if (options.cluster !== undefined) {
    for (const other of ["brokers", "transport"] as const) {
      if (options[other] !== undefined) {
        throw new TypeError(
          `${context}: "cluster" and "${other}" exclude each other (the Cluster has its own brokers and transport); give one of them`,
        );
      }
    }
  }
  const transport = options.transport;
  if (transport === undefined) return;
  if (transport === null || typeof transport !== "object") {
    throw new TypeError(
      `${context}: "transport" must be an object, got ${
        describeValue(transport)
      }`,
    );
  }
  checkTransport(`${context}: "transport"`, transport);
}

/**
 * Checks a `transport` object: its option names, then each value (the
 * connection settings, and the milliseconds of `metadataTTL` from 0,
 * `dialTimeout` above 0 and `idleTimeout` from 0, each at most 2^31 - 1;
 * `idleTimeout` may also be Infinity).
 * Throws a TypeError or RangeError starting with `context`.
 */
export function checkTransport(context: string, transport: object): void {
  checkOptionNames(context, transport, TRANSPORT_OPTIONS);
  const t = transport as Record<keyof TransportOptions, unknown>;
  checkConnectionSettings(context, t);
  checkDuration(context, "metadataTTL", t.metadataTTL);
  checkTimeout(context, "dialTimeout", t.dialTimeout);
  // Infinity keeps connections open, as 0 does (and as a Cluster takes).
  if (t.idleTimeout !== Infinity) {
    checkDuration(context, "idleTimeout", t.idleTimeout);
  }
}

/**
 * Checks what every connection takes, in a `transport` or a Dialer's
 * options: `clientId` a string (of at most 32767 UTF-8 bytes), `tls` a
 * boolean or an object of TLS options (`ca` PEM text or a list of them,
 * `cert`, `key` and `servername` text, `cert` and `key` both or neither),
 * `sasl` a `{ mechanism, username, password }` or a SaslAuthenticator.
 * Throws a TypeError or RangeError starting with `context`.
 */
export function checkConnectionSettings(
  context: string,
  options: { clientId?: unknown; tls?: unknown; sasl?: unknown },
): void {
  const fail = (message: string): never => {
    throw new TypeError(`${context}: ${message}`);
  };
  const { clientId, tls, sasl } = options;
  if (clientId !== undefined) {
    if (typeof clientId !== "string") {
      fail(`"clientId" must be a string, got ${describeValue(clientId)}`);
    }
    const bytes = new TextEncoder().encode(clientId as string).length;
    if (bytes > 32767) {
      throw new RangeError(
        `${context}: "clientId" must be at most 32767 bytes (UTF-8), got ${bytes}`,
      );
    }
  }
  checkTls(tls, context);
  if (sasl !== undefined) {
    if (sasl === null || typeof sasl !== "object") {
      fail(
        `"sasl" must be { mechanism, username, password } or a SaslAuthenticator, got ${
          describeType(sasl)
        }`,
      );
    }
    try {
      validateSasl(sasl as SaslSetting);
    } catch (error) {
      const message = (error as Error).message.replace(
        /^Cannot use SASL: /,
        "",
      );
      throw new TypeError(`${context}: "sasl": ${message}`, { cause: error });
    }
  }
}

/** The names of `ClusterOptions`. */
const CLUSTER_OPTIONS = optionNames<ClusterOptions>()(
  "brokers",
  "metadataMaxAge",
  "clientId",
  "connectTimeout",
  "requestTimeout",
  "maxResponseSize",
  "tls",
  "sasl",
  "reconnectBackoffMin",
  "reconnectBackoffMax",
  "idleTimeout",
);

/**
 * Throws a TypeError starting with `context` unless `brokers` lists at least
 * one broker address, each one "host:port" (the element at fault named by
 * its index: a hole or an empty string fails here, not at the first write).
 *
 * @example
 * ```ts
 * import { checkBrokers } from "./transport.ts";
 *
 * checkBrokers("Cannot create Writer", ["localhost:9092"]); // passes
 * ```
 */
export function checkBrokers(context: string, brokers: unknown): void {
  if (!Array.isArray(brokers) || brokers.length === 0) {
    throw new TypeError(
      `${context}: "brokers" must list at least one "host:port", got ${
        describeValue(brokers)
      }`,
    );
  }
  for (let i = 0; i < brokers.length; i++) {
    const broker = brokers[i];
    if (typeof broker !== "string" || broker.trim() === "") {
      throw new TypeError(
        `${context}: "brokers[${i}]" must be "host:port", got ${
          describeValue(broker)
        }`,
      );
    }
    try {
      parseAddress(broker);
    } catch (error) {
      throw new TypeError(
        `${context}: "brokers[${i}]": ${(error as Error).message}`,
      );
    }
  }
}

/**
 * Checks the options of `new Cluster(...)`: their names, `brokers` a
 * non-empty list of "host:port" strings, the connection settings (see
 * `checkConnectionSettings`), and each number: `connectTimeout` and
 * `requestTimeout` above 0, `metadataMaxAge` and the reconnect backoffs
 * from 0 (minimum at most maximum), `idleTimeout` from 0 (Infinity allowed),
 * all in milliseconds up to 2^31 - 1; `maxResponseSize` a positive integer.
 * Throws a TypeError or RangeError starting with "Cannot create Cluster".
 */
export function checkClusterOptions(options: unknown): void {
  const context = "Cannot create Cluster";
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `${context}: the options must be an object, got ${
        describeValue(options)
      }`,
    );
  }
  checkOptionNames(context, options, CLUSTER_OPTIONS);
  const o = options as Record<keyof ClusterOptions, unknown>;
  checkBrokers(context, o.brokers);
  checkConnectionSettings(context, o);
  checkTimeout(context, "connectTimeout", o.connectTimeout);
  checkTimeout(context, "requestTimeout", o.requestTimeout);
  checkDuration(context, "metadataMaxAge", o.metadataMaxAge);
  checkDuration(context, "reconnectBackoffMin", o.reconnectBackoffMin);
  checkDuration(context, "reconnectBackoffMax", o.reconnectBackoffMax);
  if (
    typeof o.reconnectBackoffMin === "number" &&
    typeof o.reconnectBackoffMax === "number" &&
    o.reconnectBackoffMin > o.reconnectBackoffMax
  ) {
    throw new RangeError(
      `${context}: "reconnectBackoffMin" (${o.reconnectBackoffMin}) must not exceed "reconnectBackoffMax" (${o.reconnectBackoffMax})`,
    );
  }
  if (o.idleTimeout !== Infinity) {
    checkDuration(context, "idleTimeout", o.idleTimeout);
  }
  checkNumber(context, "maxResponseSize", o.maxResponseSize, {
    min: 1,
    max: 2 ** 31 - 1,
    unit: "bytes",
  });
}

/** The cluster options of a Writer's or Reader's brokers and transport. */
export function clusterOptions(
  brokers: readonly string[] | undefined,
  transport: TransportOptions | undefined,
  requestTimeout?: number,
): ClusterOptions {
  const t = transport ?? {};
  return {
    brokers: brokers ?? [],
    clientId: t.clientId,
    tls: t.tls,
    sasl: t.sasl,
    metadataMaxAge: t.metadataTTL,
    connectTimeout: t.dialTimeout,
    idleTimeout: t.idleTimeout,
    requestTimeout,
  };
}
