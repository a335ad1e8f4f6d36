/**
 * The broker killed with SIGKILL and restarted (through tools/kafka.ts)
 * while a consumer group pipes into a Processor: every message processed,
 * each partition in offset order, and the commits at the end offsets once
 * the pipe stops. The member's session outlasts the outage, so it keeps
 * its partitions, and what was processed, during the outage too, is
 * committed once the broker is back: nothing is processed twice. A file of
 * its own: the restarts of `broker_restart_test.ts` already fill its time.
 */

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { Processor, Reader, Writer } from "../mod.ts";
import { BROKER, kafkaTool, sleep, uniqueTopic } from "./_helpers.ts";
import {
  committed,
  endOffsets,
  pipeUntilStopped,
  topicWith,
} from "./_group.ts";

const PARTITIONS = 3;
const SESSION = 90_000;
const text = new TextDecoder();

describe("broker restart under a Processor", () => {
  // A test that fails half-way must not leave the broker down for the files
  // after this one.
  after(() => kafkaTool("up"));

  test("kill -9 and restart while a group pipes into a Processor: every message processed, each partition in order, all committed", async () => {
    const topic = await topicWith(PARTITIONS);
    const count = 12_000;
    const writer = new Writer({ brokers: [BROKER], topic });
    const write = (from: number, n: number) =>
      writer.writeMessages(
        Array.from({ length: n }, (_, i) => ({
          key: `k${from + i}`,
          value: `p${from + i}`,
        })),
      );
    await write(0, 9000);
    const groupId = uniqueTopic("restart-processor-g");
    const errors: string[] = [];
    const reader = new Reader({
      brokers: [BROKER],
      groupId,
      groupTopics: [topic],
      heartbeatInterval: 500,
      // Longer than the outage: the member keeps its partitions.
      sessionTimeout: SESSION,
      rebalanceTimeout: 10_000,
      maxWait: 500,
      errorLogger: (m) => errors.push(m),
    });
    const seen = new Map<string, number>();
    /** Per partition, the offsets processed, in the order processed. */
    const order: number[][] = Array.from({ length: PARTITIONS }, () => []);
    let processed = 0;
    const processor = new Processor(async (m) => {
      // Slow enough for the kill to land mid-way.
      if (m.offset % 100 === 0) await sleep(20);
      const value = text.decode(m.value!);
      seen.set(value, (seen.get(value) ?? 0) + 1);
      order[m.partition].push(m.offset);
      processed++;
    }, { concurrency: PARTITIONS });
    const pipe = pipeUntilStopped(reader, processor);
    try {
      const deadline = Date.now() + 120_000;
      while (seen.size < 3000 && Date.now() < deadline) await sleep(20);
      const down = Date.now();
      await kafkaTool("kill");
      await sleep(1000);
      await kafkaTool("up");
      const outage = Date.now() - down;
      // Messages written after the restart are fetched after it too.
      await write(9000, 3000);
      while (seen.size < count && Date.now() < deadline) await sleep(100);
      assert.equal(seen.size, count, `processed ${seen.size} of ${count}`);
      assert.ok(
        errors.some((e) => /kafka reader: /.test(e)),
        "the Reader reported the lost broker",
      );
      const again = [...seen.values()].filter((n) => n > 1).length;
      console.log(
        `processor restart: ${count} messages, ${processed} processed, ` +
          `${again} more than once; the broker was away ${outage} ms`,
      );
      // What a handler finished during the outage was committed after it
      // (the member kept its partitions): each partition in offset order,
      // once. A start slower than the session (a very busy machine) costs
      // the member its partitions, and the next generation starts again
      // from the last commit: still in order, never further on.
      const evicted = outage > SESSION;
      if (!evicted) assert.equal(again, 0, "messages processed twice");
      for (const offsets of order) {
        for (let i = 1; i < offsets.length; i++) {
          if (offsets[i] !== offsets[i - 1] + 1) {
            assert.ok(
              evicted && offsets[i] <= offsets[i - 1],
              `a partition went from ${offsets[i - 1]} to ${offsets[i]}`,
            );
          }
        }
      }
      assert.equal((await pipe.stop() as Error)?.name, "AbortError");
      await reader.close();
      assert.deepEqual(
        await committed(groupId, topic, PARTITIONS),
        await endOffsets(topic, PARTITIONS),
      );
    } finally {
      await Promise.allSettled([reader.close(), writer.close()]);
    }
  });
});
