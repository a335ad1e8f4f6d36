/**
 * `Reader.batches()` and the lazily decoded messages against the real
 * broker: one partition, a consumer group (commits follow the batches), and
 * what a message shows when logged, serialized or written again.
 */

import assert from "node:assert/strict";
import { inspect } from "node:util";
import { describe, test } from "node:test";
import { Reader } from "../lib/consumer/reader.ts";
import type { MessageBatch } from "../lib/consumer/message_batch.ts";
import { Writer } from "../lib/producer/writer.ts";
import { BROKER, uniqueTopic } from "./_helpers.ts";
import {
  committed,
  endOffsets,
  produce,
  SESSION_TIMEOUT,
  topicWith,
} from "./_group.ts";

const text = new TextDecoder();

describe("Reader.batches()", () => {
  test("one partition: every message once, in order, in batches of one partition", async () => {
    const topic = await topicWith(1);
    await produce(topic, 0, 5000);
    const reader = new Reader({ brokers: [BROKER], topic, partition: 0 });
    const values: string[] = [];
    let batches = 0;
    let next = 0;
    for await (const batch of reader.batches()) {
      batches++;
      assert.equal(batch.topic, topic);
      assert.equal(batch.partition, 0);
      assert.ok(batch.messages.length > 0);
      assert.equal(batch.firstOffset, next);
      assert.equal(batch.lastOffset, batch.messages.at(-1)!.offset);
      for (const m of batch.messages) {
        assert.equal(m.offset, next++);
        values.push(text.decode(m.value!));
      }
      if (next === 5000) break;
    }
    assert.deepEqual(values, Array.from({ length: 5000 }, (_, i) => `m${i}`));
    assert.ok(batches < 5000, `${batches} batches`);
    // Leaving the loop cancelled the stream, which closed the Reader.
    await assert.rejects(reader.readMessage(), /closed/);
  });

  test("by index: what messages give, across record batches, from an offset inside one", async () => {
    const topic = await topicWith(1);
    const writer = new Writer({ brokers: [BROKER], topic });
    // Ten calls: ten record batches, which one fetch returns together.
    for (let call = 0; call < 10; call++) {
      await writer.writeMessages(
        Array.from({ length: 50 }, (_, i) => {
          const n = call * 50 + i;
          return {
            key: n % 3 === 0 ? null : `k${n}`,
            value: `m${n}`,
            headers: n % 2 === 0 ? [{ key: "n", value: String(n) }] : [],
            time: new Date(1_700_000_000_000 + n),
          };
        }),
      );
    }
    await writer.close();
    const reader = new Reader({ brokers: [BROKER], topic, partition: 0 });
    await reader.setOffset(125);
    let next = 125;
    for await (const batch of reader.batches()) {
      assert.equal(batch.firstOffset, next);
      assert.equal(batch.length, batch.messages.length);
      assert.equal(batch.messages, batch.messages, "made once");
      // Backwards first: a lookup may go back to an earlier record batch.
      for (let i = batch.length - 1; i >= 0; i--) {
        const m = batch.messages[i];
        const n = next + i;
        assert.equal(batch.offset(i), n);
        assert.equal(m.offset, n);
        assert.equal(text.decode(batch.value(i)!), `m${n}`);
        assert.deepEqual(batch.value(i), m.value);
        assert.deepEqual(batch.key(i), m.key);
        assert.equal(batch.key(i) === null, n % 3 === 0);
        assert.deepEqual(batch.headers(i), m.headers);
        assert.equal(batch.headers(i).length, n % 2 === 0 ? 1 : 0);
        assert.equal(batch.timestamp(i), 1_700_000_000_000 + n);
        assert.equal(batch.timestamp(i), m.time.getTime());
      }
      assert.equal(batch.lastOffset, next + batch.length - 1);
      for (const bad of [-1, batch.length, 0.5, NaN]) {
        assert.throws(() => batch.value(bad), {
          name: "RangeError",
          message: new RegExp(`message index ${bad} \\(number\\) is outside`),
        });
      }
      next += batch.length;
      if (next === 500) break;
    }
    assert.equal(next, 500);
  });

  test("preventCancel leaves the Reader open where the batches stopped", async () => {
    const topic = await topicWith(1);
    await produce(topic, 0, 300);
    const reader = new Reader({ brokers: [BROKER], topic, partition: 0 });
    let last = -1;
    for await (const batch of reader.batches({ preventCancel: true })) {
      last = batch.lastOffset;
      break;
    }
    assert.ok(last >= 0);
    if (last < 299) {
      assert.equal((await reader.readMessage()).offset, last + 1);
    }
    await reader.close();
  });

  test("a consumer group commits up to the last batch consumed, and the next member goes on from there", async () => {
    const topic = await topicWith(3);
    await produce(topic, 0, 3000);
    const groupId = uniqueTopic("batches-group");
    const options = {
      brokers: [BROKER],
      topic,
      groupId,
      sessionTimeout: SESSION_TIMEOUT,
      heartbeatInterval: 500,
    };
    const first = new Reader(options);
    const seen = new Set<string>();
    const perPartition = new Map<number, number>();
    let batch: MessageBatch | undefined;
    for await (batch of first.batches()) {
      for (const m of batch.messages) {
        assert.equal(m.partition, batch.partition);
        seen.add(text.decode(m.value!));
      }
      perPartition.set(batch.partition, batch.lastOffset);
      if (seen.size >= 1000) break;
    }
    // Leaving the loop closed the member, committing what it consumed.
    const offsets = await committed(groupId, topic, 3);
    for (const [partition, last] of perPartition) {
      assert.equal(offsets[partition], last + 1, `partition ${partition}`);
    }
    const second = new Reader(options);
    const ends = await endOffsets(topic, 3);
    const total = ends.reduce((a, b) => a + b, 0);
    for await (const b of second.batches()) {
      for (const m of b.messages) seen.add(text.decode(m.value!));
      if (seen.size === total) break;
    }
    assert.equal(seen.size, 3000);
  });
});

describe("fetched messages", () => {
  test("log, serialize and write again as plain messages would", async () => {
    const topic = uniqueTopic("lazy");
    const writer = new Writer({
      brokers: [BROKER],
      topic,
      allowAutoTopicCreation: true,
    });
    const time = new Date(1_700_000_000_000);
    await writer.writeMessages({
      key: "k",
      value: "v",
      headers: [{ key: "h", value: "x" }],
      time,
    });
    const reader = new Reader({ brokers: [BROKER], topic, partition: 0 });
    const m = await reader.readMessage();
    assert.equal(text.decode(m.key!), "k");
    assert.equal(m.value, m.value, "the same view each time");
    assert.deepEqual(m.headers.map((h) => h.key), ["h"]);
    assert.equal(m.time.getTime(), time.getTime());
    const shown = inspect(m);
    assert.match(shown, /offset: 0/);
    assert.match(shown, /headers: \[/);
    const json = JSON.parse(JSON.stringify(m));
    assert.equal(json.offset, 0);
    assert.equal(json.topic, topic);
    assert.ok("value" in json && "key" in json && "headers" in json);
    // A message can be changed, and written again.
    m.value = new TextEncoder().encode("changed");
    assert.equal(text.decode(m.value!), "changed");
    const copy = new Writer({
      brokers: [BROKER],
      topic: `${topic}-copy`,
      allowAutoTopicCreation: true,
    });
    await copy.writeMessages(m);
    await copy.close();
    const again = new Reader({
      brokers: [BROKER],
      topic: `${topic}-copy`,
      partition: 0,
    });
    const copied = await again.readMessage();
    assert.equal(text.decode(copied.value!), "changed");
    assert.equal(text.decode(copied.key!), "k");
    assert.equal(copied.time.getTime(), time.getTime());
    await Promise.all([again.close(), reader.close(), writer.close()]);
  });
});
