/**
 * Kafka's int32-length-prefixed frames, from the two kinds of socket.
 *
 * FrameSplitter takes chunks pushed by a stream: a frame that arrives whole
 * inside one chunk is handed out as a view of that chunk; a frame spread over
 * chunks is copied once into a buffer of its exact size.
 *
 * FrameReader pulls from a socket that reads into buffers it is given
 * (Deno's `conn.read`): small frames come through a scratch buffer and are
 * copied out of it once, and a large frame is read straight into a buffer
 * of its own.
 *
 * A frame's size is only what the peer says: a buffer for it starts at no
 * more than `FRAME_UPFRONT` bytes (8 MiB, or what has arrived) and doubles
 * as the bytes come, up to the size, so a frame that announces 256 MiB and
 * sends ten bytes costs 8 MiB, not 256 MiB. Fetch responses (a megabyte or
 * a few) fit at once, with no copy; a frame larger than that is copied about
 * once more in all, which against reading it off a socket is cheap.
 *
 * @module
 */

import { ProtocolError } from "../protocol/bytes.ts";

/** The most allocated for a frame before its bytes arrive. */
export const FRAME_UPFRONT = 8 * 1024 * 1024;
const UPFRONT = FRAME_UPFRONT;

/** Bun's and Node.js's `Buffer` (not Deno's: it would load Node.js's compatibility layer). */
const NodeBuffer = "Deno" in globalThis ? undefined : (globalThis as {
  Buffer?: { allocUnsafeSlow(n: number): Uint8Array };
}).Buffer;

/**
 * A buffer for `n` bytes that the caller overwrites whole before anyone
 * reads it: under Bun and Node.js, `Buffer.allocUnsafeSlow`'s memory, not
 * zeroed first (zeroing a 1 MiB frame took Bun about 60 µs, 6 ns a 100 B
 * message); under Deno a Uint8Array. Either way a plain Uint8Array, its
 * memory its own.
 */
function unzeroed(n: number): Uint8Array {
  if (NodeBuffer === undefined) return new Uint8Array(n);
  const b = NodeBuffer.allocUnsafeSlow(n);
  return new Uint8Array(b.buffer, b.byteOffset, n);
}

/** A buffer twice as large as `buf` (at most `size`) with its first `used` bytes. */
function grow(buf: Uint8Array, used: number, need: number, size: number) {
  const bigger = unzeroed(
    Math.min(size, Math.max(buf.length * 2, need)),
  );
  bigger.set(buf.subarray(0, used));
  return bigger;
}

export class FrameSplitter {
  private readonly maxFrame: number;
  private readonly sizeBytes = new Uint8Array(4);
  private sizeFilled = 0;
  /** The partial frame's buffer: it grows to `frameSize` as bytes come. */
  private frame: Uint8Array | null = null;
  private frameSize = 0;
  private frameFilled = 0;

  /** @param maxFrame the largest frame accepted, in bytes */
  constructor(maxFrame: number) {
    this.maxFrame = maxFrame;
  }

  /** True when no partial frame is buffered. */
  get idle(): boolean {
    return this.sizeFilled === 0 && this.frame === null;
  }

  /** Feeds one chunk, calling `onFrame` for every frame it completes. */
  push(chunk: Uint8Array, onFrame: (frame: Uint8Array) => void): void {
    let pos = 0;
    const length = chunk.length;
    while (pos < length) {
      if (this.frame !== null) {
        pos = this.fillFrame(chunk, pos, onFrame);
        continue;
      }
      if (this.sizeFilled === 0 && length - pos >= 4) {
        const size = this.checkSize(
          (chunk[pos] << 24) | (chunk[pos + 1] << 16) |
            (chunk[pos + 2] << 8) | chunk[pos + 3],
        );
        pos += 4;
        if (length - pos >= size) {
          onFrame(chunk.subarray(pos, pos + size));
          pos += size;
        } else {
          this.startFrame(size, length - pos);
        }
        continue;
      }
      pos = this.fillSize(chunk, pos, onFrame);
    }
  }

  private fillSize(
    chunk: Uint8Array,
    pos: number,
    onFrame: (frame: Uint8Array) => void,
  ): number {
    while (this.sizeFilled < 4 && pos < chunk.length) {
      this.sizeBytes[this.sizeFilled++] = chunk[pos++];
    }
    if (this.sizeFilled < 4) return pos;
    const b = this.sizeBytes;
    const size = this.checkSize(
      (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3],
    );
    this.sizeFilled = 0;
    if (size === 0) {
      onFrame(new Uint8Array(0));
      return pos;
    }
    this.startFrame(size, 0);
    return pos;
  }

  private startFrame(size: number, arriving: number): void {
    this.frame = unzeroed(Math.min(size, Math.max(UPFRONT, arriving)));
    this.frameSize = size;
    this.frameFilled = 0;
  }

  private fillFrame(
    chunk: Uint8Array,
    pos: number,
    onFrame: (frame: Uint8Array) => void,
  ): number {
    let frame = this.frame!;
    const filled = this.frameFilled;
    const n = Math.min(this.frameSize - filled, chunk.length - pos);
    if (filled + n > frame.length) {
      frame = this.frame = grow(frame, filled, filled + n, this.frameSize);
    }
    frame.set(chunk.subarray(pos, pos + n), filled);
    this.frameFilled += n;
    // The buffer grows to the size exactly, so a whole frame fills it.
    if (this.frameFilled === this.frameSize) {
      this.frame = null;
      onFrame(frame);
    }
    return pos + n;
  }

  private checkSize(size: number): number {
    return checkFrameSize(size, this.maxFrame);
  }
}

function checkFrameSize(size: number, maxFrame: number): number {
  if (size < 0 || size > maxFrame) {
    throw new ProtocolError(
      `frame size ${size} is outside 0..${maxFrame} (maxResponseSize); ${
        whatPeer(size)
      }`,
    );
  }
  return size;
}

/**
 * What a peer probably is, from the first four bytes it sent where a Kafka
 * frame's size belongs: an HTTP server, a TLS listener, or something else.
 */
function whatPeer(size: number): string {
  const b0 = size >>> 24;
  const b1 = (size >>> 16) & 0xff;
  if (size === 0x48545450) {
    return 'an HTTP server answered ("HTTP"): the address is not a Kafka listener, check the port';
  }
  // A TLS record: content type 21 (alert) or 22 (handshake), version 3.x.
  if ((b0 === 0x15 || b0 === 0x16) && b1 === 0x03) {
    return 'the peer answered with a TLS record: it is probably a TLS listener (SSL or SASL_SSL), so set the "tls" option (in "transport" for a Writer, Reader or Client) or use the plaintext port';
  }
  return "the peer may not be a Kafka broker, check the address and port";
}

/** Reads into `into`, resolving with the byte count, or null at the end. */
export type ReadInto = (into: Uint8Array) => Promise<number | null>;

/** Frames read straight from a socket that fills given buffers. */
export class FrameReader {
  private readonly read: ReadInto;
  private readonly maxFrame: number;
  private readonly scratch: Uint8Array;
  private start = 0;
  private end = 0;
  private midFrame = false;

  constructor(read: ReadInto, maxFrame: number, scratchSize = 64 * 1024) {
    this.read = read;
    this.maxFrame = maxFrame;
    this.scratch = new Uint8Array(scratchSize);
  }

  /** True when the stream ended between frames, not inside one. */
  get idle(): boolean {
    return this.start === this.end && !this.midFrame;
  }

  /** The next frame, or null when the socket ended. */
  async next(): Promise<Uint8Array | null> {
    if (!await this.fill(4)) return null;
    const b = this.scratch;
    const at = this.start;
    const size = checkFrameSize(
      (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3],
      this.maxFrame,
    );
    if (4 + size <= b.length) {
      // Filling may move the frame to the front of the scratch buffer.
      if (!await this.fill(4 + size)) return null;
      const from = this.start + 4;
      this.start = from + size;
      return b.slice(from, from + size);
    }
    return await this.readLarge(size);
  }

  /**
   * A frame larger than the scratch buffer: read into its own buffer, which
   * grows to the frame's size as its bytes arrive.
   */
  private async readLarge(size: number): Promise<Uint8Array | null> {
    let filled = this.end - this.start - 4;
    let frame = unzeroed(Math.min(size, Math.max(UPFRONT, filled)));
    frame.set(this.scratch.subarray(this.start + 4, this.end));
    this.start = this.end = 0;
    this.midFrame = true;
    while (filled < size) {
      if (filled === frame.length) frame = grow(frame, filled, filled, size);
      const n = await this.read(frame.subarray(filled));
      if (n === null) return null;
      filled += n;
    }
    this.midFrame = false;
    return frame;
  }

  /** Makes `n` bytes (at most the scratch size) available from `start`. */
  private async fill(n: number): Promise<boolean> {
    if (this.end - this.start >= n) return true;
    if (this.start + n > this.scratch.length) {
      this.scratch.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    while (this.end - this.start < n) {
      const count = await this.read(this.scratch.subarray(this.end));
      if (count === null) return false;
      this.end += count;
    }
    return true;
  }
}
