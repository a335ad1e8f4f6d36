/**
 * Run as its own process by tests/group_test.ts: one member of a consumer
 * group that reads and commits until it is killed (with SIGKILL, so it
 * never leaves the group). It prints "assigned" once it has partitions and
 * then each value it read.
 *
 * Usage: <runtime> tests/scripts/group_member.ts <broker> <topic> <group>
 *   [classic|consumer] [group instance id]
 */

import process from "node:process";
import { Reader } from "../../mod.ts";

const [broker, topic, groupId, protocol = "classic", instanceId = ""] = process
  .argv.slice(2);
const reader = new Reader({
  brokers: [broker],
  topic,
  groupId,
  ...(protocol === "consumer"
    ? { groupProtocol: "consumer" as const }
    : { sessionTimeout: 6000, heartbeatInterval: 500 }),
  groupInstanceId: instanceId === "" ? undefined : instanceId,
  rebalanceTimeout: 10_000,
  maxWait: 200,
  onPartitionsAssigned: (partitions) => {
    if (partitions.length > 0) console.log("assigned");
  },
});
const text = new TextDecoder();
for await (const m of reader) {
  console.log(`read ${text.decode(m.value!)}`);
}
