/**
 * Client telemetry (KIP-714): a Writer or Reader pushes its metrics to a
 * broker, as Java's clients and librdkafka do, when the cluster's operators
 * subscribed to them (client-metrics resources, `kafka-client-metrics.sh`)
 * and a broker has a receiver plugin. Nothing is sent otherwise: a broker
 * without a receiver does not offer the two requests, and one without a
 * matching subscription names no metrics.
 *
 * The exchange, one client instance per Writer or Reader:
 * 1. GetTelemetrySubscriptions (with the zero UUID the first time) gives the
 *    instance id, the metric name prefixes wanted, the push interval, the
 *    compressions accepted and whether sums are deltas;
 * 2. PushTelemetry sends the wanted metrics, OTLP-encoded (otlp.ts), the
 *    first time after 0.5 to 1.5 intervals (so that clients started together
 *    spread out), then every interval;
 * 3. on close, a last push marked `terminating`.
 *
 * What the broker answers decides what follows: a changed subscription
 * (UNKNOWN_SUBSCRIPTION_ID) or compression (UNSUPPORTED_COMPRESSION_TYPE)
 * asks for the subscription again at once; throttling and a payload too
 * large wait an interval; a request the broker calls invalid stops
 * telemetry for this instance (KIP-714's advice), with a line to
 * `errorLogger`. A lost broker is found again after a pause. The loop never
 * rejects and its timers do not keep a process alive.
 *
 * Metrics: what the Writer or Reader counts (its `TelemetrySource`), and
 * what the connections show, kept here: `connection.creation.total` and
 * `.rate`, `node.request.latency.avg` and `.max` per broker (`node_id`),
 * and the latency of the request types the source names. Names follow
 * Java's: `org.apache.kafka.<producer|consumer>.<group>.<name>`, and each
 * `*.total` sum comes with its `*.rate` gauge (per second, over the push
 * interval). On a Cluster shared by several Writers and Readers, the
 * connection counts and latencies are the Cluster's, in each one's pushes.
 *
 * Deltas run from the last push the broker accepted, across new
 * subscriptions and lost brokers; a push that fails keeps its counts and
 * latencies for the next one (telemetry_ledger.ts keeps what the pushes
 * say). A push larger than the subscription's
 * `telemetryMaxBytes` leaves the per-broker latencies out; if still too
 * large, it is not sent.
 *
 * @module
 */

import { loadCodec } from "../../codecs/mod.ts";
import { ZERO_UUID } from "../protocol/bytes.ts";
import { ErrorCode, errorName, KafkaError } from "../protocol/errors.ts";
import { GetTelemetrySubscriptions } from "../protocol/messages/get_telemetry_subscriptions.ts";
import { PushTelemetry } from "../protocol/messages/push_telemetry.ts";
import { type AttributeValue, encodeMetrics } from "../protocol/otlp.ts";
import {
  type BrokerConnection,
  SOFTWARE_NAME,
  SOFTWARE_VERSION,
} from "../connection/connection.ts";
import { unrefTimer } from "../connection/socket.ts";
import { checkCallOptions, TIMEOUT_OPTION } from "../options.ts";
import { ClosedError, TimeoutError } from "../connection/errors.ts";
import type { Cluster } from "./cluster.ts";
import {
  nowNanos,
  type Sample,
  type Taken,
  TelemetryLedger,
} from "./telemetry_ledger.ts";

export type { Sample } from "./telemetry_ledger.ts";

/** What a Writer or Reader gives its telemetry. */
export interface TelemetrySource {
  /** The metric names' group: "producer" or "consumer". */
  kind: "producer" | "consumer";
  /** Its counts and values now; sums count from the start. */
  sample(): Sample[];
  /** Latency metrics per request type: API key to name ("consumer.fetch.manager.fetch.latency"). */
  latencies?: Readonly<Record<number, string>> | undefined;
  /** Attributes of the instance (group_id, transactional_id...). */
  attributes?(): Record<string, AttributeValue>;
}

/** Options of `ClientTelemetry`. */
export interface TelemetryOptions {
  cluster: Cluster;
  source: TelemetrySource;
  logger?: ((message: string) => void) | undefined;
  errorLogger?: ((message: string) => void) | undefined;
  /** Milliseconds before asking again after a lost broker (default 5 s). */
  retryMs?: number | undefined;
}

/**
 * The `timeout` of a Writer's or Reader's `clientInstanceId(options)`,
 * checked: a TypeError or RangeError names a bad one.
 */
export function instanceIdTimeout(
  owner: "Writer" | "Reader" | "ShareReader",
  options: { timeout?: number | undefined },
): number {
  checkCallOptions(
    `Cannot get the ${owner}'s client instance id`,
    options,
    TIMEOUT_OPTION,
  );
  return options?.timeout ?? 10_000;
}

/**
 * The telemetry of a Writer or Reader with these options, or null with
 * `telemetry: false`.
 */
export function clientTelemetry(
  cluster: Cluster,
  options: {
    telemetry?: boolean | undefined;
    logger?: ((message: string) => void) | undefined;
    errorLogger?: ((message: string) => void) | undefined;
  },
  source: TelemetrySource,
): ClientTelemetry | null {
  if (options.telemetry === false) return null;
  return new ClientTelemetry({
    cluster,
    source,
    logger: options.logger,
    errorLogger: options.errorLogger,
  });
}

/** A subscription as GetTelemetrySubscriptions gave it. */
interface Subscription {
  id: number;
  prefixes: string[];
  intervalMs: number;
  compression: number;
  delta: boolean;
  /** The most bytes a push may take (compressed). */
  maxBytes: number;
}

/** The wait after a lost broker or an unexpected error, before asking again. */
const RETRY_MS = 5_000;
/**
 * Added to an interval: the broker refuses a request that comes even a
 * millisecond early, and timers may fire a millisecond before their time.
 */
const SLACK_MS = 20;
/** At most this long for the terminating push on close. */
const CLOSE_PUSH_MS = 5_000;
const SCOPE = { name: SOFTWARE_NAME, version: SOFTWARE_VERSION };

/**
 * What a push's answer may be and telemetry go on: a new subscription is
 * needed (the first two), or the next push will do. Anything else
 * (INVALID_REQUEST, INVALID_RECORD, UNSUPPORTED_VERSION, an authorization
 * error...) stops telemetry for the instance, as KIP-714 advises.
 */
const RESUBSCRIBE: ReadonlySet<number> = new Set([
  ErrorCode.UNKNOWN_SUBSCRIPTION_ID,
  ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
]);
const RETRY_NEXT: ReadonlySet<number> = new Set([
  ErrorCode.THROTTLING_QUOTA_EXCEEDED,
  ErrorCode.TELEMETRY_TOO_LARGE,
]);
/** GetTelemetrySubscriptions answers after which telemetry stops. */
const FATAL: ReadonlySet<number> = new Set([
  ErrorCode.INVALID_REQUEST,
  ErrorCode.INVALID_RECORD,
  ErrorCode.UNSUPPORTED_VERSION,
]);

/**
 * The telemetry of one client instance: started with `start()`, stopped
 * with `close()` (which sends the terminating push while subscribed).
 */
export class ClientTelemetry {
  private readonly options: TelemetryOptions;
  private readonly stopping = new AbortController();
  private instanceId = ZERO_UUID;
  private subscription: Subscription | null = null;
  private conn: BrokerConnection | null = null;
  private running: Promise<void> | null = null;
  /** The push the loop has in flight, which close() lets finish. */
  private pushing: Promise<unknown> | null = null;
  private disabled = false;
  /** The last subscription's push interval. */
  private intervalMs = 0;
  private stopListening: (() => void) | null = null;
  private readonly ledger: TelemetryLedger;
  /** Told the instance id once the broker gave one, or null once it will not. */
  private settleId: (id: string | null) => void = () => {};
  private readonly id = new Promise<string | null>((resolve) => {
    this.settleId = resolve;
  });

  /** Counts connections and latencies from now on; sends nothing yet. */
  constructor(options: TelemetryOptions) {
    this.options = options;
    const ledger = new TelemetryLedger(
      options.source.kind,
      options.source.latencies,
    );
    this.ledger = ledger;
    this.stopListening = options.cluster.listen({
      connected: () => ledger.connected(),
      answered: (node, apiKey, ms) => ledger.answered(node, apiKey, ms),
    });
  }

  /**
   * The client instance id the broker gave (Java's `clientInstanceId`),
   * starting the exchange if it has not started: null when the brokers
   * take no telemetry or it is off, a TimeoutError after `timeout` ms.
   */
  whenInstanceId(timeout: number): Promise<string | null> {
    this.start();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new TimeoutError(
              `No client instance id from the brokers within ${timeout} ms`,
            ),
          ),
        timeout,
      );
      unrefTimer(timer);
      this.id.then((id) => {
        clearTimeout(timer);
        resolve(id);
      });
    });
  }

  /** Starts the exchange (once). */
  start(): void {
    if (this.running !== null || this.stopping.signal.aborted) return;
    this.running = this.run().catch((error) =>
      this.logError(`kafka telemetry: stopped: ${(error as Error).message}`)
    );
  }

  /**
   * Stops the exchange; while metrics are subscribed and a broker
   * connection is open, sends them one last time marked terminating
   * (waiting at most 5 s). Never rejects.
   */
  async close(): Promise<void> {
    if (this.stopping.signal.aborted) return;
    this.stopping.abort(new ClosedError("The telemetry is closed"));
    this.settleId(this.clientInstanceId);
    this.stopListening?.();
    this.stopListening = null;
    // The loop ends at its next step; a dial it may be waiting on is not
    // waited for. A push it has in flight is (the broker may take it, and
    // the last push must not count it again), within the same bound.
    const deadline = Date.now() + CLOSE_PUSH_MS;
    if (this.pushing !== null) {
      await within(this.pushing, CLOSE_PUSH_MS);
    }
    // The last push goes only over a connection still open.
    const s = this.subscription;
    if (this.disabled || s === null || s.prefixes.length === 0) return;
    if (this.conn === null || this.conn.isClosed) return;
    try {
      await this.push(s, true, Math.max(1, deadline - Date.now()));
    } catch (error) {
      this.log(
        `kafka telemetry: the terminating push failed: ${
          (error as Error).message
        }`,
      );
    }
  }

  /** The id the broker gave, or null before it gave one. */
  private get clientInstanceId(): string | null {
    return this.instanceId === ZERO_UUID ? null : this.instanceId;
  }

  private get retryMs(): number {
    return this.options.retryMs ?? RETRY_MS;
  }

  private get signal(): AbortSignal {
    return this.stopping.signal;
  }

  /** Subscribes, pushes, and follows what the broker answers, until closed. */
  private async run(): Promise<void> {
    let first = true;
    while (!this.signal.aborted && !this.disabled) {
      let wait: number;
      try {
        const s = this.subscription ?? await this.subscribe();
        if (s === null) break; // disabled
        if (s.prefixes.length === 0) {
          // Nothing wanted: ask again after an interval.
          await pause(s.intervalMs + SLACK_MS, this.signal);
          this.subscription = null;
          continue;
        }
        const delay = first
          ? s.intervalMs * (0.5 + Math.random())
          : s.intervalMs + SLACK_MS;
        first = false;
        await pause(delay, this.signal);
        if (this.signal.aborted) break;
        const pushing = this.push(s, false);
        this.pushing = pushing.catch(() => {});
        let code: number;
        try {
          code = await pushing;
        } finally {
          this.pushing = null;
        }
        if (code === 0) continue;
        if (RESUBSCRIBE.has(code)) {
          this.subscription = null;
          first = true;
          continue;
        }
        if (!RETRY_NEXT.has(code)) {
          this.disable(`the broker refused a push with ${errorName(code)}`);
          break;
        }
        // The next push, an interval later, tries again.
        this.log(`kafka telemetry: push refused with ${errorName(code)}`);
        continue;
      } catch (error) {
        // Closed: this instance's, or a shared Cluster closed before it.
        if (this.signal.aborted || error instanceof ClosedError) break;
        this.log(
          `kafka telemetry: ${
            (error as Error).message
          }; asking again in ${this.retryMs} ms`,
        );
        this.conn = null;
        this.subscription = null;
        first = true;
        // A broker that throttles the request takes it again an interval
        // after the last one.
        wait = error instanceof KafkaError &&
            error.code === ErrorCode.THROTTLING_QUOTA_EXCEEDED
          ? Math.max(this.retryMs, this.intervalMs)
          : this.retryMs;
      }
      await pause(wait, this.signal);
    }
  }

  /** A connection to a broker that offers both requests, or null if none does. */
  private async connection(): Promise<BrokerConnection | null> {
    if (this.conn !== null && !this.conn.isClosed) return this.conn;
    const conn = await this.options.cluster.anyConnection("metadata");
    const offered = new Set(conn.apiVersions().map((v) => v.apiKey));
    if (
      !offered.has(GetTelemetrySubscriptions.key) ||
      !offered.has(PushTelemetry.key)
    ) {
      return null;
    }
    this.conn = conn;
    return conn;
  }

  /** GetTelemetrySubscriptions; null when telemetry is off for good. */
  private async subscribe(): Promise<Subscription | null> {
    const conn = await this.connection();
    if (conn === null) {
      // The usual case (no receiver plugin): nothing to say.
      this.disabled = true;
      this.settleId(null);
      this.stopListening?.();
      this.stopListening = null;
      return null;
    }
    const r = await conn.request(GetTelemetrySubscriptions, {
      clientInstanceId: this.instanceId,
    }, { signal: this.signal });
    if (r.errorCode !== 0) {
      if (FATAL.has(r.errorCode)) {
        this.disable(
          `the broker refused GetTelemetrySubscriptions with ${
            errorName(r.errorCode)
          }`,
        );
        return null;
      }
      throw new KafkaError(r.errorCode, {
        apiName: "GetTelemetrySubscriptions",
      });
    }
    if (this.instanceId === ZERO_UUID) this.instanceId = r.clientInstanceId;
    this.settleId(this.instanceId);
    const subscription: Subscription = {
      id: r.subscriptionId,
      prefixes: r.requestedMetrics,
      // The broker bounds it; a zero would spin.
      intervalMs: Math.max(100, r.pushIntervalMs),
      compression: r.acceptedCompressionTypes.find((c) => c >= 1 && c <= 4) ??
        0,
      delta: r.deltaTemporality,
      maxBytes: r.telemetryMaxBytes > 0 ? r.telemetryMaxBytes : Infinity,
    };
    this.subscription = subscription;
    this.intervalMs = subscription.intervalMs;
    this.ledger.subscribed(subscription.delta);
    if (subscription.prefixes.length > 0) {
      this.log(
        `kafka telemetry: instance ${this.instanceId} pushes metrics starting with ${
          subscription.prefixes.map((p) => JSON.stringify(p)).join(", ")
        } every ${subscription.intervalMs} ms`,
      );
    }
    return subscription;
  }

  /**
   * Sends the subscribed metrics; resolves with the broker's error code.
   * What a failed push took (the latencies) waits for the next one.
   */
  private async push(
    s: Subscription,
    terminating: boolean,
    timeout?: number,
  ): Promise<number> {
    const conn = await this.connection();
    if (conn === null) return ErrorCode.UNSUPPORTED_VERSION;
    const now = nowNanos();
    const taken = this.ledger.take();
    let accepted = false;
    try {
      const payload = await this.payload(s, now, taken);
      if (payload === null) return ErrorCode.TELEMETRY_TOO_LARGE;
      const r = await conn.request(PushTelemetry, {
        clientInstanceId: this.instanceId,
        subscriptionId: s.id,
        terminating,
        compressionType: payload.compression,
        metrics: payload.bytes,
      }, timeout === undefined ? {} : { timeout });
      if (r.errorCode === 0) {
        accepted = true;
        this.ledger.accepted(payload.sums, now);
      }
      return r.errorCode;
    } finally {
      if (!accepted) this.ledger.giveBack(taken);
    }
  }

  /**
   * The push's bytes, compressed: without the per-broker latencies when
   * they would take it past `telemetryMaxBytes`; null when even that is too
   * large.
   */
  private async payload(
    s: Subscription,
    now: bigint,
    taken: Taken,
  ): Promise<
    { bytes: Uint8Array; compression: number; sums: Map<string, number> } | null
  > {
    const source = this.options.source.sample();
    for (const perBroker of [true, false]) {
      const { metrics, sums } = this.ledger.collect(
        s,
        now,
        source,
        taken,
        perBroker,
      );
      let bytes = encodeMetrics({
        resource: this.options.source.attributes?.() ?? {},
        scope: SCOPE,
        metrics,
      });
      let compression = s.compression;
      if (compression !== 0) {
        try {
          bytes = (await loadCodec(compression)).compress(bytes);
        } catch {
          compression = 0;
        }
      }
      if (bytes.length <= s.maxBytes) return { bytes, compression, sums };
      if (taken.nodes.size === 0) break;
    }
    this.log(
      `kafka telemetry: the metrics take more than the broker's ${s.maxBytes} bytes; not sent`,
    );
    return null;
  }

  private disable(why: string): void {
    this.disabled = true;
    this.settleId(this.clientInstanceId);
    this.stopListening?.();
    this.stopListening = null;
    this.logError(
      `kafka telemetry: off for instance ${this.instanceId}: ${why}`,
    );
  }

  /** Tells `logger`; a logger that throws does not stop telemetry. */
  private log(message: string): void {
    try {
      this.options.logger?.(message);
    } catch {
      // The user's logger failed: nothing to tell it with.
    }
  }

  /** Tells `errorLogger`, likewise. */
  private logError(message: string): void {
    try {
      this.options.errorLogger?.(message);
    } catch {
      // As in log().
    }
  }
}

/** Waits for `promise` to settle, at most `ms`; never rejects. */
function within(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    unrefTimer(timer);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    promise.then(done, done);
  });
}

/** Waits `ms`, or less when `signal` aborts; never rejects, never holds a process open. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    unrefTimer(timer);
    signal.addEventListener("abort", done, { once: true });
  });
}
