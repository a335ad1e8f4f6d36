/**
 * The Writer with each codec against the real broker: many batches over
 * several partitions at once (so batches are compressed while others are in
 * flight), idempotent and not, read back in order with their bytes intact.
 */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Conn, dial, type MessageInput, Writer } from "../mod.ts";
import {
  BROKER,
  jsonValue,
  noUnhandledRejections,
  readPartition,
  uniqueTopic,
} from "./_helpers.ts";

const utf8 = new TextEncoder();
const text = new TextDecoder();

const value = jsonValue;

describe("Writer compression", () => {
  let admin: Conn;
  before(async () => {
    admin = await dial(BROKER);
  });
  after(() => admin.close());

  for (const codec of ["gzip", "snappy", "lz4", "zstd"] as const) {
    for (const idempotent of [false, true]) {
      test(`${codec}${idempotent ? ", idempotent" : ""}: 6 partitions, calls in flight, read back in order`, async () => {
        await noUnhandledRejections(async () => {
          const topic = uniqueTopic(`writer-${codec}`);
          await admin.createTopics({
            topic,
            numPartitions: 6,
            replicationFactor: 1,
          });
          const w = new Writer({
            brokers: [BROKER],
            topic,
            compression: codec,
            batchSize: 10_000,
            requiredAcks: idempotent ? "all" : "one",
            idempotent,
          });
          const total = 6000;
          const calls: Promise<void>[] = [];
          for (let from = 0; from < total; from += 500) {
            const messages: MessageInput[] = [];
            for (let i = from; i < from + 500; i++) {
              messages.push({
                key: `k${i}`,
                value: value(i, 200 + (i % 7) * 100),
                headers: i % 5 === 0 ? [{ key: "h", value: `${i}` }] : [],
              });
            }
            calls.push(w.writeMessages(messages));
          }
          await Promise.all(calls);
          const stats = w.stats();
          await w.close();
          assert.equal(stats.messages, total);
          assert.ok(stats.batches >= 6, `${stats.batches} batches`);
          let read = 0;
          for (let p = 0; p < 6; p++) {
            const got = await readPartition(topic, p);
            let last = -1;
            for (const m of got) {
              const n = Number(/^\{"n":(\d+),/.exec(text.decode(m.value!))![1]);
              assert.ok(n > last, `partition ${p}: ${n} after ${last}`);
              last = n;
              assert.deepEqual(m.value, value(n, 200 + (n % 7) * 100));
              assert.equal(text.decode(m.key!), `k${n}`);
              assert.deepEqual(
                m.headers,
                n % 5 === 0 ? [{ key: "h", value: utf8.encode(`${n}`) }] : [],
              );
            }
            read += got.length;
          }
          assert.equal(read, total);
          await admin.deleteTopics(topic).catch(() => {});
        });
      });
    }
  }

  // Keys, values and header values read are typed Uint8Array<ArrayBuffer>
  // (this file type-checks without casts) and are, in every runtime, so
  // that they go to fetch, Blob and WebCrypto as they are.
  for (const codec of ["none", "gzip", "snappy", "lz4", "zstd"] as const) {
    test(`${codec}: keys, values and header values read go to fetch, Blob and WebCrypto as they are`, async () => {
      await noUnhandledRejections(async () => {
        const topic = uniqueTopic(`bytes-${codec}`);
        await admin.createTopics({
          topic,
          numPartitions: 1,
          replicationFactor: 1,
        });
        const w = new Writer({ brokers: [BROKER], topic, compression: codec });
        await w.writeMessages([
          {
            key: "k0",
            value: value(0, 300),
            headers: [{ key: "h", value: "v0" }],
          },
          {
            key: "k1",
            value: value(1, 300),
            headers: [{ key: "h", value: "v1" }],
          },
        ]);
        await w.close();
        const got = await readPartition(topic, 0);
        assert.equal(got.length, 2);
        for (const [n, m] of got.entries()) {
          const key: Uint8Array<ArrayBuffer> = m.key!;
          const body: BodyInit = m.value!;
          const header: BufferSource = m.headers[0].value!;
          for (const bytes of [key, m.value!, m.headers[0].value!]) {
            assert.ok(bytes.buffer instanceof ArrayBuffer, codec);
          }
          assert.equal(
            await new Response(body).text(),
            text.decode(value(n, 300)),
          );
          assert.equal(await new Blob([key, header]).text(), `k${n}v${n}`);
          const digest = await crypto.subtle.digest("SHA-256", m.value!);
          assert.deepEqual(
            new Uint8Array(digest),
            new Uint8Array(
              await crypto.subtle.digest("SHA-256", value(n, 300)),
            ),
          );
        }
        await admin.deleteTopics(topic).catch(() => {});
      });
    });
  }
});
