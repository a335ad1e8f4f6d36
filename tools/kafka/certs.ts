/**
 * The development CA, the broker's certificate and stores, and a client
 * certificate for the MTLS listener.
 *
 * @module
 */

import { join } from "node:path";
import { CERTS, CLIENT_CERT_CN, STORE_PASSWORD } from "./settings.ts";
import { exists, ignoreNotFound, jdkTool, log, run } from "./system.ts";

/** A CA, a server certificate it signs, and the stores Kafka reads. */
export async function ensureCerts(): Promise<void> {
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

export async function keytool(args: string[]): Promise<void> {
  await run(jdkTool("keytool"), args);
}
