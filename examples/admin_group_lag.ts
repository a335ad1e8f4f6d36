/**
 * Describe a consumer group with its lag: state, members, and per
 * partition the committed offset, the end offset and the lag, as
 * `kafka-consumer-groups --describe` prints them. Works for classic and
 * KIP-848 consumer groups.
 *
 * Run: deno run -A examples/admin_group_lag.ts <group>
 */

import { Client, type GroupLag } from "../mod.ts";

export async function main(
  broker = Deno.env.get("KAFKA_BROKERS")?.split(",")[0] ?? "localhost:9092",
  groupId = Deno.args[0] ?? "my-group",
): Promise<GroupLag> {
  const client = new Client({ brokers: [broker] });
  try {
    const lag = await client.groupLag(groupId);
    console.log(
      `group ${lag.groupId} (${lag.type}): ${lag.state}, ${lag.members} member(s), total lag ${lag.totalLag}`,
    );
    console.table(lag.partitions.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      committed: p.committed < 0 ? "-" : p.committed,
      end: p.endOffset,
      lag: p.lag ?? "-",
      member: p.clientId ?? "-",
    })));
    return lag;
  } finally {
    await client.close();
  }
}

if (import.meta.main) await main();
