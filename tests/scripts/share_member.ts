/**
 * Run as its own process by tests/share_reader_test.ts: one member of a
 * share group that reads (implicit acknowledgement) until it is killed
 * with SIGKILL, so it never acknowledges the record in process nor leaves.
 * It prints each value it read, and how often it was delivered.
 *
 * Usage: <runtime> tests/scripts/share_member.ts <broker> <topic> <group>
 */

import process from "node:process";
import { ShareReader } from "../../mod.ts";

const [broker, topic, groupId] = process.argv.slice(2);
const reader = new ShareReader({ brokers: [broker], groupId, topics: [topic] });
const text = new TextDecoder();
for await (const m of reader) {
  console.log(`read ${text.decode(m.value!)} ${m.deliveryCount}`);
}
