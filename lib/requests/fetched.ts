/**
 * The messages of one Fetch response, made one at a time as they are taken:
 * what the Reader queues and what a Conn's Batch hands out. A message's key,
 * value, headers and time are decoded when first read.
 *
 * @module
 */

import type { Header, Message } from "../message.ts";
import type { RecordTables } from "../protocol/read_records.ts";
import type { RecordTable } from "../protocol/record_table.ts";
import type { RecordHeader } from "../protocol/records.ts";

/** Which partition the records came from, and how to hand them out. */
export interface FetchedFrom {
  topic: string;
  partition: number;
  highWaterMark: number;
  /** Copy keys, values and header values out of the response. */
  copyValues?: boolean | undefined;
}

/**
 * A fetched message. Its key, value, headers and time are read from the
 * fetched records when first asked for, then kept: a consumer that reads
 * only values never pays for keys, headers or dates. They are accessors, so
 * a spread (`{ ...message }`) or `structuredClone` copies only topic,
 * partition, offset and high watermark; `toJSON()` and the runtimes'
 * inspectors show all of it.
 */
export class FetchedMessage implements Message {
  topic: string;
  partition: number;
  offset: number;
  highWaterMark: number;
  readonly #table: RecordTable;
  readonly #index: number;
  readonly #copy: boolean;
  #key: Uint8Array<ArrayBuffer> | null | undefined = undefined;
  #value: Uint8Array<ArrayBuffer> | null | undefined = undefined;
  #headers: Header[] | undefined = undefined;
  #time: Date | undefined = undefined;

  constructor(
    table: RecordTable,
    index: number,
    from: FetchedFrom,
    copy: boolean,
  ) {
    this.topic = from.topic;
    this.partition = from.partition;
    this.offset = table.offset(index);
    this.highWaterMark = from.highWaterMark;
    this.#table = table;
    this.#index = index;
    this.#copy = copy;
  }

  get key(): Uint8Array<ArrayBuffer> | null {
    if (this.#key === undefined) {
      const key = this.#table.key(this.#index);
      this.#key = this.#copy ? copyBytes(key) : key;
    }
    return this.#key;
  }

  set key(key: Uint8Array<ArrayBuffer> | null) {
    this.#key = key;
  }

  get value(): Uint8Array<ArrayBuffer> | null {
    if (this.#value === undefined) {
      const value = this.#table.value(this.#index);
      this.#value = this.#copy ? copyBytes(value) : value;
    }
    return this.#value;
  }

  set value(value: Uint8Array<ArrayBuffer> | null) {
    this.#value = value;
  }

  get headers(): Header[] {
    if (this.#headers === undefined) {
      const headers = this.#table.headers(this.#index) as Header[];
      this.#headers = this.#copy ? headers.map(copyHeader) : headers;
    }
    return this.#headers;
  }

  set headers(headers: Header[]) {
    this.#headers = headers;
  }

  get time(): Date {
    if (this.#time === undefined) {
      this.#time = new Date(this.#table.timestamp(this.#index));
    }
    return this.#time;
  }

  set time(time: Date) {
    this.#time = time;
  }

  /**
   * The message's time in milliseconds, for writing it again: the record's
   * own unless `time` was set, without making a Date.
   */
  static timestampOf(m: FetchedMessage): number {
    return m.#time !== undefined
      ? m.#time.getTime()
      : m.#table.timestamp(m.#index);
  }

  /**
   * The message's headers for writing it again: the record's own (undefined
   * when it has none, no list made), or null when `headers` was read or set,
   * so that the writer takes them as the user's.
   */
  static headersOf(m: FetchedMessage): RecordHeader[] | undefined | null {
    if (m.#headers !== undefined) return null;
    return m.#table.hasHeaders(m.#index)
      ? m.#table.headers(m.#index)
      : undefined;
  }

  /** The message as a plain object. */
  toJSON(): Message {
    return {
      topic: this.topic,
      partition: this.partition,
      offset: this.offset,
      highWaterMark: this.highWaterMark,
      key: this.key,
      value: this.value,
      headers: this.headers,
      time: this.time,
    };
  }

  /** Deno's console shows the plain object. */
  [Symbol.for("Deno.customInspect")](
    inspect: (value: unknown, options: unknown) => string,
    options: unknown,
  ): string {
    return inspect(this.toJSON(), options);
  }

  /** Node's and Bun's console show the plain object. */
  [Symbol.for("nodejs.util.inspect.custom")](
    _depth: number,
    options: unknown,
    inspect: (value: unknown, options: unknown) => string,
  ): string {
    return inspect(this.toJSON(), options);
  }
}

/**
 * Messages decoded on demand from checked record tables. A message that is
 * never taken (the reader seeks away, or closes) is never made, and each
 * one taken is garbage as soon as its consumer drops it.
 */
export class FetchedMessages {
  /** Messages not yet taken. */
  remaining: number;
  readonly highWaterMark: number;
  private readonly tables: RecordTable[];
  /** The table being taken from (its index in `tables`), and the next record in it. */
  private at = -1;
  private table: RecordTable | undefined = undefined;
  private index = 0;
  /** The table's record count. */
  private end = 0;
  private readonly from: FetchedFrom;
  private readonly copy: boolean;

  constructor(found: RecordTables, from: FetchedFrom) {
    this.tables = found.tables;
    this.remaining = found.count;
    this.highWaterMark = from.highWaterMark;
    this.from = from;
    this.copy = from.copyValues === true;
  }

  /** The next message, or undefined when all were taken. */
  next(): Message | undefined {
    // The common case stays small enough for the runtimes to inline it
    // into the consumer's loop; moving on to the next table is a call.
    if (this.index === this.end && !this.nextTable()) return undefined;
    this.remaining--;
    return new FetchedMessage(this.table!, this.index++, this.from, this.copy);
  }

  /** Moves to the next table with records; false when there is none. */
  private nextTable(): boolean {
    while (this.at + 1 < this.tables.length) {
      const table = this.tables[++this.at];
      if (table.count > 0) {
        this.table = table;
        this.index = 0;
        this.end = table.count;
        return true;
      }
    }
    return false;
  }

  /**
   * The records not yet taken, as a run read by index (no message made),
   * or null when none is left. They count as taken.
   */
  takeRun(): FetchedRun | null {
    if (this.remaining === 0) return null;
    if (this.index === this.end) this.nextTable();
    const tables = this.tables.slice(this.at);
    const run = new FetchedRun(
      tables,
      this.index,
      this.remaining,
      this.from,
      this.copy,
    );
    this.remaining = 0;
    this.at = this.tables.length - 1;
    this.index = this.end = 0;
    this.table = undefined;
    return run;
  }
}

/**
 * Consecutive fetched records of one partition, read by index: record `i`'s
 * offset, key, value, headers and time, each decoded only when asked for,
 * with no message object per record. What `Reader.batches()` hands out.
 */
export class FetchedRun {
  /** How many records the run holds. */
  readonly length: number;
  readonly from: FetchedFrom;
  readonly #tables: RecordTable[];
  /** Where each table's first record of the run falls in the run. */
  readonly #starts: number[];
  /** The run's first record in its first table. */
  readonly #skip: number;
  readonly #copy: boolean;
  /** The table the last lookup found: reading in order stays on it. */
  #at = 0;

  constructor(
    tables: RecordTable[],
    skip: number,
    length: number,
    from: FetchedFrom,
    copy: boolean,
  ) {
    this.#tables = tables;
    this.#skip = skip;
    this.length = length;
    this.from = from;
    this.#copy = copy;
    const starts: number[] = [];
    let at = -skip;
    for (const table of tables) {
      starts.push(Math.max(0, at));
      at += table.count;
    }
    this.#starts = starts;
  }

  /** The table holding record `i`, as the index into `#tables`. */
  #find(i: number): number {
    if (!(i >= 0 && i < this.length)) {
      throw new RangeError(
        `record index ${i} is outside 0..${this.length - 1} of this batch`,
      );
    }
    const starts = this.#starts;
    let t = this.#at;
    if (i < starts[t]) t = 0;
    while (t + 1 < starts.length && starts[t + 1] <= i) t++;
    this.#at = t;
    return t;
  }

  /** Record `i`'s index in its own table. */
  #local(t: number, i: number): number {
    return i - this.#starts[t] + (t === 0 ? this.#skip : 0);
  }

  /** The offset of record `i`. */
  offset(i: number): number {
    const t = this.#find(i);
    return this.#tables[t].offset(this.#local(t, i));
  }

  /** The time of record `i`, in milliseconds since the epoch. */
  timestamp(i: number): number {
    const t = this.#find(i);
    return this.#tables[t].timestamp(this.#local(t, i));
  }

  /** The key of record `i` (a view into the response unless copying). */
  key(i: number): Uint8Array<ArrayBuffer> | null {
    const t = this.#find(i);
    const key = this.#tables[t].key(this.#local(t, i));
    return this.#copy ? copyBytes(key) : key;
  }

  /** The value of record `i` (a view into the response unless copying). */
  value(i: number): Uint8Array<ArrayBuffer> | null {
    const t = this.#find(i);
    const value = this.#tables[t].value(this.#local(t, i));
    return this.#copy ? copyBytes(value) : value;
  }

  /** The headers of record `i`, decoded anew on each call. */
  headers(i: number): Header[] {
    const t = this.#find(i);
    const headers = this.#tables[t].headers(this.#local(t, i)) as Header[];
    return this.#copy ? headers.map(copyHeader) : headers;
  }

  /** Record `i` as a message. */
  message(i: number): FetchedMessage {
    const t = this.#find(i);
    return new FetchedMessage(
      this.#tables[t],
      this.#local(t, i),
      this.from,
      this.#copy,
    );
  }
}

function copyBytes(bytes: Uint8Array | null): Uint8Array<ArrayBuffer> | null {
  return bytes === null ? null : bytes.slice();
}

function copyHeader(header: Header): Header {
  return { key: header.key, value: copyBytes(header.value) };
}
