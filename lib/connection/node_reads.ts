/**
 * Reads from a Node.js socket (`node:net`, `node:tls`) into buffers the
 * caller gives, as Deno's `conn.read` does, through the socket's `onread`
 * option (Bun's copies once more, so Bun does not use this):
 * the runtime asks for a buffer before each read, and is handed the one the
 * caller is waiting to fill. A large response then goes from the runtime
 * straight into its own buffer, where `'data'` events would allocate a
 * chunk for each read and the frame splitter copy it out again.
 *
 * Node.js asks for the next buffer as soon as a read's callback returns,
 * before the caller, woken by that read, has asked for its next one. So
 * when no read waits, the runtime is given the rest of the buffer the last
 * read filled, where the caller reads next (the rest of a frame, of the
 * scratch buffer); a read into that same memory then takes the bytes as
 * they lie, and a read elsewhere gets them copied. Without this every read
 * went to a spare buffer and was copied (344 of 344 reads of 20 fetches).
 * The caller must therefore leave the rest of the last buffer it gave
 * unwritten until its next read, as the frame reader does.
 *
 * @module
 */

/** What the runtime reads into when no read is waiting. */
const SPARE_BYTES = 64 * 1024;

/** The part of a `node:net` socket reading it takes. */
export interface PausableSocket {
  on(event: string, listener: (arg: never) => void): void;
  pause(): void;
  resume(): void;
}

/** The socket's `onread` option: give it to `net.connect`. */
export interface OnRead {
  buffer: () => Uint8Array;
  callback: (bytes: number, buffer: Uint8Array) => boolean;
}

/**
 * Sequential reads of one socket into given buffers. `onread` goes to
 * `net.connect`; `attach` then follows the socket's end and errors.
 */
export class NodeReads {
  readonly onread: OnRead;
  #socket: PausableSocket | null = null;
  /** The buffer of the read in progress, and how to settle it. */
  #into: Uint8Array | null = null;
  #resolve: (bytes: number | null) => void = ignore;
  #reject: (error: unknown) => void = ignore;
  /** The buffer the runtime was last given: the next callback filled it. */
  #lent: Uint8Array | null = null;
  /** What the last read left of its buffer, where the next read likely goes. */
  #rest: Uint8Array | null = null;
  #spare: Uint8Array | null = null;
  /** Bytes read while no read was waiting, oldest first; reading stops meanwhile. */
  #queued: Uint8Array[] = [];
  #ended = false;
  #failure: unknown = null;

  constructor() {
    this.onread = {
      buffer: () => {
        this.#lent = this.#into ?? this.#rest ??
          (this.#spare ??= new Uint8Array(SPARE_BYTES));
        return this.#lent;
      },
      callback: (bytes) => this.#arrived(bytes),
    };
  }

  /** Follows `socket`'s end and errors; `explain` words its errors. */
  attach(socket: PausableSocket, explain: (error: unknown) => unknown): void {
    this.#socket = socket;
    socket.on("error", (error: Error) => {
      this.#failure ??= explain(error);
      this.#settle();
    });
    const end = () => {
      this.#ended = true;
      this.#settle();
    };
    socket.on("end", end);
    socket.on("close", end);
  }

  /**
   * Reads into `into`: resolves with the byte count (at least 1), or null
   * once the socket has ended; rejects with the socket's error.
   */
  read(into: Uint8Array): Promise<number | null> {
    if (this.#into !== null) {
      return Promise.reject(new Error("a read is already in progress"));
    }
    if (this.#queued.length > 0) return Promise.resolve(this.#unqueue(into));
    if (this.#failure !== null) return Promise.reject(this.#failure);
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.#into = into;
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** The runtime read `bytes` into the buffer it was last given. */
  #arrived(bytes: number): boolean {
    const lent = this.#lent;
    this.#lent = null;
    if (bytes <= 0 || lent === null) return true;
    const into = this.#into;
    this.#rest = null;
    let at = 0;
    if (into !== null) {
      this.#into = null;
      at = Math.min(bytes, into.length);
      // The bytes lie where the read wanted them, or are copied there (a
      // read begun after the runtime took another buffer).
      if (!sameStart(lent, into)) into.set(lent.subarray(0, at));
      if (at < into.length) this.#rest = into.subarray(at);
      this.#resolve(at);
    }
    if (at === bytes) return true;
    this.#queued.push(lent.slice(at, bytes));
    this.#socket?.pause();
    return false;
  }

  /** Copies queued bytes into `into`; reading resumes once all are taken. */
  #unqueue(into: Uint8Array): number {
    const first = this.#queued[0];
    const n = Math.min(first.length, into.length);
    into.set(first.subarray(0, n));
    this.#rest = n < into.length ? into.subarray(n) : null;
    if (n < first.length) {
      this.#queued[0] = first.subarray(n);
    } else {
      this.#queued.shift();
      if (this.#queued.length === 0 && !this.#ended) this.#socket?.resume();
    }
    return n;
  }

  /** Ends the read in progress with the failure, or with the end. */
  #settle(): void {
    if (this.#into === null) return;
    this.#into = null;
    if (this.#failure !== null) this.#reject(this.#failure);
    else this.#resolve(null);
  }
}

/** Whether `a` and `b` start at the same byte of the same buffer. */
function sameStart(a: Uint8Array, b: Uint8Array): boolean {
  return a.buffer === b.buffer && a.byteOffset === b.byteOffset;
}

function ignore(): void {}
