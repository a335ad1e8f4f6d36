/**
 * For the tests of group members against scripted coordinators: hooks that
 * write down, a line each, what a member tells its Reader, and a wait.
 *
 * @module
 */

import type { Assignment, Generation, MemberHooks } from "./membership.ts";

/** An assignment as one line: "topic/0,1 other/2", topics sorted. */
function show(a: Assignment): string {
  return [...a].sort().map(([t, p]) => `${t}/${p.join(",")}`).join(" ");
}

/**
 * Hooks that push "assigned t/0,1 @3" (with the generation when
 * `generations`), "revoked t/0,1" and "lost t/0: NAME" to `events`, and
 * `failure`, which resolves with the error the member fails with.
 */
export function recordingHooks(
  events: string[],
  options: { generations?: boolean } = {},
): { hooks: MemberHooks; failure: Promise<Error> } {
  let failed: (error: Error) => void = () => {};
  const failure = new Promise<Error>((resolve) => failed = resolve);
  const hooks: MemberHooks = {
    assigned: (a: Assignment, g: Generation) => {
      events.push(
        `assigned ${show(a)}${
          options.generations ? ` @${g.generationId}` : ""
        }`,
      );
      return Promise.resolve();
    },
    revoked: (a) => {
      events.push(`revoked ${show(a)}`);
      return Promise.resolve();
    },
    lost: (a, e) => {
      events.push(`lost ${show(a)}: ${e.name}`);
      return Promise.resolve();
    },
    failed: (e) => failed(e),
  };
  return { hooks, failure };
}

/** Waits until `ok()` holds, polling every 5 ms; throws after 5 s. */
export async function until(ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}
