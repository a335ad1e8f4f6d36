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
 *   assigned <ms> <p,p,...|->   partitions added to what it owns
 *   revoked <ms> <p,p,...|->    partitions given up in a rebalance
 *   lost <ms> <p,p,...|->       partitions found to be others' already
 *   read <ms> <p> <offset>      each message, as the loop gets it
 *   closing <ms>                about to close (LeaveGroup)
 *   closed <ms>                 closed
 *
 * The group hooks are incremental, so the lines are too: with `protocol`
 * "eager" every rebalance revokes all the member owns and assigns the new
 * set, with "cooperative" (CooperativeStickyGroupBalancer) and "consumer"
 * (KIP-848) only what moves is revoked or assigned; an "assigned" line may
 * then list nothing. The harness adds them up.
 *
 * A line "close" on stdin closes the Reader; SIGKILL is the other way out.
 *
 * @module
 */

import process from "node:process";
import { createInterface } from "node:readline";
import {
  CooperativeStickyGroupBalancer,
  Reader,
  type ReaderOptions,
} from "../../mod.ts";

/** What `bench/rebalance.ts` passes in argv[2]. */
export interface MemberSettings {
  brokers: string[];
  topic: string;
  groupId: string;
  /**
   * eager: the classic protocol with the Reader's default balancers (Range,
   * RoundRobin); cooperative: the classic protocol with cooperative-sticky;
   * consumer: `groupProtocol: "consumer"`.
   */
  protocol: "eager" | "cooperative" | "consumer";
  /** Classic protocol only: under "consumer" they are the group's configs. */
  sessionTimeout?: number;
  heartbeatInterval?: number;
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

/** The Reader options that pick the group protocol and its rebalances. */
function protocolOptions(): Partial<ReaderOptions> {
  switch (settings.protocol) {
    case "consumer":
      // The Reader refuses sessionTimeout, heartbeatInterval,
      // groupBalancers and watchPartitionChanges with this protocol.
      return { groupProtocol: "consumer" };
    case "cooperative":
      return {
        sessionTimeout: settings.sessionTimeout,
        heartbeatInterval: settings.heartbeatInterval,
        groupBalancers: [new CooperativeStickyGroupBalancer()],
      };
    case "eager":
      return {
        sessionTimeout: settings.sessionTimeout,
        heartbeatInterval: settings.heartbeatInterval,
      };
    default:
      throw new RangeError(
        `group_member: unknown protocol ${JSON.stringify(settings.protocol)}`,
      );
  }
}

const reader = new Reader({
  brokers: settings.brokers,
  topic: settings.topic,
  groupId: settings.groupId,
  ...protocolOptions(),
  maxWait: settings.maxWait,
  commitInterval: settings.commitInterval,
  onPartitionsRevoked: (partitions) => {
    say(`revoked ${Date.now()} ${list(partitions)}`);
  },
  onPartitionsLost: (partitions) => {
    say(`lost ${Date.now()} ${list(partitions)}`);
  },
  onPartitionsAssigned: (partitions) => {
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
  say(`read ${Date.now()} ${message.partition} ${message.offset}`);
}
await close();
process.exit(0);
