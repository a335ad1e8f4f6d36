import assert from "node:assert/strict";
import { test } from "node:test";
import { Throttle } from "./throttle.ts";
import { Fetch } from "../protocol/messages/fetch.ts";
import { Produce } from "../protocol/messages/produce.ts";
import { MAX_THROTTLE_MS } from "../protocol/quotas.ts";

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

test("a throttle holds writes until it ends, then starts them in the order held", async () => {
  const throttle = new Throttle("app", () => true);
  assert.equal(throttle.holding, false);
  throttle.note({ throttleTimeMs: 60 }, Produce.key, 9);
  assert.equal(throttle.holding, true);
  assert.ok(throttle.remaining() > 0 && throttle.remaining() <= 60);
  const order: number[] = [];
  throttle.hold(() => order.push(1));
  throttle.hold(() => order.push(2));
  await sleep(20);
  assert.deepEqual(order, []);
  // Held writes keep later requests behind them, throttle or not.
  assert.equal(throttle.holding, true);
  await sleep(80);
  assert.deepEqual(order, [1, 2]);
  assert.equal(throttle.holding, false);
  assert.equal(throttle.remaining(), 0);
});

test("a longer throttle reported meanwhile holds the writes longer", async () => {
  const throttle = new Throttle("app", () => true);
  throttle.note({ throttleTimeMs: 20 }, Produce.key, 9);
  let written = false;
  throttle.hold(() => written = true);
  throttle.note({ throttleTimeMs: 120 }, Fetch.key, 12);
  // A shorter one does not cut it.
  throttle.note({ throttleTimeMs: 5 }, Fetch.key, 12);
  await sleep(60);
  assert.equal(written, false);
  await sleep(100);
  assert.equal(written, true);
});

test("throttles of versions before KIP-219, and absent or zero ones, are not the client's to wait", () => {
  const throttle = new Throttle("app", () => true);
  throttle.note({ throttleTimeMs: 1000 }, Produce.key, 5);
  throttle.note({ throttleTimeMs: 1000 }, Fetch.key, 7);
  throttle.note({ throttleTimeMs: 0 }, Produce.key, 9);
  throttle.note({ throttleTimeMs: -5 }, Produce.key, 9);
  throttle.note({}, Produce.key, 9);
  throttle.note(null, Produce.key, 9);
  assert.equal(throttle.holding, false);
  assert.equal(throttle.recentNote(), "");
});

test("a throttle is cut to MAX_THROTTLE_MS, and named in timeouts with what to check", () => {
  const throttle = new Throttle("billing", () => true);
  throttle.note({ throttleTimeMs: 2 ** 31 - 1 }, Produce.key, 9);
  assert.ok(throttle.remaining() <= MAX_THROTTLE_MS);
  assert.match(
    throttle.recentNote(),
    /^ \(the broker throttled this connection for 2147483647 ms 0 s ago: a quota on client id "billing" or its user; see the broker's client quotas\)$/,
  );
  // Released at once, as a closing connection does.
  const order: number[] = [];
  throttle.hold(() => order.push(1));
  throttle.releaseAll();
  assert.deepEqual(order, [1]);
  assert.equal(throttle.holding, true); // the throttle itself goes on
});

test("a closed connection's held writes start at once, throttle or not", async () => {
  let open = true;
  const throttle = new Throttle("app", () => open);
  throttle.note({ throttleTimeMs: 30 }, Produce.key, 9);
  let written = 0;
  throttle.hold(() => written++);
  // The timer fires at the end of the first throttle; a longer one keeps
  // the writes held only while the connection is open.
  throttle.note({ throttleTimeMs: 10_000 }, Produce.key, 9);
  open = false;
  await sleep(60);
  assert.equal(written, 1);
});
