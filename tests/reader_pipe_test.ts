/**
 * `reader.pipeTo(writer)` against the real broker: the Reader hands the
 * Writer a fetched batch at a time, and the pipe keeps the platform's
 * promises — what `signal`, `preventAbort`, `preventCancel` and
 * `preventClose` mean, and how either end's failure reaches the other.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Reader } from "../lib/consumer/reader.ts";
import { ClosedError } from "../lib/connection/errors.ts";
import { KafkaError } from "../lib/protocol/errors.ts";
import { Writer } from "../lib/producer/writer.ts";
import { BROKER, noUnhandledRejections, sleep } from "./_helpers.ts";
import {
  committed,
  endOffsets,
  fast,
  newGroup,
  produce,
  PROTOCOLS,
  topicWith,
  until,
} from "./_group.ts";
import { startProxy } from "./_proxy.ts";
import { FirstOffset } from "../mod.ts";

const text = new TextDecoder();

/** Every message of partition 0 of `topic` up to `count`, as "key=value". */
async function readAll(topic: string, count: number): Promise<string[]> {
  const reader = new Reader({ brokers: [BROKER], topic, partition: 0 });
  const out: string[] = [];
  if (count > 0) {
    for await (const m of reader.values({ preventCancel: true })) {
      out.push(`${text.decode(m.key!)}=${text.decode(m.value!)}`);
      if (out.length === count) break;
    }
  }
  await reader.close();
  return out;
}

/**
 * Waits until the Writer's stats have counted `count` acknowledged messages;
 * returns the writes they counted meanwhile (stats count since the last call).
 */
async function acknowledged(writer: Writer, count: number): Promise<number> {
  let acked = 0;
  let writes = 0;
  const deadline = Date.now() + 20_000;
  while (acked < count) {
    if (Date.now() > deadline) throw new Error(`${acked} of ${count} acked`);
    await sleep(5);
    const stats = writer.stats();
    acked += stats.messages;
    writes += stats.writes;
  }
  return writes;
}

/**
 * A one-partition source topic holding `count` messages ("k<i>"/"m<i>"), an
 * empty target topic, a Reader of the source and a Writer to the target.
 */
async function mirrorSetup(
  count: number,
  options: {
    batchBytes?: number;
    offsetOutOfRange?: "reset" | "error";
  } = {},
) {
  const source = await topicWith(1);
  const target = await topicWith(1);
  if (count > 0) await produce(source, 0, count);
  const reader = new Reader({
    brokers: [BROKER],
    topic: source,
    partition: 0,
    offsetOutOfRange: options.offsetOutOfRange,
  });
  const writer = new Writer({
    brokers: [BROKER],
    topic: target,
    batchBytes: options.batchBytes,
  });
  return { source, target, reader, writer };
}

function expected(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `k${i}=m${i}`);
}

describe("reader.pipeTo(writer)", () => {
  test("writes a fetched batch per call, in order; the signal stops it after what was handed over is written", async () => {
    await noUnhandledRejections(async () => {
      const { source, target, reader, writer } = await mirrorSetup(0);
      // Several calls: several record batches in each fetch.
      for (let from = 0; from < 20_000; from += 5_000) {
        await produce(source, from, 5_000);
      }
      const stop = new AbortController();
      const reason = new Error("enough");
      const piping = reader.pipeTo(writer, {
        signal: stop.signal,
        preventAbort: true,
      });
      assert.ok(reader.locked && writer.locked, "both ends locked");
      const writes = await acknowledged(writer, 20_000);
      stop.abort(reason);
      await assert.rejects(piping, (error) => error === reason);
      // Not aborted: the Writer is unlocked and open; the Reader was
      // cancelled, which closed it.
      assert.equal(writer.locked, false);
      await writer.writeMessages({ key: "k20000", value: "m20000" });
      await writer.close();
      await assert.rejects(reader.readMessage(), ClosedError);
      assert.deepEqual(await readAll(target, 20_001), expected(20_001));
      // A write per fetched batch, not per message.
      assert.ok(writes < 100, `${writes} writes`);
    });
  });

  test("preventCancel leaves the Reader open at the next message", async () => {
    const { source, target, reader, writer } = await mirrorSetup(3_000);
    const stop = new AbortController();
    const piping = reader.pipeTo(writer, {
      signal: stop.signal,
      preventAbort: true,
      preventCancel: true,
    });
    await acknowledged(writer, 3_000);
    stop.abort();
    await assert.rejects(piping, { name: "AbortError" });
    await produce(source, 3_000, 1);
    const next = await reader.readMessage();
    assert.equal(next.offset, 3_000);
    await reader.close();
    await writer.close();
    assert.deepEqual(await readAll(target, 3_000), expected(3_000));
  });

  test("closing the Reader ends the pipe, which closes the Writer after its last write; preventClose leaves it open", async () => {
    for (const preventClose of [false, true]) {
      const { target, reader, writer } = await mirrorSetup(1_000);
      const piping = reader.pipeTo(writer, { preventClose });
      await acknowledged(writer, 1_000);
      await reader.close();
      await piping;
      if (preventClose) {
        await writer.writeMessages({ key: "k1000", value: "m1000" });
        await writer.close();
        assert.deepEqual(await readAll(target, 1_001), expected(1_001));
      } else {
        await assert.rejects(
          writer.writeMessages({ value: "late" }),
          ClosedError,
        );
        assert.deepEqual(await readAll(target, 1_000), expected(1_000));
      }
    }
  });

  test("a write that fails rejects the pipe with its error and cancels the Reader, unless preventCancel", async () => {
    await noUnhandledRejections(async () => {
      for (const preventCancel of [false, true]) {
        // The 4,000-byte message cannot fit a 2,000-byte batch.
        const { source, reader, writer } = await mirrorSetup(10, {
          batchBytes: 2_000,
        });
        const big = new Writer({ brokers: [BROKER], topic: source });
        await big.writeMessages({ value: new Uint8Array(4_000) });
        await big.close();
        const failed = await reader.pipeTo(writer, { preventCancel })
          .then(() => null, (error) => error);
        assert.ok(failed instanceof Error, String(failed));
        assert.match(failed.message, /4\d{3} bytes|too large/i);
        // The stream failed with the same error.
        await assert.rejects(writer.close(), (error) => error === failed);
        if (preventCancel) {
          // Open, after the batch the pipe took (all 11 messages).
          await produce(source, 10, 1);
          assert.equal((await reader.readMessage()).offset, 11);
          await reader.close();
        } else {
          await assert.rejects(reader.readMessage(), ClosedError);
        }
      }
    });
  });

  for (const protocol of PROTOCOLS) {
    test(`a group Reader (${protocol}) piped into a Writer commits only what the Writer acknowledged`, async () => {
      await noUnhandledRejections(async () => {
        const source = await topicWith(1);
        const target = await topicWith(1);
        const groupId = await newGroup(protocol);
        await produce(source, 0, 50);
        const group = () =>
          new Reader({
            brokers: [BROKER],
            groupId,
            groupTopics: [source],
            ...fast(protocol),
          });
        const reader = group();
        // 2,000-byte batches: the 4,000-byte message below cannot be sent.
        const writer = new Writer({
          brokers: [BROKER],
          topic: target,
          batchBytes: 2_000,
        });
        const piped = reader.pipeTo(writer).then(() => null, (error) => error);
        await acknowledged(writer, 50);
        // A later batch whose write fails: m50, the big one and m51.
        const more = new Writer({ brokers: [BROKER], topic: source });
        await more.writeMessages(
          { key: "k50", value: "m50" },
          { key: "big", value: new Uint8Array(4_000) },
          { key: "k51", value: "m51" },
        );
        await more.close();
        const failed = await piped;
        assert.ok(failed instanceof Error, String(failed));
        assert.match(failed.message, /too large|4\d{3} bytes/i);
        // The Reader was cancelled, which committed and left the group:
        // the first 50 were acknowledged, the failed batch was not.
        await assert.rejects(reader.readMessage(), ClosedError);
        assert.deepEqual(await committed(groupId, source, 1), [50]);
        // The next member reads the failed batch again, whole.
        const again = group();
        try {
          const m = await again.readMessage({
            signal: AbortSignal.timeout(30_000),
          });
          assert.equal(m.offset, 50);
          assert.equal(text.decode(m.value!), "m50");
        } finally {
          await again.close();
        }
      });
    });
  }

  test("a group Reader kept open (preventCancel) after a failed write reads what the pipe did not deliver again, and commits nothing past it", async () => {
    await noUnhandledRejections(async () => {
      const source = await topicWith(1);
      const target = await topicWith(1);
      const groupId = await newGroup("classic");
      await produce(source, 0, 20);
      const reader = new Reader({
        brokers: [BROKER],
        groupId,
        groupTopics: [source],
        ...fast("classic"),
      });
      const writer = new Writer({
        brokers: [BROKER],
        topic: target,
        batchBytes: 2_000,
      });
      try {
        const piped = reader.pipeTo(writer, { preventCancel: true })
          .then(() => null, (error) => error);
        await acknowledged(writer, 20);
        const more = new Writer({ brokers: [BROKER], topic: source });
        await more.writeMessages(
          { key: "k20", value: "m20" },
          { key: "big", value: new Uint8Array(4_000) },
          { key: "k21", value: "m21" },
        );
        await more.close();
        const failed = await piped;
        assert.match(String(failed), /too large|4\d{3} bytes/i);
        // The same Reader goes on at the failed batch's first message, and
        // what it consumes from there is committed, nothing past it before.
        const m = await reader.readMessage({
          signal: AbortSignal.timeout(30_000),
        });
        assert.equal(m.offset, 20);
        assert.equal(text.decode(m.value!), "m20");
        assert.deepEqual(await committed(groupId, source, 1), [21]);
        // Closed while something holds its stream, it says it is closed.
        const held = reader.getReader();
        await reader.close();
        await assert.rejects(reader.readMessage(), ClosedError);
        held.releaseLock();
      } finally {
        await reader.close();
      }
    });
  });

  test("closing the Writer during a pipe delivers what it took and ends the pipe at once with a ClosedError", async () => {
    await noUnhandledRejections(async () => {
      const { reader, writer, target } = await mirrorSetup(100);
      const piped = reader.pipeTo(writer).then(() => null, (error) => error);
      await acknowledged(writer, 100);
      await writer.close();
      const failed = await piped;
      assert.ok(failed instanceof ClosedError, String(failed));
      assert.match(failed.message, /closed .*locked by a pipe/);
      // The pipe cancelled the Reader; everything it took was delivered.
      await assert.rejects(reader.readMessage(), ClosedError);
      assert.deepEqual(await readAll(target, 100), expected(100));
    });
  });

  for (const commitInterval of [0, 200]) {
    test(`a group pipe commits what the Writer acknowledged while it runs (commitInterval ${commitInterval})`, async () => {
      await noUnhandledRejections(async () => {
        const source = await topicWith(2);
        const target = await topicWith(1);
        const groupId = await newGroup("classic");
        await produce(source, 0, 2000);
        const ends = await endOffsets(source, 2);
        const reader = new Reader({
          brokers: [BROKER],
          groupId,
          groupTopics: [source],
          startOffset: FirstOffset,
          commitInterval,
          ...fast("classic"),
        });
        const writer = new Writer({ brokers: [BROKER], topic: target });
        const piped = reader.pipeTo(writer).then(() => null, (error) => error);
        try {
          // Everything written and acknowledged, the pipe still running:
          // the group's offsets reach the end without a close.
          const deadline = Date.now() + 20_000;
          for (;;) {
            const offsets = await committed(groupId, source, 2);
            if (offsets.every((o, i) => o === ends[i])) break;
            assert.ok(Date.now() < deadline, `committed ${offsets} of ${ends}`);
            await sleep(50);
          }
        } finally {
          await reader.close();
          assert.equal(await piped, null);
        }
      });
    });
  }

  test("a rebalance waits for the Writer to acknowledge what the pipe handed it, and commits it: the next owner does not read it again", async () => {
    await noUnhandledRejections(async () => {
      const source = await topicWith(2);
      const target = await topicWith(1);
      const groupId = await newGroup("classic");
      const member = () =>
        new Reader({
          brokers: [BROKER],
          groupId,
          groupTopics: [source],
          startOffset: FirstOffset,
          ...fast("classic"),
        });
      // The Writer reaches the broker through a proxy that can hold its
      // answers back.
      const proxy = await startProxy({ target: BROKER });
      const writer = new Writer({ brokers: [proxy.address], topic: target });
      const first = member();
      let second: Reader | undefined;
      try {
        await writer.writeMessages({ value: "warm-up" });
        proxy.stall();
        await produce(source, 0, 20);
        const piped = first.pipeTo(writer, { preventClose: true })
          .then(() => null, (error) => error);
        // All 20 handed over, not acknowledged: the proxy holds the answers.
        // (Both partitions: a partition not yet fetched at the rebalance is
        // rightly read again by its next owner.)
        const deadline = Date.now() + 20_000;
        let fetched = 0;
        let handed = 0;
        for (;;) {
          await sleep(20);
          const stats = first.stats();
          fetched += stats.messages;
          handed += writer.stats().writes;
          if (fetched === 20 && stats.queueLength === 0 && handed > 0) break;
          assert.ok(
            Date.now() < deadline,
            `the pipe took all 20 messages (fetched ${fetched})`,
          );
        }
        // A second member joins: the first gives partitions up, and waits
        // for its Writer before it commits.
        second = member();
        const joined = second.readMessage({
          signal: AbortSignal.timeout(30_000),
        });
        await sleep(1000);
        proxy.resume();
        await until(
          "the second member has partitions",
          () => second!.assignment().length > 0,
        );
        await produce(source, 100, 10);
        const m = await joined;
        assert.match(
          text.decode(m.value!),
          /^m1\d\d$/,
          "the first message the new owner reads was written after the rebalance",
        );
        await first.close();
        assert.equal(await piped, null);
      } finally {
        proxy.resume();
        await second?.close();
        await first.close();
        await writer.close();
        await proxy.close();
      }
    });
  });

  test("map turns each message into what the Writer gets: one, several or none, sync or async, in order", async () => {
    await noUnhandledRejections(async () => {
      const { target, reader, writer } = await mirrorSetup(3_000);
      const stop = new AbortController();
      const piping = reader.pipeTo(writer, {
        signal: stop.signal,
        preventAbort: true,
        map: (m) => {
          const i = m.offset;
          if (i % 3 === 0) return null;
          if (i % 3 === 1) {
            return [{ key: `k${i}`, value: `a${i}` }, {
              key: `k${i}`,
              value: `b${i}`,
            }];
          }
          return Promise.resolve({ key: `k${i}`, value: `c${i}` });
        },
      }).then(() => null, (error) => error);
      // 1,000 left out, 1,000 doubled, 1,000 one each.
      const out = await readAll(target, 3_000);
      stop.abort(new Error("stop"));
      assert.equal((await piping)?.message, "stop");
      await writer.close();
      const want: string[] = [];
      for (let i = 0; i < 3_000; i++) {
        if (i % 3 === 1) want.push(`k${i}=a${i}`, `k${i}=b${i}`);
        if (i % 3 === 2) want.push(`k${i}=c${i}`);
      }
      assert.deepEqual(out, want);
    });
  });

  test("map into any other WritableStream goes through a transform stream", async () => {
    await noUnhandledRejections(async () => {
      const { reader, writer } = await mirrorSetup(10);
      await writer.close();
      const got: string[] = [];
      const stop = new AbortController();
      const dest = new WritableStream<string>({
        write(value) {
          got.push(value);
          if (got.length === 5) stop.abort(new Error("stop"));
        },
      });
      await assert.rejects(
        reader.pipeTo(dest, {
          signal: stop.signal,
          map: (m) => m.offset % 2 === 0 ? text.decode(m.value!) : null,
        }),
        /stop/,
      );
      assert.deepEqual(got, ["m0", "m2", "m4", "m6", "m8"]);
      const unread = new Reader({
        brokers: [BROKER],
        topic: "t",
        partition: 0,
      });
      await assert.rejects(
        // deno-lint-ignore no-explicit-any
        unread.pipeTo(dest, { map: "upper" as any }),
        /"map" must be a function, got "upper" \(string\)/,
      );
      await unread.close();
    });
  });

  test("a map that throws stops a group's pipe: nothing of its batch written or committed, the Reader cancelled, the Writer aborted", async () => {
    await noUnhandledRejections(async () => {
      const source = await topicWith(1);
      const target = await topicWith(1);
      const groupId = await newGroup("classic");
      await produce(source, 0, 50);
      const reader = new Reader({
        brokers: [BROKER],
        groupId,
        groupTopics: [source],
        startOffset: FirstOffset,
        ...fast("classic"),
      });
      const writer = new Writer({ brokers: [BROKER], topic: target });
      const piped = reader.pipeTo(writer, {
        map: (m) => {
          if (text.decode(m.value!) === "m60") throw new Error("bad m60");
          return { key: m.key, value: m.value };
        },
      }).then(() => null, (error) => error);
      const deadline = Date.now() + 20_000;
      while ((await committed(groupId, source, 1))[0] !== 50) {
        assert.ok(Date.now() < deadline, "the first 50 committed");
        await sleep(50);
      }
      await produce(source, 50, 20);
      const failed = await piped;
      assert.equal(failed?.message, "bad m60");
      await assert.rejects(reader.readMessage(), ClosedError);
      assert.equal(writer.locked, false);
      await assert.rejects(writer.writeMessages({ value: "x" }));
      // The batch holding m60 (and m50..m59 with it) was neither written
      // nor committed.
      const [offset] = await committed(groupId, source, 1);
      assert.ok(offset >= 50 && offset <= 60, `committed ${offset}`);
      const out = await readAll(target, offset);
      assert.deepEqual(out, expected(offset));
    });
  });

  test("a map result that is no message fails the pipe before anything of its batch is written, and nothing of it is committed", async () => {
    await noUnhandledRejections(async () => {
      const source = await topicWith(1);
      const target = await topicWith(1);
      const groupId = await newGroup("classic");
      await produce(source, 0, 20);
      const reader = new Reader({
        brokers: [BROKER],
        groupId,
        groupTopics: [source],
        startOffset: FirstOffset,
        ...fast("classic"),
      });
      const writer = new Writer({ brokers: [BROKER], topic: target });
      const failed = await reader.pipeTo(writer, {
        // m5 maps to a list with a hole: not a message.
        map: (m) =>
          text.decode(m.value!) === "m5"
            ? [{ value: "a" }, undefined as never]
            : { value: m.value },
      }).then(() => null, (error) => error);
      assert.ok(failed instanceof TypeError, String(failed));
      assert.equal(
        failed.message,
        "Cannot write message 6 of a batch the pipe handed over: expected an object, got undefined",
      );
      assert.deepEqual(await endOffsets(target, 1), [0]);
      assert.deepEqual(await committed(groupId, source, 1), [-1]);
    });
  });

  test("a map that throws after promises that reject: the pipe rejects with the throw, and those rejections are handled", async () => {
    await noUnhandledRejections(async () => {
      const source = await topicWith(1);
      const target = await topicWith(1);
      await produce(source, 0, 10);
      const reader = new Reader({ brokers: [BROKER], topic: source });
      const writer = new Writer({ brokers: [BROKER], topic: target });
      const failed = await reader.pipeTo(writer, {
        map: (m) => {
          if (m.offset === 3) throw new Error("bad m3");
          // Rejects a moment after the throw, with nothing awaiting it.
          return sleep(20).then(() => Promise.reject(new Error("late")));
        },
      }).then(() => null, (error) => error);
      assert.equal(failed?.message, "bad m3");
      await sleep(100);
    });
  });

  test("the Reader's failure rejects the pipe and aborts the Writer, unless preventAbort", async () => {
    await noUnhandledRejections(async () => {
      for (const preventAbort of [false, true]) {
        const { target, reader, writer } = await mirrorSetup(3, {
          offsetOutOfRange: "error",
        });
        reader.setOffset(50);
        const failed = await reader.pipeTo(writer, { preventAbort })
          .then(() => null, (error) => error);
        assert.ok(failed instanceof KafkaError, String(failed));
        assert.equal(failed.code, 1, "OFFSET_OUT_OF_RANGE");
        if (preventAbort) {
          await writer.writeMessages({ key: "k0", value: "m0" });
          await writer.close();
          assert.deepEqual(await readAll(target, 1), expected(1));
        } else {
          await assert.rejects(writer.writeMessages({ value: "late" }));
        }
        await reader.close();
      }
    });
  });

  test("an aborted signal rejects at once; a locked Writer is refused as the platform refuses it", async () => {
    const source = await topicWith(1);
    const reader = new Reader({
      brokers: [BROKER],
      topic: source,
      partition: 0,
    });
    const writer = new Writer({ brokers: [BROKER], topic: source });
    const reason = new Error("before");
    await assert.rejects(
      reader.pipeTo(writer, {
        signal: AbortSignal.abort(reason),
        preventAbort: true,
        preventCancel: true,
      }),
      (error) => error === reason,
    );
    assert.equal(reader.locked, false);
    assert.equal(writer.locked, false);
    const lock = writer.getWriter();
    await assert.rejects(reader.pipeTo(writer), TypeError);
    lock.releaseLock();
    await reader.close();
    await writer.close();
  });
});
