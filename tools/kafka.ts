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
 * The parts live in tools/kafka/: settings (versions, ports, files), jars
 * (and specs), certs, kdc, config (server.properties), broker (the JVM) and
 * commands.
 *
 * Other scripts import `ensureBroker()` to get a broker before tests run, and
 * `killBroker()` / `restartBroker()` for fault tests. Under another runtime
 * than Deno (Bun runs the tests too) these run this script with Deno
 * (`$DENO_BIN`, else `deno` on PATH).
 */

import { existsSync, readFileSync } from "node:fs";
import { brokerState, readRunFiles } from "./kafka/broker.ts";
import { down, kill, status, up } from "./kafka/commands.ts";
import { extractSpecs, fetchJars } from "./kafka/jars.ts";
import { findKdc, stopKdc } from "./kafka/kdc.ts";
import {
  address,
  ALICE_KEYTAB,
  CA_PEM,
  CLIENT_CERT_PEM,
  CLIENT_KEY_PEM,
  DEFAULT_KAFKA_VERSION,
  KDC_ADDRESS,
  KERBEROS_REALM,
  KRB5_CONF,
  paths,
  SASL_PASSWORD,
  SASL_USERNAME,
} from "./kafka/settings.ts";
import { isDeno, log, viaDeno, withLock } from "./kafka/system.ts";

export {
  ALICE_KEYTAB,
  ALICE_PRINCIPAL,
  BOB_CCACHE,
  BOB_PASSWORD,
  BOB_PRINCIPAL,
  CA_PEM,
  CLIENT_CERT_CN,
  CLIENT_CERT_PEM,
  CLIENT_KEY_PEM,
  DEFAULT_KAFKA_VERSION,
  HOST,
  KAFKA_KEYTAB,
  KAFKA_PRINCIPAL,
  KDC_ADDRESS,
  KDC_PORT,
  KERBEROS_DIR,
  KERBEROS_REALM,
  KERBEROS_SERVICE_NAME,
  KRB5_CONF,
  PORTS,
  REAUTH_MS,
  SASL_PASSWORD,
  SASL_USERNAME,
  TELEMETRY_DIR,
} from "./kafka/settings.ts";

/** This script, which `viaDeno` runs under Deno for other runtimes. */
const SELF = new URL(import.meta.url);

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
    await viaDeno(SELF, ["up"]);
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
  if (!isDeno()) return Number(await viaDeno(SELF, ["kill"]));
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
  if (!isDeno()) return Number(await viaDeno(SELF, ["kill-kdc"]));
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
    await viaDeno(SELF, ["restart"]);
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
  if (!isDeno()) return await viaDeno(SELF, ["jars", version]);
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
  if (!isDeno()) return await viaDeno(SELF, ["specs", version]);
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

function printEnv(): number {
  for (const [name, value] of Object.entries(brokerEnv())) {
    console.log(`export ${name}='${value}'`);
  }
  return 0;
}

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
