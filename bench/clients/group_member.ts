/**
 * One member of a consumer group for `bench/rebalance.ts`, on Deno or Bun:
 *
 *   deno run -A bench/clients/group_member.ts '<settings>'
 *   bun run bench/clients/group_member.ts '<settings>'
 *
 * It reads the topic with `for await` over a group Reader (committing as
 * by default) and prints one line per event, each with the wall-clock time
 * in milliseconds since the epoch, which the harness compares across
 * processes on the same machine:
 *
 *   revoked <ms> <p,p,...|->    partitions given up to rejoin (a rebalance)
 *   assigned <ms> <p,p,...|->   a new generation's partitions
 *   first <ms> <partition>      the first message of a partition since then
 *   closing <ms>                about to close (LeaveGroup)
 *   closed <ms>                 closed
 *
 * A line "close" on stdin closes the Reader; SIGKILL is the other way out.
 *
 * @module
 */

import process from "node:process";
import { createInterface } from "node:readline";
import { Reader } from "../../mod.ts";

/** What `bench/rebalance.ts` passes in argv[2]. */
export interface MemberSettings {
  brokers: string[];
  topic: string;
  groupId: string;
  sessionTimeout: number;
  heartbeatInterval: number;
  maxWait: number;
  /** The Reader's commitInterval (default 0). */
  commitInterval?: number;
}

const settings = JSON.parse(process.argv[2] ?? "") as MemberSettings;

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function list(partitions: { partition: number }[]): string {
  const sorted = partitions.map((p) => p.partition).sort((a, b) => a - b);
  return sorted.length ? sorted.join(",") : "-";
}

let seen = new Set<number>();
const reader = new Reader({
  brokers: settings.brokers,
  topic: settings.topic,
  groupId: settings.groupId,
  sessionTimeout: settings.sessionTimeout,
  heartbeatInterval: settings.heartbeatInterval,
  maxWait: settings.maxWait,
  commitInterval: settings.commitInterval,
  onPartitionsRevoked: (partitions) => {
    say(`revoked ${Date.now()} ${list(partitions)}`);
  },
  onPartitionsAssigned: (partitions) => {
    seen = new Set();
    say(`assigned ${Date.now()} ${list(partitions)}`);
  },
  errorLogger: (message) => process.stderr.write(`${message}\n`),
  // BENCH_MEMBER_LOG=1: the Reader's own events, timed, on stderr.
  ...(process.env.BENCH_MEMBER_LOG
    ? {
      logger: (message: string) =>
        process.stderr.write(`${Date.now()} ${message}\n`),
    }
    : {}),
});

let closing: Promise<void> | undefined;
function close(): Promise<void> {
  closing ??= (async () => {
    say(`closing ${Date.now()}`);
    await reader.close();
    say(`closed ${Date.now()}`);
  })();
  return closing;
}

const input = createInterface({ input: process.stdin });
input.on("line", (line) => {
  if (line.trim() === "close") {
    close().finally(() => process.exit(0));
  }
});

for await (const message of reader) {
  if (!seen.has(message.partition)) {
    seen.add(message.partition);
    say(`first ${Date.now()} ${message.partition}`);
  }
}
await close();
process.exit(0);
