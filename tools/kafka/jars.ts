/**
 * Kafka's jars from Maven Central, and the protocol's JSON message specs
 * extracted from its kafka-clients jar.
 *
 * @module
 */

import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { isLegacy, type Paths, paths } from "./settings.ts";
import { exists, ignoreNotFound, log, run, since } from "./system.ts";

export async function fetchJars(version: string): Promise<void> {
  const p = paths(version);
  const done = p.jarsComplete;
  if (await exists(done)) return;
  const started = Date.now();
  log(`fetching Kafka ${version} jars with Maven into ${p.libs} ...`);
  // A half-filled folder from an interrupted run could mix versions.
  await Deno.remove(p.libs, { recursive: true }).catch(ignoreNotFound);
  await Deno.mkdir(p.libs, { recursive: true });
  await Deno.writeTextFile(p.pom, pomXml(version));
  await mvn(p.pom, [
    "dependency:copy-dependencies",
    `-DoutputDirectory=${p.libs}`,
    "-DincludeScope=runtime",
  ]);
  if (!isLegacy(version)) await fetchLog4jBinding(p);
  await Deno.writeTextFile(done, `${new Date().toISOString()}\n`);
  log(`fetched jars in ${since(started)}`);
}

export function pomXml(version: string): string {
  // kafka-tools alone: its own dependencies would drag in the Connect runtime,
  // and what its perf tools need already comes with kafka_2.13.
  const noTransitive = "<exclusions><exclusion><groupId>*</groupId>" +
    "<artifactId>*</artifactId></exclusion></exclusions>";
  const deps = [
    pomDependency(`org.apache.kafka:kafka_2.13:${version}`),
    pomDependency(`org.apache.kafka:kafka-tools:${version}`, noTransitive),
  ];
  if (isLegacy(version)) {
    // The published POMs carry no SLF4J binding, so the broker would log nothing.
    deps.push(pomDependency("org.slf4j:slf4j-reload4j:1.7.36"));
    deps.push(pomDependency("ch.qos.reload4j:reload4j:1.2.25"));
  }
  return pomProject("kafka-broker-jars", version, deps);
}

export function pomDependency(coordinates: string, extra = ""): string {
  const [group, artifact, v] = coordinates.split(":");
  return `    <dependency><groupId>${group}</groupId>` +
    `<artifactId>${artifact}</artifactId><version>${v}</version>${extra}` +
    `</dependency>`;
}

export function pomProject(
  artifactId: string,
  version: string,
  deps: string[],
): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by tools/kafka.ts: only used to copy jars. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.kafka-dev</groupId>
  <artifactId>${artifactId}</artifactId>
  <version>${version}</version>
  <packaging>pom</packaging>
  <dependencies>
${deps.join("\n")}
  </dependencies>
</project>
`;
}

/**
 * 4.x POMs carry no SLF4J binding either; the log4j one must match the
 * log4j-core version Kafka resolved, which is only known after the copy.
 */
export async function fetchLog4jBinding(p: Paths): Promise<void> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(p.libs)) names.push(entry.name);
  const core = names.map((n) => n.match(/^log4j-core-(.+)\.jar$/)?.[1])
    .find(Boolean);
  const slf4j = names.map((n) => n.match(/^slf4j-api-(\d+)\./)?.[1])
    .find(Boolean);
  if (!core || !slf4j) {
    throw new Error(`no log4j-core or slf4j-api jar in ${p.libs}`);
  }
  // slf4j 1.x needs log4j-slf4j-impl; log4j-slf4j2-impl only binds slf4j 2.
  const artifact = slf4j === "1" ? "log4j-slf4j-impl" : "log4j-slf4j2-impl";
  await mvn(p.pom, [
    "dependency:copy",
    `-Dartifact=org.apache.logging.log4j:${artifact}:${core}`,
    `-DoutputDirectory=${p.libs}`,
  ]);
}

export async function mvn(pom: string, args: string[]): Promise<void> {
  await run("mvn", ["-B", "-q", "-f", pom, ...args]);
}

export const SPECS_IN_JAR = "common/message/";

/**
 * Copies the JSON message specs out of the kafka-clients jar. The folder
 * appears whole or not at all, so its presence means it is complete.
 */
export async function extractSpecs(version: string): Promise<void> {
  const p = paths(version);
  if (await exists(p.specs)) return;
  const jar = join(p.libs, `kafka-clients-${version}.jar`);
  const files = unzip(await Deno.readFile(jar), jar, SPECS_IN_JAR);
  const json = [...files.keys()].filter((name) => name.endsWith(".json"));
  if (json.length === 0) throw new Error(`no ${SPECS_IN_JAR}*.json in ${jar}`);
  const partial = `${p.specs}.partial`;
  await Deno.remove(partial, { recursive: true }).catch(ignoreNotFound);
  await Deno.mkdir(partial, { recursive: true });
  for (const [name, bytes] of files) {
    const file = name.slice(SPECS_IN_JAR.length);
    if (file !== "" && !file.includes("/")) {
      await Deno.writeFile(join(partial, file), bytes);
    }
  }
  await Deno.rename(partial, p.specs);
  log(`extracted ${json.length} message specs from ${jar} into ${p.specs}`);
}

/**
 * The files of a zip (a jar) whose names start with `prefix`. Reads the
 * central directory at the end of the file, then each entry, stored or
 * deflated: all a jar from Maven Central uses (no ZIP64, no encryption).
 */
export function unzip(
  zip: Uint8Array,
  file: string,
  prefix: string,
): Map<string, Uint8Array> {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  const corrupt = (what: string) => new Error(`${file}: ${what}`);
  // The end-of-central-directory record: 22 bytes and a comment of < 64 KiB.
  let end = zip.length - 22;
  const stop = Math.max(0, end - 0xffff);
  while (end >= stop && u32(end) !== 0x06054b50) end--;
  if (end < stop) throw corrupt("not a zip file");
  const count = u16(end + 10);
  let at = u32(end + 16);
  const names = new TextDecoder();
  const files = new Map<string, Uint8Array>();
  for (let i = 0; i < count; i++) {
    if (u32(at) !== 0x02014b50) throw corrupt("bad central directory entry");
    const method = u16(at + 10);
    const size = u32(at + 20);
    const nameLength = u16(at + 28);
    const local = u32(at + 42);
    const name = names.decode(zip.subarray(at + 46, at + 46 + nameLength));
    at += 46 + nameLength + u16(at + 30) + u16(at + 32);
    if (!name.startsWith(prefix) || name.endsWith("/")) continue;
    if (u32(local) !== 0x04034b50) throw corrupt(`bad local header of ${name}`);
    const start = local + 30 + u16(local + 26) + u16(local + 28);
    const data = zip.subarray(start, start + size);
    if (method === 0) files.set(name, data);
    else if (method === 8) files.set(name, inflateRawSync(data));
    else throw corrupt(`${name} uses compression method ${method}`);
  }
  return files;
}
