/**
 * Run as its own process by tests/reader_pipe_transactions_test.ts: a
 * group member that pipes a topic into a transactional Writer until it is
 * killed (with SIGKILL, so it never leaves the group nor ends its
 * transaction). It prints "assigned" once it has partitions.
 *
 * Usage: <runtime> tests/scripts/txn_mirror.ts <broker> <source> <target>
 *   <group> <transactional id> [commit interval ms]
 */

import process from "node:process";
import { FirstOffset, Reader, Writer } from "../../mod.ts";

const [broker, source, target, groupId, transactionalId, interval = "0"] =
  process.argv.slice(2);
const reader = new Reader({
  brokers: [broker],
  groupId,
  groupTopics: [source],
  startOffset: FirstOffset,
  sessionTimeout: 6000,
  heartbeatInterval: 500,
  rebalanceTimeout: 10_000,
  maxWait: 200,
  commitInterval: Number(interval),
  onPartitionsAssigned: (partitions) => {
    if (partitions.length > 0) console.log("assigned");
  },
});
const writer = new Writer({
  brokers: [broker],
  topic: target,
  transactionalId,
});
await reader.pipeTo(writer);
