/**
 * The Kerberos KDC (Apache Kerby, tools/kerberos/Kdc.java) that the GSSAPI
 * listener trusts: fetched, compiled, started and stopped.
 *
 * @module
 */

import { delimiter, join } from "node:path";
import { mvn, pomDependency, pomProject } from "./jars.ts";
import {
  ALICE_KEYTAB,
  BOB_CCACHE,
  KAFKA_KEYTAB,
  KDC_ADDRESS,
  KDC_LOG,
  KDC_PID_FILE,
  KDC_PORT,
  KDC_READY_FILE,
  KDC_SOURCE,
  KERBEROS_DIR,
  KERBEROS_REALM,
  KERBY,
  KERBY_VERSION,
  KRB5_CONF,
  POLL_MS,
  STOP_TIMEOUT_MS,
} from "./settings.ts";
import {
  compileJava,
  escapeRegExp,
  exists,
  ignoreNotFound,
  jdkTool,
  log,
  portOpen,
  processInfo,
  processList,
  readIfExists,
  readLogSince,
  signal,
  since,
  sleep,
  spawnDetached,
  waitPortFree,
} from "./system.ts";

export const KDC_START_TIMEOUT_MS = 60_000;

/** The KDC's command line names its class and folder: `Kdc <KERBEROS_DIR> `. */
export const KDC_COMMAND = new RegExp(
  `\\bKdc\\s+${escapeRegExp(KERBEROS_DIR)}\\s`,
);

/**
 * Makes sure the KDC runs and has written krb5.conf and the keytabs,
 * starting one (fetching Kerby and compiling Kdc.java on first use) when
 * none does; resolves with its pid.
 */
export async function ensureKdc(): Promise<number> {
  const running = await findKdc();
  if (running !== undefined && (await kdcReady())) return running;
  if (running !== undefined) {
    // Alive without its ready file (a start that gave up, or files removed
    // by hand): a new one is quicker to trust than to diagnose.
    await stopKdc();
  }
  const started = Date.now();
  const classpath = await buildKdc();
  await waitPortFree(KDC_PORT, "the previous KDC");
  await Deno.mkdir(KERBEROS_DIR, { recursive: true });
  // The KDC writes it again once its keytabs are whole.
  await Deno.remove(KDC_READY_FILE).catch(ignoreNotFound);
  const mark = (await Deno.stat(KDC_LOG).catch(() => undefined))?.size ?? 0;
  const java = [
    jdkTool("java"),
    // A few principals and requests: a small heap and a quick start.
    "-Xmx128m",
    "-XX:TieredStopAtLevel=1",
    "-XX:+UseSerialGC",
    // Kerby logs every request (to kdc.log); with the time, they can be
    // matched with the broker's and the tests' logs.
    "-Dorg.slf4j.simpleLogger.showDateTime=true",
    "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd HH:mm:ss,SSS",
    "-cp",
    classpath,
    "Kdc",
    KERBEROS_DIR,
    String(KDC_PORT),
  ];
  log(`starting the KDC (realm ${KERBEROS_REALM}); log in ${KDC_LOG}`);
  let pid = await spawnDetached(java, KDC_LOG, KERBEROS_DIR);
  await Deno.writeTextFile(KDC_PID_FILE, `${pid}\n`);
  const deadline = Date.now() + KDC_START_TIMEOUT_MS;
  while (!(await kdcReady())) {
    if ((await kdcState(pid)) !== "running") {
      // setsid may have forked (see waitReady): look for the JVM by name.
      const found = await findKdc();
      if (found === undefined) {
        const output = (await readLogSince(KDC_LOG, mark)).trim();
        throw new Error(`the KDC exited during start-up\n${output}`);
      }
      pid = found;
    }
    if (Date.now() > deadline) {
      await stopKdc();
      const output = (await readLogSince(KDC_LOG, mark)).trim();
      throw new Error(
        `the KDC not ready after ${KDC_START_TIMEOUT_MS / 1000} s\n${output}`,
      );
    }
    await sleep(POLL_MS);
  }
  // The JVM writes its own pid into the ready file.
  const ready = Number((await readIfExists(KDC_READY_FILE))?.trim());
  if (Number.isInteger(ready) && ready > 0) pid = ready;
  await Deno.writeTextFile(KDC_PID_FILE, `${pid}\n`);
  log(`KDC ready on ${KDC_ADDRESS} (pid ${pid}) in ${since(started)}`);
  return pid;
}

/** Its files are written and its port accepts. */
export async function kdcReady(): Promise<boolean> {
  for (
    const file of [
      KDC_READY_FILE,
      KRB5_CONF,
      KAFKA_KEYTAB,
      ALICE_KEYTAB,
      BOB_CCACHE,
    ]
  ) {
    if (!(await exists(file))) return false;
  }
  return await portOpen(KDC_PORT);
}

/**
 * The pid of the KDC started from this checkout, if one runs: the one in
 * KDC_PID_FILE, else one found by its command line (and recorded again).
 */
export async function findKdc(): Promise<number | undefined> {
  const pid = Number((await readIfExists(KDC_PID_FILE))?.trim());
  if (Number.isInteger(pid) && pid > 0 && (await kdcState(pid)) === "running") {
    return pid;
  }
  for (const [other, command] of await processList()) {
    if (KDC_COMMAND.test(command) && (await kdcState(other)) === "running") {
      await Deno.writeTextFile(KDC_PID_FILE, `${other}\n`);
      return other;
    }
  }
  return undefined;
}

/** As `brokerState`, for the KDC's JVM. */
export async function kdcState(
  pid: number,
): Promise<"running" | "exiting" | "gone"> {
  const info = await processInfo(pid);
  if (info === undefined) return "gone";
  if (info.exiting) return "exiting";
  const ours = info.command.trim() === "" || KDC_COMMAND.test(info.command);
  return ours ? "running" : "gone";
}

/**
 * SIGTERM (SIGKILL after STOP_TIMEOUT_MS), or `how`, until it exits and
 * frees its port.
 */
export async function stopKdc(
  how: "SIGTERM" | "SIGKILL" = "SIGTERM",
): Promise<void> {
  const pid = await findKdc();
  if (pid !== undefined) {
    signal(pid, how);
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while ((await kdcState(pid)) === "running") {
      if (Date.now() > deadline) {
        signal(pid, "SIGKILL");
        break;
      }
      await sleep(POLL_MS);
    }
    await waitPortFree(KDC_PORT, `the KDC (pid ${pid})`);
    log(`${how === "SIGKILL" ? "killed" : "stopped"} the KDC (pid ${pid})`);
  }
  await Deno.remove(KDC_PID_FILE).catch(ignoreNotFound);
}

/**
 * Fetches Kerby's jars with Maven once, and compiles Kdc.java when it
 * changed; resolves with the KDC's class path.
 */
export async function buildKdc(): Promise<string> {
  const libs = join(KERBY, "libs");
  const done = join(libs, ".complete");
  if (!(await exists(done))) {
    const started = Date.now();
    log(
      `fetching Apache Kerby ${KERBY_VERSION} jars with Maven into ${libs} ...`,
    );
    await Deno.remove(libs, { recursive: true }).catch(ignoreNotFound);
    await Deno.mkdir(libs, { recursive: true });
    const pom = join(KERBY, "pom.xml");
    await Deno.writeTextFile(
      pom,
      pomProject("kerby-kdc-jars", KERBY_VERSION, [
        pomDependency(`org.apache.kerby:kerb-simplekdc:${KERBY_VERSION}`),
        // Kerby logs each request through SLF4J; without a binding, nothing.
        pomDependency("org.slf4j:slf4j-simple:1.7.36"),
      ]),
    );
    await mvn(pom, [
      "dependency:copy-dependencies",
      `-DoutputDirectory=${libs}`,
      "-DincludeScope=runtime",
    ]);
    await Deno.writeTextFile(done, `${new Date().toISOString()}\n`);
    log(`fetched Kerby's jars in ${since(started)}`);
  }
  const classes = join(KERBY, "classes");
  await compileJava(KDC_SOURCE, classes, join(libs, "*"));
  return [join(libs, "*"), classes].join(delimiter);
}
