/**
 * The low-level `Conn`: one connection to one broker, as in kafka-go. A Conn
 * dialed for a topic-partition also produces to it, fetches from it and keeps
 * a read offset.
 *
 * @module
 */

import {
  checkCallOptions,
  checkChoice,
  checkNumber,
  describeValue,
  timeOf,
} from "../options.ts";
import { fetchedPartition, fetchRequest } from "../requests/fetch.ts";
import { listedOffset, listOffsetsRequest } from "../requests/list_offsets.ts";
import {
  type Broker,
  FirstOffset,
  LastOffset,
  type Partition,
  type ReadBatchOptions,
  SeekAbsolute,
  SeekCurrent,
  SeekDontCheck,
  SeekEnd,
  SeekStart,
  type TopicConfig,
} from "./types.ts";
import { Batch } from "./batch.ts";
import type { Dialer } from "./dialer.ts";
import {
  findPartition,
  hasLeaders,
  toBroker,
  toPartition,
} from "./metadata.ts";
import {
  checkTopic,
  checkTopicPartition,
  validateFetch,
  validateTopicConfig,
} from "./checks.ts";
export { checkTopicPartition } from "./checks.ts";
export { Batch } from "./batch.ts";
export { dial, Dialer, dialLeader, dialPartition } from "./dialer.ts";
export * from "./types.ts";
import {
  acksOf,
  produceError,
  produceOutcomes,
  produceRequest,
} from "../requests/produce.ts";
import { compressionId, decompressWith, loadCodec } from "../../codecs/mod.ts";
import { formatAddress } from "../connection/address.ts";
import type {
  ApiVersionRange,
  BrokerConnection,
  SaslOptions,
  TlsOptions,
} from "../connection/connection.ts";
import {
  askedPartition,
  type Message,
  type MessageInput,
  toRecord,
  wasRead,
} from "../message.ts";
import { ZERO_UUID } from "../protocol/bytes.ts";
import { requireTopicDefaults } from "../requests/versions.ts";
import { ErrorCode, KafkaError, throwIfError } from "../protocol/errors.ts";
import { CreateTopics } from "../protocol/messages/create_topics.ts";
import { DeleteTopics } from "../protocol/messages/delete_topics.ts";
import { Fetch } from "../protocol/messages/fetch.ts";
import { ListOffsets } from "../protocol/messages/list_offsets.ts";
import {
  Metadata,
  type MetadataResponse,
} from "../protocol/messages/metadata.ts";
import { Produce } from "../protocol/messages/produce.ts";
import { readRecordTables } from "../protocol/read_records.ts";
import { FetchedMessages } from "../requests/fetched.ts";
import { RecordBatchBuilder } from "../protocol/records.ts";
import { retry, type RetryOptions } from "../cluster/retry.ts";
import { printAs } from "../redact.ts";

export type { SaslOptions, TlsOptions };

/** Waiting for a new topic's leaders: 10 s at most. */
const LEADER_WAIT: RetryOptions = { backoffMin: 20, backoffMax: 1000 };
const LEADER_WAIT_MS = 10_000;

/** How long what passes on its own (a new partition's leader) is retried. */
const TRANSIENT_MS = 5_000;

/** `options` with a deadline `ms` from now. */
function within(options: RetryOptions, ms: number): RetryOptions {
  return { ...options, deadline: Date.now() + ms };
}

/**
 * Retries of a produce the leader refused before appending anything, as it
 * does for a partition created a moment ago (the metadata names the leader
 * before the leader serves it).
 */
const NOT_APPENDED: RetryOptions = {
  backoffMin: 25,
  backoffMax: 500,
  retriable: (error) =>
    error instanceof KafkaError && (
      error.code === ErrorCode.NOT_LEADER_OR_FOLLOWER ||
      error.code === ErrorCode.LEADER_NOT_AVAILABLE ||
      error.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    ),
};

/** Retries of broker errors that pass on their own (a new partition's leader). */
const TRANSIENT: RetryOptions = {
  backoffMin: 25,
  backoffMax: 500,
  retriable: (error) =>
    error instanceof KafkaError && error.retriable &&
    error.code !== ErrorCode.REQUEST_TIMED_OUT,
};

/** The options of `readBatch`. */
const READ_BATCH_OPTIONS: ReadonlySet<string> = new Set([
  "minBytes",
  "maxBytes",
  "maxWait",
  "isolationLevel",
  "signal",
]);

/**
 * One connection to one broker, optionally bound to a topic-partition
 * (kafka-go's Conn). Get one from `dial`, `dialLeader`, `dialPartition` or a
 * `Dialer`; close it when done.
 *
 * @example Produce to a partition, then read it back
 * ```ts
 * import { dialLeader, SeekStart } from "jsr:@streamkafka/client";
 *
 * const conn = await dialLeader("localhost:9092", "docs-conn", 0);
 * await conn.writeMessages({ value: "one!" }, { value: "two!" });
 * await conn.seek(0, SeekStart);
 * const batch = await conn.readBatch({ maxBytes: 1e6, maxWait: 1000 });
 * for await (const message of batch) {
 *   console.log(message.offset, new TextDecoder().decode(message.value!));
 * }
 * conn.close();
 * ```
 *
 * @example List the topics of a cluster
 * ```ts
 * import { dial } from "jsr:@streamkafka/client";
 *
 * using conn = await dial("localhost:9092");
 * const topics = new Set((await conn.readPartitions()).map((p) => p.topic));
 * console.log([...topics]);
 * ```
 */
export class Conn {
  /** The topic this Conn was dialed for; undefined for `dial`. */
  readonly topic: string | undefined;
  /** The partition this Conn was dialed for; undefined for `dial`. */
  readonly partition: number | undefined;
  private readonly connection: BrokerConnection;
  private readonly dialer: Dialer;
  private readOffsetValue: number = FirstOffset;
  /** Reads in turn (see `inTurn`): settles when the last one did. */
  private readTurn: Promise<void> = Promise.resolve();
  /** Whether the batch handed out last was ended (see `Batch`). */
  private batchTurn = { ended: true };
  private topicId: string | undefined;

  /**
   * Wraps an open connection; `dial` and the other dial functions call it.
   * `topic` and `partition` bind the Conn for writes, seeks and reads.
   */
  constructor(
    connection: BrokerConnection,
    dialer: Dialer,
    topic?: string,
    partition?: number,
  ) {
    this.connection = connection;
    this.dialer = dialer;
    this.topic = topic;
    this.partition = partition;
  }

  /** "host:port" of the broker this Conn talks to. */
  get address(): string {
    return this.connection.address;
  }

  /**
   * The connection underneath, for requests this class does not wrap (the
   * APIs are in "@streamkafka/client/protocol").
   */
  get raw(): BrokerConnection {
    return this.connection;
  }

  /** The API versions the broker supports. */
  apiVersions(): ApiVersionRange[] {
    return this.connection.apiVersions();
  }

  /** Closes the connection; requests in flight reject with `ClosedError`. */
  close(): void {
    this.connection.close();
  }

  /** Closes the Conn at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.close();
  }

  // ---- cluster metadata ----

  /** A Metadata request for `topics`, or for every topic when null. */
  private async metadata(
    topics: string[] | null,
    allowAutoTopicCreation = false,
    signal?: AbortSignal,
  ): Promise<MetadataResponse> {
    return await this.connection.request(Metadata, {
      topics: topics === null ? null : topics.map((name) => ({ name })),
      allowAutoTopicCreation,
    }, { signal });
  }

  /** The brokers of the cluster. */
  async brokers(): Promise<Broker[]> {
    const response = await this.metadata([]);
    return response.brokers.map(toBroker);
  }

  /** The broker that is the cluster's controller (as metadata reports it). */
  async controller(): Promise<Broker> {
    const response = await this.metadata([]);
    const broker = response.brokers.find((b) =>
      b.nodeId === response.controllerId
    );
    if (!broker) {
      throw new KafkaError(ErrorCode.BROKER_NOT_AVAILABLE, {
        apiName: "Metadata",
        detail: `controller ${response.controllerId} is not among the brokers`,
      });
    }
    return toBroker(broker);
  }

  /** Partitions of the given topics, or of every topic when none is given. */
  async readPartitions(...topics: string[]): Promise<Partition[]> {
    for (const topic of topics) checkTopic(topic);
    const response = await this.metadata(topics.length ? topics : null);
    const partitions: Partition[] = [];
    for (const topic of response.topics) {
      throwIfError(topic.errorCode, {
        apiName: "Metadata",
        topic: topic.name ?? undefined,
      });
      for (const p of topic.partitions) {
        partitions.push(toPartition(response, topic.name ?? "", p));
      }
    }
    return partitions;
  }

  /**
   * Finds a partition's leader, creating the topic when the broker allows
   * auto-creation, and waiting for a new topic's leader to be elected.
   */
  async lookupPartition(
    topic: string,
    partition: number,
    signal?: AbortSignal,
  ): Promise<Partition> {
    checkTopicPartition(topic, partition);
    return await retry(async () => {
      const response = await this.metadata([topic], true, signal);
      const found = findPartition(response, topic, partition);
      if (found instanceof Error) throw found;
      return found;
    }, { ...within(LEADER_WAIT, LEADER_WAIT_MS), signal });
  }

  // ---- topics ----

  /** Creates topics; fails on the first topic the broker refuses. */
  async createTopics(...configs: TopicConfig[]): Promise<void> {
    configs.forEach(validateTopicConfig);
    const defaulted = configs.find((c) =>
      !c.replicaAssignments?.length &&
      ((c.numPartitions ?? -1) === -1 || (c.replicationFactor ?? -1) === -1)
    );
    if (defaulted) requireTopicDefaults(this.connection, defaulted.topic);
    const response = await this.connection.request(CreateTopics, {
      topics: configs.map((c) => ({
        name: c.topic,
        numPartitions: c.replicaAssignments?.length
          ? -1
          : c.numPartitions ?? -1,
        replicationFactor: c.replicaAssignments?.length
          ? -1
          : c.replicationFactor ?? -1,
        assignments: (c.replicaAssignments ?? []).map((a) => ({
          partitionIndex: a.partition,
          brokerIds: a.replicas,
        })),
        configs: (c.configEntries ?? []).map((e) => ({
          name: e.configName,
          value: e.configValue,
        })),
      })),
      timeoutMs: this.dialer.options.requestTimeout ?? 30_000,
    });
    for (const topic of response.topics) {
      throwIfError(topic.errorCode, {
        apiName: "CreateTopics",
        topic: topic.name,
        detail: topic.errorMessage ?? undefined,
      });
    }
    await this.waitForLeaders(configs.map((c) => c.topic));
  }

  /**
   * Waits until this broker's metadata shows a leader for every partition
   * of the topics: the controller answers CreateTopics before brokers have
   * applied the change, and a topic is only usable after that.
   */
  private async waitForLeaders(topics: string[]): Promise<void> {
    try {
      await retry(async () => {
        const response = await this.metadata(topics);
        const waiting = topics.find((name) => !hasLeaders(response, name));
        if (waiting !== undefined) {
          throw new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, {
            apiName: "CreateTopics",
            topic: waiting,
          });
        }
      }, within(LEADER_WAIT, LEADER_WAIT_MS));
    } catch (error) {
      // The topics exist; a leader that is slow to show is not a failure of
      // CreateTopics, and the first use will wait for it again.
      if (!(error instanceof KafkaError)) throw error;
    }
  }

  /** Deletes topics by name. */
  async deleteTopics(...names: string[]): Promise<void> {
    for (const name of names) checkTopic(name);
    const timeoutMs = this.dialer.options.requestTimeout ?? 30_000;
    // v0-5 name the topics in a list of strings, v6+ in structs (KIP-516).
    const version = this.connection.pickVersion(DeleteTopics);
    const response = await this.connection.request(
      DeleteTopics,
      version < 6
        ? { topicNames: names, timeoutMs }
        : { topics: names.map((name) => ({ name })), timeoutMs },
      { version },
    );
    for (const result of response.responses) {
      throwIfError(result.errorCode, {
        apiName: "DeleteTopics",
        topic: result.name ?? undefined,
        detail: result.errorMessage ?? undefined,
      });
    }
  }

  // ---- one partition ----

  /** The topic-partition, or a TypeError when this Conn has none. */
  private bound(what: string): { topic: string; partition: number } {
    if (this.topic === undefined || this.partition === undefined) {
      throw new TypeError(
        `Cannot ${what}: this Conn was dialed without a topic and partition; use dialLeader`,
      );
    }
    return { topic: this.topic, partition: this.partition };
  }

  /**
   * Produces messages to this Conn's partition in one record batch and
   * resolves with the number of key and value bytes written.
   */
  async writeMessages(...messages: MessageInput[]): Promise<number> {
    const { topic, partition } = this.bound("write messages");
    if (messages.length === 0) return 0;
    const codec = compressionId(this.dialer.options.compression ?? "none");
    const builder = new RecordBatchBuilder({ compression: codec });
    const now = Date.now();
    let bytes = 0;
    messages.forEach((message, i) => {
      if (message?.topic !== undefined && message.topic !== topic) {
        throw new TypeError(
          `Cannot write message ${i}: its topic ${
            describeValue(message.topic)
          } differs from this Conn's "${topic}"`,
        );
      }
      const asked = wasRead(message)
        ? -1
        : askedPartition(message?.partition, i);
      if (asked >= 0 && asked !== partition) {
        throw new TypeError(
          `Cannot write message ${i}: its partition ${asked} differs from this Conn's ${partition}`,
        );
      }
      const record = toRecord(message, now, i);
      bytes += (record.key?.length ?? 0) + (record.value?.length ?? 0);
      builder.append(record);
    });
    let compress: ((data: Uint8Array) => Uint8Array) | undefined;
    if (codec !== 0) {
      const { compressionLevel } = this.dialer.options;
      const loaded = await loadCodec(codec);
      compress = (data) => loaded.compress(data, compressionLevel);
    }
    const records = builder.finish(compress);
    await this.produce(topic, partition, records);
    return bytes;
  }

  /** Sends one record batch, and throws the partition's error if any. */
  private async produce(topic: string, partition: number, records: Uint8Array) {
    const acks = acksOf(this.dialer.options.requiredAcks ?? "all", "Conn");
    const request = produceRequest(
      [{ topic, partition, records }],
      acks,
      this.dialer.options.requestTimeout ?? 30_000,
    );
    if (acks === 0) {
      await this.connection.requestNoResponse(Produce, request);
      return;
    }
    // A partition created a moment ago may be in the metadata before its
    // leader serves it; these errors say nothing was appended, so sending
    // again cannot duplicate.
    await retry(async () => {
      const response = await this.connection.request(Produce, request);
      const outcome = produceOutcomes(response).get(topic)?.get(partition);
      const error = produceError(outcome, topic, partition);
      if (error) throw error;
    }, within(NOT_APPENDED, TRANSIENT_MS));
  }

  /** The next offset `readBatch` reads from (FirstOffset before any seek). */
  offset(): number {
    return this.readOffsetValue;
  }

  /**
   * Moves the read offset, relative to `whence` (SeekAbsolute by default),
   * checking that it falls within the partition unless SeekDontCheck is set.
   */
  async seek(offset: number, whence: number = SeekAbsolute): Promise<number> {
    this.bound("seek");
    if (!Number.isSafeInteger(offset)) {
      const Kind = typeof offset === "number" ? RangeError : TypeError;
      throw new Kind(
        `Cannot seek: offset must be an integer, got ${describeValue(offset)}`,
      );
    }
    // Checked before the bit operations below, which would read "end" as 0.
    if (!Number.isInteger(whence)) {
      throw new TypeError(
        `Cannot seek: whence must be SeekStart, SeekAbsolute, SeekEnd or SeekCurrent (optionally | SeekDontCheck), got ${
          describeValue(whence)
        }`,
      );
    }
    const check = (whence & SeekDontCheck) === 0;
    const base = whence & ~SeekDontCheck;
    let target: number;
    switch (base) {
      case SeekStart:
        target = (await this.readFirstOffset()) + offset;
        break;
      case SeekAbsolute:
        target = offset;
        break;
      case SeekEnd:
        target = (await this.readLastOffset()) + offset;
        break;
      case SeekCurrent:
        target = (await this.resolvedOffset()) + offset;
        break;
      default:
        throw new RangeError(
          `Cannot seek: whence must be SeekStart, SeekAbsolute, SeekEnd or SeekCurrent, got ${whence}`,
        );
    }
    if (target < 0 && target !== FirstOffset && target !== LastOffset) {
      // Unchecked or not, no fetch from it could succeed.
      throw new RangeError(
        `Cannot seek: the offset would be ${target}; an offset is 0 or more (or FirstOffset, LastOffset)`,
      );
    }
    if (check) {
      const { first, last } = await this.readOffsets();
      if (target < first || target > last) {
        throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, {
          apiName: "seek",
          topic: this.topic,
          partition: this.partition,
          detail: `offset ${target} is outside ${first}..${last}`,
        });
      }
    }
    // The batch handed out last would move the offset back as it is read.
    this.endBatch();
    this.readOffsetValue = target;
    return target;
  }

  /** The read offset, with FirstOffset or LastOffset looked up. */
  private async resolvedOffset(): Promise<number> {
    if (this.readOffsetValue === FirstOffset) {
      return await this.readFirstOffset();
    }
    if (this.readOffsetValue === LastOffset) return await this.readLastOffset();
    return this.readOffsetValue;
  }

  /** The partition's first (log start) offset. */
  readFirstOffset(): Promise<number> {
    return this.listOffset(-2);
  }

  /** The partition's last offset: the offset the next message will get. */
  readLastOffset(): Promise<number> {
    return this.listOffset(-1);
  }

  /** Both ends of the partition. */
  async readOffsets(): Promise<{ first: number; last: number }> {
    const [first, last] = await Promise.all([
      this.readFirstOffset(),
      this.readLastOffset(),
    ]);
    return { first, last };
  }

  /**
   * The offset of the first message whose time is at or after `time`; the
   * last offset when every message is older.
   */
  async readOffset(time: Date): Promise<number> {
    const ms = timeOf("Cannot read offset", time);
    const offset = await this.listOffset(ms);
    return offset < 0 ? await this.readLastOffset() : offset;
  }

  /** The offset for a timestamp (ms), or -2 (first) or -1 (last). */
  private listOffset(timestamp: number): Promise<number> {
    // A partition created a moment ago may not be served yet: retry briefly.
    return retry(
      () => this.listOffsetOnce(timestamp),
      within(TRANSIENT, TRANSIENT_MS),
    );
  }

  /** One ListOffsets request for this Conn's partition. */
  private async listOffsetOnce(timestamp: number): Promise<number> {
    const { topic, partition } = this.bound("read offsets");
    const response = await this.connection.request(
      ListOffsets,
      listOffsetsRequest([{ topic, partition, timestamp }], 0),
    );
    return listedOffset(response, topic, partition, this.address);
  }

  /**
   * Fetches once from the read offset and returns the messages as a stream.
   * Reading from the batch advances this Conn's offset.
   */
  readBatch(options: ReadBatchOptions = {}): Promise<Batch> {
    try {
      this.bound("read a batch");
      checkCallOptions("Cannot read a batch", options, READ_BATCH_OPTIONS);
      checkChoice(
        "Cannot read a batch",
        "isolationLevel",
        options.isolationLevel,
        ["read_uncommitted", "read_committed"],
      );
      const { minBytes = 1, maxBytes = 1024 * 1024, maxWait = 10_000 } =
        options;
      validateFetch(minBytes, maxBytes, maxWait);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.inTurn(() => this.fetchBatch(options));
  }

  /**
   * Runs reads one after another, each from where the one before stopped:
   * concurrent calls would otherwise fetch from the same offset and hand
   * out the same messages.
   */
  private inTurn<T>(read: () => Promise<T>): Promise<T> {
    const run = this.readTurn.then(read);
    this.readTurn = run.then(() => {}, () => {});
    return run;
  }

  /** Ends the batch handed out last, where it was read to. */
  private endBatch(): void {
    this.batchTurn.ended = true;
  }

  /** One Fetch from the read offset, in its turn (see `inTurn`). */
  private async fetchBatch(options: ReadBatchOptions): Promise<Batch> {
    const { topic, partition } = this.bound("read a batch");
    const { minBytes = 1, maxBytes = 1024 * 1024, maxWait = 10_000 } = options;
    this.endBatch();
    const fetchOffset = await this.resolvedOffset();
    this.readOffsetValue = fetchOffset;
    const topicId = await this.fetchTopicId(topic);
    const version = this.connection.pickVersion(Fetch);
    const response = await this.connection.request(
      Fetch,
      fetchRequest([{
        topic,
        topicId,
        partition,
        fetchOffset,
        leaderEpoch: -1,
        maxBytes,
      }], {
        minBytes,
        maxBytes,
        maxWait,
        isolationLevel: options.isolationLevel === "read_committed" ? 1 : 0,
      }, version),
      {
        version,
        timeout: maxWait + (this.dialer.options.requestTimeout ?? 30_000),
        signal: options.signal,
      },
    );
    const result = fetchedPartition(
      response,
      { topic, topicId, partition },
      this.address,
    );
    throwIfError(result.errorCode, { apiName: "Fetch", topic, partition });
    const found = await readRecordTables(result.records ?? new Uint8Array(0), {
      fromOffset: fetchOffset,
      decompress: decompressWith,
      abortedTransactions: result.abortedTransactions,
      where: `${topic}/${partition} from ${this.address}`,
    });
    if (found.truncated) {
      throw new KafkaError(ErrorCode.MESSAGE_TOO_LARGE, {
        apiName: "Fetch",
        topic,
        partition,
        detail:
          `the batch at offset ${fetchOffset} is larger than maxBytes ${maxBytes}`,
      });
    }
    const messages = new FetchedMessages(found, {
      topic,
      partition,
      highWaterMark: result.highWatermark,
    });
    if (found.count === 0 && found.nextOffset > fetchOffset) {
      // Only control or aborted records: step over them.
      this.readOffsetValue = found.nextOffset;
    }
    const turn = { ended: false };
    this.batchTurn = turn;
    return new Batch(messages, (m) => {
      this.readOffsetValue = m.offset + 1;
    }, turn);
  }

  /** Reads one message at the read offset (kafka-go's `ReadMessage`). */
  async readMessage(
    maxBytes = 1024 * 1024,
    signal?: AbortSignal,
  ): Promise<Message> {
    checkNumber("Cannot read a message", "maxBytes", maxBytes, {
      min: 1,
      max: 2 ** 31 - 1,
      required: true,
    });
    this.bound("read a message");
    return await this.inTurn(async () => {
      while (true) {
        const batch = await this.fetchBatch({ maxBytes, signal });
        const reader = batch.getReader();
        const { value } = await reader.read();
        this.endBatch();
        reader.cancel().catch(() => {});
        if (value) return value;
      }
    });
  }

  /** The topic id Fetch v13+ needs, looked up once; zeros before v13. */
  private async fetchTopicId(topic: string): Promise<string> {
    if (this.connection.pickVersion(Fetch) < 13) return ZERO_UUID;
    if (this.topicId === undefined) {
      const response = await this.metadata([topic]);
      const found = response.topics.find((t) => t.name === topic);
      if (!found || found.errorCode !== 0) {
        throw new KafkaError(
          found?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          {
            apiName: "Metadata",
            topic,
          },
        );
      }
      this.topicId = found.topicId;
    }
    return this.topicId;
  }
}

export { formatAddress };

// Printed, a Conn shows its broker and partition, not its Dialer's credentials.
printAs(Conn, (conn) => ({
  address: conn.address,
  topic: conn.topic,
  partition: conn.partition,
}));
