/**
 * Topic chores for the harness, done with this package's own `Conn` outside
 * any timed window: create, count what landed, delete.
 *
 * @module
 */

import { dial, dialLeader } from "../mod.ts";

export async function createTopic(
  broker: string,
  topic: string,
  partitions: number,
): Promise<void> {
  const conn = await dial(broker);
  try {
    await conn.createTopics({
      topic,
      numPartitions: partitions,
      replicationFactor: 1,
    });
  } finally {
    conn.close();
  }
}

/** Deletes topics, ignoring any that are already gone. */
export async function deleteTopics(
  broker: string,
  ...topics: string[]
): Promise<void> {
  if (topics.length === 0) return;
  const conn = await dial(broker);
  try {
    await conn.deleteTopics(...topics).catch(() => {});
  } finally {
    conn.close();
  }
}

/** Messages in the topic: the sum of (last - first) offsets of its partitions. */
export async function countMessages(
  broker: string,
  topic: string,
  partitions: number,
): Promise<number[]> {
  return await Promise.all(
    Array.from({ length: partitions }, async (_, partition) => {
      const conn = await dialLeader(broker, topic, partition);
      try {
        const { first, last } = await conn.readOffsets();
        return last - first;
      } finally {
        conn.close();
      }
    }),
  );
}
