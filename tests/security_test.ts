/** TLS and SASL against the broker's SSL, SASL_PLAINTEXT and SASL_SSL listeners. */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import process from "node:process";
import { describe, test } from "node:test";
import { inspect } from "node:util";
import nodeTls from "node:tls";
import type { AddressInfo } from "node:net";
import {
  Client,
  Cluster,
  dial,
  Dialer,
  dialLeader,
  KafkaError,
  type SaslMechanism,
} from "../mod.ts";
import { uniqueTopic } from "./_helpers.ts";

const env = process.env;
const SSL = env.KAFKA_SSL_BROKERS ?? "127.0.0.1:9095";
const SASL = env.KAFKA_SASL_BROKERS ?? "127.0.0.1:9094";
const SASL_SSL = env.KAFKA_SASL_SSL_BROKERS ?? "127.0.0.1:9096";
const caPath = env.KAFKA_CA_PEM ??
  new URL("../.kafka/certs/ca.pem", import.meta.url).pathname;
const user = { username: "alice", password: "alice-secret" };
const mechanisms: SaslMechanism[] = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

describe("security", () => {
  const ca = readFileSync(caPath, "utf8");

  test("TLS with the broker's CA: produce and read back", async () => {
    const topic = uniqueTopic("tls");
    const conn = await dialLeader(SSL, topic, 0, { tls: { ca } });
    try {
      await conn.writeMessages({ value: "secret" });
      await conn.seek(0);
      const batch = await conn.readBatch({ maxWait: 500 });
      const values = [];
      for await (const m of batch) {
        values.push(new TextDecoder().decode(m.value!));
      }
      assert.deepEqual(values, ["secret"]);
    } finally {
      conn.close();
    }
  });

  test("TLS without trusting the CA fails with a clear error", async () => {
    await assert.rejects(dial(SSL, { tls: true, timeout: 5000 }), (error) => {
      assert.match(
        (error as Error).message,
        /Cannot connect to 127\.0\.0\.1:9095/,
      );
      return true;
    });
  });

  test("printed or serialised, a Client, Cluster, Dialer or Conn shows no password or key", async () => {
    const secret = "alice-secret";
    const key = readFileSync(
      new URL("../.kafka/certs/client-key.pem", import.meta.url),
      "utf8",
    );
    const keyBody = key.split("\n")[1];
    const sasl = { mechanism: "SCRAM-SHA-512" as const, ...user };
    const tls = { ca, cert: "CERT", key };
    const cluster = new Cluster({ brokers: [SASL_SSL], tls, sasl });
    const client = new Client({
      brokers: [SASL_SSL],
      transport: { tls: { ca }, sasl },
    });
    const dialer = new Dialer({ tls, sasl });
    const conn = await dial(SASL_SSL, { tls: { ca }, sasl });
    const shows = (value: unknown): string[] => {
      const runtime = globalThis as {
        Deno?: { inspect(v: unknown, o?: unknown): string };
        Bun?: { inspect(v: unknown): string };
      };
      return [
        inspect(value, { depth: 10 }),
        JSON.stringify(value),
        String(runtime.Deno?.inspect(value, { depth: 10 }) ?? ""),
        String(runtime.Bun?.inspect(value) ?? ""),
      ];
    };
    try {
      for (const value of [cluster, client, dialer, conn, { nested: client }]) {
        for (const text of shows(value)) {
          assert.ok(!text.includes(secret), text);
          assert.ok(!text.includes(keyBody), text);
        }
      }
      assert.deepEqual(JSON.parse(JSON.stringify(client)), {
        cluster: {
          brokers: [SASL_SSL],
          clientId: "streamkafka",
          tls: "on, own CA",
          sasl: "SCRAM-SHA-512 as alice",
          closed: false,
        },
      });
      assert.equal(
        inspect(dialer).replace(/\s+/g, " "),
        "Dialer { clientId: 'streamkafka', tls: 'mutual, own CA', sasl: 'SCRAM-SHA-512 as alice' }",
      );
      assert.match(inspect(conn), /^Conn \{ address: '127\.0\.0\.1:9096'/);
    } finally {
      conn.close();
      await client.close();
      await cluster.close();
    }
  });

  test("a broker whose certificate is a CA certificate: Deno's refusal is explained", async () => {
    // The test CA's own certificate and key (CA:TRUE, no host names).
    const server = nodeTls.createServer({
      pfx: readFileSync(caPath.replace(/ca\.pem$/, "ca.p12")),
      passphrase: "kafka-dev-secret",
    }, (socket) => socket.on("error", () => {}));
    await new Promise<void>((resolve) =>
      server.listen(0, "127.0.0.1", resolve)
    );
    const { port } = server.address() as AddressInfo;
    try {
      await assert.rejects(
        dial(`127.0.0.1:${port}`, { tls: { ca }, timeout: 5000 }),
        (error: Error) => {
          assert.match(
            error.message,
            "Deno" in globalThis
              ? /: the TLS handshake failed: .*CaUsedAsEndEntity.*\. The broker's certificate is a CA certificate \(self-signed with CA:TRUE, as "openssl req -x509" makes by default\), which Deno refuses as a broker's own certificate: sign the broker's certificate with a CA and give that CA as "tls\.ca"$/
              // Node.js and Bun take it, and find no name of the host in it.
              : /: the TLS handshake failed: .*the certificate must name the host you dial/,
          );
          return true;
        },
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test("tls.servername is the name the broker's certificate is verified against", async () => {
    // The broker's certificate names localhost and 127.0.0.1.
    const conn = await dial(SSL, { tls: { ca, servername: "localhost" } });
    conn.close();
    await assert.rejects(
      dial(SSL, {
        tls: { ca, servername: "kafka.example" },
        timeout: 5000,
      }),
      (error) => {
        assert.match(
          (error as Error).message,
          /^Cannot connect to 127\.0\.0\.1:9095: the TLS handshake failed: .*the certificate must name the host you dial \(or "tls\.servername"\)$/,
        );
        return true;
      },
    );
  });

  for (const mechanism of mechanisms) {
    test(`SASL ${mechanism} over plaintext and over TLS`, async () => {
      for (
        const [address, tls] of [[SASL, undefined], [SASL_SSL, { ca }]] as const
      ) {
        const conn = await dial(address, { sasl: { mechanism, ...user }, tls });
        try {
          assert.ok((await conn.brokers()).length >= 1);
        } finally {
          conn.close();
        }
      }
    });

    test(`SASL ${mechanism} with a wrong password is refused`, async () => {
      await assert.rejects(
        dial(SASL, {
          sasl: { mechanism, username: "alice", password: "nope" },
        }),
        (error) => {
          assert.ok(
            error instanceof KafkaError || /SCRAM/.test(String(error)),
            String(error),
          );
          assert.match(String(error), /SASL_AUTHENTICATION_FAILED|SCRAM/);
          return true;
        },
      );
    });
  }

  test("an unknown SASL mechanism is rejected before connecting", async () => {
    await assert.rejects(
      dial(SASL, {
        sasl: { mechanism: "GSSAPI" as SaslMechanism, ...user },
      }),
      /"mechanism" must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, got "GSSAPI"/,
    );
  });
});
