/**
 * Talking to a KDC over TCP (RFC 4120 section 7.2.2): one request and its
 * answer per connection, each message after its 4-byte length, the framing
 * Kafka uses too, so the connection's frame readers read it.
 *
 * @module
 */

import { ConnectionError, ProtocolError, TimeoutError } from "../errors.ts";
import { FrameReader, FrameSplitter } from "../framing.ts";
import { openSocket, type Socket } from "../socket.ts";

/** One request and its answer over a fresh TCP connection to a KDC. */
export async function kdcRoundTrip(
  host: string,
  port: number,
  request: Uint8Array,
  timeout: number,
): Promise<Uint8Array> {
  const where = `KDC ${host}:${port}`;
  // `timeout` bounds the connect and the answer together.
  const deadline = Date.now() + timeout;
  const socket = await openSocket({ host, port, timeout });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, request.length);
    const answer = readFrame(socket, where);
    // Awaited below unless the write fails first.
    answer.catch(() => {});
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new TimeoutError(`${where} did not answer in ${timeout} ms`)),
        Math.max(0, deadline - Date.now()),
      );
    });
    await Promise.race([socket.write([length, request]), late]);
    try {
      return await Promise.race([answer, late]);
    } catch (error) {
      // A frame no KDC would send (e.g. an HTTP or TLS server's bytes).
      if (error instanceof ProtocolError) throw notKdc(host, port, error);
      throw error;
    }
  } finally {
    clearTimeout(timer);
    socket.close();
  }
}

/** What retrying cannot fix: the peer at `host:port` is not a KDC. */
export function notKdc(
  host: string,
  port: number,
  error: unknown,
): ConnectionError {
  return new ConnectionError(
    `KDC ${host}:${port} answered with something that is not Kerberos (${
      error instanceof Error ? error.message : String(error)
    }): check the "kdc" address`,
    { cause: error, retriable: false },
  );
}

/** The largest KDC answer taken (tickets with big PACs run to tens of KB). */
const MAX_ANSWER = 1 << 20;

/**
 * Reads one answer: the KDC's TCP framing is Kafka's (a 4-byte length,
 * then the message), so the connection's frame readers serve.
 */
async function readFrame(socket: Socket, where: string): Promise<Uint8Array> {
  let frame: Uint8Array | null = null;
  if (socket.read) {
    frame = await new FrameReader(socket.read, MAX_ANSWER).next();
  } else {
    const splitter = new FrameSplitter(MAX_ANSWER);
    const reader = socket.readable!.getReader();
    try {
      while (frame === null) {
        const { value, done } = await reader.read();
        if (done) break;
        splitter.push(value, (f) => frame ??= f);
      }
    } finally {
      reader.releaseLock();
    }
  }
  if (frame === null) {
    throw new ConnectionError(
      `${where} closed the connection before answering`,
    );
  }
  return frame;
}
