/**
 * Runs one client process and watches its memory: the harness polls
 * `/proc/<pid>/status` for VmHWM (the kernel's high-water mark of the
 * resident set) every 20 ms while the child runs, and that of each of its
 * descendants, adding up their peaks (kcat's mirror is a shell pipeline).
 * VmHWM only grows, so the last value read before exit is the peak, short of
 * any growth in the final 20 ms; the JavaScript and Go clients also read
 * their own VmHWM just before they print, and the larger of the two is kept.
 * kcat and the Java tools are measured by polling alone.
 *
 * CPU: the child's time comes from this process's own account of its reaped
 * children (cutime + cstime in /proc/self/stat, all the child's threads),
 * and /proc/stat before and after gives the whole machine's. What neither
 * the child, the broker nor this harness used is other processes' load,
 * which disturbs a measurement on a shared machine (`foreignCores`, in cores
 * busy on average).
 *
 * @module
 */

import { runCommand } from "../tools/_command.ts";

export interface Spawned {
  code: number;
  stdout: string;
  stderr: string;
  /** From spawn to exit, as the harness saw it. */
  wallSeconds: number;
  /** Highest VmHWM read while it ran, in MiB (0 when never read). */
  polledRssMb: number;
  /** The child's user + system CPU time. */
  cpuSeconds: number;
  /** User + system CPU time of the `ownPids` (the broker) during the run. */
  ownCpuSeconds: number;
  /** Cores kept busy by other processes during the run, on average. */
  foreignCores: number;
  timedOut: boolean;
}

const POLL_MS = 20;
/** USER_HZ, the unit of /proc CPU times: 100 on every Linux architecture. */
const TICKS_PER_SECOND = 100;

export async function spawn(
  command: string,
  args: string[],
  options: {
    cwd?: string;
    env?: Record<string, string>;
    timeoutMs: number;
    /** Processes whose CPU is not foreign load (the broker). */
    ownPids?: number[];
  },
): Promise<Spawned> {
  const own = ["self", ...(options.ownPids ?? []).map(String)];
  const before = await cpuTicks(own);
  const start = performance.now();
  const child = new Deno.Command(command, {
    args,
    cwd: options.cwd,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Each process's highest VmHWM: the child's, and its descendants' when it
  // runs a pipeline (kcat's mirror), whose peaks are added up.
  const peaks = new Map<number, number>();
  let polledRssMb = 0;
  const poll = async () => {
    for (const pid of await processTree(child.pid)) {
      const kb = await readVmHWM(pid);
      if (kb !== undefined && kb > (peaks.get(pid) ?? 0)) peaks.set(pid, kb);
    }
    let total = 0;
    for (const kb of peaks.values()) total += kb;
    polledRssMb = total / 1024;
  };
  await poll();
  const timer = setInterval(poll, POLL_MS);
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }, options.timeoutMs);
  try {
    const output = await child.output();
    const wallSeconds = (performance.now() - start) / 1000;
    const after = await cpuTicks(own);
    const childTicks = after.children - before.children;
    const foreign = (after.machine - before.machine) -
      (after.own - before.own) - childTicks;
    return {
      code: output.code,
      stdout: new TextDecoder().decode(output.stdout),
      stderr: new TextDecoder().decode(output.stderr),
      wallSeconds,
      polledRssMb,
      cpuSeconds: childTicks / TICKS_PER_SECOND,
      ownCpuSeconds: (after.watched - before.watched) / TICKS_PER_SECOND,
      foreignCores: Math.max(0, foreign / TICKS_PER_SECOND / wallSeconds),
      timedOut,
    };
  } finally {
    clearInterval(timer);
    clearTimeout(deadline);
  }
}

/**
 * Busy ticks of the whole machine, of the given processes (`own`; `watched`
 * without this process), and of this process's reaped children.
 */
async function cpuTicks(
  pids: string[],
): Promise<
  { machine: number; own: number; watched: number; children: number }
> {
  let machine = 0;
  try {
    const stat = await Deno.readTextFile("/proc/stat");
    // cpu user nice system idle iowait irq softirq steal guest guest_nice;
    // guest time is already counted in user and nice.
    const fields = stat.split("\n")[0].trim().split(/\s+/).slice(1, 9)
      .map(Number);
    machine = fields.reduce((a, b) => a + b, 0) - fields[3] - fields[4];
  } catch {
    // No /proc: no load figure.
  }
  let own = 0;
  let watched = 0;
  for (const pid of pids) {
    const ticks = (await processTicks(pid)).self;
    own += ticks;
    if (pid !== "self") watched += ticks;
  }
  const children = (await processTicks("self")).children;
  return { machine, own, watched, children };
}

/**
 * utime + stime of a process (all its threads) and cutime + cstime of its
 * reaped children; zeros when it is gone.
 */
async function processTicks(
  pid: string,
): Promise<{ self: number; children: number }> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    // After "(comm)": state is field 3, utime 14, stime 15, cutime 16, cstime 17.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(
      Number,
    );
    return { self: fields[11] + fields[12], children: fields[13] + fields[14] };
  } catch {
    return { self: 0, children: 0 };
  }
}

/**
 * The process and its descendants: the children its main thread started
 * (/proc/<pid>/task/<pid>/children), theirs, and so on.
 */
async function processTree(pid: number): Promise<number[]> {
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    const children = await Deno.readTextFile(
      `/proc/${tree[i]}/task/${tree[i]}/children`,
    ).catch(() => "");
    for (const child of children.trim().split(/\s+/)) {
      if (child) tree.push(Number(child));
    }
  }
  return tree;
}

async function readVmHWM(pid: number): Promise<number | undefined> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs a short command to completion; its stdout then stderr (where `java
 * -version` writes), or an error carrying both.
 */
export async function capture(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<string> {
  const { success, code, stdout, stderr } = await runCommand(
    command,
    args,
    options,
  );
  if (!success) {
    throw new Error(
      `${command} ${args.slice(0, 3).join(" ")} failed (exit ${code})\n` +
        `${stdout}${stderr}`.trim().split("\n").slice(-15).join("\n"),
    );
  }
  return stdout + stderr;
}
