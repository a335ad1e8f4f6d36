/**
 * Mutual TLS against the broker's MTLS listener (SSL with
 * `ssl.client.auth=required`, the principal taken from the certificate's
 * CN): produce and consume with the client certificate, the principal shown
 * by an ACL that denies it, and the named failures of a missing, half-given
 * or refused certificate.
 */

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { after, before, describe, test } from "node:test";
import {
  Client,
  ConnectionError,
  dial,
  ErrorCode,
  KafkaError,
  type TlsOptions,
  Writer,
} from "../mod.ts";
import {
  CA_PEM,
  CLIENT_CERT_CN,
  CLIENT_CERT_PEM,
  CLIENT_KEY_PEM,
  PORTS,
} from "../tools/kafka.ts";
import {
  BROKER,
  noUnhandledRejections,
  readPartition,
  roundTrip,
  sleep,
  uniqueTopic,
} from "./_helpers.ts";

const env = process.env;
const MTLS = env.KAFKA_MTLS_BROKERS?.split(",")[0] ??
  `127.0.0.1:${PORTS.MTLS}`;
const PRINCIPAL = `User:${CLIENT_CERT_CN}`;
const text = new TextDecoder();

const NO_CERTIFICATE =
  /the broker requires a client certificate \(mutual TLS\): set tls\.cert and tls\.key/;

/** The KafkaError somewhere in `error`'s per-message errors or causes. */
function kafkaErrorIn(error: unknown): KafkaError | undefined {
  const seen = new Set<unknown>();
  const queue = [error];
  while (queue.length > 0) {
    const next = queue.shift();
    if (next === null || next === undefined || seen.has(next)) continue;
    seen.add(next);
    if (next instanceof KafkaError) return next;
    const { errors, cause } = next as { errors?: unknown[]; cause?: unknown };
    if (Array.isArray(errors)) queue.push(...errors);
    queue.push(cause);
  }
  return undefined;
}

describe("mutual TLS", () => {
  let ca: string;
  let tls: TlsOptions;
  const admin = new Client({ brokers: [BROKER], timeout: 20_000 });
  const denied = uniqueTopic("mtls-denied");

  before(() => {
    ca = readFileSync(env.KAFKA_CA_PEM ?? CA_PEM, "utf8");
    tls = {
      ca,
      cert: readFileSync(env.KAFKA_CLIENT_CERT_PEM ?? CLIENT_CERT_PEM, "utf8"),
      key: readFileSync(env.KAFKA_CLIENT_KEY_PEM ?? CLIENT_KEY_PEM, "utf8"),
    };
  });

  after(async () => {
    // The ACL must not outlive the test, even when it failed half way.
    await admin.deleteAcls([{
      resourceType: "topic",
      resourceName: denied,
      principal: PRINCIPAL,
    }]).catch(() => {});
    await admin.close();
  });

  test("dial with the client certificate", async () => {
    await noUnhandledRejections(async () => {
      const conn = await dial(MTLS, { tls });
      try {
        assert.ok((await conn.brokers()).length >= 1);
      } finally {
        conn.close();
      }
    });
  });

  test("tls.servername with a client certificate: verified against it (Node.js, Bun); refused on Deno, naming it", async () => {
    await noUnhandledRejections(async () => {
      const named = () =>
        dial(MTLS, { tls: { ...tls, servername: "localhost" } });
      const wrong = () =>
        dial(MTLS, {
          tls: { ...tls, servername: "kafka.example" },
          timeout: 5000,
        });
      if ("Deno" in globalThis) {
        for (
          const [dialing, name] of [[named, "localhost"], [
            wrong,
            "kafka.example",
          ]] as const
        ) {
          await assert.rejects(dialing(), {
            message:
              `Cannot connect to 127.0.0.1:9097: "tls.servername" ("${name}") with a client certificate is not supported on Deno, whose TLS with a client certificate verifies the broker's certificate against the host dialled; dial a host name the broker's certificate names instead`,
          });
        }
        // The host dialled as the name: nothing else to verify against.
        const same = await dial(MTLS, {
          tls: { ...tls, servername: "127.0.0.1" },
        });
        same.close();
        return;
      }
      (await named()).close();
      await assert.rejects(
        wrong(),
        /certificate must name the host you dial \(or "tls\.servername"\)$/,
      );
    });
  });

  test("a Writer and a Reader produce and consume over mutual TLS", async () => {
    await noUnhandledRejections(async () => {
      const values = await roundTrip(MTLS, { tls }, "mtls");
      assert.deepEqual(values, ["one", "two", "three"]);
    });
  });

  test("the principal is the certificate's CN: an ACL denying it applies over MTLS only", async () => {
    await noUnhandledRejections(async () => {
      // The topic exists before the ACL, written over PLAINTEXT (ANONYMOUS).
      const plain = new Writer({
        brokers: [BROKER],
        topic: denied,
        allowAutoTopicCreation: true,
      });
      try {
        await plain.writeMessages({ value: "before" });
        const [created] = await admin.createAcls([{
          resourceType: "topic",
          resourceName: denied,
          principal: PRINCIPAL,
          operation: "write",
          permission: "deny",
        }]);
        assert.equal(created.error, null);

        // The broker applies the ACL a moment after accepting it.
        let refusal: unknown;
        for (const deadline = Date.now() + 15_000; Date.now() < deadline;) {
          const secure = new Writer({
            brokers: [MTLS],
            topic: denied,
            maxAttempts: 1,
            transport: { tls },
          });
          try {
            await secure.writeMessages({ value: "over mtls" });
          } catch (error) {
            refusal = error;
            break;
          } finally {
            await secure.close();
          }
          await sleep(200);
        }
        assert.ok(
          refusal !== undefined,
          "the write over MTLS was never denied",
        );
        const error = kafkaErrorIn(refusal);
        assert.ok(error, String(refusal));
        assert.equal(
          error.code,
          ErrorCode.TOPIC_AUTHORIZATION_FAILED,
          String(refusal),
        );

        // The same write over PLAINTEXT (another principal) goes through.
        await plain.writeMessages({ value: "after" });
      } finally {
        await plain.close();
      }
      const values = (await readPartition(denied, 0))
        .map((m) => text.decode(m.value!));
      assert.equal(values[0], "before");
      assert.equal(values.at(-1), "after");
    });
  });

  test("without a client certificate the connection fails, saying why", async () => {
    await noUnhandledRejections(async () => {
      await assert.rejects(
        dial(MTLS, { tls: { ca }, timeout: 10_000 }),
        (error) => {
          assert.ok(error instanceof ConnectionError, String(error));
          assert.match(error.message, new RegExp(`^Cannot connect to ${MTLS}`));
          assert.match(error.message, NO_CERTIFICATE);
          assert.equal(error.retriable, false);
          return true;
        },
      );
      // A Writer gives up at once instead of retrying until its deadline.
      const writer = new Writer({
        brokers: [MTLS],
        topic: uniqueTopic("mtls-nocert"),
        deliveryTimeout: 60_000,
        transport: { tls: { ca } },
      });
      const started = Date.now();
      try {
        await assert.rejects(
          writer.writeMessages({ value: "x" }),
          NO_CERTIFICATE,
        );
      } finally {
        await writer.close();
      }
      assert.ok(Date.now() - started < 30_000, "the Writer kept retrying");
    });
  });

  test("cert without key, or key without cert, is a TypeError", async () => {
    await assert.rejects(
      dial(MTLS, { tls: { ca, cert: tls.cert } }),
      (error) => {
        assert.ok(error instanceof TypeError, String(error));
        assert.match(error.message, /"tls\.key" is missing/);
        return true;
      },
    );
    await assert.rejects(
      dial(MTLS, { tls: { ca, key: tls.key } }),
      (error) => {
        assert.ok(error instanceof TypeError, String(error));
        assert.match(error.message, /"tls\.cert" is missing/);
        return true;
      },
    );
  });

  test("a key that is not the certificate's is named, not retried", async () => {
    const { privateKey } = generateKeyPairSync("ec", {
      namedCurve: "P-256",
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    await assert.rejects(
      dial(MTLS, { tls: { ca, cert: tls.cert, key: String(privateKey) } }),
      (error) => {
        assert.ok(error instanceof ConnectionError, String(error));
        assert.match(
          error.message,
          new RegExp(
            `^Cannot connect to ${MTLS}: the client certificate or key is invalid: "tls\\.key" is not the private key of "tls\\.cert"`,
          ),
        );
        assert.equal(error.retriable, false);
        return true;
      },
    );
    await assert.rejects(
      dial(MTLS, { tls: { ca, cert: tls.cert, key: "not a key" } }),
      /the client certificate or key is invalid: "tls\.key" is not an unencrypted PEM private key/,
    );
  });

  test(
    "a certificate the broker does not trust is refused",
    async () => {
      // Self-signed, with the right CN: only the signature is wrong.
      const dir = mkdtempSync(join(tmpdir(), "streamkafka-mtls-"));
      try {
        execFileSync("openssl", [
          "req",
          "-x509",
          "-newkey",
          "rsa:2048",
          "-nodes",
          "-days",
          "1",
          "-subj",
          `/CN=${CLIENT_CERT_CN}`,
          "-keyout",
          join(dir, "key.pem"),
          "-out",
          join(dir, "cert.pem"),
        ], { stdio: "ignore" });
        const rogue = {
          ca,
          cert: readFileSync(join(dir, "cert.pem"), "utf8"),
          key: readFileSync(join(dir, "key.pem"), "utf8"),
        };
        await assert.rejects(
          dial(MTLS, { tls: rogue, timeout: 10_000 }),
          (error) => {
            assert.ok(error instanceof ConnectionError, String(error));
            assert.match(
              error.message,
              new RegExp(
                `^Cannot connect to ${MTLS}: the broker refused the client certificate`,
              ),
            );
            assert.equal(error.retriable, false);
            return true;
          },
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
