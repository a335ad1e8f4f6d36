/**
 * The connections of one Cluster: one per broker and lane, each address
 * dialled by one reconnection loop, idle ones closed.
 *
 * Dials to one address go one at a time, and after a failed dial the next
 * waits a backoff that grows to `reconnectBackoffMax`: however many batches
 * or fetches wait for a broker that is down, they share one reconnection
 * loop instead of each hammering the address on its own.
 *
 * A connection that has had no request in flight for `idleTimeout`
 * milliseconds is closed (Java's `connections.max.idle.ms`); the next use of
 * its lane dials again. The sweep's timer never keeps a process alive.
 *
 * @module
 */

import {
  BrokerConnection,
  type ConnectionOptions,
} from "../connection/connection.ts";
import { ClosedError } from "../connection/errors.ts";
import { unrefTimer } from "../connection/socket.ts";
import { backoff, sleep } from "./retry.ts";

/** Settings of a ConnectionPool. */
export interface PoolOptions extends Omit<ConnectionOptions, "signal"> {
  /** Milliseconds between the first failed dial of an address and the next (default 50). */
  reconnectBackoffMin?: number | undefined;
  /** Ceiling of the wait between dials of an address that keeps failing (default 1000). */
  reconnectBackoffMax?: number | undefined;
  /**
   * Milliseconds a connection may sit with no request in flight before it
   * is closed (default 540000, Java's `connections.max.idle.ms`; 0 or
   * Infinity keeps connections open).
   */
  idleTimeout?: number | undefined;
}

/** The reconnection loop of one address: one dial at a time, with backoff. */
interface DialLoop {
  /** The dial in progress or last made; the next one starts after it. */
  last: Promise<unknown>;
  /** Dials that failed in a row. */
  failures: number;
  /** No dial before this time (ms since epoch). */
  notBefore: number;
}

/**
 * Told of every connection the pool opens and every request answered on
 * one, with the node part of the connection's key ("1", or
 * "bootstrap:host:port"): what client telemetry counts.
 */
export interface PoolListener {
  /** A connection was opened (dialled, authenticated, versions known). */
  connected(node: string): void;
  /** A request was answered after `ms` milliseconds. */
  answered(node: string, apiKey: number, ms: number): void;
}

/** Connections by key ("<node>/<lane>"), dialled one at a time per address. */
export class ConnectionPool {
  private readonly options: PoolOptions;
  private readonly connections = new Map<string, Promise<BrokerConnection>>();
  private readonly dialLoops = new Map<string, DialLoop>();
  private readonly closing = new AbortController();
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  private readonly listeners = new Set<PoolListener>();

  /** A pool dialling with `options`; nothing is opened before first use. */
  constructor(options: PoolOptions) {
    this.options = options;
  }

  /** Aborts when the pool closes. */
  get signal(): AbortSignal {
    return this.closing.signal;
  }

  /** True once `close()` was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Tells `listener` of the connections opened and the requests answered
   * from now on; returns what stops it.
   */
  listen(listener: PoolListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Whether the last dial of an address failed: it is in its reconnection
   * backoff, and probably down. Any-broker requests try it last.
   */
  failing(host: string, port: number): boolean {
    return (this.dialLoops.get(`${host}:${port}`)?.failures ?? 0) > 0;
  }

  /** The open connections' keys, for tests and stats. */
  keys(): string[] {
    return [...this.connections.keys()];
  }

  /** The connection under `key` to an address: the open one, or a new one. */
  connect(host: string, port: number, key: string): Promise<BrokerConnection> {
    if (this.closed) {
      return Promise.reject(closedError());
    }
    const existing = this.connections.get(key);
    if (existing) {
      return existing.then((conn) =>
        conn.isClosed ? this.reconnect(host, port, key, existing) : conn
      );
    }
    return this.open(host, port, key);
  }

  /** Closes and forgets the connections of one lane; a later use reconnects. */
  closeLane(lane: string): void {
    for (const [key, opening] of this.connections) {
      if (!key.endsWith(`/${lane}`)) continue;
      this.connections.delete(key);
      opening.then((conn) => conn.close(), () => {});
    }
  }

  /** Closes every connection; later calls fail with ClosedError. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    this.closing.abort(closedError());
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(
      all.map((p) => p.then((conn) => conn.close(), () => {})),
    );
  }

  /** Replaces a dead connection, unless another caller already did. */
  private reconnect(
    host: string,
    port: number,
    key: string,
    stale: Promise<BrokerConnection>,
  ): Promise<BrokerConnection> {
    const current = this.connections.get(key);
    if (current && current !== stale) return current;
    return this.open(host, port, key);
  }

  /** Dials and keeps the connection under `key`; forgets a failed dial. */
  private open(
    host: string,
    port: number,
    key: string,
  ): Promise<BrokerConnection> {
    const opening = this.dial(host, port);
    this.connections.set(key, opening);
    opening.then((conn) => {
      this.startSweeping();
      this.announce(key, conn);
    }, () => {
      if (this.connections.get(key) === opening) this.connections.delete(key);
    });
    return opening;
  }

  /** Tells the listeners of a new connection, and of its answers from now on. */
  private announce(key: string, conn: BrokerConnection): void {
    const node = key.slice(0, key.lastIndexOf("/"));
    conn.onResponse = (apiKey, ms) => {
      for (const l of this.listeners) l.answered(node, apiKey, ms);
    };
    for (const l of this.listeners) l.connected(node);
  }

  /** Dials an address in its turn: after the dial before, and its backoff. */
  private dial(host: string, port: number): Promise<BrokerConnection> {
    const address = `${host}:${port}`;
    let loop = this.dialLoops.get(address);
    if (!loop) {
      loop = { last: Promise.resolve(), failures: 0, notBefore: 0 };
      this.dialLoops.set(address, loop);
    }
    const state = loop;
    const {
      reconnectBackoffMin = 50,
      reconnectBackoffMax = 1000,
      idleTimeout: _,
      ...options
    } = this.options;
    const dialing = state.last.then(async () => {
      const wait = state.notBefore - Date.now();
      if (wait > 0) await sleep(wait, this.closing.signal);
      if (this.closed) throw closedError();
      try {
        // Closing the pool gives up a dial in progress (a host that does
        // not answer would hold close() for connectTimeout).
        const conn = await BrokerConnection.open(host, port, {
          ...options,
          signal: this.closing.signal,
        });
        state.failures = 0;
        state.notBefore = 0;
        return conn;
      } catch (error) {
        state.failures++;
        state.notBefore = Date.now() + backoff(state.failures, {
          backoffMin: reconnectBackoffMin,
          backoffMax: reconnectBackoffMax,
        });
        throw error;
      }
    });
    state.last = dialing.catch(() => {});
    return dialing;
  }

  /** Milliseconds a connection may stay idle; Infinity when never closed. */
  private get idleTimeout(): number {
    const t = this.options.idleTimeout ?? 540_000;
    return t > 0 ? t : Infinity;
  }

  /** Starts the idle sweep once a connection is open. */
  private startSweeping(): void {
    if (this.sweeper !== undefined || this.closed) return;
    const timeout = this.idleTimeout;
    if (!Number.isFinite(timeout)) return;
    const every = Math.max(100, Math.min(timeout / 2, 30_000));
    this.sweeper = setInterval(() => this.sweep(), every);
    unrefTimer(this.sweeper);
  }

  /** Closes the connections idle for longer than `idleTimeout`. */
  sweep(now: number = Date.now()): void {
    const timeout = this.idleTimeout;
    for (const [key, opening] of this.connections) {
      opening.then((conn) => {
        const since = conn.idleSince;
        if (conn.isClosed || since === null || now - since < timeout) return;
        if (this.connections.get(key) !== opening) return;
        this.connections.delete(key);
        conn.close();
      }, () => {});
    }
  }
}

/** What a request of a closed Cluster fails with. */
export function closedError(): ClosedError {
  return new ClosedError(
    "The Cluster is closed (by cluster.close(), or by close() of the Writer, Reader or Client that made it); a Writer, Reader or Client sharing it cannot go on",
  );
}
