/**
 * A share-group member under bench/share.ts: reads `count` messages with
 * `for await` over a ShareReader (implicit acknowledgement) and prints
 * `{"messages": n, "ms": t}`, timed from the first message to the last.
 *
 * Usage: <runtime> bench/clients/share_reader.ts <broker> <topic> <group>
 *   <count> [maxRecords]
 *
 * @module
 */

import process from "node:process";
import { ShareReader } from "../../mod.ts";

const [broker, topic, groupId, countText, maxRecords = "500"] = process.argv
  .slice(2);
const count = Number(countText);
const reader = new ShareReader({
  brokers: [broker],
  groupId,
  topics: [topic],
  maxRecords: Number(maxRecords),
});
let n = 0;
let bytes = 0;
let start = 0;
for await (const m of reader) {
  if (n === 0) start = performance.now();
  bytes += m.value?.length ?? 0;
  if (++n === count) break;
}
const ms = performance.now() - start;
console.log(JSON.stringify({ messages: n, bytes, ms }));
