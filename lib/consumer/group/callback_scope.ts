/**
 * Which group Reader's rebalance callback the running code was called from,
 * however many awaits deep. `close()` needs it: called from a callback, it
 * must not wait for the rebalance that waits for that callback.
 *
 * The scope is an AsyncLocalStorage turned on only while a callback runs:
 * on Node.js 22 an enabled one makes every await in the process about 2.5
 * times dearer (50 to 130 ns measured), so it is disabled again as soon as
 * no callback runs.
 *
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";

const scope = new AsyncLocalStorage<object>();
/** Callbacks running now, of every Reader. */
let running = 0;

/** Runs `fn` as a callback of `owner`: `inCallbackOf(owner)` is true in it. */
export async function runAsCallbackOf(
  owner: object,
  fn: () => unknown,
): Promise<void> {
  running++;
  try {
    await scope.run(owner, fn);
  } finally {
    if (--running === 0) scope.disable();
  }
}

/** Whether the code running was called from a callback of `owner`. */
export function inCallbackOf(owner: object): boolean {
  return running > 0 && scope.getStore() === owner;
}
