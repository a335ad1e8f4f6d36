/**
 * Inputs for the codec tests and the benchmark: deterministic, so a failure
 * reproduces.
 *
 * @module
 */

/** Incompressible bytes from a 32-bit xorshift generator. */
export function pseudoRandom(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x;
  }
  return out;
}

/**
 * `length` bytes of JSON records such as a Kafka topic carries: repeated keys,
 * similar values, ids and timestamps that keep changing.
 */
export function jsonRecords(length: number): Uint8Array {
  const cities = ["Berlin", "Lisbon", "Osaka", "Lagos", "Lima", "Perth"];
  const events = ["page_view", "add_to_cart", "checkout", "login"];
  const random = pseudoRandom(4 * Math.ceil(length / 16) + 16, 7);
  let text = "";
  for (let i = 0; text.length < length; i++) {
    const r = random[i % random.length];
    text += JSON.stringify({
      id: 100000 + i,
      ts: 1700000000000 + i * 37 + r,
      event: events[r % events.length],
      user: {
        id: `u-${(r * 7919 + i) % 50000}`,
        city: cities[r % cities.length],
      },
      amount: Math.round(r * 1.37 * 100) / 100,
      ok: r % 5 !== 0,
    }) + "\n";
  }
  return new TextEncoder().encode(text.slice(0, length));
}

/** Bytes from hex pairs, spaces ignored. */
export function fromHex(hex: string): Uint8Array {
  const digits = hex.replace(/\s+/g, "");
  return Uint8Array.from(
    { length: digits.length / 2 },
    (_, i) => parseInt(digits.slice(2 * i, 2 * i + 2), 16),
  );
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const part of parts) {
    out.set(part, pos);
    pos += part.length;
  }
  return out;
}

/**
 * A seeded generator of numbers from 0 to n - 1, from the high bits of an
 * LCG (its low bits repeat with short periods).
 */
export function seeded(seed: number): (n: number) => number {
  return (n) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return Math.floor((seed / 2 ** 32) * n);
  };
}

/**
 * `rounds` seeded inputs for codecs' round trips: literals from a random
 * alphabet, copies from up to `maxOffset` back, runs of one byte; a quarter
 * of them up to `longLength` bytes long, the rest up to `shortLength`.
 */
export function* mixedInputs(
  seed: number,
  rounds: number,
  { shortLength = 3000, longLength = 200_000, maxOffset = 70_000 } = {},
): Generator<Uint8Array> {
  const next = seeded(seed);
  for (let round = 0; round < rounds; round++) {
    const length = next(4) === 0 ? next(longLength) : next(shortLength);
    const input = new Uint8Array(length);
    const alphabet = 1 + next(255);
    for (let i = 0; i < length;) {
      const kind = i < 4 ? 0 : next(3);
      const span = kind === 0 ? 1 + next(20) : next(300);
      const offset = 1 + next(Math.min(i, maxOffset));
      const value = next(alphabet);
      for (let k = 0; k < span && i < length; k++, i++) {
        input[i] = kind === 1
          ? input[i - offset]
          : kind === 0
          ? next(alphabet)
          : value;
      }
    }
    yield input;
  }
}
