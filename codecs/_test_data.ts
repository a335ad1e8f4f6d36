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
