/**
 * Splits a byte stream into Kafka's int32-length-prefixed frames.
 *
 * A frame that arrives whole inside one chunk is handed out as a view of that
 * chunk; a frame spread over chunks is copied once into a buffer of its exact
 * size. Either way each byte is copied at most once.
 *
 * @module
 */

import { ProtocolError } from "../protocol/bytes.ts";

export class FrameSplitter {
  private readonly maxFrame: number;
  private readonly sizeBytes = new Uint8Array(4);
  private sizeFilled = 0;
  private frame: Uint8Array | null = null;
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
          this.frame = new Uint8Array(size);
          this.frameFilled = 0;
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
    this.frame = new Uint8Array(size);
    this.frameFilled = 0;
    return pos;
  }

  private fillFrame(
    chunk: Uint8Array,
    pos: number,
    onFrame: (frame: Uint8Array) => void,
  ): number {
    const frame = this.frame!;
    const n = Math.min(frame.length - this.frameFilled, chunk.length - pos);
    frame.set(chunk.subarray(pos, pos + n), this.frameFilled);
    this.frameFilled += n;
    if (this.frameFilled === frame.length) {
      this.frame = null;
      onFrame(frame);
    }
    return pos + n;
  }

  private checkSize(size: number): number {
    if (size < 0 || size > this.maxFrame) {
      throw new ProtocolError(
        `Cannot read response: frame size ${size} is outside 0..${this.maxFrame} (maxResponseSize); the peer may not be a Kafka broker`,
      );
    }
    return size;
  }
}
