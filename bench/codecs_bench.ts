/**
 * Compression and decompression speed of each codec on JSON records, in
 * batches of 1 KiB and 1 MiB. A plain script, so both runtimes run it:
 *
 *     deno run -A bench/codecs_bench.ts
 *     bun bench/codecs_bench.ts
 *
 * MB/s counts uncompressed bytes (10^6 per MB) either way. The gzip rows
 * through CompressionStream are the alternative `codecs/gzip.ts` was measured
 * against.
 *
 * @module
 */

import { type Codec, loadCodec } from "../codecs/mod.ts";
import { jsonRecords } from "../codecs/_test_data.ts";

const SIZES = [1024, 1024 * 1024];
/** How long each measurement runs, after a warm-up of a fifth of that. */
const MEASURE_MS = 1000;

const runtime = "Bun" in globalThis
  ? `Bun ${(globalThis as { Bun?: { version: string } }).Bun?.version}`
  : `Deno ${
    (globalThis as { Deno?: { version: { deno: string } } }).Deno?.version.deno
  }`;

/** Runs `fn` for about `ms` milliseconds and returns MB/s of `bytes` per call. */
async function throughput(
  bytes: number,
  fn: () => unknown,
  ms = MEASURE_MS,
): Promise<number> {
  const warmUntil = performance.now() + ms / 5;
  while (performance.now() < warmUntil) await fn();
  let calls = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    await fn();
    calls++;
    now = performance.now();
  }
  return (bytes * calls) / ((now - start) / 1000) / 1e6;
}

/** Collects a stream's chunks into one array. */
async function collect(
  stream: ReadableStream<Uint8Array>,
): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function through(
  data: Uint8Array,
  transform: CompressionStream | DecompressionStream,
): Promise<Uint8Array> {
  return collect(
    new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(transform),
  );
}

interface Row {
  codec: string;
  size: string;
  ratio: string;
  compress: number;
  decompress: number;
}

async function measureCodec(codec: Codec, data: Uint8Array): Promise<Row> {
  const packed = codec.compress(data);
  return {
    codec: codec.name,
    size: label(data.length),
    ratio: (data.length / packed.length).toFixed(1),
    compress: await throughput(data.length, () => codec.compress(data)),
    decompress: await throughput(data.length, () => codec.decompress(packed)),
  };
}

async function measureCompressionStream(data: Uint8Array): Promise<Row> {
  const packed = await through(data, new CompressionStream("gzip"));
  return {
    codec: "gzip (CompressionStream)",
    size: label(data.length),
    ratio: (data.length / packed.length).toFixed(1),
    compress: await throughput(
      data.length,
      () => through(data, new CompressionStream("gzip")),
    ),
    decompress: await throughput(
      data.length,
      () => through(packed, new DecompressionStream("gzip")),
    ),
  };
}

function label(size: number): string {
  return size >= 1024 * 1024
    ? `${size / 1024 / 1024} MiB`
    : `${size / 1024} KiB`;
}

const rows: Row[] = [];
for (const size of SIZES) {
  const data = jsonRecords(size);
  for (const id of [1, 2, 3, 4]) {
    rows.push(await measureCodec(await loadCodec(id), data));
  }
  rows.push(await measureCompressionStream(data));
}

console.log(`codecs on JSON records, ${runtime}, MB/s of uncompressed data\n`);
console.log(
  "codec".padEnd(26) + "batch".padEnd(9) + "ratio".padStart(6) +
    "compress".padStart(11) + "decompress".padStart(12),
);
for (const row of rows) {
  console.log(
    row.codec.padEnd(26) + row.size.padEnd(9) + row.ratio.padStart(6) +
      row.compress.toFixed(0).padStart(11) +
      row.decompress.toFixed(0).padStart(12),
  );
}
