/**
 * Touches the memory a tmpfs will be given before the runs, so that no
 * client's run pays for it.
 *
 * Where a virtual machine's memory is backed by its host only on first use
 * (Firecracker, which this benchmark's machine runs in, does so), a page the
 * guest has never used costs a fault on the host the first time: writing 3
 * GB of zeros to `/dev/shm` took 30.2 s the first time (26.7 s of it system
 * time) and 1.3 s once those pages had been used and freed. A broker whose
 * data is on a tmpfs takes fresh pages whenever the data on it grows past
 * what it ever held, so a produce run that happened to do that stalled (10
 * KiB values: 10 µs of fault per 4 KiB page against about 14 µs of client CPU
 * per message), whichever client it was. Writing and deleting a file as
 * large as the run will hold, once before the runs, moves that cost out of
 * them. On a machine whose memory is already backed it takes about a second
 * per 2 GB.
 *
 * @module
 */

import { join } from "node:path";

/** One write: 1 MiB of zeros. */
const CHUNK = new Uint8Array(1 << 20);

/**
 * Writes `mb` MiB of zeros to a file in `dir` and deletes it, no more than a
 * third of the memory the kernel reports available. Returns what it did, for
 * the log.
 */
export async function touchMemory(dir: string, mb: number): Promise<string> {
  const available = await availableMb();
  const size = Math.min(mb, Math.floor(available / 3));
  if (size <= 0) return "skipped";
  const path = join(dir, `.bench-prefault-${Deno.pid}`);
  const start = performance.now();
  const file = await Deno.open(path, { write: true, create: true });
  try {
    for (let i = 0; i < size; i++) {
      let written = 0;
      while (written < CHUNK.length) {
        written += await file.write(CHUNK.subarray(written));
      }
    }
  } finally {
    file.close();
    await Deno.remove(path).catch(() => {});
  }
  const seconds = (performance.now() - start) / 1000;
  return `${size} MiB written and deleted in ${seconds.toFixed(1)} s`;
}

/** MemAvailable of /proc/meminfo in MiB (Infinity where there is none). */
async function availableMb(): Promise<number> {
  const info = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const kb = /^MemAvailable:\s+(\d+) kB/m.exec(info)?.[1];
  return kb === undefined ? Infinity : Number(kb) / 1024;
}
