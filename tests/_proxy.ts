/**
 * A TCP fault proxy for tests, placed between a client and a broker: it
 * forwards both directions and can stall a connection, cut it in the middle
 * of a response frame, delay or drip the broker's bytes, refuse new
 * connections and drop every connection.
 *
 * Built on node:net, so it runs under Deno, Bun and Node alike. It listens
 * on 127.0.0.1 only.
 *
 * Responses are split into Kafka frames (a 4-byte big-endian length, then
 * the body) on their way to the client. Metadata, FindCoordinator and
 * DescribeCluster answers are re-encoded so that the brokers they name at
 * the target's address name the proxy instead: a Writer, Reader or Client
 * bootstrapped at the proxy then stays behind it (without this the client
 * would connect to the advertised address and bypass the proxy).
 *
 * @example Metadata through the proxy names the proxy
 * ```ts
 * import { startProxy } from "./_proxy.ts";
 * import { dial } from "../mod.ts";
 *
 * const proxy = await startProxy({ target: "127.0.0.1:9092" });
 * const conn = await dial(proxy.address);
 * console.log(await conn.brokers()); // [{ host: "127.0.0.1", port: proxy.port, ... }]
 * conn.close();
 * await proxy.close();
 * ```
 *
 * @module
 */

import net from "node:net";
import type { Api } from "../lib/protocol/api.ts";
import { ByteReader, ByteWriter } from "../lib/protocol/bytes.ts";
import type { FullApi } from "../lib/protocol/testing/api.ts";
import { DescribeCluster } from "../lib/protocol/testing/describe_cluster.ts";
import { FindCoordinator } from "../lib/protocol/testing/find_coordinator.ts";
import { Metadata } from "../lib/protocol/testing/metadata.ts";

/** Options of {@link startProxy}. */
export interface ProxyOptions {
  /** The broker, "host:port". */
  target: string;
  /** Port to listen on, on 127.0.0.1 (default 0: an ephemeral port). */
  port?: number;
  /**
   * Broker addresses ("host:port") that responses name and the proxy
   * replaces with its own (default: the target). An empty list turns the
   * rewriting off.
   */
  advertised?: readonly string[];
}

/** What the proxy has done so far. */
export interface ProxyStats {
  /** Connections accepted and forwarded. */
  accepted: number;
  /** Connections open now. */
  open: number;
  /** Bytes forwarded from clients to the broker. */
  bytesToBroker: number;
  /** Bytes forwarded from the broker to clients. */
  bytesToClient: number;
  /** Response frames cut by `cutMidFrame`. */
  cuts: number;
  /** Responses whose broker addresses were rewritten. */
  rewritten: number;
}

/** A running fault proxy; see {@link startProxy}. */
export interface FaultProxy {
  /** "127.0.0.1:port": give this to the client as its broker. */
  readonly address: string;
  /** The port listened on. */
  readonly port: number;
  /** The counters. */
  readonly stats: ProxyStats;
  /**
   * Stops forwarding the broker's bytes on every connection open now (they
   * stay open; requests still reach the broker). Connections opened later
   * flow normally.
   */
  stall(): void;
  /** Forwards again what stalled connections held back. */
  resume(): void;
  /**
   * Arms a cut: the next response frame (on any connection; with `apiKey`,
   * the next answer to that API) is forwarded only in part (its length and
   * half its body), then that connection is closed. Resolves once the cut
   * is made.
   */
  cutMidFrame(apiKey?: number): Promise<void>;
  /**
   * Passes every response frame to the API `apiKey` (its length prefix
   * included) through `edit` before forwarding what it returns; null turns
   * it off. For damage a broker never does, such as a flipped bit.
   */
  tamper(
    apiKey: number,
    edit: ((frame: Uint8Array) => Uint8Array) | null,
  ): void;
  /** Holds every response frame `ms` milliseconds before forwarding it. */
  delay(ms: number): void;
  /** Forwards responses `bytesPerTick` bytes every `tickMs` ms (0: off). */
  drip(bytesPerTick: number, tickMs: number): void;
  /** Turns delay and drip off, and resumes stalled connections. */
  normal(): void;
  /**
   * While on, the port is closed: new connections are refused (open ones
   * go on). Resolves once the listener has changed.
   */
  refuse(on: boolean): Promise<void>;
  /** Closes every connection, both sides. */
  dropAll(): void;
  /** Closes the listener and every connection. */
  close(): Promise<void>;
}

interface Request {
  apiKey: number;
  version: number;
}

interface Cut {
  resolve(): void;
  /** Only a response to this API is cut (default: any). */
  apiKey?: number;
}

interface Outgoing {
  bytes: Uint8Array;
  sent: number;
  readyAt: number;
  /** Close the client once this piece is out (a cut). */
  cut: boolean;
}

// deno-lint-ignore no-explicit-any
type AnyApi = FullApi<any, any>;

const REWRITTEN = new Map<number, AnyApi>([
  [Metadata.key, Metadata],
  [FindCoordinator.key, FindCoordinator],
  [DescribeCluster.key, DescribeCluster],
]);

/** Splits a byte stream into whole frames, each with its length prefix. */
class Frames {
  private chunks: Uint8Array[] = [];
  private length = 0;

  push(chunk: Uint8Array): Uint8Array[] {
    this.chunks.push(chunk);
    this.length += chunk.length;
    const out: Uint8Array[] = [];
    while (this.length >= 4) {
      const head = this.peek(4);
      const size = new DataView(head.buffer, head.byteOffset, 4).getInt32(0);
      if (size < 0) {
        // Not Kafka: pass the rest through as it is.
        out.push(this.take(this.length));
        break;
      }
      if (this.length < 4 + size) break;
      out.push(this.take(4 + size));
    }
    return out;
  }

  private peek(n: number): Uint8Array {
    if (this.chunks[0].length >= n) return this.chunks[0].subarray(0, n);
    this.chunks = [concat(this.chunks, this.length)];
    return this.chunks[0].subarray(0, n);
  }

  private take(n: number): Uint8Array {
    if (this.chunks[0].length < n) {
      this.chunks = [concat(this.chunks, this.length)];
    }
    const first = this.chunks[0];
    const out = first.subarray(0, n);
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.length -= n;
    return out;
  }
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function splitAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(":");
  return {
    host: address.slice(0, at).replace(/^\[|\]$/g, ""),
    port: Number(address.slice(at + 1)),
  };
}

/**
 * Starts a fault proxy in front of `options.target`, listening on
 * 127.0.0.1 (an ephemeral port unless `options.port` is given).
 *
 * @example Stall a connection, then let it go
 * ```ts
 * import { startProxy } from "./_proxy.ts";
 * import { BrokerConnection } from "../lib/connection/connection.ts";
 * import { Metadata } from "../lib/protocol/messages/metadata.ts";
 *
 * const proxy = await startProxy({ target: "127.0.0.1:9092" });
 * const conn = await BrokerConnection.open("127.0.0.1", proxy.port);
 * proxy.stall();
 * const answer = conn.request(Metadata, { topics: [] });
 * proxy.resume();
 * console.log((await answer).brokers);
 * conn.close();
 * await proxy.close();
 * ```
 */
export async function startProxy(options: ProxyOptions): Promise<FaultProxy> {
  const target = splitAddress(options.target);
  const advertised = new Set(options.advertised ?? [options.target]);
  const stats: ProxyStats = {
    accepted: 0,
    open: 0,
    bytesToBroker: 0,
    bytesToClient: 0,
    cuts: 0,
    rewritten: 0,
  };
  const links = new Set<Link>();
  let delayMs = 0;
  let dripBytes = 0;
  let dripTick = 0;
  let cutArmed: Cut | null = null;
  const tampering = new Map<number, (frame: Uint8Array) => Uint8Array>();
  let closed = false;
  let port = options.port ?? 0;

  class Link {
    readonly client: net.Socket;
    readonly upstream: net.Socket;
    private readonly requests = new Map<number, Request>();
    private readonly fromClient = new Frames();
    private readonly fromBroker = new Frames();
    private readonly queue: Outgoing[] = [];
    private timer: ReturnType<typeof setTimeout> | undefined;
    private upstreamEnded = false;
    private done = false;
    stalled = false;

    constructor(client: net.Socket) {
      this.client = client;
      this.upstream = net.connect(target.port, target.host);
      client.setNoDelay(true);
      this.upstream.setNoDelay(true);
      client.on("error", () => this.destroy());
      this.upstream.on("error", () => this.destroy());
      client.on("close", () => this.destroy());
      this.upstream.on("close", () => this.upstreamEnd());
      this.upstream.on("end", () => this.upstreamEnd());
      client.on("data", (chunk: Uint8Array) => this.onRequestBytes(chunk));
      this.upstream.on("data", (chunk: Uint8Array) => this.onResponse(chunk));
    }

    private onRequestBytes(chunk: Uint8Array): void {
      if (this.done) return;
      for (const frame of this.fromClient.push(new Uint8Array(chunk))) {
        if (frame.length >= 12) {
          const v = new DataView(frame.buffer, frame.byteOffset, 12);
          this.requests.set(v.getInt32(8), {
            apiKey: v.getInt16(4),
            version: v.getInt16(6),
          });
        }
        stats.bytesToBroker += frame.length;
        this.upstream.write(frame);
      }
    }

    private onResponse(chunk: Uint8Array): void {
      if (this.done) return;
      for (let frame of this.fromBroker.push(new Uint8Array(chunk))) {
        let request: Request | undefined;
        if (frame.length >= 8) {
          const correlationId = new DataView(frame.buffer, frame.byteOffset, 8)
            .getInt32(4);
          request = this.requests.get(correlationId);
          this.requests.delete(correlationId);
        }
        frame = this.rewrite(frame, request);
        const edit = request && tampering.get(request.apiKey);
        if (edit !== undefined) frame = edit(frame);
        const piece: Outgoing = {
          bytes: frame,
          sent: 0,
          readyAt: Date.now() + delayMs,
          cut: false,
        };
        if (
          cutArmed && frame.length > 4 &&
          (cutArmed.apiKey === undefined ||
            cutArmed.apiKey === request?.apiKey)
        ) {
          // The length and half the body: never a whole frame.
          piece.bytes = frame.subarray(
            0,
            4 + Math.floor((frame.length - 4) / 2),
          );
          piece.cut = true;
          this.queue.push(piece);
          this.cutResolved = cutArmed;
          cutArmed = null;
          break;
        }
        this.queue.push(piece);
      }
      this.pump();
    }

    /** The cut this connection is making. */
    private cutResolved: Cut | null = null;

    /** Re-encodes answers that name brokers so that they name the proxy. */
    private rewrite(frame: Uint8Array, request?: Request): Uint8Array {
      if (advertised.size === 0) return frame;
      const api = request && REWRITTEN.get(request.apiKey);
      if (!request || !api) return frame;
      try {
        const out = reencode(api, request.version, frame);
        if (out !== frame) stats.rewritten++;
        return out;
      } catch {
        return frame;
      }
    }

    pump(): void {
      if (this.timer !== undefined || this.done) return;
      while (this.queue.length > 0) {
        if (this.stalled) return;
        const head = this.queue[0];
        const wait = head.readyAt - Date.now();
        if (wait > 0) return this.later(wait);
        if (dripBytes > 0) {
          const n = Math.min(dripBytes, head.bytes.length - head.sent);
          this.send(head.bytes.subarray(head.sent, head.sent + n));
          head.sent += n;
          if (head.sent === head.bytes.length) this.finish();
          return this.later(dripTick);
        }
        this.send(head.bytes.subarray(head.sent));
        this.finish();
      }
      if (this.upstreamEnded) this.end();
    }

    private later(ms: number): void {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, ms);
    }

    private send(bytes: Uint8Array): void {
      stats.bytesToClient += bytes.length;
      this.client.write(bytes);
    }

    /** The head piece is out; a cut closes the connection after it. */
    private finish(): void {
      const head = this.queue.shift()!;
      if (!head.cut) return;
      stats.cuts++;
      this.queue.length = 0;
      const cut = this.cutResolved;
      this.cutResolved = null;
      this.end();
      cut?.resolve();
    }

    private upstreamEnd(): void {
      if (this.upstreamEnded) return;
      this.upstreamEnded = true;
      this.pump();
    }

    /** Closes the client after what was written, and the broker side. */
    private end(): void {
      if (this.done) return;
      this.done = true;
      clearTimeout(this.timer);
      this.client.end();
      this.upstream.destroy();
      this.forget();
    }

    destroy(): void {
      if (this.done) return;
      this.done = true;
      clearTimeout(this.timer);
      this.client.destroy();
      this.upstream.destroy();
      this.forget();
    }

    private forget(): void {
      if (links.delete(this)) stats.open--;
      // A cut armed on this connection goes to the next response elsewhere.
      if (this.cutResolved) {
        cutArmed = this.cutResolved;
        this.cutResolved = null;
      }
    }
  }

  const accept = (socket: net.Socket) => {
    if (closed) {
      socket.destroy();
      return;
    }
    stats.accepted++;
    stats.open++;
    links.add(new Link(socket));
  };

  const listen = (at: number) =>
    new Promise<net.Server>((resolve, reject) => {
      const s = net.createServer(accept);
      s.once("error", reject);
      s.listen(at, "127.0.0.1", () => {
        s.off("error", reject);
        resolve(s);
      });
    });
  const unlisten = (s: net.Server) =>
    new Promise<void>((resolve) => s.close(() => resolve()));

  let server: net.Server | null = await listen(port);
  port = (server.address() as net.AddressInfo).port;
  const address = `127.0.0.1:${port}`;
  // Rewritten answers point at the proxy's port.
  const ownPort = port;

  const proxy: FaultProxy = {
    address,
    port,
    stats,
    stall() {
      for (const link of links) link.stalled = true;
    },
    resume() {
      for (const link of links) {
        link.stalled = false;
        link.pump();
      }
    },
    cutMidFrame(apiKey?: number) {
      return new Promise<void>((resolve) => {
        cutArmed = { resolve, apiKey };
      });
    },
    tamper(apiKey, edit) {
      if (edit === null) tampering.delete(apiKey);
      else tampering.set(apiKey, edit);
    },
    delay(ms: number) {
      delayMs = ms;
    },
    drip(bytesPerTick: number, tickMs: number) {
      dripBytes = bytesPerTick;
      dripTick = tickMs;
    },
    normal() {
      delayMs = 0;
      dripBytes = 0;
      proxy.resume();
    },
    async refuse(on: boolean) {
      if (on && server) {
        const s = server;
        server = null;
        // close() stops accepting at once; its callback waits for nothing
        // more (the connections are tracked by the proxy, not the server).
        await Promise.race([unlisten(s), sleep(200)]);
      } else if (!on && !server && !closed) {
        server = await listen(ownPort);
      }
    },
    dropAll() {
      for (const link of [...links]) link.destroy();
    },
    async close() {
      closed = true;
      for (const link of [...links]) link.destroy();
      const s = server;
      server = null;
      if (s) await Promise.race([unlisten(s), sleep(500)]);
    },
  };
  return proxy;

  /** The frame re-encoded with advertised addresses replaced by the proxy's. */
  function reencode(
    api: AnyApi,
    version: number,
    frame: Uint8Array,
  ): Uint8Array {
    const r = new ByteReader(frame, 4);
    const correlationId = r.int32();
    const flexibleHeader = (api as Api<unknown, unknown>)
      .responseHeaderVersion(version) >= 1;
    if (flexibleHeader) skipTagged(r);
    const response = api.decodeResponse(r, version);
    let changed = false;
    const visit = (o: { host: string; port: number }) => {
      if (!advertised.has(`${o.host}:${o.port}`)) return;
      o.host = "127.0.0.1";
      o.port = ownPort;
      changed = true;
    };
    if (api.key === FindCoordinator.key) {
      if (version < 4) visit(response);
      for (const c of response.coordinators ?? []) visit(c);
    } else {
      for (const b of response.brokers ?? []) visit(b);
    }
    if (!changed) return frame;
    const w = new ByteWriter(frame.length + 64);
    w.int32(0);
    w.int32(correlationId);
    if (flexibleHeader) w.uvarint(0);
    api.encodeResponse(w, version, response);
    const out = w.finish();
    new DataView(out.buffer, out.byteOffset, 4).setInt32(0, out.length - 4);
    return out;
  }
}

function skipTagged(r: ByteReader): void {
  const count = r.uvarint();
  for (let i = 0; i < count; i++) {
    r.uvarint();
    r.skip(r.uvarint());
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
