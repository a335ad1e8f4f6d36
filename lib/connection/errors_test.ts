/** Signals joined for one call: what aborts them, and what they leave behind. */

import assert from "node:assert/strict";
import { test } from "node:test";
import { eitherSignal } from "./errors.ts";

test("eitherSignal aborts with whichever aborts first, and release leaves no listener behind", () => {
  for (const which of ["a", "b"] as const) {
    const a = new AbortController();
    const b = new AbortController();
    const { signal, release } = eitherSignal(a.signal, b.signal);
    assert.equal(signal.aborted, false);
    const reason = new Error(which);
    (which === "a" ? a : b).abort(reason);
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, reason);
    release();
  }
  // Aborted already: at once, with that reason.
  const done = new AbortController();
  done.abort(new Error("early"));
  const early = eitherSignal(new AbortController().signal, done.signal);
  assert.equal((early.signal.reason as Error).message, "early");
  early.release();
  // Released: the long-lived signal no longer reaches it.
  const pool = new AbortController();
  const released = eitherSignal(new AbortController().signal, pool.signal);
  released.release();
  pool.abort();
  assert.equal(released.signal.aborted, false);
});
