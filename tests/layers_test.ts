/**
 * The layers of the library, as the README's "Layout" describes them: each
 * folder imports only from its own layer and the ones below. A change that
 * makes the protocol reach for a connection, or the cluster for a Reader,
 * fails here, naming the file and the import.
 */

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * The rank of each folder, in the order of the README's table: a folder may
 * import from its own rank and the ones below. `codecs/` depends on nothing
 * of `lib/`. The files directly in `lib/` are helpers every layer may use
 * (options, messages, redaction) and are not ranked.
 */
const LAYERS: Record<string, number> = {
  codecs: 0,
  "lib/protocol": 1,
  "lib/connection": 2,
  "lib/cluster": 3,
  "lib/requests": 4,
  "lib/conn": 5,
  "lib/tracing": 6,
  "lib/producer": 7,
  "lib/admin": 8,
  "lib/consumer": 9,
};

/**
 * The one upward import the README names: a type-only import, by the
 * tracing of Readers, of what a batch span covers.
 */
const EXCEPTIONS = [
  { from: "lib/tracing/reader.ts", to: "lib/consumer/message_batch.ts" },
];

/** The ranked folder holding `file` (a path from the root), if any. */
function folderOf(file: string): string | undefined {
  return Object.keys(LAYERS).find((folder) => file.startsWith(`${folder}/`));
}

/** The library's source files (tests and test fixtures left out). */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "testing") out.push(...sources(path));
    } else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) {
      out.push(path);
    }
  }
  return out;
}

/** The relative specifiers `source` imports or re-exports, comments left out. */
function importsOf(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(
    /^\s*\/\/.*$/gm,
    "",
  );
  return [...code.matchAll(
    /(?:\bfrom|\bimport)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g,
  )].map((m) => m[1]);
}

test("each layer of the library imports only from its own layer and the ones below", () => {
  const files = [
    ...sources(join(ROOT, "lib")),
    ...sources(join(ROOT, "codecs")),
  ];
  assert.ok(files.length > 200, `${files.length} source files found`);
  const upward: string[] = [];
  let checked = 0;
  for (const file of files) {
    const from = relative(ROOT, file);
    const folder = folderOf(from);
    if (folder === undefined) continue;
    for (const specifier of importsOf(readFileSync(file, "utf8"))) {
      const to = relative(ROOT, resolve(dirname(file), specifier));
      const target = folderOf(to);
      checked++;
      const excepted = EXCEPTIONS.some((e) => e.from === from && e.to === to);
      if (
        target !== undefined && LAYERS[target] > LAYERS[folder] && !excepted
      ) {
        upward.push(
          `${from} (layer ${LAYERS[folder]}) imports ${to} (layer ${
            LAYERS[target]
          })`,
        );
      }
    }
  }
  assert.ok(checked > 1000, `${checked} imports checked`);
  assert.deepEqual(upward, []);
  // The exceptions stay type-only: gone when the code is compiled.
  for (const { from, to } of EXCEPTIONS) {
    const source = readFileSync(join(ROOT, from), "utf8");
    const name = to.split("/").pop()!.replace(".", "\\.");
    assert.match(
      source,
      new RegExp(`import type \\{[^}]*\\} from "[./]*[^"]*${name}"`),
    );
  }
});

test("the layer check sees an import that goes up, and not one in a comment", () => {
  assert.deepEqual(
    importsOf(
      [
        `import { Cluster } from "../cluster/cluster.ts";`,
        `export { FirstOffset } from "../requests/list_offsets.ts";`,
        `const codec = await import("../../codecs/mod.ts");`,
        `/** import { Writer } from "../producer/writer.ts"; */`,
        `// import { Reader } from "../consumer/reader.ts";`,
      ].join("\n"),
    ),
    [
      "../cluster/cluster.ts",
      "../requests/list_offsets.ts",
      "../../codecs/mod.ts",
    ],
  );
  assert.equal(folderOf("lib/connection/socket.ts"), "lib/connection");
  assert.equal(folderOf("lib/options.ts"), undefined);
});
