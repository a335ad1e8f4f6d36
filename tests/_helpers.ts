/**
 * Shared test helpers: where the broker is, unique topic names, and a check
 * that no promise rejection went unhandled during a test.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import process from "node:process";
import {
  dialLeader,
  type Message,
  Reader,
  type TransportOptions,
  Writer,
} from "../mod.ts";

/** The PLAINTEXT listener of the test broker (see tools/kafka.ts). */
export const BROKER = process.env.KAFKA_BROKERS?.split(",")[0] ??
  "127.0.0.1:9092";

let counter = 0;

/** A topic name no other test (or earlier run) uses. */
export function uniqueTopic(prefix: string): string {
  const runtime = "Bun" in globalThis
    ? "bun"
    : "Deno" in globalThis
    ? "deno"
    : "node";
  const random = Math.random().toString(36).slice(2, 8);
  return `${prefix}-${runtime}-${
    Date.now().toString(36)
  }-${random}-${counter++}`;
}

/**
 * Runs `fn` and fails if any promise rejection went unhandled meanwhile
 * (a client must never leave one behind).
 */
export async function noUnhandledRejections(
  fn: () => Promise<void>,
): Promise<void> {
  const seen: unknown[] = [];
  const onRejection = (reason: unknown) => seen.push(reason);
  process.on("unhandledRejection", onRejection);
  try {
    await fn();
    // Let stray rejections from timers and sockets surface.
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    process.off("unhandledRejection", onRejection);
  }
  if (seen.length > 0) {
    throw new Error(`Unhandled rejections: ${seen.map(String).join("; ")}`);
  }
}

/**
 * A JSON-like value of `size` bytes that compresses, starting with its
 * number (`{"n":i,...`) so that order and content can be checked.
 */
export function jsonValue(i: number, size: number): Uint8Array<ArrayBuffer> {
  let s = `{"n":${i},"user":"user-${i % 97}","status":"shipped"`;
  while (s.length < size - 1) s += `,"k${s.length % 13}":${i % 1000}`;
  return new TextEncoder().encode(s.slice(0, size - 1) + "}");
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Every message of a topic-partition, read from offset 0 with a Conn. */
export async function readPartition(
  topic: string,
  partition: number,
): Promise<Message[]> {
  const conn = await dialLeader(BROKER, topic, partition);
  try {
    const last = await conn.readLastOffset();
    await conn.seek(0);
    const out: Message[] = [];
    while (out.length < last) {
      const batch = await conn.readBatch({ maxBytes: 8 << 20, maxWait: 500 });
      for await (const m of batch) out.push(m);
    }
    return out;
  } finally {
    conn.close();
  }
}

/** True when an executable file `name` is in a directory on the PATH. */
export function onPath(name: string): boolean {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return true;
    } catch {
      // Not here.
    }
  }
  return false;
}

/**
 * Writes three messages ("one", "two", "three") to a new topic through
 * `broker` with a Writer, and reads them back with a Reader, both with
 * `transport` (TLS, SASL...): what each reached, in order.
 */
export async function roundTrip(
  broker: string,
  transport: TransportOptions,
  prefix = "round-trip",
): Promise<string[]> {
  const topic = uniqueTopic(prefix);
  const writer = new Writer({
    brokers: [broker],
    topic,
    allowAutoTopicCreation: true,
    transport,
  });
  try {
    await writer.writeMessages(
      { key: "a", value: "one" },
      { key: "b", value: "two" },
      { key: "c", value: "three" },
    );
  } finally {
    await writer.close();
  }
  const reader = new Reader({
    brokers: [broker],
    topic,
    partition: 0,
    maxWait: 500,
    transport,
  });
  const values: string[] = [];
  const text = new TextDecoder();
  try {
    while (values.length < 3) {
      values.push(text.decode((await reader.readMessage()).value!));
    }
  } finally {
    await reader.close();
  }
  return values;
}

/**
 * Runs `tools/kafka.ts <command>` (kill, restart, kill-kdc, up...) with
 * Deno, whichever runtime runs the tests; rejects when it fails, with the
 * last lines the tool printed (which say why). An `up` that fails is tried
 * once more, saying so: these tests are about the clients across a restart,
 * and a broker start that fails once (a slow machine) is not their subject.
 */
export async function kafkaTool(command: string): Promise<void> {
  try {
    await runKafkaTool(command);
  } catch (error) {
    if (command !== "up") throw error;
    console.error(`${(error as Error).message}
trying \`up\` once more`);
    await runKafkaTool(command);
  }
}

function runKafkaTool(command: string): Promise<void> {
  const isDeno = "Deno" in globalThis && !("Bun" in globalThis);
  const deno = isDeno ? process.execPath : process.env.DENO_BIN ?? "deno";
  const script = new URL("../tools/kafka.ts", import.meta.url).pathname;
  return new Promise((resolve, reject) => {
    const child = spawn(deno, ["run", "-A", script, command], {
      stdio: ["ignore", "inherit", "pipe"],
    });
    // Shown as it comes, and its end kept for the error.
    let tail = "";
    child.stderr!.on("data", (chunk: Uint8Array) => {
      process.stderr.write(chunk);
      tail = (tail + new TextDecoder().decode(chunk)).slice(-4000);
    });
    child.on("error", reject);
    child.on("close", (code: number | null) => {
      if (code === 0) return resolve();
      const said = tail.trimEnd().split("\n").slice(-30).join("\n");
      reject(
        new Error(`tools/kafka.ts ${command} exited with ${code}:\n${said}`),
      );
    });
  });
}

/**
 * Starts one of Kafka's Java tools or clients (`mainClass` with `args`) on
 * the broker's jars in `libs` (tools/kafka.ts `ensureJars()`), logging as
 * the broker's tools do; stdout is piped or ignored.
 */
export function kafkaJava(
  libs: string,
  mainClass: string,
  args: string[],
  stdout: "pipe" | "ignore" = "ignore",
): ChildProcess {
  const home = process.env.JAVA_HOME;
  return spawn(home ? join(home, "bin", "java") : "java", [
    "-XX:TieredStopAtLevel=1",
    "-XX:+UseSerialGC",
    `-Dlog4j2.configurationFile=${join(libs, "..", "tools-log4j2.properties")}`,
    "-cp",
    join(libs, "*"),
    mainClass,
    ...args,
  ], { stdio: ["ignore", stdout, "inherit"] });
}

/**
 * Runs tests/scripts/`name` with `args` under the runtime running the
 * tests; resolves with its exit code and output (stdout and stderr), or
 * kills it after `limit` ms (code null).
 */
export function runScript(
  name: string,
  args: string[],
  limit = 300_000,
): Promise<{ code: number | null; output: string }> {
  const script = new URL(`./scripts/${name}`, import.meta.url).pathname;
  const isDeno = "Deno" in globalThis && !("Bun" in globalThis);
  const argv = isDeno ? ["run", "-A", script, ...args] : [script, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, {
      env: { ...process.env, NO_COLOR: "1" },
    });
    let output = "";
    child.stdout.on("data", (chunk: Uint8Array) => output += chunk);
    child.stderr.on("data", (chunk: Uint8Array) => output += chunk);
    const timer = setTimeout(() => child.kill("SIGKILL"), limit);
    child.on("error", reject);
    child.on("close", (code: number | null) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Where `needle` first occurs in `haystack`, or -1. */
export function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return i;
  }
  return -1;
}
