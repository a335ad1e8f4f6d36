/**
 * Dialing Conns: one connection to a broker, or to a partition's leader,
 * with shared settings (kafka-go's Dialer).
 *
 * @module
 */

import type { DialerOptions, DialOptions, Partition } from "./types.ts";
import { checkTopicPartition, Conn } from "./conn.ts";
import { acksOf } from "../requests/produce.ts";
import { checkCompressionLevel, compressionId } from "../../codecs/mod.ts";
import { parseAddress } from "../connection/address.ts";
import {
  BrokerConnection,
  type ConnectionOptions,
} from "../connection/connection.ts";
import { checkConnectionSettings } from "../cluster/transport.ts";
import {
  checkCallOptions,
  checkNumber,
  checkOptionNames,
  checkTimeout,
  describeValue,
  optionNames,
} from "../options.ts";
import { describeSasl, describeTls, printAs } from "../redact.ts";

/**
 * Dials brokers with shared settings, like kafka-go's `Dialer`.
 *
 * @example One set of settings for several Conns
 * ```ts
 * import { Dialer } from "jsr:@streamkafka/client";
 *
 * const dialer = new Dialer({ clientId: "billing", timeout: 5000 });
 * const conn = await dialer.dialLeader("localhost:9092", "docs-dialer", 0);
 * await conn.writeMessages({ value: "hello" });
 * conn.close();
 * ```
 */
export class Dialer {
  /** The settings of every Conn this Dialer opens. */
  readonly options: DialerOptions;

  /** Throws a TypeError or RangeError naming an option that is wrong. */
  constructor(options: DialerOptions = {}) {
    validateDialer(options);
    this.options = options;
  }

  /** Connects to one broker. */
  async dial(address: string, options: DialOptions = {}): Promise<Conn> {
    checkDialOptions("Cannot dial", options);
    const { host, port } = parseAddress(address);
    const connection = await BrokerConnection.open(
      host,
      port,
      this.connectionOptions(options),
    );
    return new Conn(connection, this);
  }

  /** Connects to the leader of a topic-partition, found through `address`. */
  async dialLeader(
    address: string,
    topic: string,
    partition: number,
    options: DialOptions = {},
  ): Promise<Conn> {
    checkDialOptions("Cannot dial", options);
    checkTopicPartition(topic, partition);
    const bootstrap = await this.dial(address, options);
    let found: Partition;
    try {
      found = await bootstrap.lookupPartition(topic, partition, options.signal);
    } finally {
      bootstrap.close();
    }
    return this.dialPartition(found, options);
  }

  /** Connects to a partition's leader as given (kafka-go's DialPartition). */
  async dialPartition(
    partition: Pick<Partition, "topic" | "id" | "leader">,
    options: DialOptions = {},
  ): Promise<Conn> {
    checkDialOptions("Cannot dial", options);
    if (partition === null || typeof partition !== "object") {
      throw new TypeError(
        `Cannot dial: "partition" must be a partition as metadata gives it ({ topic, id, leader }), got ${
          describeValue(partition)
        }`,
      );
    }
    checkTopicPartition(partition.topic, partition.id);
    const { leader } = partition;
    if (
      leader === null || typeof leader !== "object" ||
      typeof leader.host !== "string" || leader.host === "" ||
      !Number.isInteger(leader.port) || leader.port < 1 || leader.port > 65535
    ) {
      // A partition without a leader has host "" and port -1 in metadata.
      throw new TypeError(
        `Cannot dial: "partition.leader" must be a broker { host, port } (as metadata gives it; a partition without a leader has none), got ${
          describeValue(leader)
        }`,
      );
    }
    const connection = await BrokerConnection.open(
      leader.host,
      leader.port,
      this.connectionOptions(options),
    );
    return new Conn(connection, this, partition.topic, partition.id);
  }

  /** The partitions of a topic, looked up through any broker. */
  async lookupPartitions(
    address: string,
    topic: string,
    options: DialOptions = {},
  ): Promise<Partition[]> {
    const conn = await this.dial(address, options);
    try {
      return await conn.readPartitions(topic);
    } finally {
      conn.close();
    }
  }

  /** This Dialer's settings as a connection's, with the dial's signal. */
  private connectionOptions(options: DialOptions): ConnectionOptions {
    const o = this.options;
    return {
      clientId: o.clientId,
      connectTimeout: o.timeout,
      requestTimeout: o.requestTimeout,
      maxResponseSize: o.maxResponseSize,
      tls: o.tls,
      sasl: o.sasl,
      signal: options.signal,
    };
  }
}

/**
 * Connects to one broker (kafka-go's `Dial`), for requests about the cluster
 * and its topics.
 *
 * @example Create a topic
 * ```ts
 * import { dial } from "jsr:@streamkafka/client";
 *
 * const conn = await dial("localhost:9092");
 * try {
 *   await conn.createTopics({ topic: "docs-dial", numPartitions: 3 });
 * } catch (error) {
 *   console.log((error as Error).name); // TOPIC_ALREADY_EXISTS on a rerun
 * } finally {
 *   conn.close();
 * }
 * ```
 */
export async function dial(
  address: string,
  options: DialerOptions & DialOptions = {},
): Promise<Conn> {
  const [settings, dialOptions] = split(options);
  return await new Dialer(settings).dial(address, dialOptions);
}

/**
 * Connects to the leader of a topic-partition (kafka-go's `DialLeader`),
 * found through the broker at `address`. With the broker's
 * `auto.create.topics.enable`, a missing topic is created.
 *
 * @example
 * ```ts
 * import { dialLeader } from "jsr:@streamkafka/client";
 *
 * const conn = await dialLeader("localhost:9092", "docs-dial-leader", 0);
 * console.log(conn.address, await conn.readLastOffset());
 * conn.close();
 * ```
 */
export async function dialLeader(
  address: string,
  topic: string,
  partition: number,
  options: DialerOptions & DialOptions = {},
): Promise<Conn> {
  const [settings, dialOptions] = split(options);
  return await new Dialer(settings).dialLeader(
    address,
    topic,
    partition,
    dialOptions,
  );
}

/**
 * Connects to a partition's leader as `readPartitions` or `lookupPartition`
 * reported it (kafka-go's `DialPartition`), without another lookup.
 *
 * @example
 * ```ts
 * import { dial, dialPartition } from "jsr:@streamkafka/client";
 *
 * const conn = await dial("localhost:9092");
 * const partition = await conn.lookupPartition("docs-dial-partition", 0);
 * conn.close();
 * const leader = await dialPartition(partition);
 * await leader.writeMessages({ value: "hello" });
 * leader.close();
 * ```
 */
export async function dialPartition(
  partition: Pick<Partition, "topic" | "id" | "leader">,
  options: DialerOptions & DialOptions = {},
): Promise<Conn> {
  const [settings, dialOptions] = split(options);
  return await new Dialer(settings).dialPartition(partition, dialOptions);
}

/** The names of `DialerOptions`. */
const DIALER_OPTIONS = optionNames<DialerOptions>()(
  "timeout",
  "clientId",
  "tls",
  "sasl",
  "requestTimeout",
  "maxResponseSize",
  "requiredAcks",
  "compression",
  "compressionLevel",
);

/** The names of `DialOptions`. */
const DIAL_OPTIONS = optionNames<DialOptions>()("signal");

function validateDialer(options: DialerOptions): void {
  const context = "Cannot create Dialer";
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `${context}: options must be an object, got ${describeValue(options)}`,
    );
  }
  checkOptionNames(context, options, DIALER_OPTIONS);
  checkConnectionSettings(context, options);
  checkTimeout(context, "timeout", options.timeout);
  checkTimeout(context, "requestTimeout", options.requestTimeout);
  checkNumber(context, "maxResponseSize", options.maxResponseSize, {
    min: 1,
    max: 2 ** 31 - 1,
  });
  if (options.requiredAcks !== undefined) {
    acksOf(options.requiredAcks, context);
  }
  if (options.compression !== undefined) {
    try {
      compressionId(options.compression);
    } catch (error) {
      throw new RangeError(`${context}: ${(error as Error).message}`);
    }
  }
  checkCompressionLevel(
    context,
    options.compression,
    options.compressionLevel,
  );
}

/**
 * Throws a TypeError starting with `context` unless `options` is undefined or
 * `DialOptions`: an object of known names whose `signal` is an AbortSignal.
 */
function checkDialOptions(context: string, options: DialOptions): void {
  if (options !== null && typeof options === "object") {
    checkOptionNames(context, options, DIAL_OPTIONS);
  }
  checkCallOptions(context, options);
}

/**
 * `dial`'s options as the Dialer's and the dial's: the signal goes to the
 * dial only.
 */
function split(
  options: DialerOptions & DialOptions,
): [DialerOptions, DialOptions] {
  if (options === null || typeof options !== "object") return [options, {}];
  const { signal, ...settings } = options;
  return [settings, signal === undefined ? {} : { signal }];
}

// Printed, a Dialer shows its settings, not its credentials.
printAs(Dialer, (dialer) => ({
  clientId: dialer.options.clientId ?? "streamkafka",
  tls: describeTls(dialer.options.tls),
  sasl: describeSasl(dialer.options.sasl),
}));
