/**
 * One TCP or TLS socket as a pair of Web Streams. This is the only file that
 * knows which runtime it runs on: `Deno.connect`/`Deno.connectTls` under Deno,
 * `node:net`/`node:tls` elsewhere (Bun, Node).
 *
 * @module
 */

import { abortReason, ConnectionError, TimeoutError } from "./errors.ts";

/** TLS settings; `true` means TLS with the system's trust store. */
export interface TlsOptions {
  /** PEM certificates to trust in addition to the system's. */
  ca?: string | string[];
  /** PEM client certificate chain, for mutual TLS. */
  cert?: string;
  /** PEM private key of `cert`. */
  key?: string;
  /** Name to verify the broker's certificate against (default: the host). */
  servername?: string;
}

export interface SocketOptions {
  host: string;
  port: number;
  tls?: TlsOptions | boolean;
  /** Milliseconds to wait for the connection (and TLS handshake). */
  timeout: number;
  signal?: AbortSignal;
}

export interface Socket {
  readonly readable: ReadableStream<Uint8Array>;
  /**
   * Reads straight into `into` (Deno's `conn.read`), resolving with the byte
   * count or null at the end; where present, use it instead of `readable`,
   * which copies each chunk once more.
   */
  readonly read?: (into: Uint8Array) => Promise<number | null>;
  /**
   * Writes the pieces in order, after everything written before, with no
   * other write between them; resolves once they are handed to the system.
   */
  write(pieces: Uint8Array[]): Promise<void>;
  /** Closes both directions; safe to call more than once. */
  close(): void;
}

const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";

/** Opens a socket, failing with a clear error on refusal or timeout. */
export async function openSocket(options: SocketOptions): Promise<Socket> {
  const { host, port, signal, timeout } = options;
  const where = `${host}:${port}`;
  if (signal?.aborted) throw abortReason(signal, `Connecting to ${where}`);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const connecting = isDeno ? connectDeno(options) : connectNode(options);
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new TimeoutError(
            `Cannot connect to ${where}: no connection after ${timeout} ms`,
          ),
        ),
      timeout,
    );
    onAbort = () => reject(abortReason(signal!, `Connecting to ${where}`));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([connecting, stop]);
  } catch (error) {
    // A connection that lands after the timeout must not leak.
    connecting.then((socket) => socket.close(), () => {});
    if (error instanceof TimeoutError || error instanceof DOMException) {
      throw error;
    }
    if (signal?.aborted) throw abortReason(signal, `Connecting to ${where}`);
    if (options.tls && !isNetworkFailure(error)) {
      // The handshake itself failed: an untrusted or mismatched certificate,
      // a protocol the broker refuses. Another attempt ends the same way.
      throw new ConnectionError(
        `Cannot connect to ${where}: the TLS handshake failed: ${
          describe(error)
        }. Check the "tls" option: "ca" must hold the certificate authority that signed the broker's certificate, and the certificate must name the host you dial`,
        { cause: error, retriable: false },
      );
    }
    throw new ConnectionError(
      `Cannot connect to ${where}: ${describe(error)}`,
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Deno's error classes and Node's codes for a network that failed, not a peer that refused. */
const NETWORK_FAILURES = new Set([
  "ConnectionRefused",
  "ConnectionReset",
  "ConnectionAborted",
  "NotConnected",
  "BrokenPipe",
  "UnexpectedEof",
  "TimedOut",
  "AddrNotAvailable",
  "NetworkUnreachable",
  "HostUnreachable",
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * Whether a failed connect or handshake was the network's doing (worth a
 * retry) rather than the peer refusing the client's TLS settings.
 */
export function isNetworkFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return NETWORK_FAILURES.has(error.name) ||
    (typeof code === "string" && NETWORK_FAILURES.has(code));
}

async function connectDeno(options: SocketOptions): Promise<Socket> {
  const { host: hostname, port, tls } = options;
  let conn: Deno.Conn;
  if (tls) {
    const settings = tls === true ? {} : tls;
    conn = await Deno.connectTls({
      hostname,
      port,
      caCerts: settings.ca === undefined ? undefined : [settings.ca].flat(),
      cert: settings.cert,
      key: settings.key,
    });
    await (conn as Deno.TlsConn).handshake();
  } else {
    const tcp = await Deno.connect({ hostname, port });
    tcp.setNoDelay(true);
    conn = tcp;
  }
  let closed = false;
  return {
    // Lazy: touching conn.readable locks the socket to that stream.
    get readable() {
      return conn.readable;
    },
    read: (into) => conn.read(into),
    write: serialWrites(conn),
    close() {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch {
        // Already closed by the streams: nothing left to release.
      }
    },
  };
}

interface NodeSocket {
  on(event: string, listener: (arg: never) => void): void;
  once(event: string, listener: (arg: never) => void): void;
  removeListener(event: string, listener: (arg: never) => void): void;
  write(data: Uint8Array, callback: (error?: Error | null) => void): boolean;
  end(): void;
  destroy(): void;
  pause(): void;
  resume(): void;
  setNoDelay(on: boolean): void;
}

async function connectNode(options: SocketOptions): Promise<Socket> {
  const { host, port, tls } = options;
  let socket: NodeSocket;
  let ready: string;
  if (tls) {
    const settings = tls === true ? {} : tls;
    const nodeTls = await import("node:tls");
    socket = nodeTls.connect({
      host,
      port,
      ca: settings.ca,
      cert: settings.cert,
      key: settings.key,
      servername: settings.servername ?? (isIp(host) ? undefined : host),
    }) as unknown as NodeSocket;
    ready = "secureConnect";
  } else {
    const net = await import("node:net");
    socket = net.connect({ host, port }) as unknown as NodeSocket;
    ready = "connect";
  }
  await new Promise<void>((resolve, reject) => {
    const fail = (error: Error) => reject(error);
    socket.once("error", fail);
    socket.once(ready, () => {
      socket.removeListener("error", fail);
      resolve();
    });
  }).catch((error) => {
    socket.destroy();
    throw error;
  });
  socket.setNoDelay(true);
  return nodeStreams(socket);
}

/**
 * Deno's `conn.write` may write part of a buffer, and two writes in flight
 * could interleave: each call waits for the one before and writes it all.
 */
function serialWrites(conn: Deno.Conn): Socket["write"] {
  let last: Promise<unknown> = Promise.resolve();
  return (pieces) => {
    const run = last.then(async () => {
      for (const piece of pieces) {
        for (let at = 0; at < piece.length;) {
          at += await conn.write(piece.subarray(at));
        }
      }
    });
    last = run.catch(() => {});
    return run;
  };
}

function noop(): void {}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(":");
}

/** Wraps a node socket as Web Streams, pausing it when the reader lags. */
function nodeStreams(socket: NodeSocket): Socket {
  let closed = false;
  let failure: Error | undefined;
  socket.on("error", (error: Error) => {
    failure = error;
  });
  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      socket.on("data", (chunk: Uint8Array) => {
        if (closed) return;
        controller.enqueue(
          new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength),
        );
        if ((controller.desiredSize ?? 1) <= 0) socket.pause();
      });
      socket.on("close", () => {
        if (closed) return;
        closed = true;
        if (failure) controller.error(failure);
        else controller.close();
      });
    },
    pull() {
      socket.resume();
    },
    cancel() {
      closed = true;
      socket.destroy();
    },
  }, { highWaterMark: 4 });
  return {
    readable,
    write(pieces) {
      // The socket queues writes in call order; the last one's callback
      // reports the whole.
      return new Promise<void>((resolve, reject) => {
        const done = (error?: Error | null) =>
          error ? reject(error) : resolve();
        pieces.forEach((piece, i) => {
          socket.write(piece, i === pieces.length - 1 ? done : noop);
        });
      });
    },
    close() {
      socket.destroy();
    },
  };
}
