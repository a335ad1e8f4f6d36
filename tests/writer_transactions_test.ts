/**
 * The transactional Writer against the real broker: transactions over
 * several partitions committed and aborted one after another (what
 * read_committed and read_uncommitted Readers see), `transaction(fn)`,
 * consume-transform-produce with a group Reader's offsets, fencing by a
 * newer Writer with the same id, a failed write leaving the transaction
 * abort-only, close() aborting an open transaction, and the refusals.
 */

import assert from "node:assert/strict";
import process from "node:process";
import { after, describe, test } from "node:test";
import {
  Client,
  ClosedError,
  Cluster,
  ErrorCode,
  KafkaError,
  Reader,
  WriteErrors,
  Writer,
} from "../mod.ts";
import type { Balancer, Message } from "../mod.ts";
import {
  BROKER,
  noUnhandledRejections,
  sleep,
  uniqueTopic,
} from "./_helpers.ts";
import { fast, newGroup, produce, PROTOCOLS } from "./_group.ts";
import { createTopic, groupOffsets, readUntil } from "./_txn.ts";
import { main as example } from "../examples/writer_transactions.ts";

const decoder = new TextDecoder();

/**
 * Keys "k<i>" go to partition i mod n, keys "end-p<p>" to partition p: the
 * tests know where each message lands.
 */
const byKey: Balancer = {
  balance(message, partitions) {
    const key = decoder.decode(message.key ?? new Uint8Array());
    if (key.startsWith("end-p")) return Number(key.slice(5));
    return partitions[Number(key.slice(1)) % partitions.length];
  },
};

/** A transactional Writer of `topic`, with a fresh transactional id. */
function txnWriter(topic: string, transactionalId = uniqueTopic("txn-id")) {
  return new Writer({
    brokers: [BROKER],
    topic,
    transactionalId,
    balancer: byKey,
  });
}

/** `count` messages keyed k0..: values `${prefix}-${i}`. */
function messages(prefix: string, count: number) {
  return Array.from({ length: count }, (_, i) => ({
    key: `k${i}`,
    value: `${prefix}-${i}`,
  }));
}

/** Commits a marker "end-p<p>" to each of `partitions` partitions. */
async function endMarkers(w: Writer, partitions: number): Promise<void> {
  await w.transaction(() =>
    w.writeMessages(
      Array.from({ length: partitions }, (_, p) => ({
        key: `end-p${p}`,
        value: `end-p${p}`,
      })),
    )
  );
}

/** What a Reader sees in each partition up to its marker (left out). */
async function upToMarkers(
  topic: string,
  partitions: number,
  isolationLevel: "read_committed" | "read_uncommitted",
): Promise<string[][]> {
  const out: string[][] = [];
  for (let p = 0; p < partitions; p++) {
    const values = await readUntil(topic, p, `end-p${p}`, isolationLevel);
    out.push(values.slice(0, -1));
  }
  return out;
}

describe("Writer: transactions", () => {
  const cluster = new Cluster({ brokers: [BROKER] });
  const client = new Client({ cluster, timeout: 20_000 });
  after(() => cluster.close());

  test("commit and abort in turn across 3 partitions: read_committed sees exactly the committed messages, in order", async () => {
    await noUnhandledRejections(async () => {
      const topic = uniqueTopic("txn-commit-abort");
      const id = uniqueTopic("txn-commit-abort-id");
      await createTopic(client, topic, 3);
      const w = txnWriter(topic, id);
      try {
        await w.beginTransaction();
        await w.writeMessages(messages("one", 3000));
        await w.commitTransaction();

        await w.beginTransaction();
        await w.writeMessages(messages("two", 1000));
        await w.abortTransaction();

        // A third, committed after the abort: the epoch and sequences that
        // followed the abort are accepted.
        await w.transaction(() => w.writeMessages(messages("three", 900)));
        await endMarkers(w, 3);
      } finally {
        await w.close();
      }
      const seen = await upToMarkers(topic, 3, "read_committed");
      // Each partition holds its share of the committed messages, in the
      // order written.
      for (let p = 0; p < 3; p++) {
        const mine = (prefix: string, count: number) =>
          messages(prefix, count).filter((_, i) => i % 3 === p).map((m) =>
            m.value
          );
        assert.deepEqual(seen[p], [
          ...mine("one", 3000),
          ...mine("three", 900),
        ]);
      }
      // The aborted messages were written, and are skipped.
      const raw = (await upToMarkers(topic, 3, "read_uncommitted")).flat();
      assert.equal(raw.filter((v) => v.startsWith("two-")).length, 1000);
      assert.equal(raw.length, 3000 + 1000 + 900);
      // The coordinator moves to CompleteCommit once every marker is
      // written, which a loaded broker may finish after the reads above.
      const deadline = Date.now() + 10_000;
      for (;;) {
        const [state] = await client.describeTransactions([id]);
        assert.equal(state.error, null);
        if (state.state === "CompleteCommit" || Date.now() > deadline) {
          assert.equal(state.state, "CompleteCommit");
          break;
        }
        await sleep(100);
      }
    });
  });

  test("transaction(fn) commits when fn resolves, aborts and rethrows when it rejects", async () => {
    await noUnhandledRejections(async () => {
      const topic = uniqueTopic("txn-fn");
      await createTopic(client, topic, 1);
      const w = txnWriter(topic);
      try {
        const result = await w.transaction(async () => {
          await w.writeMessages({ value: "kept" });
          return 42;
        });
        assert.equal(result, 42);
        const failure = new Error("the handler failed");
        await assert.rejects(
          w.transaction(async () => {
            await w.writeMessages({ value: "dropped" });
            throw failure;
          }),
          (error) => error === failure,
        );
        await w.transaction(() => w.writeMessages({ value: "end" }));
      } finally {
        await w.close();
      }
      assert.deepEqual(await readUntil(topic, 0, "end"), ["kept", "end"]);
      assert.deepEqual(await readUntil(topic, 0, "end", "read_uncommitted"), [
        "kept",
        "dropped",
        "end",
      ]);
    });
  });

  test("transaction(fn) when the Writer closes under it: rejects with fn's own failure (close aborts the transaction), nothing is committed", async () => {
    await noUnhandledRejections(async () => {
      const topic = uniqueTopic("txn-close");
      await createTopic(client, topic, 1);
      const w = txnWriter(topic);
      let closing: Promise<void> | null = null;
      const running = w.transaction(async () => {
        await w.writeMessages({ value: "first" });
        closing = w.close();
        await sleep(50);
        await w.writeMessages({ value: "second" });
      });
      await assert.rejects(
        running,
        (error) =>
          error instanceof ClosedError &&
          /Cannot writeMessages: the Writer is closed/.test(error.message),
      );
      await closing;
      const w2 = txnWriter(topic);
      try {
        await w2.transaction(() => w2.writeMessages({ value: "end" }));
      } finally {
        await w2.close();
      }
      assert.deepEqual(await readUntil(topic, 0, "end"), ["end"]);
    });
  });

  for (const protocol of PROTOCOLS) {
    test(`consume-transform-produce (${protocol} group): the offsets commit with the transaction, and only then`, async () => {
      await noUnhandledRejections(async () => {
        const input = uniqueTopic("txn-in");
        const output = uniqueTopic("txn-out");
        await createTopic(client, input, 1);
        await createTopic(client, output, 1);
        await produce(input, 0, 10);
        const groupId = await newGroup(protocol);
        const reader = new Reader({
          brokers: [BROKER],
          groupId,
          groupTopics: [input],
          isolationLevel: "read_committed",
          ...fast(protocol),
        });
        const w = txnWriter(output);
        try {
          const signal = AbortSignal.timeout(30_000);
          const first: Message[] = [];
          for (let i = 0; i < 6; i++) {
            first.push(await reader.fetchMessage({ signal }));
          }
          const group = reader.groupMetadata();
          assert.ok(group, "a group Reader that has joined has metadata");
          assert.equal(group.groupId, groupId);
          assert.ok(group.generationId >= 0);
          assert.notEqual(group.memberId, "");

          // Aborted: neither its messages nor its offsets count.
          await w.beginTransaction();
          await w.writeMessages(
            first.slice(0, 3).map((m) => ({
              value: `upper-${decoder.decode(m.value!).toUpperCase()}`,
            })),
          );
          await w.sendOffsets(
            [{ topic: input, partition: 0, offset: 3 }],
            group,
          );
          await w.abortTransaction();
          assert.deepEqual(
            await groupOffsets(cluster, groupId, [{
              topic: input,
              partition: 0,
            }]),
            [-1],
          );

          // Committed: both.
          await w.transaction(async () => {
            await w.writeMessages(first.map((m) => ({
              value: `upper-${decoder.decode(m.value!).toUpperCase()}`,
            })));
            const last = first.at(-1)!;
            await w.sendOffsets(
              [{
                topic: last.topic,
                partition: last.partition,
                offset: last.offset + 1,
              }],
              reader.groupMetadata()!,
            );
          });
          assert.deepEqual(
            await groupOffsets(cluster, groupId, [{
              topic: input,
              partition: 0,
            }]),
            [6],
          );
          assert.deepEqual(await readUntil(output, 0, "upper-M5"), [
            "upper-M0",
            "upper-M1",
            "upper-M2",
            "upper-M3",
            "upper-M4",
            "upper-M5",
          ]);
        } finally {
          await Promise.all([reader.close(), w.close()]);
        }
        // A Reader outside a group has no group metadata.
        const single = new Reader({ brokers: [BROKER], topic: input });
        assert.equal(single.groupMetadata(), null);
        await single.close();
      });
    });
  }

  for (const protocol of PROTOCOLS) {
    test(`a read_committed ${protocol} group member waits for the offsets a transaction is committing, and resumes after them (KIP-447)`, async () => {
      await noUnhandledRejections(async () => {
        const topic = uniqueTopic("txn-stable");
        await createTopic(client, topic, 1);
        const plain = new Writer({ brokers: [BROKER], topic });
        await plain.writeMessages(
          Array.from({ length: 10 }, (_, i) => ({ value: `m${i}` })),
        );
        await plain.close();
        const groupId = await newGroup(protocol);
        const w = txnWriter(topic);
        const logged: string[] = [];
        const reader = new Reader({
          brokers: [BROKER],
          groupId,
          topic,
          isolationLevel: "read_committed",
          errorLogger: (m) => logged.push(m),
          ...fast(protocol),
        });
        try {
          // Messages 0-5 processed by a member that is committing.
          await w.beginTransaction();
          await w.sendOffsets([{ topic, partition: 0, offset: 6 }], groupId);
          const first = reader.readMessage();
          const early = await Promise.race([
            first.then((m) => `read offset ${m.offset}`),
            sleep(2000).then(() => "waiting"),
          ]);
          // Before, it resumed from the offset before the transaction's
          // (none: the first message) and read 0-5 again.
          assert.equal(early, "waiting");
          await w.commitTransaction();
          assert.equal((await first).offset, 6);
          // Said once, not at every retry.
          assert.equal(
            logged.filter((m) => m.includes("UNSTABLE_OFFSET_COMMIT")).length,
            1,
            logged.join("\n"),
          );
        } finally {
          await reader.close();
          await w.close();
        }
      });
    });
  }

  test("a newer Writer with the same transactionalId fences the older one for good", async () => {
    await noUnhandledRejections(async () => {
      const topic = uniqueTopic("txn-fenced");
      await createTopic(client, topic, 1);
      const id = uniqueTopic("txn-fenced-id");
      const older = txnWriter(topic, id);
      const newer = txnWriter(topic, id);
      try {
        await older.beginTransaction();
        await older.writeMessages({ value: "zombie" });
        // The newer one's first begin aborts what the older left open.
        await newer.beginTransaction();
        const fenced = (error: unknown) => {
          assert.ok(error instanceof KafkaError, String(error));
          assert.ok(
            ([
              ErrorCode.PRODUCER_FENCED,
              ErrorCode.INVALID_PRODUCER_EPOCH,
            ] as number[])
              .includes(error.code),
            error.message,
          );
          return true;
        };
        await assert.rejects(older.commitTransaction(), fenced);
        // Every later call says the id is no longer this Writer's.
        await assert.rejects(older.beginTransaction(), (error) => {
          fenced(error);
          assert.match(
            (error as Error).message,
            /close it and create a new one/,
          );
          return true;
        });
        await assert.rejects(older.writeMessages({ value: "late" }), fenced);
        await newer.writeMessages({ value: "newer" });
        await newer.commitTransaction();
      } finally {
        await Promise.all([older.close(), newer.close()]);
      }
      assert.deepEqual(await readUntil(topic, 0, "newer"), ["newer"]);
    });
  });

  test("a failed write leaves the transaction abort-only; after the abort the next one commits", async () => {
    await noUnhandledRejections(async () => {
      const topic = uniqueTopic("txn-abortable");
      await createTopic(client, topic, 1);
      const w = new Writer({
        brokers: [BROKER],
        topic,
        transactionalId: uniqueTopic("txn-abortable-id"),
        batchBytes: 1024,
      });
      try {
        await w.beginTransaction();
        await w.writeMessages({ value: "fine" });
        await assert.rejects(
          w.writeMessages({ value: new Uint8Array(4096) }),
          /MESSAGE_TOO_LARGE|too large|more than batchBytes/,
        );
        await assert.rejects(w.commitTransaction(), (error) => {
          assert.ok(error instanceof KafkaError);
          assert.equal(error.code, ErrorCode.TRANSACTION_ABORTABLE);
          assert.match(error.message, /abortTransaction/);
          return true;
        });
        await assert.rejects(
          w.writeMessages({ value: "more" }),
          /abortTransaction/,
        );
        await w.abortTransaction();
        await w.transaction(() => w.writeMessages({ value: "after" }));
      } finally {
        await w.close();
      }
      assert.deepEqual(await readUntil(topic, 0, "after"), ["after"]);
    });
  });

  test("a transaction past transactionTimeout: aborted by the coordinator, then abortTransaction() and a new epoch go on (Kafka 3: fenced, a new Writer goes on)", async () => {
    await noUnhandledRejections(async () => {
      const topic = uniqueTopic("txn-timeout");
      await createTopic(client, topic, 1);
      const id = uniqueTopic("txn-timeout-id");
      let w = new Writer({
        brokers: [BROKER],
        topic,
        transactionalId: id,
        transactionTimeout: 500,
      });
      try {
        await w.beginTransaction();
        await w.writeMessages({ value: "too-late" });
        // The broker looks for expired transactions every second (tools/kafka.ts).
        const deadline = Date.now() + 20_000;
        while (
          (await client.describeTransactions([id]))[0].state !== "CompleteAbort"
        ) {
          assert.ok(Date.now() < deadline, "the coordinator aborted it");
          await sleep(200);
        }
        await assert.rejects(
          w.writeMessages({ value: "later" }),
          /INVALID_PRODUCER_EPOCH/,
        );
        await assert.rejects(w.commitTransaction(), (error) => {
          assert.ok(error instanceof KafkaError);
          assert.equal(error.code, ErrorCode.TRANSACTION_ABORTABLE);
          assert.match(
            error.message,
            /longer than transactionTimeout \(500 ms\)/,
          );
          return true;
        });
        await w.abortTransaction();
        if (process.env.KAFKA_VERSION?.startsWith("3.")) {
          // Kafka 3 fences a producer whose transaction timed out: a new
          // Writer takes the id over.
          await assert.rejects(
            w.beginTransaction(),
            /PRODUCER_FENCED.*close it and create a new one/,
          );
          await w.close();
          w = new Writer({ brokers: [BROKER], topic, transactionalId: id });
        }
        await w.transaction(() => w.writeMessages({ value: "on-time" }));
      } finally {
        await w.close();
      }
      assert.deepEqual(await readUntil(topic, 0, "on-time"), ["on-time"]);
    });
  });

  test("close() aborts a transaction left open, and an aborted transaction drops what it had not sent", async () => {
    await noUnhandledRejections(async () => {
      const topic = uniqueTopic("txn-close");
      await createTopic(client, topic, 1);
      const id = uniqueTopic("txn-close-id");
      const w = txnWriter(topic, id);
      await w.beginTransaction();
      await w.writeMessages({ value: "left-open" });
      await w.close();
      const [described] = await client.describeTransactions([id]);
      assert.equal(described.error, null);
      assert.ok(
        ["PrepareAbort", "CompleteAbort"].includes(described.state),
        described.state,
      );

      // Messages an aborted transaction had not sent fail with ClosedError:
      // aborted in the turn they were written, none was sent.
      const w2 = txnWriter(topic);
      try {
        await w2.beginTransaction();
        const pending = w2.writeMessages(messages("burst", 20_000));
        const aborted = w2.abortTransaction();
        await assert.rejects(pending, (error) => {
          assert.ok(error instanceof WriteErrors, String(error));
          assert.equal(error.count, 20_000);
          assert.ok(error.errors.every((e) => e instanceof ClosedError));
          assert.match(
            error.message,
            /was aborted before this message was sent/,
          );
          return true;
        });
        await aborted;
        await w2.transaction(() => w2.writeMessages({ value: "end" }));
      } finally {
        await w2.close();
      }
      assert.deepEqual(await readUntil(topic, 0, "end"), ["end"]);
    });
  });

  test("close() during commitTransaction() waits for the commit: it resolves, and the transaction is committed, not left open", async () => {
    await noUnhandledRejections(async () => {
      const topic = uniqueTopic("txn-close-commit");
      await createTopic(client, topic, 1);
      // Before the fix, close() closed the connections under the commit in
      // 7 of 12 rounds: it rejected with a ClosedError and the transaction
      // stayed Ongoing on the broker, holding read_committed readers back.
      for (let round = 0; round < 5; round++) {
        const id = uniqueTopic("txn-close-commit-id");
        const w = txnWriter(topic, id);
        await w.transaction(() => w.writeMessages({ value: "warm" }));
        await w.beginTransaction();
        const written = w.writeMessages(messages(`r${round}`, 10));
        const committed = w.commitTransaction();
        await sleep(round % 2);
        await w.close();
        await written;
        await committed;
        // Committed: its markers may still be on their way (PrepareCommit).
        const [described] = await client.describeTransactions([id]);
        assert.ok(
          ["PrepareCommit", "CompleteCommit"].includes(described.state),
          `round ${round}: ${described.state}`,
        );
      }
      const end = txnWriter(topic);
      await end.transaction(() => end.writeMessages({ value: "end" }));
      await end.close();
      const values = await readUntil(topic, 0, "end");
      assert.equal(values.filter((v) => v.startsWith("r")).length, 50);
    });
  });

  test("examples/writer_transactions.ts: each order enriched once, the group's offset committed with it", async () => {
    await noUnhandledRejections(async () => {
      const input = uniqueTopic("txn-example-in");
      const output = uniqueTopic("txn-example-out");
      const groupId = uniqueTopic("txn-example-group");
      const written = await example(BROKER, input, output, groupId, 5);
      const expected = [0, 1, 2, 3, 4].map((i) => `order-${i}: enriched`);
      assert.deepEqual(written, expected);
      assert.deepEqual(await readUntil(output, 0, expected[4]), expected);
      assert.deepEqual(
        await groupOffsets(cluster, groupId, [{ topic: input, partition: 0 }]),
        [5],
      );
    });
  });

  test("refusals: writes outside a transaction, calls in the wrong state, bad options and arguments", async () => {
    await noUnhandledRejections(async () => {
      const topic = uniqueTopic("txn-refusals");
      await createTopic(client, topic, 1);
      const w = txnWriter(topic);
      const plain = new Writer({ brokers: [BROKER], topic });
      try {
        await assert.rejects(
          w.writeMessages({ value: "x" }),
          /transactionalId .* call beginTransaction\(\) first/,
        );
        await assert.rejects(w.commitTransaction(), /no transaction is open/);
        await assert.rejects(w.abortTransaction(), /no transaction is open/);
        await assert.rejects(
          w.sendOffsets([{ topic, partition: 0, offset: 1 }], "g"),
          /call beginTransaction\(\) first/,
        );
        await w.beginTransaction();
        await assert.rejects(w.beginTransaction(), /already open/);
        await assert.rejects(
          w.sendOffsets([{ topic, partition: -1, offset: 1 }], "g"),
          /offsets\[0\]\.partition/,
        );
        await assert.rejects(
          w.sendOffsets([{ topic, partition: 0, offset: 1 }], ""),
          /"group" must be a group id or reader.groupMetadata\(\)/,
        );
        await assert.rejects(
          w.sendOffsets("nope" as never, "g"),
          /"offsets" must be an array/,
        );
        await w.abortTransaction();
        await assert.rejects(
          plain.beginTransaction(),
          /not transactional \(set "transactionalId"\)/,
        );
      } finally {
        await Promise.all([w.close(), plain.close()]);
      }
      assert.throws(
        () => new Writer({ brokers: [BROKER], transactionalId: "" }),
        /"transactionalId" must be a non-empty string, got ""/,
      );
      assert.throws(
        () =>
          new Writer({
            brokers: [BROKER],
            transactionalId: "t",
            requiredAcks: "one",
          }),
        /"transactionalId" needs requiredAcks "all"/,
      );
      assert.throws(
        () =>
          new Writer({
            brokers: [BROKER],
            transactionalId: "t",
            idempotent: false,
          }),
        /"transactionalId" needs idempotence/,
      );
      assert.throws(
        () => new Writer({ brokers: [BROKER], transactionTimeout: 1000 }),
        /"transactionTimeout" needs "transactionalId"/,
      );
    });
  });
});
