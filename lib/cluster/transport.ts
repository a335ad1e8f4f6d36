/**
 * Connection settings that Writers and Readers share (kafka-go's
 * Transport), how they become a cluster's options, and the logger shape.
 *
 * @module
 */

import type { SaslSetting } from "../connection/sasl.ts";
import type { TlsOptions } from "../connection/socket.ts";
import type { ClusterOptions } from "./cluster.ts";
import { checkOptionNames, describeValue, optionNames } from "../options.ts";

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
  clientId?: string;
  /** TLS settings, or true for TLS with the system's trust store. */
  tls?: TlsOptions | boolean;
  /** SASL mechanism and credentials. */
  sasl?: SaslSetting;
  /** Milliseconds before cached metadata is refreshed (default 60 s). */
  metadataTTL?: number;
  /** Milliseconds to open a connection (default 10 s). */
  dialTimeout?: number;
  /**
   * Milliseconds a connection may go unused before it is closed (default
   * 540000, Java's `connections.max.idle.ms`; 0 keeps them open).
   */
  idleTimeout?: number;
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
 * Checks the option names of a Writer, Reader or Client (`known`), and of
 * their `transport`, which must be an object when set: a TypeError starting
 * with `context` names what is wrong (see `checkOptionNames`).
 */
export function checkNames(
  context: string,
  options: { transport?: unknown },
  known: ReadonlySet<string>,
): void {
  checkOptionNames(context, options, known, { transport: TRANSPORT_OPTIONS });
  const transport = options.transport;
  if (transport === undefined) return;
  if (transport === null || typeof transport !== "object") {
    throw new TypeError(
      `${context}: "transport" must be an object, got ${
        describeValue(transport)
      }`,
    );
  }
  checkOptionNames(`${context}: "transport"`, transport, TRANSPORT_OPTIONS);
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
