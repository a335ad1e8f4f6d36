/**
 * The seed's compatibility balancers: route messages to the same partitions
 * as sarama (Hash, ReferenceHash), librdkafka (CRC32Balancer) or the Java
 * client (Murmur2Balancer).
 *
 * Run: deno run -A examples/writer_balancers.ts [topic]
 */

import {
  type Balancer,
  CRC32Balancer,
  Hash,
  Murmur2Balancer,
  ReferenceHash,
  Writer,
} from "../mod.ts";

export const balancers: Record<string, Balancer> = {
  sarama: new Hash(),
  saramaReference: new ReferenceHash(),
  librdkafka: new CRC32Balancer(),
  java: new Murmur2Balancer(),
};

export async function main(
  brokers = (Deno.env.get("KAFKA_BROKERS") ?? "localhost:9092").split(","),
  topic = "topic-A",
  like: keyof typeof balancers = "java",
): Promise<void> {
  const w = new Writer({ brokers, topic, balancer: balancers[like] });
  try {
    await w.writeMessages({ key: "user-1", value: "signed up" }, {
      key: "user-2",
      value: "paid",
    });
  } finally {
    await w.close();
  }
}

if (import.meta.main) await main(undefined, Deno.args[0]);
