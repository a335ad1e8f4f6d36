/**
 * The commands of tools/kafka.ts that act on the broker: `up` (with its
 * KDC), `down`, `kill` and `status`.
 *
 * @module
 */

import { Client } from "../../lib/admin/client.ts";
import {
  brokerState,
  buildTelemetryReceiver,
  formatIfEmpty,
  markLogs,
  readRunFiles,
  removeRunFiles,
  spawnBroker,
  staleBroker,
  stopProcess,
  waitReady,
  waitStopped,
} from "./broker.ts";
import { ensureCerts } from "./certs.ts";
import { writeConfig } from "./config.ts";
import { fetchJars } from "./jars.ts";
import { ensureKdc, findKdc, stopKdc } from "./kdc.ts";
import {
  address,
  CLIENT_LISTENERS,
  hasKraftScram,
  KDC_ADDRESS,
  KDC_PORT,
  KERBEROS_REALM,
  type ListenerName,
  paths,
  PORTS,
  requestedVersion,
  SASL_PASSWORD,
  SASL_USERNAME,
  SCRAM_MECHANISMS,
} from "./settings.ts";
import {
  ignoreNotFound,
  log,
  portOpen,
  signal,
  since,
  sleep,
} from "./system.ts";

export async function up(version = requestedVersion()): Promise<void> {
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
    // Probably `docker compose up`: used as it is, but it is not the broker
    // the test suite is written for.
    log(`reusing the broker already on ${address("PLAINTEXT")} (not ours)`);
    const missing: string[] = [];
    for (const name of CLIENT_LISTENERS) {
      if (!(await portOpen(PORTS[name]))) {
        missing.push(`${name} (${PORTS[name]})`);
      }
    }
    log(
      `it lacks ${missing.length > 0 ? missing.join(", ") : "no listener"}; ` +
        "the tests of missing listeners, and those that kill and restart " +
        "the broker, need the one this script starts: stop that broker " +
        "(docker compose down) and run this again",
    );
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
  // Before 3.5 a KRaft broker keeps no SCRAM users: SCRAM logins fail there.
  if (hasKraftScram(version)) await ensureScramUser();
  log(`Kafka ${version} ready (pid ${pid}) in ${since(started)}`);
}

/**
 * Writes the SASL user's SCRAM credentials again. A Kafka 4.4 broker
 * restarted after a kill -9 was seen to come back without the user's
 * SCRAM-SHA-256 credential once another user's SCRAM-SHA-256 credential had
 * been deleted (the admin tests do that); the tests need it on every start.
 */
export async function ensureScramUser(): Promise<void> {
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

export async function down(wipe: boolean): Promise<number> {
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
export async function kill(): Promise<number> {
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

export async function status(): Promise<number> {
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
