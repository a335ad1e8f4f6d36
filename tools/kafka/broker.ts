/**
 * The broker's JVM: storage formatting, start, readiness, stop, the run
 * files that record it, and the reports of a failed start.
 *
 * @module
 */

import { delimiter, join } from "node:path";
import {
  address,
  CLIENT_LISTENERS,
  DEFAULT_KAFKA_VERSION,
  hasKraftScram,
  hasTelemetry,
  HOME,
  isLegacy,
  KRB5_CONF,
  type ListenerName,
  ORPHAN_GRACE_MS,
  paths,
  PID_FILE,
  POLL_MS,
  PORTS,
  type Running,
  SASL_PASSWORD,
  SASL_USERNAME,
  SCRAM_MECHANISMS,
  START_TIMEOUT_MS,
  STOP_TIMEOUT_MS,
  TELEMETRY_SOURCE,
  VERSION_FILE,
} from "./settings.ts";
import {
  compileJava,
  escapeRegExp,
  ignoreNotFound,
  isEmptyDir,
  jdkTool,
  log,
  portOpen,
  processInfo,
  processList,
  readIfExists,
  readLogSince,
  run,
  signal,
  since,
  sleep,
  spawnDetached,
} from "./system.ts";

/**
 * The broker's client telemetry receiver, compiled against its jars into
 * `.kafka/<version>/telemetry-classes`, which the broker's class path names.
 */
export async function buildTelemetryReceiver(version: string): Promise<void> {
  if (!hasTelemetry(version)) return;
  const p = paths(version);
  await compileJava(TELEMETRY_SOURCE, p.telemetryClasses, join(p.libs, "*"));
}

export async function formatIfEmpty(version: string): Promise<void> {
  const p = paths(version);
  if (!(await isEmptyDir(p.data))) return;
  log(`formatting KRaft storage in ${p.data}`);
  const out = await runJava(version, [
    "kafka.tools.StorageTool",
    "random-uuid",
  ]);
  const clusterId = out.trim().split("\n").pop()!.trim();
  // SCRAM users can only be written here, while the metadata log is empty.
  const scram = !hasKraftScram(version) ? [] : SCRAM_MECHANISMS.flatMap((m) => [
    "--add-scram",
    `${m}=[name=${SASL_USERNAME},password=${SASL_PASSWORD}]`,
  ]);
  await runJava(version, [
    "kafka.tools.StorageTool",
    "format",
    "--cluster-id",
    clusterId,
    "--config",
    p.serverProperties,
    ...scram,
  ]);
}

/** Short-lived tool JVMs: quick start matters more than peak speed. */
export function runJava(version: string, args: string[]): Promise<string> {
  const p = paths(version);
  return run(jdkTool("java"), [
    "-XX:TieredStopAtLevel=1",
    "-XX:+UseSerialGC",
    logConfigFlag(version, p.toolsLogConfig),
    "-cp",
    join(p.libs, "*"),
    ...args,
  ]);
}

export function logConfigFlag(version: string, file: string): string {
  return isLegacy(version)
    ? `-Dlog4j.configuration=file:${file}`
    : `-Dlog4j2.configurationFile=${file}`;
}

export async function spawnBroker(version: string): Promise<number> {
  const p = paths(version);
  const java = [
    jdkTool("java"),
    "-Xms512m",
    "-Xmx1g",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    // Kafka's documented tuning: with the default 1 MB regions of a 1 GB
    // heap, every produce or fetch buffer of 512 KB or more is a humongous
    // object (77 of 93 collections in the benchmark's 1 and 10 KiB produce
    // rounds were forced by them; none, and half the pauses, with 16 MB).
    "-XX:G1HeapRegionSize=16M",
    "-Djava.awt.headless=true",
    // The realm and KDC of the GSSAPI listener.
    `-Djava.security.krb5.conf=${KRB5_CONF}`,
    "-Dsun.security.krb5.debug=false",
    `-Dkafka.logs.dir=${p.logs}`,
    logConfigFlag(version, p.logConfig),
    "-cp",
    [join(p.libs, "*"), p.telemetryClasses].join(delimiter),
    "kafka.Kafka",
    p.serverProperties,
  ];
  log(`starting Kafka ${version}; logs in ${p.logs}`);
  const pid = await spawnDetached(java, join(p.logs, "stdout.log"), p.dir);
  await Deno.writeTextFile(PID_FILE, `${pid}\n`);
  await Deno.writeTextFile(VERSION_FILE, `${version}\n`);
  return pid;
}

/**
 * Why the running broker of `version` cannot be reused as it is, if it
 * cannot: its server.properties, written when it started, lacks a listener
 * this script now adds.
 */
export async function staleBroker(
  version: string,
): Promise<string | undefined> {
  const props = await readIfExists(paths(version).serverProperties) ?? "";
  if (!props.includes(`GSSAPI://${address("GSSAPI")}`)) {
    return "it has no GSSAPI listener (started by an older tools/kafka.ts)";
  }
  if (
    hasTelemetry(version) &&
    !props.includes("metric.reporters=TelemetryReceiver")
  ) {
    return "it has no client telemetry receiver (started by an older tools/kafka.ts)";
  }
  return undefined;
}

/**
 * Kafka opens its broker listeners only once the broker is unfenced (the
 * controller port opens earlier), but it opens them one at a time: when a
 * later one fails to bind, 9092 has already accepted and the JVM then exits.
 * So a fresh start counts as ready only when every client listener accepts and
 * the log since `mark` says the server started; a broker that is merely being
 * reused (no mark) only needs its listeners.
 */
export async function waitReady(
  pid: number,
  version: string,
  mark?: LogMark,
): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await isReady(version, mark))) {
    if ((await brokerState(pid)) !== "running") {
      // Where setsid had to fork (its caller led a process group), the pid
      // recorded was setsid's own, gone at once, while the JVM runs on
      // under another: follow that one. The fork may still be execing java
      // (its command line reads empty meanwhile): look for a moment.
      const orphan = await findOrphanWithin(ORPHAN_GRACE_MS);
      if (orphan !== undefined) {
        if (orphan.pid !== pid) {
          log(`Kafka ${version} runs as pid ${orphan.pid}, not ${pid}`);
          pid = orphan.pid;
          await Deno.writeTextFile(PID_FILE, `${pid}\n`);
          await Deno.writeTextFile(VERSION_FILE, `${orphan.version}\n`);
        }
        // The deadline still bounds the wait.
        continue;
      }
      await removeRunFiles();
      const report = await logReport(version, mark ?? {});
      throw new Error(`Kafka ${version} exited during start-up\n${report}`);
    }
    if (Date.now() > deadline) {
      await stopProcess(pid, `Kafka ${version} (pid ${pid})`);
      await removeRunFiles();
      const report = await logReport(version, mark ?? {});
      const seconds = START_TIMEOUT_MS / 1000;
      throw new Error(
        `Kafka ${version} not ready after ${seconds} s\n${report}`,
      );
    }
    await sleep(POLL_MS);
  }
}

export async function isReady(
  version: string,
  mark?: LogMark,
): Promise<boolean> {
  for (const name of CLIENT_LISTENERS) {
    if (!(await portOpen(PORTS[name]))) return false;
  }
  if (mark === undefined) return true;
  const file = join(paths(version).logs, "server.log");
  return (await readLogSince(file, mark["server.log"] ?? 0))
    .includes("Kafka Server started");
}

/** SIGTERM (SIGKILL after STOP_TIMEOUT_MS), then `waitStopped`. */
export async function stopProcess(pid: number, what: string): Promise<void> {
  signal(pid, "SIGTERM");
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while ((await brokerState(pid)) === "running") {
    if (Date.now() > deadline) {
      log(`${what} ignored SIGTERM for ${STOP_TIMEOUT_MS / 1000} s; killing`);
      signal(pid, "SIGKILL");
      break;
    }
    await sleep(POLL_MS);
  }
  await waitStopped(pid, what);
}

/**
 * Waits until the broker `pid` (if any) has stopped and no process listens on
 * any of PORTS, so a new broker can bind them. A JVM killed with SIGKILL
 * turns zombie as soon as its main thread exits, but its sockets close only
 * with its last thread; so the ports, not the process, tell when it is gone.
 */
export async function waitStopped(
  pid: number | undefined,
  what: string,
): Promise<void> {
  const started = Date.now();
  let waiting = false;
  while (true) {
    const running = pid !== undefined &&
      (await brokerState(pid)) === "running";
    const busy = running ? [] : await busyPorts();
    if (!running && busy.length === 0) break;
    if (Date.now() - started > STOP_TIMEOUT_MS) {
      const seconds = STOP_TIMEOUT_MS / 1000;
      throw new Error(
        running
          ? `${what} still runs after ${seconds} s`
          : `${busy.join(", ")} still in use ${seconds} s after ${what} ` +
            "stopped: find the process with `ss -ltnp` (Linux) or " +
            "`lsof -iTCP -sTCP:LISTEN` and stop it",
      );
    }
    if (!waiting) {
      waiting = true;
      log(
        running
          ? `waiting for ${what} to exit ...`
          : `waiting for ${what} to free ${busy.join(", ")} ...`,
      );
    }
    await sleep(POLL_MS);
  }
  if (waiting) log(`ports free after ${since(started)}`);
}

/** The listeners whose port accepts connections, e.g. "9093 (CONTROLLER)". */
export async function busyPorts(): Promise<string[]> {
  const busy: string[] = [];
  for (const name of Object.keys(PORTS) as ListenerName[]) {
    if (await portOpen(PORTS[name])) busy.push(`${PORTS[name]} (${name})`);
  }
  return busy;
}

/**
 * The broker this script started last, alive or not. When the run files are
 * missing or name a dead process while a broker started from this checkout's
 * .kafka still runs (its run files lost, e.g. by a start that gave up too
 * early), that broker is adopted: recorded again and returned.
 */
export async function readRunFiles(): Promise<Running | undefined> {
  const recorded = await readPidFiles();
  if (recorded && (await brokerState(recorded.pid)) !== "gone") {
    return recorded;
  }
  const orphan = await findOrphan();
  if (orphan === undefined) return recorded;
  log(`adopting Kafka ${orphan.version} (pid ${orphan.pid}), started here`);
  await Deno.writeTextFile(PID_FILE, `${orphan.pid}\n`);
  await Deno.writeTextFile(VERSION_FILE, `${orphan.version}\n`);
  return orphan;
}

export async function readPidFiles(): Promise<Running | undefined> {
  const text = await readIfExists(PID_FILE);
  if (text === undefined) return undefined;
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) {
    await removeRunFiles();
    return undefined;
  }
  const version = (await readIfExists(VERSION_FILE))?.trim() ||
    DEFAULT_KAFKA_VERSION;
  return { pid, version };
}

/** `findOrphan()`, asked again every POLL_MS for up to `ms`. */
export async function findOrphanWithin(
  ms: number,
): Promise<Running | undefined> {
  const deadline = Date.now() + ms;
  while (true) {
    const orphan = await findOrphan();
    if (orphan !== undefined || Date.now() >= deadline) return orphan;
    await sleep(POLL_MS);
  }
}

/**
 * A live JVM running kafka.Kafka on a server.properties under HOME (so one
 * this script started, from this checkout), found through /proc or `ps`.
 */
export async function findOrphan(): Promise<Running | undefined> {
  const prefix = HOME + (HOME.endsWith("/") ? "" : "/");
  const pattern = new RegExp(
    `\\bkafka\\.Kafka\\s+${escapeRegExp(prefix)}([^/\\s]+)/server\\.properties`,
  );
  for (const [pid, command] of await processList()) {
    const match = pattern.exec(command);
    if (match && (await brokerState(pid)) === "running") {
      return { pid, version: match[1] };
    }
  }
  return undefined;
}

export async function removeRunFiles(): Promise<void> {
  await Deno.remove(PID_FILE).catch(ignoreNotFound);
  await Deno.remove(VERSION_FILE).catch(ignoreNotFound);
}

/**
 * "running": alive and still a Kafka broker. "exiting": killed, or a zombie,
 * which may still hold its ports (see `waitStopped`). "gone": no such
 * process, or the pid was reused by another program. The command line reads
 * empty for a moment inside execve, which happens several times while the
 * broker starts (bash, nohup, setsid, java), so empty counts as ours unless
 * the process is exiting (an exiting process has no command line either).
 */
export async function brokerState(
  pid: number,
): Promise<"running" | "exiting" | "gone"> {
  const info = await processInfo(pid);
  if (info === undefined) return "gone";
  if (info.exiting) return "exiting";
  const ours = info.command.trim() === "" ||
    info.command.includes("kafka.Kafka");
  return ours ? "running" : "gone";
}

export const LOG_FILES = ["server.log", "stdout.log"];

/** Log sizes before a start, so a failure report shows only that start. */
export type LogMark = Record<string, number>;

export async function markLogs(version: string): Promise<LogMark> {
  const mark: LogMark = {};
  for (const name of LOG_FILES) {
    const info = await Deno.stat(join(paths(version).logs, name))
      .catch(() => undefined);
    mark[name] = info?.size ?? 0;
  }
  return mark;
}

/** The errors (their first lines and causes) and the last lines of each log. */
export async function logReport(
  version: string,
  mark: LogMark,
): Promise<string> {
  const parts: string[] = [];
  for (const name of LOG_FILES) {
    const file = join(paths(version).logs, name);
    const lines = (await readLogSince(file, mark[name] ?? 0)).trimEnd()
      .split("\n").filter((line) => line !== "");
    if (lines.length === 0) continue;
    const errors = lines.filter((line) =>
      / (ERROR|FATAL) |^Caused by:/.test(line)
    );
    if (errors.length > 0) {
      parts.push(`--- errors in ${file}`, ...new Set(errors.slice(0, 20)));
    }
    parts.push(`--- last lines of ${file}`, ...lines.slice(-15));
  }
  return parts.join("\n") || `(nothing logged in ${paths(version).logs})`;
}
