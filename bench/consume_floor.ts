/**
 * The least CPU a JavaScript consumer can spend per message on this
 * runtime, to set `consume_cpu.ts`'s figures against: one socket, one Fetch
 * (v4) at a time for partition 0 of the topic `consume_cpu.ts --fill`
 * filled, and only as much work on each response as the flags ask for.
 *
 *   deno run -A bench/consume_floor.ts [--messages N] [--crc] [--records]
 *     [--views] [--reuse] [--rounds R]
 *
 * - no flag: each response is read into a buffer of its own, as a consumer
 *   that hands out views into it must do, and only the record batches'
 *   headers are read (for the next offset);
 * - `--crc`: each batch's CRC-32C is checked too;
 * - `--records`: each record's length, attributes, timestamp and offset
 *   deltas, key and value lengths are decoded (what a record table needs);
 * - `--views`: and a Uint8Array view is made of each value;
 * - `--reuse`: every response is read into one buffer, reused: what the
 *   fresh buffers cost (page faults, zeroing).
 *
 * `--rounds R` reads the topic R times over the one socket (the first
 * read compiles the code; compare the later ones with `consume_cpu.ts
 * --rounds`). It prints, for each read, the CPU ns per message (user + system of this process from the
 * first Fetch to the last response).
 *
 * @module
 */

import process from "node:process";
import { crc32c } from "../lib/protocol/crc32c.ts";
import { fitNextFetch } from "../lib/requests/fetch.ts";

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at < 0 ? fallback : process.argv[at + 1];
}

const total = Number(option("--messages", "1000000"));
const topic = `consume-cpu-${total}`;
const [host, port] = (process.env.KAFKA_BROKERS?.split(",")[0] ??
  "127.0.0.1:9092").split(":");
const checkCrc = process.argv.includes("--crc");
const views = process.argv.includes("--views");
const records = views || process.argv.includes("--records");
const reuse = process.argv.includes("--reuse");
const rounds = Number(option("--rounds", "1"));
if (!(Number.isInteger(rounds) && rounds > 0)) {
  console.error(`--rounds ${rounds}: expected a whole number above 0`);
  process.exit(2);
}

/** Bytes of a v2 record batch before its first record. */
const BATCH_HEADER = 61;
const MAX_BYTES = 1 << 20;

/** A Fetch v4 request for partition 0 of `topic` from `offset`. */
function fetchRequest(
  correlationId: number,
  offset: bigint,
  partitionMax: number,
): Uint8Array {
  const clientId = new TextEncoder().encode("consume-floor");
  const name = new TextEncoder().encode(topic);
  const size = 4 + 2 + 2 + 4 + 2 + clientId.length + 4 * 4 + 1 + 4 + 2 +
    name.length + 4 + 4 + 8 + 4;
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  let at = 0;
  const int16 = (v: number) => (view.setInt16(at, v), at += 2);
  const int32 = (v: number) => (view.setInt32(at, v), at += 4);
  const raw = (b: Uint8Array) => (bytes.set(b, at), at += b.length);
  int32(size - 4);
  int16(1); // Fetch
  int16(4);
  int32(correlationId);
  int16(clientId.length);
  raw(clientId);
  int32(-1); // replica id
  int32(500); // max wait ms
  int32(1); // min bytes
  int32(MAX_BYTES);
  view.setInt8(at++, 0); // read uncommitted
  int32(1);
  int16(name.length);
  raw(name);
  int32(1);
  int32(0); // partition
  view.setBigInt64(at, offset);
  at += 8;
  int32(partitionMax);
  return bytes;
}

const conn = await Deno.connect({ hostname: host, port: Number(port) });

async function readFull(into: Uint8Array): Promise<void> {
  for (let got = 0; got < into.length;) {
    const n = await conn.read(into.subarray(got));
    if (n === null) throw new Error("the broker closed the connection");
    got += n;
  }
}

/** Where the zigzag varint at `at` ends; its value in `varintValue`. */
let varintValue = 0;
function varint(b: Uint8Array, at: number): number {
  let x = 0;
  let shift = 0;
  let c: number;
  do {
    c = b[at++];
    x |= (c & 0x7f) << shift;
    shift += 7;
  } while (c & 0x80);
  varintValue = (x >>> 1) ^ -(x & 1);
  return at;
}

/** The last value view made: a module variable, so every view is made. */
export let lastValue: Uint8Array | null = null;

/** Steps over the `count` records at `at`; returns the value bytes seen. */
function walkRecords(b: Uint8Array, at: number, count: number): number {
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    at = varint(b, at);
    const end = at + varintValue;
    at = varint(b, at + 1); // after attributes: timestamp delta
    at = varint(b, at); // offset delta
    at = varint(b, at); // key length
    if (varintValue > 0) at += varintValue;
    at = varint(b, at);
    if (views && varintValue >= 0) {
      // Kept where the compiler must assume it is used, so it is made.
      lastValue = new Uint8Array(b.buffer, b.byteOffset + at, varintValue);
      bytes += lastValue.length;
    } else if (varintValue > 0) {
      bytes += varintValue;
    }
    at = end;
  }
  return bytes;
}

const head = new Uint8Array(4);
let shared = new Uint8Array(2 * MAX_BYTES);

/** One read of the topic from offset 0, printed as one line. */
async function readOnce(): Promise<void> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  let valueBytes = 0;
  let offset = 0n;
  /** The partition's limit in the next request (see fitNextFetch). */
  let partitionMax = MAX_BYTES;
  for (let correlationId = 1; n < total; correlationId++) {
    await conn.write(fetchRequest(correlationId, offset, partitionMax));
    await readFull(head);
    const size = new DataView(head.buffer).getInt32(0);
    if (reuse && shared.length < size) shared = new Uint8Array(size);
    const frame = reuse ? shared.subarray(0, size) : new Uint8Array(size);
    await readFull(frame);
    const view = new DataView(frame.buffer, frame.byteOffset, frame.length);
    // Correlation id, throttle, one topic (name), one partition: its index,
    // error, high watermark, last stable offset, aborted transactions.
    let at = 12;
    at += 2 + view.getInt16(at) + 4 + 4;
    const error = view.getInt16(at);
    if (error !== 0) throw new Error(`Fetch error code ${error}`);
    at += 2 + 8 + 8;
    at += 4 + Math.max(0, view.getInt32(at)) * 16;
    const end = at + 4 + view.getInt32(at);
    at += 4;
    let largest = 0;
    let cut = 0;
    while (at + BATCH_HEADER <= end) {
      const length = view.getInt32(at + 8);
      const next = at + 12 + length;
      if (next > end) { // a partial batch at the end of the response
        cut = 12 + length;
        break;
      }
      largest = Math.max(largest, 12 + length);
      if (
        checkCrc &&
        crc32c(frame.subarray(at + 21, next)) !== view.getUint32(at + 17)
      ) {
        throw new Error(`CRC mismatch in the batch at ${view.getBigInt64(at)}`);
      }
      const count = view.getInt32(at + 57);
      if (records) valueBytes += walkRecords(frame, at + BATCH_HEADER, count);
      n += count;
      offset = view.getBigInt64(at) + BigInt(view.getInt32(at + 23)) + 1n;
      at = next;
    }
    // As the Reader does: ask for just the batch cut off when it and one more
    // would not fit (a 12-byte tail too short for a whole header is not seen
    // here, which only makes this floor lower).
    partitionMax = fitNextFetch(cut, largest, MAX_BYTES, 1) || MAX_BYTES;
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const work = [
    reuse ? "one reused buffer" : "fresh buffers",
    checkCrc ? "CRC-32C" : "no CRC",
    views ? "records and value views" : records ? "records" : "batch headers",
  ].join(", ");
  console.log(
    `floor (${work}): ${n} msgs in ${seconds.toFixed(2)} s, cpu ${
      Math.round((cpu.user + cpu.system) * 1000 / n)
    } ns/msg (user ${(cpu.user / 1e6).toFixed(3)} s, sys ${
      (cpu.system / 1e6).toFixed(3)
    } s)${records ? `, ${valueBytes} value bytes` : ""}`,
  );
}

for (let round = 0; round < rounds; round++) await readOnce();
conn.close();
