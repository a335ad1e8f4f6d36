/**
 * Processes, ports, files and commands: what the broker, KDC and cluster
 * tools share.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { runCommand } from "../_command.ts";
import { HOME, HOST, LOCK_FILE, POLL_MS, STOP_TIMEOUT_MS } from "./settings.ts";

export async function waitPortFree(port: number, what: string): Promise<void> {
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (await portOpen(port)) {
    if (Date.now() > deadline) {
      throw new Error(
        `${HOST}:${port} still in use ${STOP_TIMEOUT_MS / 1000} s after ` +
          `${what} stopped: find the process with \`ss -ltnp\` (Linux) or ` +
          "`lsof -iTCP -sTCP:LISTEN` and stop it",
      );
    }
    await sleep(POLL_MS);
  }
}

/**
 * Compiles one Java source into `classes` against `classpath` whenever the
 * source is newer than its class (a single-file source launch would
 * compile it on every start). A failed compile leaves the old classes.
 */
export async function compileJava(
  source: string,
  classes: string,
  classpath: string,
): Promise<void> {
  const name = basename(source).replace(/\.java$/, ".class");
  const written = await Deno.stat(source);
  const compiled = await Deno.stat(join(classes, name)).catch(() => undefined);
  if (compiled?.mtime && written.mtime && compiled.mtime >= written.mtime) {
    return;
  }
  log(`compiling ${source}`);
  const partial = `${classes}.partial`;
  await Deno.remove(partial, { recursive: true }).catch(ignoreNotFound);
  await run(jdkTool("javac"), [
    "-encoding",
    "UTF-8",
    "-d",
    partial,
    "-cp",
    classpath,
    source,
  ]);
  await Deno.remove(classes, { recursive: true }).catch(ignoreNotFound);
  await Deno.rename(partial, classes);
}

/**
 * Starts `command` so that it outlives this script, its output appended to
 * `logFile`; resolves with its pid. A new session (setsid, where it exists)
 * and nohup detach it; `&` in a shell without job control keeps it out of a
 * new process group, so setsid execs instead of forking and $! is the
 * command's own pid.
 */
export async function spawnDetached(
  command: string[],
  logFile: string,
  cwd: string,
): Promise<number> {
  const script =
    'log=$1; shift; command -v setsid >/dev/null && set -- setsid "$@"; ' +
    'nohup "$@" >>"$log" 2>&1 </dev/null & echo $!';
  const out = await run("bash", ["-c", script, "spawn", logFile, ...command], {
    cwd,
  });
  const pid = Number(out.trim());
  if (!Number.isInteger(pid) || pid <= 0) {
    throw new Error(`could not start ${command.join(" ")}: ${out}`);
  }
  return pid;
}

export function signal(pid: number, name: Deno.Signal): void {
  try {
    Deno.kill(pid, name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/** Every process as [pid, command line]. */
export async function processList(): Promise<[number, string][]> {
  const list: [number, string][] = [];
  if (await exists("/proc/self/stat")) {
    for await (const entry of Deno.readDir("/proc")) {
      const pid = Number(entry.name);
      if (!Number.isInteger(pid)) continue;
      const command = await readIfExists(`/proc/${pid}/cmdline`)
        .catch(() => undefined);
      if (command) list.push([pid, command.replaceAll("\0", " ")]);
    }
    return list;
  }
  const out = await new Deno.Command("ps", {
    args: ["-eo", "pid=,command="],
    stdout: "piped",
    stderr: "null",
  }).output();
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    const match = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (match) list.push([Number(match[1]), match[2]]);
  }
  return list;
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** PF_EXITING in /proc/<pid>/stat's flags: the process is in exit(). */
export const PF_EXITING = 0x4;

export async function processInfo(
  pid: number,
): Promise<{ exiting: boolean; command: string } | undefined> {
  if (await exists("/proc/self/stat")) {
    const stat = await readIfExists(`/proc/${pid}/stat`);
    const command = await readIfExists(`/proc/${pid}/cmdline`);
    if (stat === undefined || command === undefined) return undefined;
    // After "pid (comm) ": state, ppid, pgrp, session, tty, tpgid, flags.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const exiting = fields[0] === "Z" || fields[0] === "X" ||
      (Number(fields[6]) & PF_EXITING) !== 0;
    return { exiting, command: command.replaceAll("\0", " ") };
  }
  // No /proc (macOS): ask ps, which exits non-zero for an unknown pid. Its
  // state says Z for a zombie and E for a process trying to exit.
  const out = await new Deno.Command("ps", {
    args: ["-o", "stat=,command=", "-p", String(pid)],
    stdout: "piped",
    stderr: "null",
  }).output();
  const line = new TextDecoder().decode(out.stdout).trim();
  if (!out.success || line === "") return undefined;
  const [state, ...command] = line.split(/\s+/);
  return { exiting: /[ZE]/.test(state), command: command.join(" ") };
}

/** A log's text after `offset`, or all of it when it rolled over since. */
export async function readLogSince(
  file: string,
  offset: number,
): Promise<string> {
  const bytes = await Deno.readFile(file).catch(() => new Uint8Array());
  const start = offset <= bytes.length ? offset : 0;
  return new TextDecoder().decode(bytes.subarray(start));
}

/** Honour JAVA_HOME when set, as Kafka's own scripts do. */
export function jdkTool(name: string): string {
  const home = Deno.env.get("JAVA_HOME");
  return home ? join(home, "bin", name) : name;
}

export async function portOpen(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: HOST, port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/** Runs a command to completion; its stdout, or an error carrying its output. */
export async function run(
  command: string,
  args: string[],
  options: { cwd?: string } = {},
): Promise<string> {
  const { success, code, stdout, stderr } = await runCommand(
    command,
    args,
    options,
  );
  if (!success) {
    throw new Error(
      `${command} ${args.slice(0, 4).join(" ")} ... failed (exit ${code})\n` +
        `${stdout}${stderr}`.trim(),
    );
  }
  return stdout;
}

/** Serialises up/down across processes, e.g. two test runs starting at once. */
export async function withLock<T>(action: () => Promise<T>): Promise<T> {
  await Deno.mkdir(HOME, { recursive: true });
  const file = await Deno.open(LOCK_FILE, { create: true, write: true });
  try {
    await file.lock(true);
    return await action();
  } finally {
    file.close();
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

export async function isEmptyDir(path: string): Promise<boolean> {
  try {
    for await (const _ of Deno.readDir(path)) return false;
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return true;
    throw error;
  }
}

export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

export function ignoreNotFound(error: unknown): void {
  if (!(error instanceof Deno.errors.NotFound)) throw error;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function since(start: number): string {
  return `${((Date.now() - start) / 1000).toFixed(1)} s`;
}

export function log(message: string): void {
  console.error(`[kafka] ${message}`);
}

/** Bun defines no `Deno`; this script's own commands need Deno's APIs. */
export function isDeno(): boolean {
  return "Deno" in globalThis && !("Bun" in globalThis);
}

/**
 * Runs the tool `script` (a file URL) with Deno (`$DENO_BIN`, else `deno` on
 * PATH), for callers in another runtime; resolves with what it printed on
 * stdout, trimmed.
 */
export function viaDeno(script: URL, args: string[]): Promise<string> {
  const deno = process.env.DENO_BIN || "deno";
  const path = fileURLToPath(script);
  const name = `tools/${basename(path)}`;
  return new Promise((resolve, reject) => {
    const child = spawn(deno, ["run", "-A", path, ...args], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let stdout = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => stdout += chunk);
    child.on("error", (error: Error) => {
      reject(
        new Error(
          `${name} ${args[0]} needs Deno (${deno}): ${error.message}`,
        ),
      );
    });
    child.on("close", (code: number | null) => {
      if (code === 0) resolve(stdout.trim());
      else reject(new Error(`${name} ${args.join(" ")} failed (exit ${code})`));
    });
  });
}
