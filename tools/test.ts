/**
 * The test command: starts the broker when none runs and extracts the
 * protocol specs from its jars, then runs the whole suite under Deno (with
 * the examples in the JSDoc: `deno test --doc`), under Bun and under Node
 * (22 or later, when installed), and prints one closing line with the
 * totals of all (and which tests could not run on this machine).
 *
 * npm dependencies install themselves: Deno fills node_modules on first use
 * (`"nodeModulesDir": "auto"` in deno.json), and Bun's half starts with
 * `bun install --frozen-lockfile`, which does nothing when they are there;
 * Node runs after both and resolves them from the same node_modules.
 *
 * Node is the one in .tools (what .ci/run installs) or else on the PATH. It
 * runs the TypeScript as it is, types stripped: 22.18 and 23.6 on do that by
 * default, 22.6 to 22.17 and 23.0 to 23.5 need `--experimental-strip-types`.
 *
 * Usage: deno run -A tools/test.ts [--deno-only] [paths...]
 *
 * @module
 */

import { dial } from "../mod.ts";
import { BROKER, onPath } from "../tests/_helpers.ts";
import { ensureBroker, ensureSpecs } from "./kafka.ts";

const root = new URL("..", import.meta.url).pathname;
const args = Deno.args.filter((a) => !a.startsWith("--"));
const denoOnly = Deno.args.includes("--deno-only");
const paths = args.length ? args : ["lib", "tests", "codecs"];

interface Totals {
  passed: number;
  failed: number;
  ok: boolean;
  /** What the runtime printed of its failures, to repeat at the end. */
  failures?: string;
}

/** At most `max` lines of `text`: its first ones, and how many were left. */
function clip(text: string, max: number): string {
  const lines = text.trimEnd().split("\n");
  if (lines.length <= max) return lines.join("\n");
  return [...lines.slice(0, max), `... (${lines.length - max} more lines)`]
    .join("\n");
}

/**
 * The failures a run printed, to repeat after the totals: each runtime's
 * output scrolls far past them, and CI keeps only the end of the log. Deno
 * and Node list them in a closing section; Bun prints each error above its
 * "(fail)" line, so the lines since the previous test's line are kept.
 */
function failuresOf(out: string): string | undefined {
  const closing = /^ ERRORS $|^✖ failing tests:$/m.exec(out);
  if (closing) return clip(out.slice(closing.index), 120);
  const lines = out.split("\n");
  const blocks: string[] = [];
  let start = 0;
  lines.forEach((line, i) => {
    if (!/^\((?:pass|fail|skip|todo)\) /.test(line)) return;
    if (line.startsWith("(fail) ")) {
      blocks.push(
        clip(lines.slice(Math.max(start, i - 40), i + 1).join("\n"), 41),
      );
    }
    start = i + 1;
  });
  return blocks.length ? clip(blocks.join("\n\n"), 200) : undefined;
}

async function run(
  cmd: string[],
  parse: (out: string) => Totals,
  /** False when the parse alone decides (the exit status counts errors we do not). */
  byStatus = true,
): Promise<Totals> {
  console.log(`\n$ ${cmd.join(" ")}`);
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd: root,
    stdout: "piped",
    stderr: "piped",
    // DENO_BIN: tests under Bun run tools/kafka.ts with this Deno.
    env: { NO_COLOR: "1", DENO_BIN: Deno.execPath() },
  }).spawn();
  const [out, err] = await Promise.all([
    echo(child.stdout, Deno.stdout),
    echo(child.stderr, Deno.stderr),
  ]);
  const status = await child.status;
  const totals = parse(out + "\n" + err);
  const ok = (status.success || !byStatus) && totals.failed === 0;
  // A runtime that ended without listing failures (it crashed, or a file
  // could not load) leaves its last lines, which say why.
  const failures = ok ? undefined : failuresOf(out + err) ??
    `(exit ${status.code}; its last lines)\n` +
      (out + "\n" + err).trimEnd().split("\n").slice(-40).join("\n");
  return { ...totals, ok, failures };
}

/** Copies a child's output through while keeping it for parsing. */
async function echo(
  stream: ReadableStream<Uint8Array>,
  to: { write(p: Uint8Array): Promise<number> },
): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of stream) {
    text += decoder.decode(chunk, { stream: true });
    let written = 0;
    while (written < chunk.length) {
      written += await to.write(chunk.subarray(written));
    }
  }
  return text;
}

function parseDeno(out: string): Totals {
  // "ok | 12 passed (30 steps) | 1 failed (2 steps)": describe() blocks are
  // tests and their cases steps, so count both.
  const m =
    /(\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed(?: \((\d+) steps?\))?/
      .exec(out);
  if (!m) return { passed: 0, failed: 1, ok: false };
  const [passed, passedSteps, failed, failedSteps] = m.slice(1).map((x) =>
    Number(x ?? 0)
  );
  return {
    passed: passed + passedSteps,
    failed: Math.max(failed, failedSteps),
    ok: true,
  };
}

function parseBun(out: string): Totals {
  const pass = /^\s*(\d+) pass$/m.exec(out);
  const fail = /^\s*(\d+) fail$/m.exec(out);
  return pass
    ? { passed: Number(pass[1]), failed: Number(fail?.[1] ?? 0), ok: true }
    : { passed: 0, failed: 1, ok: false };
}

function parseNode(out: string): Totals {
  // The closing lines of `node --test`: "ℹ pass 12" (spec reporter) or
  // "# pass 12" (TAP). A cancelled test (its suite's hook failed, or the
  // file ended first) is a failed one.
  const count = (name: string) =>
    Number(
      [...out.matchAll(new RegExp(`^[ℹ#] ${name} (\\d+)$`, "gm"))].at(-1)
        ?.[1] ?? NaN,
    );
  const passed = count("pass");
  if (Number.isNaN(passed)) return { passed: 0, failed: 1, ok: false };
  const failed = (count("fail") || 0) + (count("cancelled") || 0);
  return { passed, failed, ok: true };
}

/** The runtime's binary in .tools (what .ci/run installs), else `name` on the PATH. */
function findTool(name: string): string {
  const local = `${root}.tools/node_modules/.bin/${name}`;
  try {
    Deno.statSync(local);
    return local;
  } catch {
    return name;
  }
}

/**
 * Node and the flags it needs to run the TypeScript, or why it cannot:
 * absent, or older than 22.6 (the first that strips types).
 */
async function findNode(): Promise<
  { node: string; flags: string[]; version: string } | { missing: string }
> {
  const node = findTool("node");
  let version: string;
  try {
    const { stdout } = await new Deno.Command(node, { args: ["--version"] })
      .output();
    version = new TextDecoder().decode(stdout).trim();
  } catch {
    return { missing: "no node is installed in .tools or on the PATH" };
  }
  // Under `deno task`, a "node" missing from the PATH may be Deno's own
  // stand-in, which answers with Deno's version: that is not Node.
  const numbers = /^v(\d+)\.(\d+)\.\d+$/.exec(version);
  if (numbers === null) {
    return {
      missing: `the "node" found (${node}) is not Node.js: its --version said ${
        JSON.stringify(version.split("\n")[0])
      }`,
    };
  }
  const [major, minor] = [Number(numbers[1]), Number(numbers[2])];
  if (major < 22 || (major === 22 && minor < 6)) {
    return {
      missing: `the node found (${node}) is ${version}, older than 22.6`,
    };
  }
  const stripsByDefault = major > 23 || (major === 22 && minor >= 18) ||
    (major === 23 && minor >= 6);
  return {
    node,
    flags: stripsByDefault ? [] : ["--experimental-strip-types"],
    version,
  };
}

/** `node --test` patterns for the paths: a folder stands for its test files. */
function nodePatterns(paths: string[]): string[] {
  return paths.map((p) => {
    const dir = p.replace(/\/+$/, "");
    try {
      if (Deno.statSync(`${root}${dir}`).isDirectory) {
        return `${dir}/**/*_test.ts`;
      }
    } catch {
      // Not a path here: let node report it.
    }
    return p;
  });
}

/** Runs a setup command with inherited output; throws when it fails. */
async function setup(cmd: string[]): Promise<void> {
  console.log(`\n$ ${cmd.join(" ")}`);
  const { success, code } = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd: root,
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!success) throw new Error(`${cmd.join(" ")} failed (exit ${code})`);
}

/** A topic of `uniqueTopic` (tests/_helpers.ts); its time in base 36. */
const TEST_TOPIC = /-(?:deno|bun|node)-([0-9a-z]{8,9})-[0-9a-z]{1,6}-\d+$/;

/**
 * Deletes the topics that test runs made over an hour ago: tests leave
 * theirs behind, and a local broker used for weeks would otherwise hold
 * thousands of partitions (and gigabytes) of them, which slows it down.
 * Runs under way (a suite takes minutes) keep theirs. A failure here is
 * reported and changes nothing else.
 */
async function deleteOldTestTopics(): Promise<void> {
  const cutoff = Date.now() - 3_600_000;
  try {
    const conn = await dial(BROKER);
    try {
      const topics = new Set(
        (await conn.readPartitions()).map((p) => p.topic),
      );
      const old = [...topics].filter((topic) => {
        const made = TEST_TOPIC.exec(topic)?.[1];
        return made !== undefined && parseInt(made, 36) < cutoff;
      });
      for (let i = 0; i < old.length; i += 100) {
        await conn.deleteTopics(...old.slice(i, i + 100));
      }
      if (old.length > 0) {
        const topics = old.length === 1 ? "topic" : "topics";
        console.log(
          `deleted ${old.length} ${topics} of test runs over an hour ago`,
        );
      }
    } finally {
      conn.close();
    }
  } catch (error) {
    console.log(`could not delete the topics of earlier test runs: ${error}`);
  }
}

await ensureBroker();
await deleteOldTestTopics();
// The protocol tests compare lib/protocol/messages with these specs.
await ensureSpecs();
const results: [string, Totals][] = [];
if (!args.length) {
  // The README's examples type-check as a user would paste them: each code
  // block on its own, against the module's own exports.
  const blocks = (await Deno.readTextFile(`${root}README.md`))
    .match(/^```ts$/gm)?.length ?? 0;
  results.push([
    "README examples (type check)",
    await run(
      [Deno.execPath(), "check", "--doc-only", "README.md"],
      (out) => {
        const failed = /^error: /m.test(out) ? 1 : 0;
        return { passed: failed ? 0 : blocks, failed, ok: true };
      },
    ),
  ]);
  // The library's own source under exactOptionalPropertyTypes, so that a
  // project with that setting may check it too (library.json).
  results.push([
    "library under exactOptionalPropertyTypes (type check)",
    await run(
      [
        Deno.execPath(),
        "check",
        "--config",
        "tests/strict/library.json",
        "mod.ts",
      ],
      (out) => {
        const failed = (out.match(/TS\d+ \[ERROR\]/g) ?? []).length;
        return { passed: failed ? 0 : 1, failed, ok: true };
      },
    ),
  ]);
  // A user's program under exactOptionalPropertyTypes and
  // noUncheckedIndexedAccess: only its own errors count (the library's
  // source is not written for noUncheckedIndexedAccess; users get its
  // types).
  const strict = "tests/strict/user.ts";
  results.push([
    "strict TypeScript settings (type check)",
    await run(
      [
        Deno.execPath(),
        "check",
        "--config",
        "tests/strict/strict.json",
        strict,
      ],
      (out) => {
        const failed = out.split("\n")
          .filter((line) => line.includes(`${root}${strict}:`)).length;
        return { passed: failed ? 0 : 1, failed, ok: true };
      },
      false,
    ),
  ]);
}
results.push([
  "deno",
  // --doc: the examples in the JSDoc of every module run too (mod.ts's
  // own as well when the whole suite runs).
  await run([
    Deno.execPath(),
    "test",
    "-A",
    "--doc",
    ...paths,
    ...(args.length ? [] : ["mod.ts"]),
  ], parseDeno),
]);
let nodeMissing: string | undefined;
if (!denoOnly) {
  const bun = findTool("bun");
  await setup([bun, "install", "--frozen-lockfile"]);
  // Each runtime starts with a broker up, whatever the one before left.
  await ensureBroker();
  results.push([
    "bun",
    await run([
      bun,
      "test",
      "--timeout",
      "120000",
      ...paths.map((p) => `./${p}`),
    ], parseBun),
  ]);
  const found = await findNode();
  if ("missing" in found) {
    nodeMissing = found.missing;
  } else {
    console.log(`\nnode ${found.version}`);
    await ensureBroker();
    results.push([
      "node",
      await run([
        found.node,
        ...found.flags,
        "--test",
        // One test file at a time: they share one broker, and some kill and
        // restart it. Node's timeout bounds each file too (each runs as a
        // test of its own): a file of four broker restarts, each up to 35 s
        // on a busy machine, needs more than two minutes.
        "--test-concurrency=1",
        "--test-timeout=300000",
        "--test-reporter=spec",
        ...nodePatterns(paths),
      ], parseNode),
    ]);
  }
}
let passed = 0;
let failed = 0;
for (const [runtime, t] of results) {
  console.log(`${runtime}: ${t.passed} passed, ${t.failed} failed`);
  passed += t.passed;
  failed += t.failed + (t.ok || t.failed ? 0 : 1);
}
for (const [runtime, t] of results) {
  if (t.failures) console.log(`\nwhat failed under ${runtime}:\n${t.failures}`);
}
console.log(`\ntests: ${passed} passed, ${failed} failed`);
if (!onPath("kcat")) {
  console.log(
    "\nnot run: the interop tests with kcat (librdkafka): the codec tests, " +
      "the Reader's kcat tests and kcat's member of the mixed consumer group, because kcat " +
      "is not on the PATH.\nInstall it to run them: `apt-get install kcat` " +
      "(Debian, Ubuntu) or `brew install kcat` (macOS).",
  );
}
if (nodeMissing) {
  console.log(
    `\nnot run: the suite under Node, because ${nodeMissing}.\n` +
      "Install Node 22 or later to run it: `npm install --prefix .tools " +
      "node@22` (what `bash .ci/run` does), or from https://nodejs.org.",
  );
}
Deno.exit(failed === 0 && results.every(([, t]) => t.ok) ? 0 : 1);
