/**
 * A small pool of Web Workers that run one codec's compression off the main
 * thread (gzip's in Deno, whose asynchronous `node:zlib` calls run on the
 * main thread, and in Bun, whose run zlib's slower level 6). Workers start
 * on first use and stop after a moment without work
 * (a live Web Worker keeps a Deno process running, and cannot be unref'd).
 * Where a worker cannot start or fails (say, Deno without read permission
 * on the module), the pool compresses on the calling thread from then on.
 *
 * @module
 */

/** How long workers stay up without work. */
const IDLE_MS = 250;

interface Job {
  resolve(out: Uint8Array): void;
  reject(error: Error): void;
  data: Uint8Array;
  level: number | undefined;
}

/** Compression on `size` Web Workers running `module`, or inline where they cannot. */
export class WorkerPool {
  private readonly module: URL;
  private readonly size: number;
  private readonly inline: (data: Uint8Array, level?: number) => Uint8Array;
  private readonly name: string;
  private workers: Worker[] = [];
  private load: number[] = [];
  private readonly jobs = new Map<number, Job & { worker: number }>();
  private nextId = 0;
  /** Input buffers the workers handed back, for the next copies. */
  private spare: ArrayBuffer[] = [];
  private broken = false;
  private idle: ReturnType<typeof setTimeout> | undefined;

  /**
   * `inline` compresses on the calling thread (what the workers do), used
   * when they cannot; `name` prefixes the errors.
   */
  constructor(
    module: URL,
    size: number,
    name: string,
    inline: (data: Uint8Array, level?: number) => Uint8Array,
  ) {
    this.module = module;
    this.size = size;
    this.name = name;
    this.inline = inline;
  }

  /** Compresses a copy of `data` (at `level`) on the least busy worker. */
  run(data: Uint8Array, level?: number): Promise<Uint8Array> {
    if (!this.broken && this.workers.length === 0) this.start();
    if (this.broken) return this.now(data, level);
    this.stopIdleTimer();
    let k = 0;
    for (let i = 1; i < this.workers.length; i++) {
      if (this.load[i] < this.load[k]) k = i;
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.jobs.set(id, { resolve, reject, data, level, worker: k });
      this.load[k]++;
      try {
        const copy = this.buffer(data.length);
        copy.set(data);
        this.workers[k].postMessage({ id, data: copy, level }, [
          copy.buffer as ArrayBuffer,
        ]);
      } catch (error) {
        // Not handed over (out of memory, a worker gone): forgotten, so
        // that the idle workers still stop and let the process end.
        this.jobs.delete(id);
        this.load[k]--;
        if (this.jobs.size === 0) this.startIdleTimer();
        reject(error);
      }
    });
  }

  /**
   * A buffer for a copy of `length` bytes: one the workers handed back, or
   * a new one. Reusing them spares the collector a batch-sized buffer per
   * batch (with two workers, peak RSS was ~75 MiB higher without).
   */
  private buffer(length: number): Uint8Array {
    const i = this.spare.findIndex((b) => b.byteLength >= length);
    if (i < 0) return new Uint8Array(length);
    const [buffer] = this.spare.splice(i, 1);
    return new Uint8Array(buffer, 0, length);
  }

  private now(data: Uint8Array, level?: number): Promise<Uint8Array> {
    try {
      return Promise.resolve(this.inline(data, level));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private start(): void {
    if (!this.mayRead()) {
      this.broken = true;
      return;
    }
    try {
      for (let i = 0; i < this.size; i++) {
        const worker = new Worker(this.module.href, { type: "module" });
        worker.onmessage = (event) => this.answer(event.data);
        worker.onerror = (event) => {
          event.preventDefault();
          this.fail();
        };
        worker.onmessageerror = () => this.fail();
        this.workers.push(worker);
        this.load.push(0);
      }
    } catch {
      this.fail();
    }
  }

  /**
   * Whether Deno may read a local worker module: without read permission a
   * worker fails after printing an uncaught error, so it is not started.
   */
  private mayRead(): boolean {
    const deno = (globalThis as {
      Deno?: {
        permissions: {
          querySync?(d: { name: "read"; path: URL }): { state: string };
        };
      };
    }).Deno;
    if (!deno?.permissions.querySync || this.module.protocol !== "file:") {
      return true;
    }
    try {
      return deno.permissions.querySync({ name: "read", path: this.module })
        .state === "granted";
    } catch {
      return false;
    }
  }

  private answer(
    message: {
      id: number;
      out?: Uint8Array;
      error?: string;
      input?: ArrayBuffer;
    },
  ): void {
    if (message.input && this.spare.length < 2 * this.size) {
      this.spare.push(message.input);
    }
    const job = this.jobs.get(message.id);
    if (job === undefined) return;
    this.jobs.delete(message.id);
    this.load[job.worker]--;
    if (message.out) job.resolve(message.out);
    else job.reject(new Error(`${this.name}: ${message.error}`));
    if (this.jobs.size === 0) this.startIdleTimer();
  }

  /** A worker failed: stop them all and compress what they held here. */
  private fail(): void {
    this.broken = true;
    this.stop();
    const jobs = [...this.jobs.values()];
    this.jobs.clear();
    for (const job of jobs) {
      this.now(job.data, job.level).then(job.resolve, job.reject);
    }
  }

  private startIdleTimer(): void {
    this.stopIdleTimer();
    const timer = setTimeout(() => {
      this.idle = undefined;
      if (this.jobs.size === 0) this.stop();
    }, IDLE_MS);
    this.idle = timer;
    // The timer itself must not keep the process alive.
    const deno = (globalThis as { Deno?: { unrefTimer(id: number): void } })
      .Deno;
    if (deno) deno.unrefTimer(timer as unknown as number);
    else (timer as { unref?(): void }).unref?.();
  }

  private stopIdleTimer(): void {
    if (this.idle !== undefined) clearTimeout(this.idle);
    this.idle = undefined;
  }

  private stop(): void {
    this.stopIdleTimer();
    for (const worker of this.workers) worker.terminate();
    this.workers = [];
    this.load = [];
    this.spare = [];
  }
}
