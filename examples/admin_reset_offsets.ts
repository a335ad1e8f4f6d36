/**
 * Reset a consumer group's offsets to a time: its consumers start again
 * from the first message written at or after it. The group must have no
 * members (stop its consumers first): the Client refuses otherwise.
 *
 * Run: deno run -A examples/admin_reset_offsets.ts <group> <topic> <ISO time>
 */

import { Client, type CommitOutcome } from "../mod.ts";

export async function main(
  broker = Deno.env.get("KAFKA_BROKERS")?.split(",")[0] ?? "localhost:9092",
  groupId = Deno.args[0] ?? "my-group",
  topic = Deno.args[1] ?? "my-topic",
  time = new Date(Deno.args[2] ?? Date.now() - 3_600_000),
): Promise<CommitOutcome[]> {
  const client = new Client({ brokers: [broker] });
  try {
    const moved = await client.resetGroupOffsets(groupId, {
      to: time,
      topics: [topic],
    });
    for (const m of moved) {
      console.log(
        `${m.topic}/${m.partition} -> ${m.offset}${
          m.error ? ` (${m.error.message})` : ""
        }`,
      );
    }
    return moved;
  } finally {
    await client.close();
  }
}

if (import.meta.main) await main();
