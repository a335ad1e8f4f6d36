/**
 * What a Conn's methods take and return: brokers, partitions, topic
 * configs, seek modes and read options.
 *
 * @module
 */

import type { RequiredAcks } from "../requests/produce.ts";
import type { CompressionName } from "../../codecs/mod.ts";
import type { SaslSetting, TlsOptions } from "../connection/connection.ts";
import type { KafkaError } from "../protocol/errors.ts";

/** A broker as metadata describes it. */
export interface Broker {
  /** The broker's node id. */
  id: number;
  /** The host name the broker advertises. */
  host: string;
  /** The port the broker advertises. */
  port: number;
  /** The broker's `broker.rack`, or null when it has none. */
  rack: string | null;
}

/** A partition as metadata describes it. */
export interface Partition {
  /** The topic's name. */
  topic: string;
  /** The partition number, from 0. */
  id: number;
  /**
   * The partition's leader; a broker missing from the metadata has host ""
   * and port -1 (and id -1 while there is no leader).
   */
  leader: Broker;
  /** The brokers holding a replica of the partition. */
  replicas: Broker[];
  /** The in-sync replicas: the replicas caught up with the leader. */
  isr: Broker[];
  /** The replicas whose log directory is offline. */
  offlineReplicas: Broker[];
  /** The partition's error, when metadata reported one. */
  error: KafkaError | null;
}

/** One topic config to set at creation, e.g. `retention.ms`. */
export interface ConfigEntry {
  /** The config's name, e.g. "cleanup.policy". */
  configName: string;
  /** Its value, as text, e.g. "compact". */
  configValue: string;
}

/** The brokers to hold the replicas of one partition of a new topic. */
export interface ReplicaAssignment {
  /** The partition number, from 0. */
  partition: number;
  /** Broker ids; the first is the preferred leader. */
  replicas: number[];
}

/** A topic to create, as in kafka-go's `TopicConfig`. */
export interface TopicConfig {
  /** The topic's name: 1 to 249 letters, digits, ".", "_" or "-". */
  topic: string;
  /** -1 (the default) takes the broker's `num.partitions`. */
  numPartitions?: number | undefined;
  /** -1 (the default) takes the broker's `default.replication.factor`. */
  replicationFactor?: number | undefined;
  /**
   * Where each partition's replicas go; when given, it sets the partition
   * count and replication factor, and those two fields are ignored.
   */
  replicaAssignments?: ReplicaAssignment[] | undefined;
  /** Topic configs that differ from the broker's defaults. */
  configEntries?: ConfigEntry[] | undefined;
}

/** Options of `dial` and `Dialer`, in kafka-go's Dialer names. */
export interface DialerOptions {
  /** Milliseconds to connect, TLS and SASL included (default 10 s). */
  timeout?: number | undefined;
  /**
   * Sent in every request header; brokers log it and apply quotas by it
   * (default "streamkafka").
   */
  clientId?: string | undefined;
  /** TLS settings, or true for TLS with the system's trust store (default off). */
  tls?: TlsOptions | boolean | undefined;
  /** SASL mechanism and credentials (default: no SASL). */
  sasl?: SaslSetting | undefined;
  /** Milliseconds a request may take (default 30 s). */
  requestTimeout?: number | undefined;
  /** Largest response accepted, in bytes (default 256 MiB). */
  maxResponseSize?: number | undefined;
  /** Acks for `Conn.writeMessages` (default "all"). */
  requiredAcks?: RequiredAcks | undefined;
  /** Compression for `Conn.writeMessages` (default "none"). */
  compression?: CompressionName | undefined;
  /**
   * Its level: gzip 1 to 9 (zlib's; without one, our deflate), zstd
   * -131072 to 22 (default 3); see the Writer's `compressionLevel`.
   */
  compressionLevel?: number | undefined;
}

/** Options of one dial. */
export interface DialOptions {
  /** Aborting cancels the dial, which rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
}

/** `Conn.seek` whence: the offset counts from the partition's first offset. */
export const SeekStart = 0;
/** `Conn.seek` whence: the offset is the offset itself (the default). */
export const SeekAbsolute = 1;
/** `Conn.seek` whence: the offset counts from the partition's last offset. */
export const SeekEnd = 2;
/** `Conn.seek` whence: the offset counts from the Conn's current offset. */
export const SeekCurrent = 3;
/** Or-ed into `whence`: skip the range check against the partition's offsets. */
export const SeekDontCheck = 1 << 30;

export { FirstOffset, LastOffset } from "../requests/list_offsets.ts";

/** Options of `Conn.readBatch`. */
export interface ReadBatchOptions {
  /** Bytes the broker waits to gather before answering (default 1). */
  minBytes?: number | undefined;
  /** Most bytes to fetch (default 1 MiB). */
  maxBytes?: number | undefined;
  /** Milliseconds the broker may wait for minBytes (default 10 s). */
  maxWait?: number | undefined;
  /** "read_committed" drops aborted transactions (default "read_uncommitted"). */
  isolationLevel?: "read_uncommitted" | "read_committed" | undefined;
  /** Aborting cancels the fetch, which rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
}

export type { RequiredAcks };
