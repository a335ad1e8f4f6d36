/**
 * The machine may be shared with other engineers' test suites, which load
 * the CPU and kill and restart the broker now and then. These helpers let
 * the harnesses wait for a quiet moment and notice a disturbed measurement.
 *
 * @module
 */

/** Command lines of test suites: tools/test.ts and the runtimes' runners. */
const SUITES = [
  /tools\/test\.ts/,
  /(^|[/\0])deno\0test\0/,
  /(^|[/\0])bun\0test\0/,
  /(^|[/\0])node\0--test\0/,
];

/** Whether a test suite runs now (from /proc/<pid>/cmdline; false off Linux). */
export async function testSuiteRunning(): Promise<boolean> {
  try {
    for await (const entry of Deno.readDir("/proc")) {
      if (!/^\d+$/.test(entry.name)) continue;
      const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`)
        .catch(() => "");
      if (SUITES.some((p) => p.test(cmdline))) return true;
    }
  } catch {
    // No /proc.
  }
  return false;
}

/** A broker JVM that tools/kafka.ts started, from its command line. */
export interface BrokerProcess {
  pid: number;
  /** The Kafka version, from its `.kafka/<version>/server.properties`. */
  version: string;
}

/**
 * The broker running now, found in /proc (the test suites restart it, and
 * run other versions too); undefined when none is visible, such as a
 * container's.
 */
export async function brokerProcess(): Promise<BrokerProcess | undefined> {
  try {
    for await (const entry of Deno.readDir("/proc")) {
      if (!/^\d+$/.test(entry.name)) continue;
      const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`)
        .catch(() => "");
      const args = cmdline.split("\0");
      if (!args.includes("kafka.Kafka")) continue;
      for (const arg of args) {
        const match = /\/\.kafka\/([^/]+)\/server\.properties$/.exec(arg);
        if (match) return { pid: Number(entry.name), version: match[1] };
      }
    }
  } catch {
    // No /proc.
  }
  return undefined;
}

/** "pid version" of the broker running now, to notice a restart ("" for none). */
export async function brokerIdentity(): Promise<string> {
  const broker = await brokerProcess();
  return broker ? `${broker.pid} ${broker.version}` : "";
}

/**
 * Waits (up to `maxMs`) until the visible broker is of `version`, when one
 * of another version runs (a test suite's); true when it is (or none is
 * visible).
 */
export async function waitForBroker(
  version: string,
  maxMs: number,
  log: (message: string) => void,
): Promise<boolean> {
  const deadline = Date.now() + maxMs;
  let said = false;
  while (true) {
    const broker = await brokerProcess();
    if (!broker || broker.version === version) return true;
    if (Date.now() > deadline) return false;
    if (!said) {
      log(`  waiting for the ${version} broker (${broker.version} runs) ...`);
    }
    said = true;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

/**
 * Waits until no test suite has run for `calmMs` in a row, or `maxMs` went
 * by; returns at once when none runs. False when it gave up.
 */
export async function waitForQuiet(
  maxMs: number,
  log: (message: string) => void,
  calmMs = 10_000,
): Promise<boolean> {
  if (!await testSuiteRunning()) return true;
  log("  waiting for a test suite to finish ...");
  const deadline = Date.now() + maxMs;
  let quietSince = Date.now();
  while (Date.now() < deadline) {
    if (await testSuiteRunning()) quietSince = Date.now();
    else if (Date.now() - quietSince >= calmMs) return true;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  log("  still busy: measuring anyway");
  return false;
}

/**
 * Watches, until `stop()`, whether a test suite ran or the broker restarted
 * meanwhile; `stop()` says which, or undefined.
 */
export function watchDisturbance(): {
  stop: () => Promise<string | undefined>;
} {
  let reason: string | undefined;
  let running = true;
  const loop = (async () => {
    const broker = await brokerIdentity();
    while (running) {
      if (!reason && await testSuiteRunning()) reason = "a test suite ran";
      if (!reason && (await brokerIdentity()) !== broker) {
        reason = "the broker restarted";
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return reason;
    },
  };
}

/** CPU seconds (user + system) of a process so far, from /proc/<pid>/stat. */
async function cpuSeconds(pid: number): Promise<number | undefined> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => "");
  // Fields after the command name, which may hold spaces, in parentheses.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks / 100 : undefined;
}

/**
 * Waits until the broker process `pid` used less than `cores` of CPU over a
 * window of `windowMs`, or `maxMs` went by: a broker still busy after the
 * last run (deleting its topic's files, collecting garbage, compacting the
 * offsets topic) would slow the next client's run, whichever it is. Returns
 * the milliseconds it waited.
 */
export async function waitForIdleBroker(
  pid: number,
  maxMs = 10_000,
  cores = 0.1,
  windowMs = 250,
): Promise<number> {
  const start = Date.now();
  let before = await cpuSeconds(pid);
  while (before !== undefined && Date.now() - start < maxMs) {
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const after = await cpuSeconds(pid);
    if (after === undefined || after - before < cores * windowMs / 1000) break;
    before = after;
  }
  return Date.now() - start;
}
