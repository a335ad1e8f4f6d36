/**
 * The cluster as one client sees it: a metadata cache, connections to each
 * broker, and routing of requests to a partition's leader, the controller or
 * any broker. Shared by the Writer, the Reader and the admin Client.
 *
 * Connections are kept per broker and per "lane": Kafka answers a
 * connection's requests in order, so a long-polling Fetch would hold up a
 * Produce queued behind it. Each user of the cluster picks its own lane.
 *
 * The connections themselves, their reconnection loop per address and the
 * closing of idle ones are the ConnectionPool's (pool.ts).
 *
 * @module
 */

import { parseAddress } from "../connection/address.ts";
import type { BrokerConnection } from "../connection/connection.ts";
import {
  ConnectionError,
  eitherSignal,
  TimeoutError,
} from "../connection/errors.ts";
import {
  CoordinatorLookup,
  CoordinatorType,
  type LookupOptions,
} from "./coordinator.ts";
import { ConnectionPool, type PoolOptions } from "./pool.ts";
import { checkClusterOptions } from "./transport.ts";
import { ErrorCode, KafkaError, throwIfError } from "../protocol/errors.ts";
import {
  Metadata,
  type MetadataResponse,
} from "../protocol/messages/metadata.ts";
import { describeSasl, describeTls, printAs } from "../redact.ts";

/** Options of a Cluster: its bootstrap brokers and connection settings. */
export interface ClusterOptions extends PoolOptions {
  /** Bootstrap addresses, "host:port". */
  brokers: readonly string[];
  /** Milliseconds before cached metadata of a topic is refreshed (default 60 s). */
  metadataMaxAge?: number | undefined;
}

/** A broker as the metadata cache keeps it. */
export interface BrokerInfo {
  /** The broker's node id. */
  id: number;
  /** The host name the broker advertises. */
  host: string;
  /** The port the broker advertises. */
  port: number;
  /** The broker's `broker.rack`, or null. */
  rack: string | null;
}

/** A partition as the metadata cache keeps it. */
export interface PartitionInfo {
  /** The partition number, from 0. */
  id: number;
  /** Leader broker id, -1 while there is none. */
  leader: number;
  /** The leader's epoch, -1 when the broker did not say. */
  leaderEpoch: number;
  /** The partition's error code in the metadata, 0 for none. */
  errorCode: number;
}

/** A topic as the metadata cache keeps it. */
export interface TopicInfo {
  /** The topic's name. */
  name: string;
  /** The topic's id, base64url as Kafka prints it. */
  topicId: string;
  /** Sorted by id. */
  partitions: PartitionInfo[];
  /** Whether Kafka keeps the topic for itself (`__consumer_offsets`...). */
  internal: boolean;
  /** When this entry was fetched (ms since epoch). */
  fetchedAt: number;
}

/**
 * The brokers of one cluster, as Writers and Readers reach them: a metadata
 * cache and connections per broker. Pass one as the `cluster` option to share
 * its connections between Writers and Readers (kafka-go's shared Transport);
 * they then leave it open, and its owner closes it. Connections are kept per
 * broker and per lane, a name each user picks ("produce", "metadata"), so
 * that a long-polling Fetch never holds up a Produce queued behind it.
 *
 * @example One Cluster for a Writer and a Reader
 * ```ts
 * import { Cluster, Reader, Writer } from "jsr:@streamkafka/client";
 *
 * const cluster = new Cluster({ brokers: ["localhost:9092"] });
 * const topic = "docs-cluster";
 * const writer = new Writer({ cluster, topic, allowAutoTopicCreation: true });
 * await writer.writeMessages({ value: "shared" });
 * await writer.close();
 * const reader = new Reader({ cluster, topic });
 * console.log((await reader.readMessage()).offset);
 * await reader.close();
 * await cluster.close();
 * ```
 */
export class Cluster {
  /** The options the Cluster was created with. */
  readonly options: ClusterOptions;
  private readonly bootstrap: { host: string; port: number }[];
  private readonly brokerById = new Map<number, BrokerInfo>();
  private readonly topicByName = new Map<string, TopicInfo>();
  private readonly pool: ConnectionPool;
  private readonly refreshing = new Map<string, Promise<MetadataResponse>>();
  /** The controller the last metadata named, -1 before any. */
  private controllerId = -1;
  /** Group coordinators, found with FindCoordinator on the metadata lane. */
  private readonly groupCoordinators = new CoordinatorLookup({
    connection: () => this.anyConnection("metadata"),
  });
  /** Transaction coordinators, found the same way. */
  private readonly transactionCoordinators = new CoordinatorLookup({
    connection: () => this.anyConnection("metadata"),
    keyType: CoordinatorType.transaction,
  });

  /**
   * Throws a TypeError or RangeError naming the option when one is unknown
   * or out of range, or `brokers` lists no address; connects lazily.
   */
  constructor(options: ClusterOptions) {
    checkClusterOptions(options);
    this.options = options;
    this.bootstrap = options.brokers.map(parseAddress);
    const { brokers: _, metadataMaxAge: __, ...poolOptions } = options;
    this.pool = new ConnectionPool(poolOptions);
  }

  /** Milliseconds before a topic's cached metadata is refreshed. */
  get metadataMaxAge(): number {
    return this.options.metadataMaxAge ?? 60_000;
  }

  /**
   * A connection to a broker by id, on a lane (opened on first use). A
   * broker the cached metadata does not list is looked up with a fresh
   * Metadata request first (the cache may be empty, or older than the
   * broker); one still missing is BROKER_NOT_AVAILABLE.
   */
  async connection(
    brokerId: number,
    lane = "default",
  ): Promise<BrokerConnection> {
    let broker = this.brokerById.get(brokerId);
    if (!broker) {
      await this.refresh([]);
      broker = this.brokerById.get(brokerId);
    }
    if (!broker) {
      throw new KafkaError(ErrorCode.BROKER_NOT_AVAILABLE, {
        detail: `broker ${brokerId} is not in the cluster metadata`,
      });
    }
    return await this.pool.connect(
      broker.host,
      broker.port,
      `${brokerId}/${lane}`,
    );
  }

  /**
   * A connection to any broker: known ones first, then bootstrap, and those
   * whose last dial failed after the rest.
   */
  async anyConnection(lane = "default"): Promise<BrokerConnection> {
    const all = [
      ...[...this.brokerById.values()].map((b) => ({
        host: b.host,
        port: b.port,
        key: `${b.id}/${lane}`,
      })),
      ...this.bootstrap.map((b) => ({
        ...b,
        key: `bootstrap:${b.host}:${b.port}/${lane}`,
      })),
    ];
    // A bootstrap address is often a known broker too: try it once.
    const seen = new Set<string>();
    const unique = all.filter((c) => {
      const address = `${c.host}:${c.port}`;
      if (seen.has(address)) return false;
      seen.add(address);
      return true;
    });
    // Brokers whose last dial failed go last: asking a dead one first
    // waited out its reconnection backoff on every metadata refresh and
    // coordinator lookup (1-2 s a retry once its backoff had grown), and
    // each futile dial grew that backoff for its leader's requests too.
    const healthy: typeof unique = [];
    const failing: typeof unique = [];
    for (const c of unique) {
      (this.pool.failing(c.host, c.port) ? failing : healthy).push(c);
    }
    const candidates = [...healthy, ...failing];
    let lastError: unknown;
    for (const c of candidates) {
      try {
        return await this.pool.connect(c.host, c.port, c.key);
      } catch (error) {
        // What another attempt cannot fix (TLS, SASL) fails at once.
        const transient = error instanceof ConnectionError ||
          error instanceof TimeoutError;
        if (!transient || !error.retriable) throw error;
        lastError = error;
      }
    }
    throw new ConnectionError(
      `Cannot reach any broker of ${this.options.brokers.join(", ")}: ${
        (lastError as Error)?.message
      }`,
      { cause: lastError },
    );
  }

  /**
   * Fetches metadata for topics (all when null), updating the cache. Callers
   * asking for the same topics at once share one request.
   */
  private refresh(
    topics: readonly string[] | null,
    allowAutoTopicCreation = false,
  ): Promise<MetadataResponse> {
    const key = `${allowAutoTopicCreation}:${
      topics === null ? "*" : JSON.stringify([...topics].sort())
    }`;
    const running = this.refreshing.get(key);
    if (running) return running;
    const request = this.requestMetadata(topics, allowAutoTopicCreation);
    this.refreshing.set(key, request);
    const forget = () => this.refreshing.delete(key);
    request.then(forget, forget);
    return request;
  }

  /** One Metadata request, its answer absorbed into the cache. */
  private async requestMetadata(
    topics: readonly string[] | null,
    allowAutoTopicCreation: boolean,
  ): Promise<MetadataResponse> {
    const conn = await this.anyConnection("metadata");
    const response = await conn.request(Metadata, {
      topics: topics === null ? null : topics.map((name) => ({ name })),
      allowAutoTopicCreation,
    });
    this.absorb(response);
    return response;
  }

  /** Caches the brokers and topics of a Metadata response. */
  private absorb(response: MetadataResponse): void {
    if (response.brokers.length > 0) this.controllerId = response.controllerId;
    for (const b of response.brokers) {
      this.brokerById.set(b.nodeId, {
        id: b.nodeId,
        host: b.host,
        port: b.port,
        rack: b.rack,
      });
    }
    const now = Date.now();
    for (const t of response.topics) {
      if (t.name === null) continue;
      if (t.errorCode !== 0) {
        this.topicByName.delete(t.name);
        continue;
      }
      this.topicByName.set(
        t.name,
        topicInfo(t, now, this.topicByName.get(t.name)),
      );
    }
  }

  /**
   * A topic's metadata from the cache, refreshed when missing or stale.
   * Throws the broker's error for the topic (e.g. UNKNOWN_TOPIC_OR_PARTITION).
   */
  async topic(
    name: string,
    options: { autoCreate?: boolean; maxAge?: number } = {},
  ): Promise<TopicInfo> {
    const cached = this.topicByName.get(name);
    const maxAge = options.maxAge ?? this.metadataMaxAge;
    if (cached && Date.now() - cached.fetchedAt < maxAge) return cached;
    const response = await this.refresh([name], options.autoCreate ?? false);
    const entry = response.topics.find((t) => t.name === name);
    if (!entry) {
      throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, {
        apiName: "Metadata",
        topic: name,
      });
    }
    throwIfError(entry.errorCode, {
      apiName: "Metadata",
      topic: name,
    });
    // Another answer may have replaced the entry since (or, for a topic
    // deleted meanwhile, dropped it): this answer still stands.
    return this.topicByName.get(name) ??
      topicInfo(entry, Date.now(), undefined);
  }

  /**
   * The rack of a broker as the last metadata told it, or null when the
   * broker has none or is unknown (rack-aware assignors read it).
   */
  rackOf(brokerId: number): string | null {
    return this.brokerById.get(brokerId)?.rack ?? null;
  }

  /**
   * The names of topics given by id (KIP-516), from the cache, or from
   * metadata of every topic when the cache lacks some; ids no broker knows
   * are left out of the answer.
   */
  async topicNames(ids: readonly string[]): Promise<Map<string, string>> {
    const find = () => {
      const names = new Map<string, string>();
      const wanted = new Set(ids);
      for (const t of this.topicByName.values()) {
        if (wanted.has(t.topicId)) names.set(t.topicId, t.name);
      }
      return names;
    };
    const cached = find();
    if (cached.size === new Set(ids).size) return cached;
    await this.refresh(null);
    return find();
  }

  /**
   * Every topic of the cluster, in one Metadata request for all of them
   * (which refreshes the cache too), sorted by name: what a subscription by
   * pattern matches. Topics the answer gives an error for are left out.
   */
  async allTopics(): Promise<TopicInfo[]> {
    const response = await this.refresh(null);
    const now = Date.now();
    const topics: TopicInfo[] = [];
    for (const t of response.topics) {
      if (t.name === null || t.errorCode !== 0) continue;
      topics.push(this.topicByName.get(t.name) ?? topicInfo(t, now, undefined));
    }
    return topics.sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0
    );
  }

  /** Cached topic metadata without any request. */
  cachedTopic(name: string): TopicInfo | undefined {
    return this.topicByName.get(name);
  }

  /**
   * Marks a topic's cached metadata stale, so the next lookup asks a broker.
   * The entry stays until then: its partitions for `cachedTopic`, and its
   * leader epochs, which a lagging broker's older answer cannot undo.
   */
  invalidate(topic: string): void {
    const cached = this.topicByName.get(topic);
    if (cached !== undefined) {
      this.topicByName.set(topic, { ...cached, fetchedAt: 0 });
    }
  }

  /** Closes and forgets one lane's connections; a later use reconnects. */
  closeLane(lane: string): void {
    this.pool.closeLane(lane);
  }

  /** The connection to a partition's leader on a lane. */
  async leader(
    topic: string,
    partition: number,
    lane = "default",
  ): Promise<{ conn: BrokerConnection; info: PartitionInfo }> {
    const meta = await this.topic(topic);
    const info = meta.partitions.find((p) => p.id === partition);
    if (!info) {
      throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, {
        topic,
        partition,
        detail: `the topic has ${meta.partitions.length} partitions`,
      });
    }
    if (info.leader < 0) {
      this.invalidate(topic);
      throw new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, {
        topic,
        partition,
      });
    }
    return { conn: await this.connection(info.leader, lane), info };
  }

  /**
   * The connection to a consumer group's coordinator on a lane ("group" by
   * default), through the same per-broker connections and reconnection loop
   * as leaders. The coordinator is looked up with FindCoordinator (lookups
   * of several groups at once share one request) and cached; while it is
   * moving or loading, or cannot be reached, the lookup is retried with
   * backoff until `options.deadline` (default: `requestTimeout` from now;
   * Infinity: until `options.signal` aborts or the Cluster closes).
   *
   * @example
   * ```ts
   * import { Cluster } from "jsr:@streamkafka/client";
   *
   * const cluster = new Cluster({ brokers: ["localhost:9092"] });
   * const conn = await cluster.coordinator("docs-coordinator-group");
   * console.log(conn.address);
   * await cluster.close();
   * ```
   */
  coordinator(
    groupId: string,
    lane = "group",
    options: LookupOptions = {},
  ): Promise<BrokerConnection> {
    return this.coordinatorOf(this.groupCoordinators, groupId, lane, options);
  }

  /**
   * The connection to a transactional id's coordinator on a lane, found and
   * retried like a group's (see `coordinator`).
   */
  transactionCoordinator(
    transactionalId: string,
    lane = "admin",
    options: LookupOptions = {},
  ): Promise<BrokerConnection> {
    return this.coordinatorOf(
      this.transactionCoordinators,
      transactionalId,
      lane,
      options,
    );
  }

  /** A key's coordinator by `lookup`, connected on a lane of the pool. */
  private coordinatorOf(
    lookup: CoordinatorLookup,
    key: string,
    lane: string,
    options: LookupOptions,
  ): Promise<BrokerConnection> {
    const deadline = options.deadline ??
      Date.now() + (this.options.requestTimeout ?? 30_000);
    const use = (signal: AbortSignal) =>
      lookup.use(
        key,
        (node) => this.pool.connect(node.host, node.port, `${node.id}/${lane}`),
        { deadline, signal },
      );
    if (options.signal === undefined) return use(this.pool.signal);
    // Heartbeats look up with a signal every few seconds: its listener on
    // the pool's signal goes when the lookup ends.
    const { signal, release } = eitherSignal(options.signal, this.pool.signal);
    return use(signal).finally(release);
  }

  /** Forgets a transactional id's cached coordinator. */
  invalidateTransactionCoordinator(transactionalId: string): void {
    this.transactionCoordinators.invalidate(transactionalId);
  }

  /** The brokers of the cluster, from a fresh Metadata request. */
  async brokers(): Promise<BrokerInfo[]> {
    await this.refresh([]);
    return [...this.brokerById.values()].sort((a, b) => a.id - b.id);
  }

  /**
   * The connection to the controller on a lane. With KRaft, brokers name
   * one of themselves, which forwards controller requests; a request that
   * still meets NOT_CONTROLLER calls `invalidateController()` and retries.
   */
  async controller(lane = "admin"): Promise<BrokerConnection> {
    if (this.controllerId < 0 || !this.brokerById.has(this.controllerId)) {
      await this.refresh([]);
    }
    if (this.controllerId < 0) {
      throw new KafkaError(ErrorCode.NOT_CONTROLLER, {
        apiName: "Metadata",
        detail: "the brokers name no controller",
      });
    }
    return this.connection(this.controllerId, lane);
  }

  /** Forgets the controller, so the next `controller()` asks a broker. */
  invalidateController(): void {
    this.controllerId = -1;
  }

  /**
   * Tells `listener` of each connection opened and each request answered
   * from now on (client telemetry counts them); returns what stops it.
   */
  listen(listener: {
    /** A connection was opened to `node` ("1", or "bootstrap:host:port"). */
    connected(node: string): void;
    /** A request to `node` was answered after `ms` milliseconds. */
    answered(node: string, apiKey: number, ms: number): void;
  }): () => void {
    return this.pool.listen(listener);
  }

  /** The lanes' connection keys ("<broker>/<lane>") open or opening now. */
  connectionKeys(): string[] {
    return this.pool.keys();
  }

  /**
   * Forgets a group's cached coordinator, so the next `coordinator()` looks
   * it up again: for a group request that failed with NOT_COORDINATOR or
   * COORDINATOR_NOT_AVAILABLE (see `coordinatorMoved`).
   */
  invalidateCoordinator(groupId: string): void {
    this.groupCoordinators.invalidate(groupId);
  }

  /** Closes every connection; later calls fail with ClosedError. */
  close(): Promise<void> {
    return this.pool.close();
  }

  /** Closes the Cluster at the end of an `await using` block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** True once `close()` was called. */
  get isClosed(): boolean {
    return this.pool.isClosed;
  }
}

/**
 * A topic's entry for the cache from a Metadata answer. Where `before` (the
 * cached entry of the same topic id) knows a newer leader epoch than the
 * answer, as from a broker whose metadata lags, its partition is kept
 * (KIP-320).
 */
function topicInfo(
  t: MetadataResponse["topics"][number],
  now: number,
  cached: TopicInfo | undefined,
): TopicInfo {
  const before = cached?.topicId === t.topicId ? cached : undefined;
  return {
    name: t.name!,
    topicId: t.topicId,
    internal: t.isInternal,
    fetchedAt: now,
    partitions: t.partitions
      .map((p) => {
        const known = before?.partitions[p.partitionIndex];
        if (
          known !== undefined && known.id === p.partitionIndex &&
          p.leaderEpoch >= 0 && known.leaderEpoch > p.leaderEpoch
        ) return known;
        return {
          id: p.partitionIndex,
          leader: p.leaderId,
          leaderEpoch: p.leaderEpoch,
          errorCode: p.errorCode,
        };
      })
      .sort((a, b) => a.id - b.id),
  };
}

// Printed, a Cluster shows what it connects to, not its credentials.
printAs(Cluster, (cluster) => ({
  brokers: cluster.options.brokers,
  clientId: cluster.options.clientId ?? "streamkafka",
  tls: describeTls(cluster.options.tls),
  sasl: describeSasl(cluster.options.sasl),
  closed: cluster.isClosed,
}));
