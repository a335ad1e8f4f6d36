/**
 * Topic chores for the harness, done with this package's own `Conn` outside
 * any timed window: create, count what landed, delete.
 *
 * @module
 */

import { dial, dialLeader } from "../mod.ts";

/**
 * Creates a topic of one replica, with any configs that differ from the
 * defaults, and waits until every partition has a leader.
 */
export async function createTopic(
  broker: string,
  topic: string,
  partitions: number,
  configs: Record<string, string> = {},
): Promise<void> {
  const conn = await dial(broker);
  try {
    await conn.createTopics({
      topic,
      numPartitions: partitions,
      replicationFactor: 1,
      configEntries: Object.entries(configs).map((
        [configName, configValue],
      ) => ({
        configName,
        configValue,
      })),
    });
    // A big topic's leaders take a moment: wait for all, so no client's
    // first metadata finds some missing (at 1024 partitions, seconds).
    const deadline = Date.now() + 60_000;
    for (;;) {
      const found = await conn.readPartitions(topic).catch(() => []);
      const led = found.filter((p) => p.leader.id >= 0).length;
      if (led === partitions || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
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

/** Partitions counted at once (a 1024-partition topic: 16 waves). */
const COUNT_WAVE = 64;

/**
 * Messages in the topic, partition by partition: (last - first) offsets,
 * asked of the leaders in waves of COUNT_WAVE connections.
 */
export async function countMessages(
  broker: string,
  topic: string,
  partitions: number,
): Promise<number[]> {
  const counts: number[] = [];
  for (let from = 0; from < partitions; from += COUNT_WAVE) {
    const wave = Array.from(
      { length: Math.min(COUNT_WAVE, partitions - from) },
      async (_, i) => {
        const conn = await dialLeader(broker, topic, from + i);
        try {
          const { first, last } = await conn.readOffsets();
          return last - first;
        } finally {
          conn.close();
        }
      },
    );
    counts.push(...await Promise.all(wave));
  }
  return counts;
}
