/**
 * Where the development broker lives and how it is reached: its version,
 * listeners and ports, credentials, and the files under `.kafka/`.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";

/**
 * Newest release on Maven Central when this was written (checked with mvn);
 * also the version whose protocol specs lib/protocol/messages is generated
 * from.
 */
export const DEFAULT_KAFKA_VERSION = "4.4.0";

/** The address every listener binds. */
export const HOST = "127.0.0.1";

/**
 * The PLAINTEXT port; the other listeners (and the KDC, at BASE - 3) sit
 * next to it. KAFKA_PORT_BASE moves them all, e.g. to run an old broker
 * beside the usual one.
 */
const BASE = Number(process.env.KAFKA_PORT_BASE || 9092);

/** The broker's ports, by listener name. */
export const PORTS = {
  PLAINTEXT: BASE,
  CONTROLLER: BASE + 1,
  SASL_PLAINTEXT: BASE + 2,
  SSL: BASE + 3,
  SASL_SSL: BASE + 4,
  /** SSL that requires a client certificate (mutual TLS). */
  MTLS: BASE + 5,
  /** SASL_PLAINTEXT whose sessions last REAUTH_MS (KIP-368). */
  REAUTH: BASE + 6,
  /** SASL_PLAINTEXT with GSSAPI (Kerberos) only, against the KDC at KDC_ADDRESS. */
  GSSAPI: BASE + 7,
};

export type ListenerName = keyof typeof PORTS;

export const CLIENT_LISTENERS: ListenerName[] = [
  "PLAINTEXT",
  "SASL_PLAINTEXT",
  "SSL",
  "SASL_SSL",
  "MTLS",
  "REAUTH",
  "GSSAPI",
];

export const SASL_LISTENERS: ListenerName[] = [
  "SASL_PLAINTEXT",
  "SASL_SSL",
  "REAUTH",
];

/** The security protocol of each listener (its name, unless said here). */
export const PROTOCOLS: Partial<Record<ListenerName, string>> = {
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

export const SCRAM_MECHANISMS = ["SCRAM-SHA-256", "SCRAM-SHA-512"];

/** The Kerberos realm of the KDC that the GSSAPI listener trusts. */
export const KERBEROS_REALM = "STREAMKAFKA.TEST";

/** The KDC's TCP port (it has no UDP one); not a broker listener. */
export const KDC_PORT = BASE - 3;

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
export const KERBY_VERSION = "2.0.3";

// Development-only secret for the PKCS12 stores; nothing here protects real data.
export const STORE_PASSWORD = "kafka-dev-secret";

export const START_TIMEOUT_MS = 120_000;

/** For a clean shutdown, and again for a dead broker's ports to close. */
export const STOP_TIMEOUT_MS = 30_000;

export const POLL_MS = 250;

/**
 * How long a start whose recorded pid is gone looks for the JVM under
 * another pid (setsid's fork) before calling the start failed.
 */
export const ORPHAN_GRACE_MS = 5_000;

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export const HOME = join(ROOT, ".kafka");

// One CA for every version, so the PEM that tests read never goes stale when
// KAFKA_VERSION changes.
export const CERTS = join(HOME, "certs");

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

export const KDC_READY_FILE = join(KERBEROS_DIR, "ready");

export const KDC_LOG = join(KERBEROS_DIR, "kdc.log");

export const KDC_PID_FILE = join(HOME, "kdc.pid");

export const KERBY = join(HOME, `kerby-${KERBY_VERSION}`);

export const KDC_SOURCE = join(ROOT, "tools", "kerberos", "Kdc.java");

/**
 * Where the broker's client telemetry receiver (tools/telemetry/
 * TelemetryReceiver.java) writes each push it receives, a file per client
 * instance: `<instance id>.jsonl`, a JSON line per push.
 */
export const TELEMETRY_DIR = join(HOME, "telemetry");

export const TELEMETRY_SOURCE = join(
  ROOT,
  "tools",
  "telemetry",
  "TelemetryReceiver.java",
);

export const PID_FILE = join(HOME, "broker.pid");

export const VERSION_FILE = join(HOME, "broker.version");

export const LOCK_FILE = join(HOME, "lock");

export interface Running {
  pid: number;
  version: string;
}

export interface Paths {
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

export function paths(version: string): Paths {
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

/** 2.x and 3.x brokers log through log4j 1 (reload4j); 4.x through log4j 2. */
export function isLegacy(version: string): boolean {
  return !atLeast(version, "4.0");
}

/** True when `version` (e.g. "3.3.2") is `min` (e.g. "3.5") or later. */
export function atLeast(version: string, min: string): boolean {
  const a = version.split(".").map((x) => parseInt(x, 10) || 0);
  const b = min.split(".").map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

/** Client telemetry receivers (KIP-714) need Kafka 3.7. */
export function hasTelemetry(version: string): boolean {
  return atLeast(version, "3.7");
}

/** SCRAM users in KRaft (StorageTool --add-scram, AlterUserScramCredentials): 3.5. */
export function hasKraftScram(version: string): boolean {
  return atLeast(version, "3.5");
}

export function requestedVersion(): string {
  return Deno.env.get("KAFKA_VERSION") || DEFAULT_KAFKA_VERSION;
}

export function address(name: ListenerName): string {
  return `${HOST}:${PORTS[name]}`;
}
