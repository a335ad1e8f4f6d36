/**
 * The seed's explicit topic creation, for brokers with
 * auto.create.topics.enable=false: find the controller through any broker,
 * dial it, and create the topic there.
 *
 * Run: deno run -A examples/create_topics.ts [topic]
 */

import { dial, formatAddress } from "../mod.ts";

export async function main(
  broker = Deno.env.get("KAFKA_BROKERS")?.split(",")[0] ?? "localhost:9092",
  topic = "my-topic",
): Promise<void> {
  const conn = await dial(broker);
  try {
    const controller = await conn.controller();
    const controllerConn = await dial(formatAddress(controller));
    try {
      await controllerConn.createTopics({
        topic,
        numPartitions: 1,
        replicationFactor: 1,
      });
      console.log(`created ${topic} through controller ${controller.id}`);
    } finally {
      controllerConn.close();
    }
  } finally {
    conn.close();
  }
}

if (import.meta.main) await main(undefined, Deno.args[0]);
