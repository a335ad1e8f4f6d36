/**
 * Compression of the Writer's batches, off the path of their encoding. A
 * Produce response frees every partition it answered at once, so their next
 * batches used to be compressed back to back and sent in one request while
 * the broker idled, then the client idled while the broker worked. Here they
 * are compressed a millisecond's worth at a time with a turn of the event
 * loop between: each batch goes out as soon as it is compressed, and the
 * broker works on it while the next is compressed. Codecs that can compress off the main
 * thread (gzip: Web Workers in Deno and Bun, `node:zlib`'s thread pool in
 * Node) take large batches all at once, on every core.
 *
 * @module
 */

import type { Codec } from "../../codecs/mod.ts";

interface Job {
  codec: Codec;
  data: Uint8Array;
  level: number | undefined;
  resolve(packed: Uint8Array): void;
  reject(error: unknown): void;
}

/**
 * A macrotask: after microtasks and pending I/O. `setTimeout(fn, 0)` waits
 * 1 to 4 ms (clamped when nested); `setImmediate` took 2 to 7 µs in Deno,
 * Bun and Node. It is looked up at the first call, not imported from
 * `node:timers`: in Deno either loads Node's timers, 4 ms of CPU at start-up
 * that a Writer without compression never needs.
 */
function nextTurn(fn: () => void): void {
  setImmediate(fn);
}

/**
 * Batches from this size are compressed off the main thread where the codec
 * can (`Codec.compressAsync`); smaller ones take less time to compress than
 * a worker's copy and messages.
 */
const ASYNC_FROM = 64 * 1024;

/**
 * Compression time after which the batches compressed in this turn of the
 * event loop go out before the next is compressed. Large batches go one at a
 * time; small ones (many partitions) share a request, rather than each
 * costing one, which doubled the broker's CPU per message with 60
 * partitions of 76-message batches.
 */
const TURN_MS = 1;

/** Compresses batches in the order asked, a millisecond's worth per turn of the event loop. */
export class Compressor {
  private readonly jobs: Job[] = [];
  private running = false;

  /**
   * The codec's framing of `data`, at `level` (the codec's default when
   * undefined); `data` must not change until it resolves. The first batch
   * is compressed at once; one asked for after a millisecond of compression
   * in this turn waits for the next turn.
   */
  compress(
    codec: Codec,
    data: Uint8Array,
    level?: number,
  ): Promise<Uint8Array> {
    // Off the main thread: no batch waits for another. A small batch is
    // not worth the hand-over.
    if (codec.compressAsync && data.length >= ASYNC_FROM) {
      return codec.compressAsync(data, level);
    }
    return new Promise((resolve, reject) => {
      this.jobs.push({ codec, data, level, resolve, reject });
      if (!this.running) {
        this.running = true;
        this.drain();
      }
    });
  }

  private drain(): void {
    if (this.jobs.length === 0) {
      this.running = false;
      return;
    }
    const start = performance.now();
    do {
      const job = this.jobs.shift()!;
      try {
        job.resolve(job.codec.compress(job.data, job.level));
      } catch (error) {
        job.reject(error);
      }
    } while (this.jobs.length > 0 && performance.now() - start < TURN_MS);
    // The next waits for a turn of the event loop, even one asked for later
    // in this turn: the batches just compressed go out first.
    nextTurn(() => this.drain());
  }
}
