/**
 * One connection to one broker: framing, correlation ids, many requests in
 * flight, ApiVersions negotiation, per-request timeouts and cancellation.
 *
 * Kafka answers the requests of one connection in order, but responses are
 * still matched by correlation id, so a late answer to a cancelled request
 * is recognised and dropped instead of being taken for the next one. A
 * request that times out closes the connection: the others in flight fail
 * with a retriable ConnectionError, and the next request needs a new one.
 *
 * @module
 */

import type { Api, Encodable } from "../protocol/api.ts";
import { ByteReader, ByteWriter, ProtocolError } from "../protocol/bytes.ts";
import { KafkaError, throwIfError } from "../protocol/errors.ts";
import { ApiVersions } from "../protocol/messages/api_versions.ts";
import { SaslHandshake } from "../protocol/messages/sasl_handshake.ts";
import {
  abortReason,
  ClosedError,
  ConnectionError,
  ThrottledError,
  TimeoutError,
  UnsupportedVersionError,
} from "./errors.ts";
import { FrameReader, FrameSplitter, type ReadInto } from "./framing.ts";
import { Throttle } from "./throttle.ts";
import {
  isNetworkFailure,
  openSocket,
  type Socket,
  type TlsOptions,
  unrefTimer,
} from "./socket.ts";
import { authenticate, type SaslOptions, type SaslSetting } from "./sasl.ts";
import { printAs } from "../redact.ts";

export type { SaslOptions, SaslSetting, TlsOptions };

/** Options of `BrokerConnection.open`; `Cluster` takes them too. */
export interface ConnectionOptions {
  /**
   * Sent in every request header; brokers log it and quota by it (default
   * "streamkafka").
   */
  clientId?: string | undefined;
  /** Milliseconds to open the socket, TLS and SASL included (default 10 s). */
  connectTimeout?: number | undefined;
  /**
   * Default milliseconds a request may take before it fails (default 30 s);
   * a request that times out closes the connection.
   */
  requestTimeout?: number | undefined;
  /** Largest response frame accepted, in bytes (default 256 MiB). */
  maxResponseSize?: number | undefined;
  /** TLS settings, or true for TLS with the system's trust store (default off). */
  tls?: TlsOptions | boolean | undefined;
  /**
   * SASL: a password mechanism's credentials, or any SaslAuthenticator
   * (`oauthBearer(...)`, `awsMskIam(...)`, your own); default: no SASL.
   * When the broker limits the session (`connections.max.reauth.ms`), the
   * connection authenticates again before it ends.
   */
  sasl?: SaslSetting | undefined;
  /** Aborting cancels opening the connection. */
  signal?: AbortSignal | undefined;
}

/** Options of one request. */
export interface RequestOptions {
  /** @internal Sent even while the connection re-authenticates. */
  duringReauthentication?: boolean | undefined;
  /** Use this version instead of the highest both sides support. */
  version?: number | undefined;
  /** Milliseconds before the request fails (default: the connection's). */
  timeout?: number | undefined;
  /** Aborting rejects the request with the signal's reason. */
  signal?: AbortSignal | undefined;
  /**
   * @internal Milliseconds the request may wait, not written yet, while the
   * broker throttles the connection (default: its timeout); past them it
   * fails with a ThrottledError, never sent.
   */
  holdFor?: number | undefined;
  /**
   * @internal Called once the request is written to the socket (not if the
   * write fails). Must not throw.
   */
  onSent?: (() => void) | undefined;
}

/** The range of versions a broker serves for one API key. */
export interface ApiVersionRange {
  /** The API key, e.g. 1 for Fetch. */
  apiKey: number;
  /** The lowest version the broker serves. */
  minVersion: number;
  /** The highest version the broker serves. */
  maxVersion: number;
}

interface Pending {
  api: Api<unknown, unknown>;
  version: number;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout> | undefined;
  signal?: AbortSignal | undefined;
  onAbort?: (() => void) | undefined;
  /** performance.now() when it was sent, for `onResponse`. */
  sentAt: number;
}

export const DEFAULTS = {
  clientId: "streamkafka",
  connectTimeout: 10_000,
  requestTimeout: 30_000,
  maxResponseSize: 256 * 1024 * 1024,
};

/**
 * Byte fields from this size on are written to the socket as they are, not
 * copied into the request: below it, one write beats several.
 */
const SHARE_FROM = 32 * 1024;

/** The client software name and version sent in ApiVersions (KIP-511) and telemetry. */
export const SOFTWARE_NAME = "streamkafka";
/** See SOFTWARE_NAME. */
export const SOFTWARE_VERSION = "0.1.0";

/**
 * A connection to one broker, sending requests of any API: `Conn.raw` gives
 * the one under a Conn, and "@streamkafka/client/protocol" has the APIs.
 *
 * @example Send a request that Conn does not wrap
 * ```ts
 * import { dial } from "jsr:@streamkafka/client";
 * import { Metadata } from "jsr:@streamkafka/client/protocol";
 *
 * const conn = await dial("localhost:9092");
 * const metadata = await conn.raw.request(Metadata, { topics: [] });
 * console.log(metadata.clusterId, metadata.brokers.length);
 * conn.close();
 * ```
 */
export class BrokerConnection {
  /** The broker's host. */
  readonly host: string;
  /** The broker's port. */
  readonly port: number;
  /** The client id sent in every request header. */
  readonly clientId: string;
  private readonly requestTimeout: number;
  private readonly socket: Socket;
  private readonly maxFrame: number;
  private readonly pending = new Map<number, Pending>();
  /** Requests cancelled while in flight: their answers are dropped. */
  private readonly abandoned = new Set<number>();
  private nextCorrelation = 1;
  private failure: Error | null = null;
  private versions = new Map<number, ApiVersionRange>();
  private readonly options: ConnectionOptions;
  /** Set once open() has negotiated (and authenticated). */
  private ready = false;
  /** Responses received since then. */
  private answered = 0;
  /** Whether an early close is worth explaining (false on probes). */
  private explain = true;
  /** Stops the probe of explainEarlyClose, when one runs. */
  private probing: AbortController | null = null;
  /** Set when the peer ended the socket, until the failure is known. */
  private ending: Promise<Error> | null = null;
  /** Resolves when the connection has closed, for whatever reason. */
  readonly closed: Promise<Error | null>;
  private markClosed!: (error: Error | null) => void;

  private constructor(
    host: string,
    port: number,
    socket: Socket,
    options: ConnectionOptions,
  ) {
    this.host = host;
    this.port = port;
    this.socket = socket;
    this.options = options;
    this.clientId = options.clientId ?? DEFAULTS.clientId;
    this.requestTimeout = options.requestTimeout ?? DEFAULTS.requestTimeout;
    this.maxFrame = options.maxResponseSize ?? DEFAULTS.maxResponseSize;
    this.throttle = new Throttle(this.clientId, () => this.failure === null);
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
    this.readLoop();
  }

  /**
   * Connects, negotiates API versions, and authenticates when SASL is set.
   * Fails within `connectTimeout` however the peer behaves.
   */
  static async open(
    host: string,
    port: number,
    options: ConnectionOptions = {},
  ): Promise<BrokerConnection> {
    const timeout = options.connectTimeout ?? DEFAULTS.connectTimeout;
    const deadline = Date.now() + timeout;
    let socket: Socket;
    try {
      socket = await openSocket({
        host,
        port,
        tls: options.tls,
        timeout,
        signal: options.signal,
      });
    } catch (error) {
      if (options.tls && isCutHandshake(error)) {
        throw await explainCutHandshake(host, port, options, error as Error);
      }
      throw error;
    }
    const conn = new BrokerConnection(host, port, socket, options);
    try {
      const left = () => Math.max(1, deadline - Date.now());
      await conn.negotiate(left, options.signal);
      if (options.sasl) {
        const session = await authenticate(
          conn,
          options.sasl,
          left(),
          false,
          { signal: options.signal },
        );
        conn.scheduleReauthentication(session.lifetimeMs);
      }
      conn.ready = true;
      return conn;
    } catch (error) {
      conn.close();
      throw error;
    }
  }

  /**
   * A peer that hangs up on the first request after ApiVersions is most
   * likely a SASL listener waiting for a handshake this client never sent.
   * A second connection asks it (SaslHandshake is allowed before
   * authentication) and turns the vague close into a named failure.
   */
  private async explainEarlyClose(failure: Error): Promise<Error> {
    let probe: BrokerConnection | undefined;
    // Closing this connection stops the probe: it must not outlive it.
    const stop = this.probing = new AbortController();
    try {
      probe = await BrokerConnection.open(this.host, this.port, {
        ...this.options,
        sasl: undefined,
        connectTimeout: 5000,
        signal: stop.signal,
      });
      probe.explain = false;
      const response = await probe.request(SaslHandshake, {
        mechanism: "PLAIN",
      }, { timeout: 5000, signal: stop.signal });
      if (response.mechanisms.length > 0) {
        return new ConnectionError(
          `Broker ${this.address} closed the connection at the first request: its listener requires SASL authentication (it offers ${
            response.mechanisms.join(", ")
          }). Set the "sasl" option (mechanism, username and password), or use the broker's plaintext listener`,
          { cause: failure, retriable: false },
        );
      }
    } catch {
      // The probe failed too: keep the original failure.
    } finally {
      probe?.close();
      this.probing = null;
    }
    return failure;
  }

  /** "host:port" of the broker. */
  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** When a request was last sent or answered (ms since epoch). */
  private lastActive = Date.now();

  /**
   * Called with each answered request's API key and its latency in
   * milliseconds (sent to answered): what client telemetry reports.
   */
  onResponse: ((apiKey: number, ms: number) => void) | undefined;
  /** Set while the connection re-authenticates: other requests wait. */
  private reauthenticating: Promise<void> | null = null;
  /** The timer of the next re-authentication. */
  private reauthTimer: ReturnType<typeof setTimeout> | undefined;
  private reauthCount = 0;
  /** The broker's throttle of this connection (KIP-219), and what it holds. */
  private readonly throttle: Throttle;

  /** How many times the connection authenticated again (KIP-368). */
  get reauthentications(): number {
    return this.reauthCount;
  }

  /**
   * Since when the connection has had nothing to do (ms since epoch), or
   * null while a request waits for its answer.
   */
  get idleSince(): number | null {
    return this.pending.size > 0 ? null : this.lastActive;
  }

  /** True once the connection closed or failed; requests then reject. */
  get isClosed(): boolean {
    return this.failure !== null;
  }

  /** The API versions the broker advertised. */
  apiVersions(): ApiVersionRange[] {
    return [...this.versions.values()];
  }

  /** The highest version of `api` both sides support, or an error. */
  pickVersion(api: Api<unknown, unknown>): number {
    const range = this.versions.get(api.key);
    const min = Math.max(api.minVersion, range?.minVersion ?? api.minVersion);
    const max = Math.min(api.maxVersion, range?.maxVersion ?? -1);
    if (range === undefined || max < min) {
      const offered = range
        ? `${range.minVersion}..${range.maxVersion}`
        : "none";
      throw new UnsupportedVersionError(
        `Broker ${this.address} does not support ${api.name}: it offers versions ${offered}, this client knows ${api.minVersion}..${api.maxVersion}`,
      );
    }
    return max;
  }

  /** Sends a request and resolves with the decoded response. */
  request<Req, Res>(
    api: Api<Req, Res>,
    data: Encodable<Req>,
    options: RequestOptions = {},
  ): Promise<Res> {
    return this.send(api, data, options, true) as Promise<Res>;
  }

  /** Sends a request the broker will not answer (Produce with acks=0). */
  async requestNoResponse<Req>(
    api: Api<Req, unknown>,
    data: Encodable<Req>,
    options: RequestOptions = {},
  ): Promise<void> {
    await this.send(api, data, options, false);
  }

  /** Encodes and writes a request; tracks it when an answer is expected. */
  private send<Req, Res>(
    api: Api<Req, Res>,
    data: Encodable<Req>,
    options: RequestOptions,
    expectResponse: boolean,
  ): Promise<Res | void> {
    if (this.failure) return Promise.reject(this.closedError());
    if (this.ending) return this.ending.then((error) => Promise.reject(error));
    if (this.reauthenticating && !options.duringReauthentication) {
      // Sent once the new session is established (or rejected with why not).
      return this.reauthenticating.then(
        () => this.send(api, data, options, expectResponse),
        () => Promise.reject(this.closedError()),
      );
    }
    const { signal } = options;
    if (signal?.aborted) {
      return Promise.reject(abortReason(signal, `${api.name} request`));
    }
    let version: number;
    let frame: Uint8Array[];
    this.lastActive = Date.now();
    const correlationId = this.nextCorrelation;
    this.nextCorrelation = (this.nextCorrelation + 1) | 0;
    try {
      version = options.version ??
        this.pickVersion(api as Api<unknown, unknown>);
      frame = this.encode(api, version, correlationId, data);
    } catch (error) {
      return Promise.reject(error);
    }
    if (!expectResponse) {
      if (!this.throttle.holding) {
        return this.writeWithin(frame, api.name, options);
      }
      return new Promise<void>((resolve, reject) => {
        let late = false;
        const timer = setTimeout(() => {
          late = true;
          reject(this.heldTooLong(api.name, options));
        }, this.holdLimit(options));
        this.throttle.hold(() => {
          clearTimeout(timer);
          if (late) return;
          if (this.failure) reject(this.closedError());
          else this.writeWithin(frame, api.name, options).then(resolve, reject);
        });
      });
    }
    let pending!: Pending;
    const done = new Promise<Res>((resolve, reject) => {
      pending = {
        api: api as Api<unknown, unknown>,
        version,
        resolve: resolve as (value: unknown) => void,
        reject,
        timer: undefined,
        sentAt: performance.now(),
      };
      this.track(correlationId, pending, options);
    });
    const write = () => {
      this.armTimeout(correlationId, pending, options);
      this.write(frame, api.name).then(
        options.onSent,
        (error) => this.fail(correlationId, error),
      );
    };
    if (!this.throttle.holding) {
      write();
      return done;
    }
    // Held while the broker throttles the connection: its timeout starts
    // once it is written, as Java's client starts it once it is sent. Till
    // then it may wait `holdFor`, and then fails unsent.
    pending.timer = setTimeout(() => {
      this.fail(correlationId, this.heldTooLong(api.name, options));
    }, this.holdLimit(options));
    this.throttle.hold(() => {
      if (this.pending.get(correlationId) === pending) {
        clearTimeout(pending.timer);
        pending.sentAt = performance.now();
        write();
      } else {
        // Cancelled while held (or the connection closed): never written.
        this.abandoned.delete(correlationId);
      }
    });
    return done;
  }

  /** How long a request may be held: `holdFor`, or its timeout. */
  private holdLimit(options: RequestOptions): number {
    const ms = options.holdFor ?? options.timeout ?? this.requestTimeout;
    return Math.min(Math.max(0, ms), 2 ** 31 - 1);
  }

  /** The error of a request held past its limit: it was never written. */
  private heldTooLong(name: string, options: RequestOptions): Error {
    const left = this.throttle.remaining();
    return new ThrottledError(
      `${name} request to ${this.address} not sent within ${
        this.holdLimit(options)
      } ms: the broker throttles this connection for ${left} ms more (${this.throttle.hint()})`,
    );
  }

  /**
   * Writes a request that gets no answer (acks=0) within its timeout: a
   * peer that stops reading would otherwise hold the write, and whoever
   * waits for it, forever. Past the timeout the connection goes, as for a
   * request whose answer does not come.
   */
  private writeWithin(
    frame: Uint8Array[],
    name: string,
    options: RequestOptions,
  ): Promise<void> {
    const timeout = Math.min(
      options.timeout ?? this.requestTimeout,
      2 ** 31 - 1,
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new TimeoutError(
          `${name} request to ${this.address} could not be written within ${timeout} ms (the broker stopped reading)`,
        );
        this.shutdown(
          new ConnectionError(
            `Closed the connection to ${this.address}: a ${name} request could not be written within ${timeout} ms`,
            { cause: error },
          ),
        );
        reject(error);
      }, timeout);
    });
    return Promise.race([this.write(frame, name), late]).finally(() =>
      clearTimeout(timer)
    );
  }

  /** Arms the request's abort signal, and waits for its answer. */
  private track(
    correlationId: number,
    pending: Pending,
    options: RequestOptions,
  ): void {
    const name = pending.api.name;
    const { signal } = options;
    if (signal) {
      pending.signal = signal;
      pending.onAbort = () => {
        if (this.pending.has(correlationId)) this.abandoned.add(correlationId);
        this.fail(correlationId, abortReason(signal, `${name} request`));
      };
      signal.addEventListener("abort", pending.onAbort, { once: true });
    }
    this.pending.set(correlationId, pending);
  }

  /** Arms the timeout of a request written now. */
  private armTimeout(
    correlationId: number,
    pending: Pending,
    options: RequestOptions,
  ): void {
    // A timer waits at most 2^31 - 1 ms (a longer one fires at once): a
    // Fetch's timeout is its maxWait plus the request timeout, which may
    // pass that.
    const timeout = Math.min(
      options.timeout ?? this.requestTimeout,
      2 ** 31 - 1,
    );
    const name = pending.api.name;
    pending.timer = setTimeout(() => {
      const error = new TimeoutError(
        `${name} request to ${this.address} timed out after ${timeout} ms${this.throttle.recentNote()}`,
      );
      this.fail(correlationId, error);
      // The broker or the path to it stalled: later requests would wait
      // behind the lost answer, so the connection goes (as Java's client
      // does) and the next request dials a new one.
      this.shutdown(
        new ConnectionError(
          `Closed the connection to ${this.address}: a ${name} request timed out after ${timeout} ms`,
          { cause: error },
        ),
      );
    }, timeout);
  }

  /** The request's frame: header and body, length first. */
  private encode<Req>(
    api: Api<Req, unknown>,
    version: number,
    correlationId: number,
    data: Encodable<Req>,
  ): Uint8Array[] {
    // Large byte fields (record batches) go out as pieces of their own
    // rather than being copied into the frame.
    const w = new ByteWriter(128).shareLarge(SHARE_FROM);
    w.int32(0);
    w.int16(api.key);
    w.int16(version);
    w.int32(correlationId);
    const headerVersion = api.requestHeaderVersion(version);
    if (headerVersion >= 1) w.string(this.clientId);
    if (headerVersion >= 2) w.uvarint(0);
    api.encodeRequest(w, version, data);
    const pieces = w.pieces();
    let size = -4;
    for (const piece of pieces) size += piece.length;
    // The first piece starts with the frame's length field.
    const first = pieces[0];
    new DataView(first.buffer, first.byteOffset, 4).setInt32(0, size);
    return pieces;
  }

  /** Writes a frame; a failed write closes the connection. */
  private async write(frame: Uint8Array[], name: string): Promise<void> {
    try {
      await this.socket.write(frame);
    } catch (error) {
      // A non-retriable ConnectionError from the socket is already named
      // (the broker refused the client certificate): keep it as it is.
      const failure = isRefusal(error) ? error : new ConnectionError(
        `Cannot send ${name} request to ${this.address}: ${describe(error)}`,
        { cause: error },
      );
      // The read side saw the end first and is finding out why.
      if (this.ending) throw await this.ending;
      this.shutdown(failure);
      throw failure;
    }
  }

  /** Rejects one request, if it is still waiting. */
  private fail(correlationId: number, error: Error): void {
    const pending = this.pending.get(correlationId);
    if (!pending) return;
    this.settle(correlationId, pending);
    pending.reject(error);
  }

  /** Forgets a request and disarms its timeout and abort listener. */
  private settle(correlationId: number, pending: Pending): void {
    this.pending.delete(correlationId);
    clearTimeout(pending.timer);
    if (pending.onAbort) {
      pending.signal?.removeEventListener("abort", pending.onAbort);
    }
  }

  /** Reads responses until the socket ends, then closes with the reason. */
  private async readLoop(): Promise<void> {
    let failure: Error;
    try {
      const { read, readable } = this.socket;
      const idle = read
        ? await this.pullFrames(read)
        : await this.takeFrames(readable!);
      failure = new ConnectionError(
        idle
          ? `Broker ${this.address} closed the connection`
          : `Broker ${this.address} closed the connection in the middle of a response`,
      );
      if (
        idle && this.ready && this.answered === 0 && this.explain &&
        !this.options.sasl && this.failure === null
      ) {
        this.ending = this.explainEarlyClose(failure);
        failure = await this.ending;
      }
    } catch (error) {
      if (error instanceof ClosedError) {
        failure = error;
      } else if (error instanceof ProtocolError) {
        failure = error.message.includes(this.address)
          ? error
          : new ProtocolError(
            `Cannot read response from ${this.address}: ${error.message}`,
            { cause: error },
          );
      } else if (isRefusal(error)) {
        failure = error;
      } else {
        failure = new ConnectionError(
          `BrokerConnection to ${this.address} failed: ${describe(error)}`,
          { cause: error },
        );
      }
    }
    this.shutdown(failure);
  }

  /** Dispatches frames until the socket ends; true if it ended between frames. */
  private async pullFrames(read: ReadInto): Promise<boolean> {
    const frames = new FrameReader(read, this.maxFrame);
    while (true) {
      const frame = await frames.next();
      if (frame === null) return frames.idle;
      this.dispatch(frame);
    }
  }

  /** The same for a socket that pushes chunks. */
  private async takeFrames(
    readable: ReadableStream<Uint8Array>,
  ): Promise<boolean> {
    const splitter = new FrameSplitter(this.maxFrame);
    const onFrame = (frame: Uint8Array) => this.dispatch(frame);
    const reader = readable.getReader();
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) return splitter.idle;
        splitter.push(value, onFrame);
      }
    } finally {
      reader.releaseLock();
    }
  }

  /** Hands a response frame to the request with its correlation id. */
  private dispatch(frame: Uint8Array): void {
    if (frame.length < 4) {
      throw new ProtocolError(
        `Cannot read response from ${this.address}: frame of ${frame.length} bytes has no header`,
      );
    }
    const r = new ByteReader(frame);
    const correlationId = r.int32();
    const pending = this.pending.get(correlationId);
    if (!pending) {
      // A cancelled request's answer is not wanted. (One that timed out
      // closed the connection.)
      if (this.abandoned.delete(correlationId)) return;
      throw new ProtocolError(
        `Cannot read response from ${this.address}: correlation id ${correlationId} was never sent, or was answered already`,
      );
    }
    // Kafka answers a connection's requests in the order they were sent:
    // an earlier one passed over would never be answered.
    const first: number = this.pending.keys().next().value!;
    if (first !== correlationId) {
      throw new ProtocolError(
        `Cannot read response from ${this.address}: correlation id ${correlationId} was answered before ${first}, sent earlier (a Kafka broker answers in order)`,
      );
    }
    this.settle(correlationId, pending);
    this.lastActive = Date.now();
    if (this.ready) this.answered++;
    if (this.onResponse !== undefined) {
      try {
        this.onResponse(pending.api.key, performance.now() - pending.sentAt);
      } catch {
        // An observer's failure is not the request's.
      }
    }
    let response: unknown;
    try {
      response = this.decode(r, pending);
    } catch (error) {
      pending.reject(error as Error);
      return;
    }
    // A broker throttles no request of the handshake: a peer that says so
    // would hold `open()` past its timeout.
    if (this.ready) {
      this.throttle.note(response, pending.api.key, pending.version);
    }
    pending.resolve(response);
  }

  /** Decodes a response body with the request's API and version. */
  private decode(r: ByteReader, pending: Pending): unknown {
    const { api } = pending;
    let version = pending.version;
    if (api.responseHeaderVersion(version) >= 1) skipTaggedFields(r);
    // A broker that does not know our ApiVersions version answers in v0.
    if (
      api.key === ApiVersions.key && r.remaining >= 2 &&
      r.view.getInt16(r.pos) === 35
    ) {
      version = 0;
    }
    try {
      const response = api.decodeResponse(r, version);
      r.complete(`${api.name} v${version} response`);
      return response;
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      throw new ProtocolError(`${error.message} (from ${this.address})`, {
        cause: error,
      });
    }
  }

  /** ApiVersions: try our newest version; the broker answers v0 if it is older. */
  private async negotiate(
    left: () => number,
    signal?: AbortSignal,
  ): Promise<void> {
    let version = ApiVersions.maxVersion;
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await this.request(ApiVersions, {
        clientSoftwareName: SOFTWARE_NAME,
        clientSoftwareVersion: SOFTWARE_VERSION,
      }, { version, timeout: left(), signal }).catch((error) => {
        // Silence on the first request of a connection is rarely a slow
        // broker: say what to check. (Still retried: it may be one.)
        if (!(error instanceof TimeoutError)) throw error;
        throw new TimeoutError(
          `${error.message}: the peer took the connection but gave no Kafka answer; check that ${this.address} is a Kafka listener (host and port), and "tls" if it expects TLS`,
          { cause: error },
        );
      });
      if (response.errorCode === 35 && attempt === 0) {
        const own = response.apiKeys.find((k) => k.apiKey === ApiVersions.key);
        version = Math.min(own?.maxVersion ?? 0, ApiVersions.maxVersion);
        continue;
      }
      throwIfError(response.errorCode, { apiName: "ApiVersions" });
      for (const range of response.apiKeys) {
        this.versions.set(range.apiKey, {
          apiKey: range.apiKey,
          minVersion: range.minVersion,
          maxVersion: range.maxVersion,
        });
      }
      return;
    }
  }

  /** Why the connection closed. */
  private closedError(): Error {
    return this.failure!;
  }

  /** Closes once: every waiting request rejects with `failure`. */
  private shutdown(failure: Error): void {
    this.probing?.abort();
    if (this.failure) return;
    this.failure = failure;
    clearTimeout(this.reauthTimer);
    for (const [id, pending] of this.pending) {
      this.settle(id, pending);
      pending.reject(failure);
    }
    // Held requests: rejected above, or (no answer expected) told now.
    this.throttle.releaseAll();
    this.socket.close();
    this.markClosed(failure instanceof ClosedError ? null : failure);
  }

  /**
   * Arms the re-authentication of a session the broker ends after
   * `lifetimeMs` (KIP-368): at 85-95% of it, as Java's client does, so
   * that many connections do not all renew at once.
   */
  private scheduleReauthentication(lifetimeMs: number): void {
    clearTimeout(this.reauthTimer);
    if (!(lifetimeMs > 0) || !this.options.sasl) return;
    const at = lifetimeMs * (0.85 + Math.random() * 0.1);
    this.reauthTimer = setTimeout(() => {
      this.reauthenticate().catch(() => {
        // shutdown() has recorded the failure for every caller.
      });
    }, at);
    unrefTimer(this.reauthTimer);
  }

  /**
   * Authenticates the open connection again: requests sent meanwhile wait,
   * those already in flight are answered first (the broker handles one
   * request at a time per connection). A failure closes the connection
   * with the reason.
   */
  reauthenticate(): Promise<void> {
    if (this.reauthenticating) return this.reauthenticating;
    if (this.failure || !this.options.sasl) return Promise.resolve();
    const timeout = this.options.connectTimeout ?? DEFAULTS.connectTimeout;
    const running = authenticate(this, this.options.sasl, timeout, true, {
      duringReauthentication: true,
    }).then((session) => {
      this.reauthCount++;
      this.scheduleReauthentication(session.lifetimeMs);
    }, (error) => {
      const failure = error instanceof Error ? error : new Error(String(error));
      this.shutdown(
        new ConnectionError(
          `Re-authentication with ${this.address} failed: ${failure.message}`,
          {
            cause: failure,
            retriable: !(failure instanceof KafkaError) || failure.retriable,
          },
        ),
      );
      throw failure;
    }).finally(() => {
      this.reauthenticating = null;
    });
    this.reauthenticating = running;
    return running;
  }

  /** Closes the socket; requests in flight fail with a `ClosedError`. */
  close(): void {
    this.shutdown(
      new ClosedError(`BrokerConnection to ${this.address} is closed`),
    );
  }
}

function skipTaggedFields(r: ByteReader): void {
  const count = r.uvarint();
  for (let i = 0; i < count; i++) {
    r.uvarint();
    r.skip(r.uvarint());
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A non-retriable ConnectionError the socket raised, already named. */
function isRefusal(error: unknown): error is ConnectionError {
  return error instanceof ConnectionError && !error.retriable;
}

/** Whether a TLS connect failed because the peer hung up mid-handshake. */
function isCutHandshake(error: unknown): boolean {
  if (!(error instanceof ConnectionError) || !error.retriable) return false;
  const cause = error.cause;
  return isNetworkFailure(cause) && !/refused/i.test(describe(cause)) &&
    (cause as { code?: string }).code !== "ECONNREFUSED";
}

/**
 * A peer that hangs up during the TLS handshake may be a plaintext listener:
 * if a plaintext connection to it negotiates, say so instead of retrying.
 */
async function explainCutHandshake(
  host: string,
  port: number,
  options: ConnectionOptions,
  failure: Error,
): Promise<Error> {
  let probe: BrokerConnection | undefined;
  try {
    probe = await BrokerConnection.open(host, port, {
      ...options,
      tls: undefined,
      sasl: undefined,
      connectTimeout: 5000,
    });
    return new ConnectionError(
      `Cannot connect to ${host}:${port} with TLS: the broker hung up during the TLS handshake, and it answers plaintext Kafka requests, so it is a PLAINTEXT or SASL_PLAINTEXT listener. Remove the "tls" option, or dial the broker's SSL or SASL_SSL port`,
      { cause: failure, retriable: false },
    );
  } catch {
    return failure;
  } finally {
    probe?.close();
  }
}

// Printed (an error's cause, say), a connection hides its credentials.
printAs(BrokerConnection, (connection) => ({
  address: connection.address,
  clientId: connection.clientId,
  closed: connection.isClosed,
}));
