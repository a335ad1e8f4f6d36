/**
 * The seed's "reach the leader through a non-leader connection": ask any
 * broker who the controller is, then connect to it directly instead of
 * using dialLeader.
 *
 * Run: deno run -A examples/controller.ts
 */

import { type Conn, dial, formatAddress } from "../mod.ts";

export async function main(
  broker = Deno.env.get("KAFKA_BROKERS")?.split(",")[0] ?? "localhost:9092",
): Promise<Conn> {
  const conn = await dial(broker);
  try {
    const controller = await conn.controller();
    const connLeader = await dial(formatAddress(controller));
    console.log(
      `connected to controller ${controller.id} at ${connLeader.address}`,
    );
    return connLeader;
  } finally {
    conn.close();
  }
}

if (import.meta.main) (await main()).close();
