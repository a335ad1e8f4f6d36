/**
 * The worker behind `deno task fuzz`: fuzzes the targets the main thread
 * asks for and publishes the index of the frame it decodes in shared memory,
 * so the main thread can tell a hang (a decode that never returns) from a
 * slow run and end the worker.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import {
  fuzzTarget,
  loadTargets,
  type Target,
  type TargetStats,
  trackAllocations,
} from "./engine.ts";

/** A job from the main thread: one target, a range of frame indexes. *
 * @example
 * ```ts
 * import type { Job } from "./worker.ts";
 *
 * const job: Job = {
 *   target: "Fetch",
 *   seed: 1,
 *   from: 0,
 *   count: 1000,
 *   budgetMs: 250,
 * };
 * console.log(job.target); // Fetch
 * ```
 */
export interface Job {
  /** The target's name. */
  target: string;
  /** The run's seed. */
  seed: number;
  /** The first frame's index. */
  from: number;
  /** How many frames. */
  count: number;
  /** The time budget of one decode, in ms. */
  budgetMs: number;
}

/** What the worker answers: the job's counts, or why it could not run. *
 * @example
 * ```ts
 * import type { Reply } from "./worker.ts";
 *
 * const reply: Reply = { kind: "error", message: "no target x" };
 * console.log(reply.kind); // error
 * ```
 */
export type Reply =
  | { kind: "ready"; targets: string[] }
  | { kind: "done"; stats: TargetStats }
  | { kind: "error"; message: string };

let targets: Map<string, Target> | undefined;
let progress: Int32Array | undefined;
const tracker = trackAllocations();

self.onmessage = async (
  event: MessageEvent<
    { init: { seed: number; progress: SharedArrayBuffer } } | { job: Job }
  >,
) => {
  try {
    const data = event.data;
    if ("init" in data) {
      progress = new Int32Array(data.init.progress);
      const list = await loadTargets(data.init.seed);
      targets = new Map(list.map((t) => [t.name, t]));
      self.postMessage({ kind: "ready", targets: list.map((t) => t.name) });
      return;
    }
    const job = data.job;
    const target = targets?.get(job.target);
    if (!target) throw new Error(`no target ${job.target}`);
    const stats = await fuzzTarget(target, {
      seed: job.seed,
      from: job.from,
      count: job.count,
      budgetMs: job.budgetMs,
      tracker,
      onFrame(index) {
        // The index, then a tick the main thread watches for progress.
        Atomics.store(progress!, 0, index);
        Atomics.add(progress!, 1, 1);
      },
    });
    self.postMessage({ kind: "done", stats } satisfies Reply);
  } catch (error) {
    self.postMessage(
      {
        kind: "error",
        message: (error as Error).stack ?? String(error),
      } satisfies Reply,
    );
  }
};
