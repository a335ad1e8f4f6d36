/** The one retry loop: backoff per error, the deadline, what is not retried. */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DeadlineError } from "../connection/errors.ts";
import { retry } from "./retry.ts";

/** An error `retry` retries by default. */
function retriable(message: string): Error {
  return Object.assign(new Error(message), { retriable: true });
}

describe("retry", () => {
  test("backoffMinFor shortens the wait for the errors it names, which still doubles", async () => {
    const waits: number[] = [];
    let last = Date.now();
    const result = await retry((attempt) => {
      const now = Date.now();
      if (attempt > 1) waits.push(now - last);
      last = now;
      if (attempt <= 3) throw retriable("quick");
      return Promise.resolve(attempt);
    }, {
      backoffMin: 10_000,
      backoffMax: 20_000,
      backoffMinFor: (error) =>
        (error as Error).message === "quick" ? 5 : undefined,
    });
    assert.equal(result, 4);
    assert.equal(waits.length, 3);
    // 5, 10 and 20 ms with up to 20 % jitter, nowhere near 10 s.
    assert.ok(waits.every((w) => w < 1000), `waits ${waits}`);
  });

  test("other errors keep backoffMin; a wait past the deadline is cut short for a last attempt, whose error ends the retries", async () => {
    let attempts = 0;
    const started = Date.now();
    await assert.rejects(
      retry(() => {
        attempts++;
        throw retriable(`slow ${attempts}`);
      }, {
        backoffMin: 10_000,
        backoffMax: 10_000,
        deadline: Date.now() + 1000,
        backoffMinFor: (error) =>
          (error as Error).message === "quick" ? 5 : undefined,
      }),
      /slow 2/,
    );
    // The 10 s wait ended 100 ms before the deadline, for one last attempt.
    assert.equal(attempts, 2);
    const took = Date.now() - started;
    assert.ok(took >= 850 && took < 1000, `took ${took} ms`);
  });

  test("an error that is not retriable is thrown at once", async () => {
    let attempts = 0;
    await assert.rejects(
      retry(() => {
        attempts++;
        throw new Error("bad input");
      }, { backoffMin: 1, backoffMax: 1 }),
      /bad input/,
    );
    assert.equal(attempts, 1);
  });
  test("an attempt the deadline cuts short ends the loop with the error of the attempt before; alone, with its own", async () => {
    const options = { backoffMin: 1, backoffMax: 1 };
    const cut = new DeadlineError("Connecting to broker 1: time ran out");
    let attempts = 0;
    await assert.rejects(
      retry(() => {
        attempts++;
        throw attempts === 1 ? retriable("NOT_CONTROLLER") : cut;
      }, options),
      (error: Error) => error.message === "NOT_CONTROLLER",
    );
    assert.equal(attempts, 2);
    // A cut attempt comes at the deadline: nothing is tried after it.
    attempts = 0;
    await assert.rejects(
      retry(() => {
        attempts++;
        return Promise.reject(cut);
      }, { ...options, deadline: Date.now() }),
      (error) => error === cut,
    );
    assert.equal(attempts, 1);
  });
});
