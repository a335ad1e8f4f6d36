/**
 * Run as its own process by tests/bad_peers_test.ts: dials a peer that
 * never answers, with a 500 ms timeout, prints how the dial failed and
 * returns. The process must then exit by itself: a connect or TLS handshake
 * left under way after the timeout kept it alive (until the system gave up
 * on the connect, or for good on a TLS peer that never answers).
 *
 * Usage: <runtime> tests/scripts/dial_exit.ts <host:port> <tcp|tls|mtls>
 *   [ca.pem client.pem client-key.pem]
 */

import { readFileSync } from "node:fs";
import process from "node:process";
import { dial, type TlsOptions } from "../../mod.ts";

const [address, mode, ca, cert, key] = process.argv.slice(2);
const tls: TlsOptions | undefined = mode === "tcp" ? undefined : {
  ca: readFileSync(ca, "utf8"),
  ...(mode === "mtls"
    ? { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") }
    : {}),
};
const started = Date.now();
try {
  const conn = await dial(address, { tls, timeout: 500 });
  conn.close();
  console.log("connected");
} catch (error) {
  console.log(`failed after ${Date.now() - started} ms: ${error}`);
}
