/**
 * Helpers of the consumer-group tests: topics, producing, reading into
 * arrays, committed and end offsets, members in child processes, and the
 * options that make each group protocol quick (short sessions).
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import {
  Client,
  dial,
  dialLeader,
  FirstOffset,
  Reader,
  type ReaderOptions,
  Writer,
} from "../mod.ts";
import { Cluster } from "../lib/cluster/cluster.ts";
import { OffsetFetch } from "../lib/protocol/messages/offset_fetch.ts";
import { IncrementalAlterConfigs } from "../lib/protocol/messages/incremental_alter_configs.ts";
import {
  committedOffsets,
  offsetFetchRequest,
} from "../lib/requests/offsets.ts";
import { BROKER, sleep, uniqueTopic } from "./_helpers.ts";

export type Protocol = "classic" | "consumer";

/**
 * Both group protocols, for tests that run under each; against a 3.x broker
 * (KAFKA_VERSION=3.9.1, which has no consumer protocol enabled) only the
 * classic one. consumer_member_test.ts checks the error such a broker gives.
 */
export const PROTOCOLS: Protocol[] = process.env.KAFKA_VERSION?.startsWith("3.")
  ? ["classic"]
  : ["classic", "consumer"];

/** The session timeout of the test groups, in milliseconds. */
export const SESSION_TIMEOUT = 6000;

/**
 * Reader options for a quick group under `protocol`. The consumer
 * protocol's session timeout and heartbeat interval are the group's
 * configs, set by `prepareGroup`.
 */
export function fast(protocol: Protocol): Partial<ReaderOptions> {
  return protocol === "classic"
    ? {
      groupProtocol: "classic",
      sessionTimeout: SESSION_TIMEOUT,
      heartbeatInterval: 500,
      rebalanceTimeout: 10_000,
      maxWait: 200,
    }
    : { groupProtocol: "consumer", rebalanceTimeout: 10_000, maxWait: 200 };
}

/** A quick member of `groupId` under `protocol`, reading `topic` from its start. */
export function groupReader(
  protocol: Protocol,
  groupId: string,
  topic: string,
  options: Partial<ReaderOptions> = {},
): Reader {
  return new Reader({
    brokers: [BROKER],
    groupId,
    groupTopics: [topic],
    startOffset: FirstOffset,
    ...fast(protocol),
    ...options,
  });
}

/**
 * A new group id; under the consumer protocol, the group gets a 6 s session
 * timeout and 500 ms heartbeats (the broker's defaults are 45 s and 5 s).
 */
export async function newGroup(protocol: Protocol): Promise<string> {
  const groupId = uniqueTopic("g");
  if (protocol === "consumer") {
    await setGroupConfig(groupId, {
      "consumer.session.timeout.ms": String(SESSION_TIMEOUT),
      "consumer.heartbeat.interval.ms": "500",
    });
  }
  return groupId;
}

/**
 * Sets configs of a group (IncrementalAlterConfigs on the GROUP resource),
 * and waits until the broker describes them: it applies them from the
 * metadata log a moment after the controller accepted them, and a member
 * that joined before would get the defaults (5 s heartbeats, 45 s sessions,
 * a share group starting at the latest offset, 30 s record locks).
 */
export async function setGroupConfig(
  groupId: string,
  configs: Record<string, string>,
): Promise<void> {
  const cluster = new Cluster({ brokers: [BROKER] });
  try {
    const conn = await cluster.anyConnection();
    const response = await conn.request(IncrementalAlterConfigs, {
      resources: [{
        resourceType: 32, // GROUP
        resourceName: groupId,
        configs: Object.entries(configs).map(([name, value]) => ({
          name,
          configOperation: 0, // SET
          value,
        })),
      }],
      validateOnly: false,
    });
    const r = response.responses[0];
    if (r.errorCode !== 0) {
      throw new Error(
        `setting configs of group ${groupId} failed: ${r.errorCode} ${r.errorMessage}`,
      );
    }
    const client = new Client({ cluster });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const [described] = await client.describeConfigs([{
        type: "group",
        name: groupId,
        configNames: Object.keys(configs),
      }]);
      const value = (name: string) =>
        described.configs.find((c) => c.name === name)?.value;
      if (
        described.error === null &&
        Object.entries(configs).every(([name, v]) => value(name) === v)
      ) break;
      if (Date.now() > deadline) {
        throw new Error(
          `the broker did not apply the configs of group ${groupId} within 30 s: ${
            JSON.stringify(described.configs.map((c) => [c.name, c.value]))
          }`,
        );
      }
      await sleep(50);
    }
    await client.close();
  } finally {
    await cluster.close();
  }
}

const text = new TextDecoder();

export async function topicWith(partitions: number): Promise<string> {
  const topic = uniqueTopic("group");
  const admin = await dial(BROKER);
  try {
    await admin.createTopics({
      topic,
      numPartitions: partitions,
      replicationFactor: 1,
    });
  } finally {
    admin.close();
  }
  return topic;
}

export async function produce(topic: string, from: number, count: number) {
  const w = new Writer({ brokers: [BROKER], topic });
  await w.writeMessages(
    Array.from({ length: count }, (_, i) => ({
      key: `k${from + i}`,
      value: `m${from + i}`,
    })),
  );
  await w.close();
}

/** Reads with `for await` into `seen` until the Reader is closed. */
export async function consume(reader: Reader, seen: string[]): Promise<void> {
  for await (const m of reader) seen.push(text.decode(m.value!));
}

export async function until(what: string, ok: () => boolean, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await sleep(50);
  }
}

/**
 * `source.pipeTo(dest)` with `preventAbort` (what was handed over is
 * finished and kept) until `stop()`, which aborts it and resolves with how
 * the pipe ended (its rejection, or undefined).
 */
export function pipeUntilStopped<T>(
  source: {
    pipeTo(dest: WritableStream<T>, o: StreamPipeOptions): Promise<void>;
  },
  dest: WritableStream<T>,
): { piping: Promise<void>; stop(): Promise<unknown> } {
  const abort = new AbortController();
  const piping = source.pipeTo(dest, {
    signal: abort.signal,
    preventAbort: true,
  });
  piping.catch(() => {}); // stop() or the caller awaits it
  return {
    piping,
    stop() {
      abort.abort();
      return piping.then(() => undefined, (reason) => reason);
    },
  };
}

/**
 * The group's committed offset per partition (-1 for none); a coordinator
 * still loading (after a restart) is asked again, for up to 30 s.
 */
export async function committed(
  groupId: string,
  topic: string,
  partitions: number,
): Promise<number[]> {
  const deadline = Date.now() + 30_000;
  while (true) {
    try {
      return await committedOnce(groupId, topic, partitions);
    } catch (error) {
      const retriable = (error as { retriable?: boolean }).retriable === true;
      if (!retriable || Date.now() > deadline) throw error;
      await sleep(200);
    }
  }
}

async function committedOnce(
  groupId: string,
  topic: string,
  partitions: number,
): Promise<number[]> {
  const cluster = new Cluster({ brokers: [BROKER] });
  try {
    const conn = await cluster.coordinator(groupId);
    const list = Array.from({ length: partitions }, (_, partition) => ({
      topic,
      partition,
    }));
    const { version, body } = offsetFetchRequest(
      groupId,
      list,
      conn.pickVersion(OffsetFetch),
    );
    const response = await conn.request(OffsetFetch, body, { version });
    return committedOffsets(response, groupId, list, conn.address).map((c) =>
      c.offset
    );
  } finally {
    await cluster.close();
  }
}

export function duplicates(values: string[]): string[] {
  const seen = new Set<string>();
  return values.filter((v) => seen.has(v) || !seen.add(v));
}

export function expected(from: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `m${from + i}`).sort();
}

/** Each partition's end offset. */
export async function endOffsets(
  topic: string,
  partitions: number,
): Promise<number[]> {
  const out: number[] = [];
  for (let p = 0; p < partitions; p++) {
    const conn = await dialLeader(BROKER, topic, p);
    try {
      out.push(await conn.readLastOffset());
    } finally {
      conn.close();
    }
  }
  return out;
}

/** A group member in its own process (tests/scripts/group_member.ts). */
export function member(
  topic: string,
  groupId: string,
  protocol: Protocol = "classic",
  groupInstanceId = "",
): ChildProcess {
  return spawnScript("group_member.ts", [
    BROKER,
    topic,
    groupId,
    protocol,
    groupInstanceId,
  ]);
}

/**
 * Runs tests/scripts/`name` with `args` in its own process, under the
 * runtime running the tests; its stdout is piped, its stderr inherited.
 */
export function spawnScript(name: string, args: string[]): ChildProcess {
  const script = new URL(`./scripts/${name}`, import.meta.url).pathname;
  const isDeno = "Deno" in globalThis && !("Bun" in globalThis);
  const all = isDeno ? ["run", "-A", script, ...args] : [script, ...args];
  return spawn(process.execPath, all, {
    stdio: ["ignore", "pipe", "inherit"],
  });
}

/** Collects what the child reads; resolves once it has `n` messages. */
export function childReads(
  child: ChildProcess,
  seen: string[],
  n: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffer = "";
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split("\n");
      buffer = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith("read ")) seen.push(line.slice(5));
      }
      if (seen.length >= n) resolve();
    });
    child.on("exit", (code) => {
      if (seen.length < n) reject(new Error(`the member exited (${code})`));
    });
  });
}
