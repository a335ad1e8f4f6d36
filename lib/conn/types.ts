/**
 * What a Conn's methods take and return: brokers, partitions, topic
 * configs, seek modes and read options.
 *
 * @module
 */

import type { RequiredAcks } from "../requests/produce.ts";
import type { CompressionName } from "../../codecs/mod.ts";
import type { SaslOptions, TlsOptions } from "../connection/connection.ts";
import type { KafkaError } from "../protocol/errors.ts";

/** A broker as metadata describes it. */
export interface Broker {
  id: number;
  host: string;
  port: number;
  rack: string | null;
}

/** A partition as metadata describes it. */
export interface Partition {
  topic: string;
  id: number;
  leader: Broker;
  replicas: Broker[];
  isr: Broker[];
  offlineReplicas: Broker[];
  /** The partition's error, when metadata reported one. */
  error: KafkaError | null;
}

export interface ConfigEntry {
  configName: string;
  configValue: string;
}

export interface ReplicaAssignment {
  partition: number;
  replicas: number[];
}

/** A topic to create, as in kafka-go's `TopicConfig`. */
export interface TopicConfig {
  topic: string;
  /** -1 (the default) takes the broker's `num.partitions`. */
  numPartitions?: number;
  /** -1 (the default) takes the broker's `default.replication.factor`. */
  replicationFactor?: number;
  replicaAssignments?: ReplicaAssignment[];
  configEntries?: ConfigEntry[];
}

/** Options of `dial` and `Dialer`, in kafka-go's Dialer names. */
export interface DialerOptions {
  /** Milliseconds to connect, TLS and SASL included (default 10 s). */
  timeout?: number;
  clientId?: string;
  tls?: TlsOptions | boolean;
  sasl?: SaslOptions;
  /** Milliseconds a request may take (default 30 s). */
  requestTimeout?: number;
  /** Largest response accepted, in bytes (default 256 MiB). */
  maxResponseSize?: number;
  /** Acks for `Conn.writeMessages` (default "all"). */
  requiredAcks?: RequiredAcks;
  /** Compression for `Conn.writeMessages` (default "none"). */
  compression?: CompressionName;
}

export interface DialOptions {
  signal?: AbortSignal;
}

/** Where a seek is measured from (kafka-go's whence values). */
export const SeekStart = 0;
export const SeekAbsolute = 1;
export const SeekEnd = 2;
export const SeekCurrent = 3;
/** Or-ed into `whence`: skip the range check against the partition's offsets. */
export const SeekDontCheck = 1 << 30;

/** Offsets that `seek`-like methods accept besides real offsets. */
export const FirstOffset = -2;
export const LastOffset = -1;

export interface ReadBatchOptions {
  /** Bytes the broker waits to gather before answering (default 1). */
  minBytes?: number;
  /** Most bytes to fetch (default 1 MiB). */
  maxBytes?: number;
  /** Milliseconds the broker may wait for minBytes (default 10 s). */
  maxWait?: number;
  /** "read_committed" drops aborted transactions (default "read_uncommitted"). */
  isolationLevel?: "read_uncommitted" | "read_committed";
  signal?: AbortSignal;
}

export type { RequiredAcks };
