/**
 * The codecs against a second Kafka client: batches this client compresses
 * are read by kcat (librdkafka), and batches kcat compresses are read by this
 * client, for every codec, with headers and null keys and values.
 *
 * Needs kcat on the PATH (Debian: `apt-get install kcat`) and the broker.
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { type Conn, dial, dialLeader, type Message } from "../mod.ts";
import {
  type Codec,
  compressionId,
  type CompressionName,
  loadCodec,
  registerCodec,
} from "../codecs/mod.ts";
import { jsonRecords } from "../codecs/_test_data.ts";
import { BROKER, uniqueTopic } from "./_helpers.ts";

const CODECS: CompressionName[] = ["gzip", "snappy", "lz4", "zstd"];
const text = new TextDecoder();
/** Large enough for several LZ4 blocks and snappy chunks, and for librdkafka to compress. */
const BIG = text.decode(jsonRecords(200_000)).replaceAll("\n", " ");

interface KcatResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs kcat with `input` on its stdin, killing it after a minute. */
function kcat(args: string[], input = ""): Promise<KcatResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("kcat", ["-b", BROKER, ...args]);
    const timer = setTimeout(() => child.kill(), 60_000);
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => stdout += chunk);
    child.stderr.on("data", (chunk: string) => stderr += chunk);
    child.on("error", (error: Error) => {
      clearTimeout(timer);
      const hint = "install it with apt-get install kcat";
      reject(new Error(`Cannot run kcat (${hint}): ${error.message}`));
    });
    child.on("close", (code: number | null) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/** What kcat -J prints per message. */
interface KcatMessage {
  offset: number;
  key: string | null;
  payload: string | null;
  headers?: (string | null)[];
}

async function consumeWithKcat(topic: string): Promise<KcatMessage[]> {
  const args = ["-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-J"];
  const result = await kcat(args);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trim().split("\n").map((line) => JSON.parse(line));
}

async function readAll(conn: Conn, count: number): Promise<Message[]> {
  await conn.seek(0);
  const out: Message[] = [];
  while (out.length < count) {
    const batch = await conn.readBatch({ maxBytes: 8 << 20, maxWait: 1000 });
    for await (const m of batch) out.push(m);
  }
  return out;
}

/** Wraps the loaded codec to count its calls, so a test can tell it ran. */
async function spyOn(name: CompressionName) {
  const codec = await loadCodec(compressionId(name));
  const calls = { compress: 0, decompress: 0 };
  const spy: Codec = {
    id: codec.id,
    name: codec.name,
    compress(data) {
      calls.compress++;
      return codec.compress(data);
    },
    decompress(data) {
      calls.decompress++;
      return codec.decompress(data);
    },
  };
  registerCodec(spy);
  return { calls, restore: () => registerCodec(codec) };
}

const str = (bytes: Uint8Array | null) =>
  bytes === null ? null : text.decode(bytes);

describe("codecs interoperate with kcat (librdkafka)", () => {
  let admin: Conn;
  const topics: string[] = [];

  before(async () => {
    admin = await dial(BROKER);
  });

  after(async () => {
    if (topics.length) await admin.deleteTopics(...topics).catch(() => {});
    admin.close();
  });

  async function newTopic(prefix: string): Promise<string> {
    const topic = uniqueTopic(prefix);
    await admin.createTopics({ topic, numPartitions: 1, replicationFactor: 1 });
    topics.push(topic);
    return topic;
  }

  for (const name of CODECS) {
    test(`${name}: written by this client, read by kcat`, async () => {
      const topic = await newTopic(`codec-out-${name}`);
      const spy = await spyOn(name);
      const conn = await dialLeader(BROKER, topic, 0, { compression: name });
      try {
        await conn.writeMessages(
          { key: "k1", value: "v1", headers: [{ key: "h1", value: "x" }] },
          { key: null, value: "no key" },
          { key: "tombstone", value: null },
          {
            key: "big",
            value: BIG,
            headers: [{ key: "a", value: "1" }, { key: "b", value: "2" }],
          },
        );
      } finally {
        conn.close();
        spy.restore();
      }
      assert.equal(spy.calls.compress, 1);
      const got = await consumeWithKcat(topic);
      assert.deepEqual(
        got.map((m) => [m.offset, m.key, m.payload, m.headers ?? []]),
        [
          [0, "k1", "v1", ["h1", "x"]],
          [1, null, "no key", []],
          [2, "tombstone", null, []],
          [3, "big", BIG, ["a", "1", "b", "2"]],
        ],
      );
    });

    test(`${name}: written by kcat, read by this client`, async () => {
      const topic = await newTopic(`codec-in-${name}`);
      const lines = ["k1:v1", ":no key", "tombstone:", `big:${BIG}`];
      const args = ["-P", "-t", topic, "-p", "0", "-z", name, "-K:", "-Z"];
      const headers = ["-H", "h1=x", "-H", "h2=y"];
      const produced = await kcat(
        [...args, ...headers],
        lines.join("\n") + "\n",
      );
      assert.equal(produced.code, 0, produced.stderr);
      const spy = await spyOn(name);
      const conn = await dialLeader(BROKER, topic, 0);
      let messages: Message[];
      try {
        messages = await readAll(conn, lines.length);
      } finally {
        conn.close();
        spy.restore();
      }
      assert.ok(spy.calls.decompress >= 1, "kcat's batch was compressed");
      assert.deepEqual(
        messages.map((m) => [m.offset, str(m.key), str(m.value)]),
        [
          [0, "k1", "v1"],
          [1, null, "no key"],
          [2, "tombstone", null],
          [3, "big", BIG],
        ],
      );
      for (const m of messages) {
        assert.deepEqual(
          m.headers.map((h) => [h.key, str(h.value)]),
          [["h1", "x"], ["h2", "y"]],
        );
      }
    });
  }
});
