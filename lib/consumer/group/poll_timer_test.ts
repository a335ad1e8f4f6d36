/** The poll timer alone, with short intervals: what counts as reading. */

import assert from "node:assert/strict";
import { test } from "node:test";
import { sleep } from "../../cluster/retry.ts";
import { PollTimer } from "./poll_timer.ts";

test("fires once, after the interval without reads, with the idle time", async () => {
  const fired: number[] = [];
  const timer = new PollTimer(80, (idle) => fired.push(idle));
  timer.start();
  await sleep(40);
  assert.deepEqual(fired, []);
  await sleep(160);
  timer.stop();
  assert.equal(fired.length, 1);
  assert.ok(fired[0] >= 80 && fired[0] < 200, `idle ${fired[0]}`);
});

test("reads keep it from firing; so does a read waiting for messages", async () => {
  const fired: number[] = [];
  const timer = new PollTimer(80, (idle) => fired.push(idle));
  timer.start();
  for (let i = 0; i < 10; i++) {
    timer.polls++;
    await sleep(20);
  }
  assert.deepEqual(fired, []);
  timer.waiting++;
  await sleep(200);
  assert.deepEqual(fired, []);
  timer.waiting--;
  await sleep(200);
  timer.stop();
  assert.equal(fired.length, 1);
});

test("stopped, it does not fire; started again, it counts from then", async () => {
  const fired: number[] = [];
  const timer = new PollTimer(60, (idle) => fired.push(idle));
  timer.start();
  timer.stop();
  await sleep(150);
  assert.deepEqual(fired, []);
  timer.start();
  timer.start(); // once
  await sleep(40);
  assert.deepEqual(fired, []);
  await sleep(120);
  timer.stop();
  assert.equal(fired.length, 1);
});
