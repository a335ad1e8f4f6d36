/**
 * A real single-node Apache Kafka broker (KRaft, broker and controller in one
 * JVM) for tests and benchmarks, without Docker: the jars come from Maven
 * Central through `mvn`, the JVM runs detached, and everything lives under the
 * git-ignored `.kafka/` folder of the repository.
 *
 *   deno run -A tools/kafka.ts up             start (or reuse) the broker
 *   deno run -A tools/kafka.ts up --brokers=3 start the three-node cluster of
 *                                             tools/cluster.ts instead
 *   deno run -A tools/kafka.ts down [--wipe]  stop it; --wipe also drops its data
 *   deno run -A tools/kafka.ts kill           SIGKILL it (as a crash would); data kept
 *   deno run -A tools/kafka.ts restart        SIGKILL it, then start it on the same data
 *   deno run -A tools/kafka.ts kill-kdc       SIGKILL the KDC; `up` starts it again
 *   deno run -A tools/kafka.ts status         exit 0 when running, 1 when not
 *   deno run -A tools/kafka.ts env            shell exports for clients and tests
 *   deno run -A tools/kafka.ts jars [version] fetch the jars; print their folder
 *   deno run -A tools/kafka.ts specs [version] extract the protocol's JSON message
 *                                             specs from kafka-clients; print their folder
 *
 * KAFKA_VERSION picks the broker version (4.x, or 3.9.x); each version keeps
 * its own jars, config, data and logs in `.kafka/<version>/`. KAFKA_DATA_DIR
 * puts the data elsewhere, for example on a tmpfs (`/dev/shm/...`) so that a
 * benchmark's gigabytes never wait for the disk (set it for `down --wipe`
 * too). When
 * KAFKA_VERSION is set and a broker of another version started by this script
 * is running, `up` refuses with exit code 1: run `down` first. When it is not
 * set, whichever broker runs is reused.
 *
 * A broker that was killed, or is still exiting after `down`, is waited for:
 * `up` starts a new one only once the old one's ports are free.
 *
 * The GSSAPI listener authenticates against a Kerberos KDC (Apache Kerby, see
 * tools/kerberos/Kdc.java) that `up` starts before the broker, on
 * 127.0.0.1:9089 (TCP only), and `down` stops after it; a killed broker
 * (`kill`, `restart`) leaves it running, and `up` starts it again when it
 * died (`kill-kdc`) under a running broker. Its files are in
 * `.kafka/kerberos/` (krb5.conf, keytabs, kdc.log); it keeps its random
 * keys there too, so a restarted KDC honours the tickets it issued before
 * and the broker's keytab never changes. Delete the folder for a new realm.
 *
 * The broker has a client telemetry receiver (KIP-714,
 * tools/telemetry/TelemetryReceiver.java, compiled against its jars), so
 * that it offers GetTelemetrySubscriptions and PushTelemetry; it writes each
 * push it receives, decoded, to `.kafka/telemetry/<instance id>.jsonl`.
 *
 * Other scripts import `ensureBroker()` to get a broker before tests run, and
 * `killBroker()` / `restartBroker()` for fault tests. Under another runtime
 * than Deno (Bun runs the tests too) these run this script with Deno
 * (`$DENO_BIN`, else `deno` on PATH).
 */

import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { basename, delimiter, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { inflateRawSync } from "node:zlib";
import { Client } from "../lib/admin/client.ts";
import { runCommand } from "./_command.ts";

/**
 * Newest release on Maven Central when this was written (checked with mvn);
 * also the version whose protocol specs lib/protocol/messages is generated
 * from.
 */
export const DEFAULT_KAFKA_VERSION = "4.4.0";

/** The address every listener binds. */
export const HOST = "127.0.0.1";
/** The broker's ports, by listener name. */
export const PORTS = {
  PLAINTEXT: 9092,
  CONTROLLER: 9093,
  SASL_PLAINTEXT: 9094,
  SSL: 9095,
  SASL_SSL: 9096,
  /** SSL that requires a client certificate (mutual TLS). */
  MTLS: 9097,
  /** SASL_PLAINTEXT whose sessions last REAUTH_MS (KIP-368). */
  REAUTH: 9098,
  /** SASL_PLAINTEXT with GSSAPI (Kerberos) only, against the KDC at KDC_ADDRESS. */
  GSSAPI: 9099,
} as const;
type ListenerName = keyof typeof PORTS;
const CLIENT_LISTENERS: ListenerName[] = [
  "PLAINTEXT",
  "SASL_PLAINTEXT",
  "SSL",
  "SASL_SSL",
  "MTLS",
  "REAUTH",
  "GSSAPI",
];
const SASL_LISTENERS: ListenerName[] = ["SASL_PLAINTEXT", "SASL_SSL", "REAUTH"];
/** The security protocol of each listener (its name, unless said here). */
const PROTOCOLS: Partial<Record<ListenerName, string>> = {
  CONTROLLER: "PLAINTEXT",
  MTLS: "SSL",
  REAUTH: "SASL_PLAINTEXT",
  GSSAPI: "SASL_PLAINTEXT",
};
/** Milliseconds a session lasts on the REAUTH listener before it must re-authenticate. */
export const REAUTH_MS = 3000;
/** The subject of the client certificate the MTLS listener accepts. */
export const CLIENT_CERT_CN = "streamkafka-client";

/** The SASL user the broker knows (PLAIN and SCRAM). */
export const SASL_USERNAME = "alice";
/** The password of `SASL_USERNAME`. */
export const SASL_PASSWORD = "alice-secret";
const SCRAM_MECHANISMS = ["SCRAM-SHA-256", "SCRAM-SHA-512"];

/** The Kerberos realm of the KDC that the GSSAPI listener trusts. */
export const KERBEROS_REALM = "STREAMKAFKA.TEST";
/** The KDC's TCP port (it has no UDP one); not a broker listener. */
export const KDC_PORT = 9089;
/** The KDC's address, host:port. */
export const KDC_ADDRESS = `${HOST}:${KDC_PORT}`;
/** The service name of the broker's principal (`sasl.kerberos.service.name`). */
export const KERBEROS_SERVICE_NAME = "kafka";
/**
 * The broker's principal, whose key is in KAFKA_KEYTAB: a client asks the
 * KDC for a ticket to `kafka/127.0.0.1`, the host it connects to.
 */
export const KAFKA_PRINCIPAL =
  `${KERBEROS_SERVICE_NAME}/${HOST}@${KERBEROS_REALM}`;
/**
 * A Kerberos user with password SASL_PASSWORD and keys in ALICE_KEYTAB; the
 * broker sees User:alice (the realm is the default one), a super user.
 */
export const ALICE_PRINCIPAL = `${SASL_USERNAME}@${KERBEROS_REALM}`;
/** A Kerberos user without a keytab (password BOB_PASSWORD); User:bob, no super user. */
export const BOB_PRINCIPAL = `bob@${KERBEROS_REALM}`;
/** The password of BOB_PRINCIPAL. */
export const BOB_PASSWORD = "bob-secret";
/** Apache Kerby, whose SimpleKdcServer tools/kerberos/Kdc.java runs. */
const KERBY_VERSION = "2.0.3";
// Development-only secret for the PKCS12 stores; nothing here protects real data.
const STORE_PASSWORD = "kafka-dev-secret";

const START_TIMEOUT_MS = 120_000;
/** For a clean shutdown, and again for a dead broker's ports to close. */
const STOP_TIMEOUT_MS = 30_000;
const POLL_MS = 250;
/**
 * How long a start whose recorded pid is gone looks for the JVM under
 * another pid (setsid's fork) before calling the start failed.
 */
const ORPHAN_GRACE_MS = 5_000;

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const HOME = join(ROOT, ".kafka");
// One CA for every version, so the PEM that tests read never goes stale when
// KAFKA_VERSION changes.
const CERTS = join(HOME, "certs");
/** The CA certificate that signed the broker's, for TLS clients. */
export const CA_PEM = join(CERTS, "ca.pem");
/** A client certificate the CA signed, for the MTLS listener. */
export const CLIENT_CERT_PEM = join(CERTS, "client.pem");
/** The client certificate's private key (PKCS#8 PEM, unencrypted). */
export const CLIENT_KEY_PEM = join(CERTS, "client-key.pem");
/**
 * The KDC's folder, shared by every version: krb5.conf, the keytabs, the
 * KDC's saved keys and its log (see tools/kerberos/Kdc.java).
 */
export const KERBEROS_DIR = join(HOME, "kerberos");
/** A krb5.conf naming the realm and KDC (TCP only; AES enctypes only), for Java. */
export const KRB5_CONF = join(KERBEROS_DIR, "krb5.conf");
/** The keytab of KAFKA_PRINCIPAL (random keys, aes256 and aes128), the broker's. */
export const KAFKA_KEYTAB = join(KERBEROS_DIR, "kafka.keytab");
/** The keytab of ALICE_PRINCIPAL (keys from her password, aes256 and aes128). */
export const ALICE_KEYTAB = join(KERBEROS_DIR, "alice.keytab");
/**
 * A credential cache (MIT file format, as kinit writes) holding
 * BOB_PRINCIPAL's ticket-granting ticket; the KDC writes it anew every 6
 * hours.
 */
export const BOB_CCACHE = join(KERBEROS_DIR, "bob.ccache");
const KDC_READY_FILE = join(KERBEROS_DIR, "ready");
const KDC_LOG = join(KERBEROS_DIR, "kdc.log");
const KDC_PID_FILE = join(HOME, "kdc.pid");
const KERBY = join(HOME, `kerby-${KERBY_VERSION}`);
const KDC_SOURCE = join(ROOT, "tools", "kerberos", "Kdc.java");
/**
 * Where the broker's client telemetry receiver (tools/telemetry/
 * TelemetryReceiver.java) writes each push it receives, a file per client
 * instance: `<instance id>.jsonl`, a JSON line per push.
 */
export const TELEMETRY_DIR = join(HOME, "telemetry");
const TELEMETRY_SOURCE = join(
  ROOT,
  "tools",
  "telemetry",
  "TelemetryReceiver.java",
);
const PID_FILE = join(HOME, "broker.pid");
const VERSION_FILE = join(HOME, "broker.version");
const LOCK_FILE = join(HOME, "lock");

interface Running {
  pid: number;
  version: string;
}

// ---------------------------------------------------------------------------
// Public API

/**
 * Makes sure a broker listens on 127.0.0.1:9092 and the other listeners,
 * starting one (fetching jars and formatting storage on first use) when none
 * runs, or once a killed one has freed its ports. Its data folder is kept
 * across starts, so after `killBroker()` this restarts the same broker.
 * Progress goes to stderr.
 *
 * @example
 * ```ts
 * import { ensureBroker } from "./kafka.ts";
 * await ensureBroker();
 * ```
 */
export async function ensureBroker(): Promise<void> {
  if (!isDeno()) {
    await viaDeno(["up"]);
    return;
  }
  await withLock(() => up());
}

/**
 * Kills the broker this script started with SIGKILL (no clean shutdown, as
 * in a crash) and resolves with its pid once it has exited and every port it
 * listened on is free. Its data stays: `ensureBroker()` starts it again.
 * Rejects when no broker started here is running (e.g. one from
 * `docker compose`).
 *
 * @example
 * ```ts
 * import { ensureBroker, killBroker } from "./kafka.ts";
 * await killBroker();
 * await ensureBroker();
 * ```
 */
export async function killBroker(): Promise<number> {
  if (!isDeno()) return Number(await viaDeno(["kill"]));
  return await withLock(kill);
}

/**
 * Kills the KDC this script started with SIGKILL and resolves with its pid
 * once its port is free; the broker keeps running. `ensureBroker()` starts
 * it again, with the same keys. Rejects when none runs.
 *
 * @example
 * ```ts
 * import { ensureBroker, killKdc } from "./kafka.ts";
 * await killKdc();
 * await ensureBroker();
 * ```
 */
export async function killKdc(): Promise<number> {
  if (!isDeno()) return Number(await viaDeno(["kill-kdc"]));
  return await withLock(async () => {
    const pid = await findKdc();
    if (pid === undefined) {
      throw new Error("no KDC started by tools/kafka.ts is running");
    }
    await stopKdc("SIGKILL");
    return pid;
  });
}

/**
 * `killBroker()`, then starts the same version on the same data and resolves
 * once it is ready. Starts it when none was running.
 *
 * @example
 * ```ts
 * import { restartBroker } from "./kafka.ts";
 * await restartBroker();
 * ```
 */
export async function restartBroker(): Promise<void> {
  if (!isDeno()) {
    await viaDeno(["restart"]);
    return;
  }
  await withLock(async () => {
    const recorded = await readRunFiles();
    if (recorded && (await brokerState(recorded.pid)) === "running") {
      await kill();
      await up(recorded.version);
    } else {
      await up();
    }
  });
}

/**
 * The folder of the jars of Kafka `version` (broker, tools and kafka-clients),
 * filled by `ensureJars()`.
 */
export function libsDir(version: string = DEFAULT_KAFKA_VERSION): string {
  return paths(version).libs;
}

/**
 * Where the broker of `version` started by this script keeps its data: the
 * `log.dirs` of its server.properties (KAFKA_DATA_DIR when it was started),
 * or where it would.
 */
export function brokerDataDir(
  version: string = DEFAULT_KAFKA_VERSION,
): string {
  const p = paths(version);
  try {
    const props = readFileSync(p.serverProperties, "utf8");
    const line = props.split("\n").find((l) => l.startsWith("log.dirs="));
    if (line) return line.slice("log.dirs=".length).trim();
  } catch {
    // Not started yet: where it would go.
  }
  return p.data;
}

/** Fetches the jars of Kafka `version` with Maven once; resolves with `libsDir(version)`. */
export async function ensureJars(
  version: string = DEFAULT_KAFKA_VERSION,
): Promise<string> {
  const p = paths(version);
  if (existsSync(p.jarsComplete)) return p.libs;
  if (!isDeno()) return await viaDeno(["jars", version]);
  await withLock(() => fetchJars(version));
  return p.libs;
}

/**
 * The folder of Kafka's JSON message specs (`FetchRequest.json` and the
 * rest) of `version`, as `ensureSpecs()` extracts them from its
 * kafka-clients jar.
 */
export function specsDir(version: string = DEFAULT_KAFKA_VERSION): string {
  return paths(version).specs;
}

/**
 * Extracts `common/message/*.json` from the kafka-clients jar of `version`
 * (fetching the jars first when needed) into `specsDir(version)`, once;
 * resolves with that folder.
 */
export async function ensureSpecs(
  version: string = DEFAULT_KAFKA_VERSION,
): Promise<string> {
  const dir = paths(version).specs;
  if (existsSync(dir)) return dir;
  if (!isDeno()) return await viaDeno(["specs", version]);
  await withLock(async () => {
    await fetchJars(version);
    await extractSpecs(version);
  });
  return dir;
}

/** The variables `env` prints, for scripts that spawn clients themselves. */
export function brokerEnv(): Record<string, string> {
  return {
    KAFKA_BROKERS: address("PLAINTEXT"),
    KAFKA_SASL_BROKERS: address("SASL_PLAINTEXT"),
    KAFKA_SSL_BROKERS: address("SSL"),
    KAFKA_SASL_SSL_BROKERS: address("SASL_SSL"),
    KAFKA_MTLS_BROKERS: address("MTLS"),
    KAFKA_REAUTH_BROKERS: address("REAUTH"),
    KAFKA_CA_PEM: CA_PEM,
    KAFKA_CLIENT_CERT_PEM: CLIENT_CERT_PEM,
    KAFKA_CLIENT_KEY_PEM: CLIENT_KEY_PEM,
    KAFKA_SASL_USERNAME: SASL_USERNAME,
    KAFKA_SASL_PASSWORD: SASL_PASSWORD,
    KAFKA_GSSAPI_BROKERS: address("GSSAPI"),
    KAFKA_KERBEROS_REALM: KERBEROS_REALM,
    KAFKA_KDC: KDC_ADDRESS,
    KAFKA_KRB5_CONF: KRB5_CONF,
    KAFKA_ALICE_KEYTAB: ALICE_KEYTAB,
  };
}

// ---------------------------------------------------------------------------
// Commands

async function up(version = requestedVersion()): Promise<void> {
  const recorded = await readRunFiles();
  if (recorded) {
    const { pid } = recorded;
    if ((await brokerState(pid)) === "running") {
      if (Deno.env.get("KAFKA_VERSION") && recorded.version !== version) {
        throw new Error(
          `Kafka ${recorded.version} is running (pid ${pid}) but ` +
            `KAFKA_VERSION=${version} was asked for; run 'down' first`,
        );
      }
      const stale = await staleBroker(recorded.version);
      if (stale === undefined) {
        const kdc = await ensureKdc();
        await waitReady(pid, recorded.version);
        log(`reusing Kafka ${recorded.version} (pid ${pid}), KDC (pid ${kdc})`);
        return;
      }
      // E.g. one started before the GSSAPI listener existed: start it anew
      // (same version, same data) rather than fail its readiness check.
      const what = `Kafka ${recorded.version} (pid ${pid})`;
      log(`restarting ${what}: ${stale}`);
      await stopProcess(pid, what);
      version = recorded.version;
    } else {
      // Killed or crashed: a dying broker still holds its ports for a moment,
      // and would look like a running one.
      await waitStopped(pid, `Kafka ${recorded.version} (pid ${pid})`);
    }
    await removeRunFiles();
  } else if (await portOpen(PORTS.PLAINTEXT)) {
    // Probably `docker compose up`: same listeners, so just use it.
    log(`reusing the broker already on ${address("PLAINTEXT")} (not ours)`);
    return;
  }
  const started = Date.now();
  await fetchJars(version);
  await ensureCerts();
  // Before the broker, which reads the keytab this KDC exported.
  await ensureKdc();
  await buildTelemetryReceiver(version);
  await writeConfig(version);
  await formatIfEmpty(version);
  // E.g. the controller port, which the PLAINTEXT check above does not see.
  await waitStopped(undefined, "the previous broker");
  const mark = await markLogs(version);
  const pid = await spawnBroker(version);
  await waitReady(pid, version, mark);
  await ensureScramUser();
  log(`Kafka ${version} ready (pid ${pid}) in ${since(started)}`);
}

/**
 * Writes the SASL user's SCRAM credentials again. A Kafka 4.4 broker
 * restarted after a kill -9 was seen to come back without the user's
 * SCRAM-SHA-256 credential once another user's SCRAM-SHA-256 credential had
 * been deleted (the admin tests do that); the tests need it on every start.
 */
async function ensureScramUser(): Promise<void> {
  const client = new Client({
    brokers: [address("PLAINTEXT")],
    timeout: 30_000,
  });
  try {
    // One request per mechanism: a request may alter a user only once.
    for (const mechanism of SCRAM_MECHANISMS) {
      const [result] = await client.alterUserScramCredentials([{
        user: SASL_USERNAME,
        mechanism: mechanism as "SCRAM-SHA-256" | "SCRAM-SHA-512",
        password: SASL_PASSWORD,
      }]);
      if (result.error) throw result.error;
    }
    // The broker learns them from the metadata log a moment later.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const [user] = await client.describeUserScramCredentials([SASL_USERNAME]);
      const has = new Set(user.credentials.map((c) => c.mechanism as string));
      if (SCRAM_MECHANISMS.every((m) => has.has(m))) return;
      if (Date.now() > deadline) {
        throw new Error(
          `the broker does not show ${SASL_USERNAME}'s SCRAM credentials after 15 s`,
        );
      }
      await sleep(100);
    }
  } finally {
    await client.close();
  }
}

async function down(wipe: boolean): Promise<number> {
  const recorded = await readRunFiles();
  let code = 0;
  if (recorded) {
    const what = `Kafka ${recorded.version} (pid ${recorded.pid})`;
    await stopProcess(recorded.pid, what);
    log(`stopped ${what}`);
  } else if (await portOpen(PORTS.PLAINTEXT)) {
    log(`a broker on ${address("PLAINTEXT")} was not started here; leaving it`);
    code = 1;
  } else {
    log("Kafka is not running");
  }
  await removeRunFiles();
  // After the broker, which needs it until the end.
  await stopKdc();
  if (wipe) {
    const dir = paths(recorded?.version ?? requestedVersion()).data;
    await Deno.remove(dir, { recursive: true }).catch(ignoreNotFound);
    log(`wiped ${dir}`);
  }
  return code;
}

/**
 * SIGKILL, then wait until the process and its ports are gone. The KDC stays:
 * the broker started next trusts the same keytab.
 */
async function kill(): Promise<number> {
  const recorded = await readRunFiles();
  if (!recorded || (await brokerState(recorded.pid)) !== "running") {
    const other = await portOpen(PORTS.PLAINTEXT)
      ? ` (the one on ${address("PLAINTEXT")} was not started here)`
      : "";
    throw new Error(`no broker started by tools/kafka.ts is running${other}`);
  }
  const { pid, version } = recorded;
  signal(pid, "SIGKILL");
  await waitStopped(pid, `Kafka ${version} (pid ${pid})`);
  await removeRunFiles();
  log(`killed Kafka ${version} (pid ${pid}) with SIGKILL`);
  return pid;
}

async function status(): Promise<number> {
  const recorded = await readRunFiles();
  const state = recorded ? await brokerState(recorded.pid) : "gone";
  const running = state === "running" ? recorded : undefined;
  const open = await portOpen(PORTS.PLAINTEXT);
  if (running) {
    console.log(`Kafka ${running.version}: running (pid ${running.pid})`);
    console.log(`  logs: ${paths(running.version).logs}`);
  } else if (recorded && state === "exiting") {
    console.log(`Kafka ${recorded.version}: exiting (pid ${recorded.pid})`);
  } else if (open) {
    console.log("Kafka: running (not started by tools/kafka.ts)");
  } else {
    console.log("Kafka: not running");
  }
  for (const name of Object.keys(PORTS) as ListenerName[]) {
    const state = (await portOpen(PORTS[name])) ? "open" : "closed";
    console.log(`  ${name.padEnd(15)} ${address(name).padEnd(16)} ${state}`);
  }
  const kdc = await findKdc();
  const kdcPort = (await portOpen(KDC_PORT)) ? "open" : "closed";
  console.log(
    `  ${"KDC".padEnd(15)} ${KDC_ADDRESS.padEnd(16)} ${kdcPort}` +
      (kdc === undefined ? "" : ` (pid ${kdc}, realm ${KERBEROS_REALM})`),
  );
  return running || open ? 0 : 1;
}

function printEnv(): number {
  for (const [name, value] of Object.entries(brokerEnv())) {
    console.log(`export ${name}='${value}'`);
  }
  return 0;
}

// ---------------------------------------------------------------------------
// Jars

interface Paths {
  dir: string;
  libs: string;
  /** Written once every jar is in `libs`. */
  jarsComplete: string;
  /** `common/message/*.json` of the kafka-clients jar. */
  specs: string;
  data: string;
  logs: string;
  pom: string;
  serverProperties: string;
  logConfig: string;
  toolsLogConfig: string;
  telemetryClasses: string;
}

function paths(version: string): Paths {
  const dir = join(HOME, version);
  const logFile = isLegacy(version) ? "log4j.properties" : "log4j2.properties";
  return {
    dir,
    libs: join(dir, "libs"),
    jarsComplete: join(dir, "libs", ".complete"),
    specs: join(dir, "message-specs"),
    // paths() runs under Bun and Node too (specsDir, libsDir): no Deno here.
    data: process.env.KAFKA_DATA_DIR || join(dir, "data"),
    logs: join(dir, "logs"),
    pom: join(dir, "pom.xml"),
    serverProperties: join(dir, "server.properties"),
    logConfig: join(dir, logFile),
    toolsLogConfig: join(dir, `tools-${logFile}`),
    telemetryClasses: join(dir, "telemetry-classes"),
  };
}

/** 3.x brokers log through log4j 1 (reload4j); 4.x through log4j 2. */
function isLegacy(version: string): boolean {
  return version.startsWith("3.");
}

async function fetchJars(version: string): Promise<void> {
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

function pomXml(version: string): string {
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

function pomDependency(coordinates: string, extra = ""): string {
  const [group, artifact, v] = coordinates.split(":");
  return `    <dependency><groupId>${group}</groupId>` +
    `<artifactId>${artifact}</artifactId><version>${v}</version>${extra}` +
    `</dependency>`;
}

function pomProject(
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
async function fetchLog4jBinding(p: Paths): Promise<void> {
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

async function mvn(pom: string, args: string[]): Promise<void> {
  await run("mvn", ["-B", "-q", "-f", pom, ...args]);
}

// ---------------------------------------------------------------------------
// Protocol specs

const SPECS_IN_JAR = "common/message/";

/**
 * Copies the JSON message specs out of the kafka-clients jar. The folder
 * appears whole or not at all, so its presence means it is complete.
 */
async function extractSpecs(version: string): Promise<void> {
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
function unzip(
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

// ---------------------------------------------------------------------------
// TLS

/** A CA, a server certificate it signs, and the stores Kafka reads. */
async function ensureCerts(): Promise<void> {
  const files = [
    "ca.pem",
    "server.p12",
    "truststore.p12",
    "keystore.password",
    "client.pem",
    "client-key.pem",
  ];
  const present = await Promise.all(files.map((f) => exists(join(CERTS, f))));
  if (present.every(Boolean)) return;
  log(`generating a CA and server certificate in ${CERTS}`);
  await Deno.remove(CERTS, { recursive: true }).catch(ignoreNotFound);
  await Deno.mkdir(CERTS, { recursive: true });
  const at = (name: string) => join(CERTS, name);
  const store = (name: string) => [
    "-keystore",
    at(name),
    "-storetype",
    "PKCS12",
    "-storepass",
    STORE_PASSWORD,
  ];
  const key = ["-keyalg", "RSA", "-keysize", "2048", "-validity", "3650"];
  // A separate CA rather than one self-signed leaf: rustls (Deno's TLS)
  // rejects a CA certificate presented as the server's own.
  await keytool([
    "-genkeypair",
    "-alias",
    "ca",
    "-dname",
    "CN=kafka-dev-ca",
    "-ext",
    "bc:c",
    ...key,
    ...store("ca.p12"),
  ]);
  await keytool([
    "-exportcert",
    "-rfc",
    "-alias",
    "ca",
    "-file",
    at("ca.pem"),
    ...store("ca.p12"),
  ]);
  await keytool([
    "-genkeypair",
    "-alias",
    "localhost",
    "-dname",
    "CN=localhost",
    ...key,
    ...store("server.p12"),
  ]);
  await keytool([
    "-certreq",
    "-alias",
    "localhost",
    "-file",
    at("server.csr"),
    ...store("server.p12"),
  ]);
  await keytool([
    "-gencert",
    "-alias",
    "ca",
    "-infile",
    at("server.csr"),
    "-outfile",
    at("server.pem"),
    "-rfc",
    "-validity",
    "3650",
    "-ext",
    "SAN=DNS:localhost,IP:127.0.0.1",
    "-ext",
    "EKU=serverAuth",
    "-ext",
    "KU=digitalSignature,keyEncipherment",
    ...store("ca.p12"),
  ]);
  // The CA first, so keytool can chain the signed reply to it.
  for (const [alias, file] of [["ca", "ca.pem"], ["localhost", "server.pem"]]) {
    await keytool([
      "-importcert",
      "-noprompt",
      "-alias",
      alias,
      "-file",
      at(file),
      ...store("server.p12"),
    ]);
  }
  await keytool([
    "-importcert",
    "-noprompt",
    "-alias",
    "ca",
    "-file",
    at("ca.pem"),
    ...store("truststore.p12"),
  ]);
  // compose.yaml's image reads store passwords from a file.
  await Deno.writeTextFile(at("keystore.password"), STORE_PASSWORD);
  // The client's key and request by openssl (keytool cannot write a PEM
  // key), signed by the CA with keytool.
  await run("openssl", [
    "req",
    "-new",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    `/CN=${CLIENT_CERT_CN}`,
    "-keyout",
    at("client-key.pem"),
    "-out",
    at("client.csr"),
  ]);
  await keytool([
    "-gencert",
    "-alias",
    "ca",
    "-infile",
    at("client.csr"),
    "-outfile",
    at("client.pem"),
    "-rfc",
    "-validity",
    "3650",
    "-ext",
    "EKU=clientAuth",
    "-ext",
    "KU=digitalSignature,keyEncipherment",
    ...store("ca.p12"),
  ]);
}

async function keytool(args: string[]): Promise<void> {
  await run(jdkTool("keytool"), args);
}

// ---------------------------------------------------------------------------
// Kerberos KDC

const KDC_START_TIMEOUT_MS = 60_000;
/** The KDC's command line names its class and folder: `Kdc <KERBEROS_DIR> `. */
const KDC_COMMAND = new RegExp(`\\bKdc\\s+${escapeRegExp(KERBEROS_DIR)}\\s`);

/**
 * Makes sure the KDC runs and has written krb5.conf and the keytabs,
 * starting one (fetching Kerby and compiling Kdc.java on first use) when
 * none does; resolves with its pid.
 */
async function ensureKdc(): Promise<number> {
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
async function kdcReady(): Promise<boolean> {
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
async function findKdc(): Promise<number | undefined> {
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
async function kdcState(pid: number): Promise<"running" | "exiting" | "gone"> {
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
async function stopKdc(how: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
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

async function waitPortFree(port: number, what: string): Promise<void> {
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
 * Fetches Kerby's jars with Maven once, and compiles Kdc.java when it
 * changed; resolves with the KDC's class path.
 */
async function buildKdc(): Promise<string> {
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

/**
 * Compiles one Java source into `classes` against `classpath` whenever the
 * source is newer than its class (a single-file source launch would
 * compile it on every start). A failed compile leaves the old classes.
 */
async function compileJava(
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
 * The broker's client telemetry receiver, compiled against its jars into
 * `.kafka/<version>/telemetry-classes`, which the broker's class path names.
 */
function buildTelemetryReceiver(version: string): Promise<void> {
  const p = paths(version);
  return compileJava(TELEMETRY_SOURCE, p.telemetryClasses, join(p.libs, "*"));
}

// ---------------------------------------------------------------------------
// Configuration

async function writeConfig(version: string): Promise<void> {
  const p = paths(version);
  await Deno.mkdir(p.logs, { recursive: true });
  await Deno.mkdir(p.data, { recursive: true });
  await Deno.writeTextFile(p.serverProperties, serverProperties(version));
  const legacy = isLegacy(version);
  await Deno.writeTextFile(
    p.logConfig,
    legacy ? log4jBroker(p.logs) : log4j2Broker(),
  );
  await Deno.writeTextFile(
    p.toolsLogConfig,
    legacy ? log4jTools() : log4j2Tools(),
  );
}

function serverProperties(version: string): string {
  const p = paths(version);
  const listeners = (Object.keys(PORTS) as ListenerName[])
    .map((name) => `${name}://${address(name)}`);
  const advertised = CLIENT_LISTENERS
    .map((name) => `${name}://${address(name)}`);
  const protocolMap = (Object.keys(PORTS) as ListenerName[])
    .map((name) => `${name}:${PROTOCOLS[name] ?? name}`);
  const lines = [
    "# Written by tools/kafka.ts on every start; edit the script, not this file.",
    "process.roles=broker,controller",
    "node.id=1",
    // A static quorum works on 3.9 and 4.x alike and needs no --standalone.
    `controller.quorum.voters=1@${address("CONTROLLER")}`,
    "controller.listener.names=CONTROLLER",
    `listeners=${listeners.join(",")}`,
    // 3.x rejects the controller listener among advertised ones.
    `advertised.listeners=${advertised.join(",")}`,
    `listener.security.protocol.map=${protocolMap.join(",")}`,
    "inter.broker.listener.name=PLAINTEXT",
    `log.dirs=${p.data}`,
    "",
    `sasl.enabled.mechanisms=PLAIN,${SCRAM_MECHANISMS.join(",")},OAUTHBEARER`,
    // Client telemetry (KIP-714): a receiver, without which the broker
    // offers neither GetTelemetrySubscriptions nor PushTelemetry.
    "metric.reporters=TelemetryReceiver",
    `streamkafka.telemetry.dir=${TELEMETRY_DIR}`,
    // Delegation tokens (KIP-48): the key their HMACs are made with.
    "delegation.token.secret.key=streamkafka-test-token-key",
    ...SASL_LISTENERS.flatMap(jaasLines),
    ...gssapiLines(),
    "",
    "ssl.keystore.type=PKCS12",
    `ssl.keystore.location=${join(CERTS, "server.p12")}`,
    `ssl.keystore.password=${STORE_PASSWORD}`,
    `ssl.key.password=${STORE_PASSWORD}`,
    "ssl.truststore.type=PKCS12",
    `ssl.truststore.location=${join(CERTS, "truststore.p12")}`,
    `ssl.truststore.password=${STORE_PASSWORD}`,
    "ssl.client.auth=none",
    // The MTLS listener requires a certificate signed by the same CA; the
    // principal is its CN (User:streamkafka-client).
    "listener.name.mtls.ssl.client.auth=required",
    "ssl.principal.mapping.rules=RULE:^CN=([^,]*).*$/$1/,DEFAULT",
    `listener.name.reauth.connections.max.reauth.ms=${REAUTH_MS}`,
    "",
    // ACLs are on, so the admin Client's ACL calls work; every client the
    // tests run is a super user or meets no ACL, and is let through.
    "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "allow.everyone.if.no.acl.found=true",
    `super.users=User:ANONYMOUS;User:${SASL_USERNAME}`,
    "",
    "num.partitions=1",
    "default.replication.factor=1",
    "auto.create.topics.enable=true",
    "delete.topic.enable=true",
    "group.initial.rebalance.delay.ms=0",
    // Internal topics default to 3 replicas and 50 partitions; one of each
    // keeps the first group or transaction on a fresh broker quick.
    "offsets.topic.replication.factor=1",
    "offsets.topic.num.partitions=1",
    "transaction.state.log.replication.factor=1",
    "transaction.state.log.min.isr=1",
    "transaction.state.log.num.partitions=1",
    // A transaction past its timeout is aborted within a second (default
    // 10 s), so the transaction timeout test is quick.
    "transaction.abort.timed.out.transaction.cleanup.interval.ms=1000",
  ];
  if (!isLegacy(version)) {
    // KIP-848 groups keep the defaults (45 s sessions, 5 s heartbeats), but
    // may be given shorter ones per group (consumer.session.timeout.ms and
    // consumer.heartbeat.interval.ms), as the tests do. Before 4.0 the
    // consumer protocol is an early-access preview, left off as there by
    // default.
    lines.push(
      "group.consumer.min.session.timeout.ms=1000",
      "group.consumer.min.heartbeat.interval.ms=100",
      // Share groups likewise, and their record locks: the tests set 2 s
      // per group (share.record.lock.duration.ms) to see records return.
      "group.share.min.session.timeout.ms=1000",
      "group.share.min.heartbeat.interval.ms=100",
      "group.share.min.record.lock.duration.ms=1000",
      "share.coordinator.state.topic.replication.factor=1",
      "share.coordinator.state.topic.min.isr=1",
      "share.coordinator.state.topic.num.partitions=1",
    );
  }
  return lines.join("\n") + "\n";
}

/** One JAAS entry per listener and mechanism, so no JAAS file is needed. */
function jaasLines(listener: ListenerName): string[] {
  const prefix = `listener.name.${listener.toLowerCase()}`;
  const plain = "org.apache.kafka.common.security.plain.PlainLoginModule " +
    `required user_${SASL_USERNAME}="${SASL_PASSWORD}";`;
  const scram = "org.apache.kafka.common.security.scram.ScramLoginModule " +
    "required;";
  // OAUTHBEARER with Kafka's unsecured-JWT validator (tests only: it
  // accepts any token with alg "none" and a sub, iat and exp claim).
  const oauth =
    "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;";
  return [
    `${prefix}.oauthbearer.sasl.jaas.config=${oauth}`,
    `${prefix}.plain.sasl.jaas.config=${plain}`,
    ...SCRAM_MECHANISMS.map((m) =>
      `${prefix}.${m.toLowerCase()}.sasl.jaas.config=${scram}`
    ),
  ];
}

/**
 * The GSSAPI listener: Kerberos alone, with the broker's key from
 * KAFKA_KEYTAB. The service name is a listener setting, not a mechanism one
 * (only sasl.jaas.config and the callback and login classes take a
 * mechanism prefix). isInitiator=false: the broker only accepts contexts and
 * never asks the KDC for a ticket of its own, so it needs no TGT to renew,
 * and Java reads the keytab again for each context it accepts (seen: a KDC
 * restarted with new keys under a running broker works at once).
 */
function gssapiLines(): string[] {
  const prefix = "listener.name.gssapi";
  const krb5 = "com.sun.security.auth.module.Krb5LoginModule required " +
    "useKeyTab=true storeKey=true isInitiator=false " +
    `keyTab="${KAFKA_KEYTAB}" principal="${KAFKA_PRINCIPAL}";`;
  return [
    `${prefix}.sasl.enabled.mechanisms=GSSAPI`,
    `${prefix}.sasl.kerberos.service.name=${KERBEROS_SERVICE_NAME}`,
    `${prefix}.gssapi.sasl.jaas.config=${krb5}`,
  ];
}

function log4j2Broker(): string {
  return `# Written by tools/kafka.ts.
status = warn
# Kafka flushes and stops logging itself on shutdown; log4j's own hook only
# warns that it came too late.
shutdownHook = disable
appender.server.type = RollingFile
appender.server.name = server
appender.server.fileName = \${sys:kafka.logs.dir}/server.log
appender.server.filePattern = \${sys:kafka.logs.dir}/server.log.%i
appender.server.layout.type = PatternLayout
appender.server.layout.pattern = [%d] %p %m (%c)%n
appender.server.policies.type = Policies
appender.server.policies.size.type = SizeBasedTriggeringPolicy
appender.server.policies.size.size = 50MB
appender.server.strategy.type = DefaultRolloverStrategy
appender.server.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.server.ref = server
`;
}

function log4j2Tools(): string {
  return `# Written by tools/kafka.ts.
status = warn
appender.stderr.type = Console
appender.stderr.name = stderr
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stderr.ref = stderr
`;
}

function log4jBroker(logs: string): string {
  return `# Written by tools/kafka.ts.
log4j.rootLogger=INFO, server
log4j.appender.server=org.apache.log4j.RollingFileAppender
log4j.appender.server.File=${logs}/server.log
log4j.appender.server.MaxFileSize=50MB
log4j.appender.server.MaxBackupIndex=3
log4j.appender.server.layout=org.apache.log4j.PatternLayout
log4j.appender.server.layout.ConversionPattern=[%d] %p %m (%c)%n
`;
}

function log4jTools(): string {
  return `# Written by tools/kafka.ts.
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
`;
}

// ---------------------------------------------------------------------------
// Storage and the broker process

async function formatIfEmpty(version: string): Promise<void> {
  const p = paths(version);
  if (!(await isEmptyDir(p.data))) return;
  log(`formatting KRaft storage in ${p.data}`);
  const out = await runJava(version, [
    "kafka.tools.StorageTool",
    "random-uuid",
  ]);
  const clusterId = out.trim().split("\n").pop()!.trim();
  // SCRAM users can only be written here, while the metadata log is empty.
  const scram = SCRAM_MECHANISMS.flatMap((m) => [
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
function runJava(version: string, args: string[]): Promise<string> {
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

function logConfigFlag(version: string, file: string): string {
  return isLegacy(version)
    ? `-Dlog4j.configuration=file:${file}`
    : `-Dlog4j2.configurationFile=${file}`;
}

async function spawnBroker(version: string): Promise<number> {
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
 * Starts `command` so that it outlives this script, its output appended to
 * `logFile`; resolves with its pid. A new session (setsid, where it exists)
 * and nohup detach it; `&` in a shell without job control keeps it out of a
 * new process group, so setsid execs instead of forking and $! is the
 * command's own pid.
 */
async function spawnDetached(
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

/**
 * Why the running broker of `version` cannot be reused as it is, if it
 * cannot: its server.properties, written when it started, lacks a listener
 * this script now adds.
 */
async function staleBroker(version: string): Promise<string | undefined> {
  const props = await readIfExists(paths(version).serverProperties) ?? "";
  if (!props.includes(`GSSAPI://${address("GSSAPI")}`)) {
    return "it has no GSSAPI listener (started by an older tools/kafka.ts)";
  }
  if (!props.includes("metric.reporters=TelemetryReceiver")) {
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
async function waitReady(
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

async function isReady(version: string, mark?: LogMark): Promise<boolean> {
  for (const name of CLIENT_LISTENERS) {
    if (!(await portOpen(PORTS[name]))) return false;
  }
  if (mark === undefined) return true;
  const file = join(paths(version).logs, "server.log");
  return (await readLogSince(file, mark["server.log"] ?? 0))
    .includes("Kafka Server started");
}

/** SIGTERM (SIGKILL after STOP_TIMEOUT_MS), then `waitStopped`. */
async function stopProcess(pid: number, what: string): Promise<void> {
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
async function waitStopped(
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
async function busyPorts(): Promise<string[]> {
  const busy: string[] = [];
  for (const name of Object.keys(PORTS) as ListenerName[]) {
    if (await portOpen(PORTS[name])) busy.push(`${PORTS[name]} (${name})`);
  }
  return busy;
}

function signal(pid: number, name: Deno.Signal): void {
  try {
    Deno.kill(pid, name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/**
 * The broker this script started last, alive or not. When the run files are
 * missing or name a dead process while a broker started from this checkout's
 * .kafka still runs (its run files lost, e.g. by a start that gave up too
 * early), that broker is adopted: recorded again and returned.
 */
async function readRunFiles(): Promise<Running | undefined> {
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

async function readPidFiles(): Promise<Running | undefined> {
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

/**
 * A live JVM running kafka.Kafka on a server.properties under HOME (so one
 * this script started, from this checkout), found through /proc or `ps`.
 */
/** `findOrphan()`, asked again every POLL_MS for up to `ms`. */
async function findOrphanWithin(ms: number): Promise<Running | undefined> {
  const deadline = Date.now() + ms;
  while (true) {
    const orphan = await findOrphan();
    if (orphan !== undefined || Date.now() >= deadline) return orphan;
    await sleep(POLL_MS);
  }
}

async function findOrphan(): Promise<Running | undefined> {
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

/** Every process as [pid, command line]. */
async function processList(): Promise<[number, string][]> {
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

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

async function removeRunFiles(): Promise<void> {
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
async function brokerState(
  pid: number,
): Promise<"running" | "exiting" | "gone"> {
  const info = await processInfo(pid);
  if (info === undefined) return "gone";
  if (info.exiting) return "exiting";
  const ours = info.command.trim() === "" ||
    info.command.includes("kafka.Kafka");
  return ours ? "running" : "gone";
}

/** PF_EXITING in /proc/<pid>/stat's flags: the process is in exit(). */
const PF_EXITING = 0x4;

async function processInfo(
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

const LOG_FILES = ["server.log", "stdout.log"];

/** Log sizes before a start, so a failure report shows only that start. */
type LogMark = Record<string, number>;

async function markLogs(version: string): Promise<LogMark> {
  const mark: LogMark = {};
  for (const name of LOG_FILES) {
    const info = await Deno.stat(join(paths(version).logs, name))
      .catch(() => undefined);
    mark[name] = info?.size ?? 0;
  }
  return mark;
}

/** A log's text after `offset`, or all of it when it rolled over since. */
async function readLogSince(file: string, offset: number): Promise<string> {
  const bytes = await Deno.readFile(file).catch(() => new Uint8Array());
  const start = offset <= bytes.length ? offset : 0;
  return new TextDecoder().decode(bytes.subarray(start));
}

/** The errors (their first lines and causes) and the last lines of each log. */
async function logReport(version: string, mark: LogMark): Promise<string> {
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

// ---------------------------------------------------------------------------
// Small helpers

function requestedVersion(): string {
  return Deno.env.get("KAFKA_VERSION") || DEFAULT_KAFKA_VERSION;
}

function address(name: ListenerName): string {
  return `${HOST}:${PORTS[name]}`;
}

/** Honour JAVA_HOME when set, as Kafka's own scripts do. */
function jdkTool(name: string): string {
  const home = Deno.env.get("JAVA_HOME");
  return home ? join(home, "bin", name) : name;
}

async function portOpen(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: HOST, port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/** Runs a command to completion; its stdout, or an error carrying its output. */
async function run(
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
async function withLock<T>(action: () => Promise<T>): Promise<T> {
  await Deno.mkdir(HOME, { recursive: true });
  const file = await Deno.open(LOCK_FILE, { create: true, write: true });
  try {
    await file.lock(true);
    return await action();
  } finally {
    file.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function isEmptyDir(path: string): Promise<boolean> {
  try {
    for await (const _ of Deno.readDir(path)) return false;
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return true;
    throw error;
  }
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

function ignoreNotFound(error: unknown): void {
  if (!(error instanceof Deno.errors.NotFound)) throw error;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function since(start: number): string {
  return `${((Date.now() - start) / 1000).toFixed(1)} s`;
}

function log(message: string): void {
  console.error(`[kafka] ${message}`);
}

/** Bun defines no `Deno`; this script's own commands need Deno's APIs. */
function isDeno(): boolean {
  return "Deno" in globalThis && !("Bun" in globalThis);
}

/**
 * Runs this script with Deno (`$DENO_BIN`, else `deno` on PATH), for callers
 * in another runtime; resolves with what it printed on stdout, trimmed.
 */
function viaDeno(args: string[]): Promise<string> {
  const deno = process.env.DENO_BIN || "deno";
  const script = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const child = spawn(deno, ["run", "-A", script, ...args], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let stdout = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => stdout += chunk);
    child.on("error", (error: Error) => {
      reject(
        new Error(
          `tools/kafka.ts ${args[0]} needs Deno (${deno}): ${error.message}`,
        ),
      );
    });
    child.on("close", (code: number | null) => {
      if (code === 0) resolve(stdout.trim());
      else reject(new Error(`tools/kafka.ts ${args[0]} failed (exit ${code})`));
    });
  });
}

// ---------------------------------------------------------------------------
// CLI

const USAGE =
  "usage: deno run -A tools/kafka.ts up [--brokers=3] | down [--wipe] | kill | " +
  "restart | kill-kdc | status | env | jars [version] | specs [version]";

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case "up": {
      const count = rest.find((a) => a.startsWith("--brokers="));
      if (count !== undefined && count !== "--brokers=1") {
        if (count !== "--brokers=3") {
          throw new Error(`${count}: the cluster has 1 or 3 brokers`);
        }
        // The three-node cluster of tools/cluster.ts, on its own ports.
        const { clusterUp } = await import("./cluster.ts");
        await clusterUp();
        return 0;
      }
      await ensureBroker();
      return 0;
    }
    case "down":
      return await withLock(() => down(rest.includes("--wipe")));
    case "kill":
      console.log(await killBroker());
      return 0;
    case "restart":
      await restartBroker();
      return 0;
    case "kill-kdc":
      console.log(await killKdc());
      return 0;
    case "jars":
      console.log(await ensureJars(rest[0]));
      return 0;
    case "specs":
      console.log(await ensureSpecs(rest[0]));
      return 0;
    case "status":
      return await status();
    case "env":
      return printEnv();
    default:
      console.error(USAGE);
      return 2;
  }
}

if (import.meta.main) {
  try {
    Deno.exitCode = await main(Deno.args);
  } catch (error) {
    log(error instanceof Error ? error.message : String(error));
    Deno.exitCode = 1;
  }
}
