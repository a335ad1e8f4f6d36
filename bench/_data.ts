/**
 * The values every client writes, as files under the git-ignored
 * `bench/.data/`: a few distinct values per size (each client uses them in
 * turn), and for kcat, which reads messages from stdin, the whole run's
 * messages one per line. Seeded, so every run and every client writes the
 * same bytes; files are rebuilt only when missing or the wrong size.
 *
 * @module
 */

import { join } from "node:path";

/** Distinct values per file: 1000, fewer past 16 KiB (16 of 1 MiB). */
const DISTINCT_BYTES = 16 * 1024 * 1024;

function distinct(size: number): number {
  return Math.max(4, Math.min(1000, Math.floor(DISTINCT_BYTES / size)));
}

export const DATA_DIR = new URL("./.data/", import.meta.url).pathname;

/** The distinct values of one kind and size, one per line. */
export async function valuesFile(
  kind: "random" | "json",
  size: number,
): Promise<string> {
  const path = join(DATA_DIR, `values-${kind}-${size}.txt`);
  const count = distinct(size);
  await writeIfStale(path, count * (size + 1), (out) => {
    const next = prng(kind === "json" ? 7 : 3);
    for (let i = 0; i < count; i++) {
      out(kind === "json" ? jsonValue(next, size) : randomValue(next, size));
    }
  });
  return path;
}

/** `count` messages cycling through the distinct values, for kcat's stdin. */
export async function feedFile(
  kind: "random" | "json",
  size: number,
  count: number,
): Promise<string> {
  const values = await Deno.readFile(await valuesFile(kind, size));
  const path = join(DATA_DIR, `feed-${kind}-${size}-${count}.txt`);
  const line = size + 1;
  await writeIfStale(path, count * line, (out) => {
    for (let i = 0; i < count; i++) {
      const at = (i % distinct(size)) * line;
      out(values.subarray(at, at + size));
    }
  });
  return path;
}

/** Writes lines through a large buffer when the file is not `bytes` long. */
async function writeIfStale(
  path: string,
  bytes: number,
  fill: (out: (value: Uint8Array) => void) => void,
): Promise<void> {
  const info = await Deno.stat(path).catch(() => undefined);
  if (info?.size === bytes) return;
  await Deno.mkdir(DATA_DIR, { recursive: true });
  const partial = `${path}.partial`;
  const file = Deno.openSync(partial, {
    write: true,
    create: true,
    truncate: true,
  });
  const buffer = new Uint8Array(4 << 20);
  let used = 0;
  try {
    fill((value) => {
      if (used + value.length + 1 > buffer.length) {
        writeAllSync(file, buffer.subarray(0, used));
        used = 0;
      }
      buffer.set(value, used);
      buffer[used + value.length] = 0x0a;
      used += value.length + 1;
    });
    writeAllSync(file, buffer.subarray(0, used));
  } finally {
    file.close();
  }
  await Deno.rename(partial, path);
}

function writeAllSync(file: Deno.FsFile, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.length) {
    written += file.writeSync(bytes.subarray(written));
  }
}

const ALPHANUMERIC =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const ascii = new TextEncoder();

function randomValue(next: () => number, size: number): Uint8Array {
  const value = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    value[i] = ALPHANUMERIC.charCodeAt(
      Math.floor(next() * ALPHANUMERIC.length),
    );
  }
  return value;
}

const EVENTS = ["page_view", "add_to_cart", "checkout", "search", "login"];
const COUNTRIES = ["DE", "FR", "US", "BR", "JP", "IN", "NG", "GB"];

/** A JSON-looking event of exactly `size` bytes: compresses like real data. */
function jsonValue(next: () => number, size: number): Uint8Array {
  const pick = <T>(list: T[]) => list[Math.floor(next() * list.length)];
  const int = (n: number) => Math.floor(next() * n);
  const parts = [
    `{"id":${int(1e9)},"ts":${1_700_000_000_000 + int(1e9)}`,
    `,"user":"user-${String(int(10_000)).padStart(5, "0")}"`,
    `,"country":"${pick(COUNTRIES)}","event":"${pick(EVENTS)}"`,
    `,"path":"/products/${int(5000)}/reviews?page=${int(20)}"`,
    `,"ua":"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101"`,
    `,"items":[`,
  ];
  let text = parts.join("");
  while (text.length < size) {
    text += `{"sku":"SKU-${String(int(100_000)).padStart(6, "0")}",` +
      `"qty":${1 + int(5)},"price":${(int(10_000) / 100).toFixed(2)}},`;
  }
  return ascii.encode(text.slice(0, size - 2) + "]}");
}

/** mulberry32: a small seeded generator, so the data is the same every run. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
