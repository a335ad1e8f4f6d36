/**
 * The codecs against other Kafka clients: batches this client compresses are
 * read by the peer, and batches the peer compresses are read by this client,
 * for every codec, with headers and null keys and values.
 *
 * The peers: Kafka's Java client (tests/java/Interop.java, run by Java 17+
 * from the broker's jars), always; kcat (librdkafka), where it is on the PATH
 * (Debian: `apt-get install kcat`). Without kcat its tests are not registered,
 * and tools/test.ts says so in its summary.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { spawn } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
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
import { ensureJars } from "../tools/kafka.ts";
import { BROKER, onPath, uniqueTopic } from "./_helpers.ts";

const CODECS: CompressionName[] = ["gzip", "snappy", "lz4", "zstd"];
const text = new TextDecoder();
/** Large enough for several LZ4 blocks and snappy chunks, and for librdkafka to compress. */
const BIG = text.decode(jsonRecords(200_000)).replaceAll("\n", " ");

/** A record as both sides see it, strings for bytes. */
interface PeerRecord {
  offset?: number;
  key: string | null;
  value: string | null;
  headers: [string, string][];
}

/** Another Kafka client, producing to and consuming from partition 0. */
interface Peer {
  produce(
    topic: string,
    codec: CompressionName,
    records: PeerRecord[],
  ): Promise<void>;
  /** The first `count` records of the partition, with their offsets. */
  consume(topic: string, count: number): Promise<PeerRecord[]>;
  close(): Promise<void>;
}

/** What this client writes, each message with its own headers. */
const OURS: PeerRecord[] = [
  { key: "k1", value: "v1", headers: [["h1", "x"]] },
  { key: null, value: "no key", headers: [] },
  { key: "tombstone", value: null, headers: [] },
  { key: "big", value: BIG, headers: [["a", "1"], ["b", "2"]] },
];

/** What the peers write: kcat gives every message of a run the same headers. */
const THEIRS: PeerRecord[] = [
  { key: "k1", value: "v1" },
  { key: null, value: "no key" },
  { key: "tombstone", value: null },
  { key: "big", value: BIG },
].map((r) => ({ ...r, headers: [["h1", "x"], ["h2", "y"]] }));

const PEERS: [string, () => Promise<Peer>][] = [
  ["the Java client (kafka-clients)", startJava],
];
if (onPath("kcat")) {
  PEERS.push(["kcat (librdkafka)", () => Promise.resolve(kcat)]);
}

for (const [peerName, start] of PEERS) {
  describe(`codecs interoperate with ${peerName}`, () => {
    let admin: Conn;
    let peer: Peer;
    const topics: string[] = [];

    before(async () => {
      admin = await dial(BROKER);
      peer = await start();
    });

    after(async () => {
      await peer?.close();
      if (topics.length) {
        await admin.deleteTopics(...topics).catch(() => {});
      }
      admin?.close();
    });

    async function newTopic(prefix: string): Promise<string> {
      const topic = uniqueTopic(prefix);
      await admin.createTopics({
        topic,
        numPartitions: 1,
        replicationFactor: 1,
      });
      topics.push(topic);
      return topic;
    }

    for (const name of CODECS) {
      test(`${name}: written by this client, read by the peer`, async () => {
        const topic = await newTopic(`codec-out-${name}`);
        const spy = await spyOn(name);
        const conn = await dialLeader(BROKER, topic, 0, { compression: name });
        try {
          await conn.writeMessages(
            ...OURS.map((r) => ({
              key: r.key,
              value: r.value,
              headers: r.headers.map(([key, value]) => ({ key, value })),
            })),
          );
        } finally {
          conn.close();
          spy.restore();
        }
        assert.equal(spy.calls.compress, 1);
        assert.deepEqual(
          await peer.consume(topic, OURS.length),
          OURS.map((r, offset) => ({ offset, ...r })),
        );
      });

      test(`${name}: written by the peer, read by this client`, async () => {
        const topic = await newTopic(`codec-in-${name}`);
        await peer.produce(topic, name, THEIRS);
        const spy = await spyOn(name);
        const conn = await dialLeader(BROKER, topic, 0);
        let messages: Message[];
        try {
          messages = await readAll(conn, THEIRS.length);
        } finally {
          conn.close();
          spy.restore();
        }
        assert.ok(spy.calls.decompress >= 1, "the peer's batch was compressed");
        assert.deepEqual(
          messages.map((m) => ({
            offset: m.offset,
            key: str(m.key),
            value: str(m.value),
            headers: m.headers.map((h) => [h.key, str(h.value)]),
          })),
          THEIRS.map((r, offset) => ({ offset, ...r })),
        );
      });
    }
  });
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

function str(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : text.decode(bytes);
}

// ---------------------------------------------------------------------------
// The Java client: one JVM running tests/java/Interop.java for all the tests.

const INTEROP_JAVA = fileURLToPath(
  new URL("./java/Interop.java", import.meta.url),
);

async function startJava(): Promise<Peer> {
  const libs = await ensureJars();
  const home = process.env.JAVA_HOME;
  const java = home ? join(home, "bin", "java") : "java";
  const child = spawn(java, [
    // A short-lived JVM: quick start matters more than peak speed.
    "-XX:TieredStopAtLevel=1",
    "-XX:+UseSerialGC",
    "-cp",
    join(libs, "*"),
    INTEROP_JAVA,
    BROKER,
  ], { stdio: ["pipe", "pipe", "pipe"] });
  // A write after the JVM died fails here; the reply loop reports it.
  child.stdin!.on("error", () => {});
  let stderr = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => stderr += chunk);
  const spawned = new Promise<void>((resolve, reject) => {
    child.on("spawn", resolve);
    child.on("error", (error: Error) => {
      reject(new Error(`Cannot run ${java} (Java 17+ is needed): ${error}`));
    });
  });
  const exited = new Promise<void>((resolve) => child.on("close", resolve));
  await spawned;
  const lines = createInterface({ input: child.stdout! })[
    Symbol.asyncIterator
  ]();

  /** Sends a command and resolves with the lines before its "ok". */
  async function call(command: string[]): Promise<string[]> {
    child.stdin!.write(command.join("\n") + "\n");
    const reply: string[] = [];
    while (true) {
      const { value, done } = await lines.next();
      if (done) {
        throw new Error(`Interop.java exited (${child.exitCode}): ${stderr}`);
      }
      if (value === "ok") return reply;
      if (value.startsWith("error\t")) {
        throw new Error(`Interop.java: ${value.slice(6)}\n${stderr}`);
      }
      reply.push(value);
    }
  }

  return {
    async produce(topic, codec, records) {
      await call([
        ["produce", topic, codec, records.length].join("\t"),
        ...records.map((r) =>
          [
            encode(r.key),
            encode(r.value),
            r.headers.map(([k, v]) => `${encode(k)}:${encode(v)}`).join(","),
          ].join("\t")
        ),
      ]);
    },
    async consume(topic, count) {
      const reply = await call([["consume", topic, count].join("\t")]);
      return reply.map((line) => {
        const [offset, key, value, headers] = line.split("\t");
        return {
          offset: Number(offset),
          key: decode(key),
          value: decode(value),
          headers: headers === "" ? [] : headers.split(",").map((pair) => {
            const [k, v] = pair.split(":");
            return [decode(k)!, decode(v)!];
          }),
        };
      });
    },
    async close() {
      child.stdin!.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Base64 of the UTF-8 bytes, or "-" for null (Interop.java's encoding). */
function encode(value: string | null): string {
  return value === null ? "-" : Buffer.from(value, "utf8").toString("base64");
}

function decode(field: string): string | null {
  return field === "-" ? null : Buffer.from(field, "base64").toString("utf8");
}

// ---------------------------------------------------------------------------
// kcat: one process per produce or consume.

const kcat: Peer = {
  async produce(topic, codec, records) {
    // -H applies to every message of the run.
    const headers = JSON.stringify(records[0].headers);
    assert.ok(records.every((r) => JSON.stringify(r.headers) === headers));
    const lines = records.map((r) => `${r.key ?? ""}:${r.value ?? ""}`);
    const args = ["-P", "-t", topic, "-p", "0", "-z", codec, "-K:", "-Z"];
    const result = await runKcat(
      [...args, ...records[0].headers.flatMap(([k, v]) => ["-H", `${k}=${v}`])],
      lines.join("\n") + "\n",
    );
    assert.equal(result.code, 0, result.stderr);
  },
  async consume(topic, count) {
    const args = ["-C", "-t", topic, "-p", "0", "-o", "beginning"];
    const result = await runKcat([...args, "-c", String(count), "-e", "-J"]);
    assert.equal(result.code, 0, result.stderr);
    return result.stdout.trim().split("\n").map((line) => {
      const m: KcatMessage = JSON.parse(line);
      const flat = m.headers ?? [];
      const headers: [string, string][] = [];
      for (let i = 0; i < flat.length; i += 2) {
        headers.push([flat[i]!, flat[i + 1]!]);
      }
      return { offset: m.offset, key: m.key, value: m.payload, headers };
    });
  },
  async close() {},
};

/** What kcat -J prints per message. */
interface KcatMessage {
  offset: number;
  key: string | null;
  payload: string | null;
  headers?: (string | null)[];
}

interface KcatResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs kcat with `input` on its stdin, killing it after a minute. */
function runKcat(args: string[], input = ""): Promise<KcatResult> {
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
      reject(new Error(`Cannot run kcat: ${error.message}`));
    });
    child.on("close", (code: number | null) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}
