/**
 * Dialing Conns: one connection to a broker, or to a partition's leader,
 * with shared settings (kafka-go's Dialer).
 *
 * @module
 */

import type { DialerOptions, DialOptions, Partition } from "./types.ts";
import { checkTopicPartition, Conn } from "./conn.ts";
import { acksOf } from "../requests/produce.ts";
import { compressionId } from "../../codecs/mod.ts";
import { parseAddress } from "../connection/address.ts";
import {
  BrokerConnection,
  type ConnectionOptions,
} from "../connection/connection.ts";
import { validateSasl } from "../connection/sasl.ts";

/** Dials brokers with shared settings, like kafka-go's `Dialer`. */
export class Dialer {
  readonly options: DialerOptions;

  constructor(options: DialerOptions = {}) {
    validateDialer(options);
    this.options = options;
  }

  /** Connects to one broker. */
  async dial(address: string, options: DialOptions = {}): Promise<Conn> {
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
    checkTopicPartition(partition.topic, partition.id);
    const { leader } = partition;
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

/** Connects to one broker (kafka-go's `Dial`). */
export async function dial(
  address: string,
  options: DialerOptions & DialOptions = {},
): Promise<Conn> {
  return await new Dialer(options).dial(address, options);
}

/** Connects to the leader of a topic-partition (kafka-go's `DialLeader`). */
export async function dialLeader(
  address: string,
  topic: string,
  partition: number,
  options: DialerOptions & DialOptions = {},
): Promise<Conn> {
  return await new Dialer(options).dialLeader(
    address,
    topic,
    partition,
    options,
  );
}

/** Connects to a partition's leader (kafka-go's `DialPartition`). */
export async function dialPartition(
  partition: Pick<Partition, "topic" | "id" | "leader">,
  options: DialerOptions & DialOptions = {},
): Promise<Conn> {
  return await new Dialer(options).dialPartition(partition, options);
}

function validateDialer(options: DialerOptions): void {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`Cannot create Dialer: options must be an object`);
  }
  for (const key of ["timeout", "requestTimeout", "maxResponseSize"] as const) {
    const value = options[key];
    if (value !== undefined && (!Number.isFinite(value) || value <= 0)) {
      throw new RangeError(
        `Cannot create Dialer: "${key}" must be a positive number, got ${value}`,
      );
    }
  }
  if (options.requiredAcks !== undefined) {
    acksOf(options.requiredAcks, "Cannot create Dialer");
  }
  if (options.compression !== undefined) compressionId(options.compression);
  if (options.sasl !== undefined) validateSasl(options.sasl);
}
