/**
 * Throughput of the checksums: `deno bench lib/protocol/crc32c_bench.ts`.
 * MB/s = bytes per call / time per iteration.
 *
 * Each bench folds its checksum into `sink`, a module variable, so the engine
 * cannot drop the call as dead code.
 */
import { crc32, crc32c } from "./crc32c.ts";

function filled(size: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + 7) & 0xff;
  return data;
}

const KIB = filled(1024);
const KIB16 = filled(16 * 1024);
const MIB = filled(1024 * 1024);
let sink = 0;

Deno.bench("crc32c 1 KiB", { group: "1 KiB", baseline: true }, () => {
  sink ^= crc32c(KIB);
});

Deno.bench("crc32 1 KiB", { group: "1 KiB" }, () => {
  sink ^= crc32(KIB);
});

// From 8 KiB on, crc32c folds in WebAssembly first (crc32c_fold.ts).
Deno.bench("crc32c 16 KiB", { group: "16 KiB", baseline: true }, () => {
  sink ^= crc32c(KIB16);
});

Deno.bench("crc32 16 KiB", { group: "16 KiB" }, () => {
  sink ^= crc32(KIB16);
});

Deno.bench("crc32c 1 MiB", { group: "1 MiB", baseline: true }, () => {
  sink ^= crc32c(MIB);
});

Deno.bench("crc32 1 MiB", { group: "1 MiB" }, () => {
  sink ^= crc32(MIB);
});
