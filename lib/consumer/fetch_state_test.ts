/** The Notifier that wakes a Reader's consumer when data comes. */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Notifier } from "./fetch_state.ts";

describe("Notifier", () => {
  test("waits aborted by their signal reject and leave nothing behind; the others wake on notify", async () => {
    const notifier = new Notifier();
    // A poll loop with a timeout while nothing comes: 1,000 aborted waits.
    for (let i = 0; i < 1000; i++) {
      const stop = new AbortController();
      const waiting = notifier.waitOrAbort(stop.signal, "fetchMessage");
      stop.abort();
      await assert.rejects(waiting, { name: "AbortError" });
    }
    const held = (notifier as unknown as { waiters: Set<unknown> | null })
      .waiters;
    assert.equal(held?.size ?? 0, 0, "no aborted waiter is kept");
    const woken: string[] = [];
    const stop = new AbortController();
    const withSignal = notifier.waitOrAbort(stop.signal, "fetchMessage")
      .then(() => woken.push("signal"));
    const without = notifier.waitOrAbort(undefined, "fetchMessage")
      .then(() => woken.push("plain"));
    notifier.notify();
    await Promise.all([withSignal, without]);
    assert.deepEqual(woken.sort(), ["plain", "signal"]);
    // Woken, the signal's listener is gone: aborting later changes nothing.
    stop.abort();
    await assert.rejects(notifier.waitOrAbort(stop.signal, "fetchMessage"), {
      name: "AbortError",
    });
  });
});
