/**
 * One TCP or TLS socket as a pair of Web Streams. This is the only file that
 * knows which runtime it runs on: `Deno.connect`/`Deno.connectTls` under Deno,
 * `node:net`/`node:tls` elsewhere (Bun, Node).
 *
 * @module
 */

import { abortReason, ConnectionError, TimeoutError } from "./errors.ts";
import { checkOptionNames, describeType, optionNames } from "../options.ts";
import { NodeReads } from "./node_reads.ts";

/**
 * TLS settings; `true` means TLS with the system's trust store.
 *
 * For mutual TLS (a listener with `ssl.client.auth=required`) give both
 * `cert` and `key`: the broker then takes the client's principal from the
 * certificate (`User:<CN>` by default mapping rules).
 *
 * @example Mutual TLS with a private CA
 * ```ts
 * import { readFileSync } from "node:fs";
 * import { dial, type TlsOptions } from "jsr:@streamkafka/client";
 *
 * const tls: TlsOptions = {
 *   ca: readFileSync(".kafka/certs/ca.pem", "utf8"),
 *   cert: readFileSync(".kafka/certs/client.pem", "utf8"),
 *   key: readFileSync(".kafka/certs/client-key.pem", "utf8"),
 * };
 * const conn = await dial("127.0.0.1:9097", { tls });
 * conn.close();
 * ```
 */
export interface TlsOptions {
  /**
   * PEM certificates to trust in addition to the runtime's root CAs (Deno's
   * store; the Mozilla roots bundled with Node.js and Bun).
   */
  ca?: string | string[] | undefined;
  /**
   * PEM client certificate chain (the client's certificate first), for
   * mutual TLS; requires `key`.
   */
  cert?: string | undefined;
  /** PEM private key of `cert` (PKCS#8, PKCS#1 or SEC1, unencrypted); requires `cert`. */
  key?: string | undefined;
  /**
   * Name to verify the broker's certificate against, and to send as SNI
   * (default: the host dialled). Not supported with `cert` on Deno.
   */
  servername?: string | undefined;
}

export interface SocketOptions {
  host: string;
  port: number;
  tls?: TlsOptions | boolean | undefined;
  /** Milliseconds to wait for the connection (and TLS handshake). */
  timeout: number;
  signal?: AbortSignal | undefined;
}

/** A socket has `read` (Deno, Node.js) or `readable` (Bun). */
export interface Socket {
  /** The bytes as they arrive, as chunks. */
  readonly readable?: ReadableStream<Uint8Array> | undefined;
  /**
   * Reads straight into `into` (Deno's `conn.read`, `onread` of
   * `node:net`), resolving with the byte count or null at the end; where
   * present, use it instead of `readable`, which copies each chunk once
   * more.
   */
  readonly read?: ((into: Uint8Array) => Promise<number | null>) | undefined;
  /**
   * Writes the pieces in order, after everything written before, with no
   * other write between them; resolves once they are handed to the system.
   */
  write(pieces: Uint8Array[]): Promise<void>;
  /** Closes both directions; safe to call more than once. */
  close(): void;
}

const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";

/** Opens a socket, failing with a clear error on refusal or timeout. */
export async function openSocket(options: SocketOptions): Promise<Socket> {
  const { host, port, signal, timeout } = options;
  const where = `${host}:${port}`;
  checkTls(options.tls);
  if (signal?.aborted) throw abortReason(signal, `Connecting to ${where}`);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  // Ends a connect or handshake still under way once the caller gave up on
  // it: left alone, it kept the process alive until the system gave up (a
  // peer that never answers: 130 s; a TLS peer that never answers: never).
  const cancel = new AbortController();
  const connecting = isDeno
    ? connectDeno(options, cancel.signal)
    : connectNode(options, cancel.signal);
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
  } catch (caught) {
    cancel.abort();
    // A connection that lands after the timeout must not leak.
    connecting.then((socket) => socket.close(), () => {});
    if (caught instanceof TimeoutError || caught instanceof DOMException) {
      throw caught;
    }
    if (signal?.aborted) throw abortReason(signal, `Connecting to ${where}`);
    // Already named: the broker refused the client certificate.
    if (caught instanceof ConnectionError) throw caught;
    let error = caught;
    if (caught instanceof TlsSetupError) {
      const problem = await clientCertificateProblem(options.tls);
      if (problem) throw invalidCertificate(where, problem);
      error = caught.cause;
    }
    if (options.tls && /CaUsedAsEndEntity/.test(describe(error))) {
      throw new ConnectionError(
        `Cannot connect to ${where}: the TLS handshake failed: ${
          describe(error)
        }. The broker's certificate is a CA certificate (self-signed with CA:TRUE, as "openssl req -x509" makes by default), which Deno refuses as a broker's own certificate: sign the broker's certificate with a CA and give that CA as "tls.ca"`,
        { cause: error, retriable: false },
      );
    }
    if (options.tls && !isNetworkFailure(error)) {
      // The handshake itself failed: an untrusted or mismatched certificate,
      // a protocol the broker refuses. Another attempt ends the same way.
      throw new ConnectionError(
        `Cannot connect to ${where}: the TLS handshake failed: ${
          describe(error)
        }. Check the "tls" option: "ca" must hold the certificate authority that signed the broker's certificate, and the certificate must name the host you dial (or "tls.servername")`,
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

async function connectDeno(
  options: SocketOptions,
  cancel: AbortSignal,
): Promise<Socket> {
  const { host: hostname, port, tls } = options;
  let conn: Deno.Conn;
  let explain = keep;
  if (tls) {
    const settings = tls === true ? {} : tls;
    explain = certificateAlerts(
      `${hostname}:${port}`,
      settings,
      await clientCertificateProblem(settings),
    );
    const caCerts = settings.ca === undefined
      ? undefined
      : [settings.ca].flat();
    // Deno.connectTls (the only TLS with a client certificate) verifies
    // the broker's certificate against the host it connects to.
    if (
      settings.cert !== undefined && settings.servername !== undefined &&
      settings.servername !== hostname
    ) {
      throw new ConnectionError(
        `Cannot connect to ${hostname}:${port}: "tls.servername" (${
          JSON.stringify(settings.servername)
        }) with a client certificate is not supported on Deno, whose TLS with a client certificate verifies the broker's certificate against the host dialled; dial a host name the broker's certificate names instead`,
        { retriable: false },
      );
    }
    let tlsConn: Deno.TlsConn;
    try {
      if (settings.cert === undefined) {
        // A TCP connect, which the signal ends, then TLS over it.
        const tcp = await Deno.connect({ hostname, port, signal: cancel });
        tcp.setNoDelay(true);
        try {
          tlsConn = await Deno.startTls(tcp, {
            hostname: settings.servername ?? hostname,
            ...(caCerts === undefined ? {} : { caCerts }),
          });
        } catch (error) {
          tcp.close();
          throw error;
        }
      } else {
        // Deno.startTls sends no client certificate, and Deno.connectTls
        // takes no signal: its TCP connect runs until the system gives up
        // (the handshake below is ended by closing).
        tlsConn = await Deno.connectTls({
          hostname,
          port,
          ...(caCerts === undefined ? {} : { caCerts }),
          cert: settings.cert,
          key: settings.key!,
        });
      }
    } catch (error) {
      // Deno reads the certificates and key here, before any handshake.
      throw isNetworkFailure(error) || cancel.aborted
        ? error
        : new TlsSetupError(error);
    }
    const onCancel = () => tlsConn.close();
    cancel.addEventListener("abort", onCancel, { once: true });
    try {
      if (cancel.aborted) throw cancel.reason;
      await tlsConn.handshake();
    } catch (error) {
      try {
        tlsConn.close();
      } catch {
        // Closed on cancel already.
      }
      throw explain(error);
    } finally {
      cancel.removeEventListener("abort", onCancel);
    }
    conn = tlsConn;
  } else {
    const tcp = await Deno.connect({ hostname, port, signal: cancel });
    tcp.setNoDelay(true);
    conn = tcp;
  }
  let closed = false;
  return {
    // Lazy: touching conn.readable locks the socket to that stream.
    get readable() {
      return conn.readable;
    },
    read: explain === keep
      ? (into) => conn.read(into)
      : (into) =>
        conn.read(into).catch((error) => Promise.reject(explain(error))),
    write: serialWrites(conn, explain),
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

async function connectNode(
  options: SocketOptions,
  cancel: AbortSignal,
): Promise<Socket> {
  const { host, port, tls } = options;
  let socket: NodeSocket;
  let ready: string;
  let explain = keep;
  // Node.js reads into given buffers (`onread`, see node_reads.ts), TCP
  // and TLS alike: a quarter less CPU a message consumed than with 'data'
  // events (2M x 100 B through batches(): 297-311 ns against 393-433 over
  // TCP, 332-339 against 458-550 over TLS). Bun's `onread` copies its
  // chunks once more (12 % more CPU), so Bun takes the chunks.
  let reads: NodeReads | undefined;
  if (tls) {
    const settings = tls === true ? {} : tls;
    explain = certificateAlerts(
      `${host}:${port}`,
      settings,
      await clientCertificateProblem(settings),
    );
    const nodeTls = await import("node:tls");
    if (!isBun) reads = new NodeReads();
    try {
      socket = nodeTls.connect({
        host,
        port,
        ...nodeTrust(nodeTls, settings),
        servername: settings.servername ?? (isIp(host) ? undefined : host),
        ...(reads === undefined ? {} : { onread: reads.onread }),
      } as never) as unknown as NodeSocket;
    } catch (error) {
      // Node and Bun read the certificates and key here, synchronously.
      throw new TlsSetupError(error);
    }
    ready = "secureConnect";
  } else if (isBun) {
    const net = await import("node:net");
    socket = net.connect({ host, port }) as unknown as NodeSocket;
    ready = "connect";
  } else {
    const net = await import("node:net");
    reads = new NodeReads();
    socket = net.connect({
      host,
      port,
      onread: reads.onread,
    } as never) as unknown as NodeSocket;
    ready = "connect";
  }
  let onCancel: (() => void) | undefined;
  await new Promise<void>((resolve, reject) => {
    const fail = (error: Error) => reject(error);
    socket.once("error", fail);
    socket.once(ready, () => {
      socket.removeListener("error", fail);
      resolve();
    });
    // The connect (and handshake) ends with the socket.
    onCancel = () => reject(cancel.reason);
    if (cancel.aborted) onCancel();
    else cancel.addEventListener("abort", onCancel, { once: true });
  }).catch((error) => {
    socket.destroy();
    throw explain(error);
  }).finally(() => cancel.removeEventListener("abort", onCancel!));
  socket.setNoDelay(true);
  if (reads === undefined) return nodeStreams(socket, explain);
  reads.attach(socket, explain);
  return {
    read: (into) => reads.read(into),
    write: nodeWrite(socket, explain),
    close: () => socket.destroy(),
  };
}

/** Writes the pieces in order; the socket queues writes in call order. */
function nodeWrite(
  socket: NodeSocket,
  explain: (error: unknown) => unknown,
): Socket["write"] {
  return (pieces) =>
    new Promise<void>((resolve, reject) => {
      // The last write's callback reports the whole.
      const done = (error?: Error | null) =>
        error ? reject(explain(error)) : resolve();
      pieces.forEach((piece, i) => {
        socket.write(piece, i === pieces.length - 1 ? done : noop);
      });
    });
}

/**
 * Deno's `conn.write` may write part of a buffer, and two writes in flight
 * could interleave: each call waits for the one before and writes it all.
 */
function serialWrites(
  conn: Deno.Conn,
  explain: (error: unknown) => unknown,
): Socket["write"] {
  let last: Promise<unknown> = Promise.resolve();
  return (pieces) => {
    const run = last.then(async () => {
      for (const piece of pieces) {
        for (let at = 0; at < piece.length;) {
          at += await conn.write(piece.subarray(at));
        }
      }
    }).catch((error) => Promise.reject(explain(error)));
    last = run.catch(() => {});
    return run;
  };
}

function noop(): void {}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(":");
}

/** Wraps a node socket as Web Streams, pausing it when the reader lags. */
function nodeStreams(
  socket: NodeSocket,
  explain: (error: unknown) => unknown,
): Socket {
  let closed = false;
  let failure: Error | undefined;
  socket.on("error", (error: Error) => {
    failure = explain(error) as Error;
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
    write: nodeWrite(socket, explain),
    close() {
      socket.destroy();
    },
  };
}

/**
 * The CAs and client certificate for `node:tls`: `ca` adds to the bundled
 * root CAs, as Deno's `caCerts` does (given alone, `node:tls` trusts only
 * it). Node.js parses them on each connect (119 roots: 4.5 ms more a
 * connection), so its secure context is made once for each settings object.
 */
function nodeTrust(
  nodeTls: typeof import("node:tls"),
  settings: TlsOptions,
): object {
  const ca = settings.ca === undefined
    ? undefined
    : [...nodeTls.rootCertificates, ...[settings.ca].flat()];
  const given = { ca, cert: settings.cert, key: settings.key };
  if (isBun || (ca === undefined && settings.cert === undefined)) return given;
  let context = secureContexts.get(settings);
  if (context === undefined) {
    context = nodeTls.createSecureContext(given);
    secureContexts.set(settings, context);
  }
  return { secureContext: context };
}

const secureContexts = new WeakMap<TlsOptions, unknown>();

/** What the runtime threw while reading the TLS settings, before connecting. */
class TlsSetupError extends Error {
  constructor(cause: unknown) {
    super(describe(cause), { cause });
    this.name = "TlsSetupError";
  }
}

function keep(error: unknown): unknown {
  return error;
}

/** The names of `TlsOptions`. */
const TLS_OPTIONS = optionNames<TlsOptions>()(
  "ca",
  "cert",
  "key",
  "servername",
);

/**
 * Throws a TypeError unless `tls` is undefined, a boolean or TLS options of
 * the right kinds: `ca` PEM text or a list of them, `cert`, `key` and
 * `servername` text, `cert` and `key` both or neither (mutual TLS needs
 * both, as PEM). `context`, when given, starts the message. Checked when a
 * client is made (transport, Dialer) and again when a socket opens.
 */
export function checkTls(tls: unknown, context?: string): void {
  const fail = (message: string): never => {
    throw new TypeError(
      context === undefined ? message : `${context}: ${message}`,
    );
  };
  if (tls !== undefined && typeof tls !== "boolean") {
    if (tls === null || typeof tls !== "object" || Array.isArray(tls)) {
      fail(
        `"tls" must be true, false or the TLS options { ca, cert, key, servername }, got ${
          describeType(tls)
        }`,
      );
    }
    checkOptionNames(
      context === undefined ? `"tls"` : `${context}: "tls"`,
      tls as object,
      TLS_OPTIONS,
    );
    const { ca, cert, key, servername } = tls as Record<string, unknown>;
    if (
      ca !== undefined && typeof ca !== "string" &&
      !(Array.isArray(ca) && ca.every((c) => typeof c === "string"))
    ) {
      fail(
        `"tls.ca" must be PEM text or a list of PEM texts, got ${
          describeType(ca)
        }`,
      );
    }
    for (const [name, value] of [["cert", cert], ["key", key]] as const) {
      if (value !== undefined && typeof value !== "string") {
        fail(
          `"tls.${name}" must be a PEM string, got ${
            describeType(value)
          }: read the file as text, e.g. readFileSync(path, "utf8")`,
        );
      }
    }
    if (cert !== undefined && key === undefined) {
      fail(
        `"tls.key" is missing: "tls.cert" is set, and mutual TLS needs the client certificate's private key too (PEM)`,
      );
    }
    if (key !== undefined && cert === undefined) {
      fail(
        `"tls.cert" is missing: "tls.key" is set, and mutual TLS needs the client certificate too (PEM)`,
      );
    }
    if (servername !== undefined && typeof servername !== "string") {
      fail(
        `"tls.servername" must be a host name (a string), got ${
          describeType(servername)
        }`,
      );
    }
  }
}

/**
 * TLS alerts a server sends when it will not accept the client's
 * certificate, as Deno (rustls: "received fatal alert: BadCertificate"),
 * Node (OpenSSL: "ssl/tls alert bad certificate") and Bun (BoringSSL:
 * "SSLV3_ALERT_BAD_CERTIFICATE") word them.
 */
const CERTIFICATE_ALERTS: [RegExp, string][] = [
  [/certificate[\s_]?required/i, "certificate_required"],
  [/bad[\s_]?certificate/i, "bad_certificate"],
  [/certificate[\s_]?unknown/i, "certificate_unknown"],
  [/unknown[\s_]?ca\b/i, "unknown_ca"],
  [/certificate[\s_]?expired/i, "certificate_expired"],
  [/certificate[\s_]?revoked/i, "certificate_revoked"],
  [/unsupported[\s_]?certificate/i, "unsupported_certificate"],
  [/access[\s_]?denied/i, "access_denied"],
];

/** The name of the certificate alert the peer sent, if that is what failed. */
function certificateAlert(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  const text = `${typeof code === "string" ? code : ""} ${error.message}`;
  if (!/alert/i.test(text)) return undefined;
  return CERTIFICATE_ALERTS.find(([pattern]) => pattern.test(text))?.[1];
}

/**
 * Turns the broker's refusal of the client's certificate into a named,
 * non-retriable failure. With TLS 1.3 the broker checks the client's
 * certificate after the client considers the handshake done, so the alert
 * arrives on the first read or write, not while connecting. `problem` is
 * what is wrong with the certificate or key, if this side can tell.
 */
function certificateAlerts(
  where: string,
  settings: TlsOptions,
  problem: CertificateProblem | undefined,
): (error: unknown) => unknown {
  return (error) => {
    const alert = certificateAlert(error);
    if (alert === undefined) return error;
    if (problem) {
      return invalidCertificate(where, {
        ...problem,
        text: `${problem.text}; the broker refused it (TLS alert ${alert})`,
        cause: error,
      });
    }
    const message = settings.cert === undefined
      ? `Cannot connect to ${where}: the broker requires a client certificate (mutual TLS): set tls.cert and tls.key (TLS alert ${alert})`
      : `Cannot connect to ${where}: the broker refused the client certificate (TLS alert ${alert}): "tls.cert" must be signed by a certificate authority the broker trusts (its ssl.truststore), be valid now, and allow client authentication`;
    return new ConnectionError(message, { cause: error, retriable: false });
  };
}

/** What is wrong with a client certificate or key, and the error that said so. */
interface CertificateProblem {
  text: string;
  cause?: unknown;
}

function invalidCertificate(
  where: string,
  problem: CertificateProblem,
): ConnectionError {
  return new ConnectionError(
    `Cannot connect to ${where}: the client certificate or key is invalid: ${problem.text}`,
    { cause: problem.cause, retriable: false },
  );
}

/** Each TLS settings object's diagnosis, made once. */
const diagnoses = new WeakMap<
  TlsOptions,
  Promise<CertificateProblem | undefined>
>();

/**
 * Whether the client certificate or key is unparsable, or a key that is not
 * the certificate's; undefined when they look fine or this runtime cannot
 * tell. Only used to name a failure: the runtime's TLS stack decides.
 */
function clientCertificateProblem(
  tls: TlsOptions | boolean | undefined,
): Promise<CertificateProblem | undefined> {
  if (typeof tls !== "object" || tls.cert === undefined) {
    return Promise.resolve(undefined);
  }
  let diagnosis = diagnoses.get(tls);
  if (!diagnosis) {
    diagnosis = diagnose(tls.cert, tls.key ?? "");
    diagnoses.set(tls, diagnosis);
  }
  return diagnosis;
}

async function diagnose(
  cert: string,
  key: string,
): Promise<CertificateProblem | undefined> {
  let crypto: typeof import("node:crypto");
  try {
    crypto = await import("node:crypto");
  } catch {
    return undefined;
  }
  let certificate: import("node:crypto").X509Certificate;
  try {
    certificate = new crypto.X509Certificate(cert);
  } catch (error) {
    return {
      text: `"tls.cert" is not a PEM certificate (${describe(error)})`,
      cause: error,
    };
  }
  let privateKey: import("node:crypto").KeyObject;
  try {
    privateKey = crypto.createPrivateKey(key);
  } catch (error) {
    return {
      text: `"tls.key" is not an unencrypted PEM private key (${
        describe(error)
      })`,
      cause: error,
    };
  }
  try {
    if (!certificate.checkPrivateKey(privateKey)) {
      return {
        text:
          `"tls.key" is not the private key of "tls.cert" (${certificate.subject})`,
      };
    }
  } catch {
    // This runtime cannot compare them: say nothing rather than guess.
  }
  return undefined;
}

/** Lets the process exit while only this timer is pending. */
export function unrefTimer(timer: ReturnType<typeof setTimeout>): void {
  if (typeof timer === "number") {
    (globalThis as { Deno?: { unrefTimer(id: number): void } }).Deno
      ?.unrefTimer(timer);
  } else {
    (timer as { unref?: () => void }).unref?.();
  }
}
